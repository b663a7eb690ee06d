"""Analytic models that simulation results are checked against.

Queueing models, re-exported here: single queues (:mod:`.queueing`: M/M/1, M/M/c, M/G/1;
:mod:`.scheduling`: M/G/1-PS, priority M/G/1; :mod:`.setup`: M/G/1 with a wake-up;
:mod:`.finite_capacity`: M/M/c/K, M/M/1 with a bound on the wait; :mod:`.gim1`: E_k/M/1),
networks (:mod:`.networks`: Jackson, MVA), scatter-gather (:mod:`.forkjoin`), balancing
(:mod:`.power_of_d`;
:mod:`.spillover`: overflow between groups of loss systems) and
scaling with cores (:mod:`.usl`: the Universal Scalability Law) and calls under failure
(:mod:`.resilience`: client timeouts, retried calls, decorrelated jitter, retry budgets,
a slow instance behind a balancer, hedged calls).
Cache models live in :mod:`.caching`, sessions found or re-authenticated in :mod:`.sessions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simperf.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from simperf.analysis.finite_capacity import (
        BoundedWaitResult,
        MMCKResult,
        mm1_bounded_wait,
        mmck,
    )
    from simperf.analysis.forkjoin import (
        ForkJoinBounds,
        fork_join_bounds,
        fork_join_two,
        independent_max_quantile,
    )
    from simperf.analysis.gim1 import GIM1Result, erlang_m1
    from simperf.analysis.networks import JacksonResult, MVAResult, jackson, mva, tandem
    from simperf.analysis.power_of_d import PowerOfDResult, power_of_two
    from simperf.analysis.queueing import (
        MG1Result,
        QueueResult,
        erlang_b,
        erlang_c,
        mg1,
        mm1,
        mmc,
    )
    from simperf.analysis.resilience import (
        BudgetedRetries,
        ClientTimeout,
        DecorrelatedBackoff,
        HedgedCopies,
        HedgedExponential,
        RetriedCall,
        SlowInstance,
        backoff_mean,
        budgeted_retries,
        client_timeout,
        decorrelated_backoff,
        exponential_below,
        hedged_copies,
        hedged_exponential,
        retried_call,
        slow_instance,
    )
    from simperf.analysis.scheduling import PSResult, mg1_ps, priority_mg1
    from simperf.analysis.setup import SetupResult, mg1_setup
    from simperf.analysis.spillover import spill_over
    from simperf.analysis.usl import usl_mmc, usl_peak, usl_slowdown, usl_throughput

# Imported on first use: a run that needs the USL's slowdown does not load scipy with it.
lazy_exports(
    __name__,
    {
        "simperf.analysis.finite_capacity": [
            "BoundedWaitResult",
            "MMCKResult",
            "mm1_bounded_wait",
            "mmck",
        ],
        "simperf.analysis.forkjoin": [
            "ForkJoinBounds",
            "fork_join_bounds",
            "fork_join_two",
            "independent_max_quantile",
        ],
        "simperf.analysis.gim1": ["GIM1Result", "erlang_m1"],
        "simperf.analysis.networks": ["JacksonResult", "MVAResult", "jackson", "mva", "tandem"],
        "simperf.analysis.power_of_d": ["PowerOfDResult", "power_of_two"],
        "simperf.analysis.queueing": [
            "MG1Result",
            "QueueResult",
            "erlang_b",
            "erlang_c",
            "mg1",
            "mm1",
            "mmc",
        ],
        "simperf.analysis.resilience": [
            "BudgetedRetries",
            "ClientTimeout",
            "DecorrelatedBackoff",
            "HedgedCopies",
            "HedgedExponential",
            "RetriedCall",
            "SlowInstance",
            "backoff_mean",
            "budgeted_retries",
            "client_timeout",
            "decorrelated_backoff",
            "exponential_below",
            "hedged_copies",
            "hedged_exponential",
            "retried_call",
            "slow_instance",
        ],
        "simperf.analysis.scheduling": ["PSResult", "mg1_ps", "priority_mg1"],
        "simperf.analysis.setup": ["SetupResult", "mg1_setup"],
        "simperf.analysis.spillover": ["spill_over"],
        "simperf.analysis.usl": ["usl_mmc", "usl_peak", "usl_slowdown", "usl_throughput"],
    },
)

__all__ = [
    "BoundedWaitResult",
    "BudgetedRetries",
    "ClientTimeout",
    "DecorrelatedBackoff",
    "ForkJoinBounds",
    "GIM1Result",
    "HedgedCopies",
    "HedgedExponential",
    "JacksonResult",
    "MG1Result",
    "MMCKResult",
    "MVAResult",
    "PSResult",
    "PowerOfDResult",
    "QueueResult",
    "RetriedCall",
    "SetupResult",
    "SlowInstance",
    "backoff_mean",
    "budgeted_retries",
    "client_timeout",
    "decorrelated_backoff",
    "erlang_b",
    "erlang_c",
    "erlang_m1",
    "exponential_below",
    "fork_join_bounds",
    "fork_join_two",
    "hedged_copies",
    "hedged_exponential",
    "independent_max_quantile",
    "jackson",
    "mg1",
    "mg1_ps",
    "mg1_setup",
    "mm1",
    "mm1_bounded_wait",
    "mmc",
    "mmck",
    "mva",
    "power_of_two",
    "priority_mg1",
    "retried_call",
    "slow_instance",
    "spill_over",
    "tandem",
    "usl_mmc",
    "usl_peak",
    "usl_slowdown",
    "usl_throughput",
]

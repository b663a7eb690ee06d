"""Analytic models that simulation results are checked against.

:mod:`simperf.analysis.queueing` has the closed-form and numerically exact queueing
results, re-exported here.
"""

from __future__ import annotations

from simperf.analysis.queueing import (
    ForkJoinBounds,
    GIM1Result,
    JacksonResult,
    MG1Result,
    MMCKResult,
    MVAResult,
    PowerOfDResult,
    QueueResult,
    erlang_b,
    erlang_c,
    erlang_m1,
    fork_join_bounds,
    fork_join_two,
    independent_max_quantile,
    jackson,
    mg1,
    mm1,
    mmc,
    mmck,
    mva,
    power_of_two,
    tandem,
)

__all__ = [
    "ForkJoinBounds",
    "GIM1Result",
    "JacksonResult",
    "MG1Result",
    "MMCKResult",
    "MVAResult",
    "PowerOfDResult",
    "QueueResult",
    "erlang_b",
    "erlang_c",
    "erlang_m1",
    "fork_join_bounds",
    "fork_join_two",
    "independent_max_quantile",
    "jackson",
    "mg1",
    "mm1",
    "mmc",
    "mmck",
    "mva",
    "power_of_two",
    "tandem",
]

"""Waiting-time percentiles and the probability of waiting against Erlang C.

On an M/M/c queue an arrival waits with probability C (Erlang C) and, when it waits,
for an Exp(c mu - lambda) time: the components table's ``p_wait`` and ``wait_p50`` ...
``wait_p99`` must agree with these within their intervals over replications."""

from __future__ import annotations

import pytest

from simperf import analysis

from agreement import (
    MEAN_WIDTH,
    TAIL_WIDTH,
    agrees,
    horizons,
    open_spec,
    replications,
    server,
    width,
)

MU = 100.0  # exponential service of mean 10 ms
LAM, C = 150.0, 2  # utilisation 0.75: C = 0.643, so the median arrival waits too
SHARES = horizons(0.1)  # a few CPU-seconds in make test, intervals 3x wider


@pytest.mark.parametrize("share", SHARES)
def test_mmc_wait_percentiles_and_probability_of_waiting(share: float) -> None:
    spec = open_spec("mmc_wait", LAM, {"app": server(cores=C)}, duration=600 * share, warmup=5)
    reps = replications(spec, 20)
    theory = analysis.mmc(LAM, MU, C)
    mean_width, tail_width = width(MEAN_WIDTH, share), width(TAIL_WIDTH, share)
    agrees(reps, "components.app.p_wait", theory.prob_wait, max_width=mean_width)
    # the median sits near the atom at 0 (1 - C = 0.357): a small shift of P(wait) moves
    # it far, so its interval is twice as wide relative to it as the tail's
    agrees(reps, "components.app.wait_p50", theory.wait_quantile(0.50), max_width=2 * tail_width)
    agrees(reps, "components.app.wait_p95", theory.wait_quantile(0.95), max_width=tail_width)
    agrees(reps, "components.app.wait_p99", theory.wait_quantile(0.99), max_width=tail_width)
    # the instance's own row says the same (one instance)
    for run in reps.runs:
        assert run["components"]["app"]["per_instance"]["app[0]"]["p_wait"] == pytest.approx(
            run["components"]["app"]["p_wait"]
        )

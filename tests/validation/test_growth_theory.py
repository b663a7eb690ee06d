"""The growth projection's breach month against Erlang C (run under ``make validate``).

An M/M/4 (10 ms exponential service) starts at 240 requests/s and grows 10% a month.
The SLO bounds the mean response time halfway (geometrically) between the closed-form
values of the month it still holds and the month it fails, so the projection's breach
month must be that month, judged on intervals over replications.
"""

from __future__ import annotations

import math

import pytest

import simperf
from simperf import analysis

from conftest import MODELS

MU, SERVERS, START, GROWTH = 100.0, 4, 240.0, 0.10


@pytest.mark.validate
def test_breach_month_is_erlang_cs() -> None:
    rates = [START * (1 + GROWTH) ** m for m in range(6)]
    theory = [analysis.mmc(r, MU, SERVERS).mean_sojourn for r in rates[:5]]  # month 5: > 1
    target = math.sqrt(theory[3] * theory[4])  # 17.4 ms and 25.3 ms: 21.0 ms
    breach = next(m for m, t in enumerate(theory) if t > target)
    assert breach == 4
    base = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"workload.arrival.rate": START, "run.duration": 100, "run.warmup": 10}
    )
    projection = simperf.growth(
        {"mmc": base},
        [f"latency.all.mean<{target * 1000:.4f}ms"],
        rate=GROWTH,
        months=6,
        replications=5,
        executor="serial",
    )
    assert projection.designs["breach_month"].iat[0] == breach
    judged = projection.frame
    assert list(judged["met"]) == [True] * breach + [False]

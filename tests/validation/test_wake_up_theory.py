"""``wake_up`` against the M/G/1 queue with set-up times (Welch 1964)."""

from __future__ import annotations

import pytest

from simperf import analysis

from agreement import MEAN_WIDTH, agrees, conserved_and_little, open_spec, replications, server


@pytest.mark.validate
@pytest.mark.parametrize(("lam", "after"), [(20.0, 0.0), (70.0, 0.005)])
def test_wake_up_is_a_set_up_time(lam: float, after: float) -> None:
    # exponential 10 ms service, an exponential 4 ms wake-up: at 0.2 most requests pay
    # it, at 0.7 few do; the mean latency, the time a request holds its worker and the
    # fraction of time the worker is held all follow Welch's closed form; with `after`,
    # only arrivals after 5 ms of idleness pay (70/s: 70% of those that find it idle)
    wake = {"dist": "exponential", "mean": 0.004}
    app = server(wake_up={"time": wake, "after": after})
    spec = open_spec("setup", lam, {"app": app}, duration=2000, warmup=10)
    reps = replications(spec, 20)
    theory = analysis.mg1_setup(lam, 0.01, 1e-4, 0.004, 0.004**2, after=after)
    agrees(reps, "latency.all.mean", theory.mean_sojourn, max_width=MEAN_WIDTH)
    agrees(reps, "components.app.mean_service", theory.mean_held, max_width=MEAN_WIDTH)
    agrees(reps, "components.app.worker_occupancy", theory.utilization, max_width=MEAN_WIDTH)
    conserved_and_little(reps)

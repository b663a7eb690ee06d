"""The held overhead's gap, averaged per stratum of the request before it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simulated_logs import held_after_idle

from simperf.calibrate.overhead import overhead, stratified_mean


def test_stratified_mean_weights_each_stratum_by_its_population_share() -> None:
    # stratum 0 is 90% of the population but only 10 of the 60 values
    values = np.r_[np.full(10, 1.0), np.full(50, 3.0)]
    strata = np.r_[np.zeros(10, int), np.ones(50, int)]
    population = np.r_[np.zeros(90, int), np.ones(10, int)]
    mean, se = stratified_mean(values, strata, population)
    assert mean == pytest.approx(0.9 * 1.0 + 0.1 * 3.0)
    assert se == pytest.approx(0.0)
    # a stratum with too few values gives its weight to the others
    assert stratified_mean(values[6:], strata[6:], population)[0] == pytest.approx(3.0)
    assert np.isnan(stratified_mean(values[:3], strata[:3], population)[0])


@pytest.mark.parametrize("rate", [40.0, 120.0])
def test_held_gap_is_the_mean_over_every_request_at_any_load(rate: float) -> None:
    log, truth = held_after_idle(rate, seed=3)
    cost = overhead(log, (log["server_end"] - log["server_start"]).to_numpy(), rate)
    assert cost.method == "server times"
    # the plain mean of the observed gaps is off by the load's idle/busy mix...
    start, end = log["server_start"].to_numpy(), log["server_end"].to_numpy()
    waited = log["timestamp"].to_numpy()[1:] + cost.outside < end[:-1]
    plain = float((start[1:] - end[:-1])[waited].mean())
    assert abs(plain - truth) > 0.1 * truth
    # ...the stratified one is not
    assert cost.held == pytest.approx(truth, rel=0.05)


def test_constant_component_times_without_server_times() -> None:
    # a log whose handler always took 3 ms (times logged to the millisecond): the M/G/1
    # variance of C + h came out -7e-21 from rounding and the fit crashed (ValueError)
    from simperf.calibrate import calibrate

    t = np.arange(50.0)
    log = pd.DataFrame({"timestamp": t, "latency": 0.004, "time_app": 0.003})
    cal = calibrate(log, predict_requests=None)
    # the 1 ms beyond the handler is held, less the wait P-K gives a deterministic 4 ms
    # service at 1/s: h + (0.003 + h)^2 / (2 (1 - (0.003 + h))) = 1 ms, h = 0.992 ms
    h = cal.levels["held"].iloc[0]
    assert h + (0.003 + h) ** 2 / (2 * (1 - (0.003 + h))) == pytest.approx(0.001, rel=1e-6)
    assert h == pytest.approx(0.000992, rel=1e-4)

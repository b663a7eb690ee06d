"""The overhead's mechanism tables, on a log simperf simulated with a known wake-up."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "calibrate"))
from simulated_logs import held_after_idle, single_server

from realbench.mechanism import by_idle, per_request, tables


def test_a_wake_up_shows_in_the_idle_arrivals_that_slept_long() -> None:
    # 1.5 ms wake-up once the server has been idle 5 ms; 1 ms outside, 2 ms held
    wake = {"held": 0.002, "outside": 0.001, "wake": 0.0015, "after": 0.005}
    _, log = single_server(40, {"dist": "constant", "value": "8ms"}, requests=1500, seed=2, **wake)
    slept, gaps, _, parts = tables(log.assign(load=0.4)).values()
    row = slept.iloc[0]
    assert row["slept [0.0, 2.0)"] == pytest.approx(1.0, abs=1e-6)  # the outside time
    assert row["slept [8.0, 20.0)"] == pytest.approx(2.5, abs=1e-6)  # and the wake-up
    # held time is in the handler here: no gap between a worker's requests
    assert gaps.filter(like="mean").max(axis=1).iloc[0] == pytest.approx(0, abs=1e-6)
    assert set(parts["arrival"]) == {"idle", "waited"}


def test_the_gap_by_the_request_before_it_and_its_stratified_mean() -> None:
    # 2 ms held after a request that found the worker idle, 0.5 ms after one that waited
    log, truth = held_after_idle(40.0, seed=3)
    row = by_idle(per_request(log))
    # (a request sent just after its predecessor ended but before the 2 ms were over
    # found the worker busy; the mechanism, not knowing the outside time, calls it idle)
    assert row["after idle: mean"] == pytest.approx(2.0, abs=0.1)
    assert row["after waited: mean"] == pytest.approx(0.5, abs=1e-6)
    # the waiting requests' mix of predecessors is not the population's
    assert abs(row["plain mean"] - truth * 1e3) > 0.1 * truth * 1e3
    assert row["stratified mean"] == pytest.approx(truth * 1e3, rel=0.05)

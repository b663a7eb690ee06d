"""Snapshot counters from event times given in rounds against a level monitor fed event
by event."""

from __future__ import annotations

import numpy as np
import pytest

from simperf.fastpath.levels import BLOCK, Level, Sums, Tally, _highest_bound, _risen
from simperf.metrics.monitor import LevelMonitor

EDGES = np.array([0.5, 0.5, 2.0, 2.05, 7.0, 12.0, 13.0])


def _rounds(cuts: list[float]) -> list[tuple[float, np.ndarray]]:
    """Round ends and the snapshot times before each (not given before)."""
    out, given = [], 0
    for w in cuts:
        last = int(np.searchsorted(EDGES, w, "left"))
        out.append((w, EDGES[given:last]))
        given = last
    return out


@pytest.mark.parametrize("cuts", [[np.inf], [1.0, 2.02, 6.9, 7.0, 9.5, np.inf], [0.3, np.inf]])
def test_areas_levels_and_peaks_match_a_monitor(cuts: list[float]) -> None:
    rng = np.random.default_rng(4)
    begin = np.sort(rng.uniform(0, 10, 400))
    end = begin + rng.exponential(0.3, 400)
    monitor = LevelMonitor()
    events = sorted([(t, 1) for t in begin] + [(t, -1) for t in end])
    areas, peaks, levels, highest = [], [], [], 0
    i = 0
    for edge in EDGES:
        while i < len(events) and events[i][0] <= edge:
            monitor.change(events[i][1], events[i][0])
            highest = max(highest, monitor.level)
            i += 1
        areas.append(monitor.area_at(edge))
        peaks.append(monitor.reset_peak())
        levels.append(monitor.level)
    level = Level(limit=np.inf, peaks=True)
    for w, points in _rounds(cuts):
        level.advance(begin[begin < w], np.sort(end[end < w]), points, check=True)
        begin, end = begin[begin >= w], end[end >= w]
    np.testing.assert_allclose(level.area_at(), areas, rtol=1e-12, atol=1e-12)
    assert np.concatenate(level.peaks).tolist() == peaks
    assert np.concatenate(level.levels).tolist() == levels
    assert level.highest == max(highest, *peaks)


def test_counts_and_sums_up_to_each_snapshot_across_rounds() -> None:
    times = np.array([0.2, 0.5, 0.6, 2.0, 2.0, 4.0, 12.5])
    values = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
    tally = Tally()
    for w, points in _rounds([0.55, 3.0, np.inf]):
        inside = times < w
        tally.advance(times[inside], values[inside], points)
        times, values = times[~inside], values[~inside]
    assert tally.count_at().tolist() == [2, 2, 5, 5, 6, 6, 7]
    assert tally.sum_at().tolist() == [3.0, 3.0, 31.0, 31.0, 63.0, 63.0, 127.0]


@pytest.mark.parametrize("seed", range(6))
def test_the_highest_bound_is_never_under_the_highest_level(seed: int) -> None:
    rng = np.random.default_rng(seed)
    up = np.sort(rng.integers(0, 400, rng.integers(1, 700)).astype(float))  # equal times too
    down = np.sort(rng.integers(0, 400, rng.integers(0, 700)).astype(float))
    bound = _highest_bound(up, down, 5)
    highest = int(_risen(up, down, 5).max())
    # the bound's block has the level after its first rise at most ``highest``, and its
    # bound is that level plus the block's other rises
    assert highest <= bound <= highest + BLOCK - 1


def test_a_checked_level_is_exact_once_past_its_ceiling() -> None:
    rng = np.random.default_rng(3)
    up = np.sort(rng.uniform(0, 100, 5000))
    down = np.sort(up + rng.exponential(0.5, up.size))
    down = down[down < 100]
    exact = int(_risen(up, down, 0).max())
    points = np.array([50.0])
    for ceiling, highest in ((exact + 200, None), (exact - 1, exact), (0, exact)):
        level = Level(np.inf)
        level.advance(up, down, points, check=True, ceiling=ceiling)
        if highest is None:  # a bound, at or under the ceiling
            assert exact <= level.highest <= ceiling
        else:
            assert level.highest == highest


def test_levels_sharing_a_rounds_sums_count_as_alone() -> None:
    rng = np.random.default_rng(8)
    arrivals = np.sort(rng.uniform(0, 10, 300))
    ends = np.sort(arrivals + rng.exponential(0.2, 300))
    points = np.array([2.0, 5.0, 9.0])
    alone = [Level(np.inf, peaks=True), Level(np.inf)]
    shared = [Level(np.inf, peaks=True), Level(np.inf)]
    sums = Sums()
    for a, b in zip(alone, shared, strict=True):  # the same streams: one sum each
        a.advance(arrivals, ends, points, check=True)
        b.advance(arrivals, ends, points, check=True, sums=sums)
        assert np.array_equal(a.areas[0], b.areas[0]) and a.highest == b.highest
    assert alone[0].peaks[0].tolist() == shared[0].peaks[0].tolist()
    assert sums.of(ends, points)[2] is sums.of(ends, points)[2]

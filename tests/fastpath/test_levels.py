"""Snapshot counters from interval arrays against a level monitor fed event by event."""

from __future__ import annotations

import numpy as np
import pytest

from simperf.fastpath.levels import (
    ahead_of_each,
    cumulative_at,
    levels_at,
    never_above,
    window_areas,
    window_peaks,
)
from simperf.metrics.monitor import LevelMonitor


def test_areas_levels_and_peaks_match_a_monitor() -> None:
    rng = np.random.default_rng(4)
    begin = np.sort(rng.uniform(0, 10, 400))
    end = begin + rng.exponential(0.3, 400)
    edges = np.array([0.0, 0.5, 0.5, 2.0, 2.05, 7.0, 12.0, 13.0])
    monitor = LevelMonitor()
    events = sorted([(t, 1) for t in begin] + [(t, -1) for t in end])
    areas, peaks, levels = [], [], []
    i = 0
    for edge in edges[1:]:
        while i < len(events) and events[i][0] <= edge:
            monitor.change(events[i][1], events[i][0])
            i += 1
        areas.append(monitor.area_at(edge))
        peaks.append(monitor.reset_peak())
        levels.append(monitor.level)
    ends = np.sort(end)
    np.testing.assert_allclose(window_areas(begin, ends, edges), areas, rtol=1e-12, atol=1e-12)
    risen = levels_at(begin, ends, begin)
    assert window_peaks(begin, ends, risen, edges).tolist() == peaks
    assert levels_at(begin, ends, edges[1:]).tolist() == levels


def test_cumulative_sums_at_times() -> None:
    times = np.array([1.0, 2.0, 2.0, 4.0])
    values = np.array([1.0, 10.0, 100.0, 1000.0])
    at = np.array([0.5, 2.0, 3.0, 5.0])
    assert cumulative_at(times, values, at).tolist() == [0.0, 111.0, 111.0, 1111.0]


@pytest.mark.parametrize("merge", [1, 3, 1 << 16])
def test_requests_ahead_at_each_join_in_blocks_of_any_size(
    monkeypatch: pytest.MonkeyPatch, merge: int
) -> None:
    rng = np.random.default_rng(5)
    reach = np.sort(rng.integers(0, 40, 200).astype(float))  # ties on purpose
    starts = np.maximum.accumulate(reach + rng.integers(0, 6, reach.size))
    brute = [sum(1 for j in range(i) if starts[j] > reach[i]) for i in range(reach.size)]
    monkeypatch.setattr("simperf.fastpath.levels.MERGE", merge)
    assert ahead_of_each(reach, starts).tolist() == brute


def test_never_above_is_the_highest_level_at_most_the_capacity() -> None:
    rng = np.random.default_rng(6)
    begin = np.sort(rng.integers(0, 50, 300).astype(float))
    end = np.sort(begin + rng.integers(0, 8, begin.size))
    highest = int(levels_at(begin, end, begin).max())
    for capacity in range(highest - 2, highest + 3):
        assert never_above(begin, end, capacity) == (highest <= capacity)

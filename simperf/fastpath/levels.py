"""The counters a monitored instance would hold at each snapshot, from interval arrays.

The event engine integrates levels (busy cores, queue length, requests in system) as
they change; the fast path knows every interval at once, so the integral of a level over
a snapshot window is ``sum over intervals of their overlap with it``, computed per
window (:func:`window_areas`) to keep the rounding at the size of one window's area.
"""

from __future__ import annotations

import numpy as np


def sorted_copy(values: np.ndarray) -> np.ndarray:
    """``values`` sorted (timsort: nearly sorted departures cost close to one pass)."""
    if values.size < 2 or bool(np.all(values[1:] >= values[:-1])):
        return values
    return np.sort(values, kind="stable")


def pending_integrals(times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``integral of #(times > t) dt`` over each window ``(edges[k], edges[k + 1]]``.

    Parameters
    ----------
    times
        Sorted times.
    edges
        Increasing window bounds, the first at or before every time.
    """
    counts = np.searchsorted(times, edges, side="right")
    widths = np.diff(edges)
    later = (times.size - counts[1:]) * widths
    first, last = int(counts[0]), int(counts[-1])
    if last == first:
        return later
    inside = np.diff(counts)
    offsets = times[first:last] - np.repeat(edges[:-1], inside)
    starts = counts[:-1] - first
    sums = np.add.reduceat(np.append(offsets, 0.0), np.minimum(starts, last - first))
    return later + np.where(inside > 0, sums, 0.0)


def window_areas(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The integral of the level ``#(begin <= t) - #(end <= t)`` from ``edges[0]`` to
    each later edge (cumulative: ``len(edges) - 1`` values).

    ``begin`` and ``end`` are sorted separately: only the level matters, not which
    interval is which.
    """
    per_window = pending_integrals(end, edges) - pending_integrals(begin, edges)
    return np.cumsum(per_window)


def levels_at(begin: np.ndarray, end: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The level ``#(begin <= t) - #(end <= t)`` at each of ``times`` (both sorted)."""
    return np.searchsorted(begin, times, side="right") - np.searchsorted(end, times, side="right")


def window_peaks(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Highest level in each window ``(edges[k], edges[k + 1]]``, from its level at
    ``edges[k]`` (a monitor's peak, reset at each snapshot).

    The level only rises at a ``begin``, so its peaks are its values there.
    """
    start_levels = levels_at(begin, end, edges[:-1])
    if begin.size == 0:
        return start_levels
    risen = np.arange(1, begin.size + 1) - np.searchsorted(end, begin, side="right")
    counts = np.searchsorted(begin, edges, side="right")
    first, last = int(counts[0]), int(counts[-1])
    if last == first:
        return start_levels
    inside = np.diff(counts)
    highs = np.maximum.reduceat(
        np.append(risen[first:last], 0), np.minimum(counts[:-1] - first, last - first)
    )
    return np.maximum(start_levels, np.where(inside > 0, highs, 0))


def cumulative_at(times: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Sum of ``values`` whose ``times`` (sorted) are at or before each of ``at``."""
    totals = np.concatenate(([0.0], np.cumsum(values)))
    return totals[np.searchsorted(times, at, side="right")]

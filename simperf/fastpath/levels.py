"""The counters a monitored instance would hold at each snapshot, from interval arrays.

The event engine integrates levels (busy cores, queue length, requests in system) as
they change; the fast path knows every interval at once, so the integral of a level over
a snapshot window is ``sum over intervals of their overlap with it``, computed per
window (:func:`window_areas`) to keep the rounding at the size of one window's area.
"""

from __future__ import annotations

import numpy as np


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
    later = (times.size - counts[1:]) * np.diff(edges)
    first, last = int(counts[0]), int(counts[-1])
    if last == first:
        return later
    inside = np.diff(counts)
    # the times' offsets into their own window, summed per window: their sum less the
    # window's start once per time (a window's sum is small enough to keep the rounding
    # at the size of its area, and no offset array is built)
    sums = segment_sums(times[first:last], counts[:-1] - first, inside)
    return later + (sums - inside * edges[:-1])


def segment_sums(
    values: np.ndarray, starts: np.ndarray, sizes: np.ndarray, reduce: np.ufunc = np.add
) -> np.ndarray:
    """``reduce`` over consecutive segments that cover ``values`` (an empty one gives 0)."""
    out = np.zeros(sizes.size, dtype=values.dtype)
    filled = sizes > 0
    if values.size:
        # reduceat reads an empty segment as one element: reduce the others only
        out[filled] = reduce.reduceat(values, starts[filled])
    return out


class WindowAreas:
    """:func:`window_areas` that integrates each array once (busy cores, workers held
    and requests in system often share their start or end times)."""

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = edges
        self._pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def pending(self, times: np.ndarray) -> np.ndarray:
        cached = self._pending.get(id(times))
        if cached is None or cached[0] is not times:
            cached = (times, pending_integrals(times, self.edges))
            self._pending[id(times)] = cached
        return cached[1]

    def __call__(self, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
        """The cumulative integral of ``#(begin <= t) - #(end <= t)`` (both sorted)."""
        return np.cumsum(self.pending(end) - self.pending(begin))


def window_areas(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The integral of the level ``#(begin <= t) - #(end <= t)`` from ``edges[0]`` to
    each later edge (cumulative: ``len(edges) - 1`` values).

    ``begin`` and ``end`` are sorted separately: only the level matters, not which
    interval is which.
    """
    return WindowAreas(edges)(begin, end)


def levels_at(begin: np.ndarray, end: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The level ``#(begin <= t) - #(end <= t)`` at each of ``times`` (both sorted)."""
    return np.searchsorted(begin, times, side="right") - np.searchsorted(end, times, side="right")


def never_above(begin: np.ndarray, end: np.ndarray, capacity: int) -> bool:
    """Whether the level ``#(begin <= t) - #(end <= t)`` (both sorted, ``end`` at least
    as long) never exceeds ``capacity``.

    The level peaks at a ``begin``; at the ``i``-th it is above ``capacity`` exactly
    when fewer than ``i + 1 - capacity`` intervals have ended, that is when
    ``end[i - capacity] > begin[i]``: one comparison per interval, no search.
    """
    if begin.size <= capacity:
        return True
    return not bool(np.any(end[: begin.size - capacity] > begin[capacity:]))


def window_peaks(
    begin: np.ndarray, end: np.ndarray, risen: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """Highest level in each window ``(edges[k], edges[k + 1]]``, from its level at
    ``edges[k]`` (a monitor's peak, reset at each snapshot).

    The level only rises at a ``begin``, so its peaks are ``risen``, its values there.
    """
    start_levels = levels_at(begin, end, edges[:-1])
    counts = np.searchsorted(begin, edges, side="right")
    first, last = int(counts[0]), int(counts[-1])
    if last == first:
        return start_levels
    inside = np.diff(counts)
    highs = segment_sums(risen[first:last], counts[:-1] - first, inside, np.maximum)
    return np.maximum(start_levels, highs)


def ahead_of_each(reach: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """How many requests wait ahead of each one as it joins a FIFO queue.

    ``reach`` (sorted) is when each joins, ``starts`` (sorted: FIFO) when each leaves
    it; the earlier requests not yet started are the ones ahead. Both sorted, so a
    stable merge of the two (starts first on ties) ranks every join: cheaper than a
    binary search per request. Merged ``MERGE`` joins at a time, with the starts that
    can fall among them, so that the temporaries stay small.
    """
    count = reach.size
    ahead = np.empty(count, dtype=np.intp)
    for lo in range(0, count, MERGE):
        hi = min(lo + MERGE, count)
        joins = reach[lo:hi]
        # the starts up to the first join are before all of them; those past the last
        # are after all of them
        first, last = np.searchsorted(starts, joins[[0, -1]], side="right")
        merged = np.argsort(np.concatenate((starts[first:last], joins)), kind="stable")
        # the k-th join's place in the merge counts k joins and the starts before it:
        # ahead = (lo + k) - (first + place - k)
        place = np.flatnonzero(merged >= last - first)
        ahead[lo:hi] = np.arange(lo - first, lo - first + 2 * (hi - lo), 2) - place
    return np.maximum(ahead, 0, out=ahead)


MERGE = 1 << 16
"""Joins merged with their starts at once in :func:`ahead_of_each`."""


def cumulative_at(times: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Sum of ``values`` whose ``times`` (sorted) are at or before each of ``at``."""
    counts = np.searchsorted(times, at, side="right")
    starts = np.concatenate(([0], counts[:-1]))
    return np.cumsum(segment_sums(values[: counts[-1]], starts, counts - starts))

"""The counters a monitored instance holds at each snapshot, from event times given a
round at a time.

The event engine integrates levels (busy cores, queue length, requests in system) as
they change; the fast path gets their rises and falls a round at a time, each sorted and
final (no later event comes before them), and closes the snapshot windows they reach:
the integral of a level over a window is ``level at its start x its length + sum over
rises of (window end - rise) - sum over falls of (window end - fall)``, summed per window
to keep the rounding at the size of one window's area. A window a round ends inside
stays open, its partial sums carried to the next round.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simperf.fastpath.recursions import Buffers, compiled


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


def _segments(times: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each window ``(points[k - 1], points[k]]`` starts in ``times`` (sorted) and
    how many it holds; the last of the ``points.size + 1`` is the open window."""
    bounds = np.concatenate(([0], np.searchsorted(times, points, side="right"), [times.size]))
    return bounds[:-1], np.diff(bounds)


def _risen(
    up: np.ndarray, down: np.ndarray, level: int, buffers: Buffers | None = None
) -> np.ndarray:
    """The level just after each rise, from ``level`` before them all (both sorted; a
    fall at the time of a rise comes first). A stable merge of the two ranks every rise:
    cheaper than a search per rise. ``buffers``: where the compiled merge writes (the
    result is then a view, good until the next merge into them)."""
    kernels: Any = compiled()
    if kernels is not None:  # the same merge, compiled
        buffers = buffers or Buffers()
        padded = buffers.rows(down.size + 1, 1)[0]
        return kernels.risen(up, down, level, padded, buffers.order(up.size))
    merged = np.argsort(np.concatenate((down, up)), kind="stable")
    place = np.flatnonzero(merged >= down.size)  # the j-th rise has place - j falls before
    return level + 1 + 2 * np.arange(up.size) - place


BLOCK = 64
"""Rises per binary search in :func:`_highest_bound`."""


def _highest_bound(up: np.ndarray, down: np.ndarray, level: int) -> int:
    """At least the highest of :func:`_risen`'s levels, from a search per :data:`BLOCK`
    rises (not a merge: 0.1 against 1.1 ms for 262,144 of each): within a block, the
    level after a rise is at most ``level + 1 +`` its last rise's index ``-`` the falls
    at or before its first."""
    firsts = np.arange(0, up.size, BLOCK)
    lasts = np.minimum(firsts + BLOCK, up.size) - 1
    return level + 1 + int((lasts - np.searchsorted(down, up[firsts], side="right")).max())


class Sums:
    """Each stream's windows and sums for one round, computed once per array: streams
    are shared (a station's exits are the system's ends, its workers' falls and its
    tallies' times; the next station's entries are its departures)."""

    def __init__(self) -> None:
        self._memo: dict[int, tuple[np.ndarray, ...]] = {}

    def of(self, times: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, ...]:
        """Where each window starts in ``times``, how many it holds, and their sum (not
        to be changed: shared)."""
        key = id(times)
        if key not in self._memo:
            starts, sizes = _segments(times, points)
            # the array kept with its figures: its id stays its own for the round
            self._memo[key] = (starts, sizes, segment_sums(times, starts, sizes), times)
        return self._memo[key][:3]


class Tally:
    """How many timed items (and the sum of their values) fall in each snapshot window."""

    def __init__(self) -> None:
        self.open = (0, 0.0)  # the window not closed yet
        self.counts: list[np.ndarray] = []
        self.sums: list[np.ndarray] = []

    def advance(
        self,
        times: np.ndarray,
        values: np.ndarray | None,
        points: np.ndarray,
        sums: Sums | None = None,
    ) -> None:
        """Count ``times`` (sorted, all final) into the windows, closing those up to
        ``points``; ``sums``: the round's, shared."""
        starts, sizes = (sums or Sums()).of(times, points)[:2]
        counts = sizes.copy()
        counts[0] += self.open[0]
        self.counts.append(counts[:-1])
        if values is None:
            self.open = (int(counts[-1]), 0.0)
            return
        total = segment_sums(values, starts, sizes)
        total[0] += self.open[1]
        self.sums.append(total[:-1])
        self.open = (int(counts[-1]), float(total[-1]))

    def count_at(self) -> np.ndarray:
        """Items up to each snapshot (cumulative)."""
        return np.cumsum(np.concatenate(self.counts))

    def sum_at(self) -> np.ndarray:
        return np.cumsum(np.concatenate(self.sums))


class Level:
    """A level that rises at one kind of times and falls at another (busy cores, the
    queue, workers held, requests in system): its integral over each snapshot window,
    its value at each snapshot and, with ``peaks``, its highest in each window (a
    monitor's peak)."""

    def __init__(self, limit: float, peaks: bool = False) -> None:
        self.limit = limit
        self.with_peaks = peaks
        self.level = 0  # at the last snapshot
        self.ups = self.downs = 0  # rises and falls counted so far
        self.previous = 0.0  # the last snapshot (the run's areas start at 0)
        self.open = np.zeros(5)  # the open window: rises, their sum, falls, their sum, peak
        self.highest = 0  # the highest level reached before ``limit`` (when checked; see advance)
        self.buffers = Buffers()  # what its merges write, reused round after round
        self.areas: list[np.ndarray] = []
        self.levels: list[np.ndarray] = []
        self.peaks: list[np.ndarray] = []

    def advance(
        self,
        up: np.ndarray,
        down: np.ndarray,
        points: np.ndarray,
        check: bool = False,
        ceiling: float = -math.inf,
        sums: Sums | None = None,
    ) -> None:
        """Count the rises and falls (each sorted, all final) into the windows, closing
        those up to ``points``; ``check``: track the highest level too, exactly once it
        passes ``ceiling`` (at or under it, :attr:`highest` may be a bound: a check that
        only asks whether the level passed ``ceiling`` then skips the merge); ``sums``:
        the round's, shared."""
        risen = None
        before = int(np.searchsorted(up, self.limit, "left")) if check else 0
        level = self.ups - self.downs
        if check and before and not self.with_peaks:
            bound = _highest_bound(up[:before], down, level)
            if bound <= ceiling:
                self.highest = max(self.highest, bound)
                before = 0  # checked
        if (before or self.with_peaks) and up.size:
            risen = _risen(up, down, level, self.buffers)
            if before:
                self.highest = max(self.highest, int(risen[:before].max()))
        self.ups += up.size
        self.downs += down.size
        m = points.size
        sums = sums or Sums()
        up_starts, rises, rise_sum = sums.of(up, points)
        falls, fall_sum = sums.of(down, points)[1:]
        rise_sum, fall_sum = rise_sum.copy(), fall_sum.copy()  # changed below
        peak = np.zeros(m + 1)
        if risen is not None and self.with_peaks:
            peak = segment_sums(risen, up_starts, rises, np.maximum).astype(float)
        rises, falls = rises.astype(float), falls.astype(float)
        rises[0] += self.open[0]
        rise_sum[0] += self.open[1]
        falls[0] += self.open[2]
        fall_sum[0] += self.open[3]
        peak[0] = max(peak[0], self.open[4])
        self.open = np.array([rises[m], rise_sum[m], falls[m], fall_sum[m], peak[m]])
        if m == 0:
            return
        at = self.level + np.cumsum((rises[:m] - falls[:m]).astype(np.int64))
        starts_level = np.concatenate(([self.level], at[:-1]))
        lengths = np.diff(np.concatenate(([self.previous], points)))
        # each rise adds (window end - rise), each fall takes (window end - fall) off
        self.areas.append(
            starts_level * lengths
            + (rises[:m] * points - rise_sum[:m])
            - (falls[:m] * points - fall_sum[:m])
        )
        self.levels.append(at)
        if self.with_peaks:
            self.peaks.append(np.maximum(starts_level, peak[:m]))
        self.level = int(at[-1])
        self.previous = float(points[-1])
        # the open window's peak is at least its level at its start
        self.open[4] = max(self.open[4], self.level)

    def area_at(self) -> np.ndarray:
        return np.cumsum(np.concatenate(self.areas))

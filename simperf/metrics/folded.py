"""Requests past the record cap, folded into counts of a few kinds.

Past ``run.keep_requests`` a finished request is no longer kept as a record: it is
counted under its arrival window, its finishing window (the snapshot windows of the
run), its class, its outcome and its latency bucket
(:class:`~simperf.metrics.quantiles.LogBuckets`), with the exact sum and maximum of
the latencies in each group. Memory then depends on the windows, classes and buckets
seen, not on the number of requests.

Every count the summary takes is exact this way: the warm-up and the time-series windows
end on snapshots, so "started after the warm-up" and "finished in this window" are
questions about window indices. Only percentiles become approximate, within the buckets'
relative error, and a fault's failed requests are counted by window (see
:meth:`FoldedRecords.arrays`).
"""

from __future__ import annotations

import copy

import numpy as np

from simperf.metrics.quantiles import LogBuckets

WINDOW_RADIX = 1 << 18
"""Window indices (plus one, for "before the first snapshot") are below this: the model
keeps at most twice ``MAX_WINDOWS`` (100,000) windows before merging them in pairs."""
OUTCOME_RADIX = 64
"""Outcome codes are below this (the error causes a run can register)."""


class _Table:
    """Sorted unique int64 keys with a count, latency sum and latency max each."""

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.int64)
        self.count = np.empty(0, dtype=np.int64)
        self.total = np.empty(0, dtype=float)
        self.largest = np.empty(0, dtype=float)

    def add(
        self, keys: np.ndarray, count: np.ndarray, total: np.ndarray, largest: np.ndarray
    ) -> None:
        """Add groups (keys may repeat among themselves and with the table's)."""
        unique, inverse = np.unique(keys, return_inverse=True)
        count = np.bincount(inverse, weights=count, minlength=unique.size).astype(np.int64)
        total = np.bincount(inverse, weights=total, minlength=unique.size)
        most = np.full(unique.size, -np.inf)
        np.maximum.at(most, inverse, largest)
        place = np.searchsorted(self.keys, unique)
        found = place < self.keys.size
        found[found] = self.keys[place[found]] == unique[found]
        at = place[found]
        self.count[at] += count[found]
        self.total[at] += total[found]
        self.largest[at] = np.maximum(self.largest[at], most[found])
        new = ~found
        if new.any():
            where = place[new]
            self.keys = np.insert(self.keys, where, unique[new])
            self.count = np.insert(self.count, where, count[new])
            self.total = np.insert(self.total, where, total[new])
            self.largest = np.insert(self.largest, where, most[new])

    def remap(self, keys: np.ndarray) -> None:
        """Replace the keys (merging the groups that now share one)."""
        old = (self.count, self.total, self.largest)
        self.__init__()  # type: ignore[misc]
        self.add(keys, *old)


class FoldedRecords:
    """Counts of the requests past the cap (see the module docstring).

    Parameters
    ----------
    classes
        Number of request classes.
    buckets
        The latency buckets (their relative error is the percentiles').
    """

    def __init__(self, classes: int, buckets: LogBuckets | None = None) -> None:
        self.buckets = buckets or LogBuckets()
        self.classes = max(classes, 1)
        self._inner = self.classes * OUTCOME_RADIX * self.buckets.size
        if WINDOW_RADIX**2 * self._inner >= 2**63:
            raise ValueError(f"too many request classes to fold records: {classes}")
        self.requests = _Table()  # key: windows, class, outcome, latency bucket
        self.degraded = _Table()  # key: windows, class

    @property
    def relative_error(self) -> float:
        return self.buckets.relative_error

    def copy(self) -> FoldedRecords:
        return copy.deepcopy(self)

    def add(
        self,
        start: np.ndarray,
        end: np.ndarray,
        klass: np.ndarray,
        outcome: np.ndarray,
        times: np.ndarray,
    ) -> None:
        """Fold finished requests, given the snapshot times taken so far."""
        latency = end - start
        key = self._windows(start, end, times) * self.classes + klass
        key = (key * OUTCOME_RADIX + outcome) * self.buckets.size + self.buckets.index(latency)
        self.requests.add(key, np.ones(key.size), latency, latency)

    def add_degraded(
        self, start: np.ndarray, end: np.ndarray, klass: np.ndarray, times: np.ndarray
    ) -> None:
        """Fold ``ok`` requests a fallback stood in for."""
        key = self._windows(start, end, times) * self.classes + klass
        zeros = np.zeros(key.size)
        self.degraded.add(key, np.ones(key.size), zeros, zeros)

    def merge_windows(self) -> None:
        """Follow the model merging its windows in pairs (window k becomes k // 2)."""
        for table, inner in ((self.requests, self._inner), (self.degraded, self.classes)):
            if table.keys.size:
                windows, rest = np.divmod(table.keys, inner)
                arrival, finish = np.divmod(windows, WINDOW_RADIX)
                # index + 1 is stored; -1 (before the first snapshot) stays -1
                arrival = ((arrival - 1) >> 1) + 1
                finish = ((finish - 1) >> 1) + 1
                table.remap((arrival * WINDOW_RADIX + finish) * inner + rest)

    def arrays(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Weighted stand-in records for the summary, sorted by ``end``.

        Each group becomes one row whose ``start`` and ``end`` are the starts of its
        arrival and finishing windows (-inf before the first snapshot), ``latency`` its
        bucket's representative value, ``weight`` its count, and ``latency_sum`` and
        ``latency_max`` the exact sum and maximum of its latencies. A comparison with a
        snapshot time (the warm-up, a window's bounds) is thus exact; one with any other
        time (a fault's start) is right to the window.
        """
        bounds = np.concatenate([[-np.inf], times])
        table, degraded = self.requests, self.degraded
        # sorted by finishing window (bounds increase with it); intermediates freed early
        order = np.argsort((table.keys // self._inner) % WINDOW_RADIX, kind="stable")
        windows, rest = np.divmod(table.keys[order], self._inner)
        arrival, finish = np.divmod(windows, WINDOW_RADIX)
        del windows
        klass_outcome, bucket = np.divmod(rest, self.buckets.size)
        del rest
        klass, outcome = np.divmod(klass_outcome, OUTCOME_RADIX)
        del klass_outcome
        d_order = np.argsort((degraded.keys // self.classes) % WINDOW_RADIX, kind="stable")
        d_windows, d_klass = np.divmod(degraded.keys[d_order], self.classes)
        d_arrival, d_finish = np.divmod(d_windows, WINDOW_RADIX)
        return {
            "start": bounds[arrival],
            "end": bounds[finish],
            "latency": self.buckets.value(bucket),
            "klass": klass.astype(np.int32),
            "outcome": outcome.astype(np.int32),
            "weight": table.count[order],
            "latency_sum": table.total[order],
            "latency_max": table.largest[order],
            "degraded_klass": d_klass.astype(np.int32),
            "degraded_start": bounds[d_arrival],
            "degraded_end": bounds[d_finish],
            "degraded_weight": degraded.count[d_order],
        }

    @staticmethod
    def _windows(start: np.ndarray, end: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Arrival and finishing window indices plus one, packed in one integer."""
        arrival = np.searchsorted(times, start, side="right").astype(np.int64)
        finish = np.searchsorted(times, end, side="right").astype(np.int64)
        return arrival * WINDOW_RADIX + finish

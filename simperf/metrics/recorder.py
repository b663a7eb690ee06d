"""Per-request records, appended to compact buffers during a run."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from simperf.metrics.columns import cut
from simperf.metrics.folded import FoldedRecords
from simperf.metrics.monitor import LevelMonitor
from simperf.spec.run import DEFAULT_KEEP_REQUESTS

OK = 0


class RequestRecorder:
    """Collects one record per finished request and counts outcomes.

    Records go to ``array`` buffers (8 bytes per float) so that memory stays small and
    appends stay cheap; they become numpy arrays once, at the end of the run. (The fast
    path leaves numpy views there instead: :class:`simperf.metrics.columns.Column`.) A record
    is appended when its request finishes, at the current time, so ``end`` is in time order.

    Outcome codes: 0 is ``ok``; every error cause a component can produce is registered
    before the run with :meth:`cause`, which returns its code.

    Past ``keep`` records, the records beyond the first ``keep`` are folded into
    :class:`~simperf.metrics.folded.FoldedRecords` as soon as :attr:`fold_size` of them
    have piled up: :meth:`finish` then calls :attr:`when_full`, which the model sets to
    fold them (and the instances' waits) with the snapshot times taken so far. The bound
    (``keep`` plus one batch) thus holds whatever the snapshot windows, and the batches
    are the same whatever they are; :meth:`finish` pays one comparison for it.
    """

    fold_batch = 1 << 15
    """Records past the cap folded at once (fewer would cost more merges)."""

    def __init__(self, class_names: list[str], keep: int = DEFAULT_KEEP_REQUESTS) -> None:
        self.class_names = class_names
        self.causes: list[str] = ["ok"]
        self.generated = 0
        self.in_system = LevelMonitor()
        self.start = array("d")
        self.end = array("d")
        self.klass = array("i")
        self.outcome = array("i")
        self.stale = 0  # ok responses that carried stale data (see Request.stale)
        # ok responses for which a fallback stood in (see Request.degraded): class, start
        # and end of each, appended only for them
        self.degraded_klass = array("i")
        self.degraded_start = array("d")
        self.degraded_end = array("d")
        self.keep = keep
        # records past the cap wait for at most a quarter of the cap more before folding
        self._batch = max(1, min(self.fold_batch, keep // 4))
        self.folded: FoldedRecords | None = None
        self.folded_count = 0  # finished requests folded (not kept as records)
        self._fold_at = keep + self._batch  # records held when the next fold is due
        self.when_full: Callable[[float], None] | None = None
        """Called with the current time when :attr:`fold_size` records are past the cap:
        the model's fold (see :meth:`compact`); None: records fold only on compact."""

    @property
    def fold_size(self) -> int:
        """Records past the cap that pile up before they are folded."""
        return self._batch

    def cause(self, name: str) -> int:
        """The outcome code of an error cause, registering it if new."""
        if name not in self.causes:
            self.causes.append(name)
        return self.causes.index(name)

    def arrive(self, now: float) -> int:
        """Count a new request and return its id."""
        self.generated += 1
        self.in_system.change(1, now)
        return self.generated

    def finish(self, klass: int, start: float, now: float, outcome: int) -> None:
        """Record a finished request (``ok`` or an error)."""
        # in_system.change(-1, now) inline: the call would cost more than the fold check
        # below (a fall makes no new peak)
        level = self.in_system
        level.area += level.level * (now - level.last)
        level.last = now
        level.level -= 1
        self.start.append(start)
        end = self.end
        end.append(now)
        self.klass.append(klass)
        self.outcome.append(outcome)
        if len(end) >= self._fold_at:
            self._full(now)

    def _full(self, now: float) -> None:
        """A batch of records is past the cap: have them folded, then set the next mark.

        Records ending at ``now`` may stay (a snapshot due now may not be taken yet); if
        they alone make a batch, the mark moves a batch on, so none is checked again
        before another batch has come.
        """
        if self.when_full is not None:
            self.when_full(now)
        held = len(self.end)
        due = self.keep + self._batch
        self._fold_at = due if held < due else held + self._batch

    def degraded(self, klass: int, start: float, now: float) -> None:
        """Flag the ``ok`` request just recorded as degraded."""
        self.degraded_klass.append(klass)
        self.degraded_start.append(start)
        self.degraded_end.append(now)

    @property
    def finished(self) -> int:
        return len(self.end) + self.folded_count

    @property
    def in_flight(self) -> int:
        return self.generated - self.finished

    @property
    def capped(self) -> bool:
        """True when more requests finished than records are kept."""
        return self.finished > self.keep or len(self.degraded_end) > self.keep

    def compact(self, snapshots: Sequence[Any], before: float = np.inf) -> None:
        """Fold the records past the first ``keep`` when there are enough of them.

        Called by the model after each snapshot and from :attr:`when_full`;
        ``snapshots`` are the model's (their times bound the windows requests are
        counted in). Only records ending before ``before`` are folded: between
        snapshots, ``before`` is the current time, at which a snapshot may be due and
        not yet taken (a record ending then belongs to the window it opens).
        """
        if self._due():
            times = np.fromiter((s.time for s in snapshots), dtype=float, count=len(snapshots))
            self._fold(self._folds(), times, before)

    def fold_records(self, times: np.ndarray) -> None:
        """:meth:`compact` given the snapshot times taken so far (the fast path's)."""
        if self._due():
            self._fold(self._folds(), times)

    def _due(self) -> bool:
        """Whether enough records past the cap have gathered to fold them."""
        batch = self._batch
        return len(self.end) - self.keep >= batch or len(self.degraded_end) - self.keep >= batch

    def merge_windows(self) -> None:
        """The model merged its snapshot windows in pairs: so do the folded counts."""
        if self.folded is not None:
            self.folded.merge_windows()

    def _folds(self) -> FoldedRecords:
        if self.folded is None:
            self.folded = FoldedRecords(len(self.class_names))
        return self.folded

    def _fold(self, into: FoldedRecords, times: np.ndarray, before: float = np.inf) -> None:
        """Move the records past the first ``keep`` (ending before ``before``) into ``into``."""
        keep = self.keep
        # records are in end order: those ending before ``before`` come first
        stop = bisect_left(self.end, before, keep) if before < np.inf else len(self.end)
        if stop > keep:
            names = ("start", "end", "klass", "outcome")
            tail = [cut(self, name, keep, stop) for name in names]
            into.add(*tail, times)
            self.folded_count += tail[0].size
        degraded = self.degraded_end
        d_stop = bisect_left(degraded, before, keep) if before < np.inf else len(degraded)
        if d_stop > keep:
            names = ("degraded_start", "degraded_end", "degraded_klass")
            into.add_degraded(*(cut(self, name, keep, d_stop) for name in names), times)

    def arrays(self) -> dict[str, np.ndarray]:
        """The kept records as numpy arrays: start, end, latency, klass, outcome.

        At most ``keep`` of them: the first requests to finish.
        """
        n = min(len(self.end), self.keep)
        d = min(len(self.degraded_end), self.keep)
        end = np.frombuffer(self.end, dtype=float)[:n] if n else np.empty(0)
        start = np.frombuffer(self.start, dtype=float)[:n] if n else np.empty(0)
        return {
            "start": start,
            "end": end,
            "latency": end - start,
            "klass": np.frombuffer(self.klass, dtype=np.int32)[:n] if n else np.empty(0, int),
            "outcome": np.frombuffer(self.outcome, dtype=np.int32)[:n] if n else np.empty(0, int),
            "degraded_klass": np.array(self.degraded_klass[:d], dtype=np.int32),
            "degraded_start": np.array(self.degraded_start[:d], dtype=float),
            "degraded_end": np.array(self.degraded_end[:d], dtype=float),
        }

    def folded_arrays(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Every finished request, kept or folded, as weighted stand-in records.

        See :meth:`simperf.metrics.folded.FoldedRecords.arrays`; the kept records are
        folded into a copy in batches, so that the records stay as they are. Call it
        before :meth:`arrays` (whose views would stop the records past the cap from
        being cut off).
        """
        self._fold(self._folds(), times)
        table = self._folds().copy()
        n, step = len(self.end), self._batch  # small batches: small temporaries
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            table.add(
                np.frombuffer(self.start, dtype=float)[lo:hi],
                np.frombuffer(self.end, dtype=float)[lo:hi],
                np.frombuffer(self.klass, dtype=np.int32)[lo:hi],
                np.frombuffer(self.outcome, dtype=np.int32)[lo:hi],
                times,
            )
        d = len(self.degraded_end)
        for lo in range(0, d, step):
            hi = min(lo + step, d)
            table.add_degraded(
                np.array(self.degraded_start[lo:hi]),
                np.array(self.degraded_end[lo:hi]),
                np.array(self.degraded_klass[lo:hi], dtype=np.int32),
                times,
            )
        return table.arrays(times)

"""Per-request records, appended to compact buffers during a run."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
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

    Past ``keep`` records, the model's snapshots call :meth:`compact`, which folds the
    records beyond the first ``keep`` into :class:`~simperf.metrics.folded.FoldedRecords`
    once there are :attr:`fold_batch` of them (or a quarter of ``keep``), so that memory
    stays bounded while :meth:`finish` stays the same few appends.
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
        self.in_system.change(-1, now)
        self.start.append(start)
        self.end.append(now)
        self.klass.append(klass)
        self.outcome.append(outcome)

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

    def compact(self, snapshots: Sequence[Any]) -> None:
        """Fold the records past the first ``keep`` when there are enough of them.

        Called by the model after each snapshot, never per request; ``snapshots`` are
        the model's (their times bound the windows requests are counted in).
        """
        if self._due():
            times = np.fromiter((s.time for s in snapshots), dtype=float, count=len(snapshots))
            self._fold(self._folds(), times)

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

    def _fold(self, into: FoldedRecords, times: np.ndarray) -> None:
        """Move the records past the first ``keep`` into ``into``."""
        keep = self.keep
        if len(self.end) > keep:
            tail = [cut(self, name, keep) for name in ("start", "end", "klass", "outcome")]
            into.add(*tail, times)
            self.folded_count += tail[0].size
        if len(self.degraded_end) > keep:
            columns = ("degraded_start", "degraded_end", "degraded_klass")
            into.add_degraded(*(cut(self, name, keep) for name in columns), times)

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

"""Per-request records, appended to compact buffers during a run."""

from __future__ import annotations

from array import array

import numpy as np

from simperf.metrics.monitor import LevelMonitor

OK = 0


class RequestRecorder:
    """Collects one record per finished request and counts outcomes.

    Records go to ``array`` buffers (8 bytes per float) so that memory stays small and
    appends stay cheap; they become numpy arrays once, at the end of the run. A record
    is appended when its request finishes, at the current time, so ``end`` is in time order.

    Outcome codes: 0 is ``ok``; every error cause a component can produce is registered
    before the run with :meth:`cause`, which returns its code.
    """

    def __init__(self, class_names: list[str]) -> None:
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
        return len(self.end)

    @property
    def in_flight(self) -> int:
        return self.generated - len(self.end)

    def arrays(self) -> dict[str, np.ndarray]:
        """The records as numpy arrays: start, end, latency, klass, outcome."""
        start = np.frombuffer(self.start, dtype=float) if len(self.start) else np.empty(0)
        end = np.frombuffer(self.end, dtype=float) if len(self.end) else np.empty(0)
        klass = np.frombuffer(self.klass, dtype=np.int32) if len(self.klass) else np.empty(0, int)
        outcome = (
            np.frombuffer(self.outcome, dtype=np.int32) if len(self.outcome) else np.empty(0, int)
        )
        return {
            "start": start,
            "end": end,
            "latency": end - start,
            "klass": klass,
            "outcome": outcome,
            "degraded_klass": np.array(self.degraded_klass, dtype=np.int32),
            "degraded_start": np.array(self.degraded_start, dtype=float),
            "degraded_end": np.array(self.degraded_end, dtype=float),
        }

"""The live model of one run: environment, components, clients, and the run loop."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from heapq import heappop
from typing import Any

import simpy

from simperf.components.base import Component, Context
from simperf.components.flat_calendar import LIGHT, check_internals
from simperf.components.workload import Clients
from simperf.errors import SimulationError
from simperf.metrics import waits
from simperf.metrics.monitor import RestWatch
from simperf.spec.run import (
    AUTO_WARMUP_GRID,
    AUTO_WARMUP_INSTANCE_SNAPSHOTS,
    AUTO_WARMUP_WINDOW_SPLIT,
    DEFAULT_WINDOWS,
    MAX_WINDOWS,
    MIN_AUTO_WARMUP_GRID,
    auto_warmup_grid,
    readable_window,
)
from simperf.spec.scenario import Scenario
from simperf.spec.size_estimate import shortest_duration

__all__ = [
    "AUTO_WARMUP_GRID",
    "AUTO_WARMUP_INSTANCE_SNAPSHOTS",
    "DEFAULT_WINDOWS",
    "MIN_AUTO_WARMUP_GRID",
    "Model",
    "Snapshot",
    "run_until",
]


@dataclass
class Snapshot:
    """Cumulative counters of every instance (and of the whole system) at one time."""

    time: float
    instances: dict[str, dict[str, float]]
    in_system_area: float
    generated: int
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    stale: int = 0
    """Stale ``ok`` requests so far (``requests.stale`` is their count past the first)."""


@dataclass
class Model:
    """Components wired on one ``simpy.Environment``, ready to run once."""

    scenario: Scenario
    ctx: Context
    components: dict[str, Component]
    clients: Clients
    instances: list[Any]
    horizon: float | None
    """Simulated end time (a replayed trace's span, or ``run.horizon``); None: budget."""
    snapshots: list[Snapshot] = field(default_factory=list)
    wall_time: float = 0.0
    events: int = 0
    end: float = 0.0
    watch_rest: bool = True
    """Read only the instances that moved since the last snapshot (see
    :meth:`_instance_counters`); False reads every instance every window."""
    _watch: RestWatch = field(default_factory=RestWatch, repr=False)
    # instances to read at the next snapshot whatever moves: not at rest at the last
    _awake: dict[Any, None] = field(default_factory=dict, repr=False)
    # instances put to rest at the last snapshot, their waits not folded since
    _resting: dict[Any, None] = field(default_factory=dict, repr=False)

    @property
    def env(self) -> simpy.Environment:
        return self.ctx.env

    def window(self) -> float:
        """Interval between snapshots (a time-series window, or finer with auto warm-up).

        Without ``run.window``, about :data:`DEFAULT_WINDOWS` readable windows over the
        expected measured period (with ``run.requests``, the period the arrival process
        gives, erring short: see :meth:`expected_duration`).
        """
        run = self.scenario.run
        if run.auto_warmup:
            # a tenth of the window asked for, so that the warm-up ends on a snapshot and
            # the time series' windows after it are the ones asked for (Summary.stride)
            if run.window is not None:
                return run.window / AUTO_WARMUP_WINDOW_SPLIT
            return self.expected_duration() / self.auto_grid()
        if run.window is not None:
            return run.window
        return readable_window(max(self.expected_duration() - run.fixed_warmup, 1e-9))

    def auto_grid(self) -> int:
        """Windows ``warmup: auto`` cuts the run into: :data:`AUTO_WARMUP_GRID`, fewer
        for a fleet of more than 1,000 instances, so that a run takes at most
        :data:`AUTO_WARMUP_INSTANCE_SNAPSHOTS` instance snapshots (at least
        :data:`MIN_AUTO_WARMUP_GRID` windows)."""
        return auto_warmup_grid(len(self.instances))

    def expected_duration(self) -> float:
        """The simulated end time: the horizon (a trace's span), or the budget's expected time.

        The budget's time errs short (:func:`~simperf.spec.size_estimate.shortest_duration`):
        windows sized for a run that goes on longer are merged in pairs (see
        :meth:`window_limit`), but windows sized for a longer run than happens stay few.
        """
        if self.horizon is not None:
            return self.horizon
        return shortest_duration(self.scenario)

    def window_limit(self, window: float) -> int:
        """Most windows kept before merging them in pairs: twice the expected count (even)."""
        run = self.scenario.run
        target = self.auto_grid() if run.auto_warmup else DEFAULT_WINDOWS
        span = max(self.expected_duration() - run.fixed_warmup, 0.0)
        expected = min(max(target, math.ceil(span / window)), MAX_WINDOWS)
        return 2 * expected

    def execute(self) -> Model:
        """Run to the horizon (or until the request budget has finished)."""
        env = self.env
        run = self.scenario.run
        bounded = self.horizon is not None and not self.clients.end_with_trace
        # A trace's last row arrives at its span: stopping at that time would drop it.
        # Scheduled first, the horizon comes before every other event due then.
        until = env.timeout(self.horizon) if bounded else self.clients.done  # type: ignore[arg-type]
        window = self.window()
        fold = self._folding()
        # between snapshots too: the records' count says when, whatever the windows
        self.ctx.recorder.when_full = fold
        env.process(self._snapshots(run.fixed_warmup, window, self.window_limit(window), fold))
        self.clients.start()
        gc_was_enabled = gc.isenabled()
        gc.disable()  # SimPy allocates many short-lived cycles-free objects; GC pauses cost 20-40%
        started = time.perf_counter()
        try:
            self.events = run_until(env, until)
        finally:
            self.wall_time = time.perf_counter() - started
            for instance in self.instances:  # see AppInstance.ended
                instance.ended = True
            if gc_was_enabled:
                gc.enable()
        self.end = env.now
        if not self.snapshots or self.snapshots[-1].time < self.end:
            self._take_snapshot()
        self._watch.disarm()
        return self

    def _snapshots(
        self, warmup: float, window: float, limit: int, fold: Callable[[float], None]
    ) -> Any:
        """Snapshot every ``window``; past ``limit`` windows, merge pairs and double it.

        Snapshots are cumulative, so dropping every other one merges neighbouring windows
        exactly; ``limit`` is even, so the latest snapshot is kept. A run that goes on far
        past its expected length thus keeps between ``limit / 2`` and ``limit`` windows.
        After each snapshot, ``fold`` folds what is past the cap (see :meth:`_folding`).
        """
        yield self.env.timeout(warmup)
        snapshots = self.snapshots
        recorder = self.ctx.recorder
        while True:
            self._take_snapshot()
            if len(snapshots) > limit:
                del snapshots[1::2]
                window *= 2
                recorder.merge_windows()
            fold(math.inf)
            yield self.env.timeout(window)

    def _folding(self) -> Callable[[float], None]:
        """What folds the records, waits and samples past ``run.keep_requests``.

        ``fold(before)`` folds the records ending before ``before`` (infinity right after
        a snapshot; the current time when the recorder's count calls it, since a
        snapshot due then may not be taken yet) once a batch is past the cap, and each
        instance's waits and each database's samples likewise (from the first snapshot
        on: it holds the warm-up's counts). Records fold in batches as they pile up
        (:attr:`RequestRecorder.when_full`), so they stay within the cap and one batch
        whatever the windows; waits and samples fold at the same times and at each
        snapshot, so they stay within the cap, one batch and what one batch of requests
        adds.
        """
        snapshots = self.snapshots
        recorder = self.ctx.recorder
        instances = self.instances
        # an automatic warm-up is found after the run, so its waits must all stay
        fold_waits = None if self.scenario.run.auto_warmup else waits.fold_waits
        folds = [
            fold
            for component in self.components.values()
            if (fold := getattr(component, "fold_samples", None)) is not None
        ]

        woken, resting = self._watch.woken, self._resting

        def fold(before: float) -> None:
            recorder.compact(snapshots, before)  # bounded records: folds past the cap
            if fold_waits is not None and snapshots:
                keep, batch, first = recorder.keep, recorder.fold_size, snapshots[0]
                # an instance at rest since its last check has no new waits
                moved = [*self._awake, *woken, *resting] if self.watch_rest else instances
                fold_waits(moved, keep, batch, first)
                resting.clear()
                for fold_samples in folds:  # the databases' query times, pool waits, lags
                    fold_samples(keep, batch, first)

        return fold

    def _take_snapshot(self) -> None:
        now = self.env.now
        self.snapshots.append(
            Snapshot(
                time=now,
                instances=self._instance_counters(now),
                in_system_area=self.ctx.recorder.in_system.area_at(now),
                generated=self.ctx.recorder.generated,
                stale=self.ctx.recorder.stale,
                components={
                    name: snap
                    for name, component in self.components.items()
                    if (snap := component.snapshot(now)) is not None
                },
            )
        )

    def _instance_counters(self, now: float) -> dict[str, dict[str, Any]]:
        """Every instance's counters at ``now``; an instance's that are equal to its last
        snapshot's are that snapshot's dict (read, never written), so that a big fleet
        idle between snapshots keeps one dict an instance, not one a window.

        Only the instances that may have moved are read: those not watched at the last
        snapshot and those woken since. An instance still through the window just
        closed and at rest (:meth:`AppInstance.rest_monitors`) is watched
        (:class:`~simperf.metrics.monitor.RestWatch`) and keeps its dict until it wakes.
        A window thus costs in proportion to the instances that moved in it or in the
        one before, not to the fleet (and a dict copy).
        """
        if not self.snapshots:
            read: Any = self.instances
            counters: dict[str, dict[str, Any]] = {}
            last: dict[str, dict[str, Any]] = {}
        else:
            last = self.snapshots[-1].instances
            counters = dict(last)
            read = self._awake
            read.update(self._watch.woken)
            if not self.watch_rest:
                read = self.instances
        self._watch.woken.clear()
        awake: dict[Any, None] = {}
        resting = self._resting
        rest = self._watch.rest
        watch = self.watch_rest
        for inst in read:
            name = inst.name
            state = inst.snapshot(now)
            before = last.get(name)
            monitors = None
            if state == before:
                counters[name] = before
                # still through a whole window: watched from now on, if at rest (one
                # that moved in it is read once more: a busy instance is never watched)
                at_rest = getattr(inst, "rest_monitors", None) if watch else None
                monitors = None if at_rest is None else at_rest(state)
            else:
                counters[name] = state
            if monitors is None:
                awake[inst] = None
            else:
                rest(inst, monitors)
                resting[inst] = None
        self._awake = awake
        return counters


def run_until(env: simpy.Environment, until: simpy.Event) -> int:
    """Process ``env``'s events up to and including ``until``; returns how many.

    SimPy's ``Environment.step`` loop, inlined, that also runs the light calendar
    entries of flat runners (:mod:`simperf.components.flat_calendar`): a bound method in
    the heap is called with no argument, anything else is an event whose callbacks run
    as SimPy runs them. The count is of entries processed (events whose callbacks ran,
    light entries, ``until`` included), read off SimPy's id counter (every entry took
    one id when scheduled) less what is still in the heap, so counting costs nothing
    per entry.
    """
    if until.callbacks is None:  # already processed
        return 0
    check_internals(env)
    queue = env._queue
    eid = env._eid
    first = next(eid)  # ids below were taken before the run, above during it
    waiting = len(queue)
    light = LIGHT
    pop = heappop
    while True:
        try:
            env._now, _, _, item = pop(queue)
        except IndexError:
            raise SimulationError(
                f"the run stopped at {env.now:g} s with nothing left to happen and its end "
                "never reached"
            ) from None
        if type(item) is light:
            item()
            continue
        callbacks, item.callbacks = item.callbacks, None
        for callback in callbacks:
            callback(item)
        if item is until:
            break
        if not item._ok and not hasattr(item, "_defused"):
            # as SimPy's step: a failed event nobody defused crashes the run
            exc = type(item._value)(*item._value.args)
            exc.__cause__ = item._value
            raise exc
    scheduled = next(eid) - first - 1
    return scheduled + waiting - len(queue)

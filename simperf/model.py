"""The live model of one run: environment, components, clients, and the run loop."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

import simpy

from simperf.components.base import Component, Context
from simperf.components.workload import Clients
from simperf.spec.scenario import Scenario

DEFAULT_WINDOWS = 60
AUTO_WARMUP_GRID = 1000
"""With ``warmup: auto``, snapshots every 1/1000 of the run, so that the detected
warm-up can end on a snapshot (where utilisation and queue areas are known exactly)."""


@dataclass
class Snapshot:
    """Cumulative counters of every instance (and of the whole system) at one time."""

    time: float
    instances: dict[str, dict[str, float]]
    in_system_area: float
    generated: int
    components: dict[str, dict[str, Any]] = field(default_factory=dict)


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

    @property
    def env(self) -> simpy.Environment:
        return self.ctx.env

    def window(self) -> float:
        """Interval between snapshots (a time-series window, or finer with auto warm-up)."""
        run = self.scenario.run
        horizon = self.horizon
        if run.auto_warmup:
            if horizon is None:
                return (run.window or 1.0) / 10
            return horizon / AUTO_WARMUP_GRID
        if run.window is not None:
            return run.window
        if horizon is None:
            return 1.0
        return (horizon - run.fixed_warmup) / DEFAULT_WINDOWS

    def execute(self) -> Model:
        """Run to the horizon (or until the request budget has finished)."""
        env = self.env
        run = self.scenario.run
        env.process(self._snapshots(run.fixed_warmup, self.window()))
        self.clients.start()
        gc_was_enabled = gc.isenabled()
        gc.disable()  # SimPy allocates many short-lived cycles-free objects; GC pauses cost 20-40%
        started = time.perf_counter()
        try:
            bounded = self.horizon is not None and not self.clients.end_with_trace
            # A trace's last row arrives at its span: stopping at that time would drop it.
            until = self.horizon if bounded else self.clients.done
            env.run(until=until)
        finally:
            self.wall_time = time.perf_counter() - started
            if gc_was_enabled:
                gc.enable()
        self.end = env.now
        if not self.snapshots or self.snapshots[-1].time < self.end:
            self._take_snapshot()
        self.events = _event_count(env)
        return self

    def _snapshots(self, warmup: float, window: float) -> Any:
        yield self.env.timeout(warmup)
        while True:
            self._take_snapshot()
            yield self.env.timeout(window)

    def _take_snapshot(self) -> None:
        now = self.env.now
        self.snapshots.append(
            Snapshot(
                time=now,
                instances={inst.name: inst.snapshot(now) for inst in self.instances},
                in_system_area=self.ctx.recorder.in_system.area_at(now),
                generated=self.ctx.recorder.generated,
                components={
                    name: snap
                    for name, component in self.components.items()
                    if (snap := component.snapshot(now)) is not None
                },
            )
        )


def _event_count(env: simpy.Environment) -> int:
    """Events scheduled so far (SimPy numbers them with an internal counter)."""
    counter = getattr(env, "_eid", None)
    try:
        return int(repr(counter)[len("count(") : -1])
    except (TypeError, ValueError):
        return 0

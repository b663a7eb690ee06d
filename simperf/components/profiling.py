"""CPU per endpoint and step (``run.profile``): exact counters of the ``cpu`` steps.

Nothing here exists in a run without ``run.profile``. With it, the ``cpu`` step compiler
passes each step's sampler through :meth:`Profiler.counted`, which adds every draw (the
core-seconds the step asks for, the server's ``speed`` applied) to the step's counter and
counts the step; the interpreter's inline CPU code is the same either way, so a run
without ``run.profile`` pays nothing. A step counts when it draws, as it starts: the
measured period's figures are those of the steps started in it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simperf.components.base import Component, Context

SECTION = "cpu_profile"
"""The result's section: server -> endpoint -> step index -> calls, cpu_seconds."""


class StepCounters(Component):
    """One app server's ``cpu`` steps: calls and core-seconds drawn, per endpoint step.

    Not a row of the component table; it reports the ``cpu_profile.<server>`` section.
    """

    kind = "cpu_profile"
    listed = False

    def __init__(self, ctx: Context, name: str) -> None:
        super().__init__(ctx, name)
        # "endpoint:index" -> [calls, core-seconds]
        self.steps: dict[str, list[float]] = {}

    def snapshot(self, now: float) -> dict[str, Any]:
        return {key: (int(calls), seconds) for key, (calls, seconds) in self.steps.items()}

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]]:
        """The ``cpu_profile.<server>`` section over the measured period."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for key, (calls, seconds) in last.items():
            calls_before, seconds_before = first.get(key, (0, 0.0))
            endpoint, index = key.rsplit(":", 1)
            out.setdefault(endpoint, {})[index] = {
                "calls": calls - calls_before,
                "cpu_seconds": seconds - seconds_before,
            }
        return SECTION, out


class Profiler:
    """Counts the draws of ``cpu`` steps, one :class:`StepCounters` per app server."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def counted(self, server: str, purpose: str, draw: Callable[[], float]) -> Callable[[], float]:
        """``draw`` adding each value to the counters of step ``purpose`` (``endpoint:i``)."""
        ctx = self.ctx
        counters = ctx.reporter(
            f"{SECTION}.{server}", StepCounters, lambda: StepCounters(ctx, server)
        )
        acc = counters.steps.setdefault(purpose, [0, 0.0])

        def counting() -> float:
            value = draw()
            acc[0] += 1
            acc[1] += value
            return value

        return counting

"""The fault timeline at run time: one process per scheduled outage."""

from __future__ import annotations

from collections.abc import Sequence

from simperf.components.base import Component, Context, Process
from simperf.spec.faults import FaultSpec


def schedule_faults(
    ctx: Context, components: dict[str, Component], faults: Sequence[FaultSpec]
) -> None:
    """Start a process per fault that calls ``fail`` at ``at`` and ``recover`` after ``for``."""
    for fault in faults:
        ctx.env.process(
            _outage(ctx, components[fault.component], fault.instance, fault.at, fault.for_)
        )


def _outage(
    ctx: Context, component: Component, instance: int | None, at: float, duration: float
) -> Process:
    env = ctx.env
    yield env.timeout(at)
    component.fail(instance)
    yield env.timeout(duration)
    component.recover(instance)

"""A closed loop must let simulated time pass: users who never think, on requests that
take no time, would send requests at one instant forever."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simperf.spec.app_server import AppServerSpec
from simperf.spec.load_balancer import LoadBalancerSpec
from simperf.spec.steps import CallStep, CpuStep, DelayStep, ParallelStep

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario


def closed_loop_problems(scenario: Scenario) -> list[str]:
    """The problem of users with no think time whose every request surely takes no time.

    Parameters
    ----------
    scenario
        A scenario whose references and calls are checked (no cycle).

    Returns
    -------
    list of str
        ``workload.think_time: ...``, or nothing.
    """
    workload = scenario.workload
    if workload.users is None or workload.think.mean > 0 or scenario.network is not None:
        return []
    if not all(_takes_no_time(scenario, c.entry, c.endpoint) for c in workload.classes):
        return []
    return [
        f"workload.think_time: {workload.users} users with no think time, and requests "
        "that take no time, would loop at one instant forever; give think_time, or steps "
        "that take time"
    ]


def _takes_no_time(scenario: Scenario, name: str, endpoint: str) -> bool:
    """Whether every way through ``name.endpoint`` surely takes zero time: CPU and delay
    steps of mean 0, and calls to such endpoints only (any other step or component, a
    cache or a database, is taken to take some time)."""
    spec = scenario.components.get(name)
    if isinstance(spec, LoadBalancerSpec):
        return spec.overhead.mean == 0 and all(
            _takes_no_time(scenario, b, endpoint) for b in spec.backends
        )
    if not isinstance(spec, AppServerSpec):
        return False
    for step in spec.endpoints.get(endpoint, []):
        if isinstance(step, CallStep | ParallelStep):
            targets = (target.partition(".") for target in step.calls())
            if not all(_takes_no_time(scenario, c, e) for c, _, e in targets):
                return False
        elif isinstance(step, CpuStep):
            if step.cpu.mean > 0:
                return False
        elif not isinstance(step, DelayStep) or step.delay.mean > 0:
            return False
    return True

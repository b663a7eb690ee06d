"""The run loop's bookkeeping: the events it processes, counted by its own loop."""

from __future__ import annotations

from typing import Any

import pytest
import simpy

import simperf
from simperf.errors import SimulationError
from simperf.model import run_until


def test_run_until_counts_the_events_it_processes_up_to_its_end() -> None:
    env = simpy.Environment()
    stop = env.timeout(2.5)
    fired: list[float] = []
    for delay in (1, 2, 3):
        env.timeout(delay).callbacks.append(lambda _: fired.append(env.now))
    assert run_until(env, stop) == 3  # 1, 2 and the end itself; 3 is left
    assert fired == [1, 2] and env.now == 2.5


def test_an_end_scheduled_first_comes_before_the_events_due_with_it() -> None:
    # as SimPy's own run(until=t): what is due at the horizon does not happen
    env = simpy.Environment()
    stop = env.timeout(2)
    fired: list[float] = []
    env.timeout(2).callbacks.append(lambda _: fired.append(env.now))
    assert run_until(env, stop) == 1
    assert fired == []


def test_a_run_that_can_never_reach_its_end_is_an_error() -> None:
    env = simpy.Environment()
    env.timeout(1)
    with pytest.raises(SimulationError, match="stopped at 1 s"):
        run_until(env, env.event())


def test_a_run_reports_its_events(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["run"].update(duration=2, engine="events")  # the fast path has no events
    result = simperf.run(simperf.from_dict(minimal_spec), seed=1)
    generated = result.to_dict()["requests"]["generated"]
    # each request at least arrives and ends its cpu step: two events or more
    assert result.perf["events"] >= 2 * generated > 0

"""Light calendar entries: their place among SimPy's events, and the internals they use."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
import simpy
from simpy.events import NORMAL, URGENT

from simperf.components.flat_calendar import check_internals, later, soon, soon_all
from simperf.model import run_until


def test_simpy_keeps_the_internals_light_entries_are_written_into() -> None:
    # fails loudly on a SimPy whose heap, id counter or clock changed (simpy is pinned)
    env = simpy.Environment(initial_time=2.0)
    check_internals(env)
    assert isinstance(env._queue, list) and isinstance(env._eid, itertools.count)
    timeout = env.timeout(1.5)
    assert env._queue == [(3.5, NORMAL, 0, timeout)]  # SimPy's (time, priority, eid, event)
    assert env._now == 2.0 and next(env._eid) == 1


def test_missing_internals_are_refused() -> None:
    with pytest.raises(RuntimeError, match=r"constraints\.txt"):
        check_internals(SimpleNamespace(_queue=(), _eid=itertools.count(), _now=0.0))


def test_a_light_entry_takes_the_place_a_timeout_made_then_would() -> None:
    env = simpy.Environment()
    order: list[str] = []
    env.timeout(1).callbacks.append(lambda _: order.append("timeout before"))

    class Step:  # a light entry is a bound method
        def __init__(self, name: str) -> None:
            self.name = name

        def run(self) -> None:
            order.append(self.name)

    later(env, 1, Step("light").run)
    env.timeout(1).callbacks.append(lambda _: order.append("timeout after"))
    later(env, 0.5, Step("earlier").run)
    env.event().succeed()  # due now, normal priority: before any later entry due now
    soon(env, Step("urgent").run, URGENT)  # as a process's start: before the event
    soon(env, Step("soon").run)
    stop = env.timeout(2)
    assert run_until(env, stop) == 8  # every entry, light or not, and the end
    assert order == ["urgent", "soon", "earlier", "timeout before", "light", "timeout after"]


def test_entries_due_together_run_as_one_in_their_order() -> None:
    # pushed in a row, nothing can come between them: neither an entry already due then
    # nor one they push (a later id), whatever its priority
    def run(together: bool) -> tuple[list[str], int]:
        env = simpy.Environment()
        order: list[str] = []

        class Step:
            def __init__(self, name: str) -> None:
                self.name = name

            def run(self) -> None:
                order.append(self.name)
                if self.name == "a":  # pushed by the first: after the last, as before
                    soon(env, Step("pushed urgent").run, URGENT)

        soon(env, Step("before").run, URGENT)
        env.event().succeed()  # normal priority: after every urgent entry
        steps = [Step(name).run for name in "abc"]
        if together:
            soon_all(env, steps, URGENT)
        else:
            for step in steps:
                soon(env, step, URGENT)
        soon_all(env, [Step("alone").run])  # one callback: its own entry
        soon_all(env, [])
        return order, run_until(env, env.timeout(1))

    apart, entries = run(False)
    assert apart == ["before", "a", "b", "c", "pushed urgent", "alone"]
    assert run(True) == (apart, entries - 2)  # the same calls, two entries fewer


def test_a_failed_event_nobody_defused_still_crashes_the_run() -> None:
    env = simpy.Environment()
    env.event().fail(ValueError("broken"))
    with pytest.raises(ValueError, match="broken"):
        run_until(env, env.timeout(1))

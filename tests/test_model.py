"""The run loop's bookkeeping: the event count read from SimPy."""

from __future__ import annotations

from typing import Any

import simpy

import simperf
from simperf.model import events_scheduled

CHANGED = "SimPy no longer numbers its events with Environment._eid = itertools.count()"


def test_events_scheduled_counts_every_scheduled_event() -> None:
    env = simpy.Environment()
    for delay in (1, 2, 3):
        env.timeout(delay)
    assert events_scheduled(env) == 3, CHANGED
    env.run()
    assert events_scheduled(env) == 3, CHANGED  # reading the count does not schedule


def test_a_run_reports_its_events(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["run"]["duration"] = 2
    result = simperf.run(simperf.from_dict(minimal_spec), seed=1)
    generated = result.to_dict()["requests"]["generated"]
    # each request at least arrives and ends its cpu step: two events or more
    assert result.perf["events"] >= 2 * generated > 0, CHANGED

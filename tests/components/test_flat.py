"""Flat runners: chosen only for plain routes, and identical to the process-driven path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import simperf
import simperf.build
from simperf.build import build

from conftest import MODELS

EXP = {"dist": "exponential", "mean": "4ms"}

MIXED: dict[str, Any] = {
    "name": "mixed",
    "workload": {
        "arrival": {"kind": "poisson", "rate": 150},
        "classes": [
            {"name": "plain", "entry": "web", "endpoint": "serve", "weight": 3},
            {"name": "fanout", "entry": "web", "endpoint": "fanout", "weight": 1},
        ],
    },
    "components": {
        # two replicas (round robin), workers above cores (cores queue), a bounded queue
        "web": {
            "kind": "app_server",
            "replicas": 2,
            "cores": 1,
            "workers": 3,
            "queue_limit": 4,
            "endpoints": {
                "serve": [
                    {"cpu": EXP},
                    {"delay": {"dist": "exponential", "mean": "2ms"}},
                    {"call": "api.serve"},
                ],
                # a parallel step runs as processes: this class is not flat
                "fanout": [{"cpu": EXP}, {"parallel": ["api.serve", "api.serve"]}],
            },
        },
        # shared by both classes' requests, and full often enough to reject some
        "api": {
            "kind": "app_server",
            "cores": 1,
            "queue_limit": 2,
            "endpoints": {"serve": [{"cpu": EXP}]},
        },
    },
    "run": {"duration": 12, "warmup": 1},
}


def _result(spec: dict[str, Any]) -> dict[str, Any]:
    data = simperf.run(simperf.from_dict(spec), seed=3).to_dict()
    data.pop("perf", None)  # wall time
    return data


def test_plain_classes_run_flat_and_the_others_as_processes() -> None:
    plain, fanout = build(simperf.from_dict(MIXED)).clients._flat
    assert plain is not None and fanout is None


@pytest.mark.parametrize(
    "change",
    [
        {"faults": [{"kind": "slow", "component": "api", "at": 5, "for": 1, "factor": 2}]},
        {"workload.classes.0.timeout": "1s"},
        {"components.web.cpu_discipline": "ps"},
        {"components.web.endpoints.serve.2": {"call": "api.serve", "timeout": "1s"}},
    ],
)
def test_anything_beyond_plain_fifo_steps_runs_as_processes(change: dict[str, Any]) -> None:
    scenario = simperf.from_dict(MIXED).with_overrides(change)
    assert build(scenario).clients._flat == [None, None]


def test_flat_runs_give_the_same_results_as_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    flat = _result(MIXED)
    assert flat["requests"]["errors"]["rejected"] > 0  # failed calls were exercised
    assert flat["components"]["web"]["max_queue_length"] > 0
    monkeypatch.setattr(simperf.build, "flat_starter", lambda *_: None)
    assert _result(MIXED) == flat


def _events(spec: dict[str, Any]) -> int:
    return int(simperf.run(simperf.from_dict(spec), seed=3).perf["events"])


def test_a_flat_request_costs_its_arrival_and_one_event_per_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = copy.deepcopy(MIXED)
    spec["workload"]["classes"] = spec["workload"]["classes"][:1]
    spec["components"]["api"]["queue_limit"] = None
    spec["run"] = {"requests": 500, "duration": None, "warmup": 0, "window": 1}
    # arrival, web cpu, delay, api cpu: 4 per request, and a snapshot a second (~4 s)
    assert 4 * 500 <= _events(spec) <= 4 * 500 + 10
    monkeypatch.setattr(simperf.build, "flat_starter", lambda *_: None)
    assert _events(spec) > 6 * 500  # as processes: start, end and grants besides


def test_a_slot_released_after_the_run_does_not_resume_a_waiting_visit() -> None:
    # Overloaded: when the run ends, flat visits wait for workers and cores that
    # processes hold. Collecting those processes' generators later runs their releases;
    # a visit must not run again then (it would draw, schedule and record in a finished run).
    from simperf.components.flat import Visit

    spec = copy.deepcopy(MIXED)
    spec["workload"]["arrival"]["rate"] = 600
    spec["run"] = {"duration": 3, "warmup": 0}
    model = build(simperf.from_dict(spec), seed=3).execute()
    waiting = [
        (inst, slots)
        for inst in model.instances
        for slots in (inst.workers, inst.cores)
        if slots is not None and any(isinstance(w, Visit) for w in slots.waiting)
    ]
    assert waiting
    queue = model.env._queue
    for inst, slots in waiting:
        scheduled, level, queued = len(queue), inst.queue.level, len(slots.waiting)
        while slots.waiting and not isinstance(slots.waiting[0], Visit):
            slots.waiting.popleft()
        slots.release()  # as a collected process's ``finally`` does
        assert (len(queue), inst.queue.level) == (scheduled, level)
        assert len(slots.waiting) < queued


def test_the_cli_prints_no_ignored_exception_after_an_overloaded_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A user's report: this run (a one-entry cache, the database overloaded) ended with
    # "Exception ignored ... generator raised StopIteration" once per request left, as
    # their collected processes resumed visits whose samplers were collected already.
    import gc
    import sys

    ignored: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    scenario = simperf.load(MODELS / "cache_aside.yaml").with_overrides(
        {"components.cache.capacity": 1, "run.duration": "30s"}
    )
    result = simperf.run(scenario, seed=1)
    assert result.to_dict()["requests"]["in_flight"] > 0
    del result
    gc.collect()
    assert [str(u.exc_value) for u in ignored] == []

"""Specs the fast path would not compute exactly: refused, with the reason.

``run.engine: auto`` then runs the event engine and says why in ``perf``; ``fast``
is a spec error (exit 2 from the CLI) naming the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

import simperf
from simperf.build import build
from simperf.errors import SpecError
from simperf.fastpath import Refused, plan
from tests.conftest import MINIMAL, MODELS, edited


def changed(**edits: Any) -> dict[str, Any]:
    """The minimal scenario with dotted paths set (``components__app__cores=2``)."""
    return edited(MINIMAL, **edits)


def reason(spec: dict[str, Any] | simperf.Scenario) -> str:
    scenario = spec if isinstance(spec, simperf.Scenario) else simperf.from_dict(spec)
    with pytest.raises(Refused) as refused:
        plan(build(scenario, seed=1))
    return str(refused.value)


CALLED = {
    "kind": "app_server",
    "endpoints": {"get": [{"cpu": "1ms"}]},
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (changed(workload__arrival=None, workload__users=5), "closed loop"),
        (changed(workload__arrival={"kind": "deterministic", "rate": 50}), "deterministic"),
        (changed(workload__classes__0__timeout="50ms"), "give up"),
        (
            changed(
                workload__classes=[
                    {"name": "a", "entry": "app", "endpoint": "serve"},
                    {"name": "b", "entry": "app", "endpoint": "serve", "weight": 2},
                ]
            ),
            "several classes",
        ),
        (changed(components__app__replicas=2), "replicas > 1"),
        (
            changed(components__app__cpu_discipline="ps", components__app__workers=4),
            "processor sharing",
        ),
        (
            changed(components__app__workers=4, components__app__queue={"discipline": "lifo"}),
            "ordered queue",
        ),
        (
            changed(components__app__autoscaling={"min": 1, "max": 3, "target": 0.6}),
            "autoscaling",
        ),
        (  # it was refused as "replicas > 1", which the fleet only starts with
            changed(
                components__app__replicas=2,
                components__app__autoscaling={"min": 1, "max": 3, "target": 0.6},
            ),
            "autoscaling",
        ),
        (
            changed(faults=[{"component": "app", "at": 5, "for": 2}]),
            "faults",
        ),
        (
            changed(
                components__app__endpoints={"serve": [{"call": "db.get", "timeout": "1s"}]},
                components__app__workers=10,
                components__db=CALLED,
            ),
            "timeout",
        ),
        (
            changed(
                components__app__endpoints={"serve": [{"call": "db.get"}, {"call": "db.get"}]},
                components__app__workers=10,
                components__db=CALLED,
            ),
            "twice",
        ),
        (
            changed(components__app__endpoints={"serve": [{"cpu": "1ms"}, {"cpu": "2ms"}]}),
            "single cpu step",
        ),
        (changed(run__profile=True), "run.profile"),
        (changed(run__trace={"sample": 0.5}), "run.trace"),
    ],
)
def test_refused_specs_name_the_reason(spec: dict[str, Any], expected: str) -> None:
    assert expected in reason(spec)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("cache_aside", "a cache"),
        ("read_replicas", "a database"),
        ("closed", "closed loop"),
        ("failover", "faults"),
        ("web_stack", "network"),
    ],
)
def test_example_models_that_are_not_fifo_chains_are_refused(model: str, expected: str) -> None:
    assert expected in reason(simperf.load(MODELS / f"{model}.yaml"))


def test_auto_runs_the_event_engine_and_says_why() -> None:
    scenario = simperf.from_dict(changed(components__app__replicas=2))
    result = simperf.run(scenario)
    assert result.perf["engine"] == "events"
    assert "replicas > 1" in result.perf["fast_path_refused"]
    assert "fast path is not exact here (components.app: replicas > 1" in result.summary()


def test_forced_fast_path_on_a_refused_spec_is_a_spec_error() -> None:
    spec = changed(components__app__replicas=2, run={"duration": 5, "engine": "fast"})
    with pytest.raises(SpecError, match=r"run.engine: fast is not exact here: components.app"):
        simperf.run(simperf.from_dict(spec))


def test_events_engine_is_never_replaced(minimal_scenario: Any) -> None:
    result = simperf.run(minimal_scenario.with_overrides({"run.engine": "events"}))
    assert result.perf["engine"] == "events"
    assert "fast_path_refused" not in result.perf


def test_a_worker_pool_that_fills_is_found_after_the_recursions() -> None:
    # 2 workers held through a slow call: bursts find both busy, so requests would queue
    spec = changed(
        components__app__cores=1,
        components__app__workers=2,
        components__app__endpoints={"serve": [{"cpu": "1ms"}, {"call": "db.get"}]},
        components__db={"kind": "app_server", "cores": 4, "workers": 8,
                        "endpoints": {"get": [{"delay": "30ms"}]}},
    )  # fmt: skip
    result = simperf.run(simperf.from_dict(spec))
    assert result.perf["engine"] == "events"
    assert result.perf["fast_path_refused"] == "app[0]: all 2 workers were busy (they would queue)"


def test_a_queue_limit_that_is_reached_is_found_after_the_recursions() -> None:
    spec = changed(
        components__app__queue_limit=3, workload__arrival={"kind": "poisson", "rate": 90}
    )
    result = simperf.run(simperf.from_dict(spec))
    assert result.perf["engine"] == "events"
    assert result.to_dict()["components"]["app"]["rejected"] > 0
    assert "3 requests waited for a worker" in result.perf["fast_path_refused"]


def test_a_queue_limit_never_reached_keeps_the_fast_path() -> None:
    spec = changed(components__app__queue_limit=1000)
    events = simperf.run(simperf.from_dict(spec).with_overrides({"run.engine": "events"}))
    fast = simperf.run(simperf.from_dict(spec))
    assert fast.perf["engine"] == "fast"
    assert fast.to_dict()["latency"]["all"]["p99"] == pytest.approx(
        events.to_dict()["latency"]["all"]["p99"], rel=1e-12
    )


def test_engine_is_validated_by_the_spec() -> None:
    with pytest.raises(SpecError, match=r"run\.engine"):
        simperf.from_dict(changed(run={"duration": 5, "engine": "vectorised"}))


def test_auto_keeps_a_run_longer_than_keep_requests_on_the_fast_path() -> None:
    # 50/s for 20 s: about 1,000 requests, over a cap of 300 records: folded as the
    # event engine folds them, so the fast path's memory stays bounded too
    long = changed(run={"duration": 20, "warmup": 1, "keep_requests": 300})
    result = simperf.run(simperf.from_dict(long))
    assert result.perf["engine"] == "fast"
    assert "fast_path_refused" not in result.perf
    assert "fast_path_declined" not in result.perf
    assert result.data["requests"]["records_kept"] == 300
    events = simperf.run(simperf.from_dict(long).with_overrides({"run.engine": "events"}))
    assert result.data["requests"] == events.data["requests"]


@pytest.mark.parametrize("model", ["mm1", "tandem"])
def test_a_traced_run_on_auto_takes_the_event_engine_and_records_spans(model: str) -> None:
    scenario = simperf.load(MODELS / f"{model}.yaml").with_overrides(
        {
            "run.duration": None,
            "run.warmup": 0,
            "run.requests": 2_000,
            "run.trace": {"sample": 0.05},
        }
    )
    result = simperf.run(scenario, seed=1)
    assert result.perf["engine"] == "events"
    assert "run.trace" in result.perf["fast_path_refused"]
    assert result.traces["trace_id"].nunique() > 50

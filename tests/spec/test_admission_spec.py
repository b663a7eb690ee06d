"""Admission specs: queue discipline and shedding, concurrency limit, processor sharing,
class priorities. Each test starts from the minimal spec and changes one thing."""

from __future__ import annotations

from typing import Any

import pytest

from simperf import SpecError, from_dict


def error_of(spec: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        from_dict(spec)
    return str(info.value)


def app(spec: dict[str, Any], **fields: Any) -> dict[str, Any]:
    spec["components"]["app"].update(fields)
    return spec


def test_a_full_admission_spec_is_valid(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["classes"][0]["priority"] = 3
    app(
        minimal_spec,
        workers=8,
        cores=2,
        queue={"discipline": "priority", "shed_after": "200ms", "lifo_over": 50},
        concurrency_limit={"latency_target": "100ms", "initial": 4},
        cpu_discipline="ps",
    )
    spec = from_dict(minimal_spec).components["app"]
    assert spec.queue.shed_after == pytest.approx(0.2)
    assert spec.concurrency_limit.backoff == 0.9
    assert from_dict(minimal_spec).workload.classes[0].priority == 3


@pytest.mark.parametrize(
    ("queue", "message"),
    [
        ({"shed_after": 0}, "components.app.queue.shed_after: "),
        ({"shed_after": "-5ms"}, "components.app.queue.shed_after: "),
        ({"discipline": "random"}, "components.app.queue.discipline: "),
        ({"codel": {"target": "50ms", "interval": "10ms"}}, "target: must not exceed interval"),
        (
            {"shed_after": "1s", "codel": {"target": "5ms", "interval": "100ms"}},
            "give either shed_after or codel",
        ),
        ({"discipline": "lifo", "lifo_over": 5}, "lifo_over: the queue is LIFO already"),
    ],
)
def test_bad_queue(minimal_spec: dict[str, Any], queue: dict[str, Any], message: str) -> None:
    assert message in error_of(app(minimal_spec, queue=queue))


def test_ps_needs_more_workers_than_cores(minimal_spec: dict[str, Any]) -> None:
    message = error_of(app(minimal_spec, cpu_discipline="ps", cores=2, workers=2))
    assert message.startswith("components.app.cpu_discipline: ps shares 2 core(s)")
    assert "needs workers > cores" in message


def test_concurrency_limit_within_the_workers(minimal_spec: dict[str, Any]) -> None:
    limit = {"latency_target": "100ms", "initial": 2, "max": 20}
    message = error_of(app(minimal_spec, workers=10, concurrency_limit=limit))
    assert "components.app.concurrency_limit.max: 20 exceeds workers (10)" in message
    limit = {"latency_target": "100ms", "initial": 12}
    message = error_of(app(minimal_spec, workers=10, concurrency_limit=limit))
    assert "components.app.concurrency_limit.initial: exceeds the highest limit (10)" in message
    limit = {"latency_target": "100ms", "initial": 1, "min": 2}
    assert "initial: must lie within [min, max]" in error_of(
        app(minimal_spec, concurrency_limit=limit)
    )


def test_priority_is_an_integer_in_range(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["classes"][0]["priority"] = 5000
    assert error_of(minimal_spec).startswith("workload.classes[0].priority:")
    minimal_spec["workload"]["classes"][0]["priority"] = 1.5
    assert error_of(minimal_spec).startswith("workload.classes[0].priority:")

"""Memory per instance: a baseline plus a footprint per request in progress."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import simperf

MiB = 2**20


def memory_spec(on_full: str = "reject", requests: int = 15, **app: Any) -> simperf.Scenario:
    # 10 MiB with 4 MiB of baseline leaves room for three requests of 2 MiB
    return simperf.from_dict(
        {
            "name": "memory",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 1000},
                "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "workers": 10,
                    "memory": {
                        "capacity": "10MiB",
                        "baseline": "4MiB",
                        "per_request": "2MiB",
                        "on_full": on_full,
                    },
                    "endpoints": {"serve": [{"delay": "10.5ms"}]},
                    **app,
                }
            },
            "run": {"requests": requests},
        }
    )


def by_arrival(result: simperf.Result) -> tuple[np.ndarray, np.ndarray]:
    data = result._arrays  # type: ignore[attr-defined]
    order = np.argsort(data["start"])
    return data["latency"][order], data["outcome"][order]


def test_out_of_memory_exactly_when_footprints_exceed_the_memory() -> None:
    result = simperf.run(memory_spec(), seed=1)
    d = result.to_dict()
    # Arrivals every 1 ms hold 2 MiB for 10.5 ms: three fit, so arrivals 4..11 ms find
    # three in progress; at 12, 13 and 14 ms one has left each time; at 15 ms three
    # (12, 13, 14) are in progress again.
    assert d["errors"] == {"safety_cap": 0, "out_of_memory": 9}
    latency, outcome = by_arrival(result)
    failed = [k + 1 for k in np.flatnonzero(outcome != 0)]
    assert failed == [4, 5, 6, 7, 8, 9, 10, 11, 15]
    assert latency[outcome == 0] == pytest.approx([0.0105] * 6, abs=1e-12)
    assert latency[outcome != 0] == pytest.approx([0.0] * 9, abs=1e-12)
    app = d["components"]["app"]
    assert app["out_of_memory"] == 9
    assert app["per_instance"]["app[0]"]["out_of_memory"] == 9


def test_memory_utilisation_is_time_weighted() -> None:
    d = simperf.run(memory_spec(), seed=1).to_dict()
    span = 0.014 + 0.0105  # the run ends when the last request (14 ms) does
    held = 6 * 0.0105 * 2 * MiB
    expected = (4 * MiB * span + held) / (10 * MiB * span)
    assert d["components"]["app"]["memory_utilization"] == pytest.approx(expected, rel=1e-9)
    frame = simperf.run(memory_spec(), seed=1).components
    row = frame[frame.instance == "app[0]"].iloc[0]
    assert row["memory_utilization"] == pytest.approx(expected, rel=1e-9)


def test_waiting_for_memory_queues_in_fifo_order() -> None:
    result = simperf.run(memory_spec("wait"), seed=1)
    latency, outcome = by_arrival(result)
    assert np.all(outcome == 0)
    # three slots: request k starts when request k - 3 ends
    start = [0.001 * k for k in range(1, 16)]
    for k in range(3, 15):
        start[k] = max(start[k], start[k - 3] + 0.0105)
    expected = [s + 0.0105 - 0.001 * (k + 1) for k, s in enumerate(start)]
    assert latency == pytest.approx(expected, abs=1e-12)
    app = result.to_dict()["components"]["app"]
    assert app["mean_wait"] == pytest.approx(np.mean(latency) - 0.0105, abs=1e-12)


def test_memory_waiters_count_against_the_queue_limit() -> None:
    result = simperf.run(memory_spec("wait", requests=6, queue_limit=2), seed=1)
    # three in progress, two waiting for memory, the sixth is rejected (and waiting never
    # fails for lack of memory)
    assert result.to_dict()["errors"] == {"rejected": 1}  # no out_of_memory cause
    _, outcome = by_arrival(result)
    assert list(np.flatnonzero(outcome != 0)) == [5]


def test_without_memory_nothing_is_reported() -> None:
    spec = memory_spec().model_dump(by_alias=True)
    spec["components"]["app"]["memory"] = None
    d = simperf.run(simperf.from_dict(spec), seed=1).to_dict()
    assert "out_of_memory" not in d["errors"]
    assert "memory_utilization" not in d["components"]["app"]

"""Clients: a replayed trace sets the run's length and the period rates are taken over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import simperf
from simperf.errors import BuildError

STEP = 2.0**-8  # trace rows 1/256 s apart: every time below is exact in binary
ROWS = 7681  # the trace spans 7680 steps = 30 s
SERVICE = 2.0**-10  # constant CPU per request, shorter than STEP: no request waits


def trace_scenario(tmp_path: Path, run: dict[str, Any]) -> simperf.Scenario:
    path = tmp_path / "trace.csv"
    # Timestamps start at 1000 s: replay shifts them so that the first row arrives at 0.
    path.write_text("key,t\n" + "".join(f"k,{1000 + i * STEP!r}\n" for i in range(ROWS)))
    return simperf.from_dict(
        {
            "name": "trace_replay",
            "keyspaces": {
                "items": {
                    "keys": 1,
                    "popularity": {"model": "trace", "path": str(path), "time_column": "t"},
                }
            },
            "workload": {
                "arrival": {"kind": "trace", "keyspace": "items"},
                "classes": [
                    {"name": "get", "entry": "app", "endpoint": "get", "keyspace": "items"}
                ],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "cores": 1,
                    "endpoints": {"get": [{"cpu": {"dist": "constant", "value": SERVICE}}]},
                }
            },
            "run": run,
        }
    )


@pytest.mark.parametrize("warmup", [0.0, 2.0])
def test_a_trace_without_duration_runs_for_its_span(tmp_path: Path, warmup: float) -> None:
    # Row i arrives at i * STEP and leaves SERVICE later. The run ends when the last row
    # (i = ROWS - 1) arrives at 30 s; the measured period is [warmup, 30], in which
    # rows with i * STEP + SERVICE >= warmup and i < ROWS - 1 complete.
    result = simperf.run(trace_scenario(tmp_path, {"warmup": warmup}), seed=1).to_dict()
    span = (ROWS - 1) * STEP
    assert result["end_time"] == span
    assert result["measured_time"] == span - warmup
    assert result["requests"]["generated"] == ROWS
    first = int(-(-(warmup - SERVICE) // STEP))  # first row completing at or after warmup
    completed = ROWS - 1 - first
    assert result["throughput"] == completed / (span - warmup)  # 256/s, not 7681/60
    # Utilisation is a rate too: busy time over the measured period.
    app = result["components"]["app"]
    assert app["utilization"] == completed * SERVICE / (span - warmup)


def test_a_set_duration_still_bounds_a_trace(tmp_path: Path) -> None:
    result = simperf.run(trace_scenario(tmp_path, {"duration": 10, "warmup": 0}), seed=1)
    data = result.to_dict()
    assert data["end_time"] == 10.0
    assert data["requests"]["generated"] == 10 / STEP  # the row at exactly 10 s is not reached


def test_a_warmup_longer_than_the_trace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"run\.warmup: must be shorter than the trace"):
        simperf.run(trace_scenario(tmp_path, {"warmup": 30}), seed=1)

"""The text summary's words: which counts cover the whole run and which the measured part."""

from __future__ import annotations

from typing import Any

import simperf


def twice_capacity(warmup: float) -> dict[str, Any]:
    """200 req/s of 10 ms at one worker with a queue limit: half is rejected."""
    return {
        "name": "twice",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 200},
            "classes": [{"name": "r", "entry": "app", "endpoint": "r"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "workers": 1,
                "queue_limit": 10,
                "endpoints": {"r": [{"cpu": "10ms"}]},
            }
        },
        "run": {"duration": 5, "warmup": warmup},
    }


def test_counts_that_include_the_warm_up_say_so() -> None:
    result = simperf.run(simperf.from_dict(twice_capacity(1.0)), seed=1)
    d = result.to_dict()
    lines = result.summary().splitlines()
    requests = next(line for line in lines if line.startswith("requests"))
    errors = next(line for line in lines if line.startswith("errors"))
    # 'rejected 500' over the run beside a measured error rate of 400 in 4 s: labelled
    assert requests.endswith(f"(whole run; {d['requests']['measured']} measured)")
    assert errors == f"errors    rejected {d['requests']['errors']['rejected']}  (whole run)"
    assert d["requests"]["errors"]["rejected"] > d["requests"]["measured"] * d["error_rate"]


def test_without_a_warm_up_the_counts_are_plain() -> None:
    lines = simperf.run(simperf.from_dict(twice_capacity(0.0)), seed=1).summary().splitlines()
    assert not any("whole run" in line for line in lines)

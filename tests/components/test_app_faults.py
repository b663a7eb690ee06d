"""App instances on the fault timeline: routing around them, and what fails while down."""

from __future__ import annotations

from typing import Any

import pytest

import simperf


def app_scenario(
    faults: list[dict[str, Any]],
    *,
    entry: str = "lb",
    rate: float = 200,
    cpu: Any = "1ms",
    replicas: int = 2,
) -> simperf.Scenario:
    return simperf.from_dict(
        {
            "name": "app_faults",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": rate},
                "classes": [{"name": "req", "entry": entry, "endpoint": "serve"}],
            },
            "components": {
                "lb": {"kind": "load_balancer", "policy": "round_robin", "backends": "app"},
                "app": {
                    "kind": "app_server",
                    "replicas": replicas,
                    "endpoints": {"serve": [{"cpu": cpu}]},
                },
            },
            "faults": faults,
            "run": {"duration": 10, "warmup": 0},
        }
    )


@pytest.mark.parametrize("entry", ["lb", "app"])
def test_one_instance_down_the_other_takes_everything(entry: str) -> None:
    result = simperf.run(
        app_scenario([{"component": "app", "instance": 0, "at": 2, "for": 3}], entry=entry),
        seed=1,
    ).to_dict()
    assert result["requests"]["failed"] == 0
    served = result["components"]["app"]["per_instance"]
    # 200/s for 10 s, evenly but for the 3 s instance 0 is down
    assert served["app[0]"]["served"] == pytest.approx(700, abs=2)
    assert served["app[1]"]["served"] == pytest.approx(1300, abs=2)


@pytest.mark.parametrize("entry", ["lb", "app"])
def test_the_instances_up_share_a_failed_ones_traffic_evenly(entry: str) -> None:
    """Three instances at 200/s for 10 s, app[1] down for 3 s: 1,400 requests outside the
    outage split three ways, 600 inside it two ways."""
    result = simperf.run(
        app_scenario(
            [{"component": "app", "instance": 1, "at": 2, "for": 3}], entry=entry, replicas=3
        ),
        seed=1,
    ).to_dict()
    served = result["components"]["app"]["per_instance"]
    assert served["app[1]"]["served"] == pytest.approx(1400 / 3, abs=3)
    assert served["app[0]"]["served"] == pytest.approx(1400 / 3 + 300, abs=3)
    assert served["app[2]"]["served"] == pytest.approx(1400 / 3 + 300, abs=3)


def test_with_every_instance_down_requests_fail_as_instance_down() -> None:
    result = simperf.run(app_scenario([{"component": "app", "at": 2, "for": 1}]), seed=1).to_dict()
    assert result["requests"]["errors"]["instance_down"] == pytest.approx(200, abs=2)


def test_requests_queued_at_a_failed_instance_fail_when_they_get_a_worker() -> None:
    """Overloaded (300/s to each instance, which serves 250/s): by 5 s app[0] has taken
    1,500 requests and served 1,250; the 250 left (one of them in service, which
    completes) fail as instance_down, give or take one at the boundaries."""
    result = simperf.run(
        app_scenario([{"component": "app", "instance": 0, "at": 5, "for": 1}], rate=600, cpu="4ms"),
        seed=1,
    ).to_dict()
    assert result["requests"]["errors"]["instance_down"] == pytest.approx(250, abs=2)

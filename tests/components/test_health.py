"""Active health checks: detection time, refused requests, retries, probes through queues."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import simperf
from simperf.cli import main
from simperf.metrics.stats import t_interval

INTERVAL, TIMEOUT, UNHEALTHY, HEALTHY = 2.0, 0.5, 3, 2


def scenario(
    *,
    check: dict[str, Any] | None = None,
    retries: int = 0,
    rate: float = 100,
    duration: float = 60,
    faults: list[dict[str, Any]] | None = None,
) -> simperf.Scenario:
    lb: dict[str, Any] = {"kind": "load_balancer", "policy": "round_robin", "backends": "app"}
    lb["health_check"] = check or {
        "interval": INTERVAL,
        "timeout": TIMEOUT,
        "unhealthy_threshold": UNHEALTHY,
        "healthy_threshold": HEALTHY,
    }
    lb["retries"] = retries
    return simperf.from_dict(
        {
            "name": "health",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": rate},
                "classes": [{"name": "req", "entry": "lb", "endpoint": "serve"}],
            },
            "components": {
                "lb": lb,
                "app": {
                    "kind": "app_server",
                    "replicas": 2,
                    "endpoints": {"serve": [{"cpu": "1ms"}]},
                },
            },
            "faults": (
                faults
                if faults is not None
                else [{"component": "app", "instance": 0, "at": 20, "for": 20}]
            ),
            "run": {"duration": duration, "warmup": 0},
        }
    )


def test_a_failed_instance_is_removed_after_the_threshold_and_its_requests_are_refused() -> None:
    d = simperf.run(scenario(), seed=3).to_dict()
    lb = d["load_balancers"]["lb"]
    checks = lb["health_checks"]
    assert (checks["removals"], checks["restorations"], checks["detections"]) == (1, 1, 1)
    # the first probe after the failure starts within one interval and fails after the
    # timeout; the threshold-th failure in a row removes the instance
    detection = checks["mean_detection_time"]
    low = (UNHEALTHY - 1) * INTERVAL + TIMEOUT
    assert low <= detection < low + INTERVAL
    # round robin at 100/s: every other request went to the dead instance until then
    assert lb["refused"] == pytest.approx(50 * detection, abs=1)
    assert d["errors"]["instance_down"] == lb["refused"]
    # back after `healthy_threshold` passed probes: 20 s down + up to 2 intervals
    removed = checks["instance_time_removed"]
    assert (
        20 - detection + (HEALTHY - 1) * INTERVAL <= removed < 20 - detection + HEALTHY * INTERVAL
    )
    # every probe: one per interval per instance, from a phase within the first interval
    assert checks["probes"] == pytest.approx(2 * 60 / INTERVAL, abs=2)


def test_retries_send_refused_requests_to_a_healthy_instance() -> None:
    d = simperf.run(scenario(retries=1), seed=3).to_dict()
    lb = d["load_balancers"]["lb"]
    assert d["requests"]["failed"] == 0
    assert lb["retried"] == lb["refused"] > 0


def test_without_a_health_check_the_balancer_knows_at_once() -> None:
    s = scenario().with_overrides({"components.lb.health_check": None})
    d = simperf.run(s, seed=3).to_dict()
    assert d["requests"]["failed"] == 0
    assert "load_balancers" not in d


def test_mean_detection_time_matches_the_probe_schedule() -> None:
    # The phase of the probes is uniform, so detection = U * interval + (k - 1) * interval
    # + timeout, with mean interval / 2 + (k - 1) * interval + timeout = 5.5 s.
    s = scenario(rate=10, duration=45)
    times = [
        simperf.run(s, seed=11, replication=r).to_dict()["load_balancers"]["lb"]["health_checks"][
            "mean_detection_time"
        ]
        for r in range(30)
    ]
    iv = t_interval(times, 0.999)
    expected = INTERVAL / 2 + (UNHEALTHY - 1) * INTERVAL + TIMEOUT
    assert iv.low <= expected <= iv.high
    # and the spread is the uniform phase's: sd = interval / sqrt(12)
    assert np.std(times, ddof=1) == pytest.approx(INTERVAL / math.sqrt(12), rel=0.4)


def test_probes_through_an_endpoint_remove_an_overloaded_instance() -> None:
    """Probes queue like requests: an instance whose queue outlasts the timeout fails them
    and is taken out of rotation though it never went down."""
    spec = {
        "name": "overloaded",
        "workload": {
            "arrival": {"kind": "poisson", "rate": 180},
            "classes": [{"name": "req", "entry": "lb", "endpoint": "serve"}],
        },
        "components": {
            "lb": {
                "kind": "load_balancer",
                "policy": "round_robin",
                "backends": ["fast", "slow"],
                "health_check": {"interval": 1, "timeout": 0.2, "endpoint": "health"},
            },
            # slow: 90/s offered against 1/12ms = 83/s of capacity
            "fast": {
                "kind": "app_server",
                "endpoints": {"serve": [{"cpu": "2ms"}], "health": [{"cpu": "0.1ms"}]},
            },
            "slow": {
                "kind": "app_server",
                "endpoints": {"serve": [{"cpu": "12ms"}], "health": [{"cpu": "0.1ms"}]},
            },
        },
        "run": {"duration": 120, "warmup": 0},
    }
    d = simperf.run(simperf.from_dict(spec), seed=5).to_dict()
    checks = d["load_balancers"]["lb"]["health_checks"]
    assert checks["removals"] >= 1
    assert checks["detections"] == 0  # nobody was down
    assert checks["failed_probes"] >= 3
    served = d["components"]["lb"]["per_instance"]
    assert served["slow[0]"]["dispatched"] < served["fast[0]"]["dispatched"]


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ({"components.lb.health_check.timeout": 5}, "components.lb.health_check.timeout"),
        ({"components.lb.health_check.endpoint": "nope"}, "components.lb.health_check.endpoint"),
        ({"components.lb.health_check.unhealthy_threshold": 0}, "unhealthy_threshold"),
        ({"components.lb.retries": -1}, "components.lb.retries"),
    ],
)
def test_bad_health_checks_fail_before_the_run(
    override: dict[str, Any], path: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    data = scenario().model_dump(mode="json", by_alias=True)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data))
    ((key, value),) = override.items()
    code = main(["run", str(spec), "--set", f"{key}={value}"])
    err = capsys.readouterr().err
    assert code == 2
    assert path in err
    assert "Traceback" not in err


def _probed(
    components: dict[str, Any], health: list[Any], *, app_first: bool = False
) -> dict[str, Any]:
    """Two ``app`` instances with a ``health`` endpoint, listed after ``components`` (or
    before them)."""
    app = {
        "app": {
            "kind": "app_server",
            "replicas": 2,
            "endpoints": {"serve": [{"cpu": "1ms"}], "health": health},
        }
    }
    return {
        "name": "probed",
        "keyspaces": {"items": {"keys": 100, "popularity": "uniform"}},
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 20},
            "classes": [{"name": "req", "entry": "lb", "endpoint": "serve", "keyspace": "items"}],
        },
        "components": app | components if app_first else components | app,
        "run": {"duration": 10, "warmup": 0},
    }


LB = {
    "kind": "load_balancer",
    "policy": "round_robin",
    "backends": "app",
    "health_check": {"interval": 1, "timeout": 0.5, "endpoint": "health"},
}


@pytest.mark.parametrize("app_first", [False, True])
def test_a_probe_may_call_components_wired_after_the_balancer(app_first: bool) -> None:
    # The probed endpoint calls another component: the order of the components (the
    # order they are wired in) must not matter.
    search = {"kind": "app_server", "endpoints": {"query": [{"cpu": "1ms"}]}}
    health = [{"call": "search.query"}]
    spec = _probed({"lb": LB, "search": search}, health, app_first=app_first)
    result = simperf.run(simperf.from_dict(spec), seed=1)
    d = result.to_dict()
    checks = d["load_balancers"]["lb"]["health_checks"]
    # Two instances probed once a second from a phase in [0, 1): 10 probes each in 10 s.
    assert checks["probes"] == 20
    assert checks["failed_probes"] == 0
    # Probes are no requests of the workload, but they load what they call.
    assert d["requests"]["generated"] == 199  # at 1/20 s, 2/20 s, ... before 10 s
    assert d["components"]["search"]["served"] == 20


@pytest.mark.parametrize("app_first", [False, True])
def test_a_probe_reads_through_a_cache_of_several_nodes(app_first: bool) -> None:
    # A read step needs a key, which requests draw from their class's key space.
    cache = {"kind": "cache", "keyspace": "items", "capacity": 100, "nodes": 2, "latency": "100us"}
    health = [{"read": {"cache": "cache", "backing": {"delay": "1ms"}}}]
    spec = _probed({"lb": LB, "cache": cache}, health, app_first=app_first)
    result = simperf.run(simperf.from_dict(spec), seed=1)
    checks = result.to_dict()["load_balancers"]["lb"]["health_checks"]
    assert (checks["probes"], checks["failed_probes"]) == (20, 0)


@pytest.mark.parametrize(("one_way", "failed"), [("20ms", 0), ("40ms", 20)])
def test_probes_cross_the_network_as_requests_do(one_way: str, failed: int) -> None:
    # The balancer in us probes instances in eu: a probe answers after the round trip
    # (2 x one way + 1 ms of CPU), against a 50 ms timeout.
    lb = {**LB, "region": "us", "health_check": {**LB["health_check"], "timeout": 0.05}}
    spec = _probed({"lb": lb}, [{"cpu": "1ms"}])
    spec["network"] = {"regions": ["us", "eu"], "latency": {"us": {"eu": one_way}}}
    spec["components"]["app"]["region"] = "eu"
    checks = simperf.run(simperf.from_dict(spec), seed=1).to_dict()["load_balancers"]["lb"]
    assert (checks["health_checks"]["probes"], checks["health_checks"]["failed_probes"]) == (
        20,
        failed,
    )

"""Fault specs: kinds, targets, schedules, and every mistake named by its path (exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import simperf
from simperf.cli import main
from simperf.errors import SpecError


def spec(faults: list[dict[str, Any]], *, network: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "faulty",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 100},
            "classes": [{"name": "req", "entry": "lb", "endpoint": "serve"}],
        },
        "components": {
            "lb": {"kind": "load_balancer", "backends": "app"},
            "app": {"kind": "app_server", "replicas": 2, "endpoints": {"serve": [{"cpu": "1ms"}]}},
        },
        "faults": faults,
        "run": {"duration": 10, "warmup": 0},
    }
    if network:
        data["network"] = {"regions": ["eu", "us"], "latency": {"eu": {"us": "40ms"}}}
        data["components"]["app"]["region"] = "us"
    return data


AT = {"at": 1, "for": 1}
BAD = {
    "unknown component": (
        [{"component": "nope", **AT}],
        "faults[0].component: unknown component 'nope' (app, lb)",
    ),
    "unknown instance": (
        [{"component": "app", "instance": 2, **AT}],
        "faults[0].instance: 'app' has 2 instance(s), numbered from 0",
    ),
    "unknown group member": (
        [{"group": ["app[0]", "app[5]"], **AT}],
        "faults[0].group[1]: 'app' has 2 instance(s), numbered from 0",
    ),
    "malformed group member": (
        [{"group": ["app 0"], **AT}],
        "faults[0].group[0]: 'app 0' is not component or component[index]",
    ),
    "overlap on one instance": (
        [
            {"component": "app", "at": 1, "for": 2},
            {"component": "app", "instance": 1, "at": 2.5, "for": 1},
        ],
        "faults[1]: overlaps faults[0] on app[1]",
    ),
    "repair without failure": (
        [{"component": "app", "mttr": "1s"}],
        "faults[0].mttr: needs mtbf",
    ),
    "failure without repair": (
        [{"component": "app", "mtbf": "10s"}],
        "faults[0].mtbf: needs mttr",
    ),
    "schedule and random at once": (
        [{"component": "app", "mtbf": "10s", "mttr": "1s", "at": 1}],
        "faults[0].at: give either at and for, or mtbf and mttr",
    ),
    "no timing": ([{"component": "app"}], "faults[0].at: a fault needs at and for"),
    "slow factor of 1": (
        [{"component": "app", "kind": "slow", "factor": 1, **AT}],
        "faults[0].factor: must be > 1",
    ),
    "slow without factor": (
        [{"component": "app", "kind": "slow", **AT}],
        "faults[0].factor: a slow fault needs it",
    ),
    "error fraction above 1": (
        [{"component": "app", "kind": "errors", "fraction": 1.5, **AT}],
        "faults[0].fraction: must be <= 1",
    ),
    "error fraction of 0": (
        [{"component": "app", "kind": "errors", "fraction": 0, **AT}],
        "faults[0].fraction: must be > 0",
    ),
    "region without a network": (
        [{"region": "eu", **AT}],
        "faults[0].region: unknown region 'eu' (the scenario has no network regions)",
    ),
    "two targets": (
        [{"component": "app", "region": "eu", **AT}],
        "give exactly one target: component, group, region or between (got component, region)",
    ),
    "balancer cannot slow down": (
        [{"component": "lb", "kind": "slow", "factor": 2, **AT}],
        "faults[0].component: 'lb' cannot take a slow fault (its kind is load_balancer; "
        "it supports: crash, errors)",
    ),
    "partition without between": (
        [{"component": "app", "kind": "partition", **AT}],
        "faults[0].between: partition faults need between: [region, region]",
    ),
    "in_service on a slow fault": (
        [{"component": "app", "kind": "slow", "factor": 2, "in_service": "fail", **AT}],
        "faults[0].in_service: only for crash faults",
    ),
    "in_service on a balancer": (
        [{"component": "lb", "in_service": "hang", **AT}],
        "faults[0].in_service: only app servers, not a load_balancer ('lb')",
    ),
    "in_service on a balancer in a group": (
        [{"group": ["app[0]", "lb"], "in_service": "fail", **AT}],
        "faults[0].group[1].in_service: only app servers, not a load_balancer ('lb')",
    ),
    "unknown in_service": (
        [{"component": "app", "in_service": "explode", **AT}],
        "faults[0].in_service: ",
    ),
    "connect timeout on a balancer": (
        [{"component": "lb", "connect_timeout": "1s", **AT}],
        "faults[0].connect_timeout: a load_balancer does not model connection attempts",
    ),
}


def write(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_faults_exit_2_with_the_path(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults, expected = BAD[case]
    assert main(["validate", write(tmp_path, spec(faults))]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"region": "mars"}, "faults[0].region: unknown region 'mars' (regions: eu, us)"),
        (
            {"kind": "latency", "between": ["eu", "asia"], "latency": "50ms"},
            "faults[0].between[1]: unknown region 'asia' (regions: eu, us)",
        ),
    ],
)
def test_unknown_regions_are_named(fault: dict[str, Any], expected: str) -> None:
    with pytest.raises(SpecError) as raised:
        simperf.from_dict(spec([{**fault, **AT}], network=True))
    assert expected in str(raised.value)


def test_every_target_and_kind_validates() -> None:
    faults = [
        {"component": "app", "instance": 0, "at": 1, "for": 1, "connect_timeout": "2s"},
        {"component": "app", "instance": 0, "kind": "slow", "factor": 4, "at": 3, "for": 1},
        {"component": "app", "kind": "errors", "fraction": 0.1, "at": 5, "for": 1},
        {"component": "lb", "mtbf": {"dist": "exponential", "mean": "1h"}, "mttr": "5m"},
        {"group": ["app[1]", "lb"], "at": 7, "for": 1},
        {"region": "us", "at": 9, "for": 0.5},
        {"kind": "latency", "between": ["eu", "us"], "latency": "100ms", "at": 1, "for": 2},
        {"kind": "partition", "between": ["eu", "us"], "connect_timeout": "1s", "at": 4, "for": 1},
    ]
    scenario = simperf.from_dict(spec(faults, network=True))
    labels = [f.label for f in scenario.faults]
    assert labels == [
        "app[0]",
        "app[0]",
        "app",
        "lb",
        "group app[1]+lb",
        "region us",
        "eu<->us",
        "eu<->us",
    ]
    assert scenario.faults[3].random and not scenario.faults[0].random


def test_in_service_on_a_region_names_what_else_is_located_there() -> None:
    data = spec([{"region": "eu", "in_service": "fail", **AT}], network=True)
    data["components"]["lb"]["region"] = "eu"
    with pytest.raises(SpecError) as raised:
        simperf.from_dict(data)
    assert (
        "faults[0].in_service: only app servers, but 'lb' (a load_balancer) is located in eu"
        in (str(raised.value))
    )
    simperf.from_dict(spec([{"region": "us", "in_service": "hang", **AT}], network=True))


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ([{"component": "app", "at": 10, "for": 1}], "faults[0].at: 10 s is not before"),
        (
            [{"component": "app", "instance": 0, **AT}, {"component": "app", "at": "2h", "for": 1}],
            "faults[1].at: 2 h is not before the end of the run (run.duration 10 s)",
        ),
    ],
)
def test_a_fault_after_the_run_is_named_in_a_warning(
    faults: list[dict[str, Any]], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # it was accepted in silence and never happened
    assert main(["validate", write(tmp_path, spec(faults))]) == 0
    assert f"simperf: warning: {expected}" in capsys.readouterr().err
    with pytest.warns(simperf.SimperfWarning, match="the fault never happens"):
        simperf.from_dict(spec(faults))

"""Alert specs: thresholds in the metric's unit, and every bad reference named by its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import simperf
from simperf import SpecError, from_dict
from simperf.cli import main
from simperf.units import parse_fraction


def with_alerts(spec: dict[str, Any], *alerts: dict[str, Any]) -> dict[str, Any]:
    spec["components"]["lb"] = {"kind": "load_balancer", "backends": ["app"]}
    spec["alerts"] = list(alerts)
    return spec


@pytest.mark.parametrize(
    ("alert", "threshold"),
    [
        ({"metric": "p99", "above": "200ms"}, 0.2),
        ({"metric": "mean", "below": 0.5}, 0.5),
        ({"metric": "throughput", "below": "3k/min"}, 50.0),
        ({"metric": "error_rate", "above": "1%"}, 0.01),
        ({"metric": "utilization", "component": "app", "above": 0.9}, 0.9),
        ({"metric": "utilization", "component": "app", "above": "95 %"}, 0.95),
        ({"metric": "queue_length", "component": "app", "instance": 0, "above": "20"}, 20.0),
        ({"metric": "errors", "above": 3}, 3.0),
        ({"metric": "in_system", "above": 12.5}, 12.5),
    ],
)
def test_threshold_takes_the_unit_of_its_metric(
    minimal_spec: dict[str, Any], alert: dict[str, Any], threshold: float
) -> None:
    scenario = from_dict(with_alerts(minimal_spec, {"name": "a", **alert}))
    assert scenario.alerts[0].threshold == pytest.approx(threshold)


def test_for_window_and_class_defaults(minimal_spec: dict[str, Any]) -> None:
    spec = with_alerts(
        minimal_spec,
        {"name": "a", "metric": "p99", "above": "1s"},
        {"name": "b", "metric": "p95", "class": "req", "below": "1s", "for": "2min", "window": 30},
    )
    a, b = from_dict(spec).alerts
    assert (a.request_class, a.for_, a.window, a.direction) == ("all", 0.0, None, "above")
    assert (b.request_class, b.for_, b.window, b.direction) == ("req", 120.0, 30.0, "below")


def test_alerts_survive_overrides(minimal_spec: dict[str, Any]) -> None:
    spec = with_alerts(minimal_spec, {"name": "a", "metric": "p99", "above": "1s", "for": 5})
    scenario = from_dict(spec).with_overrides({"alerts.0.for": "10s"})
    assert scenario.alerts[0].for_ == 10.0


def test_parse_fraction() -> None:
    assert parse_fraction("1%") == 0.01 and parse_fraction("0.5") == 0.5
    with pytest.raises(ValueError, match="fraction"):
        parse_fraction("1ms")


BAD_ALERTS: dict[str, tuple[dict[str, Any], str]] = {
    "both sides": (
        {"metric": "p99", "above": "1s", "below": "2s"},
        "alerts[0]: give above or below (one of them)",
    ),
    "no side": ({"metric": "p99"}, "alerts[0]: give above or below (one of them)"),
    "time unit on a rate": (
        {"metric": "throughput", "above": "5ms"},
        "alerts[0].above: expected a rate",
    ),
    "rate on a time": ({"metric": "p99", "above": "5/s"}, "alerts[0].above: expected a time"),
    "unknown metric": ({"metric": "p42", "above": 1}, "alerts[0].metric"),
    "component missing": (
        {"metric": "utilization", "above": 0.9},
        "alerts[0].component: required for utilization",
    ),
    "component on a request metric": (
        {"metric": "p99", "component": "app", "above": 1},
        "alerts[0].component: only utilization, queue_length, shed, expired and cancelled "
        "take a component",
    ),
    "class on utilization": (
        {"metric": "utilization", "component": "app", "class": "req", "above": 0.9},
        "alerts[0].class: utilization is not measured per request class",
    ),
    "unknown component": (
        {"metric": "utilization", "component": "ap", "above": 0.9},
        "alerts[0].component: unknown component 'ap' (known: app, lb)",
    ),
    "balancer has no instances": (
        {"metric": "queue_length", "component": "lb", "above": 5},
        "alerts[0].component: 'lb' (load_balancer) has no instances of its own",
    ),
    "unknown class": (
        {"metric": "p99", "class": "checkout", "above": 1},
        "alerts[0].class: unknown request class 'checkout' (classes: all, req)",
    ),
    "negative for": ({"metric": "p99", "above": 1, "for": -1}, "alerts[0].for: must be >= 0"),
    "bad name": ({"name": "a b", "metric": "p99", "above": 1}, "alerts[0].name"),
}


@pytest.mark.parametrize("case", sorted(BAD_ALERTS))
def test_bad_alerts_are_named_by_path(minimal_spec: dict[str, Any], case: str) -> None:
    alert, expected = BAD_ALERTS[case]
    with pytest.raises(SpecError) as info:
        from_dict(with_alerts(minimal_spec, {"name": "a", **alert}))
    assert expected in str(info.value)


def test_duplicate_alert_names(minimal_spec: dict[str, Any]) -> None:
    alert = {"name": "a", "metric": "p99", "above": 1}
    with pytest.raises(SpecError, match=r"alerts\[1\].name: alert 'a' is defined twice"):
        from_dict(with_alerts(minimal_spec, alert, alert))


def test_instance_out_of_range(minimal_spec: dict[str, Any]) -> None:
    alert = {"name": "a", "metric": "utilization", "component": "app", "instance": 2, "above": 1}
    with pytest.raises(SpecError, match=r"alerts\[0\].instance: 'app' has 1 instance\(s\)"):
        from_dict(with_alerts(minimal_spec, alert))


def test_database_instance_out_of_range_fails_before_the_run(
    minimal_spec: dict[str, Any],
) -> None:
    minimal_spec["components"]["db"] = {
        "kind": "database",
        "primary": {"cores": 1, "memory": "1GiB"},
        "tables": {"t": {"rows": 10, "row_size": 100}},
        "queries": {"q": {"table": "t", "where": ["id"]}},
    }
    minimal_spec["components"]["app"]["endpoints"]["serve"].append({"call": "db.q"})
    alert = {"name": "a", "metric": "queue_length", "component": "db", "instance": 1, "above": 1}
    scenario = from_dict(with_alerts(minimal_spec, alert))
    with pytest.raises(
        SpecError, match=r"alerts\[0\].instance: 'db' has 1 instance\(s\) \(db\[primary\]\)"
    ):
        simperf.run(scenario)


@pytest.mark.parametrize(
    ("alert", "expected"),
    [
        (
            {"metric": "utilization", "component": "db", "above": 0.9},
            "alerts[0].component: unknown component 'db'",
        ),
        (
            {"metric": "utilization", "component": "app", "instance": 3, "above": 0.9},
            "alerts[0].instance: 'app' has 1 instance(s), numbered from 0",
        ),
    ],
)
def test_cli_exits_2_with_the_alert_path(
    tmp_path: Path,
    minimal_spec: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    alert: dict[str, Any],
    expected: str,
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(with_alerts(minimal_spec, {"name": "a", **alert})))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err

"""Scenario validation: each test starts from the minimal spec and breaks one thing."""

from __future__ import annotations

from typing import Any

import pytest

from simperf import SpecError, from_dict
from simperf.spec.io import json_schema
from simperf.spec.scenario import MAX_CALL_DEPTH

from conftest import MODELS


def error_of(spec: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        from_dict(spec)
    return str(info.value)


def test_minimal_spec_is_valid(minimal_spec: dict[str, Any]) -> None:
    scenario = from_dict(minimal_spec)
    assert scenario.components["app"].cores == 1
    assert scenario.workload.arrival.rate == 50


def test_unknown_kind(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["kind"] = "mainframe"
    message = error_of(minimal_spec)
    assert message.startswith("components.app: unknown kind 'mainframe'")
    assert "app_server" in message


def test_misspelt_field(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["coers"] = 2
    assert error_of(minimal_spec) == "components.app.coers: unknown field (did you mean 'cores'?)"


def test_cores_below_one(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["cores"] = 0
    assert error_of(minimal_spec) == "components.app.cores: must be >= 1"


def test_negative_rate(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"]["rate"] = "-5/s"
    assert error_of(minimal_spec) == "workload.arrival.rate: must be > 0.0"


def test_rate_above_documented_bound(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"]["rate"] = "20M/s"
    assert error_of(minimal_spec) == "workload.arrival.rate: must be <= 10000000.0"


def test_bad_time_unit_names_the_path(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["endpoints"]["serve"] = [{"cpu": "5 parsecs"}]
    message = error_of(minimal_spec)
    assert message.startswith("components.app.endpoints.serve[0].cpu:")
    assert "5 parsecs" in message


def test_step_with_two_actions(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["endpoints"]["serve"] = [{"cpu": "1ms", "delay": "1ms"}]
    message = error_of(minimal_spec)
    assert message.startswith("components.app.endpoints.serve[0]:")
    assert (
        "exactly one of cpu, delay, call, parallel, query, read, write, rate_limit or "
        "leaderboard" in message
    )


def test_balancer_with_no_backends(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["lb"] = {"kind": "load_balancer", "backends": []}
    assert error_of(minimal_spec) == "components.lb.backends: must have at least 1 item(s)"


def test_balancer_with_unknown_backend(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["lb"] = {"kind": "load_balancer", "backends": ["ghost"]}
    assert error_of(minimal_spec).startswith("components.lb.backends[0]: unknown component 'ghost'")


def test_an_entry_balancer_over_no_app_server_is_named_once(minimal_spec: dict[str, Any]) -> None:
    # its classes used to add "'lb' has no endpoint 'serve' (it has: none)" each
    minimal_spec["components"]["lb"] = {"kind": "load_balancer", "backends": ["lb"]}
    minimal_spec["workload"]["classes"][0]["entry"] = "lb"
    assert error_of(minimal_spec) == "components.lb.backends[0]: 'lb' is not an app_server"


def test_call_to_missing_endpoint(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["db"] = {
        "kind": "app_server",
        "endpoints": {"query": [{"cpu": "1ms"}]},
    }
    minimal_spec["components"]["app"]["endpoints"]["serve"].append({"call": "db.qurey"})
    message = error_of(minimal_spec)
    assert message.startswith("components.app.endpoints.serve: 'db' has no endpoint 'qurey'")
    assert "query" in message


def test_call_to_missing_component(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["endpoints"]["serve"].append({"call": "db.query"})
    assert "calls unknown component 'db'" in error_of(minimal_spec)


def test_entry_to_missing_endpoint(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["classes"][0]["endpoint"] = "srve"
    assert error_of(minimal_spec).startswith(
        "workload.classes[0].endpoint: 'app' has no endpoint 'srve'"
    )


def test_call_cycle_is_refused(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["endpoints"]["serve"].append({"call": "app.serve"})
    assert "cycle: app.serve -> app.serve" in error_of(minimal_spec)


def test_reserved_and_invalid_component_names(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["all"] = minimal_spec["components"]["app"]
    minimal_spec["components"]["bad-name"] = minimal_spec["components"]["app"]
    message = error_of(minimal_spec)
    assert "components.all: the name 'all' is reserved" in message
    assert "components.bad-name: component names may use only letters, digits and _" in message


def test_open_and_closed_together_is_refused(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["users"] = 10
    assert "exactly one of arrival" in error_of(minimal_spec)


def test_duplicate_class_names(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["classes"].append(dict(minimal_spec["workload"]["classes"][0]))
    assert "duplicate class name(s) req" in error_of(minimal_spec)


def test_warmup_longer_than_duration(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["run"]["warmup"] = 30
    assert "warmup: must be shorter than duration" in error_of(minimal_spec)


def test_a_run_shorter_than_its_warmup_names_both(capsys: pytest.CaptureFixture[str]) -> None:
    # "simperf run models/mmc.yaml --duration 10s" said only "run.warmup: must be
    # shorter than duration", naming neither the 20 s warm-up nor the 10 s asked for
    from simperf.cli import main

    assert main(["run", str(MODELS / "mmc.yaml"), "--duration", "10s"]) == 2
    assert (
        "run.warmup: must be shorter than duration (run.warmup = 20 s, run.duration = 10 s)"
    ) in capsys.readouterr().err


def test_several_problems_are_all_reported(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["cores"] = 0
    minimal_spec["components"]["app"]["replicas"] = -1
    message = error_of(minimal_spec)
    assert "components.app.cores: must be >= 1" in message
    assert "components.app.replicas: must be >= 1" in message


def test_units_accepted_everywhere(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"]["rate"] = "3k/min"
    minimal_spec["run"] = {"duration": "2min", "warmup": "500ms"}
    scenario = from_dict(minimal_spec)
    assert scenario.workload.arrival.rate == pytest.approx(50.0)
    assert scenario.run.duration == 120.0
    assert scenario.run.warmup == 0.5


def test_json_schema_describes_every_component_kind() -> None:
    schema = json_schema()
    text = str(schema)
    assert "AppServerSpec" in text and "LoadBalancerSpec" in text
    app = schema["$defs"]["AppServerSpec"]
    assert app["additionalProperties"] is False
    assert all("description" in field for field in app["properties"].values())
    assert app["properties"]["cores"]["minimum"] == 1


def test_balancers_pointing_at_each_other_are_refused(minimal_spec: dict[str, Any]) -> None:
    components = minimal_spec["components"]
    components["lb1"] = {"kind": "load_balancer", "backends": "lb2"}
    components["lb2"] = {"kind": "load_balancer", "backends": ["lb1"]}
    minimal_spec["workload"]["classes"][0]["entry"] = "lb1"
    message = error_of(minimal_spec)
    assert "components.lb1.backends[0]: 'lb2' is not an app_server" in message
    assert "components.lb2.backends[0]: 'lb1' is not an app_server" in message


def test_balancer_that_is_its_own_backend_is_refused(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["lb"] = {"kind": "load_balancer", "backends": ["lb", "app"]}
    minimal_spec["workload"]["classes"][0]["entry"] = "lb"
    assert "components.lb.backends[0]: 'lb' is not an app_server" in error_of(minimal_spec)


def _chain(spec: dict[str, Any], hops: int) -> dict[str, Any]:
    """app.serve calls s0.e, which calls s1.e, ... : ``hops`` nested calls below app.serve."""
    components = spec["components"]
    for i in range(hops):
        last = i == hops - 1
        steps = [{"cpu": "1ms"}] if last else [{"call": f"s{i + 1}.e"}]
        components[f"s{i}"] = {"kind": "app_server", "endpoints": {"e": steps}}
    components["app"]["endpoints"]["serve"].append({"call": "s0.e"})
    return spec


def test_very_long_call_chain_is_refused_with_its_depth(minimal_spec: dict[str, Any]) -> None:
    message = error_of(_chain(minimal_spec, 1300))
    assert message == (
        "components.app.endpoints.serve: calls nest 1301 deep (app.serve -> s0.e -> s1.e -> "
        f"... -> s1298.e -> s1299.e); at most {MAX_CALL_DEPTH} are allowed"
    )


def test_call_chain_at_the_limit_is_accepted(minimal_spec: dict[str, Any]) -> None:
    from_dict(_chain(minimal_spec, MAX_CALL_DEPTH - 1))
    with pytest.raises(SpecError, match=f"calls nest {MAX_CALL_DEPTH + 1} deep"):
        from_dict(_chain(minimal_spec, MAX_CALL_DEPTH))


def test_long_call_cycle_is_found_without_recursion(minimal_spec: dict[str, Any]) -> None:
    spec = _chain(minimal_spec, 1300)
    spec["components"]["s1299"]["endpoints"]["e"] = [{"call": "s0.e"}]
    message = error_of(spec)
    assert message.startswith("components: calls form a cycle: s0.e -> s1.e -> ")
    assert message.endswith("s1299.e -> s0.e")

from __future__ import annotations

import pytest

import simperf
from simperf.errors import SpecError
from simperf.presentation.report import render
from simperf.spec.cost import scenario_cost
from simperf.units import parse_price

SPEC = {
    "name": "priced",
    "workload": {
        "arrival": {"kind": "poisson", "rate": 50},
        "classes": [{"name": "r", "entry": "app", "endpoint": "serve"}],
    },
    "components": {
        "app": {
            "kind": "app_server",
            "replicas": 3,
            "cores": 2,
            "cost": {"per_instance": "0.20/h", "per_core": "0.05/h"},
            "endpoints": {"serve": [{"cpu": "1ms"}]},
        }
    },
    "run": {"requests": 200, "warmup": 0},
}


def test_price_units() -> None:
    assert parse_price("0.2/h") == pytest.approx(0.2)
    assert parse_price("146/month") == pytest.approx(0.2)
    assert parse_price("24/day") == pytest.approx(1.0)
    assert parse_price(3) == 3.0
    with pytest.raises(ValueError, match="unknown period"):
        parse_price("1/week")


def test_cost_follows_replicas_and_cores() -> None:
    scenario = simperf.from_dict(SPEC)
    assert scenario_cost(scenario)["total_per_hour"] == pytest.approx(3 * 0.2 + 6 * 0.05)
    bigger = scenario.with_overrides({"components.app.replicas": 5})
    assert scenario_cost(bigger)["components"]["app"] == pytest.approx(5 * 0.2 + 10 * 0.05)


def test_size_exponent_makes_large_instances_dearer_per_core() -> None:
    scenario = simperf.from_dict(SPEC).with_overrides(
        {
            "components.app.replicas": 2,
            "components.app.cores": 8,
            "components.app.cost": {"per_instance": 1, "per_core": 0.5, "size_exponent": 1.5},
        }
    )
    assert scenario_cost(scenario)["total_per_hour"] == pytest.approx(2 * (1 + 0.5 * 8**1.5))


def test_database_replicas_are_priced() -> None:
    from simperf.spec.cost import CostSpec, size

    db = simperf.from_dict(
        {
            **SPEC,
            "components": {
                **SPEC["components"],
                "db": {
                    "kind": "database",
                    "read_replicas": 2,
                    "replica": {"cores": 2},
                    "tables": {"t": {"rows": 10}},
                    "queries": {"q": {"table": "t"}},
                },
            },
        }
    ).components["db"]
    assert size(db) == [(1, 4), (2, 2)]
    assert CostSpec(per_core=1).per_hour(size(db)) == 8


def test_cost_is_a_metric_of_the_result() -> None:
    result = simperf.run(simperf.from_dict(SPEC), seed=1)
    assert result.metric("cost.total_per_hour") == pytest.approx(0.9)
    assert "cost      0.9 per hour (app 0.9)" in result.summary()
    from simperf.experiment.metrics import known_metrics

    assert "cost.total_per_hour" in known_metrics(simperf.from_dict(SPEC))


def test_negative_price_is_refused() -> None:
    bad = {**SPEC, "components": {"app": {**SPEC["components"]["app"], "cost": {"per_core": -1}}}}
    with pytest.raises(SpecError, match=r"components\.app\.cost\.per_core"):
        simperf.from_dict(bad)


def test_balancer_has_a_fixed_price() -> None:
    spec = {
        **SPEC,
        "workload": {
            **SPEC["workload"],
            "classes": [{"name": "r", "entry": "lb", "endpoint": "serve"}],
        },
        "components": {
            **SPEC["components"],
            "lb": {"kind": "load_balancer", "backends": "app", "cost": {"per_instance": "0.025/h"}},
        },
    }
    cost = scenario_cost(simperf.from_dict(spec))
    assert cost["components"]["lb"] == pytest.approx(0.025)
    assert cost["total_per_hour"] == pytest.approx(0.925)


def per_instance_only(**overrides: object) -> simperf.Scenario:
    scenario = simperf.from_dict(SPEC).with_overrides(
        {"components.app.cost": {"per_instance": "0.34/h"}}
    )
    return scenario.with_overrides(overrides) if overrides else scenario


def test_per_core_left_out_is_free_and_flagged_when_instance_sizes_differ() -> None:
    from simperf.spec.cost import free_cores

    up = per_instance_only(**{"components.app.replicas": 1, "components.app.cores": 5})
    out = per_instance_only(**{"components.app.replicas": 3, "components.app.cores": 4})
    assert up.components["app"].cost.per_core is None
    assert scenario_cost(up)["total_per_hour"] == pytest.approx(0.34)  # 5 cores for free
    (message,) = free_cores({"up": up, "out": out})
    assert "cores are free" in message and "(up: 5, out: 4)" in message
    assert "components.app.cost.per_core" in message
    # scaling out alone keeps one instance size: per_instance prices it right
    assert free_cores({"a": out, "b": out.with_overrides({"components.app.replicas": 6})}) == []
    # a per_core price, even 0 on purpose, is a price
    priced = {"components.app.cost.per_core": 0}
    assert free_cores({"up": up.with_overrides(priced), "out": out.with_overrides(priced)}) == []
    (partial,) = free_cores({"up": up.with_overrides(priced), "out": out})
    assert "no per_core price in out " in partial


def test_a_price_is_set_by_path_on_a_component_priced_nowhere() -> None:
    """--set components.app.cost.per_instance=... (or --set-design, --grid) on a spec
    without a cost block starts one: it used to fail with 'components.app.cost: is a
    value, not a section'."""
    from pathlib import Path

    mmc = simperf.load(Path(__file__).resolve().parents[2] / "models" / "mmc.yaml")
    assert mmc.components["app"].cost is None
    priced = mmc.with_overrides(
        {"components.app.cost.per_instance": "0.1/h", "components.app.cost.per_core": "0.05/h"}
    )
    assert scenario_cost(priced)["total_per_hour"] == pytest.approx(0.1 + 4 * 0.05)
    with pytest.raises(SpecError, match="did you mean 'per_instance'"):
        mmc.with_overrides({"components.app.cost.per_instanse": "0.1/h"})
    with pytest.raises(SpecError, match=r"overrides components\.app\.autoscaling\.min=2: .*max"):
        mmc.with_overrides({"components.app.autoscaling.min": 2})  # checked as a section


def test_components_without_a_price_are_named_beside_the_total() -> None:
    # A balancer and a callee with no price leave the total; the result says which, so
    # that the total is not read as the whole bill. An explicit 0 is a price.
    spec = {
        **SPEC,
        "workload": {
            "arrival": {"kind": "poisson", "rate": 50},
            "classes": [{"name": "r", "entry": "lb", "endpoint": "serve"}],
        },
        "components": {
            "lb": {"kind": "load_balancer", "backends": "app"},
            "app": {
                **SPEC["components"]["app"],
                "endpoints": {"serve": [{"cpu": "1ms"}, {"call": "search.query"}]},
            },
            "search": {"kind": "app_server", "endpoints": {"query": [{"cpu": "1ms"}]}},
        },
    }
    scenario = simperf.from_dict(spec)
    cost = scenario_cost(scenario)
    assert cost["total_per_hour"] == pytest.approx(3 * 0.2 + 6 * 0.05)
    assert cost["unpriced"] == ["lb", "search"]
    free = scenario.with_overrides({"components.lb.cost": {"per_instance": 0}})
    assert scenario_cost(free)["unpriced"] == ["search"]
    result = simperf.run(scenario, seed=1)
    assert result.to_dict()["cost"]["unpriced"] == ["lb", "search"]
    lines = result.summary().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("cost "))
    assert lines[at + 1].strip() == "not in the total, no price given: lb, search"
    assert "no price given: lb, search" in render(result)

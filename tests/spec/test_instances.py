"""Instance types: what a type sets, prices, did-you-mean, catalogues and overrides."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import simperf
from simperf.spec.cost import free_cores, scenario_cost
from simperf.spec.instances import BUFFER_POOL_SHARE, DEFAULT_CATALOGUE, load_catalogue

from conftest import CATALOGUE

GIB = 2**30


def spec(**app: Any) -> dict[str, Any]:
    return {
        "name": "typed",
        "workload": {
            "arrival": {"kind": "poisson", "rate": 10},
            "classes": [{"name": "r", "entry": "app", "endpoint": "serve"}],
        },
        "components": {
            "app": {"kind": "app_server", "endpoints": {"serve": [{"cpu": "1ms"}]}, **app}
        },
        "run": {"duration": 1},
    }


def test_the_models_file_is_the_built_in_catalogue() -> None:
    assert CATALOGUE.resolve() == DEFAULT_CATALOGUE.resolve()
    types = load_catalogue()
    # general purpose 4 GiB per vCPU, memory optimised 8 GiB per vCPU, at 2..64 vCPU
    for family, per_core in (("m", 4), ("r", 8)):
        sized = [t for n, t in types.items() if n.startswith(f"{family}.")]
        assert sorted(t.cores for t in sized) == [2, 4, 8, 16, 32, 64]
        assert all(t.memory == per_core * GIB * t.cores for t in sized)
    # memory is priced: same cores, more memory, higher price
    assert types["r.4xlarge"].per_hour > types["m.4xlarge"].per_hour


def test_a_type_sets_cores_memory_and_price_and_leaves_the_data_alone() -> None:
    data = spec(instance_type="m.xlarge", replicas=3, memory={"per_request": "50MiB"})
    original = copy.deepcopy(data)
    scenario = simperf.from_dict(data)
    app = scenario.components["app"]
    assert (app.cores, app.memory.capacity) == (4, 16 * GIB)
    assert scenario_cost(scenario)["total_per_hour"] == pytest.approx(3 * 0.192)
    assert data == original


def test_per_instance_adds_to_the_type_price_and_per_core_is_not_asked_for() -> None:
    scenario = simperf.from_dict(spec(instance_type="m.large", cost={"per_instance": 0.01}))
    assert scenario_cost(scenario)["total_per_hour"] == pytest.approx(0.106)
    designs = {
        "small": scenario,
        "big": scenario.with_overrides({"components.app.instance_type": "m.8xlarge"}),
    }
    assert free_cores(designs) == []  # the types' prices cover their cores


def test_overriding_the_type_resizes_and_reprices() -> None:
    scenario = simperf.from_dict(spec(cores=2, memory={"capacity": "4GiB", "per_request": "1MiB"}))
    bigger = scenario.with_overrides({"components.app.instance_type": "r.4xlarge"})
    app = bigger.components["app"]
    assert (app.cores, app.memory.capacity) == (16, 128 * GIB)
    assert scenario_cost(bigger)["total_per_hour"] == pytest.approx(1.008)


@pytest.mark.parametrize(
    ("app", "message"),
    [
        (
            {"instance_type": "m.4xlarg"},
            r"components\.app\.instance_type: unknown instance type "
            r"'m\.4xlarg' in the built-in catalogue \(did you mean 'm\.4xlarge'\?\)",
        ),
        (
            {"instance_type": "m.large", "cores": 4},
            r"components\.app\.cores: 4 differs from "
            r"instance_type 'm\.large' \(2 cores\)",
        ),
        (
            {"instance_type": "m.large", "memory": {"capacity": "9GiB", "per_request": "1MiB"}},
            r"components\.app: memory .* exceeds instance_type 'm\.large'",
        ),
        ({"instance_type": "no such type!"}, r"components\.app\.instance_type"),
    ],
)
def test_bad_types_are_named_by_path(app: dict[str, Any], message: str) -> None:
    with pytest.raises(simperf.SpecError, match=message):
        simperf.from_dict(spec(**app))


def test_unknown_type_exits_2_from_the_cli(tmp_path: Path, capsys: Any) -> None:
    from simperf.cli import main

    path = tmp_path / "typo.yaml"
    path.write_text(
        "name: typo\nworkload:\n  arrival: {kind: poisson, rate: 10}\n"
        "  classes: [{name: r, entry: app, endpoint: serve}]\ncomponents:\n"
        "  app:\n    kind: app_server\n    instance_type: r.2xlage\n"
        "    endpoints: {serve: [{cpu: 1ms}]}\n",
        encoding="utf-8",
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "typo.yaml:8: components.app.instance_type" in err and "'r.2xlarge'" in err
    assert "Traceback" not in err


def test_a_scenario_may_name_its_own_catalogue(tmp_path: Path) -> None:
    own = tmp_path / "types.yaml"
    own.write_text("types:\n  big: {cores: 96, memory: 384GiB, per_hour: 5}\n", encoding="utf-8")
    scenario = simperf.from_dict({**spec(instance_type="big"), "catalogue": str(own)})
    assert scenario.components["app"].cores == 96
    assert scenario_cost(scenario)["total_per_hour"] == 5
    with pytest.raises(simperf.SpecError, match=r"in '.*types\.yaml' \(did you mean 'big'\?\)"):
        simperf.from_dict({**spec(instance_type="bog"), "catalogue": str(own)})
    bad = tmp_path / "bad.yaml"
    bad.write_text("types:\n  big: {cores: 0, memory: 1GiB, per_hour: 5}\n", encoding="utf-8")
    with pytest.raises(simperf.SpecError, match=r"catalogue: .*types\.big\.cores"):
        simperf.from_dict({**spec(instance_type="big"), "catalogue": str(bad)})
    with pytest.raises(simperf.SpecError, match="catalogue: cannot read"):
        simperf.from_dict({**spec(instance_type="big"), "catalogue": str(tmp_path / "none")})


def test_a_database_server_type_sets_cores_and_buffer_pool() -> None:
    data = spec()
    data["components"]["db"] = {
        "kind": "database",
        "primary": {"instance_type": "r.2xlarge"},
        "read_replicas": 2,
        "replica": {"instance_type": "r.large"},
        "tables": {"kv": {"rows": 1, "row_size": 100}},
        "queries": {"get": {"table": "kv", "where": ["id"]}},
    }
    scenario = simperf.from_dict(data)
    db = scenario.components["db"]
    assert (db.primary.cores, db.primary.memory) == (8, int(64 * GIB * BUFFER_POOL_SHARE))
    assert db.replica_spec.cores == 2
    assert scenario_cost(scenario)["components"]["db"] == pytest.approx(0.504 + 2 * 0.126)


def test_a_design_without_a_type_or_per_core_still_warns_that_cores_are_free() -> None:
    typed = simperf.from_dict(spec(instance_type="m.large"))
    untyped = simperf.from_dict(spec(cores=8, cost={"per_instance": 0.1}))
    (warning,) = free_cores({"typed": typed, "untyped": untyped})
    assert "cores are free" in warning and "in untyped" in warning


def test_the_catalogue_read_as_a_scenario_says_what_it_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # "simperf validate models/*.yaml" said of it "components: required field is missing"
    # and "types: unknown field (allowed here: alerts, catalogue, ...)"
    from simperf.cli import main

    path = str(DEFAULT_CATALOGUE)
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert f"{path}: an instance-type catalogue (types:), not a scenario" in err
    assert "required field" not in err

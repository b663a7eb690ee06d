"""The JSON Schema (``simperf schema``) accepts what the code accepts, and rejects what it rejects.

Checked with a real validator (``jsonschema``, draft 2020-12) on every model, every spec
shown in the README and the docs, the specs as the code writes them back, and a sample of
invalid specs.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import simperf
from simperf.errors import SpecError
from simperf.spec.io import json_schema

from conftest import ROOT, SCENARIO_FILES

SCHEMA = json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
MODEL_FILES = SCENARIO_FILES
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def schema_errors(data: Any) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path)) or 'spec'}: {e.message[:200]}"
        for e in VALIDATOR.iter_errors(data)
    ]


def spec_blocks() -> list[tuple[str, Any]]:
    """The YAML blocks of the docs that are specs: a workload and components, nothing elided.

    Blocks that leave parts out (``...``) or show one section are pieces, not specs.
    """
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, re.S)):
            data = yaml.safe_load(block)
            if isinstance(data, dict) and {"workload", "components"} <= set(data):
                if "..." not in block:
                    found.append((f"{path.name}[{i}]", data))
    return found


SPEC_BLOCKS = spec_blocks()


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_every_model_validates(path: Path) -> None:
    assert schema_errors(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_the_docs_show_specs() -> None:
    names = {name.split("[")[0] for name, _ in SPEC_BLOCKS}
    assert {"README.md", "databases.md", "caching.md"} <= names


@pytest.mark.parametrize(("name", "data"), SPEC_BLOCKS, ids=[n for n, _ in SPEC_BLOCKS])
def test_every_spec_in_the_docs_loads_and_validates(name: str, data: Any) -> None:
    simperf.from_dict(data)
    assert schema_errors(data) == []


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_a_spec_as_the_code_writes_it_validates(path: Path) -> None:
    """Every unit string read back as a number (seconds, per second, bytes) is accepted."""
    written = simperf.load(path).model_dump(mode="json", by_alias=True)
    assert schema_errors(written) == []


def web_tier() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "models" / "web_tier.yaml").read_text(encoding="utf-8"))


def with_change(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(web_tier())
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("components.lb.backends", []),
        ("components.lb.backends", 7),
        ("components.app.cores", 0),
        ("components.app.replica", 3),
        ("components.app.kind", "mainframe"),
        ("components.lb.overhead", "200 parsecs"),
        ("components.lb.overhead", -1),
        ("workload.arrival.rate", "fast"),
        ("workload.arrival.rate", -5),
        ("run.duration", "1 fortnight"),
        ("components.app.cost.per_instance", "0.34/week"),
        ("components.app.cost.per_core", -1),
        ("components.app.scaling", {"alpha": 1.5}),
        ("components.app.scaling", {"beta": -0.1}),
        ("components.app.scaling", {"alpha": 0.1, "gamma": 0.2}),
        ("slo", [{"metric": "latency.all.p99", "below": "fast"}]),
        ("alerts", [{"name": "slow", "metric": "p99", "above": "2 fortnights"}]),
        ("run.trace", {"sample": 0}),
        ("run.trace", {"sample": 1.5}),
        ("run.trace", {"slowest": -1}),
        ("run.trace", {"rate": 0.1}),
        ("components.app.autoscaling", {"min": 1, "max": 4, "target": 0.6, "tolerance": "ten"}),
        ("components.app.autoscaling", {"min": 1, "max": 4, "target": 0.6, "tolerance": "-5%"}),
    ],
)
def test_invalid_specs_are_rejected_by_both(path: str, value: Any) -> None:
    data = with_change(path, value)
    with pytest.raises(SpecError):
        simperf.from_dict(data)
    # an error at or inside the field, or at the union (a component's kind) holding it
    where = [e.split(":")[0] for e in schema_errors(data)]
    assert any(path.startswith(w) or w.startswith(path) for w in where), f"{path}={value!r}"
    assert schema_errors(web_tier()) == []  # the spec changed was valid


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("components.lb.backends", "app"),
        ("components.lb.backends", ["app"]),
        ("components.lb.overhead", "250us"),
        ("components.lb.overhead", 0.00025),
        ("workload.arrival.rate", "10k/s"),
        ("workload.arrival.rate", 1500),
        ("run.duration", "2min"),
        ("components.app.cost.per_instance", "146/month"),
        ("components.app.cost.per_core", "0.05/h"),
        ("components.app.scaling", {"alpha": 0.05, "beta": 0.001}),
        ("slo", [{"metric": "latency.all.p99", "below": "200ms"}]),
        (
            "slo",
            [{"metric": "error_rate", "below": "0.1%"}, {"metric": "throughput", "above": "1k/s"}],
        ),
        ("slo", [{"metric": "cost.total_per_hour", "below": "2/h"}]),
        ("alerts", [{"name": "busy", "metric": "utilization", "component": "app", "above": "90%"}]),
        # a dead band as a fraction or a percentage, as the target beside it
        ("components.app.autoscaling", {"min": 1, "max": 4, "target": "60%", "tolerance": "10%"}),
        ("components.app.autoscaling", {"min": 1, "max": 4, "target": 0.6, "tolerance": 0.1}),
    ],
)
def test_units_and_numbers_are_accepted_by_both(path: str, value: Any) -> None:
    data = with_change(path, value)
    simperf.from_dict(data)
    assert schema_errors(data) == []


def test_bounds_of_unit_fields_are_standard_keywords() -> None:
    """pydantic writes some bounds as gt/le, which JSON Schema ignores; none are left."""
    assert not re.search(r"'(gt|ge|lt|le)': ", str(SCHEMA))
    data = web_tier()
    data["keyspaces"] = {"k": {"keys": 10, "popularity": "uniform"}}
    cache = {"kind": "cache", "keyspace": "k", "capacity": 5, "object_size": "1KB"}
    cache["capacity_bytes"] = 0
    data["components"]["cache"] = cache
    with pytest.raises(SpecError, match=r"components\.cache\.capacity_bytes: must be > 0"):
        simperf.from_dict(data)
    assert any(e.startswith("components.cache") for e in schema_errors(data))
    data["components"]["cache"]["capacity_bytes"] = "1GB"
    simperf.from_dict(data)
    assert schema_errors(data) == []


def test_defaults_from_factories_are_in_the_schema() -> None:
    cache = SCHEMA["$defs"]["CacheSpec"]["properties"]
    assert cache["latency"]["default"] == {"dist": "constant", "value": 10e-6}
    assert (
        SCHEMA["properties"]["run"]["default"]["seed"]
        == simperf.Scenario.model_fields["run"].get_default(call_default_factory=True).seed
    )
    assert SCHEMA["$defs"]["CostSpec"]["properties"]["per_core"]["default"] is None


# -- the schema and the validator agree on the models' fields, mutated one at a time --

UNIT_VALUE = re.compile(r"^([0-9.]+)\s*([a-zA-Z/%]+.*)$")
TAGS = ("kind", "dist", "model")


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(path, node)]
    items: Any = []
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    for key, value in items:
        found += _leaves(value, (*path, key))
    return found


def _mutations(spec: dict[str, Any]) -> list[tuple[str, tuple[Any, ...], Any]]:
    """(what, path, new value or None to drop the key) for every field it applies to:
    a unit string made negative and zero, a whole number quoted, a union's tag dropped."""
    found: list[tuple[str, tuple[Any, ...], Any]] = []
    for path, value in _leaves(spec):
        if not path or path[0] in ("name", "description"):
            continue
        if isinstance(value, str) and (unit := UNIT_VALUE.match(value)):
            number, symbol = unit.groups()
            found += [("negative", path, f"-{number}{symbol}"), ("zero", path, f"0{symbol}")]
        elif isinstance(value, int) and not isinstance(value, bool):
            found.append(("quoted", path, str(value)))
        elif isinstance(value, dict):
            found += [("untagged", (*path, tag), None) for tag in TAGS if tag in value]
    return found


def _mutated(spec: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(spec)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def _dotted(path: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def test_the_schema_refuses_what_the_validator_does_on_each_field_and_no_more() -> None:
    """A spec the schema refuses never validates; a field the validator refuses for its
    own bound, type or missing tag is refused by the schema too. (Rules between fields
    or references to names are the validator's alone.)"""
    drift = []
    for path_of_model in MODEL_FILES:
        spec = yaml.safe_load(path_of_model.read_text(encoding="utf-8"))
        for what, path, value in _mutations(spec):
            data = _mutated(spec, path, value)
            refused_by_schema = bool(schema_errors(data))
            field = _dotted(path[:-1] if what == "untagged" else path)
            try:
                simperf.from_dict(data)
                message = ""
            except SpecError as exc:
                message = str(exc)
            # a bound of the field's own (a number, not another field or the SLO's metric)
            own_rule = re.search(
                rf"(^|\n){re.escape(field)}(\.literal\['auto'\])?: (must be >=? [-0-9.e+]+$|"
                r"expected a number|expected a whole number|missing field|expected a time|"
                r"expected a size|expected uniform|unable to identify)",
                message,
                re.MULTILINE,
            )
            if refused_by_schema and not message:
                drift.append(f"{path_of_model.name} {what} {field}: refused by the schema only")
            elif own_rule and not refused_by_schema:
                drift.append(
                    f"{path_of_model.name} {what} {field}: {message[:120]!r}, not the schema"
                )
    assert drift == [], "\n".join(drift)


@pytest.mark.parametrize("shorthand", ["rating!", ["product_id", ""], []])
def test_an_index_shorthand_with_a_bad_column_name_is_refused_by_both(shorthand: Any) -> None:
    data = yaml.safe_load((ROOT / "models" / "read_replicas.yaml").read_text(encoding="utf-8"))
    data["components"]["catalog"]["tables"]["reviews"]["indexes"]["by_rating"] = shorthand
    with pytest.raises(SpecError, match=r"indexes\.by_rating\.columns"):
        simperf.from_dict(data)
    assert schema_errors(data)  # at the component (the union of kinds) holding it

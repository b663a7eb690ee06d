"""Cache, key space, read/write step and fault specs: forms, defaults, errors with paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import simperf
from simperf.cli import main
from simperf.errors import SpecError
from simperf.spec.cache import (
    BackingDelay,
    CacheSpec,
    ReadStep,
    WriteStep,
)
from simperf.spec.distributions import Constant, Exponential
from simperf.spec.sizes import ConstantSize, LognormalSize
from simperf.units import parse_size
from tests.conftest import edited

SPEC: dict[str, Any] = {
    "name": "cached",
    "keyspaces": {"items": {"keys": 10_000, "popularity": {"zipf": 0.8}}},
    "workload": {
        "arrival": {"kind": "poisson", "rate": 100},
        "classes": [
            {"name": "read", "weight": 9, "entry": "app", "endpoint": "get", "keyspace": "items"},
            {"name": "write", "entry": "app", "endpoint": "put", "keyspace": "items"},
        ],
    },
    "components": {
        "app": {
            "kind": "app_server",
            "endpoints": {
                "get": [{"read": {"cache": "cache", "backing": "db.get"}}],
                "put": [{"write": {"cache": "cache", "backing": "db.put"}}],
            },
        },
        "db": {
            "kind": "app_server",
            "endpoints": {"get": [{"cpu": "2ms"}], "put": [{"cpu": "4ms"}]},
        },
        "cache": {"kind": "cache", "keyspace": "items", "capacity": 100},
    },
    "run": {"duration": 5, "warmup": 1},
}


def spec(**changes: Any) -> dict[str, Any]:
    return edited(SPEC, **changes)


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        simperf.from_dict(data)
    return str(info.value)


def test_defaults_and_canonical_forms() -> None:
    scenario = simperf.from_dict(SPEC)
    cache = scenario.components["cache"]
    assert isinstance(cache, CacheSpec)
    assert (cache.eviction, cache.cores, cache.nodes, cache.ttl) == ("lru", 1, 1, None)
    assert cache.write_policy == "write_around" and cache.on_down == "fall_through"
    assert cache.latency == Constant(value=10e-6) and not cache.coalesce
    read, write = scenario.components["app"].endpoints.values()
    assert isinstance(read[0], ReadStep) and read[0].read.mode == "cache_aside"
    assert isinstance(write[0], WriteStep) and write[0].write.backing == "db.put"
    assert read[0].calls() == ["db.get"] and write[0].calls() == ["db.put"]
    delayed = simperf.from_dict(
        spec(
            components__app__endpoints__get=[
                {"read": {"cache": "cache", "backing": {"delay": "5ms"}}}
            ]
        )
    )
    step = delayed.components["app"].endpoints["get"][0]
    assert step.read.backing == BackingDelay(delay=Constant(value=0.005))
    assert step.calls() == []


def test_sizes_ttl_and_units() -> None:
    cache = {
        "kind": "cache",
        "keyspace": "items",
        "capacity": None,
        "capacity_bytes": "64MiB",
        "object_size": "4KB",
        "ttl": {"dist": "exponential", "mean": "30s"},
    }
    parsed = simperf.from_dict(spec(components__cache=cache)).components["cache"]
    assert parsed.capacity is None and parsed.capacity_bytes == 64 * 2**20
    assert parsed.object_size == ConstantSize(value=4000)
    assert parsed.ttl == Exponential(mean=30.0)
    cache["object_size"] = {"dist": "lognormal", "median": "2KiB", "p99": "1MB"}
    parsed = simperf.from_dict(spec(components__cache=cache)).components["cache"]
    assert parsed.object_size == LognormalSize(median=2048, p99=1e6)
    assert parsed.object_size.mean > 2048
    assert parse_size("1.5GB") == 1.5e9 and parse_size(" 12 B ") == 12


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "negative capacity": (
        {"components__cache__capacity": -5},
        "components.cache.capacity: must be >= 1",
    ),
    "ttl in the wrong unit": (
        {"components__cache__ttl": "30kg"},
        "components.cache.ttl: unknown time unit 'kg'",
    ),
    "ttl as a rate": (
        {"components__cache__ttl": "30/s"},
        "components.cache.ttl: expected a time",
    ),
    "write-back without a backing store": (
        {
            "components__cache__write_policy": "write_back",
            "components__app__endpoints__put": [{"write": {"cache": "cache"}}],
        },
        "components.app.endpoints.put[0].write.backing: cache 'cache' is write_back and needs "
        "a backing store to flush dirty keys to",
    ),
    "write-through without a backing store": (
        {"components__app__endpoints__put": [{"write": {"cache": "cache"}}]},
        "components.app.endpoints.put[0].write.backing: cache 'cache' is write_around",
    ),
    "write to nowhere": (
        {"components__app__endpoints__put": [{"write": {}}]},
        "components.app.endpoints.put[0].write: give a cache, a backing store or both",
    ),
    "write-back to two stores": (
        {
            "components__cache__write_policy": "write_back",
            "components__app__endpoints__put": [
                {"write": {"cache": "cache", "backing": "db.put"}},
                {"write": {"cache": "cache", "backing": {"delay": "1ms"}}},
            ],
        },
        "components.app.endpoints.put[1].write.backing: every write to the write_back cache",
    ),
    "class keyed on a missing key space": (
        {"workload__classes__0__keyspace": "users"},
        "workload.classes[0].keyspace: unknown key space 'users' (known: items)",
    ),
    "class without a key space reaching a cache": (
        {"workload__classes__0__keyspace": None},
        "workload.classes[0].keyspace: class 'read' reaches components.app.endpoints.get[0]",
    ),
    "cache on a missing key space": (
        {"components__cache__keyspace": "users"},
        "components.cache.keyspace: unknown key space 'users'",
    ),
    "read from a missing cache": (
        {"components__app__endpoints__get": [{"read": {"cache": "redis", "backing": "db.get"}}]},
        "components.app.endpoints.get[0].read.cache: unknown cache 'redis' (caches: cache)",
    ),
    "read from something that is not a cache": (
        {"components__app__endpoints__get": [{"read": {"cache": "db", "backing": "db.get"}}]},
        "components.app.endpoints.get[0].read.cache: 'db' is not a cache",
    ),
    "backing call to a missing endpoint": (
        {"components__app__endpoints__get": [{"read": {"cache": "cache", "backing": "db.scan"}}]},
        "components.app.endpoints.get: 'db' has no endpoint 'scan'",
    ),
    "backing of the wrong type": (
        {"components__app__endpoints__get": [{"read": {"cache": "cache", "backing": 5}}]},
        "components.app.endpoints.get[0].read.backing: expected component.endpoint or {delay:",
    ),
    "unknown eviction": (
        {"components__cache__eviction": "mru"},
        "components.cache.eviction: Input should be 'lru', 'lfu', 'fifo' or 'random'",
    ),
    "bytes without sizes": (
        {"components__cache__capacity_bytes": "1MB"},
        "object_size: required with capacity_bytes",
    ),
    "size in the wrong unit": (
        {"components__cache__capacity_bytes": "1 parsec"},
        "components.cache.capacity_bytes: unknown size unit 'parsec'",
    ),
    "missing capacity": (
        {"components__cache": {"kind": "cache", "keyspace": "items"}},
        "components.cache.capacity: required field is missing",
    ),
    "ttl of 0": (
        {"components__cache__ttl": 0},
        "components.cache.ttl: a ttl of 0 expires every entry as it is stored (every "
        "lookup would miss); expected > 0, or null for entries that never expire",
    ),
    "ttl that always draws 0": (
        {"components__cache__ttl": {"dist": "uniform", "low": 0, "high": 0}},
        "components.cache.ttl: a ttl of 0 expires every entry",
    ),
    "ttl_refresh without ttl": (
        {"components__cache__ttl_refresh": True},
        "ttl_refresh: needs a ttl",
    ),
    "a call to a cache": (
        {"components__app__endpoints__get": [{"call": "cache.get"}]},
        "components.app.endpoints.get: 'cache' has no endpoint 'get' (it has: none)",
    ),
    "fault on a missing component": (
        {"faults": [{"component": "redis", "at": 1, "for": 1}]},
        "faults[0].component: unknown component 'redis'",
    ),
    "fault on a missing app instance": (
        {"faults": [{"component": "db", "instance": 1, "at": 1, "for": 1}]},
        "faults[0].instance: 'db' has 1 instance(s)",
    ),
    "fault on a missing node": (
        {"faults": [{"component": "cache", "instance": 1, "at": 1, "for": 1}]},
        "faults[0].instance: 'cache' has 1 instance(s)",
    ),
    "fault of no duration": (
        {"faults": [{"component": "cache", "at": 1, "for": 0}]},
        "faults[0].for: must be > 0",
    ),
    "trace arrival without timestamps": (
        {"workload__arrival": {"kind": "trace", "keyspace": "items"}},
        "workload.arrival.keyspace: key space 'items' has no timestamps to drive arrivals",
    ),
    "trace arrival from a missing key space": (
        {"workload__arrival": {"kind": "trace", "keyspace": "log"}},
        "workload.arrival.keyspace: unknown key space 'log' (known: items)",
    ),
    "bad key space": (
        {"keyspaces__items__popularity": {"model": "zipf", "alpha": -1}},
        "keyspaces.items.popularity.alpha: must be > 0",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_specs_name_the_path(case: str) -> None:
    changes, expected = BAD[case]
    assert expected in error_of(spec(**changes))


@pytest.mark.parametrize(
    "case",
    [
        "negative capacity",
        "ttl in the wrong unit",
        "ttl of 0",
        "write-back without a backing store",
        "class keyed on a missing key space",
    ],
)
def test_bad_specs_exit_2_on_the_command_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changes, expected = BAD[case]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec(**changes)))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_round_trip_and_schema_descriptions() -> None:
    scenario = simperf.from_dict(spec(faults=[{"component": "cache", "at": "2s", "for": "5s"}]))
    again = simperf.from_dict(scenario.model_dump(mode="json", by_alias=True))
    assert again == scenario
    assert again.faults[0].for_ == 5.0
    schema = simperf.json_schema()["$defs"]
    for model in ("CacheSpec", "ReadSpec", "WriteSpec", "FaultSpec", "BackingDelay"):
        for name, field in schema[model]["properties"].items():
            assert field.get("description"), f"{model}.{name}"

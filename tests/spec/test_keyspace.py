"""Key space specs: canonical forms, shorthands, bounds and errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from simperf.spec.keyspace import (
    MAX_KEYS,
    HotsetPopularity,
    KeyspaceSpec,
    TracePopularity,
    UniformPopularity,
    ZipfPopularity,
)


def _spec(popularity: Any, keys: int = 1000, **extra: Any) -> KeyspaceSpec:
    return KeyspaceSpec.model_validate({"keys": keys, "popularity": popularity, **extra})


def _hotset(hot_keys: float, hot_requests: float) -> dict[str, Any]:
    return {"model": "hotset", "hot_keys": hot_keys, "hot_requests": hot_requests}


def test_canonical_forms() -> None:
    assert _spec({"model": "zipf", "alpha": 0.9}).popularity == ZipfPopularity(alpha=0.9)
    assert _spec({"model": "uniform"}).popularity == UniformPopularity()
    hot = _spec({"model": "hotset", "hot_keys": 0.2, "hot_requests": 0.8}).popularity
    assert hot == HotsetPopularity(hot_keys=0.2, hot_requests=0.8)
    trace = _spec({"model": "trace", "path": "requests.csv"}).popularity
    assert trace == TracePopularity(path="requests.csv", column="key", time_column=None)
    trace = _spec({"model": "trace", "path": "r.csv", "column": "k", "time_column": "t"})
    assert trace.popularity.time_column == "t"


def test_shorthands() -> None:
    assert _spec("uniform").popularity == UniformPopularity()
    assert _spec({"zipf": 0.9}).popularity == ZipfPopularity(alpha=0.9)
    assert _spec({"zipf": 1}).popularity.alpha == 1.0


def test_round_trip_and_frozen() -> None:
    spec = _spec({"zipf": 0.8}, keys=100_000, description="product catalogue")
    again = KeyspaceSpec.model_validate(spec.model_dump())
    assert again == spec
    with pytest.raises(ValidationError):
        spec.keys = 5  # type: ignore[misc]


def test_json_schema_describes_every_field() -> None:
    schema = KeyspaceSpec.model_json_schema()
    for name, field in schema["properties"].items():
        assert field.get("description"), name
    for model in ("ZipfPopularity", "UniformPopularity", "HotsetPopularity", "TracePopularity"):
        for name, field in schema["$defs"][model]["properties"].items():
            assert field.get("description"), f"{model}.{name}"
    # The shorthands are part of the schema, so editors accept them.
    variants = schema["properties"]["popularity"]["anyOf"]
    assert {"const": "uniform", "type": "string"} in variants


@pytest.mark.parametrize(
    ("data", "location"),
    [
        ({"keys": 10, "popularity": {"model": "zipf", "alpha": 0}}, "alpha"),
        ({"keys": 10, "popularity": {"model": "zipf", "alpha": -1}}, "alpha"),
        ({"keys": 10, "popularity": {"zipf": 0}}, "alpha"),
        ({"keys": 10, "popularity": {"zipf": 5.5}}, "alpha"),
        ({"keys": 10, "popularity": {"model": "zipf"}}, "alpha"),
        ({"keys": 0, "popularity": "uniform"}, "keys"),
        ({"keys": -3, "popularity": "uniform"}, "keys"),
        ({"keys": MAX_KEYS + 1, "popularity": "uniform"}, "keys"),
        ({"keys": 1.5, "popularity": "uniform"}, "keys"),
        ({"keys": 10, "popularity": {"model": "pareto", "alpha": 1}}, "popularity"),
        ({"keys": 10, "popularity": "zipf"}, "popularity"),
        ({"keys": 10, "popularity": 3}, "popularity"),
        ({"keys": 10, "popularity": {"model": "zipf", "alpha": 1, "beta": 2}}, "beta"),
        ({"keys": 10, "popularity": {"model": "uniform", "alpha": 1}}, "alpha"),
        ({"keys": 10, "popularity": "uniform", "size": 3}, "size"),
        ({"keys": 10, "popularity": _hotset(0, 0.8)}, "hot_keys"),
        ({"keys": 10, "popularity": _hotset(1, 0.8)}, "hot_keys"),
        ({"keys": 10, "popularity": _hotset(0.2, 1)}, "hot_requests"),
        ({"keys": 10, "popularity": _hotset(0.2, 0)}, "hot_requests"),
        ({"keys": 1, "popularity": _hotset(0.5, 0.9)}, "cold key"),
        ({"keys": 10, "popularity": _hotset(0.95, 0.9)}, "cold key"),
        ({"keys": 10, "popularity": {"model": "trace"}}, "path"),
        ({"keys": 10, "popularity": {"model": "trace", "path": ""}}, "path"),
        ({"keys": 10}, "popularity"),
    ],
)  # fmt: skip
def test_invalid(data: dict[str, Any], location: str) -> None:
    with pytest.raises(ValidationError) as info:
        KeyspaceSpec.model_validate(data)
    assert location in str(info.value)


def test_trace_spec_does_no_io(tmp_path: Any) -> None:
    # A missing file is a build-time problem, not a validation error.
    spec = _spec({"model": "trace", "path": str(tmp_path / "missing.csv")})
    assert isinstance(spec.popularity, TracePopularity)


def test_hot_count_rounding() -> None:
    pop = HotsetPopularity(hot_keys=0.07, hot_requests=0.5)
    assert pop.hot_count(100) == 7  # 0.07 * 100 is 7.000000000000001 in floating point
    assert pop.hot_count(1000) == 70
    assert HotsetPopularity(hot_keys=0.001, hot_requests=0.5).hot_count(10) == 1

"""Result.frame: a component section of the result as a tidy frame."""

from __future__ import annotations

import simperf

from conftest import MODELS


def test_cache_section_has_a_row_per_cache_and_per_node() -> None:
    scenario = simperf.load(MODELS / "lru_zipf.yaml").with_overrides(
        {"run.duration": None, "run.requests": 2000, "run.warmup": 0}
    )
    result = simperf.run(scenario, seed=1)
    frame = result.frame("caches")
    name = next(iter(result.to_dict()["caches"]))
    assert frame["component"].eq(name).all()
    assert frame["part"].iloc[0] == "all"
    assert len(frame) == 1 + len(result.to_dict()["caches"][name]["nodes"])
    assert frame["hit_rate"].iloc[0] == result.metric(f"caches.{name}.hit_rate")
    assert "nodes" not in frame.columns


def test_a_missing_section_is_an_empty_frame() -> None:
    result = simperf.run(
        simperf.load(MODELS / "mm1.yaml").with_overrides({"run.duration": 2, "run.warmup": 0})
    )
    assert result.frame("cdns").empty


def test_a_number_not_known_yet_is_nan_in_a_numeric_column() -> None:
    # a cache that never filled has filled_at None in the JSON: the frame's column was of
    # objects, showing None in a notebook, not the float NaN of a missing number
    scenario = simperf.load(MODELS / "cache_aside.yaml").with_overrides(
        {"run.duration": 2, "run.warmup": 0}
    )
    result = simperf.run(scenario, seed=1)
    assert result.metric("caches.cache.filled_at") is None
    frame = result.frame("caches")
    assert frame["filled_at"].dtype == "float64" and frame["filled_at"].isna().all()
    assert frame["part"].tolist() == ["all", "cache[0]"]  # names stay strings

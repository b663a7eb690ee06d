"""CPU per endpoint and step (run.profile): exact counts of the cpu steps' draws."""

from __future__ import annotations

from typing import Any

import pytest

import simperf
from simperf.errors import SpecError

from conftest import two_tier


def known_steps(profile: bool, **run: Any) -> dict[str, Any]:
    """Two classes on constant cpu steps: page (1 ms, a call to back's 4 ms, 3 ms) and
    item (2 ms), at 60% and 40%."""
    spec = two_tier({"kind": "poisson", "rate": "150/s"}, None, engine="events", **run)
    spec["components"]["front"]["endpoints"] = {
        "page": [{"cpu": "1ms"}, {"call": "back.data"}, {"cpu": "3ms"}],
        "item": [{"cpu": "2ms"}],
    }
    spec["components"]["front"]["cores"] = 2
    spec["components"]["back"]["endpoints"]["data"] = [{"cpu": "4ms"}]
    spec["workload"]["classes"] = [
        {"name": "page", "entry": "front", "endpoint": "page", "weight": 0.6},
        {"name": "item", "entry": "front", "endpoint": "item", "weight": 0.4},
    ]
    spec["run"]["profile"] = profile
    return spec


def test_the_profile_of_constant_steps_is_the_known_split() -> None:
    result = simperf.run(simperf.from_dict(known_steps(True, requests=1000)))
    counts = result.requests["class"].value_counts()
    pages, items = int(counts["page"]), int(counts["item"])
    frame = result.cpu_profile().set_index(["component", "endpoint", "step"])
    expected = {
        ("front", "page", 0): (pages, 0.001),
        ("front", "page", 2): (pages, 0.003),
        ("front", "item", 0): (items, 0.002),
        ("back", "data", 0): (pages, 0.004),
    }
    assert set(frame.index) == set(expected)
    total = sum(calls * seconds for calls, seconds in expected.values())
    for key, (calls, seconds) in expected.items():
        row = frame.loc[key]
        assert row["calls"] == calls
        assert row["cpu_seconds"] == pytest.approx(calls * seconds, rel=1e-12)
        assert row["mean"] == pytest.approx(seconds, rel=1e-12)
        assert row["share"] == pytest.approx(calls * seconds / total, rel=1e-12)
    assert frame["share"].sum() == pytest.approx(1.0, abs=1e-12)
    # every request has finished: each server's steps are all its busy core-seconds
    for name in ("front", "back"):
        comp = result.data["components"][name]
        busy = comp["utilization"] * comp["instances"] * (2 if name == "front" else 1)
        counted = frame.loc[name, "cpu_seconds"].sum()
        assert counted == pytest.approx(busy * result.data["measured_time"], rel=1e-9)


def test_the_profile_counts_the_measured_period_and_changes_nothing_else() -> None:
    on = simperf.run(simperf.from_dict(known_steps(True, duration=4, warmup=1)))
    off = simperf.run(simperf.from_dict(known_steps(False, duration=4, warmup=1)))
    section = on.to_dict().pop("cpu_profile")
    assert {k: v for k, v in on.to_dict().items() if k != "cpu_profile"} == off.to_dict()
    assert "cpu_profile" not in off.to_dict() and off.cpu_profile().empty
    # the steps started after the warm-up: about 3 s x 150/s x 60% pages
    pages = section["front"]["page"]["0"]["calls"]
    measured = on.requests[on.requests["measured"] & (on.requests["class"] == "page")]
    assert abs(pages - len(measured)) <= 5  # those in flight at the warm-up's end
    assert "cpu profile" in on.summary() and "front.page.2" in on.summary()


def test_a_profile_runs_on_the_event_engine() -> None:
    spec = known_steps(True, requests=200)
    spec["workload"]["classes"] = spec["workload"]["classes"][:1]
    spec["run"]["engine"] = "auto"
    result = simperf.run(simperf.from_dict(spec))
    assert result.perf["engine"] == "events"
    assert "run.profile" in result.perf["fast_path_refused"]
    assert len(result.cpu_profile()) == 3


def test_profile_must_be_a_boolean() -> None:
    spec = known_steps(True, requests=10)
    spec["run"]["profile"] = "often"
    with pytest.raises(SpecError, match=r"run\.profile"):
        simperf.from_dict(spec)

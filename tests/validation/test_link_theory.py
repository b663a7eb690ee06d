"""Shared network links against the closed-form estimate: a two-region case derived by
hand (each link direction a single server of service ``size / bandwidth``) and
models/multi_region.yaml, its us->ap link loaded by the ap clients spilled to us."""

from __future__ import annotations

from typing import Any

import pytest

import simperf
from simperf.analysis.networks import mva
from simperf.analysis.queueing import mg1, mm1
from simperf.estimate import estimate
from tests.conftest import MODELS
from tests.validation.agreement import agrees, replications

RATE = 250.0
BANDWIDTH = 1e6  # bytes per second: 8 Mbit/s
LATENCY = 0.010  # one way
HELD = 0.001  # the app's own delay
UP, DOWN = 500.0, 2000.0  # request (constant) and mean response (exponential) bytes


def two_regions(duration: float = 200.0) -> dict[str, Any]:
    """Clients in ``a``, the app in ``b`` (a fixed 1 ms, no queue), one shared link."""
    return {
        "name": "two_regions",
        "workload": {
            "arrival": {"kind": "poisson", "rate": RATE},
            "clients": {"regions": {"a": 1.0}},
            "classes": [
                {
                    "name": "req",
                    "entry": "app",
                    "endpoint": "serve",
                    "request_size": f"{UP:g}B",
                    "response_size": {"dist": "exponential", "mean": f"{DOWN:g}B"},
                }
            ],
        },
        "network": {
            "regions": ["a", "b"],
            "latency": {"a": {"b": f"{LATENCY * 1e3:g}ms"}},
            "links": {"a": {"b": {"bandwidth": "8Mbit/s", "shared": True}}},
        },
        "components": {
            "app": {
                "kind": "app_server",
                "region": "b",
                "workers": 256,
                "endpoints": {"serve": [{"delay": f"{HELD * 1e3:g}ms"}]},
            }
        },
        "run": {"duration": duration, "warmup": 5.0},
    }


def by_hand() -> tuple[Any, Any, float]:
    """The request's M/D/1 on a->b, the response's M/M/1 on b->a, and the mean latency."""
    up = mg1(RATE, UP / BANDWIDTH, 0.0)
    down = mm1(RATE, BANDWIDTH / DOWN)
    return up, down, 2 * LATENCY + HELD + up.mean_sojourn + down.mean_sojourn


def test_two_regions_estimate_is_the_hand_derivation() -> None:
    up, down, mean = by_hand()
    e = estimate(simperf.from_dict(two_regions()))
    stations = e.stations.set_index(["component", "resource"])
    assert stations.loc[("a->b", "link"), "utilization"] == pytest.approx(up.utilization)
    assert stations.loc[("b->a", "link"), "utilization"] == pytest.approx(down.utilization)
    assert stations.loc[("b->a", "link"), "headroom"] == pytest.approx(1 / down.utilization)
    assert e.mean() == pytest.approx(mean, rel=1e-12)
    assert not any("link" in note for notes in e.notes.values() for note in notes)


def test_a_link_of_its_own_per_transfer_adds_the_transfer_alone() -> None:
    # not shared: every transfer has the whole bandwidth, a delay with no station
    spec = two_regions()
    spec["network"]["links"]["a"]["b"]["shared"] = False
    e = estimate(simperf.from_dict(spec))
    assert "link" not in set(e.stations["resource"])
    expected = 2 * LATENCY + HELD + (UP + DOWN) / BANDWIDTH
    assert e.mean() == pytest.approx(expected, rel=1e-12)


def test_a_closed_workload_queues_at_the_links_by_mva() -> None:
    # 20 users thinking 50 ms: the link directions are MVA's two single-server stations,
    # the trips and the app's 1 ms its delay (the link stations were a KeyError before)
    spec = two_regions()
    del spec["workload"]["arrival"]
    spec["workload"].update(users=20, think_time="50ms")
    e = estimate(simperf.from_dict(spec))
    theory = mva(20, 0.050 + 2 * LATENCY + HELD, [UP / BANDWIDTH, DOWN / BANDWIDTH], [1, 1])
    assert e.rate == pytest.approx(theory.throughput, rel=1e-12)
    assert e.mean() == pytest.approx(20 / theory.throughput - 0.050, rel=1e-12)


@pytest.mark.validate
def test_two_regions_simulated_agrees_with_the_estimate() -> None:
    up, down, mean = by_hand()
    reps = replications(two_regions(), 10)
    agrees(reps, "components.a->b.utilization", up.utilization)
    agrees(reps, "components.b->a.utilization", down.utilization)
    agrees(reps, "latency.all.mean", mean)


@pytest.mark.validate
def test_multi_region_link_and_latency_agree_with_the_estimate() -> None:
    # 240 s a run: the lognormal responses make the link utilisation noisy at 60 s
    scenario = simperf.load(MODELS / "multi_region.yaml").with_overrides({"run.duration": "240s"})
    e = estimate(scenario)
    stations = e.stations.set_index(["component", "resource"])
    reps = replications(scenario, 10)
    # the spilled share is Erlang loss with Poisson overflow, yet within the intervals
    for name in ("us->ap", "ap->us"):
        theory = stations.loc[(name, "link"), "utilization"]
        agrees(reps, f"components.{name}.utilization", theory, max_width=0.1)
    agrees(reps, "latency.all.mean", e.mean())

"""Leaderboards in a cache: real membership, and service time growing with log2 of its size."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import simperf
from simperf.build import build
from simperf.experiment.run import summarise

BASE = 10e-6  # the node's latency per command
LOG_COST = 1e-6
ITEM_COST = 0.5e-6


def board_scenario(
    endpoints: dict[str, list[Any]],
    classes: list[dict[str, Any]],
    *,
    requests: int,
    addresses: int = 10_000_000,
) -> simperf.Scenario:
    return simperf.from_dict(
        {
            "name": "leaderboard_test",
            "keyspaces": {"none": {"keys": 1, "popularity": {"model": "uniform"}}},
            "workload": {
                # 10 ms apart: every command runs alone, so its latency is its service time
                "arrival": {"kind": "deterministic", "rate": 100},
                "clients": {"addresses": addresses},
                "classes": classes,
            },
            "components": {
                "app": {"kind": "app_server", "endpoints": endpoints},
                "redis": {"kind": "cache", "keyspace": "none", "capacity": 10, "latency": BASE},
            },
            "run": {"requests": requests, "warmup": 0},
        }
    )


def op(kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "leaderboard": {
            "cache": "redis",
            "board": "scores",
            "op": kind,
            "log_cost": LOG_COST,
            "item_cost": ITEM_COST,
            **extra,
        }
    }


def test_add_service_time_grows_with_log2_of_the_set_size() -> None:
    """Adds of (nearly always) new members: the k-th costs BASE + LOG_COST log2(size + 1).

    The size before each add is recovered from its latency, and must be a count that
    starts at 0 and grows by 0 or 1 per add (1 unless the client was already a member),
    ending at the board's membership.
    """
    scenario = board_scenario(
        {"play": [op("add")]},
        [{"name": "play", "entry": "app", "endpoint": "play"}],
        requests=3000,
    )
    model = build(scenario, seed=1).execute()
    result = summarise(model)
    latency = result._arrays["latency"][np.argsort(result._arrays["start"])]
    sizes = 2 ** ((latency - BASE) / LOG_COST) - 1
    # latencies are differences of clock readings near 30 s: exact to about 1e-14 s,
    # which the exponential turns into at most about 1e-5 of a member here
    assert sizes == pytest.approx(np.round(sizes), abs=1e-3)
    sizes = np.round(sizes).astype(int)
    assert sizes[0] == 0
    assert set(np.diff(sizes).tolist()) <= {0, 1}
    board = model.components["leaderboards.scores"]
    assert len(board.members) == sizes[-1] + 1
    report = result.to_dict()["leaderboards"]["scores"]
    assert report["add"] == 3000
    assert report["members"] == len(board.members)
    assert report["mean_service"] == pytest.approx(float(latency.mean()), rel=1e-9)
    # and the fit of latency on log2(size + 1) is a line of slope LOG_COST through BASE
    slope, intercept = np.polyfit(np.log2(sizes + 1), latency, 1)
    assert slope == pytest.approx(LOG_COST, rel=1e-6)
    assert intercept == pytest.approx(BASE, rel=1e-6)


def test_repeated_members_do_not_grow_the_set() -> None:
    scenario = board_scenario(
        {"play": [op("incr")]},
        [{"name": "play", "entry": "app", "endpoint": "play"}],
        requests=2000,
        addresses=50,
    )
    report = simperf.run(scenario, seed=1).to_dict()["leaderboards"]["scores"]
    assert report["members"] == 50  # 2,000 draws over 50 addresses: all seen
    assert report["incr"] == 2000


def test_rank_and_top_cost_log_size_and_top_pays_per_member() -> None:
    """rank costs BASE + LOG_COST log2(size + 1); top adds ITEM_COST per member returned."""
    endpoints = {"play": [op("add")], "rank": [op("rank")], "top": [op("top", count=20)]}
    classes = [
        {"name": "play", "weight": 8, "entry": "app", "endpoint": "play"},
        {"name": "rank", "entry": "app", "endpoint": "rank"},
        {"name": "top", "entry": "app", "endpoint": "top"},
    ]
    scenario = board_scenario(endpoints, classes, requests=2000, addresses=100)
    result = simperf.run(scenario, seed=3)
    data = result._arrays
    order = np.argsort(data["start"])
    klass, latency = data["klass"][order], data["latency"][order]
    # with 100 addresses and ~1,600 adds every address is a member long before the end
    tail = slice(1000, None)
    full = BASE + LOG_COST * math.log2(100 + 1)
    expected = np.where(klass[tail] == 2, full + 20 * ITEM_COST, full)
    assert latency[tail] == pytest.approx(expected, rel=1e-9)
    assert set(klass[tail].tolist()) == {0, 1, 2}
    report = result.to_dict()["leaderboards"]["scores"]
    assert report["members"] == 100
    assert report["ops"] == 2000


def test_a_failed_node_loses_the_board() -> None:
    scenario = board_scenario(
        {"play": [op("add")]},
        [{"name": "play", "entry": "app", "endpoint": "play"}],
        requests=1000,
    )
    data = scenario.model_dump(mode="json", by_alias=True)
    data["faults"] = [{"component": "redis", "at": 5.0, "for": 1.0}]
    report = simperf.run(simperf.from_dict(data), seed=1).to_dict()["leaderboards"]["scores"]
    # 1,000 adds 10 ms apart: 500 before the failure (lost), 100 skipped while down
    assert report["skipped"] == pytest.approx(100, abs=1)
    assert report["members"] == pytest.approx(1000 - 500 - 100, abs=2)
    assert report["peak_members"] == pytest.approx(500, abs=1)


def test_simultaneous_commands_each_count_their_service_time() -> None:
    # N lookups on an empty board reach the node at once (a parallel step's arms): each
    # costs BASE (log2(0 + 1) = 0), so the mean service is BASE, however they queue.
    n = 8
    scenario = board_scenario(
        {"fan": [{"parallel": ["app.look"] * n}], "look": [op("rank")]},
        [{"name": "fan", "entry": "app", "endpoint": "fan"}],
        requests=1,
    ).with_overrides({"components.app.workers": n + 1})  # the arms need workers too
    report = simperf.run(scenario, seed=1).to_dict()["leaderboards"]["scores"]
    assert report["rank"] == n
    assert report["mean_service"] == pytest.approx(BASE, rel=1e-9)

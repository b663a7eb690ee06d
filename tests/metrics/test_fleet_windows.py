"""A big fleet's windows cost in proportion to the instances that moved in them."""

from __future__ import annotations

from typing import Any

import pytest

import simperf
from simperf.build import build
from simperf.components.app_server import AppInstance
from simperf.metrics import waits
from simperf.model import Model

from conftest import MODELS


def _fleet(**overrides: Any) -> simperf.Scenario:
    # 1,000 replicas at 1,500 req/s for 2 s: about 3 requests an instance in 40 windows
    return simperf.load(MODELS / "web_tier.yaml").with_overrides(
        {
            "run.duration": None,
            "run.warmup": 0,
            "run.requests": 3000,
            "components.app.replicas": 998,
            **overrides,
        }
    )


def test_a_window_reads_only_the_instances_that_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    # every instance was read every window: 40 snapshots of 1,000 instances, 55% of the
    # simulation's time at 5,000 instances (experiments/fleet_cost.py)
    reads = 0
    plain = AppInstance.snapshot

    def counted(self: AppInstance, now: float, *, window: bool = True) -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return plain(self, now, window=window)

    checked = 0
    fold = waits.fold_waits

    def counted_fold(instances: list[Any], *args: Any) -> None:
        nonlocal checked
        checked += len(instances)
        fold(instances, *args)

    monkeypatch.setattr(AppInstance, "snapshot", counted)
    monkeypatch.setattr(waits, "fold_waits", counted_fold)
    model = build(_fleet(**{"run.keep_requests": 1000}), seed=1).execute()
    windows, instances = len(model.snapshots), len(model.instances)
    assert windows > 30 and instances == 1000
    # moved: the instances whose counters differ from the window before's
    moved = sum(
        counters is not before.instances[name]
        for before, after in zip(model.snapshots, model.snapshots[1:], strict=False)
        for name, counters in after.instances.items()
    )
    assert moved < 0.2 * windows * instances  # about 3 requests an instance in all
    # all at the first snapshot, then about those that moved in the window or the one
    # before (reading every instance: 41,000)
    assert reads < instances + 3 * moved
    # the waits' folds, after each snapshot and as records fold: the same ones
    assert checked < 2 * (instances + 3 * moved)


FEATURES: dict[str, dict[str, Any]] = {
    "fifo": {},
    "shedding": {
        "workload.arrival.rate": "3000/s",
        "components.app.replicas": 50,
        "components.app.workers": 2,
        "components.app.queue_limit": 1,
        "components.app.queue": {"shed_after": "20ms", "drop_expired": True},
        "workload.classes": [
            {"name": "page", "weight": 0.8, "entry": "lb", "endpoint": "page"},
            {"name": "search", "entry": "lb", "endpoint": "search", "timeout": "30ms"},
        ],
    },
    "limited": {
        "workload.arrival.rate": "3000/s",
        "components.app.replicas": 50,
        "components.app.concurrency_limit": {"initial": 2, "latency_target": "20ms"},
    },
    "ps": {"components.app.cpu_discipline": "ps", "components.app.replicas": 100},
    "faults": {
        "components.app.replicas": 20,
        "faults": [
            {"component": "app", "instance": 3, "at": "0.2s", "for": "0.2s", "in_service": "fail"},
            {
                "kind": "slow",
                "component": "app",
                "instance": 4,
                "at": "0.3s",
                "for": "0.1s",
                "factor": 3,
            },
            {"kind": "errors", "component": "app", "at": "0.5s", "for": "0.3s", "fraction": 0.1},
        ],
    },
}


def _same_snapshots(scenario: simperf.Scenario) -> None:
    """The run reading only the moved instances snapshots what reading all of them does."""
    every = build(scenario, seed=1)
    every.watch_rest = False
    every.execute()
    moved = build(scenario, seed=1).execute()
    assert len(moved.snapshots) == len(every.snapshots) > 2
    for mine, full in zip(moved.snapshots, every.snapshots, strict=True):
        assert mine.time == full.time
        assert mine.instances == full.instances


@pytest.mark.parametrize("feature", FEATURES)
def test_reading_only_the_moved_instances_changes_no_snapshot(feature: str) -> None:
    _same_snapshots(_fleet(**{"run.requests": 1500, **FEATURES[feature]}))


@pytest.mark.parametrize("name", ["web_stack", "sessions", "failover", "cache_aside"])
def test_a_model_reading_only_the_moved_instances_snapshots_the_same(name: str) -> None:
    scenario = simperf.load(MODELS / f"{name}.yaml")
    overrides: dict[str, Any] = {"run.duration": "2s", "run.warmup": "0.5s"}
    if name == "sessions":  # its faults, within the run
        overrides["faults"] = [{"component": "app", "instance": 2, "at": "1s", "for": "0.5s"}]
    if name == "failover":
        overrides["faults"] = [
            {"component": "cache", "instance": 1, "at": "1s", "for": "0.5s"},
            {"component": "catalog", "instance": 0, "at": "1.2s", "for": "0.6s"},
        ]
    _same_snapshots(scenario.with_overrides(overrides))


def test_no_monitor_stays_watched_after_the_run() -> None:
    model: Model = build(_fleet(**{"run.requests": 300}), seed=1).execute()
    from simperf.metrics.monitor import LevelMonitor

    assert all(type(inst.held) is LevelMonitor for inst in model.instances if hasattr(inst, "held"))

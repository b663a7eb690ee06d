"""Runs past run.keep_requests: the same counts and means as with every record kept,
percentiles within the stated relative error, and at most the cap in records."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import simperf
from simperf.build import build
from simperf.metrics.folded import FoldedRecords
from simperf.metrics.recorder import RequestRecorder
from simperf.metrics.request_stats import PERCENTILES
from simperf.spec.run import DEFAULT_WINDOWS

from conftest import MODELS

KEEP = 500  # folded every 125 records past it (a quarter of the cap): during the runs
ERROR = 0.01
LATENCY_KEYS = [*PERCENTILES, "p50", "p95", "p99"]


def _both(scenario: simperf.Scenario) -> tuple[simperf.Result, simperf.Result]:
    full = simperf.run(scenario)
    capped = simperf.run(scenario, overrides={"run.keep_requests": KEEP})
    return full, capped


def _same_but_percentiles(full: dict[str, Any], capped: dict[str, Any]) -> None:
    """Every value equal (floats to rounding), percentiles within the stated error."""
    capped = dict(capped)
    assert capped.pop("exact") is False and capped.pop("relative_error") == ERROR
    assert full.keys() == capped.keys()
    for key, value in full.items():
        if key in PERCENTILES:
            assert capped[key] == pytest.approx(value, rel=ERROR * (1 + 1e-9)), key
        elif isinstance(value, float):
            assert capped[key] == pytest.approx(value, rel=1e-9), key
        else:
            assert capped[key] == value, key


def _same_timeseries(full: pd.DataFrame, capped: pd.DataFrame) -> None:
    keys = ["start", "end", "component", "metric"]
    assert full[keys].equals(capped[keys])
    latency = full["metric"].isin(LATENCY_KEYS)
    assert np.allclose(
        capped["value"][~latency], full["value"][~latency], rtol=1e-9, equal_nan=True
    )
    a, b = full["value"][latency].to_numpy(), capped["value"][latency].to_numpy()
    assert np.array_equal(np.isnan(a), np.isnan(b))
    held = ~np.isnan(a)
    assert np.all(np.abs(b[held] - a[held]) <= ERROR * (1 + 1e-9) * a[held])


# both engines: each folds past the cap during the run, and the two agree only to
# rounding, so each is compared with its own uncapped run
ENGINES = pytest.mark.parametrize("engine", ["events", "fast"])


@ENGINES
def test_mm1_past_the_cap_counts_exactly_and_keeps_percentiles_within_their_error(
    engine: str,
) -> None:
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": 120, "run.warmup": 10, "run.engine": engine}
    )
    full, capped = _both(scenario)
    requests = dict(capped.data["requests"])
    assert requests.pop("records_kept") == KEEP
    assert requests == full.data["requests"]
    assert requests["measured"] > 10 * KEEP
    _same_but_percentiles(full.data["latency"]["all"], capped.data["latency"]["all"])
    assert capped.data["checks"] == pytest.approx(full.data["checks"], rel=1e-9)
    assert capped.data["stability"] == full.data["stability"]
    _same_timeseries(full.timeseries, capped.timeseries)
    # the records are the first to finish, and the summary says the rest are counted
    assert capped.requests.equals(full.requests.iloc[:KEEP])
    assert "percentiles within 1% (past run.keep_requests: 500 records" in capped.summary()
    assert "exact" not in full.data["latency"]["all"]
    again = simperf.run(scenario, overrides={"run.keep_requests": KEEP})
    assert again.to_dict() == capped.to_dict()  # same spec and seed: identical


def test_the_records_past_the_cap_are_folded_during_the_run() -> None:
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": 60, "run.warmup": 10, "run.window": 1, "run.keep_requests": KEEP}
    )
    model = build(scenario).execute()
    recorder = model.ctx.recorder
    assert recorder.folded_count > 4 * KEEP
    # at most the cap, a quarter of it and one window's requests (90/s x 1 s) more
    assert len(recorder.end) <= KEEP + KEEP // 4 + 200
    assert recorder.finished == recorder.generated - recorder.in_flight


@ENGINES
def test_an_automatic_warmup_cuts_the_same_requests_past_the_cap(engine: str) -> None:
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": 60, "run.warmup": "auto", "run.engine": engine}
    )
    full, capped = _both(scenario)
    assert capped.data["warmup_auto"] == full.data["warmup_auto"]
    assert capped.data["warmup"] == full.data["warmup"]
    assert capped.data["requests"]["measured"] == full.data["requests"]["measured"]
    assert capped._arrival_windows[2].tolist() == full._arrival_windows[2].tolist()  # type: ignore[attr-defined]


def failing_scenario() -> simperf.Scenario:
    """Two classes through a call with a timeout (one with a fallback), a crash, alerts."""
    call = {"call": "back.get", "timeout": "30ms"}
    return simperf.from_dict(
        {
            "name": "failing",
            "workload": {
                "arrival": {"kind": "poisson", "rate": 150},
                "classes": [
                    {"name": "a", "entry": "front", "endpoint": "soft"},
                    {"name": "b", "entry": "front", "endpoint": "hard"},
                ],
            },
            "components": {
                "front": {
                    "kind": "app_server",
                    "workers": 1000,
                    "endpoints": {
                        "soft": [{**call, "fallback": {"skip": True}}],
                        "hard": [call],
                    },
                },
                "back": {
                    "kind": "app_server",
                    "replicas": 2,
                    "cores": 1,
                    "endpoints": {"get": [{"cpu": {"dist": "exponential", "mean": "10ms"}}]},
                },
            },
            "faults": [{"component": "back", "instance": 0, "at": "12s", "for": "4s"}],
            "alerts": [
                {"name": "failing_b", "metric": "error_rate", "class": "b", "above": 0.05},
                {"name": "busy", "metric": "throughput", "above": 140},
            ],
            "run": {"duration": "30s", "warmup": "2s", "window": "1s"},
        }
    )


def test_errors_fallbacks_faults_and_alerts_past_the_cap() -> None:
    full, capped = _both(failing_scenario())
    f, c = full.data, capped.data
    c["requests"].pop("records_kept")
    assert c["requests"] == f["requests"]
    assert f["requests"]["degraded"] > 0 and f["requests"]["failed"] > 0
    for name in ("a", "b", "all"):
        _same_but_percentiles(f["latency"][name], c["latency"][name])
    assert c["alerts"] == f["alerts"]
    assert f["alerts"]["failing_b"]["firings"] > 0
    assert c["faults"]["availability"] == f["faults"]["availability"]
    assert c["stability"] == f["stability"]
    _same_timeseries(full.timeseries, capped.timeseries)


def test_folded_windows_merge_as_the_model_merges_its_snapshots() -> None:
    rng = np.random.default_rng(3)
    start = np.sort(rng.uniform(0, 100, 5000))
    end = start + rng.exponential(2.0, start.size)
    klass, outcome = rng.integers(0, 3, start.size), rng.integers(0, 4, start.size)
    fine, coarse = np.arange(10.0, 100.0, 5.0), np.arange(10.0, 100.0, 10.0)
    merged, direct = FoldedRecords(3), FoldedRecords(3)
    merged.add(start[:2000], end[:2000], klass[:2000], outcome[:2000], fine)
    merged.add_degraded(start[:50], end[:50], klass[:50], fine)
    merged.merge_windows()
    merged.add(start[2000:], end[2000:], klass[2000:], outcome[2000:], coarse)
    direct.add(start, end, klass, outcome, coarse)
    direct.add_degraded(start[:50], end[:50], klass[:50], coarse)
    a, b = merged.arrays(coarse), direct.arrays(coarse)
    assert a.keys() == b.keys()
    for key in a:
        assert np.allclose(a[key], b[key], rtol=1e-12), key
    assert a["weight"].sum() == start.size and a["degraded_weight"].sum() == 50
    assert np.all(a["start"][np.isfinite(a["start"])] >= 10.0)


def _held_at_most(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The most records a recorder holds at once during the run (watched per request)."""
    most = [0]
    finish = RequestRecorder.finish

    def watched(self: RequestRecorder, *args: Any) -> None:
        finish(self, *args)
        most[0] = max(most[0], len(self.end))

    monkeypatch.setattr(RequestRecorder, "finish", watched)
    return most


def test_a_budget_ending_within_its_first_window_holds_the_cap_and_one_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the day's one-hour windows, asked for explicitly: 20,000 requests end in 26 minutes
    scenario = simperf.load(MODELS / "diurnal.yaml").with_overrides(
        {"run.duration": None, "run.requests": 20_000, "run.keep_requests": KEEP}
    )
    most = _held_at_most(monkeypatch)
    model = build(scenario).execute()
    recorder = model.ctx.recorder
    assert model.end < 3600 and len(model.snapshots) == 2
    assert most[0] < KEEP + recorder.fold_size  # folded as the batch fills, not per window
    assert recorder.folded_count + len(recorder.end) == 20_000


PROFILES = {
    # a burst of 10 minutes an hour at 4.8x the mean: 20,000 requests end in 417 s
    "piecewise": {"kind": "piecewise", "rate": 10, "period": 3600, "profile": [[0, 20], [600, 1]]},
    # starting at the daily peak, twice the mean
    "diurnal": {"kind": "diurnal", "rate": 10, "amplitude": 1.0, "period": "24h", "peak": 0},
}


@pytest.mark.parametrize("profile", PROFILES)
def test_a_budget_that_ends_early_in_its_profile_gets_the_usual_windows(
    profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {
            "run.duration": None,
            "run.requests": 20_000,
            "run.keep_requests": KEEP,
            "run.engine": "events",
            "workload.arrival": PROFILES[profile],
        }
    )
    most = _held_at_most(monkeypatch)
    model = build(scenario).execute()
    # about 60 windows over the run (sized from when the profile's integral reaches the
    # budget), not the few that the mean rate's 2,000 s would give
    assert 0.6 * DEFAULT_WINDOWS <= len(model.snapshots) <= 2 * DEFAULT_WINDOWS + 1
    assert most[0] < KEEP + model.ctx.recorder.fold_size


def test_records_folded_between_snapshots_keep_those_ending_on_one_in_its_window() -> None:
    # every other request ends on a snapshot's time (a whole second), before the snapshot
    # due then is taken (its end was scheduled first); folded then, as a batch fills, it
    # must still count in the window that snapshot opens
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {
            "workload.arrival": {"kind": "deterministic", "rate": 2},
            "components.app.cores": 4,
            "components.app.endpoints.serve": [{"cpu": {"dist": "constant", "value": "1.5s"}}],
            "run.duration": 60,
            "run.window": 1,
            "run.engine": "events",
        }
    )
    full = simperf.run(scenario)
    capped = simperf.run(scenario, overrides={"run.keep_requests": 20})
    _same_timeseries(full.timeseries, capped.timeseries)
    assert capped.data["requests"]["records_kept"] == 20


def test_a_folded_percentile_is_never_above_the_exact_max() -> None:
    # Under a 9x overload, the summary showed p99 103 s beside a max of 102 s: the
    # bucket's representative (within 1%) lay above every value folded into it.
    from simperf.metrics.quantiles import LogBuckets
    from simperf.metrics.request_stats import folded_latency_stats

    values = np.array([99.0, 102.0])  # in buckets represented by 98.5 and 102.5
    buckets = LogBuckets()
    latency = buckets.value(buckets.index(values))
    assert latency[-1] > values[-1]  # the representative overshoots the largest value
    stats = folded_latency_stats(latency, np.array([10, 990]), values * [10, 990], values)
    assert stats["max"] == 102.0
    assert stats["p99"] == 102.0 and stats["p50"] == 102.0

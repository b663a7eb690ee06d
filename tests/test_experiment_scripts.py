"""Every experiment script runs end to end on a short horizon."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT


def test_engine_speed_prints_ratios() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments" / "engine_speed.py"),
            "--requests",
            "2000",
            "--repeats",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(proc.stdout)
    assert [r["model"] for r in rows] == ["mm1", "tandem"]
    assert all(r["ratio"] > 0 for r in rows)


def test_engine_speed_times_richer_models_against_mm1() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments" / "engine_speed.py"),
            "--requests",
            "1000",
            "--repeats",
            "1",
            "--json",
            "--models",
            "read_replicas",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=_this_checkout(),
    )
    tables = json.loads(proc.stdout)
    assert [r["model"] for r in tables["engine"]] == ["mm1", "tandem"]
    models = tables["models"]
    assert [r["model"] for r in models] == ["mm1", "read_replicas"]
    assert models[0]["fraction_of_mm1"] == 1.0
    assert models[1]["fraction_of_mm1"] == pytest.approx(
        models[1]["simperf_req_per_s"] / models[0]["simperf_req_per_s"]
    )
    # mm1's request: its arrival and its CPU step; a read_replicas request pays for more
    assert models[0]["events_per_request"] == pytest.approx(2.0, abs=0.1)
    assert models[1]["events_per_request"] > 4 and models[1]["us_per_request"] > 0


def _this_checkout() -> dict[str, str]:
    """The environment for a script: simperf imported from this checkout."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}


def run_quick(script: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Run ``experiments/<script>.py --quick --out OUT`` from this checkout."""
    return subprocess.run(
        [sys.executable, str(ROOT / "experiments" / f"{script}.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
        env=_this_checkout(),
    )


@pytest.mark.parametrize("script", ["cache_db_offload", "write_policies", "ttl_tradeoff"])
def test_caching_experiments_run_quick(script: str, tmp_path: Path) -> None:
    proc = run_quick(script, tmp_path)
    frame = pd.read_csv(tmp_path / f"{script}.csv")
    assert len(frame) > 0 and (frame["status"] == "ok").all()
    assert "caches.cache.hit_rate" in frame.columns
    assert (tmp_path / f"{script}.html").stat().st_size > 10_000
    assert "wrote" in proc.stdout


QUICK_OVERHEAD = ("--requests", "2000", "--repeats", "1", "--json")


def test_cache_overhead_prints_ratios() -> None:
    proc = subprocess.run(
        [sys.executable, ROOT / "experiments" / "cache_overhead.py", *QUICK_OVERHEAD],
        capture_output=True,
        text=True,
        check=True,
        env=_this_checkout(),
    )
    rows = json.loads(proc.stdout)
    assert [r["case"] for r in rows] == ["lru_zipf", "all_hits", "all_misses"]
    assert all(r["ratio"] > 0 for r in rows)
    assert rows[1]["hit_rate"] > rows[0]["hit_rate"] > rows[2]["hit_rate"]


def test_cdn_latency_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("cdn_latency", tmp_path)
    frame = pd.read_csv(tmp_path / "cdn_latency.csv")
    assert set(frame["part"]) == {"fraction", "ttl"} and set(frame["region"]) == {"eu"}
    assert frame["reduction"].between(-0.2, 1).all() and frame["edge_hit_rate"].gt(0).all()
    # more cacheable requests, more of them hit: the reduction grows with the fraction
    fractions = frame[frame["part"] == "fraction"].sort_values("cacheable")
    assert fractions["reduction"].is_monotonic_increasing
    assert (tmp_path / "cdn_latency.html").stat().st_size > 10_000
    assert "smallest cacheable fraction" in proc.stdout


def test_sessions_scaling_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("sessions_scaling", tmp_path)
    frame = pd.read_csv(tmp_path / "sessions_scaling.csv")
    failure = frame[frame.part == "failure"].set_index("design")
    assert failure.loc["shared", "sessions_lost"] == 0
    assert 0 < failure.loc["sticky", "lost_share"] < 1
    assert failure.loc["sticky", "reauthentications"] > 0
    assert set(frame[frame.part == "scaling"].instances) == {2, 4}
    assert (tmp_path / "sessions_scaling.html").stat().st_size > 10_000
    boundaries = json.loads((tmp_path / "sessions_scaling.json").read_text())
    assert all(key in proc.stdout for key in boundaries)


def test_health_checks_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("health_checks", tmp_path)
    frame = pd.read_csv(tmp_path / "health_checks.csv")
    assert len(frame) == 8
    assert (frame["in_band"] == 1).all()  # every detection inside its band
    plain, retried = frame[frame.retries == 0], frame[frame.retries == 1]
    assert plain["refused_per_share"].between(0.9, 1.1).all()
    assert (plain["errors"] > 0).all() and (retried["errors"] == 0).all()
    # a longer interval or a higher threshold: a later removal, more failed requests
    slow = plain.set_index(["interval", "threshold"])["errors"]
    assert slow[(10.0, 3)] > slow[(2.0, 3)] and slow[(10.0, 3)] > slow[(10.0, 1)]
    assert (tmp_path / "health_checks.html").stat().st_size > 10_000
    assert "detection times inside" in proc.stdout


def test_degradation_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("degradation", tmp_path)
    frame = pd.read_csv(tmp_path / "degradation.csv").set_index("policy")
    assert list(frame.index) == ["fifo", "priority + shed 200ms"]
    # FIFO lets the surge's backlog reach checkout; priority and shedding keep it out
    assert not frame.loc["fifo", "checkout_meets_slo"]
    assert frame.loc["priority + shed 200ms", "checkout_meets_slo"]
    assert frame.loc["priority + shed 200ms", "browse_shed"] > 0
    assert frame.loc["priority + shed 200ms", "checkout_shed"] == 0
    assert frame.loc["fifo", "browse_shed"] == 0
    assert (tmp_path / "degradation.html").stat().st_size > 5_000
    boundaries = json.loads((tmp_path / "degradation.json").read_text())
    assert all(key in proc.stdout for key in boundaries)


def test_scaling_vertical_horizontal_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("scaling_vertical_horizontal", tmp_path)
    frame = pd.read_csv(tmp_path / "scaling_vertical_horizontal.csv")
    assert set(frame.design) == {"up", "out"}
    for _, group in frame.groupby("rate"):  # one cheaper design per load, or a tie
        assert sorted(group.cheapest) in (["no", "yes"], ["tie", "tie"])
    out = frame[frame.design == "out"]
    assert out.met.all() and out.p99_high_ms.lt(400).all()  # every answer shown to meet the SLO
    up = frame[frame.design == "up"].set_index("rate")
    assert not up.loc[800.0, "met"]  # 80 Erlangs of work: no 64-core instance can take it
    assert (tmp_path / "scaling_vertical_horizontal.html").stat().st_size > 5_000
    boundaries = json.loads((tmp_path / "scaling_vertical_horizontal.json").read_text())
    assert all(key in proc.stdout for key in boundaries)


def test_failover_database_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("failover_database", tmp_path)
    frame = pd.read_csv(tmp_path / "failover_database.csv")
    unavailable = frame[frame.part == "unavailability"]
    # writes fail for exactly detection + promotion, and reads never
    gap = unavailable.write_unavailable - unavailable.detection - unavailable.promotion
    assert gap.abs().lt(1e-9).all()
    assert (frame.read_errors == 0).all()
    assert frame.failed_z.abs().lt(4).all() and frame.lost_z.abs().lt(4).all()
    assert (tmp_path / "failover_database.html").stat().st_size > 5_000
    boundaries = json.loads((tmp_path / "failover_database.json").read_text())
    assert all(key in proc.stdout for key in boundaries)


def test_cache_node_loss_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("cache_node_loss", tmp_path)
    frame = pd.read_csv(tmp_path / "cache_node_loss.csv").set_index("nodes")
    assert (frame.reads_peak > frame.reads_before).all()  # the spike
    assert frame.loc[2, "excess"] > frame.loc[4, "excess"]  # a bigger share lost, a bigger one
    assert frame.loc[2, "moved_share"] > frame.loc[4, "moved_share"] > 0
    assert (tmp_path / "cache_node_loss.html").stat().st_size > 5_000
    assert "peak excess" in proc.stdout


def test_region_evacuation_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("region_evacuation", tmp_path)
    frame = pd.read_csv(tmp_path / "region_evacuation.csv")
    assert (frame.failed == 0).all()
    # eu's clients pay the 80 ms round trip to us, and us works harder meanwhile
    assert frame.eu_p50_during.gt(0.080).all() and frame.p99_before.lt(0.080).all()
    assert (frame.us_util_during > 1.8 * frame.us_util_before).all()
    assert frame.evacuated_share_check.between(0.9, 1.1).all()
    assert (tmp_path / "region_evacuation.html").stat().st_size > 5_000
    assert "eu clients in us" in proc.stdout


def test_estimate_accuracy_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("estimate_accuracy", tmp_path)
    frame = pd.read_csv(tmp_path / "estimate_accuracy.csv")
    assert set(frame["model"]) == {"mm1", "tandem"}
    every = frame[frame["class"] == "all"]
    assert (every["estimate"] > 0).all() and (every["half_width"] > 0).all()
    assert (tmp_path / "estimate_accuracy.html").stat().st_size > 1_000
    assert "models within 10% of the simulated mean" in proc.stdout


def test_capacity_bracketing_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("capacity_bracketing", tmp_path)
    frame = pd.read_csv(tmp_path / "capacity_bracketing.csv").set_index("search")
    assert frame.loc["plain", "answer"] == frame.loc["bracketed", "answer"] == 5
    assert frame.loc["bracketed", "simulations"] < frame.loc["plain", "simulations"]
    assert "mmc: simulations (plain, bracketed)" in proc.stdout


def test_vertical_limits_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("vertical_limits", tmp_path)
    frame = pd.read_csv(tmp_path / "vertical_limits.csv")
    throughput = frame[frame.part == "throughput"]
    assert set(throughput.cores) == {2, 4, 8, 16, 32, 64}
    # one second per size: within a few percent of X(N) (edge effects of short runs)
    assert (throughput.throughput / throughput.usl).between(0.85, 1.1).all()
    linear = throughput[throughput.alpha == 0].set_index("cores")
    assert linear.closed_form_vs_out.eq(1).all()  # linear scaling, prices linear in cores
    p99 = frame[frame.part == "p99"].set_index(["alpha", "cores", "design"])
    # with contention 0.05 one 16-core box (X = 914/s) cannot take 1000/s; 2-core boxes can
    assert not p99.loc[(0.05, 16, "up"), "stable"] and p99.loc[(0.05, 16, "out"), "stable"]
    assert p99.loc[(0.05, 16, "up"), "p99_ms"] > 3 * p99.loc[(0.05, 16, "out"), "p99_ms"]
    assert (tmp_path / "vertical_limits.html").stat().st_size > 5_000
    boundaries = json.loads((tmp_path / "vertical_limits.json").read_text())
    assert all(key in proc.stdout for key in boundaries)


def test_retry_storm_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("retry_storm", tmp_path)
    frame = pd.read_csv(tmp_path / "retry_storm.csv")
    main = frame[frame["T"] == 1.0].set_index("policy")
    # naive retries stay down for the whole 12 T after the surge; a budget comes back
    assert not main.loc["naive retries", "recovered"]
    assert main.loc["naive retries", "goodput_10T_after"] < 0.5
    assert main.loc["retry budget 10%", "recovered"]
    assert main.loc["retry budget 10%", "recovery_in_T"] <= 2
    # the API dropping the attempts the gateway gave up on serves less for nobody
    naive, dropping = main.loc["naive retries"], main.loc["naive retries + drop_expired"]
    assert naive["expired"] == 0 and dropping["expired"] > 0
    assert dropping["wasted"] < naive["wasted"]
    assert dropping["goodput_10T_after"] > naive["goodput_10T_after"]
    assert (tmp_path / "retry_storm.html").stat().st_size > 5_000
    # the figure's series, for experiments/render_figures.py
    drawn = pd.read_csv(tmp_path / "retry_storm_series.csv")
    assert set(drawn["policy"]) == set(main.index)
    boundaries = json.loads((tmp_path / "retry_storm.json").read_text())
    assert all(key in proc.stdout for key in boundaries)


def test_retry_storm_judges_a_short_trigger_on_windows_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 12 T of a 0.1 s trigger ended the run inside the window the trigger was in: with no
    # window after it, every run read as recovered, whatever the queue did
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))
    retry_storm = importlib.import_module("retry_storm")
    args = argparse.Namespace(replications=1, seed=1)
    (row,) = retry_storm.replicate("naive retries", 0.1, args)
    series = row["series"]
    after = series[series["start"] >= retry_storm.TRIGGER + 0.1]
    assert len(after) >= 10


def test_retry_storm_recovery_is_judged_on_windows_whose_requests_have_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the requests still in flight at the end count as not ok in the last window: that
    # window alone under 95% read a recovered run as censored
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))
    retry_storm = importlib.import_module("retry_storm")
    trigger_end, end = 15.0, 75.0
    starts = np.arange(0.0, end, retry_storm.WINDOW)
    share = np.where((starts >= trigger_end) & (starts < 17.0), 0.5, 1.0)
    share[-1] = 0.92  # 25 of ~300 arrivals still in flight at the end

    def judged(give_up: float) -> tuple[float, bool]:
        series = pd.DataFrame({"start": starts, "goodput": share})
        return retry_storm.recovery(series, trigger_end, end, give_up)

    assert judged(0.3) == (2.0, True)
    # one judged window at 95% after the last low one is recovered
    share[-3], share[-2] = 0.5, 0.97
    assert judged(0.3) == (58.0, True)
    # a last judged window under 95% is censored at the end of the run
    share[-2] = 0.9
    assert judged(0.3) == (60.0, False)
    # a give-up time past a window leaves the windows it covers unjudged
    assert judged(2.3) == (2.0, True)
    assert retry_storm.give_up("naive retries") == pytest.approx(0.3)
    assert retry_storm.give_up("backoff + jitter") == pytest.approx(2.3)


def test_retry_storm_goodput_keeps_requests_in_flight_out_of_whole_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a run ending at 22.5 s has windows up to 22 s; its 29 requests in flight, which
    # arrived after 22.2 s, were put at 22.0 s, in the last whole window, which read 0.908
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))
    retry_storm = importlib.import_module("retry_storm")
    starts = np.arange(0.0, 22.5, 1 / 300)
    result = argparse.Namespace(
        requests=pd.DataFrame({"start": starts, "outcome": "ok"}),
        data={"requests": {"in_flight": 29}, "end_time": 22.5},
    )
    series = retry_storm.goodput(result, 22.5)
    assert list(series["start"]) == list(np.arange(0.0, 22.0))
    assert (series["goodput"] == 1.0).all()
    assert retry_storm.recovery(series, 10.5, 22.5, 0.3) == (0.0, True)
    assert retry_storm.give_up("backoff + jitter") == pytest.approx(2.3)


def test_deadline_drop_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("deadline_drop", tmp_path)
    frame = pd.read_csv(tmp_path / "deadline_drop.csv").set_index("policy")
    served_all, dropping = frame.loc["fifo, serve all"], frame.loc["fifo + drop_expired"]
    # serving the backlog of given-up requests keeps goodput down after the surge
    assert served_all["recovery"] > 0 and dropping["recovery"] < served_all["recovery"]
    assert dropping["goodput_10T_after"] > served_all["goodput_10T_after"]
    assert dropping["wasted"] < served_all["wasted"]
    assert served_all["expired"] == 0 and dropping["expired"] > 0
    assert (tmp_path / "deadline_drop.html").stat().st_size > 5_000
    drawn = pd.read_csv(tmp_path / "deadline_drop_series.csv")
    assert set(drawn["policy"]) == set(frame.index)
    boundaries = json.loads((tmp_path / "deadline_drop.json").read_text())
    assert all(key in proc.stdout for key in boundaries)


def test_timeouts_tail_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("timeouts_tail", tmp_path)
    frame = pd.read_csv(tmp_path / "timeouts_tail.csv").set_index(["policy", "utilisation"])
    # at low load a hedge cuts the 20 ms stall tail to about 5 ms + 2 ms
    assert frame.loc[("plain", 0.2), "p99"] == pytest.approx(0.020, abs=1e-3)
    assert frame.loc[("hedge after 5 ms", 0.2), "p99"] == pytest.approx(0.007, abs=1e-3)
    # at 0.7 the extra copies cost more than they save
    assert frame.loc[("hedge after 5 ms", 0.7), "p99"] > frame.loc[("plain", 0.7), "p99"]
    # unless the back drops the losing copies still queued, which keeps it out of the storm
    cancelled = "hedge after 5 ms, cancelled copies dropped"
    assert frame.loc[(cancelled, 0.7), "p99"] < frame.loc[("hedge after 5 ms", 0.7), "p99"] / 10
    assert (tmp_path / "timeouts_tail.html").stat().st_size > 10_000
    boundaries = json.loads((tmp_path / "timeouts_tail.json").read_text())
    assert all(key in proc.stdout for key in boundaries)


def test_gray_failure_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("gray_failure", tmp_path)
    frame = pd.read_csv(tmp_path / "gray_failure.csv").set_index("policy")
    assert len(frame) == 5
    # round robin keeps feeding the slow instance a quarter of the traffic: it sheds load
    # and its p99 is the slow instance's; the other policies send it less and fail none
    assert frame.loc["round robin", "error_rate"] > 0.05
    others = frame.drop(index=["round robin", "outlier ejection, 50 ms bound"])
    assert (others["error_rate"] == 0).all()
    assert (others["p99"] < frame.loc["round robin", "p99"] / 3).all()
    assert frame.loc["outlier ejection", "ejections"] >= 1
    assert (
        frame.loc["outlier ejection", "slow_share"] < frame.loc["least connections", "slow_share"]
    )
    assert (tmp_path / "gray_failure.html").stat().st_size > 10_000
    assert "p99 at factor 5" in proc.stdout


def test_autoscaling_diurnal_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("autoscaling_diurnal", tmp_path)
    frame = pd.read_csv(tmp_path / "autoscaling_diurnal.csv").set_index("design")
    fixed, tracking = frame.loc["fixed for the peak"], frame.loc["target 55%"]
    assert fixed["miss_share"] == 0  # sized for the peak, it meets the SLO all day
    assert fixed["mean_instances"] == fixed["fixed_instances"]
    assert tracking["cost"] < fixed["cost"] and tracking["scale_actions"] > 0
    assert (tmp_path / "autoscaling_diurnal.html").stat().st_size > 5_000
    assert "fixed fleet for the peak" in proc.stdout


def test_growth_projection_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("growth_projection", tmp_path)
    frame = pd.read_csv(tmp_path / "growth_projection.csv")
    assert set(frame.design) == {"up", "out"}
    for _, group in frame[frame.met].groupby("design"):  # more traffic never needs less
        assert group.sort_values("month")["size"].is_monotonic_increasing
    designs = pd.read_csv(tmp_path / "growth_projection_designs.csv")
    assert set(designs.design) == {"up", "out"}
    assert (tmp_path / "growth_projection.html").stat().st_size > 5_000
    assert "breach month" in proc.stdout


def test_memory_scaling_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("memory_scaling", tmp_path)
    frame = pd.read_csv(tmp_path / "memory_scaling.csv")
    short, long = frame.iloc[0], frame.iloc[1]
    assert long["requests"] == 10 * short["requests"] and long["records_kept"] == 2000
    assert short["exact"] and not long["exact"]
    assert long["peak_rss_mib"] <= 1.2 * short["peak_rss_mib"]
    assert (tmp_path / "memory_scaling.html").stat().st_size > 1_000
    assert "rss_ratio_long_over_short" in proc.stdout


def test_memory_scaling_measures_another_model(tmp_path: Path) -> None:
    # one child run of --model read_replicas: the model's name reaches the run
    script = str(ROOT / "experiments" / "memory_scaling.py")
    command = [sys.executable, script, "--child", "3000", "1000", "0", "1", "events"]
    proc = subprocess.run(
        [*command, "read_replicas"],
        capture_output=True,
        text=True,
        check=True,
        env=_this_checkout(),
    )
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    assert row["model"] == "read_replicas" and row["records_kept"] == 1000
    assert not row["exact"] and row["peak_rss_mib"] > 0


def test_dask_speedup_runs_quick(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    proc = run_quick("dask_speedup", tmp_path)
    frame = pd.read_csv(tmp_path / "dask_speedup.csv")
    assert list(zip(frame.executor, frame.workers, strict=True)) == [("serial", 1), ("dask", 1)]
    assert frame["identical"].all() and (frame["runs"] == 2).all()
    assert (tmp_path / "dask_speedup.html").stat().st_size > 5_000
    assert "identical frames: {'sweep': True}" in proc.stdout


def test_fast_path_speed_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("fast_path_speed", tmp_path)
    frame = pd.read_csv(tmp_path / "fast_path_speed.csv")
    assert list(frame["model"]) == ["mm1", "mmc", "tandem"]
    assert (frame["max_latency_difference"] < 1e-9).all()
    assert frame["same_arrivals"].all()
    assert (frame["speedup"] > 1).all() and (frame["speedup_median"] > 1).all()
    assert (frame["fast_cpu_median"] >= frame["fast_cpu"]).all()
    assert "largest |latency difference|" in proc.stdout


def test_summary_cost_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("summary_cost", tmp_path)
    frame = pd.read_csv(tmp_path / "summary_cost.csv")
    assert len(frame) == 6 and (frame["summary_cpu"] > 0).all()
    assert set(frame["engine"]) == {"fast", "events"}
    assert "mm1 events" in proc.stdout


def test_tracing_cost_runs_quick(tmp_path: Path) -> None:
    proc = run_quick("tracing_cost", tmp_path)
    frame = pd.read_csv(tmp_path / "tracing_cost.csv")
    assert len(frame) == 8
    assert set(frame["trace"]) == {"off", "1%", "100%", "profile"}
    assert (frame[frame["trace"] == "off"]["overhead"] == 0).all()
    assert (tmp_path / "tracing_cost.html").stat().st_size > 1_000
    assert "mm1 1%" in proc.stdout and "tandem profile" in proc.stdout


def _tracing_cost(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``experiments/tracing_cost.py`` as a module."""
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))
    return importlib.import_module("tracing_cost")


def test_tracing_cost_instructions_are_per_request_and_of_the_whole_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # callgrind itself takes a minute a process (imports alone): here its counts are
    # made up, a start-up, a fixed cost of the run and a cost per request per setting
    tracing_cost = _tracing_cost(monkeypatch)
    per = {"off": 100, "1%": 103, "100%": 400, "profile": 101}

    def counted(
        model: str, requests: int, setting: dict[str, Any], seed: int, run: bool = True
    ) -> int:
        name = next(n for n, s in tracing_cost.SETTINGS.items() if s == setting)
        scale = 1 if model == "mm1" else 3
        return 5_000 + (70 + requests * per[name] * scale if run else 0)

    monkeypatch.setattr(tracing_cost, "instructions", counted)
    frame, repeat = tracing_cost.count(10, 30, seed=1, jobs=2)
    assert list(frame["model"]) == ["mm1"] * 4 + ["tandem"] * 4
    mm1 = frame[frame["model"] == "mm1"].set_index("trace")
    assert mm1["per_request"].to_dict() == per
    assert mm1.loc["off", "whole_run"] == 70 + 30 * 100
    assert mm1.loc["1%", "per_request_overhead"] == pytest.approx(0.03)
    assert repeat["counts"] == [5_070 + 10 * 103] * 2 and repeat["difference"] == 0


@pytest.mark.validate
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_tracing_cost_instruction_counts_repeat(monkeypatch: pytest.MonkeyPatch) -> None:
    tracing_cost = _tracing_cost(monkeypatch)
    # a count does not move with the machine's load: two runs agree to < 0.5%
    traced = tracing_cost.SETTINGS["1%"]
    first, again = (tracing_cost.instructions("mm1", 200, traced, seed=1) for _ in range(2))
    assert abs(again / first - 1) < 0.005

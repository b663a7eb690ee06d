"""Every experiment script runs end to end on a short horizon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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

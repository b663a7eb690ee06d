"""Sweeps: tidy frames, common random numbers, stores, resume, executors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import simperf
from simperf.experiment.sweep import grid_points, sweep

from conftest import MODELS

GRID = {"components.app.cores": [4, 5], "workload.arrival.rate": [200, 300]}


def mmc(duration: float = 20):
    return simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": duration, "run.warmup": 2}
    )


def test_grid_product_and_zip() -> None:
    assert len(grid_points(GRID)) == 4
    assert grid_points(GRID, zipped=True) == [
        {"components.app.cores": 4, "workload.arrival.rate": 200},
        {"components.app.cores": 5, "workload.arrival.rate": 300},
    ]
    with pytest.raises(simperf.SpecError, match="one length"):
        grid_points({"a": [1, 2], "b": [1]}, zipped=True)


def test_sweep_frame_is_tidy() -> None:
    frame = sweep(mmc(), GRID, replications=2, executor="serial", progress=False)
    assert len(frame) == 8
    assert list(frame.columns[:6]) == [
        "point",
        "replication",
        "components.app.cores",
        "workload.arrival.rate",
        "status",
        "error",
    ]
    assert (frame.status == "ok").all()
    assert frame.loc[frame["workload.arrival.rate"] == 300, "throughput"].mean() > 280
    # common random numbers: the same replication sees the same arrivals at every core count
    gen = frame.pivot_table(
        index=["workload.arrival.rate", "replication"],
        columns="components.app.cores",
        values="requests.generated",
    )
    assert (gen[4] == gen[5]).all()


def test_grid_on_a_missing_path_fails_before_running() -> None:
    with pytest.raises(simperf.SpecError, match=r"grid point components\.app\.corez=4"):
        sweep(mmc(), {"components.app.corez": [4]}, executor="serial", progress=False)


def test_a_point_too_large_to_run_fails_before_any_runs(monkeypatch) -> None:
    """A point over run.max_events is refused as the run would refuse it, before the
    sweep runs anything: it used to run the other points and leave an error row."""
    from simperf.experiment import sweep as sweep_module

    ran: list[object] = []
    monkeypatch.setattr(sweep_module, "run_to_dict", lambda *a: ran.append(a))
    grid = {"workload.arrival.rate": [320, "1e7/s"]}
    with pytest.raises(
        simperf.SpecError, match=r"grid point workload\.arrival\.rate=1e7/s:\n.*max_events"
    ):
        sweep(mmc(20), grid, executor="serial", progress=False)  # 2e8 arrivals
    assert ran == []


def test_failing_point_is_recorded_and_the_others_go_on(tmp_path: Path, monkeypatch) -> None:
    from simperf.experiment import sweep as sweep_module

    real = sweep_module.run_to_dict

    def flaky(data, seed, replication):
        if data["components"]["app"]["cores"] == 5:
            raise RuntimeError("disk on fire")
        return real(data, seed, replication)

    monkeypatch.setattr(sweep_module, "run_to_dict", flaky)
    frame = sweep(
        mmc(),
        {"components.app.cores": [4, 5]},
        executor="serial",
        progress=False,
        store=tmp_path / "r.db",
    )
    assert list(frame.status) == ["ok", "error"]
    assert "disk on fire" in frame.error.iloc[1]


def test_store_refuses_overwrite_and_changed_spec(tmp_path: Path) -> None:
    out = tmp_path / "r.db"
    sweep(mmc(), {"components.app.cores": [4]}, executor="serial", progress=False, store=out)
    with pytest.raises(simperf.SimperfError, match="already exists"):
        sweep(mmc(), {"components.app.cores": [4]}, executor="serial", progress=False, store=out)
    with pytest.raises(simperf.SimperfError, match="different spec or seed"):
        sweep(
            mmc(duration=25),
            {"components.app.cores": [4]},
            executor="serial",
            progress=False,
            store=out,
            resume=True,
        )


def test_resume_runs_only_what_is_missing(tmp_path: Path) -> None:
    out = tmp_path / "r.db"
    first = sweep(
        mmc(),
        {"components.app.cores": [4]},
        replications=2,
        executor="serial",
        progress=False,
        store=out,
    )
    full = sweep(
        mmc(), GRID, replications=2, executor="serial", progress=False, store=out, resume=True
    )
    assert len(full) == 8
    same = full[(full["components.app.cores"] == 4) & (full["workload.arrival.rate"].isna())]
    assert same.empty  # the first sweep's point had no rate override: a different point
    del first


def test_executors_give_identical_frames() -> None:
    serial = sweep(mmc(10), GRID, executor="serial", progress=False)
    pool = sweep(mmc(10), GRID, executor="processes", workers=2, progress=False)
    pd.testing.assert_frame_equal(serial, pool)


def test_dask_local_gives_identical_frames() -> None:
    pytest.importorskip("distributed")
    serial = sweep(mmc(10), {"components.app.cores": [4, 5]}, executor="serial", progress=False)
    dask = sweep(
        mmc(10), {"components.app.cores": [4, 5]}, executor="dask:local", workers=2, progress=False
    )
    pd.testing.assert_frame_equal(serial, dask)


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_then_resume_gives_every_point_once_and_the_same_numbers(tmp_path: Path) -> None:
    spec = tmp_path / "mmc.yaml"
    spec.write_text((MODELS / "mmc.yaml").read_text())
    args = [
        "--duration",
        "60s",  # each point a fraction of a second: the kill lands between points
        "--grid",
        "components.app.cores=4,5,6,7",
        "--grid",
        "workload.arrival.rate=200,300",
        "--serial",
        "--quiet",
        "--json",
    ]
    cmd = [sys.executable, "-m", "simperf.cli", "sweep", str(spec), *args]
    killed = tmp_path / "killed.db"
    proc = subprocess.Popen(
        [*cmd, "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while _count(killed) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = _count(killed)
    assert 0 < stored < 8, f"kill landed at {stored} of 8 runs"
    resumed = subprocess.run(
        [*cmd, "--out", str(killed), "--resume"], capture_output=True, text=True, check=True
    )
    clean = subprocess.run(
        [*cmd, "--out", str(tmp_path / "clean.db")], capture_output=True, text=True, check=True
    )
    a = pd.read_json(__import__("io").StringIO(resumed.stdout))
    b = pd.read_json(__import__("io").StringIO(clean.stdout))
    assert len(a) == 8 and a[["point", "replication"]].duplicated().sum() == 0
    pd.testing.assert_frame_equal(a, b)
    assert _count(killed) == 8

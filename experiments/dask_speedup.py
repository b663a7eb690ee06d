"""How much faster do a sweep and a capacity search run on a Dask cluster with more workers?

The same sweep (models/mmc.yaml, cores 4 to 9 at 320/s, 3 replications each: 18
runs) and the same capacity search (the cores of models/mmc.yaml for a mean wait below 4
ms, 5 replications a probe), both on the event engine, run in this process (``serial``)
and on a Dask ``LocalCluster`` with 1 and with 2 single-threaded worker processes
(``dask:local``), each with a fresh cluster. Measured: the cluster's start-up, the wall
time of the work once the cluster is up, the speed-up of 2 workers over 1, and whether
every executor gives the same frame to the last digit (it must: replication *r* always
draws the streams of (seed, *r*)). The machine's load average is recorded before and
after each row, since the speed-up a loaded machine gives is bounded by its idle cores.

Usage: ``python experiments/dask_speedup.py [--quick] [--out results] [--seed 1]``
(``--quick``: the sweep only, 2 points of 1 replication on 5 s horizons, serial and a
1-worker Dask cluster of threads: a check that it runs, not a measurement).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import ROOT, arguments, conclude, save

import simperf
from simperf.experiment.executors import executor_for

KNOB = "components.app.cores"
SLO = "components.app.mean_wait<4ms"
COLOURS = {"sweep": "#1f77b4", "capacity": "#d62728"}


def work(task: str, executor: Any, args: Any) -> tuple[pd.DataFrame, int]:
    """The sweep or the capacity search on ``executor``: its frame and how many runs."""
    # The event engine: on the exact fast path each of these runs takes milliseconds, and
    # the measurement would be of the cluster's overhead, not of its parallel work.
    scenario = simperf.load(ROOT / "models" / "mmc.yaml")
    scenario = scenario.with_overrides({"run.engine": "events"})
    if args.quick:
        scenario = scenario.with_overrides({"run.duration": "5s", "run.warmup": "1s"})
    else:
        scenario = scenario.with_overrides({"run.duration": "200s", "run.warmup": "10s"})
    if task == "sweep":
        cores = [4, 5] if args.quick else [4, 5, 6, 7, 8, 9]
        frame = simperf.sweep(
            scenario,
            {KNOB: cores},
            replications=1 if args.quick else 3,
            seed=args.seed,
            executor=executor,
            progress=False,
        )
        return frame, len(frame)
    found = simperf.capacity(
        scenario, KNOB, [SLO], low=1, high=16, replications=5, seed=args.seed, executor=executor
    )
    return found.frame, sum(len(p.runs) for p in found.probes)


@contextmanager
def executor(name: str, workers: int, quick: bool) -> Iterator[Any]:
    """``serial``, or a fresh ``dask:local`` cluster of worker processes; with --quick, a
    Dask cluster of threads in this process (it starts in a second where a loaded machine
    takes ten to spawn worker processes: the quick run checks the script, not the speed)."""
    if name == "serial" or not quick:
        with executor_for("serial" if name == "serial" else "dask:local", workers=workers) as pool:
            yield pool
        return
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            processes=False, n_workers=workers, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client.get_executor()


def timed(task: str, name: str, workers: int, args: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """One row: start-up and work wall times on a fresh executor, and the frame."""
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with executor(name, workers, args.quick) as pool:
        up = time.perf_counter()
        frame, runs = work(task, pool, args)
        done = time.perf_counter()
    row = {
        "task": task,
        "executor": name,
        "workers": workers,
        "runs": runs,
        "startup_s": up - started,
        "work_s": done - up,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    return row, frame


def figure(frame: pd.DataFrame) -> go.Figure:
    """Wall time of the work by executor, one bar group per task."""
    fig = go.Figure()
    for task, rows in frame.groupby("task", sort=False):
        labels = [
            f"{e} ({w})" if e != "serial" else e
            for e, w in zip(rows.executor, rows.workers, strict=True)
        ]
        fig.add_bar(
            x=labels,
            y=rows["work_s"],
            name=task,
            marker_color=COLOURS[str(task)],
            text=[f"{s:.1f} s" for s in rows["work_s"]],
        )
    fig.update_layout(
        title="Wall time of the work once the executor is up (fresh LocalCluster per row)",
        xaxis_title="executor (workers)",
        yaxis_title="wall time (s)",
        barmode="group",
        template="plotly_white",
    )
    return fig


def main() -> None:
    args = arguments(__doc__ or "")
    tasks = ["sweep"] if args.quick else ["sweep", "capacity"]
    setups = (
        [("serial", 1), ("dask", 1)] if args.quick else [("serial", 1), ("dask", 1), ("dask", 2)]
    )
    rows, identical = [], {}
    for task in tasks:
        frames = []
        for name, workers in setups:
            row, result = timed(task, name, workers, args)
            rows.append(row)
            frames.append(result.sort_index(axis=1))
        identical[task] = all(f.equals(frames[0]) for f in frames[1:])
    frame = pd.DataFrame(rows)
    frame["identical"] = frame["task"].map(identical)
    one_worker = frame[(frame.executor == "dask") & (frame.workers == 1)].set_index("task")
    frame["speedup_over_1_worker"] = frame["task"].map(one_worker["work_s"]) / frame["work_s"]
    save("dask_speedup", frame, figure(frame), args)
    found: dict[str, Any] = {"cores": os.cpu_count(), "identical frames": identical}
    for row in rows:
        key = f"{row['task']} on {row['executor']} ({row['workers']})"
        found[key] = (
            f"{row['runs']} runs, start-up {row['startup_s']:.1f} s, work {row['work_s']:.1f} s, "
            f"load {row['load_before']:.2f} -> {row['load_after']:.2f}"
        )
    two = frame[(frame.executor == "dask") & (frame.workers == 2)]
    for task, speedup in zip(two["task"], two["speedup_over_1_worker"], strict=True):
        if speedup == speedup:  # measured only with a 1-worker cluster to compare with
            found[f"{task} speed-up, 2 workers over 1"] = round(float(speedup), 2)
    conclude("dask_speedup", found, args)


if __name__ == "__main__":
    main()

"""How much faster is the exact fast path than the event engine, and is it the same run?

Runs ``models/mm1.yaml`` (one server), ``models/mmc.yaml`` (M/M/4) and
``models/tandem.yaml`` (three 2-core tiers in a chain) with a budget of requests (1M; 5k
with ``--quick``), once with ``run.engine: events`` and once with ``run.engine: fast``,
at the same seed, interleaved so that machine noise hits both alike. Measured: each
engine's CPU time for the simulation (not the summary, which both share) and for the
whole ``simperf.run`` (build, simulation, summary), the speed-ups (best of the runs, and
of their medians),
and the largest difference between the two runs' per-request latencies (matched by
arrival time) and between their p99s. The fast path draws the event engine's random
numbers in the event engine's order, so the differences are rounding only. With numba
installed (the extra ``fast``) its recursions run compiled (``compiled`` in the table;
loaded before timing, as any run past ``recursions.LOAD_FROM`` requests loads them;
``SIMPERF_NUMBA=0`` runs the numpy ones).

Usage: ``python experiments/fast_path_speed.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save

import simperf
from simperf import fastpath
from simperf.build import build
from simperf.fastpath.recursions import compiled, load

MODELS = Path(__file__).resolve().parent.parent / "models"
CASES = ("mm1", "mmc", "tandem")


def simulate(scenario: Any, engine: str, seed: int) -> tuple[float, float, dict[str, Any]]:
    """One run's simulation (no summary): CPU and wall seconds, and its request records.

    CPU time is the figure compared: the machine may be shared, which stretches wall
    times by however many other processes run, but not CPU times.
    """
    model = build(scenario, seed=seed)
    started, cpu = time.perf_counter(), time.process_time()
    if engine == "fast":
        fastpath.execute(model)
    else:
        model.execute()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    return cpu, wall, model.ctx.recorder.arrays()


def whole_run(scenario: Any, engine: str, seed: int) -> float:
    """CPU seconds of a whole ``simperf.run`` on ``engine``."""
    cpu = time.process_time()
    result = simperf.run(scenario.with_overrides({"run.engine": engine}), seed=seed)
    assert result.perf["engine"] == engine
    return time.process_time() - cpu


def measure(name: str, requests: int, seed: int, repeats: int) -> dict[str, Any]:
    """Both engines on one model: best times of ``repeats`` and the differences."""
    scenario = simperf.load(MODELS / f"{name}.yaml").with_overrides(
        {"run.duration": None, "run.warmup": 0, "run.requests": requests}
    )
    cpu: dict[str, list[float]] = {"events": [], "fast": []}
    wall: dict[str, list[float]] = {"events": [], "fast": []}
    run: dict[str, list[float]] = {"events": [], "fast": []}
    records: dict[str, Any] = {}
    load()  # numba's kernels, from its cache (or compiled): not timed
    simulate(scenario.with_overrides({"run.requests": 1000}), "fast", seed)
    for _ in range(repeats):  # interleaved so that machine noise hits both alike
        for engine in cpu:
            seconds, elapsed, records[engine] = simulate(scenario, engine, seed)
            cpu[engine].append(seconds)
            wall[engine].append(elapsed)
            run[engine].append(whole_run(scenario, engine, seed))
    a, b = records["events"], records["fast"]
    ia, ib = np.argsort(a["start"], kind="stable"), np.argsort(b["start"], kind="stable")
    return {
        "model": name,
        "requests": requests,
        "compiled": compiled() is not None,
        "events_cpu": min(cpu["events"]),
        "fast_cpu": min(cpu["fast"]),
        "speedup": min(cpu["events"]) / min(cpu["fast"]),
        # the typical run beside the best: a fast run's first touch of fresh memory makes
        # its time swing more than the event engine's
        "fast_cpu_median": float(np.median(cpu["fast"])),
        "speedup_median": float(np.median(cpu["events"]) / np.median(cpu["fast"])),
        "events_run_cpu": min(run["events"]),
        "fast_run_cpu": min(run["fast"]),
        "run_speedup": min(run["events"]) / min(run["fast"]),
        "events_wall": min(wall["events"]),
        "fast_wall": min(wall["fast"]),
        "max_latency_difference": float(np.abs(a["latency"][ia] - b["latency"][ib]).max()),
        "same_arrivals": bool(np.array_equal(a["start"][ia], b["start"][ib])),
        "p99_difference": float(
            abs(np.percentile(a["latency"], 99) - np.percentile(b["latency"], 99))
        ),
    }


def figure(frame: pd.DataFrame) -> go.Figure:
    """Wall time of each engine per model (log scale), with the speed-up on the bars."""
    fig = go.Figure()
    for engine, colour in (("events", "#1f77b4"), ("fast", "#d62728")):
        fig.add_bar(
            x=frame["model"], y=frame[f"{engine}_cpu"], name=f"{engine} engine",
            marker_color=colour,
            text=[f"{s:.0f}x" for s in frame["speedup"]] if engine == "fast" else None,
        )  # fmt: skip
    requests = int(frame["requests"].iloc[0])
    fig.update_yaxes(title_text="CPU time of the simulation (s)", type="log")
    fig.update_layout(
        title=f"Event engine vs exact fast path, {requests:,} requests (same random numbers)",
        template="plotly_white",
        barmode="group",
    )
    return fig


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    requests = 5_000 if args.quick else 1_000_000
    repeats = 1 if args.quick else max(args.replications, 1)
    frame = pd.DataFrame([measure(name, requests, args.seed, repeats) for name in CASES])
    save("fast_path_speed", frame, figure(frame), args)
    conclude(
        "fast_path_speed",
        {
            f"{row.model}: events / fast CPU time (s)": (
                round(row.events_cpu, 3),
                round(row.fast_cpu, 4),
                f"{row.speedup:.0f}x",
            )
            for row in frame.itertuples()
        }
        | {
            f"{row.model}: medians of the {repeats} runs, speed-up": (
                round(row.fast_cpu_median, 4),
                f"{row.speedup_median:.0f}x",
            )
            for row in frame.itertuples()
        }
        | {
            f"{row.model}: whole run, events / fast CPU time (s)": (
                round(row.events_run_cpu, 3),
                round(row.fast_run_cpu, 4),
                f"{row.run_speedup:.1f}x",
            )
            for row in frame.itertuples()
        }
        | {
            "largest |latency difference| over all requests (s)": float(
                frame["max_latency_difference"].max()
            ),
            "same arrival times in both engines": bool(frame["same_arrivals"].all()),
        },
        args,
    )


if __name__ == "__main__":
    main()

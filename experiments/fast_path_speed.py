"""How much faster is the exact fast path than the event engine, and is it the same run?

Runs ``models/mm1.yaml`` (one server), ``models/mmc.yaml`` (M/M/4) and
``models/tandem.yaml`` (three 2-core tiers in a chain) with a budget of requests (1M; 5k
with ``--quick``), once with ``run.engine: events`` and once with ``run.engine: fast``,
at the same seed, interleaved so that machine noise hits both alike. Measured: each
engine's wall time (``perf.wall_time``: the simulation, not the summary), the speed-up,
and the largest difference between the two runs' per-request latencies (matched by
arrival time) and between their p99s. The fast path draws the event engine's random
numbers in the event engine's order, so the differences are rounding only.

Usage: ``python experiments/fast_path_speed.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save

import simperf

MODELS = Path(__file__).resolve().parent.parent / "models"
CASES = ("mm1", "mmc", "tandem")


def measure(name: str, requests: int, seed: int, repeats: int) -> dict[str, Any]:
    """Both engines on one model: best wall time of ``repeats`` and the differences."""
    scenario = simperf.load(MODELS / f"{name}.yaml").with_overrides(
        {"run.duration": None, "run.warmup": 0, "run.requests": requests}
    )
    walls: dict[str, list[float]] = {"events": [], "fast": []}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for engine in walls:
            result = simperf.run(scenario.with_overrides({"run.engine": engine}), seed=seed)
            walls[engine].append(result.perf["wall_time"])
            results[engine] = result
    events, fast = results["events"], results["fast"]
    assert fast.perf["engine"] == "fast", fast.perf
    a, b = events._arrays, fast._arrays
    ia, ib = np.argsort(a["start"], kind="stable"), np.argsort(b["start"], kind="stable")
    p99 = [r.latency.set_index("class").loc["all", "p99"] for r in (events, fast)]
    return {
        "model": name,
        "requests": requests,
        "events_wall": min(walls["events"]),
        "fast_wall": min(walls["fast"]),
        "speedup": min(walls["events"]) / min(walls["fast"]),
        "max_latency_difference": float(np.abs(a["latency"][ia] - b["latency"][ib]).max()),
        "same_arrivals": bool(np.array_equal(a["start"][ia], b["start"][ib])),
        "p99_difference": abs(p99[0] - p99[1]),
    }


def figure(frame: pd.DataFrame) -> go.Figure:
    """Wall time of each engine per model (log scale), with the speed-up on the bars."""
    fig = go.Figure()
    for engine, colour in (("events", "#1f77b4"), ("fast", "#d62728")):
        fig.add_bar(
            x=frame["model"], y=frame[f"{engine}_wall"], name=f"{engine} engine",
            marker_color=colour,
            text=[f"{s:.0f}x" for s in frame["speedup"]] if engine == "fast" else None,
        )  # fmt: skip
    requests = int(frame["requests"].iloc[0])
    fig.update_yaxes(title_text="wall time (s)", type="log")
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
            f"{row.model}: events / fast wall time (s)": (
                round(row.events_wall, 3),
                round(row.fast_wall, 4),
                f"{row.speedup:.0f}x",
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

"""What does a big fleet cost to report, beside what it costs to simulate?

``models/web_tier.yaml`` (a balancer over app replicas, 1,500 requests/s) with its app
tier at 1,997 and 19,997 replicas (2,000 and 20,000 instances with the two search
instances and the balancer's), a budget of 20,000 requests, seed 1, once with a fixed
warm-up of 1 s and once with ``warmup: auto``. Each case runs in a process of its own
(peak memory is per process): the build, the simulation and the summary are timed apart
(wall clock, and CPU time: a shared machine stretches the first), the peak resident
memory is read after the simulation and after the summary (``ru_maxrss``), and the
result's sizes are counted: snapshots held, time-series rows and the bytes of its JSON
(``simperf run --json``). ``--quick``: 200 and 2,000 instances, 2,000 requests.

Usage: ``python experiments/fleet_cost.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent / "models"
INSTANCES = (2_000, 20_000)
QUICK_INSTANCES = (200, 2_000)
OTHERS = 3  # the balancer and the two search instances beside the app replicas


def peak_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def case(instances: int, requests: int, warmup: str, seed: int) -> dict[str, Any]:
    """One fleet built, run and summarised in this process: times, memory and sizes."""
    import simperf
    from simperf.build import build
    from simperf.experiment.run import summarise

    scenario = simperf.load(MODELS / "web_tier.yaml").with_overrides(
        {
            "run.duration": None,
            "run.requests": requests,
            "run.warmup": warmup,
            "components.app.replicas": instances - OTHERS,
        }
    )
    started = time.perf_counter()
    model = build(scenario, seed=seed)
    built, cpu_built = time.perf_counter(), time.process_time()
    model.execute()
    simulated, cpu_simulated = time.perf_counter(), time.process_time()
    after_simulation = peak_mib()
    result = summarise(model)
    summarised, cpu_summarised = time.perf_counter(), time.process_time()
    return {
        "instances": instances,
        "warmup": warmup,
        "requests": requests,
        "build_s": built - started,
        "simulation_s": simulated - built,
        "summary_s": summarised - simulated,
        "simulation_cpu_s": cpu_simulated - cpu_built,
        "summary_cpu_s": cpu_summarised - cpu_simulated,
        "peak_after_simulation_mib": after_simulation,
        "peak_after_summary_mib": peak_mib(),
        "snapshots": len(model.snapshots),
        "timeseries_rows": len(result.timeseries),
        "json_bytes": len(json.dumps(result.to_dict())),
    }


def figure(frame: pd.DataFrame) -> go.Figure:
    """Simulation and summary seconds per case."""
    labels = [f"{r.instances:,} {r.warmup}" for r in frame.itertuples()]
    fig = go.Figure()
    fig.add_bar(x=labels, y=frame["simulation_s"], name="simulation")
    fig.add_bar(x=labels, y=frame["summary_s"], name="summary")
    fig.update_yaxes(title_text="wall time (s)")
    fig.update_layout(
        title="A big fleet: the simulation's time and the summary's",
        template="plotly_white",
        barmode="group",
    )
    return fig


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--case":  # a child: one case, as JSON
        instances, requests, warmup, seed = sys.argv[2:6]
        print(json.dumps(case(int(instances), int(requests), warmup, int(seed))))
        return
    args = arguments(__doc__.splitlines()[0])
    sizes, requests = (QUICK_INSTANCES, 2_000) if args.quick else (INSTANCES, 20_000)
    rows = []
    for instances in sizes:
        for warmup in ("1s", "auto"):
            command = [sys.executable, __file__, "--case", str(instances), str(requests)]
            done = subprocess.run(
                [*command, warmup, str(args.seed)], capture_output=True, text=True, check=True
            )
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{instances:>6} {warmup:>4}: build {row['build_s']:.1f} s, simulation "
                f"{row['simulation_s']:.1f} s (CPU {row['simulation_cpu_s']:.1f}), summary "
                f"{row['summary_s']:.1f} s (CPU {row['summary_cpu_s']:.1f}), peak "
                f"{row['peak_after_simulation_mib']:.0f}/{row['peak_after_summary_mib']:.0f} "
                f"MiB, {row['snapshots']} snapshots, {row['timeseries_rows']:,} rows, "
                f"{row['json_bytes']:,} JSON bytes",
                flush=True,
            )
    frame = pd.DataFrame(rows)
    save("fleet_cost", frame, figure(frame), args)
    conclude(
        "fleet_cost",
        {
            f"{r.instances:,} instances, warm-up {r.warmup}: simulation, summary (CPU s), "
            "peak MiB, time-series rows, JSON bytes": (
                round(r.simulation_cpu_s, 1),
                round(r.summary_cpu_s, 1),
                round(r.peak_after_summary_mib),
                r.timeseries_rows,
                r.json_bytes,
            )
            for r in frame.itertuples()
        },
        args,
    )


if __name__ == "__main__":
    main()

"""What does request tracing cost: CPU time of a run with tracing off, at the default
sample (1%) and at 100%, and with the CPU profile (``run.profile``)?

Runs ``models/mm1.yaml`` and ``models/tandem.yaml`` (the engine-speed models) for the
same requests and seed with ``run.trace`` off, ``{sample: 0.01}`` and ``{sample: 1}``,
and with ``run.profile: true`` (untraced), the settings interleaved within each repeat
so that machine noise hits them alike, and keeps each setting's least CPU time (the
least disturbed) of the whole ``simperf.run``: building, simulating and summarising,
the traces' tables included. CPU time, not wall time, because the machine is shared:
waiting for a core is no cost. The run's measured results are identical in all four
(tracing draws from a stream of its own and schedules no event; the profile only counts
what the cpu steps draw); only the time to produce them differs. The overhead is the
CPU time over the untraced one, minus 1; the question's bar: under 20% at the default
sample and with the profile.

Usage: ``python experiments/tracing_cost.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save

import simperf

MODELS = Path(__file__).resolve().parent.parent / "models"
SETTINGS: dict[str, dict[str, Any]] = {
    "off": {},
    "1%": {"run.trace": {"sample": 0.01}},
    "100%": {"run.trace": {"sample": 1.0}},
    "profile": {"run.profile": True},
}
"""Each setting's overrides of the run."""


def cpu_time(model: str, requests: int, setting: dict[str, Any], seed: int) -> float:
    """CPU seconds of one run of ``model`` for ``requests`` with the ``setting`` overrides."""
    scenario = simperf.load(MODELS / f"{model}.yaml").with_overrides(
        {
            "run.duration": None,
            "run.warmup": 0,
            "run.requests": requests,
            # the fast path refuses traces and profiles: compare like with like
            "run.engine": "events",
            **setting,
        }
    )
    started = time.process_time()
    simperf.run(scenario, seed=seed)
    return time.process_time() - started


def measure(requests: int, repeats: int, seed: int) -> pd.DataFrame:
    rows = []
    for model in ("mm1", "tandem"):
        times: dict[str, list[float]] = {name: [] for name in SETTINGS}
        for _ in range(repeats):
            for name, setting in SETTINGS.items():
                times[name].append(cpu_time(model, requests, setting, seed))
        base = min(times["off"])
        for name in SETTINGS:
            best = min(times[name])
            rows.append(
                {
                    "model": model,
                    "trace": name,
                    "requests": requests,
                    "cpu_time": best,
                    "requests_per_second": requests / best,
                    "overhead": best / base - 1.0,
                }
            )
    return pd.DataFrame(rows)


def figure(frame: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for name in SETTINGS:
        rows = frame[frame["trace"] == name]
        label = name if name in ("off", "profile") else f"trace {name}"
        fig.add_bar(x=rows["model"], y=rows["requests_per_second"], name=label)
    fig.update_layout(
        title="Simulated requests per CPU second: tracing off, 1%, 100%; the CPU profile",
        yaxis_title="requests per second",
        barmode="group",
    )
    return fig


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    requests, repeats = (2_000, 1) if args.quick else (200_000, 5)
    frame = measure(requests, repeats, args.seed)
    save("tracing_cost", frame, figure(frame), args)
    conclude(
        "tracing_cost",
        {
            f"{r.model} {r.trace}": (
                f"{r.requests_per_second:,.0f} req/s, overhead {r.overhead:+.1%}"
            )
            for r in frame.itertuples()
        },
        args,
    )


if __name__ == "__main__":
    main()

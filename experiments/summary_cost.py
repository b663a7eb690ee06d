"""What does the end-of-run summary cost, against the simulation it summarises?

Each case builds a scenario with ``run.duration: None``, ``run.warmup: 0`` and a budget of
requests, executes it once (the exact fast path, or the event engine), then times
:func:`simperf.experiment.run.summarise` on that executed model 5 times (or
``--replications``, if more; once with ``--quick``) and keeps the least CPU time
(``time.process_time``: a shared machine stretches wall times, not CPU times); the
simulation's own CPU time is measured beside it (as often on the fast path, once on the
event engine, after an untimed run of 1,000 requests).
The summary only reads the executed model, so every repeat summarises the same run.
Cases: mm1, mmc (M/M/4) and tandem at 1M requests on the fast path, mm1 at 1M on the
event engine, and read_replicas and cache_aside at 200k on the event engine (1k and 500
requests with ``--quick``). numba's kernels, where installed, are loaded before timing.

Usage: ``python experiments/summary_cost.py [--quick] [--out results] [--replications 5]``
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save

import simperf
from simperf import fastpath
from simperf.build import build
from simperf.experiment.run import summarise

MODELS = Path(__file__).resolve().parent.parent / "models"
CASES = (  # (label, model, requests, engine)
    ("mm1", "mm1", 1_000_000, "fast"),
    ("mmc", "mmc", 1_000_000, "fast"),
    ("tandem", "tandem", 1_000_000, "fast"),
    ("mm1 events", "mm1", 1_000_000, "events"),
    ("read_replicas", "read_replicas", 200_000, "events"),
    ("cache_aside", "cache_aside", 200_000, "events"),
)


def executed(
    model_name: str, requests: int, engine: str, seed: int, repeats: int = 1
) -> tuple[Any, float]:
    """A model of ``models/<model_name>.yaml`` run to its end, and the least CPU seconds
    of ``repeats`` such runs (after one of 1,000 requests, untimed)."""
    scenario = simperf.load(MODELS / f"{model_name}.yaml").with_overrides(
        {"run.duration": None, "run.warmup": 0, "run.requests": requests, "run.engine": engine}
    )
    best, model = float("inf"), None
    for size in (min(requests, 1_000), *[requests] * repeats):
        built = build(scenario.with_overrides({"run.requests": size}), seed=seed)
        cpu = time.process_time()
        model = fastpath.execute(built) if engine == "fast" else built.execute()
        if size == requests:
            best = min(best, time.process_time() - cpu)
    return model, best


def summary_seconds(model: Any, engine: str, repeats: int) -> float:
    """The least CPU seconds of ``repeats`` summaries of one executed model."""
    best = float("inf")
    for _ in range(repeats):
        cpu = time.process_time()
        summarise(model, engine=engine)
        best = min(best, time.process_time() - cpu)
    return best


def figure(frame: pd.DataFrame) -> go.Figure:
    """The summary's and the simulation's CPU time per case."""
    fig = go.Figure()
    fig.add_bar(x=frame["case"], y=frame["simulation_cpu"], name="simulation")
    fig.add_bar(
        x=frame["case"], y=frame["summary_cpu"], name="summary",
        text=[f"{s:.0%}" for s in frame["summary_share"]],
    )  # fmt: skip
    fig.update_yaxes(title_text="CPU time (s)", type="log")
    fig.update_layout(
        title="The summary's cost beside the simulation's (share of the run on the bars)",
        template="plotly_white",
        barmode="group",
    )
    return fig


def main() -> None:
    parser_args = arguments(__doc__.splitlines()[0])
    repeats = 1 if parser_args.quick else max(parser_args.replications, 5)
    try:  # numba's kernels, when installed: loaded before, not timed
        from simperf.fastpath.recursions import load

        load()
    except ImportError:
        pass
    rows = []
    for label, name, requests, engine in CASES:
        if parser_args.quick:
            requests = 1_000 if engine == "fast" else 500
        # the simulation: best of the repeats on the fast path, once on the event engine
        simulations = repeats if engine == "fast" else 1
        model, simulation = executed(name, requests, engine, parser_args.seed, simulations)
        summary = summary_seconds(model, engine, repeats)
        rows.append(
            {
                "case": label,
                "requests": requests,
                "engine": engine,
                "simulation_cpu": simulation,
                "summary_cpu": summary,
                "summary_share": summary / (summary + simulation),
            }
        )
        print(f"{label:<15} {requests:>9} {engine:>7} summary {summary:.4f} s", flush=True)
    frame = pd.DataFrame(rows)
    save("summary_cost", frame, figure(frame), parser_args)
    conclude(
        "summary_cost",
        {
            f"{row.case} ({row.requests:,} requests): summary CPU (s), share of the run": (
                round(row.summary_cpu, 4),
                f"{row.summary_share:.0%}",
            )
            for row in frame.itertuples()
        },
        parser_args,
    )


if __name__ == "__main__":
    main()

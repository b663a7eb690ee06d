"""How many simulations does the closed-form estimate save a capacity search?

The same capacity question is searched twice with the same seed and replications: once
plainly (doubling from ``low``, then bisection) and once bracketed by the estimate
(:mod:`simperf.experiment.bracket`: values the estimate finds saturated are misses
unrun, probes begin where it meets the latency SLO). Questions: the cores of
models/mmc.yaml for a mean below 15 ms, and the app replicas of models/web_tier.yaml for
a mean below 15 ms. Measured: the answer (it must not change), the probes, the
simulations run and the wall time of each search.

Usage: ``python experiments/capacity_bracketing.py [--quick] [--out results] [--seed 1]
[--replications 3]`` (``--quick``: mmc only, 10 s horizons, 2 replications).
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import ROOT, arguments, conclude, save

import simperf

QUESTIONS = [
    ("mmc", "components.app.cores", "latency.all.mean<15ms", 1, 64),
    ("web_tier", "components.app.replicas", "latency.all.mean<15ms", 1, 64),
]


def search(question: tuple[Any, ...], bracket: bool, args: Any) -> dict[str, Any]:
    """One capacity search, plain or bracketed: its answer and what it ran."""
    model, knob, slo, low, high = question
    scenario = simperf.load(ROOT / "models" / f"{model}.yaml")
    if args.quick:
        scenario = scenario.with_overrides({"run.duration": "10s", "run.warmup": "1s"})
    started = time.perf_counter()
    found = simperf.capacity(
        scenario,
        knob,
        [slo],
        low=low,
        high=high,
        replications=args.replications,
        seed=args.seed,
        executor="serial",
        bracket=bracket,
    )
    return {
        "model": model,
        "knob": knob,
        "slo": slo,
        "search": "bracketed" if bracket else "plain",
        "answer": found.answer,
        "probes": len(found.probes),
        "probed": " ".join(f"{p.value:g}" for p in found.probes),
        "simulations": sum(len(p.runs) for p in found.probes),
        "wall_time": time.perf_counter() - started,
        "bracket": found.bracket,
    }


def figure(frame: pd.DataFrame) -> go.Figure:
    """Simulations run by each search, per question."""
    fig = go.Figure()
    for name, colour in (("plain", "#7f7f7f"), ("bracketed", "#1f77b4")):
        part = frame[frame["search"] == name]
        fig.add_bar(
            x=part["model"],
            y=part["simulations"],
            name=name,
            marker_color=colour,
            text=part["probed"],
            textposition="outside",
        )
    fig.update_yaxes(title_text="simulations run (labels: knob values probed, in order)")
    fig.update_layout(
        title="Capacity search: simulations run, plain against bracketed by the estimate",
        template="plotly_white",
        barmode="group",
    )
    return fig


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    args.replications = 2 if args.quick else max(args.replications, 3)
    questions = QUESTIONS[:1] if args.quick else QUESTIONS
    frame = pd.DataFrame([search(q, b, args) for q in questions for b in (False, True)])
    save("capacity_bracketing", frame, figure(frame), args)
    out: dict[str, Any] = {}
    for model, rows in frame.groupby("model", sort=False):
        plain, fast = rows.iloc[0], rows.iloc[1]
        out[f"{model}: answers (plain, bracketed)"] = (
            float(plain["answer"]),
            float(fast["answer"]),
        )
        out[f"{model}: simulations (plain, bracketed)"] = (
            int(plain["simulations"]),
            int(fast["simulations"]),
        )
        out[f"{model}: probes (plain, bracketed)"] = (plain["probed"], fast["probed"])
        out[f"{model}: wall time s (plain, bracketed)"] = (
            round(float(plain["wall_time"]), 1),
            round(float(fast["wall_time"]), 1),
        )
    conclude("capacity_bracketing", out, args)


if __name__ == "__main__":
    main()

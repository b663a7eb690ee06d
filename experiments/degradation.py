"""Degradation under overload: can checkout keep its SLO while browse gives way?

One app tier (2 instances, 4 cores each, a worker per core) serves two classes from one
Poisson stream: ``browse`` (90% of requests, 8 ms of CPU, exponential) and
``checkout`` (10%, 20 ms). At 300 requests/s the tier is 35% busy; from 60 s to 120 s
the rate triples (103.5% offered load: overload) and then returns. Checkout's SLO: p99
under 250 ms, during the surge too.

Compared, on the same arrivals (common random numbers): FIFO with no control; FIFO
shedding requests that waited 200 ms for a worker; checkout first (``discipline:
priority``); checkout first with browse shed after 200 ms; checkout first with CoDel
(5 ms / 100 ms). Measured during the surge, per class: p99 of the requests served, the
share shed, and the time the backlog takes to drain after the surge ends (the first
window after 120 s whose browse p99 is back under 100 ms). Each point is the mean over
replications with a 95% t-interval.

Usage: ``python experiments/degradation.py [--quick] [--out results] [--seed 1]
[--replications 10]`` (the documented figures: 10 replications).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save
from plotly.subplots import make_subplots

import simperf
from simperf.metrics.stats import t_interval

RATE, SURGE = 300.0, 3.0
START, STOP, END = 60.0, 120.0, 180.0
SLO = 0.25  # checkout p99 during the surge
POLICIES: dict[str, dict[str, Any] | None] = {
    "fifo": None,
    "fifo + shed 200ms": {"shed_after": "200ms"},
    "priority": {"discipline": "priority"},
    "priority + shed 200ms": {"discipline": "priority", "shed_after": "200ms"},
    "priority + codel": {"discipline": "priority", "codel": {"target": "5ms", "interval": "100ms"}},
}
COLOURS = {"checkout": "#d62728", "browse": "#1f77b4"}


def scenario(queue: dict[str, Any] | None, scale: float) -> simperf.Scenario:
    """The tier under a surge from ``START`` to ``STOP`` (times scaled by ``scale``)."""
    app: dict[str, Any] = {
        "kind": "app_server",
        "replicas": 2,
        "cores": 4,
        "endpoints": {
            "browse": [{"cpu": {"dist": "exponential", "mean": "8ms"}}],
            "checkout": [{"cpu": {"dist": "exponential", "mean": "20ms"}}],
        },
    }
    if queue is not None:
        app["queue"] = queue
    profile = [[0.0, 1.0], [START * scale, SURGE], [STOP * scale, 1.0]]
    # the profile is scaled to its mean over the run: the base rate stays RATE
    mean = RATE * (END + (SURGE - 1.0) * (STOP - START)) / END
    return simperf.from_dict(
        {
            "name": "degradation",
            "workload": {
                "arrival": {"kind": "piecewise", "rate": mean, "profile": profile},
                "classes": [
                    {"name": "browse", "entry": "app", "endpoint": "browse", "weight": 9},
                    {
                        "name": "checkout",
                        "entry": "app",
                        "endpoint": "checkout",
                        "weight": 1,
                        "priority": 1,
                    },
                ],
            },
            "components": {"app": app},
            "run": {"duration": END * scale, "warmup": 0, "window": 5 * scale},
        }
    )


def surge_metrics(result: simperf.Result, scale: float) -> dict[str, float]:
    """Per class during the surge: p99 of the requests served and the share shed; and
    how long after the surge browse's p99 stays above 100 ms."""
    requests = result.requests
    surge = requests[(requests.start >= START * scale) & (requests.start < STOP * scale)]
    out: dict[str, float] = {}
    for name in ("checkout", "browse"):
        mine = surge[surge["class"] == name]
        ok = mine[mine.outcome == "ok"]
        out[f"{name}_p99"] = float(np.quantile(ok.latency, 0.99)) if len(ok) else np.nan
        out[f"{name}_shed"] = float((mine.outcome == "shed").mean()) if len(mine) else 0.0
        out[f"{name}_failed"] = float((mine.outcome != "ok").mean()) if len(mine) else 0.0
    after = requests[(requests.start >= STOP * scale) & (requests.outcome == "ok")]
    after = after[after["class"] == "browse"]
    window = 5 * scale
    drain = (END - STOP) * scale
    for k in range(int((END - STOP) / 5)):
        chunk = after[
            (after.start >= STOP * scale + k * window)
            & (after.start < STOP * scale + (k + 1) * window)
        ]
        if len(chunk) and np.quantile(chunk.latency, 0.99) < 0.1:
            drain = k * window
            break
    out["drain"] = drain
    return out


def point(policy: str, args: Any, scale: float) -> dict[str, Any]:
    """Replications of one policy: means and 95% half-widths."""
    s = scenario(POLICIES[policy], scale)
    runs = [
        surge_metrics(simperf.run(s, seed=args.seed, replication=r), scale)
        for r in range(args.replications)
    ]
    row: dict[str, Any] = {"policy": policy}
    for key in runs[0]:
        values = [r[key] for r in runs]
        row[key] = float(np.mean(values))
        if len(values) > 1:
            row[f"{key}_hw"] = float(t_interval(values).half_width or 0.0)
        else:
            row[f"{key}_hw"] = 0.0
    row["checkout_meets_slo"] = row["checkout_p99"] + row["checkout_p99_hw"] < SLO
    return row


def figure(frame: pd.DataFrame) -> go.Figure:
    """Left: p99 during the surge per class and policy (log scale), with the SLO.
    Right: the share of each class shed during the surge."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("p99 of served requests during the surge", "shed")
    )
    for name, colour in COLOURS.items():
        fig.add_bar(
            x=frame["policy"], y=frame[f"{name}_p99"] * 1e3, name=name,
            marker_color=colour, legendgroup=name,
            error_y={"type": "data", "array": frame[f"{name}_p99_hw"] * 1e3},
            row=1, col=1,
        )  # fmt: skip
        fig.add_bar(
            x=frame["policy"], y=frame[f"{name}_shed"], name=name, showlegend=False,
            marker_color=colour, legendgroup=name,
            error_y={"type": "data", "array": frame[f"{name}_shed_hw"]},
            row=1, col=2,
        )  # fmt: skip
    fig.add_hline(y=SLO * 1e3, line_dash="dot", row=1, col=1)
    # an annotation on a log axis is placed in log10 units (a shape is not)
    fig.add_annotation(
        x=1, xref="x domain", xanchor="right", y=math.log10(SLO * 1e3), yanchor="bottom",
        text="checkout SLO", showarrow=False, row=1, col=1,
    )  # fmt: skip
    fig.update_yaxes(title_text="ms", type="log", row=1, col=1)
    fig.update_yaxes(title_text="share of the class's requests", tickformat=".0%", row=1, col=2)
    fig.update_layout(
        title="Overload: priority keeps checkout's p99; shedding keeps browse's bounded",
        template="plotly_white",
        barmode="group",
    )
    return fig


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    scale = 0.25 if args.quick else 1.0
    policies = ["fifo", "priority + shed 200ms"] if args.quick else list(POLICIES)
    frame = pd.DataFrame([point(p, args, scale) for p in policies])
    save("degradation", frame, figure(frame), args)
    by = frame.set_index("policy")

    def ms(policy: str, key: str) -> str:
        return f"{by.loc[policy, key] * 1e3:.0f} ± {by.loc[policy, key + '_hw'] * 1e3:.0f} ms"

    conclude(
        "degradation",
        {
            "checkout p99 during the surge, by policy": {
                p: ms(p, "checkout_p99") for p in policies
            },
            "browse p99 during the surge, by policy": {p: ms(p, "browse_p99") for p in policies},
            "browse shed during the surge, by policy": {
                p: round(float(by.loc[p, "browse_shed"]), 3) for p in policies
            },
            "checkout shed during the surge, by policy": {
                p: round(float(by.loc[p, "checkout_shed"]), 4) for p in policies
            },
            "checkout meets p99 < 250 ms (upper 95% bound)": [
                p for p in policies if bool(by.loc[p, "checkout_meets_slo"])
            ],
            "seconds until browse p99 < 100 ms after the surge": {
                p: round(float(by.loc[p, "drain"]), 1) for p in policies
            },
        },
        args,
    )


if __name__ == "__main__":
    main()

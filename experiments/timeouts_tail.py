"""Timeouts and hedging against the tail: what do they do to p99, and how does load change it?

Clients call a front tier (many workers, no CPU) which calls a back tier of ``CORES``
cores. A back request holds a core for 2 ms, or for 20 ms one time in twenty (a stall:
the mean is 2.9 ms, p95 2 ms, p99 20 ms). The front's call is made three ways: plainly;
with a ``TIMEOUT`` and one retry (the abandoned attempt's work goes on); hedged, a second
copy sent ``HEDGE`` after the first unless it has answered, the first answer winning;
and hedged to a back whose queue drops what its caller gave up on (``drop_expired``: the
losing copy, cancelled once the other answers, is dropped if still queued; the figure
draws the first three, the CSV and the summary all four).
The grid: back utilisation 0.2 to 0.8 (of its plain load). Measured: p99 of the requests
that end ok, the error rate and the attempts per call (the extra load), with 95% t
intervals over replications. What it is checked against: at low load a hedged request
is slow only if both copies stall, so its p99 is about ``HEDGE`` plus a fast service
(p = 0.05^2 per request), against 20 ms for the plain call.

Usage: ``python experiments/timeouts_tail.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save
from plotly.subplots import make_subplots

import simperf
from simperf.metrics.stats import t_interval

CORES = 4
SERVICE = {"dist": "empirical", "values": ["2ms", "20ms"], "weights": [19, 1]}
MEAN = 0.95 * 0.002 + 0.05 * 0.020
TIMEOUT, HEDGE = "5ms", "5ms"
CANCELLED = "hedge after 5 ms, cancelled copies dropped"
POLICIES: dict[str, dict[str, Any]] = {
    "plain": {},
    "timeout 5 ms + 1 retry": {"timeout": TIMEOUT, "retry": {"attempts": 2}},
    "hedge after 5 ms": {"hedge": {"after": HEDGE}},
    CANCELLED: {"hedge": {"after": HEDGE}},
}
COLOURS = {"plain": "#7f7f7f", "timeout 5 ms + 1 retry": "#d62728", "hedge after 5 ms": "#2ca02c"}


def tail_scenario(policy: str, utilisation: float, duration: float) -> Any:
    """Front -> back at ``utilisation`` of the back's cores (without retries or hedges)."""
    back: dict[str, Any] = {
        "kind": "app_server",
        "cores": CORES,
        "endpoints": {"get": [{"cpu": SERVICE}]},
    }
    if policy == CANCELLED:
        back["queue"] = {"drop_expired": True}
    return simperf.from_dict(
        {
            "name": "timeouts_tail",
            "workload": {
                "arrival": {"kind": "poisson", "rate": utilisation * CORES / MEAN},
                "classes": [{"name": "get", "entry": "front", "endpoint": "get"}],
            },
            "components": {
                "front": {
                    "kind": "app_server",
                    "workers": 100_000,
                    "endpoints": {"get": [{"call": "back.get", **POLICIES[policy]}]},
                },
                "back": back,
            },
            "run": {"duration": duration, "warmup": duration / 10},
        }
    )


def point(policy: str, utilisation: float, args: Any) -> dict[str, Any]:
    """Replications of one grid point: p99, error rate and attempts per call."""
    duration = 4.0 if args.quick else 30.0
    scenario = tail_scenario(policy, utilisation, duration)
    runs = [
        simperf.run(scenario, seed=args.seed, replication=r).to_dict()
        for r in range(args.replications)
    ]
    # no ok request at all (every attempt timed out): no p99
    samples = [r["latency"]["all"]["p99"] for r in runs]
    p99 = t_interval(np.array(samples)) if None not in samples else None
    errors = [r["latency"]["all"]["error_rate"] for r in runs]
    calls = [r.get("calls", {}).get("front->back") for r in runs]
    return {
        "policy": policy,
        "utilisation": utilisation,
        "p99": np.nan if p99 is None else p99.mean,
        "p99_half_width": 0.0 if p99 is None else p99.half_width or 0.0,
        "error_rate": float(np.mean(errors)),
        "attempts_per_call": float(np.mean([c["amplification"] for c in calls]))
        if calls[0] is not None
        else 1.0,
    }


def figure(frame: pd.DataFrame) -> go.Figure:
    """p99 and attempts per call against utilisation, per policy."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("p99 of ok requests", "attempts per call"))
    for policy, group in frame.groupby("policy", sort=False):
        if policy not in COLOURS:  # drawn: the three call policies (see the docstring)
            continue
        colour = COLOURS[str(policy)]
        fig.add_scatter(
            x=group["utilisation"], y=group["p99"] * 1e3, mode="lines+markers", name=policy,
            error_y={"array": group["p99_half_width"] * 1e3}, line={"color": colour},
            legendgroup=policy, row=1, col=1,
        )  # fmt: skip
        fig.add_scatter(
            x=group["utilisation"], y=group["attempts_per_call"], mode="lines+markers",
            line={"color": colour}, showlegend=False, legendgroup=policy, row=1, col=2,
        )  # fmt: skip
    fig.update_xaxes(title_text="back utilisation (plain load)")
    fig.update_yaxes(title_text="ms", type="log", row=1, col=1)
    fig.update_yaxes(title_text="attempts per call", row=1, col=2)
    fig.update_layout(
        title="Hedging cuts the stall tail at low load; its extra load costs at high load",
        template="plotly_white",
    )
    return fig


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    loads = [0.2, 0.7] if args.quick else [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    rows = [point(policy, load, args) for policy in POLICIES for load in loads]
    frame = pd.DataFrame(rows)
    save("timeouts_tail", frame, figure(frame), args)
    summary: dict[str, Any] = {}
    for policy, group in frame.groupby("policy", sort=False):
        summary[f"{policy}: p99 ms by utilisation (mean, 95% half-width)"] = {
            float(u): (round(p * 1e3, 2), round(h * 1e3, 2)) if p == p else "no ok request"
            for u, p, h in zip(
                group["utilisation"], group["p99"], group["p99_half_width"], strict=True
            )
        }
        summary[f"{policy}: attempts per call (lowest, highest load)"] = (
            round(float(group["attempts_per_call"].iloc[0]), 3),
            round(float(group["attempts_per_call"].iloc[-1]), 3),
        )
        summary[f"{policy}: error rate by utilisation"] = {
            float(u): round(float(e), 4)
            for u, e in zip(group["utilisation"], group["error_rate"], strict=True)
        }
    conclude("timeouts_tail", summary, args)


if __name__ == "__main__":
    main()

"""Gray failure: which balancing policy hides one slow instance among n?

Four app instances (one core, exponential CPU with a 5 ms mean, at most 50 requests
waiting each) behind a balancer take Poisson traffic at 400 requests/s: each instance is
half busy. From 10 s on, instance 0 is ``slow`` by a factor of 3 or 10 (a failing disk, a
noisy neighbour, a CPU throttled): it still answers, so the balancer's liveness probes
(every 2 s) keep passing. Compared, with common random numbers: round robin, least
connections, power of two choices, and round robin with passive outlier ejection
(five responses in a row slower than 200 ms eject the instance for 10 s, then 20 s, 30 s
...), and the same with a bound of 50 ms, close to the tail of a healthy instance's
response times.

What it shows: round robin keeps sending the slow instance a quarter of the traffic; at
factor 3 that instance runs at 150% of its capacity and at 10 at 500%, so its queue fills
and it turns requests away (``rejected``) while every request it does serve waits behind
the full queue: p99 is the slow instance's. Policies that look at requests in progress
send it only what it can take, and outlier ejection takes it out of rotation. A latency
bound inside the healthy instances' tail ejects healthy instances during their own busy
periods too; with up to half the instances out, the rest overload.

Measured per (policy, factor), over replications with 95% intervals: p99, error rate,
and the share of the requests the slow instance served.

Usage: ``python experiments/gray_failure.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save
from plotly.subplots import make_subplots

import simperf

RATE, INSTANCES, CPU, QUEUE = 400.0, 4, "5ms", 50
SLOW_AT = 10.0
FACTORS = [3.0, 10.0]
POLICIES = {
    "round robin": {"policy": "round_robin"},
    "least connections": {"policy": "least_connections"},
    "power of two": {"policy": "power_of_two"},
    "outlier ejection": {
        "policy": "round_robin",
        "outlier_detection": {
            "consecutive_errors": 5,
            "latency": "200ms",
            "base_ejection_time": "10s",
        },
    },
    "outlier ejection, 50 ms bound": {
        "policy": "round_robin",
        "outlier_detection": {
            "consecutive_errors": 5,
            "latency": "50ms",
            "base_ejection_time": "10s",
        },
    },
}
COLOURS = {
    "round robin": "#d62728",
    "least connections": "#1f77b4",
    "power of two": "#2ca02c",
    "outlier ejection": "#9467bd",
    "outlier ejection, 50 ms bound": "#8c564b",
}


def gray_scenario(policy: str, factor: float, end: float) -> simperf.Scenario:
    """The tier with instance 0 slow by ``factor`` from ``SLOW_AT`` to the end."""
    return simperf.from_dict(
        {
            "name": "gray_failure",
            "workload": {
                "arrival": {"kind": "poisson", "rate": RATE},
                "classes": [{"name": "page", "entry": "lb", "endpoint": "serve"}],
            },
            "components": {
                "lb": {
                    "kind": "load_balancer",
                    "backends": "app",
                    "health_check": {"interval": "2s", "timeout": "1s"},
                    **POLICIES[policy],
                },
                "app": {
                    "kind": "app_server",
                    "replicas": INSTANCES,
                    "cores": 1,
                    "queue_limit": QUEUE,
                    "endpoints": {"serve": [{"cpu": {"dist": "exponential", "mean": CPU}}]},
                },
            },
            "faults": [
                {
                    "component": "app",
                    "instance": 0,
                    "kind": "slow",
                    "factor": factor,
                    "at": SLOW_AT,
                    "for": end - SLOW_AT,
                }
            ],
            "run": {"duration": end, "warmup": SLOW_AT},
        }
    )


def point(policy: str, factor: float, args: Any) -> dict[str, Any]:
    """Replications of one (policy, factor), with 95% intervals."""
    end = 20.0 if args.quick else 70.0
    reps = simperf.replicate(
        gray_scenario(policy, factor, end),
        args.replications,
        seed=args.seed,
        executor="serial",
        progress=False,
    )
    row: dict[str, Any] = {"policy": policy, "factor": factor}
    for name, metric in (
        ("p99", "latency.all.p99"),
        ("error_rate", "error_rate"),
        ("slow_share", "components.app.per_instance.app[0].served"),
        ("served", "components.app.served"),
    ):
        iv = reps.interval(metric, 0.95)
        row[name], row[f"{name}_hw"] = iv.mean, iv.half_width or 0.0
    row["slow_share"], row["slow_share_hw"] = (
        row["slow_share"] / row["served"],
        row["slow_share_hw"] / row["served"],
    )
    ejections = [r.get("load_balancers", {}).get("lb", {}).get("ejections", 0) for r in reps.runs]
    row["ejections"] = sum(ejections) / len(ejections)
    return row


def figure(frame: pd.DataFrame) -> go.Figure:
    """p99, error rate and the slow instance's share of the requests, by policy and factor."""
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("p99 latency (ms)", "error rate (%)", "served by the slow instance (%)"),
    )
    for policy, group in frame.groupby("policy", sort=False):
        colour = COLOURS[str(policy)]
        x = [f"x{f:g}" for f in group["factor"]]
        for col, (name, scale) in enumerate(
            (("p99", 1e3), ("error_rate", 100), ("slow_share", 100)), start=1
        ):
            fig.add_bar(
                x=x, y=group[name] * scale, name=str(policy), marker_color=colour,
                error_y={"type": "data", "array": group[f"{name}_hw"] * scale},
                showlegend=col == 1, legendgroup=str(policy), row=1, col=col,
            )  # fmt: skip
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="slow factor")
    fig.update_layout(
        title="One slow instance of four: what each balancing policy lets users see",
        template="plotly_white",
        barmode="group",
    )
    return fig


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    factors = [5.0] if args.quick else FACTORS
    rows = [point(policy, factor, args) for factor in factors for policy in POLICIES]
    frame = pd.DataFrame(rows)
    save("gray_failure", frame, figure(frame), args)
    by = frame.set_index(["policy", "factor"])
    worst = max(factors)
    conclude(
        "gray_failure",
        {
            f"p99 at factor {f:g} (ms), by policy": {
                policy: round(float(by.loc[(policy, f), "p99"]) * 1e3, 1) for policy in POLICIES
            }
            for f in factors
        }
        | {
            f"error rate at factor {worst:g} (%), by policy": {
                policy: round(float(by.loc[(policy, worst), "error_rate"]) * 100, 2)
                for policy in POLICIES
            },
            f"share served by the slow instance at factor {worst:g} (%)": {
                policy: round(float(by.loc[(policy, worst), "slow_share"]) * 100, 1)
                for policy in POLICIES
            },
        },
        args,
    )


if __name__ == "__main__":
    main()

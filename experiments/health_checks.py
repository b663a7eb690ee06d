"""Health checks: how long a dead instance keeps receiving traffic, and what that costs.

Four app instances (exponential CPU, 5 ms mean) behind a round-robin balancer take
Poisson traffic at 400 requests/s (each instance half busy). Instance 1 dies at 60 s and
comes back at 120 s. The balancer probes every instance each ``interval`` (probe timeout
1 s, or the interval if shorter) and removes one after ``unhealthy_threshold`` failed
probes in a row, so a dead instance keeps its share of the traffic for the detection
time, and those requests fail (``instance_down``) unless the balancer retries them on
another instance (``retries: 1``).

The grid: interval 1, 2, 5, 10 s x unhealthy threshold 1, 2, 3, 5, without and with one
retry. Measured: the detection time (failure to removal), the requests refused by the
dead instance, the errors, and p99 latency. What it is checked against: the first probe
after the failure starts within one interval and fails after the timeout, so every
detection time lies in ``[(threshold - 1) * interval + timeout, threshold * interval +
timeout)``, with mean ``interval / 2 + (threshold - 1) * interval + timeout`` over the
probes' random phase; the refused requests are the instance's share of the traffic over
the detection time, ``rate / n * detection``.

Usage: ``python experiments/health_checks.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, mean, save
from plotly.subplots import make_subplots

import simperf

RATE, INSTANCES, CPU = 400.0, 4, "5ms"
FAIL_AT, BACK_AT, END = 60.0, 120.0, 180.0
TIMEOUT = 1.0
INTERVALS = [1.0, 2.0, 5.0, 10.0]  # detection stays within the 60 s outage: <= 5 x 10 s + 1 s
THRESHOLDS = [1, 2, 3, 5]
COLOURS = {1: "#1f77b4", 2: "#d62728", 3: "#2ca02c", 5: "#9467bd"}


def expected_detection(interval: float, threshold: int) -> float:
    """Mean time from the failure to the removal, over the probes' random phase."""
    return interval / 2 + (threshold - 1) * interval + min(TIMEOUT, interval)


def health_scenario(interval: float, threshold: int, retries: int, scale: float) -> Any:
    """The tier with one instance down from ``FAIL_AT`` to ``BACK_AT`` (times scaled)."""
    return simperf.from_dict(
        {
            "name": "health_checks",
            "workload": {
                "arrival": {"kind": "poisson", "rate": RATE},
                "classes": [{"name": "page", "entry": "lb", "endpoint": "serve"}],
            },
            "components": {
                "lb": {
                    "kind": "load_balancer",
                    "policy": "round_robin",
                    "backends": "app",
                    "retries": retries,
                    "health_check": {
                        "interval": interval,
                        "timeout": min(TIMEOUT, interval),
                        "unhealthy_threshold": threshold,
                        "healthy_threshold": 2,
                    },
                },
                "app": {
                    "kind": "app_server",
                    "replicas": INSTANCES,
                    "cores": 1,
                    "endpoints": {"serve": [{"cpu": {"dist": "exponential", "mean": CPU}}]},
                },
            },
            "faults": [
                {
                    "component": "app",
                    "instance": 1,
                    "at": FAIL_AT * scale,
                    "for": (BACK_AT - FAIL_AT) * scale,
                }
            ],
            "run": {"duration": END * scale, "warmup": 0},
        }
    )


def point(interval: float, threshold: int, retries: int, args: Any) -> dict[str, Any]:
    """Replications of one grid point, averaged."""
    scale = 0.5 if args.quick else 1.0
    scenario = health_scenario(interval, threshold, retries, scale)
    runs = [
        simperf.run(scenario, seed=args.seed, replication=r).to_dict()
        for r in range(args.replications)
    ]
    expected = expected_detection(interval, threshold)
    timeout = min(TIMEOUT, interval)
    detections = [r["load_balancers"]["lb"]["health_checks"]["mean_detection_time"] for r in runs]
    refused = [r["load_balancers"]["lb"]["refused"] for r in runs]
    low = (threshold - 1) * interval + timeout
    return {
        "interval": interval,
        "threshold": threshold,
        "retries": retries,
        "detection": mean(runs, "load_balancers.lb.health_checks.mean_detection_time"),
        "expected_detection": expected,
        "refused": mean(runs, "load_balancers.lb.refused"),
        "in_band": sum(low <= d < low + interval for d in detections),
        "refused_per_share": sum(refused) / sum(RATE / INSTANCES * d for d in detections),
        "errors": mean(runs, "requests.failed"),
        "p99": mean(runs, "latency.all.p99"),
        "probes": mean(runs, "load_balancers.lb.health_checks.probes"),
    }


def figure(frame: pd.DataFrame) -> go.Figure:
    """Left: detection time against the probe interval, by threshold, with the closed
    form. Right: errors without retries against the detection time, with ``rate / n``
    times it."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            "detection time (failure to removal)",
            "failed requests without retries",
        ),
    )
    plain = frame[frame["retries"] == 0]
    for threshold, group in plain.groupby("threshold"):
        group = group.sort_values("interval")
        colour = COLOURS.get(int(threshold), "#7f7f7f")
        name = f"threshold {threshold}"
        fig.add_scatter(
            x=group["interval"], y=group["detection"], mode="markers", name=name,
            marker={"color": colour, "size": 9}, legendgroup=name, row=1, col=1,
        )  # fmt: skip
        fig.add_scatter(
            x=group["interval"], y=group["expected_detection"], mode="lines",
            line={"color": colour, "dash": "dot"}, showlegend=False, legendgroup=name,
            row=1, col=1,
        )  # fmt: skip
        fig.add_scatter(
            x=group["detection"], y=group["errors"], mode="markers", showlegend=False,
            marker={"color": colour, "size": 9}, legendgroup=name, row=1, col=2,
        )  # fmt: skip
    span = [0.0, float(plain["detection"].max()) * 1.05]
    fig.add_scatter(
        x=span, y=[RATE / INSTANCES * s for s in span], mode="lines",
        line={"color": "black", "dash": "dot"}, name="closed form", row=1, col=2,
    )  # fmt: skip
    fig.update_xaxes(title_text="probe interval (s)", type="log", row=1, col=1)
    fig.update_yaxes(title_text="seconds", row=1, col=1)
    fig.update_xaxes(title_text="detection time (s)", row=1, col=2)
    fig.update_yaxes(title_text="requests failed (instance_down)", row=1, col=2)
    fig.update_layout(
        title="Health checks: a dead instance's traffic fails until the balancer notices",
        template="plotly_white",
    )
    return fig


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    intervals = [2.0, 10.0] if args.quick else INTERVALS
    thresholds = [1, 3] if args.quick else THRESHOLDS
    rows = [
        point(interval, threshold, retries, args)
        for interval in intervals
        for threshold in thresholds
        for retries in (0, 1)
    ]
    frame = pd.DataFrame(rows)
    save("health_checks", frame, figure(frame), args)
    plain = frame[frame["retries"] == 0]
    retried = frame[frame["retries"] == 1]
    conclude(
        "health_checks",
        {
            "detection times inside [(k - 1) I + T, k I + T)": (
                f"{int(frame['in_band'].sum())} of {len(frame) * args.replications} runs"
            ),
            "refused requests over rate / n x detection (range over points)": (
                round(float(plain["refused_per_share"].min()), 3),
                round(float(plain["refused_per_share"].max()), 3),
            ),
            "mean detection over its closed form (range over points)": (
                round(float((plain["detection"] / plain["expected_detection"]).min()), 3),
                round(float((plain["detection"] / plain["expected_detection"]).max()), 3),
            ),
            "failed requests without retries (fewest, most)": (
                float(plain["errors"].min()),
                float(plain["errors"].max()),
            ),
            "failed requests with one retry (most)": float(retried["errors"].max()),
            "p99 without / with retries (ms, mean over the grid)": (
                round(float(plain["p99"].mean()) * 1e3, 2),
                round(float(retried["p99"].mean()) * 1e3, 2),
            ),
        },
        args,
    )


if __name__ == "__main__":
    main()

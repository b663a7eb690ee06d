"""Database failover: how long writes fail and how many are lost when the primary dies.

An app server (a pool of 32 connections) sends Poisson traffic at 1,000 requests/s to a
database with a primary and two read replicas: 80% reads of a product by id (at the
replicas), 20% stock updates (at the primary, 200 writes/s). The primary dies at 10 s and
stays down. ``failover: {detection, promotion}`` later the most caught-up replica is
promoted; until then every write fails (``primary_down``) and reads go on at the
replicas. The writes the promoted replica had not yet applied when the primary died are
lost.

Two parts. ``unavailability``: detection 1, 5, 10, 30 s x promotion 1, 5, 15 s, lag
100 ms. ``lag``: detection 5 s, promotion 5 s, replication lag 10 ms, 50 ms, 200 ms and
1 s, constant or lognormal (that median, p99 five times it). Checked against: writes are
unavailable for exactly ``detection + promotion``; the failed writes are Poisson with mean
``200/s x (detection + promotion)``; with a constant lag ``L`` the lost writes are the
writes committed in the ``L`` before the failure, Poisson with mean ``200/s x L``.

Usage: ``python experiments/failover_database.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import app, arguments, conclude, database, mean, save
from plotly.subplots import make_subplots

import simperf

RATE, WRITE_SHARE, FAIL_AT = 1000.0, 0.2, 10.0
DETECTIONS, PROMOTIONS = [1.0, 5.0, 10.0, 30.0], [1.0, 5.0, 15.0]
LAGS = [0.01, 0.05, 0.2, 1.0]


def failover_scenario(detection: float, promotion: float, lag: Any, rate: float) -> Any:
    """The database tier with its primary down from ``FAIL_AT`` to the end of the run."""
    db = database(
        read_replicas=2,
        replication_lag=lag,
        failover={"detection": detection, "promotion": promotion},
        tables={"products": {"rows": 100_000, "row_size": 500, "columns": {"stock": 1000}}},
        queries={
            "product": {"table": "products", "where": ["id"]},
            "restock": {"table": "products", "op": "update", "where": ["id"], "updates": ["stock"]},
        },
    )
    end = FAIL_AT + detection + promotion + 5.0
    return simperf.from_dict(
        {
            "name": "failover_database",
            "workload": {
                "arrival": {"kind": "poisson", "rate": rate},
                "classes": [
                    {"name": "read", "entry": "app", "endpoint": "read", "weight": 1 - WRITE_SHARE},
                    {"name": "write", "entry": "app", "endpoint": "write", "weight": WRITE_SHARE},
                ],
            },
            "components": {
                "app": app(
                    {
                        "read": [{"query": "product", "database": "db"}],
                        "write": [{"query": "restock", "database": "db"}],
                    },
                    pool=32,
                ),
                "db": db,
            },
            "faults": [{"component": "db", "instance": 0, "at": FAIL_AT, "for": end}],
            "run": {"duration": end, "warmup": 0},
        }
    )


def point(part: str, detection: float, promotion: float, lag: float, shape: str, args: Any):
    """Replications of one point, averaged, with the closed forms beside."""
    rate = RATE / 4 if args.quick else RATE
    writes = rate * WRITE_SHARE
    median = f"{lag * 1e3:g}ms"
    dist: Any = (
        median
        if shape == "constant"
        else {"dist": "lognormal", "median": median, "p99": f"{5 * lag * 1e3:g}ms"}
    )
    s = failover_scenario(detection, promotion, dist, rate)
    runs = [
        simperf.run(s, seed=args.seed, replication=r).to_dict() for r in range(args.replications)
    ]
    events = [r["databases"]["db"]["failover"]["events"][0] for r in runs]
    failed_writes = mean(runs, "requests.errors.primary_down")
    lost = mean(runs, "databases.db.failover.lost_writes")
    expected_failed = writes * (detection + promotion)
    expected_lost = writes * lag
    return {
        "part": part,
        "detection": detection,
        "promotion": promotion,
        "lag": lag,
        "lag_shape": shape,
        "write_unavailable": sum(e["write_unavailable"] for e in events) / len(events),
        "failed_writes": failed_writes,
        "expected_failed_writes": expected_failed,
        # Poisson counts: a z score of the mean over replications
        "failed_z": (failed_writes - expected_failed)
        / math.sqrt(expected_failed / args.replications),
        "lost_writes": lost,
        "expected_lost_writes": expected_lost,
        "lost_z": (lost - expected_lost) / math.sqrt(max(expected_lost, 1e-9) / args.replications),
        "read_errors": sum(r["latency"]["read"]["errors"] for r in runs) / len(runs),
        "read_p99": mean(runs, "latency.read.p99"),
    }


def figure(frame: pd.DataFrame) -> go.Figure:
    """Left: writes failed against detection + promotion, with 200/s times it. Right:
    lost writes against the replication lag, with 200/s times it."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("writes failed until promotion", "writes lost at failover"),
    )
    unavailable = frame[frame["part"] == "unavailability"]
    for promotion, group in unavailable.groupby("promotion"):
        group = group.sort_values("detection")
        fig.add_scatter(
            x=group["detection"] + group["promotion"], y=group["failed_writes"], mode="markers",
            name=f"promotion {promotion:g} s", marker={"size": 9}, row=1, col=1,
        )  # fmt: skip
    span = (unavailable["detection"] + unavailable["promotion"]).sort_values()
    fig.add_scatter(
        x=span, y=span * RATE * WRITE_SHARE * (unavailable["failed_writes"].sum() > 0),
        mode="lines", line={"color": "black", "dash": "dot"}, name="write rate x (D + P)",
        row=1, col=1,
    )  # fmt: skip
    lag = frame[frame["part"] == "lag"]
    for shape, group in lag.groupby("lag_shape"):
        group = group.sort_values("lag")
        fig.add_scatter(
            x=group["lag"], y=group["lost_writes"], mode="markers+lines",
            name=f"{shape} lag", marker={"size": 9}, row=1, col=2,
        )  # fmt: skip
    lags = lag["lag"].sort_values().unique()
    fig.add_scatter(
        x=lags, y=lags * RATE * WRITE_SHARE, mode="lines",
        line={"color": "black", "dash": "dot"}, name="write rate x lag", row=1, col=2,
    )  # fmt: skip
    fig.update_xaxes(title_text="detection + promotion (s)", row=1, col=1)
    fig.update_yaxes(title_text="writes failed (primary_down)", row=1, col=1)
    fig.update_xaxes(title_text="replication lag, constant or median (s)", type="log", row=1, col=2)
    fig.update_yaxes(title_text="writes lost", type="log", row=1, col=2)
    fig.update_layout(
        title="Failover of a primary: writes fail for detection + promotion, the lag is lost",
        template="plotly_white",
    )
    return fig


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    detections = [1.0, 3.0] if args.quick else DETECTIONS
    promotions = [1.0] if args.quick else PROMOTIONS
    lags = [0.05, 0.2] if args.quick else LAGS
    shapes = ["constant"] if args.quick else ["constant", "lognormal"]
    rows = [
        point("unavailability", d, p, 0.1, "constant", args) for d in detections for p in promotions
    ]
    delay = 1.0 if args.quick else 5.0  # detection and promotion of the lag part
    rows += [point("lag", delay, delay, lag, shape, args) for lag in lags for shape in shapes]
    frame = pd.DataFrame(rows)
    save("failover_database", frame, figure(frame), args)
    constant = frame[frame["lag_shape"] == "constant"]
    lognormal = frame[(frame["part"] == "lag") & (frame["lag_shape"] == "lognormal")]
    unavailable = frame[frame["part"] == "unavailability"]
    conclude(
        "failover_database",
        {
            "write unavailability minus (detection + promotion), largest (s)": float(
                (
                    unavailable["write_unavailable"]
                    - unavailable["detection"]
                    - unavailable["promotion"]
                )
                .abs()
                .max()
            ),
            "failed writes over write rate x (D + P) (range)": (
                round(float((frame["failed_writes"] / frame["expected_failed_writes"]).min()), 3),
                round(float((frame["failed_writes"] / frame["expected_failed_writes"]).max()), 3),
            ),
            "failed writes, largest |z| (Poisson)": round(float(frame["failed_z"].abs().max()), 2),
            "constant lag: lost writes, largest |z| against write rate x lag (Poisson)": round(
                float(constant["lost_z"].abs().max()), 2
            ),
            "constant lag: lost writes (lag -> mean)": {
                f"{lag:g} s": float(group["lost_writes"].mean())
                for lag, group in constant[constant["part"] == "lag"].groupby("lag")
            },
            "lognormal lag: lost writes (median -> mean)": {
                f"{lag:g} s": float(group["lost_writes"].mean())
                for lag, group in lognormal.groupby("lag")
            },
            "read errors during the outage (most)": float(frame["read_errors"].max()),
        },
        args,
    )


if __name__ == "__main__":
    main()

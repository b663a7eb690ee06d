"""Sticky or shared sessions: what each costs while scaling out, and when an instance fails.

Every request carries a session of its client (5,000 client addresses, Zipf 0.6 traffic
shares: a few big NATs send much more than the rest). Instances have 2 cores; a page costs
exponential CPU with a 3 ms mean. Two designs:

* **sticky**: sessions in each instance's memory, the balancer pinning clients by
  ``ip_hash`` (a consistent-hash ring, 100 points per instance);
* **shared**: sessions in a Redis-like cache (one node, 30 us per command, 250 us round
  trip), every request paying one command (two for a new session), the balancer free to
  pick the least loaded instance (``least_connections``).

A. Scaling out: 2 to 8 instances at 300 requests/s each (utilisation 0.45). Measured:
   mean and p99 latency, throughput, and the balancer's imbalance (busiest instance's
   requests over the mean).
B. Failure: 4 instances at 1,200 requests/s; instance 1 fails at 30 s and comes back at
   60 s. A client whose live session is not found re-authenticates (30 ms of CPU: a
   password hash). Measured: sessions lost, re-authentications, p99 latency per second,
   and the worst second's p99 after the failure and after the recovery.

Usage: ``python experiments/sessions_scaling.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, mean, save
from plotly.subplots import make_subplots

import simperf
from simperf.build import build
from simperf.experiment.run import summarise

PER_INSTANCE = 300.0  # requests/s per instance in part A
FAIL_AT, RECOVER_AT, END = 30.0, 60.0, 90.0
QUICK = 1 / 3  # --quick shrinks the failure's timeline (10 s, 20 s, 30 s)
DESIGNS = {
    "sticky": {"store": "local", "policy": "ip_hash"},
    "shared": {"store": {"cache": "redis"}, "policy": "least_connections"},
}


def sessions_scenario(
    design: str,
    replicas: int,
    rate: float,
    duration: float,
    *,
    fail: tuple[float, float] | None = None,
) -> simperf.Scenario:
    """The web tier of one design; ``fail`` = (at, back): instance 1 down in between."""
    choice = DESIGNS[design]
    data: dict[str, Any] = {
        "name": f"sessions_{design}",
        "keyspaces": {"pages": {"keys": 1000, "popularity": {"model": "uniform"}}},
        "workload": {
            "arrival": {"kind": "poisson", "rate": rate},
            "clients": {"addresses": 5000, "skew": 0.6},
            "classes": [{"name": "page", "entry": "lb", "endpoint": "page"}],
        },
        "components": {
            "lb": {"kind": "load_balancer", "policy": choice["policy"], "backends": "app"},
            "app": {
                "kind": "app_server",
                "replicas": replicas,
                "cores": 2,
                "workers": 64,
                "sessions": {
                    "store": copy.deepcopy(choice["store"]),
                    "idle_timeout": "30min",
                    "reauth": "login",
                },
                "endpoints": {
                    "page": [{"cpu": {"dist": "exponential", "mean": "3ms"}}],
                    "login": [{"cpu": "30ms"}],
                },
            },
            "redis": {
                "kind": "cache",
                "keyspace": "pages",
                "capacity": 1000,
                "latency": "30us",
                "network": "250us",
            },
        },
        "run": {"duration": duration, "warmup": 5.0 if fail is None else 0.0, "window": 1.0},
    }
    if fail is not None:
        data["faults"] = [
            {"component": "app", "instance": 1, "at": fail[0], "for": fail[1] - fail[0]}
        ]
    return simperf.from_dict(data)


def scaling_point(design: str, replicas: int, args: Any) -> dict[str, Any]:
    s = sessions_scenario(design, replicas, PER_INSTANCE * replicas, 6 if args.quick else 60)
    runs = [
        simperf.run(s, seed=args.seed, replication=r).to_dict() for r in range(args.replications)
    ]
    return {
        "part": "scaling",
        "design": design,
        "instances": replicas,
        "mean_ms": 1000 * mean(runs, "latency.all.mean"),
        "p99_ms": 1000 * mean(runs, "latency.all.p99"),
        "throughput": mean(runs, "throughput"),
        "imbalance": mean(runs, "components.lb.imbalance"),
        "reauth_share": mean(runs, "sessions.app.reauthentications")
        / mean(runs, "sessions.app.requests"),
        "redis_utilization": mean(runs, "components.redis.utilization"),
    }


def failure_runs(design: str, args: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """One row of totals and a per-second series (p99, re-authentications) per design."""
    scale = QUICK if args.quick else 1.0
    fail_at, back_at = FAIL_AT * scale, RECOVER_AT * scale
    s = sessions_scenario(design, 4, 1200.0, END * scale, fail=(fail_at, back_at))
    totals: list[dict[str, Any]] = []
    series = []
    for r in range(args.replications):
        model = build(s, seed=args.seed, replication=r).execute()
        result = summarise(model)
        totals.append(result.to_dict())
        frame = result.timeseries
        p99 = frame[(frame.component == "all") & (frame.metric == "p99")]
        reauths = [snap.components["app"]["reauthentications"] for snap in model.snapshots]
        times = [snap.time for snap in model.snapshots]
        per_second = dict(zip(times[1:], np.diff(reauths), strict=True))
        series.append(
            pd.DataFrame(
                {
                    "second": p99.start.to_numpy(),
                    "p99_ms": 1000 * p99.value.to_numpy(),
                    "reauthentications": [per_second.get(t, 0) for t in p99.end],
                    "replication": r,
                }
            )
        )
    per_second = pd.concat(series).groupby("second", as_index=False).mean(numeric_only=True)
    after_fail = per_second[(per_second.second >= fail_at) & (per_second.second < back_at)]
    after_back = per_second[per_second.second >= back_at]
    before = per_second[(per_second.second >= fail_at / 3) & (per_second.second < fail_at)]
    row = {
        "part": "failure",
        "design": design,
        "instances": 4,
        "sessions_lost": mean(totals, "sessions.app.lost"),
        "active_at_failure": mean(totals, "sessions.app.active_at_failures"),
        "lost_share": mean(totals, "sessions.app.lost_share"),
        "reauthentications": mean(totals, "sessions.app.reauthentications"),
        "instance_down_errors": mean(totals, "requests.errors.instance_down"),
        "p99_before_ms": float(before.p99_ms.median()),
        "worst_p99_after_failure_ms": float(after_fail.p99_ms.max()),
        "worst_p99_after_recovery_ms": float(after_back.p99_ms.max()),
        "peak_reauth_per_s": float(per_second.reauthentications.max()),
    }
    per_second.insert(0, "design", design)
    return row, per_second


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    sizes = [2, 4] if args.quick else [2, 3, 4, 6, 8]
    rows = [scaling_point(d, n, args) for d in DESIGNS for n in sizes]
    series = []
    for design in DESIGNS:
        row, per_second = failure_runs(design, args)
        rows.append(row)
        series.append(per_second)
    frame = pd.DataFrame(rows)
    seconds = pd.concat(series, ignore_index=True)
    scaling = frame[frame.part == "scaling"].set_index(["design", "instances"])
    failure = frame[frame.part == "failure"].set_index("design")
    boundaries = {
        "p99 (ms) by instances, sticky": scaling.loc["sticky"].p99_ms.round(2).to_dict(),
        "p99 (ms) by instances, shared": scaling.loc["shared"].p99_ms.round(2).to_dict(),
        "mean (ms) by instances, sticky": scaling.loc["sticky"].mean_ms.round(3).to_dict(),
        "mean (ms) by instances, shared": scaling.loc["shared"].mean_ms.round(3).to_dict(),
        "imbalance by instances, sticky": scaling.loc["sticky"].imbalance.round(3).to_dict(),
        "imbalance by instances, shared": scaling.loc["shared"].imbalance.round(3).to_dict(),
        "sessions lost when 1 of 4 fails (share of active)": {
            d: round(float(failure.loc[d, "lost_share"]), 3) for d in DESIGNS
        },
        "re-authentications after the failure": {
            d: float(failure.loc[d, "reauthentications"]) for d in DESIGNS
        },
        "peak re-authentications per second": {
            d: float(failure.loc[d, "peak_reauth_per_s"]) for d in DESIGNS
        },
        "worst 1 s p99 (ms) after the failure / recovery": {
            d: [
                round(float(failure.loc[d, "worst_p99_after_failure_ms"]), 1),
                round(float(failure.loc[d, "worst_p99_after_recovery_ms"]), 1),
            ]
            for d in DESIGNS
        },
        "median 1 s p99 (ms) before the failure": {
            d: round(float(failure.loc[d, "p99_before_ms"]), 2) for d in DESIGNS
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    seconds.to_csv(args.out / "sessions_scaling_seconds.csv", index=False)
    save("sessions_scaling", frame, figure(frame, seconds), args)
    conclude("sessions_scaling", boundaries, args)


def figure(frame: pd.DataFrame, seconds: pd.DataFrame) -> go.Figure:
    """p99 and imbalance against instances; p99 and re-authentications around a failure."""
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            "p99 while scaling out",
            "balancer imbalance",
            "instance 1 of 4 down 30-60 s (10-20 s quick)",
        ),
        specs=[[{}, {}, {"secondary_y": True}]],
    )
    colours = {"sticky": "#d62728", "shared": "#1f77b4"}
    scaling = frame[frame.part == "scaling"]
    for design, colour in colours.items():
        mine = scaling[scaling.design == design]
        line = {"color": colour}
        fig.add_scatter(
            x=mine.instances, y=mine.p99_ms, name=f"{design}: p99", line=line, row=1, col=1
        )
        fig.add_scatter(
            x=mine.instances,
            y=mine.imbalance,
            name=f"{design}: imbalance",
            line=line,
            showlegend=False,
            row=1,
            col=2,
        )
        around = seconds[seconds.design == design]
        fig.add_scatter(
            x=around.second,
            y=around.p99_ms,
            name=f"{design}: p99 per second",
            line=line,
            row=1,
            col=3,
        )
        fig.add_bar(
            x=around.second,
            y=around.reauthentications,
            name=f"{design}: re-authentications/s",
            marker={"color": colour, "opacity": 0.35},
            row=1,
            col=3,
            secondary_y=True,
        )
    fig.update_xaxes(title_text="instances", row=1, col=1)
    fig.update_xaxes(title_text="instances", row=1, col=2)
    fig.update_xaxes(title_text="seconds", row=1, col=3)
    fig.update_yaxes(title_text="p99 (ms)", type="log", row=1, col=1)
    fig.update_yaxes(title_text="busiest / mean instance", row=1, col=2)
    fig.update_yaxes(title_text="p99 (ms)", type="log", row=1, col=3)
    fig.update_yaxes(title_text="re-authentications/s", row=1, col=3, secondary_y=True)
    fig.update_layout(title="Sticky sessions against a shared session store", barmode="overlay")
    return fig


if __name__ == "__main__":
    main()

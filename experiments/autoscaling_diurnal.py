"""Autoscaling under a daily load: SLO misses, instance-hours and cost against a fixed fleet.

One tier of 1-core instances serves requests of 100 ms of CPU (gamma, cv 0.5: a p99 of
about 250 ms with no queueing) under Poisson arrivals following a compressed day (a
diurnal curve of period 2 h, mean 40 requests/s, swinging 60%: 16/s at the trough,
64/s at the peak). The SLO: the p99 of every 5-minute window below 400 ms.

- **Fixed for the peak**: the smallest fleet meeting the SLO at the peak rate held
  constant (``simperf.capacity`` on ``replicas``), running all day.
- **Target tracking** on CPU utilisation at 40%, 55%, 70% and 85%, between 2 and 14
  instances: the metric over each 60 s period is acted on 60 s later (a monitoring
  pipeline's lag), an instance added takes traffic 120 s after the decision, no
  scale-out within 60 s of the last scale-out and no scale-in within 300 s of any action
  (a rise is thus served 3 to 4 minutes after it starts); at 55% also with a
  tolerance of 10% (no action while the metric is within 10% of the target).

Prices: 0.10 per instance-hour. Measured per design, over replications with 95%
intervals: the share of 5-minute windows whose p99 is above the SLO, the instance-hours
and cost of the day, and the mean fleet. The windows of the first period (the fleet
settling from its starting size) are left out.

Usage: ``python experiments/autoscaling_diurnal.py [--quick] [--out results] [--seed 1]
[--replications 3]``
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save
from plotly.subplots import make_subplots

import simperf
from simperf.metrics.stats import t_interval

SLO_P99 = 0.4
MEAN_RATE, AMPLITUDE = 40.0, 0.6
SERVICE = {"dist": "gamma", "mean": "100ms", "cv": 0.5}
ENDPOINTS = {"serve": [{"cpu": SERVICE}]}
PRICE = 0.10
TARGETS = [0.40, 0.55, 0.70, 0.85]
TOLERANCE = 0.10  # the dead band of the last design: target 55% within 10% of it
SCALING = {
    "min": 2,
    "max": 14,
    "metric": "cpu_utilization",
    "evaluation_period": "60s",
    "metric_lag": "60s",
    "warmup": "120s",
    "cooldown": "60s",
    "scale_in_cooldown": "300s",
}


def tier(period: float, window: float, replicas: int, scaling: dict[str, Any] | None) -> Any:
    """The tier over one compressed day, fixed at ``replicas`` or autoscaled."""
    app: dict[str, Any] = {
        "kind": "app_server",
        "cores": 1,
        "cost": {"per_instance": PRICE},
        "endpoints": ENDPOINTS,
    }
    if scaling is not None:
        app["autoscaling"] = scaling
    app["replicas"] = replicas
    return simperf.from_dict(
        {
            "name": "autoscaling_diurnal",
            "workload": {
                "arrival": {
                    "kind": "diurnal",
                    "rate": MEAN_RATE,
                    "amplitude": AMPLITUDE,
                    "period": period,
                    "peak": period * 0.75,
                },
                "classes": [{"name": "request", "entry": "app", "endpoint": "serve"}],
            },
            "components": {"app": app},
            "run": {"duration": period, "warmup": 0, "window": window, "safety_cap": 20000},
        }
    )


def peak_fleet(args: Any) -> int:
    """The smallest fleet meeting the SLO at the peak rate, held constant."""
    peak = MEAN_RATE * (1 + AMPLITUDE)
    steady = simperf.from_dict(
        {
            "name": "peak",
            "workload": {
                "arrival": {"kind": "poisson", "rate": peak},
                "classes": [{"name": "request", "entry": "app", "endpoint": "serve"}],
            },
            "components": {"app": {"kind": "app_server", "endpoints": ENDPOINTS}},
            "run": {"duration": 60 if args.quick else 1200, "warmup": 10},
        }
    )
    found = simperf.capacity(
        steady,
        "components.app.replicas",
        [f"latency.all.p99<{SLO_P99 * 1000:g}ms"],
        low=6,
        high=30,
        replications=2 if args.quick else 3,
        seed=args.seed,
        executor="serial",
    )
    assert found.answer is not None
    return int(found.answer)


def measure(result: simperf.Result, skip: float) -> dict[str, float]:
    """Share of windows over the SLO p99 (after ``skip``), instance-hours, cost, fleet."""
    ts = result.timeseries
    p99 = ts[(ts.component == "all") & (ts.metric == "p99") & (ts.start >= skip)]
    d = result.to_dict()
    scaling = d.get("autoscaling", {}).get("app")
    hours = d["measured_time"] / 3600
    instance_hours = (
        scaling["instance_hours"] if scaling else d["components"]["app"]["instances"] * hours
    )
    return {
        "miss_share": float((p99["value"].fillna(float("inf")) > SLO_P99).mean()),
        "instance_hours": instance_hours,
        "cost": instance_hours * PRICE,
        "mean_instances": instance_hours / hours,
        "scale_actions": len(scaling["events"]) if scaling else 0,
        "p99_day": d["latency"]["all"]["p99"],
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    period = 900.0 if args.quick else 7200.0
    window = 300.0
    targets = [0.55] if args.quick else TARGETS
    replications = args.replications if args.quick else max(args.replications, 3)
    fixed = peak_fleet(args)
    designs: dict[str, tuple[float | None, Any]] = {"fixed for the peak": (None, None)}
    for target in targets:
        designs[f"target {target:.0%}"] = (target, {**SCALING, "target": target})
    designs[f"target 55%, tolerance {TOLERANCE:.0%}"] = (
        0.55,
        {**SCALING, "target": 0.55, "tolerance": TOLERANCE},
    )
    rows = []
    for name, (target, scaling) in designs.items():
        # The day starts at its mean rate: an autoscaled fleet starts sized for it.
        start = fixed if target is None else math.ceil(MEAN_RATE * 0.1 / target)
        scenario = tier(period, window, start, scaling)
        for r in range(replications):
            result = simperf.run(scenario, seed=args.seed, replication=r)
            rows.append(
                {"design": name, "target": target, "replication": r, **measure(result, window)}
            )
    runs = pd.DataFrame(rows)
    frame = summarise(runs)
    frame["fixed_instances"] = fixed
    save("autoscaling_diurnal", frame, figure(frame), args)
    runs.to_csv(args.out / "autoscaling_diurnal_runs.csv", index=False)
    conclude("autoscaling_diurnal", boundaries(frame, fixed), args)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per design: mean and 95% half-width over replications of each measure."""
    rows = []
    for name, group in runs.groupby("design", sort=False):
        row: dict[str, Any] = {"design": name, "target": group["target"].iat[0]}
        for column in ("miss_share", "instance_hours", "cost", "mean_instances", "scale_actions"):
            iv = t_interval(group[column].to_numpy(dtype=float))
            row[column] = iv.mean
            row[f"{column}_half_width"] = iv.half_width
        rows.append(row)
    return pd.DataFrame(rows)


def figure(frame: pd.DataFrame) -> go.Figure:
    """Cost of the day against the share of windows missing the SLO, one point per design,
    with 95% intervals both ways."""
    fig = make_subplots(rows=1, cols=1)
    for row in frame.itertuples():
        fixed = row.target != row.target or row.target is None
        fig.add_scatter(
            x=[row.cost], y=[100 * row.miss_share], mode="markers+text", name=row.design,
            text=[row.design], textposition="top center",
            marker={"size": 12, "symbol": "square" if fixed else "circle",
                    "color": "#d62728" if fixed else "#1f77b4"},
            error_x={"type": "data", "array": [row.cost_half_width or 0]},
            error_y={"type": "data", "array": [100 * (row.miss_share_half_width or 0)]},
        )  # fmt: skip
    fig.update_xaxes(title_text="cost of the day (instance-hours x price)")
    fig.update_yaxes(title_text="5-minute windows with p99 over 400 ms (%)")
    fig.update_layout(
        title="Target tracking against a fleet sized for the peak: cost and SLO misses",
        template="plotly_white",
        showlegend=False,
    )
    return fig


def boundaries(frame: pd.DataFrame, fixed: int) -> dict[str, Any]:
    """What the figure shows, in numbers."""
    out: dict[str, Any] = {"fixed fleet for the peak (instances)": fixed}
    base = frame.set_index("design").loc["fixed for the peak"]
    for row in frame.itertuples():
        hw = row.miss_share_half_width
        out[f"{row.design}: windows missing the SLO (%)"] = (
            round(float(100 * row.miss_share), 1),
            None if hw is None else round(float(100 * hw), 1),
        )
        out[f"{row.design}: cost (share of the fixed fleet's)"] = (
            round(float(row.cost), 3),
            round(float(row.cost / base["cost"]), 3),
        )
        out[f"{row.design}: mean instances"] = round(float(row.mean_instances), 2)
    return out


if __name__ == "__main__":
    main()

"""Dropping expired work: does skipping requests whose client gave up keep goodput in a surge?

Clients send Poisson traffic at ``retry_storm.RATE`` (300/s) to an API tier of
``CORES`` cores (a worker per core), exponential CPU of mean ``CPU`` (utilisation 0.75),
and give up after ``DEADLINE`` (a class ``timeout``). For ``T`` seconds from
``retry_storm.TRIGGER`` the arrival rate is ``SURGE`` times higher (utilisation 1.5:
overload), then normal again for 12 T, as in ``retry_storm.py``, whose surge, goodput
and recovery measures this reuses.

Policies on the API's queue: FIFO serving everything (the abandoned work goes on); FIFO
with ``drop_expired`` (a request whose client has given up is dropped when a worker
would pick it); adaptive LIFO (newest first while more than ``LIFO_OVER`` wait); the
same with ``drop_expired``. Measured, by arrival window: **goodput** (the share of the
requests arriving in the window that end ``ok``) during the surge and over the 10 T
after; the **recovery time**, from the end of the surge to the end of the last window
below 95%, judged on the windows ending ``DEADLINE`` or more before the run's end (the
requests still in flight at the end arrived after them), recovered when the last of those
is at 95% or more and censored at the end of the run otherwise (``retry_storm.recovery``);
the **wasted** share of the API's work (requests served whose client had given up by the
time they ended), with t intervals over replications. Writes the goodput series the figure
draws (first replication) to ``deadline_drop_series.csv``.

Usage: ``python experiments/deadline_drop.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save
from retry_storm import goodput_figure, horizon, interval, outcome, surge_arrival

import simperf
from simperf.units import parse_time

CORES, CPU = 4, 0.01
DEADLINE = "500ms"
SURGE = 2.0
T = 5.0
LIFO_OVER = 50
POLICIES: dict[str, dict[str, Any]] = {
    "fifo, serve all": {},
    "fifo + drop_expired": {"drop_expired": True},
    "adaptive lifo": {"lifo_over": LIFO_OVER},
    "adaptive lifo + drop_expired": {"lifo_over": LIFO_OVER, "drop_expired": True},
}
COLOURS = {
    "fifo, serve all": "#d62728",
    "fifo + drop_expired": "#2ca02c",
    "adaptive lifo": "#ff7f0e",
    "adaptive lifo + drop_expired": "#1f77b4",
}


def surge_scenario(policy: str, trigger_length: float, end: float) -> Any:
    """Clients -> API with a surge of ``trigger_length`` from ``retry_storm.TRIGGER``."""
    return simperf.from_dict(
        {
            "name": "deadline_drop",
            "workload": {
                "arrival": surge_arrival(SURGE, trigger_length, end),
                "classes": [
                    {"name": "get", "entry": "api", "endpoint": "get", "timeout": DEADLINE}
                ],
            },
            "components": {
                "api": {
                    "kind": "app_server",
                    "cores": CORES,
                    "queue": POLICIES[policy],
                    "endpoints": {"get": [{"cpu": {"dist": "exponential", "mean": CPU}}]},
                }
            },
            "run": {"duration": end, "warmup": 0},
        }
    )


def replicate(policy: str, trigger_length: float, args: Any) -> list[dict[str, Any]]:
    """One row per replication: goodput during and after the surge, recovery, waste."""
    end = horizon(trigger_length)
    scenario = surge_scenario(policy, trigger_length, end)
    return [
        {
            "policy": policy,
            "T": trigger_length,
            "replication": r,
            **outcome(
                simperf.run(scenario, seed=args.seed, replication=r),
                trigger_length,
                end,
                parse_time(DEADLINE),
            ),
        }
        for r in range(args.replications)
    ]


def figure(series: dict[str, pd.DataFrame], trigger_length: float) -> go.Figure:
    """Goodput by arrival window per policy (first replication), surge shaded."""
    return goodput_figure(
        series,
        trigger_length,
        SURGE,
        COLOURS,
        f"Clients giving up after {DEADLINE}: dropping their expired requests "
        "on dequeue recovers at once",
    )


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    length = 2.0 if args.quick else T
    rows = [row for policy in POLICIES for row in replicate(policy, length, args)]
    series = {row["policy"]: row["series"] for row in rows if row["replication"] == 0}
    frame = pd.DataFrame([{k: v for k, v in row.items() if k != "series"} for row in rows])
    save("deadline_drop", frame, figure(series, length), args)
    pd.concat([s.assign(policy=p) for p, s in series.items()]).to_csv(
        args.out / "deadline_drop_series.csv", index=False
    )
    summary: dict[str, Any] = {}
    for policy, group in frame.groupby("policy", sort=False):
        for column, label in (
            ("goodput_during", "mean goodput during the surge"),
            ("goodput_10T_after", "mean goodput over the 10 T after"),
            ("recovery_in_T", "recovery / T"),
            ("wasted", "share of the API's served requests wasted"),
        ):
            mean, half = interval(list(group[column]))
            summary[f"{policy}: {label} (mean, 95% half-width)"] = (
                round(mean, 3),
                round(half, 3),
            )
        summary[f"{policy}: runs recovered"] = f"{int(group['recovered'].sum())}/{len(group)}"
    conclude("deadline_drop", summary, args)


if __name__ == "__main__":
    main()

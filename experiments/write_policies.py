"""Write-through, write-back or write-around? Write latency, database write load, and what
a cache failure costs, across write ratios.

Runs ``models/cache_aside.yaml`` (1,000/s over 100,000 Zipf(0.9) keys, a Redis-like
cache with a 250 us round trip, a 4-core database with 8 ms writes) with each write
policy and a share of updates from 5% to 40%, twice: in steady state, and with the cache
node failing for 5 s halfway through the measured period (its contents are lost; reads
and writes go straight to the database meanwhile). From the steady runs: mean and p99 of
writes, database writes per second and utilisation, writes coalesced by write-back,
stale reads and the read hit rate; from the failure runs: the writes lost, and the p99
of reads over the run (the database takes every read for 5 s).

Writes ``results/write_policies.csv`` (one row per run) and ``.html`` (the figure).

Usage: ``python experiments/write_policies.py [--quick] [--replications R] [--workers W]``
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from cache_common import MODELS, fmt, means, parser, run_points, save
from plotly.subplots import make_subplots

import simperf

POLICIES = ["write_through", "write_around", "write_back"]
METRICS = {
    "latency.update.mean": "write_mean",
    "latency.update.p99": "write_p99",
    "latency.view.p99": "read_p99",
    "caches.cache.store_writes_per_second": "db_writes_per_s",
    "caches.cache.coalesced_writes": "coalesced_writes",
    "caches.cache.lost_writes": "lost_writes",
    "caches.cache.stale_reads": "stale_reads",
    "caches.cache.hit_rate": "hit_rate",
    "components.db.utilization": "db_utilization",
    "error_rate": "error_rate",
}


def main() -> None:
    args = parser(__doc__).parse_args()
    if args.quick:
        ratios, warmup, measured, reps = [0.05, 0.4], 2.0, 6.0, 1
    else:
        ratios, warmup, measured, reps = [0.05, 0.1, 0.2, 0.4], 30.0, 60.0, 2
    reps = args.replications or reps
    fault = {"component": "cache", "at": warmup + measured / 2, "for": min(5.0, measured / 4)}
    base = simperf.load(MODELS / "cache_aside.yaml").with_overrides(
        {"run.warmup": warmup, "run.duration": warmup + measured}
    )
    points = [
        {
            "components.cache.write_policy": policy,
            "workload.classes.0.weight": round(1 - ratio, 4),
            "workload.classes.1.weight": ratio,
            "faults": faults,
        }
        for faults in ([], [fault])
        for policy in POLICIES
        for ratio in ratios
    ]
    frame = run_points(base, points, args, reps)
    frame["run"] = np.where(frame["faults"].map(len) > 0, "cache failure", "steady")
    frame = frame.drop(columns=["faults"]).rename(
        columns={
            "components.cache.write_policy": "policy",
            "workload.classes.1.weight": "write_ratio",
        }
    )
    table = means(frame, ["run", "policy", "write_ratio"], METRICS)
    steady = table[table["run"] == "steady"].set_index(["policy", "write_ratio"])
    failure = table[table["run"] == "cache failure"].set_index(["policy", "write_ratio"])
    print(
        f"\n{'policy':<15}{'writes':>7}{'write mean':>12}{'write p99':>11}{'db writes/s':>13}"
        f"{'coalesced':>11}{'stale':>7}{'hit rate':>10}{'db util':>9}  |{'lost':>6}"
        f"{'read p99':>11}{'errors':>8}"
    )
    for (policy, ratio), row in steady.iterrows():
        fail = failure.loc[(policy, ratio)]
        print(
            f"{policy:<15}{ratio:>7.0%}{fmt(row.write_mean * 1000, '.2f'):>10}ms"
            f"{fmt(row.write_p99 * 1000, '.2f'):>9}ms{fmt(row.db_writes_per_s, '.1f'):>13}"
            f"{fmt(row.coalesced_writes, '.0f'):>11}{fmt(row.stale_reads, '.0f'):>7}"
            f"{fmt(row.hit_rate):>10}{fmt(row.db_utilization):>9}  |"
            f"{fmt(fail.lost_writes, '.1f'):>6}{fmt(fail.read_p99 * 1000, '.0f'):>9}ms"
            f"{fmt(fail.error_rate, '.2%'):>8}"
        )
    print("(left of |: steady state; right: the run with a 5 s cache failure)")
    save(frame, figure(steady.reset_index(), failure.reset_index()), "write_policies", args.out)


def figure(steady: pd.DataFrame, failure: pd.DataFrame) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            "Mean write latency (ms)",
            "Database writes per second",
            "Writes lost in a 5 s cache failure",
        ),
    )
    for policy in POLICIES:
        group = steady[steady["policy"] == policy]
        failed = failure[failure["policy"] == policy]
        x = group["write_ratio"]
        for col, y in (
            (1, group["write_mean"] * 1000),
            (2, group["db_writes_per_s"]),
            (3, failed["lost_writes"]),
        ):
            fig.add_scatter(
                x=x,
                y=y,
                mode="lines+markers",
                name=policy,
                legendgroup=policy,
                showlegend=col == 1,
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="share of requests that write", tickformat=".0%")
    fig.update_layout(title="Write policies (models/cache_aside.yaml, cache down for 5 s)")
    return fig


if __name__ == "__main__":
    main()

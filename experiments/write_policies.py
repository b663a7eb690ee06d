"""Write-through, write-back or write-around? Write latency, database write load, and what
a cache failure costs, across write ratios.

Runs ``models/cache_aside.yaml`` (1,000 req/s over 100,000 Zipf(0.9) keys, a Redis-like
cache with a 250 us round trip, a 4-core database with 8 ms writes) with each write
policy and a share of updates from 5% to 40%. Halfway through the measured period the
cache node fails for 5 s (its contents are lost; reads and writes go straight to the
database meanwhile). Per run: mean and p99 of writes, database writes per second and
database utilisation, writes coalesced by write-back, writes lost in the failure, stale
reads and the read hit rate.

Writes ``results/write_policies.csv`` (one row per run) and ``.html`` (the figure).

Usage: ``python experiments/write_policies.py [--quick] [--replications R] [--workers W]``
"""

from __future__ import annotations

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
        {"run.warmup": warmup, "run.duration": warmup + measured, "faults": [fault]}
    )
    points = [
        {
            "components.cache.write_policy": policy,
            "workload.classes.0.weight": round(1 - ratio, 4),
            "workload.classes.1.weight": ratio,
        }
        for policy in POLICIES
        for ratio in ratios
    ]
    frame = run_points(base, points, args, reps)
    frame = frame.rename(
        columns={
            "components.cache.write_policy": "policy",
            "workload.classes.1.weight": "write_ratio",
        }
    )
    table = means(frame, ["policy", "write_ratio"], METRICS)
    print(
        f"\n{'policy':<15}{'writes':>7}{'write mean':>12}{'write p99':>11}{'db writes/s':>13}"
        f"{'coalesced':>11}{'lost':>6}{'stale':>7}{'hit rate':>10}{'db util':>9}"
    )
    for row in table.itertuples():
        print(
            f"{row.policy:<15}{row.write_ratio:>7.0%}{fmt(row.write_mean * 1000, '.2f'):>10}ms"
            f"{fmt(row.write_p99 * 1000, '.2f'):>9}ms{fmt(row.db_writes_per_s, '.1f'):>13}"
            f"{fmt(row.coalesced_writes, '.0f'):>11}{fmt(row.lost_writes, '.1f'):>6}"
            f"{fmt(row.stale_reads, '.0f'):>7}{fmt(row.hit_rate):>10}{fmt(row.db_utilization):>9}"
        )
    save(frame, figure(table), "write_policies", args.out)


def figure(table: pd.DataFrame) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            "Mean write latency (ms)",
            "Database writes per second",
            "Writes lost in a 5 s cache failure",
        ),
    )
    for policy, group in table.groupby("policy", sort=False):
        x = group["write_ratio"]
        for col, y in (
            (1, group["write_mean"] * 1000),
            (2, group["db_writes_per_s"]),
            (3, group["lost_writes"]),
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

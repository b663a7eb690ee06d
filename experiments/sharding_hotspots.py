"""Sharding: hot shards under skew (hash vs range), and the tail cost of scatter-gather.

A. 8 shards hold 1,000,000 users; 4,000 primary-key reads/s draw users from a Zipf(alpha)
   popularity, alpha from 0 (uniform) to 1.4. Keys go to shards by a hash or by ranges of
   the key space (whose ranks follow popularity: think of sequential ids or timestamps,
   the newest the hottest). Measured: queries per shard, max/mean imbalance, and the
   busiest shard's CPU utilisation against the mean. Boundary: the alpha beyond which the
   busiest shard carries 1.5 (and 2) times the mean load.
B. A query without the shard key goes to all N shards (N = 1 ... 32) and waits for the
   slowest. Each shard is one M/M/1 server (exponential 10 ms) at utilisation 0.5.
   Measured: mean, p50 and p99 of the scatter-gather against one shard's (N = 1), next
   to the p99 of the maximum of N independent sojourns (an upper bound: shards share
   arrivals, so their sojourns are positively associated). Boundary: the N from which
   each is twice a single shard's.

Usage: ``python experiments/sharding_hotspots.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import math

import pandas as pd
from db_study import arguments, conclude, crossing, database, mean, measure, save, scenario
from plotly.subplots import make_subplots

USERS = 1_000_000
MU = 100.0


def skew_point(alpha: float, routing: str, args: object) -> dict[str, float]:
    db = database(
        kind="sharded_database",
        shards=8,
        routing=routing,
        primary={"cores": 2, "memory": "64MiB"},
        tables={"users": {"rows": USERS, "row_size": 500, "keyspace": "users"}},
        queries={"user": {"table": "users", "where": ["id"]}},
    )
    popularity = {"zipf": alpha} if alpha > 0 else "uniform"
    s = scenario(
        "sharding_hotspots",
        {"db": db},
        [{"name": "user", "entry": "db", "endpoint": "user"}],
        rate=4000.0,
        duration=4 if args.quick else 20,  # type: ignore[attr-defined]
        keyspaces={"users": {"keys": USERS, "popularity": popularity}},
    )
    runs = measure(s, args)  # type: ignore[arg-type]
    shards = [run["databases"]["db"]["shards"] for run in runs]
    utilizations = [
        mean(runs, f"databases.db.instances.db[s{i}:primary].cpu_utilization") for i in range(8)
    ]
    return {
        "imbalance": sum(s["imbalance"] for s in shards) / len(shards),
        "hottest_share": sum(max(s["queries"]) / sum(s["queries"]) for s in shards) / len(shards),
        "busiest_cpu_utilization": max(utilizations),
        "mean_cpu_utilization": sum(utilizations) / 8,
        "p99_ms": 1000 * mean(runs, "latency.all.p99"),
    }


def fanout_point(shards: int, args: object) -> dict[str, float]:
    db = database(
        kind="sharded_database",
        shards=shards,
        rtt=0,
        primary={"cores": 1, "storage": {"read_latency": 0, "write_latency": 0}},
        cpu={
            "per_query": {"dist": "exponential", "mean": 1 / MU},
            "per_row": 0,
            "per_page": 0,
        },
        connection={"handshake": 0, "startup": 0},
        tables={"users": {"rows": 100_000, "row_size": 500}},
        queries={"sample": {"table": "users", "limit": 1}},
    )
    s = scenario(
        "sharding_hotspots",
        {"db": db},
        [{"name": "sample", "entry": "db", "endpoint": "sample"}],
        rate=MU / 2,
        duration=60 if args.quick else 600,  # type: ignore[attr-defined]
        warmup=10,
    )
    runs = measure(s, args)  # type: ignore[arg-type]
    independent = -math.log(1 - 0.99 ** (1 / shards)) / (MU / 2)
    return {
        "mean_ms": 1000 * mean(runs, "latency.all.mean"),
        "p50_ms": 1000 * mean(runs, "latency.all.p50"),
        "p99_ms": 1000 * mean(runs, "latency.all.p99"),
        "independent_max_p99_ms": 1000 * independent,
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    alphas = [0.0, 1.0] if args.quick else [0.0, 0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4]
    rows = [
        {"part": "skew", "alpha": a, "routing": r, **skew_point(a, r, args)}
        for r in ("hash", "range")
        for a in alphas
    ]
    counts = [1, 8] if args.quick else [1, 2, 4, 8, 16, 32]
    rows += [{"part": "fanout", "shards": n, **fanout_point(n, args)} for n in counts]
    frame = pd.DataFrame(rows)
    skew = frame[frame.part == "skew"]
    fan = frame[frame.part == "fanout"].set_index("shards")
    single = fan.p99_ms.iloc[0]
    fan_ratio = (fan.p99_ms / single).tolist()
    boundaries = {}
    for routing in ("hash", "range"):
        mine = skew[skew.routing == routing]
        for level in (1.5, 2.0):
            edge = crossing(mine.alpha.tolist(), mine.imbalance.tolist(), level)
            boundaries[f"{routing}: busiest shard >= {level}x mean load from alpha"] = (
                round(edge, 2) if edge is not None else "not within the grid"
            )
        boundaries[f"{routing}: max/mean shard load by alpha"] = {
            float(a): float(round(i, 2)) for a, i in zip(mine.alpha, mine.imbalance, strict=True)
        }
    for stat in ("mean", "p50", "p99"):
        column = fan[f"{stat}_ms"]
        ratios = (column / column.iloc[0]).tolist()
        edge = crossing([float(n) for n in fan.index], ratios, 2.0, log_x=True)
        boundaries[f"scatter-gather {stat} >= 2x one shard's from N shards"] = (
            round(edge, 1) if edge is not None else "not within the grid"
        )
    boundaries["scatter-gather p99 / one shard's p99 by N"] = {
        int(n): float(round(r, 2)) for n, r in zip(fan.index, fan_ratio, strict=True)
    }
    boundaries["scatter-gather p99 / independent-maximum p99 by N"] = {
        int(n): float(round(p / b, 3))
        for n, p, b in zip(fan.index, fan.p99_ms, fan.independent_max_p99_ms, strict=True)
    }
    figure = make_subplots(rows=1, cols=2, subplot_titles=("shard imbalance", "scatter-gather p99"))
    for routing in ("hash", "range"):
        mine = skew[skew.routing == routing]
        figure.add_scatter(x=mine.alpha, y=mine.imbalance, name=f"{routing} routing", row=1, col=1)
    figure.add_scatter(x=list(fan.index), y=fan.p99_ms, name="p99, simulated", row=1, col=2)
    figure.add_scatter(
        x=list(fan.index),
        y=fan.independent_max_p99_ms,
        name="p99, independent maxima",
        row=1,
        col=2,
    )
    figure.update_xaxes(title_text="Zipf alpha", row=1, col=1)
    figure.update_yaxes(title_text="max / mean queries per shard", row=1, col=1)
    figure.update_xaxes(title_text="shards queried", type="log", row=1, col=2)
    figure.update_yaxes(title_text="ms", row=1, col=2)
    figure.update_layout(title="Sharding hot spots and scatter-gather tails")
    save("sharding_hotspots", frame, figure, args)
    conclude("sharding_hotspots", boundaries, args)


if __name__ == "__main__":
    main()

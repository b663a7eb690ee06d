"""Losing one cache node of n: the database load spike and the p99 that follow.

Poisson reads at 2,000/s of products (Zipf popularity over 50,000 keys) through a
cache-aside cache on a consistent-hash ring (``sharding: ring``, 160 virtual nodes per
node) of n nodes holding 10,000 items in all (10,000 / n each, LRU), backed by a database
(2 cores, 1 ms of CPU per query, reached through a pool of 32 connections). Node 0 dies
at 30 s (the cache has been full since about 10 s) and stays down: its keys move to the
next nodes along the ring, where they are missing, so they are read from the database
until they are cached again; the cache has also lost 1/n of its capacity for good.

The grid: n = 2, 4, 8 nodes x Zipf exponent 0.7, 0.9, 1.1, two replications. Measured
in 0.5 s windows: the database reads per second before the loss (20-30 s), in the first
window after it (the spike) and at the end (50-60 s), the database's utilisation and the
p99 latency, and the keys moved. Compared with: the immediate excess of reads is about
the lost node's share of the hits, ``rate x hit rate / n`` (a moved key misses once,
then hits again, so the excess decays as the moved hot keys are read).

Usage: ``python experiments/cache_node_loss.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, database, save
from plotly.subplots import make_subplots

import simperf
from simperf.build import build

RATE, KEYS, ITEMS = 2000.0, 50_000, 10_000
FAIL_AT, END, WINDOW = 30.0, 60.0, 0.5
NODES, SKEWS = [2, 4, 8], [0.7, 0.9, 1.1]


def node_loss_scenario(nodes: int, skew: float, scale: float) -> Any:
    """The cached read path with node 0 of ``nodes`` down from ``FAIL_AT`` (times scaled)."""
    db = database(
        primary={"cores": 2},
        cpu={"per_query": "1ms", "per_row": 0, "per_page": 0},
        tables={"products": {"rows": KEYS, "row_size": 500, "keyspace": "products"}},
        queries={"product": {"table": "products", "where": ["id"]}},
    )
    return simperf.from_dict(
        {
            "name": "cache_node_loss",
            "keyspaces": {"products": {"keys": int(KEYS * scale), "popularity": {"zipf": skew}}},
            "workload": {
                "arrival": {"kind": "poisson", "rate": RATE * scale},
                "classes": [
                    {"name": "read", "entry": "app", "endpoint": "read", "keyspace": "products"}
                ],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "cores": 8,
                    "workers": 512,
                    "pool": {"database": "db", "size": 32, "max_wait": "1s"},
                    "endpoints": {"read": [{"read": {"cache": "cache", "backing": "db.product"}}]},
                },
                "cache": {
                    "kind": "cache",
                    "keyspace": "products",
                    "capacity": max(1, int(ITEMS * scale) // nodes),
                    "nodes": nodes,
                    "sharding": "ring",
                    "latency": "50us",
                },
                "db": db,
            },
            "faults": [{"component": "cache", "instance": 0, "at": FAIL_AT * scale, "for": END}],
            "run": {"duration": END * scale, "warmup": 0, "window": WINDOW},
        }
    )


def _series(result: simperf.Result, component: str, metric: str) -> pd.Series:
    ts = result.timeseries
    rows = ts[(ts["component"] == component) & (ts["metric"] == metric)]
    return rows.set_index("start")["value"]


def point(nodes: int, skew: float, args: Any) -> dict[str, Any]:
    """Replications of one point, averaged."""
    scale = 0.25 if args.quick else 1.0
    fail_at, end = FAIL_AT * scale, END * scale
    rows = []
    for r in range(args.replications):
        s = node_loss_scenario(nodes, skew, scale)
        result = simperf.run(s, seed=args.seed, replication=r)
        reads = _series(result, "cache", "store_reads_per_second")
        hit = _series(result, "cache", "hit_rate")
        util = _series(result, "db[primary]", "utilization")
        p99 = _series(result, "all", "p99")
        before = (reads.index >= fail_at - 10 * scale) & (reads.index < fail_at)
        after = reads.index >= fail_at
        late = reads.index >= end - 10 * scale
        moved = _moved_share(s, int(KEYS * scale)) if r == 0 else np.nan
        rows.append(
            {
                "reads_before": float(reads[before].mean()),
                "reads_peak": float(reads[after].max()),
                "reads_late": float(reads[late].mean()),
                "hit_rate_before": float(hit[before].mean()),
                "db_util_before": float(util[before].mean()),
                "db_util_peak": float(util[after].max()),
                "p99_before": float(p99[before].mean()),
                "p99_peak": float(p99[after].max()),
                "moved_share": moved,
            }
        )
    out: dict[str, Any] = {"nodes": nodes, "zipf": skew}
    out.update(pd.DataFrame(rows).mean().to_dict())
    rate = RATE * scale
    out["predicted_excess"] = rate * out["hit_rate_before"] / nodes
    out["excess"] = out["reads_peak"] - out["reads_before"]
    return out


def _moved_share(s: Any, keys: int) -> float:
    """The share of the keys node 0 holds (those that move when it fails)."""
    cache = build(s).components["cache"]
    return float(np.mean([cache.node_of(k).index == 0 for k in range(keys)]))


def figure(frame: pd.DataFrame) -> go.Figure:
    """Left: database reads per second, before the loss and at its peak, by n and Zipf.
    Right: p99 latency, before and at its peak."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("database reads per second", "p99 latency (0.5 s windows)"),
    )
    for skew, group in frame.groupby("zipf"):
        group = group.sort_values("nodes")
        name = f"zipf {skew:g}"
        fig.add_scatter(
            x=group["nodes"], y=group["reads_peak"], mode="markers+lines", name=f"{name}: peak",
            legendgroup=name, row=1, col=1,
        )  # fmt: skip
        fig.add_scatter(
            x=group["nodes"], y=group["reads_before"], mode="markers+lines",
            line={"dash": "dot"}, name=f"{name}: before", legendgroup=name, row=1, col=1,
        )  # fmt: skip
        fig.add_scatter(
            x=group["nodes"], y=group["reads_before"] + group["predicted_excess"],
            mode="markers", marker={"symbol": "x"}, name=f"{name}: before + rate x hit / n",
            legendgroup=name, row=1, col=1,
        )  # fmt: skip
        fig.add_scatter(
            x=group["nodes"], y=group["p99_peak"] * 1e3, mode="markers+lines",
            name=f"{name}: p99 peak", legendgroup=name, showlegend=False, row=1, col=2,
        )  # fmt: skip
        fig.add_scatter(
            x=group["nodes"], y=group["p99_before"] * 1e3, mode="markers+lines",
            line={"dash": "dot"}, legendgroup=name, showlegend=False, row=1, col=2,
        )  # fmt: skip
    fig.update_xaxes(title_text="cache nodes (one lost)", type="log", row=1, col=1)
    fig.update_xaxes(title_text="cache nodes (one lost)", type="log", row=1, col=2)
    fig.update_yaxes(title_text="reads per second", row=1, col=1)
    fig.update_yaxes(title_text="ms", row=1, col=2)
    fig.update_layout(
        title="Losing one cache node: the database takes its share of the hits at once",
        template="plotly_white",
    )
    return fig


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    nodes = [2, 4] if args.quick else NODES
    skews = [0.9] if args.quick else SKEWS
    frame = pd.DataFrame([point(n, s, args) for n in nodes for s in skews])
    save("cache_node_loss", frame, figure(frame), args)
    conclude(
        "cache_node_loss",
        {
            "database reads/s before -> peak (n, zipf)": {
                f"n={int(r.nodes)} zipf={r.zipf:g}": (round(r.reads_before), round(r.reads_peak))
                for r in frame.itertuples()
            },
            "peak excess over rate x hit rate / n (range)": (
                round(float((frame["excess"] / frame["predicted_excess"]).min()), 2),
                round(float((frame["excess"] / frame["predicted_excess"]).max()), 2),
            ),
            "database utilisation before -> peak (largest peak)": (
                round(float(frame.loc[frame["db_util_peak"].idxmax(), "db_util_before"]), 3),
                round(float(frame["db_util_peak"].max()), 3),
            ),
            "p99 before -> peak, ms (n=2, highest zipf)": tuple(
                round(float(v) * 1e3, 2)
                for v in frame[frame["nodes"] == frame["nodes"].min()]
                .sort_values("zipf")
                .iloc[-1][["p99_before", "p99_peak"]]
            ),
            "share of keys moved by the loss, by n": {
                f"n={int(n)}": round(float(g["moved_share"].mean()), 3)
                for n, g in frame.groupby("nodes")
            },
        },
        args,
    )


if __name__ == "__main__":
    main()

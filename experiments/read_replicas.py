"""Read replicas: throughput, replication lag and stale reads by read/write mix.

A catalogue (200,000 products, Zipf(0.9) popularity) takes 400 requests/s: reads of a
product and a page of its reviews, and writes updating a product's stock. The write
fraction is 0 to 95% of requests and the database has 0, 1, 2 or 4 read replicas
(each with the primary's 8 cores, 256 MiB buffer pool and 10k IOPS storage; replicas
replay every write). Replication lag is lognormal, median 20 ms, p99 200 ms.

Measured: latency, each server's CPU and storage utilisation, the capacity (offered
rate / utilisation of the busiest resource: the rate at which it would saturate), the
lag writes actually see (replicas replay in order, so a write waits for its
predecessors), and the stale-read rate (reads on a replica of a product written less
than the lag earlier). Boundary: for each write fraction, the capacity gain of 1, 2 and 4
replicas over none, and the write fraction beyond which 4 replicas no longer double it.

Usage: ``python experiments/read_replicas.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from db_study import app, arguments, conclude, crossing, database, mean, measure, save, scenario

RATE = 400.0


def point(write_fraction: float, replicas: int, args: object) -> dict[str, float]:
    db = database(
        primary={
            "memory": "256MiB",
            "storage": {"read_latency": "200us", "write_latency": "400us", "iops": "10k/s"},
        },
        read_replicas=replicas,
        replication_lag={"dist": "lognormal", "median": "20ms", "p99": "200ms"},
        tables={
            "products": {
                "rows": 200_000,
                "row_size": 800,
                "keyspace": "products",
                "columns": {"stock": 1000},
            },
            "reviews": {
                "rows": 4_000_000,
                "row_size": 400,
                "columns": {"product_id": 200_000},
                "indexes": {"by_product": ["product_id"]},
            },
        },
        queries={
            "product": {"table": "products", "where": ["id"]},
            "reviews": {"table": "reviews", "where": ["product_id"], "limit": 20},
            "restock": {"table": "products", "op": "update", "where": ["id"], "updates": ["stock"]},
        },
    )
    endpoints = {
        "view": [
            {"cpu": "500us"},
            {"query": "product", "database": "db"},
            {"query": "reviews", "database": "db"},
        ],
        "restock": [{"cpu": "500us"}, {"query": "restock", "database": "db"}],
    }
    classes = [{"name": "view", "weight": 1 - write_fraction, "entry": "app", "endpoint": "view"}]
    if write_fraction:
        classes.append(
            {"name": "restock", "weight": write_fraction, "entry": "app", "endpoint": "restock"}
        )
    s = scenario(
        "read_replicas",
        {"app": app(endpoints, pool=64, replicas=4), "db": db},
        classes,
        rate=RATE,
        duration=6 if args.quick else 40,  # type: ignore[attr-defined]
        keyspaces={"products": {"keys": 200_000, "popularity": {"zipf": 0.9}}},
    )
    runs = measure(s, args)  # type: ignore[arg-type]
    names = ["db[primary]"] + [f"db[replica{i}]" for i in range(replicas)]
    busiest = max(
        max(
            mean(runs, f"databases.db.instances.{n}.cpu_utilization"),
            mean(runs, f"databases.db.instances.{n}.storage_utilization"),
        )
        for n in names
    )
    return {
        "mean_ms": 1000 * mean(runs, "latency.all.mean"),
        "p99_ms": 1000 * mean(runs, "latency.all.p99"),
        "primary_storage_utilization": mean(
            runs, "databases.db.instances.db[primary].storage_utilization"
        ),
        "busiest_utilization": busiest,
        "capacity_per_s": RATE / busiest,
        "lag_mean_ms": 1000 * mean(runs, "databases.db.replication.lag.mean"),
        "lag_p99_ms": 1000 * mean(runs, "databases.db.replication.lag.p99"),
        "stale_read_rate": mean(runs, "databases.db.replication.stale_read_rate"),
        "stability": runs[0]["stability"]["status"],
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    fractions = [0.05] if args.quick else [0.0, 0.05, 0.2, 0.5, 0.8, 0.95]
    replica_counts = [0, 2] if args.quick else [0, 1, 2, 4]
    rows = [
        {"write_fraction": w, "replicas": r, **point(w, r, args)}
        for w in fractions
        for r in replica_counts
    ]
    frame = pd.DataFrame(rows)
    base = frame[frame.replicas == 0].set_index("write_fraction").capacity_per_s
    frame["capacity_gain"] = frame.capacity_per_s / frame.write_fraction.map(base)
    top = frame[frame.replicas == replica_counts[-1]].sort_values("write_fraction")
    edge = crossing(top.write_fraction.tolist(), top.capacity_gain.tolist(), 2.0)
    boundaries = {
        f"capacity gain of {r} replicas by write fraction": {
            float(w): float(round(g, 2))
            for w, g in frame[frame.replicas == r][["write_fraction", "capacity_gain"]].values
        }
        for r in replica_counts[1:]
    }
    boundaries[f"{replica_counts[-1]} replicas less than double capacity beyond write fraction"] = (
        round(edge, 3) if edge is not None else "not within the grid"
    )
    with_replicas = frame[frame.replicas > 0]
    boundaries["stale-read rate by write fraction (mean over replica counts)"] = {
        float(w): float(round(v, 4))
        for w, v in with_replicas.groupby("write_fraction").stale_read_rate.mean().items()
    }
    boundaries["replication lag seen, mean / p99 (ms), by write fraction"] = {
        float(w): f"{g.lag_mean_ms.mean():.1f} / {g.lag_p99_ms.mean():.1f}"
        for w, g in with_replicas.groupby("write_fraction")
    }
    figure = go.Figure()
    for w in fractions:
        mine = frame[frame.write_fraction == w]
        figure.add_scatter(
            x=mine.replicas, y=mine.capacity_per_s, mode="lines+markers", name=f"{w:.0%} writes"
        )
    figure.update_layout(
        title="Capacity (rate at which the busiest server saturates) by read replicas",
        xaxis={"title": "read replicas"},
        yaxis={"title": "requests per second"},
    )
    save("read_replicas", frame, figure, args)
    conclude("read_replicas", boundaries, args)


if __name__ == "__main__":
    main()

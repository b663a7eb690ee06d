"""N+1 queries against eager loading: when does one query per item double the latency?

An endpoint shows an order's ``N`` items with their products. N+1: one query for the
items, then one primary-key query per item (``repeat: N``). Eager loading: one query
joining the items to their products. Both go through a connection pool; the network
round trip to the database is 0.1, 0.5 or 2 ms. The script measures the mean and p99
latency of each, their ratio, the database CPU per request, and the smallest ``N`` at
which N+1 is at least twice as slow as eager loading.

Usage: ``python experiments/n_plus_one.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from db_study import app, arguments, conclude, crossing, database, mean, measure, save, scenario

ORDERS = 100_000
RATE = 20.0


def point(n: int, rtt: str, eager: bool, args: object) -> dict[str, float]:
    db = database(
        rtt=rtt,
        tables={
            "items": {
                "rows": ORDERS * n,
                "row_size": 120,
                "columns": {"order_id": ORDERS},
                "indexes": {"by_order": ["order_id"]},
            },
            "products": {"rows": 50_000, "row_size": 600},
        },
        queries={
            "items_of_order": {"table": "items", "where": ["order_id"]},
            "product": {"table": "products", "where": ["id"]},
            "items_with_products": {
                "table": "items",
                "where": ["order_id"],
                "join": {"table": "products", "column": "id"},
            },
        },
    )
    if eager:
        steps = [{"query": "items_with_products", "database": "db"}]
    else:
        steps = [
            {"query": "items_of_order", "database": "db"},
            {"query": "product", "database": "db", "repeat": n},
        ]
    s = scenario(
        "n_plus_one",
        {"app": app({"order": [{"cpu": "200us"}, *steps]}), "db": db},
        [{"name": "order", "entry": "app", "endpoint": "order"}],
        rate=RATE,
        duration=10 if args.quick else 60,  # type: ignore[attr-defined]
    )
    runs = measure(s, args)  # type: ignore[arg-type]
    return {
        "mean_ms": 1000 * mean(runs, "latency.all.mean"),
        "p99_ms": 1000 * mean(runs, "latency.all.p99"),
        "db_cpu_ms_per_request": 1000
        * 8
        * mean(runs, "databases.db.instances.db[primary].cpu_utilization")
        / mean(runs, "throughput"),
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    ns = [1, 10] if args.quick else [1, 2, 3, 5, 10, 20, 50, 100]
    rtts = ["500us"] if args.quick else ["100us", "500us", "2ms"]
    rows = []
    for rtt in rtts:
        for n in ns:
            lazy = point(n, rtt, False, args)
            eager = point(n, rtt, True, args)
            rows.append(
                {
                    "rtt": rtt,
                    "n": n,
                    **{f"n_plus_one_{k}": v for k, v in lazy.items()},
                    **{f"eager_{k}": v for k, v in eager.items()},
                    "ratio_mean": lazy["mean_ms"] / eager["mean_ms"],
                    "ratio_p99": lazy["p99_ms"] / eager["p99_ms"],
                }
            )
    frame = pd.DataFrame(rows)
    figure = go.Figure()
    boundaries = {}
    for rtt in rtts:
        mine = frame[frame.rtt == rtt]
        figure.add_scatter(x=mine.n, y=mine.ratio_mean, mode="lines+markers", name=f"rtt {rtt}")
        edge = crossing(mine.n.tolist(), mine.ratio_mean.tolist(), 2.0)
        boundaries[f"N+1 at least 2x slower than eager loading from N = (rtt {rtt})"] = (
            round(edge, 1) if edge is not None else "beyond the grid"
        )
        last = mine.iloc[-1]
        boundaries[f"N+1 / eager mean latency at N = {int(last.n)} (rtt {rtt})"] = round(
            last.ratio_mean, 2
        )
    figure.add_hline(y=2.0, line_dash="dash", annotation_text="2x")
    figure.update_layout(
        title="N+1 queries / eager loading, mean latency",
        xaxis={"title": "items per order (N)", "type": "log"},
        yaxis={"title": "latency ratio"},
    )
    save("n_plus_one", frame, figure, args)
    conclude("n_plus_one", boundaries, args)


if __name__ == "__main__":
    main()

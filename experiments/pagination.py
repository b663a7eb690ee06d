"""Pagination: how deep can offset pages go, and when does an unbounded result set hurt?

A. Pages of 20 orders in primary-key order from a 10,000,000-row table, at page depth
   ``D`` (rows before the page), by ``OFFSET D LIMIT 20`` (the database examines and
   seek). Measured: mean and p99 latency, rows examined and pages read per page, for one
   user paging without pause (so the cost of a page, not queueing). Boundaries: the
   depth at which offset pages take twice as long as keyset pages, and the depth at
   which they exceed 100 ms.
B. A user's orders with ``LIMIT 20`` or with no limit, for users with ``M`` orders: rows
   returned drive the transfer and the app's decoding CPU (20 us per row). Boundary: the
   ``M`` at which the unbounded query takes twice as long as the paged one.

Usage: ``python experiments/pagination.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from db_study import app, arguments, conclude, crossing, database, mean, measure, save, scenario

ROWS = 10_000_000
SLO_MS = 100.0


def depth_point(depth: int, pagination: str, args: object) -> dict[str, float]:
    db = database(
        tables={"orders": {"rows": ROWS, "row_size": 200}},
        queries={"list_orders": {"table": "orders"}},
    )
    step = {
        "query": "list_orders",
        "database": "db",
        "limit": 20,
        "offset": depth,
        "pagination": pagination,
    }
    s = scenario(
        "pagination",
        {"app": app({"page": [{"cpu": "300us"}, step]}), "db": db},
        [{"name": "page", "entry": "app", "endpoint": "page"}],
        users=1,
        duration=10 if args.quick else 60,  # type: ignore[attr-defined]
    )
    runs = measure(s, args)  # type: ignore[arg-type]
    calls = mean(runs, "databases.db.queries.list_orders.calls")
    return {
        "mean_ms": 1000 * mean(runs, "latency.all.mean"),
        "p99_ms": 1000 * mean(runs, "latency.all.p99"),
        "rows_examined_per_page": mean(runs, "databases.db.queries.list_orders.rows_examined")
        / calls,
        "pages_read_per_page": mean(runs, "databases.db.queries.list_orders.pages_read") / calls,
        "db_cpu_utilization": mean(runs, "databases.db.instances.db[primary].cpu_utilization"),
    }


def result_point(matches: int, limit: int | None, args: object) -> dict[str, float]:
    db = database(
        client_cpu_per_row="20us",
        tables={
            "orders": {
                "rows": ROWS,
                "row_size": 200,
                "columns": {"user_id": ROWS // matches},
                "indexes": {"by_user": ["user_id"]},
            }
        },
        queries={"orders_of_user": {"table": "orders", "where": ["user_id"]}},
    )
    step = {"query": "orders_of_user", "database": "db"}
    if limit is not None:
        step["limit"] = limit
    s = scenario(
        "pagination",
        {"app": app({"orders": [{"cpu": "300us"}, step]}), "db": db},
        [{"name": "orders", "entry": "app", "endpoint": "orders"}],
        users=1,
        duration=10 if args.quick else 60,  # type: ignore[attr-defined]
    )
    runs = measure(s, args)  # type: ignore[arg-type]
    return {
        "mean_ms": 1000 * mean(runs, "latency.all.mean"),
        "p99_ms": 1000 * mean(runs, "latency.all.p99"),
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    depths = [0, 100_000] if args.quick else [0, 100, 1000, 10_000, 30_000, 100_000, 300_000]
    rows = []
    for depth in depths:
        for pagination in ("offset", "keyset"):
            rows.append(
                {"part": "depth", "depth": depth, "pagination": pagination}
                | depth_point(depth, pagination, args)
            )
    matches_grid = [10, 1000] if args.quick else [10, 30, 100, 300, 1000, 3000, 10_000]
    for matches in matches_grid:
        for limit in (20, None):
            rows.append(
                {"part": "result_size", "matches": matches, "limit": limit or "none"}
                | result_point(matches, limit, args)
            )
    frame = pd.DataFrame(rows)
    depth = frame[frame.part == "depth"]
    offset = depth[depth.pagination == "offset"].set_index("depth")
    keyset = depth[depth.pagination == "keyset"].set_index("depth")
    ratio = (offset.mean_ms / keyset.mean_ms).tolist()
    x = [float(d) for d in offset.index]
    edge = crossing(x, ratio, 2.0)
    slo = crossing(x, offset.mean_ms.tolist(), SLO_MS)
    sizes = frame[frame.part == "result_size"]
    paged = sizes[sizes.limit == 20].set_index("matches").mean_ms
    unbounded = sizes[sizes.limit == "none"].set_index("matches").mean_ms
    size_edge = crossing([float(m) for m in paged.index], (unbounded / paged).tolist(), 2.0)
    boundaries = {
        "offset page 2x slower than keyset from depth": round(edge) if edge else "beyond the grid",
        f"offset page mean above {SLO_MS:.0f} ms from depth": round(slo)
        if slo
        else "beyond the grid",
        f"offset / keyset mean latency at depth {int(x[-1])}": round(ratio[-1], 1),
        "unbounded result 2x slower than LIMIT 20 from matching rows": round(size_edge)
        if size_edge
        else "beyond the grid",
    }
    figure = go.Figure()
    figure.add_scatter(x=x, y=offset.mean_ms, mode="lines+markers", name="offset, mean")
    figure.add_scatter(x=x, y=keyset.mean_ms, mode="lines+markers", name="keyset, mean")
    figure.add_scatter(
        x=list(paged.index),
        y=unbounded.tolist(),
        mode="lines+markers",
        name="no limit (x = matches)",
    )
    figure.add_scatter(
        x=list(paged.index), y=paged.tolist(), mode="lines+markers", name="LIMIT 20 (x = matches)"
    )
    figure.update_layout(
        title="Page latency by page depth (offset vs keyset) and by result size",
        xaxis={"title": "rows before the page / rows matching", "type": "log"},
        yaxis={"title": "mean latency (ms)", "type": "log"},
    )
    save("pagination", frame, figure, args)
    conclude("pagination", boundaries, args)


if __name__ == "__main__":
    main()

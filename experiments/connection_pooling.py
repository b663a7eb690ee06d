"""Connection pooling: when is it a 5-10x win, and when does a small pool become the bottleneck?

A. Each request runs one primary-key query whose database CPU is ``q``. Without a pool it
   opens a connection first (1.5 ms of TCP, TLS and authentication round trips, then 1 ms
   of database CPU to start the session); with a pool the connection is already open.
   Measured at 200 requests/s: mean latency with and without a pool, and the database CPU
   per request, whose inverse bounds throughput. Boundaries: the query CPU ``q`` below
   which pooling cuts latency (and raises the database's capacity) at least 5-fold.
B. Four app instances at 1,600 requests/s in all, each request holding a connection for
   about 2.3 ms (a 2 ms query and the 0.3 ms round trip): 0.92 Erlang of connection
   demand per app instance. Pool sizes 1 to 16 per instance (waits of up to 100 ms, then
   ``pool_timeout``). Measured: mean and p99 latency, pool wait, timeouts. Boundary: the
   smallest pool whose p99 is within 10% of a 16-connection pool's.

Usage: ``python experiments/connection_pooling.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from db_study import app, arguments, conclude, crossing, database, mean, measure, save, scenario
from plotly.subplots import make_subplots

from simperf.units import parse_time

TABLE = {"users": {"rows": 1_000_000, "row_size": 300}}
QUERIES = {"user": {"table": "users", "where": ["id"]}}


def pooling_point(cpu: str, pooled: bool, args: object) -> dict[str, float]:
    db = database(
        cpu={"per_query": {"dist": "exponential", "mean": cpu}},
        primary={"memory": "4GiB", "max_connections": 2000},
        tables=TABLE,
        queries=QUERIES,
    )
    endpoints = {"get": [{"cpu": "100us"}, {"query": "user", "database": "db"}]}
    s = scenario(
        "connection_pooling",
        {"app": app(endpoints, pool=32 if pooled else None, replicas=2), "db": db},
        [{"name": "get", "entry": "app", "endpoint": "get"}],
        rate=200.0,
        duration=8 if args.quick else 60,  # type: ignore[attr-defined]
    )
    runs = measure(s, args)  # type: ignore[arg-type]
    cpu_per_request = (
        8
        * mean(runs, "databases.db.instances.db[primary].cpu_utilization")
        / mean(runs, "throughput")
    )
    return {
        "mean_ms": 1000 * mean(runs, "latency.all.mean"),
        "p99_ms": 1000 * mean(runs, "latency.all.p99"),
        "db_cpu_ms_per_request": 1000 * cpu_per_request,
        "db_capacity_per_s": 8 / cpu_per_request,
    }


def pool_size_point(size: int, args: object) -> dict[str, float]:
    db = database(
        cpu={"per_query": {"dist": "exponential", "mean": "2ms"}},
        primary={"cores": 32, "memory": "4GiB"},
        tables=TABLE,
        queries=QUERIES,
    )
    pooled = app({"get": [{"query": "user", "database": "db"}]}, pool=size, replicas=4)
    pooled["pool"]["max_wait"] = "100ms"
    s = scenario(
        "connection_pooling",
        {"app": pooled, "db": db},
        [{"name": "get", "entry": "app", "endpoint": "get"}],
        rate=1600.0,
        duration=8 if args.quick else 60,  # type: ignore[attr-defined]
    )
    runs = measure(s, args)  # type: ignore[arg-type]
    return {
        "mean_ms": 1000 * mean(runs, "latency.all.mean"),
        "p99_ms": 1000 * mean(runs, "latency.all.p99"),
        "pool_wait_mean_ms": 1000 * mean(runs, "databases.db.pools.app.wait.mean"),
        "pool_wait_p99_ms": 1000 * mean(runs, "databases.db.pools.app.wait.p99"),
        "pool_utilization": mean(runs, "databases.db.pools.app.utilization"),
        "timeouts": mean(runs, "databases.db.pools.app.timeouts"),
        "error_rate": mean(runs, "error_rate"),
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    cpus = (
        ["100us", "2ms"] if args.quick else ["50us", "100us", "200us", "500us", "1ms", "2ms", "5ms"]
    )
    rows = []
    for cpu in cpus:
        pooled = pooling_point(cpu, True, args)
        unpooled = pooling_point(cpu, False, args)
        rows.append(
            {
                "part": "pooling",
                "query_cpu": cpu,
                **{f"pooled_{k}": v for k, v in pooled.items()},
                **{f"unpooled_{k}": v for k, v in unpooled.items()},
                "latency_gain": unpooled["mean_ms"] / pooled["mean_ms"],
                "capacity_gain": pooled["db_capacity_per_s"] / unpooled["db_capacity_per_s"],
            }
        )
    sizes = [1, 16] if args.quick else [1, 2, 3, 4, 6, 8, 16]
    for size in sizes:
        rows.append({"part": "pool_size", "pool_size": size, **pool_size_point(size, args)})
    frame = pd.DataFrame(rows)
    pooling = frame[frame.part == "pooling"]
    q_ms = [parse_time(c) * 1000 for c in pooling.query_cpu]
    sized = frame[frame.part == "pool_size"].set_index("pool_size")
    reference = sized.p99_ms.iloc[-1]
    enough = [int(k) for k, p99 in sized.p99_ms.items() if p99 <= 1.1 * reference]
    boundaries = {
        "pooling cuts mean latency >= 5x while query CPU <= (ms)": _edge(
            q_ms, pooling.latency_gain, 5
        ),
        "pooling cuts mean latency >= 10x while query CPU <= (ms)": _edge(
            q_ms, pooling.latency_gain, 10
        ),
        "pooling raises database capacity >= 5x while query CPU <= (ms)": _edge(
            q_ms, pooling.capacity_gain, 5
        ),
        "latency gain at each query CPU": dict(
            zip(pooling.query_cpu, pooling.latency_gain.round(2), strict=True)
        ),
        "capacity gain at each query CPU": dict(
            zip(pooling.query_cpu, pooling.capacity_gain.round(2), strict=True)
        ),
        "smallest pool per instance with p99 within 10% of 16 connections": min(enough),
        "p99 (ms) by pool size": {int(k): round(v, 2) for k, v in sized.p99_ms.items()},
        "timeouts by pool size": {int(k): v for k, v in sized.timeouts.items()},
    }
    save("connection_pooling", frame, figure(frame), args)
    conclude("connection_pooling", boundaries, args)


def figure(frame: pd.DataFrame) -> go.Figure:
    """Gains of a pool against query CPU, and p99 and pool wait against pool size."""
    pooling = frame[frame.part == "pooling"]
    q_ms = [parse_time(c) * 1000 for c in pooling.query_cpu]
    sized = frame[frame.part == "pool_size"].set_index("pool_size")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("pool vs none", "pool size"))
    fig.add_scatter(x=q_ms, y=pooling.latency_gain, name="latency gain", row=1, col=1)
    fig.add_scatter(x=q_ms, y=pooling.capacity_gain, name="capacity gain", row=1, col=1)
    fig.add_scatter(x=list(sized.index), y=sized.p99_ms, name="p99 (ms)", row=1, col=2)
    fig.add_scatter(
        x=list(sized.index), y=sized.pool_wait_mean_ms, name="mean pool wait (ms)", row=1, col=2
    )
    fig.update_xaxes(title_text="query CPU (ms)", type="log", row=1, col=1)
    fig.update_xaxes(title_text="connections per app instance", row=1, col=2)
    fig.update_yaxes(title_text="gain (x)", row=1, col=1)
    fig.update_yaxes(title_text="milliseconds", type="log", row=1, col=2)
    fig.update_layout(title="Connection pooling")
    return fig


def _edge(x: list[float], y: pd.Series, level: float) -> float | str:
    edge = crossing(x, y.tolist(), level, log_x=True)
    if edge is not None:
        return round(edge, 3)
    return "everywhere on the grid" if (y >= level).all() else "nowhere on the grid"


if __name__ == "__main__":
    main()

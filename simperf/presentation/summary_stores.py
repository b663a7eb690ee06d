"""Sections of the text summary about stored state: databases, caches, CDNs, sessions,
rate limits and leaderboards."""

from __future__ import annotations

from typing import Any

from simperf.presentation.cells import (
    Column,
    multiple,
    pct,
    per_second,
    table_header,
    table_row,
)
from simperf.units import format_time


def databases(d: dict[str, Any]) -> list[str]:
    """Each database server, and pools, the queries dropped unserved (where any was),
    the queries by server time, shards."""
    databases = d.get("databases")
    if not databases:
        return []
    # a replica's storage also applies the primary's writes: real work, but no query's,
    # so its part of the storage column is shown beside it (query I/O is the rest)
    replicated = any(
        s.get("storage_replication_utilization")
        for db in databases.values()
        for s in db["instances"].values()
    )
    # connections opened per query against max_connections: the verdict's and headroom's
    # "connections" resource, shown where a server opened or refused any
    unpooled = any(
        "connection_occupancy" in s for db in databases.values() for s in db["instances"].values()
    )
    columns: list[Column] = [
        ("database server", -28, ""),
        ("cpu", 7, ""),
        ("storage", 9, ""),
        *([("of it repl", 12, "")] if replicated else []),
        *([("conns", 7, "")] if unpooled else []),
        ("queries", 11, ""),
        ("hit", 7, ""),
        ("stale", 7, ""),
    ]
    lines = ["", table_header(columns)]
    for name, db in databases.items():
        for server, s in db["instances"].items():
            hit = s["buffer_pool"]["hit_ratio"]
            values = [server, pct(s["cpu_utilization"]), pct(s["storage_utilization"])]
            if replicated:
                applied = s.get("storage_replication_utilization")
                values.append(pct(applied) if s["role"] != "primary" else "-")
            if unpooled:
                values.append(pct(s.get("connection_occupancy")))
            qps = per_second(s["qps"] or 0, ".4g")  # a rate, as every rate reads: 1235/s
            lines.append(table_row(columns, [*values, qps, pct(hit), s["stale_reads"]]))
        for app, pool in db["pools"].items():
            wait = pool["wait"]
            # busy over the connections the server accepted (named where it refused some)
            accepted = pool.get("accepted", pool["size"] * pool["instances"])
            fewer = accepted < pool["size"] * pool["instances"]
            lines.append(
                f"pool {app}->{name}: {pool['size']} x {pool['instances']}"
                + (f" ({accepted} accepted)" if fewer else "")
                + f", busy {pct(pool['utilization'])}, "
                f"wait mean {format_time(wait['mean'])} p99 {format_time(wait['p99'])}, "
                f"timeouts {pool['timeouts']}, refused {pool['refused']}"
            )
        if db.get("expired") or db.get("cancelled"):  # drop_expired: shown where it dropped
            lines.append(
                f"dropped by {name}: expired {db['expired']}, cancelled {db['cancelled']} "
                "(queries whose caller had gone, waiting for a core, storage or a connection)"
            )
        lines.extend(_query_lines(name, db))
        if "shards" in db:
            shards = db["shards"]
            lines.append(
                f"shards of {name}: {shards['count']} by {shards['routing']}, max/mean load "
                + multiple(shards["imbalance"])
            )
        lines.extend(_failover_lines(name, db.get("failover")))
    return lines


def _failover_lines(name: str, failover: dict[str, Any] | None) -> list[str]:
    """Each outage of a primary of ``name``: how long writes failed, what was lost."""
    lines = []
    for e in (failover or {}).get("events", []):
        if e["promoted"] is not None:
            how = f"{e['promoted']} promoted at {format_time(e['promoted_at'])}"
        elif e["recovered_at"] is not None:
            how = f"back at {format_time(e['recovered_at'])}"
        else:
            how = "not replaced by the end"
        lines.append(
            f"{e['server']} down at {format_time(e['failed_at'])}, {how}: writes unavailable "
            f"{format_time(e['write_unavailable'])}, {e['lost_writes']} writes lost"
        )
    return lines


def _query_lines(name: str, db: dict[str, Any]) -> list[str]:
    """The queries of one database by total server time (the first to optimise first)."""
    threshold = format_time(db["slow_queries"]["threshold"])
    called = [(q, s) for q, s in db["queries"].items() if s["calls"]]
    called.sort(key=lambda item: -item[1]["calls"] * item[1]["mean"])
    columns: list[Column] = [
        ("queries of " + name, -28, ""),
        ("calls", 9, ""),
        ("mean", 11, ""),
        ("p99", 11, ""),
        ("> " + threshold, 12, ""),
        ("share", 8, ""),
    ]
    lines = [table_header(columns)]
    for query, s in called:
        times = [format_time(s["mean"]), format_time(s["p99"])]
        lines.append(
            table_row(columns, ["  " + query, s["calls"], *times, s["slow"], pct(s["slow_share"])])
        )
    return lines if called else []


def caches(d: dict[str, Any]) -> list[str]:
    """Hit rate and counters per cache (none without caches)."""
    if not d.get("caches"):
        return []
    lines = ["", table_header(CACHE_COLUMNS)]
    for name, cache in d["caches"].items():
        lines.append(table_row(CACHE_COLUMNS, [name, *(cache[k] for k in CACHE_FIELDS)]))
    return lines


CACHE_FIELDS = (
    "hit_rate",
    "hits",
    "misses",
    "evictions",
    "expirations",
    "stale_reads",
    "lost_writes",
)
CACHE_COLUMNS: list[Column] = [
    ("cache", -16, ""),
    ("hit rate", 9, ".1%"),
    ("hits", 10, ""),
    ("misses", 10, ""),
    ("evictions", 11, ""),
    ("expired", 9, ""),
    ("stale", 8, ""),
    ("lost writes", 13, ""),
]


def cdns(d: dict[str, Any]) -> list[str]:
    """Hit rate and offload per CDN, its edges and shield (none without CDNs)."""
    if not d.get("cdns"):
        return []
    columns: list[Column] = [
        ("cdn", -16, ""),
        ("hit rate", 9, ".1%"),
        ("offload", 9, ".1%"),
        ("bytes off", 11, ".1%"),
        ("origin", 10, ""),
    ]
    lines = ["", table_header(columns)]
    for name, cdn in d["cdns"].items():
        parts = [(name, cdn)]
        parts += [(f"  edge {r}", e) for r, e in cdn["edges"].items()]
        if "shield" in cdn:
            parts.append(("  shield", cdn["shield"]))
        for label, m in parts:
            fields = ("hit_rate", "offload", "byte_offload", "origin_requests")
            lines.append(table_row(columns, [label, *(m[k] for k in fields)]))
        for region, edge in cdn["edges"].items():
            if edge.get("bypassed"):
                lines.append(
                    f"edge {region} of {name} down: {edge['bypassed']} requests went around "
                    f"it, {edge['bypassed_origin_requests']} of them to the origin"
                )
    return lines


def state(d: dict[str, Any]) -> list[str]:
    """Sessions, rate limiters and leaderboards (none if absent)."""
    lines: list[str] = []
    for name, report in (d.get("sessions") or {}).items():
        lines.append(
            f"sessions {name} ({report['store']}): active {report['active']}  "
            f"created {report['created']}  lost {report['lost']}  "
            f"reauthentications {report['reauthentications']}"
        )
    for name, report in (d.get("rate_limits") or {}).items():
        lines.append(
            f"rate limit {name}: admitted {report['admitted']}  rejected {report['rejected']}"
        )
    for name, report in (d.get("leaderboards") or {}).items():
        lines.append(f"leaderboard {name}: members {report['members']}  ops {report['ops']}")
    return ["", *lines] if lines else []

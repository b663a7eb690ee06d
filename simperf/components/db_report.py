"""The ``databases`` section of a result: what a DBA would look at, measured period only.

Computed beside the database, from its snapshots (as caches and CDNs report theirs).

``databases.<name>`` holds:

* ``instances``: per server, CPU and storage utilisation (``storage_replication_utilization``:
  the part of the storage's that applied the primary's writes, counted as each is applied,
  so a replica's query I/O is the rest), queries per second, rows
  examined, pages read, page misses and writes, the buffer pool (its size in pages, the
  model's hit ratios and the hit ratio observed), connections opened and refused, and
  where it opened or refused any per query, ``connection_occupancy`` (those in use,
  time-weighted, over the connections its ``max_connections`` leaves past the pools');
* ``queries``: per query what ``pg_stat_statements`` shows (calls, mean, p50, p99 and
  max time on the server, queueing included, rows returned, rows examined, pages read)
  and its slow-query log: ``slow`` executions above ``slow_query_threshold`` and their
  ``slow_share`` of its calls;
* ``slow_queries``: the threshold, executions slower than it (``count``, ``share`` of
  all calls) and their count per query (``by_query``, queries with none left out);
* ``indexes`` (``table -> index -> uses``, the primary key as ``PRIMARY``) and
  ``unused_indexes`` (``table.index``);
* ``pools``: per app server, its size, the connections the servers accepted
  (``accepted``, over its instances; ``usable`` per instance), acquisitions, the wait
  distribution, timeouts, refusals and how busy its accepted connections were
  (``utilization``, as the components' ``pool_occupancy`` and headroom count them);
* ``expired`` and ``cancelled``, where the database or a pool for it has
  ``drop_expired``: the queries dropped unserved because their deadline had passed or
  their caller had cancelled them, waiting for a core or storage (also per server, under
  ``instances``) or a connection (per app server, under ``pools``);
* ``connections`` (opened without a pool, refused), ``replication`` (lag, stale reads)
  and, for a sharded database, ``shards`` (queries per shard and max/mean imbalance);
* ``failover``, for a database a fault names: its primaries' outages (``events``: when
  each failed, was detected and replaced or recovered, which replica was promoted, the
  writes lost and ``write_unavailable`` seconds), ``promotions`` and ``lost_writes``.
"""

from __future__ import annotations

from typing import Any

from simperf.components.db_instance import ROLES
from simperf.dbcost.query_cost import PRIMARY
from simperf.metrics.samples import distribution


def snapshot(db: Any, now: float) -> dict[str, Any]:
    """Cumulative counters of a database component at ``now``."""
    return {
        "instances": {inst.name: inst.counters(now) for inst in db.servers},
        "queries": {name: s.samples.count for name, s in db.stats.items()},
        "routes": [[q.calls for q in route.queries] for route in db.routes.values()],
        "pools": {pool.owner: pool.counters(now) for pool in db.pools},
        "lags": db.lag_samples.count,
        "ryw_reads": db.ryw_reads,
        "fanouts": getattr(db, "fanouts", 0),
        "time": now,
    }


def _nested(flat: dict[tuple[str, str], Any]) -> dict[str, dict[str, Any]]:
    """``{(a, b): v}`` as ``{a: {b: v}}`` (result paths are dotted, so keys have no dots)."""
    nested: dict[str, dict[str, Any]] = {}
    for (a, b), value in flat.items():
        nested.setdefault(a, {})[b] = value
    return nested


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def report(db: Any, first: dict[str, Any], last: dict[str, Any], span: float) -> dict[str, Any]:
    """``databases.<name>`` from the first and last snapshots of the measured period."""
    out: dict[str, Any] = {"kind": db.kind}
    out["instances"] = _instances(db, first, last, span)
    out.update(_queries(db, first, last))
    out["pools"] = _pools(db, first, last, span)
    opened = sum(i["connections"]["opened"] for i in out["instances"].values())
    refused = sum(i["connections"]["refused"] for i in out["instances"].values())
    refused += sum(p["refused"] for p in out["pools"].values())
    out["connections"] = {"opened": opened, "refused": refused}
    # drop_expired: the queries dropped unserved, waiting for a core, storage or a connection
    dropping = [
        *(i for i in out["instances"].values() if "expired" in i),
        *(p for p in out["pools"].values() if "expired" in p),
    ]
    if dropping:
        out["expired"] = sum(d["expired"] for d in dropping)
        out["cancelled"] = sum(d["cancelled"] for d in dropping)
    out["replication"] = _replication(db, first, last, out["instances"])
    if db.failover is not None:
        out["failover"] = db.failover.report(last["time"] - span, last["time"])
    if db.shard_count > 1:
        loads = [0] * db.shard_count
        for inst in db.servers:
            loads[inst.shard] += out["instances"][inst.name]["queries"]
        mean = sum(loads) / len(loads)
        out["shards"] = {
            "count": db.shard_count,
            "routing": db.routing,
            "queries": loads,
            "imbalance": max(loads) / mean if mean else None,
            "fanout_queries": last["fanouts"] - first["fanouts"],
        }
    return out


def _instances(db: Any, first: dict[str, Any], last: dict[str, Any], span: float) -> dict[str, Any]:
    rows = {}
    for inst in db.servers:
        a, b = first["instances"][inst.name], last["instances"][inst.name]
        d = {k: b[k] - a[k] for k in b}
        model = db.models[inst.shard or 0][min(inst.role, 1)]
        rows[inst.name] = {
            "role": ROLES[inst.role],
            "shard": inst.shard,
            "cores": inst.capacity,
            "cpu_utilization": _ratio(d["busy_area"], inst.capacity * span),
            "storage_utilization": _ratio(d["io_area"], inst.io_depth * span),
            # the part of it applying the primary's writes (a replica's), not queries
            "storage_replication_utilization": _ratio(d["apply_io"], inst.io_depth * span),
            "queries": int(d["queries"]),
            "qps": _ratio(d["queries"], span),
            "rows_examined": int(d["rows_examined"]),
            "pages_read": int(d["pages_read"]),
            "page_misses": int(d["page_misses"]),
            "pages_written": int(d["pages_written"]),
            "writes_applied": int(d["writes_applied"]),
            "buffer_pool": {
                "pages": model.capacity,
                "fill": model.fill,
                "model_hit_ratio": _nested(model.hit),
                "hit_ratio": None
                if not d["pool_pages"]
                else 1.0 - d["page_misses"] / d["pool_pages"],
            },
            "connections": {
                "opened": int(d["opened"]),
                "refused": int(d["refused"]),
                "peak": inst.open_peak,
                "max_connections": inst.max_connections,
                "held_by_pools": inst.reserved,
            },
            "stale_reads": int(d["stale_reads"]),
        }
        if d["opened"] or d["refused"]:
            # connections opened per query, time-weighted over those the pools left it:
            # the components' and headroom's connection_occupancy, where the verdict's
            # "connection limit" is read
            rows[inst.name]["connection_occupancy"] = _ratio(
                d["connection_area"], inst.unpooled * span
            )
        if "expired" in d:  # drop_expired: dropped waiting for a core or storage
            rows[inst.name]["expired"] = int(d["expired"])
            rows[inst.name]["cancelled"] = int(d["cancelled"])
    return rows


def _queries(db: Any, first: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    totals: dict[str, dict[str, int]] = {
        name: {"rows": 0, "rows_examined": 0, "pages_read": 0} for name in db.stats
    }
    indexes: dict[tuple[str, str], int] = {}
    for t, table in db.spec.tables.items():
        indexes[(t, PRIMARY)] = 0
        for i in table.indexes:
            indexes[(t, i)] = 0
    routes = list(db.routes.values())
    for r, route in enumerate(routes):
        before = first["routes"][r] if r < len(first["routes"]) else [0] * len(route.queries)
        for s, q in enumerate(route.queries):
            calls = last["routes"][r][s] - before[s]
            if not calls:
                continue
            p = q.plan
            total = totals[route.name]
            total["rows"] += calls * p.rows_returned
            total["rows_examined"] += calls * p.rows_examined
            total["pages_read"] += calls * p.pages_read
            if p.index is not None:
                indexes[(p.table, p.index)] += calls
            if p.join_table is not None and p.join_index not in (None, "scan"):
                indexes[(p.join_table, p.join_index)] += calls * p.rows_returned
    queries = {}
    slow: dict[str, int] = {}
    threshold = db.spec.slow_query_threshold
    for name, stats in db.stats.items():
        dist = stats.samples.distribution(first["queries"][name], last["queries"][name])
        calls = dist.pop("count")
        slow_calls = dist.pop("over")
        queries[name] = {
            "calls": calls,
            **dist,
            "slow": slow_calls,
            "slow_share": _ratio(slow_calls, calls),
            **totals[name],
            "rows_per_call": _ratio(totals[name]["rows"], calls),
        }
        if slow_calls:
            slow[name] = slow_calls
    calls = sum(q["calls"] for q in queries.values())
    return {
        "queries": queries,
        "slow_queries": {
            "threshold": threshold,
            "count": sum(slow.values()),
            "share": _ratio(sum(slow.values()), calls),
            "by_query": slow,
        },
        "indexes": _nested(indexes),
        "unused_indexes": [f"{t}.{i}" for (t, i), v in indexes.items() if v == 0 and i != PRIMARY],
    }


def _pools(db: Any, first: dict[str, Any], last: dict[str, Any], span: float) -> dict[str, Any]:
    grouped: dict[str, list[Any]] = {}
    for pool in db.pools:
        grouped.setdefault(pool.component, []).append(pool)
    out = {}
    for app, pools in grouped.items():
        waits = []
        timeouts = refused = 0
        area = 0.0
        for pool in pools:
            a, b = first["pools"][pool.owner], last["pools"][pool.owner]
            waits.append((pool.wait_samples, a["waits"], b["waits"]))
            timeouts += b["timeouts"] - a["timeouts"]
            refused += b["refused"] - a["refused"]
            area += b["in_use_area"] - a["in_use_area"]
        wait = distribution(waits)
        waited = wait.pop("over")
        # the connections the servers accepted: those past max_connections were refused
        # when the pools opened them, so only these can be busy (as headroom counts them)
        accepted = sum(p.usable for p in pools)
        out[app] = {
            "size": pools[0].size,
            "instances": len(pools),
            "usable": [p.usable for p in pools],
            "accepted": accepted,
            "acquisitions": wait["count"],
            "wait": wait,
            "waited": waited,
            "timeouts": int(timeouts),
            "refused": int(refused),
            "utilization": _ratio(area, accepted * span),
        }
        if "expired" in first["pools"][pools[0].owner]:  # drop_expired: dropped waiting
            for counter in ("expired", "cancelled"):
                out[app][counter] = int(
                    sum(
                        last["pools"][p.owner][counter] - first["pools"][p.owner][counter]
                        for p in pools
                    )
                )
    return out


def _replication(
    db: Any, first: dict[str, Any], last: dict[str, Any], instances: dict[str, Any]
) -> dict[str, Any]:
    replica_reads = sum(i["queries"] for i in instances.values() if i["role"] == "replica")
    stale = sum(i["stale_reads"] for i in instances.values())
    return {
        "replicas": db.spec.read_replicas,
        "lag": {
            k: v
            for k, v in db.lag_samples.distribution(first["lags"], last["lags"]).items()
            if k != "over"
        },
        "replica_reads": replica_reads,
        "stale_reads": stale,
        "stale_read_rate": _ratio(stale, replica_reads),
        "primary_reads_after_write": last["ryw_reads"] - first["ryw_reads"],
    }


SERVER_TOTALS = (
    "queries",
    "qps",
    "rows_examined",
    "pages_read",
    "page_misses",
    "pages_written",
    "writes_applied",
    "stale_reads",
)
"""A server's figures that add up over the servers to the whole database's."""


def totals(report: dict[str, Any]) -> dict[str, Any]:
    """The whole database's figures from its ``databases.<name>`` report, for the frame's
    ``all`` row: its servers' load summed, its queries' calls, rows and slow executions
    summed with their call-weighted mean time and the largest, its pools' acquisitions,
    waits and timeouts, and the connections opened and refused. A server's utilisation, a
    pool's, and percentiles over all queries (no sample is kept across them) have none.

    Examples
    --------
    >>> report = {
    ...     "instances": {"db[primary]": {"queries": 3, "qps": 1.5}},
    ...     "queries": {
    ...         "a": {"calls": 1, "mean": 0.1, "max": 0.1, "rows": 1, "slow": 0},
    ...         "b": {"calls": 2, "mean": 0.4, "max": 0.5, "rows": 4, "slow": 1},
    ...     },
    ...     "pools": {},
    ...     "connections": {"opened": 3, "refused": 0},
    ...     "replication": {"replica_reads": 0},
    ... }
    >>> figures = totals(report)
    >>> figures["calls"], round(figures["mean"], 12), figures["max"], figures["slow_share"]
    (3, 0.3, 0.5, 0.3333333333333333)
    """
    servers = list(report["instances"].values())
    out: dict[str, Any] = {}
    for key in SERVER_TOTALS:
        values = [s[key] for s in servers if key in s]
        if values:  # qps is None over a period of no time
            out[key] = None if None in values else sum(values)
    called = [q for q in report["queries"].values() if q["calls"]]
    calls = sum(q["calls"] for q in report["queries"].values())
    rows = sum(q["rows"] for q in report["queries"].values())
    slow = sum(q["slow"] for q in report["queries"].values())
    out.update(
        calls=calls,
        mean=_ratio(sum(q["calls"] * q["mean"] for q in called), calls),
        max=max((q["max"] for q in called), default=None),
        rows=rows,
        rows_per_call=_ratio(rows, calls),
        slow=slow,
        slow_share=_ratio(slow, calls),
        replica_reads=report["replication"]["replica_reads"],
        opened=report["connections"]["opened"],
        refused=report["connections"]["refused"],
    )
    pools = list(report["pools"].values())
    if pools:
        for key in ("acquisitions", "waited", "timeouts"):
            out[key] = sum(p[key] for p in pools)
    return out

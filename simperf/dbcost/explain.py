"""EXPLAIN: per query, the access path, index, rows, pages and expected times.

Built from the same functions the runtime uses (:func:`simperf.dbcost.query_cost.plan`
and :func:`pool_models`), so what EXPLAIN prints is what the simulation charges (before
queueing). Each catalogue query is shown as written, and again for every distinct page
option (``limit``, ``offset``, ``pagination``) an endpoint step runs it with.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from simperf.dbcost.buffer_pool import PoolModel, pool_model, shards_of
from simperf.dbcost.mix import Variant, query_rates
from simperf.dbcost.query_cost import Layout, Plan, expected_times, plan
from simperf.keys import popularity_probabilities
from simperf.spec.database import AnyDatabaseSpec
from simperf.spec.database_refs import is_database
from simperf.spec.scenario import Scenario
from simperf.spec.tables import TableSpec
from simperf.units import format_time


def layout_of(spec: AnyDatabaseSpec) -> Layout:
    """The page geometry of a database."""
    return Layout(spec.page_size, spec.index_entry_size)


def shard_count(spec: AnyDatabaseSpec) -> int:
    return spec.shard_count


def plan_variant(spec: AnyDatabaseSpec, variant: Variant) -> Plan:
    """The plan of a variant on one shard (the whole table when not sharded)."""
    return plan(
        spec.queries[variant.query],
        spec.tables,
        layout_of(spec),
        limit=variant.limit,
        offset=variant.offset,
        pagination=variant.pagination,
        rows_scale=1.0 / shard_count(spec),
    )


def variants_of(scenario: Scenario, name: str) -> dict[Variant, float]:
    """Every variant the workload runs on database ``name``, with its rate per request.

    The catalogue's queries are always included (rate 0 when unused). When no traffic
    reaches the database at all, every catalogue query counts once.
    """
    spec = scenario.components[name]
    mix = dict(query_rates(scenario).get(name, {}))
    if not any(mix.values()):
        mix = {Variant(q): 1.0 for q in spec.queries}
    for q in spec.queries:
        mix.setdefault(Variant(q), 0.0)
    return mix


def pool_models(scenario: Scenario, name: str) -> list[tuple[PoolModel, PoolModel]]:
    """(primary, replica) buffer-pool models of each shard of database ``name``."""
    spec = scenario.components[name]
    assert is_database(spec)
    shards = shard_count(spec)
    routing = getattr(spec, "routing", "hash")
    # Page reads per request: of queries every shard runs (None), and of queries routed
    # to one shard by a key of a table, which each shard gets its keys' share of.
    reads: dict[str | None, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    for variant, rate in variants_of(scenario, name).items():
        p = plan_variant(spec, variant)
        query = spec.queries[variant.query]
        rates = reads[query.table if shards > 1 and spec.single_shard(variant.query) else None]
        if p.heap_pages:
            rates[(p.table, p.pattern)] += rate * p.heap_pages
        if p.join_table is not None and p.join_heap_pages:
            rates[(p.join_table, p.join_pattern)] += rate * p.join_heap_pages
    shares = {
        table: key_shares(spec.tables[table], scenario, shards, routing)
        for table in reads
        if table is not None
    }
    models = []
    for shard in range(shards):
        mine: dict[tuple[str, str], float] = defaultdict(float, reads.get(None, {}))
        for table, routed in reads.items():
            if table is not None:
                for where, value in routed.items():
                    mine[where] += value * shares[table][shard]
        args = (spec.tables, scenario.keyspaces, layout_of(spec))
        kw: dict[str, Any] = {"shard": shard, "shards": shards, "routing": routing}
        primary = pool_model(*args, spec.primary.memory, dict(mine), **kw)
        replica = pool_model(*args, spec.replica_spec.memory, dict(mine), **kw)
        models.append((primary, replica))
    return models


UNIFORM_KEYS_LISTED = 1 << 22
"""Largest uniform key space whose keys are each hashed to find the shares of the shards
(past it, the hash spreads them evenly to within a few keys in a million)."""


def key_shares(table: TableSpec, scenario: Scenario, shards: int, routing: str) -> np.ndarray:
    """The share of a table's key draws (its key space's, else uniform over its rows)
    that each shard owns: the share of the queries routed by that key it receives."""
    if table.keyspace:
        keyspace = scenario.keyspaces[table.keyspace]
        weights = popularity_probabilities(keyspace)
        owner = shards_of(np.arange(keyspace.keys), shards, routing, keyspace.keys)
        return np.bincount(owner, weights=weights, minlength=shards)
    space = table.rows  # keys uniform over the rows, which may be too many to list
    if routing == "range":  # shard i owns the keys k with floor(k N / K) = i
        starts = -(-np.arange(shards + 1) * space // shards)
        return np.diff(np.minimum(starts, space)) / space
    if space > UNIFORM_KEYS_LISTED:
        return np.full(shards, 1.0 / shards)
    owner = shards_of(np.arange(space), shards, routing, space)
    return np.bincount(owner, minlength=shards) / space


def hottest_share(table: TableSpec, scenario: Scenario) -> float:
    """The share of a table's key draws that its most popular key takes (uniform over
    its rows without a key space): what no routing can split."""
    if table.keyspace:
        return float(popularity_probabilities(scenario.keyspaces[table.keyspace]).max())
    return 1.0 / table.rows


def hit_ratios(model: PoolModel, p: Plan) -> tuple[float, float]:
    """(table, joined table) hit ratios of a plan in a pool."""
    join = model.ratio(p.join_table, p.join_pattern) if p.join_table else 1.0
    return model.ratio(p.table, p.pattern), join


def explain(scenario: Scenario) -> pd.DataFrame:
    """One row per (database, query variant): access path, index, rows, pages and times.

    Times are expected values on the primary (shard 0 of a sharded database), without
    queueing: ``service`` is CPU plus I/O, ``round_trip`` adds network and transfer.
    """
    rows = []
    for name, spec in scenario.components.items():
        if not is_database(spec):
            continue
        model = pool_models(scenario, name)[0][0]
        for variant, rate in sorted(
            variants_of(scenario, name).items(), key=lambda kv: _order(spec, kv[0])
        ):
            p = plan_variant(spec, variant)
            hit, join_hit = hit_ratios(model, p)
            times = expected_times(p, spec, spec.primary, hit, join_hit)
            label = variant_label(variant)
            rows.append(
                {
                    "database": name,
                    "query": label,
                    "table": p.table,
                    "op": p.op,
                    "access": p.access,
                    "index": p.index if p.index is not None else "-",
                    "join": f"{p.join_table} via {p.join_index}" if p.join_table else "-",
                    "rows_examined": p.rows_examined,
                    "rows_returned": p.rows_returned,
                    "pages_read": p.pages_read,
                    "pages_written": p.pages_written,
                    "hit_ratio": hit,
                    "cpu": times["cpu"],
                    "io": times["io"],
                    "service": times["service"],
                    "round_trip": times["round_trip"],
                    "calls_per_request": rate,
                    "fanout": shard_count(spec) if _fans_out(spec, variant.query) else 1,
                }
            )
    return pd.DataFrame(rows)


def variant_label(variant: Variant) -> str:
    """``name``, or ``name limit 20 offset 1000 keyset`` for a step's page options."""
    parts = [variant.query]
    if variant.limit is not None:
        parts.append(f"limit {variant.limit}")
    if variant.offset:
        parts.append(f"offset {variant.offset}")
    if variant.pagination != "offset":
        parts.append(variant.pagination)
    return " ".join(parts)


def _order(spec: AnyDatabaseSpec, variant: Variant) -> tuple[int, int, int, int]:
    names = list(spec.queries)
    return (
        names.index(variant.query),
        variant != Variant(variant.query),
        variant.offset,
        variant.limit or 0,
    )


def _fans_out(spec: AnyDatabaseSpec, query: str) -> bool:
    return not spec.single_shard(query)


def unused_indexes(scenario: Scenario, name: str) -> list[str]:
    """Indexes of database ``name`` that no query the workload runs would use."""
    spec = scenario.components[name]
    used = set()
    for variant, rate in variants_of(scenario, name).items():
        if rate > 0:
            p = plan_variant(spec, variant)
            used.add((p.table, p.index))
            if p.join_table:
                used.add((p.join_table, p.join_index))
    return [
        f"{t}.{i}" for t, table in spec.tables.items() for i in table.indexes if (t, i) not in used
    ]


def has_pool(caller: Any, database: str) -> bool:
    """Whether ``caller`` (a component's spec) holds a connection pool for ``database``."""
    return any(pool.database == database for pool in getattr(caller, "pools", ()))


def unpooled_callers(scenario: Scenario, name: str) -> list[str]:
    """App servers reaching database ``name`` without a pool for it: each of their queries
    opens a connection (``connection.handshake``, then ``startup`` on a database core)."""
    out = []
    for caller, spec in scenario.components.items():
        if spec.kind != "app_server" or has_pool(spec, name):
            continue
        endpoints = spec.endpoint_names(scenario)
        if any(f.component == name for e in endpoints for f in spec.forwards(scenario, e)):
            out.append(caller)
    return out


def explain_text(scenario: Scenario) -> str:
    """EXPLAIN as an aligned text table, with each database's unused indexes."""
    frame = explain(scenario)
    if frame.empty:
        return f"scenario {scenario.name}: no databases"
    lines = []
    for name, rows in frame.groupby("database", sort=False):
        records = rows.to_dict("records")
        for row in records:
            row["index"] += f" + {row['join']}" if row["join"] != "-" else ""
        width = max(len("query"), *(len(r["query"]) for r in records)) + 2
        iwidth = max(len("index"), *(len(r["index"]) for r in records)) + 2
        lines.append(f"database {name}")
        header = (
            f"  {'query':<{width}}{'access':<14}{'index':<{iwidth}}{'examined':>10}"
            f"{'returned':>10}{'pages':>9}{'hit':>7}{'service':>11}{'round trip':>12}"
            f"{'per req':>9}"
        )
        lines.append(header)
        for row in records:
            lines.append(
                f"  {row['query']:<{width}}{row['access']:<14}{row['index']:<{iwidth}}"
                f"{row['rows_examined']:>10}{row['rows_returned']:>10}{row['pages_read']:>9}"
                f"{row['hit_ratio']:>7.1%}{format_time(row['service']):>11}"
                f"{format_time(row['round_trip']):>12}{row['calls_per_request']:>9.3g}"
                + (f"  x{row['fanout']} shards" if row["fanout"] > 1 else "")
            )
        unused = unused_indexes(scenario, str(name))
        lines.append(f"  unused indexes: {', '.join(unused) if unused else 'none'}")
        unpooled = unpooled_callers(scenario, str(name))
        if unpooled:
            connection = scenario.components[str(name)].connection
            lines.append(
                f"  no pool at {', '.join(unpooled)}: each query also opens a connection, "
                f"{format_time(connection.handshake.mean)} handshake + "
                f"{format_time(connection.startup.mean)} start-up on a database core"
            )
        lines.append("")
    return "\n".join(lines).rstrip()

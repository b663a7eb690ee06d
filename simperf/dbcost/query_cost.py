"""What a query costs, from its table's size and indexes alone (no simulation).

The same functions serve ``simperf explain`` and the runtime database, so the two agree
by construction. The formula (documented with examples in ``docs/databases.md``):

Notation, for a table of ``N`` rows of ``s`` bytes on pages of ``B`` bytes with index
entries of ``e`` bytes: ``R = max(1, B // s)`` rows per page, ``P = ceil(N / R)`` heap
pages, ``f = max(2, B // e)`` B-tree fan-out and ``h = min{k >= 1 : f^k >= N}`` index
height. A column with ``d`` distinct values (the primary key: ``N``) matches ``N / d``
rows; a set of columns ``C`` matches ``m(C) = min(N, max(1, ceil(N / prod d(c))))`` rows
(independent columns, as planners assume), ``m({}) = N``.

1. Access path. An index (the primary key is one) is usable when its first column is
   filtered; it is used by its longest leading prefix ``u`` of filtered columns, and
   reaching those rows examines ``E = m(u)`` rows. The usable index with the smallest
   ``E`` wins (the primary key on ties, then declaration order). ``index``: the prefix
   covers every filtered column; ``index prefix``: other filters are applied to the
   ``E`` rows fetched; ``scan``: no usable index, ``E = N``.
2. Rows. ``M = m(where)`` match; with ``limit L`` (default unbounded) and ``offset O``,
   ``returned = max(0, min(M - O, L))``. Offset pagination reads and discards the first
   ``O`` matches: it must find ``W = min(M, O + L)`` matching rows; keyset pagination
   seeks past them through the index, ``W = returned``. Without a filter, keyset pages
   walk the primary key (``WHERE id > last ORDER BY id``: access ``index`` on
   ``PRIMARY``); with a filter no index serves, there is nothing to seek with and keyset
   costs what offset does. Matches are spread evenly among the ``E`` candidate rows, so
   ``X = min(E, ceil(W * E / M))`` rows are examined.
3. Pages. Index: ``h + ceil(X / f) - 1`` index pages (the descent, then leaf pages) and
   heap pages ``ceil(X / R)`` through the clustered primary key, or ``min(X, P)``
   through a secondary index (one page per row). Scan: ``min(P, ceil(X / R))`` heap
   pages, no index pages. Pages read = index pages + heap pages.
4. Join (eager loading). Each returned row looks up the joined table on its ``column`` with the
   rules above (no limit); its rows examined and pages are added ``returned`` times and
   the result has ``returned x M_join`` rows.
5. Writes. An insert writes 1 row; update and delete write the ``returned`` rows they
   match. Each row written is one heap page write plus one per maintained secondary
   index (insert and delete: all of them; update: those on an updated column).
6. Time. CPU = ``per_query`` + ``per_row x X`` + ``per_page x pages read`` +
   ``per_row_written x rows written`` + ``per_index_write x index entries``. Index pages
   are assumed to stay in the buffer pool; each heap page misses it with probability
   ``1 - hit`` (:mod:`simperf.dbcost.buffer_pool`) and a miss costs ``read_latency``;
   each page write costs ``write_latency`` (both rounded up to whole ``1 / iops``, see
   :func:`storage_times`). Service = CPU + I/O; a round trip adds ``rtt`` and
   ``bytes returned / bandwidth``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simperf.spec.database import AnyDatabaseSpec, DbInstanceSpec, QueryCpuSpec, StorageSpec
from simperf.spec.tables import QuerySpec, TableSpec

PRIMARY = "PRIMARY"
"""Name under which the primary-key index is reported."""


@dataclass(frozen=True)
class Layout:
    """Page geometry shared by a database's tables."""

    page_size: int = 8192
    index_entry_size: int = 32

    def rows_per_page(self, table: TableSpec) -> int:
        return max(1, self.page_size // table.row_size)

    def pages(self, table: TableSpec, rows: int | None = None) -> int:
        n = table.rows if rows is None else rows
        return -(-n // self.rows_per_page(table))

    @property
    def fanout(self) -> int:
        return max(2, self.page_size // self.index_entry_size)

    def height(self, rows: int) -> int:
        """B-tree height: the smallest k >= 1 with fanout^k >= rows."""
        height, reach = 1, self.fanout
        while reach < rows:
            reach *= self.fanout
            height += 1
        return height


@dataclass(frozen=True)
class Plan:
    """The access path and work of one query execution (one row of EXPLAIN)."""

    table: str
    op: str
    access: str
    index: str | None
    index_columns: tuple[str, ...]
    rows_matched: int
    rows_examined: int
    rows_returned: int
    index_pages: int
    heap_pages: int
    pattern: str
    join_table: str | None = None
    join_index: str | None = None
    join_heap_pages: int = 0
    join_pattern: str = "uniform"
    rows_written: int = 0
    index_writes: int = 0
    pages_written: int = 0
    bytes_returned: int = 0

    @property
    def pages_read(self) -> int:
        """Logical page reads: index pages plus heap pages (joined table's included)."""
        return self.index_pages + self.heap_pages + self.join_heap_pages

    @property
    def is_write(self) -> bool:
        return self.op != "select"


def matching_rows(table: TableSpec, columns: list[str] | tuple[str, ...]) -> int:
    """``m(C)``: rows matching equality on every column of ``C`` (all rows for none)."""
    n = table.rows
    if not columns:
        return n
    product = 1
    for column in columns:
        product *= table.distinct(column)
        if product >= n:
            return 1
    return min(n, max(1, -(-n // product)))


def _candidates(table: TableSpec) -> list[tuple[str, tuple[str, ...]]]:
    return [(PRIMARY, (table.primary_key,))] + [
        (name, tuple(index.columns)) for name, index in table.indexes.items()
    ]


def access_path(table: TableSpec, where: list[str]) -> tuple[str, str | None, tuple[str, ...], int]:
    """(access, index, prefix used, rows to examine for all matches) for an equality filter."""
    wanted = set(where)
    best: tuple[int, str, tuple[str, ...]] | None = None
    for name, columns in _candidates(table):
        used: list[str] = []
        for column in columns:
            if column not in wanted:
                break
            used.append(column)
        if not used:
            continue
        examined = matching_rows(table, used)
        if best is None or examined < best[0]:
            best = (examined, name, tuple(used))
    if best is None:
        return "scan", None, (), table.rows
    examined, name, used = best
    access = "index" if set(used) >= wanted else "index prefix"
    return access, name, used, examined


def _maintained_indexes(table: TableSpec, query: QuerySpec) -> int:
    if query.op != "update" or query.updates is None:
        return len(table.indexes)
    changed = set(query.updates)
    return sum(1 for index in table.indexes.values() if changed & set(index.columns))


def plan(
    query: QuerySpec,
    tables: dict[str, TableSpec],
    layout: Layout,
    *,
    limit: int | None = None,
    offset: int = 0,
    pagination: str = "offset",
    rows_scale: float = 1.0,
) -> Plan:
    """The plan of one execution of ``query``.

    Parameters
    ----------
    query, tables, layout
        The query, its database's tables and their page geometry.
    limit, offset, pagination
        Page options of the calling step (``limit`` defaults to the query's own).
    rows_scale
        Fraction of every table's rows held here (``1 / shards`` on one shard).
    """
    table = _scaled(tables[query.table], rows_scale)
    limit = limit if limit is not None else query.limit
    if query.op == "insert":
        maintained = len(table.indexes)
        return Plan(
            table=query.table,
            op="insert",
            access="insert",
            index=None,
            index_columns=(),
            rows_matched=0,
            rows_examined=0,
            rows_returned=0,
            index_pages=0,
            heap_pages=0,
            pattern="point",
            rows_written=1,
            index_writes=maintained,
            pages_written=1 + maintained,
        )
    access, index, used, candidates = access_path(table, query.where)
    if pagination == "keyset" and not query.where:
        access, index = "index", PRIMARY  # walk the primary key from the last key seen
    matched = matching_rows(table, query.where)
    cap = limit if limit is not None else matched
    returned = max(0, min(matched - offset, cap))
    keyset = pagination == "keyset" and access != "scan"
    wanted = returned if keyset else min(matched, offset + cap)
    examined = min(candidates, -(-wanted * candidates // matched))
    index_pages, heap_pages = _pages(table, layout, access, index, examined)
    pattern = "point" if index == PRIMARY else "uniform"
    written = returned if query.is_write else 0
    maintained = _maintained_indexes(table, query)
    result = dict(
        table=query.table,
        op=query.op,
        access=access,
        index=index,
        index_columns=used,
        rows_matched=matched,
        rows_examined=examined,
        rows_returned=0 if query.is_write else returned,
        index_pages=index_pages,
        heap_pages=heap_pages,
        pattern=pattern,
        rows_written=written,
        index_writes=written * maintained,
        pages_written=written * (1 + maintained),
        bytes_returned=0 if query.is_write else returned * table.row_size,
    )
    if query.join is not None and returned:
        inner = _scaled(tables[query.join.table], rows_scale)
        j_access, j_index, _, j_candidates = access_path(inner, [query.join.column])
        j_matched = matching_rows(inner, [query.join.column])
        j_index_pages, j_heap = _pages(inner, layout, j_access, j_index, j_candidates)
        rows = returned * j_matched
        result.update(
            join_table=query.join.table,
            join_index=j_index if j_index is not None else "scan",
            rows_examined=examined + returned * j_candidates,
            rows_returned=rows,
            index_pages=index_pages + returned * j_index_pages,
            join_heap_pages=returned * j_heap,
            join_pattern="point" if j_index == PRIMARY else "uniform",
            bytes_returned=rows * (table.row_size + inner.row_size),
        )
    return Plan(**result)  # type: ignore[arg-type]


def _pages(
    table: TableSpec, layout: Layout, access: str, index: str | None, examined: int
) -> tuple[int, int]:
    """(index pages, heap pages) to examine ``examined`` rows by this access path."""
    per_page = layout.rows_per_page(table)
    total = layout.pages(table)
    if access == "scan":
        return 0, min(total, -(-examined // per_page))
    index_pages = layout.height(table.rows) + max(0, -(-examined // layout.fanout) - 1)
    if index == PRIMARY:
        return index_pages, min(total, -(-examined // per_page))
    return index_pages, min(examined, total)


def _scaled(table: TableSpec, scale: float) -> TableSpec:
    if scale == 1.0:
        return table
    return table.model_copy(update={"rows": max(1, math.ceil(table.rows * scale))})


def cpu_time(plan: Plan, cpu: QueryCpuSpec) -> float:
    """CPU of one execution except the per-query overhead (which is sampled)."""
    return (
        cpu.per_row * plan.rows_examined
        + cpu.per_page * plan.pages_read
        + cpu.per_row_written * plan.rows_written
        + cpu.per_index_write * plan.index_writes
    )


def storage_times(storage: StorageSpec) -> tuple[int, float, float]:
    """(I/Os in flight, time per page read, time per page write) of a storage spec.

    Storage serves ``c = ceil(iops x read_latency)`` page I/Os at once (at least one)
    and each latency is rounded up to a whole number of ``1 / iops``: a read takes
    ``c / iops``, so unloaded reads take (about) ``read_latency`` and saturated storage
    reads exactly ``iops`` pages per second; a write takes ``write_latency`` rounded the
    same way on its own, so it does not depend on the read latency (only the number of
    slots it queues for does). With a zero read latency the write latency sets ``c``.
    """
    base = storage.read_latency or storage.write_latency
    if base <= 0:
        return 1, 0.0, 0.0
    depth = max(1, _whole_ios(storage.iops, base))
    read = _whole_ios(storage.iops, storage.read_latency) / storage.iops
    write = _whole_ios(storage.iops, storage.write_latency) / storage.iops
    return depth, read, write


def _whole_ios(iops: float, latency: float) -> int:
    """``latency`` in whole ``1 / iops``, rounded up (a product a hair above an integer,
    e.g. 10k/s x 300us, is that integer)."""
    return math.ceil(iops * latency - 1e-9)


def expected_misses(plan: Plan, hit: float, join_hit: float = 1.0) -> float:
    """Expected heap pages read from storage: each misses the buffer pool independently."""
    return plan.heap_pages * (1.0 - hit) + plan.join_heap_pages * (1.0 - join_hit)


def expected_times(
    plan: Plan, spec: AnyDatabaseSpec, instance: DbInstanceSpec, hit: float, join_hit: float = 1.0
) -> dict[str, float]:
    """Expected CPU, I/O, service (no queueing) and round-trip time of one execution.

    ``spec`` is the database (CPU costs, ``rtt``, ``bandwidth``), ``instance`` the server
    it runs on (storage latencies); ``hit`` and ``join_hit`` the buffer-pool hit ratios.
    """
    cpu = spec.cpu.per_query.mean + cpu_time(plan, spec.cpu)
    _, read, write = storage_times(instance.storage)
    io = expected_misses(plan, hit, join_hit) * read + plan.pages_written * write
    transfer = spec.rtt + plan.bytes_returned / spec.bandwidth
    return {"cpu": cpu, "io": io, "service": cpu + io, "round_trip": cpu + io + transfer}

"""Database specs: instances, replicas, shards, pools and query steps (its tables and
queries are in :mod:`simperf.spec.tables`).

A ``database`` component is a primary and ``read_replicas`` instances (each with cores, a
buffer pool of ``memory``, storage and ``max_connections``) answering named queries on
its tables; its endpoints are the query names, so ``{call: main.product_by_id}`` works. A
``sharded_database`` is ``shards`` such databases, the rows of every table split by hash or
by range of its shard key. What a query costs follows from the tables and indexes alone
(:mod:`simperf.dbcost.query_cost`, the formula documented in ``docs/databases.md``).

App servers reach databases with query steps (``{query: NAME, database: DB, repeat: N}``)
and may hold a connection pool per database (``pool: {database, size, max_wait}``).
Cross-references (tables, columns, key spaces, pools) are checked by
:mod:`simperf.spec.database_refs` from the scenario's validator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from simperf.spec.base import (
    MAX_COUNT,
    MAX_TIME,
    Bandwidth,
    Rate,
    SpecModel,
    Time,
)
from simperf.spec.cost import CostSpec
from simperf.spec.distributions import Constant, Distribution
from simperf.spec.instances import TypeName, type_problems
from simperf.spec.kind import QUERY, ComponentKind, Forward, StepKind
from simperf.spec.resilience import drop_problems
from simperf.spec.scaling import ScalingSpec
from simperf.spec.tables import (
    MAX_BYTES,
    MAX_ROWS,
    ByteSize,
    Name,
    QuerySpec,
    TableSpec,
    _columns_of,
)

if TYPE_CHECKING:
    from simperf.spec.scenario import Scenario


class StorageSpec(SpecModel):
    """Block storage: per-page latencies and an IOPS limit beyond which I/O queues.

    It serves ``ceil(iops x read_latency)`` I/Os at once, each query's pages one after
    another, so reads top out at ``iops`` pages per second (each latency is rounded up to
    a whole ``1 / iops`` on its own).
    """

    read_latency: Time = Field(100e-6, ge=0, le=10, description="random page read")
    write_latency: Time = Field(100e-6, ge=0, le=10, description="page write")
    iops: Rate = Field(10_000.0, gt=0, le=1e9, description="page I/Os per second at most")


class DbInstanceSpec(SpecModel):
    """One database server: cores, a buffer pool, storage and a connection limit."""

    cores: int = Field(4, ge=1, le=1024, description="CPU cores")
    instance_type: TypeName | None = Field(
        None,
        description="instance type of the catalogue (r.2xlarge): sets cores, the buffer "
        "pool (75% of its memory) and the price",
    )
    scaling: ScalingSpec | None = Field(
        None,
        description="USL {alpha, beta}: query CPU slows as more queries are in service "
        "(default: linear scaling)",
    )
    memory: ByteSize = Field(
        2**30, ge=0, le=MAX_BYTES, description="buffer pool size (bytes) caching table pages"
    )
    storage: StorageSpec = Field(default_factory=StorageSpec, description="block storage")
    max_connections: int = Field(
        100, ge=1, le=MAX_COUNT * 10, description="connections the server accepts at most"
    )


class QueryCpuSpec(SpecModel):
    """CPU a query costs on the database (holding one core)."""

    per_query: Distribution = Field(
        default_factory=lambda: Constant(value=50e-6),
        description="parse, plan and executor start-up, per query",
    )
    per_row: Time = Field(1e-6, ge=0, le=1, description="per row examined")
    per_page: Time = Field(0.5e-6, ge=0, le=1, description="per page read (buffer-pool lookup)")
    per_row_written: Time = Field(10e-6, ge=0, le=1, description="per row written")
    per_index_write: Time = Field(
        5e-6, ge=0, le=1, description="per index entry maintained on a write"
    )


class ConnectionSpec(SpecModel):
    """What opening a connection costs (paid per query when there is no pool)."""

    handshake: Distribution = Field(
        default_factory=lambda: Constant(value=1.5e-3),
        description="TCP, TLS and authentication round trips (a wait, no core held)",
    )
    startup: Distribution = Field(
        default_factory=lambda: Constant(value=1e-3),
        description="database CPU to start a session (e.g. a forked backend), one core",
    )


class PoolSpec(SpecModel):
    """A connection pool on every instance of an app server, for one database.

    A query takes a connection, waiting in FIFO order if none is free (failing as
    ``pool_timeout`` after ``max_wait``), holds it for the query and returns it. The
    pool's connections stay open, so queries pay no connection set-up.
    """

    database: Name = Field(description="database (or sharded_database) component")
    size: int = Field(ge=1, le=MAX_COUNT, description="connections per app instance")
    max_wait: Time = Field(
        1.0, gt=0, le=MAX_TIME, description="longest wait for a connection before pool_timeout"
    )
    drop_expired: bool = Field(
        False,
        description=(
            "drop a query whose deadline (its class timeout, or the timeout of the call it "
            "serves) has passed when a connection would be granted to it (counted as "
            "expired), or that its caller cancelled (a hedged call's losing copy: "
            "cancelled); default: serve it"
        ),
    )


class QueryStep(StepKind):
    """Run a named query of a database (through this instance's pool, if it has one)."""

    query: Name = Field(description="query name in the database's catalogue")
    database: Name = Field(description="database (or sharded_database) component")
    repeat: int = Field(
        1, ge=1, le=MAX_COUNT, description="run it this many times in a row (N+1: one per item)"
    )
    limit: int | None = Field(
        None, ge=1, le=MAX_ROWS, description="page size (overrides the query's limit)"
    )
    offset: int = Field(0, ge=0, le=MAX_ROWS, description="rows before the page (page depth)")
    pagination: Literal["offset", "keyset"] = Field(
        "offset",
        description="offset: skip earlier rows (examined); keyset: seek past them by index",
    )

    def forwards(self) -> list[Forward]:
        """The query, ``repeat`` times, with its page options."""
        variant = (self.limit, self.offset, self.pagination)
        return [Forward(self.database, self.query, QUERY, self.repeat, variant=variant)]


class FailoverSpec(SpecModel):
    """Automatic failover of a primary: promote the most caught-up replica.

    ``detection`` after the primary fails, its failure is noticed; ``promotion`` later the
    replica with the fewest writes still in flight from the primary takes its place (its
    writes not yet applied there are lost). Writes fail as ``primary_down`` meanwhile.
    """

    detection: Time = Field(
        10.0, ge=0, le=MAX_TIME, description="time from the primary's failure to its detection"
    )
    promotion: Time = Field(
        5.0, ge=0, le=MAX_TIME, description="time from detection to the promoted replica serving"
    )


class _DatabaseFields(ComponentKind):
    tables: dict[Name, TableSpec] = Field(
        min_length=1, max_length=1000, description="table name -> table"
    )
    queries: dict[Name, QuerySpec] = Field(
        min_length=1, max_length=10_000, description="query name -> query (the endpoints)"
    )
    primary: DbInstanceSpec = Field(
        default_factory=DbInstanceSpec, description="the primary (takes every write)"
    )
    read_replicas: int = Field(0, ge=0, le=64, description="read replicas of the primary")
    replica: DbInstanceSpec | None = Field(
        None, description="each read replica's resources (default: as the primary)"
    )
    read_policy: Literal["round_robin", "least_loaded", "primary"] = Field(
        "round_robin",
        description="which replica a read goes to (least_loaded: fewest queries in progress)",
    )
    replication_lag: Distribution = Field(
        default_factory=lambda: Constant(value=0.0),
        description="time until a write on the primary is visible on a replica",
    )
    read_your_writes: Time = Field(
        0.0,
        ge=0,
        le=MAX_TIME,
        description="after a client's write, send its reads to the primary this long (0: off)",
    )
    failover: FailoverSpec | None = Field(
        None,
        description="promote a replica when the primary fails (null: wait for its recovery)",
    )
    cpu: QueryCpuSpec = Field(default_factory=QueryCpuSpec, description="query CPU costs")
    connection: ConnectionSpec = Field(
        default_factory=ConnectionSpec, description="connection set-up (queries without a pool)"
    )
    rtt: Time = Field(200e-6, ge=0, le=10, description="network round trip per query")
    bandwidth: Bandwidth = Field(
        125_000_000, ge=1, le=MAX_BYTES, description="bytes per second for result rows"
    )
    client_cpu_per_row: Time = Field(
        0.0, ge=0, le=1, description="app CPU per row returned (decoding), on the caller's cores"
    )
    page_size: ByteSize = Field(8192, ge=512, le=2**20, description="page size in bytes")
    index_entry_size: ByteSize = Field(
        32, ge=1, le=2**16, description="bytes per index entry (sets the B-tree fan-out)"
    )
    slow_query_threshold: Time = Field(
        0.1, gt=0, le=MAX_TIME, description="queries slower than this go to the slow-query log"
    )
    cost: CostSpec | None = Field(
        None, description="price per instance and per core per hour (cost.total_per_hour)"
    )
    drop_expired: bool = Field(
        False,
        description=(
            "drop a query whose deadline (its class timeout, or the timeout of the call it "
            "serves) has passed when a core would be granted to it (counted as expired), "
            "or that its caller cancelled (a hedged call's losing copy: cancelled); "
            "default: serve it"
        ),
    )

    @property
    def replica_spec(self) -> DbInstanceSpec:
        """Resources of each read replica."""
        return self.replica if self.replica is not None else self.primary

    is_database: ClassVar[bool] = True
    fault_kinds: ClassVar[frozenset[str]] = frozenset({"crash"})

    @property
    def priced_groups(self) -> list[tuple[int, int, str | None]]:
        """Its primaries, then its read replicas (one of each per shard)."""
        primary, replica = self.primary, self.replica_spec
        return [
            (self.shard_count, primary.cores, primary.instance_type),
            (self.shard_count * self.read_replicas, replica.cores, replica.instance_type),
        ]

    @property
    def fault_instances(self) -> int:
        """Its servers, numbered per shard: the primary, then its replicas."""
        return int(self.shard_count * (1 + self.read_replicas))

    def problems(self, scenario: Scenario, name: str) -> list[str]:
        """Its problems, each as ``components.<name>...: message``.

        Checked: a primary key not listed among the columns; each table's key space is
        defined and has no more keys than the table rows; indexes, filters, updates and
        joins name columns and tables it has; ``failover`` has a replica to promote;
        ``drop_expired`` has something to drop.
        """
        path = f"components.{name}"
        problems = self._table_problems(path, scenario.keyspaces) + self._query_problems(path)
        if self.failover is not None and self.read_replicas == 0:
            problems.append(
                f"{path}.failover: needs read_replicas >= 1 (there is no replica to promote)"
            )
        for role, server in (("primary", self.primary), ("replica", self.replica)):
            if server is not None and server.instance_type is not None:
                problems += type_problems(
                    scenario, server.instance_type, f"{path}.{role}", server.cores, server.memory
                )
        if self.drop_expired:
            problems += drop_problems(scenario, name, f"{path}.drop_expired")
        return problems

    def _table_problems(self, path: str, keyspaces: dict[str, Any]) -> list[str]:
        problems = []
        for tname, table in self.tables.items():
            tpath = f"{path}.tables.{tname}"
            if table.primary_key in table.columns:
                problems.append(
                    f"{tpath}.columns.{table.primary_key}: the primary key is implicit; "
                    "do not list it"
                )
            if table.keyspace is not None:
                if table.keyspace not in keyspaces:
                    known = ", ".join(sorted(keyspaces)) or "none"
                    problems.append(
                        f"{tpath}.keyspace: unknown key space {table.keyspace!r} (known: {known})"
                    )
                elif keyspaces[table.keyspace].keys > table.rows:
                    problems.append(
                        f"{tpath}.keyspace: {table.keyspace!r} has "
                        f"{keyspaces[table.keyspace].keys} keys, more than the table's "
                        f"{table.rows} rows"
                    )
            for iname, index in table.indexes.items():
                for k, column in enumerate(index.columns):
                    if not table.has_column(column):
                        problems.append(
                            f"{tpath}.indexes.{iname}.columns[{k}]: unknown column {column!r} "
                            f"(it has: {_columns_of(table)})"
                        )
        return problems

    def _query_problems(self, path: str) -> list[str]:
        problems = []
        known = ", ".join(sorted(self.tables))
        for qname, query in self.queries.items():
            qpath = f"{path}.queries.{qname}"
            table = self.tables.get(query.table)
            if table is None:
                problems.append(f"{qpath}.table: unknown table {query.table!r} (known: {known})")
                continue
            for field, columns in (("where", query.where), ("updates", query.updates or [])):
                for k, column in enumerate(columns):
                    if not table.has_column(column):
                        problems.append(
                            f"{qpath}.{field}[{k}]: unknown column {column!r} of table "
                            f"{query.table!r} (it has: {_columns_of(table)})"
                        )
            if query.join is not None:
                joined = self.tables.get(query.join.table)
                if joined is None:
                    problems.append(
                        f"{qpath}.join.table: unknown table {query.join.table!r} (known: {known})"
                    )
                elif not joined.has_column(query.join.column):
                    problems.append(
                        f"{qpath}.join.column: unknown column {query.join.column!r} of table "
                        f"{query.join.table!r} (it has: {_columns_of(joined)})"
                    )
        return problems

    def endpoint_names(self, scenario: Any, seen: frozenset[str] = frozenset()) -> set[str]:
        """Its queries."""
        return set(self.queries)

    @property
    def shard_count(self) -> int:
        """Shards its rows are split over (1: not sharded)."""
        return 1

    def single_shard(self, query: str) -> bool:
        """Whether a query goes to one shard (always, unsharded)."""
        return True


class DatabaseSpec(_DatabaseFields):
    """A database: a primary, ``read_replicas`` replicas, tables and named queries.

    Writes run on the primary; reads go to a replica chosen by ``read_policy`` (to the
    primary when there is none). A replica sees each write ``replication_lag`` after the
    primary committed it; reading a key in that window is a stale read.
    """

    kind: Literal["database"] = Field("database", description="component kind")


class ShardedDatabaseSpec(_DatabaseFields):
    """``shards`` databases (each as a ``database``), rows split by their shard key.

    A query filtering on its table's shard key goes to one shard; any other query fans
    out to every shard and waits for the slowest (scatter-gather). ``hash`` routing
    spreads keys by a hash; ``range`` gives each shard a contiguous range of the key
    space (ranked by popularity, so hot keys share a shard).
    """

    kind: Literal["sharded_database"] = Field("sharded_database", description="component kind")
    shards: int = Field(ge=1, le=1024, description="number of shards")
    routing: Literal["hash", "range"] = Field("hash", description="how keys map to shards")
    shard_keys: dict[Name, Name] = Field(
        default_factory=dict,
        description="table -> shard-key column (default: the table's primary key)",
    )

    def _table_problems(self, path: str, keyspaces: dict[str, Any]) -> list[str]:
        """Its tables' problems, then each shard key names a table and a column it has."""
        problems = super()._table_problems(path, keyspaces)
        for tname, column in self.shard_keys.items():
            if tname not in self.tables:
                problems.append(
                    f"{path}.shard_keys.{tname}: unknown table {tname!r} "
                    f"(known: {', '.join(sorted(self.tables))})"
                )
            elif not self.tables[tname].has_column(column):
                problems.append(
                    f"{path}.shard_keys.{tname}: unknown column {column!r} "
                    f"(it has: {_columns_of(self.tables[tname])})"
                )
        return problems

    def shard_key(self, table: str) -> str:
        """The shard-key column of a table."""
        return self.shard_keys.get(table, self.tables[table].primary_key)

    @property
    def shard_count(self) -> int:
        """Its ``shards``."""
        return self.shards

    def single_shard(self, query: str) -> bool:
        """Whether a query goes to one shard (an insert, or a filter on the shard key)."""
        spec = self.queries[query]
        return spec.op == "insert" or self.shard_key(spec.table) in spec.where


AnyDatabaseSpec = DatabaseSpec | ShardedDatabaseSpec

"""Databases: a primary and read replicas answering named queries.

The database's endpoints are its queries. A query's cost is planned once at build time
(:func:`simperf.dbcost.query_cost.plan`, the function EXPLAIN prints) and compiled into
a :class:`CompiledQuery` per shard; at run time a query draws its CPU time and its
buffer-pool misses, runs on an instance (:class:`~simperf.components.db_instance.
DbInstance`), and pays the network round trip and the transfer of its rows.

Two ways in, chosen by the caller's call path (:mod:`simperf.components.calls`):

* ``handle_pooled(request, route)``: on a connection the calling app instance's pool
  holds open (every step of an app server with a ``pool`` for this database);
* ``handle(request, route)``: no pool, so the query opens a connection (handshake,
  session start-up on a database core, counted against ``max_connections``).

Writes run on the primary and reach each replica ``replication_lag`` later (the replica
then replays them); reads go to a replica by ``read_policy``. Which servers those are is
each shard's route table (:class:`DatabaseCore` ``primary`` and ``replicas``), which
faults and failover change (:mod:`simperf.components.db_failover`).
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from simperf.components import db_report
from simperf.components.base import Component, Context, Process, Request, RequestFailed
from simperf.components.calls import connect
from simperf.components.db_failover import Failover
from simperf.components.db_instance import PRIMARY, REPLICA, DbInstance
from simperf.components.db_pool import Pool
from simperf.components.expiring import Expiring
from simperf.dbcost.explain import hit_ratios, layout_of, plan_variant, pool_models
from simperf.dbcost.mix import Variant
from simperf.dbcost.query_cost import cpu_time
from simperf.keys import key_sampler
from simperf.metrics.samples import Samples
from simperf.rng import batched, constant
from simperf.spec.database import AnyDatabaseSpec, QueryStep
from simperf.spec.distributions import Constant
from simperf.spec.resilience import drops_queries


class QueryStats:
    """What pg_stat_statements keeps for one query: its execution times.

    Only the times are recorded while the model runs; the statistics and the slow-query
    log (executions above ``slow_query_threshold``) are computed from them at the end.
    """

    __slots__ = ("samples", "times")

    def __init__(self, slow: float) -> None:
        self.times = array("d")
        # bounded past run.keep_requests; the executions above ``slow`` counted exactly
        self.samples = Samples(self.times, over=slow)


_zero = constant(0)
"""No page missed (an int, as the binomial draws are)."""


class CompiledQuery:
    """One query variant on one shard: its plan as numbers and samplers."""

    __slots__ = (
        "apply_cpu",
        "counts",
        "cpu",
        "keyspace",
        "misses",
        "pages_read",
        "pages_written",
        "plan",
        "pool_pages",
        "rotation",
        "rows_examined",
        "stats",
        "table_index",
        "transfer",
        "variant",
        "write",
    )

    def __init__(self, db: Database, variant: Variant, shard: int, stats: QueryStats) -> None:
        spec = db.spec
        ctx = db.ctx
        p = plan_variant(spec, variant)
        label = f"{variant.query}:{variant.limit}:{variant.offset}:{variant.pagination}:{shard}"
        self.variant = variant
        self.plan = p
        self.stats = stats
        self.write = p.is_write
        self.table_index = list(spec.tables).index(p.table)
        # a write of one row of a table keyed by a key space commits a new version of
        # that key there, so that caches holding the key judge their copies stale
        space = spec.tables[p.table].keyspace
        self.keyspace = (
            ctx.keyspaces.get(space) if space and p.is_write and p.pattern == "point" else None
        )
        self.rows_examined = p.rows_examined
        self.pages_read = p.pages_read
        self.pool_pages = p.heap_pages + p.join_heap_pages
        self.pages_written = p.pages_written
        self.apply_cpu = spec.cpu.per_row_written * p.rows_written + (
            spec.cpu.per_index_write * p.index_writes
        )
        self.cpu = _cpu_sampler(ctx, spec.cpu.per_query, cpu_time(p, spec.cpu), db.name, label)
        models = db.models[shard]
        self.misses = [
            self._miss_sampler(db, p, models[role], f"misses:{label}:{role}")
            for role in (PRIMARY, REPLICA)
        ]
        self.transfer = spec.rtt + p.bytes_returned / spec.bandwidth
        # executions per server of the shard (by DbInstance.slot): each server's rows
        # examined, pages read and written are these counts times the plan's, summed at
        # snapshot time (DbInstance.counters) rather than added up per query
        servers = db.cores[shard].instances
        self.counts = [0] * len(servers)
        for server in servers:
            server.compiled.append(self)
        self.rotation = 0  # the replica this query goes to next (round robin)

    @property
    def calls(self) -> int:
        """Executions on every server of the shard."""
        return sum(self.counts)

    @staticmethod
    def _miss_sampler(db: Database, p: Any, model: Any, purpose: str) -> Any:
        hit, join_hit = hit_ratios(model, p)
        groups = [(n, 1.0 - h) for n, h in ((p.heap_pages, hit), (p.join_heap_pages, join_hit))]
        groups = [(n, q) for n, q in groups if n > 0 and q > 1e-12]
        if not groups:
            return _zero
        if all(q >= 1.0 - 1e-12 for _, q in groups):
            return constant(sum(n for n, _ in groups))
        rng = db.ctx.rng(db.name, purpose)
        return batched(lambda size: sum(rng.binomial(n, min(q, 1.0), size) for n, q in groups))


def _cpu_sampler(ctx: Context, per_query: Any, fixed: float, name: str, label: str) -> Any:
    """A query's CPU time: ``per_query``'s draw plus the plan's ``fixed`` part, one call.

    The draws are ``ctx.sampler``'s (same stream, same batches); the fixed part is added
    to each batch (the same double addition as one by one), and a constant is folded.
    """
    if fixed == 0:
        return ctx.sampler(per_query, name, f"cpu:{label}")
    if isinstance(per_query, Constant):
        return constant(per_query.value * 1.0 + fixed)  # as ctx.sampler's, plus fixed
    rng = ctx.rng(name, f"cpu:{label}")
    return batched(lambda n: per_query.sample_batch(rng, n) + fixed)


class QueryRoute:
    """A query variant as callers hold it: compiled per shard, with its key stream."""

    __slots__ = ("client_cpu", "key", "name", "queries", "single", "space", "write")

    def __init__(self, db: Database, variant: Variant) -> None:
        spec = db.spec
        self.name = variant.query
        stats = db.stats[variant.query]
        self.queries = [CompiledQuery(db, variant, s, stats) for s in range(db.shard_count)]
        first = self.queries[0]
        self.write = first.write
        self.key = db.key_stream(variant.query)
        self.single = spec.single_shard(variant.query)
        arms = 1 if self.single else db.shard_count
        self.client_cpu = spec.client_cpu_per_row * first.plan.rows_returned * arms
        self.space = db.key_space(spec.queries[variant.query].table)


class DatabaseCore:
    """A primary and its read replicas: one database, or one shard of a sharded one."""

    def __init__(self, db: Database, shard: int | None) -> None:
        spec = db.spec
        env = db.env
        self.db = db
        self.env = env
        prefix = "" if shard is None else f"s{shard}:"
        tables = len(spec.tables)
        self.primary = DbInstance(
            env,
            db.name,
            db.kind,
            f"{db.name}[{prefix}primary]",
            PRIMARY,
            spec.primary,
            tables,
            shard,
        )
        self.replicas = [
            DbInstance(
                env,
                db.name,
                db.kind,
                f"{db.name}[{prefix}replica{i}]",
                REPLICA,
                spec.replica_spec,
                tables,
                shard,
            )
            for i in range(spec.read_replicas)
        ]
        self.instances = [self.primary, *self.replicas]
        for slot, inst in enumerate(self.instances):
            inst.slot = slot
            if spec.drop_expired:
                inst.drop_gone(*db.drops())
        for i, replica in enumerate(self.replicas):
            replica.lag = db.ctx.sampler(spec.replication_lag, db.name, f"lag:{prefix}{i}")
        self.policy = spec.read_policy
        # The route table: ``primary`` takes writes (None while it is down and not yet
        # replaced), ``replicas`` the replicas up; faults change them, never the handlers.

    def _read_target(self, request: Request, q: CompiledQuery) -> DbInstance:
        db = self.db
        if db.ryw > 0:
            client = request.client
            written = db.last_write.get(request.id if client is None else client)
            # env._now (not the property), read only for a client that wrote: every read pays
            if written is not None and self.env._now < written + db.ryw:
                primary = self.primary
                if primary is not None:  # else: down, and not yet replaced
                    db.ryw_reads += 1
                    return primary
        replicas = self.replicas
        if not replicas or self.policy == "primary":
            return self.primary
        n = len(replicas)
        # Each query rotates on its own: a shared rotation would send the 1st, 3rd ...
        # query of an endpoint always to one replica and the 2nd, 4th ... to the other.
        start = q.rotation % n  # below n unless a replica has just left the table
        q.rotation = (start + 1) % n
        if self.policy == "round_robin":
            return replicas[start]
        best = replicas[start]
        if n == 2:  # the loop below, unrolled: most databases have two replicas
            other = replicas[1 - start]
            return other if other.active < best.active else best
        for offset in range(1, n):
            candidate = replicas[(start + offset) % n]
            if candidate.active < best.active:
                best = candidate
        return best

    def fixed_reader(self) -> DbInstance | None:
        """The server :meth:`_read_target` always returns while the route table stands,
        when it has nothing to choose or count (no read-your-writes, and no replica or
        the ``primary`` policy); None when it chooses per read."""
        if self.db.ryw > 0 or (self.replicas and self.policy != "primary"):
            return None
        return self.primary

    def run(self, request: Request, q: CompiledQuery, key: int, pooled: bool) -> Process:
        """Run ``q`` on the instance it goes to (opening a connection unless pooled).

        The instance is chosen when this is called; the returned generator runs the query.
        A database on the fault timeline runs :meth:`run_routed` instead, which fails a
        query the route table has no instance for.
        """
        inst = self.primary if q.write else self._read_target(request, q)
        if pooled:
            return inst.query(self, request, q, key)
        return self._connect(request, q, key, inst)

    def run_routed(self, request: Request, q: CompiledQuery, key: int, pooled: bool) -> Process:
        """:meth:`run` where an instance may be down: no instance -> ``primary_down``."""
        inst = self.primary if q.write else self._read_target(request, q)
        if inst is None:
            return _fail(self.db.down_code)
        if pooled:
            return inst.query(self, request, q, key)
        return self._connect(request, q, key, inst)

    def _connect(self, request: Request, q: CompiledQuery, key: int, inst: DbInstance) -> Process:
        """Open a connection to ``inst`` (a handshake and a session start-up), then run."""
        if inst.open >= inst.max_connections - inst.reserved:
            inst.rejected += 1
            raise RequestFailed(self.db.refused_code)
        inst.open += 1
        inst.opened += 1
        inst.connected.change(1, self.env.now)
        if inst.open > inst.open_peak:
            inst.open_peak = inst.open
        try:
            handshake = self.db.handshake()
            if handshake > 0:
                yield self.env.timeout(handshake)
            startup = self.db.startup()
            if startup > 0:
                yield from inst.startup(request, startup)
            yield from inst.query(self, request, q, key)
        finally:
            inst.open -= 1
            inst.connected.change(-1, self.env.now)

    def _replicate(self, request: Request, q: CompiledQuery, key: int) -> None:
        for replica in self.log_write(request, q, key):
            self.env.process(replica.apply(q))

    def log_write(self, request: Request, q: CompiledQuery, key: int) -> list[DbInstance]:
        """Record a write of ``key`` done now: when each replica will show it (its lag),
        and, for a row of a table with a key space, its new version there.

        Returns the replicas that then replay it (each an ``apply``, started in order).
        """
        db = self.db
        now = self.env.now
        if q.keyspace is not None:
            q.keyspace.commit(key)
        if db.ryw > 0:  # swept: an open workload's clients (request ids) never come back
            db.written.put(request.client if request.client is not None else request.id, now, now)
        for replica in self.replicas:
            visible = max(replica.last_apply, now + replica.lag())
            replica.last_apply = visible
            replica.expiring[q.table_index].put(key, visible, now)
            db.lags.append(visible - now)
        return self.replicas


class Database(Component):
    """A database component (``kind: database``); see the module docstring."""

    kind = "database"
    shard_count = 1

    def __init__(self, ctx: Context, name: str, spec: AnyDatabaseSpec) -> None:
        super().__init__(ctx, name)
        self.spec = spec
        self.layout = layout_of(spec)
        self.refused_code = ctx.recorder.cause("connection_refused")
        self.timeout_code = ctx.recorder.cause("pool_timeout")
        # what a query dropped past its deadline (drop_expired) fails as: what its client
        # recorded; a cancelled one as what it is (registered at the first)
        drops = drops_queries(ctx.scenario, name)
        self.expired_code = ctx.recorder.cause("timeout") if drops else 0
        self.handshake = ctx.sampler(spec.connection.handshake, name, "handshake")
        self.startup = ctx.sampler(spec.connection.startup, name, "startup")
        self.ryw = spec.read_your_writes
        # client (or request id, without one) -> time of its last write, while it matters
        self.written = Expiring(self.ryw)
        self.last_write = self.written.table
        self.ryw_reads = 0
        self.lags = array("d")
        self.lag_samples = Samples(self.lags)
        self.stats = {q: QueryStats(spec.slow_query_threshold) for q in spec.queries}
        self.cores = self._make_cores()
        self.servers = [inst for core in self.cores for inst in core.instances]
        self.down_code = 0
        self.failover: Failover | None = None
        if any(fault.component == name for fault in getattr(ctx.scenario, "faults", ())):
            # chosen at build time: a database no fault names pays nothing for failover
            self.down_code = ctx.recorder.cause("primary_down")
            self.failover = Failover(self)
        # the model's instances: each server, then its storage (kind "storage")
        self.instances: list[Any] = [*self.servers, *(s.storage for s in self.servers)]
        self.pools: list[Pool] = []  # every app instance's pool for this database
        self.routes: dict[Variant, QueryRoute] = {}
        self._models: list[Any] | None = None
        self._keys: dict[str, Any] = {}

    def drops(self) -> tuple[Any, int, Any]:
        """What a :class:`~simperf.components.slots.DroppingSlots` of this database needs:
        the run's attempt deadlines, the cause of an expired query, that of a cancelled one."""
        recorder = self.ctx.recorder
        return self.ctx.deadlines, self.expired_code, lambda: recorder.cause("cancelled")

    def _make_cores(self) -> list[DatabaseCore]:
        return [DatabaseCore(self, None)]

    @property
    def models(self) -> list[Any]:
        """(primary, replica) buffer-pool models per shard, computed on first use."""
        if self._models is None:
            self._models = pool_models(self.ctx.scenario, self.name)
        return self._models

    def key_space(self, table: str) -> int:
        """Number of keys point accesses to ``table`` draw from."""
        t = self.spec.tables[table]
        keyspaces = self.ctx.scenario.keyspaces
        return keyspaces[t.keyspace].keys if t.keyspace else t.rows

    def key_stream(self, query: str) -> Any:
        """The batched key sampler of a query (shared by all its variants)."""
        if query not in self._keys:
            table = self.spec.tables[self.spec.queries[query].table]
            rng = self.ctx.rng(self.name, f"query:{query}")
            if table.keyspace:
                self._keys[query] = key_sampler(self.ctx.scenario.keyspaces[table.keyspace], rng)
            else:
                rows = table.rows
                self._keys[query] = batched(lambda n: rng.integers(0, rows, n, dtype=np.int64))
        return self._keys[query]

    def open_pool(self, owner: str, component: str, spec: Any) -> Pool:
        """Open app instance ``owner``'s pool: its connections are held on every server.

        Pools open in the order of the scenario's components; connections beyond a
        server's ``max_connections`` are refused (see :mod:`simperf.components.db_pool`).
        """
        usable = max(0, min([spec.size] + [s.max_connections - s.reserved for s in self.servers]))
        for server in self.servers:
            server.reserved += usable
        pool = Pool(
            self.env,
            owner,
            component,
            spec.size,
            spec.max_wait,
            usable,
            timeout_code=self.timeout_code,
            refused_code=self.refused_code,
            drops=self.drops() if spec.drop_expired else None,
        )
        self.pools.append(pool)
        return pool

    def resolve(self, endpoint: str) -> QueryRoute:
        return self.route(Variant(endpoint))

    def route(self, variant: Variant) -> QueryRoute:
        """The compiled route of a query variant (compiled once)."""
        if variant not in self.routes:
            self.routes[variant] = QueryRoute(self, variant)
        return self.routes[variant]

    def handle(self, request: Request, route: QueryRoute) -> Process:
        """Run a query without a pool (a connection is opened for it)."""
        return self.dispatch(request, route, False)

    def dispatch(self, request: Request, route: QueryRoute, pooled: bool) -> Process:
        """Run a query on the database (overridden by sharded databases)."""
        key = request.key if request.key is not None else route.key()
        return self.cores[0].run(request, route.queries[0], key, pooled)

    def handle_pooled(self, request: Request, route: QueryRoute) -> Process:
        """Run a query on a connection the caller's pool holds open."""
        return self.dispatch(request, route, True)

    def client_cpu(self, route: QueryRoute) -> float:
        """The caller's CPU decoding the rows ``route`` returns."""
        return route.client_cpu

    def fail(self, instance: int | None) -> None:
        """Take one database server (or all) down; see :mod:`simperf.components.db_failover`."""
        assert self.failover is not None  # built for every database a fault names
        for inst in self.servers if instance is None else [self.servers[instance]]:
            self.failover.fail(inst)

    def recover(self, instance: int | None) -> None:
        """Bring one database server (or all) back, as a replica if it was replaced."""
        assert self.failover is not None
        for inst in self.servers if instance is None else [self.servers[instance]]:
            self.failover.recover(inst)

    def fold_samples(self, keep: int, batch: int, first: Any) -> None:
        """Fold query times, pool waits and lags past ``keep`` (see
        :mod:`simperf.metrics.samples`); ``first`` is the run's first snapshot."""
        warm = first.components[self.name]
        for name, stats in self.stats.items():
            stats.samples.fold(keep, batch, warm["queries"][name])
        for pool in self.pools:
            pool.wait_samples.fold(keep, batch, warm["pools"][pool.owner]["waits"])
        self.lag_samples.fold(keep, batch, warm["lags"])

    def snapshot(self, now: float) -> dict[str, Any]:
        return db_report.snapshot(self, now)

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]]:
        return "databases", db_report.report(self, first, last, span)


def _fail(code: int) -> Process:
    """A query with nowhere to run: it fails at once."""
    raise RequestFailed(code)
    yield  # pragma: no cover - makes this a generator


def compile_query_step(server: Any, step: QueryStep, purpose: str) -> tuple[int, Any]:
    """Step compiler for ``{query: ...}`` steps: the query variant, through the call path."""
    db = server.component(step.database)
    variant = Variant(step.query, step.limit, step.offset, step.pagination)
    return connect(
        server, db.name, step.query, route=db.route(variant), repeat=step.repeat, purpose=purpose
    )

"""Flat runners for pooled ``query`` steps: a query as callbacks, without a process.

A ``query`` step on a database the app server has a ``pool`` for runs, on the process
path, as three generators deep (the pooled call, the database's dispatch, the server's
:meth:`~simperf.components.db_instance.DbInstance.query`), and a scatter-gather query
as a process per shard joined by a condition event. For a request on a flat runner
(:mod:`simperf.components.flat`), :func:`flat_query` compiles the same step into a
:class:`QueryStep`: a :class:`PooledQuery` takes the connection, runs the query on the
server it goes to itself (a scatter-gather as an :class:`ArmQuery` per shard), gives
the connection back and spends the caller's CPU on the rows, ``repeat`` times, each
wait a timeout's callback and each queue the same FIFO deque the process path's grant
events sit in. A write's replay on each replica is a :class:`ReplicaApply`.

Chosen at build time, only where nothing but the plain code can run: a ``database`` or
``sharded_database`` without failover (no fault names it), its servers' CPU linear, a
pool that no server refused a connection of, no guard on the call and no network, and
neither the database nor the pool with ``drop_expired``. A flat request carries no
deadline, so none would be dropped, but a dropped process hands its connection or core
on, and gives back its worker, in the same instant as other requests: a visit granted
a slot starts its step at once, where a process does so when its grant event is
processed, and with several such hand-overs in one instant the two paths draw the same
variates for different requests (in ``tests/components/test_flat_db.py``'s dropping
scenario, seed 5, 3,483 requests ended ok on one path and 3,482 on the other). Such a
database's pooled queries run as processes.
Counters, monitors, samples and random draws are those of the process path, in the
same order. A free connection, core or storage slot is taken inline; a wait, though,
keeps the process path's calendar entries (a grant, the pool's condition, a shard's
process start, the last shard's end, the scatter's join, a replay's start), so that a
query resumes exactly where among simultaneous events the process would: with constant
times (a query's fixed CPU, the round trip) events coincide, and an earlier resumption
would change who finds a core free. Those that only resume the query, like every
timeout, are light calendar entries (:mod:`simperf.components.flat_calendar`); events
that nothing observes (an earlier shard's end, a replay's end) are left out, which moves
no other entry, and the starts of a scatter's arms, or of a write's replays, which are
pushed in a row (nothing can come between them), are one entry
(:func:`~simperf.components.flat_calendar.soon_all`). Results are identical to the
process path's.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any

from simpy.events import Event

from simperf.components.database import Database
from simperf.components.flat_calendar import NORMAL, URGENT, later, soon, soon_all
from simperf.components.sharding import ShardedDatabase
from simperf.components.tracing import unwrapped
from simperf.dbcost.buffer_pool import shard_of

_new = object.__new__

if TYPE_CHECKING:  # pragma: no cover
    from simperf.components.db_instance import DbInstance
    from simperf.components.flat import Visit


class QueryStep:
    """A pooled ``query`` step compiled for flat runners (the step's argument)."""

    __slots__ = (
        "client_cpu",
        "core",
        "cores",
        "db",
        "later",
        "pools",
        "reader",
        "readers",
        "repeat",
        "route",
        "routing",
        "sharded",
        "shards",
        "space",
        "table",
    )

    def __init__(
        self,
        db: Database,
        route: Any,
        pools: list[Any],
        client_cpu: float,
        repeat: int,
        later: int = 0,
    ) -> None:
        self.db = db
        self.later = later  # the endpoint's later queries through the pool (calls.later_queries)
        self.route = route
        self.pools = pools
        self.client_cpu = client_cpu
        self.repeat = repeat
        self.sharded = isinstance(db, ShardedDatabase)
        self.cores = db.cores  # fixed: a database with failover has no flat runner
        self.core = db.cores[0]
        self.shards = len(db.cores)
        self.routing = getattr(db, "routing", "hash")
        # per shard, the server every read goes to when there is nothing to choose
        self.readers = [core.fixed_reader() for core in db.cores]
        self.reader = self.readers[0]
        self.space = route.space
        # each key's shard, looked up (b"": computed by shard_of)
        single = self.sharded and route.single
        table = db.shard_table(route.space) if single else None  # type: ignore[attr-defined]
        self.table = table if table is not None else b""

    def __call__(self, visit: Visit, now: float) -> None:
        query = _new(PooledQuery)  # its fields set here: no __init__ call per query
        query.visit = visit
        query.step = self
        query.left = self.repeat
        query.pool = self.pools[visit.instance.index]
        query.request = visit.request
        query.acquire(now)


def flat_query(runner: Any) -> QueryStep | None:
    """The flat form of a compiled ``(RUN, runner)`` step, or None (process path only)."""
    call = getattr(runner, "flat_call", None)
    if call is None:
        return None
    handle, route, pools, client_cpu, repeat, later = call
    handle = unwrapped(handle)  # spans wrap it for traced requests only
    db = getattr(handle, "__self__", None)
    if (
        pools is None
        or type(db) not in (Database, ShardedDatabase)
        or getattr(handle, "__func__", None) is not Database.handle_pooled
        or db.failover is not None
        or any(not s.linear or "work" in vars(s) for s in db.servers)
        or any(pool.usable < pool.size for pool in pools)  # refused connections
        or db.spec.drop_expired  # drops (below)
        or any(pool.deadlines is not None for pool in pools)
    ):
        return None
    return QueryStep(db, route, pools, client_cpu, repeat, later)


class _PoolWait:
    """A query waiting for a connection, as ``Pool._wait``'s process: the grant (or
    ``max_wait``) triggers a condition, whose event resumes the query."""

    __slots__ = ("fired", "grant", "query", "started")

    def __init__(self, query: PooledQuery, grant: Event, started: float) -> None:
        self.query = query
        self.grant = grant
        self.started = started
        self.fired = False
        grant.callbacks.append(self.check)  # type: ignore[union-attr]

    def check(self, _: Any) -> None:
        if self.fired:
            return
        self.fired = True
        soon(self.grant.env, self.resume)

    def expire(self) -> None:
        """``max_wait`` is up (a light entry, where the process's timeout fired)."""
        self.check(None)

    def resume(self) -> None:
        query = self.query
        if self.grant.triggered:
            query.granted(self.started)
        else:
            query.timed_out(self.grant)


class DbQuery:
    """One query on one database server: :meth:`DbInstance.query` as callbacks.

    A subclass says where the answer goes (``_returned``, called once the rows are back):
    a :class:`PooledQuery` runs its single-server query itself, a scatter-gather runs an
    :class:`ArmQuery` per shard.
    """

    __slots__ = (
        "arrived",
        "core",
        "inst",
        "io",
        "key",
        "misses",
        "q",
        "queued",
        "request",
        "waited",
    )

    # Slots.release and LevelMonitor.change are inlined below (same arithmetic): every
    # query pays for them, and a call each was a tenth of a query's cost.

    def start(self, now: float) -> None:
        """Arrive at the server (``core``, ``q``, ``key``, ``request`` and ``inst`` set)."""
        inst = self.inst
        q = self.q
        self.arrived = now
        if inst.role and inst.pending[q.table_index].get(self.key, -1.0) > now:  # a replica
            self.request.stale = True
            inst.stale_reads += 1
        inst.active += 1
        cores = inst.cores
        self.waited = 0.0
        if cores.free:
            cores.free -= 1
            busy = inst.busy  # _cpu inlined: most queries find a core free
            busy.area += busy.level * (now - busy.last)
            busy.last = now
            busy.level += 1
            if busy.level > busy.peak:
                busy.peak = busy.level
            env = inst.env  # flat_calendar.later, inlined
            heappush(env._queue, (now + q.cpu(), NORMAL, next(env._eid), self._cpu_done))
            return
        self._queue(inst, now)
        grant = Event(inst.env)
        grant.callbacks.append(self._core_granted)  # type: ignore[union-attr]
        cores.waiting.append(grant)

    def _queue(self, server: Any, now: float) -> None:
        queue = server.queue
        queue.area += queue.level * (now - queue.last)
        queue.last = now
        queue.level += 1
        if queue.level > queue.peak:
            queue.peak = queue.level
        self.queued = now

    def _dequeue(self, server: Any, now: float) -> float:
        queue = server.queue
        queue.area += queue.level * (now - queue.last)
        queue.last = now
        queue.level -= 1
        waited = now - self.queued
        server.waits.append(waited)
        return waited

    def _core_granted(self, _: Any) -> None:
        inst = self.inst
        now = inst.env._now
        self.waited = self._dequeue(inst, now)
        self._cpu(now)

    def _storage_granted(self, _: Any) -> None:
        inst = self.inst
        now = inst.env._now
        waited = self._dequeue(inst.storage, now)
        queue = inst.queue  # storage waits are the server's waits too (within)
        queue.area += queue.level * (now - queue.last)
        queue.last = now
        queue.level -= 1
        self._io(waited, now)

    def _cpu(self, now: float) -> None:
        busy = self.inst.busy
        busy.area += busy.level * (now - busy.last)
        busy.last = now
        busy.level += 1
        if busy.level > busy.peak:
            busy.peak = busy.level
        env = self.inst.env
        heappush(env._queue, (now + self.q.cpu(), NORMAL, next(env._eid), self._cpu_done))

    def _cpu_done(self) -> None:
        inst = self.inst
        env = inst.env
        now = env._now
        busy = inst.busy
        busy.area += busy.level * (now - busy.last)
        busy.last = now
        busy.level -= 1
        inst.cores.release()
        q = self.q
        misses = self.misses = q.misses[inst.role]()
        io = misses * inst.read_latency + q.pages_written * inst.write_latency
        if io > 0:
            self.io = io
            storage = inst.storage
            slots = storage.slots
            if slots.free:
                slots.free -= 1
                self._io(0.0, now)
                return
            self._queue(storage, now)
            queue = inst.queue
            queue.area += queue.level * (now - queue.last)
            queue.last = now
            queue.level += 1
            if queue.level > queue.peak:
                queue.peak = queue.level
            grant = Event(env)
            grant.callbacks.append(self._storage_granted)  # type: ignore[union-attr]
            slots.waiting.append(grant)
            return
        self._answered(now)

    def _io(self, queued: float, now: float) -> None:
        storage = self.inst.storage
        busy = storage.busy
        busy.area += busy.level * (now - busy.last)
        busy.last = now
        busy.level += 1
        if busy.level > busy.peak:
            busy.peak = busy.level
        self.queued = queued  # the storage wait, added to the server's at the end
        env = storage.env
        heappush(env._queue, (now + self.io, NORMAL, next(env._eid), self._io_done))

    def _io_done(self) -> None:
        inst = self.inst
        storage = inst.storage
        now = inst.env._now
        busy = storage.busy
        busy.area += busy.level * (now - busy.last)
        busy.last = now
        busy.level -= 1
        storage.slots.release()
        queued = self.queued
        storage.served += 1
        storage.wait_sum += queued
        storage.service_sum += self.io
        self.waited += queued
        self._answered(now)

    def _answered(self, now: float) -> None:
        inst = self.inst
        q = self.q
        waited = self.waited
        inst.active -= 1
        inst.served += 1
        inst.wait_sum += waited
        inst.service_sum += now - self.arrived - waited
        inst.page_misses += self.misses
        q.counts[inst.slot] += 1
        q.stats.times.append(now - self.arrived)
        if q.write:  # DatabaseCore._replicate, each replica's replay a ReplicaApply
            replicas = self.core.log_write(self.request, q, self.key)
            # as their processes start: urgent, in order (one entry for them all)
            soon_all(inst.env, [ReplicaApply(replica, q).begin for replica in replicas], URGENT)
        if q.transfer > 0:
            env = inst.env  # flat_calendar.later, inlined: every query returns rows
            heappush(env._queue, (now + q.transfer, NORMAL, next(env._eid), self._returned))
            return
        self._returned()

    def _returned(self) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError


class PooledQuery(DbQuery):
    """One visit's pooled ``query`` step: connection, query, client CPU, ``repeat`` times.

    A query on one server runs on this object itself (no second object per query); a
    scatter-gather runs an :class:`ArmQuery` per shard and joins them.
    """

    __slots__ = ("left", "pending", "pool", "step", "visit")

    def acquire(self, now: float) -> None:
        """Take a connection (Pool.acquire, inlined), or wait at most ``max_wait``."""
        pool = self.pool
        slots = pool.slots
        if slots.free:
            slots.free -= 1
            pool.waits.append(0.0)
            self._in_use(now)
            self.dispatch(now)
            return
        grant = Event(pool.env)
        slots.waiting.append(grant)
        wait = _PoolWait(self, grant, now)
        later(pool.env, pool.max_wait, wait.expire)

    def _in_use(self, now: float) -> None:
        """One more connection in use (LevelMonitor.change inlined, as in flat.Visit)."""
        in_use = self.pool.in_use
        in_use.area += in_use.level * (now - in_use.last)
        in_use.last = now
        in_use.level += 1
        if in_use.level > in_use.peak:
            in_use.peak = in_use.level

    def granted(self, started: float) -> None:
        pool = self.pool
        now = pool.env._now
        waited = now - started
        pool.waits.append(waited)
        pool.wait_sum += waited
        self._in_use(now)
        self.dispatch(now)

    def timed_out(self, grant: Event) -> None:
        pool = self.pool
        pool.slots.waiting.remove(grant)
        pool.timeouts += 1
        # the step's queries after it and the endpoint's later ones (Pool.left_unsent)
        pool.unsent += self.left - 1 + self.step.later
        self.visit.fail(pool.timeout_code, pool.env._now)

    def dispatch(self, now: float) -> None:
        """Database.dispatch: the key, the shard(s), the server(s), as the process path."""
        step = self.step
        route = step.route
        request = self.request
        key = request.key if request.key is not None else route.key()
        if not step.sharded:
            core = step.core
            q = route.queries[0]
            reader = step.reader
        elif route.single:
            table = step.table
            if 0 <= key < len(table):
                shard = table[key]
            else:
                shard = shard_of(key, step.shards, step.routing, step.space)
            core = step.cores[shard]
            q = route.queries[shard]
            reader = step.readers[shard]
        else:  # scatter-gather: every shard's server is chosen, then the arms start
            step.db.fanouts += 1  # type: ignore[attr-defined]
            self.pending = step.shards
            arms = []
            for core, q, reader in zip(step.cores, route.queries, step.readers, strict=True):
                if q.write:
                    inst = core.primary
                elif reader is None:
                    inst = core._read_target(request, q)
                else:
                    inst = reader
                arms.append(ArmQuery(self, core, q, key, request, inst).begin)
            # as the arms' processes start: urgent, in order, one entry for them all
            soon_all(step.db.env, arms, URGENT)
            return
        self.core = core
        self.q = q
        self.key = key
        if q.write:
            self.inst = core.primary
        else:
            self.inst = core._read_target(request, q) if reader is None else reader
        self.start(now)

    def arms_ended(self) -> None:
        """The last arm's process has ended: the join resumes the query."""
        soon(self.pool.env, self._returned)

    def _returned(self) -> None:
        """The server answered (or the scatter joined): give the connection back, then
        spend the rows' CPU."""
        pool = self.pool
        now = pool.env._now
        in_use = pool.in_use
        in_use.area += in_use.level * (now - in_use.last)
        in_use.last = now
        in_use.level -= 1
        pool.slots.release()
        client_cpu = self.step.client_cpu
        if client_cpu > 0:
            inst = self.visit.instance
            cores = inst.cores
            if cores is not None:
                if cores.free:
                    cores.free -= 1
                else:  # AppInstance.cpu: queued (a wait of the instance, service of the visit)
                    queue = inst.queue
                    queue.area += queue.level * (now - queue.last)
                    queue.last = now
                    queue.level += 1
                    if queue.level > queue.peak:
                        queue.peak = queue.level
                    self.queued = now
                    grant = Event(inst.env)
                    grant.callbacks.append(self._app_core_granted)  # type: ignore[union-attr]
                    cores.waiting.append(grant)
                    return
            busy = inst.busy  # _client_cpu inlined
            busy.area += busy.level * (now - busy.last)
            busy.last = now
            busy.level += 1
            if busy.level > busy.peak:
                busy.peak = busy.level
            env = inst.env
            heappush(env._queue, (now + client_cpu, NORMAL, next(env._eid), self._client_cpu_done))
            return
        self._next(now)

    def _app_core_granted(self, _: Any) -> None:
        """Granted a core of the calling instance for the rows' CPU."""
        inst = self.visit.instance
        now = inst.env._now
        queue = inst.queue
        queue.area += queue.level * (now - queue.last)
        queue.last = now
        queue.level -= 1
        inst.waits.append(now - self.queued)
        self._client_cpu(now)

    def _client_cpu(self, now: float) -> None:
        inst = self.visit.instance
        busy = inst.busy
        busy.area += busy.level * (now - busy.last)
        busy.last = now
        busy.level += 1
        if busy.level > busy.peak:
            busy.peak = busy.level
        env = inst.env  # flat_calendar.later, inlined (as the hot waits below)
        heappush(
            env._queue, (now + self.step.client_cpu, NORMAL, next(env._eid), self._client_cpu_done)
        )

    def _client_cpu_done(self) -> None:
        inst = self.visit.instance
        now = inst.env._now
        busy = inst.busy
        busy.area += busy.level * (now - busy.last)
        busy.last = now
        busy.level -= 1
        cores = inst.cores
        if cores is not None:
            cores.release()
        self._next(now)

    def _next(self, now: float) -> None:
        """The next of the step's ``repeat`` queries, or the visit's next step."""
        self.left -= 1
        if self.left:
            self.acquire(now)
        else:
            self.visit.run(now)


class ArmQuery(DbQuery):
    """One shard's query of a scatter-gather (its process, on the process path)."""

    __slots__ = ("parent",)

    def __init__(
        self, parent: PooledQuery, core: Any, q: Any, key: int, request: Any, inst: DbInstance
    ) -> None:
        self.parent = parent
        self.core = core
        self.q = q
        self.key = key
        self.request = request
        self.inst = inst

    def begin(self) -> None:
        """Start (its process's start)."""
        self.start(self.inst.env._now)

    def _returned(self) -> None:
        """The arm's process ends. Only the last arm's end event counts: the join waits
        for it (an earlier arm's end, when processed, would only count down, so it is
        counted now and needs no calendar entry; the others keep their order)."""
        parent = self.parent
        parent.pending -= 1
        if not parent.pending:
            soon(self.inst.env, parent.arms_ended)


class ReplicaApply:
    """A replica replaying a write: :meth:`DbInstance.apply`'s process as callbacks.

    A core (when ``apply_cpu``), then a storage slot (when the write has pages), each
    taken at once or in FIFO order by a grant event, held for a light calendar entry.
    Nothing waits for the replay's end, so that event of the process is left out.
    """

    __slots__ = ("q", "replica")

    def __init__(self, replica: DbInstance, q: Any) -> None:
        self.replica = replica
        self.q = q

    def begin(self) -> None:
        """The process's start: Server.occupy of a core, or straight to the storage."""
        replica = self.replica
        if self.q.apply_cpu > 0:
            self._take(replica.slots, self._cpu)
        else:
            self._storage()

    @staticmethod
    def _take(slots: Any, then: Any) -> None:
        """Slots.acquire: run ``then`` now if a slot is free, else when granted one."""
        if slots.free:
            slots.free -= 1
            then()
            return
        grant = Event(slots.env)
        slots.waiting.append(grant)
        grant.callbacks.append(lambda _: then())  # type: ignore[union-attr]

    def _cpu(self) -> None:
        replica = self.replica
        env = replica.env
        replica.busy.change(1, env._now)
        later(env, self.q.apply_cpu, self._cpu_done)

    def _cpu_done(self) -> None:
        replica = self.replica
        replica.busy.change(-1, replica.env._now)
        replica.slots.release()
        self._storage()

    def _storage(self) -> None:
        if self.q.pages_written * self.replica.write_latency > 0:
            self._take(self.replica.storage.slots, self._io)
            return
        self._applied()

    def _io(self) -> None:
        storage = self.replica.storage
        env = storage.env
        storage.busy.change(1, env._now)
        later(env, self.q.pages_written * self.replica.write_latency, self._io_done)

    def _io_done(self) -> None:
        replica = self.replica
        storage = replica.storage
        storage.busy.change(-1, storage.env._now)
        storage.slots.release()
        replica.apply_io += self.q.pages_written * replica.write_latency
        self._applied()

    def _applied(self) -> None:
        replica = self.replica
        replica.pages_written += self.q.pages_written
        replica.writes_applied += 1

"""One database server (a primary or a read replica): cores, storage and connections.

A query holds one core for its CPU time, then one storage slot for its page I/O (misses
read one after another at ``read_latency``, then page writes at ``write_latency``).
Storage has ``ceil(iops x read_latency)`` slots (see
:func:`simperf.dbcost.query_cost.storage_times`), so it reads ``iops`` pages per second
at most and queues beyond. Waiting for a core and for storage both count as queueing;
only cores count towards utilisation in the components table (storage has its own
utilisation in the ``databases`` section). A database with ``drop_expired`` drops a query
waiting for a core, for storage or (unpooled) to start its session, whose caller has gone
(its deadline passed, or its caller cancelled it) when the core or storage slot would be
granted to it (:class:`~simperf.components.slots.DroppingSlots`); the slot goes to the
next waiter.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from simperf.components.base import Process, RequestFailed
from simperf.components.expiring import Expiring
from simperf.components.server import Server
from simperf.components.shared_cpu import usl_cores
from simperf.components.slots import DroppingSlots
from simperf.dbcost.query_cost import storage_times
from simperf.metrics.monitor import LevelMonitor
from simperf.spec.database import DbInstanceSpec

PRIMARY, REPLICA = 0, 1
ROLES = ("primary", "replica")


class Storage(Server):
    """A database server's storage: a :class:`Server` (kind ``storage``) whose snapshot,
    with ``drop_expired``, counts the queries dropped waiting for it (``storage_expired``,
    the load offered to it that it did not serve, for headroom)."""

    kind = "storage"

    def snapshot(self, now: float, *, window: bool = True) -> dict[str, Any]:
        """:meth:`Server.snapshot`, and the queries dropped waiting for it, if any can be."""
        counters = super().snapshot(now, window=window)
        slots = self.slots
        if isinstance(slots, DroppingSlots):
            counters["storage_expired"] = slots.expired
        return counters


class DbInstance(Server):
    """A database server; listed in the model's instances like an app instance.

    Its cores are its own slots; its storage is a second :class:`Server` (kind
    ``storage``, a row of the components table next to it, so that the utilisation
    table and the stability verdict see saturated storage) whose waits are also this
    server's.
    """

    def __init__(
        self,
        env: Any,
        component: str,
        kind: str,
        name: str,
        role: int,
        spec: DbInstanceSpec,
        tables: int,
        shard: int | None = None,
    ) -> None:
        super().__init__(env, name, component, spec.cores)
        self.kind = kind
        self.role = role
        self.shard = shard
        self.spec = spec
        self.cores = self.slots
        self.deadlines: Any = None  # with drop_expired, the run's attempt deadlines
        scaling = spec.scaling
        self.linear = scaling is None or scaling.linear
        if not self.linear:
            # query CPU that slows with concurrency replaces Server.work here only
            self.work = usl_cores(self, scaling.alpha, scaling.beta).work  # type: ignore[method-assign,union-attr]
        self.io_depth, self.read_latency, self.write_latency = storage_times(spec.storage)
        self.storage = Storage(env, f"{name}/storage", component, self.io_depth, within=self)
        self.max_connections = spec.max_connections
        self.reserved = 0  # connections held open by pools
        self.open = 0  # connections opened per query (no pool), in use now
        # their time in use: the occupancy of the connections pools left (headroom's)
        self.connected = LevelMonitor()
        self.open_peak = 0
        self.opened = 0
        self.active = 0
        # queries run here: counts per compiled query (CompiledQuery.counts[slot])
        self.slot = 0  # this server's index in its shard (set by DatabaseCore)
        self.compiled: list[Any] = []
        self.page_misses = 0
        self.pages_written = 0  # by replayed writes (a query's are counted by compiled)
        self.writes_applied = 0
        self.apply_io = 0.0  # storage seconds of the replicated writes applied here
        self.stale_reads = 0
        self.last_apply = 0.0
        self.lag: Any = None  # a replica's replication-lag sampler
        # the fault timeline (simperf.components.db_failover)
        self.up = True
        self.outages = 0
        self.recent: deque[float] = deque()  # visibility times of writes pending here
        # replica state: per table, key -> time its latest write becomes visible here
        # (until then: an entry past it is swept, as if the key had never been written)
        self.expiring: list[Expiring] = [Expiring() for _ in range(tables)]
        self.pending: list[dict[int, float]] = []
        self.forget_pending()

    def drop_gone(self, deadlines: Any, expired_code: int, cancelled_code: Any) -> None:
        """Drop the queries waiting for a core or for storage whose caller has gone
        (``drop_expired``)."""
        self.deadlines = deadlines
        env = self.env
        self.cores = self.slots = DroppingSlots(
            env, self.capacity, expired_code=expired_code, cancelled_code=cancelled_code
        )
        # an abandoned query would hold storage as long as a served one
        self.storage.slots = DroppingSlots(
            env, self.io_depth, expired_code=expired_code, cancelled_code=cancelled_code
        )

    def forget_pending(self) -> None:
        """Drop the writes pending here: this server starts following a new primary."""
        self.expiring = [Expiring() for _ in self.expiring]
        self.pending = [times.table for times in self.expiring]  # read by every query
        self.recent.clear()

    def query(self, core: Any, request: Any, q: Any, key: int) -> Process:
        """Run one compiled query for ``request`` on this server, as one generator.

        A replica first judges the read stale (a write to ``key`` not yet visible here);
        the query holds a core for its CPU, then a storage slot for its page I/O, and a
        write then replicates (``core``'s replication, which failover may wrap); the rows
        then travel back. Taking a free core or storage slot costs no event and no
        generator: every database query pays for this path.
        """
        env = self.env
        arrived = env.now
        if self.role == REPLICA and self.pending[q.table_index].get(key, -1.0) > arrived:
            request.stale = True
            self.stale_reads += 1
        self.active += 1
        cores = self.cores
        if cores.free:
            cores.free -= 1
            waited = 0.0
        elif self.deadlines is None:
            waited = yield from self.queue_for(cores)
        else:
            try:
                waited = yield from self._queue_unless_gone(self, cores, request)
            except RequestFailed:
                self.active -= 1
                raise
        if self.linear:  # Server.work inlined
            busy = self.busy
            busy.change(1, env.now)
            yield env.timeout(q.cpu())
            busy.change(-1, env.now)
        else:
            yield from self.work(q.cpu())
        cores.release()
        misses = q.misses[self.role]()
        io = misses * self.read_latency + q.pages_written * self.write_latency
        if io > 0:  # Server.serve inlined
            storage = self.storage
            slots = storage.slots
            if slots.free:
                slots.free -= 1
                queued = 0.0
            elif self.deadlines is None:
                queued = yield from storage.queue_for(slots)
            else:
                try:
                    queued = yield from self._queue_unless_gone(storage, slots, request)
                except RequestFailed:
                    self.active -= 1
                    raise
            busy = storage.busy
            busy.change(1, env.now)
            yield env.timeout(io)
            busy.change(-1, env.now)
            slots.release()
            storage.served += 1
            storage.wait_sum += queued
            storage.service_sum += io
            waited += queued
        self.active -= 1
        now = env.now
        self.served += 1
        self.wait_sum += waited
        self.service_sum += now - arrived - waited
        self.page_misses += misses
        q.counts[self.slot] += 1
        q.stats.times.append(now - arrived)  # queueing included; the slow log is derived later
        if q.write:
            core._replicate(request, q, key)
        if q.transfer > 0:
            yield env.timeout(q.transfer)

    def _queue_unless_gone(self, server: Server, slots: DroppingSlots, request: Any) -> Process:
        """``server.queue_for(slots)`` (this server's cores or its storage's slots) with the
        attempt's ticket: dropped (``RequestFailed``) if its caller has gone when a slot
        would be granted to it; a dropped wait is not one of the waits recorded."""
        env = self.env
        arrived = env.now
        within = server.within
        server.queue.change(1, arrived)
        if within is not None:
            within.queue.change(1, arrived)
        try:
            yield slots.wait(*self.deadlines.ticket(request))
        finally:
            now = env.now
            server.queue.change(-1, now)
            if within is not None:
                within.queue.change(-1, now)
        waited = now - arrived
        server.waits.append(waited)
        return waited

    def startup(self, request: Any, seconds: float) -> Process:
        """Start a session for a new connection: ``seconds`` of one core (with
        ``drop_expired``, not for a ``request`` whose caller has gone meanwhile)."""
        cores = self.cores
        if cores.free:
            cores.free -= 1
        elif self.deadlines is None:
            yield from self.queue_for(cores)
        else:
            yield from self._queue_unless_gone(self, cores, request)
        yield from self.work(seconds)
        cores.release()

    def apply(self, q: Any) -> Process:
        """Replay a write from the primary: its write CPU and page writes, no queue record."""
        if q.apply_cpu > 0:
            yield from self.occupy(q.apply_cpu)
        io = q.pages_written * self.write_latency
        if io > 0:
            yield from self.storage.occupy(io)
            self.apply_io += io
        self.pages_written += q.pages_written
        self.writes_applied += 1

    def snapshot(self, now: float, *, window: bool = True) -> dict[str, Any]:
        """The server counters (:meth:`Server.snapshot`), and with ``drop_expired`` the
        queries dropped waiting for a core or storage: as an app server's queue counts its drops, so
        that the time series, alerts and headroom (dropped work was offered) read them."""
        counters = super().snapshot(now, window=window)
        counters.update(self.dropped())
        # the connections opened per query, against those the pools left it
        counters["connection_area"] = self.connected.area_at(now)
        counters["connections"] = self.unpooled
        counters["opened"] = self.opened
        storage = self.storage.slots
        if isinstance(storage, DroppingSlots):
            # of the expired, those dropped waiting for storage: their CPU was spent here,
            # so headroom counts them as served by the cores and offered to the storage
            counters["storage_expired"] = storage.expired
        return counters

    @property
    def unpooled(self) -> int:
        """The connections ``max_connections`` leaves past the pools': those queries
        opened one at a time share (their ``connection_occupancy`` is over these)."""
        return max(self.max_connections - self.reserved, 0)

    def counters(self, now: float) -> dict[str, float]:
        """Database-specific cumulative counters at ``now``."""
        slot = self.slot
        runs = [(q.counts[slot], q) for q in self.compiled]  # integers: sums are exact
        return {
            "busy_area": self.busy.area_at(now),
            "io_area": self.storage.busy.area_at(now),
            "apply_io": self.apply_io,
            "queries": self.served,
            "rows_examined": sum(n * q.rows_examined for n, q in runs),
            "pages_read": sum(n * q.pages_read for n, q in runs),
            "pool_pages": sum(n * q.pool_pages for n, q in runs),
            "page_misses": self.page_misses,
            "pages_written": self.pages_written + sum(n * q.pages_written for n, q in runs),
            "writes_applied": self.writes_applied,
            "opened": self.opened,
            "refused": self.rejected,
            "connection_area": self.connected.area_at(now),
            "stale_reads": self.stale_reads,
            **self.dropped(),
        }

    def dropped(self) -> dict[str, int]:
        """With ``drop_expired``: the queries dropped waiting for a core (a session's
        start-up's included) or for storage (else none)."""
        cores = self.cores
        storage = self.storage.slots
        if not isinstance(cores, DroppingSlots) or not isinstance(storage, DroppingSlots):
            return {}
        return {
            "expired": cores.expired + storage.expired,
            "cancelled": cores.cancelled + storage.cancelled,
        }

"""Flat runners for cache-aside ``read`` steps: a cache read as callbacks, without a process.

On the process path a ``read: {cache, backing}`` step runs as nested generators
(:func:`simperf.components.cache_steps.compile_read`: the get command, then on a miss
the backing read and the set command). For a request on a flat runner
(:mod:`simperf.components.flat`), :func:`flat_read` compiles the same step into a
:class:`ReadStep`: a :class:`CacheRead` per request runs each command (the round trip,
a core of the node, its service time) as light calendar entries
(:mod:`simperf.components.flat_calendar`), queues for a busy core with the grant
event the process would wait for, and calls the backing endpoint as a flat
:class:`~simperf.components.flat.Visit` (or waits out a backing delay).

Chosen at build time, only where nothing but the common path can run: no tracing, no
single flight (``coalesce``), no faults (nodes never go down), a node in no enclosing
server (``within``), and a backing that is a delay or a bare call to an endpoint with
a flat program. Counters, monitors, random draws and the order of events are the
process path's, so results are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING, Any

from simpy.events import Event

from simperf.components.cache import Cache
from simperf.components.flat_calendar import NORMAL, later

if TYPE_CHECKING:  # pragma: no cover
    from simperf.components.app_server import AppInstance
    from simperf.components.flat import Visit

__all__ = ["CacheRead", "ReadStep", "flat_read"]


class ReadStep:
    """A cache-aside ``read`` step compiled for flat runners (the step's argument).

    ``call`` is ``(pick, steps)``, the backing endpoint's instance picker and flat
    program, or None with ``delay`` the backing's delay sampler; ``visit_type`` is
    :class:`~simperf.components.flat.Visit`.
    """

    __slots__ = (
        "call",
        "count",
        "delay",
        "durable",
        "index_of",
        "latest",
        "nodes",
        "read_through",
        "refresh",
        "single",
        "size_of",
        "sizes",
        "ttl",
        "visit_type",
        "write_back",
    )

    def __init__(
        self,
        cache: Cache,
        call: tuple[Callable[[], AppInstance], list[Any]] | None,
        delay: Callable[[], float] | None,
        read_through: bool,
        visit_type: type[Visit],
    ) -> None:
        nodes = cache.nodes
        self.nodes = nodes
        self.single = nodes[0] if len(nodes) == 1 else None
        self.count = len(nodes)
        self.index_of = cache.index_of
        self.ttl = cache.ttl
        self.refresh = cache.spec.ttl_refresh
        self.latest = cache.keyspace.latest
        self.durable = cache.keyspace.durable
        self.sizes = cache.sizes
        self.size_of = cache.size_of
        self.write_back = cache.spec.write_policy == "write_back"
        self.read_through = read_through
        self.call = call
        self.delay = delay
        self.visit_type = visit_type  # flat.Visit (which imports this module)

    def __call__(self, visit: Visit, now: float) -> None:
        CacheRead(visit, self).get(now)


def flat_read(runner: Any) -> tuple[Cache, Any, bool] | None:
    """``(cache, backing, read_through)`` of a compiled ``read`` step a flat runner may
    run, or None (process path only). The caller resolves the backing."""
    read = getattr(runner, "flat_read", None)
    if read is None:
        return None
    cache = read[0]
    if type(cache) is not Cache or any(node.within is not None for node in cache.nodes):
        return None
    return read  # type: ignore[no-any-return]


class CacheRead:
    """One visit's cache read: the get, then on a miss the backing read and the set."""

    __slots__ = ("key", "node", "queued", "service", "setting", "step", "version", "visit")

    def __init__(self, visit: Visit, step: ReadStep) -> None:
        self.visit = visit
        self.step = step

    def get(self, now: float) -> None:
        step = self.step
        key = self.key = self.visit.request.key
        self.node = step.single or step.nodes[step.index_of(key, step.count)]
        self.setting = False
        self._command(now)

    # CacheNode.command as callbacks: the round trip, a core, the service time

    def _command(self, now: float) -> None:
        node = self.node
        if node.network is not None:
            later(node.env, node.network(), self._arrived)
            return
        self._take_core(now)

    def _arrived(self) -> None:
        self._take_core(self.node.env._now)

    def _take_core(self, now: float) -> None:
        node = self.node
        cores = node.cores
        if cores.free:
            cores.free -= 1
            self._serve(now)
            return
        if len(cores.waiting) >= node.limit:  # CacheNode.wait_for_core: the safety cap
            node.rejected += 1
            node.ctx.safety_cap_hits += 1
            self.visit.fail(node.reject_code, now)
            return
        node.queue.change(1, now)  # Server.queue_for, as the process waits
        self.queued = now
        grant = Event(node.env)
        grant.callbacks.append(self._granted)  # type: ignore[union-attr]
        cores.waiting.append(grant)

    def _granted(self, _: Any) -> None:
        node = self.node
        now = node.env._now
        node.queue.change(-1, now)
        waited = now - self.queued
        node.waits.append(waited)
        node.wait_sum += waited
        self._serve(now)

    def _serve(self, now: float) -> None:
        node = self.node
        service = self.service = node.service()
        node.busy.change(1, now)
        env = node.env  # flat_calendar.later, inlined
        heappush(env._queue, (now + service, NORMAL, next(env._eid), self._served))

    def _served(self) -> None:
        node = self.node
        now = node.env._now
        node.busy.change(-1, now)
        node.cores.release()
        node.served += 1
        node.service_sum += self.service
        if self.setting:
            self._store(now)
        else:
            self._got(now)

    def _got(self, now: float) -> None:
        """The get answered: a hit ends the step, a miss reads the backing store."""
        step = self.step
        node = self.node
        key = self.key
        entry = node.store.get(key, now)
        latest = step.latest
        if entry is not None:
            if step.refresh:
                entry.expires_at = now + step.ttl()  # type: ignore[misc]
            if latest and entry.version < latest.get(key, 0):
                node.stale_reads += 1
                self.visit.request.stale = True
            self.visit.run(now)
            return
        durable = step.durable
        version = self.version = durable.get(key, 0) if durable else 0
        if latest and version < latest.get(key, 0):  # write-back data not flushed yet
            node.stale_reads += 1
            self.visit.request.stale = True
        node.store_reads += 1
        if step.call is None:
            later(node.env, step.delay(), self._backed)  # type: ignore[misc]
            return
        pick, steps = step.call
        visit = self.visit
        step.visit_type(visit.request, pick(), steps, self, visit.finish).start()  # type: ignore[arg-type]

    def _backed(self) -> None:
        self.run(self.node.env._now)

    # the backing call's visit returns here, as to a calling visit

    def run(self, now: float) -> None:
        """The backing read is done: the set command (none for read-through), then store."""
        if self.step.read_through:
            self._store(now)
            return
        self.setting = True
        self._command(now)

    def _leave(self, now: float) -> None:
        """(The backing call failed: the visit gives its worker back in :meth:`_return`.)"""

    def _return(self, outcome: int, now: float) -> None:
        self.visit.fail(outcome, now)

    def _store(self, now: float) -> None:
        """Store the version read, unless the cache holds it or a newer one already."""
        step = self.step
        node = self.node
        key = self.key
        version = self.version
        store = node.store
        if step.latest:
            entry = store.peek(key)
            if entry is not None and entry.version >= version:
                self.visit.run(now)
                return
        ttl = step.ttl
        evicted = store.set(
            key,
            now,
            None if ttl is None else ttl(),
            1 if step.sizes is None else step.size_of(key),
            version,
        )
        if evicted and (step.write_back or node.filled_at is None):
            node.stored(evicted)
        self.visit.run(now)

"""The ``read`` and ``write`` endpoint steps, compiled once per endpoint into generators.

Listed in :data:`simperf.build.STEP_COMPILERS`. Each compiler returns
``runner(request, instance)``,
run with ``yield from`` on the hot path: no spec objects, no string lookups per request.

Staleness
---------
A read is stale when the data it returns has an older version than the latest write the
application had acknowledged for that key (see :mod:`simperf.components.keyspace`). A
cache hit returns the entry's version; a store read returns the store's version as of the
start of the read (a database read sees a snapshot from its start). A stale read sets
``request.stale`` and counts in the cache's ``stale_reads``; the request still ends ok.

Ordering of a cache-aside miss: get (a miss), the backing read, then a set of the version
read -- unless the cache meanwhile holds that version or a newer one (a write-through or
write-back write landed first), so a slow reader never replaces newer data it can see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import Event

from simperf.components.app_server import AppServer, StepRunner
from simperf.components.base import Process, Request, RequestFailed
from simperf.components.cache import Cache, CacheNode
from simperf.components.calls import runner
from simperf.components.keyspace import KeyspaceState
from simperf.spec.cache import ReadStep, WriteStep

Backing = Callable[[Request, Any], Process]
# What a read runs on a miss, or when its node is down: (request, instance, node, key).
Miss = Callable[[Request, Any, CacheNode, int], Process]


def backing_runner(
    server: AppServer, backing: Any, purpose: str, *, background: bool = False
) -> Backing:
    """The store operation behind a step: a call to ``component.endpoint`` or a delay.

    The call goes through the server's call path (its pool for a database);
    ``background`` work (write-back's flusher) runs on no app instance, so its call is
    a hop without a pool.
    """
    if isinstance(backing, str):
        component, endpoint = backing.split(".")
        return runner(server, component, endpoint, background=background)
    sample = server.ctx.sampler(backing.delay, server.name, purpose)
    env = server.env

    def delay(request: Request, instance: Any) -> Process:
        yield env.timeout(sample())

    delay.sample = sample  # type: ignore[attr-defined] # lets hot paths inline the wait
    return delay


def store_commits(server: AppServer, backing: Any) -> KeyspaceState | None:
    """The key space whose version a backing write to ``database.query`` commits itself
    (a database write of one row of a table with a key space: ``CompiledQuery.keyspace``),
    or None: a step over it must not commit the write a second time."""
    if not isinstance(backing, str):
        return None
    component, endpoint = backing.split(".")
    target = server.component(component)
    if getattr(target, "kind", None) not in ("database", "sharded_database"):
        return None
    return target.resolve(endpoint).queries[0].keyspace  # type: ignore[no-any-return]


def compile_read(server: AppServer, step: ReadStep, purpose: str) -> StepRunner:
    """Compile ``{read: {cache, backing, mode}}``.

    The common path (a get, then the set after a miss) is written out flat in one
    generator; rare paths (single flight, a node that is down) are in helpers.
    """
    spec = step.read
    cache = server.component(spec.cache)
    assert isinstance(cache, Cache)
    env = server.env
    backing = backing_runner(server, spec.backing, f"{purpose}:backing")
    tracer = server.ctx.tracer
    if tracer is not None:  # run.trace: the read and its backing read as spans
        where = spec.backing.split(".")[0] if isinstance(spec.backing, str) else cache.name
        backing = tracer.backing(backing, where)
    load = _loader(env, cache, backing, read_through=spec.mode == "read_through")
    miss = _single_flight(env, cache.keyspace, load) if cache.spec.coalesce else load
    down = _down_path(cache, backing)
    if tracer is None:
        read = _reader(env, cache, miss, down)
        if not cache.spec.coalesce:  # what a flat runner needs (components/flat_cache.py)
            read.flat_read = (cache, backing, spec.mode == "read_through")  # type: ignore[attr-defined]
        return read
    miss, down = tracer.cache_missed(miss, "miss"), tracer.cache_missed(down, "down")
    return tracer.cache_read(_reader(env, cache, miss, down), cache.name)


def _loader(env: simpy.Environment, cache: Cache, backing: Backing, *, read_through: bool) -> Miss:
    """A miss's backing read, then the set (by the caller, or by the cache for read-through)."""
    backing_delay = getattr(backing, "sample", None)  # a plain delay is inlined
    latest, durable = cache.keyspace.latest, cache.keyspace.durable
    ttl = cache.ttl
    sizes = cache.sizes
    size_of = cache.size_of
    write_back = cache.spec.write_policy == "write_back"

    def load(request: Request, instance: Any, node: CacheNode, key: int) -> Process:
        version = durable.get(key, 0) if durable else 0
        if latest and version < latest.get(key, 0):  # write-back data not flushed yet
            node.stale_reads += 1
            request.stale = True
        node.store_reads += 1
        if backing_delay is not None:
            yield env.timeout(backing_delay())
        else:
            yield from backing(request, instance)
        if not node.up:
            return version
        if not read_through:
            yield from node.command()  # the set
            if not node.up:
                return version
        store = node.store
        if latest:  # never replace a version as new or newer (a write landed meanwhile)
            entry = store.peek(key)
            if entry is not None and entry.version >= version:
                return version
        evicted = store.set(
            key,
            env.now,
            None if ttl is None else ttl(),
            1 if sizes is None else size_of(key),
            version,
        )
        # Only the first eviction (the fill time) and dirty entries need handling.
        if evicted and (write_back or node.filled_at is None):
            node.stored(evicted)
        return version

    return load


def _single_flight(env: simpy.Environment, keyspace: KeyspaceState, load: Miss) -> Miss:
    """A miss with ``coalesce``: wait for the key's flight, or lead a new one."""
    latest = keyspace.latest

    def single_flight(request: Request, instance: Any, node: CacheNode, key: int) -> Process:
        flight = node.inflight.get(key)
        if flight is not None:
            node.coalesced_reads += 1
            yield flight
            version, code = flight.value
            if code:
                raise RequestFailed(code)
            if version < latest.get(key, 0):
                node.stale_reads += 1
                request.stale = True
            return
        flight = node.inflight[key] = Event(env)
        try:
            version = yield from load(request, instance, node, key)
        except RequestFailed as failure:
            del node.inflight[key]
            flight.succeed((0, failure.code))
            raise
        del node.inflight[key]
        flight.succeed((version, 0))

    return single_flight


def _down_path(cache: Cache, backing: Backing) -> Miss:
    """A read whose node is down: fail, or fall through to the backing store."""
    latest, durable = cache.keyspace.latest, cache.keyspace.durable

    def down(request: Request, instance: Any, node: CacheNode, key: int) -> Process:
        node.fail_when_down()
        node.fallthrough_reads += 1
        node.store_reads += 1
        if durable.get(key, 0) < latest.get(key, 0):
            node.stale_reads += 1
            request.stale = True
        yield from backing(request, instance)

    return down


def _reader(env: simpy.Environment, cache: Cache, miss: Miss, down: Miss) -> StepRunner:
    """The read itself: the get, a hit's refresh and staleness, else ``miss`` or ``down``."""
    latest = cache.keyspace.latest
    nodes = cache.nodes
    single = nodes[0] if len(nodes) == 1 else None
    count = len(nodes)
    index_of = cache.index_of  # node_index, or the ring (chosen once, by the cache)
    ttl = cache.ttl
    refresh = cache.spec.ttl_refresh

    def read(request: Request, instance: Any) -> Process:
        key: int = request.key  # type: ignore[assignment]
        node = single or nodes[index_of(key, count)]
        if node.up:
            yield from node.command()  # the get
            if node.up:
                store = node.store
                entry = store.get(key, env.now)
                if entry is not None:
                    if refresh:
                        entry.expires_at = env.now + ttl()  # type: ignore[misc]
                    if latest and entry.version < latest.get(key, 0):
                        node.stale_reads += 1
                        request.stale = True
                    return
                yield from miss(request, instance, node, key)
                return
        yield from down(request, instance, node, key)

    return read


def compile_write(server: AppServer, step: WriteStep, purpose: str) -> StepRunner:
    """Compile ``{write: {cache, backing}}`` for the cache's write policy."""
    spec = step.write
    env = server.env
    backing = (
        None if spec.backing is None else backing_runner(server, spec.backing, f"{purpose}:backing")
    )
    committed = store_commits(server, spec.backing)
    if spec.cache is None:
        assert backing is not None
        return _store_only(server.ctx.class_keyspaces, backing, committed)
    cache = server.component(spec.cache)
    assert isinstance(cache, Cache)
    keyspace = cache.keyspace
    # the database committed the version already: the step takes it, not a new one
    commit = keyspace.commit if committed is not keyspace else _latest(keyspace)
    node_of = cache.node_of
    policy = cache.spec.write_policy
    ttl = cache.ttl
    size_of = cache.size_of
    if policy == "write_back":
        flush = backing  # a delay draws from the writes' stream, as before
        if isinstance(spec.backing, str):
            flush = backing_runner(server, spec.backing, f"{purpose}:backing", background=True)
        cache.flusher.attach(flush)

    def down(request: Request, instance: Any, node: CacheNode, key: int) -> Process:
        node.fail_when_down()
        node.fallthrough_writes += 1
        node.store_writes += 1
        yield from backing(request, instance)  # type: ignore[misc]
        commit(key)

    def write(request: Request, instance: Any) -> Process:
        key: int = request.key  # type: ignore[assignment]
        node = node_of(key)
        node.writes += 1
        if not node.up:
            yield from down(request, instance, node, key)
            return
        if policy == "write_back":
            yield from node.command()
            if not node.up:
                yield from down(request, instance, node, key)
                return
            version = keyspace.write_back(key)
            store = node.store
            old = store.peek(key)
            if old is not None and old.dirty:
                node.coalesced_writes += 1
            node.stored(
                store.set(key, env.now, None if ttl is None else ttl(), size_of(key), version, True)
            )
            return
        node.store_writes += 1
        yield from backing(request, instance)  # type: ignore[misc]
        version = commit(key)
        if not node.up:
            return
        yield from node.command()
        if not node.up:
            return
        if policy == "write_through":
            node.stored(
                node.store.set(key, env.now, None if ttl is None else ttl(), size_of(key), version)
            )
        else:
            node.store.delete(key)

    return write


def _latest(keyspace: KeyspaceState) -> Callable[[int], int]:
    """``commit`` for a write its store committed already: the key's latest version."""
    latest = keyspace.latest

    def committed(key: int) -> int:
        return latest.get(key, 0)

    return committed


def _store_only(
    class_keyspaces: list[KeyspaceState | None],
    backing: Backing,
    committed: KeyspaceState | None = None,
) -> StepRunner:
    """A write to the backing store alone: the caches in front of it are not told.
    ``committed``: the key space the store commits the write to itself (not again)."""

    def write(request: Request, instance: Any) -> Process:
        yield from backing(request, instance)
        keyspace = class_keyspaces[request.klass]
        assert keyspace is not None  # checked by the spec
        if keyspace is not committed:
            keyspace.commit(request.key)  # type: ignore[arg-type]

    return write

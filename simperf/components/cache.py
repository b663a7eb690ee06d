"""The cache component: nodes holding real keys, a command queue per node, a flusher.

A :class:`Cache` has ``nodes`` :class:`CacheNode` s. A key lives on node
``hash(key) * nodes >> 64`` (a multiplicative hash: popularity ranks do not pile up on
one node), or with ``sharding: ring`` on the owner of the first of the nodes' virtual
points at or after its hash on a consistent-hash ring
(:class:`~simperf.components.balancing.HashRing`). A ring's key -> node table is
recomputed when a node fails or recovers: a down node's keys move to the next node up
along the ring, the others stay where they were, and the misses that follow are the
moved keys' (the failover of a cache is that change of its route table). Each node is
a server with ``cores`` command slots and a
:class:`~simperf.components.cache_store.CacheStore` holding the entries (version, expiry,
dirty flag). A command pays the ``network`` round trip, waits for a core, holds it for a
``latency`` draw, and then acts on the store, so the state changes at the instant the
command completes. Nodes are instances in the result's component table (utilisation,
queue, mean wait), and :meth:`Cache.report` adds the ``caches.<name>`` section.

The read and write steps that drive it are compiled in :mod:`simperf.components.cache_steps`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from simpy.events import Event

from simperf.components.balancing import HashRing
from simperf.components.base import Component, Context, Process, Request, RequestFailed
from simperf.components.cache_store import Entry, make_store
from simperf.components.keyspace import KeyspaceState
from simperf.components.server import Server
from simperf.rng import batched
from simperf.spec.cache import CacheSpec
from simperf.spec.distributions import Constant

HASH_MULTIPLIER = 0x9E3779B97F4A7C15  # 2^64 / golden ratio, odd: a bijection on 64 bits
MASK64 = (1 << 64) - 1

COUNTERS = (
    "hits",
    "misses",
    "evictions",
    "expirations",
    "rejections",
    "stale_reads",
    "writes",
    "store_reads",
    "store_writes",
    "coalesced_reads",
    "coalesced_writes",
    "lost_writes",
    "fallthrough_reads",
    "fallthrough_writes",
    "down_errors",
    "flush_errors",
)
"""Cumulative per-node counters, differenced between the warm-up and the end."""
LEVELS = ("items", "dirty_keys", "used_bytes")
"""Per-node levels, reported as they are at the end of the run."""


def node_index(key: int, nodes: int) -> int:
    """Which of ``nodes`` nodes holds ``key`` (a multiplicative hash of the key)."""
    return ((key * HASH_MULTIPLIER) & MASK64) * nodes >> 64


class CacheNode(Server):
    """One node (``cache[0]``): a command queue in front of a key-level store.

    It offers the instance interface the result's component table reads: ``name``,
    ``component``, ``kind``, ``capacity`` (cores) and :meth:`snapshot` with busy and
    queue areas, served, rejected, and wait and service sums.
    """

    kind = "cache"
    capped = True  # the command queue is unbounded but for the run's safety cap

    def __init__(self, cache: Cache, index: int) -> None:
        spec = cache.spec
        ctx = cache.ctx
        super().__init__(ctx.env, f"{cache.name}[{index}]", cache.name, spec.cores)
        self.ctx = ctx
        self.cache = cache
        self.index = index
        self.cores = self.slots
        self.store = make_store(
            spec.eviction,
            spec.capacity,
            spec.capacity_bytes,
            rng=ctx.rng(cache.name, f"eviction:{index}"),
        )
        self.service = ctx.sampler(spec.latency, cache.name, f"latency:{index}")
        network = spec.network
        self.network = (
            None
            if isinstance(network, Constant) and network.value == 0
            else ctx.sampler(network, cache.name, f"network:{index}")
        )
        self.limit = ctx.safety_cap
        self.reject_code = ctx.recorder.cause("safety_cap")
        self.up = True
        self._outages = 0
        self.inflight: dict[int, Event] = {}  # key -> the single flight loading it
        self.filled_at: float | None = None
        self.stale_reads = self.writes = self.store_reads = self.store_writes = 0
        self.coalesced_reads = self.coalesced_writes = self.lost_writes = 0
        self.fallthrough_reads = self.fallthrough_writes = self.down_errors = 0
        self.flush_errors = 0

    def fail_when_down(self) -> None:
        """For a request that finds this node down: fail it when the cache's ``on_down``
        is ``fail`` (counted in ``down_errors``); otherwise return, and the caller falls
        through (to the backing store, or skips the command)."""
        cache = self.cache
        if cache.spec.on_down == "fail":
            self.down_errors += 1
            raise RequestFailed(cache.down_code)

    def command(self, extra: Callable[[], float] | None = None) -> Process:
        """One command: the network round trip, then a core for one service time.

        The caller acts on :attr:`store` when this returns (and first checks :attr:`up`:
        the node may have failed meanwhile). ``extra`` adds to the service time, called
        when the command starts executing (a cost that depends on the node's state then).
        Returns the service time.
        """
        env = self.env
        if self.network is not None:
            yield env.timeout(self.network())
        cores = self.cores
        if cores.free:
            cores.free -= 1  # Server.take inlined: every request pays for this
        else:
            yield from self.wait_for_core()
        service = self.service()
        if extra is not None:
            service += extra()
        busy = self.busy  # Server.work inlined: one generator less per command
        busy.change(1, env.now)
        yield env.timeout(service)
        busy.change(-1, env.now)
        cores.release()
        self.served += 1
        self.service_sum += service
        return service

    def wait_for_core(self) -> Process:
        """Queue for a core (all busy), or fail at the run's safety cap."""
        cores = self.cores
        if len(cores.waiting) >= self.limit:
            self.rejected += 1
            self.ctx.safety_cap_hits += 1
            raise RequestFailed(self.reject_code)
        waited = yield from self.queue_for(cores)  # then add: others add while it waits
        self.wait_sum += waited

    def stored(self, evicted: list[Entry]) -> None:
        """Handle what a ``set`` pushed out: dirty entries go to the flusher."""
        if self.filled_at is None and self.store.evictions:
            self.filled_at = self.env.now
        for entry in evicted:
            if entry.dirty:
                self.cache.flusher.enqueue(self, entry.key, entry.version)

    def fail(self) -> None:
        """Go down: the contents are lost, and unflushed write-back writes with them."""
        self._outages += 1
        if not self.up:
            return
        self.up = False
        keyspace = self.cache.keyspace
        for entry in self.store.clear():
            self.lost_writes += 1
            keyspace.lost(entry.key, entry.version)
        for lose in self.cache.on_fail:
            lose(self.index)

    def recover(self) -> None:
        """Come back (empty) once every outage covering this node has ended."""
        self._outages -= 1
        if self._outages == 0:
            self.up = True

    def counters(self) -> dict[str, Any]:
        """Cache counters (cumulative) and levels (now), for :meth:`Cache.snapshot`."""
        store = self.store
        values: dict[str, Any] = {
            "hits": store.hits,
            "misses": store.misses,
            "evictions": store.evictions,
            "expirations": store.expirations,
            "rejections": store.rejections,
            "items": len(store),
            "dirty_keys": len(store.dirty_entries()),
            "used_bytes": store.used_bytes,
            "filled_at": self.filled_at,
        }
        for name in COUNTERS[5:]:
            values[name] = getattr(self, name)
        return values


class Flusher:
    """Write-back's background writer: dirty keys reach the store through it.

    Every ``flush_interval`` it takes the dirty entries of every node that is up, marks
    them clean and queues them; entries evicted while dirty are queued at once. Queued
    writes have left the node (a node failure does not lose them); ``flush_concurrency``
    workers write them to the backing store, one store write per key and version.
    """

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.env = cache.env
        self.pending: deque[tuple[CacheNode, int, int]] = deque()
        self.idle: deque[Event] = deque()
        self.backing: Any = None
        self.started = False

    def attach(self, backing: Any) -> None:
        """Set the backing write (from the first write step compiled) and start."""
        if self.started:
            return
        self.started = True
        self.backing = backing
        env = self.env
        env.process(self._ticks(self.cache.spec.flush_interval))
        for _ in range(self.cache.spec.flush_concurrency):
            env.process(self._worker())

    def enqueue(self, node: CacheNode, key: int, version: int) -> None:
        self.pending.append((node, key, version))
        if self.idle:
            self.idle.popleft().succeed()

    def _ticks(self, interval: float) -> Process:
        env = self.env
        while True:
            yield env.timeout(interval)
            for node in self.cache.nodes:
                if not node.up:
                    continue
                store = node.store
                for entry in store.dirty_entries():
                    store.mark_clean(entry.key, entry.version)
                    self.enqueue(node, entry.key, entry.version)

    def _worker(self) -> Process:
        env = self.env
        pending = self.pending
        keyspace = self.cache.keyspace
        while True:
            while not pending:
                wake = Event(env)
                self.idle.append(wake)
                yield wake
            node, key, version = pending.popleft()
            request = Request(0, -1, env.now)
            request.key = key
            node.store_writes += 1
            try:
                yield from self.backing(request, None)
            except RequestFailed:
                node.flush_errors += 1
                node.lost_writes += 1
                keyspace.lost(key, version)
                continue
            keyspace.flushed(key, version)


class Cache(Component):
    """A cache on ``nodes`` nodes; requests reach it through ``read`` and ``write`` steps."""

    kind = "cache"

    def __init__(self, ctx: Context, name: str, spec: CacheSpec) -> None:
        super().__init__(ctx, name)
        self.spec = spec
        self.keyspace: KeyspaceState = ctx.keyspaces[spec.keyspace]
        self.instances = [CacheNode(self, i) for i in range(spec.nodes)]
        self.nodes = self.instances
        self.flusher = Flusher(self)
        # Called with a node's index when it fails: state kept on the nodes by sessions,
        # rate limiters and leaderboards is lost with the node's contents.
        self.on_fail: list[Callable[[int], None]] = []
        self.down_code = ctx.recorder.cause("cache_down") if spec.on_down == "fail" else 0
        # the key -> node map, chosen once: modulo, or the ring with its memoised owners
        self.ring: HashRing | None = None
        self.owners: dict[int, int] = {}
        self.index_of: Callable[[int, int], int] = node_index
        if spec.sharding == "ring":
            self.ring = HashRing([node.name for node in self.nodes], spec.virtual_nodes)
            self.index_of = self.ring_index
        self.ttl = None if spec.ttl is None else ctx.sampler(spec.ttl, name, "ttl")
        self.sizes: dict[int, float] | None = None
        self._draw_size: Any = None
        if spec.object_size is not None:
            rng = ctx.rng(name, "object_size")
            dist = spec.object_size
            self.sizes = {}
            self._draw_size = batched(lambda n: dist.sample_batch(rng, n))

    def node_of(self, key: int) -> CacheNode:
        """The node holding ``key``."""
        return self.nodes[self.index_of(key, len(self.nodes))]

    def ring_index(self, key: int, count: int = 0) -> int:
        """``key``'s node on the ring among the nodes up (``count`` unused: as node_index).

        Owners are memoised per key until a node fails or recovers. With every node down
        the key's own node is returned (and its ``on_down`` applies).
        """
        owner = self.owners.get(key)
        if owner is None:
            owner = self.ring.owner_among(key, self._up)  # type: ignore[union-attr]
            if owner is None:
                owner = self.ring.owner(key)  # type: ignore[union-attr]
            self.owners[key] = owner
        return owner

    def _up(self, index: int) -> bool:
        return self.nodes[index].up

    def size_of(self, key: int) -> float:
        """The size of ``key``'s object: drawn once per key, then fixed (1 without sizes)."""
        sizes = self.sizes
        if sizes is None:
            return 1
        size = sizes.get(key)
        if size is None:
            size = sizes[key] = max(self._draw_size(), 1.0)
        return size

    def resolve(self, endpoint: str) -> Any:  # pragma: no cover - checked by the spec
        raise NotImplementedError("caches are used through read and write steps")

    def fail(self, instance: int | None, connect_timeout: float = 0.0) -> None:
        """Take one node (or all) down (callers find out at once: no connect timeout)."""
        for node in self.nodes if instance is None else [self.nodes[instance]]:
            node.fail()
        self.owners.clear()  # the ring's route table changes (empty without a ring)

    def recover(self, instance: int | None) -> None:
        """Bring one node (or all) back, empty."""
        for node in self.nodes if instance is None else [self.nodes[instance]]:
            node.recover()
        self.owners.clear()

    def snapshot(self, now: float) -> dict[str, Any]:
        return {node.name: node.counters() for node in self.nodes}

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]]:
        """The ``caches.<name>`` section: counts over the measured period, levels at its end."""
        per_node = {name: _node_report(first[name], last[name], span) for name in last}
        total: dict[str, Any] = {
            key: sum(node[key] for node in per_node.values()) for key in (*COUNTERS, *LEVELS)
        }
        _derived(total, span)
        filled = [node["filled_at"] for node in per_node.values()]
        total["filled_at"] = max(filled) if filled and None not in filled else None
        total["nodes"] = per_node
        return "caches", total


def _node_report(first: dict[str, Any], last: dict[str, Any], span: float) -> dict[str, Any]:
    values: dict[str, Any] = {key: last[key] - first[key] for key in COUNTERS}
    values.update({key: last[key] for key in LEVELS})
    values["filled_at"] = last["filled_at"]
    _derived(values, span)
    return values


def _derived(values: dict[str, Any], span: float) -> None:
    """Rates and ratios from the counts (None where there is nothing to divide by)."""
    lookups = values["hits"] + values["misses"]
    reads = lookups + values["fallthrough_reads"]
    values["reads"] = reads
    values["hit_rate"] = values["hits"] / lookups if lookups else None
    values["store_reads_avoided"] = reads - values["store_reads"]
    values["store_read_reduction"] = 1 - values["store_reads"] / reads if reads else None
    values["store_writes_avoided"] = values["coalesced_writes"]
    values["store_reads_per_second"] = values["store_reads"] / span if span > 0 else None
    values["store_writes_per_second"] = values["store_writes"] / span if span > 0 else None
    values["stale_rate"] = values["stale_reads"] / reads if reads else None

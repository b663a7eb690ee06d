"""The routes of a spec, walked for the closed-form estimate: the load each request class
puts on every station, and the mean time of each endpoint.

Two passes over the same steps. :meth:`Routes.load` follows each class from its entry,
as the topology walker does (balancers split by instance counts, cache backing reads at
the miss rate, CDN origins at the edges' miss rate, queries ``repeat`` times), and adds
every visit to the station it queues at. :meth:`Routes.response` then sums an
endpoint's steps: service, the stations' mean waits, delays and network hops. Anything
the closed forms do not cover is written down per component in :attr:`Routes.notes`,
never guessed silently.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from typing import Any

import numpy as np

from simperf.analysis.sessions import SessionShares, session_shares
from simperf.dbcost.explain import has_pool
from simperf.dbcost.mix import (
    ON_WRITE,
    Variant,
    cache_read_rates,
    cache_step_rates,
    cdn_edge_shares,
    cdn_miss_rate,
    miss_rate,
    ttl_form,
)
from simperf.estimate.hedging import HedgedAnswer, hedged_answer
from simperf.estimate.queries import QueryRoutes, _variant
from simperf.estimate.regions import RegionRoutes
from simperf.estimate.stations import (
    Station,
    Time,
    delayed,
    queued,
    served,
    tabulated,
    waited,
)
from simperf.keys import MAX_PROBABILITY_KEYS
from simperf.spec.cache import BackingDelay
from simperf.spec.scenario import Scenario


class Routes(QueryRoutes, RegionRoutes):
    """The stations of a scenario and its classes' routes through them (databases in
    :class:`~simperf.estimate.queries.QueryRoutes`, regions in
    :class:`~simperf.estimate.regions.RegionRoutes`).

    Parameters
    ----------
    scenario
        The validated scenario.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.components = scenario.components
        self.stations: dict[tuple[str, str], Station] = {}
        self.calls: dict[tuple[str, str], float] = defaultdict(float)
        self.notes: dict[str, list[str]] = defaultdict(list)
        # autoscaled servers estimated at their starting fleet -> why (estimate.core)
        self.unsettled: dict[str, str] = {}
        self.idle = False  # True: every wait is 0 (the demands of a closed workload)
        self.waits: dict[tuple[str, str], float] = {}  # per visit, set by a closed solution
        network = scenario.network
        self.regions = list(network.regions) if network is not None else []
        self._memo: dict[tuple[Any, ...], Time] = {}
        self._db: dict[str, Any] = {}
        self.pooled: dict[tuple[str, str], dict[tuple[Variant, bool], float]] = {}
        self.unpooled: set[str] = set()
        self._bounds: dict[str, int | None] = {}
        # geographic balancers: rates per client region held back until every class is
        # loaded (spill-over depends on all of them), then the shares each group serves
        self._pending: dict[tuple[str, str], dict[int, float]] = {}
        self._pending_parts: dict[tuple[str, str], dict[int, dict[tuple[str, bool], float]]] = {}
        self._shares: dict[tuple[str, str], list[list[float]]] = {}
        self._capped: dict[str, tuple[float, float]] = {}
        self.rate: float | None = None  # requests per second of an open workload
        self._read_rates: dict[str, float] = {}  # cache -> reads per request
        self._writes: dict[str, float] | None = None  # cache -> writes per request
        self.entries: list[tuple[Any, float, int]] = []  # (class, share, client region)
        # app servers keeping sessions -> what their requests' lookups find; rates each
        # server gets through ip_hash balancers (sticky)
        self.sessions: dict[str, SessionShares] = {}
        self._sticky: dict[str, float] = defaultdict(float)
        # hedged call steps (by id): copies per call to load (from the previous solution;
        # absent: at no waits), first copies per second, the copies loaded, and the
        # copies per call this solution's waits give (estimate.core iterates to settle)
        self.hedge_copies: dict[int, float] = {}
        self.hedge_rates: dict[int, float] = defaultdict(float)
        self.hedge_loaded: dict[int, float] = {}
        self.hedges_found: dict[int, float] = {}
        self._unwaited: tuple[str, str] | None = None  # a station's wait left out

    # -- notes and stations ---------------------------------------------------------
    def note(self, component: str, text: str) -> None:
        """Record what the estimate of ``component`` approximates or leaves out (once)."""
        if text not in self.notes[component]:
            self.notes[component].append(text)

    def station(self, component: str, resource: str, servers: int, instances: int) -> Station:
        """The station of ``component``'s ``resource``, created on first use."""
        key = (component, resource)
        if key not in self.stations:
            self.stations[key] = Station(component, resource, servers, instances)
        return self.stations[key]

    def link_station(self, name: str) -> Station:
        """One direction of a shared link (``from->to``): a single server."""
        return self.station(name, "link", 1, 1)

    def wait(self, station: Station) -> float:
        """Mean wait per visit at ``station`` (0 when solving for demands)."""
        if self.idle:
            return 0.0
        key = (station.component, station.resource)
        if key == self._unwaited:
            return 0.0
        if key in self.waits:
            return self.waits[key]
        if self.unqueued(station):  # its callers' pools admit no more than it serves
            return 0.0
        if station.resource == "workers":
            share = self.worker_wait_share(station.component)
            if share < 1.0:
                wait = station.wait()
                return wait if math.isinf(wait) else wait * share
        return station.wait()

    def wait_time(self, station: Station) -> Time:
        """The wait per visit at ``station`` as a :class:`Time`: its mean (:meth:`wait`),
        waited with the station's Erlang C probability (only by the share of requests
        taken over a spilling group's limit, for its workers), exponential when it is; at
        a single server, its M/G/1 wait whole (:func:`queued`), but where a closed loop's
        MVA or a spilling group's share set the mean."""
        wait = self.wait(station)
        if wait <= 0 or not math.isfinite(wait):
            return Time(wait, 0.0)
        key = (station.component, station.resource)
        share = 1.0
        if station.resource == "workers" and key not in self.waits:
            share = min(self.worker_wait_share(station.component), 1.0)
        if station.servers == 1 and share == 1.0 and key not in self.waits:
            return queued(station)  # Pollaczek-Khinchine's wait of the visits' mixture
        prob = station.prob_wait() * share
        return waited(wait, prob if prob > 0 else 1.0)

    # -- pass 1: load ---------------------------------------------------------------
    def load(
        self,
        component: str,
        endpoint: str,
        rate: float,
        region: int,
        klass: str,
        client: bool = False,
    ) -> None:
        """Add the visits of ``rate`` calls per second of ``component.endpoint``
        (``client``: calls from the clients of ``klass`` in ``region``, whose payloads
        cross the links to the component's region)."""
        if rate <= 0:
            return
        source, region = region, self.located(component, region)
        spec = self.components[component]
        if client:
            self.load_links(source, region, klass, rate)
        # a balancer without a region sends its clients' calls straight to its backends
        client = client and kind_without_region(spec, self.regions)
        self.calls[(component, endpoint)] += rate
        kind = spec.kind
        if kind == "app_server":
            self._load_app(component, spec, endpoint, rate, region)
        elif kind == "load_balancer":
            policy = spec.policy
            if policy in ("least_connections", "power_of_two"):
                self.note(
                    component,
                    f"{policy}: waits estimated as for an even random split "
                    "(joining the shortest queue waits less)",
                )
            elif policy in ("weighted_round_robin", "ip_hash"):
                self.note(component, f"{policy}: traffic taken as split evenly by instances")
            elif policy == "geographic" and self.regions and not self.idle:
                rates = self._pending.setdefault((component, endpoint), {})
                rates[region] = rates.get(region, 0.0) + rate
                parts = self._pending_parts.setdefault((component, endpoint), {})
                part = (klass if client else "", client)
                mine = parts.setdefault(region, {})
                mine[part] = mine.get(part, 0.0) + rate
                return
            for f in self._backends(spec, endpoint, region):
                if policy == "ip_hash":
                    self._sticky[f.component] += rate * f.weight
                self.load(f.component, f.endpoint, rate * f.weight, region, klass, client)
        elif kind == "cdn":
            miss = self._cdn_miss(spec, klass, region)
            self.load(spec.origin, endpoint, rate * miss, region, klass)
        elif spec.is_database:
            self._load_query(component, Variant(endpoint), rate)
        else:  # a kind without a model here: its own time is left out, its forwards kept
            self.note(component, f"{kind}: its own time not estimated")
            for f in spec.forwards(self.scenario, endpoint):
                self.load(f.component, f.endpoint, rate * f.weight, region, klass)

    def app_stations(self, name: str) -> tuple[Station, Station]:
        """An app server's cores and workers stations."""
        spec = self.components[name]
        fleet = spec.initial_replicas  # an autoscaled one's: see estimate.core._autoscale
        return (
            self.station(name, "cores", spec.cores, fleet),
            self.station(name, "workers", spec.worker_count, fleet),
        )

    def cache_station(self, name: str) -> Station:
        """A cache's nodes: each executes ``cores`` commands at once."""
        spec = self.components[name]
        return self.station(name, "cores", spec.cores, spec.nodes)

    def _load_app(self, name: str, spec: Any, endpoint: str, rate: float, region: int) -> None:
        cores, _ = self.app_stations(name)
        store = _session_store(spec, endpoint)
        if store is not None:
            self._command(store, rate)  # get the session and refresh its expiry
        if spec.memory is not None:
            self.note(name, "memory limits not estimated")
        if spec.queue_limit is not None:
            self.note(name, "queue_limit: rejections not estimated (queue taken as unlimited)")
        written: set[str] = set()  # databases this endpoint's queries wrote so far
        for step in spec.steps(endpoint):
            self._load_step(name, spec, cores, step, rate, region, written)

    def load_sessions(self) -> None:
        """Each session-keeping app server's shares of requests that re-authenticate or
        create a session, and the load of its ``reauth`` steps (and, in a shared store,
        of the command that writes a new session).

        Run once every class is loaded: a client's rate at a server is its share of the
        server's whole session traffic (:func:`~simperf.analysis.sessions.session_shares`,
        over the run's measured period from an empty start; a run bounded by a request
        count at the steady state). A request finds its session on another instance
        only through a balancer that is not sticky: traffic that reaches the server only
        through ``ip_hash`` balancers, or a shared store, spreads over one.
        """
        run = self.scenario.run
        for name, spec in self.components.items():
            sessions = spec.sessions if spec.kind == "app_server" else None
            if sessions is None:
                continue
            rate = sum(self.calls.get((name, e), 0.0) for e in spec.endpoints if _uses(spec, e))
            if rate <= 0:
                continue
            if self.rate is None:
                self.note(
                    name, "sessions: creation and re-authentication not estimated (closed loop)"
                )
                continue
            local = isinstance(sessions.store, str)
            sticky = self._sticky.get(name, 0.0) >= rate * (1 - 1e-9)
            spread = spec.initial_replicas if local and not sticky else 1
            shares = session_shares(
                _client_shares(self.scenario.workload.clients),
                rate,
                spread,
                sessions.idle_timeout,
                run.fixed_warmup,
                run.horizon,
            )
            self.sessions[name] = shares
            region = self.located(name, 0)
            cores, _ = self.app_stations(name)
            if sessions.reauth is not None:
                written: set[str] = set()
                for step in spec.steps(sessions.reauth):
                    again = rate * shares.reauthenticated
                    self._load_step(name, spec, cores, step, again, region, written)
            if not local:
                self._command(sessions.store.cache, rate * shares.created)
            how = (
                "a shared store"
                if not local
                else "local, sticky"
                if spread == 1 and sticky
                else f"local, {spread} instances not sticky"
                if spread > 1
                else "local, one instance"
            )
            period = (
                "at the steady state"
                if run.horizon is None
                else f"over {run.fixed_warmup:g}-{run.horizon:g} s from no sessions"
            )
            self.note(
                name,
                f"sessions ({how}): {shares.reauthenticated:.1%} of requests re-authenticate, "
                f"{shares.created:.1%} create one, clients taken as Poisson, {period}; "
                "headroom at these shares (fewer re-authenticate at a higher load)",
            )

    def _load_step(
        self,
        name: str,
        spec: Any,
        cores: Station,
        step: Any,
        rate: float,
        region: int,
        written: set[str],
    ) -> None:
        tag = type(step).__name__
        if tag == "CpuStep":
            speed = spec.speed
            cores.add(rate, step.cpu.mean / speed, step.cpu.variance / speed**2)
        elif tag in ("CallStep", "ParallelStep"):
            copies = 1.0
            if tag == "CallStep" and step.hedge is not None:
                key = id(step)
                if key not in self.hedge_copies:
                    found = self._hedged(name, step, region, idle=True)
                    self.hedge_copies[key] = found.copies_per_call
                copies = self.hedge_loaded[key] = self.hedge_copies[key]
                self.hedge_rates[key] += rate
            for f in step.forwards():
                self.load(f.component, f.endpoint, rate * copies, region, "")
        elif tag == "QueryStep":
            self._load_query(
                step.database,
                _variant(step),
                rate * step.repeat,
                caller=cores,
                pooled=has_pool(spec, step.database),
                after_write=step.database in written,
            )
            self._wrote(step, written)
        elif tag == "ReadStep":
            read = step.read
            miss = self._cache_miss(read.cache)
            # cache-aside: the get, and the set after a miss; read-through: one command
            commands = 1 + miss if read.mode == "cache_aside" else 1.0
            self._command(read.cache, rate * commands)
            self._load_backing(name, cores, read.backing, rate * miss, region)
        elif tag == "WriteStep":
            write = step.write
            if write.cache is not None:
                self._command(write.cache, rate)
                policy = self.components[write.cache].write_policy
                if policy == "write_back":
                    self.note(write.cache, "write_back: deferred writes to the store not estimated")
                    return
            if write.backing is not None:
                self._load_backing(name, cores, write.backing, rate, region)
        elif tag == "RateLimitStep":
            self._command(step.rate_limit.cache, rate)
            self.note(name, "rate limits: rejections not estimated")
        elif tag == "LeaderboardStep":
            self._command(step.leaderboard.cache, rate)
            self.note(step.leaderboard.cache, "leaderboard costs by board size not estimated")
        elif tag != "DelayStep":  # pragma: no cover - every step type is listed
            self.note(name, f"{tag}: not estimated")

    def _load_backing(
        self, name: str, cores: Station, backing: Any, rate: float, region: int
    ) -> None:
        if isinstance(backing, BackingDelay):
            return
        component, endpoint = backing.split(".") if isinstance(backing, str) else backing
        if self.components[component].is_database:
            pooled = has_pool(self.components[name], component)
            self._load_query(component, Variant(endpoint), rate, caller=cores, pooled=pooled)
        else:
            self.load(component, endpoint, rate, region, "")

    def _command(self, cache: str, rate: float) -> None:
        spec = self.components[cache]
        self.cache_station(cache).add(rate, spec.latency.mean, spec.latency.variance)

    def _cache_miss(self, cache: str) -> float:
        """Miss ratio of a cache's reads: Che's approximation on its item capacity (with
        its writes per read: write-around's delete their key, write-through's and
        write-back's set it), or, for a cache with a ttl under an open workload, the
        closed form :func:`~simperf.dbcost.mix.ttl_form` names, at its read rate."""
        spec = self.components[cache]
        writes = self._writes_per_read(cache)
        on_write = ON_WRITE[spec.write_policy]
        if spec.ttl is not None and spec.capacity_bytes is None and self.rate is not None:
            form = ttl_form(spec.capacity, spec.eviction, spec.ttl_refresh)
            return self._ttl_miss(cache, form, writes, on_write)
        if spec.ttl is not None or spec.capacity_bytes is not None:
            self.note(
                cache,
                "hit rate from the item capacity alone (Che); ttl and byte limits lower it",
            )
        if writes:
            what = "delete their key" if on_write == "delete" else "set their key"
            self.note(
                cache,
                f"{spec.write_policy}: {writes:.3g} writes per read {what}"
                + (
                    ", a read hits if read within the characteristic time and not "
                    "written since (reads and writes taken as independent Poisson)"
                    if on_write == "delete"
                    else ", counted as references (reads and writes taken as independent Poisson)"
                ),
            )
            if spec.eviction == "lfu" and on_write == "delete":
                self.note(
                    cache,
                    "lfu: its top keys, each a hit unless written since its previous read; "
                    "a lower bound (the slots deletes free are lent to other keys meanwhile)",
                )
        if spec.eviction == "lfu" and spec.capacity is not None:
            self.note(
                cache,
                "lfu: its most read keys, perfect LFU's limit once its counts since the start "
                "separate them (high early in a run: see docs/caching.md)",
            )
        keyspace = self.scenario.keyspaces[spec.keyspace]
        return miss_rate(
            keyspace,
            capacity=spec.capacity,
            eviction=spec.eviction,
            nodes=spec.nodes,
            writes=writes,
            on_write=on_write,
        )

    def _writes_per_read(self, cache: str) -> float:
        """Writes through ``cache``, per read of it."""
        if self._writes is None:
            self._read_rates, self._writes = cache_step_rates(self.scenario)
        reads = self._read_rates.get(cache, 0.0)
        writes = self._writes.get(cache, 0.0)
        return writes / reads if reads > 0 and writes > 0 else 0.0

    def _ttl_miss(self, cache: str, form: str, writes: float, on_write: str) -> float:
        """Misses of a cache with a ttl by its closed form (``form``, of
        :func:`~simperf.dbcost.mix.ttl_form`): each key's reads Poisson at its share of
        the cache's read rate. Without an item limit an entry lives ``ttl`` from the set
        after a miss (``lambda T / (1 + lambda T)`` of reads hit, for any ttl
        distribution) or from its last hit (``1 - exp(-lambda T)`` at the mean ttl);
        ``writes`` per read delete their key or set it with a fresh ttl (at the mean
        ttl). With an LRU item limit and a ttl refreshed by hits the ttl's time is capped
        by Che's characteristic time (under FIFO and RANDOM a read hits if within the ttl
        of the previous one and not evicted since:
        :func:`~simperf.analysis.caching.refreshed_ttl_hit_rate`); with an item limit and
        a ttl from the set, a read hits if within both
        (:func:`~simperf.analysis.caching.fixed_ttl_hit_rate`)."""
        if cache not in self._read_rates:
            self._read_rates = cache_read_rates(self.scenario)
        spec = self.components[cache]
        rate = (self.rate or 0.0) * self._read_rates.get(cache, 0.0)
        keyspace = self.scenario.keyspaces[spec.keyspace]
        if rate <= 0 or keyspace.keys > MAX_PROBABILITY_KEYS:
            return 1.0
        at_mean = spec.ttl_refresh or writes > 0 or form == "fixed"
        written = ""
        if writes:
            what = "delete their key" if on_write == "delete" else "set it with a fresh ttl"
            written = f"; {spec.write_policy}: {writes:.3g} writes per read {what}"
        refreshed = (
            "lru with a ttl refreshed by hits: a read hits if its key's previous "
            "reference came within the smaller of Che's characteristic time and the ttl, "
            if spec.eviction == "lru"
            else f"{spec.eviction} with a ttl refreshed by hits: a read hits if its key's "
            "previous read came within the ttl and the entry was not evicted since, "
        )
        lead = {
            "refreshed": refreshed,
            "fixed": f"{spec.eviction} with a ttl from the set: a read hits if its key is "
            "neither evicted (the characteristic time) nor expired since the miss that set "
            "it, ",
            "ttl": "hit rate of a ttl-only cache ",
            "lfu": "lfu with a ttl: its most read keys (perfect LFU's limit once its counts "
            "separate them), each hit as in a ttl-only cache ",
        }[form]
        self.note(
            cache,
            lead
            + "at its read rate per key (the time from a miss to its set not counted"
            + ("; ttl refreshed by hits" if spec.ttl_refresh and form == "ttl" else "")
            + written
            + ("; at the mean ttl)" if at_mean else ")"),
        )
        return miss_rate(
            keyspace,
            capacity=spec.capacity,
            eviction=spec.eviction,
            nodes=spec.nodes,
            ttl=spec.ttl,
            writes=writes,
            on_write=on_write,
            ttl_refresh=spec.ttl_refresh,
            rate=rate,
        )

    def _cdn_miss(self, spec: Any, klass: str, region: int) -> float:
        """Misses of the edge in ``region`` for ``klass``: its closed form at its
        cacheable lookup rate (:func:`~simperf.dbcost.mix.cdn_miss_rate`, which the query
        mix takes too), or Che's on its item capacity alone where none applies."""
        if klass not in spec.cacheable:
            return 1.0
        name = next(n for n, s in self.components.items() if s is spec)
        rate = None
        if self.rate is not None:
            rate = self.rate * cdn_edge_shares(self.scenario, name).get(region, 0.0)
        miss = cdn_miss_rate(self.scenario, name, rate)
        if miss is not None and spec.ttl is not None:
            self.note(
                name,
                "edge hit rate of a CDN with a ttl from the set at each edge's cacheable "
                "request rate per object (the time from a miss to its store not counted)",
            )
        if miss is not None and spec.shield is not None:
            self.note(name, "the shield is not estimated: the origin sees every edge miss")
        if miss is not None:
            return miss
        self.note(
            name,
            "edge hit rate from the item capacity alone (Che); ttl, byte limits and the "
            "shield are not estimated",
        )
        keyspace = self.scenario.keyspaces[spec.keyspace]
        return miss_rate(keyspace, capacity=spec.capacity, eviction=spec.eviction)

    # -- pass 2: time ---------------------------------------------------------------
    def response(
        self, component: str, endpoint: str, region: int, klass: str, client: bool = False
    ) -> Time:
        """Mean time of a call of ``component.endpoint`` from ``region``, hop included
        (``client``: a call of ``klass``'s clients, its payloads' transfers included)."""
        key = (component, endpoint, region, klass, client)
        if key not in self._memo:
            self._memo[key] = self._response(component, endpoint, region, klass, client)
        return self._memo[key]

    def _response(
        self, component: str, endpoint: str, region: int, klass: str, client: bool
    ) -> Time:
        there = self.located(component, region)
        hop = Time(0.0, self.hop(region, there))
        spec = self.components[component]
        if client:
            hop = hop + self.link_time(region, there, klass)
        client = client and kind_without_region(spec, self.regions)
        kind = spec.kind
        if kind == "app_server":
            _, workers = self.app_stations(component)
            wait = self.wait_time(workers) if not self.idle else Time()
            return hop + wait + self.hold(component, endpoint)
        if kind == "load_balancer":
            overhead = Time(0.0, spec.overhead.mean)
            forwards = self._backends(spec, endpoint, there)
            inner = sum(
                (
                    self.response(f.component, f.endpoint, there, klass, client).scaled(f.weight)
                    for f in forwards
                ),
                Time(),
            )
            return hop + overhead + inner
        if kind == "cdn":
            return self._cdn(spec, endpoint, region, klass)
        if spec.is_database:
            return hop + self._query_time(component, Variant(endpoint))
        forwards = spec.forwards(self.scenario, endpoint)
        inner = (
            self.response(f.component, f.endpoint, there, klass).scaled(f.weight) for f in forwards
        )
        return hop + sum(inner, Time())

    def hold(self, component: str, endpoint: str) -> Time:
        """Mean time a worker of ``component`` is held by ``endpoint`` (its steps)."""
        key = ("hold", component, endpoint)
        if key in self._memo:
            return self._memo[key]
        spec = self.components[component]
        region = self.located(component, 0)
        cores, _ = self.app_stations(component)
        # With no more workers than cores a worker always finds a core: the queue is
        # for workers (solved at the workers station), never for cores.
        core_wait = self.wait(cores) if spec.worker_count > spec.cores else 0.0
        total = Time()
        store = _session_store(spec, endpoint)
        if store is not None:
            total = total + self._command_time(store, region)
        shares = self.sessions.get(component)
        if shares is not None and _uses(spec, endpoint):
            total = total + self._session_time(component, spec, shares, core_wait, region, store)
        written: set[str] = set()  # databases this endpoint's queries wrote so far
        for step in spec.steps(endpoint):
            total = total + self._step(component, spec, step, core_wait, region, written)
        self._memo[key] = total
        return total

    def _session_time(
        self,
        name: str,
        spec: Any,
        shares: SessionShares,
        core_wait: float,
        region: int,
        store: str | None,
    ) -> Time:
        """A request's mean time spent re-authenticating (the ``reauth`` steps, run in
        its worker) and writing a new session to a shared store."""
        total = Time()
        reauth = spec.sessions.reauth
        if reauth is not None and shares.reauthenticated > 0:
            written: set[str] = set()
            for step in spec.steps(reauth):
                total = total + self._step(name, spec, step, core_wait, region, written)
            total = total.scaled(shares.reauthenticated)
        if store is not None:
            total = total + self._command_time(store, region).scaled(shares.created)
        return total

    def _wrote(self, step: Any, written: set[str]) -> None:
        """Remember that a query step wrote its database (read-your-writes follows it)."""
        if self._query(step.database, _variant(step))[0].is_write:
            written.add(step.database)

    def _step(
        self, name: str, spec: Any, step: Any, core_wait: float, region: int, written: set[str]
    ) -> Time:
        tag = type(step).__name__
        if tag == "CpuStep":
            cpu = served(
                step.cpu.mean / spec.speed, step.cpu.variance / spec.speed**2, _lognormal(step.cpu)
            )
            if core_wait > 0:  # with more workers than cores, the queue is for cores
                return cpu + self.wait_time(self.app_stations(name)[0])
            return cpu
        if tag == "DelayStep":
            return delayed(step.delay.mean, step.delay.variance, _lognormal(step.delay))
        if tag == "CallStep":
            f = step.forwards()[0]
            answer = self.response(f.component, f.endpoint, region, "")
            if step.hedge is None or answer.total <= 0:
                return answer
            # the earliest copy's answer, with the copies' correlated waits
            found = self._hedged(name, step, region)
            if not self.idle and not math.isnan(found.utilization):
                self.hedges_found[id(step)] = found.copies_per_call
            if found.table is None:
                return Time(found.mean, 0.0)
            return tabulated(found.table, found.mean)
        if tag == "ParallelStep":
            self.note(name, "parallel calls: the slowest arm's mean, not the mean of the slowest")
            arms = [self.response(f.component, f.endpoint, region, "") for f in step.forwards()]
            return max(arms, key=lambda t: t.total)
        if tag == "QueryStep":
            there = self.located(step.database, region)
            # each query waits for a connection, then holds it for the hop and the query
            one = (
                self._pool_wait(spec, step.database)
                + Time(0.0, self.hop(region, there))
                + self._query_time(
                    step.database,
                    _variant(step),
                    has_pool(spec, step.database),
                    after_write=step.database in written,
                )
            )
            self._wrote(step, written)
            return one.scaled(step.repeat) + self._rows_cpu(
                spec, step.database, _variant(step), core_wait, step.repeat
            )
        if tag == "ReadStep":
            read = step.read
            miss = self._cache_miss(read.cache)
            command = self._command_time(read.cache, region)
            backing = self._backing_time(spec, read.backing, region, core_wait)
            # a miss takes its backing store's time and, cache-aside, the set after it
            # together: in the p99 they come whole or not at all
            if read.mode == "cache_aside":
                return command + (backing + command).together(miss)
            return command + backing.together(miss)
        if tag == "WriteStep":
            write = step.write
            total = Time()
            if write.cache is not None:
                total = total + self._command_time(write.cache, region)
                if self.components[write.cache].write_policy == "write_back":
                    return total
            if write.backing is not None:
                total = total + self._backing_time(spec, write.backing, region, core_wait)
            return total
        if tag == "RateLimitStep":
            return self._command_time(step.rate_limit.cache, region)
        if tag == "LeaderboardStep":
            return self._command_time(step.leaderboard.cache, region)
        return Time()  # pragma: no cover - every step type is listed

    def _hedged(self, name: str, step: Any, region: int, *, idle: bool = False) -> HedgedAnswer:
        """A hedged call's answer (:func:`simperf.estimate.hedging.hedged_answer`).

        Where the callee queues each call once at one station (an app server's workers,
        or its cores for an endpoint of one ``cpu`` step), the copies share that queue as
        a batch; elsewhere, and with ``idle`` (the load pass at no waits, a closed
        workload's demands), the copies are independent draws of the callee's time."""
        f = step.forwards()[0]
        hedge = step.hedge
        copies = hedge.copies(step.timeout)
        station, shared = None, False
        if not (idle or self.idle):
            shared = self._hedge_station(f.component, f.endpoint) is not None
            station = self._hedge_station(f.component, f.endpoint, loaded=True)
        if idle:
            before, self.idle = self.idle, True
            self.reset()
            answer = self.response(f.component, f.endpoint, region, "")
            self.idle = before
            self.reset()
        elif station is None:
            answer = self.response(f.component, f.endpoint, region, "")
        else:
            saved, self._memo = self._memo, {}
            self._unwaited = (station.component, station.resource)
            try:  # the callee's time without the wait the copies share
                answer = self.response(f.component, f.endpoint, region, "")
            finally:
                self._unwaited = None
                self._memo = saved
        if answer.total <= 0:  # answered at once: no further copy is ever sent
            return HedgedAnswer(0.0, 1.0, math.nan, None)
        if station is None:
            if not (idle or self.idle or shared):  # (shared: its station not filled yet)
                self.note(
                    name,
                    "hedge: copies taken as independent draws of the callee's time (their "
                    "shared queue not modelled here)",
                )
            return hedged_answer(answer, hedge.after, copies)
        self.note(
            name,
            f"hedge: copies share {station.label}'s queue as a batch (Erlang stages "
            "scaled by Allen-Cunneen's (1 + cs^2) / 2)",
        )
        key = id(step)
        per = station.instances
        first = self.hedge_rates.get(key, 0.0) / per
        others = max(station.rate / per - first * self.hedge_loaded.get(key, 1.0), 0.0)
        return hedged_answer(
            answer,
            hedge.after,
            copies,
            first_rate=first,
            other_rate=others,
            servers=station.servers,
            service=station.mean_service,
            scv=station.scv,
        )

    def _hedge_station(
        self, component: str, endpoint: str, *, loaded: bool = False
    ) -> Station | None:
        """The station where each call of ``component.endpoint`` queues once (an app
        server's workers when it has no more workers than cores; its cores for an
        endpoint of one ``cpu`` step), or None (``loaded``: also None while it has no
        traffic, a workers station being filled)."""
        spec = self.components[component]
        if spec.kind != "app_server":
            return None
        cores, workers = self.app_stations(component)
        station = None
        if spec.worker_count <= spec.cores:
            station = workers
        else:
            steps = spec.steps(endpoint)
            if len(steps) == 1 and type(steps[0]).__name__ == "CpuStep":
                station = cores
        if station is None or (loaded and station.rate <= 0):
            return None
        return station

    def _backing_time(self, spec: Any, backing: Any, region: int, core_wait: float) -> Time:
        if isinstance(backing, BackingDelay):
            return Time(0.0, backing.delay.mean)
        component, endpoint = backing.split(".") if isinstance(backing, str) else backing
        if self.components[component].is_database:
            there = self.located(component, region)
            variant = Variant(endpoint)
            return (
                self._pool_wait(spec, component)
                + Time(0.0, self.hop(region, there))
                + self._query_time(component, variant, has_pool(spec, component))
                + self._rows_cpu(spec, component, variant, core_wait, 1)
            )
        return self.response(component, endpoint, region, "")

    def _command_time(self, cache: str, region: int) -> Time:
        spec = self.components[cache]
        node = self.cache_station(cache)
        there = self.located(cache, region)
        trip = spec.network.mean + self.hop(region, there)
        command = served(spec.latency.mean, spec.latency.variance) + self.wait_time(node)
        return command + Time(0.0, trip)

    def _cdn(self, spec: Any, endpoint: str, region: int, klass: str) -> Time:
        miss, trip, origin = self._cdn_parts(spec, endpoint, region, klass)
        return trip + origin.scaled(miss)

    def _cdn_parts(
        self, spec: Any, endpoint: str, region: int, klass: str
    ) -> tuple[float, Time, Time]:
        """A CDN request's edge miss ratio, its trip to the edge and back, and the
        origin's time on a miss."""
        edge = spec.edges.get(self.regions[region]) if self.regions else None
        trip = Time(0.0, 2 * edge.latency if edge is not None else 0.0)
        miss = self._cdn_miss(spec, klass, region)
        return miss, trip, self.response(spec.origin, endpoint, region, klass)

    def branches(
        self, component: str, endpoint: str, region: int, klass: str
    ) -> list[tuple[float, Time]]:
        """A class's route from its entry as the outcomes it mixes, ``(probability,
        time)``, for its quantiles: a CDN's edge hits and misses apart (a miss's trip to
        the origin is all or nothing, not a share of every request's time), any other
        entry one route. Their mean is :meth:`response`'s."""
        spec = self.components[component]
        if spec.kind == "cdn":
            miss, trip, origin = self._cdn_parts(spec, endpoint, region, klass)
            return [(p, t) for p, t in ((1.0 - miss, trip), (miss, trip + origin)) if p > 0]
        return [(1.0, self.response(component, endpoint, region, klass, True))]

    # -- the stations' own holding times --------------------------------------------
    def fill_workers(self) -> None:
        """Put each app server's endpoints' holding times on its workers station.

        A worker is held for the whole endpoint, waits downstream included; an endpoint
        of one ``cpu`` step holds it for that step's time distribution, any other is
        taken as exponential (its variance unknown). The pools' holding times, which do
        not depend on the workers' waits, are put first (:meth:`fill_pools`).
        """
        self.fill_pools()
        for (component, resource), station in list(self.stations.items()):
            if resource != "workers":
                continue
            station.clear()
            spec = self.components[component]
            for endpoint in spec.endpoints:
                rate = self.calls.get((component, endpoint), 0.0)
                if rate <= 0:
                    continue
                held = self.hold(component, endpoint).total
                steps = spec.steps(endpoint)
                if len(steps) == 1 and type(steps[0]).__name__ == "CpuStep":
                    variance = steps[0].cpu.variance / spec.speed**2
                else:
                    variance = held * held
                station.add(rate, held, variance)

    def reset(self) -> None:
        """Forget the memoised times (after the waits changed)."""
        self._memo.clear()
        self._bounds.clear()


def _lognormal(dist: Any) -> bool:
    """Whether a step's time is lognormal (its own tail in the quantiles, not a gamma's)."""
    return getattr(dist, "dist", None) == "lognormal"


def kind_without_region(spec: Any, regions: list[str]) -> bool:
    """Whether ``spec`` is a balancer without a region: its calls go from its caller's
    region straight to the backend it picks (the runtime's ``resolve_from``)."""
    return spec.kind == "load_balancer" and bool(regions) and spec.location(regions) is None


def _uses(spec: Any, endpoint: str) -> bool:
    """Whether an app server's ``endpoint`` carries a session (as ``Sessions.uses``)."""
    sessions = spec.sessions
    if sessions is None:
        return False
    return endpoint in sessions.endpoints if sessions.endpoints else endpoint != sessions.reauth


def _session_store(spec: Any, endpoint: str) -> str | None:
    """The cache an app server's ``endpoint`` reads its sessions from (one command), if any."""
    if not _uses(spec, endpoint) or isinstance(spec.sessions.store, str):
        return None
    return spec.sessions.store.cache


def _client_shares(clients: Any) -> np.ndarray:
    """Each client address's share of requests, as the workload draws them (one address,
    ``None``, when the workload names none)."""
    if clients is None or clients.addresses is None:
        return np.ones(1)
    return _zipf_weights(clients.addresses, clients.skew)


@functools.lru_cache(maxsize=4)
def _zipf_weights(addresses: int, skew: float) -> np.ndarray:
    """``1 / (i + 1)^skew`` per address, kept: a capacity search estimates many times, and
    a workload may name ten million addresses."""
    weights = np.arange(1, addresses + 1, dtype=float) ** -skew
    weights.flags.writeable = False
    return weights


def finite(value: float) -> float | None:
    """A JSON-safe number: None for an infinite (saturated) time."""
    return value if math.isfinite(value) else None

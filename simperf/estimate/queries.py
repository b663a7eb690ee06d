"""The databases on the estimate's routes: the load a query puts on a database's CPU and
storage stations, and its mean time (scatter-gather over shards, rows read by the caller)."""

from __future__ import annotations

import math
from typing import Any

from simperf.analysis.forkjoin import fork_join_bounds
from simperf.dbcost.explain import (
    has_pool,
    hit_ratios,
    hottest_share,
    key_shares,
    plan_variant,
    pool_models,
)
from simperf.dbcost.mix import Variant
from simperf.dbcost.query_cost import expected_times, storage_times
from simperf.estimate.stations import Station, Time, exceeds, served, slowest
from simperf.units import format_time


class QueryRoutes:
    """The database part of :class:`simperf.estimate.routes.Routes` (a mixin: it uses the
    routes' components, stations, calls, notes and waits)."""

    components: Any
    scenario: Any
    calls: dict[tuple[str, str], float]
    stations: dict[tuple[str, str], Station]
    _db: dict[str, Any]
    rate: float | None
    pooled: dict[tuple[str, str], dict[tuple[Variant, bool], float]]
    """(app server, database) -> (query variant, after a write) -> queries per second
    through that app's pool for the database."""
    unpooled: set[str]
    """Databases some query reaches without a pool (a connection opened per query)."""
    _bounds: dict[str, int | None]
    """Database -> :meth:`connections` (forgotten with the memoised times)."""

    def connections(self, database: str) -> int | None:
        """The most queries ``database`` can be running at once, on any one of its servers:
        its callers' pools' connections (each instance's pool, at the largest fleet it
        can have), each holding one query at a time; None where nothing bounds them (a
        caller opens a connection per query) or a closed loop's pools are not estimated."""
        if self.rate is None or database in self.unpooled:
            return None
        total = 0
        for name, db in self.pooled:
            if db == database:
                spec = self.components[name]
                size = next(p.size for p in spec.pools if p.database == database)
                total += size * spec.most_replicas
        return total or None

    def unqueued(self, station: Station) -> bool:
        """Whether ``station``, a database server's cores or storage slots, never queues:
        its callers' pools hold no more connections than it has servers, so the queries
        that would wait there wait for a connection instead (at the pools' stations,
        whose holding times then carry no wait here). Noted where it applies."""
        name = station.component
        if name not in self._bounds:
            spec = self.components.get(name)
            self._bounds[name] = (
                self.connections(name) if spec is not None and spec.is_database else None
            )
        bound = self._bounds[name]
        if bound is None or bound > station.servers:
            return False
        what = "cores" if station.resource.endswith("cpu") else "I/O slots"
        self.note(
            station.component,
            f"{station.resource}: at most {bound} queries at once (its callers' pools hold "
            f"{bound} connections, no more than its {station.servers} {what}): none waits "
            f"for {'a core' if what == 'cores' else 'a slot'}, the pools queue them",
        )
        return True

    def _query(self, database: str, variant: Variant) -> tuple[Any, dict[str, float], bool]:
        """(plan, expected times on the primary, whether it runs on every shard)."""
        spec = self.components[database]
        if database not in self._db:
            self._db[database] = pool_models(self.scenario, database)[0][0]
            if getattr(spec, "read_replicas", 0):
                self.note(database, "reads spread evenly over the replicas")
        p = plan_variant(spec, variant)
        hit, join_hit = hit_ratios(self._db[database], p)
        times = expected_times(p, spec, spec.primary, hit, join_hit)
        times["visit"], times["io_variance"] = _io_moments(p, spec, hit, join_hit)
        return p, times, not spec.single_shard(variant.query)

    def _storage_station(self, database: str, write: bool) -> Station:
        """The storage of the servers a query runs on: ``io_depth`` slots each."""
        spec = self.components[database]
        cpu = self._db_station(database, write)
        instance = spec.primary if cpu.resource == "cpu" else spec.replica_spec
        depth = storage_times(instance.storage)[0]
        resource = "storage" if cpu.resource == "cpu" else "replica storage"
        return self.station(database, resource, depth, cpu.instances)

    def _db_station(self, database: str, write: bool) -> Station:
        spec = self.components[database]
        shards = spec.shard_count
        replicas = getattr(spec, "read_replicas", 0)
        if write or not replicas or spec.read_policy == "primary":
            return self.station(database, "cpu", spec.primary.cores, shards)
        return self.station(database, "replica cpu", spec.replica_spec.cores, shards * replicas)

    def _load_query(
        self,
        database: str,
        variant: Variant,
        rate: float,
        caller: Station | None = None,
        pooled: bool = False,
        after_write: bool = False,
    ) -> None:
        spec = self.components[database]
        p, times, fans = self._query(database, variant)
        visits = rate * (spec.shard_count if fans else 1)
        primary = self._on_primary(database, p.is_write, after_write)
        shares = self._routed_shares(database, variant, primary)
        if not pooled:  # a connection opened per query: its session start-up takes a core
            self.unpooled.add(database)
            startup = spec.connection.startup
            station = self._db_station(database, primary)
            station.add(visits, startup.mean, startup.variance, shares)
        elif caller is not None and self.rate is None:
            self.note(
                caller.component,
                "pool: the wait for a connection not estimated in a closed loop (MVA has no "
                "station for a resource held across the database's)",
            )
        elif caller is not None:  # each query holds one of the caller's connections
            self.pool_station(caller.component, database)
            visits_of = self.pooled.setdefault((caller.component, database), {})
            key = (variant, after_write)
            visits_of[key] = visits_of.get(key, 0.0) + rate
        if fans:
            self.note(
                database,
                "scatter-gather: the slowest shard's waits by Nelson-Tantawi's fork-join "
                "approximation (service taken as equal on every shard); their p99 from the "
                "longest of the shards' waits taken as independent",
            )
        self.calls[(database, variant.query)] += rate
        # the CPU as the run draws it: per_query's draw plus the plan's constant part
        cpu_variance = spec.cpu.per_query.variance
        self._db_station(database, primary).add(visits, times["cpu"], cpu_variance, shares)
        if times["visit"] > 0:  # a query's page I/O holds one storage slot, all at once
            share = times["visit"]
            mean = times["io"] / share
            second = (times["io_variance"] + times["io"] ** 2) / share
            station = self._storage_station(database, primary)
            station.add(visits * share, mean, max(second - mean * mean, 0.0), shares)
        per_row = getattr(spec, "client_cpu_per_row", 0.0)
        if caller is not None and per_row and p.rows_returned:
            rows = p.rows_returned * (spec.shard_count if fans else 1)
            caller.add(rate, rows * per_row, 0.0)

    def pool_station(self, name: str, database: str) -> Station:
        """App server ``name``'s pool for ``database``: ``size`` connections per instance
        (``pool``, or ``pool <database>`` on a server with several pools)."""
        spec = self.components[name]
        pools = spec.pools
        size = next(p.size for p in pools if p.database == database)
        resource = "pool" if len(pools) == 1 else f"pool {database}"
        return self.station(name, resource, size, spec.initial_replicas)

    def fill_pools(self) -> None:
        """Put each pool's holding times on its station: a query holds a connection for
        its hop to the database and its whole time there (waits, CPU, page I/O, the
        transfer), its variance from those parts; the caller's CPU for the rows comes
        after the connection is given back. Arrivals are the queries themselves (a
        request's ``repeat`` queries offer that many), taken as Poisson."""
        for (name, database), visits in self.pooled.items():
            station = self.pool_station(name, database)
            station.clear()
            there = self.located(database, self.located(name, 0))
            hop = Time(0.0, self.hop(self.located(name, 0), there))
            for (variant, after_write), rate in visits.items():
                held = hop + self._query_time(database, variant, True, after_write)
                mean = held.total
                variance = held.variance if math.isfinite(mean) else math.inf
                station.add(rate, mean, variance)
            self.note(
                name,
                f"{station.resource}: its connections an M/G/c station of the queries' "
                "holding times (Allen-Cunneen), queries taken as Poisson; max_wait "
                "timeouts and refused connections not estimated",
            )

    def note_timeouts(self) -> None:
        """Note each pool whose queries are estimated to wait past its ``max_wait`` (in
        more than one in a million): the run fails those (``pool_timeout``) and the
        connections they would have held serve the rest sooner, where the estimate takes
        the wait as unbounded, so there its waits, latencies and occupancy are upper
        bounds, and its errors (none) a lower one."""
        for name, database in self.pooled:
            station = self.pool_station(name, database)
            spec = self.components[name]
            limit = next(p.max_wait for p in spec.pools if p.database == database)
            wait = self.wait(station)
            if wait <= 0 or wait < 1e-6 * limit:  # Markov: P(wait > limit) < 1e-6
                continue
            late = exceeds(self.wait_time(station), limit) if math.isfinite(wait) else 1.0
            if late < 1e-6:
                continue
            share = "all" if late >= 1.0 else f"{late:.2g}"
            self.note(
                name,
                f"{station.resource}: {share} of its queries estimated to wait past its "
                f"max_wait of {format_time(limit)}, which the run fails (pool_timeout) and "
                "the estimate does not model: its waits, latencies and occupancy are upper "
                "bounds there, its errors (none) a lower one",
            )

    def _pool_wait(self, spec: Any, database: str) -> Time:
        """The wait for a connection of the caller's pool for ``database`` (none, or
        exponential, at the pool's Erlang C); nothing without a pool, or in a closed
        loop."""
        if not has_pool(spec, database):
            return Time()
        name = next(n for n, s in self.components.items() if s is spec)
        if (name, database) not in self.pooled:  # a closed loop's: not estimated
            return Time()
        return self.wait_time(self.pool_station(name, database))

    def _routed_shares(self, database: str, variant: Variant, write: bool) -> list[float] | None:
        """Each CPU instance's share of a query routed by key on a sharded database (each
        shard's replicas splitting its share evenly); None where the load is even."""
        spec = self.components[database]
        shards = spec.shard_count
        if shards <= 1 or not spec.single_shard(variant.query):
            return None
        table = spec.queries[variant.query].table
        shares = key_shares(spec.tables[table], self.scenario, shards, spec.routing)
        busiest = float(shares.max()) * shards
        if busiest > 1.01:
            hottest = hottest_share(spec.tables[table], self.scenario) * shards
            self.note(
                database,
                f"{table}: its busiest shard gets {busiest:.3g}x the mean shard's share of "
                f"the queries routed by key (its hottest key alone {hottest:.3g}x), and "
                "sets the shards' waits",
            )
        copies = self._db_station(database, write).instances // shards
        return [float(share) / copies for share in shares for _ in range(copies)]

    def _on_primary(self, database: str, write: bool, after_write: bool) -> bool:
        """Whether a query runs on the primary: a write, or a read that follows its
        request's own write within ``read_your_writes`` (noted where that applies)."""
        spec = self.components[database]
        if write or not after_write or not getattr(spec, "read_your_writes", 0):
            return write
        self.note(
            database,
            "read_your_writes: a request's reads after its own write in the same endpoint "
            "run on the primary; a client's later requests are not followed",
        )
        return True

    def _query_time(
        self, database: str, variant: Variant, pooled: bool = False, after_write: bool = False
    ) -> Time:
        """A query's time as its parts: the wait for a core (none, or exponential, at the
        server's Erlang C), its CPU (a gamma of its mean and variance), the wait for a
        storage slot and its page I/O (both skipped by a query that misses nothing: an
        atom), and the transfer of its rows (constant); without a pool, the handshake
        (constant) and the session start-up, which waits for a core again."""
        db = self.components[database]
        p, times, fans = self._query(database, variant)
        primary = self._on_primary(database, p.is_write, after_write)
        station = self._db_station(database, primary)
        shards = db.shard_count if fans else 1
        core_wait = self._slowest_wait(station, shards)
        cpu = served(times["cpu"], db.cpu.per_query.variance)
        total = core_wait + cpu
        visit = times["visit"]
        if visit > 0:  # the wait and the I/O of the queries that miss a page (or write)
            storage = self._storage_station(database, primary)
            mean = times["io"] / visit
            second = (times["io_variance"] + times["io"] ** 2) / visit
            io = served(mean, max(second - mean * mean, 0.0))
            total = total + (self._slowest_wait(storage, shards) + io).scaled(visit)
        total = total + Time(0.0, times["round_trip"] - times["cpu"] - times["io"])
        if not pooled:  # the handshake, then the start-up, which queues for a core too
            connection = db.connection
            startup = served(connection.startup.mean, connection.startup.variance)
            total = total + Time(0.0, connection.handshake.mean) + startup + core_wait
        return total

    def _slowest_wait(self, station: Station, shards: int) -> Time:
        """The wait for ``station`` (:meth:`wait_time`: none, or exponential; M/G/1's at
        a single server) or, over ``shards`` > 1, the slowest shard's: its mean Nelson
        and Tantawi's, its distribution the longest of the shards' waits taken as
        independent (:func:`slowest`)."""
        if shards <= 1:
            return self.wait_time(station)
        wait = self.wait(station)
        longest = _slowest(wait, station, shards)
        if longest <= 0 or not math.isfinite(longest):
            return Time(longest, 0.0)
        return slowest(wait, station.prob_wait() or 1.0, shards, longest)

    def _rows_cpu(
        self, spec: Any, database: str, variant: Variant, core_wait: float, repeat: int
    ) -> Time:
        db = self.components[database]
        per_row = getattr(db, "client_cpu_per_row", 0.0)
        p, _, fans = self._query(database, variant)
        if not per_row or not p.rows_returned:
            return Time()
        rows = p.rows_returned * (db.shard_count if fans else 1)
        cpu = served(rows * per_row / spec.speed, 0.0)  # a constant count of rows
        if core_wait > 0:  # with more workers than cores, the caller queues for a core
            name = next(n for n, s in self.components.items() if s is spec)
            cpu = cpu + self.wait_time(self.app_stations(name)[0])
        return cpu.scaled(repeat)


def _slowest(wait: float, station: Station, shards: int) -> float:
    """The wait of the slowest of ``shards`` shards a scatter-gather waits for.

    Each shard's wait is scaled as the mean response of a fork-join over ``shards``
    M/M/1 queues at the station's utilisation is to one queue's (Nelson and Tantawi's
    approximation, :func:`simperf.analysis.forkjoin.fork_join_bounds`); the service
    itself is taken as the same on every shard.
    """
    rho = station.utilization
    if shards <= 1 or wait <= 0 or not math.isfinite(wait) or rho >= 1.0:
        return wait
    bounds = fork_join_bounds(rho, 1.0, shards)
    return wait * bounds.nelson_tantawi / bounds.lower


def _io_moments(p: Any, spec: Any, hit: float, join_hit: float) -> tuple[float, float]:
    """(probability that a query does any page I/O, variance of its I/O time).

    The simulated server holds one storage slot for all of a query's I/O at once: its
    pages missing the buffer pool (binomial, each independently) times the read time,
    and its pages written times the write time. That batch is one visit of random
    length, which waits longer than as many separate constant page reads would.
    """
    _, read, write = storage_times(spec.primary.storage)
    groups = [(p.heap_pages, 1.0 - hit), (p.join_heap_pages, 1.0 - join_hit)]
    groups = [(n, min(max(q, 0.0), 1.0)) for n, q in groups if n > 0]
    variance = sum(n * q * (1.0 - q) for n, q in groups) * read * read
    if p.pages_written > 0 and write > 0:
        return 1.0, variance
    if read <= 0:
        return 0.0, 0.0
    idle = math.prod((1.0 - q) ** n for n, q in groups)
    return 1.0 - idle, variance


def _variant(step: Any) -> Variant:
    return Variant(step.query, step.limit, step.offset, step.pagination)

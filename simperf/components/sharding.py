"""Sharded databases: ``shards`` databases, each a primary with its read replicas.

A query filtering on its table's shard key (and every insert) goes to the shard owning
its key: ``hash`` routing takes the key, mixed by SplitMix64's 64-bit finaliser, modulo
``shards`` (:func:`simperf.dbcost.buffer_pool.shard_of`), ``range`` routing gives shard
``i`` the keys ``[i K / N, (i + 1) K / N)`` of a key space of ``K`` keys ranked by
popularity (so range sharding puts the hottest keys together). Any other
query fans out to every shard at once and waits for the slowest (scatter-gather), each
shard examining its share of the rows (``rows / shards``).
"""

from __future__ import annotations

import numpy as np

from simperf.components.base import Context, Process, Request, RequestFailed, outcome_of
from simperf.components.database import Database, DatabaseCore, QueryRoute
from simperf.dbcost.buffer_pool import shard_of, shards_of
from simperf.spec.database import ShardedDatabaseSpec

SHARD_TABLE_KEYS = 1 << 22
"""Largest key space whose keys' shards are tabulated (a byte a key) by
:meth:`ShardedDatabase.shard_table` (building it takes some 24 bytes a key, briefly)."""


class ShardedDatabase(Database):
    """A sharded database component (``kind: sharded_database``)."""

    kind = "sharded_database"

    def __init__(self, ctx: Context, name: str, spec: ShardedDatabaseSpec) -> None:
        self.shard_count = spec.shards
        self.routing = spec.routing
        self.fanouts = 0
        self._tables: dict[int, bytes | None] = {}
        super().__init__(ctx, name, spec)

    def _make_cores(self) -> list[DatabaseCore]:
        return [DatabaseCore(self, shard) for shard in range(self.shard_count)]

    def shard_table(self, space: int) -> bytes | None:
        """The shard of every key of a ``space``-key space (``shard_of``'s, looked up by
        key instead of computed per query), or None when the space is too large or
        there are more than 256 shards. Built once per key space."""
        if space not in self._tables:
            fits = space <= SHARD_TABLE_KEYS and self.shard_count <= 256
            self._tables[space] = (
                shards_of(np.arange(space), self.shard_count, self.routing, space)
                .astype(np.uint8)
                .tobytes()
                if fits
                else None
            )
        return self._tables[space]

    def dispatch(self, request: Request, route: QueryRoute, pooled: bool) -> Process:
        key = request.key if request.key is not None else route.key()
        if route.single:
            shard = shard_of(key, self.shard_count, self.routing, route.space)
            return self.cores[shard].run(request, route.queries[shard], key, pooled)
        return self._scatter(request, route, key, pooled)

    def _scatter(self, request: Request, route: QueryRoute, key: int, pooled: bool) -> Process:
        env = self.env
        spawn = self.ctx.spawn
        self.fanouts += 1
        arms = [
            spawn(outcome_of(core.run(request, q, key, pooled)))
            for core, q in zip(self.cores, route.queries, strict=True)
        ]
        yield env.all_of(arms)
        for arm in arms:
            if arm.value:
                raise RequestFailed(arm.value)

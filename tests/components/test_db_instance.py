"""A replica's pending writes: kept while they are not yet visible, not for the run."""

from __future__ import annotations

from simperf.build import build
from simperf.components.expiring import FLOOR
from tests.components.test_database import database, scenario


def pending_keys(requests: int) -> int:
    """Keys a replica holds pending after ``requests`` writes of random orders (1 ms lag)."""
    queries = {"touch": {"table": "orders", "op": "update", "where": ["id"]}}
    db = database(read_replicas=1, replication_lag="1ms", queries=queries)
    steps = [{"query": "touch", "database": "db"}, {"query": "order", "database": "db"}]
    s = scenario(steps, db=db, pool={"size": 8}, rate=1000.0, requests=requests)
    model = build(s, seed=1).execute()
    replica = model.components["db"].cores[0].replicas[0]
    assert replica.writes_applied == requests
    return sum(len(table) for table in replica.pending)


def test_pending_writes_are_forgotten_once_visible() -> None:
    # one entry per key ever written, before: about 1,800 of 10,000 orders, then 5,500
    assert pending_keys(8000) <= pending_keys(2000) + FLOOR

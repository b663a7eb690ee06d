"""Database behaviour with constant times: exact latencies, pools, connections, staleness."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import simperf
from simperf.build import build
from simperf.components.expiring import FLOOR
from simperf.dbcost.buffer_pool import shards_of
from simperf.errors import SimperfWarning

EXACT = 1e-9


def database(**changes: Any) -> dict[str, Any]:
    """A database whose only cost is 1 ms of CPU per query and a 0.5 ms round trip."""
    spec: dict[str, Any] = {
        "kind": "database",
        "primary": {
            "cores": 8,
            "memory": "1GiB",
            "storage": {"read_latency": 0, "write_latency": 0},
            "max_connections": 1000,
        },
        "cpu": {
            "per_query": "1ms",
            "per_row": 0,
            "per_page": 0,
            "per_row_written": 0,
            "per_index_write": 0,
        },
        "connection": {"handshake": 0, "startup": 0},
        "rtt": "500us",
        "bandwidth": 2**50,
        "tables": {
            "orders": {
                "rows": 10_000,
                "row_size": 100,
                "columns": {"user_id": 1000},
                "indexes": {"by_user": ["user_id"]},
            },
            "items": {
                "rows": 50_000,
                "row_size": 100,
                "columns": {"order_id": 10_000},
                "indexes": {"by_order": ["order_id"]},
            },
            "kv": {"rows": 1, "row_size": 100},
        },
        "queries": {
            "order": {"table": "orders", "where": ["id"]},
            "orders_of_user": {"table": "orders", "where": ["user_id"]},
            "items_of_order": {"table": "items", "where": ["order_id"]},
            "orders_with_items": {
                "table": "orders",
                "where": ["user_id"],
                "join": {"table": "items", "column": "order_id"},
            },
            "put": {"table": "kv", "op": "update", "where": ["id"]},
            "get": {"table": "kv", "where": ["id"]},
            "all_orders": {"table": "orders"},
        },
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    return spec


def scenario(
    steps: list[dict[str, Any]],
    *,
    db: dict[str, Any] | None = None,
    pool: dict[str, Any] | None = None,
    rate: float = 1.0,
    requests: int = 3,
    app: dict[str, Any] | None = None,
    entry: str = "app",
    endpoint: str = "serve",
    **extra: Any,
) -> simperf.Scenario:
    app_spec: dict[str, Any] = {
        "kind": "app_server",
        "cores": 4,
        "workers": 1000,
        "endpoints": {"serve": steps},
        **(app or {}),
    }
    if pool is not None:
        app_spec["pool"] = {"database": "db", **pool}
    return simperf.from_dict(
        {
            "name": "db_exact",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": rate},
                "classes": [{"name": "req", "entry": entry, "endpoint": endpoint}],
            },
            "components": {"app": app_spec, "db": db or database()},
            "run": {"requests": requests},
            **extra,
        }
    )


def latencies(result: simperf.Result) -> np.ndarray:
    data = result._arrays  # type: ignore[attr-defined]
    order = np.argsort(data["start"])
    return data["latency"][order]


def run(s: simperf.Scenario) -> simperf.Result:
    return simperf.run(s, seed=1)


@pytest.mark.parametrize("n", [1, 5, 20])
def test_n_plus_one_costs_exactly_n_round_trips(n: int) -> None:
    step = {"query": "items_of_order", "database": "db", "repeat": n}
    pooled = run(scenario([step], pool={"size": 4}))
    assert latencies(pooled) == pytest.approx([n * 1.5e-3] * 3, abs=EXACT)
    # without a pool every query also opens a connection: handshake and session start-up
    db = database(connection={"handshake": "2ms", "startup": "1ms"})
    unpooled = run(scenario([step], db=db))
    assert latencies(unpooled) == pytest.approx([n * 4.5e-3] * 3, abs=EXACT)
    calls = unpooled.to_dict()["databases"]["db"]["queries"]["items_of_order"]["calls"]
    assert calls == 3 * n


def test_eager_loading_is_one_round_trip_with_a_join_cost() -> None:
    db = database(cpu={"per_row": "10us"})
    n_plus_one = [
        {"query": "orders_of_user", "database": "db"},
        {"query": "items_of_order", "database": "db", "repeat": 10},
    ]
    eager = [{"query": "orders_with_items", "database": "db"}]
    lazy = latencies(run(scenario(n_plus_one, db=db, pool={"size": 2})))
    joined = latencies(run(scenario(eager, db=db, pool={"size": 2})))
    # 10 orders of the user; each has 5 items: 10 + 10 x 5 rows examined, one round trip
    assert joined == pytest.approx([1e-3 + 60 * 10e-6 + 0.5e-3] * 3, abs=EXACT)
    assert lazy == pytest.approx([(1e-3 + 100e-6 + 0.5e-3) + 10 * (1e-3 + 50e-6 + 0.5e-3)] * 3)


def test_call_to_a_query_is_a_pooled_query() -> None:
    result = run(scenario([{"call": "db.order"}], pool={"size": 1}))
    assert latencies(result) == pytest.approx([1.5e-3] * 3, abs=EXACT)
    pools = result.to_dict()["databases"]["db"]["pools"]
    assert pools["app"]["acquisitions"] == 3


def test_page_size_drives_client_cpu_and_examined_rows() -> None:
    db = database(cpu={"per_row": "10us"}, client_cpu_per_row="100us")
    step = {"query": "items_of_order", "database": "db", "limit": 2}
    result = run(scenario([step], db=db, pool={"size": 1}))
    # 2 rows examined and returned; the app decodes them on its own core
    assert latencies(result) == pytest.approx([1e-3 + 20e-6 + 0.5e-3 + 200e-6] * 3, abs=EXACT)
    deep = {"query": "orders_of_user", "database": "db", "limit": 2, "offset": 6}
    keyset = dict(deep, pagination="keyset")
    offset_latency = latencies(run(scenario([deep], db=db, pool={"size": 1})))[0]
    keyset_latency = latencies(run(scenario([keyset], db=db, pool={"size": 1})))[0]
    assert offset_latency - keyset_latency == pytest.approx(6 * 10e-6, abs=EXACT)


def test_pool_wait_and_timeout() -> None:
    db = database(cpu={"per_query": "10ms"}, rtt=0)
    step = {"query": "order", "database": "db"}
    waited = run(scenario([step], db=db, pool={"size": 1}, rate=250))
    assert latencies(waited) == pytest.approx([0.010, 0.016, 0.022], abs=EXACT)
    d = run(scenario([step], db=db, pool={"size": 1, "max_wait": "8ms"}, rate=250)).to_dict()
    assert d["errors"]["pool_timeout"] == 1 and d["requests"]["failed"] == 1
    pool = d["databases"]["db"]["pools"]["app"]
    assert pool["timeouts"] == 1 and pool["acquisitions"] == 2
    assert pool["wait"]["max"] == pytest.approx(0.006, abs=EXACT)


def test_connections_beyond_max_connections_are_refused() -> None:
    db = database(cpu={"per_query": "10ms"}, primary={"max_connections": 1})
    d = run(scenario([{"query": "order", "database": "db"}], db=db, rate=250, requests=3)).to_dict()
    assert d["errors"]["connection_refused"] == 2
    assert d["databases"]["db"]["connections"] == {"opened": 1, "refused": 2}


def test_oversubscribed_pools_warn_and_refuse_the_excess() -> None:
    db = database(cpu={"per_query": "10ms"}, primary={"max_connections": 2})
    with pytest.warns(SimperfWarning, match="more than max_connections 2 of the primary"):
        s = scenario([{"query": "order", "database": "db"}], db=db, pool={"size": 4}, rate=1000)
    d = run(s).to_dict()
    assert d["databases"]["db"]["pools"]["app"]["usable"] == [2]
    assert d["errors"]["connection_refused"] == 1  # the third concurrent query


def rw_scenario(lag: str, gap: str, **db_changes: Any) -> simperf.Scenario:
    db = database(read_replicas=1, replication_lag=lag, rtt=0, **db_changes)
    steps = [
        {"query": "put", "database": "db"},
        {"delay": gap},
        {"query": "get", "database": "db"},
    ]
    return scenario(steps, db=db, pool={"size": 2}, requests=20)


@pytest.mark.parametrize(
    ("lag", "gap", "stale"),
    [("50ms", "20ms", 20), ("50ms", "80ms", 0), ("0ms", "0ms", 0), ("1ms", "0ms", 20)],
)
def test_stale_reads_only_within_the_lag_after_a_write(lag: str, gap: str, stale: int) -> None:
    d = run(rw_scenario(lag, gap)).to_dict()
    replication = d["databases"]["db"]["replication"]
    assert replication["stale_reads"] == stale
    assert replication["replica_reads"] == 20
    assert d["databases"]["db"]["instances"]["db[replica0]"]["writes_applied"] == 20


def test_reads_without_writes_are_never_stale() -> None:
    db = database(read_replicas=2, replication_lag="1s")
    d = run(scenario([{"query": "get", "database": "db"}], db=db, requests=10)).to_dict()
    assert d["databases"]["db"]["replication"]["stale_reads"] == 0
    instances = d["databases"]["db"]["instances"]
    assert [instances[f"db[replica{i}]"]["queries"] for i in (0, 1)] == [5, 5]
    assert instances["db[primary]"]["queries"] == 0


def test_read_your_writes_sends_the_writer_to_the_primary() -> None:
    d = run(rw_scenario("50ms", "20ms", read_your_writes="100ms")).to_dict()
    replication = d["databases"]["db"]["replication"]
    assert replication["stale_reads"] == 0 and replication["replica_reads"] == 0
    assert replication["primary_reads_after_write"] == 20


def test_slow_query_log_and_index_usage() -> None:
    db = database(slow_query_threshold="1200us", cpu={"per_row": "100us"})
    steps = [
        {"query": "order", "database": "db"},
        {"query": "items_of_order", "database": "db"},
    ]
    d = run(scenario(steps, db=db, pool={"size": 1}, requests=4)).to_dict()["databases"]["db"]
    assert d["slow_queries"] == {
        "threshold": 0.0012,
        "count": 4,
        "share": 0.5,
        "by_query": {"items_of_order": 4},
    }
    assert d["indexes"]["orders"]["PRIMARY"] == 4 and d["indexes"]["items"]["by_order"] == 4
    assert d["unused_indexes"] == ["orders.by_user"]
    stats = d["queries"]["items_of_order"]
    assert stats["calls"] == 4 and stats["rows"] == 20 and stats["rows_per_call"] == 5
    assert stats["mean"] == pytest.approx(1e-3 + 5 * 100e-6, abs=EXACT)
    result_paths = simperf.run(scenario(steps, db=db, pool={"size": 1}, requests=4), seed=1)
    assert result_paths.metric("databases.db.indexes.items.by_order") == 4
    assert (
        result_paths.metric(
            "databases.db.instances.db[primary].buffer_pool.model_hit_ratio.items.uniform"
        )
        == 1.0
    )


def test_scatter_gather_examines_each_shards_rows() -> None:
    sharded = database(kind="sharded_database", shards=4, cpu={"per_row": "1us"})
    d = run(scenario([{"query": "all_orders", "database": "db"}], db=sharded, pool={"size": 1}))
    # no filter on the shard key (id): every shard scans its 2,500 rows, all four at once
    assert latencies(d) == pytest.approx([1e-3 + 2500 * 1e-6 + 0.5e-3] * 3, abs=EXACT)
    shards = d.to_dict()["databases"]["db"]["shards"]
    assert shards["queries"] == [3, 3, 3, 3] and shards["fanout_queries"] == 3


def test_hot_key_makes_a_hot_shard() -> None:
    keys = 100_000
    sharded = database(kind="sharded_database", shards=8, rtt=0)
    sharded["tables"]["orders"].update(rows=keys, keyspace="orders")
    s = scenario(
        [{"query": "order", "database": "db"}],
        db=sharded,
        rate=2000,
        requests=100_000,
        entry="db",
        endpoint="order",
        keyspaces={
            "orders": {
                "keys": keys,
                "popularity": {"model": "hotset", "hot_keys": 1 / keys, "hot_requests": 0.2},
            }
        },
    )
    shards = run(s).to_dict()["databases"]["db"]["shards"]
    placement = shards_of(np.arange(keys), 8, "hash", keys)
    cold_share = np.count_nonzero(placement[1:] == placement[0]) / (keys - 1)
    expected = 8 * (0.2 + 0.8 * cold_share)
    assert expected == pytest.approx(2.4, abs=0.01)
    assert shards["imbalance"] == pytest.approx(expected, abs=0.05)
    assert shards["imbalance"] == pytest.approx(2.4, abs=0.06)


def test_database_json_sections() -> None:
    db = database(
        read_replicas=1,
        replication_lag="5ms",
        cpu={"per_query": {"dist": "exponential", "mean": "1ms"}},
    )
    steps = [{"query": "put", "database": "db"}, {"query": "order", "database": "db"}]
    d = run(scenario(steps, db=db, pool={"size": 2}, rate=200, requests=500)).to_dict()
    section = d["databases"]["db"]
    assert set(section) >= {
        "instances",
        "queries",
        "slow_queries",
        "indexes",
        "unused_indexes",
        "pools",
        "connections",
        "replication",
    }
    primary = section["instances"]["db[primary]"]
    assert set(primary) >= {
        "cpu_utilization",
        "storage_utilization",
        "qps",
        "rows_examined",
        "pages_read",
        "buffer_pool",
    }
    assert set(section["queries"]["order"]) >= {"calls", "mean", "p99", "rows"}
    assert section["replication"]["lag"]["mean"] == pytest.approx(0.005)
    assert d["components"]["db"]["kind"] == "database"
    assert set(d["components"]["db"]["per_instance"]) == {"db[primary]", "db[replica0]"}
    again = run(scenario(steps, db=copy.deepcopy(db), pool={"size": 2}, rate=200, requests=500))
    assert again.to_dict() == d


def test_saturated_storage_is_named_by_the_stability_verdict() -> None:
    # with no buffer pool every query reads its row's page from storage, 4 ms on one I/O
    # slot: at 300 queries/s that is 1.2 times what the storage can do
    db = database(
        primary={"memory": 0, "storage": {"read_latency": "4ms", "iops": "250/s"}},
        cpu={"per_query": "100us"},
    )
    s = simperf.from_dict(
        {
            "name": "slow_disk",
            "workload": {
                "arrival": {"kind": "poisson", "rate": 300},
                "classes": [{"name": "q", "entry": "db", "endpoint": "order"}],
            },
            "components": {"db": db},
            "run": {"duration": 20, "warmup": 1},
        }
    )
    d = simperf.run(s, seed=1).to_dict()
    assert d["stability"]["status"] == "unstable"
    assert d["stability"]["instance"] == "db[primary]/storage"
    assert d["databases"]["db"]["instances"]["db[primary]"]["storage_utilization"] > 0.99
    assert d["components"]["db"]["utilization"] < 0.05  # the cores are nearly idle


def test_write_latency_does_not_depend_on_the_read_latency() -> None:
    # Updates of a resident page (1 GiB pool, one row): no page reads, one page write of
    # 200 us on one I/O slot (both read latencies give one slot at 10k IOPS). Arrivals
    # every 1/6000 s outpace the writes, so the storage queue grows, the same way
    # whatever the (unused) read latency: the latencies are identical.
    def updates(read_latency: str) -> np.ndarray:
        storage = {"read_latency": read_latency, "write_latency": "200us", "iops": "10k/s"}
        db = database(primary={**database()["primary"], "storage": storage})
        steps = [{"query": "put", "database": "db"}]
        return latencies(run(scenario(steps, db=db, rate=6000, requests=200)))

    fast, slow = updates("1us"), updates("100us")
    assert np.array_equal(fast, slow)
    # The first update finds everything idle: 1 ms CPU, 200 us write, 500 us round trip.
    assert fast[0] == pytest.approx(1.7e-3, abs=EXACT)


def test_pool_occupancy_and_wait_per_app_instance() -> None:
    # One connection, 10 ms queries arriving every 4 ms from 4 ms: held from 4 ms to the
    # end (34 ms), and the three acquisitions waited 0, 6 and 12 ms.
    db = database(cpu={"per_query": "10ms"}, rtt=0)
    step = {"query": "order", "database": "db"}
    result = run(scenario([step], db=db, pool={"size": 1}, rate=250))
    assert result.to_dict()["measured_time"] == pytest.approx(0.034, abs=EXACT)
    app = result.to_dict()["components"]["app"]
    assert app["pool_occupancy"] == pytest.approx(0.030 / 0.034, abs=EXACT)
    assert app["pool_wait"] == pytest.approx(0.006, abs=EXACT)
    assert app["pool_timeouts"] == 0
    instance = app["per_instance"]["app[0]"]
    assert instance["pool_occupancy"] == app["pool_occupancy"]
    pools = result.to_dict()["databases"]["db"]["pools"]["app"]
    assert app["pool_occupancy"] == pytest.approx(pools["utilization"], abs=EXACT)
    assert app["pool_wait"] == pytest.approx(pools["wait"]["mean"], abs=EXACT)


def written_clients(requests: int) -> int:
    """Entries of ``last_write`` after ``requests`` writes of an open workload (each
    request its own client), each then reading its write 5 ms later."""
    db = database(read_replicas=1, replication_lag="1ms", read_your_writes="10ms", rtt=0)
    steps = [
        {"query": "put", "database": "db"},
        {"delay": "5ms"},
        {"query": "get", "database": "db"},
    ]
    s = scenario(steps, db=db, pool={"size": 8}, rate=1000.0, requests=requests)
    model = build(s, seed=1).execute()
    assert model.components["db"].ryw_reads == requests  # every read within 10 ms
    return len(model.components["db"].last_write)


def test_read_your_writes_forgets_writes_older_than_its_window() -> None:
    # one entry per request ever written, before: 2,000 then 8,000
    assert written_clients(8000) <= written_clients(2000) + FLOOR


def two_requests(front: list[dict[str, Any]], app: list[dict[str, Any]], drops: str | None):
    """Two requests, at 1 and 2 ms: a front (``front``'s steps) in front of app (``app``'s),
    which queries a database of one core (6 ms a query, no round trip) through a pool of
    one connection; ``drops``: what has ``drop_expired`` (``db``, ``pool``, or None)."""
    db = database(rtt=0, cpu={"per_query": "6ms"}, primary={"cores": 1})
    db["drop_expired"] = drops == "db"
    return simperf.from_dict(
        {
            "name": "two_requests",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 1000},
                "classes": [{"name": "req", "entry": "front", "endpoint": "serve"}],
            },
            "components": {
                "front": {"kind": "app_server", "workers": 10, "endpoints": {"serve": front}},
                "app": {
                    "kind": "app_server",
                    "workers": 10,
                    "pool": {"database": "db", "size": 1, "drop_expired": drops == "pool"},
                    "endpoints": {"serve": app},
                },
                "db": db,
            },
            "run": {"requests": 2, "warmup": 0},
        }
    )


def settled(scenario: simperf.Scenario) -> Any:
    """The model of ``scenario`` run past its end, until every copy still out has ended."""
    model = build(scenario, seed=1)
    model.execute()
    model.env.run(until=0.1)
    return model


@pytest.mark.parametrize("drops", [None, "db"])
def test_a_losing_hedged_copy_waiting_for_a_database_core_is_dropped(drops: str | None) -> None:
    # The front hedges after 4 ms; app calls the database bare (its pool is not the
    # bottleneck here: a call to a database's query takes a connection, 8 of them). A's
    # first copy holds the core 1-7 ms; B1 (2 ms), A2 (5) and B2 (6) queue for it in that
    # order. At 7 B1 takes over and A1's answer cancels A2. At 13 A2 is next: dropped,
    # counted as cancelled, and the core goes to B2 (already in service when B1's answer
    # cancels it). Every copy used to be served: A2 13-19 and B2 19-25, the database
    # busy 24 ms for 12 ms of answers, now 18.
    scenario = two_requests(
        [{"call": "app.serve", "hedge": {"after": "4ms"}}],
        [{"query": "get", "database": "db"}],
        drops,
    ).with_overrides({"components.app.pool.size": 8})
    model = settled(scenario)
    server = model.components["db"].servers[0]
    served = 3 if drops else 4
    assert server.served == served
    assert server.busy.area_at(0.1) == pytest.approx(served * 0.006, abs=EXACT)
    if drops:
        assert (server.cores.cancelled, server.cores.expired) == (1, 0)
        assert len(server.cores.tickets) == 0  # no ticket outlives its waiter
        summary = simperf.run(scenario, seed=1).summary()  # dropped at 13 ms: in the run
        assert "dropped by db: expired 0, cancelled 1" in summary


@pytest.mark.parametrize("drops", [None, "pool"])
def test_a_timed_out_query_waiting_for_a_connection_is_dropped(drops: str | None) -> None:
    # app's call to the database's query gives up after 4 ms. A's holds the one
    # connection 1-7 ms; B's waits from 2 ms and times out at 6 (B fails as timeout).
    # At 7 the pool drops it, counted as expired, instead of sending it: it used to take
    # the connection and the core 7-13 ms for nobody.
    scenario = two_requests([{"call": "app.serve"}], [{"call": "db.get", "timeout": "4ms"}], drops)
    model = settled(scenario)
    server = model.components["db"].servers[0]
    pool = model.components["app"].instances[0].pools["db"]
    assert server.served == (1 if drops else 2)
    if drops:
        assert (pool.slots.expired, pool.slots.cancelled) == (1, 0)
    assert pool.wait_samples.count == (1 if drops else 2)  # a dropped wait is no acquisition


@pytest.mark.parametrize(("drops", "path"), [("db", "db.drop_expired"), ("pool", "app.pool.")])
def test_a_drop_expired_nothing_can_trigger_is_refused(drops: str, path: str) -> None:
    with pytest.raises(simperf.SpecError, match=rf"components\.{path}.*no request class or call"):
        two_requests([{"call": "app.serve"}], [{"query": "get", "database": "db"}], drops)


SLOW_STORAGE = {
    "components.db.cpu.per_query": "1ms",
    "components.db.primary.cores": 8,
    "components.db.primary.storage.write_latency": "5ms",
    "components.db.primary.storage.iops": 200,  # one write at a time, 5 ms each
}


@pytest.mark.parametrize("drops", [None, "db"])
@pytest.mark.parametrize("abandoned", ["timeout", "hedge"])
def test_a_query_whose_caller_has_gone_is_dropped_waiting_for_storage(
    drops: str | None, abandoned: str
) -> None:
    # Each write holds a core 1 ms, then the one storage slot 5 ms. timeout: app's call
    # gives up after 4 ms; A writes 2-7 ms, B (at 2) waits for storage from 3 and times
    # out at 6: at 7 it is dropped (expired), not written 7-12 for nobody. hedge: the
    # front hedges after 4 ms, so A1 writes 2-7, then B1 7-12; A1's answer cancelled A2
    # (queued at 6): at 12 it is dropped (cancelled) and B2 written 12-17. Storage used
    # to serve every one: busy 10 → 5 ms, and 20 → 15.
    if abandoned == "timeout":
        front, app = [{"call": "app.serve"}], [{"call": "db.put", "timeout": "4ms"}]
    else:
        front = [{"call": "app.serve", "hedge": {"after": "4ms"}}]
        app = [{"query": "put", "database": "db"}]
    scenario = two_requests(front, app, drops).with_overrides(
        {**SLOW_STORAGE, "components.app.pool.size": 8}
    )
    model = settled(scenario)
    server = model.components["db"].servers[0]
    sent = 2 if abandoned == "timeout" else 4  # queries that reached the database
    written = sent - (1 if drops else 0)
    assert (server.served, server.storage.served) == (written, written)
    assert server.storage.busy.area_at(0.1) == pytest.approx(written * 0.005, abs=EXACT)
    assert server.active == 0 and server.queue.level == server.storage.queue.level == 0
    if drops:
        dropped = {"expired": 1, "cancelled": 0}
        if abandoned == "hedge":
            dropped = {"expired": 0, "cancelled": 1}
        assert server.dropped() == dropped  # the database's counters: cores' and storage's
    if drops and abandoned == "hedge":  # (the timed-out one is dropped after the run)
        summary = simperf.run(scenario, seed=1).summary()
        line = f"dropped by db: expired {dropped['expired']}, cancelled {dropped['cancelled']}"
        assert line in summary


@pytest.mark.parametrize("drops", [None, "db"])
def test_a_timed_out_query_waiting_to_start_its_session_is_dropped(drops: str | None) -> None:
    # No pool: each query opens a connection, whose session start-up holds the one core
    # 5 ms, then runs 6 ms on it. A starts up 1-6 ms; B (at 2) waits for the core and its
    # call times out at 6: it is dropped then, and A runs 6-12. B used to start a session
    # 6-11 for nobody (only its query was dropped, at 17), A running 11-17 behind it: the
    # core busy 16 → 11 ms (22 without drop_expired).
    scenario = two_requests([{"call": "app.serve"}], [{"call": "db.get", "timeout": "4ms"}], drops)
    scenario = scenario.with_overrides(
        {"components.db.connection.startup": "5ms", "components.app.pool": None}
    )
    model = settled(scenario)
    server = model.components["db"].servers[0]
    assert (server.opened, server.served) == (2, 1 if drops else 2)
    assert server.busy.area_at(0.1) == pytest.approx((11 if drops else 22) * 0.001, abs=EXACT)
    assert server.open == 0 and server.queue.level == 0
    if drops:
        assert server.dropped() == {"expired": 1, "cancelled": 0}

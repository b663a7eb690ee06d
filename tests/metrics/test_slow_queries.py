"""The slow-query log: per-query statistics of server time, queueing included."""

from __future__ import annotations

from typing import Any

import pytest

import simperf

EXACT = 1e-9


def slow_query_scenario(threshold: str) -> simperf.Scenario:
    """Per request, two ``order`` lookups at once then one ``items_of_order``, on one core.

    A query costs 1 ms plus 100 us per row examined and nothing else: ``order`` (one row)
    1.1 ms, ``items_of_order`` (five rows, by index) 1.5 ms. The two lookups arrive
    together, so one of them waits 1.1 ms for the core and spends 2.2 ms at the database.
    """
    db: dict[str, Any] = {
        "kind": "database",
        "primary": {
            "cores": 1,
            "memory": "1GiB",
            "storage": {"read_latency": 0, "write_latency": 0},
        },
        "cpu": {
            "per_query": "1ms",
            "per_row": "100us",
            "per_page": 0,
            "per_row_written": 0,
            "per_index_write": 0,
        },
        "connection": {"handshake": 0, "startup": 0},
        "rtt": 0,
        "bandwidth": 2**50,
        "slow_query_threshold": threshold,
        "tables": {
            "orders": {"rows": 10_000, "row_size": 100},
            "items": {
                "rows": 50_000,
                "row_size": 100,
                "columns": {"order_id": 10_000},
                "indexes": {"by_order": ["order_id"]},
            },
        },
        "queries": {
            "order": {"table": "orders", "where": ["id"]},
            "items_of_order": {"table": "items", "where": ["order_id"]},
            "unused": {"table": "orders", "where": ["id"]},
        },
    }
    steps = [{"parallel": ["db.order", "db.order"]}, {"query": "items_of_order", "database": "db"}]
    return simperf.from_dict(
        {
            "name": "slow_log",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 1},
                "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
            },
            "components": {
                "app": {"kind": "app_server", "cores": 4, "endpoints": {"serve": steps}},
                "db": db,
            },
            "run": {"requests": 4},
        }
    )


def test_slow_query_log_counts_queueing_per_query() -> None:
    result = simperf.run(slow_query_scenario("1.8ms"), seed=1)
    d = result.to_dict()["databases"]["db"]
    order, items, unused = (d["queries"][q] for q in ("order", "items_of_order", "unused"))
    # each request: one lookup 1.1 ms, the other 1.1 ms queued + 1.1 ms: only it is slow
    assert order["calls"] == 8 and order["slow"] == 4 and order["slow_share"] == 0.5
    assert order["mean"] == pytest.approx(1.65e-3, abs=EXACT)
    assert order["max"] == pytest.approx(2.2e-3, abs=EXACT)
    assert order["p99"] == pytest.approx(2.2e-3, abs=EXACT)
    assert items["calls"] == 4 and items["slow"] == 0 and items["slow_share"] == 0.0
    assert items["mean"] == pytest.approx(1.5e-3, abs=EXACT)
    assert unused["calls"] == 0 and unused["slow"] == 0 and unused["slow_share"] is None
    assert d["slow_queries"] == {
        "threshold": pytest.approx(1.8e-3),
        "count": 4,
        "share": pytest.approx(4 / 12),
        "by_query": {"order": 4},
    }
    assert result.metric("databases.db.queries.order.slow_share") == 0.5
    text = result.summary()
    assert "queries of db" in text and "> 1.8 ms" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["order", "8", "1.65", "ms", "2.2", "ms", "4", "50.0%"] in lines
    assert ["items_of_order", "4", "1.5", "ms", "1.5", "ms", "0", "0.0%"] in lines


def test_a_threshold_above_every_execution_logs_nothing() -> None:
    d = simperf.run(slow_query_scenario("2.5ms"), seed=1).to_dict()["databases"]["db"]
    assert d["slow_queries"]["count"] == 0 and d["slow_queries"]["by_query"] == {}
    assert d["slow_queries"]["share"] == 0.0
    assert all(q["slow"] == 0 for q in d["queries"].values())

"""The cost model gives exactly what the documented formula gives, and EXPLAIN shows it."""

from __future__ import annotations

import math
from typing import Any

import pytest

from simperf import from_dict
from simperf.dbcost.explain import explain, explain_text, unused_indexes
from simperf.dbcost.mix import Variant, query_rates
from simperf.dbcost.query_cost import Layout, access_path, matching_rows, plan, storage_times
from simperf.spec.database import QuerySpec, StorageSpec, TableSpec

LAYOUT = Layout(page_size=8192, index_entry_size=32)  # fan-out 256
ORDERS = TableSpec(
    rows=1_000_000,
    row_size=200,  # R = 40 rows per page, P = 25,000 pages
    columns={"user_id": 10_000, "status": 5},
    indexes={"by_user": ["user_id"], "by_status_user": ["status", "user_id"]},
)
ITEMS = TableSpec(
    rows=5_000_000,
    row_size=100,
    columns={"order_id": 1_000_000, "sku": 50_000},
    indexes={"by_order": ["order_id"]},
)
TABLES = {"orders": ORDERS, "items": ITEMS}


def run(query: dict[str, Any], **options: Any):
    return plan(QuerySpec(**query), TABLES, LAYOUT, **options)


def formula_height(rows: int, fanout: int = 256) -> int:
    return max(1, math.ceil(math.log(rows) / math.log(fanout) - 1e-12))


def test_geometry() -> None:
    assert LAYOUT.rows_per_page(ORDERS) == 8192 // 200 == 40
    assert LAYOUT.pages(ORDERS) == 25_000
    assert LAYOUT.fanout == 256
    assert LAYOUT.height(1_000_000) == formula_height(1_000_000) == 3  # 256^2 < 1e6 <= 256^3
    assert LAYOUT.height(65_536) == 2 and LAYOUT.height(65_537) == 3 and LAYOUT.height(1) == 1


def test_matching_rows_assumes_independent_columns() -> None:
    assert matching_rows(ORDERS, []) == 1_000_000
    assert matching_rows(ORDERS, ["user_id"]) == 100
    assert matching_rows(ORDERS, ["user_id", "status"]) == 20
    assert matching_rows(ORDERS, ["id"]) == 1
    assert matching_rows(ORDERS, ["id", "status"]) == 1


def test_primary_key_lookup() -> None:
    p = run({"table": "orders", "where": ["id"]})
    assert (p.access, p.index, p.rows_examined, p.rows_returned) == ("index", "PRIMARY", 1, 1)
    assert p.index_pages == 3 and p.heap_pages == 1 and p.pages_read == 4
    assert p.pattern == "point"


def test_secondary_index_reads_a_page_per_row() -> None:
    p = run({"table": "orders", "where": ["user_id"]})
    assert (p.access, p.index, p.rows_examined) == ("index", "by_user", 100)
    # h + ceil(100 / 256) - 1 index pages, min(100, P) heap pages
    assert (p.index_pages, p.heap_pages, p.pages_read) == (3, 100, 103)
    assert p.pattern == "uniform"


def test_composite_index_by_prefix_examines_the_prefix_matches() -> None:
    orders = TableSpec(
        rows=1_000_000,
        row_size=200,
        columns={"user_id": 10_000, "status": 5, "created": 1000},
        indexes={"by_user": ["user_id", "created"]},
    )
    p = plan(QuerySpec(table="orders", where=["user_id", "status"]), {"orders": orders}, LAYOUT)
    assert (p.access, p.index, p.index_columns) == ("index prefix", "by_user", ("user_id",))
    assert p.rows_matched == 20 and p.rows_examined == 100 and p.pages_read == 103


def test_full_composite_match_examines_only_matches() -> None:
    p = run({"table": "orders", "where": ["status", "user_id"]})
    assert (p.access, p.index, p.rows_examined, p.pages_read) == (
        "index",
        "by_status_user",
        20,
        3 + 20,
    )


def test_index_unusable_without_its_first_column_scans() -> None:
    access, index, used, examined = access_path(ITEMS, ["sku"])
    assert (access, index, used, examined) == ("scan", None, (), 5_000_000)
    p = run({"table": "items", "where": ["sku"]})
    # 81 rows of 100 bytes per 8 KiB page: ceil(5e6 / 81) pages
    assert p.rows_examined == 5_000_000 and p.pages_read == LAYOUT.pages(ITEMS) == 61_729


def test_scan_with_limit_stops_early() -> None:
    # status matches 200,000 rows: 10 matches are found after 10 * 1e6 / 2e5 = 50 rows
    orders = TableSpec(rows=1_000_000, row_size=200, columns={"status": 5})
    p = plan(QuerySpec(table="orders", where=["status"], limit=10), {"orders": orders}, LAYOUT)
    assert (p.access, p.rows_examined, p.rows_returned, p.pages_read) == ("scan", 50, 10, 2)


def test_offset_pagination_examines_every_earlier_row_keyset_does_not() -> None:
    offset = run({"table": "orders", "where": ["user_id"]}, limit=10, offset=50)
    assert (offset.rows_examined, offset.rows_returned, offset.pages_read) == (60, 10, 63)
    keyset = run(
        {"table": "orders", "where": ["user_id"]}, limit=10, offset=50, pagination="keyset"
    )
    assert (keyset.rows_examined, keyset.rows_returned, keyset.pages_read) == (10, 10, 13)
    past_end = run({"table": "orders", "where": ["user_id"]}, limit=10, offset=500)
    assert (past_end.rows_examined, past_end.rows_returned) == (100, 0)


def test_deep_offset_on_primary_key_reads_contiguous_pages() -> None:
    p = run({"table": "orders"}, limit=20, offset=100_000)
    # no filter: a scan of 100,020 rows on 40-row pages
    assert (p.access, p.rows_examined, p.pages_read) == ("scan", 100_020, 2501)


def test_keyset_without_filter_walks_the_primary_key() -> None:
    p = run({"table": "orders"}, limit=20, offset=100_000, pagination="keyset")
    assert (p.access, p.index, p.rows_examined, p.rows_returned) == ("index", "PRIMARY", 20, 20)
    assert (p.index_pages, p.heap_pages) == (3, 1)  # descent, then 20 rows on one page
    unindexed = run({"table": "items", "where": ["sku"]}, limit=20, offset=60, pagination="keyset")
    # 100 matches among 5e6 rows: finding 60 + 20 of them scans 80 x 5e6 / 100 rows
    assert unindexed.access == "scan" and unindexed.rows_examined == 4_000_000


def test_join_adds_a_lookup_per_returned_row() -> None:
    p = run(
        {"table": "orders", "where": ["user_id"], "join": {"table": "items", "column": "order_id"}}
    )
    # 100 orders; each finds 5 items via by_order: height(5e6) = 3 index pages + 5 heap pages
    assert p.join_index == "by_order"
    assert p.rows_examined == 100 + 100 * 5
    assert p.rows_returned == 500
    assert p.pages_read == 103 + 100 * (3 + 5)
    assert p.join_heap_pages == 500
    assert p.bytes_returned == 500 * (200 + 100)


def test_writes_maintain_each_index() -> None:
    insert = run({"table": "orders", "op": "insert"})
    assert (insert.rows_written, insert.index_writes, insert.pages_written) == (1, 2, 3)
    update = run({"table": "orders", "op": "update", "where": ["id"], "updates": ["user_id"]})
    assert (update.rows_written, update.index_writes, update.pages_written) == (1, 2, 3)
    sku_only = run({"table": "items", "op": "update", "where": ["id"], "updates": ["sku"]})
    assert sku_only.index_writes == 0 and sku_only.pages_written == 1
    delete = run({"table": "orders", "op": "delete", "where": ["user_id"], "limit": 10})
    assert (delete.rows_written, delete.index_writes, delete.pages_written) == (10, 20, 30)
    assert delete.rows_returned == 0


def test_sharded_plan_uses_the_shards_rows() -> None:
    p = run({"table": "items", "where": ["sku"]}, rows_scale=1 / 8)
    assert p.access == "scan" and p.rows_examined == 625_000 and p.rows_matched == 13


def scenario_with_steps() -> Any:
    return from_dict(
        {
            "name": "mix",
            "workload": {
                "arrival": {"kind": "poisson", "rate": 10},
                "classes": [
                    {"name": "a", "weight": 3, "entry": "lb", "endpoint": "page"},
                    {"name": "b", "weight": 1, "entry": "db", "endpoint": "by_id"},
                ],
            },
            "components": {
                "lb": {"kind": "load_balancer", "backends": ["app"]},
                "app": {
                    "kind": "app_server",
                    "replicas": 2,
                    "endpoints": {
                        "page": [
                            {"query": "by_user", "database": "db", "repeat": 5},
                            {"query": "by_user", "database": "db", "limit": 10, "offset": 50},
                            {"call": "db.by_id"},
                        ]
                    },
                },
                "db": {
                    "kind": "database",
                    "tables": {"orders": ORDERS.model_dump()},
                    "queries": {
                        "by_id": {"table": "orders", "where": ["id"]},
                        "by_user": {"table": "orders", "where": ["user_id"]},
                    },
                },
            },
        }
    )


def test_query_rates_follow_weights_balancers_and_repeats() -> None:
    rates = query_rates(scenario_with_steps())["db"]
    assert rates[Variant("by_user")] == pytest.approx(0.75 * 5)
    assert rates[Variant("by_user", 10, 50, "offset")] == pytest.approx(0.75)
    assert rates[Variant("by_id")] == pytest.approx(0.75 + 0.25)


def test_explain_rows_and_unused_indexes() -> None:
    scenario = scenario_with_steps()
    frame = explain(scenario).set_index("query")
    assert frame.loc["by_id", "rows_examined"] == 1 and frame.loc["by_id", "pages_read"] == 4
    assert frame.loc["by_user limit 10 offset 50", "rows_examined"] == 60
    assert frame.loc["by_user limit 10 offset 50", "pages_read"] == 63
    assert frame.loc["by_user", "calls_per_request"] == pytest.approx(3.75)
    assert unused_indexes(scenario, "db") == ["orders.by_status_user"]
    text = explain_text(scenario)
    assert "by_user limit 10 offset 50" in text and "unused indexes: orders.by_status_user" in text
    service = frame.loc["by_id", "service"]
    assert frame.loc["by_id", "round_trip"] == pytest.approx(service + 200e-6 + 200 / 125e6)


def test_each_storage_latency_is_rounded_on_its_own() -> None:
    # Reads of 1 us round up to one 1/iops (100 us); the write stays 200 us, not 200 us
    # stretched by the read's rounding (which made it 20 ms).
    storage = StorageSpec(read_latency=1e-6, write_latency=2e-4, iops=1e4)
    assert storage_times(storage) == (1, 1e-4, 2e-4)
    slots = StorageSpec(read_latency=3e-4, write_latency=1e-4, iops=1e4)
    assert storage_times(slots) == (3, 3e-4, 1e-4)

"""Database specs: shorthands, units, and every bad reference named by its path."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import pytest

from simperf import SpecError, from_dict
from simperf.errors import SimperfWarning

SHOP: dict[str, Any] = {
    "name": "shop_db",
    "keyspaces": {"products": {"keys": 1000, "popularity": {"zipf": 0.9}}},
    "workload": {
        "arrival": {"kind": "poisson", "rate": 50},
        "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
    },
    "components": {
        "app": {
            "kind": "app_server",
            "pool": {"database": "main", "size": 10},
            "endpoints": {
                "serve": [
                    {"call": "main.by_id"},
                    {"query": "by_category", "database": "main", "limit": 20, "offset": 40},
                ]
            },
        },
        "main": {
            "kind": "database",
            "primary": {"cores": 8, "memory": "16GiB", "storage": {"iops": "20k/s"}},
            "tables": {
                "products": {
                    "rows": 1000,
                    "row_size": "1KiB",
                    "keyspace": "products",
                    "columns": {"category": 20, "sku": "unique"},
                    "indexes": {"by_cat": ["category", "sku"], "by_sku": "sku"},
                }
            },
            "queries": {
                "by_id": {"table": "products", "where": ["id"]},
                "by_category": {"table": "products", "where": ["category"]},
            },
        },
    },
    "run": {"duration": 5},
}


def spec() -> dict[str, Any]:
    return copy.deepcopy(SHOP)


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        from_dict(data)
    return str(info.value)


def test_valid_spec_with_shorthands_and_units() -> None:
    scenario = from_dict(spec())
    main = scenario.components["main"]
    table = main.tables["products"]
    assert main.primary.memory == 16 * 2**30
    assert main.primary.storage.iops == 20_000
    assert table.row_size == 1024
    assert table.indexes["by_cat"].columns == ["category", "sku"]
    assert table.indexes["by_sku"].columns == ["sku"]
    assert table.distinct("sku") == 1000  # unique: one row per value
    assert table.distinct("id") == 1000
    assert scenario.endpoints_of("main") == {"by_id", "by_category"}
    assert scenario.components["app"].pools[0].size == 10


def test_override_paths_reach_database_fields() -> None:
    scenario = from_dict(spec()).with_overrides(
        {"components.main.read_replicas": 2, "components.app.pool.size": 4}
    )
    assert scenario.components["main"].read_replicas == 2
    assert scenario.components["app"].pools[0].size == 4


def test_negative_replica_count() -> None:
    data = spec()
    data["components"]["main"]["read_replicas"] = -1
    assert error_of(data) == "components.main.read_replicas: must be >= 0"


def test_query_on_unknown_table() -> None:
    data = spec()
    data["components"]["main"]["queries"]["by_id"]["table"] = "prodcts"
    assert error_of(data) == (
        "components.main.queries.by_id.table: unknown table 'prodcts' (known: products)"
    )


def test_query_on_unknown_column() -> None:
    data = spec()
    data["components"]["main"]["queries"]["by_category"]["where"] = ["category", "colour"]
    assert error_of(data) == (
        "components.main.queries.by_category.where[1]: unknown column 'colour' of table "
        "'products' (it has: id, category, sku)"
    )


def test_index_on_unknown_column() -> None:
    data = spec()
    data["components"]["main"]["tables"]["products"]["indexes"]["by_cat"] = ["category", "x"]
    assert error_of(data).startswith(
        "components.main.tables.products.indexes.by_cat.columns[1]: unknown column 'x'"
    )


def test_join_on_unknown_column() -> None:
    data = spec()
    query = data["components"]["main"]["queries"]["by_category"]
    query["join"] = {"table": "products", "column": "maker"}
    assert error_of(data).startswith(
        "components.main.queries.by_category.join.column: unknown column 'maker'"
    )


def test_insert_with_where_names_the_field() -> None:
    data = spec()
    data["components"]["main"]["queries"]["add"] = {
        "table": "products",
        "op": "insert",
        "where": ["id"],
    }
    assert error_of(data) == ("components.main.queries.add.where: an insert has no where clause")


def test_pool_on_unknown_database() -> None:
    data = spec()
    data["components"]["app"]["pool"]["database"] = "mian"
    assert error_of(data) == ("components.app.pool.database: unknown database 'mian' (known: main)")


def test_pool_list_paths_and_duplicates() -> None:
    data = spec()
    data["components"]["app"]["pool"] = [
        {"database": "main", "size": 2},
        {"database": "app", "size": 2},
        {"database": "main", "size": 3},
    ]
    message = error_of(data)
    assert "components.app.pool[1].database: 'app' is not a database" in message
    assert "components.app.pool[2].database: a second pool for 'main'" in message


def test_pool_size_bounds() -> None:
    data = spec()
    data["components"]["app"]["pool"]["size"] = 0
    assert error_of(data) == "components.app.pool.size: must be >= 1"


def test_query_step_to_unknown_query_and_database() -> None:
    data = spec()
    steps = data["components"]["app"]["endpoints"]["serve"]
    steps[1]["query"] = "by_colour"
    message = error_of(data)
    assert message.startswith(
        "components.app.endpoints.serve[1].query: 'main' has no query 'by_colour'"
    )
    steps[1]["query"] = "by_category"
    steps[1]["database"] = "other"
    assert error_of(data).startswith(
        "components.app.endpoints.serve[1].database: unknown database 'other'"
    )


def test_call_to_unknown_query_lists_the_queries() -> None:
    data = spec()
    data["components"]["app"]["endpoints"]["serve"][0] = {"call": "main.by_name"}
    message = error_of(data)
    assert message.startswith("components.app.endpoints.serve: 'main' has no endpoint 'by_name'")
    assert "by_category, by_id" in message


def test_unknown_and_too_small_key_space() -> None:
    data = spec()
    data["components"]["main"]["tables"]["products"]["keyspace"] = "items"
    assert error_of(data) == (
        "components.main.tables.products.keyspace: unknown key space 'items' (known: products)"
    )
    data = spec()
    data["components"]["main"]["tables"]["products"]["rows"] = 500
    assert error_of(data) == (
        "components.main.tables.products.keyspace: 'products' has 1000 keys, more than the "
        "table's 500 rows"
    )


def test_bad_size_unit() -> None:
    data = spec()
    data["components"]["main"]["primary"]["memory"] = "16 parsecs"
    assert error_of(data).startswith("components.main.primary.memory:")


def test_sharded_database_shard_keys() -> None:
    data = spec()
    sharded = data["components"]["main"]
    sharded.update({"kind": "sharded_database", "shards": 4, "shard_keys": {"products": "sku"}})
    scenario = from_dict(data)
    main = scenario.components["main"]
    assert main.shard_key("products") == "sku"
    assert not main.single_shard("by_id")  # filters on id, not on the shard key
    sharded["shard_keys"] = {"products": "colour"}
    assert error_of(data).startswith("components.main.shard_keys.products: unknown column")
    sharded["shards"] = 0
    assert "components.main.shards: must be >= 1" in error_of(data)


def test_oversubscribed_connections_warn_but_validate() -> None:
    data = spec()
    data["components"]["app"]["replicas"] = 4
    data["components"]["app"]["pool"]["size"] = 40
    data["components"]["main"]["read_replicas"] = 1
    data["components"]["main"]["replica"] = {"max_connections": 500}
    with pytest.warns(SimperfWarning) as caught:
        scenario = from_dict(data)
    assert scenario.components["app"].pools[0].size == 40
    messages = [str(w.message) for w in caught]
    assert messages == [
        "components.main: connection pools hold 160 connections (app (4 x 40)), more than "
        "max_connections 100 of the primary; queries needing the connections beyond it are "
        "refused"
    ]


def test_pools_within_limits_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SimperfWarning)
        from_dict(spec())

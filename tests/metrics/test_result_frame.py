"""Result.frame: a component section of the result as a tidy frame."""

from __future__ import annotations

import pandas as pd
import pytest

import simperf

from conftest import MODELS, ROOT


def test_cache_section_has_a_row_per_cache_and_per_node() -> None:
    scenario = simperf.load(MODELS / "lru_zipf.yaml").with_overrides(
        {"run.duration": None, "run.requests": 2000, "run.warmup": 0}
    )
    result = simperf.run(scenario, seed=1)
    frame = result.frame("caches")
    name = next(iter(result.to_dict()["caches"]))
    assert frame["component"].eq(name).all()
    assert frame["part"].iloc[0] == "all"
    assert len(frame) == 1 + len(result.to_dict()["caches"][name]["nodes"])
    assert frame["hit_rate"].iloc[0] == result.metric(f"caches.{name}.hit_rate")
    assert "nodes" not in frame.columns


def test_a_missing_section_is_an_empty_frame() -> None:
    result = simperf.run(
        simperf.load(MODELS / "mm1.yaml").with_overrides({"run.duration": 2, "run.warmup": 0})
    )
    assert result.frame("cdns").empty


def test_a_number_not_known_yet_is_nan_in_a_numeric_column() -> None:
    # a cache that never filled has filled_at None in the JSON: the frame's column was of
    # objects, showing None in a notebook, not the float NaN of a missing number
    scenario = simperf.load(MODELS / "cache_aside.yaml").with_overrides(
        {"run.duration": 2, "run.warmup": 0}
    )
    result = simperf.run(scenario, seed=1)
    assert result.metric("caches.cache.filled_at") is None
    frame = result.frame("caches")
    assert frame["filled_at"].dtype == "float64" and frame["filled_at"].isna().all()
    assert frame["part"].tolist() == ["all", "cache[0]"]  # names stay strings


@pytest.fixture(scope="module")
def web_stack() -> simperf.Result:
    scenario = simperf.load(MODELS / "web_stack.yaml").with_overrides(
        {"run.duration": 3, "run.warmup": 1}
    )
    return simperf.run(scenario, seed=1)


@pytest.fixture(scope="module")
def read_replicas() -> simperf.Result:
    scenario = simperf.load(MODELS / "read_replicas.yaml").with_overrides(
        {"run.duration": 4, "run.warmup": 1}
    )
    return simperf.run(scenario, seed=1)


def _integer(frame: pd.DataFrame, column: str) -> bool:
    return pd.api.types.is_integer_dtype(frame[column].dtype)


def test_counts_are_integers_in_every_frame(web_stack: simperf.Result) -> None:
    # served, rejected ... were float64 in the components frame (a balancer's row has
    # none) and int64 in others; a count is an integer everywhere, Int64 where absent
    latency, components = web_stack.latency, web_stack.components
    for column in ("count", "errors", "degraded"):
        assert latency[column].dtype == "int64"
    for column in ("served", "rejected", "dispatched", "max_queue_length", "workers"):
        assert components[column].dtype == "Int64", column
    assert components["utilization"].dtype == "float64"
    served = components.set_index("instance")["served"]
    assert served["app[0]"] == web_stack.metric("components.app.per_instance.app[0].served")
    databases = web_stack.frame("databases")
    for column in ("queries", "calls", "rows_examined", "acquisitions", "uses", "cores"):
        assert _integer(databases, column), column
    assert databases["qps"].dtype == "float64"
    caches = web_stack.frame("caches")
    assert caches["hits"].dtype == "int64" and caches["hit_rate"].dtype == "float64"
    assert web_stack.frame("cdns")["requests"].dtype == "int64"


def test_the_databases_frame_reads_identity_load_latency_then_details(
    web_stack: simperf.Result,
) -> None:
    frame = web_stack.frame("databases")
    columns = list(frame.columns)
    first = ["component", "part", "kind", "role", "shard", "queries", "qps", "calls"]
    assert columns[: len(first)] == first
    assert columns.index("p99") < columns.index("rows_examined")
    # index names were columns (PRIMARY, by_product_rating): a row per index now
    assert "PRIMARY" not in columns and "by_product_rating" not in columns
    uses = frame.set_index("part")["uses"]
    indexes = web_stack.metric("databases.catalog.indexes")
    assert uses["indexes.reviews.by_product_rating"] == indexes["reviews"]["by_product_rating"]
    assert uses.notna().sum() == sum(len(i) for i in indexes.values())


def _documented_columns() -> str:
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    return text[text.index("## Frame columns") :]


def test_every_column_of_every_frame_is_documented(
    web_stack: simperf.Result, read_replicas: simperf.Result
) -> None:
    docs = _documented_columns()
    missing = set()
    for result in (web_stack, read_replicas):
        frames = {
            "latency": result.latency,
            "components": result.components,
            "timeseries": result.timeseries,
            "requests": result.requests,
            "alerts": result.alerts,
            "scaling_events": result.scaling_events,
        }
        for section in ("caches", "cdns", "databases", "alerts", "headroom"):
            frames[f"frame({section})"] = result.frame(section)
        for name, frame in frames.items():
            missing |= {f"{name}: {c}" for c in frame.columns if f"`{c}`" not in docs}
        metrics = set(result.timeseries["metric"])
        missing |= {f"timeseries metric: {m}" for m in metrics if f"`{m}`" not in docs}
    assert not missing, sorted(missing)


def test_replica_storage_splits_queries_and_replication(read_replicas: simperf.Result) -> None:
    # a replica's storage utilisation includes applying the primary's writes, which its
    # served I/Os do not count: the result gives that part, and by hand the query I/O
    # (served x mean service over slots x time) plus it is the utilisation
    span = read_replicas.metric("measured_time")
    rows = read_replicas.components.set_index("instance")
    servers = read_replicas.metric("databases.catalog.instances")
    for name, server in servers.items():
        storage = rows.loc[f"{name}/storage"]
        queries = storage["served"] * storage["mean_service"] / (storage["capacity"] * span)
        applied = server["storage_replication_utilization"]
        if server["role"] == "primary":
            assert applied == 0
            continue
        assert applied > 0
        # writes applied are counted whole as each ends: at most one per slot straddles
        # each end of the measured period (0.4 ms of storage each here)
        edge = 2 * storage["capacity"] * 0.0004 / (storage["capacity"] * span)
        assert abs(queries + applied - storage["utilization"]) <= edge
    assert "of it repl" in read_replicas.summary()


def test_a_section_not_of_components_is_refused_by_name(web_stack: simperf.Result) -> None:
    # frame("headroom") framed headroom.components and headroom.first as two components
    # ("components", "app"); frame("requests") failed with AttributeError: 'int' object
    # has no attribute 'items'
    headroom = web_stack.frame("headroom")
    assert headroom["component"].tolist() == list(web_stack.metric("headroom.components"))
    app = headroom.set_index("component").loc["app"]
    assert app["headroom"] == web_stack.metric("headroom.components.app.headroom")
    with pytest.raises(ValueError, match=r"frame\('requests'\).*frames: latency, .*databases"):
        web_stack.frame("requests")
    assert web_stack.frame("sessions").empty  # a section this run has none of


def test_the_components_frame_reads_identity_size_load_then_waits(
    web_stack: simperf.Result,
) -> None:
    # its columns came in the order the rows first gave them: dispatched and imbalance
    # second, an instance's cores, workers and pool size last of 25
    columns = list(web_stack.components.columns)
    first = ["component", "instance", "kind", "instances", "capacity", "workers", "pool_size"]
    assert columns[: len(first)] == first
    assert columns.index("served") < columns.index("utilization") < columns.index("mean_wait")


def test_a_databases_imbalance_compares_servers_of_one_role(
    read_replicas: simperf.Result,
) -> None:
    # over the primary (its writes) and the replicas (the reads) a balanced pair of
    # replicas read 1.42x imbalanced (read_replicas, seed 1, 55 s); among peers it is
    # the replicas' max / mean, the worst role's
    rows = read_replicas.components.set_index("instance")
    replicas = rows.loc[["catalog[replica0]", "catalog[replica1]"], "served"]
    expected = replicas.max() / replicas.mean()
    catalog = rows.loc["all"].set_index("component").loc["catalog", "imbalance"]
    assert catalog == pytest.approx(expected, rel=1e-12)
    assert read_replicas.metric("components.catalog.imbalance") == catalog


def test_a_servers_buffer_pool_a_pools_waits_and_the_lag_are_columns(
    read_replicas: simperf.Result,
) -> None:
    # the buffer pool's hit ratio, a pool's wait percentiles and the replication lag were
    # in to_dict() and the summary but not in the frame: nested dicts were dropped
    frame = read_replicas.frame("databases").set_index("part")
    catalog = read_replicas.metric("databases.catalog")
    for server, figures in catalog["instances"].items():
        hit = frame.loc[f"instances.{server}", "buffer_pool_hit_ratio"]
        assert hit == figures["buffer_pool"]["hit_ratio"]
    wait = catalog["pools"]["app"]["wait"]
    for stat in ("mean", "p50", "p99", "max"):
        assert frame.loc["pools.app", f"wait_{stat}"] == wait[stat]
        assert frame.loc["replication", f"lag_{stat}"] == catalog["replication"]["lag"][stat]
    assert frame["buffer_pool_hit_ratio"].notna().sum() == len(catalog["instances"])


def test_the_databases_all_row_has_the_whole_databases_figures(
    read_replicas: simperf.Result,
) -> None:
    # the all row carried only its kind: its totals and latency were left to be summed
    # (and weighted) by hand from the server, query and pool rows
    frame = read_replicas.frame("databases")
    catalog = frame.set_index("part").loc["all"]
    servers = frame[frame["part"].str.startswith("instances.")]
    queries = frame[frame["part"].str.startswith("queries.")]
    for column in ("queries", "qps", "rows_examined", "page_misses", "stale_reads"):
        assert catalog[column] == pytest.approx(servers[column].sum(), rel=1e-12), column
    assert catalog["calls"] == queries["calls"].sum() == catalog["queries"]
    assert catalog["slow"] == read_replicas.metric("databases.catalog.slow_queries.count")
    expected = (queries["calls"] * queries["mean"]).sum() / queries["calls"].sum()
    assert catalog["mean"] == pytest.approx(expected, rel=1e-12)
    assert catalog["max"] == queries["max"].max()
    pools = read_replicas.metric("databases.catalog.pools")
    assert catalog["acquisitions"] == pools["app"]["acquisitions"]
    for column in ("queries", "calls", "rows_examined", "slow", "acquisitions"):
        assert _integer(frame, column), column
    # a server's own figures have no whole-database value here
    for column in ("role", "cpu_utilization", "storage_utilization", "utilization", "p99"):
        assert pd.isna(catalog[column]), column


def test_a_cdns_byte_counts_are_integers(web_stack: simperf.Result) -> None:
    # response sizes are drawn from continuous distributions, so the bytes summed in
    # to_dict() carry fractions of a byte, and the frame's byte columns were float64
    cdns = web_stack.frame("cdns")
    name = cdns["component"].iloc[0]
    for column in ("bytes", "cacheable_bytes", "hit_bytes", "origin_bytes", "used_bytes"):
        assert cdns[column].dtype == "int64", column
        assert cdns[column].iloc[0] == round(web_stack.metric(f"cdns.{name}.{column}"))

"""A pool's connections and a database server's connection limit, counted once: the
connections the server accepted, wherever a pool or a limit is reported (the databases
section and frame, the components frame, the text summary, the HTML tables, headroom)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import simperf
from tests.components.test_database import database, scenario

STEP = {"query": "order", "database": "db"}


def refusing(
    pool: dict[str, Any] | None, requests: int = 400, replicas: int = 1, **extra: Any
) -> simperf.Result:
    """400 queries/s of 10 ms against a server that accepts 2 connections (8 cores):
    60% refused, through ``pool`` (of each of ``replicas`` app instances) or opened per
    query."""
    db = database(cpu={"per_query": "10ms"}, rtt=0, primary={"max_connections": 2})
    app = {"replicas": replicas}
    spec = scenario([STEP], db=db, rate=400, requests=requests, pool=pool, app=app, **extra)
    return simperf.run(spec, seed=1)


@pytest.mark.filterwarnings("ignore:components.db. connection pools hold")
def test_a_pool_the_database_accepted_no_connection_of_runs() -> None:
    # Two replicas with pools of 2 against max_connections 2: the first takes both, the
    # second none. Its occupancy divided its busy time by the 0 connections accepted:
    # the run raised ZeroDivisionError (over the run, and while a fault lasted). It has
    # no occupancy now (nothing to be busy).
    slow = [{"component": "app", "kind": "slow", "factor": 2, "at": 0, "for": "1h"}]
    result = refusing({"size": 2}, requests=200, replicas=2, faults=slow)
    rows = result.components.set_index("instance")
    assert rows.loc["app[1]", "pool_size"] == 0 and rows.loc["app[0]", "pool_size"] == 2
    assert rows["pool_occupancy"].isna()["app[1]"]
    assert result.data["databases"]["db"]["pools"]["app"]["refused"] >= 100
    verdict = result.data["stability"]
    assert (verdict["status"], verdict["resource"]) == ("saturated", "pool")
    assert result.data["headroom"]["fault"]["resource"] == "pool"


@pytest.mark.filterwarnings("ignore:components.db. connection pools hold")
def test_a_pools_utilization_is_over_the_connections_the_server_accepted() -> None:
    # A pool of 4 of which the server accepts 2, 80% of those 2 in use: the databases
    # section read 40% (of the 4 configured) where the components' pool_occupancy and
    # headroom read 80%. Every place now reads the 2 accepted, beside the 4 configured.
    from simperf.presentation.tables import section_table

    result = refusing({"size": 4})
    pool = result.data["databases"]["db"]["pools"]["app"]
    occupancy = result.data["components"]["app"]["pool_occupancy"]
    room = result.data["headroom"]["components"]["app"]
    assert room["resource"] == "pool" and occupancy == pytest.approx(0.8, abs=0.01)
    assert pool["utilization"] == pytest.approx(occupancy, rel=1e-12)
    assert (pool["size"], pool["instances"], pool["accepted"]) == (4, 1, 2)
    assert room["utilization"] == pytest.approx(occupancy, rel=1e-12)
    row = result.frame("databases").set_index("part").loc["pools.app"]
    assert (row["size"], row["accepted"]) == (4, 2) and row["utilization"] == pool["utilization"]
    busy = f"{occupancy:.1%}"
    assert f"pool app->db: 4 x 1 (2 accepted), busy {busy}, " in result.summary()
    assert f"<td>{busy}</td>" in section_table(result, "databases")


@pytest.mark.filterwarnings("ignore:components.db. connection pools hold")
def test_a_servers_connection_occupancy_is_where_database_servers_are_reported() -> None:
    # Opened per query, 2 connections 80% in use: the verdict says "connection limit:
    # 60.0% of connections refused" and headroom "db connections ... 79.9% busy", but
    # the databases section, its frame and the text's table of database servers had no
    # such figure, nor the component's row and to_dict()'s per-instance figures.
    from simperf.presentation.tables import component_table, section_table

    result = refusing(None)
    room = result.data["headroom"]["components"]["db"]
    assert room["resource"] == "connections" and room["utilization"] == pytest.approx(0.8, 0.01)
    busy = room["utilization"]
    server = result.data["databases"]["db"]["instances"]["db[primary]"]
    component = result.data["components"]["db"]
    assert server["connection_occupancy"] == pytest.approx(busy, rel=1e-12)
    assert component["connection_occupancy"] == pytest.approx(busy, rel=1e-12)
    listed = component["per_instance"]["db[primary]"]["connection_occupancy"]
    assert listed == pytest.approx(busy, rel=1e-12)
    frame = result.frame("databases").set_index("part")
    assert (
        frame.loc["instances.db[primary]", "connection_occupancy"] == server["connection_occupancy"]
    )
    lines = result.summary().splitlines()
    header = next(line for line in lines if line.startswith("database server"))
    row = next(line for line in lines if line.startswith("db[primary]"))
    assert header.split()[2:5] == ["cpu", "storage", "conns"]
    assert row.split()[3] == f"{busy:.1%}"
    cell = f"<td>{busy:.1%}</td>"
    assert cell in section_table(result, "databases")
    assert cell in component_table(result) and cell in component_table(result, instances=True)
    # a pooled server opened none per query: no column, no figure
    pooled = refusing({"size": 4}, requests=40)
    assert "conns" not in pooled.summary()
    assert "connection_occupancy" not in pooled.data["databases"]["db"]["instances"]["db[primary]"]


@pytest.mark.filterwarnings("ignore:components.db. connection pools hold")
def test_a_refused_connection_is_neither_an_acquisition_nor_a_wait() -> None:
    # A pool of 4 the server accepts 2 of, 60% refused: its acquisitions read every
    # query (400 of 400, 160 served) and its waits 400 samples, the refused ones' zeros
    # among them. Now both count the queries served, the refused ones as refused alone.
    from simperf.presentation.tables import section_table

    result = refusing({"size": 4})
    calls = result.data["databases"]["db"]["queries"]["order"]["calls"]
    pool = result.data["databases"]["db"]["pools"]["app"]
    assert pool["refused"] > calls > 0
    assert pool["acquisitions"] == pool["wait"]["count"] == calls
    assert result.components.set_index("instance").loc["app[0]", "pool_acquired"] == calls
    frame = result.frame("databases").set_index("part")
    assert frame.loc["pools.app", "acquisitions"] == frame.loc["all", "acquisitions"] == calls
    assert f"<td>{calls}</td>" in section_table(result, "databases")


@pytest.mark.filterwarnings("ignore:components.db. connection pools hold")
def test_a_refusing_pools_zeros_do_not_dilute_the_waits_of_its_component() -> None:
    # Two replicas with pools of 2, the server accepting 3 at 15 ms a query: app[0]'s
    # pool (both accepted) makes queries wait, app[1]'s (1 accepted) refuses, never
    # waiting. The pool's wait mean over both counted app[1]'s refusals as zero waits.
    db = database(cpu={"per_query": "15ms"}, rtt=0, primary={"max_connections": 3})
    spec = scenario([STEP], db=db, rate=400, requests=400, pool={"size": 2}, app={"replicas": 2})
    result = simperf.run(spec, seed=1)
    rows = result.components.set_index("instance")
    first, second = rows.loc["app[0]"], rows.loc["app[1]"]
    assert pd.isna(first["pool_refused"]) and first["pool_wait"] > 0
    assert second["pool_refused"] > 0 and second["pool_wait"] == 0
    pool = result.data["databases"]["db"]["pools"]["app"]
    calls = result.data["databases"]["db"]["queries"]["order"]["calls"]
    assert pool["acquisitions"] == first["pool_acquired"] + second["pool_acquired"] == calls
    mean = first["pool_wait"] * first["pool_acquired"] / calls  # app[1] waited none
    assert pool["wait"]["mean"] == pytest.approx(mean, rel=1e-9)
    assert result.data["components"]["app"]["pool_wait"] == pytest.approx(mean, rel=1e-9)


@pytest.mark.filterwarnings("ignore:components.db. connection pools hold")
def test_a_pool_with_no_connection_accepted_is_not_read_as_idle() -> None:
    # app[1]'s pool got none of the server's 2 connections and refused every query: the
    # verdict read "... at app[1] (cores 0.0% busy (workers 0.0%, pool 0.0%))".
    spec = scenario(
        [STEP],
        db=database(cpu={"per_query": "10ms"}, rtt=0, primary={"max_connections": 2}),
        rate=40,
        requests=80,
        pool={"size": 2},
        app={"replicas": 2},
    )
    verdict = simperf.run(spec, seed=1).data["stability"]
    assert (verdict["instance"], verdict["resource"]) == ("app[1]", "pool")
    assert "pool 0.0%" not in verdict["reason"]
    assert "pool: no connection accepted" in verdict["reason"]

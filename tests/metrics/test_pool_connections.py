"""A pool's connections and a database server's connection limit, counted once: the
connections the server accepted, wherever a pool or a limit is reported (the databases
section and frame, the components frame, the text summary, the HTML tables, headroom)."""

from __future__ import annotations

from typing import Any

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

"""Queries a database or a pool with ``drop_expired`` dropped, wherever a planner looks:
the headroom (dropped queries were offered), the time series by window, and alerts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import simperf

RATE, QUERY = 150, 0.010
"""Arrivals per second and a query's CPU: 1.5 times what the database's one core serves."""


def saturated(drops: str | None, alerts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An app querying a database through a pool; each request gives up after 50 ms.
    ``drops``: ``db`` (one core, ``drop_expired``: 1.5 times saturated), ``pool`` (four
    cores behind a pool of one connection with ``drop_expired``) or None (one core)."""
    return {
        "name": "saturated",
        "workload": {
            "arrival": {"kind": "poisson", "rate": RATE},
            "classes": [{"name": "get", "entry": "app", "endpoint": "get", "timeout": "50ms"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "workers": 64,
                "pool": {
                    "database": "db",
                    "size": 1 if drops == "pool" else 64,
                    "drop_expired": drops == "pool",
                },
                "endpoints": {"get": [{"query": "by_id", "database": "db"}]},
            },
            "db": {
                "kind": "database",
                "drop_expired": drops == "db",
                "primary": {"cores": 4 if drops == "pool" else 1},
                "rtt": 0,
                "cpu": {"per_query": f"{QUERY * 1000:g}ms", "per_row": 0, "per_page": 0},
                "tables": {"items": {"rows": 1000, "row_size": 100}},
                "queries": {"by_id": {"table": "items", "where": ["id"]}},
            },
        },
        "run": {"duration": 6, "warmup": 1, "window": 1},
        "alerts": alerts or [],
    }


def run(drops: str | None, alerts: list[dict[str, Any]] | None = None) -> simperf.Result:
    return simperf.run(simperf.from_dict(saturated(drops, alerts)), seed=1)


def test_headroom_counts_the_queries_a_database_dropped_as_offered_load() -> None:
    # The core is 1.5 times oversubscribed: it saturates at 1 / 1.5 = 0.67 times this
    # load. It dropped about a third of the queries unserved, so it read ~1.0x (its
    # utilisation just under 1), room only the drops made; now served / offered / U.
    data = run("db").data
    server = data["databases"]["db"]["instances"]["db[primary]"]
    served, dropped = server["queries"], server["expired"]
    assert dropped > served / 4
    busy = server["cpu_utilization"]
    room = data["headroom"]["components"]["db"]
    assert room["headroom"] == pytest.approx(served / (served + dropped) / busy, rel=1e-12)
    assert room["headroom"] < 0.8  # by hand 1 / (RATE x QUERY) = 0.67; it read 1.02
    assert data["components"]["db"]["expired"] == dropped


@pytest.mark.parametrize("drops", ["db", "pool"])
def test_the_time_series_counts_a_databases_drops_by_window(drops: str) -> None:
    # per server (dropped at its cores) and per database (cores and pools together, as
    # databases.<db>.expired counts them), as an app server's instances count theirs
    result = run(drops)
    db = result.data["databases"]["db"]
    assert db["expired"] > 0
    ts = result.timeseries
    for metric in ("expired", "cancelled"):
        rows = ts[ts.metric == metric]
        total = rows[rows.component == "db"]
        assert len(total) == 5 and total.value.sum() == db[metric]
        server = rows[rows.component == "db[primary]"]
        if drops == "db":
            assert server.value.sum() == db["instances"]["db[primary]"][metric]
        else:  # a pool's drops never reached a server
            assert server.empty
    assert not {"expired", "cancelled"} & set(run(None).timeseries.metric)


@pytest.mark.parametrize(("drops", "instance"), [("db", None), ("db", 0), ("pool", None)])
def test_an_alert_watches_a_databases_drops(drops: str, instance: int | None) -> None:
    # it was refused: 'expired is counted by app servers; 'db' is a database'
    alert = {"name": "drops", "metric": "expired", "component": "db", "above": 10}
    if instance is not None:
        alert["instance"] = instance
    result = run(drops, [alert])
    fired = result.data["alerts"]["drops"]
    target = "db" if instance is None else "db[primary]"
    assert fired["target"] == target
    ts = result.timeseries
    rows = ts[(ts.metric == "expired") & (ts.component == target)]
    assert fired["time_firing"] == pytest.approx(float((rows.value > 10).sum()))
    assert fired["firings"] >= 1


def test_an_alert_on_drops_a_database_never_counts_is_refused() -> None:
    def problem(drops: str | None, metric: str, instance: int | None = None) -> str:
        alert: dict[str, Any] = {"name": "a", "metric": metric, "component": "db", "above": 0}
        if instance is not None:
            alert["instance"] = instance
        with pytest.raises(simperf.SpecError) as error:
            simperf.from_dict(saturated(drops, [alert]))
        return str(error.value)

    assert "alerts[0].metric: 'db' drops nothing expired (no drop_expired on it or a pool" in (
        problem(None, "expired")
    )
    assert "'db' drops nothing cancelled" in problem(None, "cancelled")
    assert "'db''s servers drop nothing expired (no drop_expired on it); its pools'" in (
        problem("pool", "expired", 0)
    )
    assert "shed is counted by app servers; 'db' is a database" in problem("db", "shed")


def test_headroom_counts_the_queries_a_pool_dropped_as_offered_to_its_server() -> None:
    # The pool of one connection is 1.5 times oversubscribed: the app saturates there at
    # 0.67 times this load. A request whose query the pool dropped is not served by the
    # app; it read ~1.0x (the pool just under 100% busy), now served / offered / U.
    data = run("pool").data
    dropped = data["databases"]["db"]["pools"]["app"]["expired"]
    app = data["components"]["app"]
    served, busy = app["served"], app["pool_occupancy"]
    assert dropped > served / 4
    room = data["headroom"]["components"]["app"]
    assert room["resource"] == "pool"
    assert room["headroom"] == pytest.approx(served / (served + dropped) / busy, rel=1e-12)
    assert room["headroom"] < 0.8  # by hand 1 / (RATE x QUERY) = 0.67; it read 1.00


def pool_timing_out() -> dict[str, Any]:
    """:func:`saturated`'s pool of one connection, without ``drop_expired`` or a client
    timeout: a query waiting ``max_wait`` (50 ms) for the connection fails instead."""
    spec = saturated(None)
    spec["workload"]["classes"][0].pop("timeout")
    spec["components"]["app"]["pool"] = {"database": "db", "size": 1, "max_wait": "50ms"}
    spec["components"]["db"]["primary"]["cores"] = 4
    return spec


def test_headroom_counts_the_queries_a_pool_timed_out_as_offered_to_its_server() -> None:
    # The connection is 1.5 times oversubscribed: the app saturates at 0.67 times this
    # load. A request whose query timed out waiting for it (pool_timeouts) is not served
    # by the app, as one a pool dropped is not; it read ~1.0x, now served / offered / U.
    result = simperf.run(simperf.from_dict(pool_timing_out()), seed=1)
    data = result.data
    app = data["components"]["app"]
    timed_out = data["databases"]["db"]["pools"]["app"]["timeouts"]
    served, busy = app["served"], app["pool_occupancy"]
    assert app["pool_timeouts"] == timed_out > served / 4
    room = data["headroom"]["components"]["app"]
    assert room["resource"] == "pool"
    assert room["headroom"] == pytest.approx(served / (served + timed_out) / busy, rel=1e-12)
    assert room["headroom"] < 0.8  # by hand 1 / (RATE x QUERY) = 0.67; it read 1.00
    # the same over a fault's time (one covering the run; the app has no CPU to slow)
    spec = pool_timing_out()
    spec["faults"] = [{"component": "app", "kind": "slow", "factor": 2, "at": 0, "for": "1h"}]
    fault = simperf.run(simperf.from_dict(spec), seed=1).data["headroom"]["fault"]
    assert fault["component"] == "app" and fault["resource"] == "pool"
    assert fault["headroom"] < 0.8  # it read 1.00


def test_a_repeated_querys_pool_load_is_counted_per_query() -> None:
    # The same connection 1.5 times oversubscribed, by 50 requests/s of 3 queries each
    # (repeat: 3): it saturates at 0.67 times this load, as with 150 of one query. A
    # request whose second query timed out is offered to the pool as 3 queries, the one
    # timed out and the one left unsent, while the pool's work is per query taken: the
    # headroom is of the queries offered it, 0.645x (seed 1; 1 / 1.5 by hand). Counted
    # per request against the work per query, a timeout weighed 1 of the 4.3 queries the
    # served made (their own 3 and the failed ones' before they failed): 0.457x.
    spec = pool_timing_out()
    spec["workload"]["arrival"]["rate"] = RATE / 3
    spec["components"]["app"]["endpoints"]["get"][0]["repeat"] = 3
    result = simperf.run(simperf.from_dict(spec), seed=1)
    row = result.components.query("instance == 'app[0]'").iloc[0]
    served, timed_out, taken = row["served"], row["pool_timeouts"], row["pool_acquired"]
    unsent, busy = row["pool_unsent"], row["pool_occupancy"]
    assert timed_out > served / 4 and unsent > 0
    room = result.data["headroom"]["components"]["app"]
    assert room["resource"] == "pool"
    offered = taken + timed_out + unsent  # the queries offered the pool
    assert room["headroom"] == pytest.approx(taken / offered / busy, rel=1e-12)
    per_request = served / (served + timed_out) / busy  # what it read
    assert room["headroom"] > per_request
    # the same over a fault's time (one covering the run; the app has no CPU to slow)
    spec["faults"] = [{"component": "app", "kind": "slow", "factor": 2, "at": 0, "for": "1h"}]
    fault = simperf.run(simperf.from_dict(spec), seed=1).data["headroom"]["fault"]
    assert fault["component"] == "app" and fault["resource"] == "pool"
    assert fault["headroom"] == pytest.approx(room["headroom"], rel=1e-9)


@pytest.mark.parametrize("flat", [True, False])
def test_queries_of_later_steps_a_pool_timeout_left_unsent_are_offered_to_it(
    flat: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The requests of test_a_repeated_querys_pool_load_is_counted_per_query, their three
    # queries written as three steps: a request whose first query timed out was offered
    # the pool the two later ones too, as with repeat: 3 (unsent 136, headroom 0.645x,
    # seed 1); the later steps' queries were not counted (unsent 0: 0.782x).
    spec = pool_timing_out()
    spec["workload"]["arrival"]["rate"] = RATE / 3
    repeated = copy.deepcopy(spec)
    repeated["components"]["app"]["endpoints"]["get"][0]["repeat"] = 3
    step = spec["components"]["app"]["endpoints"]["get"][0]
    spec["components"]["app"]["endpoints"]["get"] = [step, step, step]
    if not flat:  # the process path counts them alike
        monkeypatch.setattr(simperf.components.flat, "flat_query", lambda _: None)
    keys = ["served", "pool_timeouts", "pool_acquired", "pool_unsent", "pool_occupancy"]
    rows = [
        simperf.run(simperf.from_dict(s), seed=1).components.query("instance == 'app[0]'")
        for s in (spec, repeated)
    ]
    steps, repeat = (row.iloc[0][keys].to_dict() for row in rows)
    assert steps == repeat and steps["pool_unsent"] == 136


@pytest.mark.parametrize("pooled", [False, True])
@pytest.mark.filterwarnings("ignore:components.db. connection pools hold")
def test_connections_refused_past_max_connections_are_offered_to_the_limit(pooled: bool) -> None:
    # 400 queries/s of 10 ms against a server accepting 2 connections (8 cores): the
    # limit serves at most 200/s, so it is past saturation, refusing 60%. Opened per
    # query, the server read 2.0x (its cores, 20% busy, on the load offered) and "queue
    # limit: ... requests rejected"; now its connections, 80% in use, at 0.5x. Through
    # a pool of 4 that the server accepts 2 of, the pool read 2.5x (40% of 4 in use) and
    # the run "failing"; now its 2 connections, 80% in use, at 0.5x, and saturated.
    from tests.components.test_database import database, scenario

    db = database(cpu={"per_query": "10ms"}, rtt=0, primary={"max_connections": 2})
    step = {"query": "order", "database": "db"}
    pool = {"size": 4} if pooled else None
    spec = scenario([step], db=db, rate=400, requests=1000, pool=pool)
    data = simperf.run(spec, seed=1).data
    refused = data["errors"]["connection_refused"]
    assert refused > data["requests"]["ok"]
    name, resource = ("app", "pool") if pooled else ("db", "connections")
    served = data["components"]["db"]["served"]
    room = data["headroom"]["components"][name]
    assert room["resource"] == resource and room["utilization"] == pytest.approx(0.8, abs=0.01)
    assert room["headroom"] == pytest.approx(served / (served + refused) / room["utilization"])
    assert room["headroom"] == pytest.approx(0.5, abs=0.01)
    assert data["headroom"]["first"]["component"] == name
    verdict = data["stability"]
    assert (verdict["status"], verdict["resource"], verdict["instance"]) == (
        "saturated",
        resource,
        "app[0]" if pooled else "db[primary]",
    )
    assert "60.0% of connection" in verdict["reason"] and "refused" in verdict["reason"]
    # the same over a fault's time (one covering the run; the app has no CPU to slow)
    slow = [{"component": "app", "kind": "slow", "factor": 2, "at": 0, "for": "1h"}]
    spec = scenario([step], db=db, rate=400, requests=1000, pool=pool, faults=slow)
    fault = simperf.run(spec, seed=1).data["headroom"]["fault"]
    assert (fault["component"], fault["resource"]) == (name, resource)
    assert fault["headroom"] == pytest.approx(room["headroom"], rel=1e-9)

"""Headroom by operational laws: 1/utilisation of the binding resource, and the first
component to saturate is the one that does when the load is raised."""

from __future__ import annotations

import math
from typing import Any

import pytest

import simperf
from simperf.analysis.queueing import mmc
from simperf.build import build
from simperf.metrics.headroom import STRETCHES, headroom
from simperf.metrics.summary import Summary
from simperf.presentation.cells import multiple
from simperf.units import format_time
from tests.components.test_database import SLOW_STORAGE, two_requests
from tests.components.test_resilience import hedged_behind
from tests.conftest import MODELS
from tests.presentation.test_summary_text import behind_a_breaker, twice_capacity
from tests.validation.agreement import (
    HORIZONS,
    MEAN_WIDTH,
    agrees,
    replications,
    values_agree,
    width,
)


def test_headroom_on_an_mmc_is_one_over_rho() -> None:
    scenario = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": "60s", "run.warmup": "2s"}
    )
    d = simperf.run(scenario, seed=3).to_dict()
    first = d["headroom"]["first"]
    rho = d["components"]["app"]["utilization"]
    assert first["component"] == "app" and first["resource"] == "cores"
    assert first["headroom"] == pytest.approx(1 / rho, rel=1e-12)  # the operational law
    # Against theory (rho = 0.8): the measured busy time is a sum of n exponential
    # services over a Poisson count of them, relative s.d. about sqrt(2 / n); 4 s.d.
    n = d["components"]["app"]["served"]
    assert first["headroom"] == pytest.approx(1 / 0.8, rel=4 * math.sqrt(2 / n))


def test_binding_resource_is_the_busiest_and_storage_is_named() -> None:
    rows: list[dict[str, Any]] = [
        {"component": "app", "instance": "app[0]", "kind": "app_server", "utilization": 0.2,
         "worker_occupancy": 0.5},
        {"component": "app", "instance": "app[1]", "kind": "app_server", "utilization": 0.25,
         "worker_occupancy": 0.4},
        {"component": "db", "instance": "db[primary]/storage", "kind": "storage",
         "utilization": 0.1},
        {"component": "idle", "instance": "idle[0]", "kind": "app_server", "utilization": 0.0},
    ]  # fmt: skip
    found = headroom(rows)
    app = found["components"]["app"]
    assert (app["instance"], app["resource"], app["headroom"]) == ("app[0]", "workers", 2.0)
    assert found["components"]["db"]["resource"] == "storage"
    assert found["components"]["idle"]["headroom"] is None
    assert found["first"]["component"] == "app"


def two_tier(rate: float) -> simperf.Scenario:
    exp = {"dist": "exponential"}
    return simperf.from_dict(
        {
            "name": "two_tier",
            "workload": {
                "arrival": {"kind": "poisson", "rate": rate},
                "classes": [{"name": "req", "entry": "web", "endpoint": "serve"}],
            },
            "components": {
                "web": {
                    "kind": "app_server",
                    "cores": 2,
                    "workers": 1000,
                    "endpoints": {"serve": [{"cpu": {**exp, "mean": "10ms"}}, {"call": "db.q"}]},
                },
                "db": {"kind": "app_server", "endpoints": {"q": [{"cpu": {**exp, "mean": "6ms"}}]}},
            },
            "run": {"duration": "60s", "warmup": "2s"},
        }
    )


def test_the_named_bottleneck_is_the_first_to_saturate_when_load_rises() -> None:
    # web: 2 cores at 10 ms (rho 0.5 at 100/s, headroom 2); db: 1 core at 6 ms (0.6, 1.67)
    base = simperf.run(two_tier(100), seed=1).to_dict()
    first = base["headroom"]["first"]
    assert first["component"] == "db"
    assert base["estimate"]["bottleneck"]["component"] == "db"
    assert base["headroom"]["components"]["web"]["headroom"] > first["headroom"]
    # 10% past db's headroom db goes unstable while web (at 0.92) still copes
    past = simperf.run(two_tier(100 * first["headroom"] * 1.1), seed=1).to_dict()["stability"]
    assert past["status"] in ("saturated", "unstable") and past["component"] == "db"
    below = simperf.run(two_tier(100 * first["headroom"] * 0.9), seed=1).to_dict()["stability"]
    assert below["status"] == "stable"


def test_a_server_rejecting_half_its_load_saturates_at_half_of_it() -> None:
    # 200 req/s of exactly 10 ms at one worker with a queue limit: it serves 100/s at
    # 100% busy and rejects the rest; the load it saturates at is half the offered one.
    spec = {**twice_capacity(1.0), "run": {"duration": 20, "warmup": 1}}
    scenario = simperf.from_dict(spec)
    d = simperf.run(scenario, seed=1).to_dict()
    first = d["headroom"]["first"]
    assert first["utilization"] == pytest.approx(1.0, rel=1e-9)
    assert first["headroom"] == pytest.approx(0.5, rel=2e-3)
    assert first["headroom"] == pytest.approx(d["estimate"]["bottleneck"]["headroom"], rel=2e-3)


def one_down(
    replicas: int, arrival: str, cpu: Any, at: float, down: float, duration: float
) -> simperf.Scenario:
    """``replicas`` one-core instances behind a round-robin balancer, instance 0 down
    from ``at`` for ``down`` (no health check: the balancer knows at once)."""
    return simperf.from_dict(
        {
            "name": "one_down",
            "workload": {
                "arrival": {"kind": arrival, "rate": 100},
                "classes": [{"name": "req", "entry": "lb", "endpoint": "serve"}],
            },
            "components": {
                "lb": {"kind": "load_balancer", "backends": "app", "policy": "round_robin"},
                "app": {
                    "kind": "app_server",
                    "replicas": replicas,
                    "workers": 100,
                    "endpoints": {"serve": [{"cpu": cpu}]},
                },
            },
            "faults": [{"component": "app", "instance": 0, "at": at, "for": down}],
            "run": {"duration": duration, "warmup": 0},
        }
    )


def test_headroom_while_an_instance_is_down_is_that_of_the_survivors() -> None:
    # 100 req/s, one every 10 ms, of exactly 4 ms over 3 instances: each serves a third,
    # 0.4 / 3 busy. From 10.005 s to 16.005 s app[0] is down: round robin's every third
    # pick goes to the usable instance with the fewest in progress, ties alternating, so
    # app[1] and app[2] serve 300 of the 600 arrivals each: 300 x 4 ms / 6 s = 0.2 busy,
    # headroom 5x. Over the 30 s run the busiest survivor is (24 s x 0.4/3 + 6 s x 0.2)
    # / 30 s = 0.14667 busy: 6.82x, which a planner would read as spare during the fault.
    result = simperf.run(one_down(3, "deterministic", "4ms", 10.005, 6.0, 30), seed=1)
    d = result.to_dict()
    room = d["headroom"]
    assert room["first"]["headroom"] == pytest.approx(30 / 4.4, rel=1e-9)
    fault = room["fault"]
    assert (fault["target"], fault["kind"], fault["component"]) == ("app[0]", "crash", "app")
    assert (fault["start"], fault["end"]) == pytest.approx((10.005, 16.005), abs=1e-12)
    assert fault["utilization"] == pytest.approx(0.2, rel=1e-9)
    assert fault["headroom"] == pytest.approx(5.0, rel=1e-9)
    assert fault["instance"] in ("app[1]", "app[2]")
    [unit] = room["faults"]
    assert unit["components"]["app"]["headroom"] == fault["headroom"]
    # no health check: the balancer knows at once, nothing detects it, one stretch
    assert fault["detected"] == 0 and fault["stretch"] is None
    assert unit["before_detection"] is None and unit["after_detection"] is None
    assert (
        "never detected (no health check or failover saw it): no split"
        in simperf.run(one_down(3, "deterministic", "4ms", 10.005, 6.0, 30), seed=1).summary()
    )


def test_a_tier_with_no_instance_up_has_no_headroom_while_it_lasts() -> None:
    # One instance of 4 ms per 10 ms request, down from 10.005 s for 6 s: nothing is served
    # then (every request fails as instance_down), so the load it can take is 0x, not
    # 1 / the busy time of the request it was finishing (0.004 / 6 s: 1,500x).
    d = simperf.run(one_down(1, "deterministic", "4ms", 10.005, 6.0, 30), seed=1).to_dict()
    assert d["requests"]["errors"]["instance_down"] == 600
    fault = d["headroom"]["fault"]
    assert (fault["component"], fault["instance"], fault["headroom"]) == ("app", "app[0]", 0.0)
    assert (fault["resource"], fault["utilization"], fault["down"]) == ("instances", None, True)
    assert d["headroom"]["faults"][0]["components"]["app"]["headroom"] == 0.0
    text = simperf.run(one_down(1, "deterministic", "4ms", 10.005, 6.0, 30), seed=1).summary()
    assert "lasted (10 s to 16 s): app at 0x (no instance up: app[0] down)" in text


def checked_fleet(interval: float) -> simperf.Scenario:
    """:func:`one_down`'s three instances of exactly 4 ms at 100 req/s, app[0] down from
    10.005 s for 20 s, behind a balancer that probes each every ``interval`` (100 ms
    timeout, out after 2 failed probes)."""
    scenario = one_down(3, "deterministic", "4ms", 10.005, 20.0, 40)
    health = {"interval": interval, "timeout": "100ms", "unhealthy_threshold": 2}
    return scenario.with_overrides({"components.lb.health_check": health})


def test_a_detected_crash_has_the_headroom_before_and_after_its_detection() -> None:
    # Until the health check takes app[0] out, round robin still sends it every third
    # request (refused): app[1] and app[2] serve a third each, 100/3 x 4 ms = 0.133 busy
    # (7.5x). After it they serve half each, 0.2 busy (5x), the fault's headroom. Their
    # busy time follows a periodic pattern (3 arrivals of 10 ms before, 6 after, with
    # 4 and 12 ms of app[1]'s work in them), so over a stretch of T it is within one
    # period's work of the rate's: |U - theory| <= 4 ms / T before, 12 ms / T after.
    # The one figure over the 20 s, (t x 0.133 + (20 - t) x 0.2) / 20, read 5.22x.
    result = simperf.run(checked_fleet(2.0), seed=1)
    d = result.to_dict()
    [occ] = d["faults"]["occurrences"]
    unit = d["headroom"]["faults"][0]
    before, after = unit["before_detection"], unit["after_detection"]
    assert unit["detected"] == 1
    assert before["time"] == pytest.approx(occ["detected"] - 10.005, abs=1e-9)
    assert after["time"] == pytest.approx(30.005 - occ["detected"], abs=1e-9)
    third, half = mmc(100 / 3, 250, 1).utilization, mmc(100 / 2, 250, 1).utilization
    for stretch, theory, work in ((before, third, 0.004), (after, half, 0.012)):
        app = stretch["components"]["app"]
        assert app["utilization"] == pytest.approx(theory, abs=work / stretch["time"])
    fault = d["headroom"]["fault"]
    assert fault["stretch"] == "after_detection"
    assert fault["headroom"] == after["first"]["headroom"]
    assert fault["before_detection"]["headroom"] == before["first"]["headroom"]
    assert fault["after_detection"]["time"] == after["time"]
    assert unit["components"]["app"]["headroom"] == fault["headroom"]  # the in-fault column
    text = result.summary()
    assert f"app cores at {multiple(fault['headroom'])} " in text
    room = multiple(before["first"]["headroom"])
    assert f"before detection ({format_time(before['time'])}): app cores at {room}" in text
    assert f"before detection ({format_time(before['time'])})" in result._repr_html_()


def test_a_fault_readmitted_and_detected_again_is_split_at_every_switch() -> None:
    # checked_fleet's load, app[0] failing 5% of its requests from 10.005 s for 20 s
    # behind outlier ejection (1 error, 1 s): ejected, readmitted after 1 s, ejected again
    # at its next error. In rotation it takes a third (survivors 0.133 busy); out, the
    # survivors take half each (0.2 busy, 5x). The split at the first detection only
    # counted every readmission as after it: 0.179 busy there (5.58x), 1.6 s before.
    # Each switch cuts a period of the round robin, within 4 ms of app[1]'s work in
    # rotation and 12 ms out of it, so each stretch is within that many of theory.
    faults = [{"component": "app", "instance": 0, "at": 10.005, "for": 20.0}]
    scenario = one_down(3, "deterministic", "4ms", 10.005, 20.0, 40).with_overrides(
        {
            "faults": [{**faults[0], "kind": "errors", "fraction": 0.05}],
            "components.lb.outlier_detection": {
                "consecutive_errors": 1,
                "base_ejection_time": "1s",
                "max_ejection_time": "1s",
            },
        }
    )
    d = simperf.run(scenario, seed=1).to_dict()
    [occ] = d["faults"]["occurrences"]
    [unit] = d["headroom"]["faults"]
    before, after = unit["before_detection"], unit["after_detection"]
    switches = 2 * d["load_balancers"]["lb"]["ejections"]
    assert before["time"] + after["time"] == pytest.approx(20.0, abs=1e-9)
    assert before["time"] > occ["detected"] - 10.005 + 1.0  # readmitted spells counted
    for stretch, theory, work in ((before, 0.4 / 3, 0.004), (after, 0.2, 0.012)):
        app = stretch["components"]["app"]
        assert app["utilization"] == pytest.approx(theory, abs=switches * work / stretch["time"])


def test_failover_yaml_splits_the_primary_crash_at_the_failover_s_detection() -> None:
    # The primary dies at 30 s and failover notices at 35 s (detection: 5s): 5 s before
    # and 15 s after. The cache node lost at 20 s has no health check: no split.
    d = simperf.run(simperf.load(MODELS / "failover.yaml"), seed=1).to_dict()
    cache, primary = d["headroom"]["faults"]
    assert (cache["target"], cache["detected"]) == ("cache[1]", 0)
    assert cache["before_detection"] is None and cache["after_detection"] is None
    assert cache["first"]["stretch"] is None
    assert (primary["target"], primary["detected"]) == ("catalog[primary]", 1)
    assert primary["before_detection"]["time"] == pytest.approx(5.0, abs=1e-12)
    assert primary["after_detection"]["time"] == pytest.approx(15.0, abs=1e-12)
    # app cores bind in both stretches (the fault leaves their demand as it was)
    for name in STRETCHES:
        assert primary[name]["first"]["component"] == "app"
        assert primary[name]["first"]["resource"] == "cores"


FAILOVER_APP = mmc(400 / 2, 1 / 0.00095, 4).utilization
"""models/failover.yaml's app cores: round robin sends each of the two replicas 200/s of
0.9 x 1 ms (view) + 0.1 x 0.5 ms (restock, whose CPU runs before its update fails)."""


@pytest.mark.validate
@pytest.mark.parametrize(
    ("stretch", "time"), [("before_detection", 5.0), ("after_detection", 15.0)]
)
def test_failover_yaml_app_cores_in_each_stretch_are_the_utilisation_law(
    stretch: str, time: float
) -> None:
    # Each replica's busy time over a stretch of T sums some 200 T services of variance
    # 0.9 x 1.25 ms² + 0.1 x 0.25 ms² - 0.95² ms² = 0.2475 ms²; headroom reads the busier
    # of the two, whose mean exceeds theirs by sd(X - Y) / sqrt(2 pi), sd(X - Y) =
    # sqrt(2 x 200 T x 0.2475e-6) / (4 T): 0.93% of U over 5 s, 0.54% over 15 s.
    reps = replications(simperf.load(MODELS / "failover.yaml"), 10)
    values = [
        run["headroom"]["faults"][1][stretch]["components"]["app"]["utilization"]
        for run in reps.runs
    ]
    bias = math.sqrt(2 * 200 * time * 0.2475e-6) / (4 * time) / math.sqrt(2 * math.pi)
    values_agree(
        values,
        f"app cores {stretch}",
        FAILOVER_APP,
        max_width=0.05,
        approximation=bias / FAILOVER_APP,
    )


@pytest.mark.parametrize("share", HORIZONS)
def test_the_survivor_of_two_carries_the_whole_load_while_the_other_is_down(
    share: float,
) -> None:
    # Poisson 100/s of exponential 5 ms over two instances, app[0] down from 10 s for
    # 160 s x share: app[1] then serves all of it, busy lambda S = 0.5, headroom 2x (the
    # whole run's, at 0.25 busy before, shows more).
    down = 160 * share
    scenario = one_down(2, "poisson", {"dist": "exponential", "mean": "5ms"}, 10, down, 10 + down)
    reps = replications(scenario, 10)
    agrees(reps, "headroom.fault.utilization", 0.5, max_width=width(MEAN_WIDTH, share))
    assert all(run["headroom"]["fault"]["instance"] == "app[1]" for run in reps.runs)


def test_a_callee_behind_a_breaker_has_the_headroom_of_the_load_offered_it() -> None:
    # The API serves the n calls the breaker lets through, busy n x 10 ms / T; the
    # calls made are n + the fail-fasts, so against the load offered its headroom is
    # (n / calls) / (n x 10 ms / T) = T / (calls x 10 ms): 20 s / 9.99 s = 2.002x, the
    # estimate's 1 / (50/s x 10 ms) = 2x (999 calls in 20 s: the first at 20 ms).
    d = simperf.run(behind_a_breaker(), seed=1).to_dict()
    route = d["calls"]["gateway->api"]
    api = d["headroom"]["components"]["api"]
    assert route["fail_fast"] > 0.9 * route["calls"]  # held open most of the run
    assert api["stopped"] == route["fail_fast"]
    assert api["headroom"] == pytest.approx(20 / (route["calls"] * 0.010), rel=1e-9)
    estimated = d["estimate"]["components"]["api"]["headroom"]
    assert api["headroom"] == pytest.approx(estimated, rel=2e-3)
    # what it served alone: 1 / its utilisation, some 69x
    assert api["served_headroom"] == pytest.approx(1 / api["utilization"], rel=1e-12)
    assert d["headroom"]["first"]["component"] == "api"
    assert "gateway" not in {k for k, v in d["headroom"]["components"].items() if "stopped" in v}
    # the gateway admitted the calls failed fast and ran them (quickly): not turned away
    # by its own capacity, they are the API's offered load, not counted twice
    gateway = d["headroom"]["components"]["gateway"]
    assert gateway["headroom"] == pytest.approx(1 / gateway["utilization"], rel=1e-12)


def test_at_the_peak_a_callee_behind_a_breaker_counts_the_calls_failed_fast_there() -> None:
    # The same gateway and API, at 20 calls/s for 10 s then 60/s (Poisson, mean 40/s,
    # 5 s windows): the breaker holds open and the peak window's headroom is that of the
    # load offered the API there, span / (its calls x 10 ms), 1 / 0.6 = 1.7x give or take
    # the draws. It counted no fail-fast in the window: 1 / the utilisation of the calls
    # let through, 62x, where the API saturates at 1.6x the window's load.
    spec = behind_a_breaker().model_dump(mode="json", by_alias=True, exclude_none=True)
    spec["workload"]["arrival"] = {"kind": "piecewise", "rate": 40, "profile": [[0, 20], [10, 60]]}
    spec["run"]["window"] = 5
    result = simperf.run(simperf.from_dict(spec), seed=1)
    d = result.to_dict()
    section = d["headroom"]
    assert section["load"] == "peak"
    start, end = section["peak"]["start"], section["peak"]["end"]
    assert start >= 10
    ts = result.timeseries.query("component == 'calls.gateway->api' and start == @start")
    rate = ts.set_index("metric")["value"]
    span = end - start
    stopped, calls = rate["fail_fast_rate"] * span, rate["call_rate"] * span
    api = section["components"]["api"]
    assert stopped > 0.9 * calls  # held open most of the window
    assert api["stopped"] == pytest.approx(stopped, rel=1e-9)
    # the calls straddling the window's ends: one of 10 ms at most each side
    assert api["headroom"] == pytest.approx(span / (calls * 0.010), rel=2 / calls)
    assert api["served_headroom"] == pytest.approx(1 / api["utilization"], rel=1e-12)
    assert section["first"]["component"] == "api"


def test_a_rate_limiters_refusals_are_a_policy_not_load_offered() -> None:
    # 100 requests/s at a global limit of 50/s, then 10 ms of CPU: the limiter refuses
    # some 59% (rate_limited). Its limit holds however the load grows, so the app's cores
    # see the admitted load only: 1 / utilisation of it, 2.4x, not 1.0x.
    spec = {
        "name": "limited",
        "keyspaces": {"none": {"keys": 1, "popularity": {"model": "uniform"}}},
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 100},
            "classes": [{"name": "get", "entry": "app", "endpoint": "get"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "workers": 100,
                "endpoints": {
                    "get": [
                        {"rate_limit": {"cache": "redis", "rate": 50, "burst": 1, "per": "global"}},
                        {"cpu": "10ms"},
                    ]
                },
            },
            "redis": {"kind": "cache", "keyspace": "none", "capacity": 10, "latency": "100us"},
        },
        "run": {"duration": 10, "warmup": 0},
    }
    d = simperf.run(simperf.from_dict(spec), seed=1).to_dict()
    assert d["rate_limits"]["app_get"]["rejected_share"] > 0.5
    app = d["headroom"]["components"]["app"]
    assert app["resource"] == "cores"
    assert app["headroom"] == pytest.approx(1 / app["utilization"], rel=1e-12)
    assert app["headroom"] > 2


def test_a_database_behind_a_breaker_scales_its_storage_by_the_queries_stopped() -> None:
    # Each query reads storage (5 ms at 300 IOPS); a breaker on slow queries (over 2 ms:
    # all) holds the database's route open. Its storage serves I/Os, not queries: the
    # stopped queries add I/Os in the proportion served, so the storage's headroom against
    # the offered load is its headroom on what it served times queries served / offered.
    d = simperf.run(
        simperf.from_dict(
            {
                "name": "db_breaker",
                "workload": {
                    "arrival": {"kind": "poisson", "rate": 200},
                    "classes": [{"name": "get", "entry": "app", "endpoint": "get"}],
                },
                "components": {
                    "app": {
                        "kind": "app_server",
                        "workers": 200,
                        "pool": {"database": "db", "size": 50},
                        "breakers": {
                            "db": {
                                "window": 20,
                                "min_calls": 10,
                                "slow_call": "2ms",
                                "slow_ratio": 0.5,
                                "wait": "1s",
                                "probes": 2,
                            }
                        },
                        "endpoints": {"get": [{"query": "by_id", "database": "db"}]},
                    },
                    "db": {
                        "kind": "database",
                        "primary": {
                            "memory": "64MiB",
                            "storage": {"read_latency": "5ms", "iops": "300/s"},
                        },
                        "tables": {"t": {"rows": 10_000_000, "row_size": 800}},
                        "queries": {"by_id": {"table": "t", "where": ["id"]}},
                    },
                },
                "run": {"duration": 10, "warmup": 0},
            }
        ),
        seed=1,
    ).to_dict()
    db = d["headroom"]["components"]["db"]
    served = d["components"]["db"]["per_instance"]["db[primary]"]["served"]
    assert db["resource"] == "storage" and db["stopped"] == d["calls"]["app->db"]["fail_fast"]
    offered = served + db["stopped"]
    assert db["headroom"] == pytest.approx(db["served_headroom"] * served / offered, rel=1e-9)


def test_the_first_to_saturate_behind_a_spilling_balancer_is_read_from_the_estimate() -> None:
    from simperf.metrics.headroom import mark_spills

    def section() -> dict[str, Any]:
        rows = {"web": (0.7, 1 / 0.7), "db": (0.6, 1 / 0.6)}
        comps = {
            n: {"instance": f"{n}[0]", "resource": "cores", "utilization": u, "headroom": h}
            for n, (u, h) in rows.items()
        }
        return {"components": comps, "first": {"component": "web", **comps["web"]}}

    estimate = {"closed": False, "components": {"web": {"resource": "workers", "headroom": 1.9}}}
    found = mark_spills(section(), {"web": "geo"}, estimate)
    web = found["components"]["web"]
    assert (web["spill"], web["estimated_resource"], web["estimated_headroom"]) == (
        "geo",
        "workers",
        1.9,
    )
    assert web["headroom"] == pytest.approx(1 / 0.7)  # as measured
    assert found["first"]["component"] == "db"  # 1.67x before web's 1.9x
    # a closed workload's estimate does not solve the spill-over: not used
    closed = mark_spills(section(), {"web": "geo"}, {**estimate, "closed": True})
    assert closed["components"]["web"]["estimated_headroom"] is None
    assert closed["first"]["component"] == "web"
    assert mark_spills(section(), {}, estimate) == section()


def test_a_geographic_balancer_spills_only_between_regions() -> None:
    from simperf.metrics.headroom import spilling

    spec = simperf.load(MODELS / "multi_region.yaml")
    # the groups, and the shared us-ap link both ways: what crosses it (ap's clients
    # served in us) grows with the spill, so its 1/utilisation (18.3x) is no saturation
    # point either; it was not marked
    assert spilling(spec) == dict.fromkeys(
        ("web_eu", "web_us", "web_ap", "us->ap", "ap->us"), "geo"
    )
    one = spec.with_overrides({"components.web_eu.region": "us", "components.web_ap.region": "us"})
    assert spilling(one) == {}


def test_a_faults_headroom_behind_a_spilling_balancer_is_marked() -> None:
    """While web_eu[0] is down, what web_eu and web_us carry depends on the spill too:
    the fault's figures (1/utilisation, no estimate solved for a fault's time) are
    marked ``spill``, in the JSON and the summary, as the run's are."""
    spec = simperf.load(MODELS / "multi_region.yaml").with_overrides(
        {
            "run.duration": 6,
            "run.warmup": 1,
            "faults": [{"component": "web_eu", "instance": 0, "at": 2, "for": 3}],
        }
    )
    result = simperf.run(spec, seed=1)
    d = result.to_dict()
    [unit] = d["headroom"]["faults"]
    marked = {name for name, comp in unit["components"].items() if comp.get("spill") == "geo"}
    assert marked == {"web_eu", "web_us", "web_ap", "us->ap", "ap->us"} & set(unit["components"])
    assert "db" not in marked and "web_ap" in marked
    fault = d["headroom"]["fault"]
    assert fault["spill"] == "geo"
    text = result.summary()
    assert "geo spills: 1/utilisation, no saturation point)" in text
    assert "(so is 'in fault', marked ~)" in text


def test_a_query_dropped_waiting_for_storage_is_offered_to_the_storage_not_the_cores() -> None:
    # 20 writes 1 ms apart, each 1 ms of a core (8 of them) then 5 ms of the one storage
    # slot; each call gives up after 4 ms and the database drops what waits past that:
    # 4 written, 14 dropped waiting for storage in the run. Their CPU was spent, so the
    # cores served all 18 (headroom 1/U); the storage was offered 18 and served 4. The
    # database's 14 drops were counted as offered at the cores, at a query's full cost,
    # and not at the storage: cores 2.13x, storage 1.09x (the headroom); now 9.6x and
    # 0.242x, what the storage keeps at 92% busy serving 4 of the 18 writes offered.
    scenario = two_requests(
        [{"call": "app.serve"}], [{"call": "db.put", "timeout": "4ms"}], "db"
    ).with_overrides({**SLOW_STORAGE, "components.app.pool.size": 100, "run.requests": 20})
    model = build(scenario, seed=1)
    model.execute()
    rows = [r for r in Summary(model).instance_rows() if r["component"] == "db"]
    cores, storage = sorted(rows, key=lambda r: r["kind"] == "storage")
    assert (cores["served"], cores["expired"], storage["served"]) == (4, 14, 4)
    assert cores["storage_expired"] == storage["storage_expired"] == 14
    found = {r["kind"]: headroom([r])["components"]["db"]["headroom"] for r in rows}
    assert found["database"] == pytest.approx(1 / cores["utilization"])
    assert found["storage"] == pytest.approx(4 / 18 / storage["utilization"])
    section = simperf.run(scenario, seed=1).data["headroom"]["components"]["db"]
    assert section["resource"] == "storage"
    assert section["headroom"] == pytest.approx(found["storage"])


def test_a_fault_on_a_load_varying_in_time_has_the_headroom_of_its_busiest_window() -> None:
    # Two one-core instances serving 10 ms at 20/s for 10 s, then 80/s (Poisson, 2 s
    # windows); app[0] crashes from 4 s to 18 s and app[1] serves everything. Over the
    # fault's 14 s app[1] is 55% busy (1.82x), which its quiet first 6 s flatter; a
    # planner needs the room left at the fault's busiest moment: the window of most
    # requests offered within it (12 s to 14 s, 86/s), app[1] 85% busy there, 1.18x.
    spec = {
        "name": "fault_at_peak",
        "workload": {
            "arrival": {"kind": "piecewise", "rate": 50, "profile": [[0, 20], [10, 80]]},
            "classes": [{"name": "get", "entry": "app", "endpoint": "get"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "replicas": 2,
                "cores": 1,
                "workers": 8,
                "endpoints": {"get": [{"cpu": "10ms"}]},
            },
        },
        "faults": [{"component": "app", "instance": 0, "kind": "crash", "at": 4, "for": 14}],
        "run": {"duration": 20, "warmup": 0, "window": 2},
    }
    result = simperf.run(simperf.from_dict(spec), seed=1)
    fault = result.to_dict()["headroom"]["fault"]
    ts = result.timeseries
    busy = ts.query("component == 'app[1]' and metric == 'utilization'").set_index("start")
    offered = ts.query("component == 'all' and metric == 'arrival_rate'").set_index("start")
    inside = [t for t in busy.index if 4 <= t and t + 2 <= 18]
    peak = fault["peak"]
    assert peak["start"] == max(inside, key=lambda t: offered["value"][t])
    assert peak["arrival_rate"] == pytest.approx(offered["value"][peak["start"]], rel=1e-12)
    assert fault["stretch"] == "peak" and fault["instance"] == "app[1]"
    assert fault["headroom"] == pytest.approx(1 / busy["value"][peak["start"]], rel=1e-9)
    over_its_time = 1 / busy["value"][inside].mean()  # what it gave: 1.82x
    assert fault["headroom"] < 0.7 * over_its_time
    line = next(s for s in result.summary().splitlines() if "while app[0] crash" in s)
    assert (
        f"app cores at {multiple(fault['headroom'])} (85.0% busy at app[1]) at its busiest "
        "window's load (86 requests/s offered from 12 s to 14 s)"
    ) in line


def test_copies_cancelled_by_their_caller_are_not_offered_load() -> None:
    # hedged_behind: app[1] (slowed 6x) served 4 copies and dropped 4 whose caller had
    # cancelled them (their requests answered by the other copy). The answered request
    # is the load, counted once: app[1]'s headroom is 1 / its utilisation (1.24x), over
    # the run and over the fault's time, not the 0.62x of 4 served of 8 offered.
    data = simperf.run(hedged_behind()).data
    busiest = data["components"]["app"]["per_instance"]["app[1]"]
    assert (busiest["served"], busiest["cancelled"]) == (4, 4)
    room = data["headroom"]["components"]["app"]
    assert room["instance"] == "app[1]"
    assert room["headroom"] == pytest.approx(1 / room["utilization"], rel=1e-12)
    fault = data["headroom"]["faults"][0]["components"]["app"]
    assert fault["headroom"] == pytest.approx(room["headroom"], rel=1e-12)


def test_while_a_fault_lasts_a_callee_behind_a_breaker_counts_the_calls_failed_fast() -> None:
    # behind_a_breaker under a fault covering the run (the gateway, which has no CPU,
    # slowed): the fault's figures are the run's, the API at 2.0x of the load offered
    # it, counting the calls failed fast; they counted none, 1 / its utilisation, 69x.
    spec = behind_a_breaker().model_dump(mode="json", by_alias=True, exclude_none=True)
    spec["faults"] = [{"component": "gateway", "kind": "slow", "factor": 2, "at": 0, "for": "1h"}]
    d = simperf.run(simperf.from_dict(spec), seed=1).to_dict()
    whole = d["headroom"]["components"]["api"]
    during = d["headroom"]["faults"][0]["components"]["api"]
    assert whole["headroom"] == pytest.approx(2.002, abs=1e-3)
    assert during["stopped"] == whole["stopped"] == d["calls"]["gateway->api"]["fail_fast"]
    assert during["headroom"] == pytest.approx(whole["headroom"], rel=1e-9)
    assert during["served_headroom"] == pytest.approx(whole["served_headroom"], rel=1e-9)
    assert d["headroom"]["fault"]["component"] == "api"

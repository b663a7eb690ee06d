"""Availability: down intervals, k-of-n up shares, and random faults against theory."""

from __future__ import annotations

from math import comb
from typing import Any

import pytest
from validation.agreement import agrees, conserved_and_little, replications

import simperf
from simperf.build import build
from simperf.metrics.availability import at_least_up, down_intervals, fault_kinds
from tests.components.test_rate_limit import limited

from conftest import MODELS


def occurrence(kind: str, instances: list[str], start: float, end: float | None) -> dict[str, Any]:
    return {"kind": kind, "instances": instances, "start": start, "end": end}


def test_down_intervals_merge_overlaps_clip_and_ignore_gray_faults() -> None:
    down = down_intervals(
        [
            occurrence("crash", ["a[0]"], 1, 3),
            occurrence("crash", ["a[0]", "a[1]"], 2, 4),
            occurrence("slow", ["a[1]"], 0, 10),  # slow is up
            occurrence("crash", ["a[1]"], 9, None),  # still down at the end
            occurrence("crash", ["a[0]"], -5, 0.5),  # before the measured period
        ],
        0.5,
        10.0,
    )
    assert down == {"a[0]": [(1, 4)], "a[1]": [(2, 4), (9, 10.0)]}


def test_at_least_k_up_counts_time_by_instances_up() -> None:
    down = {"a": [(0.0, 2.0)], "b": [(1.0, 3.0)]}
    # 0-1: one up, 1-2: none, 2-3: one, 3-10: both
    assert at_least_up(["a", "b", "c"], down, 0.0, 10.0) == pytest.approx([1.0, 1.0, 0.9, 0.7])


MTBF, MTTR = 1.0, 0.25


def random_faults(replicas: int, duration: float) -> dict[str, Any]:
    return {
        "name": "availability",
        "workload": {
            "arrival": {"kind": "poisson", "rate": 1},
            "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "replicas": replicas,
                "endpoints": {"serve": [{"cpu": "1ms"}]},
            }
        },
        "faults": [
            {
                "component": "app",
                "mtbf": {"dist": "exponential", "mean": MTBF},
                "mttr": {"dist": "exponential", "mean": MTTR},
            }
        ],
        "run": {"duration": duration, "warmup": 0},
    }


def test_an_instance_is_up_mtbf_over_mtbf_plus_mttr_of_the_time() -> None:
    """Exponential time to failure and repair: up MTBF / (MTBF + MTTR) = 0.8 of the time,
    within the 99.9% interval over 12 replications of 400 s (about 320 failures each);
    tests/validation/test_fault_theory.py runs it longer."""
    reps = replications(random_faults(1, 400), 12)
    agrees(reps, "faults.availability.time.components.app.mean_up", MTBF / (MTBF + MTTR))
    conserved_and_little(reps)


def test_k_of_n_instances_up_follow_the_binomial() -> None:
    """Three independent instances, each up with p = 0.8: at least k up with probability
    sum_{j >= k} C(3, j) p^j (1 - p)^(3 - j) (a short check of k = 1, 2: 8 replications
    of 300 s, so the interval may be up to 6% of theory wide; all three up, and five
    instances, are in the validate suite)."""
    reps = replications(random_faults(3, 300), 8)
    for k, theory in list(binomial_at_least(3, MTBF / (MTBF + MTTR)).items())[:2]:
        metric = f"faults.availability.time.components.app.at_least_up.{k}"
        agrees(reps, metric, theory, max_width=0.06)


def binomial_at_least(n: int, p: float) -> dict[int, float]:
    """P(at least k of n independent instances up), k = 1 .. n."""
    return {
        k: sum(comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))
        for k in range(1, n + 1)
    }


def primary_crash() -> dict[str, Any]:
    """One write a second to a database of a primary and two replicas; the primary is
    down from 2 s to 6 s of a 10 s run, and failover notices it 1 s after the crash."""
    return {
        "name": "primary_crash",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 1},
            "classes": [{"name": "w", "entry": "app", "endpoint": "w"}],
        },
        "components": {
            "app": {"kind": "app_server", "endpoints": {"w": [{"query": "upd", "database": "db"}]}},
            "db": {
                "kind": "database",
                "read_replicas": 2,
                "replication_lag": "10ms",
                "failover": {"detection": "1s", "promotion": "500ms"},
                "tables": {"t": {"rows": 100, "row_size": 100, "columns": {"v": 10}}},
                "queries": {
                    "upd": {"table": "t", "op": "update", "where": ["id"], "updates": ["v"]}
                },
            },
        },
        "faults": [{"component": "db", "instance": 0, "at": "2s", "for": "4s"}],
        "run": {"duration": 10, "warmup": 0},
    }


def test_a_database_counts_its_servers_not_their_storage_devices() -> None:
    faults = simperf.run(simperf.from_dict(primary_crash()), seed=1).to_dict()["faults"]
    time = faults["availability"]["time"]
    assert sorted(time["instances"]) == ["db[primary]", "db[replica0]", "db[replica1]"]
    db = time["components"]["db"]
    assert db["instances"] == 3
    assert db["mean_up"] == pytest.approx((0.6 + 1 + 1) / 3)
    assert db["all_up"] == pytest.approx(0.6)


def test_a_database_failover_detects_the_primary_crash() -> None:
    faults = simperf.run(simperf.from_dict(primary_crash()), seed=1).to_dict()["faults"]
    (occurrence,) = faults["occurrences"]
    assert occurrence["detected"] == pytest.approx(3.0)  # the crash + failover.detection
    assert faults["undetected"] == 0
    assert faults["mean_time_to_detect"] == pytest.approx(1.0)


def test_a_database_server_named_by_number_is_reported_by_its_name() -> None:
    # faults[0] names db[0]: the tables call that server db[primary]; so must the words
    result = simperf.run(simperf.from_dict(primary_crash()), seed=1)
    d = result.to_dict()
    assert d["faults"]["occurrences"][0]["target"] == "db[0]"  # as written, in the JSON
    assert d["stability"]["warnings"] == ["db[primary] down 4 s (40% of the measured period)"]
    assert "          db[primary] crash at 2 s, for 4 s" in result.summary()


def test_a_request_failed_after_the_fault_ended_is_counted_to_it() -> None:
    # 100 req/s; the only instance is down from 2 s to 3 s and every request sent then
    # fails after a 2 s connect timeout, at 4-5 s, after the fault has ended.
    spec = {
        "name": "late_failures",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 100},
            "classes": [{"name": "r", "entry": "app", "endpoint": "r"}],
        },
        "components": {
            "app": {"kind": "app_server", "workers": 16, "endpoints": {"r": [{"cpu": "1ms"}]}}
        },
        "faults": [{"component": "app", "at": 2, "for": 1, "connect_timeout": 2}],
        "run": {"duration": 10, "warmup": 0},
    }
    d = simperf.run(simperf.from_dict(spec), seed=1).to_dict()
    assert d["requests"]["errors"]["instance_down"] == 100
    assert d["faults"]["occurrences"][0]["failed"] == 100
    assert d["faults"]["failed"] == 100


def test_requests_failed_during_overlapping_faults_are_counted_once() -> None:
    # app's instance down 2-3 s fails 100 requests; a spare nobody calls is down 1-4 s,
    # so the same 100 were in flight during both: each occurrence counted them (100 and
    # 100 of 100 failed in all); both crash app servers, so they go to the later one
    spec = {
        "name": "overlap",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 100},
            "classes": [{"name": "r", "entry": "app", "endpoint": "r"}],
        },
        "components": {
            "app": {"kind": "app_server", "workers": 16, "endpoints": {"r": [{"cpu": "1ms"}]}},
            "spare": {"kind": "app_server", "endpoints": {"r": [{"cpu": "1ms"}]}},
        },
        "faults": [
            {"component": "app", "at": 2, "for": 1},
            {"component": "spare", "at": 1, "for": 3},
        ],
        "run": {"duration": 10, "warmup": 0},
    }
    d = simperf.run(simperf.from_dict(spec), seed=1).to_dict()
    assert d["requests"]["failed"] == 100
    failed = {o["target"]: o["failed"] for o in d["faults"]["occurrences"]}
    assert failed == {"app": 100, "spare": 0}
    assert d["faults"]["failed"] == 100


def test_a_group_crash_owns_the_failures_its_members_give_while_a_later_fault_lasts() -> None:
    # app and a spare crash together (a group, a rack) 2-3 s: 100 requests fail as
    # instance_down; an errors fault on another server nobody calls starts at 2.5 s. The group was
    # taken for a fault of no component kind, so instance_down matched no fault and the
    # failures after 2.5 s went to the later, unrelated fault: 50 and 50
    spec = {
        "name": "rack",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 100},
            "classes": [{"name": "r", "entry": "app", "endpoint": "r"}],
        },
        "components": {
            "app": {"kind": "app_server", "workers": 16, "endpoints": {"r": [{"cpu": "1ms"}]}},
            "spare": {"kind": "app_server", "endpoints": {"r": [{"cpu": "1ms"}]}},
            "other": {"kind": "app_server", "endpoints": {"r": [{"cpu": "1ms"}]}},
        },
        "faults": [
            {"group": ["app", "spare"], "at": 2, "for": 1},
            {"component": "other", "kind": "errors", "fraction": 1, "at": 2.5, "for": 1},
        ],
        "run": {"duration": 5, "warmup": 0},
    }
    d = simperf.run(simperf.from_dict(spec), seed=1).to_dict()
    assert d["requests"]["failed"] == d["requests"]["errors"]["instance_down"] == 100
    assert [o["failed"] for o in d["faults"]["occurrences"]] == [100, 0]
    assert d["faults"]["failed"] == 100


def test_a_fault_acts_on_the_kinds_of_its_members() -> None:
    # a region's fault hits the components located there (web_us and db, app servers;
    # not the unlocated balancer), a group its members, a network path no component
    faults = [
        {"region": "us", "at": 1, "for": 1},
        {"group": ["geo", "web_eu[1]"], "at": 3, "for": 1},
        {"between": ["us", "eu"], "kind": "partition", "at": 5, "for": 1},
    ]
    scenario = simperf.load(MODELS / "multi_region.yaml").with_overrides({"faults": faults})
    model = build(scenario, seed=1)
    kinds = [fault_kinds(model, fault) for fault in scenario.faults]
    assert kinds == [{"app_server"}, {"load_balancer", "app_server"}, set()]


def test_overlapping_faults_of_one_cause_split_their_shared_span() -> None:
    # errors faults failing every request on app[0] 1-3 s and app[1] 2-4 s, behind a
    # round-robin balancer: a failure in 2-3 s was in flight during both and was counted
    # to each (150 and 150 of 200); it goes to the one started last, so each keeps its
    # own span and the shared second is the later one's: 50 and 150, adding up
    spec = {
        "name": "overlap_errors",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 100},
            "classes": [{"name": "r", "entry": "lb", "endpoint": "r"}],
        },
        "components": {
            "lb": {"kind": "load_balancer", "backends": ["app"], "policy": "round_robin"},
            "app": {
                "kind": "app_server",
                "replicas": 2,
                "workers": 16,
                "endpoints": {"r": [{"cpu": "1ms"}]},
            },
        },
        "faults": [
            {"component": "app", "instance": 0, "kind": "errors", "fraction": 1, "at": 1, "for": 2},
            {"component": "app", "instance": 1, "kind": "errors", "fraction": 1, "at": 2, "for": 2},
        ],
        "run": {"duration": 5, "warmup": 0},
    }
    d = simperf.run(simperf.from_dict(spec), seed=1).to_dict()
    assert d["requests"]["errors"]["injected_error"] == 200
    assert [o["failed"] for o in d["faults"]["occurrences"]] == [50, 150]
    assert d["faults"]["failed"] == 200


def test_requests_our_own_rate_limiter_refused_count_neither_way_in_the_faults_section() -> None:
    # 100 req/s at a global limit of 50/s (burst 1): half are refused as rate_limited,
    # fault or none; an errors fault fails a fifth of the requests for 1 s of the 2.
    # Only those are the fault's: the refusals were counted as failed during it (57, of
    # which 20 injected) and against availability (0.437; of the 107 requests admitted,
    # 87 succeeded: 0.813)
    fault = [{"component": "app", "kind": "errors", "fraction": 0.2, "at": 0.5, "for": 1}]
    arrival = {"kind": "deterministic", "rate": 100}
    result = simperf.run(limited(arrival, rate=50, burst=1, duration=2, faults=fault), seed=1)
    req, section = result.data["requests"], result.data["faults"]
    refused, injected = req["errors"]["rate_limited"], req["errors"]["injected_error"]
    assert refused > 50 and injected > 0 and req["failed"] == refused + injected
    assert section["failed"] == section["occurrences"][0]["failed"] == injected
    available = section["availability"]["requests"]
    assert (
        available["all"]
        == available["api"]
        == pytest.approx(req["ok"] / (req["ok"] + injected), rel=1e-12)
    )
    assert section["rate_limited"] == refused
    assert f"{refused} rate-limited left out" in result.summary()


@pytest.mark.parametrize("keep", [None, 100])
def test_every_failure_count_covers_the_measured_period_alone(keep: int | None) -> None:
    # 100 requests/s, the only server down 1-3 s, a 2 s warm-up: 200 requests fail, 100 of
    # them in the warm-up. faults.failed, its occurrence's and the top-level errors counted
    # all 200 beside an availability and an error rate of the measured 300 requests alone
    # (1 - 200/300 < 0); requests.errors keeps the whole run, so that it conserves requests
    spec = {
        "name": "warm-fail",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 100},
            "classes": [{"name": "r", "entry": "app", "endpoint": "r"}],
        },
        "components": {"app": {"kind": "app_server", "endpoints": {"r": [{"cpu": "1ms"}]}}},
        "faults": [{"component": "app", "at": 1, "for": 2}],
        "run": {"duration": 5, "warmup": 2, **({"keep_requests": keep} if keep else {})},
    }
    d = simperf.run(simperf.from_dict(spec), seed=1).to_dict()
    faults, req, latency = d["faults"], d["requests"], d["latency"]["all"]
    assert faults["failed"] == faults["occurrences"][0]["failed"] == 100
    assert d["errors"] == {"safety_cap": 0, "instance_down": 100}
    assert sum(d["errors"].values()) == latency["errors"] == 100
    unavailable = 1 - faults["availability"]["requests"]["all"]
    assert faults["failed"] / req["measured"] == pytest.approx(unavailable)
    assert faults["failed"] / req["measured"] == pytest.approx(d["error_rate"])
    # conservation: over the whole run, and in each period (none is in flight at the end)
    assert req["errors"]["instance_down"] == req["failed"] == 200
    assert req["generated"] == req["ok"] + req["failed"] + req["in_flight"]
    assert req["in_flight"] == 0
    arrived = round(d["checks"]["arrival_rate"] * d["measured_time"])  # from the snapshots
    assert arrived == req["measured"] == latency["count"] + latency["errors"] == 300
    assert req["generated"] - arrived == req["ok"] + req["failed"] - req["measured"] == 199


def behind_a_breaker_failing(**run: Any) -> dict[str, Any]:
    """100 requests/s to a gateway calling an API of 1 ms through a breaker (10 calls,
    half failed: open 2 s, then 2 probes); an errors fault fails all the API's calls
    from 2 s to 3 s."""
    breaker = {"window": 10, "min_calls": 10, "failure_ratio": 0.5, "wait": "2s", "probes": 2}
    return {
        "name": "breaker_fault",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 100},
            "classes": [{"name": "r", "entry": "gateway", "endpoint": "r"}],
        },
        "components": {
            "gateway": {
                "kind": "app_server",
                "workers": 1000,
                "breakers": {"api": breaker},
                "endpoints": {"r": [{"call": "api.r"}]},
            },
            "api": {"kind": "app_server", "workers": 10, "endpoints": {"r": [{"cpu": "1ms"}]}},
        },
        "faults": [{"component": "api", "kind": "errors", "fraction": 1.0, "at": 2, "for": 1}],
        "run": {"duration": 10, "warmup": 0, **run},
    }


@pytest.mark.parametrize("keep", [None, 50])
def test_calls_a_breaker_the_fault_opened_failed_fast_after_it_ended_are_its(
    keep: int | None,
) -> None:
    # The first 5 calls of the fault fail (injected) and open the breaker at 2.04 s; it
    # fails every call fast until 4.04 s, a second after the fault ended, and closes on
    # its probes. All 204 failures are the fault's doing: it counted the 100 of its own
    # second (5 injected, 95 failed fast), not the 99 failed fast after it ended.
    spec = behind_a_breaker_failing(**({"keep_requests": keep} if keep else {}))
    d = simperf.run(simperf.from_dict(spec), seed=1).to_dict()
    assert d["errors"] == {"safety_cap": 0, "timeout": 0, "breaker_open": 199, "injected_error": 5}
    assert d["faults"]["occurrences"][0]["failed"] == d["faults"]["failed"] == 204

"""Sessions: sticky (local) against shared (cache) when an app instance fails."""

from __future__ import annotations

import math
from typing import Any

import pytest

import simperf
from simperf.build import build
from simperf.components.balancing import HashRing
from simperf.experiment.run import summarise

ADDRESSES = 2000
REPLICAS = 4
VIRTUAL_NODES = 1000
FAIL_AT = 20.0  # 1,000 req/s over 2,000 addresses: 10 requests per address by then


def sessions_scenario(
    store: Any,
    *,
    duration: float = FAIL_AT + 0.5,
    policy: str = "ip_hash",
    reauth: bool = True,
    faults: bool = True,
    replicas: int = REPLICAS,
) -> simperf.Scenario:
    balancer: dict[str, Any] = {"kind": "load_balancer", "policy": policy, "backends": "app"}
    if policy == "ip_hash":
        balancer["virtual_nodes"] = VIRTUAL_NODES
    sessions: dict[str, Any] = {"store": store, "idle_timeout": "1h"}
    if reauth:
        sessions["reauth"] = "login"
    return simperf.from_dict(
        {
            "name": "sessions_test",
            "keyspaces": {"none": {"keys": 1, "popularity": {"model": "uniform"}}},
            "workload": {
                "arrival": {"kind": "poisson", "rate": 1000},
                "clients": {"addresses": ADDRESSES},
                "classes": [{"name": "page", "entry": "lb", "endpoint": "page"}],
            },
            "components": {
                "lb": balancer,
                "app": {
                    "kind": "app_server",
                    "replicas": replicas,
                    "cores": 2,
                    "workers": 16,
                    "sessions": sessions,
                    "endpoints": {
                        "page": [{"cpu": {"dist": "exponential", "mean": "1ms"}}],
                        "login": [{"cpu": "5ms"}],
                    },
                },
                "redis": {
                    "kind": "cache",
                    "keyspace": "none",
                    "capacity": 10,
                    "network": "200us",
                },
            },
            "faults": [{"component": "app", "instance": 1, "at": FAIL_AT, "for": 60}]
            if faults
            else [],
            "run": {"duration": duration, "warmup": 0},
        }
    )


def run_model(scenario: simperf.Scenario, seed: int = 1) -> tuple[Any, dict[str, Any]]:
    model = build(scenario, seed=seed).execute()
    return model, summarise(model).to_dict()


@pytest.mark.parametrize("n", [2, 4, 8])
def test_sticky_sessions_lose_the_failed_instances_share(n: int) -> None:
    """One of n instances fails: it loses the live sessions the ring gave it.

    Exact: every address has a session by then (10 requests each on average; checked),
    and the lost ones are exactly the addresses whose ring owner is the failed instance.
    Statistical: the share lost is 1/n within 4 standard deviations of two sources. The
    ring's arcs: with V points per instance, one instance's share of the ring is a sum of
    V of the nV spacings of uniform points, Beta(V, (n - 1) V) distributed: mean 1/n,
    variance (1/n)(1 - 1/n)/(nV + 1). The addresses: given the arcs, each of the A
    sessions falls on the instance independently (hashing), a binomial share with
    variance at most (1/n)(1 - 1/n)/A.
    """
    model, result = run_model(sessions_scenario("local", replicas=n))
    report = result["sessions"]["app"]
    assert report["active_at_failures"] == ADDRESSES
    ring = HashRing([f"app[{i}]" for i in range(n)], VIRTUAL_NODES)
    owned = sum(1 for a in range(ADDRESSES) if ring.owner(a) == 1)
    assert report["lost"] == owned
    assert model.components["app"].sessions.lost == owned
    p = 1 / n
    sd = math.sqrt(p * (1 - p) / (n * VIRTUAL_NODES + 1) + p * (1 - p) / ADDRESSES)
    assert abs(report["lost_share"] - p) <= 4 * sd


def test_the_shared_store_survives_the_failure() -> None:
    """The same failure with sessions in the cache: nothing lost, nobody re-authenticates."""
    _, result = run_model(sessions_scenario({"cache": "redis"}, duration=FAIL_AT + 5))
    report = result["sessions"]["app"]
    assert report["lost"] == 0
    assert report["reauthentications"] == 0
    assert report["lost_share"] == 0.0
    assert result["requests"]["errors"].get("instance_down", 0) == 0


def test_lost_sticky_sessions_re_authenticate_at_the_reauth_cost() -> None:
    """After the failure each lost client re-authenticates once on the instance taking it."""
    _, result = run_model(sessions_scenario("local", duration=FAIL_AT + 10))
    report = result["sessions"]["app"]
    # 10 s at 0.5 req/s per address: nearly every lost client came back (P(not) = e^-5)
    assert report["lost"] * (1 - 4 * math.exp(-5)) <= report["reauthentications"]
    assert report["reauthentications"] <= report["lost"]
    # the failed instance's clients moved to the others: it served nothing after FAIL_AT
    per_instance = result["components"]["lb"]["per_instance"]
    assert per_instance["app[1]"]["dispatched"] < per_instance["app[0]"]["dispatched"]


def test_without_stickiness_a_client_re_authenticates_on_each_new_instance() -> None:
    """Round robin with local sessions: a client logs in again on every instance it meets.

    A client sends M ~ Poisson(mu) requests (mu = 1000/s x 10 s / 2000 = 5), each to
    what is, for one client among thousands, a uniformly random instance. It creates a
    session on the first and re-authenticates on each other distinct instance it meets:
    E[re-authentications] = n (1 - exp(-mu / n)) - (1 - exp(-mu)) per client. Each
    client's count lies in [0, n - 1], so the total over A clients has a standard
    deviation of at most sqrt(A) (n - 1) / 2.
    """
    _, result = run_model(
        sessions_scenario("local", policy="round_robin", faults=False, duration=10)
    )
    report = result["sessions"]["app"]
    n, mu = REPLICAS, 1000 * 10 / ADDRESSES
    expected = ADDRESSES * (n * (1 - math.exp(-mu / n)) - (1 - math.exp(-mu)))
    sd = math.sqrt(ADDRESSES) * (n - 1) / 2
    assert report["lost"] == 0
    assert abs(report["reauthentications"] - expected) <= 4 * sd


def test_each_shared_session_request_pays_a_cache_round_trip() -> None:
    """The shared store costs one command per request, and a second for a new session.

    A command is the 200 us round trip plus the node's 10 us: the mean latency grows by
    210 us x (requests + created) / requests over the local store's.
    """
    _, local = run_model(sessions_scenario("local", faults=False, duration=10))
    _, shared = run_model(sessions_scenario({"cache": "redis"}, faults=False, duration=10))
    report = shared["sessions"]["app"]
    commands = report["requests"] + report["created"]
    assert shared["components"]["redis"]["served"] == commands
    difference = shared["latency"]["all"]["mean"] - local["latency"]["all"]["mean"]
    assert difference == pytest.approx(210e-6 * commands / report["requests"], rel=0.05)


def test_a_failed_cache_node_loses_the_shared_sessions() -> None:
    scenario = sessions_scenario({"cache": "redis"}, faults=False, duration=FAIL_AT + 0.5)
    data = scenario.model_dump(mode="json", by_alias=True)
    data["faults"] = [{"component": "redis", "at": FAIL_AT, "for": 60}]
    _, result = run_model(simperf.from_dict(data))
    report = result["sessions"]["app"]
    assert report["lost"] == ADDRESSES
    assert report["lost_share"] == 1.0


def test_the_example_model_is_deterministic_and_its_counters_are_metrics() -> None:
    from simperf.experiment.metrics import known_metrics

    from conftest import MODELS

    scenario = simperf.load(MODELS / "sessions.yaml").with_overrides(
        {"run.duration": 25, "workload.arrival.rate": 200}
    )
    first = simperf.run(scenario, seed=5).to_dict()
    assert simperf.run(scenario, seed=5).to_dict() == first
    assert first["sessions"]["app"]["lost"] == 0  # the shared store survives instance 2
    known = set(known_metrics(scenario))
    assert {
        "sessions.app.lost",
        "sessions.app.reauthentications",
        "sessions.app.active",
        "rate_limits.app_play.rejected",
        "leaderboards.scores.members",
        "requests.errors.rate_limited",
    } <= known

"""The one call path: every step kind that reaches a database goes through the pool."""

from __future__ import annotations

from typing import Any

import pytest

import simperf
from simperf.errors import BuildError

REQUESTS = 20


def scenario(steps: list[dict[str, Any]], *, pool: bool = True) -> simperf.Scenario:
    """An app server calling a database whose unpooled connections cost a handshake."""
    app: dict[str, Any] = {"kind": "app_server", "workers": 100, "endpoints": {"serve": steps}}
    if pool:
        app["pool"] = {"database": "db", "size": 4}
    return simperf.from_dict(
        {
            "name": "calls",
            "keyspaces": {"items": {"keys": 1_000, "popularity": "uniform"}},
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 10},
                "classes": [
                    {"name": "req", "entry": "app", "endpoint": "serve", "keyspace": "items"}
                ],
            },
            "components": {
                "app": app,
                "cache": {
                    "kind": "cache",
                    "keyspace": "items",
                    "capacity": 100,
                    "latency": "100us",
                },
                "db": {
                    "kind": "database",
                    "primary": {"cores": 4, "memory": "1GiB", "max_connections": 100},
                    "connection": {"handshake": "2ms", "startup": 0},
                    "tables": {"kv": {"rows": 1_000, "row_size": 100, "keyspace": "items"}},
                    "queries": {"get": {"table": "kv", "where": ["id"]}},
                },
            },
            "run": {"requests": REQUESTS, "warmup": 0},
        }
    )


STEPS = {
    "call": {"call": "db.get"},
    "query": {"query": "get", "database": "db", "repeat": 2},
    "parallel": {"parallel": ["db.get", "db.get"]},
    "cache backing read": {"read": {"cache": "cache", "backing": "db.get"}},
}


def queries(kind: str, result: dict[str, Any]) -> int:
    """Queries the step sent: per request, or one per cache miss for a backing read."""
    if kind == "cache backing read":
        return int(result["caches"]["cache"]["store_reads"])
    return REQUESTS * (2 if kind in ("query", "parallel") else 1)


@pytest.mark.parametrize("kind", list(STEPS))
def test_every_step_kind_reaching_a_database_takes_the_callers_pool(kind: str) -> None:
    result = simperf.run(scenario([STEPS[kind]]), seed=1).to_dict()
    db = result["databases"]["db"]
    assert db["queries"]["get"]["calls"] == queries(kind, result) > 0
    assert db["pools"]["app"]["acquisitions"] == queries(kind, result)
    assert db["connections"]["opened"] == 0


@pytest.mark.parametrize("kind", list(STEPS))
def test_without_a_pool_every_step_kind_opens_a_connection(kind: str) -> None:
    result = simperf.run(scenario([STEPS[kind]], pool=False), seed=1).to_dict()
    db = result["databases"]["db"]
    assert db["pools"] == {}
    assert db["connections"]["opened"] == queries(kind, result) > 0


def test_a_step_without_a_compiler_is_a_build_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from simperf import build
    from simperf.spec.app_server import DelayStep

    compilers = {k: v for k, v in build.STEP_COMPILERS.items() if k is not DelayStep}
    monkeypatch.setattr(build, "STEP_COMPILERS", compilers)
    with pytest.raises(BuildError, match=r"components\.app\.endpoints\.serve\.1: .*DelayStep"):
        simperf.run(scenario([{"call": "db.get"}, {"delay": "1ms"}]), seed=1)

"""Shared fixtures: a minimal valid scenario to change one thing at a time."""

from __future__ import annotations

import copy
import functools
import importlib.util
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
CATALOGUE = MODELS / "instance_types.yaml"
"""The instance-type catalogue beside the example scenarios (not a scenario itself)."""
SCENARIO_FILES = sorted(p for p in MODELS.glob("*.yaml") if p != CATALOGUE)
"""Every example scenario in models/."""


@functools.cache
def model_result(name: str, overrides: tuple[tuple[str, Any], ...] = ()) -> Any:
    """``models/<name>.yaml`` run whole at seed 1 (with ``overrides``), once a process: the
    run the README, the docs and the models' headers quote, shared by the tests that pin
    them. Read it, never change it."""
    import simperf

    return simperf.run(simperf.load(MODELS / f"{name}.yaml"), seed=1, overrides=dict(overrides))


MINIMAL: dict[str, Any] = {
    "name": "minimal",
    "workload": {
        "arrival": {"kind": "poisson", "rate": 50},
        "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
    },
    "components": {
        "app": {
            "kind": "app_server",
            "cores": 1,
            "endpoints": {"serve": [{"cpu": {"dist": "exponential", "mean": "10ms"}}]},
        }
    },
    "run": {"duration": 20, "warmup": 1},
}


def edited(spec: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``spec`` with dotted paths set: ``components__app__cores=2``; a
    number indexes a list (``workload__classes__0__timeout``), a missing mapping is made."""
    data = copy.deepcopy(spec)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        node[int(last) if isinstance(node, list) else last] = value
    return data


@pytest.fixture
def minimal_spec() -> dict[str, Any]:
    """A fresh deep copy of a minimal valid scenario dict."""
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def minimal_scenario(minimal_spec: dict[str, Any]):
    from simperf import from_dict

    return from_dict(minimal_spec)


def fleet(app: dict[str, Any], **run: Any) -> dict[str, Any]:
    """30 requests a second, exactly 100 ms of one core each (3 cores of work), into the
    app server ``app`` (its kind and endpoint added); ``run`` as given."""
    return {
        "name": "fleet",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 30},
            "classes": [{"name": "r", "entry": "app", "endpoint": "s"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                **app,
                "endpoints": {"s": [{"cpu": {"dist": "constant", "value": 0.1}}]},
            }
        },
        "run": run,
    }


def two_tier(arrival: dict[str, Any], trace: dict[str, Any] | None, **run: Any) -> dict[str, Any]:
    """front (1 ms CPU, a call to back, 1 ms CPU) -> back (3 ms CPU), one core each."""
    return {
        "name": "two_tier",
        "workload": {
            "arrival": arrival,
            "classes": [{"name": "get", "entry": "front", "endpoint": "page"}],
        },
        "components": {
            "front": {
                "kind": "app_server",
                "cores": 1,
                "endpoints": {"page": [{"cpu": "1ms"}, {"call": "back.data"}, {"cpu": "1ms"}]},
            },
            "back": {
                "kind": "app_server",
                "cores": 1,
                "endpoints": {"data": [{"cpu": {"dist": "exponential", "mean": "3ms"}}]},
            },
        },
        "run": {**run, **({"trace": trace} if trace is not None else {})},
    }


def pooled_cached_retried(trace: dict[str, Any] | None, requests: int = 400) -> dict[str, Any]:
    """app (1 ms CPU; a cache-aside read backed by a database through a pool of one
    connection; a call to back with an 8 ms timeout and 3 attempts 1 ms apart) -> back
    (exponential 3 ms): reads miss about half the time, queries wait for the connection,
    some calls time out and are retried."""
    return {
        "name": "pooled_cached_retried",
        "keyspaces": {"items": {"keys": 200, "popularity": {"model": "zipf", "alpha": 0.9}}},
        "workload": {
            "arrival": {"kind": "poisson", "rate": "300/s"},
            "classes": [{"name": "get", "entry": "app", "endpoint": "get", "keyspace": "items"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "cores": 2,
                "workers": 50,
                "pool": {"database": "db", "size": 1, "max_wait": "20ms"},
                "endpoints": {
                    "get": [
                        {"cpu": "1ms"},
                        {"read": {"cache": "cache", "backing": "db.one"}},
                        {
                            "call": "back.get",
                            "timeout": "8ms",
                            "retry": {"attempts": 3, "backoff": {"base": "1ms", "jitter": "none"}},
                        },
                    ]
                },
            },
            "cache": {
                "kind": "cache",
                "keyspace": "items",
                "capacity": 50,
                "latency": "20us",
                "network": "250us",
            },
            "back": {
                "kind": "app_server",
                "cores": 4,
                "endpoints": {"get": [{"cpu": {"dist": "exponential", "mean": "3ms"}}]},
            },
            "db": {
                "kind": "database",
                "primary": {
                    "cores": 2,
                    "memory": "1GiB",
                    "storage": {"read_latency": 0, "write_latency": 0},
                },
                "cpu": {"per_query": "2ms", "per_row": 0, "per_page": 0},
                "rtt": "500us",
                "tables": {"kv": {"rows": 200, "row_size": 100, "keyspace": "items"}},
                "queries": {"one": {"table": "kv", "where": ["id"]}},
            },
        },
        "run": {"requests": requests, "warmup": 0, **({"trace": trace} if trace else {})},
    }


HAS_NUMBA = importlib.util.find_spec("numba") is not None
"""Whether the fast path's compiled kernels (the extra ``fast``) can run here."""


@pytest.fixture(params=["numba", "numpy"])
def recursion_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test once with the fast path's compiled kernels loaded (skipped without
    numba), once with its numpy recursions."""
    from simperf.fastpath import recursions

    if request.param == "numba" and not HAS_NUMBA:
        pytest.skip("numba is not installed (the extra 'fast')")
    monkeypatch.setattr(recursions, "USE_NUMBA", request.param == "numba")
    monkeypatch.delenv("SIMPERF_NUMBA", raising=False)
    recursions.load()
    assert (recursions.compiled() is not None) == (request.param == "numba")
    return request.param

"""CDN specs: a valid one, and bad ones failing before the run with the field's path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import simperf
from simperf.cli import main
from simperf.errors import SpecError
from simperf.spec.cdn import CdnSpec

SPEC: dict[str, Any] = {
    "name": "cdn",
    "keyspaces": {"pages": {"keys": 1000, "popularity": {"zipf": 1.0}}},
    "network": {"regions": ["us", "eu"], "latency": {"us": {"eu": "40ms"}}},
    "workload": {
        "arrival": {"kind": "poisson", "rate": 100},
        "clients": {"regions": {"us": 1, "eu": 1}},
        "classes": [
            {
                "name": "asset",
                "entry": "cdn",
                "endpoint": "page",
                "keyspace": "pages",
                "response_size": "40KB",
            },
            {"name": "api", "entry": "cdn", "endpoint": "page"},
        ],
    },
    "components": {
        "cdn": {
            "kind": "cdn",
            "origin": "web",
            "keyspace": "pages",
            "cacheable": ["asset"],
            "capacity": 100,
            "capacity_bytes": "2MB",
            "ttl": "30s",
            "edges": {"us": {"latency": "5ms"}, "eu": {"latency": "8ms"}},
            "shield": {"region": "us", "capacity": 500},
        },
        "web": {"kind": "app_server", "region": "us", "endpoints": {"page": [{"cpu": "2ms"}]}},
    },
    "run": {"duration": 5, "warmup": 0},
}


def _cdn(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["cdn"]


def test_the_valid_spec_loads_with_its_defaults() -> None:
    scenario = simperf.from_dict(copy.deepcopy(SPEC))
    cdn = scenario.components["cdn"]
    assert isinstance(cdn, CdnSpec)
    assert cdn.edges["eu"].latency == pytest.approx(0.008)
    assert cdn.capacity_bytes == 2_000_000 and cdn.eviction == "lru"
    assert cdn.shield is not None and cdn.shield.ttl is None
    assert scenario.endpoints_of("cdn") == {"page"}


Change = Callable[[dict[str, Any]], None]


def _parent(spec: dict[str, Any], path: str) -> tuple[Any, str]:
    *parents, last = path.split(".")
    node: Any = spec
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, last


def _set(path: str, value: Any) -> Change:
    def change(spec: dict[str, Any]) -> None:
        node, last = _parent(spec, path)
        node[last] = value

    return change


def _delete(path: str) -> Change:
    def change(spec: dict[str, Any]) -> None:
        node, last = _parent(spec, path)
        del node[last]

    return change


BAD: dict[str, tuple[Change, str]] = {
    "edge in an unknown region": (
        _set("components.cdn.edges", {"us": {}, "eu": {}, "mars": {}}),
        "components.cdn.edges.mars: unknown region 'mars' (regions: us, eu)",
    ),
    "shield without edges": (
        _set("components.cdn.edges", {}),
        "components.cdn.shield: a shield needs edges in front of it",
    ),
    "no edges at all": (
        lambda s: (_set("components.cdn.edges", {})(s), _delete("components.cdn.shield")(s)),
        "components.cdn.edges: expected at least one region with an edge",
    ),
    "zero capacity": (
        _set("components.cdn.capacity", 0),
        "components.cdn.capacity: must be >= 1",
    ),
    "zero ttl": (
        _set("components.cdn.ttl", "0s"),
        "components.cdn.ttl: a ttl of 0 expires every entry as it is stored (every lookup "
        "would miss); expected > 0, or null for entries that never expire",
    ),
    "zero shield ttl": (
        _set("components.cdn.shield.ttl", 0),
        "components.cdn.shield.ttl: a ttl of 0 expires every entry",
    ),
    "zero shield capacity": (
        _set("components.cdn.shield.capacity", 0),
        "components.cdn.shield.capacity: must be >= 1",
    ),
    "cacheable class that does not exist": (
        _set("components.cdn.cacheable", ["asset", "video"]),
        "components.cdn.cacheable[1]: unknown request class 'video' (classes: asset, api)",
    ),
    "cacheable class without the CDN's keys": (
        _set("components.cdn.cacheable", ["api"]),
        "components.cdn.cacheable[0]: class 'api' has no keyspace, expected the CDN's key "
        "space 'pages'",
    ),
    "byte capacity without sizes": (
        _delete("workload.classes.0.response_size"),
        "components.cdn.cacheable[0]: class 'asset' needs a response_size",
    ),
    "shield in an unknown region": (
        _set("components.cdn.shield.region", "moon"),
        "components.cdn.shield.region: unknown region 'moon' (regions: us, eu)",
    ),
    "client region without an edge": (
        _set("components.cdn.edges", {"us": {}}),
        "components.cdn.edges: no edge in region 'eu', where clients come from",
    ),
    "no network": (
        lambda s: (_delete("network")(s), _delete("workload.clients")(s)),
        "components.cdn: a CDN needs a network section listing the regions",
    ),
    "unknown origin": (
        _set("components.cdn.origin", "nginx"),
        "components.cdn.origin: unknown component 'nginx'",
    ),
    "unknown key space": (
        _set("components.cdn.keyspace", "videos"),
        "components.cdn.keyspace: unknown key space 'videos' (known: pages)",
    ),
    "endpoint the origin lacks": (
        _set("workload.classes.1.endpoint", "login"),
        "workload.classes[1].endpoint: 'cdn' has no endpoint 'login' (it has: page)",
    ),
    "negative edge latency": (
        _set("components.cdn.edges.eu.latency", "-1ms"),
        "components.cdn.edges.eu.latency",
    ),
    "app server calling the CDN": (
        _set("components.web.endpoints.page", [{"call": "cdn.page"}]),
        "components.web.endpoints.page: calls the CDN 'cdn'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_specs_fail_with_the_path(case: str) -> None:
    change, expected = BAD[case]
    spec = copy.deepcopy(SPEC)
    change(spec)
    with pytest.raises(SpecError) as info:
        simperf.from_dict(spec)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    "case", ["edge in an unknown region", "shield without edges", "zero capacity", "zero ttl"]
)
def test_bad_specs_exit_2_on_the_command_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change, expected = BAD[case]
    spec = copy.deepcopy(SPEC)
    change(spec)
    path = tmp_path / "cdn.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_the_valid_spec_runs_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "cdn.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    assert main(["validate", str(path)]) == 0

"""CDN edges on the fault timeline: a failed edge's clients go to the shield or origin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import simperf


def spec(tmp_path: Path, **cdn: Any) -> dict[str, Any]:
    """Ten keys read in turn, one every 10 ms, for 4 s; the edge fails at 1.0005 s for 1 s."""
    path = tmp_path / "keys.csv"
    path.write_text("key\n" + "".join(f"{k % 10}\n" for k in range(400)))
    return {
        "name": "cdn_faults",
        "keyspaces": {"objects": {"keys": 10, "popularity": {"model": "trace", "path": str(path)}}},
        "network": {"regions": ["here"]},
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 100},
            "classes": [{"name": "get", "entry": "cdn", "endpoint": "get", "keyspace": "objects"}],
        },
        "components": {
            "cdn": {
                "kind": "cdn",
                "origin": "web",
                "keyspace": "objects",
                "cacheable": ["get"],
                "capacity": 40,
                "edges": {"here": {"latency": "1ms"}},
                **cdn,
            },
            "web": {"kind": "app_server", "endpoints": {"get": [{"cpu": "1ms"}]}},
        },
        "faults": [{"component": "cdn", "instance": 0, "at": 1.0005, "for": 1}],
        "run": {"requests": 400, "warmup": 0},
    }


def run(data: dict[str, Any]) -> dict[str, Any]:
    result = simperf.run(simperf.from_dict(data), seed=1).to_dict()
    assert result["requests"]["failed"] == 0
    return result


def test_a_failed_edge_sends_its_clients_to_the_origin(tmp_path: Path) -> None:
    """10 first misses, the 100 requests of the outage, 10 misses of the edge back empty."""
    cdn = run(spec(tmp_path))["cdns"]["cdn"]
    edge = cdn["edges"]["here"]
    assert edge["requests"] == 300
    assert edge["bypassed"] == edge["bypassed_origin_requests"] == 100
    assert cdn["requests"] == 400
    assert cdn["origin_requests"] == 10 + 100 + 10
    assert cdn["offload"] == pytest.approx(1 - 120 / 400)


def test_a_failed_edge_falls_back_to_the_shield(tmp_path: Path) -> None:
    """The shield holds the ten keys from their first misses: the outage costs the origin
    nothing, and the edge refills from the shield."""
    cdn = run(spec(tmp_path, shield={"region": "here", "capacity": 40}))["cdns"]["cdn"]
    assert cdn["edges"]["here"]["bypassed"] == 100
    assert cdn["edges"]["here"]["bypassed_origin_requests"] == 0
    assert cdn["origin_requests"] == 10
    assert cdn["shield"]["requests"] == 10 + 100 + 10


def test_a_cdn_fault_names_an_edge(tmp_path: Path) -> None:
    data = spec(tmp_path)
    data["faults"][0]["instance"] = 1
    with pytest.raises(simperf.SpecError, match=r"faults\[0\]\.instance: 'cdn' has 1 instance"):
        simperf.from_dict(data)


def test_the_summary_counts_the_requests_around_a_failed_edge(tmp_path: Path) -> None:
    text = simperf.run(simperf.from_dict(spec(tmp_path)), seed=1).summary()
    assert "edge here of cdn down: 100 requests went around it, 100 of them to the origin" in text

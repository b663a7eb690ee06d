"""Regions, latencies, jitter and links: exact times with constant sizes and delays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

import simperf
from simperf.build import build
from simperf.components.network import Hop


def network_spec(
    *,
    app: dict[str, Any] | None = None,
    network: dict[str, Any] | None = None,
    request_class: dict[str, Any] | None = None,
    clients: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    rate: float = 10.0,
    requests: int = 4,
) -> dict[str, Any]:
    workload: dict[str, Any] = {
        "arrival": {"kind": "deterministic", "rate": rate},
        "classes": [{"name": "req", "entry": "app", "endpoint": "serve", **(request_class or {})}],
        "clients": clients or {"regions": {"edge": 1}},
    }
    return {
        "name": "net",
        "workload": workload,
        "network": {"regions": ["edge", "dc"], **(network or {})},
        "components": {
            "app": {
                "kind": "app_server",
                "region": "dc",
                "workers": 100,
                "endpoints": {"serve": [{"cpu": "5ms"}]},
                **(app or {}),
            },
            **(extra or {}),
        },
        "run": {"requests": requests},
    }


def latencies(spec: dict[str, Any], seed: int = 1) -> np.ndarray:
    result = simperf.run(simperf.from_dict(spec), seed=seed)
    data = result._arrays  # type: ignore[attr-defined]
    req = result.to_dict()["requests"]
    assert req["generated"] == req["ok"] + req["failed"] + req["in_flight"]
    return data["latency"][np.argsort(data["start"])]


def test_a_crossing_adds_the_one_way_latency_each_way() -> None:
    spec = network_spec(network={"latency": {"edge": {"dc": "20ms"}, "dc": {"edge": "30ms"}}})
    assert latencies(spec) == pytest.approx([0.055] * 4, abs=1e-12)  # 20 + 5 + 30 ms


def test_transfer_time_is_size_over_bandwidth_plus_latency() -> None:
    spec = network_spec(
        network={
            "latency": {"edge": {"dc": "20ms"}},
            "links": {"edge": {"dc": {"bandwidth": "1MB/s"}}},
        },
        request_class={"request_size": "10kB", "response_size": "50kB"},
    )
    # there: 20 ms + 10 kB / (1 MB/s) = 30 ms; service 5 ms; back: 20 ms + 50 ms
    assert latencies(spec) == pytest.approx([0.105] * 4, abs=1e-12)


def test_within_a_region_nothing_is_paid() -> None:
    spec = network_spec(
        network={"latency": {"edge": {"dc": "20ms"}}, "jitter": "7ms"},
        clients={"regions": {"dc": 1}},
        request_class={"request_size": "10kB"},
    )
    assert latencies(spec) == pytest.approx([0.005] * 4, abs=1e-12)


def test_jitter_is_added_to_every_one_way_crossing() -> None:
    spec = network_spec(network={"latency": {"edge": {"dc": "20ms"}}, "jitter": "3ms"})
    assert latencies(spec) == pytest.approx([0.051] * 4, abs=1e-12)  # 2 * (20 + 3) + 5


def test_random_jitter_is_drawn_for_each_crossing() -> None:
    jitter = {"dist": "exponential", "mean": "4ms"}
    app = {"endpoints": {"serve": [{"delay": "5ms"}]}}
    spec = network_spec(network={"jitter": jitter}, app=app, rate=1000, requests=20_000)
    extra = latencies(spec) - 0.005
    # two independent exponential crossings of mean 4 ms: a gamma(2, 4 ms) round trip
    assert stats.kstest(extra, "gamma", args=(2, 0, 0.004)).pvalue > 1e-4


def test_calls_between_components_cross_regions_too() -> None:
    spec = network_spec(
        network={"latency": {"edge": {"dc": "20ms"}}},
        clients={"regions": {"dc": 1}},
        app={"endpoints": {"serve": [{"cpu": "2ms"}, {"call": "db.query"}]}},
        extra={
            "db": {"kind": "app_server", "region": "edge", "endpoints": {"query": [{"cpu": "1ms"}]}}
        },
    )
    assert latencies(spec) == pytest.approx([0.043] * 4, abs=1e-12)  # 2 + 20 + 1 + 20


def test_calls_between_components_carry_no_payload() -> None:
    spec = network_spec(
        network={
            "latency": {"edge": {"dc": "20ms"}},
            "links": {"edge": {"dc": {"bandwidth": "1MB/s", "shared": True}}},
        },
        clients={"regions": {"dc": 1}},
        request_class={"request_size": "10kB", "response_size": "50kB"},
        app={"endpoints": {"serve": [{"cpu": "2ms"}, {"call": "db.query"}]}},
        extra={
            "db": {"kind": "app_server", "region": "edge", "endpoints": {"query": [{"cpu": "1ms"}]}}
        },
    )
    assert latencies(spec) == pytest.approx([0.043] * 4, abs=1e-12)
    model = build(simperf.from_dict(spec))
    assert "edge->dc" not in model.components  # the link never carries a payload here


def test_components_without_a_region_live_in_the_first() -> None:
    spec = network_spec(network={"latency": {"edge": {"dc": "20ms"}}})
    del spec["components"]["app"]["region"]  # the first region is edge, the clients' own
    assert latencies(spec) == pytest.approx([0.005] * 4, abs=1e-12)


def test_a_shared_link_queues_transfers_in_fifo_order() -> None:
    link = {"bandwidth": "1MB/s", "shared": True}
    spec = network_spec(
        network={"links": {"edge": {"dc": link}}},
        request_class={"request_size": "15kB"},
        app={"endpoints": {"serve": [{"delay": 0}]}},
        rate=100,
    )
    # a 15 ms transfer every 10 ms: each waits 5 ms longer than the one before
    assert latencies(spec) == pytest.approx([0.015, 0.020, 0.025, 0.030], abs=1e-12)
    unshared = network_spec(
        network={"links": {"edge": {"dc": {**link, "shared": False}}}},
        request_class={"request_size": "15kB"},
        app={"endpoints": {"serve": [{"delay": 0}]}},
        rate=100,
    )
    assert latencies(unshared) == pytest.approx([0.015] * 4, abs=1e-12)


def test_a_shared_link_is_reported_like_an_instance() -> None:
    spec = network_spec(
        network={"links": {"edge": {"dc": {"bandwidth": "1MB/s", "shared": True}}}},
        request_class={"request_size": "5kB", "response_size": "2kB"},
        rate=100,
        requests=1000,
    )
    data = simperf.run(simperf.from_dict(spec), seed=1).to_dict()["components"]
    there, back = data["edge->dc"], data["dc->edge"]
    assert (there["kind"], there["served"], back["served"]) == ("link", 1000, 1000)
    # 5 ms of every 10 ms one way, 2 ms back (the run lasts 10 s plus the last request)
    assert there["utilization"] == pytest.approx(0.5, rel=0.01)
    assert back["utilization"] == pytest.approx(0.2, rel=0.01)
    assert there["mean_wait"] == 0.0


def test_a_saturated_link_is_named_by_its_bandwidth_not_cores() -> None:
    # a 15 ms transfer every 10 ms: the link is saturated and its queue grows; a link
    # has no cores, so neither the verdict nor the headroom may call its load that
    spec = network_spec(
        network={"links": {"edge": {"dc": {"bandwidth": "1MB/s", "shared": True}}}},
        request_class={"request_size": "15kB"},
        app={"endpoints": {"serve": [{"delay": 0}]}},
        rate=100,
        requests=600,
    )
    result = simperf.run(simperf.from_dict(spec), seed=1)
    data = result.to_dict()
    first = data["headroom"]["first"]
    assert (first["component"], first["resource"]) == ("edge->dc", "bandwidth")
    # busy 600 x 15 ms from the first arrival (10 ms) to the end of the run
    assert first["headroom"] == pytest.approx(9.01 / 9.0, rel=1e-9)
    stability = data["stability"]
    assert (stability["status"], stability["resource"]) == ("saturated", "bandwidth")
    assert stability["reason"] == "bandwidth 99.9% busy at edge->dc"
    assert stability["peak"]["resource"] == "bandwidth"
    assert "edge->dc cores" not in result.summary()
    assert "edge->dc bandwidth saturates first" in result.summary()


def test_no_network_means_no_hops() -> None:
    plain = build(simperf.from_dict(network_spec()).model_copy(update={"network": None}))
    assert plain.ctx.network is None
    assert plain.clients.entries[0][0] is plain.components["app"]


def test_free_crossings_are_not_wrapped() -> None:
    model = build(simperf.from_dict(network_spec()))  # regions, but no latency or link
    assert model.clients.entries[0][0] is model.components["app"]
    costly = build(simperf.from_dict(network_spec(network={"latency": {"edge": {"dc": 1e-3}}})))
    assert isinstance(costly.clients.entries[0][0], Hop)


def test_a_failure_travels_back_without_payload() -> None:
    spec = network_spec(
        network={
            "latency": {"edge": {"dc": "20ms"}},
            "links": {"edge": {"dc": {"bandwidth": "1MB/s"}}},
        },
        request_class={"request_size": "10kB", "response_size": "50kB"},
        app={"queue_limit": 0, "workers": 1, "endpoints": {"serve": [{"cpu": "100ms"}]}},
        rate=100,
        requests=2,
    )
    result = simperf.run(simperf.from_dict(spec), seed=1)
    assert result.to_dict()["errors"] == {"rejected": 1}
    # ok: 30 + 100 + 70 ms; rejected: 30 ms there, 20 ms back without the response body
    assert latencies(spec) == pytest.approx([0.2, 0.05], abs=1e-12)


def balancer_spec(region: str | None) -> dict[str, Any]:
    lb: dict[str, Any] = {"kind": "load_balancer", "backends": ["app"]}
    if region is not None:
        lb["region"] = region
    spec = network_spec(
        network={
            "regions": ["edge", "dc", "hub"],
            "latency": {"edge": {"dc": "20ms", "hub": "5ms"}, "hub": {"dc": "30ms"}},
        },
        extra={"lb": lb},
    )
    spec["workload"]["classes"][0]["entry"] = "lb"
    return spec


def test_a_balancer_without_a_region_adds_no_stop() -> None:
    assert latencies(balancer_spec(None)) == pytest.approx([0.045] * 4, abs=1e-12)


def test_a_balancer_in_a_region_is_a_stop_on_the_way() -> None:
    # edge -> hub (5 ms) -> dc (30 ms), 5 ms of service, and back the same way
    assert latencies(balancer_spec("hub")) == pytest.approx([0.075] * 4, abs=1e-12)


def test_a_shared_link_has_one_utilisation_row_per_window_and_a_heatmap_row() -> None:
    # a link is one instance named as its component: its utilisation was recorded twice
    # per window (as the instance and as the component's mean), and the figures, which
    # took instances to be the names with a bracket, left the link out
    from simperf import plots

    spec = network_spec(
        network={"links": {"edge": {"dc": {"bandwidth": "1MB/s", "shared": True}}}},
        request_class={"request_size": "5kB", "response_size": "2kB"},
        rate=100,
        requests=1000,
    )
    result = simperf.run(simperf.from_dict(spec), seed=1)
    ts = result.timeseries
    assert not ts.duplicated(["start", "end", "component", "metric"]).any()
    there = ts[(ts.metric == "utilization") & (ts.component == "edge->dc")]
    windows = ts[(ts.metric == "throughput") & (ts.component == "all")]
    assert len(there) == len(windows)
    (heat,) = plots.utilization_heatmap(result).data
    assert list(heat.y) == ["app[0]", "edge->dc", "dc->edge"]
    assert np.allclose(heat.z[1], there["value"].to_numpy())
    lines = plots.utilization(result)
    assert [t.name for t in lines.data] == ["app[0]", "edge->dc", "dc->edge"]

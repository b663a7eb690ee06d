"""Request tracing: sampled from a stream of its own, changing nothing else in the run."""

from __future__ import annotations

from typing import Any

import pytest

import simperf

from conftest import two_tier


def regions(trace: dict[str, Any] | None) -> dict[str, Any]:
    """Clients in two regions calling an app in one of them, which calls a database."""
    spec = two_tier({"kind": "poisson", "rate": "100/s"}, trace, requests=400)
    spec["workload"]["clients"] = {"regions": {"eu": 0.5, "us": 0.5}}
    spec["network"] = {"regions": ["eu", "us"], "latency": {"eu": {"us": "40ms"}}}
    spec["components"]["front"]["region"] = "eu"
    spec["components"]["back"]["region"] = "us"
    return spec


POISSON = {"kind": "poisson", "rate": "200/s"}


@pytest.mark.parametrize(
    "make",
    [
        lambda trace: two_tier(POISSON, trace, requests=2000),
        regions,
    ],
    ids=["two_tier", "regions"],
)
def test_tracing_on_or_off_gives_identical_results(make: Any) -> None:
    off = simperf.run(simperf.from_dict(make(None))).to_dict()
    for sample in (0.3, 1.0):
        traced = simperf.run(simperf.from_dict(make({"sample": sample})))
        on = traced.to_dict()
        assert on.pop("traces")["traced"] == len(traced.traces.query("kind == 'request'"))
        assert on == off


def test_the_traced_share_is_the_sample() -> None:
    result = simperf.run(simperf.from_dict(two_tier(POISSON, {"sample": 0.2}, requests=4000)))
    traced = result.to_dict()["traces"]["traced"]
    # binomial(4000, 0.2): sd 25.3, so 5 sd either side
    assert abs(traced - 800) <= 5 * (4000 * 0.2 * 0.8) ** 0.5


def test_spans_nest_hops_queues_and_network_crossings() -> None:
    result = simperf.run(simperf.from_dict(regions({"sample": 1.0})))
    spans = result.traces
    assert set(spans["kind"]) == {"request", "hop", "network", "queue"}
    requests = spans[spans["kind"] == "request"]
    assert len(requests) == 400
    # every span lies within its parent, and every request crosses from its client's
    # region to eu and from eu to us: one back hop inside a network span
    parents = spans.set_index(["trace_id", "span_id"])
    child = spans[spans["parent"] >= 0]
    up = parents.loc[list(zip(child["trace_id"], child["parent"], strict=True))]
    assert (child["start"].to_numpy() >= up["start"].to_numpy() - 1e-12).all()
    assert (child["end"].to_numpy() <= up["end"].to_numpy() + 1e-12).all()
    back = spans[spans["component"] == "back"]
    back_parent = up.loc[list(zip(back["trace_id"], back["parent"], strict=True))]
    assert set(back_parent["instance"]) == {"eu->us"}
    crossings = spans[(spans["kind"] == "network") & spans["instance"].str.startswith("client")]
    assert set(crossings["instance"]) == {"client->eu"}  # the us clients' (eu's cost nothing)


def test_the_slow_request_log_holds_the_truly_slowest() -> None:
    result = simperf.run(
        simperf.from_dict(two_tier(POISSON, {"sample": 1.0, "slowest": 5}, requests=2000))
    )
    true = result.requests.nlargest(5, "latency")["latency"].to_numpy()
    logged = [r["latency"] for r in result.to_dict()["traces"]["slowest"]]
    assert logged == pytest.approx(true.tolist())
    slow = result.slowest
    assert slow["trace_id"].nunique() == 5
    assert slow.groupby("trace_id", sort=False)["latency"].first().tolist() == pytest.approx(logged)


def test_a_spec_without_trace_builds_no_tracer() -> None:
    result = simperf.run(simperf.from_dict(two_tier(POISSON, None, requests=200)))
    assert "traces" not in result.to_dict()
    assert result.traces.empty and result.breakdown().empty


def test_untraced_requests_stay_on_flat_runners_and_traced_ones_get_spans() -> None:
    # A flat request costs an event per arrival and per CPU step (4 here); a request run
    # as a process costs about twice that. Tracing 10% must leave the other 90% flat.
    spec = two_tier(POISSON, None, requests=2000, engine="events")
    off = simperf.run(simperf.from_dict(spec))
    spec["run"]["trace"] = {"sample": 0.1}
    on = simperf.run(simperf.from_dict(spec))
    assert off.perf["events"] / 2000 < 4.05
    traced = on.to_dict()["traces"]["traced"]
    assert 100 < traced < 300
    assert on.perf["events"] < 1.15 * off.perf["events"]
    assert on.metric("latency.all.p99") == off.metric("latency.all.p99")
    assert set(on.traces["kind"]) >= {"request", "hop"}

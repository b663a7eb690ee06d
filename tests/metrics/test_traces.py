"""The latency breakdown, the slow-request log and OpenTelemetry JSON from traced requests."""

from __future__ import annotations

import re

import pytest

import simperf

from conftest import pooled_cached_retried, two_tier


def constant_two_tier(arrival: dict, **run: object) -> simperf.Result:
    spec = two_tier(arrival, {"sample": 1.0}, **run)
    spec["components"]["back"]["endpoints"]["data"] = [{"cpu": "3ms"}]
    spec["components"]["front"]["cores"] = 2  # so that back queues too
    return simperf.run(simperf.from_dict(spec))


def test_breakdown_without_queueing_is_the_known_service_split() -> None:
    # 10 requests/s, one every 100 ms: nobody waits; front serves 2 ms, back 3 ms
    result = constant_two_tier({"kind": "deterministic", "rate": "10/s"}, requests=50)
    table = result.breakdown().set_index(["class", "component", "part"])
    for klass in ("get", "all"):
        rows = table.loc[klass]
        assert set(rows.index) == {("front", "service"), ("back", "service")}
        assert rows.loc[("front", "service"), "mean"] == pytest.approx(0.002)
        assert rows.loc[("back", "service"), "mean"] == pytest.approx(0.003)
        assert rows.loc[("front", "service"), "share"] == pytest.approx(0.4)
        assert rows.loc[("back", "service"), "tail_share"] == pytest.approx(0.6)
        assert rows["requests"].iloc[0] == 50


def test_breakdown_adds_up_to_the_mean_and_matches_the_exact_counters() -> None:
    # Poisson at 200/s: front's workers held 50%, back 60% busy: both queue
    result = constant_two_tier({"kind": "poisson", "rate": "200/s"}, requests=3000)
    table = result.breakdown()
    mine = table[table["class"] == "all"].set_index(["component", "part"])
    assert mine["share"].sum() == pytest.approx(1.0, abs=1e-9)
    assert mine["tail_share"].sum() == pytest.approx(1.0, abs=1e-9)
    assert mine["mean"].sum() == pytest.approx(result.metric("latency.all.mean"), rel=1e-9)
    # every request traced, none cut by a warm-up: the waits are the servers' own totals
    for name in ("front", "back"):
        exact = result.metric(f"components.{name}.mean_wait")
        assert mine.loc[(name, "wait"), "mean"] == pytest.approx(exact, rel=1e-9)
    assert mine.loc[("back", "service"), "mean"] == pytest.approx(0.003)
    # the p99 requests spend more of their time waiting than the average one
    waits = mine.xs("wait", level="part")
    assert waits["tail_share"].sum() > waits["share"].sum()
    assert result.to_dict()["traces"]["breakdown"]["all"]["requests"] == 3000
    # back is one queue visit per request: waiting per request is waiting per visit
    p_wait = result.to_dict()["traces"]["p_wait"]["all"]
    assert p_wait["back"] == pytest.approx(result.metric("components.back.p_wait"), abs=1e-12)
    assert max(p_wait["front"], p_wait["back"]) <= p_wait["any"] < 1
    assert p_wait["any"] <= p_wait["front"] + p_wait["back"]
    assert f"waited    {p_wait['any']:.1%} of requests at least once" in result.summary()


def test_otel_json_has_the_otlp_shape_and_links_every_span_to_its_parent() -> None:
    result = constant_two_tier({"kind": "poisson", "rate": "200/s"}, requests=100)
    otel = result.to_otel()
    services = {
        a["value"]["stringValue"]
        for r in otel["resourceSpans"]
        for a in r["resource"]["attributes"]
        if a["key"] == "service.name"
    }
    assert services == {"front", "back"}
    spans = [s for r in otel["resourceSpans"] for ss in r["scopeSpans"] for s in ss["spans"]]
    assert len(spans) == len(result.traces)
    ids = {(s["traceId"], s["spanId"]) for s in spans}
    assert len(ids) == len(spans)
    for span in spans:
        assert re.fullmatch("[0-9a-f]{32}", span["traceId"])
        assert re.fullmatch("[0-9a-f]{16}", span["spanId"])
        assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"])
        if span["parentSpanId"]:
            assert (span["traceId"], span["parentSpanId"]) in ids
    roots = [s for s in spans if not s["parentSpanId"]]
    assert len(roots) == 100


def test_breakdown_separates_pool_waits_cache_reads_and_backoffs_and_drops_abandoned_work() -> None:
    result = simperf.run(simperf.from_dict(pooled_cached_retried({"sample": 1.0})))
    table = result.breakdown()
    mine = table[table["class"] == "all"].set_index(["component", "part"])
    assert mine["share"].sum() == pytest.approx(1.0, abs=1e-9)
    assert mine["mean"].sum() == pytest.approx(result.metric("latency.all.mean"), rel=1e-9)
    # the app's own service is its 1 ms of CPU: not the pool waits, the cache's commands,
    # the backoffs, nor (negative) the timed-out attempts' work that went on past them
    assert mine.loc[("app", "service"), "mean"] == pytest.approx(0.001, rel=1e-9)
    spans = result.traces
    pool = spans.loc[spans["kind"] == "pool_wait", "duration"].sum() / 400
    assert mine.loc[("app", "pool_wait"), "mean"] == pytest.approx(pool, rel=1e-9)
    # 1 ms before the second attempt, 2 ms before the third
    before = spans.loc[spans["kind"] == "backoff", "detail"].str[-1].astype(int)
    backoff = (0.001 * 2.0 ** (before - 2)).sum() / 400
    assert mine.loc[("app", "backoff"), "mean"] == pytest.approx(backoff, rel=1e-9)
    # a get, and a set after each miss: 20 us + 250 us each
    misses = result.data["caches"]["cache"]["misses"]
    assert mine.loc[("cache", "service"), "mean"] == pytest.approx(270e-6 * (400 + misses) / 400)


def test_otel_json_carries_cache_hits_attempts_and_pool_waits() -> None:
    result = simperf.run(simperf.from_dict(pooled_cached_retried({"sample": 1.0}, requests=100)))
    spans = [
        s for r in result.to_otel()["resourceSpans"] for ss in r["scopeSpans"] for s in ss["spans"]
    ]
    attributes = [{a["key"]: a["value"] for a in s["attributes"]} for s in spans]
    reads = [a for a in attributes if a["simperf.kind"]["stringValue"] == "cache"]
    assert {a["cache.hit"]["boolValue"] for a in reads} == {True, False}
    tries = [a for a in attributes if a["simperf.kind"]["stringValue"] == "attempt"]
    assert {a["simperf.attempt"]["intValue"] for a in tries} >= {"1", "2"}
    assert {a["simperf.outcome"]["stringValue"] for a in tries} == {"ok", "timeout"}
    waits = [a for a in attributes if a["simperf.kind"]["stringValue"] == "pool_wait"]
    assert waits and {a["db.name"]["stringValue"] for a in waits} == {"db"}
    assert {s["kind"] for s in spans} == {1, 2, 3}  # internal, server, client (attempts)

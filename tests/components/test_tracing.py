"""Request tracing: sampled from a stream of its own, changing nothing else in the run."""

from __future__ import annotations

import sys
from collections import Counter
from types import FrameType
from typing import Any

import pytest
from scipy import stats

import simperf
from simperf.components import tracing
from simperf.metrics import traces

from conftest import MODELS, pooled_cached_retried, two_tier


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
        pooled_cached_retried,
    ],
    ids=["two_tier", "regions", "pooled_cached_retried"],
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


def test_past_keep_the_traces_kept_are_a_uniform_sample_and_the_counts_cover_all() -> None:
    # Every traced request used to be kept: 2.5 KB each on web_stack, 638-645 MiB at 200k
    # requests traced. Past run.trace.keep a reservoir keeps a uniform sample instead.
    spec = two_tier(POISSON, {"sample": 1.0, "keep": 500, "slowest": 5}, requests=4000)
    spec["run"]["warmup"] = 2.0
    result = simperf.run(simperf.from_dict(spec))
    section = result.to_dict()["traces"]
    requests = result.requests
    kept = result.traces.query("kind == 'request'")
    assert len(kept) == section["kept"] == 500
    assert section["traced"] == 4000
    measured = requests[requests["start"] >= 2.0]
    assert section["measured"] == len(measured) < 4000
    # the kept ids are a sample without replacement of 0..3999: their mean is within 5
    # standard errors of the middle, and their spread passes Kolmogorov-Smirnov
    n, k = 4000, 500
    error = ((n * n - 1) / 12 / k * (n - k) / (n - 1)) ** 0.5
    assert abs(kept["trace_id"].mean() - (n - 1) / 2) < 5 * error
    assert stats.kstest(kept["trace_id"], stats.uniform(0, n).cdf).pvalue > 1e-3
    # the slow-request log still ranks every traced request
    true = requests.nlargest(5, "latency")["latency"].to_numpy()
    logged = [r["latency"] for r in section["slowest"]]
    assert logged == pytest.approx(true.tolist())
    slow = result.slowest
    assert slow.groupby("trace_id", sort=False)["latency"].first().tolist() == pytest.approx(logged)
    assert "sample 1; from a uniform 500 of the 4000 traced)" in result.summary()


def test_the_sample_kept_is_the_seeds_and_changes_nothing_else() -> None:
    def make(keep: int) -> simperf.Result:
        spec = two_tier(POISSON, {"sample": 1.0, "keep": keep}, requests=3000)
        return simperf.run(simperf.from_dict(spec), seed=7)

    small, again, whole = make(100), make(100), make(20_000)
    assert small.traces.equals(again.traces)
    assert small.traces["trace_id"].nunique() == 100
    assert whole.traces["trace_id"].nunique() == 3000
    a, b = small.to_dict(), whole.to_dict()
    ta, tb = a.pop("traces"), b.pop("traces")
    assert a == b  # the reservoir's draws come from a stream of their own
    assert (ta["traced"], ta["measured"], ta["slowest"]) == (
        tb["traced"],
        tb["measured"],
        tb["slowest"],
    )


def test_a_spec_without_trace_builds_no_tracer() -> None:
    result = simperf.run(simperf.from_dict(two_tier(POISSON, None, requests=200)))
    assert "traces" not in result.to_dict()
    assert result.traces.empty and result.breakdown().empty


def tracer_calls(spec: dict[str, Any]) -> Counter[str]:
    """Calls (and generator resumptions) of each function of the tracer and of the
    traces' tables during ``simperf.run`` of ``spec``."""
    files = {tracing.__file__, traces.__file__}
    calls: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename in files:
            calls[frame.f_code.co_name] += 1

    scenario = simperf.from_dict(spec)
    sys.setprofile(profile)
    try:
        simperf.run(scenario)
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize(
    "make",
    [lambda trace: two_tier(POISSON, trace, requests=1000), regions, pooled_cached_retried],
    ids=["two_tier", "regions", "pooled_cached_retried"],
)
def test_tracing_off_calls_nothing_of_the_tracer(make: Any) -> None:
    # "Nothing when off": no call into the tracer or the traces' tables, so the off path
    # costs what a build without tracing would. Traced, the same hook sees them.
    off = tracer_calls(make(None))
    # only the build's look through a (here absent) span wrapper, once per route compiled
    assert set(off) <= {"unwrapped"} and off["unwrapped"] <= 3
    on = tracer_calls(make({"sample": 0.1}))
    assert on["_root"] > 0 and on["spans_frame"] == 2  # the kept traces, the slowest


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


def children(spans: Any, of: Any) -> Any:
    """The spans whose parent is one of the spans ``of`` (same trace)."""
    keys = set(zip(of["trace_id"], of["span_id"], strict=True))
    mine = [k in keys for k in zip(spans["trace_id"], spans["parent"], strict=True)]
    return spans[mine]


def test_pool_waits_are_spans_of_their_own_adding_up_to_the_pools_total() -> None:
    result = simperf.run(simperf.from_dict(pooled_cached_retried({"sample": 1.0})))
    spans = result.traces
    waits = spans[spans["kind"] == "pool_wait"]
    assert len(waits) > 20  # one connection at 300/s x 45% misses x 2.5 ms: many wait
    assert set(waits["component"]) == {"app"} and set(waits["detail"]) == {"db"}
    assert set(waits["instance"]) == {"app[0]"}
    # every request traced, no warm-up: the spans hold every wait the pool counted
    app = result.data["components"]["app"]
    acquired = len(spans[(spans["kind"] == "hop") & (spans["component"] == "db")])
    assert waits["duration"].sum() == pytest.approx(app["pool_wait"] * acquired, rel=1e-9)
    # the wait comes before its query, inside the cache's backing read
    backing = spans[spans["kind"] == "backing"]
    assert len(children(waits, backing)) == len(waits)


def test_cache_reads_are_hit_or_miss_spans_with_the_backing_read_under_a_miss() -> None:
    result = simperf.run(simperf.from_dict(pooled_cached_retried({"sample": 1.0})))
    spans = result.traces
    reads = spans[spans["kind"] == "cache"]
    counted = result.data["caches"]["cache"]
    assert (reads["detail"] == "hit").sum() == counted["hits"] > 0
    assert (reads["detail"] == "miss").sum() == counted["misses"] > 0
    assert set(reads["component"]) == {"cache"}
    backing = spans[spans["kind"] == "backing"]
    assert set(backing["component"]) == {"db"}
    under = children(backing, reads)
    assert len(under) == len(backing) == counted["misses"]
    missed = reads[reads["detail"] == "miss"]
    assert len(children(backing, missed)) == len(missed)
    db_hops = spans[(spans["kind"] == "hop") & (spans["component"] == "db")]
    assert len(children(db_hops, backing)) == len(backing)


def test_each_retry_attempt_and_backoff_is_a_span_with_its_number_and_outcome() -> None:
    # back takes 50 ms, the call waits 30 ms: 3 attempts time out, 10 then 20 ms apart
    spec = {
        "name": "retried",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 10},
            "classes": [{"name": "req", "entry": "front", "endpoint": "get"}],
        },
        "components": {
            "front": {
                "kind": "app_server",
                "workers": 1000,
                "endpoints": {
                    "get": [
                        {
                            "call": "back.get",
                            "timeout": "30ms",
                            "retry": {
                                "attempts": 3,
                                "backoff": {"base": "10ms", "jitter": "none"},
                            },
                        }
                    ]
                },
            },
            "back": {"kind": "app_server", "cores": 100, "endpoints": {"get": [{"cpu": 0.05}]}},
        },
        "run": {"requests": 20, "warmup": 0, "trace": {"sample": 1.0}},
    }
    spans = simperf.run(simperf.from_dict(spec)).traces
    for _, trace in spans.groupby("trace_id"):
        tries = trace[trace["kind"] == "attempt"]
        assert tries["detail"].tolist() == ["#1 timeout", "#2 timeout", "#3 timeout"]
        assert tries["duration"].to_numpy() == pytest.approx([0.03] * 3)
        assert set(tries["instance"]) == {"front[0]->back"}
        waits = trace[trace["kind"] == "backoff"]
        assert waits["duration"].to_numpy() == pytest.approx([0.01, 0.02])
        assert waits["detail"].tolist() == ["before #2", "before #3"]
        # each attempt's callee is its child, going on past the timeout (the last
        # request's last one is still running when the run ends with that request)
        hops = children(trace[trace["component"] == "back"], tries)
        assert len(hops) == 3
        if trace["trace_id"].iloc[0] < spans["trace_id"].max():
            assert hops["duration"].to_numpy() == pytest.approx([0.05] * 3)


def arms(timeout: str | None, trace: dict[str, Any] | None) -> dict[str, Any]:
    """front (1 ms) calls mid and back in parallel, each arm timed; mid (2 ms) makes a
    timed, hedged call to back (3 ms, hedged after 1 ms). No queueing: one request per
    100 ms, four cores each."""
    klass: dict[str, Any] = {"name": "get", "entry": "front", "endpoint": "get"}
    if timeout is not None:
        klass["timeout"] = timeout  # the request runs in a process of its own
    steps = {
        "front": [{"cpu": "1ms"}, {"parallel": ["mid.get", "back.get"], "timeout": "100ms"}],
        "mid": [
            {"cpu": "2ms"},
            {"call": "back.get", "timeout": "100ms", "hedge": {"after": "1ms"}},
        ],
        "back": [{"cpu": "3ms"}],
    }
    return {
        "name": "arms",
        "workload": {"arrival": {"kind": "deterministic", "rate": "10/s"}, "classes": [klass]},
        "components": {
            name: {"kind": "app_server", "cores": 4, "endpoints": {"get": endpoint}}
            for name, endpoint in steps.items()
        },
        "run": {"requests": 5, "warmup": 0, **({"trace": trace} if trace is not None else {})},
    }


@pytest.mark.parametrize("timeout", [None, "1s"], ids=["no_deadline", "class_timeout"])
def test_a_started_process_s_spans_hang_under_the_span_that_started_it(
    timeout: str | None,
) -> None:
    result = simperf.run(simperf.from_dict(arms(timeout, {"sample": 1.0})))
    off = simperf.run(simperf.from_dict(arms(timeout, None))).to_dict()
    on = result.to_dict()
    assert on.pop("traces")["traced"] == 5
    assert on == off
    spans = result.traces
    name = {
        (r.trace_id, r.span_id): f"{r.kind} {r.instance}".strip()
        for r in spans.itertuples(index=False)
    }
    for trace_id, trace in spans.groupby("trace_id"):
        tree = sorted(
            (name[(trace_id, r.span_id)], name.get((trace_id, r.parent), ""))
            for r in trace.itertuples(index=False)
        )
        assert tree == [
            ("attempt front[0]->back", "hop front[0]"),  # the arms, under the gateway hop
            ("attempt front[0]->mid", "hop front[0]"),
            ("attempt mid[0]->back", "hop mid[0]"),  # mid's call, in the arm
            ("hop back[0]", "attempt front[0]->back"),  # each arm's callee: its attempt's
            ("hop back[0]", "attempt mid[0]->back"),  # the timed copy and the hedged one
            ("hop back[0]", "attempt mid[0]->back"),
            ("hop front[0]", "request"),
            ("hop mid[0]", "attempt front[0]->mid"),
            ("request", ""),
        ]
    # the OTel export links each span to the same parent
    otel = result.to_otel()
    exported = [s for r in otel["resourceSpans"] for ss in r["scopeSpans"] for s in ss["spans"]]
    by_id = {s["spanId"]: s["name"] for s in exported}
    links = sorted((s["name"], by_id.get(s["parentSpanId"], "")) for s in exported)
    expected = sorted(
        (name[(r.trace_id, r.span_id)], name.get((r.trace_id, r.parent), ""))
        for r in spans.itertuples(index=False)
    )
    assert links == expected
    assert ("hop mid[0]", "attempt front[0]->mid") in links


def test_waits_inside_an_app_whose_crash_fails_requests_in_service_are_queue_spans() -> None:
    # one worker, 150 ms each, one request per 100 ms: from the second on, each waits
    # 50 ms more than the one before; the crash at 0.52 s fails those in service
    spec = {
        "name": "crash_waits",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 10},
            "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "workers": 1,
                "endpoints": {"serve": [{"cpu": "150ms"}]},
            }
        },
        "faults": [
            {"component": "app", "instance": 0, "at": 0.52, "for": 0.3, "in_service": "fail"}
        ],
        "run": {"requests": 10, "warmup": 0, "trace": {"sample": 1.0}},
    }
    spans = simperf.run(simperf.from_dict(spec)).traces
    ok = spans[spans["outcome"] == "ok"]
    hops = ok[ok["kind"] == "hop"]
    waits = children(ok[ok["kind"] == "queue"], hops)
    assert len(waits) == len(ok[ok["kind"] == "queue"]) >= 2  # each under its hop
    waited = waits.groupby("trace_id")["duration"].sum().reindex(hops["trace_id"], fill_value=0)
    assert waited.to_numpy() == pytest.approx(hops["duration"].to_numpy() - 0.15, abs=1e-12)


def test_the_shards_of_a_scatter_query_are_under_its_database_hop() -> None:
    # by_country asks all 8 shards at once; their waits for a core are queue spans under
    # the store's hop, and the request's parts still add up to its latency
    scenario = simperf.load(MODELS / "sharded_store.yaml").with_overrides(
        {"run.duration": 0.5, "run.warmup": 0, "run.trace": {"sample": 1.0}}
    )
    result = simperf.run(scenario)
    spans = result.traces
    scatter = spans[spans["class"] == "by_country"]
    hops = scatter[(scatter["kind"] == "hop") & (scatter["component"] == "store")]
    waits = scatter[scatter["kind"] == "queue"]
    assert len(waits) > len(hops) > 20
    assert len(children(waits, hops)) == len(waits)
    table = result.breakdown().set_index(["class", "component", "part"]).loc["by_country"]
    assert table.loc[("store", "wait"), "mean"] > 0
    assert table["share"].sum() == pytest.approx(1.0, abs=1e-9)


def test_a_traced_run_that_samples_no_request_has_an_empty_traces_section() -> None:
    spec = two_tier(POISSON, None, requests=200)
    off = simperf.run(simperf.from_dict(spec)).to_dict()
    spec["run"]["trace"] = {"sample": 1e-9}
    result = simperf.run(simperf.from_dict(spec))
    on = result.to_dict()
    section = on.pop("traces")
    assert section["traced"] == 0 and section["slowest"] == []
    assert on == off
    assert result.traces.empty

"""Calls under failure: timeouts, deadlines, retries, budgets, hedging, breakers, fallbacks."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

import simperf
from simperf.build import build
from simperf.components.resilience import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    Breaker,
    RetryBudget,
    Route,
    backoff_sampler,
)
from simperf.rng import batched
from simperf.spec.resilience import BackoffSpec, BreakerSpec, tracks_attempts
from tests.components.test_database import EXACT, settled, two_requests


def scenario(
    call: dict[str, Any],
    *,
    cpu: Any = 0.05,
    cores: int = 1,
    before: list[dict[str, Any]] | None = None,
    klass: dict[str, Any] | None = None,
    breakers: dict[str, Any] | None = None,
    rate: float = 10,
    run: dict[str, Any] | None = None,
    arrival: str = "deterministic",
) -> simperf.Scenario:
    """Clients -> front (many workers) -> back (``cores``, ``cpu`` per request)."""
    front: dict[str, Any] = {
        "kind": "app_server",
        "workers": 1000,
        "endpoints": {"get": [*(before or []), {"call": "back.get", **call}]},
    }
    if breakers:
        front["breakers"] = breakers
    return simperf.from_dict(
        {
            "name": "resilience",
            "workload": {
                "arrival": {"kind": arrival, "rate": rate},
                "classes": [{"name": "req", "entry": "front", "endpoint": "get", **(klass or {})}],
            },
            "components": {
                "front": front,
                "back": {
                    "kind": "app_server",
                    "cores": cores,
                    "endpoints": {"get": [{"cpu": cpu}]},
                },
            },
            "run": run or {"requests": 20, "warmup": 0},
        }
    )


def route(result: simperf.Result) -> dict[str, Any]:
    return result.data["calls"]["front->back"]


def conserved(result: simperf.Result) -> None:
    req = result.data["requests"]
    assert req["generated"] == req["ok"] + req["failed"] + req["in_flight"]
    r = route(result)
    assert r["attempts"] + r["fail_fast"] + r["expired"] == r["calls"] + r["retries"] + r["hedges"]


def test_a_call_slower_than_its_timeout_times_out_and_its_work_goes_on() -> None:
    # back takes 50 ms; the call waits 30 ms: every request fails as timeout, once.
    result = simperf.run(scenario({"timeout": "30ms"}))
    req, r = result.data["requests"], route(result)
    assert req["errors"]["timeout"] == 20 and req["ok"] == 0
    assert (r["calls"], r["attempts"], r["timeouts"], r["failed"]) == (20, 20, 20, 20)
    # the abandoned work was done anyway (19 finished by the time the last request failed)
    assert result.data["components"]["back"]["served"] >= 19
    conserved(result)


def test_an_untimed_call_is_unchanged() -> None:
    result = simperf.run(scenario({}))
    assert "calls" not in result.data
    assert result.data["requests"]["ok"] == 20
    assert result.data["latency"]["all"]["max"] == pytest.approx(0.05)


def test_retries_are_attempts_of_the_same_request() -> None:
    result = simperf.run(scenario({"timeout": "30ms", "retry": {"attempts": 3}}))
    req, r = result.data["requests"], route(result)
    assert req["generated"] == 20 and req["errors"]["timeout"] == 20
    assert (r["calls"], r["attempts"], r["retries"], r["timeouts"]) == (20, 60, 40, 60)
    assert r["amplification"] == 3.0
    conserved(result)


def test_retries_stop_at_the_request_deadline() -> None:
    # 50 ms of delay, then a call with 80 ms of its own but only 50 ms left of the 100 ms
    # deadline: it times out at the deadline and is not retried.
    result = simperf.run(
        scenario(
            {"timeout": "80ms", "retry": {"attempts": 3}},
            cpu=0.07,
            cores=100,
            before=[{"delay": "50ms"}],
            klass={"timeout": "100ms"},
        )
    )
    req, r = result.data["requests"], route(result)
    assert req["errors"]["timeout"] == 20
    assert r["attempts"] + r["expired"] == 20 + r["retries"]
    assert r["attempts"] == 20 and r["timeouts"] == 20  # cut at the deadline, 50 ms in
    # without the deadline the 80 ms timeout would not have cut a 70 ms call
    assert (
        simperf.run(
            scenario({"timeout": "80ms"}, cpu=0.07, cores=100, before=[{"delay": "50ms"}])
        ).data["requests"]["ok"]
        == 20
    )


def test_a_client_timeout_records_the_request_once() -> None:
    # the client gives up at 40 ms; the 50 ms work finishes later and records nothing
    result = simperf.run(
        scenario({}, cpu=0.05, cores=100, klass={"timeout": "40ms"}, run={"duration": "3s"})
    )
    req = result.data["requests"]
    assert req["errors"]["timeout"] == req["generated"] == 29
    assert req["in_flight"] == 0 and len(result.requests) == 29
    assert result.data["latency"]["all"]["count"] == 0
    assert np.allclose(result.requests["latency"], 0.04)


def test_a_fallback_ends_ok_and_degraded() -> None:
    skip = simperf.run(scenario({"timeout": "30ms", "fallback": {"skip": True}}))
    assert skip.data["requests"]["ok"] == 20
    assert skip.data["requests"]["degraded"] == 20
    assert skip.data["latency"]["req"]["degraded"] == 20
    assert route(skip)["degraded"] == 20
    assert "degraded  req 20" in skip.summary()
    default = simperf.run(scenario({"timeout": "30ms", "fallback": {"cpu": "5ms"}}))
    assert default.data["latency"]["all"]["max"] == pytest.approx(0.035)


def test_a_hedge_sends_a_second_copy_and_the_first_answer_wins() -> None:
    result = simperf.run(scenario({"hedge": {"after": "20ms"}}, cores=10))
    r = route(result)
    assert (r["calls"], r["attempts"], r["hedges"]) == (20, 40, 20)
    assert result.data["latency"]["all"]["max"] == pytest.approx(0.05)
    conserved(result)


@pytest.mark.parametrize(
    ("hedge", "timeout", "copies", "max_latency"),
    [
        ({"after": "20ms", "max_copies": 3}, None, 3, 0.05),  # at 0, 20, 40 ms
        ({"after": "20ms", "max_copies": 4}, None, 3, 0.05),  # the first answers at 50 < 60
        ({"after": "10ms", "max_copies": 4}, None, 4, 0.05),  # at 0, 10, 20, 30 ms
        ({"after": "20ms", "max_copies": 5}, "30ms", 2, None),  # 40 ms is past the limit
    ],
)
def test_a_hedge_sends_a_copy_every_after_up_to_max_copies(
    hedge: dict[str, Any], timeout: str | None, copies: int, max_latency: float | None
) -> None:
    call: dict[str, Any] = {"hedge": hedge}
    if timeout is not None:
        call["timeout"] = timeout
    result = simperf.run(scenario(call, cores=10))
    r = route(result)
    assert (r["calls"], r["attempts"], r["hedges"]) == (20, 20 * copies, 20 * (copies - 1))
    if max_latency is None:  # no copy answers within the timeout
        assert result.data["requests"]["errors"]["timeout"] == r["timeouts"] == 20
    else:
        assert result.data["latency"]["all"]["max"] == pytest.approx(max_latency)
    conserved(result)


def test_a_retry_still_in_its_backoff_at_the_end_is_not_counted_yet() -> None:
    # every call times out at 30 ms and waits 10 s before its retry, past the end of the
    # run: the retries were decided but not made, so the route has made none of them
    call = {
        "timeout": "30ms",
        "retry": {"attempts": 2, "backoff": {"base": "10s", "cap": "10s", "jitter": "none"}},
    }
    result = simperf.run(scenario(call, run={"duration": "1s", "warmup": 0}))
    r = route(result)
    assert r["calls"] == r["attempts"] == 9 and r["retries"] == 0
    conserved(result)


def test_injected_errors_can_be_retried() -> None:
    # an errors fault is a server's 5xx: the commonest cause a client retries on
    call = {"retry": {"attempts": 3, "when": ["injected_error"]}}
    fault = {"component": "back", "kind": "errors", "fraction": 1.0, "at": 0, "for": "100s"}
    result = simperf.run(scenario(call).with_overrides({"faults": [fault]}))
    r = route(result)
    assert (r["calls"], r["attempts"], r["retries"], r["failed"]) == (20, 60, 40, 20)
    assert result.data["requests"]["errors"]["injected_error"] == 20
    conserved(result)


def test_a_budget_caps_retries_at_its_ratio() -> None:
    result = simperf.run(
        scenario(
            {"timeout": "30ms", "retry": {"attempts": 5, "budget": {"ratio": 0.1, "burst": 1}}},
            run={"requests": 200, "warmup": 0},
        )
    )
    r = route(result)
    # a full bucket of 1 (the first call's deposit overflows it), then 0.1 a call:
    # retries at calls 1, 11, ..., 191
    assert r["calls"] == 200 and r["retries"] == 20
    assert r["budget_denied"] == r["calls"]  # every call ends wanting one more retry
    conserved(result)


def test_a_breaker_fails_fast_while_open() -> None:
    result = simperf.run(
        scenario(
            {"timeout": "30ms"},
            breakers={"back": {"window": 4, "min_calls": 4, "wait": "1s"}},
            run={"duration": "10s", "warmup": 0},
        )
    )
    r = route(result)
    # every attempt fails: 4 open it at 0.43 s; a probe (the first request 1 s later,
    # failing 30 ms on) opens it again every 1.1 s: 9 opens, 8 probes in 10 s
    assert r["breaker_opens"] == 9
    assert r["attempts"] == 4 + 8
    assert r["fail_fast"] == r["calls"] - r["attempts"]
    assert result.data["requests"]["errors"]["breaker_open"] == r["fail_fast"]
    series = result.timeseries
    assert series[series.metric == "breaker_open"]["value"].max() > 0.5
    conserved(result)


def test_a_probe_whose_deadline_passed_leaves_the_breaker_free_to_close() -> None:
    # Requests every 100 ms with a 100 ms deadline; the callee fails them all until
    # 0.95 s; a failure is retried 150 ms later, past its deadline. The breaker (window
    # 2, wait 120 ms, one probe) opens at 0.2 s, until 0.32 s. At 0.35 s the retry of
    # 0.2's request finds it past its wait: the breaker lets it through as its probe,
    # but the deadline has passed and nothing is sent (expired). The probe at 0.4 s
    # fails (open until 0.52), and so at 0.6 and 0.8, each followed by an expired retry
    # at x.x5; the fail-fasts are 0.25 (a retry), 0.3, 0.5, 0.7 and 0.9. The probe at
    # 1.0 s passes and closes it: the 40 requests from 1.0 s on end ok. The expired
    # probe used to keep its place: the breaker stayed half-open and failed every call
    # fast to the end (0 ok).
    fault = {"component": "back", "kind": "errors", "fraction": 1.0, "at": 0, "for": "950ms"}
    backoff = {"base": "150ms", "cap": "150ms", "jitter": "none"}
    result = simperf.run(
        scenario(
            {"retry": {"attempts": 2, "when": ["injected_error"], "backoff": backoff}},
            cpu=0.005,
            cores=100,
            klass={"timeout": "100ms"},
            breakers={"back": {"window": 2, "min_calls": 2, "wait": "120ms", "probes": 1}},
            run={"duration": "5s", "warmup": 0},
        ).with_overrides({"faults": [fault]})
    )
    r = route(result)
    assert result.data["requests"]["ok"] == 40
    assert (r["breaker_opens"], r["expired"], r["fail_fast"], r["failed"]) == (4, 4, 5, 9)
    conserved(result)


def test_breaker_schedule() -> None:
    breaker = Breaker(BreakerSpec(window=4, min_calls=2, failure_ratio=0.5, wait=1.0))
    g = breaker.allow(0.0)
    breaker.record(g, 0.0, False, False)
    breaker.record(breaker.allow(0.1), 0.1, True, False)  # 1 of 2 failed: opens
    assert breaker.state == OPEN and breaker.opens == 1
    assert breaker.allow(0.5) is None
    probe = breaker.allow(1.1)
    assert breaker.state == HALF_OPEN and breaker.allow(1.1) is None  # one probe at a time
    breaker.record(probe, 1.2, True, False)  # the probe fails: open again for 1 s
    assert breaker.state == OPEN and breaker.opens == 2 and breaker.allow(2.1) is None
    probe = breaker.allow(2.2)
    breaker.record(g, 2.25, True, False)  # a late answer of an old attempt is ignored
    breaker.record(probe, 2.3, False, False)
    assert breaker.state == CLOSED
    assert breaker.not_closed.area_at(3.0) == pytest.approx(2.3 - 0.1)


def test_budget_is_a_token_bucket() -> None:
    budget = RetryBudget(ratio=0.25, burst=2.0)
    assert [budget.take() for _ in range(3)] == [True, True, False]
    for _ in range(4):
        budget.deposit()
    assert budget.take() and not budget.take()
    for _ in range(100):
        budget.deposit()
    assert budget.tokens == 2.0


@pytest.mark.parametrize("jitter", ["none", "full", "equal", "decorrelated"])
def test_backoff_draws_within_bounds(jitter: str) -> None:
    spec = BackoffSpec(base=0.01, cap=0.2, jitter=jitter)
    rng = np.random.default_rng(1)
    wait = backoff_sampler(spec, batched(lambda n: rng.random(n)))
    previous = 0.0
    for n in range(1, 2000):
        retry = (n - 1) % 8 + 1
        ceiling = min(0.2, 0.01 * 2 ** (retry - 1))
        previous = wait(retry, previous)
        if jitter == "none":
            assert previous == ceiling
        elif jitter == "full":
            assert 0 <= previous <= ceiling
        elif jitter == "equal":
            assert ceiling / 2 <= previous <= ceiling
        else:
            assert 0.01 <= previous <= 0.2


def test_attempts_and_outcomes_add_up_over_random_settings() -> None:
    draw = random.Random(14)
    for _ in range(8):
        call: dict[str, Any] = {"timeout": f"{draw.choice([5, 20, 60])}ms"}
        if draw.random() < 0.8:
            retry: dict[str, Any] = {"attempts": draw.randint(2, 4), "when": ["timeout"]}
            jitter = draw.choice(["none", "full", "equal", "decorrelated"])
            retry["backoff"] = {"base": "1ms", "cap": "20ms", "jitter": jitter}
            if draw.random() < 0.5:
                retry["budget"] = {"ratio": 0.2}
            call["retry"] = retry
        if draw.random() < 0.3:
            call["hedge"] = {"after": "3ms"}
        if draw.random() < 0.3:
            call["fallback"] = {"skip": True}
        klass = {"timeout": "100ms"} if draw.random() < 0.5 else None
        breakers = {"back": {"window": 10, "wait": "200ms"}} if draw.random() < 0.5 else None
        result = simperf.run(
            scenario(
                call,
                cpu={"dist": "exponential", "mean": "8ms"},
                klass=klass,
                breakers=breakers,
                rate=draw.choice([60, 100, 140]),
                run={"duration": "3s", "warmup": 0},
                arrival="poisson",
            ),
            seed=draw.randint(1, 1000),
        )
        conserved(result)
        req, r = result.data["requests"], route(result)
        assert len(result.requests) == req["ok"] + req["failed"]
        assert r["degraded"] == req["degraded"]
        assert r["degraded"] <= r["failed"]
        assert r["calls"] <= req["generated"]


def test_the_breaker_open_share_stays_within_zero_and_one() -> None:
    # An area summed over many open spans can pass the span by a rounding error.
    route = Route.__new__(Route)
    route.guarded = True  # a guarded call's route
    counters = {c: 0 for c in ("attempts", "calls")}
    first = {**counters, "breaker_open_area": 1.0}
    last = {**counters, "breaker_open_area": 1.0 + 49.000000000000014}
    _, values = route.report(first, last, 49.0)
    assert values["breaker_open_share"] == 1.0


def failing_pool(
    hedge: dict[str, Any], instance: int | None, timeout: str | None = None
) -> simperf.Scenario:
    """front -> round-robin balancer -> two back instances (50 ms, 10 cores), one of
    which (``instance``; None: both) fails every request at once (an ``errors`` fault)."""
    call: dict[str, Any] = {"call": "lb.get", "hedge": hedge}
    if timeout is not None:
        call["timeout"] = timeout
    fault: dict[str, Any] = {"kind": "errors", "fraction": 1, "component": "back", "at": 0}
    if instance is not None:
        fault["instance"] = instance
    return simperf.from_dict(
        {
            "name": "hedged_failures",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 10},
                "classes": [{"name": "req", "entry": "front", "endpoint": "get"}],
            },
            "components": {
                "front": {"kind": "app_server", "workers": 1000, "endpoints": {"get": [call]}},
                "lb": {"kind": "load_balancer", "policy": "round_robin", "backends": "back"},
                "back": {
                    "kind": "app_server",
                    "replicas": 2,
                    "cores": 10,
                    "endpoints": {"get": [{"cpu": 0.05}]},
                },
            },
            "faults": [{**fault, "for": 1000}],
            "run": {"requests": 20, "warmup": 0},
        }
    )


def test_a_hedged_copy_failing_at_once_sends_the_next_and_does_not_win() -> None:
    # Round robin sends each first copy to back[0], which fails it at once; with the
    # failure non-fatal the second copy goes to back[1] at once (not 20 ms later) and
    # answers at 50 ms: every request ok in 50 ms, two attempts each.
    hedge = {"after": "20ms", "non_fatal": ["injected_error"]}
    result = simperf.run(failing_pool(hedge, instance=0))
    r = route_of(result)
    assert result.data["requests"]["ok"] == 20
    assert (r["calls"], r["attempts"], r["hedges"], r["failed"]) == (20, 40, 20, 0)
    assert result.data["latency"]["all"]["max"] == pytest.approx(0.05)
    conserved_on(result)
    # without it the first answer wins, failure or not: request 1's copy fails at 0;
    # each later one's first copy goes to back[1] and its copy at 20 ms to back[0],
    # whose failure then wins: 20 failures in 1 + 19 x 2 attempts
    plain = simperf.run(failing_pool({"after": "20ms"}, instance=0))
    assert plain.data["requests"]["errors"]["injected_error"] == 20
    assert route_of(plain)["attempts"] == 39
    conserved_on(plain)


@pytest.mark.parametrize(
    ("hedge", "timeout", "copies"),
    [
        ({"after": "20ms", "max_copies": 3}, None, 3),  # all three at 0
        ({"after": "20ms", "max_copies": 5}, "30ms", 2),  # 40 ms is past the limit
    ],
)
def test_a_hedged_call_fails_once_every_copy_it_may_send_has_failed(
    hedge: dict[str, Any], timeout: str | None, copies: int
) -> None:
    result = simperf.run(failing_pool({**hedge, "non_fatal": ["injected_error"]}, None, timeout))
    r = route_of(result)
    assert result.data["requests"]["errors"]["injected_error"] == r["failed"] == 20
    assert (r["attempts"], r["hedges"], r["timeouts"]) == (20 * copies, 20 * (copies - 1), 0)
    conserved_on(result)


def test_a_hedged_call_whose_remaining_copy_is_late_times_out_at_its_limit() -> None:
    # back[0] fails the first copy at once, the second goes to back[1] at once and would
    # answer at 50 ms: the 30 ms limit ends the call first, as a timeout
    hedge = {"after": "20ms", "non_fatal": ["injected_error"]}
    result = simperf.run(failing_pool(hedge, instance=0, timeout="30ms"))
    r = route_of(result)
    assert result.data["requests"]["errors"]["timeout"] == r["timeouts"] == 20
    assert (r["attempts"], r["hedges"]) == (40, 20)
    conserved_on(result)


def test_a_fatal_failure_of_a_hedged_copy_still_wins() -> None:
    # injected_error is not listed: the first answer wins, as without non_fatal
    hedge = {"after": "20ms", "non_fatal": ["rejected"]}
    result = simperf.run(failing_pool(hedge, instance=0))
    assert result.data["requests"]["errors"]["injected_error"] == 20
    assert route_of(result)["attempts"] == 39


def route_of(result: simperf.Result) -> dict[str, Any]:
    return result.data["calls"]["front->lb"]


def conserved_on(result: simperf.Result) -> None:
    r = route_of(result)
    assert r["attempts"] + r["fail_fast"] + r["expired"] == r["calls"] + r["retries"] + r["hedges"]


def hedged_behind(*, nested: bool = False, mid: dict[str, Any] | None = None) -> simperf.Scenario:
    """A request every 100 ms (from 100 ms) through a front hedging its call after 20 ms
    to app: two instances in turn, one worker each, dropping expired requests, 30 ms of
    CPU a request, 180 ms on app[1] (slowed 6x). With ``nested``, the front calls
    ``mid``, which calls app in a parallel arm (a process of its own started by the
    copy); ``mid``: mid's spec instead."""
    target = "mid" if nested else "app"
    call = {"call": f"{target}.serve", "timeout": "200ms", "hedge": {"after": "20ms"}}
    components: dict[str, Any] = {
        "front": {"kind": "app_server", "workers": 1000, "endpoints": {"serve": [call]}},
        "app": {
            "kind": "app_server",
            "replicas": 2,
            "queue": {"drop_expired": True},
            "endpoints": {"serve": [{"cpu": "30ms"}]},
        },
    }
    if nested:
        arm = {"parallel": ["app.serve"]}
        components["mid"] = mid or {
            "kind": "app_server",
            "workers": 1000,
            "endpoints": {"serve": [arm]},
        }
    return simperf.from_dict(
        {
            "name": "hedge_cancel",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 10},
                "classes": [{"name": "req", "entry": "front", "endpoint": "serve"}],
            },
            "components": components,
            "faults": [
                {"component": "app", "instance": 1, "kind": "slow", "factor": 6, "at": 0, "for": 2}
            ],
            "run": {"duration": "1.05s", "warmup": 0},
        }
    )


@pytest.mark.parametrize("nested", [False, True])
def test_a_losing_hedged_copy_still_queued_is_cancelled(nested: bool) -> None:
    # Each request's first copy goes to app[0], served in 30 ms; its second, sent at 20
    # ms, to app[1]. R1's (at 120 ms) is served there 120-300 ms, in service when the
    # front cancels it at 130: it runs to its end. R2's (220) queues behind it and is
    # cancelled at 230; app[1] drops it as it picks it at 300, and serves R3's second
    # copy (320-500) in its place, and so on: 4 dropped, 4 served for nobody, R9's in
    # service and R10's queued at the end. It used to serve every one, R2's 300-480, R3's
    # 480-660, ... (5 served by the end). Through mid, the copy's parallel arm shares
    # what the copy carries, so it is dropped all the same.
    result = simperf.run(hedged_behind(nested=nested))
    data = result.data
    req, app = data["requests"], data["components"]["app"]
    assert "cancelled app 4 (hedged copies dropped unserved)" in result.summary()
    assert (req["generated"], req["ok"], req["in_flight"]) == (10, 10, 0)
    assert req["generated"] == req["ok"] + req["failed"] + req["in_flight"]
    assert data["latency"]["req"]["max"] == pytest.approx(0.030, abs=1e-9)
    assert (app["served"], app.get("cancelled"), app["expired"]) == (14, 4, 0)
    slow = app["per_instance"]["app[1]"]
    assert (slow["served"], slow["cancelled"]) == (4, 4)
    r = data["calls"][f"front->{target(nested)}"]
    assert (r["calls"], r["attempts"], r["hedges"], r["expired"]) == (10, 20, 10, 0)
    assert r["attempts"] + r["fail_fast"] + r["expired"] == r["calls"] + r["retries"] + r["hedges"]


def target(nested: bool) -> str:
    return "mid" if nested else "app"


def nested_retries() -> simperf.Scenario:
    """A request every 250 ms (from 250 ms) to a front whose call to mid times out after
    50 ms; mid's call to app (100 ms of CPU, never queued) times out after 20 ms and is
    tried 3 times, 20 ms then 40 ms apart. No queue drops anything."""
    retried = {
        "call": "app.serve",
        "timeout": "20ms",
        "retry": {"attempts": 3, "backoff": {"base": "20ms", "cap": "1s", "jitter": "none"}},
    }
    return simperf.from_dict(
        {
            "name": "nested_retries",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 4},
                "classes": [{"name": "req", "entry": "front", "endpoint": "serve"}],
            },
            "components": {
                "front": {
                    "kind": "app_server",
                    "workers": 1000,
                    "endpoints": {"serve": [{"call": "mid.serve", "timeout": "50ms"}]},
                },
                "mid": {"kind": "app_server", "workers": 1000, "endpoints": {"serve": [retried]}},
                "app": {"kind": "app_server", "cores": 100, "endpoints": {"serve": [{"cpu": 0.1}]}},
            },
            "run": {"duration": "0.9s", "warmup": 0},
        }
    )


def test_a_nested_callers_retries_stop_at_the_deadline_of_the_attempt_it_serves() -> None:
    # Each front attempt is given up at 50 ms. mid tries at 0 (timed out at 20 ms) and,
    # after 20 ms, at 40 ms: that try waits 10 ms, the front's time left, not its own
    # 20; its retry, due at 90 ms, is not sent (expired), the front having given up at
    # 50. It used to be sent: mid looked only at the request's deadline (none here).
    data = simperf.run(nested_retries()).data
    req, mid = data["requests"], data["calls"]["mid->app"]
    assert (req["generated"], req["errors"]["timeout"]) == (3, 3)
    assert (mid["calls"], mid["attempts"], mid["retries"], mid["expired"]) == (3, 6, 6, 3)
    assert mid["timeouts"] == 6
    assert mid["attempts"] + mid["fail_fast"] + mid["expired"] == (
        mid["calls"] + mid["retries"] + mid["hedges"]
    )
    assert data["components"]["app"]["served"] == 6


def test_attempt_deadlines_are_tracked_only_where_read() -> None:
    # a nested caller reads them; a caller reached by no timed call, or a timed call to
    # a server that calls nothing guarded, does not: such runs pay nothing
    assert tracks_attempts(nested_retries())
    assert not tracks_attempts(scenario({"timeout": "100ms", "retry": {"attempts": 2}}))


def test_cancelled_copies_keep_every_count_once_over_random_settings() -> None:
    # hedged calls, some with retries, non-fatal causes or a client deadline, to a back
    # of one core that drops what its caller gave up on or cancelled
    draw = random.Random(3)
    for _ in range(4):
        call: dict[str, Any] = {"hedge": {"after": "4ms", "max_copies": draw.randint(2, 4)}}
        if draw.random() < 0.5:
            call["timeout"] = "30ms"
            call["retry"] = {"attempts": 2}
        if draw.random() < 0.5:
            call["hedge"]["non_fatal"] = ["timeout"]
        klass = {"timeout": "60ms"} if draw.random() < 0.5 else None
        data = scenario(
            call,
            cpu={"dist": "exponential", "mean": "8ms"},
            klass=klass,
            rate=draw.choice([60, 90]),
            run={"duration": "2s", "warmup": 0},
            arrival="poisson",
        ).model_dump(mode="json", exclude_unset=True, by_alias=True)
        data["components"]["back"]["queue"] = {"drop_expired": True}
        result = simperf.run(simperf.from_dict(data), seed=draw.randint(1, 1000))
        conserved(result)
        req, r, back = result.data["requests"], route(result), result.data["components"]["back"]
        assert len(result.requests) == req["ok"] + req["failed"]
        assert back["cancelled"] > 0
        # every copy sent is served, dropped or rejected, or still at the back at the end
        # (at most 1 in service and the queue): each once
        ended = back["served"] + back["expired"] + back["cancelled"] + back["rejected"]
        assert ended <= r["attempts"] <= ended + 1 + back["max_queue_length"]


@pytest.mark.parametrize("guarded", [False, True])
def test_a_cancelled_copy_dropped_downstream_is_no_congestion_signal(guarded: bool) -> None:
    # As in hedged_behind(nested=True), but mid calls app (plainly, or timed with a
    # breaker and a fallback) and holds an AIMD limit (10, a latency target no request
    # misses, too few in flight to raise it): the 4 losing copies that app[1] drops fail
    # at mid as cancelled, which concurrency-limits ignores (neither a drop nor a
    # sample), a breaker does not judge and a fallback does not answer. They used to
    # fail as `timeout`, a drop each: mid backed its limit off 10 -> 9 -> 8 -> 7 -> 6
    # for calls nobody waited for.
    call: dict[str, Any] = {"call": "app.serve"}
    mid: dict[str, Any] = {
        "kind": "app_server",
        "workers": 10,
        "concurrency_limit": {"latency_target": "1s", "initial": 10},
        "endpoints": {"serve": [call]},
    }
    if guarded:
        call.update(timeout="190ms", fallback={"skip": True})
        mid["breakers"] = {"app": {"window": 4, "min_calls": 4, "failure_ratio": 0.5}}
    model = build(hedged_behind(nested=True, mid=mid), seed=1)
    model.execute()
    assert model.components["app"].instances[1].workers.cancelled == 4
    assert model.components["mid"].instances[0].limit_state.limit == 10
    if guarded:
        route = model.ctx.reporters["calls.mid->app"]
        assert (route.failed, route.degraded, route.timeouts) == (4, 0, 0)
        assert route.breaker.opens == 0 and not route.breaker.failures


def three_tiers(
    delay: str, *, timed: bool, mid_call: dict[str, Any] | None = None
) -> simperf.Scenario:
    """A request every 100 ms (from 100 ms) whose deadline passes 50 ms after it is
    sent to mid: the front's call to mid times out then (``timed``), or the class's
    client gives up then; mid waits ``delay``, then calls app (10 ms) with ``mid_call``."""
    front_call: dict[str, Any] = {"call": "mid.serve"}
    klass: dict[str, Any] = {"name": "req", "entry": "front", "endpoint": "serve"}
    if timed:
        front_call["timeout"] = "50ms"
    else:
        klass["timeout"] = "50ms"
    mid_steps = [{"delay": delay}, {"call": "app.serve", **(mid_call or {})}]
    return simperf.from_dict(
        {
            "name": "three_tiers",
            "workload": {"arrival": {"kind": "deterministic", "rate": 10}, "classes": [klass]},
            "components": {
                "front": {"kind": "app_server", "endpoints": {"serve": [front_call]}},
                "mid": {"kind": "app_server", "endpoints": {"serve": mid_steps}},
                "app": {"kind": "app_server", "cores": 10, "endpoints": {"serve": [{"cpu": 0.01}]}},
            },
            "run": {"duration": "1s", "warmup": 0},
        }
    )


@pytest.mark.parametrize("timed", [True, False])
def test_a_bare_call_is_not_sent_past_the_deadline_of_the_attempt_it_serves(timed: bool) -> None:
    # mid's call comes 60 ms after the request reached it, 10 ms past the deadline of
    # the attempt it serves (the front's 50 ms call timeout, or the client's 50 ms):
    # not sent, as a gRPC call with an expired context fails at once with
    # DEADLINE_EXCEEDED, and as the same call guarded (a timeout of its own) already
    # was (expired on its route). It used to be sent: app served each of them for
    # nobody. At 40 ms the call is still in time and sent.
    assert simperf.run(three_tiers("40ms", timed=timed)).data["components"]["app"]["served"] == 9
    late = simperf.run(three_tiers("60ms", timed=timed)).data
    assert late["components"]["app"]["served"] == 0
    assert late["requests"]["errors"]["timeout"] == 9
    guarded = simperf.run(three_tiers("60ms", timed=timed, mid_call={"timeout": "40ms"})).data
    assert guarded["components"]["app"]["served"] == 0
    assert guarded["calls"]["mid->app"]["expired"] == 9


@pytest.mark.parametrize("timed", [True, False])
def test_a_bare_call_not_sent_is_counted_on_its_route(timed: bool) -> None:
    # three_tiers' 9 bare calls from mid past their deadline: each not sent had no
    # counter (no calls row, app served 0 and nothing said why). Each now counts in
    # calls, expired and failed of calls.mid->app, as a guarded try not sent does
    # (attempts + fail_fast + expired == calls + retries + hedges), in the summary's
    # calls table and the time series; a route whose bare calls were all sent has no row.
    late = simperf.run(three_tiers("60ms", timed=timed))
    route = late.data["calls"]["mid->app"]
    assert (route["calls"], route["expired"], route["failed"], route["attempts"]) == (9, 9, 9, 0)
    assert route["amplification"] is None  # a bare call's attempts are not counted
    header, mid = (
        line for line in late.summary().splitlines() if line.startswith(("calls ", "mid->"))
    )
    assert "expired" in header.split() and mid.split()[1] == "9"
    series = late.timeseries
    rates = series[(series.component == "calls.mid->app") & (series.metric == "expired_rate")]
    assert ((rates.end - rates.start) * rates.value).sum() == pytest.approx(9)
    sent = simperf.run(three_tiers("40ms", timed=timed))
    assert "mid->app" not in sent.data.get("calls", {})
    assert not (sent.timeseries.component == "calls.mid->app").any()


@pytest.mark.parametrize("deadline", [True, False])
def test_a_route_mixing_guarded_and_bare_calls_counts_every_call_and_every_try(
    deadline: bool,
) -> None:
    # mid calls app three times a request (10 ms each): guarded (a 20 ms timeout, or a
    # fallback only where no deadline reaches mid), then bare, then bare again 40 ms
    # later, past the front's 50 ms deadline (not sent) or, without one, sent. The
    # route's amplification is what a planner multiplies its calls by for the load on
    # app: attempts sent per call made. It counted the guarded calls and the bare ones
    # not sent, not the bare ones sent: calls 18, attempts 9, amplification 0.5 for 18
    # queries app served (without a deadline: 9 and 9 for 27); now 27, 18 and 2/3
    # (27, 27 and 1): every try sent is one app served.
    guarded = {"timeout": "20ms"} if deadline else {"fallback": {"skip": True}}
    steps = [
        {"call": "app.serve", **guarded},
        {"call": "app.serve"},
        {"delay": "40ms"},
        {"call": "app.serve"},
    ]
    scenario = three_tiers("0ms", timed=True).with_overrides(
        {"components.mid.endpoints.serve": steps}
    )
    if not deadline:
        scenario = scenario.with_overrides(
            {"components.front.endpoints.serve": [{"call": "mid.serve"}]}
        )
    data = simperf.run(scenario).data
    route = data["calls"]["mid->app"]
    unsent = 9 if deadline else 0
    assert (route["calls"], route["attempts"], route["expired"]) == (27, 27 - unsent, unsent)
    assert route["attempts"] == data["components"]["app"]["served"]
    assert route["amplification"] == pytest.approx((27 - unsent) / 27)
    assert route["failed"] == unsent  # every call sent was answered
    assert route["attempts"] + route["expired"] == route["calls"]  # no retry, no hedge


def test_a_routes_expired_tries_are_in_the_summary_and_the_time_series() -> None:
    # nested_retries: mid's third try of each call is due after the front gave up (3 in
    # all). They were in the JSON only: the calls table and the route's rates left
    # them out. A run whose deadlines cut no try short has no column of zeros for it.
    result = simperf.run(nested_retries())
    header, mid = (
        line for line in result.summary().splitlines() if line.startswith(("calls ", "mid->"))
    )
    assert header.split()[-4:] == ["fast", "expired", "opens", "degraded"]
    assert mid.split()[-4:] == ["0", "3", "0", "0"]
    series = result.timeseries
    rates = series[(series.component == "calls.mid->app") & (series.metric == "expired_rate")]
    assert ((rates.end - rates.start) * rates.value).sum() == pytest.approx(3)
    plain = simperf.run(scenario({"timeout": "100ms"}))
    assert "expired" not in plain.summary()


def test_a_bare_call_of_a_cancelled_copy_is_not_sent() -> None:
    # The front hedges its call to mid after 20 ms; mid waits 25 ms, then calls app (10
    # ms). The first copy's call answers at 35 ms and the front cancels the second,
    # whose call, due at 45 ms, is not sent: it fails as cancelled, which mid's AIMD
    # limit ignores. It used to be sent: app served both copies' calls (18 for 9).
    hedged = {"call": "mid.serve", "hedge": {"after": "20ms"}}
    mid = [{"delay": "25ms"}, {"call": "app.serve"}]
    limit = {"latency_target": "1s", "initial": 10}
    spec = simperf.from_dict(
        {
            "name": "cancelled_bare_call",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 10},
                "classes": [{"name": "req", "entry": "front", "endpoint": "serve"}],
            },
            "components": {
                "front": {"kind": "app_server", "workers": 100, "endpoints": {"serve": [hedged]}},
                "mid": {
                    "kind": "app_server",
                    "workers": 10,
                    "concurrency_limit": limit,
                    "endpoints": {"serve": mid},
                },
                "app": {"kind": "app_server", "cores": 10, "endpoints": {"serve": [{"cpu": 0.01}]}},
            },
            "run": {"duration": "1s", "warmup": 0},
        }
    )
    model = build(spec, seed=1)
    model.execute()
    assert model.ctx.recorder.generated == 9
    assert model.components["app"].instances[0].served == 9
    assert model.components["mid"].instances[0].limit_state.limit == 10
    assert model.ctx.reporters["calls.front->mid"].hedges == 9


def test_a_fallback_does_not_answer_an_attempt_its_caller_gave_up_on() -> None:
    # The front times its call to mid at 50 ms and retries once; mid's call to app has a
    # fallback. app's two instances answer in turn, app[0] in 100 ms (slowed 10x), app[1]
    # in 10 ms: each request's first attempt waits on app[0] until the front gives up,
    # its retry is answered by app[1]. mid's call, cut at the front's 50 ms, used to fall
    # back then, for nobody, flagging the request (shared with the retry) degraded: 9 ok
    # requests read degraded, none is.
    mid_call = {"call": "app.serve", "timeout": "100ms", "fallback": {"skip": True}}
    spec = simperf.from_dict(
        {
            "name": "late_fallback",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 10},
                "classes": [{"name": "req", "entry": "front", "endpoint": "serve"}],
            },
            "components": {
                "front": {
                    "kind": "app_server",
                    "workers": 100,
                    "endpoints": {
                        "serve": [
                            {"call": "mid.serve", "timeout": "50ms", "retry": {"attempts": 2}}
                        ]
                    },
                },
                "mid": {"kind": "app_server", "workers": 100, "endpoints": {"serve": [mid_call]}},
                "app": {
                    "kind": "app_server",
                    "replicas": 2,
                    "workers": 100,
                    "endpoints": {"serve": [{"delay": "10ms"}]},
                },
            },
            "faults": [
                {
                    "component": "app",
                    "instance": 0,
                    "kind": "slow",
                    "factor": 10,
                    "at": 0,
                    "for": 10,
                }
            ],
            "run": {"duration": "1s", "warmup": 0},
        }
    )
    data = simperf.run(spec).data
    req, mid = data["requests"], data["calls"]["mid->app"]
    assert (req["generated"], req["ok"], req["degraded"]) == (9, 9, 0)
    assert (mid["timeouts"], mid["failed"], mid["degraded"]) == (9, 9, 0)


def test_cancelled_copies_are_no_request_errors() -> None:
    # hedged_behind's 4 losing copies dropped as cancelled: every request is answered by
    # its other copy, so none failed as cancelled, and the errors by cause no longer show
    # a "cancelled 0" beside the 4 (in the JSON, the requests' errors and the errors
    # frame, which used to fail on a section of numbers); the records' outcomes keep
    # their causes
    result = simperf.run(hedged_behind())
    assert result.data["components"]["app"]["cancelled"] == 4
    assert "cancelled" not in result.data["errors"]
    assert "cancelled" not in result.data["requests"]["errors"]
    assert list(result.frame("errors").columns) == list(result.data["errors"])
    assert (result.requests["outcome"] == "ok").all()
    assert "cancelled" in result.requests["outcome"].cat.categories


@pytest.mark.parametrize("lost", ["max_wait", "drop"])
def test_a_bare_pooled_call_failing_for_its_connection_counts_on_a_guarded_route(
    lost: str,
) -> None:
    # app queries db bare, then guarded (a fallback, which makes app->db count every
    # call), through a pool of one connection (one core, 6 ms a query); requests at 1
    # and 2 ms. A's bare query holds the connection 1-7 ms. max_wait (1 ms): B's bare
    # one fails at 3 ms (pool_timeout); A's guarded one runs 7-13. drop (the front gives
    # up on each request after 4 ms, the pool drops): B's is dropped at 7, past its 6 ms
    # deadline (timeout), and A's guarded one is not sent, past its 5 ms (expired). The
    # bare call that failed for its connection was counted nowhere: calls, attempts,
    # failed, timeouts 2, 2, 0, 0 (drop: 2, 1, 1, 0); now 3, 3, 1, 0 (3, 2, 2, 1).
    app = [{"call": "db.get"}, {"call": "db.get", "fallback": {"skip": True}}]
    if lost == "max_wait":
        front, drops = [{"call": "app.serve"}], None
    else:
        front, drops = [{"call": "app.serve", "timeout": "4ms"}], "pool"
    scenario = two_requests(front, app, drops)
    if lost == "max_wait":
        scenario = scenario.with_overrides({"components.app.pool.max_wait": "1ms"})
    route = settled(scenario).components["calls.app->db"]  # B dropped after the run's end
    counts = (route.calls, route.attempts, route.failed, route.timeouts)
    assert counts == ((3, 3, 1, 0) if lost == "max_wait" else (3, 2, 2, 1))
    assert route.attempts + route.fail_fast + route.expired == route.calls


@pytest.mark.parametrize("guarded", [True, False])
def test_a_bare_pooled_call_past_its_deadline_neither_takes_nor_waits_for_a_connection(
    guarded: bool,
) -> None:
    # The front gives up on each request after 5.5 ms (A's deadline 6.5 ms, B's 7.5);
    # app queries db bare twice (then, ``guarded``, once with a fallback: app->db counts
    # every call) through one connection, 6 ms a query. A's first holds it 1-7 ms, B's
    # waits 2-7 and is sent in time, 7-13. A's second comes at 7, past its deadline, and
    # B's second at 13: each fails at once as expired, as a guarded call checks before it
    # waits. They used to be checked only once they held the connection: A's waited 6 ms
    # behind B's, then took it, as did B's; 4 acquisitions (waits 0, 5, 6, 0 ms), now 2.
    app: list[dict[str, Any]] = [{"call": "db.get"}, {"call": "db.get"}]
    if guarded:
        app.append({"call": "db.get", "fallback": {"skip": True}})
    model = settled(two_requests([{"call": "app.serve", "timeout": "5.5ms"}], app, None))
    pool = model.components["app"].instances[0].pools["db"]
    assert list(pool.wait_samples.values) == pytest.approx([0.0, 0.005], abs=EXACT)
    assert model.components["db"].servers[0].served == 2
    route = model.ctx.reporters["calls.app->db"]
    assert (route.calls, route.expired, route.failed) == ((4, 2, 2) if guarded else (2, 2, 2))
    assert route.attempts + route.fail_fast + route.expired == route.calls


def test_a_bare_call_sent_that_fails_as_a_timeout_counts_in_its_routes_timeouts() -> None:
    # front calls app bare, then guarded (a fallback, which makes front->app count every
    # call); app's query times out after 4 ms behind one connection held 6 ms a query,
    # so both requests fail as timeout in the bare call, before the guarded one: like a
    # guarded try failing so, each is one of the route's timeouts (it counted none).
    front = [{"call": "app.serve"}, {"call": "app.serve", "fallback": {"skip": True}}]
    scenario = two_requests(front, [{"call": "db.get", "timeout": "4ms"}], None)
    data = simperf.run(scenario, seed=1).data
    route = data["calls"]["front->app"]
    assert data["requests"]["failed"] == data["requests"]["errors"]["timeout"] == 2
    counts = (route["calls"], route["attempts"], route["failed"], route["timeouts"])
    assert counts == (2, 2, 2, 2)


def with_unused_guard(unused: dict[str, Any] | None) -> dict[str, Any]:
    """app calls api bare; ``unused``, if given, is an endpoint of app nobody calls."""
    endpoints: dict[str, Any] = {"serve": [{"call": "api.get"}]}
    if unused is not None:
        endpoints["unused"] = [unused]
    return {
        "name": "unused_guard",
        "workload": {
            "arrival": {"kind": "poisson", "rate": 100},
            "classes": [{"name": "r", "entry": "app", "endpoint": "serve"}],
        },
        "components": {
            "app": {"kind": "app_server", "endpoints": endpoints},
            "api": {"kind": "app_server", "endpoints": {"get": [{"cpu": "1ms"}]}},
        },
        "run": {"duration": 2, "warmup": 0},
    }


def test_a_guarded_call_on_an_unused_endpoint_leaves_bare_calls_on_its_route_uncounted() -> None:
    # A timed call to api on an endpoint nobody calls is never compiled, so its route is
    # never reported: the bare calls to api were counted on it all the same (unseen) and
    # ran as processes, the flat runner refused for them.
    # Now they run as without it, and no route is made.
    unused = {"call": "api.get", "timeout": "1s"}
    model = build(simperf.from_dict(with_unused_guard(unused)))
    assert [c.name for c in model.components.values() if c.kind == "route"] == []
    assert None not in model.clients._flat
    results = [simperf.run(simperf.from_dict(with_unused_guard(u)), seed=1) for u in (unused, None)]
    with_it, without = ({k: v for k, v in r.to_dict().items() if k != "perf"} for r in results)
    assert "calls" not in with_it and with_it == without
    # a guarded call some request makes still counts the bare calls on its route
    served = with_unused_guard(None)
    served["components"]["app"]["endpoints"]["serve"].append(unused)
    d = simperf.run(simperf.from_dict(served), seed=1).to_dict()
    calls, requests = d["calls"]["app->api"], d["requests"]
    assert calls["calls"] == calls["attempts"] == 2 * requests["generated"]

"""Queue disciplines, shedding and the concurrency limit, with constant times: exact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import simperf


def scenario(
    queue: dict[str, Any] | None = None,
    *,
    requests: int = 5,
    classes: list[dict[str, Any]] | None = None,
    endpoint: list[dict[str, Any]] | None = None,
    others: dict[str, Any] | None = None,
    **app: Any,
) -> simperf.Scenario:
    """Arrivals 1 ms apart at one worker busy 100 ms per request: a queue forms at once.

    ``others``: more components, for ``app`` to call."""
    if queue is not None:
        app["queue"] = queue
    return simperf.from_dict(
        {
            "name": "admission",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 1000},
                "classes": classes or [{"name": "req", "entry": "app", "endpoint": "serve"}],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "endpoints": {"serve": endpoint or [{"cpu": "100ms"}]},
                    **app,
                },
                **(others or {}),
            },
            "run": {"requests": requests},
        }
    )


def records(result: simperf.Result) -> dict[str, np.ndarray]:
    """The records in arrival order, times counted from the first arrival (at 1 ms)."""
    data = result._arrays  # type: ignore[attr-defined]
    order = np.argsort(data["start"])
    out = {key: data[key][order] for key in ("start", "end", "latency", "klass", "outcome")}
    out["start"] = out["start"] - 0.001
    out["end"] = out["end"] - 0.001
    return out


def test_lifo_serves_the_newest_first() -> None:
    ends = records(simperf.run(scenario({"discipline": "lifo"})))["end"]
    # times from the first arrival: 1 holds the worker to 0.1; then 5, 4, 3, 2
    assert ends == pytest.approx([0.1, 0.5, 0.4, 0.3, 0.2], abs=1e-12)


def test_fifo_queue_block_keeps_fifo_order() -> None:
    ends = records(simperf.run(scenario({"discipline": "fifo"})))["end"]
    assert ends == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5], abs=1e-12)


def test_adaptive_lifo_switches_while_the_queue_is_long() -> None:
    ends = records(simperf.run(scenario({"lifo_over": 2})))["end"]
    # at 0.1 four wait (> 2): newest (5); at 0.2 three (> 2): newest left (4);
    # then two wait: oldest first (2, then 3)
    assert ends == pytest.approx([0.1, 0.4, 0.5, 0.3, 0.2], abs=1e-12)


def test_priority_serves_higher_classes_first_fifo_within() -> None:
    classes = [
        {"name": "browse", "entry": "app", "endpoint": "serve", "priority": 0},
        {"name": "checkout", "entry": "app", "endpoint": "serve", "priority": 5},
    ]
    result = simperf.run(scenario({"discipline": "priority"}, requests=8, classes=classes))
    rec = records(result)
    klass, start, end = rec["klass"], rec["start"], rec["end"]
    assert set(klass[1:]) == {0, 1}  # the seed mixes both classes into the queue
    # the first is served at once; the rest by priority (checkout first), then arrival
    waiting = sorted(range(1, 8), key=lambda i: (-int(klass[i] == 1), start[i]))
    expected = np.empty(8)
    expected[0] = 0.1
    for position, i in enumerate(waiting):
        expected[i] = 0.1 * (position + 2)
    assert end == pytest.approx(expected, abs=1e-12)
    assert result.to_dict()["errors"] == {"safety_cap": 0, "shed": 0}


def test_priority_cores_queue_by_priority_too() -> None:
    classes = [
        {"name": "browse", "entry": "app", "endpoint": "serve", "priority": 0},
        {"name": "checkout", "entry": "app", "endpoint": "serve", "priority": 5},
    ]
    s = scenario({"discipline": "priority"}, requests=8, classes=classes, workers=100)
    rec = records(simperf.run(s))
    klass, start, end = rec["klass"], rec["start"], rec["end"]
    waiting = sorted(range(1, 8), key=lambda i: (-int(klass[i] == 1), start[i]))
    assert [end[i] for i in waiting] == pytest.approx([0.1 * (k + 2) for k in range(7)])


def test_shed_after_drops_requests_picked_after_waiting_too_long() -> None:
    result = simperf.run(scenario({"shed_after": "150ms"}))
    rec = records(result)
    d = result.to_dict()
    # 2 waited 99 ms; 3, 4 and 5 are picked at 0.2 after 198, 197, 196 ms: shed there
    assert d["requests"]["ok"] == 2
    assert d["errors"]["shed"] == 3
    assert rec["end"] == pytest.approx([0.1, 0.2, 0.2, 0.2, 0.2], abs=1e-12)
    assert d["components"]["app"]["shed"] == 3
    assert d["latency"]["req"]["shed"] == 3


def test_codel_allows_the_interval_until_the_queue_stands() -> None:
    # target 50 ms, interval 99.5 ms: at 0.1 the queue has stood 99 ms (< interval), so 2
    # (waited 99 ms) passes; at 0.2 it has stood 199 ms: the bound is 50 ms, 3-5 are shed
    result = simperf.run(scenario({"codel": {"target": "50ms", "interval": "99.5ms"}}))
    assert result.to_dict()["errors"]["shed"] == 3
    # with a longer interval nobody is shed until the queue has stood that long
    result = simperf.run(scenario({"codel": {"target": "50ms", "interval": "250ms"}}))
    assert result.to_dict()["errors"]["shed"] == 2  # at 0.3: 4 and 5 waited > 50 ms


def test_full_priority_queue_pushes_out_the_lowest_class() -> None:
    classes = [
        {"name": "browse", "entry": "app", "endpoint": "serve", "priority": 0},
        {"name": "checkout", "entry": "app", "endpoint": "serve", "priority": 5},
    ]
    s = scenario({"discipline": "priority"}, requests=12, classes=classes, queue_limit=2)
    result = simperf.run(s)
    rec = records(result)
    klass, outcome = rec["klass"], rec["outcome"]
    d = result.to_dict()
    causes = ["ok", *d["errors"]]
    shed_code, rejected_code = causes.index("shed"), causes.index("rejected")
    # replay: one in service, two places; checkout pushes out the oldest browse waiting
    queue: list[int] = []
    expected = [0] * 12
    for i in range(1, 12):
        if len(queue) < 2:
            queue.append(i)
            continue
        victims = [j for j in queue if klass[j] < klass[i]]
        if not victims:
            expected[i] = rejected_code
            continue
        expected[victims[0]] = shed_code
        queue.remove(victims[0])
        queue.append(i)
    assert list(outcome) == expected
    assert d["errors"]["shed"] == expected.count(shed_code) > 0
    assert d["requests"]["generated"] == d["requests"]["ok"] + sum(d["errors"].values())


def test_concurrency_limit_sheds_beyond_the_limit_and_adapts() -> None:
    limit = {"latency_target": "50ms", "initial": 2}
    s = scenario(endpoint=[{"delay": "100ms"}], workers=10, concurrency_limit=limit)
    result = simperf.run(s)
    d = result.to_dict()
    # 1 and 2 are admitted; 3-5 arrive while 2 are in: shed at once
    assert d["requests"]["ok"] == 2 and d["errors"]["shed"] == 3
    assert records(result)["end"][2:] == pytest.approx([0.002, 0.003, 0.004], abs=1e-12)


def test_aimd_counts_the_requests_in_flight_when_a_request_was_admitted() -> None:
    # As concurrency-limits' limiter does, "at least half the limit in use" is judged on
    # the requests in flight when the finished request was admitted (itself included).
    # Arrivals at 0, 1, ... 11 ms, each in for 5.5 ms, limit 3 (max 10), all fast:
    #   0-2 admitted (in flight 1, 2, 3); 3-5 find 3 in: shed
    #   5.5: 0 ends (admitted with 1: 2 < 3)       limit 3
    #   6: 6 admitted with 3 in
    #   6.5: 1 ends (with 2: 4 >= 3)               limit 4
    #   7: 7 admitted with 3;  7.5: 2 ends (3)     limit 5
    #   8, 9, 10: 8-10 admitted with 3, 4, 5 in; 11 finds 5 = limit: shed
    # Counted as the request ends (0 ends with 3 in), the limit reaches 6 by 7.5 ms and
    # admits 11.
    limit = {"latency_target": "50ms", "initial": 3}
    s = scenario(endpoint=[{"delay": "5.5ms"}], workers=10, concurrency_limit=limit, requests=12)
    result = simperf.run(s)
    # the served end 5.5 ms after they arrive, the shed at once
    served = records(result)["latency"] > 0.005
    assert [i for i in range(12) if not served[i]] == [3, 4, 5, 11]


def test_aimd_backs_off_on_a_request_that_timed_out_however_fast() -> None:
    # A timed-out request is a drop (concurrency-limits backs off on a deadline exceeded
    # whatever its latency). Arrivals 1 ms apart at a front whose call gives up after
    # 10.5 ms, limit 2: 0 and 1 admitted, 2-10 shed; at 10.5 ms 0 times out, fast
    # (10.5 < 50 ms) but a drop: limit int(2 x 0.9) = 1, so 11 finds 1 in: shed. Taken
    # as a fast success, it raised the limit to 3 and 11 was admitted (to time out).
    call = {"call": "api.serve", "timeout": "10.5ms"}
    limit = {"latency_target": "50ms", "initial": 2}
    api = {"kind": "app_server", "workers": 100, "endpoints": {"serve": [{"delay": "100ms"}]}}
    s = scenario(
        endpoint=[call], others={"api": api}, workers=10, concurrency_limit=limit, requests=12
    )
    errors = simperf.run(s).to_dict()["errors"]
    assert (errors["shed"], errors["timeout"]) == (10, 2)


def test_aimd_backs_off_on_slow_requests() -> None:
    from simperf.components.admission import AimdLimit
    from simperf.spec.admission import ConcurrencyLimitSpec

    limit = AimdLimit(ConcurrencyLimitSpec(latency_target=0.1, initial=10, min=3), workers=20)
    for _ in range(20):
        limit.sample(1.0, in_flight=10)
    assert limit.limit == 3  # floored at min
    for _ in range(30):
        limit.sample(0.01, in_flight=20)
    assert limit.limit == 20  # capped at the workers


def probed(priority: int, order: tuple[str, ...] = ("req",)) -> simperf.Scenario:
    """150 requests/s of 10 ms at one worker (a queue grows by 50 a second), ordered by
    priority, behind a balancer probing ``health`` (1 ms) every second with a 50 ms
    timeout; classes in ``order``: ``req`` at ``priority``, ``other`` at 0."""
    classes = {
        "req": {"name": "req", "entry": "lb", "endpoint": "serve", "priority": priority},
        "other": {"name": "other", "entry": "lb", "endpoint": "serve"},
    }
    return simperf.from_dict(
        {
            "name": "probed",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 150},
                "classes": [classes[name] for name in order],
            },
            "components": {
                "lb": {
                    "kind": "load_balancer",
                    "backends": "app",
                    "health_check": {"interval": "1s", "timeout": "50ms", "endpoint": "health"},
                },
                "app": {
                    "kind": "app_server",
                    "queue": {"discipline": "priority"},
                    "endpoints": {"serve": [{"cpu": "10ms"}], "health": [{"cpu": "1ms"}]},
                },
            },
            "run": {"duration": 10, "warmup": 0},
        }
    )


def deadline_scenario(
    drop: bool, *, via_front: bool = False, faults: list[dict[str, Any]] | None = None
) -> simperf.Scenario:
    """A request every 50 ms (from 50 ms) at one worker busy 100 ms, clients giving up
    after 120 ms, for 0.5 s; with ``via_front``, through a front whose call is timed;
    ``faults``: the scenario's."""
    components: dict[str, Any] = {
        "app": {
            "kind": "app_server",
            "workers": 1,
            "queue": {"drop_expired": drop},
            "endpoints": {"serve": [{"cpu": "100ms"}]},
        }
    }
    entry = "app"
    if via_front:
        entry = "front"
        call = {"call": "app.serve", "timeout": "100ms", "retry": {"attempts": 2}}
        components["front"] = {
            "kind": "app_server",
            "workers": 1000,
            "endpoints": {"serve": [call]},
        }
    return simperf.from_dict(
        {
            "name": "deadlines",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 20},
                "classes": [
                    {"name": "req", "entry": entry, "endpoint": "serve", "timeout": "120ms"}
                ],
            },
            "components": components,
            "faults": faults or [],
            "run": {"duration": "0.5s", "warmup": 0},
        }
    )


def test_a_health_probe_queues_at_the_default_priority_whatever_the_classes() -> None:
    # A probe belongs to no class: it ranks as priority 0, the default, however the
    # classes are listed. Below classes at -5 and 0 it is picked first, within the 10 ms
    # in service + its 1 ms: every probe passes. Above a class at 5 it waits behind that
    # class's queue: probes time out, the instance is taken out, drains, comes back and
    # is taken out again (8 of 10 fail). It used to take the rank of the class listed
    # last: -5 listed last made every probe fail, 5 listed last every probe pass.
    for priority, failed in ((-5, 0), (5, 8)):
        for order in (("req",), ("req", "other"), ("other", "req")):
            d = simperf.run(probed(priority, order), seed=1).to_dict()
            checks = d["load_balancers"]["lb"]["health_checks"]
            assert (checks["probes"], checks["failed_probes"]) == (10, failed), (priority, order)


def test_drop_expired_drops_a_request_whose_client_gave_up_as_a_worker_picks_it() -> None:
    # requests at 50, 100, ... ms, each given up 120 ms after. Served in turn: 50-150,
    # 100 (picked at 150, before its 220 deadline) to 250, 150 to 350; the request of
    # 200 ms is picked at 350, past its 320 deadline: served to 450 when dropping is off,
    # dropped when on (and that of 250 served instead); that of 300 ms, picked at 450
    # past its 420 deadline, is dropped too.
    kept = simperf.run(deadline_scenario(False)).data
    dropped = simperf.run(deadline_scenario(True)).data
    for data in (kept, dropped):  # the client records each request once, as timeout
        req = data["requests"]
        assert (req["ok"], req["errors"]["timeout"], req["in_flight"]) == (1, 6, 2)
        assert req["generated"] == req["ok"] + req["failed"] + req["in_flight"]
    app_kept, app_dropped = kept["components"]["app"], dropped["components"]["app"]
    assert "expired" not in app_kept and app_dropped["expired"] == 2
    assert app_dropped["per_instance"]["app[0]"]["expired"] == 2
    assert app_kept["served"] == app_dropped["served"] == 4
    # waits of the requests served: 0, 50, 100 and 150 ms when kept (150 > the 120 ms
    # the client waits), 0, 50, 100, 100 ms when dropped
    assert app_kept["mean_wait"] == pytest.approx(0.075, abs=1e-12)
    assert app_dropped["mean_wait"] == pytest.approx(0.0625, abs=1e-12)


def test_drop_expired_behind_a_timed_call_keeps_every_count_once() -> None:
    result = simperf.run(deadline_scenario(True, via_front=True)).data
    req, r = result["requests"], result["calls"]["front->app"]
    assert req["generated"] == req["ok"] + req["failed"] + req["in_flight"]
    assert r["attempts"] + r["fail_fast"] + r["expired"] == r["calls"] + r["retries"] + r["hedges"]
    assert result["components"]["app"]["expired"] > 0


def retried_scenario(
    drop: bool, *, nested: bool = False, trace: bool = False, duration: float = 0.29
) -> simperf.Scenario:
    """A request every 62.5 ms (from 62.5 ms) through a front whose call to app times out
    after 50 ms and is retried once at once; app has one worker busy 20 ms a request,
    slowed 6x (120 ms) for what starts in its first 100 ms. No client gives up. With
    ``nested``, the front's timed call goes to ``mid``, which calls app in a parallel
    arm (a process of its own); ``trace``: every request traced; ``duration``: the run's
    (in seconds)."""
    target = "mid" if nested else "app"
    call = {"call": f"{target}.serve", "timeout": "50ms", "retry": {"attempts": 2}}
    components: dict[str, Any] = {
        "front": {"kind": "app_server", "workers": 1000, "endpoints": {"serve": [call]}},
        "app": {
            "kind": "app_server",
            "workers": 1,
            "queue": {"drop_expired": drop},
            "endpoints": {"serve": [{"cpu": "20ms"}]},
        },
    }
    if nested:
        arm = {"parallel": ["app.serve"]}
        components["mid"] = {"kind": "app_server", "workers": 1000, "endpoints": {"serve": [arm]}}
    run: dict[str, Any] = {"duration": duration, "warmup": 0}
    if trace:
        run["trace"] = {"sample": 1.0}
    return simperf.from_dict(
        {
            "name": "attempt_deadlines",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 16},
                "classes": [{"name": "req", "entry": "front", "endpoint": "serve"}],
            },
            "components": components,
            "faults": [{"component": "app", "kind": "slow", "factor": 6, "at": 0, "for": 0.1}],
            "run": run,
        }
    )


def test_drop_expired_drops_an_attempt_its_caller_gave_up_on() -> None:
    # Requests R1..R4 at 62.5, 125, 187.5, 250 ms. R1's first attempt is served slowed,
    # 62.5-182.5; the front gives it up at 112.5 and retries (deadline 162.5, queued);
    # R2's first attempt queues at 125 (deadline 175), its retry at 175 (deadline 225).
    # At 182.5 the worker picks, in order: R1's retry and R2's first attempt, both given
    # up by their caller, then R2's retry.
    served = simperf.run(retried_scenario(False)).data
    dropped = simperf.run(retried_scenario(True)).data
    # Dropping: R2's retry is served 182.5-202.5, within its 225, so R2 ends ok; R3
    # (187.5) 202.5-222.5 and R4 250-270 on their first attempt.
    req, app = dropped["requests"], dropped["components"]["app"]
    assert (req["ok"], req["errors"]["timeout"], req["in_flight"]) == (3, 1, 0)
    assert (app["served"], app["expired"]) == (4, 2)
    route = dropped["calls"]["front->app"]
    assert (route["calls"], route["attempts"], route["retries"], route["timeouts"]) == (4, 6, 2, 3)
    # Serving everything: R1's retry 182.5-202.5 and R2's first attempt 202.5-222.5 for
    # nobody; R2's retry 222.5-242.5 answers past its 225 (R2 fails); R3's first attempt,
    # 242.5-262.5, past its 237.5, and its retry 262.5-282.5 (ok); R4's first attempt
    # still in service at 290 ms.
    req, app = served["requests"], served["components"]["app"]
    assert (req["ok"], req["errors"]["timeout"], req["in_flight"]) == (1, 2, 1)
    assert app["served"] == 6 and "expired" not in app
    route = served["calls"]["front->app"]
    assert (route["calls"], route["attempts"], route["retries"], route["timeouts"]) == (4, 7, 3, 5)
    for data in (served, dropped):
        req, route = data["requests"], data["calls"]["front->app"]
        assert req["generated"] == req["ok"] + req["failed"] + req["in_flight"]
        assert route["attempts"] + route["fail_fast"] + route["expired"] == (
            route["calls"] + route["retries"] + route["hedges"]
        )


def test_an_attempts_deadline_reaches_the_processes_started_to_serve_it() -> None:
    # the front's attempt runs mid, whose parallel arm to app is a process of its own:
    # it carries the attempt's deadline, so app drops the same two attempts, traced or not
    direct = simperf.run(retried_scenario(True)).data
    for trace in (False, True):
        data = simperf.run(retried_scenario(True, nested=True, trace=trace)).data
        assert data["requests"] == direct["requests"]
        assert data["calls"]["front->mid"] == direct["calls"]["front->app"]
        assert data["components"]["app"]["expired"] == 2


def test_the_time_series_counts_a_servers_shed_requests_over_its_instances() -> None:
    # as expired and cancelled: an app server had per-instance shed rows only, though an
    # alert on the server (no instance) watches their sum
    result = simperf.run(scenario({"shed_after": "150ms"}, requests=10, replicas=2))
    ts = result.timeseries
    rows = ts[ts.metric == "shed"].pivot(index="start", columns="component", values="value")
    assert list(rows.columns) == ["all", "app", "app[0]", "app[1]"]
    assert (rows["app"] == rows["app[0]"] + rows["app[1]"]).all()
    assert rows["app"].sum() == result.data["components"]["app"]["shed"] > 0

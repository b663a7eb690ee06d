"""Attempts a ``queue.drop_expired`` dropped past their deadline, wherever a planner
looks: the time series, the text summary, the headroom (over the run and while a fault
lasts) and the stability verdict. Constant times: every figure is exact."""

from __future__ import annotations

import pytest

import simperf
from simperf.spec.alerts import AlertSpec
from tests.components.test_admission import deadline_scenario, retried_scenario

# deadline_scenario: served 4 (the app 90% busy over the 0.5 s), dropped 2, at 350 ms
# and 450 ms (see test_admission's test of drop_expired)
SERVED, DROPPED, BUSY = 4, 2, 0.9


def test_the_time_series_counts_each_instances_dropped_attempts_by_window() -> None:
    ts = simperf.run(deadline_scenario(True)).timeseries
    rows = ts[ts.metric == "expired"]
    assert set(rows.component) == {"app[0]", "app"}  # the server's row: the same, one instance
    rows = rows[rows.component == "app[0]"]
    assert rows.value.sum() == DROPPED
    hit = rows[rows.value > 0]
    for drop, (start, end) in zip((0.35, 0.45), zip(hit.start, hit.end, strict=True), strict=True):
        assert start <= drop + 1e-9 and drop - 1e-9 <= end
    # a server that serves everything has no such rows
    kept = simperf.run(deadline_scenario(False)).timeseries
    assert "expired" not in set(kept.metric)


def test_the_time_series_counts_a_servers_dropped_attempts_over_its_instances() -> None:
    # as a database's row counts its servers' and pools' drops, and as an alert on the
    # server (no instance) watches their sum: it had per-instance rows only
    alert = {"name": "drops", "metric": "expired", "component": "app", "above": 0}
    alerts = [AlertSpec.model_validate(alert)]
    scenario = deadline_scenario(True).model_copy(update={"alerts": alerts})
    overrides = {"components.app.replicas": 2, "workload.arrival.rate": 40}
    result = simperf.run(scenario, overrides=overrides)
    ts = result.timeseries
    for metric in ("expired", "cancelled"):
        rows = ts[ts.metric == metric].pivot(index="start", columns="component", values="value")
        assert list(rows.columns) == ["app", "app[0]", "app[1]"]
        assert (rows["app"] == rows["app[0]"] + rows["app[1]"]).all()
    total = ts[(ts.metric == "expired") & (ts.component == "app")]
    assert total.value.sum() == result.data["components"]["app"]["expired"] == 4
    fired = result.data["alerts"]["drops"]
    assert fired["target"] == "app"
    assert fired["time_firing"] == pytest.approx(float((total.value > 0).sum()) * 0.01)


def test_the_summary_says_how_many_attempts_each_server_dropped_of_those_offered() -> None:
    text = simperf.run(deadline_scenario(True)).summary()
    assert "expired   app 2 of 6 offered (33.3%)" in text.splitlines()
    assert "expired " not in simperf.run(deadline_scenario(False)).summary()


def test_headroom_counts_the_dropped_attempts_as_offered_load() -> None:
    # they arrived and would have cost 100 ms each: the app kept 4 of the 6 offered at
    # 90% busy, so it saturates at (4 / 6) / 0.9 = 0.74 times this load (it read 1.11x,
    # spare room that only the drops made; the load is twice its capacity)
    room = simperf.run(deadline_scenario(True)).data["headroom"]["components"]["app"]
    assert room["headroom"] == pytest.approx(SERVED / (SERVED + DROPPED) / BUSY, rel=1e-12)


def test_headroom_while_a_fault_lasts_counts_the_dropped_attempts_too() -> None:
    # a slow front (no cpu step: nothing changes) for the whole run: the fault's figures
    # are the run's, the 7 attempts app dropped of 11 included (they were left out)
    slow = [{"component": "front", "kind": "slow", "factor": 2, "at": 0, "for": 1}]
    data = simperf.run(deadline_scenario(True, via_front=True, faults=slow)).data
    app = data["components"]["app"]
    offered = app["served"] + app["expired"]
    assert (app["served"], app["expired"]) == (4, 7)
    expected = app["served"] / offered / app["utilization"]
    assert data["headroom"]["components"]["app"]["headroom"] == pytest.approx(expected, rel=1e-12)
    in_fault = data["headroom"]["fault"]
    assert (in_fault["component"], in_fault["headroom"]) == ("app", pytest.approx(expected))


def test_a_server_dropping_1pct_of_its_attempts_past_their_deadline_is_saturated() -> None:
    # 10 s of the retried scenario: app 33% busy, its queue short; 2 of its 161 attempts
    # dropped (1.2%), 1 request of 159 failed (0.6%): it read degraded (blamed on its
    # 100 ms slow fault), nothing saturated
    data = simperf.run(retried_scenario(True, duration=10)).data
    app = data["components"]["app"]
    assert (app["served"], app["expired"], data["requests"]["failed"]) == (159, 2, 1)
    stab = data["stability"]
    judged = (stab["status"], stab["instance"], stab["resource"])
    assert judged == ("saturated", "app[0]", "expired")
    assert stab["reason"].startswith("expired: 1.2% of requests dropped past their deadline at ")

"""The size of a run, estimated from its spec, and the refusal of runaway runs."""

from __future__ import annotations

import time

import pytest
import yaml

import simperf
from simperf import arrivals
from simperf.build import build
from simperf.errors import SpecError
from simperf.spec.run import DEFAULT_MAX_EVENTS
from simperf.spec.size_estimate import (
    EVENTS_PER_REQUEST,
    EVENTS_PER_SNAPSHOT,
    EVENTS_PER_STEP,
    MAX_INSTANCES,
    check_size,
    estimate,
    expected_duration,
    mean_arrival_rate,
    shortest_duration,
)

from conftest import MODELS


def mm1(**overrides: object) -> simperf.Scenario:
    return simperf.load(MODELS / "mm1.yaml").with_overrides(dict(overrides))


def test_expected_duration_of_a_request_budget_follows_the_arrival_rate() -> None:
    s = mm1(**{"workload.arrival.rate": "0.001/s", "run.requests": 2000, "run.duration": None})
    assert mean_arrival_rate(s) == pytest.approx(0.001)
    assert expected_duration(s) == pytest.approx(2000 / 0.001)


def budget(arrival: dict[str, object], requests: int = 80_000) -> simperf.Scenario:
    return mm1(**{"workload.arrival": arrival, "run.requests": requests, "run.duration": None})


def test_a_budget_on_a_profile_ends_where_the_profile_integral_reaches_it() -> None:
    # 10 minutes an hour at 48/s, the rest at 2.4/s (mean 10/s): 36,000 an hour, so
    # 80,000 take two hours and 8,000 / 48 s
    piecewise = {"kind": "piecewise", "rate": 10, "period": 3600, "profile": [[0, 20], [600, 1]]}
    assert expected_duration(budget(piecewise)) == pytest.approx(7200 + 8000 / 48, rel=1e-12)
    # the day starting at its peak: 80,000 arrive before the mean rate's 8,000 s
    diurnal = {"kind": "diurnal", "rate": 10, "amplitude": 0.6, "period": "24h", "peak": 0}
    end = expected_duration(budget(diurnal))
    assert end < 8000 * 0.7
    assert arrivals.diurnal_cumulative(end, 10, 0.6, 86400, 0) == pytest.approx(80_000)
    # whole periods: a day of 10/s is 864,000
    assert expected_duration(budget(diurnal, 864_000)) == pytest.approx(86400)
    # a constant rate's budget stays requests / rate
    assert expected_duration(budget({"kind": "poisson", "rate": 10})) == 8000


def test_windows_assume_an_mmpp_budget_starts_busy_unless_it_spans_many_cycles() -> None:
    # mean 10/s: 5.5/s for 100 minutes, 55/s for 10; 8,000 s is 1.2 cycles
    short = {"kind": "mmpp", "rate": 10, "relative_rates": [1, 10], "mean_sojourns": [6000, 600]}
    assert expected_duration(budget(short)) == pytest.approx(8000)
    assert shortest_duration(budget(short)) == pytest.approx(80_000 / 55)
    many = {**short, "mean_sojourns": [60, 6]}  # 8,000 s is some 120 cycles
    assert shortest_duration(budget(many)) == expected_duration(budget(many)) == 8000


def test_closed_workload_rate_is_users_over_think_plus_service() -> None:
    s = simperf.load(MODELS / "closed.yaml")
    users = s.workload.users
    think = s.workload.think.mean
    service = sum(step.cpu.mean for step in s.components["app"].endpoints["serve"])
    assert mean_arrival_rate(s) == pytest.approx(users / (think + service))


def test_estimate_of_mm1_is_of_the_order_of_the_events_it_takes() -> None:
    s = mm1(**{"run.duration": 200, "run.warmup": 0})
    size = estimate(s)
    # one CPU step: the arrival plus the step's events
    assert size.parts["arrivals"] == pytest.approx(
        90 * 200 * (EVENTS_PER_REQUEST + EVENTS_PER_STEP)
    )
    measured = simperf.run(s.with_overrides({"run.engine": "events"}), seed=1).perf["events"]
    # the estimate is for refusing runs orders of magnitude too big: same order suffices
    assert 0.5 < size.events / measured < 2


@pytest.mark.parametrize(
    ("overrides", "biggest", "field"),
    [
        ({"run.duration": "1e7s"}, "arrivals", "run.duration"),
        ({"workload.arrival.rate": "1e7/s", "run.duration": "60s"}, "arrivals", "run.duration"),
        ({"run.requests": 100_000_000, "run.duration": None}, "arrivals", "run.requests"),
    ],
)
def test_runaway_runs_are_refused_before_they_start(
    overrides: dict[str, object], biggest: str, field: str
) -> None:
    s = mm1(**overrides)
    started = time.perf_counter()
    with pytest.raises(SpecError) as info:
        simperf.run(s, seed=1)
    assert time.perf_counter() - started < 5  # refused before building, not after running
    message = str(info.value)
    assert message.startswith("run: the run would take about ")
    assert f"({biggest} " in message
    assert f"over max_events {DEFAULT_MAX_EVENTS:.1e}" in message
    assert f"shorten {field} or raise run.max_events" in message
    # the limit is the spec's to raise
    assert check_size(s.with_overrides({"run.max_events": estimate(s).events})) is not None


def test_health_checks_every_nanosecond_are_counted_and_refused() -> None:
    s = simperf.load(MODELS / "web_tier.yaml").with_overrides(
        {
            "run.duration": "2h",
            "run.warmup": 0,
            "workload.arrival.rate": "1/s",
            "components.lb.health_check": {"interval": "1ns", "timeout": "1ns"},
        }
    )
    size = estimate(s)
    assert size.largest(1)[0][0] == "health checks"
    with pytest.raises(SpecError, match=r"^run: .*\(health checks "):
        check_size(s)


def test_too_many_instances_are_refused_in_seconds_with_the_field_path() -> None:
    started = time.perf_counter()
    s = mm1(**{"components.app.replicas": 100_000})
    with pytest.raises(SpecError) as info:
        simperf.run(s, seed=1)
    assert time.perf_counter() - started < 5
    assert str(info.value).startswith("components.app.replicas: the run would hold 100,000")
    assert f"at most {MAX_INSTANCES:,}" in str(info.value)


def test_cli_exits_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from simperf.cli import main

    assert main(["run", str(MODELS / "mm1.yaml"), "--duration", "1e7s"]) == 2
    err = capsys.readouterr().err
    assert "run: the run would take about" in err
    assert "Traceback" not in err


def retrying(retry: dict[str, object], duration: float) -> simperf.Scenario:
    """mm1's server dead the whole run behind a front end that retries its call."""
    data = yaml.safe_load((MODELS / "mm1.yaml").read_text())
    call = {"call": "app.serve", "timeout": "50ms", "retry": retry}
    data["components"]["front"] = {"kind": "app_server", "endpoints": {"go": [call]}}
    data["workload"]["classes"] = [{"name": "request", "entry": "front", "endpoint": "go"}]
    data["faults"] = [{"component": "app", "at": 0, "for": duration}]
    data["run"] = {"duration": duration, "warmup": 0}
    return simperf.from_dict(data)


DEAD_RETRY = {"attempts": 100, "when": ["instance_down"]}


def test_retries_without_a_budget_count_every_attempt() -> None:
    s = retrying(DEAD_RETRY, 10)
    size = estimate(s)
    measured = simperf.run(s, seed=1).perf["events"]  # every call attempted 100 times
    assert size.largest(1)[0][0] == "retries"
    assert 0.5 < size.events / measured < 2


def test_a_runaway_of_retries_is_refused_unless_a_budget_caps_them() -> None:
    with pytest.raises(SpecError, match=r"^run: .*\(retries "):
        check_size(retrying(DEAD_RETRY, 21600))
    budgeted = {**DEAD_RETRY, "budget": {"ratio": 0.1}}
    assert check_size(retrying(budgeted, 21600)).parts["retries"] > 0


def hedged(hedge: dict[str, object], timeout: str) -> float:
    """The events a hedged call from a front end to mm1's server adds at most."""
    data = yaml.safe_load((MODELS / "mm1.yaml").read_text())
    call = {"call": "app.serve", "timeout": timeout, "hedge": hedge}
    data["components"]["front"] = {"kind": "app_server", "endpoints": {"go": [call]}}
    data["workload"]["classes"] = [{"name": "request", "entry": "front", "endpoint": "go"}]
    return estimate(simperf.from_dict(data)).parts["retries"]


def test_a_hedge_counts_each_copy_it_may_send_within_the_timeout() -> None:
    one_more = hedged({"after": "10ms"}, "50ms")  # two copies
    assert one_more > 0
    assert hedged({"after": "10ms", "max_copies": 4}, "50ms") == pytest.approx(3 * one_more)
    # at 0, 10 and 20 ms: the fourth, at 30 ms, would be past the 25 ms timeout
    assert hedged({"after": "10ms", "max_copies": 4}, "25ms") == pytest.approx(2 * one_more)
    assert hedged({"after": "60ms"}, "50ms") == 0  # no copy before the timeout


@pytest.mark.parametrize(
    ("overrides", "windows"),
    [
        ({}, 1000),  # one instance: the full grid
        ({"run.requests": 18_000, "run.duration": None, "run.window": "1s"}, 2000),  # tenths
        ({"components.app.replicas": 2500}, 400),  # a big fleet: a coarser grid
    ],
)
def test_an_automatic_warm_up_counts_the_windows_the_run_takes(
    overrides: dict[str, object], windows: int
) -> None:
    # it counted 61 whatever the grid: a 1,000-window run was estimated at 1/16 of its snapshots
    scenario = mm1(**{"run.warmup": "auto", **overrides})
    model = build(scenario, seed=1)
    span = model.expected_duration() - scenario.run.fixed_warmup
    assert round(span / model.window()) == windows
    snapshots = (windows + 1) * len(model.instances)
    assert estimate(scenario).parts["time series"] == snapshots * EVENTS_PER_SNAPSHOT

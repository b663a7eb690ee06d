"""The closed-form estimate brackets a capacity search: same answer, fewer simulations."""

from __future__ import annotations

import pytest

import simperf
from simperf.experiment.bracket import bracket, search_from
from simperf.experiment.capacity import Capacity, _search
from simperf.spec.slo import as_slos
from tests.conftest import MODELS, fleet


def test_floor_is_the_first_unsaturated_value_and_start_meets_the_estimate() -> None:
    mmc = simperf.load(MODELS / "mmc.yaml")  # 320/s, 10 ms: 3.2 cores of work
    slos = as_slos(["latency.all.mean<15ms"])
    # 4 cores: 17.5 ms (Erlang C); 5 cores: 11.2 ms
    assert bracket(mmc, "components.app.cores", slos, 1, 64, True, 0.02) == (4, 5)
    # an SLO the estimate cannot predict leaves the start at the floor
    other = as_slos(["error_rate<1%"])
    assert bracket(mmc, "components.app.cores", other, 1, 64, True, 0.02) == (4, 4)
    # everything saturated in range: no bracket
    assert bracket(mmc, "components.app.cores", slos, 1, 3, True, 0.02) is None
    # a real knob: speed 0.8 is the saturation point of 4 cores
    floor, start = bracket(mmc, "components.app.speed", slos, 0.1, 10.0, False, 0.02)
    assert floor == pytest.approx(0.8, rel=0.01) and floor <= start


@pytest.mark.parametrize(("start", "answer"), [(13, 13), (16, 13), (10, 13)])
def test_search_from_finds_the_smallest_meet(start: int, answer: int) -> None:
    probed: list[float] = []

    def met(v: float) -> bool:
        probed.append(v)
        return v >= answer

    assert search_from(met, 9, start, 64, True, 0.02, _search) == answer
    assert min(probed) >= 9  # nothing below the floor is run


def test_bracketed_capacity_search_runs_only_around_the_answer() -> None:
    # The plain search on this question probes 1, 2, 4, 8, 16 then bisects (see
    # test_capacity); bracketed, it starts at the estimate's 5 and runs 4 to confirm.
    scenario = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": "10s", "run.warmup": "1s"}
    )
    found = simperf.capacity(
        scenario,
        "components.app.cores",
        ["latency.all.mean<15ms"],
        low=1,
        high=32,
        replications=3,
        executor="serial",
    )
    assert found.answer == 5  # Erlang C: 17.5 ms at 4 cores, 11.2 ms at 5
    assert found.bracket == (4, 5)
    assert [p.value for p in found.probes] == [5, 4]
    assert "estimate: saturated below components.app.cores=4" in found.summary()
    assert found.to_dict()["bracket"] == {"floor": 4, "start": 5, "met": True}


def test_a_bracket_at_the_bottom_of_the_range_claims_nothing_below_it() -> None:
    # "estimate: saturated below components.app.cores=1 (not run)" was printed for a
    # floor at low: nothing below the range was ever considered
    from simperf.experiment.capacity import Capacity

    mmc = simperf.load(MODELS / "mmc.yaml")
    slos = as_slos(["latency.all.mean<15ms"])
    found = Capacity(mmc, "components.app.cores", slos, 4, 8, 1, [], None, None, bracket=(4, 5))
    assert "  estimate: latency.all.mean < 15 ms met from 5 (searched from there)" in (
        found.summary()
    )
    assert "saturated below" not in found.summary()


def test_an_slo_the_estimate_meets_nowhere_is_not_said_to_be_met() -> None:
    # exponential 10 ms of service alone has a p99 of 46 ms: no core count brings the
    # p99 below 5 ms. The summary said "latency.all.p99 < 5 ms met from 4".
    scenario = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": "10s", "run.warmup": "1s"}
    )
    found = simperf.capacity(
        scenario,
        "components.app.cores",
        ["latency.all.p99<5ms"],
        low=1,
        high=8,
        replications=2,
        executor="serial",
    )
    assert found.answer is None and found.bracket == (4, 4)
    assert [p.value for p in found.probes] == [4, 8]
    assert "met from" not in found.summary()
    assert (
        "  estimate: saturated below components.app.cores=4 (not run), latency.all.p99 < 5 ms "
        "met nowhere up to components.app.cores=8 (searched from 4)"
    ) in found.summary()
    assert found.to_dict()["bracket"] == {"floor": 4, "start": 4, "met": False}


@pytest.mark.parametrize("knob", ["workload.arrival.rate", "workload.users"])
def test_a_search_over_the_load_itself_is_refused(knob: str) -> None:
    # the smallest load that meets the SLOs is the lowest one: it answered 1
    mm1 = simperf.load(MODELS / "mm1.yaml")
    with pytest.raises(simperf.SpecError, match=f"knob {knob}: more of it only makes"):
        simperf.capacity(mm1, knob, ["latency.all.p99<200ms"], executor="serial")


def test_an_autoscaled_fleet_is_not_bracketed_by_its_starting_size() -> None:
    # 30/s of exactly 100 ms is 3 cores of work: one instance to start with is
    # saturated, but target tracking at 60% grows the fleet to 5 within 20 s, so min 1
    # meets the SLO after the warm-up. The estimate, at the starting fleet, took min 1
    # to 3 as saturated misses (not run) and answered 4; at the fleet the target
    # settles at (5 whatever min up to 5) nothing is saturated from min 1.
    scaling = {"min": 1, "max": 8, "target": 0.6, "evaluation_period": 5}
    scenario = simperf.from_dict(fleet({"autoscaling": scaling}, duration=100, warmup=60))
    slos = as_slos(["latency.all.p99<1s"])
    assert bracket(scenario, "components.app.autoscaling.min", slos, 1, 8, True, 0.02) == (1, 1)
    found = simperf.capacity(
        scenario, "components.app.autoscaling.min", slos, low=1, high=8, replications=2
    )
    assert found.answer == 1 and found.bracket == (1, 1)


def _max_searched(scaling: dict[str, object], bracketed: bool) -> Capacity:
    """``autoscaling.max`` searched from 1 for 30/s of 100 ms (3 cores of work)."""
    scenario = simperf.from_dict(fleet({"autoscaling": scaling}, duration=100, warmup=60))
    return simperf.capacity(
        scenario,
        "components.app.autoscaling.max",
        ["latency.all.p99<1s"],
        low=1,
        high=16,
        replications=2,
        executor="serial",
        bracket=bracketed,
    )


def test_a_settled_autoscaled_fleet_brackets_the_search_to_the_same_answer() -> None:
    # Target tracking at 60% CPU settles at 5 instances, capped at max: max 3 is 100%
    # busy (saturated, not run), max 4 the floor. Plain, the search probes max 1, 2
    # (saturated), 4 (met) and 3 (saturated); bracketed, 4 alone: the estimate's p99 at
    # max 4 (75% busy) is 100 ms + a wait of probability 0.75, 0.96 s, below the SLO.
    # It skipped the bracket for every autoscaled design, and then started at 5, the
    # whole queued time (250 ms) taken as one exponential putting the p99 at 1.15 s.
    scaling = {"min": 1, "max": 8, "target": 0.6, "evaluation_period": 5}
    plain, bracketed = _max_searched(scaling, False), _max_searched(scaling, True)
    assert plain.answer == bracketed.answer == 4
    assert [p.value for p in plain.probes] == [1, 2, 4, 3]
    assert bracketed.bracket == (4, 4)
    assert [p.value for p in bracketed.probes] == [4]
    assert "estimate (app at the fleet its cpu_utilization target settles at): " in (
        bracketed.summary()
    )
    assert bracketed.to_dict()["bracket_note"] == (
        "app at the fleet its cpu_utilization target settles at"
    )


def test_an_unsettled_autoscaled_fleet_is_searched_without_the_bracket_and_says_why() -> None:
    # a step policy has no closed-form fleet: the estimate would take the 1 instance
    # the run starts with and call every max saturated
    steps = [{"above": 0.8, "change": 2}, {"below": 0.3, "change": -1}]
    scaling = {"min": 1, "max": 8, "evaluation_period": 5, "steps": steps}
    found = _max_searched(scaling, True)
    assert found.bracket is None and found.answer == 4
    assert [p.value for p in found.probes] == [1, 2, 4, 3]
    note = "not used: app scales by a step policy, whose fleet the estimate cannot settle"
    assert found.bracket_note == note
    assert f"  estimate: {note} (searched from 1)" in found.summary()

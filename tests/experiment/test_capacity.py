from __future__ import annotations

from pathlib import Path

import pytest

import simperf
from simperf.analysis.queueing import mm1, mmc
from simperf.errors import SpecError
from simperf.experiment.capacity import Capacity, _search
from simperf.experiment.slo_verdict import MET, MISSED, UNDECIDED, judge
from simperf.spec.slo import parse_slo

from conftest import MODELS, fleet


def short(name: str, duration: float) -> simperf.Scenario:
    return simperf.load(MODELS / name).with_overrides(
        {"run.duration": duration, "run.warmup": duration / 10}
    )


def test_judge_met_missed_undecided() -> None:
    below = parse_slo("latency.all.p99<200ms")
    assert judge([0.10, 0.11, 0.12], below, 0.95)["slo_verdict"] == MET
    assert judge([0.30, 0.31, 0.32], below, 0.95)["slo_verdict"] == MISSED
    assert judge([0.10, 0.30, 0.20], below, 0.95)["slo_verdict"] == UNDECIDED
    above = parse_slo("throughput>100/s")
    assert judge([120.0, 121.0], above, 0.95)["slo_verdict"] == MET


@pytest.mark.parametrize("n", [2, 3, 5])
def test_judge_calls_a_mean_on_its_target_met_at_most_its_share_of_the_time(n: int) -> None:
    """A mean exactly on the target is met (or missed) on a Student-t bound, one-sided at
    (1 - confidence) / 2: 2.5% of replication sets at 95%, within the binomial spread of
    2,000 sets (10^-4 two-sided). A normal quantile in place of t's n - 1 degrees of
    freedom would say met in 6-15% of them."""
    import numpy as np
    from scipy import stats

    slo = parse_slo("latency.all.p99<100ms")
    rng = np.random.default_rng(5)
    verdicts = [
        judge(list(row), slo, 0.95)["slo_verdict"] for row in rng.normal(0.1, 0.01, (2000, n))
    ]
    lo, hi = stats.binom.ppf(5e-5, 2000, 0.025), stats.binom.isf(5e-5, 2000, 0.025)
    assert lo <= verdicts.count(MET) <= hi
    assert lo <= verdicts.count(MISSED) <= hi


def test_search_finds_the_smallest_value_of_a_monotone_predicate() -> None:
    probed: list[float] = []

    def met(value: float) -> bool:
        probed.append(value)
        return value >= 13

    assert _search(met, 1, 64, True, 0.02) == 13
    assert probed[:5] == [1, 2, 4, 8, 16]
    assert _search(lambda v: False, 1, 20, True, 0.02) is None
    assert _search(lambda v: v >= 1.37, 0.5, 8.0, False, 0.01) == pytest.approx(1.37, rel=0.011)


def test_mmc_servers_agree_with_erlang_c() -> None:
    """Smallest c with mean wait below 4 ms at 320/s, 10 ms service: Erlang C says 5."""
    target = 0.004
    waits = {c: mmc(320, 100, c).mean_wait for c in range(4, 7)}
    expected = min(c for c, w in waits.items() if w < target)
    assert expected == 5 and waits[4] > 1.5 * target and waits[5] < 0.5 * target
    found = simperf.capacity(
        short("mmc.yaml", 30),
        "components.app.cores",
        [{"metric": "components.app.mean_wait", "below": "4ms"}],
        low=1,
        high=32,
        replications=4,
        executor="serial",
        bracket=False,  # the plain search probes 1, 2, 4, 8 and bisects
    )
    assert found.answer == expected
    probes = found.frame.drop_duplicates("probe").set_index("components.app.cores")
    assert probes["verdict"][4] == MISSED and probes["verdict"][5] == MET
    assert probes["stability"][2] == "unstable"
    assert probes["replications"][2] == 1


def test_mm1_speed_agrees_with_the_closed_form() -> None:
    """Vertical scaling: the speed giving a mean sojourn of 50 ms at 90/s is 1.1."""
    exact = (90 + 1 / 0.05) / 100
    assert mm1(90, 100 * exact).mean_sojourn == pytest.approx(0.05)
    found = simperf.capacity(
        short("mm1.yaml", 60),
        "components.app.speed",
        ["latency.all.mean<50ms"],
        low=0.5,
        high=8,
        replications=4,
        max_replications=16,
        tolerance=0.02,
        executor="serial",
    )
    assert found.answer is not None
    # undecided probes near the boundary count as misses: the answer is at or a little above
    assert exact * 0.98 <= found.answer <= exact * 1.08


def test_high_that_misses_says_so() -> None:
    found = simperf.capacity(
        short("mmc.yaml", 5),
        "components.app.cores",
        ["latency.all.mean<1ms"],
        low=1,
        high=2,
        executor="serial",
    )
    assert found.answer is None and not found.met_at_high
    assert "no value up to" in found.summary()


def test_the_search_states_the_confidence_of_its_intervals() -> None:
    """Each probe's SLOs printed '±1.58 ms' with no level, and --json had none: a
    --confidence 0.99 search read like a 95% one."""
    found = simperf.capacity(
        short("mmc.yaml", 5),
        "components.app.cores",
        ["latency.all.mean<1ms"],
        low=1,
        high=2,
        executor="serial",
        confidence=0.99,
    )
    assert found.to_dict()["confidence"] == 0.99
    assert "99% Student-t intervals" in found.summary().splitlines()[0]


def test_cheapest_ranks_by_cost() -> None:
    base = short("mmc.yaml", 10).with_overrides(
        {"components.app.cores": 1, "components.app.cost": {"per_instance": "1/h", "per_core": 0}}
    )
    cores = base.with_overrides({"components.app.cost": {"per_instance": 1, "per_core": 2}})
    ranking = simperf.cheapest(
        {"out": (base, "components.app.replicas"), "up": (cores, "components.app.cores", 1, 8)},
        ["components.app.utilization<0.9"],
        replications=2,
        executor="serial",
    )
    # 320/s of 10 ms needs 4 servers either way: 4 instances at 1/h, or one 4-core at 1 + 8
    assert ranking.best == "out"
    frame = ranking.frame.set_index("design")
    assert frame.loc["out", "answer"] == 4 and frame.loc["out", "cost_per_hour"] == 4
    assert frame.loc["up", "answer"] == 4 and frame.loc["up", "cost_per_hour"] == 9
    assert ranking.warnings == []  # every core is priced (at 0 on purpose in out)


def test_an_autoscaled_design_costs_its_measured_fleet() -> None:
    # 30/s of exactly 100 ms: 3 cores of work. Fixed 1-core instances at 0.36/h need 4
    # to stay below 90% busy (1.44/h). The autoscaled design keeps min 5 instances (60%
    # busy: target tracking at 60% never moves) whatever its replicas (1) say, so it
    # costs 5 x 0.36 = 1.8/h and is the dearer one.
    base = simperf.from_dict(fleet({"cost": {"per_instance": "0.36/h"}}, duration=10, warmup=0))
    scaled = base.with_overrides(
        {"components.app.autoscaling": {"min": 5, "max": 8, "target": 0.6}}
    )
    ranking = simperf.cheapest(
        {
            "fixed": (base, "components.app.replicas", 1, 8),
            "auto": (scaled, "components.app.autoscaling.max", 5, 8),
        },
        ["components.app.utilization<0.9"],
        replications=2,
        executor="serial",
    )
    frame = ranking.frame.set_index("design")
    assert frame.loc["fixed", "answer"] == 4 and frame.loc["fixed", "cost_per_hour"] == 1.44
    assert frame.loc["auto", "answer"] == 5
    assert frame.loc["auto", "cost_per_hour"] == pytest.approx(1.8)
    assert ranking.best == "fixed"


@pytest.mark.parametrize(
    ("knob", "slo", "low", "high", "message"),
    [
        ("components.app.replica", ["latency.all.p99<1s"], 1, 4, "replica"),
        ("components.app.replicas", ["latency.all.p98<1s"], 1, 4, "unknown metric"),
        ("components.app.replicas", ["latency.all.p99<1s"], 5, 4, "above high"),
        ("components.app.replicas", ["latency.all.p99<fast"], 1, 4, "slo"),
        ("components.app.replicas", [], 1, 4, "at least one"),
    ],
)
def test_bad_searches_fail_before_running(
    knob: str, slo: list[str], low: int, high: int, message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        simperf.capacity(short("mmc.yaml", 5), knob, slo, low=low, high=high)


def test_slo_in_the_spec_is_the_default() -> None:
    scenario = short("mmc.yaml", 10).with_overrides(
        {"slo": [{"metric": "error_rate", "below": "1%"}]}
    )
    found = simperf.capacity(scenario, "components.app.cores", low=4, high=8, executor="serial")
    assert found.answer == 4
    assert found.to_dict()["slo"] == ["error_rate < 1%"]


def test_store_keeps_runs_and_a_resumed_search_runs_nothing(tmp_path: Path) -> None:
    from simperf.experiment.executors import SerialExecutor

    class Counting(SerialExecutor):
        calls = 0

        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            Counting.calls += 1
            return super().submit(fn, *args, **kwargs)

    scenario = short("mmc.yaml", 10)
    options = {"low": 1, "high": 8, "replications": 2, "store": tmp_path / "cap.db"}
    first = simperf.capacity(scenario, "components.app.cores", ["error_rate<1%"], **options)
    pool = Counting()
    again = simperf.capacity(
        scenario, "components.app.cores", ["error_rate<1%"], resume=True, executor=pool, **options
    )
    assert again.answer == first.answer and Counting.calls == 0
    assert again.frame.equals(first.frame)
    # a sweep over the same spec and seed can read the same store
    frame = simperf.sweep(
        scenario, {"components.app.cores": [4]}, replications=2, store=options["store"], resume=True
    )
    assert len(frame) == 2


def test_a_search_over_unpriced_cores_warns() -> None:
    from simperf.errors import SimperfWarning

    scenario = short("mmc.yaml", 10).with_overrides({"components.app.cost": {"per_instance": 1}})
    with pytest.warns(SimperfWarning, match="cores are free"):
        found = simperf.capacity(
            scenario,
            "components.app.cores",
            ["components.app.utilization<0.9"],
            low=2,
            high=8,
            replications=2,
            executor="serial",
            bracket=False,  # the estimate would start at the answer: one core count probed
        )
    (warning,) = found.warnings
    assert "app has no per_core price while its cores per instance differ" in warning
    assert found.summary().endswith(f"warning: {warning}")
    priced = scenario.with_overrides({"components.app.cost.per_core": 0.5})
    again = simperf.capacity(
        priced,
        "components.app.cores",
        ["components.app.utilization<0.9"],
        low=2,
        high=8,
        replications=2,
        executor="serial",
        bracket=False,
    )
    assert again.warnings == [] and again.cost == 1 + 0.5 * again.answer


def test_dask_local_runs_the_probes_and_finds_what_serial_finds() -> None:
    distributed = pytest.importorskip("distributed")
    from simperf.experiment.executors import executor_for

    scenario = short("mmc.yaml", 5)
    options = {"low": 2, "high": 8, "replications": 2, "progress": False}
    slo = ["components.app.mean_wait<4ms"]
    serial = simperf.capacity(scenario, "components.app.cores", slo, executor="serial", **options)
    with executor_for("dask:local", workers=1) as pool:  # one worker process: cheaper to start
        with distributed.get_task_stream() as tasks:
            dask = simperf.capacity(scenario, "components.app.cores", slo, executor=pool, **options)
    assert dask.answer == serial.answer == 5
    assert dask.frame.equals(serial.frame)
    # every replication of every probe ran on the cluster's workers
    ran = [t for t in tasks.data if t["key"].startswith("run_to_dict")]
    assert len(ran) == sum(len(p.runs) for p in dask.probes) > len(dask.probes)


def near_the_boundary(slo: str, **limits: float) -> Capacity:
    """Cores for ``slo`` at 500/s of 10 ms (mmc.yaml), 2 to 4 replications of 20 s."""
    boundary = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"workload.arrival.rate": "500/s", "run.duration": 20, "run.warmup": 2}
    )
    return simperf.capacity(
        boundary,
        "components.app.cores",
        [slo],
        replications=2,
        max_replications=4,
        executor="serial",
        **limits,
    )


def test_an_answer_above_an_undecided_probe_is_not_reported_as_certain() -> None:
    """500/s of 10 ms on c cores, p95 below 42.5 ms: Erlang C gives 42.47 ms at 6 cores
    and 32.67 ms at 7, so 6 stays undecided and the answer 7 may in truth be 6."""
    assert mmc(500, 100, 6).sojourn_quantile(0.95) == pytest.approx(0.04247, abs=1e-5)
    assert mmc(500, 100, 7).sojourn_quantile(0.95) < 0.034
    found = near_the_boundary("latency.all.p95<42.5ms", high=8)
    assert found.answer == 7
    # the estimate predicts means and p99s, not a p95: it must not claim the SLO met
    assert "(not run), it predicts none of the SLOs; stable from 6" in found.summary()
    assert not found.certain and found.undecided == [6]
    assert found.answer_range == (6, 7)  # below 6 the estimate finds the cores saturated
    data = found.to_dict()
    assert data["certain"] is False and data["undecided"] == [6]
    assert data["answer_range"] == [6, 7]
    last = found.summary().splitlines()[-1]
    assert "not certain" in last and "components.app.cores=6 undecided" in last
    # a clear miss below the answer leaves no doubt
    clear = near_the_boundary("latency.all.p95<36ms", high=8)
    assert clear.answer == 7 and clear.certain and clear.undecided == []
    assert clear.answer_range == (7, 7)
    assert "not certain" not in clear.summary()


def test_an_undecided_high_is_not_reported_as_missing() -> None:
    """At high itself undecided, the SLOs may be met there: no certain 'none'."""
    found = near_the_boundary("latency.all.p95<42.5ms", low=6, high=6)
    assert found.answer is None and not found.certain and found.undecided == [6]
    assert found.to_dict()["certain"] is False
    assert "undecided" in found.summary().splitlines()[-1]


@pytest.mark.parametrize("tolerance", [0, -1, float("nan")])
def test_a_tolerance_that_cannot_end_the_bisection_is_refused(tolerance: float) -> None:
    """0 or below bisected a real knob forever (the probes cached, no progress: a hang);
    NaN stopped it at once, at the doubling's resolution."""
    with pytest.raises(SpecError, match="tolerance"):
        simperf.capacity(
            short("mm1.yaml", 60),
            "components.app.speed",
            ["latency.all.mean<50ms"],
            tolerance=tolerance,
            executor="serial",
        )


def test_more_replications_are_estimated_with_student_t_of_the_count_asked_for() -> None:
    """The hand computation: 3 replications of spread s = 10 ms about a mean 10 ms below
    a 100 ms target. A normal quantile asked for 5 (1.96^2 x 1.1 = 4.2); 5 cannot clear it,
    since t_{0.975, 4} 10 ms / sqrt(5) = 12.4 ms > 10 ms. The smallest m with
    t_{0.975, m-1} s / sqrt(m) < 10 ms is 7: t_{0.975, 6} = 2.447 and 2.447 / sqrt(7) =
    0.925, where 6 gives t_{0.975, 5} = 2.571 and 2.571 / sqrt(6) = 1.050."""
    from scipy import stats

    from simperf.experiment.slo_verdict import more_needed

    n, std = 3, 0.010
    half = float(stats.t.ppf(0.975, n - 1)) * std / n**0.5  # 24.8 ms: undecided
    row = {"slo_verdict": UNDECIDED, "target": 0.1, "mean": 0.09, "half_width": half, "std": std}
    assert more_needed([row], n, 0.95) == 7
    # far from the target: one more; near it, many more (capped at ten times n)
    assert more_needed([{**row, "mean": 0.080}], n, 0.95) == n + 1
    assert more_needed([{**row, "mean": 0.0999}], n, 0.95) == 10 * n


@pytest.mark.parametrize(
    ("side", "value", "verdict"),
    [
        ("<", 0.05, MET),
        ("<", 0.15, MISSED),
        ("<", 0.10, MISSED),  # on the target: not below it, and more runs cannot change that
        (">", 0.15, MET),
        (">", 0.05, MISSED),
        (">", 0.10, MISSED),
    ],
)
def test_a_metric_the_same_in_every_replication_is_judged_on_its_value(
    side: str, value: float, verdict: str
) -> None:
    """One value in every replication (a count, a price, an error rate of 0) leaves a t
    interval of no width: the value itself is on one side of the target or on it, and
    no replication more would move it. On the target it was undecided, and a search ran
    the probe to its budget."""
    from simperf.experiment.slo_verdict import more_needed

    slo = parse_slo(f"error_rate{side}{0.10}")
    row = judge([value] * 3, slo, 0.95)
    assert row["slo_verdict"] == verdict
    assert row["half_width"] == 0.0
    # equal up to rounding (a ratio of the same count over the same time) is the same
    rounded = judge([value, value * (1 + 4e-16), value], slo, 0.95)
    assert rounded["slo_verdict"] == verdict
    assert more_needed([row, rounded], 3, 0.95) == 4

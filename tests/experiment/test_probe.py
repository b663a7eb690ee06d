"""A probe meets its SLOs only when every replication is stable and errors stay rare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import simperf
from simperf.analysis.finite_capacity import mmck
from simperf.experiment import replicate
from simperf.experiment.executors import SerialExecutor
from simperf.experiment.probe import Prober
from simperf.experiment.slo_verdict import MET, MISSED
from simperf.metrics.stability import SATURATED_REJECTION, SATURATED_UTILIZATION
from simperf.spec.slo import DEFAULT_MAX_ERROR_RATE, as_slos, with_error_budget

MODELS = Path(__file__).resolve().parents[2] / "models"
RATE, SERVICE, ROOM, P99 = 320.0, 100.0, 8, 0.150  # M/M/c/(c + 8), p99 target 150 ms


def bounded_queue(duration: float) -> simperf.Scenario:
    """models/mmc.yaml with room for ``ROOM`` waiting requests: overload becomes rejections."""
    return simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": duration, "run.warmup": duration / 10, "components.app.queue_limit": ROOM}
    )


def test_a_design_that_rejects_requests_does_not_meet_a_latency_slo() -> None:
    """The queue limit keeps the p99 low however few the cores: only errors tell."""
    theory = {c: mmck(RATE, SERVICE, c, c + ROOM) for c in range(1, 9)}
    p99 = {c: r.sojourn_quantile(0.99) for c, r in theory.items()}
    blocked = {c: r.blocking_probability for c, r in theory.items()}
    busy = {c: RATE * (1 - blocked[c]) / (SERVICE * c) for c in theory}
    fast = min(c for c in theory if p99[c] < P99)
    expected = min(
        c
        for c in theory
        if p99[c] < P99 and blocked[c] < DEFAULT_MAX_ERROR_RATE and busy[c] < SATURATED_UTILIZATION
    )
    # 2 cores are fast enough but reject 38%; 5 reject 0.29% (stable, over budget); 6, 0.04%
    assert fast == 2 and blocked[fast] > SATURATED_REJECTION
    assert expected == 6
    assert blocked[5] > 2 * DEFAULT_MAX_ERROR_RATE > 5 * blocked[6]
    assert SATURATED_REJECTION > blocked[5]

    found = simperf.capacity(
        bounded_queue(30),
        "components.app.cores",
        [f"latency.all.p99<{P99}s"],
        low=1,
        high=16,
        executor="serial",
        bracket=False,  # probe 2 cores, the fast design that rejects too much
    )
    assert found.answer == expected
    assert found.to_dict()["slo"] == ["latency.all.p99 < 150 ms", "error_rate < 0.1%"]
    rows = found.frame.set_index(["components.app.cores", "metric"])
    assert rows.loc[(fast, "latency.all.p99"), "mean"] < P99  # fast, and yet:
    assert rows.loc[(fast, "latency.all.p99"), "verdict"] == MISSED
    assert rows.loc[(fast, "latency.all.p99"), "stability"] == "saturated"
    assert rows.loc[(fast, "latency.all.p99"), "replications"] == 1
    # stable at 5 cores, but its errors are over the budget
    assert rows.loc[(5, "error_rate"), "stability"] == "stable"
    assert rows.loc[(5, "error_rate"), "slo_verdict"] == MISSED
    assert rows.loc[(6, "error_rate"), "slo_verdict"] == MET


def test_an_error_rate_slo_in_the_spec_sets_the_threshold() -> None:
    """``error_rate < 0.5%`` lets 5 cores pass (0.29% rejected), the default 0.1% does not."""
    assert blocked_at(5) < 0.005 / 1.5 and blocked_at(4) > SATURATED_REJECTION
    scenario = bounded_queue(30).with_overrides(
        {
            "slo": [
                {"metric": "latency.all.p99", "below": "150ms"},
                {"metric": "error_rate", "below": "0.5%"},
            ]
        }
    )
    found = simperf.capacity(scenario, "components.app.cores", low=4, high=8, executor="serial")
    assert found.answer == 5
    assert found.to_dict()["slo"] == ["latency.all.p99 < 150 ms", "error_rate < 0.5%"]


def blocked_at(cores: int) -> float:
    return mmck(RATE, SERVICE, cores, cores + ROOM).blocking_probability


def test_with_error_budget_adds_the_default_once() -> None:
    slos = with_error_budget(as_slos(["latency.all.p99<200ms"]))
    assert [(s.metric, s.side, s.target) for s in slos] == [
        ("latency.all.p99", "below", 0.2),
        ("error_rate", "below", DEFAULT_MAX_ERROR_RATE),
    ]
    own = as_slos(["latency.all.p99<200ms", "error_rate<2%"])
    assert with_error_budget(own) == own


def canned(status: str) -> dict[str, Any]:
    return {"latency": {"all": {"p99": 0.010}}, "error_rate": 0.0, "stability": {"status": status}}


@pytest.mark.parametrize(
    ("late", "verdict"),
    [("saturated", MISSED), ("failing", MISSED), ("unstable", MISSED), ("degraded", MET)],
)
def test_one_replication_not_stable_misses_the_probe(
    monkeypatch: pytest.MonkeyPatch, late: str, verdict: str
) -> None:
    """The first replication is stable, the third is not: the probe misses all the same.

    Degraded (an instance down, its traffic gone around it) is what a scenario's faults
    ask about: it counts as stable, and the error budget judges the requests lost.
    """
    statuses = ["stable", "stable", late, "stable", "stable"]

    def fake_run(data: Any, seed: int, replication: int) -> dict[str, Any]:
        return canned(statuses[replication])

    monkeypatch.setattr(replicate, "run_to_dict", fake_run)
    prober = Prober(
        bounded_queue(5),
        "components.app.cores",
        with_error_budget(as_slos(["latency.all.p99<100ms"])),
        replications=5,
        max_replications=5,
        seed=1,
        confidence=0.95,
        pool=SerialExecutor(),
        progress=False,
    )
    assert prober.met(4) == (verdict == MET)
    (probed,) = prober.probes
    assert probed.verdict == verdict and probed.stability == late
    assert {row["slo_verdict"] for row in probed.slos} == {MET}  # the metrics alone would pass


def test_a_probe_with_auto_warmup_runs_each_replication_once(monkeypatch) -> None:
    """The first replication, run alone, is the first pilot of the warm-up too: it ran
    twice (5 runs for 2 replications: 1, then 2 pilots, then 2 cut)."""
    real = replicate.run_to_dict
    ran: list[tuple[int, Any]] = []

    def counted(data: Any, seed: int, replication: int) -> dict[str, Any]:
        ran.append((replication, data["run"]["warmup"]))
        return real(data, seed, replication)

    monkeypatch.setattr(replicate, "run_to_dict", counted)
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": 20, "run.warmup": "auto", "workload.arrival.rate": 50}
    )
    found = simperf.capacity(
        scenario,
        "components.app.cores",
        ["latency.all.mean<1s"],
        low=1,
        high=1,
        replications=2,
        max_replications=2,
        executor="serial",
    )
    assert found.answer == 1
    assert len(ran) == len(set(ran)) == 4  # pilots 0 and 1, then 0 and 1 with the cut


@pytest.mark.parametrize(
    ("slo", "verdict"),
    [
        ("latency.all.p99<10ms", MISSED),  # a maximum the value sits on
        ("latency.all.p99<20ms", MET),
        ("latency.all.p99<5ms", MISSED),  # a maximum it exceeds
        ("error_rate>0", MISSED),  # a minimum it sits on
    ],
)
def test_a_metric_the_same_in_every_replication_settles_the_probe(
    monkeypatch: pytest.MonkeyPatch, slo: str, verdict: str
) -> None:
    """Every replication's p99 is 10 ms and its error rate 0: no interval, and none to
    narrow. On its target the probe was undecided and ran its whole budget of 20."""
    monkeypatch.setattr(replicate, "run_to_dict", lambda data, seed, rep: canned("stable"))
    prober = Prober(
        bounded_queue(5),
        "components.app.cores",
        as_slos([slo]),
        replications=3,
        max_replications=20,
        seed=1,
        confidence=0.95,
        pool=SerialExecutor(),
        progress=False,
    )
    prober.met(4)
    (probed,) = prober.probes
    assert (probed.verdict, len(probed.runs)) == (verdict, 3)

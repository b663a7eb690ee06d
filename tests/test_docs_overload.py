"""docs/overload.md stays true: its spec snippets validate, the refusals it quotes are
what simperf says, its theory column is the closed forms', and (under ``make validate``)
its simulated figures and experiment tables are what the runs give today."""

from __future__ import annotations

import importlib
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import simperf
from simperf import analysis

from conftest import MINIMAL, ROOT, edited

PAGE = (ROOT / "docs" / "overload.md").read_text(encoding="utf-8")
DOC = " ".join(PAGE.split())
SHOP, QUEUE, LIMIT, PS = (yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", PAGE, re.S))


def refusal(spec: dict[str, Any]) -> str:
    with pytest.raises(simperf.SpecError) as caught:
        simperf.from_dict(spec)
    return str(caught.value)


def test_the_priority_example_validates() -> None:
    shop = simperf.from_dict(SHOP)
    assert shop.workload.classes[0].priority == 10 and shop.workload.classes[1].priority == 0


def test_the_queue_limit_and_ps_snippets_validate() -> None:
    timed = edited(MINIMAL, workload__classes__0__timeout="1s")  # drop_expired needs one
    simperf.from_dict(edited(timed, components__app__queue=QUEUE["queue"]))
    app = {k: v for k, v in SHOP["components"]["app"].items() if k != "queue"}
    simperf.from_dict(edited(SHOP, components__app={**app, **LIMIT}))  # 16 workers >= 10
    simperf.from_dict(edited(MINIMAL, **{f"components__app__{k}": v for k, v in PS.items()}))


def test_the_refusals_quoted_are_what_simperf_says() -> None:
    message = refusal(edited(MINIMAL, components__app__queue={"drop_expired": True}))
    assert f"(exit 2, `{message}`)" in DOC
    message = refusal(
        edited(MINIMAL, alerts=[{"name": "x", "metric": "shed", "component": "app", "above": 1}])
    )
    assert f"(`{message}`)" in DOC
    assert "ps` needs `workers > cores` (exit 2 otherwise)" in DOC
    assert "needs workers > cores" in refusal(edited(MINIMAL, components__app__cpu_discipline="ps"))
    both = {"shed_after": "200ms", "codel": {"target": "5ms", "interval": "100ms"}}
    assert "not both" in refusal(edited(MINIMAL, components__app__queue=both))
    late = {"codel": {"target": "200ms", "interval": "100ms"}}
    assert "must not exceed interval" in refusal(edited(MINIMAL, components__app__queue=late))
    assert "from -1000 to 1000" in DOC
    assert "<= 1000" in refusal(edited(MINIMAL, workload__classes__0__priority=1001))


def test_the_alert_shown_validates() -> None:
    shown = re.search(r"- alerts: `(\{name: .*?\})`", PAGE)
    assert shown, "the shed alert is missing"
    spec = edited(MINIMAL, components__app__queue={"shed_after": "50ms"})
    spec["alerts"] = [yaml.safe_load(shown.group(1))]
    simperf.from_dict(spec)


def test_the_theory_column_is_the_closed_forms() -> None:
    ps = analysis.mg1_ps(60.0, 0.01)  # rho 0.6, E[S] 10 ms
    assert f"| {ps.mean_sojourn * 1e3:.2f} ms (`E[S]/(1-ρ)`) |" in PAGE
    for size in (0.002, 0.01, 0.03):
        assert f"| {ps.sojourn_of(size) * 1e3:.2f} ms" in PAGE
    high, low = analysis.priority_mg1([25.0, 25.0], [0.01, 0.01], [2e-4, 2e-4]) + 0.01
    assert f"| {high * 1e3:.2f} ms (Cobham) |" in PAGE and f"| {low * 1e3:.2f} ms |" in PAGE
    shed = analysis.mm1_bounded_wait(150.0, 100.0, 0.05)
    assert f"| {shed.shed_probability:.2%} |" in PAGE
    assert f"| {shed.mean_sojourn * 1e3:.2f} ms |" in PAGE
    assert f"| {shed.utilization:.4f} |" in PAGE and f"| {shed.p_wait:.4f} |" in PAGE
    mm13 = analysis.mmck(100.0, 100.0, 1, 3)
    assert mm13.blocking_probability == 0.25 and round(mm13.mean_sojourn, 9) == 0.02
    assert "| 25% (M/M/1/3) |" in PAGE and "| 20 ms |" in PAGE
    assert "(the p99 of an exponential of mean 20 ms is 92 ms)" in DOC
    assert round(20 * math.log(100)) == 92


@pytest.mark.validate
def test_the_simulated_column_is_what_the_validation_runs_give(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the runs of tests/validation/test_scheduling_theory.py, about 2 CPU-minutes
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "validation"))
    theory = importlib.import_module("test_scheduling_theory")
    agreement = importlib.import_module("agreement")
    confidence, open_spec = agreement.CONFIDENCE, agreement.open_spec
    replications, server = agreement.replications, agreement.server

    def shown(reps: Any, metric: str) -> str:
        iv = reps.interval(metric, confidence)
        return f"| {iv.mean * 1e3:.2f} ± {iv.half_width * 1e3:.2f} ms |"

    exp = {"serve": [{"cpu": {"dist": "exponential", "mean": theory.MEAN}}]}
    spec = open_spec("mm1_ps", 60.0, {"app": theory.ps_server(exp)}, duration=300, warmup=10)
    assert shown(replications(spec, 20), "latency.all.mean") in PAGE
    sizes = {"small": 0.002, "medium": 0.01, "large": 0.03}
    weights = {"small": 5.0, "medium": 3.0, "large": 2.0}
    endpoints = {k: [{"cpu": v}] for k, v in sizes.items()}
    spec = open_spec(
        "ps_sizes", 60.0, {"app": theory.ps_server(endpoints)}, duration=300, warmup=10
    )
    spec["workload"]["classes"] = [
        {"name": k, "entry": "app", "endpoint": k, "weight": weights[k]} for k in sizes
    ]
    reps = replications(spec, 20)
    for name in sizes:
        assert shown(reps, f"latency.{name}.mean") in PAGE
    queue = {"app": server(queue={"discipline": "priority"})}
    spec = open_spec("priority_mm1", 50.0, queue, duration=500, warmup=10)
    spec["workload"]["classes"] = [
        {"name": "checkout", "entry": "app", "endpoint": "serve", "priority": 1},
        {"name": "browse", "entry": "app", "endpoint": "serve", "priority": 0},
    ]
    reps = replications(spec, 20)
    assert shown(reps, "latency.checkout.mean") in PAGE
    assert shown(reps, "latency.browse.mean") in PAGE


def experiment(script: str, replications: int, out: Path) -> pd.DataFrame:
    """``experiments/<script>.py --replications N --seed 1``, as the page ran it."""
    argv = [str(ROOT / "experiments" / f"{script}.py"), "--replications", str(replications)]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, *argv, "--seed", "1", "--out", str(out)], check=True, env=env)
    return pd.read_csv(out / f"{script}.csv")


def row(label: str) -> str:
    found = re.search(rf"^\| {re.escape(label)} \|.*$", PAGE, re.M)
    assert found, f"no row {label!r}"
    return found.group(0)


@pytest.mark.validate
def test_the_degradation_table_is_what_the_experiment_gives(tmp_path: Path) -> None:
    frame = experiment("degradation", 10, tmp_path).set_index("policy")  # 10 replications
    labels = {
        "fifo": "fifo",
        "fifo + shed 200ms": "fifo + `shed_after: 200ms`",
        "priority": "`discipline: priority`",
        "priority + shed 200ms": "priority + `shed_after: 200ms`",
        "priority + codel": "priority + `codel: {5ms, 100ms}`",
    }
    for policy, label in labels.items():
        got, line = frame.loc[policy], row(label)
        for cls in ("checkout", "browse"):
            p99, hw = got[f"{cls}_p99"] * 1e3, got[f"{cls}_p99_hw"] * 1e3
            assert f"{p99:,.0f} ± {hw:.0f} ms" in line, (label, cls, p99, hw)
        for shed in (got["browse_shed"], got["checkout_shed"]):
            assert (f"| {shed:.1%} |" if shed else "| 0 |") in line, (label, shed)


@pytest.mark.validate
def test_the_deadline_drop_table_is_what_the_experiment_gives(tmp_path: Path) -> None:
    frame = experiment("deadline_drop", 5, tmp_path)  # 5 replications
    labels = {
        "fifo, serve all": "FIFO, serve everything",
        "fifo + drop_expired": "FIFO + `drop_expired`",
        "adaptive lifo": "adaptive LIFO (`lifo_over: 50`)",
        "adaptive lifo + drop_expired": "adaptive LIFO + `drop_expired`",
    }
    for policy, label in labels.items():
        runs, line = frame[frame.policy == policy], row(label)
        during = runs.goodput_during.mean()
        assert f"| {during:.3f} ± " in line, (label, during)
        wasted = runs.wasted.mean()
        assert f"| {wasted:.{1 if wasted > 0.01 else 3}%} |" in line, (label, wasted)
        low, high = runs.recovery.min(), runs.recovery.max()
        assert (f"({low:.0f}-{high:.0f})" if high else "| 0 |") in line, (label, low, high)


@pytest.mark.validate
def test_the_shedding_column_is_what_the_validation_runs_give(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the full-horizon runs of tests/validation/test_queueing_theory.py, 1 CPU-minute
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "validation"))
    agreement = importlib.import_module("agreement")

    def shown(reps: Any, metric: str, scale: float, digits: int, unit: str) -> str:
        iv = reps.interval(metric, agreement.CONFIDENCE)
        return f"| {iv.mean * scale:.{digits}f} ± {iv.half_width * scale:.{digits}f}{unit} |"

    app = agreement.server(workers=1, queue={"shed_after": "50ms"})
    spec = agreement.open_spec("shed", 150.0, {"app": app}, duration=200, warmup=5)
    reps = agreement.replications(spec, 10)
    assert shown(reps, "error_rate", 100, 2, "%") in PAGE
    assert shown(reps, "latency.all.mean", 1e3, 2, " ms") in PAGE
    assert shown(reps, "components.app.utilization", 1, 4, "") in PAGE
    assert shown(reps, "components.app.p_wait", 1, 4, "") in PAGE
    fixed = {"latency_target": "1h", "initial": 3, "min": 3, "max": 3}
    app = agreement.server(workers=10, concurrency_limit=fixed)
    spec = agreement.open_spec("limited", 100.0, {"app": app}, duration=200, warmup=5)
    reps = agreement.replications(spec, 10)
    assert shown(reps, "error_rate", 100, 2, "%") in PAGE
    assert shown(reps, "latency.all.mean", 1e3, 2, " ms") in PAGE

"""docs/what-if.md stays true: its commands parse, its Python runs, its precision figures
are today's (every run of models/mmc.yaml here is on the exact fast path: milliseconds)."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

import simperf
from simperf.cli import build_parser
from simperf.metrics.stats import replications_needed

from conftest import MODELS, ROOT

PAGE = (ROOT / "docs" / "what-if.md").read_text(encoding="utf-8")
DOC = " ".join(PAGE.split())
MMC = simperf.load(MODELS / "mmc.yaml")


def shown_commands() -> list[list[str]]:
    """Every ``simperf`` command of the page's shell blocks, with no ``...`` left out."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", PAGE, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv[:1] == ["simperf"] and "..." not in argv:
                commands.append(argv[1:])
    return commands


def test_every_command_shown_parses() -> None:
    commands = shown_commands()
    assert len(commands) >= 7, "the page's commands are missing"
    parser = build_parser()
    for argv in commands:
        parser.parse_args(argv)  # exits (status 2) on a refused option
        assert all((ROOT / arg).exists() for arg in argv if arg.endswith(".yaml")), argv


def test_sweep_takes_n_as_the_others_do() -> None:
    assert "`-n` was refused by `sweep`" in DOC  # was: it takes it now
    args = build_parser().parse_args(["sweep", "models/mmc.yaml", "--grid", "x=1", "-n", "3"])
    assert args.replications == 3


def precise(overrides: dict[str, Any], metric: str, relative: float, **kw: Any) -> dict:
    scenario = MMC.with_overrides(overrides)
    precision = {"metric": metric, "relative": relative}
    reps = simperf.replicate(scenario, executor="serial", precision=precision, **kw)
    return reps.precision


def test_precision_examples_run_as_many_replications_as_quoted() -> None:
    # about 3 CPU-s: 18 + 40 + 40 short runs on the fast path
    at99 = precise({"run.duration": 60}, "latency.all.mean", 0.05, confidence=0.99)
    assert at99["reached"]
    assert f"(now ±{at99['achieved']:.2%} after {at99['replications']})" in DOC
    to2 = precise({"run.duration": 60}, "latency.all.mean", 0.02)
    assert f"where {to2['replications']} now do (±{to2['achieved']:.2%})" in DOC
    short = {"run.duration": 20, "run.warmup": 2}
    assert "at 20 s (`--duration 20s --set run.warmup=2s`," in DOC  # as the page runs it
    to3 = precise(short, "latency.all.mean", 0.03)
    assert f"({to3['replications']} now, ±{to3['achieved']:.2%})" in DOC


def test_replications_asked_for_after_the_first_five() -> None:
    first = simperf.replicate(MMC.with_overrides({"run.duration": 60}), 5, executor="serial")
    wanted = replications_needed(first.values("latency.all.mean"), 0.02)
    assert f"105 asked for after 5, now {wanted};" in DOC


def test_the_python_example_runs_and_prints_what_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    code = re.search(r"```python\n(import simperf\n.*?)```", PAGE, re.S)
    assert code, "the Python example is missing"
    swept: list[tuple[Any, ...]] = []

    def serial(run: Any) -> Any:
        # the same numbers whichever executor runs them: in this process, cheaper
        return lambda *args, **kw: run(*args, **{**kw, "executor": "serial"})

    def sweep(scenario: simperf.Scenario, grid: dict[str, list[Any]], **kw: Any) -> None:
        for value in next(iter(grid.values())):  # every point validates
            scenario.with_overrides({next(iter(grid)): value})
        swept.append((grid, kw))

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(simperf, "replicate", serial(simperf.replicate))
    monkeypatch.setattr(simperf, "compare", serial(simperf.compare))
    monkeypatch.setattr(simperf, "sweep", sweep)
    space: dict[str, Any] = {}
    exec(compile(code.group(1), "what-if.md", "exec"), space)  # about 3 CPU-s
    assert swept, "the sweep was not called"
    p = space["reps"].precision
    assert (
        f"{{'metric': 'latency.all.p99', 'target': 0.05, 'achieved': {p['achieved']:.3g}, "
        f"'reached': {p['reached']}, 'replications': {p['replications']}, ...}}"
    ) in code.group(1)
    d = space["diff"].difference("latency.all.p99")
    assert (
        f"'difference': {d['difference']:.3g}, 'half_width': {d['half_width']:.3g}, ..., "
        f"'significant': {d['significant']}, 'n': 5, 'verdict': '{d['verdict']}'}}"
    ) in code.group(1)


def test_a_scenario_compared_with_itself_differs_by_exactly_zero() -> None:
    same = simperf.compare(MMC, MMC, 5, executor="serial").difference("latency.all.p99")
    assert "a scenario compared with itself differs by exactly 0" in DOC
    assert same["difference"] == 0.0 and same["verdict"] == "same in every replication"


def test_the_warm_up_test_keeps_mser_from_cutting_excursions() -> None:
    # models/mm1.yaml for 1,000 s at seeds 1 to 20: about 2 CPU-s on the fast path
    mm1 = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": 1000, "run.warmup": "auto"}
    )
    cuts = [simperf.run(mm1, seed=seed).to_dict()["warmup_auto"] for seed in range(1, 21)]
    long = [c["mser_time"] for c in cuts if c["mser_time"] >= 75]
    assert f"would cut 75 to {max(long):.0f} s in {len(long)} of them" in DOC
    assert min(long) == 75
    assert not any(c["decided_by"] == "mser" for c in cuts)
    times = [c["cut_time"] for c in cuts]
    assert f"with the test none is, every cut is the relaxation time's, {min(times):.0f} to" in DOC
    assert f" {max(times):.0f} s, where 2 of 20" in DOC

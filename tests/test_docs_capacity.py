"""docs/capacity.md stays true: the capacity search and the USL fit it shows are today's."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest

import simperf
from simperf.analysis.queueing import mmc
from simperf.cli import main

from conftest import ROOT

PAGE = (ROOT / "docs" / "capacity.md").read_text(encoding="utf-8")


def test_capacity_output_is_what_the_search_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = re.search(
        r"```sh\n(simperf capacity models/mmc\.yaml .*?)\nsimperf cheapest .*?```\n\n```\n(.*?)```",
        PAGE,
        re.S,
    )
    assert shown, "the capacity example or its output is missing"
    argv = shlex.split(shown.group(1).replace("\\\n", " "))[1:]
    monkeypatch.chdir(ROOT)
    # in this process, silent: the runs and their seeds are those of the command as shown
    assert main([*argv, "--serial", "--quiet"]) == 0
    assert capsys.readouterr().out == shown.group(2)


def test_usl_fit_figures_are_what_fit_usl_gives() -> None:
    shown = re.search(r"fit = simperf\.fit_usl\((\[.*?\])\)\n(.*?)```", PAGE, re.S)
    assert shown, "the fit_usl example is missing"
    points = [tuple(point) for point in ast.literal_eval(shown.group(1))]
    fit = simperf.fit_usl(points)
    comments = shown.group(2)
    assert f"# {fit.rate:.0f}, {fit.alpha:.3f}, {fit.beta:.5f}\n" in comments
    assert f"# {fit.rate_se:.1f}, {fit.alpha_se:.4f}, {fit.beta_se:.6f} " in comments
    assert f"# N* = {fit.peak:.1f} cores\n" in comments


def test_growth_output_is_what_the_projection_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = re.search(
        r"```sh\n(simperf growth models/mmc\.yaml .*?)```\n\nprints, .*?```\n(.*?)```", PAGE, re.S
    )
    assert shown, "the growth example or its output is missing"
    argv = shlex.split(shown.group(1).replace("\\\n", " "), comments=True)[1:]
    store = argv.index("--out") + 1
    argv[store] = str(tmp_path / argv[store])  # the store, written where the test may
    monkeypatch.chdir(ROOT)
    assert main([*argv, "--serial", "--quiet"]) == 0  # about 5 CPU-s
    assert capsys.readouterr().out == shown.group(2)


@pytest.mark.validate
def test_cheapest_outputs_are_what_the_ranking_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # two rankings of 14 CPU-s each: under `make validate`
    command = re.search(r"\n(simperf cheapest models/web_tier\.yaml .*?)\n```", PAGE, re.S)
    shown = re.search(r"```\n(\$ simperf cheapest models/web_tier\.yaml \.\.\. .*?)```", PAGE, re.S)
    assert command and shown, "the cheapest example or its output is missing"
    argv = shlex.split(command.group(1).replace("\\\n", " "))[1:]
    runs = re.split(
        r"^\$ simperf cheapest models/web_tier\.yaml \.\.\.", shown.group(1), flags=re.M
    )
    assert len(runs) == 3 and runs[0] == ""
    monkeypatch.chdir(ROOT)
    for run in runs[1:]:
        lines = run.replace("\\\n", " ").splitlines()
        extra = shlex.split(lines[0].split("(last lines;")[0])
        warned = [line for line in lines[1:] if line.startswith("simperf: warning: ")]
        printed = [line for line in lines[1:] if line not in warned]
        assert main([*argv, *extra, "--serial", "--quiet"]) == 0
        out, err = capsys.readouterr()
        assert out.endswith("\n".join(printed) + "\n"), out[-600:]
        assert [line for line in err.splitlines() if line.startswith("simperf:")] == warned


def test_erlang_c_waits_quoted_are_the_closed_form() -> None:
    shown = re.search(
        r"at (\d+) requests/s of (\d+) ms exponential service, the smallest core count with a "
        r"mean wait below (\d+) ms is (\d+), as Erlang C says \(([\d.]+) ms at (\d+) cores, "
        r"([\d.]+) ms at \4\)",
        " ".join(PAGE.split()),
    )
    assert shown, "the capacity search's closed form is missing"
    rate, service, bound, cores, below, fewer, at = shown.groups()
    assert int(fewer) == int(cores) - 1
    waits = [mmc(int(rate), 1e3 / int(service), int(c)).mean_wait * 1e3 for c in (fewer, cores)]
    assert [f"{w:.2f}" for w in waits] == [below, at]
    assert waits[0] >= int(bound) > waits[1]

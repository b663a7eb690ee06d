"""docs/capacity.md stays true: the capacity search and the USL fit it shows are today's."""

from __future__ import annotations

import ast
import re
import shlex

import pytest

import simperf
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

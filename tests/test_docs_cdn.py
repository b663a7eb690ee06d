"""docs/cdn.md stays true: the sweep it shows prints the CDN metrics it says it reports."""

from __future__ import annotations

import re

import pytest

from simperf.cli import main

from conftest import ROOT

DOC = " ".join((ROOT / "docs" / "cdn.md").read_text(encoding="utf-8").split())


def test_the_sweep_shown_prints_the_metrics_it_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = re.search(
        r"`simperf (sweep models/cdn_static_site\.yaml [^`]*)` reports (.*?) per point", DOC
    )
    assert shown, "the sweep example is missing"
    named = re.findall(r"`([\w.]+)`", shown.group(2))
    assert named
    monkeypatch.chdir(ROOT)
    # the command as shown, on a horizon short enough for a test
    short = ["--duration", "3s", "--set", "run.warmup=1s", "--serial", "--quiet"]
    assert main([*shown.group(1).split(), *short]) == 0
    printed = capsys.readouterr().out
    assert all(metric in printed for metric in named), printed[:300]

"""Progress: shown where someone watches, silenced on request, never on stdout."""

from __future__ import annotations

import io
import sys

import pytest

import simperf
from simperf.experiment import progress


@pytest.fixture
def scenario(minimal_scenario: simperf.Scenario) -> simperf.Scenario:
    return minimal_scenario.with_overrides({"run.duration": 5})


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wanted_follows_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress.wanted(None) is False
    assert progress.wanted(True) is True
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert progress.wanted(None) is True
    assert progress.wanted(False) is False


def test_replicate_counts_runs_on_stderr_when_asked(
    scenario: simperf.Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    simperf.replicate(scenario, 3, executor="serial", progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "replicate minimal" in err and "3/3" in err


@pytest.mark.parametrize("choice", [None, False])
def test_replicate_is_silent_off_a_terminal_or_when_told(
    scenario: simperf.Scenario, capsys: pytest.CaptureFixture[str], choice: bool | None
) -> None:
    simperf.replicate(scenario, 2, executor="serial", progress=choice)
    assert capsys.readouterr() == ("", "")


def test_compare_counts_both_sides(
    scenario: simperf.Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    other = scenario.with_overrides({"components.app.cores": 2})
    simperf.compare(scenario, other, 2, executor="serial", progress=True)
    assert "4/4" in capsys.readouterr().err


def test_sweep_progress_defaults_to_silent_off_a_terminal(
    scenario: simperf.Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    simperf.sweep(scenario, {"components.app.cores": [1, 2]}, executor="serial")
    assert capsys.readouterr().err == ""
    simperf.sweep(scenario, {"components.app.cores": [1, 2]}, executor="serial", progress=True)
    assert "2/2" in capsys.readouterr().err


def test_cli_quiet_and_json_never_show_progress(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from simperf.cli import main

    from conftest import MODELS

    monkeypatch.setattr(sys, "stderr", _Terminal())
    spec = str(MODELS / "mm1.yaml")
    common = ["--duration", "20s", "--set", "run.warmup=2", "--serial"]
    assert main(["replicate", spec, "-n", "2", *common, "--json"]) == 0
    assert sys.stderr.getvalue() == ""
    assert main(["replicate", spec, "-n", "2", *common, "--quiet"]) == 0
    assert sys.stderr.getvalue() == ""
    assert main(["replicate", spec, "-n", "2", *common]) == 0
    assert "2/2" in sys.stderr.getvalue()
    capsys.readouterr()

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


def test_capacity_counts_a_probes_runs_as_they_end(capsys: pytest.CaptureFixture[str]) -> None:
    """A bar within each probe, as replicate shows: before, only a line once a probe of
    up to max_replications runs had ended."""
    from conftest import MODELS

    mmc = simperf.load(MODELS / "mmc.yaml").with_overrides({"run.duration": 10, "run.warmup": 1})
    simperf.capacity(
        mmc,
        "components.app.cores",
        ["components.app.mean_wait<4ms"],
        low=5,
        high=5,
        replications=3,
        executor="serial",
        progress=True,
    )
    out, err = capsys.readouterr()
    assert out == ""
    assert "capacity components.app.cores=5: 100%" in err and "3/3" in err
    assert "capacity: components.app.cores=5 " in err  # then its verdict


def test_cli_growth_json_and_quiet_show_no_progress(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """growth's capacity searches showed their probes on a terminal despite --json."""
    from simperf.cli import main

    from conftest import MODELS

    monkeypatch.setattr(sys, "stderr", _Terminal())
    args = ["growth", str(MODELS / "mmc.yaml"), "--rate", "10%", "--months", "1"]
    args += ["--design", "up=components.app.cores:5:5", "--slo", "components.app.mean_wait<4ms"]
    args += ["-n", "2", "--duration", "10s", "--set", "run.warmup=1", "--serial"]
    for flag in ("--json", "--quiet"):
        assert main([*args, flag]) == 0
        assert sys.stderr.getvalue() == ""
    assert main(args) == 0
    assert "capacity components.app.cores=5: 100%" in sys.stderr.getvalue()
    capsys.readouterr()

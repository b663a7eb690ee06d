"""replicate, compare and sweep on the command line: --json output and exit status 2."""

from __future__ import annotations

import json

import pytest

from simperf.cli import main

from conftest import MODELS

MMC = str(MODELS / "mmc.yaml")
SHORT = ["--duration", "40s", "--serial", "--quiet"]


def test_replicate_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replicate", MMC, "-n", "3", *SHORT, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["replications"] == 3
    mean = data["metrics"]["latency.all.mean"]
    assert mean["low"] < mean["mean"] < mean["high"]


def test_replicate_with_precision(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["replicate", MMC, *SHORT, "--precision", "throughput:0.05", "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["precision"]["reached"] is True


def test_compare_text(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compare", MMC, MMC, "--set-b", "components.app.cores=5", "-n", "3", *SHORT]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "latency.all.mean" in out and "yes" in out


def test_sweep_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sweep", MMC, "--grid", "components.app.cores=4,5", *SHORT, "--json"]
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["components.app.cores"] for r in rows] == [4, 5]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sweep", MMC, "--grid", "components.app.corez=4,5"], "has no field 'corez'"),
        (["sweep", MMC], "give at least one --grid"),
        (
            ["replicate", MMC, "--precision", "latency.all.p98:0.05"],
            "unknown metric 'latency.all.p98'",
        ),
        (["replicate", MMC, "--precision", "latency.all.p99:tight"], "expected METRIC:RELATIVE"),
    ],
)
def test_bad_input_exits_2_before_running(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, *SHORT]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_zero_replications_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["replicate", MMC, "-n", "0"])
    assert info.value.code == 2
    assert "must be >= 1" in capsys.readouterr().err


def test_resume_against_changed_spec_exits_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "r.db")
    assert main(["sweep", MMC, "--grid", "components.app.cores=4", *SHORT, "--out", out]) == 0
    changed = [
        "sweep",
        MMC,
        "--grid",
        "components.app.cores=4",
        "--duration",
        "50s",
        "--serial",
        "--quiet",
        "--out",
        out,
        "--resume",
    ]
    assert main(changed) == 2
    assert "different spec or seed" in capsys.readouterr().err

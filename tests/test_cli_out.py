"""Every command's --out behaves alike (outputs.output_file): a missing directory is
made, a directory or a path that cannot be made is one line naming the flag, exit 2,
before any run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from simperf.cli import main

from conftest import MODELS

sys.path.insert(0, str(Path(__file__).parent / "calibrate"))
from simulated_logs import single_server

MM1 = str(MODELS / "mm1.yaml")
SMALL = ["--requests", "2000", "--set", "run.warmup=1s"]


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory: pytest.TempPathFactory) -> str:
    _, log = single_server(40, {"dist": "exponential", "mean": "8ms"}, requests=600, seed=2)
    path = tmp_path_factory.mktemp("log") / "log.csv"
    log.to_csv(path, index=False)
    return str(path)


def _commands(log_csv: str) -> dict[str, list[str]]:
    """Each writing command's arguments but its --out."""
    return {
        "report": ["report", MM1, *SMALL, "--quiet"],
        "calibrate": ["calibrate", log_csv, "--no-predict"],
        "sweep": ["sweep", MM1, "--grid", "components.app.cores=1", *SMALL, "--serial", "--quiet"],
    }


@pytest.mark.parametrize("command", ["report", "calibrate", "sweep"])
def test_out_in_a_missing_directory_makes_it(
    command: str, log_csv: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # report made the directory, calibrate failed with a traceback, the store exited 2
    out = tmp_path / "results" / "today" / f"{command}.out"
    assert main([*_commands(log_csv)[command], "--out", str(out)]) == 0
    assert out.is_file() and out.stat().st_size > 0
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("command", ["report", "calibrate", "sweep"])
@pytest.mark.parametrize("where", ["a directory", "under a file"])
def test_an_out_that_cannot_be_written_is_one_line_before_any_run(
    command: str, where: str, log_csv: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a directory")
    out = tmp_path if where == "a directory" else tmp_path / "notes.txt" / "x.out"
    assert main([*_commands(log_csv)[command], "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no summary: nothing ran
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"simperf: error: --out {out}: "), line
    expected = "is a directory" if where == "a directory" else "cannot create its directory"
    assert expected in line

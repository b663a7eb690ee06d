"""simperf calibrate: a log in, a calibrated scenario out; bad logs exit 2."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from simperf.cli import main
from simperf.spec.io import load

sys.path.insert(0, str(Path(__file__).parent / "calibrate"))
from simulated_logs import single_server


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, log = single_server(
        40, {"dist": "gamma", "mean": "8ms", "cv": 0.5}, requests=2000, seed=2, held=0.001
    )
    path = tmp_path_factory.mktemp("calibrate") / "log.csv"
    log.to_csv(path, index=False)
    return path


def test_calibrate_writes_a_loadable_scenario(
    log_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "calibrated.yaml"
    assert main(["calibrate", str(log_csv), "--out", str(out), "--requests", "5000"]) == 0
    text = capsys.readouterr().out
    assert "Predicted against measured latency" in text
    assert "app: gamma mean" in text
    scenario = load(str(out))
    assert scenario.components["app"].workers == 1


def test_calibrate_json(log_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", str(log_csv), "--json", "--no-predict"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["levels"][0]["held"] == pytest.approx(0.001, abs=1e-6)
    assert data["accuracy"] == []
    assert data["fragment"]["components"]["app"]["kind"] == "app_server"


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "the log is empty"), ("timestamp,foo\n1,2\n", "missing column(s) latency")],
)
def test_bad_log_exits_2(
    content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "log.csv"
    path.write_text(content)
    assert main(["calibrate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert main(["calibrate", str(path), "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["path"] == str(path)
    assert message in error["message"]


def test_a_saturated_base_level_is_refused_and_others_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 120 req/s into one 10 ms worker: no held overhead can be fitted from its mean
    # latency (it had read 0 ms, the components alone past capacity, without a word)
    _, flooded = single_server(120, {"dist": "exponential", "mean": "10ms"}, requests=600, seed=2)
    path = tmp_path / "flooded.csv"
    flooded.drop(columns=["server_start", "server_end"]).to_csv(path, index=False)
    assert main(["calibrate", str(path), "--no-predict"]) == 2
    assert "load level 0 is saturated" in capsys.readouterr().err
    # with server times its overhead is measured: calibrated, and the level flagged
    flooded.to_csv(path, index=False)
    assert main(["calibrate", str(path), "--no-predict", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["levels"][0]["saturated"] is True
    assert data["warnings"][0].startswith("load 0: saturated")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_calibrate_shows_its_simulations_progress_where_someone_watches(
    log_csv: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # It simulated every load level with no sign of life; a bar counts them, as replicate's
    # does, on a terminal only and never with --json or --quiet.
    monkeypatch.setattr(sys, "stderr", _Terminal())
    args = ["calibrate", str(log_csv), "--requests", "2000"]
    assert main([*args, "--json"]) == 0
    assert main([*args, "--quiet"]) == 0
    assert sys.stderr.getvalue() == ""
    assert main(args) == 0
    assert "calibrate: 100%" in sys.stderr.getvalue() and "1/1" in sys.stderr.getvalue()
    assert "1/1" not in capsys.readouterr().out  # the bar is never on stdout

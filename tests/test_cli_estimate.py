"""``simperf estimate`` on the command line: text, JSON, overrides and bad input."""

from __future__ import annotations

import json

import pytest

from simperf.cli import main
from tests.conftest import MODELS


def test_estimate_prints_classes_components_and_the_bottleneck(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["estimate", str(MODELS / "web_tier.yaml")]) == 0
    out = capsys.readouterr().out
    assert "nothing simulated" in out
    assert "first to saturate: app cores at 2.5x the load (3750/s)" in out


def test_estimate_json_applies_set(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(MODELS / "mmc.yaml")
    assert main(["estimate", spec, "--json", "--set", "workload.arrival.rate=200/s"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["rate"] == 200
    assert d["components"]["app"]["utilization"] == pytest.approx(0.5)
    assert d["bottleneck"]["headroom"] == pytest.approx(2.0)


def test_estimate_bad_spec_exits_2_with_the_path(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(MODELS / "mmc.yaml")
    assert main(["estimate", spec, "--set", "components.app.cores=0"]) == 2
    err = capsys.readouterr().err
    assert "components.app.cores: must be >= 1" in err
    assert "Traceback" not in err
    assert main(["estimate", spec, "--json", "--set", "components.app.cores=0"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["kind"] == "spec"

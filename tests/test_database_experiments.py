"""Each database experiment runs end to end with ``--quick`` and writes its files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SCRIPTS = [
    "indexing_io",
    "n_plus_one",
    "pagination",
    "connection_pooling",
    "read_replicas",
    "sharding_hotspots",
]


@pytest.mark.parametrize("name", SCRIPTS)
def test_experiment_runs_quick(name: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments" / f"{name}.py"),
            "--quick",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / f"{name}.csv").stat().st_size > 0
    assert "plotly" in (tmp_path / f"{name}.html").read_text()
    boundaries = json.loads((tmp_path / f"{name}.json").read_text())
    assert boundaries and all(key in proc.stdout for key in boundaries)

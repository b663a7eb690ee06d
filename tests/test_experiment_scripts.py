"""Every experiment script runs end to end on a short horizon."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def test_engine_speed_prints_ratios() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments" / "engine_speed.py"),
            "--requests",
            "2000",
            "--repeats",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(proc.stdout)
    assert [r["model"] for r in rows] == ["mm1", "tandem"]
    assert all(r["ratio"] > 0 for r in rows)

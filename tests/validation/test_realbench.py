"""The real stack (realbench/): measured at two loads, calibrated from the lower, the
higher one predicted. Skips when PostgreSQL, Redis or gunicorn are not installed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from realbench import bench, servers


@pytest.mark.validate
@pytest.mark.realbench
def test_realbench_short(tmp_path: Path) -> None:
    python = os.environ.get("REALBENCH_PYTHON", sys.executable)
    try:
        servers.check_installed(python)
    except servers.ServersMissing as exc:
        pytest.skip(f"realbench cannot run: {exc}")
    argv = ["--loads", "0.2,0.6", "--seconds", "30", "--rounds", "4", "--warmup", "200"]
    argv += ["--simulated", "50000"]
    assert bench.main([*argv, "--server-python", python, "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "accuracy.csv").set_index(["load", "percentile"])
    # the calibration load's median is the fitted model's own: within 10%
    assert abs(table.loc[(0.2, "p50"), "error"]) < 0.10
    # the other load: within the 10% target plus twice the measured percentile's own
    # spread (bootstrap over its 4 blocks), which a 30 s measurement cannot narrow; p99
    # of 30 s is too unstable to assert on
    for percentile in ("p50", "p95"):
        row = table.loc[(0.6, percentile)]
        assert abs(row["error"]) < 0.10 + 2 * row["spread"], row

"""``experiments/memory_scaling.py --fast --quick`` runs and reports the fast path's
memory ratio and its folded p99 against the exact one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def test_memory_scaling_fast_runs_quick(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = ROOT / "experiments" / "memory_scaling.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--fast", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT / "experiments",
    )
    frame = pd.read_csv(tmp_path / "memory_scaling_fast.csv")
    assert list(frame["engine"]) == ["fast"] * 3
    short, capped, exact = frame.itertuples()
    assert capped.requests == 10 * short.requests and capped.records_kept == short.requests
    assert not capped.exact and exact.exact
    assert abs(capped.p99 - exact.p99) <= 0.01 * exact.p99  # the stated relative error
    assert "fast_path_rss_ratio_long_over_short" in proc.stdout

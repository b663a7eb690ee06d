"""What the caching experiments share: arguments, running a sweep, saving CSV and HTML."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

import simperf

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"


def parser(doc: str) -> argparse.ArgumentParser:
    """Arguments every caching experiment takes."""
    p = argparse.ArgumentParser(
        description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="a tiny grid and horizon (smoke test)")
    p.add_argument("--replications", type=int, default=None, help="runs per grid point")
    p.add_argument("--workers", type=int, default=1, help="processes (default 1: serial)")
    p.add_argument("--seed", type=int, default=1, help="root seed")
    p.add_argument("--out", type=Path, default=ROOT / "results", help="output directory")
    return p


def run_points(
    scenario: simperf.Scenario, points: list[dict[str, Any]], args: argparse.Namespace, reps: int
) -> pd.DataFrame:
    """Every point ``reps`` times on common random numbers; failed runs stop the script."""
    started = time.perf_counter()
    frame = simperf.sweep(
        scenario,
        points,
        replications=reps,
        seed=args.seed,
        executor="serial" if args.workers <= 1 else "processes",
        workers=args.workers,
        progress=False,
    )
    errors = frame[frame["status"] != "ok"]
    if len(errors):
        sys.exit(f"{len(errors)} run(s) failed, e.g.: {errors['error'].iloc[0]}")
    print(f"{len(frame)} runs in {time.perf_counter() - started:.0f} s")
    return frame


def save(frame: pd.DataFrame, figure: Any, name: str, out: Path) -> tuple[Path, Path]:
    """Write ``name.csv`` and a self-contained ``name.html`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    csv, html = out / f"{name}.csv", out / f"{name}.html"
    frame.to_csv(csv, index=False)
    figure.write_html(html, include_plotlyjs=True)
    print(f"wrote {csv} and {html}")
    return csv, html


def means(frame: pd.DataFrame, by: list[str], metrics: dict[str, str]) -> pd.DataFrame:
    """Mean over replications of each metric per point, columns renamed ``{path: name}``."""
    table = frame.groupby(by, sort=True)[list(metrics)].mean().reset_index()
    return table.rename(columns=metrics)


def fmt(value: float | None, spec: str = ".3f") -> str:
    """A number for a table, or ``-``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)

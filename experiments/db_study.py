"""Plumbing shared by the database experiments: arguments, a base database, runs, files.

Each experiment script builds scenarios as plain dicts, runs them (serially: the machine
is shared), writes ``results/<name>.csv`` and ``results/<name>.html`` (plotly, loading
plotly.js from its CDN) and prints the boundary it measured. ``--quick`` runs a tiny grid
on a short horizon, for the smoke test.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import simperf

ROOT = Path(__file__).resolve().parent.parent


def arguments(description: str) -> argparse.Namespace:
    """--quick, --out, --seed and --replications, parsed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny grid, short horizon")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "results", help="directory for CSV and HTML"
    )
    parser.add_argument("--seed", type=int, default=1, help="root seed")
    parser.add_argument(
        "--replications", type=int, default=None, help="replications per point (default 2)"
    )
    args = parser.parse_args()
    if args.replications is None:
        args.replications = 1 if args.quick else 2
    return args


def database(**changes: Any) -> dict[str, Any]:
    """A database spec: 8 cores, 1 GiB buffer pool, 100 us / 10k IOPS storage."""
    spec: dict[str, Any] = {
        "kind": "database",
        "primary": {
            "cores": 8,
            "memory": "1GiB",
            "storage": {"read_latency": "100us", "write_latency": "200us", "iops": "10k/s"},
            "max_connections": 500,
        },
        "rtt": "300us",
        "tables": {},
        "queries": {},
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    return spec


def app(endpoints: dict[str, list[Any]], pool: int | None = 16, **extra: Any) -> dict[str, Any]:
    """An app server (4 cores, 256 workers) with a pool to ``db`` unless ``pool`` is None."""
    spec: dict[str, Any] = {
        "kind": "app_server",
        "cores": 4,
        "workers": 256,
        "endpoints": endpoints,
        **extra,
    }
    if pool is not None:
        spec["pool"] = {"database": "db", "size": pool, "max_wait": "1s"}
    return spec


def scenario(
    name: str,
    components: dict[str, Any],
    classes: list[dict[str, Any]],
    *,
    rate: float | None = None,
    users: int | None = None,
    duration: float,
    warmup: float = 1.0,
    keyspaces: dict[str, Any] | None = None,
) -> simperf.Scenario:
    """A scenario: open loop at ``rate``, or ``users`` sending one request after another."""
    if users is not None:
        workload: dict[str, Any] = {"users": users, "classes": classes}
    else:
        workload = {"arrival": {"kind": "poisson", "rate": rate}, "classes": classes}
    return simperf.from_dict(
        {
            "name": name,
            "keyspaces": keyspaces or {},
            "workload": workload,
            "components": copy.deepcopy(components),
            "run": {"duration": duration, "warmup": warmup},
        }
    )


def measure(s: simperf.Scenario, args: argparse.Namespace) -> list[dict[str, Any]]:
    """``to_dict()`` of each replication (run one after another in this process)."""
    return [
        simperf.run(s, seed=args.seed, replication=r).to_dict() for r in range(args.replications)
    ]


def mean(runs: list[dict[str, Any]], path: str) -> float:
    """Mean over replications of a dotted metric (NaN where none has a sample)."""
    values = []
    for run in runs:
        node: Any = run
        for part in path.split("."):
            node = node[part]
        values.append(np.nan if node is None else float(node))
    return float(np.nanmean(values)) if not all(math.isnan(v) for v in values) else math.nan


def crossing(x: list[float], y: list[float], level: float, *, log_x: bool = False) -> float | None:
    """First ``x`` where ``y`` crosses ``level`` (linear interpolation, in log x if asked)."""
    for i in range(1, len(x)):
        a, b = y[i - 1] - level, y[i] - level
        if a == 0:
            return x[i - 1]
        if a * b < 0 or b == 0:
            u = a / (a - b)
            if log_x:
                return float(
                    math.exp(math.log(x[i - 1]) + u * (math.log(x[i]) - math.log(x[i - 1])))
                )
            return float(x[i - 1] + u * (x[i] - x[i - 1]))
    return None


def save(name: str, frame: pd.DataFrame, figure: Any, args: argparse.Namespace) -> Path:
    """Write ``<name>.csv`` and ``<name>.html`` into ``--out``; return the CSV path."""
    args.out.mkdir(parents=True, exist_ok=True)
    csv = args.out / f"{name}.csv"
    frame.to_csv(csv, index=False)
    figure.write_html(args.out / f"{name}.html", include_plotlyjs="cdn")
    return csv


def conclude(name: str, boundaries: dict[str, Any], args: argparse.Namespace) -> None:
    """Print the boundaries and write them to ``<name>.json`` next to the CSV."""
    (args.out / f"{name}.json").write_text(json.dumps(boundaries, indent=2, default=float) + "\n")
    print(f"{name}: {'quick' if args.quick else 'full'} run, seed {args.seed}", file=sys.stderr)
    for key, value in boundaries.items():
        print(f"  {key}: {value}")

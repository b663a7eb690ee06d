"""What does request tracing cost: CPU time of a run with tracing off, at the default
sample (1%) and at 100%, and with the CPU profile (``run.profile``)?

Runs ``models/mm1.yaml`` and ``models/tandem.yaml`` (the engine-speed models) for the
same requests and seed with ``run.trace`` off, ``{sample: 0.01}`` and ``{sample: 1}``,
and with ``run.profile: true`` (untraced), the settings interleaved within each repeat
so that machine noise hits them alike, and keeps each setting's least CPU time (the
least disturbed) of the whole ``simperf.run``: building, simulating and summarising,
the traces' tables included. CPU time, not wall time, because the machine is shared:
waiting for a core is no cost. The run's measured results are identical in all four
(tracing draws from a stream of its own and schedules no event; the profile only counts
what the cpu steps draw); only the time to produce them differs. The overhead is the
CPU time over the untraced one, minus 1; the question's bar: under 20% at the default
sample and with the profile.

With ``--instructions`` it counts instructions instead, which this shared host's noise
cannot move: each run in a subprocess under ``valgrind --tool=callgrind`` (some 50 times
slower, so fewer requests), twice per setting, ``SMALL`` and ``LARGE`` requests; the
difference over ``LARGE - SMALL`` is the instructions per simulated request, start-up and
imports cancelled. The whole run (build, simulation, summary) is the count at ``LARGE``
less that of a process that only imports and loads the model. One setting runs a second
time: the two counts show how repeatable a count is.

Usage: ``python experiments/tracing_cost.py [--quick] [--instructions] [--out results]
[--seed 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import ROOT, conclude, save

import simperf

MODELS = Path(__file__).resolve().parent.parent / "models"
SETTINGS: dict[str, dict[str, Any]] = {
    "off": {},
    "1%": {"run.trace": {"sample": 0.01}},
    "100%": {"run.trace": {"sample": 1.0}},
    "profile": {"run.profile": True},
}
"""Each setting's overrides of the run."""


def overrides(requests: int, setting: dict[str, Any]) -> dict[str, Any]:
    """The run's overrides: ``requests`` on the event engine, with ``setting``."""
    return {
        "run.duration": None,
        "run.warmup": 0,
        "run.requests": requests,
        # the fast path refuses traces and profiles: compare like with like
        "run.engine": "events",
        **setting,
    }


def cpu_time(model: str, requests: int, setting: dict[str, Any], seed: int) -> float:
    """CPU seconds of one run of ``model`` for ``requests`` with the ``setting`` overrides."""
    scenario = simperf.load(MODELS / f"{model}.yaml").with_overrides(overrides(requests, setting))
    started = time.process_time()
    simperf.run(scenario, seed=seed)
    return time.process_time() - started


def measure(requests: int, repeats: int, seed: int) -> pd.DataFrame:
    rows = []
    for model in ("mm1", "tandem"):
        times: dict[str, list[float]] = {name: [] for name in SETTINGS}
        for _ in range(repeats):
            for name, setting in SETTINGS.items():
                times[name].append(cpu_time(model, requests, setting, seed))
        base = min(times["off"])
        for name in SETTINGS:
            best = min(times[name])
            rows.append(
                {
                    "model": model,
                    "trace": name,
                    "requests": requests,
                    "cpu_time": best,
                    "requests_per_second": requests / best,
                    "overhead": best / base - 1.0,
                }
            )
    return pd.DataFrame(rows)


CHILD = """
import json, sys
import simperf
scenario = simperf.load(sys.argv[1]).with_overrides(json.loads(sys.argv[2]))
import simperf.experiment.run  # imported by simperf.run: not the run's own cost
if sys.argv[4] == "run":
    simperf.run(scenario, seed=int(sys.argv[3]))
"""
"""The process counted: load the model and, unless only importing, run it."""


def instructions(
    model: str, requests: int, setting: dict[str, Any], seed: int, run: bool = True
) -> int:
    """Instructions callgrind counts in a process running ``model`` (or only loading it)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # same hashes, same dict orders: same count
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-c",
                CHILD,
                str(MODELS / f"{model}.yaml"),
                json.dumps(overrides(requests, setting)),
                str(seed),
                "run" if run else "load",
            ],
            env=env,
            capture_output=True,
            check=True,
        )
        totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
    assert totals is not None, "callgrind wrote no total"
    return int(totals.group(1))


def count(small: int, large: int, seed: int, jobs: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Instructions per simulated request and of the whole run, per model and setting;
    and one setting counted twice (its two counts). ``jobs`` processes at a time: a
    count does not depend on what else runs."""
    models = ("mm1", "tandem")
    runs: list[tuple[str, int, str, bool]] = [(m, large, "off", False) for m in models]
    runs += [(m, n, name, True) for m in models for name in SETTINGS for n in (small, large)]
    runs.append(("mm1", small, "1%", True))  # again: how repeatable a count is
    with ThreadPoolExecutor(jobs) as pool:
        counts = list(
            pool.map(lambda r: instructions(r[0], r[1], SETTINGS[r[2]], seed, run=r[3]), runs)
        )
    loaded = dict(zip(models, counts[: len(models)], strict=True))
    at = dict(zip(runs[len(models) : -1], counts[len(models) : -1], strict=True))
    rows = []
    for model in models:
        for name in SETTINGS:
            at_small, at_large = at[(model, small, name, True)], at[(model, large, name, True)]
            rows.append(
                {
                    "model": model,
                    "trace": name,
                    "small": small,
                    "large": large,
                    "instructions_small": at_small,
                    "instructions_large": at_large,
                    "instructions_loaded": loaded[model],
                    "per_request": (at_large - at_small) / (large - small),
                    "whole_run": at_large - loaded[model],
                }
            )
    frame = pd.DataFrame(rows)
    for column in ("per_request", "whole_run"):
        off = frame.groupby("model")[column].transform("first")  # "off" comes first
        frame[f"{column}_overhead"] = frame[column] / off - 1.0
    first, again = at[("mm1", small, "1%", True)], counts[-1]
    repeat = {
        "setting": f"mm1 1% {small:,} requests",
        "counts": [first, again],
        "difference": again / first - 1.0,
    }
    return frame, repeat


def figure(frame: pd.DataFrame, column: str, title: str, axis: str) -> go.Figure:
    """One bar per model and setting of ``column`` (rates or instruction counts)."""
    fig = go.Figure()
    for name in SETTINGS:
        rows = frame[frame["trace"] == name]
        label = name if name in ("off", "profile") else f"trace {name}"
        fig.add_bar(x=rows["model"], y=rows[column], name=label)
    fig.update_layout(title=title, yaxis_title=axis, barmode="group")
    return fig


def arguments() -> argparse.Namespace:
    """--quick, --instructions, --out and --seed, parsed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few requests, one repeat")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions under callgrind"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "results", help="directory for CSV and HTML"
    )
    parser.add_argument("--seed", type=int, default=1, help="root seed")
    parser.add_argument(
        "--jobs", type=int, default=1, help="callgrind processes at a time (--instructions)"
    )
    return parser.parse_args()


def main() -> None:
    args = arguments()
    if args.instructions:
        small, large = (200, 600) if args.quick else (10_000, 30_000)
        frame, repeat = count(small, large, args.seed, args.jobs)
        save(
            "tracing_instructions",
            frame,
            figure(
                frame,
                "per_request",
                "Instructions per simulated request (callgrind): tracing off, 1%, 100%; profile",
                "instructions per request",
            ),
            args,
        )
        conclude(
            "tracing_instructions",
            {
                **{
                    f"{r.model} {r.trace}": (
                        f"{r.per_request:,.0f} instructions per request "
                        f"({r.per_request_overhead:+.2%}), whole run {r.whole_run:,} "
                        f"({r.whole_run_overhead:+.2%})"
                    )
                    for r in frame.itertuples()
                },
                "repeated": (
                    f"{repeat['setting']}: {repeat['counts']} ({repeat['difference']:+.4%})"
                ),
            },
            args,
        )
        return
    requests, repeats = (2_000, 1) if args.quick else (200_000, 5)
    frame = measure(requests, repeats, args.seed)
    save(
        "tracing_cost",
        frame,
        figure(
            frame,
            "requests_per_second",
            "Simulated requests per CPU second: tracing off, 1%, 100%; the CPU profile",
            "requests per second",
        ),
        args,
    )
    conclude(
        "tracing_cost",
        {
            f"{r.model} {r.trace}": (
                f"{r.requests_per_second:,.0f} requests/s, overhead {r.overhead:+.1%}"
            )
            for r in frame.itertuples()
        },
        args,
    )


if __name__ == "__main__":
    main()

"""What the end-of-run summary costs: CPU seconds of ``summarise`` on executed models.

Each case builds a scenario with ``run.duration: None``, ``run.warmup: 0`` and a budget of
requests, executes it once (the exact fast path, or the event engine), then times
:func:`simperf.experiment.run.summarise` on that executed model ``--repeats`` times and
keeps the least CPU time (``time.process_time``: a shared machine stretches wall times,
not CPU times). The summary only reads the executed model, so every repeat summarises
the same run. Cases: mm1, mmc (M/M/4) and tandem at 1M requests on the fast path, mm1 at
200k on the event engine, and read_replicas and cache_aside at 200k on the event engine.

Usage: ``python experiments/summary_cost.py [--repeats 5] [--only mm1,...] [--profile]``
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from pathlib import Path
from typing import Any

import simperf
from simperf import fastpath
from simperf.build import build
from simperf.experiment.run import summarise

MODELS = Path(__file__).resolve().parent.parent / "models"
# (label, model, requests, engine)
CASES = (
    ("mm1", "mm1", 1_000_000, "fast"),
    ("mmc", "mmc", 1_000_000, "fast"),
    ("tandem", "tandem", 1_000_000, "fast"),
    ("mm1-events", "mm1", 200_000, "events"),
    ("read_replicas", "read_replicas", 200_000, "events"),
    ("cache_aside", "cache_aside", 200_000, "events"),
)


def executed(model_name: str, requests: int, engine: str, seed: int) -> Any:
    """A model of ``models/<model_name>.yaml`` run to its end on ``engine``."""
    scenario = simperf.load(MODELS / f"{model_name}.yaml").with_overrides(
        {"run.duration": None, "run.warmup": 0, "run.requests": requests, "run.engine": engine}
    )
    model = build(scenario, seed=seed)
    return fastpath.execute(model) if engine == "fast" else model.execute()


def summary_seconds(model: Any, engine: str, repeats: int) -> float:
    """The least CPU seconds of ``repeats`` summaries of one executed model."""
    best = float("inf")
    for _ in range(repeats):
        cpu = time.process_time()
        summarise(model, engine=engine)
        best = min(best, time.process_time() - cpu)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated case labels")
    parser.add_argument("--profile", action="store_true", help="cProfile one summary each")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    try:  # numba's kernels, when installed: loaded before, not timed
        from simperf.fastpath.recursions import load

        load()
    except ImportError:
        pass
    print(f"{'case':<15} {'requests':>9} {'engine':>7} {'summary CPU s':>14}")
    for label, name, requests, engine in CASES:
        if wanted and label not in wanted:
            continue
        model = executed(name, requests, engine, args.seed)
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(summarise, model, engine=engine)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
            continue
        seconds = summary_seconds(model, engine, args.repeats)
        print(f"{label:<15} {requests:>9} {engine:>7} {seconds:>14.4f}", flush=True)


if __name__ == "__main__":
    main()

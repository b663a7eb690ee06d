"""Memory against run length: does a run ten times longer need more memory?

``models/mm1.yaml`` (Poisson 90/s into one core at 90% busy, 5 s warm-up) runs to a
request budget (``run.requests``) of 1M and 10M requests, each in its own process, which reports its
peak resident memory (``ru_maxrss``: interpreter and libraries included) and wall time.
Past ``run.keep_requests`` (default 1M) requests are no longer kept as records but
counted by window, class, outcome and latency bucket, so the 10M run should hold about
what the 1M one does; a third run keeps all 10M records, the memory the cap saves.
Python's own allocations (``tracemalloc`` peak, run and summary) are measured on a
ladder ten times shorter with the cap scaled with it (100k and 1M requests, 100k kept):
``tracemalloc`` slows a run about tenfold. Each capped run's p99 is compared with the
exact one (its records kept): it must lie within the stated 1%.

With ``--fast`` the same ladder runs on the exact fast path (``run.engine: fast``): 1M
and 10M requests with 1M records kept, and 10M with all kept for the exact p99 (2k, 20k
and 20k with ``--quick``), with numba's kernels (the extra ``fast``) loaded before each run
alike: a run past ``recursions.LOAD_FROM`` requests loads them itself, a one-off cost of the
library (``rss_before_run_mib``), not of the run's length. It simulates in rounds and
folds records and waits past the cap as the event engine does, so the 10M run should hold
about what the 1M one does.

With ``--model NAME`` the event engine's ladder runs on ``models/NAME.yaml`` instead (a
database model, say ``read_replicas``: its per-client and per-key state must not grow
with the run either): the same 1M and 10M requests with 1M kept, and the same traced
ladder, but no run keeping all 10M records and no fast path
(``results/memory_scaling_NAME.*``).

Usage: ``python experiments/memory_scaling.py [--quick] [--fast | --model NAME] [--out results]
[--seed 1]``
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pandas as pd

import simperf

ROOT = Path(__file__).resolve().parent.parent
MODEL = "mm1"  # models/<MODEL>.yaml, unless --model names another
TARGET = 1.2  # the longer run's peak memory, at most this times the shorter one's
MIB = 1024.0  # ru_maxrss is in KiB on Linux
WARMUP = 5.0  # seconds: the quick runs are shorter than the model's 50 s


def child(
    requests: int, keep: int, traced: bool, seed: int, engine: str = "events", model: str = MODEL
) -> dict[str, Any]:
    """One run, measured in this process (called with ``--child``)."""
    scenario = simperf.load(ROOT / "models" / f"{model}.yaml").with_overrides(
        {
            "run.duration": None,
            "run.requests": requests,
            "run.keep_requests": keep,
            "run.warmup": WARMUP,
            "run.engine": engine,
            # a database model's 10M requests pass the default run-size guard (1e8 events)
            "run.max_events": 1e9,
        }
    )
    if engine == "fast":
        # numba's kernels, loaded in every fast run alike: a run past LOAD_FROM requests
        # loads them itself, so the 10M run alone would count the library's one-off
        # memory as growth with the run's length
        from simperf.fastpath.recursions import load

        load()
    libraries = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    result = simperf.run(scenario, seed=seed)
    wall = time.perf_counter() - started
    row = result.data["latency"]["all"]
    return {
        "model": model,
        "requests": requests,
        "keep_requests": keep,
        "traced": traced,
        "engine": engine,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB,
        "rss_before_run_mib": libraries,
        "numba_loaded": engine == "fast" and numba_loaded(),
        "tracemalloc_peak_mib": tracemalloc.get_traced_memory()[1] / 2**20 if traced else None,
        "wall_time": wall,
        "exact": row.get("exact", True),
        "p99": row["p99"],
        "mean": row["mean"],
        "records_kept": len(result.requests),
    }


def numba_loaded() -> bool:
    """Whether the fast path's compiled kernels are loaded in this process."""
    from simperf.fastpath.recursions import compiled

    return compiled() is not None


def measure(
    requests: int, keep: int, traced: bool, seed: int, engine: str = "events", model: str = MODEL
) -> dict[str, Any]:
    """:func:`child` in a fresh interpreter, so that peaks are the run's own."""
    command = [sys.executable, __file__, "--child", str(requests), str(keep), str(int(traced))]
    proc = subprocess.run(
        [*command, str(seed), engine, model], capture_output=True, text=True, check=True, cwd=ROOT
    )
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"  {model}, {engine}: {requests:>10,} requests, {keep:>10,} kept"
        f"{' (traced)' if traced else ''}: "
        f"rss {row['peak_rss_mib']:.1f} MiB, traced {row['tracemalloc_peak_mib']}, "
        f"{row['wall_time']:.1f} s",
        file=sys.stderr,
    )
    return row


def figure(frame: pd.DataFrame, model: str = MODEL) -> Any:
    """Peak memory against requests: resident (left), Python allocations (right)."""
    from plotly.subplots import make_subplots  # not in the measured child processes

    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("peak resident memory (MiB)", "tracemalloc peak (MiB)")
    )
    for (engine, keep, traced), group in frame.groupby(["engine", "keep_requests", "traced"]):
        metric = "tracemalloc_peak_mib" if traced else "peak_rss_mib"
        fig.add_scatter(
            x=group["requests"], y=group[metric], mode="lines+markers",
            name=f"{engine}, keep_requests {keep:,}" + (" (traced)" if traced else ""),
            row=1, col=2 if traced else 1,
        )  # fmt: skip
    fig.update_xaxes(type="log", title_text="requests in the run")
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(title=f"Memory against run length: {model}, records past the cap folded")
    return fig


def main() -> None:
    from db_study import arguments, conclude, save

    # options of this script only: the shared parser does not know them
    fast_only = "--fast" in sys.argv
    if fast_only:
        sys.argv.remove("--fast")
    model = MODEL
    if "--model" in sys.argv:
        at = sys.argv.index("--model")
        model = sys.argv[at + 1]
        del sys.argv[at : at + 2]
    args = arguments(__doc__.splitlines()[0])
    if fast_only:
        fast_ladder(args, save, conclude)
        return
    # every record of 10M kept and the fast path: the default model's measures only
    default = model == MODEL
    if args.quick:  # two small traced runs, the longer one past its cap
        runs = [(2_000, 2_000, True), (20_000, 2_000, True)]
    else:
        short, long = 1_000_000, 10_000_000
        runs = [(short, short, False), (long, short, False)]
        runs += [(long, long, False)] if default else []
        runs += [(short // 10, short // 10, True), (short, short // 10, True)]
    rows = [measure(n, k, t, args.seed, model=model) for n, k, t in runs]
    fast = (
        []
        if args.quick or not default
        else [measure(n, 1_000_000, False, args.seed, "fast") for n in (1_000_000, 10_000_000)]
    )
    frame = pd.DataFrame(rows + fast)
    name = "memory_scaling" if default else f"memory_scaling_{model}"
    save(name, frame, figure(frame, model), args)
    plain = [r for r in rows if not r["traced"]] or rows[:2]
    traced = [r for r in rows if r["traced"]]
    short, capped = plain[0], plain[1]
    boundaries: dict[str, Any] = {
        "peak_rss_mib": {f"{r['requests']}/{r['keep_requests']}": r["peak_rss_mib"] for r in rows},
        "rss_ratio_long_over_short": capped["peak_rss_mib"] / short["peak_rss_mib"],
        "within_target": capped["peak_rss_mib"] <= TARGET * short["peak_rss_mib"],
        "tracemalloc_peak_mib": [r["tracemalloc_peak_mib"] for r in traced],
        "tracemalloc_ratio": traced[1]["tracemalloc_peak_mib"] / traced[0]["tracemalloc_peak_mib"],
    }
    if not args.quick and default:
        boundaries["rss_ratio_all_records_kept"] = plain[2]["peak_rss_mib"] / short["peak_rss_mib"]
        boundaries["fast_path_peak_rss_mib"] = [r["peak_rss_mib"] for r in fast]
        boundaries["fast_path_rss_ratio"] = fast[1]["peak_rss_mib"] / fast[0]["peak_rss_mib"]
    for capped_row in (r for r in rows if not r["exact"]):
        exact_row = next(
            (r for r in rows if r["exact"] and r["requests"] == capped_row["requests"]), None
        )
        if exact_row is not None:  # the same run with every record kept
            n = capped_row["requests"]
            for key in ("p99", "mean"):
                error = abs(capped_row[key] - exact_row[key]) / exact_row[key]
                boundaries[f"{key}_relative_error_at_{n}"] = error
    conclude(name, boundaries, args)


def fast_ladder(args: Any, save: Any, conclude: Any) -> None:
    """``--fast``: peak memory of the fast path at 1M and 10M requests (1M kept), and
    the folded p99 against the exact one (10M kept)."""
    short, long = (2_000, 20_000) if args.quick else (1_000_000, 10_000_000)
    runs = [(short, short), (long, short), (long, long)]
    rows = [measure(n, k, False, args.seed, "fast") for n, k in runs]
    frame = pd.DataFrame(rows)
    save("memory_scaling_fast", frame, figure(frame), args)
    first, capped, exact = rows
    ratio = capped["peak_rss_mib"] / first["peak_rss_mib"]
    boundaries: dict[str, Any] = {
        "fast_path_peak_rss_mib": {
            f"{r['requests']}/{r['keep_requests']}": r["peak_rss_mib"] for r in rows
        },
        "fast_path_rss_ratio_long_over_short": ratio,
        "within_target": ratio <= TARGET,
        "wall_time_s": [round(r["wall_time"], 2) for r in rows],
    }
    for key in ("p99", "mean"):
        error = abs(capped[key] - exact[key]) / exact[key]
        boundaries[f"{key}_relative_error_at_{long}"] = error
    conclude("memory_scaling_fast", boundaries, args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        n, k, t, seed = (int(v) for v in sys.argv[2:6])
        print(json.dumps(child(n, k, bool(t), seed, *sys.argv[6:8])))
    else:
        main()

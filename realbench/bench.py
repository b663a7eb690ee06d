"""``make realbench``: measure the real stack at several loads, calibrate simperf from the
lowest, predict the others, print predicted against measured p50/p95/p99.

Loads are fractions of the bottleneck's (the single gunicorn worker's) capacity: the
inverse of its time per request kept busy by three closed-loop clients, each request
burning the mean CPU demand; the utilisation each level really reached is what the
calibration reports.
Everything goes to 127.0.0.1 and every server started is stopped at the end, also on
failure or Ctrl-C.

Usage::

    python -m realbench.bench [--loads 0.2,0.4,0.6,0.75] [--seconds 150] [--rounds 6]
                              [--no-pin] [--no-realtime] [--out DIR]
    python -m realbench.bench --from-log DIR/requests.csv   # calibrate a saved log again

The levels run in interleaved blocks; blocks that the rule of :mod:`realbench.blocks`
finds disturbed are left out, and each measured percentile's spread is a bootstrap over
the level's blocks.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from realbench import blocks, loadgen, servers
from simperf.calibrate import Calibration, calibrate
from simperf.calibrate.core import PERCENTILES
from simperf.plots.calibration import fit_quantiles, predicted_vs_measured

# The first seconds of a level start from an empty server: a transient, not the
# steady state the model predicts (at 0.75 utilisation it relaxes in well under 1 s).
SETTLE = 2.0


TIME_COLUMNS = ("timestamp", "sent", "server_start", "server_end")


SERVERS_PRIORITY = 20
"""Real-time (``SCHED_FIFO``) priority of the servers with ``--realtime``."""
GENERATOR_PRIORITY = 10
"""And of the load generator: below the servers, which share its CPU (a same-priority
FIFO task would hold the CPU through its spin before each send)."""


@contextlib.contextmanager
def _isolated(pin: bool, realtime: bool) -> Iterator[int | None]:
    """Keep this process (and the servers it starts) off the last CPU, which is left to
    the worker, and with ``realtime`` run it at real-time priority (inherited by the
    servers), so that other jobs on a shared machine take CPU from neither. Yields the
    worker's CPU (None when not pinning: one CPU, or ``--no-pin``); this process's CPUs
    and scheduling are restored on exit."""
    cpus = os.sched_getaffinity(0)
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    worker = max(cpus) if pin and len(cpus) > 1 else None
    try:
        if worker is not None:
            os.sched_setaffinity(0, cpus - {worker})
        if realtime:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(SERVERS_PRIORITY))
            except OSError as exc:
                print(f"realbench: no real-time priority ({exc})", file=sys.stderr)
        yield worker
    finally:
        os.sched_setscheduler(0, policy, param)
        os.sched_setaffinity(0, cpus)


def measure(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the stack at every load; the request log of all levels and one row per block.

    The levels are interleaved: ``args.rounds`` rounds, each visiting every load for its
    share of the requests and time (one *block*). A shared machine's speed drifts over
    minutes, and other work comes and goes: in rounds, every level sees the same drift
    and its share of the disturbances. Within a round every level gets the same send
    times (scaled to its rate) and the same CPU demands (common random numbers), so the
    levels differ in their load only. Each block records what disturbed it
    (:mod:`realbench.blocks`).
    """
    parts: dict[float, list[pd.DataFrame]] = {load: [] for load in args.loads}
    rows: list[dict[str, float]] = []
    count = max(args.requests // args.rounds, 1)
    seconds = args.seconds / args.rounds
    with (
        _isolated(args.pin, args.realtime) as worker_cpu,
        servers.stack(args.server_python, args.cpu_ms, workers=1, worker_cpu=worker_cpu) as running,
    ):
        if os.sched_getscheduler(0) == os.SCHED_FIFO:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(GENERATOR_PRIORITY))
        demand = args.cpu_ms / 1e3
        warm = loadgen.sequential(running.port, args.warmup // 2, demand=demand)
        # the capacity from the worker kept busy (the gaps between its successive ends),
        # each request burning the mean demand: a sequential request's latency read 5.96
        # to 7.78 ms in four runs (idle wake-ups, the client's part, random demands) and
        # put the level named 0.75 anywhere from 0.66 to 0.87 of the worker's capacity
        busy = loadgen.saturated(running.port, args.warmup, demand=demand)
        ends = np.sort([r.server_end for r in busy if r.status == 200])[args.warmup // 2 :]
        service = float(np.mean(np.diff(ends)))
        pid = warm[-1].worker
        print(
            f"realbench: the worker's time per request kept busy {service * 1e3:.2f} ms "
            f"(sequential latency {np.mean([r.latency for r in warm]) * 1e3:.2f} ms); worker "
            + (f"pinned to CPU {worker_cpu}" if worker_cpu is not None else "not pinned"),
            file=sys.stderr,
        )
        for round_ in range(args.rounds):
            demands = loadgen.cpu_demands(args.cpu_ms / 1e3, count, seed=round_)
            for load in args.loads:
                rate = load / service
                before = None if worker_cpu is None else blocks.cpu_sample(worker_cpu, pid)
                records = loadgen.generate(
                    running.port, rate, count, seconds + SETTLE, seed=1 + round_, demands=demands
                )
                after = None if worker_cpu is None else blocks.cpu_sample(worker_cpu, pid)
                frame = pd.DataFrame([asdict(r) for r in records])
                frame = frame[frame["timestamp"] >= frame["timestamp"].min() + SETTLE]
                row = {
                    "round": round_,
                    "load": load,
                    "rate": rate,
                    "requests": len(frame),
                    "late": loadgen.late(records) / max(len(records), 1),
                    "waited": float("nan"),
                    "foreign": float("nan"),
                }
                if before is not None and after is not None:
                    row["waited"] = blocks.waited_share(before, after)
                    row["foreign"] = blocks.foreign_share(before, after)
                rows.append(row)
                print(
                    f"realbench: round {round_ + 1}/{args.rounds}, load {load:g} at "
                    f"{rate:.1f}/s: {len(frame)} requests, {row['late']:.1%} sent late, "
                    f"worker waited for its CPU {row['waited']:.2%} of the time, "
                    f"its CPU on other work {row['foreign']:.1%}",
                    file=sys.stderr,
                )
                parts[load].append(_as_log(frame.assign(load=load, block=round_)))
                time.sleep(1.0)
    return pd.concat([p for load in args.loads for p in parts[load]]), pd.DataFrame(rows)


def prepare(log: pd.DataFrame, block_rows: pd.DataFrame | None) -> pd.DataFrame:
    """The log to calibrate from: the disturbed blocks left out (the rule of
    :func:`realbench.blocks.disturbed`) and each level's blocks joined on one clock.
    A log without ``block`` is returned as it is."""
    if "block" not in log.columns:
        return log
    if block_rows is not None and len(block_rows):
        out = block_rows.loc[blocks.disturbed(block_rows), ["load", "round"]]
        dropped = set(zip(out["load"], out["round"], strict=True))
        keep = [(a, b) not in dropped for a, b in zip(log["load"], log["block"], strict=True)]
        log = log[keep]
    levels = [
        _contiguous([part for _, part in level.groupby("block")])
        for _, level in log.groupby("load")
    ]
    return pd.concat(levels, ignore_index=True)


def _contiguous(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One level's blocks as if measured back to back: each block's clock is shifted to
    start one mean gap after the previous block's last send, so that rates and arrival
    counts see one stream (server times move with their request's send time)."""
    shifted = [parts[0]]
    for block in parts[1:]:
        last = shifted[-1]["timestamp"]
        gap = float(last.diff().mean()) if len(last) > 1 else 0.0
        offset = float(last.max()) + gap - float(block["timestamp"].min())
        moved = [c for c in TIME_COLUMNS if c in block.columns]
        shifted.append(block.assign(**{c: block[c] + offset for c in moved}))
    return pd.concat(shifted, ignore_index=True)


def _as_log(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: f"time_{c}" for c in ("redis", "postgres", "cpu")})


BATCHES = 5


def spread(log: pd.DataFrame) -> pd.DataFrame:
    """The run-to-run spread of each level's measured percentiles: the 95% half-width,
    relative to the percentile. Over the blocks (a bootstrap, see
    :func:`realbench.blocks.block_spread`) when every level has at least two; otherwise
    over ``BATCHES`` consecutive batches' percentiles (batch means: consecutive
    latencies are correlated, whole batches much less)."""
    if "block" in log.columns and log.groupby("load")["block"].nunique().min() >= 2:
        return blocks.block_spread(log, PERCENTILES)
    rows = []
    for load, level in log.groupby("load"):
        batches = np.array_split(level.sort_values("timestamp")["latency"].to_numpy(), BATCHES)
        values = np.array([np.percentile(b, PERCENTILES) for b in batches])
        half = stats.t.ppf(0.975, BATCHES - 1) * values.std(axis=0, ddof=1) / np.sqrt(BATCHES)
        whole = np.percentile(level["latency"], PERCENTILES)
        for p, h, w in zip(PERCENTILES, half, whole, strict=True):
            rows.append({"load": load, "percentile": f"p{p}", "spread": h / w})
    return pd.DataFrame(rows)


def table(cal: Calibration, log: pd.DataFrame) -> pd.DataFrame:
    """Predicted against measured, one row per load and percentile, with the utilisation
    each level reached and the measured percentile's relative spread."""
    util = cal.levels.set_index("load")["utilisation"]
    frame = cal.accuracy.merge(spread(log), on=["load", "percentile"])
    frame.insert(1, "utilisation", frame["load"].map(util))
    return frame


def _blocks_text(block_rows: pd.DataFrame) -> str:
    out = block_rows.loc[block_rows["disturbed"]]
    lines = [
        f"Blocks: {len(block_rows)}; late sends {block_rows['late'].min():.1%}-"
        f"{block_rows['late'].max():.1%}, worker waiting for its CPU "
        f"{block_rows['waited'].min():.2%}-{block_rows['waited'].max():.2%}, its CPU on "
        f"other work {block_rows['foreign'].min():.1%}-{block_rows['foreign'].max():.1%}; "
        f"left out (waited > {blocks.WAITED_MAX:.0%} or late > {blocks.LATE_MAX:.0%}): "
        f"{len(out)}"
    ]
    lines += [
        f"  load {r.load:g}, round {r.round + 1}: late {r.late:.1%}, waited {r.waited:.2%}"
        for r in out.itertuples()
    ]
    return "\n".join(lines)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", default="0.2,0.4,0.6,0.75", help="fractions of capacity")
    parser.add_argument("--seconds", type=float, default=150.0, help="most time per load")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds of loads")
    parser.add_argument("--requests", type=int, default=9000, help="requests per load")
    parser.add_argument("--cpu-ms", type=float, default=5.0, help="mean CPU demand (exp.)")
    parser.add_argument(
        "--warmup", type=int, default=400, help="warm-up requests (half sequential)"
    )
    parser.add_argument("--server-python", default=sys.executable, help="python with gunicorn")
    parser.add_argument("--out", type=Path, default=Path("results/realbench"))
    parser.add_argument("--from-log", type=Path, help="calibrate this saved log, run nothing")
    parser.add_argument("--simulated", type=int, default=200_000, help="requests simulated")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the worker on a CPU of its own, everything else on the others",
    )
    parser.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="servers and generator at real-time priority, above other jobs",
    )
    args = parser.parse_args(argv)
    # `kill` (SIGTERM) would end Python without running the servers' clean-up: make it an
    # exit that unwinds through it, as Ctrl-C does
    signal.signal(signal.SIGTERM, _terminate)
    args.loads = sorted(float(x) for x in args.loads.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.from_log:
        raw = pd.read_csv(args.from_log)
        saved = args.from_log.parent / "blocks.csv"
        block_rows = pd.read_csv(saved) if saved.exists() else None
        if block_rows is not None:  # an older run's blocks: no run-queue wait measured
            block_rows = block_rows.reindex(
                columns=[*block_rows.columns.drop("waited", errors="ignore"), "waited"]
            )
    else:
        try:
            raw, block_rows = measure(args)
        except servers.ServersMissing as exc:
            print(f"realbench: {exc}", file=sys.stderr)
            return 2
        raw.to_csv(args.out / "requests.csv", index=False)
        block_rows.to_csv(args.out / "blocks.csv", index=False)
    if block_rows is not None:
        block_rows = block_rows.assign(disturbed=blocks.disturbed(block_rows))
        print(_blocks_text(block_rows))
    log = prepare(raw, block_rows)
    cal = calibrate(log, predict_requests=args.simulated)
    print(cal.summary())
    how = "bootstrap over blocks" if "block" in log.columns else "batch means over 5 batches"
    print(f"\nMeasured percentiles' spread (95% half-width, {how})")
    result = table(cal, log)
    for row in result.itertuples():
        print(f"  {row.load:>8g} {row.percentile:>4} ±{row.spread:.1%}")
    result.to_csv(args.out / "accuracy.csv", index=False)
    (args.out / "calibrated.yaml").write_text(cal.to_yaml())
    predicted_vs_measured(result, x="utilisation", base=cal.base).write_html(
        args.out / "accuracy.html"
    )
    fit_quantiles(cal).write_html(args.out / "fits.html")
    worst = result.loc[result["load"] != cal.base, "error"].abs().max()
    print(f"\nworst error above the calibration load: {worst:.1%}; written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

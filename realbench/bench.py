"""``make realbench``: measure the real stack at several loads, calibrate simperf from the
lowest, predict the others, print predicted against measured p50/p95/p99.

Loads are fractions of the bottleneck's (the single gunicorn worker's) capacity: the
first from the mean latency of sequential warm-up requests, the others from the worker's
time per request calibrated at the first; the utilisation each level really reached is
what the calibration reports. Everything goes to 127.0.0.1 and every server
started is stopped at the end, also on failure or Ctrl-C.

Usage::

    python -m realbench.bench [--loads 0.2,0.4,0.6,0.75] [--seconds 60] [--out DIR]
    python -m realbench.bench --from-log DIR/requests.csv   # calibrate a saved log again
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from realbench import loadgen, servers
from simperf.calibrate import Calibration, calibrate
from simperf.calibrate.core import PERCENTILES
from simperf.plots.calibration import fit_quantiles, predicted_vs_measured

# The first seconds of a level start from an empty server: a transient, not the
# steady state the model predicts (at 0.75 utilisation it relaxes in well under 1 s).
SETTLE = 2.0


TIME_COLUMNS = ("timestamp", "server_start", "server_end")


def measure(args: argparse.Namespace) -> pd.DataFrame:
    """Run the stack at every load; the request log of all levels.

    The levels are interleaved: ``args.rounds`` rounds, each visiting every load for its
    share of the requests and time. A shared machine's speed drifts over minutes; in
    rounds, every level sees the same drift instead of the lowest load (the calibration)
    seeing one machine and the highest another.
    """
    blocks: dict[float, list[pd.DataFrame]] = {load: [] for load in args.loads}
    count = max(args.requests // args.rounds, 1)
    seconds = args.seconds / args.rounds
    with servers.stack(args.server_python, args.cpu_ms, workers=1) as running:
        warm = loadgen.sequential(running.port, args.warmup)
        service = float(np.mean([r.latency for r in warm[args.warmup // 2 :]]))
        print(f"realbench: sequential service time {service * 1e3:.2f} ms", file=sys.stderr)
        first_service = service
        for round_ in range(args.rounds):
            for index, load in enumerate(args.loads):
                # the first load keeps its first rate: one stationary level to calibrate from
                rate = load / (first_service if index == 0 else service)
                print(
                    f"realbench: round {round_ + 1}/{args.rounds}, load {load:g} "
                    f"at {rate:.1f} req/s",
                    file=sys.stderr,
                )
                seed = 1 + index + round_ * len(args.loads)
                records = loadgen.generate(running.port, rate, count, seconds + SETTLE, seed=seed)
                frame = pd.DataFrame([asdict(r) for r in records])
                frame = frame[frame["timestamp"] >= frame["timestamp"].min() + SETTLE]
                blocks[load].append(_as_log(frame.assign(load=load)))
                if round_ == 0 and index == 0:
                    # the worker's time per request calibrated at the first load (held
                    # overhead in, the client's part out): the other loads are fractions
                    # of the capacity the model sees
                    first = calibrate(blocks[load][0], predict_requests=None)
                    service = float(first.levels["service"][0])
                    print(
                        f"realbench: calibrated service time {service * 1e3:.2f} ms",
                        file=sys.stderr,
                    )
                time.sleep(1.0)
    return pd.concat([_contiguous(blocks[load]) for load in args.loads], ignore_index=True)


def _contiguous(blocks: list[pd.DataFrame]) -> pd.DataFrame:
    """One level's blocks as if measured back to back: each block's clock is shifted to
    start one mean gap after the previous block's last send, so that rates and arrival
    counts see one stream (server times move with their request's send time)."""
    shifted = [blocks[0]]
    for block in blocks[1:]:
        last = shifted[-1]["timestamp"]
        gap = float(last.diff().mean()) if len(last) > 1 else 0.0
        offset = float(last.max()) + gap - float(block["timestamp"].min())
        shifted.append(block.assign(**{c: block[c] + offset for c in TIME_COLUMNS}))
    return pd.concat(shifted, ignore_index=True)


def _as_log(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: f"time_{c}" for c in ("redis", "postgres", "cpu")})


BATCHES = 5


def spread(log: pd.DataFrame) -> pd.DataFrame:
    """The run-to-run spread of each level's measured percentiles: the 95% half-width,
    relative to the percentile, of ``BATCHES`` consecutive batches' percentiles
    (batch means: consecutive latencies are correlated, whole batches much less)."""
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


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", default="0.2,0.4,0.6,0.75", help="fractions of capacity")
    parser.add_argument("--seconds", type=float, default=240.0, help="most time per load")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of loads")
    parser.add_argument("--requests", type=int, default=6000, help="requests per load")
    parser.add_argument("--cpu-ms", type=float, default=5.0, help="mean CPU demand (exp.)")
    parser.add_argument("--warmup", type=int, default=400, help="sequential warm-up requests")
    parser.add_argument("--server-python", default=sys.executable, help="python with gunicorn")
    parser.add_argument("--out", type=Path, default=Path("results/realbench"))
    parser.add_argument("--from-log", type=Path, help="calibrate this saved log, run nothing")
    parser.add_argument("--simulated", type=int, default=200_000, help="requests simulated")
    args = parser.parse_args(argv)
    # `kill` (SIGTERM) would end Python without running the servers' clean-up: make it an
    # exit that unwinds through it, as Ctrl-C does
    signal.signal(signal.SIGTERM, _terminate)
    args.loads = sorted(float(x) for x in args.loads.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.from_log:
        log = pd.read_csv(args.from_log)
    else:
        try:
            log = measure(args)
        except servers.ServersMissing as exc:
            print(f"realbench: {exc}", file=sys.stderr)
            return 2
        log.to_csv(args.out / "requests.csv", index=False)
    cal = calibrate(log, predict_requests=args.simulated)
    print(cal.summary())
    print("\nMeasured percentiles' spread (95% half-width, batch means over 5 batches)")
    result = table(cal, log)
    for row in result.itertuples():
        print(f"  {row.load:>8g} {row.percentile:>4} ±{row.spread:.1%}")
    result.to_csv(args.out / "accuracy.csv", index=False)
    (args.out / "calibrated.yaml").write_text(cal.to_yaml())
    predicted_vs_measured(result, x="utilisation").write_html(args.out / "accuracy.html")
    fit_quantiles(cal).write_html(args.out / "fits.html")
    worst = result.loc[result["load"] != cal.base, "error"].abs().max()
    print(f"\nworst error above the calibration load: {worst:.1%}; written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``simperf calibrate``: model inputs fitted to a request log (CSV)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from simperf.cli_common import (
    JSON_HELP,
    _positive_int,
    _probability,
    _seed,
    add_quiet,
    progress_wanted,
)
from simperf.outputs import output_file, write_output


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from simperf.calibrate import calibrate  # scipy and pandas only when asked for

    out = output_file("--out", args.out, "calibrated.yaml") if args.out else None
    cal = calibrate(
        args.spec,
        base=args.base,
        confidence=args.confidence,
        predict_requests=None if args.no_predict else args.requests,
        seed=args.seed,
        progress=progress_wanted(args),
    )
    if out is not None:
        write_output("--out", out, cal.to_yaml())
    if args.json:
        print(json.dumps(cal.to_dict()))
    else:
        print(cal.summary())
        if args.out:
            print(f"\ncalibrated scenario written to {args.out}")
    return 0


def register(commands: Any) -> None:
    """Add ``calibrate`` to the ``simperf`` parser."""
    cal = commands.add_parser(
        "calibrate",
        help="fit service times, overhead and arrivals to a request log (CSV)",
        description="Fit a model to LOG.csv (columns timestamp, latency; optionally status, "
        "load, time_<component>, server_start, server_end, worker; times in seconds): "
        "service-time families per component, the per-request overhead and its dependence "
        "on load, the arrival rate and dispersion. Calibrates from the lowest load level, "
        "then simulates every level and compares p50, p95, p99 with the log's (a progress "
        "bar on stderr when it is a terminal, none with --json or --quiet). "
        "Exit 2 if the log cannot be used.",
    )
    # dest "spec": the name under which the CLI reports the input file's path in errors
    cal.add_argument("spec", metavar="LOG.csv", help="the request log")
    cal.add_argument("--out", metavar="FILE.yaml", help="write the calibrated scenario here")
    cal.add_argument("--base", type=float, help="load level to calibrate from (default: lowest)")
    cal.add_argument(
        "--confidence", type=_probability, default=0.95, help="interval level (default 0.95)"
    )
    cal.add_argument(
        "--requests",
        type=_positive_int,
        default=100_000,
        help="requests simulated per load level to compare percentiles (default 100k)",
    )
    cal.add_argument("--no-predict", action="store_true", help="fit only, simulate nothing")
    cal.add_argument("--seed", type=_seed, default=1, help="seed of the simulations")
    cal.add_argument("--json", action="store_true", help=JSON_HELP)
    add_quiet(cal)
    cal.set_defaults(handler=_cmd_calibrate)

"""``simperf estimate``: a scenario's closed-form estimate, without simulating it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from simperf.cli_common import JSON_HELP
from simperf.estimate import estimate
from simperf.spec.io import load, parse_assignment


def _cmd_estimate(args: argparse.Namespace) -> int:
    scenario = load(args.spec)
    overrides = dict(parse_assignment(item) for item in args.overrides)
    if overrides:
        scenario = scenario.with_overrides(overrides)
    found = estimate(scenario)
    print(json.dumps(found.to_dict()) if args.json else found.summary())
    return 0


def register(commands: Any) -> None:
    """Add ``estimate`` to the ``simperf`` parser."""
    parser = commands.add_parser(
        "estimate",
        help="closed-form estimate of latencies, utilisations and headroom (no simulation)",
        description="Estimate each class's mean and p99 latency, each component's "
        "utilisation and the load multiplier at which it saturates, from queueing "
        "formulas (M/M/c with the Allen-Cunneen correction, MVA for closed workloads, "
        "Che's approximation for caches), in milliseconds; what they do not cover is "
        "listed as approximate.",
    )
    parser.add_argument("spec", metavar="SPEC", help="scenario file (.yaml, .yml or .json)")
    parser.add_argument(
        "--set",
        dest="overrides",
        metavar="PATH=VALUE",
        action="append",
        default=[],
        help="override a spec field, e.g. workload.arrival.rate=2000/s (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    parser.set_defaults(handler=_cmd_estimate)

"""``simperf estimate``: a scenario's closed-form estimate, without simulating it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from simperf.cli_common import add_json, add_spec_arguments, shared_overrides


def _cmd_estimate(args: argparse.Namespace) -> int:
    from simperf.estimate import estimate
    from simperf.spec.io import load

    scenario = load(args.spec)
    overrides = shared_overrides(args)
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
    add_spec_arguments(parser)
    add_json(parser)
    parser.set_defaults(handler=_cmd_estimate)

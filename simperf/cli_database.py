"""``simperf explain``: each database query's access path, rows, pages and expected time."""

from __future__ import annotations

import argparse
import json
from typing import Any

from simperf.dbcost.explain import explain, explain_text
from simperf.spec.io import load, parse_assignment


def _cmd_explain(args: argparse.Namespace) -> int:

    scenario = load(args.spec)
    overrides = dict(parse_assignment(item) for item in args.overrides)
    if overrides:
        scenario = scenario.with_overrides(overrides)
    if args.json:
        frame = explain(scenario)
        print(json.dumps(frame.to_dict("records")))
    else:
        print(explain_text(scenario))
    return 0


def register(commands: Any) -> None:
    """Add ``explain`` to the ``simperf`` parser."""
    explain = commands.add_parser(
        "explain",
        help="per database query: access path, index, rows examined, pages, expected time",
    )
    explain.add_argument("spec", metavar="SPEC", help="scenario file (.yaml, .yml or .json)")
    explain.add_argument(
        "--set",
        dest="overrides",
        metavar="PATH=VALUE",
        action="append",
        default=[],
        help="override a spec field, e.g. components.main.primary.memory=16GiB (repeatable)",
    )
    explain.add_argument("--json", action="store_true", help="print one JSON list of rows")
    explain.set_defaults(handler=_cmd_explain)

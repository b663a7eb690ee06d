"""``simperf explain``: each database query's access path, rows, pages and expected time."""

from __future__ import annotations

import argparse
import json
from typing import Any

from simperf.cli_common import add_spec_arguments, shared_overrides


def _cmd_explain(args: argparse.Namespace) -> int:
    from simperf.dbcost.explain import explain, explain_text
    from simperf.spec.io import load

    scenario = load(args.spec)
    overrides = shared_overrides(args)
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
    add_spec_arguments(explain)
    explain.add_argument(
        "--json",
        action="store_true",
        help="print one JSON list of rows; an error is printed on stdout too, as "
        '{"error": {"kind", "message", "path"}}',
    )
    explain.set_defaults(handler=_cmd_explain)

"""``simperf report``: run a scenario once and write its self-contained HTML report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from simperf.cli_common import add_scenario_arguments, scenario_from_args
from simperf.outputs import output_file, write_output


def _cmd_report(args: argparse.Namespace) -> int:
    from simperf.experiment.run import run
    from simperf.presentation.report import render

    out = output_file("--out", args.output or f"{Path(args.spec).stem}.html", "report.html")
    scenario = scenario_from_args(args)
    result = run(scenario, seed=args.seed)
    write_output("--out", out, render(result))
    if args.json:
        print(json.dumps({"report": str(out), "result": result.to_dict()}))
        return 0
    if not args.quiet:
        print(result.summary())
        print()
    print(f"report written to {out}")
    return 0


def register(commands: Any) -> None:
    """Add ``report`` to the CLI's subcommands."""
    parser = commands.add_parser(
        "report",
        help="simulate a scenario once and write its HTML report (works offline)",
        description="Simulate SPEC once, print its summary and write a self-contained "
        "HTML report: summary, warnings, tables, figures, time series and the spec.",
    )
    add_scenario_arguments(parser)
    parser.add_argument(
        "--out",
        dest="output",
        metavar="FILE",
        help="where to write the report (default: SPEC's name with .html, here)",
    )
    # -o and --output, taken before the writing commands agreed on --out, still work
    parser.add_argument("-o", "--output", dest="output", help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="print only the report's path")
    parser.set_defaults(handler=_cmd_report)

"""The ``simperf`` command line.

Exit status: 0 on success, 2 on bad input (spec, overrides, arguments), 1 on an
unexpected internal error, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from simperf.errors import SimperfError, SimperfWarning, SpecError
from simperf.spec.io import json_schema, load, parse_assignment
from simperf.spec.scenario import Scenario
from simperf.units import parse_time

Command = Callable[[argparse.Namespace], int]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _time(text: str) -> float:
    try:
        value = parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """SPEC, --set, --seed, --requests/--duration: shared by commands that run a spec."""
    parser.add_argument("spec", metavar="SPEC", help="scenario file (.yaml, .yml or .json)")
    parser.add_argument(
        "--set",
        dest="overrides",
        metavar="PATH=VALUE",
        action="append",
        default=[],
        help="override a spec field, e.g. components.app.replicas=8 (repeatable)",
    )
    parser.add_argument("--seed", type=_seed, help="root random seed (default: run.seed)")
    horizon = parser.add_mutually_exclusive_group()
    horizon.add_argument("--requests", type=_positive_int, help="generate this many requests")
    horizon.add_argument("--duration", type=_time, help="simulated time to run, e.g. 120s")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """Load SPEC and apply --set, --requests and --duration."""
    scenario = load(args.spec)
    overrides: dict[str, Any] = dict(parse_assignment(item) for item in args.overrides)
    if getattr(args, "requests", None) is not None:
        overrides.update({"run.requests": args.requests, "run.duration": None})
    if getattr(args, "duration", None) is not None:
        overrides.update({"run.duration": args.duration, "run.requests": None})
    return scenario.with_overrides(overrides) if overrides else scenario


def _cmd_run(args: argparse.Namespace) -> int:
    from simperf.experiment.run import run

    scenario = scenario_from_args(args)
    result = run(scenario, seed=args.seed)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.summary())
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    scenario = scenario_from_args(args)
    if args.json:
        print(json.dumps({"valid": True, "name": scenario.name}))
    else:
        print(
            f"{args.spec}: valid scenario {scenario.name!r} ({len(scenario.components)} components)"
        )
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2 if not args.compact else None))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="simperf",
        description="Discrete-event performance simulator for backend architectures.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="simulate a scenario once and print its summary")
    add_scenario_arguments(run)
    run.set_defaults(handler=_cmd_run)

    validate = commands.add_parser("validate", help="check a scenario without running it")
    add_scenario_arguments(validate)
    validate.set_defaults(handler=_cmd_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.add_argument("--compact", action="store_true", help="one line, no indentation")
    schema.set_defaults(handler=_cmd_schema)

    for register in _extra_commands():
        register(commands)
    return parser


def _extra_commands() -> list[Callable[[Any], None]]:
    from simperf import cli_capacity, cli_database, cli_experiments

    return [cli_experiments.register, cli_capacity.register, cli_database.register]


def _version() -> str:
    from simperf import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``simperf`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SimperfWarning)
        try:
            return _dispatch(args)
        finally:
            _print_warnings(caught)


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Spec warnings as ``simperf: warning: ...`` (once each); others as Python shows them."""
    shown: set[str] = set()
    for w in caught:
        if issubclass(w.category, SimperfWarning):
            text = str(w.message)
            if text not in shown:
                shown.add(text)
                print(f"simperf: warning: {text}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args))
    except SpecError as exc:
        print(f"simperf: invalid spec:\n{_indent(str(exc))}", file=sys.stderr)
        return 2
    except SimperfError as exc:
        print(f"simperf: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("simperf: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``simperf`` command line.

Exit status: 0 on success, 2 on bad input (spec, overrides, arguments, files), 1 on an
unexpected internal error, 3 when a search (capacity, cheapest, growth) finds nothing that
meets the SLOs, 130 when interrupted. With ``--json`` an error is printed on
stdout as one JSON object, ``{"error": {"kind": ..., "message": ..., "path": ...}}``,
never as text.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from simperf import (
    __version__,
    cli_calibrate,
    cli_capacity,
    cli_database,
    cli_estimate,
    cli_experiments,
    cli_fit,
    cli_report,
)
from simperf.cli_common import (
    UsageError,
    _Parser,
    add_horizon,
    add_json,
    add_overrides,
    add_scenario_arguments,
    scenario_from_args,
)
from simperf.errors import (
    SimperfError,
    SimperfWarning,
    SpecError,
    SpecFileError,
    StoreError,
)

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

# Each command imports what it runs when it runs (see cli_common): the parser is cheap.

Command = Callable[[argparse.Namespace], int]


def _cmd_run(args: argparse.Namespace) -> int:
    from simperf.experiment.horizon import NOTHING_MEASURED, measured_nothing
    from simperf.experiment.run import run

    engine = {"run.engine": args.engine} if args.engine else None
    scenario = scenario_from_args(args, extra=engine)
    result = run(scenario, seed=args.seed)
    data = result.to_dict()
    nothing = measured_nothing(data)
    if nothing:
        warnings.warn(NOTHING_MEASURED, SimperfWarning, stacklevel=1)
    if args.json:
        print(json.dumps({**data, "warnings": [NOTHING_MEASURED]} if nothing else data))
    else:
        print(result.summary())
    return 0


def check_references_to_metrics(scenario: Scenario) -> None:
    """Check that every metric the spec names (SLOs, precision) is one a run reports,
    with the same check ``capacity`` and ``replicate`` apply before they run."""
    if not scenario.slo and scenario.run.precision is None:
        return  # nothing named: no dry run, no engine to load
    from simperf.experiment.metrics import check_metric

    for index, slo in enumerate(scenario.slo):
        check_metric(scenario, slo.metric, what=f"slo[{index}].metric")
    if scenario.run.precision is not None:
        check_metric(scenario, scenario.run.precision.metric, what="run.precision.metric")


def _cmd_validate(args: argparse.Namespace) -> int:
    from simperf.spec.size_estimate import check_size

    reports: list[dict[str, Any]] = []
    for spec in args.specs:
        try:
            scenario = scenario_from_args(args, spec)
            check_size(scenario)  # as run refuses it, before anything runs
            check_references_to_metrics(scenario)
        except SimperfError as exc:
            reports.append({"path": spec, "valid": False, "error": _error_object(exc, spec)})
            if not args.json and isinstance(exc, SpecFileError):
                print(exc, file=sys.stderr)  # "PATH: cannot read file (...)": not a spec error
            elif not args.json:
                print(f"{spec}: invalid spec:\n{_indent(str(exc))}", file=sys.stderr)
            continue
        reports.append({"path": spec, "valid": True, "name": scenario.name})
        if not args.json:
            count = len(scenario.components)
            noun = "component" if count == 1 else "components"
            print(f"{spec}: valid scenario {scenario.name!r} ({count} {noun})")
    valid = all(r["valid"] for r in reports)
    if args.json:
        print(json.dumps({"valid": valid, "files": reports}))
    return 0 if valid else 2


def _cmd_schema(args: argparse.Namespace) -> int:
    from simperf.spec.io import json_schema

    print(json.dumps(json_schema(), indent=2 if not args.compact else None))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = _Parser(
        prog="simperf",
        description="Discrete-event performance simulator for backend architectures. "
        "Exit status: 0 ok, 2 bad input, 1 internal error, 3 no value or design meets "
        "the SLOs (capacity, cheapest, growth), 130 interrupted. With --json, "
        'errors too are printed on stdout as {"error": {"kind", "message", "path"}}.',
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="simulate a scenario once and print its summary")
    add_scenario_arguments(run)
    run.add_argument(
        "--engine",
        choices=["auto", "events", "fast"],
        help="run.engine: the event engine, the exact fast path (an error where it is not "
        "exact), or auto: fast where exact (default: the spec's, auto)",
    )
    run.set_defaults(handler=_cmd_run)

    validate = commands.add_parser(
        "validate",
        help="check scenarios without running them (exit 2 if any is invalid)",
        description="Check each SPEC (and the metrics its slo and precision name); report "
        "each one; exit 2 if any is invalid. With --json: one object "
        '{"valid": ..., "files": [{"path", "valid", "name" or "error"}, ...]}.',
    )
    validate.add_argument("specs", metavar="SPEC", nargs="+", help="scenario files to check")
    add_overrides(validate, "override a spec field in every SPEC (repeatable)")
    add_horizon(
        validate,
        requests="check with this many requests",
        duration="check with this simulated time",
    )
    add_json(validate)
    validate.set_defaults(handler=_cmd_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.add_argument("--compact", action="store_true", help="one line, no indentation")
    schema.set_defaults(handler=_cmd_schema)

    for register in (
        cli_experiments.register,
        cli_capacity.register,
        cli_database.register,
        cli_estimate.register,
        cli_report.register,
        cli_fit.register,
        cli_calibrate.register,
    ):
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``simperf`` console script."""
    argv = _negative_values(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        if "--json" in argv:
            _print_error_json(exc, "arguments", None)
        else:
            print(f"{exc.usage}{exc}", file=sys.stderr)
        return 2
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SimperfWarning)
            return _dispatch(args)
    finally:
        # Shown after catch_warnings has put showwarning back: inside it, showwarning
        # would append to the very list being shown, forever.
        _print_warnings(caught)


def _negative_values(argv: list[str]) -> list[str]:
    """``--rate -5%`` as ``--rate=-5%``: argparse takes a value starting with ``-`` for an
    option unless it is a plain number, and no simperf option is a dash and a digit.

    Examples
    --------
    >>> _negative_values(["growth", "x.yaml", "--rate", "-5%", "--months", "3"])
    ['growth', 'x.yaml', '--rate=-5%', '--months', '3']
    """
    out: list[str] = []
    for token in argv:
        previous = out[-1] if out else ""
        if (
            token[:1] == "-"
            and token[1:2].isdigit()
            and previous.startswith("--")
            and "=" not in previous
            and previous != "--"
        ):
            out[-1] = f"{previous}={token}"
        else:
            out.append(token)
    return out


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Spec warnings as ``simperf: warning: ...`` (once each); others as Python shows them."""
    shown: set[str] = set()
    for w in caught:
        if issubclass(w.category, SimperfWarning):
            text = _message(w.message)
            if text not in shown:
                shown.add(text)
                print(f"simperf: warning: {text}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, UsageError):
        return "arguments"
    if isinstance(exc, StoreError):
        return "store"
    if isinstance(exc, SpecError):
        return "file" if "cannot read file" in str(exc) else "spec"
    return "error"


def _message(exc: BaseException | Warning) -> str:
    """The error (or warning) as the command words it (``--out``, where Python's says
    ``store=``; ``--set``, where Python's says ``overrides``)."""
    return getattr(exc, "command_line", None) or str(exc)


def _error_object(exc: BaseException, path: str | None) -> dict[str, Any]:
    return {"kind": _error_kind(exc), "message": _message(exc), "path": path}


def _print_error_json(exc: BaseException, kind: str, path: str | None) -> None:
    print(json.dumps({"error": {"kind": kind, "message": _message(exc), "path": path}}))


def _dispatch(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    path = getattr(args, "spec", None)
    try:
        return int(args.handler(args))
    except SimperfError as exc:
        if as_json:
            _print_error_json(exc, _error_kind(exc), exc.spec_path or path)
        elif isinstance(exc, SpecError) and not isinstance(exc, SpecFileError):
            # a file that cannot be read is not an invalid spec: "simperf: error: ..."
            of = f" {exc.spec_path}" if exc.spec_path else ""  # which of compare's two
            print(f"simperf: invalid spec{of}:\n{_indent(_message(exc))}", file=sys.stderr)
        else:
            print(f"simperf: error: {_message(exc)}", file=sys.stderr)
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

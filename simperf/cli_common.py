"""What every ``simperf`` subcommand shares: the argument parser that raises, argument types,
the argument groups (SPEC and --set, the horizon, --json, --confidence, the executor, the
results store, repeatable flags), and reading SPEC with --set, --requests and --duration
applied."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from simperf.errors import SimperfError
from simperf.outputs import output_file
from simperf.units import parse_rate, parse_time

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

# The parser is built before every command, so this module and the commands' modules
# import the spec layer and the engine only inside the functions that use them: `--help`,
# `--version` and a wrong argument answer without loading pydantic, numpy, SimPy, pandas
# or scipy.

MAX_SEED = 2**63 - 1
"""The largest seed, as ``run.seed`` allows (numpy seeds streams with it and the hashes)."""

NO_ANSWER = 3
"""Exit status of a search that ran but found nothing meeting the SLOs (``capacity``,
``cheapest``, ``growth``): 0 is an answer, 2 bad input, 1 an internal error, so a script
tells "none in range" from both."""

JSON_HELP = (
    "print one JSON object; an error is printed on stdout too, as "
    '{"error": {"kind": "spec"|"file"|"store"|"arguments"|"error", "message": ..., "path": ...}}'
)


class UsageError(SimperfError):
    """A command-line argument is malformed (argparse's complaint, without exiting).

    Parameters
    ----------
    message
        ``PROG: error: what is wrong``.
    usage
        The usage line of the (sub)command whose arguments were wrong.
    """

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises instead of printing usage and exiting, so that
    ``--json`` can report argument errors as JSON too."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}", self.format_usage())


# A count is a whole number, optionally with an SI multiplier as rates take one (2k,
# 1.5M); a per-time unit would make it a rate, so it is refused.
_PER_TIME = re.compile(r"/|rps|qps", re.IGNORECASE)


def _positive_int(text: str) -> int:
    if _PER_TIME.search(text):
        raise argparse.ArgumentTypeError(f"expected a count such as 500 or 2k, got {text!r}")
    try:
        number = parse_rate(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number such as 500 or 2k, got {text!r}"
        ) from None
    if not math.isfinite(number) or number != int(number):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return int(number)


def _probability(text: str) -> float:
    """A confidence level: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be in (0, 1), e.g. 0.95, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2**63 - 1, got {value}")
    return value


def _time(text: str) -> float:
    try:
        value = parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def add_repeated(
    parser: argparse.ArgumentParser,
    flag: str,
    *,
    metavar: str,
    help: str,
    dest: str | None = None,
) -> None:
    """A flag that may be given several times, its values collected in a list ([] if none)."""
    names = {"dest": dest} if dest else {}
    parser.add_argument(flag, metavar=metavar, action="append", default=[], help=help, **names)


def add_overrides(parser: argparse.ArgumentParser, help: str) -> None:
    """--set PATH=VALUE (repeatable), read by :func:`shared_overrides`."""
    add_repeated(parser, "--set", dest="overrides", metavar="PATH=VALUE", help=help)


def add_horizon(parser: argparse.ArgumentParser, requests: str, duration: str) -> None:
    """--requests or --duration (one of them at most), read by :func:`shared_overrides`."""
    horizon = parser.add_mutually_exclusive_group()
    horizon.add_argument("--requests", type=_positive_int, help=requests)
    horizon.add_argument("--duration", type=_time, help=duration)


def add_json(parser: argparse.ArgumentParser) -> None:
    """--json: one JSON object on stdout, errors included."""
    parser.add_argument("--json", action="store_true", help=JSON_HELP)


def add_confidence(parser: argparse.ArgumentParser) -> None:
    """--confidence, the level of every interval (default 0.95)."""
    parser.add_argument(
        "--confidence", type=_probability, default=0.95, help="confidence level (default 0.95)"
    )


def add_store(parser: argparse.ArgumentParser, resume: str) -> None:
    """--out FILE (the SQLite results store) and --resume (``resume``: what it reuses)."""
    parser.add_argument(
        "--out", metavar="FILE", help="SQLite results store, written as each run finishes"
    )
    parser.add_argument("--resume", action="store_true", help=resume)


def add_executor(parser: argparse.ArgumentParser) -> None:
    """--workers, --dask ADDRESS, --serial and --quiet: where runs go, and no progress bar."""
    parser.add_argument(
        "--workers",
        type=_positive_int,
        help="local processes, or the workers of --dask local (default: all cores)",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on a Dask cluster: a scheduler address, or 'local' for a LocalCluster",
    )
    parser.add_argument("--serial", action="store_true", help="run in this process, one at a time")
    add_quiet(parser)


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """--quiet: no progress bar (read by :func:`progress_wanted`)."""
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def progress_wanted(args: argparse.Namespace) -> bool | None:
    """False with --quiet or --json; otherwise a bar when stderr is a terminal."""
    return False if args.quiet or args.json else None


def executor_choice(args: argparse.Namespace) -> str | None:
    """The executor that --dask or --serial names; None: the default for the job."""
    if args.dask:
        return f"dask:{args.dask}"
    return "serial" if args.serial else None


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """Where replicated runs go and from which seed: seed, executor, workers."""
    return {"seed": args.seed, "executor": executor_choice(args), "workers": args.workers}


def interrupted(command: str, args: argparse.Namespace) -> int:
    """Ctrl-C: say how to continue from the results store, if there is one; status 130."""
    where = f"; rerun with --resume --out {args.out} to continue" if args.out else ""
    print(f"simperf: {command} interrupted{where}", file=sys.stderr)
    return 130


def check_store(args: argparse.Namespace) -> None:
    """--resume continues a results store, so it needs --out; --out is checked (and its
    directory made) as every command's is (:func:`output_file`), before any run."""
    if args.resume and not args.out:
        raise SimperfError("--resume needs --out FILE: the results store to continue")
    if args.out:
        output_file("--out", args.out, "runs.db")


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """SPEC and --set: shared by every command that reads one spec."""
    parser.add_argument("spec", metavar="SPEC", help="scenario file (.yaml, .yml or .json)")
    add_overrides(parser, "override a spec field, e.g. components.app.replicas=8 (repeatable)")


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """SPEC, --set, --seed, --requests/--duration: shared by commands that run a spec."""
    add_spec_arguments(parser)
    parser.add_argument("--seed", type=_seed, help="root random seed (default: run.seed)")
    add_horizon(
        parser,
        requests="generate this many requests, e.g. 50000 or 50k",
        duration="simulated time to run, e.g. 120s",
    )
    add_json(parser)


def shared_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The overrides of --set, --requests and --duration, as ``{path: value}``."""
    from simperf.spec.io import parse_assignment

    overrides: dict[str, Any] = dict(parse_assignment(item) for item in args.overrides)
    if getattr(args, "requests", None) is not None:
        overrides.update({"run.requests": args.requests, "run.duration": None})
    if getattr(args, "duration", None) is not None:
        overrides.update({"run.duration": args.duration, "run.requests": None})
    return overrides


@contextmanager
def of_spec(path: str) -> Iterator[None]:
    """Errors raised inside are of the spec file ``path``: where a command reads two,
    its error message and ``--json``'s ``path`` name the one at fault."""
    try:
        yield
    except SimperfError as exc:
        exc.spec_path = path
        raise


def scenario_from_args(
    args: argparse.Namespace,
    spec: str | None = None,
    extra: dict[str, Any] | None = None,
    extra_flag: str = "--set",
) -> Scenario:
    """Load SPEC (or ``spec``), apply --set, --requests, --duration, then ``extra``
    (given by the option ``extra_flag``, which its errors name: ``--set-b``).

    A run that would end inside its warm-up is refused here, before anything runs.
    """
    from simperf.experiment.horizon import check_horizon
    from simperf.spec.io import load

    scenario = load(args.spec if spec is None else spec)
    overrides = {**shared_overrides(args), **(extra or {})}
    if overrides:
        scenario = scenario.with_overrides(overrides, flag=dict.fromkeys(extra or {}, extra_flag))
    check_horizon(scenario)
    return scenario

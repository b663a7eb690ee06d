"""Subcommands that search for capacity: capacity (one knob), cheapest (several designs),
growth (designs over months of growing traffic)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from simperf.cli_common import (
    NO_ANSWER,
    _positive_int,
    add_confidence,
    add_executor,
    add_repeated,
    add_scenario_arguments,
    add_store,
    check_store,
    interrupted,
    progress_wanted,
    run_options,
    scenario_from_args,
)
from simperf.errors import SpecError
from simperf.units import parse_fraction


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SpecError(f"{what}: expected a number, got {text!r}") from None
    return int(value) if value.is_integer() and "." not in text else value


def _slos(args: argparse.Namespace) -> list[str] | None:
    return list(args.slo) or None  # None: the spec's own slo list


def _search_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "replications": args.n,
        "max_replications": max(args.max_replications, args.n),
        "tolerance": args.tolerance,
        "confidence": args.confidence,
        **run_options(args),
    }


def _cmd_capacity(args: argparse.Namespace) -> int:
    from simperf.experiment.capacity import capacity

    check_store(args)
    scenario = scenario_from_args(args)
    try:
        found = capacity(
            scenario,
            args.knob,
            _slos(args),
            low=_number(args.low, "--low"),
            high=_number(args.high, "--high"),
            store=args.out,
            resume=args.resume,
            bracket=not args.no_bracket,
            progress=progress_wanted(args),
            **_search_options(args),
        )
    except KeyboardInterrupt:
        return interrupted("capacity", args)
    print(json.dumps(found.to_dict()) if args.json else found.summary())
    return 0 if found.answer is not None else NO_ANSWER


def _design(text: str) -> tuple[str, str, float | None, float | None]:
    name, _, rest = text.partition("=")
    knob, *bounds = rest.split(":")
    if not name or not knob or len(bounds) not in (0, 2):
        raise SpecError(f"--design {text}: expected NAME=KNOB or NAME=KNOB:LOW:HIGH")
    if bounds:
        return name, knob, _number(bounds[0], "--design low"), _number(bounds[1], "--design high")
    return name, knob, None, None


def _designs(args: argparse.Namespace, designs: list[str]) -> dict[str, Any]:
    """Name -> (scenario, knob, low, high) of each ``--design``, with its ``--set-design``
    overrides; a design given as ``NAME`` alone (growth) is the scenario as it is."""
    from simperf.spec.io import parse_assignment

    base = scenario_from_args(args)
    overrides: dict[str, dict[str, Any]] = {}
    for item in args.set_design:
        name, sep, assignment = item.partition(":")
        if not sep or not name:
            raise SpecError(f"--set-design {item}: expected NAME:PATH=VALUE")
        path, value = parse_assignment(assignment, flag=f"--set-design {name}:")
        overrides.setdefault(name, {})[path] = value
    out: dict[str, Any] = {}
    low, high = _number(args.low, "--low"), _number(args.high, "--high")
    for text in designs:
        name = text.partition("=")[0]
        if name in out:  # the second would silently replace the first
            raise SpecError(f"--design {name}: given twice; give each design its own name")
        if "=" not in text:
            out[text] = base.with_overrides(overrides.pop(text, {}), flag=f"--set-design {text}:")
            continue
        name, knob, lo, hi = _design(text)
        scenario = base.with_overrides(overrides.pop(name, {}), flag=f"--set-design {name}:")
        out[name] = (
            scenario,
            knob,
            lo if lo is not None else low,
            hi if hi is not None else high,
        )
    if overrides:
        raise SpecError(f"--set-design: no design named {', '.join(sorted(overrides))}")
    return out


def _cmd_cheapest(args: argparse.Namespace) -> int:
    from simperf.experiment.cheapest import cheapest
    from simperf.presentation.tables import cheapest_designs, unpriced_designs

    for text in args.design:
        _design(text)  # a knob is required here
    check_store(args)
    designs = _designs(args, args.design)  # the spec's own errors first
    if len(designs) < 2:  # one design ranks nothing: that is a capacity search
        raise SpecError(
            f"cheapest: give at least two --design NAME=KNOB[:LOW:HIGH] (got "
            f"{len(designs)}); for one design, run simperf capacity --knob KNOB"
        )
    try:
        ranking = cheapest(
            designs,
            _slos(args),
            progress=progress_wanted(args),
            store=args.out,
            resume=args.resume,
            **_search_options(args),
        )
    except KeyboardInterrupt:
        return interrupted("cheapest", args)
    status = 0 if ranking.best is not None else NO_ANSWER
    if args.json:
        print(json.dumps(ranking.to_dict()))
        return status
    for search in ranking.searches.values():
        print(search.summary(), end="\n\n")
    print(f"{'design':<16}{'knob':<32}{'answer':>10}{'cost/h':>10}  certain")
    for row in ranking.frame.to_dict("records"):
        answer = f"{row['answer']:.6g}" if row["met"] else "none"
        cost = f"{row['cost_per_hour']:.4g}" if row["met"] else "-"
        certain = "yes" if row["certain"] else "no"  # a probe below it stayed undecided
        print(f"{row['design']:<16}{row['knob']:<32}{answer:>10}{cost:>10}  {certain}")
    # a cost/h of 0 that leaves components out is not a free design: name them
    if left_out := unpriced_designs(ranking.frame):
        print(f"cost/h leaves out, no price given: {left_out}")
    print(f"cheapest: {cheapest_designs(ranking) or 'no design meets the SLOs'}")
    return status


def _cmd_growth(args: argparse.Namespace) -> int:
    from simperf.experiment.growth import growth

    try:
        rate = parse_fraction(args.rate)
    except ValueError as exc:
        raise SpecError(f"--rate: {exc}") from None
    check_store(args)
    designs = _designs(args, args.design or ["as_is"])
    try:
        projection = growth(
            designs,
            _slos(args),
            rate=rate,
            months=args.months,
            progress=progress_wanted(args),
            store=args.out,
            resume=args.resume,
            **_search_options(args),
        )
    except KeyboardInterrupt:
        return interrupted("growth", args)
    print(json.dumps(projection.to_dict()) if args.json else projection.summary())
    # an answer: some design holds its SLOs in some month judged (its breach month is one)
    return 0 if bool(projection.frame["met"].astype(bool).any()) else NO_ANSWER


def _search_arguments(parser: argparse.ArgumentParser) -> None:
    add_repeated(
        parser,
        "--slo",
        metavar="METRIC<VALUE",
        help="target, e.g. 'latency.all.p99<200ms' (repeatable; default: the spec's slo "
        "list); error_rate<0.1%% and stable runs are required too, an error_rate target "
        "sets another threshold",
    )
    parser.add_argument("--low", default="1", help="smallest value searched (default 1)")
    parser.add_argument("--high", default="64", help="largest value searched (default 64)")
    parser.add_argument(
        "-n",
        "--replications",
        dest="n",
        type=_positive_int,
        default=5,
        help="replications per probe at first (default 5)",
    )
    parser.add_argument(
        "--max-replications",
        type=_positive_int,
        default=20,
        help="budget of a probe the SLO cannot yet decide (default 20)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.02,
        help="real-valued knobs: relative precision of the answer (default 0.02)",
    )
    add_confidence(parser)
    add_executor(parser)


def _design_arguments(
    parser: argparse.ArgumentParser, metavar: str, design_help: str, set_help: str
) -> None:
    """``--design`` and ``--set-design`` (read by :func:`_designs`), then the search's."""
    add_repeated(parser, "--design", metavar=metavar, help=design_help)
    add_repeated(parser, "--set-design", metavar="NAME:PATH=VALUE", help=set_help)
    _search_arguments(parser)


def register(commands: Any) -> None:
    """Add capacity, cheapest and growth to the ``simperf`` parser."""
    capacity = commands.add_parser(
        "capacity", help="smallest value of a knob that meets SLOs, with replications"
    )
    add_scenario_arguments(capacity)
    capacity.add_argument(
        "--knob", required=True, metavar="PATH", help="field searched, e.g. components.app.replicas"
    )
    _search_arguments(capacity)
    add_store(capacity, resume="reuse the runs stored in --out")
    capacity.add_argument(
        "--no-bracket",
        action="store_true",
        help="search from --low by doubling, without the closed-form estimate's bracket",
    )
    capacity.set_defaults(handler=_cmd_capacity)

    cheapest = commands.add_parser(
        "cheapest", help="capacity search for several designs, ranked by cost at the SLO"
    )
    add_scenario_arguments(cheapest)
    _design_arguments(
        cheapest,
        "NAME=KNOB[:LOW:HIGH]",
        "a design: the knob it scales (repeatable, at least twice; one design is "
        "simperf capacity's search)",
        "override a field of one design only (its price, say)",
    )
    add_store(cheapest, resume="reuse the runs stored in --out")
    cheapest.set_defaults(handler=_cmd_cheapest)

    grow = commands.add_parser(
        "growth", help="month each design stops meeting SLOs as traffic grows, and its cost"
    )
    add_scenario_arguments(grow)
    grow.add_argument(
        "--rate", required=True, help="traffic growth per month, compounding (10%% or 0.1)"
    )
    grow.add_argument(
        "--months", type=_positive_int, default=24, help="months projected (default 24)"
    )
    _design_arguments(
        grow,
        "NAME[=KNOB[:LOW:HIGH]]",
        "a design: fixed (NAME), or resized each month by its knob (repeatable; "
        "default: the spec as it is)",
        "override a field of one design only",
    )
    add_store(
        grow,
        resume="reuse the runs stored in --out; they are kept by design and load, not by "
        "month, so another --rate or --months reuses those of the loads it shares",
    )
    grow.set_defaults(handler=_cmd_growth)

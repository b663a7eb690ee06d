"""Subcommands that run many simulations: replicate, compare, sweep."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from simperf.cli_common import (
    _positive_int,
    add_confidence,
    add_executor,
    add_repeated,
    add_scenario_arguments,
    add_store,
    check_store,
    interrupted,
    of_spec,
    progress_wanted,
    run_options,
    scenario_from_args,
)
from simperf.errors import SpecError
from simperf.units import format_time

HEADLINE = ("latency.all.mean", "latency.all.p95", "latency.all.p99", "throughput", "error_rate")
FAULTS = ("faults.availability.requests.all", "faults.failed", "faults.mean_time_to_detect")
"""Shown too when the runs have faults: what a planner replicates a bad day for."""


def _worst_stability(verdicts: list[str]) -> str:
    """The worst verdict of a point's replications, with how many had it when not all:
    one saturated replication in four shows the design can saturate at that load."""
    from simperf.metrics.stability import SEVERITY

    worst = max(verdicts, key=SEVERITY.__getitem__)
    count = verdicts.count(worst)
    return worst if count == len(verdicts) else f"{worst} {count}/{len(verdicts)}"


def _component_utilization(metric: str) -> bool:
    """``components.NAME.utilization``: shown with the headline metrics. Not the estimate's
    (a closed form, the same in every run), the busiest window's or the headroom's."""
    parts = metric.split(".")
    return len(parts) == 3 and parts[0] == "components" and parts[2] == "utilization"


def _cmd_replicate(args: argparse.Namespace) -> int:
    from simperf.experiment.replicate import replicate
    from simperf.metrics.stats import same_in_every_replication
    from simperf.presentation.cells import metric_value

    check_store(args)
    scenario = scenario_from_args(args)
    precision = _precision(args) if args.precision else None
    try:
        reps = replicate(
            scenario,
            args.n,
            confidence=args.confidence,
            progress=progress_wanted(args),
            **run_options(args),
            precision=precision,
            store=args.out,
            resume=args.resume,
        )
    except KeyboardInterrupt:
        return interrupted("replicate", args)
    if args.json:
        print(json.dumps(reps.to_dict()))
        return 0
    print(
        f"scenario {scenario.name}  {reps.n} replications  seed {reps.seed}  "
        f"{args.confidence:.0%} intervals"
    )
    if reps.warmup:
        print(
            f"warm-up   {reps.warmup['cut_time']:.6g} s "
            f"(relaxation time {format_time(reps.warmup['relaxation_time'])}, decided by "
            f"{reps.warmup['decided_by']}, over {reps.warmup['pilot_replications']} pilot runs)"
        )
    if reps.precision:
        p = reps.precision
        state = "reached" if p["reached"] else f"NOT reached within {p['budget']} replications"
        values = [v for v in reps.values(p["metric"]) if v == v]
        if len(values) > 1 and same_in_every_replication(values):
            achieved = "same in every replication"
        else:
            achieved = "±" + (f"{p['achieved']:.2%}" if p["achieved"] is not None else "-")
        print(
            f"precision {p['metric']} ±{p['target']:.1%}: {state} "
            f"({achieved} after {p['replications']})"
        )
    summary = reps.summary(
        list(HEADLINE)
        + [m for m in FAULTS if m in reps.metrics]
        + [m for m in reps.metrics if _component_utilization(m)]
    )
    print(f"\n{'metric':<36}{'mean':>12}{'± half-width':>15}")
    for row in summary.to_dict("records"):
        # a zero half-width is no interval: the metric took one value in every run
        values = [v for v in reps.values(row["metric"]) if v == v]
        spread = (
            "same in every replication"
            if len(values) > 1 and same_in_every_replication(values)
            else metric_value(row["metric"], row["half_width"])
        )
        print(f"{row['metric']:<36}{metric_value(row['metric'], row['mean']):>12}  {spread:>13}")
    return 0


def _precision(args: argparse.Namespace) -> dict[str, Any]:
    """--precision METRIC:RELATIVE (and --max-replications) as a checked PrecisionSpec dict."""
    from pydantic import ValidationError

    from simperf.spec.run import PrecisionSpec
    from simperf.spec.validation import format_validation_error

    metric, _, text = args.precision.rpartition(":")
    try:
        relative = float(text)
    except ValueError:
        relative = math.nan
    if not metric or not 0 < relative < 1:  # NaN fails too
        raise SpecError(
            f"--precision {args.precision}: expected METRIC:RELATIVE with RELATIVE in (0, 1), "
            "e.g. latency.all.p99:0.05"
        )
    precision: dict[str, Any] = {"metric": metric, "relative": relative}
    if args.max_replications:
        precision["max_replications"] = args.max_replications
    try:
        PrecisionSpec.model_validate(precision)
    except ValidationError as exc:
        raise SpecError(
            f"--precision:\n{format_validation_error(exc, precision, PrecisionSpec)}"
        ) from None
    return precision


def _cmd_compare(args: argparse.Namespace) -> int:
    # --set, --requests, --duration and --seed are shared: both sides run as asked, so
    # that only what differs between the two files (and --set-a/--set-b) is compared.
    from simperf.experiment.compare import compare
    from simperf.metrics.stats import SAME_IN_EVERY_REPLICATION
    from simperf.presentation.cells import metric_value
    from simperf.presentation.tables import comparison_sides

    check_store(args)
    with of_spec(args.spec):
        a = scenario_from_args(
            args, args.spec, _assignments(args.overrides_a, "--set-a"), "--set-a"
        )
    with of_spec(args.other):
        b = scenario_from_args(
            args, args.other, _assignments(args.overrides_b, "--set-b"), "--set-b"
        )
    try:
        result = compare(
            a,
            b,
            args.n,
            confidence=args.confidence,
            progress=progress_wanted(args),
            store=args.out,
            resume=args.resume,
            **run_options(args),
        )
    except KeyboardInterrupt:
        return interrupted("compare", args)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    name_a, name_b = comparison_sides(a, b)  # one spec with --set-a/--set-b: what differs
    print(
        f"A = {name_a}  B = {name_b}  {args.n} paired replications, {args.confidence:.0%} intervals"
    )
    print(
        f"\n{'metric':<30}{'A':>11}{'B':>11}{'B - A':>12}{'± half-width':>14}"
        f"{'change':>9}  significant"
    )
    frame = result.frame
    shown = frame[frame.metric.isin(HEADLINE + FAULTS) | frame.metric.map(_component_utilization)]
    for row in shown.to_dict("records"):
        m = row["metric"]
        if m.count(".") > 2 and m not in FAULTS:
            continue
        rel = (
            f"{row['relative']:+.1%}"
            if row["relative"] is not None and row["relative"] == row["relative"]
            else "-"
        )
        # a constant difference has no interval (a zero or rounding-sized half-width)
        same = row["verdict"] == SAME_IN_EVERY_REPLICATION
        half = "-" if same else metric_value(m, row["half_width"])
        print(
            f"{m:<30}{metric_value(m, row['mean_a']):>11}{metric_value(m, row['mean_b']):>11}"
            f"{metric_value(m, row['difference']):>12}{half:>14}{rel:>9}  "
            f"{_VERDICT_WORDS.get(row['verdict'], row['verdict'])}"
        )
    return 0


_VERDICT_WORDS = {"significant": "yes", "not significant": "no"}
"""The significant column's words; ``same in every replication`` is printed as it is."""


def _assignments(items: list[str], flag: str) -> dict[str, Any]:
    from simperf.spec.io import parse_assignment

    return dict(parse_assignment(item, flag=flag) for item in items)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from simperf.experiment.sweep import sweep
    from simperf.presentation.cells import metric_value
    from simperf.spec.io import parse_assignment, parse_text

    check_store(args)
    scenario = scenario_from_args(args)
    grid: dict[str, list[Any]] = {}
    for item in args.grid:
        path, values = parse_assignment(item, flag="--grid", expected="PATH=V1,V2,...")
        if path in grid:  # the second list would silently replace the first
            raise SpecError(f"--grid {path}: given twice; give all its values once, {path}=A,B,C")
        grid[path] = [
            parse_text(v.strip(), source=f"--grid {path}") for v in values.split(",") if v.strip()
        ]
        if not grid[path]:
            raise SpecError(f"--grid {item}: expected PATH=V1,V2,...")
    if not grid:
        raise SpecError("sweep: give at least one --grid PATH=V1,V2,...")
    try:
        frame = sweep(
            scenario,
            grid,
            zipped=args.zip,
            replications=args.replications,
            store=args.out,
            resume=args.resume,
            progress=progress_wanted(args),
            **run_options(args),
        )
    except KeyboardInterrupt:
        return interrupted("sweep", args)
    if args.json:
        # json, not DataFrame.to_json: that rounds every number to 10 decimal places;
        # NaN and infinities are null, as to_json wrote them
        finite = frame.notna() & ~frame.isin([math.inf, -math.inf])
        print(json.dumps(frame.astype(object).where(finite, None).to_dict("records")))
        return 0
    columns = [c for c in grid] + ["stability"] + [m for m in HEADLINE if m in frame]
    means = frame[frame.status == "ok"].groupby(list(grid), sort=False, dropna=False)
    rows = []
    for key, group in means:
        key = key if isinstance(key, tuple) else (key,)
        cells = [str(k) for k in key]
        cells.append(_worst_stability(group["stability"].tolist()))
        cells += [metric_value(m, group[m].mean()) for m in HEADLINE if m in frame]
        rows.append(cells)
    widths = [max([len(c), 10] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    for cells in [columns, *rows]:
        print("  ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    if "warning" in frame and frame["warning"].notna().any():
        flagged = frame[frame["warning"].notna()]
        print(
            f"simperf: warning: {len(flagged)} run(s): {flagged['warning'].iat[0]}",
            file=sys.stderr,
        )
    errors = frame[frame.status == "error"]
    if not errors.empty:
        print(f"\n{len(errors)} run(s) failed; first: {errors['error'].iat[0]}", file=sys.stderr)
    return 0


def register(commands: Any) -> None:
    """Add replicate, compare and sweep to the ``simperf`` parser."""
    replicate = commands.add_parser(
        "replicate", help="independent replications with confidence intervals"
    )
    add_scenario_arguments(replicate)
    replicate.add_argument(
        "-n",
        "--replications",
        dest="n",
        type=_positive_int,
        help="replications (default 5; with --precision, the first batch)",
    )
    replicate.add_argument(
        "--precision",
        metavar="METRIC:RELATIVE",
        help="add replications until METRIC's interval is this narrow, e.g. latency.all.p99:0.05",
    )
    replicate.add_argument(
        "--max-replications", type=_positive_int, help="budget for --precision (default 100)"
    )
    add_confidence(replicate)
    add_store(replicate, resume="reuse the runs stored in --out")
    add_executor(replicate)
    replicate.set_defaults(handler=_cmd_replicate)

    compare = commands.add_parser(
        "compare",
        help="A/B comparison on common random numbers",
        description="Compare SPEC (A) with SPEC_B (B) on paired replications. --set, "
        "--requests, --duration and --seed apply to both sides; --set-a and --set-b "
        "override a field of one side only.",
    )
    add_scenario_arguments(compare)
    compare.add_argument("other", metavar="SPEC_B", help="the scenario to compare with (B)")
    add_repeated(
        compare,
        "--set-a",
        dest="overrides_a",
        metavar="PATH=VALUE",
        help="override a field of A only (repeatable)",
    )
    add_repeated(
        compare,
        "--set-b",
        dest="overrides_b",
        metavar="PATH=VALUE",
        help="override a field of B only (repeatable)",
    )
    compare.add_argument(
        "-n",
        "--replications",
        dest="n",
        type=_positive_int,
        default=5,
        help="paired replications (default 5)",
    )
    add_confidence(compare)
    add_store(compare, resume="reuse the runs stored in --out")
    add_executor(compare)
    compare.set_defaults(handler=_cmd_compare)

    sweep = commands.add_parser("sweep", help="a grid of what-ifs, replicated and resumable")
    add_scenario_arguments(sweep)
    add_repeated(
        sweep,
        "--grid",
        metavar="PATH=V1,V2,...",
        help="values of one field (repeatable; the product is swept)",
    )
    sweep.add_argument(
        "--zip", action="store_true", help="pair the grid lists instead of taking their product"
    )
    sweep.add_argument(
        "-n",  # as replicate, compare and capacity take it
        "--replications",
        dest="replications",
        type=_positive_int,
        default=1,
        help="replications per point (default 1)",
    )
    add_store(sweep, resume="continue the sweep stored in --out")
    add_executor(sweep)
    sweep.set_defaults(handler=_cmd_sweep)

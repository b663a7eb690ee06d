"""Growth projections: the month each design stops meeting its SLOs as traffic compounds.

Traffic grows by ``rate`` a month, compounding: in month ``m`` the arrival rate is
``workload.arrival.rate x (1 + rate) ** m`` (its shape, a diurnal curve say, is kept).
A design is either *fixed* (a scenario as it is: its SLOs are judged month after month
until one misses) or *resized* (``(scenario, knob, low, high)``: each month its smallest
setting of the knob meeting the SLOs, found by :func:`~simperf.experiment.capacity.capacity`
from the previous month's answer up (from ``low`` while traffic shrinks, which may need
less), until even ``high`` misses). Judging is the capacity
search's: every replication stable, every SLO met on the interval of its mean
(:mod:`simperf.experiment.probe`).

The cost of a month is its price per hour times :data:`HOURS_PER_MONTH`: the measured
``cost.total_per_hour`` averaged over replications for a fixed design (an autoscaled
fleet's cost follows its load), the price at the answer for a resized one.
"""

from __future__ import annotations

import warnings
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simperf.errors import SimperfWarning, SpecError
from simperf.experiment.capacity import (
    capacity,
    check_search,
    coinciding,
    coinciding_note,
    missed_because,
    shared_store,
)
from simperf.experiment.executors import executor_for
from simperf.experiment.probe import Probe, Prober
from simperf.experiment.slo_verdict import UNDECIDED
from simperf.presentation.cells import per_second
from simperf.presentation.summary_text import unpriced_note
from simperf.presentation.tables import growth_html
from simperf.spec.cost import scenario_cost
from simperf.spec.scenario import Scenario
from simperf.spec.size_estimate import check_size

HOURS_PER_MONTH = 730.0
"""Hours in an average month (8760 / 12)."""

LOAD = "workload.arrival.rate"
"""The setting that grows: the mean arrival rate (the arrival's shape is kept)."""

GrowthDesign = Scenario | tuple[Scenario, str] | tuple[Scenario, str, float, float]
"""A scenario (fixed), or (scenario, knob) / (scenario, knob, low, high) (resized)."""


@dataclass(repr=False)
class Growth:
    """The outcome of :func:`growth`.

    Attributes
    ----------
    frame
        Tidy: one row per (design, month) judged: ``design``, ``month``, ``load``
        (the growth factor), ``rate`` (requests per second), ``knob`` and ``size``
        (the knob's answer; None for a fixed design), ``size_range`` (where the smallest
        size meeting the SLOs lies: :attr:`~simperf.experiment.capacity.Capacity.answer_range`),
        ``met``, ``certain`` (False when a probe that decides the month stayed undecided:
        below the size, at ``high`` of a resized design that found none, or a fixed
        design's month counted as a miss), ``doubt`` (those probes), ``cost_per_hour``,
        ``cost`` (of the month) and ``why`` (a miss: the verdict or the SLOs that failed,
        at ``high`` for a resized design). Judging stops at a design's first miss
        while traffic grows; while it falls every month is judged, since a design that
        misses may hold once the load has fallen.
    designs
        One row per design: ``design``, ``breach_month`` (the first month its SLOs do
        not hold; None if they hold over the horizon), ``months_held``,
        ``cost_until_breach``, ``cost_over_horizon`` (None when it breaches),
        ``holds_from`` (the first month from which the SLOs hold to the horizon's end:
        0 when they always hold, later when falling traffic brings them back, None
        when the last month judged misses), ``cost_once_held`` (the cost of those
        months), ``certain`` (every month judged was) and ``unpriced`` (the components
        its costs leave out, having no price).
    """

    rate: float
    months: int
    frame: pd.DataFrame
    designs: pd.DataFrame

    def _repr_html_(self) -> str:
        return growth_html(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.summary())

    def __repr__(self) -> str:  # the frames would fill a screen
        return (
            f"Growth(rate={self.rate!r}, months={self.months}, "
            f"designs={self.designs['design'].tolist()!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the growth, each design's summary and every month judged."""
        return {
            "rate": self.rate,
            "months": self.months,
            "designs": _records(self.designs),
            "months_judged": _records(self.frame),
        }

    def summary(self) -> str:
        """One line per design: the month its SLOs stop holding, its cost and, resized,
        the knob's answers from the first month to the last held."""
        span = f"{self.months} month{'s' if self.months != 1 else ''}"
        lines = [f"growth {self.rate:.1%} a month, compounding, over {span}"]
        # a frame built without the column (by hand, say) is taken as certain throughout
        sure = self.frame.get("certain", pd.Series(True, index=self.frame.index)).astype(bool)
        for row in self.designs.itertuples(index=False):
            held = self.frame[(self.frame.design == row.design) & self.frame.met.astype(bool)]
            holds = pd.isna(row.breach_month)
            cost = row.cost_over_horizon if holds else row.cost_until_breach
            priced = held.empty or bool((held.cost_per_hour > 0).any())
            if holds:
                line = f"SLOs hold all {span}" if self.months != 1 else "SLOs hold over the month"
                line += f", cost {cost:.6g}" if priced else ""
            else:
                month = int(row.breach_month)
                miss = self.frame[(self.frame.design == row.design) & (self.frame.month == month)]
                # an undecided probe is counted as a miss: the SLOs may hold after all
                decided = bool(sure[miss.index].all())
                since = getattr(row, "holds_from", None)
                if since is not None and not pd.isna(since) and since > month:
                    # falling traffic brought them back: from when, and what it costs
                    line = f"SLOs hold from month {int(since)} as traffic falls ("
                    line += f"{'missed' if decided else 'not shown to hold'} in month {month})"
                    line += f", cost from then {row.cost_once_held:.6g}" if priced else ""
                elif held.empty:  # nothing held, nothing priced
                    line = f"SLOs {'do not hold' if decided else 'not shown to hold'} even in "
                    line += f"month {month}"
                else:
                    line = f"SLOs {'stop holding' if decided else 'not shown to hold'} in month "
                    line += str(month)
                    line += f", cost until then {cost:.6g}" if priced else ""
            knob = held.knob.dropna()
            if not knob.empty:
                sizes = held["size"].tolist()
                line += f"; {knob.iloc[0]} {sizes[0]:.6g} to {sizes[-1]:.6g}"
            if not priced:  # a spec that prices nothing costs 0: not a free design
                line += " (no prices in the spec)"
            elif getattr(row, "unpriced", None):  # a cost without them is not the bill
                line += f" ({unpriced_note({'unpriced': row.unpriced})})"
            if not holds and "why" in miss and miss.why.notna().any():
                line += f"; at {per_second(miss.rate.iat[0])} {miss.why.iat[0]}"
            doubtful = self.frame[(self.frame.design == row.design) & ~sure]
            if not doubtful.empty:
                # the months with the same doubt are named once: 'months 3-5 ...'
                said: dict[str, list[int]] = {}
                for m in doubtful.itertuples(index=False):
                    said.setdefault(_doubtful_month(m), []).append(int(m.month))
                line += "; not certain: " + ", ".join(
                    f"{_months(months)} {text}" for text, months in said.items()
                )
                line += " (more replications may decide)"
            lines.append(f"  {row.design}: {line}")
        return "\n".join(lines)


def _doubtful_month(month: Any) -> str:
    """What is not certain in a month: its size's range and the undecided probes."""
    if pd.isna(month.knob):
        return str(month.doubt)
    if month.met:
        low, high = month.size_range
        where = f"{month.knob} {low:.6g} to {high:.6g}"
    else:
        where = "no size shown to meet the SLOs, but one may"
    return f"{where} ({month.doubt})"


def _months(months: list[int]) -> str:
    """``month 3``, ``months 3-5`` or ``months 1, 3-5``: the months, runs in a row joined."""
    runs: list[list[int]] = []
    for m in months:
        if runs and m == runs[-1][-1] + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    spans = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)
    return f"month{'s' if len(months) > 1 else ''} {spans}"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def load_factor(rate: float, month: int) -> float:
    """Traffic in ``month`` relative to month 0, growing by ``rate`` a month."""
    return float((1.0 + rate) ** month)


def growth(
    designs: dict[str, GrowthDesign],
    slo: Any = None,
    *,
    rate: float,
    months: int = 24,
    replications: int = 5,
    max_replications: int = 20,
    seed: int | None = None,
    confidence: float = 0.95,
    executor: Executor | str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    store: str | Path | None = None,
    resume: bool = False,
    **options: Any,
) -> Growth:
    """Project each design over ``months`` of traffic growing by ``rate`` a month.

    Parameters
    ----------
    designs
        Name -> a scenario (fixed), or ``(scenario, knob)`` / ``(scenario, knob, low,
        high)`` (resized each month: the smallest knob value meeting the SLOs; the
        range defaults to 1..64).
    slo
        SLOs as for :func:`~simperf.experiment.capacity.capacity` (default: each
        scenario's).
    rate
        Growth per month, e.g. ``0.1`` for 10% (compounding).
    months
        The horizon: months ``0 .. months - 1`` are judged and priced.
    replications, max_replications, seed, confidence
        As for :func:`~simperf.experiment.capacity.capacity`.
    executor, workers
        One executor serves every design.
    progress
        Resized designs' capacity searches: a bar per probe and a line per verdict on
        stderr; None (default) when stderr is a terminal or in a notebook, True always,
        False never (``--json``, ``--quiet``).
    store, resume
        One results store (SQLite, as :func:`~simperf.experiment.sweep.sweep` writes)
        for every design and month, each run written as it finishes under the point
        ``{"growth": design, "workload.arrival.rate": rate}`` (a fixed design's month)
        or that point with the knob's value (a probe of a resized design's month);
        ``resume=True`` reuses the runs it holds, so an interrupted projection rerun
        runs only what is missing (and a store written for other designs or another
        seed is refused). A design whose spec (overrides applied), seed and knob with
        its range are an earlier design's is judged once, its months given for both
        and a warning issued. Runs are kept by load, not by month, so a store resumed with
        another ``rate`` or ``months`` reuses the runs of the loads both share (month 0's
        at least): a run depends on its spec, seed, load and knob alone.
    **options
        Passed to :func:`~simperf.experiment.capacity.capacity` for resized designs
        (``tolerance``).

    Returns
    -------
    Growth

    Raises
    ------
    SpecError
        Before any run: a workload without an arrival rate, a bad knob or SLO, a
        growth rate not above -100%, no month, or a busiest month (at ``high`` for a
        resized design) whose run would exceed ``run.max_events``.

    Examples
    --------
    >>> import simperf
    >>> base = simperf.load("models/mmc.yaml")  # doctest: +SKIP
    >>> projection = simperf.growth(  # doctest: +SKIP
    ...     {"as is": base, "out": (base, "components.app.replicas", 1, 16)},
    ...     ["latency.all.p99<50ms"], rate=0.1, months=24)
    >>> projection.designs  # doctest: +SKIP
    """
    if not rate > -1:
        raise SpecError(f"rate: growth per month must be above -100%, got {rate}")
    if months < 1:
        raise SpecError(f"months: the horizon needs at least 1 month, got {months}")
    plans = {name: _plan(name, design, slo) for name, design in designs.items()}
    for name, (scenario, knob, _, high, _) in plans.items():
        _check_largest_month(name, scenario, knob, high, rate, months)
    seeds = {
        name: scenario.run.seed if seed is None else seed for name, (scenario, *_) in plans.items()
    }
    db = shared_store(
        store, resume, "growth", {name: (plan[0], seeds[name]) for name, plan in plans.items()}
    )
    repeats = coinciding(
        {
            name: (scenario, seeds[name], None if knob is None else [knob, low, high])
            for name, (scenario, knob, low, high, _) in plans.items()
        }
    )
    for name, first in repeats.items():
        warnings.warn(coinciding_note(name, first), SimperfWarning, stacklevel=2)
    rows: list[dict[str, Any]] = []
    with (
        db if db is not None else nullcontext(),  # the store closed at the end
        executor_for(executor, workers=workers) as pool,
    ):
        for name, (scenario, knob, low, high, slos) in plans.items():
            if name in repeats:  # the same runs: the earlier design's months answer
                rows += [{**r, "design": name} for r in rows if r["design"] == repeats[name]]
                continue
            base = float(scenario.workload.arrival.rate)  # type: ignore[union-attr]
            settings = dict(
                replications=replications,
                max_replications=max_replications,
                seed=seeds[name],
                confidence=confidence,
            )
            if knob is None:
                prober = Prober(
                    scenario,
                    LOAD,
                    slos,
                    pool=pool,
                    progress=False,
                    store=db,
                    scope={"growth": name},
                    **settings,
                )
            for month in range(months):
                factor = load_factor(rate, month)
                row: dict[str, Any] = {
                    "design": name,
                    "month": month,
                    "load": factor,
                    "rate": base * factor,
                    "knob": knob,
                    "size": None,
                    "size_range": None,
                    "certain": True,
                    "doubt": None,
                }
                why = None
                if knob is None:
                    met = prober.met(base * factor)
                    probe = prober.probes[-1]
                    price = probe.cost
                    if not met:
                        why = missed_because(probe)
                    if probe.verdict == UNDECIDED:  # counted as a miss, the SLOs may hold
                        row.update(certain=False, doubt=f"undecided after {len(probe.runs)} runs")
                else:
                    grown = scenario.with_overrides({LOAD: base * factor})
                    found = capacity(
                        grown,
                        knob,
                        slos,
                        low=low,
                        high=high,
                        executor=pool,
                        progress=progress,
                        store=db,
                        scope={"growth": name, LOAD: base * factor},
                        **settings,
                        **options,
                    )
                    met = found.answer is not None
                    row["size"] = found.answer
                    row.update(
                        certain=found.certain,
                        size_range=list(found.answer_range) if found.answer_range else None,
                        doubt=found.doubt() or None,
                    )
                    price = found.cost if met else None
                    if met and rate >= 0:
                        # more traffic never needs less than the smallest size not shown
                        # to miss (the answer, unless a probe below it stayed undecided);
                        # less traffic may need less, so a shrinking one searches from low
                        low = found.answer_range[0]  # type: ignore[index]
                    elif not met:
                        why = _resized_miss(knob, high, found.probes)
                row.update(
                    met=met,
                    cost_per_hour=price if met else None,
                    cost=price * HOURS_PER_MONTH if met and price is not None else None,
                    why=why,
                )
                rows.append(row)
                if not met and rate >= 0:
                    # more traffic does not bring the SLOs back; falling traffic may
                    break
    frame = pd.DataFrame(rows)
    unpriced = {name: scenario_cost(plan[0])["unpriced"] for name, plan in plans.items()}
    return Growth(rate, months, frame, _designs(frame, unpriced, months))


def _resized_miss(knob: str, high: float, probes: list[Probe]) -> str:
    """Why even the largest size missed: its probe, or the estimate that skipped it."""
    largest = max(probes, key=lambda p: p.value, default=None)
    if largest is None or largest.value < high:
        return f"{knob}={high:.6g} estimated saturated (not run)"
    return f"{knob}={high:.6g}: {missed_because(largest)}"


def _check_largest_month(
    name: str, scenario: Scenario, knob: str | None, high: float, rate: float, months: int
) -> None:
    """Refuse, before any run, a projection whose busiest month (at ``high`` for a
    resized design) would exceed ``run.max_events``: its run would be refused only when
    the projection reached it, every month before it lost."""
    month = months - 1 if rate > 0 else 0
    base = float(scenario.workload.arrival.rate)  # type: ignore[union-attr]
    grown: dict[str, Any] = {LOAD: base * load_factor(rate, month)}
    if knob is not None:
        grown[knob] = high
    try:
        check_size(scenario.with_overrides(grown))
    except SpecError as exc:
        at = ", ".join(f"{path}={value:.6g}" for path, value in grown.items())
        raise SpecError(
            f"design {name!r}: month {month} ({at}):\n{exc}, or project fewer months"
        ) from None


def _plan(
    name: str, design: GrowthDesign, slo: Any
) -> tuple[Scenario, str | None, float, float, list[Any]]:
    """A design checked before any run: (scenario, knob, low, high, SLOs)."""
    if isinstance(design, Scenario):
        scenario, knob, low, high = design, None, 1.0, 64.0
    else:
        scenario, knob, *bounds = design
        low, high = bounds if bounds else (1.0, 64.0)
    arrival = scenario.workload.arrival
    if arrival is None or getattr(arrival, "rate", None) is None:
        raise SpecError(
            f"design {name!r}: growth scales workload.arrival.rate; this workload has none "
            "(a closed workload or a replayed trace)"
        )
    try:
        slos, _ = check_search(scenario, knob or LOAD, slo, low, high, searched=bool(knob))
    except SpecError as exc:
        raise exc.prefixed(f"design {name!r}: ") from None
    return scenario, knob, low, high, slos


def _designs(frame: pd.DataFrame, unpriced: dict[str, list[str]], months: int) -> pd.DataFrame:
    """One row per design (``unpriced``: its components with no price, by design)."""
    rows = []
    for name, names in unpriced.items():
        mine = frame[frame.design == name]
        missed = mine[~mine.met.astype(bool)]
        breach = int(missed.month.iat[0]) if not missed.empty else None
        held = mine[mine.met.astype(bool)]
        before = held[held.month < breach] if breach is not None else held
        until = float(before.cost.sum()) if before.cost.notna().any() else None
        # the last months held in a row, up to the horizon (falling traffic judges them all)
        since = None
        if not mine.empty and bool(mine.met.iat[-1]) and int(mine.month.iat[-1]) == months - 1:
            since = int(missed.month.iat[-1]) + 1 if not missed.empty else 0
        tail = held[held.month >= since] if since is not None else held.iloc[:0]
        rows.append(
            {
                "design": name,
                "breach_month": breach,
                "months_held": len(held),
                "cost_until_breach": until,
                "cost_over_horizon": until if breach is None else None,
                "holds_from": since,
                "cost_once_held": float(tail.cost.sum()) if tail.cost.notna().any() else None,
                "certain": bool(mine.certain.astype(bool).all()),
                "unpriced": names,
            }
        )
    out = pd.DataFrame(rows)
    out["breach_month"] = out["breach_month"].astype("Int64")
    out["holds_from"] = out["holds_from"].astype("Int64")
    return out

"""Cheapest of several designs: a capacity search for each, ranked by cost at the SLO.

A ranking by price is only as good as the prices: designs whose instances differ in
cores are compared as if cores were free when a component gives no ``per_core`` price,
and the ranking says so (:func:`simperf.spec.cost.free_cores`).
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simperf.errors import SimperfWarning, SpecError
from simperf.experiment.capacity import (
    UNPRICED_KNOB,
    Capacity,
    capacity,
    check_search,
    coinciding,
    coinciding_note,
    shared_store,
)
from simperf.experiment.executors import executor_for
from simperf.presentation.tables import ranking_html
from simperf.spec.cost import free_cores
from simperf.spec.scenario import Scenario

Design = tuple[Scenario, str] | tuple[Scenario, str, float, float]
"""(scenario, knob) or (scenario, knob, low, high)."""


@dataclass(repr=False)
class Ranking:
    """The designs ranked by their cost at the SLO.

    Attributes
    ----------
    frame
        One row per design, cheapest first (designs that meet the SLO nowhere in their
        range last): ``design``, ``knob``, ``answer``, ``cost_per_hour``, ``met``,
        ``certain`` (no probe below the answer left undecided:
        :attr:`~simperf.experiment.capacity.Capacity.certain`), ``probes``,
        ``replications`` (runs in all), ``unpriced`` (the components its cost leaves
        out, having no price).
    searches
        The :class:`~simperf.experiment.capacity.Capacity` of each design by name.
    warnings
        What makes the comparison doubtful: components whose cores per instance differ
        between the designs' answers while no ``per_core`` price is given for them, a
        knob that changes no price, and designs that repeat an earlier one, searched
        once (also issued as :class:`~simperf.errors.SimperfWarning`).
    """

    frame: pd.DataFrame
    searches: dict[str, Capacity]
    warnings: list[str] = field(default_factory=list)

    @property
    def best(self) -> str | None:
        """The cheapest design meeting the SLO (None if none does)."""
        met = self.frame[self.frame.met]
        return None if met.empty else str(met["design"].iat[0])

    @property
    def tied(self) -> list[str]:
        """Every design meeting the SLO at the cheapest one's cost, in ranking order:
        :attr:`best` alone, or several when they cost the same (``best`` is then only
        the first given); empty if none meets the SLO."""
        met = self.frame[self.frame.met]
        if met.empty:
            return []
        lowest = float(met["cost_per_hour"].iat[0])
        return [
            str(name)
            for name, cost in zip(met["design"], met["cost_per_hour"], strict=True)
            # prices summed in another order may differ in the last bits
            if math.isclose(float(cost), lowest, rel_tol=1e-9, abs_tol=1e-12)
        ]

    def _repr_html_(self) -> str:
        return ranking_html(self)

    def __repr__(self) -> str:  # each search's scenario and runs would fill a screen
        return f"Ranking(best={self.best!r}, designs={self.frame['design'].tolist()!r})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the ranking and each design's search."""
        frame = self.frame.astype(object).where(self.frame.notna(), None)
        return {
            "best": self.best,
            "tied": self.tied,
            "warnings": self.warnings,
            "ranking": frame.to_dict("records"),
            "searches": {name: c.to_dict() for name, c in self.searches.items()},
        }


def cheapest(
    designs: dict[str, Design],
    slo: Any = None,
    *,
    low: float = 1,
    high: float = 64,
    executor: Executor | str | None = None,
    workers: int | None = None,
    store: str | Path | None = None,
    resume: bool = False,
    **options: Any,
) -> Ranking:
    """Find each design's smallest setting meeting the SLOs and rank them by cost.

    Parameters
    ----------
    designs
        Name -> ``(scenario, knob)`` or ``(scenario, knob, low, high)``. Typically the
        same system scaled up (``components.app.speed`` or ``cores``) and out
        (``components.app.replicas``).
    slo
        As for :func:`~simperf.experiment.capacity.capacity` (default: each scenario's).
    low, high
        The range of designs given without one.
    executor, workers
        One executor serves every search.
    store, resume
        One results store (SQLite, as :func:`~simperf.experiment.sweep.sweep` writes)
        for every search, each run written as it finishes under the point
        ``{"cheapest": design, knob: value}``; ``resume=True`` reuses the runs it holds,
        so an interrupted ranking rerun runs only what is missing (and a store written
        for other designs or another seed is refused). A design whose spec (overrides
        applied), seed, knob and range are an earlier design's is searched once, its
        search given for both and a warning issued.
    **options
        Passed to :func:`~simperf.experiment.capacity.capacity` (``replications``,
        ``seed``, ``tolerance`` ...).

    Examples
    --------
    >>> import simperf
    >>> base = simperf.load("models/mmc.yaml")  # doctest: +SKIP
    >>> ranking = simperf.cheapest(  # doctest: +SKIP
    ...     {"up": (base, "components.app.speed"), "out": (base, "components.app.replicas")},
    ...     ["latency.all.p99<50ms"])
    >>> ranking.best  # doctest: +SKIP
    """
    if not designs:
        raise SpecError("designs: give at least one design (name -> (scenario, knob))")
    ranges = {}
    for name, design in designs.items():
        scenario, knob, *bounds = design
        lo, hi = bounds if bounds else (low, high)
        try:  # every design is checked before any run
            check_search(scenario, knob, slo, lo, hi)
        except SpecError as exc:  # as growth says it: which design of several
            raise exc.prefixed(f"design {name!r}: ") from None
        ranges[name] = (scenario, knob, lo, hi)
    seed = options.get("seed")
    seeds = {
        name: (scenario, scenario.run.seed if seed is None else seed)
        for name, (scenario, *_) in ranges.items()
    }
    db = shared_store(store, resume, "cheapest", seeds)
    repeats = coinciding(
        {
            name: (scenario, seeds[name][1], [knob, lo, hi])
            for name, (scenario, knob, lo, hi) in ranges.items()
        }
    )
    repeated = [coinciding_note(name, first) for name, first in repeats.items()]
    for note in repeated:
        warnings.warn(note, SimperfWarning, stacklevel=2)
    searches: dict[str, Capacity] = {}
    with (
        db if db is not None else nullcontext(),  # the store closed at the end
        executor_for(executor, workers=workers) as pool,
    ):
        for name, (scenario, knob, lo, hi) in ranges.items():
            if name in repeats:  # the same runs: the earlier design's search answers
                searches[name] = searches[repeats[name]]
                continue
            searches[name] = capacity(
                scenario,
                knob,
                slo,
                low=lo,
                high=hi,
                executor=pool,
                store=db,
                scope={"cheapest": name},
                **options,
            )
    rows = [
        {
            "design": name,
            "knob": c.knob,
            "answer": c.answer,
            "cost_per_hour": c.cost,
            "met": c.met_at_high,
            "certain": c.certain,
            "probes": len(c.probes),
            "replications": sum(len(p.runs) for p in c.probes),
            "unpriced": c.unpriced,
        }
        for name, c in searches.items()
    ]
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(
        ["met", "cost_per_hour"], ascending=[False, True], na_position="last", kind="stable"
    ).reset_index(drop=True)
    answers = {
        name: c.scenario.with_overrides({c.knob: c.answer})
        for name, c in searches.items()
        if c.answer is not None
    }
    notes = free_cores(answers)
    for note in notes:
        warnings.warn(note, SimperfWarning, stacklevel=2)
    # each search warned already; the ranking names the design it makes doubtful
    notes += [
        f"{name}: {note}"
        for name, c in searches.items()
        for note in c.warnings
        if UNPRICED_KNOB in note and name not in repeats
    ]
    return Ranking(frame, searches, notes + repeated)

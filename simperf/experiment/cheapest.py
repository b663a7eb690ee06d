"""Cheapest of several designs: a capacity search for each, ranked by cost at the SLO."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from simperf.experiment.capacity import Capacity, capacity, check_search
from simperf.experiment.executors import executor_for
from simperf.spec.scenario import Scenario

Design = tuple[Scenario, str] | tuple[Scenario, str, float, float]
"""(scenario, knob) or (scenario, knob, low, high)."""


@dataclass
class Ranking:
    """The designs ranked by their cost at the SLO.

    Attributes
    ----------
    frame
        One row per design, cheapest first (designs that meet the SLO nowhere in their
        range last): ``design``, ``knob``, ``answer``, ``cost_per_hour``, ``met``,
        ``probes``, ``replications`` (runs in all).
    searches
        The :class:`~simperf.experiment.capacity.Capacity` of each design by name.
    """

    frame: pd.DataFrame
    searches: dict[str, Capacity]

    @property
    def best(self) -> str | None:
        """The cheapest design meeting the SLO (None if none does)."""
        met = self.frame[self.frame.met]
        return None if met.empty else str(met["design"].iat[0])

    def _repr_html_(self) -> str:
        from simperf.presentation.tables import ranking_html

        return ranking_html(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the ranking and each design's search."""
        frame = self.frame.astype(object).where(self.frame.notna(), None)
        return {
            "best": self.best,
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
    ranges = {}
    for name, design in designs.items():
        scenario, knob, *bounds = design
        lo, hi = bounds if bounds else (low, high)
        check_search(scenario, knob, slo, lo, hi)  # every design is checked before any run
        ranges[name] = (scenario, knob, lo, hi)
    searches: dict[str, Capacity] = {}
    with executor_for(executor, workers=workers) as pool:
        for name, (scenario, knob, lo, hi) in ranges.items():
            searches[name] = capacity(
                scenario, knob, slo, low=lo, high=hi, executor=pool, **options
            )
    rows = [
        {
            "design": name,
            "knob": c.knob,
            "answer": c.answer,
            "cost_per_hour": c.cost,
            "met": c.met_at_high,
            "probes": len(c.probes),
            "replications": sum(len(p.runs) for p in c.probes),
        }
        for name, c in searches.items()
    ]
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(
        ["met", "cost_per_hour"], ascending=[False, True], na_position="last", kind="stable"
    ).reset_index(drop=True)
    return Ranking(frame, searches)

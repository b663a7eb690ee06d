"""Bracketing a capacity search with the closed-form estimate, before anything runs.

Two values come from :func:`simperf.estimate.estimate` of the scenario at candidate knob
values (milliseconds each, bisected on the knob):

* the *floor*: the smallest value at which no station is estimated saturated (the
  busiest utilisation below 1). Below it every probe would be judged saturated, so the
  search takes those values as misses without simulating them;
* the *start*: the smallest value at which the estimate meets the SLOs it can predict
  (a class's mean or p99 latency; others are left to the simulation), where the search
  begins.

Only the floor is taken as an answer about the knob; the start only decides where the
probes begin. Both rest on the same monotonicity the search assumes already, and on
the estimate's demands (exact for cores, approximate where its notes say so). An
autoscaled server is estimated at the fleet its target settles at, within ``min`` and
``max`` (``cpu_utilization``, ``request_rate``, and ``worker_occupancy`` on no more
workers than cores), which is as far as the run's fleet can grow: the bracket stands.
Where the estimate cannot settle a fleet (a step policy, another metric, a closed
workload) it takes the fleet the run starts with, which the run does not keep, and the
search is not bracketed (:func:`bracket_noted` says why).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from simperf.errors import SimperfError
from simperf.estimate import Estimate, estimate
from simperf.spec.scenario import Scenario
from simperf.spec.slo import SloSpec

PREDICTED = {"mean": "mean", "p99": "p99"}
"""Latency statistics the estimate gives, by the name an SLO's metric path uses."""


def bracket(
    scenario: Scenario,
    knob: str,
    slos: list[SloSpec],
    low: float,
    high: float,
    integer: bool,
    tolerance: float,
) -> tuple[float, float] | None:
    """(floor, start) of a capacity search, or None when the estimate cannot say.

    Parameters
    ----------
    scenario, knob, slos, low, high, integer, tolerance
        As :func:`simperf.experiment.capacity.capacity` searches them.

    Returns
    -------
    (float, float) or None
        ``low <= floor <= start <= high``; None when the estimate fails on the spec,
        every value in range is estimated saturated, or an autoscaled server's fleet
        has no closed form (the search then runs as without).
    """
    return bracket_noted(scenario, knob, slos, low, high, integer, tolerance)[0]


class Bracketed(NamedTuple):
    """:func:`bracket_noted`'s answer."""

    bracket: tuple[float, float] | None
    """``(floor, start)`` as :func:`bracket` gives it."""
    note: str | None
    """On autoscaled servers: at which fleet the estimate took them, or why the search
    is not bracketed (None without autoscaling)."""
    met: bool = True
    """Whether the estimate meets the SLOs it predicts at ``start``; False: nowhere up
    to ``high``, and the probes begin at the floor."""


def bracket_noted(
    scenario: Scenario,
    knob: str,
    slos: list[SloSpec],
    low: float,
    high: float,
    integer: bool,
    tolerance: float,
) -> Bracketed:
    """:func:`bracket`, a note on autoscaled servers (at which fleet the estimate took
    them, or why the search is not bracketed; None without autoscaling), and whether
    the estimate meets the SLOs it predicts anywhere in range.

    ``'app at the fleet its cpu_utilization target settles at'``; ``'not used: app
    scales by a step policy, whose fleet the estimate cannot settle'``.
    """
    scaled = {
        name: c.autoscaling
        for name, c in scenario.components.items()
        if getattr(c, "autoscaling", None) is not None
    }
    cache: dict[float, Estimate | None] = {}

    def at(value: float) -> Estimate | None:
        if value not in cache:
            try:
                cache[value] = estimate(scenario.with_overrides({knob: value}))
            except (SimperfError, ValueError, ArithmeticError):
                cache[value] = None
            found = cache[value]
            if found is not None and found.unsettled:
                # estimated at its starting fleet: a fleet that grows would be called
                # saturated (the knob may decide it: workers against cores)
                raise _Unsettled(found.unsettled)
        return cache[value]

    def stable(value: float) -> bool:
        found = at(value)
        if found is None:
            raise _NoEstimate
        neck = found.bottleneck
        return neck is None or neck["utilization"] < 1.0

    def meets(value: float) -> bool:
        found = at(value)
        return found is not None and stable(value) and _predicted_met(found, slos)

    try:
        floor = _smallest(stable, low, high, integer, tolerance)
        start = None if floor is None else _smallest(meets, floor, high, integer, tolerance)
    except _NoEstimate:
        return Bracketed(None, None)
    except _Unsettled as unsettled:
        reasons = "; ".join(f"{name} scales by {why}" for name, why in unsettled.args[0].items())
        return Bracketed(None, f"not used: {reasons}, whose fleet the estimate cannot settle")
    note = (
        ", ".join(
            f"{name} at the fleet its {scaling.metric} target settles at"
            for name, scaling in scaled.items()
        )
        if scaled
        else None
    )
    if floor is None:
        return Bracketed(None, None)
    return Bracketed((floor, floor if start is None else start), note, start is not None)


class _NoEstimate(Exception):
    """The estimate failed at some knob value: no bracket."""


class _Unsettled(Exception):
    """An autoscaled server was estimated at its starting fleet: no bracket."""


def predicted(slos: list[SloSpec]) -> list[SloSpec]:
    """The SLOs the estimate predicts: a class's latency mean or p99."""
    found = []
    for slo in slos:
        parts = slo.metric.split(".")
        if len(parts) == 3 and parts[0] == "latency" and parts[2] in PREDICTED:
            found.append(slo)
    return found


def _predicted_met(found: Estimate, slos: list[SloSpec]) -> bool:
    """Whether every SLO the estimate predicts is met (those it cannot are left out)."""
    classes = found.classes.set_index("class")
    for slo in predicted(slos):
        parts = slo.metric.split(".")
        if parts[1] not in classes.index:
            continue
        value = float(classes.loc[parts[1], PREDICTED[parts[2]]])
        if math.isnan(value):
            return False
        if (value >= slo.target) if slo.side == "below" else (value <= slo.target):
            return False
    return True


def _smallest(
    ok: Callable[[float], bool], low: float, high: float, integer: bool, tolerance: float
) -> float | None:
    """The smallest value in ``[low, high]`` where a monotone ``ok`` holds (bisection)."""
    if not ok(high):
        return None
    if ok(low):
        return low
    miss, hit = low, high
    while (hit - miss > 1) if integer else (hit > miss * (1 + tolerance / 4)):
        mid: Any = (miss + hit) // 2 if integer else math.sqrt(miss * hit)
        miss, hit = (miss, mid) if ok(mid) else (mid, hit)
    return hit


def search_from(
    met: Callable[[float], bool],
    floor: float,
    start: float,
    high: float,
    integer: bool,
    tolerance: float,
    search: Callable[..., float | None],
) -> float | None:
    """The search begun at ``start``, values below ``floor`` taken as misses.

    A miss at ``start`` continues as ``search`` (doubling, then bisection) from there;
    a meet bisects down between ``start`` and the floor.
    """
    if not met(start):
        return search(met, start, high, integer, tolerance)
    cast = int if integer else float
    first_meet = cast(start)
    if first_meet == floor:
        return first_meet
    last_miss = cast(floor) - 1 if integer else floor / (1 + tolerance)
    while (first_meet - last_miss > 1) if integer else (first_meet > last_miss * (1 + tolerance)):
        if integer:
            mid = (last_miss + first_meet) // 2
        else:
            mid = max(float(math.sqrt(last_miss * first_meet)), floor)
        if met(mid):
            first_meet = mid
        else:
            last_miss = mid
    return first_meet

"""Capacity search: the smallest setting of one knob that meets every SLO.

Each probe is a replicated point: replications ``0 .. n-1`` of the root seed, so every
probe sees the same arrivals and service draws (common random numbers, as in a sweep).
An SLO is *met* when the Student-t interval of its metric's mean lies entirely on the
right side of the target, *missed* when it lies entirely on the wrong side, and
*undecided* otherwise; an undecided probe gets more replications, up to a budget. A
probe meets its SLOs only if every replication is stable (or degraded) and its error rate is
below a threshold too (``error_rate < 0.1%`` unless the SLOs bound it:
:func:`simperf.spec.slo.with_error_budget`); a replication that is saturated, failing or
unstable misses the probe at once (:mod:`simperf.experiment.probe` says why each
replication, and what is judged on intervals).

The search assumes that the SLO metrics improve monotonically with the knob (more
replicas, cores or speed never make things worse): it doubles the knob from ``low``
until a probe meets every SLO, then bisects between the last miss and the first meet.
A probe still undecided when its budget is spent counts as a miss, so the answer is the
smallest value *shown* to meet the SLOs.
"""

from __future__ import annotations

import sys
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simperf import checks
from simperf.errors import SimperfWarning, SpecError
from simperf.experiment.bracket import Bracketed, bracket_noted, predicted, search_from
from simperf.experiment.executors import executor_for
from simperf.experiment.metrics import check_metric
from simperf.experiment.probe import Probe, Prober
from simperf.experiment.progress import wanted
from simperf.experiment.slo_verdict import MET, MISSED, UNDECIDED
from simperf.experiment.store import ResultStore, canonical_hash
from simperf.metrics.paths import flatten
from simperf.metrics.stability import SEVERITY
from simperf.presentation.cells import (
    slo_text,
    target_value,
    verdict_reason,
    with_interval,
)
from simperf.presentation.summary_text import unpriced_note
from simperf.presentation.tables import capacity_html
from simperf.spec.cost import free_cores, scenario_cost
from simperf.spec.scenario import Scenario
from simperf.spec.size_estimate import check_size
from simperf.spec.slo import SloSpec, as_slos, with_error_budget


@dataclass(repr=False)
class Capacity:
    """The outcome of :func:`capacity`.

    Attributes
    ----------
    answer
        The smallest knob value that meets every SLO, or None when even ``high`` does not.
    cost
        ``cost.total_per_hour`` of the scenario at the answer (None without an answer);
        an autoscaled server's at the fleet its runs measured, averaged.
    frame
        Tidy: one row per (probe, SLO) in probing order: ``probe``, the knob's value,
        ``replications``, ``stability``, ``cost_per_hour``, ``metric``, ``side``,
        ``target``, ``mean``, ``half_width``, ``std`` (over the replications with a
        value), ``low``, ``high``, ``slo_verdict`` (this SLO) and
        ``verdict`` (the probe: met only when every SLO is and every replication is
        stable).
    warnings
        What makes the costs compared doubtful (cores left unpriced while the knob
        changes them: :func:`simperf.spec.cost.free_cores`).
    bracket
        ``(floor, start)`` from the closed-form estimate (:mod:`simperf.experiment.bracket`):
        values below ``floor`` were taken as misses unrun, the probes began at ``start``;
        None when the search did not use it.
    bracket_note
        Where the scenario autoscales: at which fleet the estimate took each autoscaled
        server (the fleet its target settles at), or why the bracket was not used (a
        fleet the estimate cannot settle); None otherwise.
    bracket_met
        Whether the estimate meets the SLOs it predicts at ``bracket``'s start; False
        when it meets them nowhere up to ``high`` (the probes then began at the floor).
    integer
        Whether the knob takes whole values (searched exactly) or real ones (to the
        search's tolerance).
    confidence
        The level of the Student-t intervals the SLOs were judged on.
    unpriced
        The components the costs leave out, having no price (``cost.unpriced`` of a
        run's result): a cost of 0/h is then not a free design.

    A probe left undecided counts as a miss, so the answer is the smallest value *shown*
    to meet the SLOs; :attr:`certain`, :attr:`undecided` and :attr:`answer_range` say
    how far below it the smallest value that meets them may lie.
    """

    scenario: Scenario
    knob: str
    slo: list[SloSpec]
    low: float
    high: float
    seed: int
    probes: list[Probe]
    answer: float | None
    cost: float | None
    warnings: list[str] = field(default_factory=list)
    bracket: tuple[float, float] | None = None
    integer: bool = True
    bracket_note: str | None = None
    confidence: float = 0.95
    bracket_met: bool = True
    unpriced: list[str] = field(default_factory=list)
    frame: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        rows = [
            {
                "probe": i,
                self.knob: p.value,
                "replications": len(p.runs),
                "stability": p.stability,
                "cost_per_hour": p.cost,
                **s,
                "verdict": p.verdict,
            }
            for i, p in enumerate(self.probes)
            for s in p.slos
        ]
        self.frame = pd.DataFrame(rows)

    @property
    def met_at_high(self) -> bool:
        """Whether any probed value (so ``high`` at least) met every SLO."""
        return self.answer is not None

    @property
    def _lowest(self) -> float:
        """The smallest value not shown to miss: at least ``low`` and the estimate's
        floor, above every missed probe below the answer (a real knob's largest miss
        itself, exclusive: no value is probed twice)."""
        top = self.answer if self.answer is not None else float("inf")
        lowest = max(self.low, self.bracket[0]) if self.bracket is not None else self.low
        missed = [p.value for p in self.probes if p.verdict == MISSED and p.value < top]
        if missed:
            lowest = max(lowest, max(missed) + 1 if self.integer else max(missed))
        return lowest

    @property
    def undecided(self) -> list[float]:
        """Probed values, below the answer (or anywhere without one) and above every
        value shown to miss, whose SLOs stayed undecided: the SLOs may be met there."""
        top = self.answer if self.answer is not None else float("inf")
        lowest = self._lowest
        return sorted(
            p.value for p in self.probes if p.verdict == UNDECIDED and lowest <= p.value < top
        )

    @property
    def certain(self) -> bool:
        """Whether every probe between the answer and the values shown to miss was
        decided (for a real knob, to the search's tolerance)."""
        return not self.undecided

    @property
    def answer_range(self) -> tuple[float, float] | None:
        """``(lowest, answer)``: the smallest value meeting the SLOs lies between the
        first value not shown to miss and the answer (for a real knob the largest value
        shown to miss, exclusive); ``(answer, answer)`` when :attr:`certain`, None
        without an answer."""
        if self.answer is None:
            return None
        return (self.answer if self.certain else self._lowest, self.answer)

    def doubt(self) -> str:
        """Why the answer (or its absence) is not certain: the undecided probes
        (``'components.app.cores=6 undecided after 20 runs'``; ``''`` when certain)."""
        by_value = {p.value: p for p in self.probes}
        parts = []
        for value in self.undecided:
            runs = len(by_value[value].runs)
            parts.append(f"{self.knob}={_value(value)} undecided after {runs} runs")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the question, the answer and every probe."""
        frame = self.frame.astype(object).where(self.frame.notna(), None)
        return {
            "scenario": self.scenario.name,
            "knob": self.knob,
            "low": self.low,
            "high": self.high,
            "seed": self.seed,
            "confidence": self.confidence,
            "slo": [slo_text(s) for s in self.slo],  # the raw targets: each probe's
            "answer": self.answer,
            "cost_per_hour": self.cost,
            "unpriced": self.unpriced,
            "met": self.met_at_high,
            "certain": self.certain,
            "undecided": self.undecided,
            "answer_range": list(self.answer_range) if self.answer_range else None,
            "warnings": self.warnings,
            "bracket": {
                **dict(zip(("floor", "start"), self.bracket, strict=True)),
                "met": self.bracket_met,
            }
            if self.bracket
            else None,
            "bracket_note": self.bracket_note,
            "probes": frame.to_dict("records"),
        }

    def _repr_html_(self) -> str:
        return capacity_html(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.summary())

    def __repr__(self) -> str:  # the scenario and every run would fill a screen
        return (
            f"Capacity(scenario={self.scenario.name!r}, knob={self.knob!r}, "
            f"answer={self.answer!r}, cost={self.cost!r}, probes={len(self.probes)})"
        )

    def summary(self) -> str:
        """Readable lines: one per probe, then the answer."""
        lines = [f"capacity of {self.scenario.name}: smallest {self.knob} in [{self.low}, "]
        lines[0] += f"{self.high}] meeting " + ", ".join(slo_text(s) for s in self.slo)
        lines[0] += (
            f", stable in every replication (SLOs judged on {self.confidence:.0%} Student-t "
            "intervals of their means over the replications)"
        )
        if self.bracket is not None:
            floor, start = self.bracket
            below = (
                f"saturated below {self.knob}={_value(floor)} (not run), "
                if floor > self.low
                else ""  # nothing below the range searched
            )
            named = ", ".join(slo_text(s) for s in predicted(self.slo))
            # the estimate judges latency means and p99s only: name what it judged
            if not named:
                met = f"it predicts none of the SLOs; stable from {_value(start)}"
            elif self.bracket_met:
                met = f"{named} met from {_value(start)}"
            else:  # the search still runs: the estimate is a closed form, not the answer
                met = f"{named} met nowhere up to {self.knob}={_value(self.high)}"
            at = f" ({self.bracket_note})" if self.bracket_note else ""
            searched = "there" if self.bracket_met else _value(start)
            lines.append(f"  estimate{at}: {below}{met} (searched from {searched})")
        elif self.bracket_note:
            lines.append(f"  estimate: {self.bracket_note} (searched from {_value(self.low)})")
        for p in self.probes:
            parts = "  ".join(f"{s['metric']} {_interval(p, s)}" for s in p.slos)
            runs = f"{len(p.runs)} run{'s' if len(p.runs) > 1 else ''}"
            lines.append(
                f"  {self.knob}={_value(p.value)}: {p.verdict:<9} ({runs}, "
                f"{p.stability}, cost {p.cost:.4g}/h)  {parts}"
            )
        if self.unpriced:  # "cost 0/h" is not a free design; the answer's line stays last
            lines.append(f"costs: {unpriced_note({'unpriced': self.unpriced})}")
        if self.answer is None and self.certain:
            lines.append(f"no value up to {self.knob}={_value(self.high)} meets the SLOs")
        elif self.answer is None:
            lines.append(
                f"no value up to {self.knob}={_value(self.high)} was shown to meet the SLOs, "
                f"but it may: {self.doubt()} (more replications may decide)"
            )
        else:
            line = f"answer {self.knob}={_value(self.answer)}  cost {self.cost:.4g} per hour"
            if not self.certain:
                lowest = self._lowest
                missed = any(p.value == lowest and p.verdict == MISSED for p in self.probes)
                where = f"{'anywhere above' if missed else 'as low as'} {_value(lowest)}"
                line += (
                    f", not certain: {self.doubt()}; the smallest value meeting the SLOs "
                    f"may be {where} (more replications may decide)"
                )
            lines.append(line)
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def _value(v: float) -> str:
    return f"{v:.6g}"


def missed_because(probe: Probe) -> str:
    """Why a probe did not meet its SLOs: a replication's stability verdict (saturated,
    failing, unstable) with its reason, else each SLO not met with its interval.

    ``'latency.all.p99 1.23 s ±41 ms missed, target < 1 s'``
    """
    if SEVERITY[probe.stability] >= SEVERITY["saturated"]:
        worst = next(
            r["stability"] for r in probe.runs if r["stability"]["status"] == probe.stability
        )
        reason = verdict_reason(worst)
        return probe.stability + (f" ({reason})" if reason else "")
    return "; ".join(
        f"{s['metric']} {_interval(probe, s)} {s['slo_verdict']}, target "
        + f"{'<' if s['side'] == 'below' else '>'} {target_value(s['metric'], s['target'])}"
        for s in probe.slos
        if s["slo_verdict"] != MET
    )


def _interval(probe: Probe, row: dict[str, Any]) -> str:
    """An SLO's mean over the probe's replications with its interval, as the text shows
    it (one value in every replication said so, not a bare mean)."""
    values = [flatten(run).get(row["metric"], float("nan")) for run in probe.runs]
    return with_interval(row["metric"], row["mean"], row["half_width"], values)


def _is_integer_knob(scenario: Scenario, knob: str) -> bool:
    node: Any = scenario.model_dump(by_alias=True)
    for part in knob.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, int) and not isinstance(node, bool)


LOAD_KNOBS = ("workload.arrival.rate", "workload.users")
"""Knobs of the load itself: a search for the smallest value meeting the SLOs is void."""


def check_search(
    scenario: Scenario, knob: str, slo: Any, low: float, high: float, searched: bool = True
) -> tuple[list[SloSpec], bool]:
    """Validate a search before any run: SLOs, metrics, the knob at both ends, the range.

    ``searched`` False: ``knob`` is only scaled (growth's arrival rate), not searched, so
    a knob of the load itself is allowed. A searched knob's run at either end must fit
    ``run.max_events`` (:func:`~simperf.spec.size_estimate.check_size`): a probe at
    ``high`` would otherwise be refused only once the search reached it.

    Returns
    -------
    (list of SloSpec, bool)
        The SLOs (with the default error budget unless they bound ``error_rate``), and
        whether the knob is an integer.

    Raises
    ------
    SpecError
        With a message naming the problem.
    """
    try:
        slos = as_slos(slo if slo is not None else scenario.slo)
    except ValueError as exc:
        raise SpecError(f"slo: {exc}") from None
    if not slos:
        raise SpecError("slo: give at least one target (or an slo: list in the spec)")
    slos = with_error_budget(slos)
    if low > high:
        raise SpecError(f"low ({low}) is above high ({high})")
    if searched and knob in LOAD_KNOBS:
        raise SpecError(
            f"knob {knob}: more of it only makes the SLOs harder to meet, and the search "
            f"finds the smallest value that meets them (it would answer {low}); for the "
            "most load a design carries, project it with growth or sweep the rate"
        )
    for end in (low, high):
        # named as the option (the argument) that set it: the user gave no --set; the
        # error already says "knob PATH=VALUE:", so it takes no prefix of its own
        variant = scenario.with_overrides({knob: end}, flag="--knob", argument="knob")
        if searched:  # as a probe's run would refuse it, but before any probe runs
            try:
                check_size(variant)
            except SpecError as exc:
                raise exc.prefixed(f"knob {knob}={end}:\n") from None
    integer = _is_integer_knob(scenario, knob)
    if integer and (low != int(low) or high != int(high)):
        raise SpecError(f"knob {knob} is an integer: low and high must be whole numbers")
    if not integer and low <= 0:
        raise SpecError(f"knob {knob}: a real-valued search needs low > 0 (it doubles from low)")
    for s in slos:
        check_metric(scenario, s.metric, what="slo")
    return slos, integer


def capacity(
    scenario: Scenario,
    knob: str,
    slo: Any = None,
    *,
    low: float = 1,
    high: float = 64,
    replications: int = 5,
    max_replications: int = 20,
    tolerance: float = 0.02,
    seed: int | None = None,
    confidence: float = 0.95,
    executor: Executor | str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    store: str | Path | ResultStore | None = None,
    resume: bool = False,
    bracket: bool = True,
    scope: dict[str, Any] | None = None,
) -> Capacity:
    """The smallest value of ``knob`` in ``[low, high]`` that meets every SLO.

    Assumes the SLO metrics improve monotonically with the knob. Integer knobs
    (``replicas``, ``cores``) are searched exactly; real ones (``speed``) to a relative
    ``tolerance``. Probes run on common random numbers (replications ``0 .. n-1`` of
    ``seed``); see the module docstring for how SLOs are judged.

    Parameters
    ----------
    scenario
        The scenario.
    knob
        Dotted path of the setting searched, e.g. ``"components.app.replicas"``.
    slo
        SLOs: dicts ``{metric, below|above}``, :class:`SloSpec` or strings such as
        ``"latency.all.p99<200ms"`` (default: the scenario's ``slo``). ``error_rate <
        0.1%`` is added unless one of them bounds ``error_rate``, and every replication
        must be stable besides.
    low, high
        The range searched.
    replications
        Replications per probe at first (>= 2).
    max_replications
        Budget of an undecided probe.
    tolerance
        Real knobs: stop when the last miss and the first meet are within this
        fraction of each other.
    seed
        Root seed (default: the scenario's ``run.seed``).
    confidence
        Confidence level of the intervals.
    executor, workers
        See :func:`simperf.experiment.executors.executor_for`.
    progress
        A bar of each probe's runs as they end, then a line with its verdict, on stderr:
        None (default) when stderr is a terminal or in a notebook, True always, False
        never.
    store, resume
        A results store (SQLite, as :func:`~simperf.experiment.sweep.sweep` writes) that
        keeps every run as it finishes; ``resume=True`` reuses the runs it holds (and
        refuses a store written for another spec or seed). An open
        :class:`~simperf.experiment.store.ResultStore` is used as it is (``resume``
        ignored) and left open: the store that :func:`~simperf.experiment.cheapest.cheapest`
        and :func:`~simperf.experiment.growth.growth` share among their searches.
    bracket
        Begin where the closed-form estimate meets the SLOs, and take values it
        estimates saturated as misses without running them
        (:mod:`simperf.experiment.bracket`); False: search from ``low`` by doubling.
    scope
        Keys added to the point under which each run is stored (``{knob: value}``
        alone by default), so that searches sharing a store never read each other's
        runs: ``{"cheapest": design}``, say.

    Returns
    -------
    Capacity

    Raises
    ------
    SpecError
        Before any run, for an unknown knob or metric, a value out of bounds,
        ``low > high``, or a run at ``low`` or ``high`` over ``run.max_events``.

    Examples
    --------
    >>> import simperf
    >>> found = simperf.capacity(simperf.load("models/mmc.yaml"),  # doctest: +SKIP
    ...     "components.app.cores", ["latency.all.mean<15ms"], low=1, high=16)
    >>> found.answer  # doctest: +SKIP
    5
    """
    if replications < 2:
        raise SpecError(f"replications: judging an SLO needs at least 2, got {replications}")
    checks.replications("replications", replications)
    checks.replications("max_replications", max_replications)
    try:  # at 0 or below the bisection of a real knob never ends; NaN ends it at once
        checks.positive("tolerance", tolerance)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    slos, integer = check_search(scenario, knob, slo, low, high)
    seed = scenario.run.seed if seed is None else seed
    max_replications = max(max_replications, replications)
    spec_hash = canonical_hash(
        {"spec": scenario.model_dump(mode="json", by_alias=True), "seed": seed}
    )
    if store is None or isinstance(store, ResultStore):  # none, or a caller's to close
        db, owned = store, False
    else:
        db, owned = ResultStore(store, spec_hash, resume=resume), True
    try:
        with executor_for(executor, workers=workers) as pool:
            prober = Prober(
                scenario,
                knob,
                slos,
                replications=replications,
                max_replications=max_replications,
                seed=seed,
                confidence=confidence,
                pool=pool,
                progress=wanted(progress),
                store=db,
                scope=scope,
            )
            found, bracket_note, bracket_met = (
                bracket_noted(scenario, knob, slos, low, high, integer, tolerance)
                if bracket
                else Bracketed(None, None)
            )
            if bracket_note is not None and prober.progress:
                print(f"capacity: estimate: {bracket_note}", file=sys.stderr, flush=True)
            if found is not None:
                floor, start = found
                answer = search_from(prober.met, floor, start, high, integer, tolerance, _search)
            else:
                answer = _search(prober.met, low, high, integer, tolerance)
    finally:
        if db is not None and owned:
            db.close()
    # the answer's probe prices it (an autoscaled fleet as its runs measured it)
    cost = next((p.cost for p in prober.probes if p.value == answer), None)
    notes = []
    if scenario_cost(scenario)["components"]:  # unpriced cores matter only once prices do
        label = knob.rsplit(".", 1)[-1]
        probed = {
            f"{label}={_value(p.value)}": scenario.with_overrides({knob: p.value})
            for p in prober.probes
        }
        notes = free_cores(probed) + unpriced_knob(
            scenario, knob, low, high, [p.cost for p in prober.probes]
        )
    for note in notes:
        warnings.warn(note, SimperfWarning, stacklevel=2)
    return Capacity(
        scenario,
        knob,
        slos,
        low,
        high,
        seed,
        prober.probes,
        answer,
        cost,
        notes,
        found,
        integer,
        bracket_note,
        confidence,
        bracket_met,
        scenario_cost(scenario)["unpriced"],  # the knob scales them, it does not price them
    )


def shared_store(
    store: str | Path | None, resume: bool, what: str, designs: dict[str, tuple[Scenario, int]]
) -> ResultStore | None:
    """The results store that the searches of several designs share (``what``:
    ``"cheapest"`` or ``"growth"``), keyed by every design's spec and seed (name ->
    ``(scenario, seed)``): a store of other designs is refused. None without ``store``."""
    if store is None:
        return None
    spec_hash = canonical_hash(
        {
            what: {
                name: {"spec": scenario.model_dump(mode="json", by_alias=True), "seed": seed}
                for name, (scenario, seed) in designs.items()
            }
        }
    )
    return ResultStore(store, spec_hash, resume=resume)


def coinciding(designs: dict[str, tuple[Scenario, int, Any]]) -> dict[str, str]:
    """Design -> the earlier design it repeats, for those whose spec (overrides
    applied), seed and search (``(knob, low, high)``, or None for none) are those of an
    earlier one: their runs would be the same, so they are run and stored once.

    Parameters
    ----------
    designs
        Name -> ``(scenario, seed, search)``, in the order given.
    """
    seen: dict[str, str] = {}
    out: dict[str, str] = {}
    for name, (scenario, seed, search) in designs.items():
        spec = scenario.model_dump(mode="json", by_alias=True)
        key = canonical_hash({"spec": spec, "seed": seed, "search": search})
        if key in seen:
            out[name] = seen[key]
        else:
            seen[key] = name
    return out


def coinciding_note(name: str, first: str) -> str:
    """What a repeated design is told (:func:`coinciding`)."""
    return (
        f"design {name!r} is design {first!r} (the same spec, seed and search): run once, "
        "its answer given for both"
    )


UNPRICED_KNOB = "changes no price"
"""Marks the note of :func:`unpriced_knob` (cheapest carries it into its ranking)."""


def unpriced_knob(
    scenario: Scenario, knob: str, low: float, high: float, probed: list[float]
) -> list[str]:
    """A note when a priced scenario costs the same at every value of the knob searched
    (``components.app.speed`` under a per-instance price): a ranking by cost then takes
    more of it as free. ``probed`` are the probes' costs (an autoscaled fleet's as its
    runs measured it), which must agree too."""
    at = {end: scenario.with_overrides({knob: end}) for end in (low, high)}
    ends = {scenario_cost(variant)["total_per_hour"] for variant in at.values()}
    if low == high or len(ends | set(probed)) > 1:
        return []
    if free_cores({str(end): variant for end, variant in at.items()}):
        return []  # unpriced cores, which free_cores names where the answers differ
    (price,) = ends
    return [
        f"{knob} {UNPRICED_KNOB}: the scenario costs {price:.4g}/h at every value from "
        f"{_value(low)} to {_value(high)}, so more of it counts as free; price it (a "
        "cost.per_instance that grows with it, or an instance_type)"
    ]


def _search(met: Any, low: float, high: float, integer: bool, tolerance: float) -> float | None:
    """Exponential search up from ``low``, then bisection; None if ``high`` misses."""
    cast = int if integer else float
    low, high = cast(low), cast(high)
    if met(low):
        return low
    last_miss, value = low, low
    while True:
        value = min(high, cast(max(value + 1, 2 * value)) if integer else 2 * value)
        if met(value):
            break
        if value >= high:
            return None
        last_miss = value
    first_meet = value
    while (first_meet - last_miss > 1) if integer else (first_meet > last_miss * (1 + tolerance)):
        mid = (last_miss + first_meet) // 2 if integer else float(np.sqrt(last_miss * first_meet))
        if met(mid):
            first_meet = mid
        else:
            last_miss = mid
    return first_meet

"""Probes of a capacity search: the replicated runs at one knob value, and their verdict.

A probe meets its SLOs only if every replication is stable (the stability verdict each
run carries, :mod:`simperf.metrics.stability`: ``stable``, or ``degraded`` when an
instance was down, as the scenario's faults schedule, and its traffic went around it)
and every SLO, the error budget among them, is met on the interval of its mean.
Stability is required of each replication, not on average: a verdict is a category, and
one saturated, failing or unstable replication shows that the design can fail at this
load. The metrics, error rate included, are judged on their Student-t intervals
instead: requiring each replication below the target would make more replications
likelier to miss, where they should only sharpen the verdict.

The first replication runs alone: one that is not stable settles the probe as missed.
Otherwise the probe runs the rest of its first batch and adds replications while an SLO
is undecided, up to the budget; a later replication that is not stable misses it too.

With a results store (the sweep's, :mod:`simperf.experiment.store`), every run is
written as it finishes under the point ``{knob: value}`` and read back on a rerun, so an
interrupted search resumes where it stopped; searches that share a store (cheapest's
designs, growth's months) each add their own ``scope`` to the point, so that their runs
never collide. With ``run.warmup: auto`` the warm-up is
detected on the probe's first replications together (the first, run alone, among them)
and the probe's runs are those with it cut, stored under ``{knob: value, "run.warmup":
cut}``.
"""

from __future__ import annotations

import sys
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from simperf.experiment.progress import bar as progress_bar
from simperf.experiment.replicate import StoredRuns, warmed_up
from simperf.experiment.slo_verdict import MET, MISSED, UNDECIDED, judge, more_needed
from simperf.experiment.store import ResultStore
from simperf.metrics.paths import flatten
from simperf.metrics.stability import SEVERITY
from simperf.spec.cost import scenario_cost
from simperf.spec.scenario import Scenario
from simperf.spec.slo import SloSpec


@dataclass
class Probe:
    """One probed value of the knob: its runs, verdict per SLO and overall."""

    value: float
    runs: list[dict[str, Any]]
    slos: list[dict[str, Any]]
    verdict: str
    stability: str
    cost: float


class Prober:
    """Runs and judges probes, each value once, on one executor.

    With a ``store``, each run is stored under the point ``{**scope, knob: value}``:
    ``scope`` (default empty) tells apart the searches that share one store.
    """

    def __init__(
        self,
        scenario: Scenario,
        knob: str,
        slos: list[SloSpec],
        *,
        replications: int,
        max_replications: int,
        seed: int,
        confidence: float,
        pool: Executor,
        progress: bool,
        store: ResultStore | None = None,
        scope: dict[str, Any] | None = None,
    ) -> None:
        self.scenario, self.knob, self.slos = scenario, knob, slos
        self.scope = dict(scope or {})
        self.n, self.budget, self.seed = replications, max_replications, seed
        self.confidence, self.pool, self.progress = confidence, pool, progress
        self.probes: list[Probe] = []
        self._done: dict[float, Probe] = {}
        self._stored = StoredRuns(pool, seed, store, self.scope)

    def met(self, value: float) -> bool:
        if value not in self._done:
            self._done[value] = self._probe(value)
            self.probes.append(self._done[value])
        return self._done[value].verdict == MET

    def _probe(self, value: float) -> Probe:
        # a bar of the probe's runs, as replicate and sweep show theirs: a probe of 20
        # long replications would otherwise show nothing for minutes
        with progress_bar(self.n, f"capacity {self.knob}={value:.6g}", self.progress) as ticks:
            probe = self._run_probe(value, ticks)
        return self._report(probe)

    def _run_probe(self, value: float, ticks: Any) -> Probe:
        variant = self.scenario.with_overrides({self.knob: value})
        point: dict[str, Any] = {**self.scope, self.knob: value}  # where its runs are stored
        runs = self._stored.get(variant, point, range(1), ticks)
        if not _stable(runs):
            rows = [{**row, "slo_verdict": MISSED} for row in self._judge(runs)]
            cost = probe_cost(variant, runs)
            return Probe(value, runs, rows, MISSED, _worst(runs), cost)
        if variant.run.auto_warmup:  # detected on the replications together, this one a pilot
            variant, point, _ = warmed_up(self._stored, variant, point, self.n)
            ticks.reset(total=self.n)  # the runs with the warm-up cut, counted anew
            runs = self._stored.get(variant, point, range(self.n), ticks)
        else:
            runs += self._stored.get(variant, point, range(1, self.n), ticks)
        while True:
            rows = self._judge(runs)
            verdicts = {r["slo_verdict"] for r in rows}
            stable = _stable(runs)
            if not stable or MISSED in verdicts or verdicts == {MET} or len(runs) >= self.budget:
                break
            wanted = min(more_needed(rows, len(runs), self.confidence), self.budget)
            ticks.total = wanted
            runs += self._stored.get(variant, point, range(len(runs), wanted), ticks)
        verdict = (
            MISSED if not stable or MISSED in verdicts else MET if verdicts == {MET} else UNDECIDED
        )
        cost = probe_cost(variant, runs)
        return Probe(value, runs, rows, verdict, _worst(runs), cost)

    def _judge(self, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        flat = [flatten(r) for r in runs]
        return [
            judge([f.get(s.metric, float("nan")) for f in flat], s, self.confidence)
            for s in self.slos
        ]

    def _report(self, probe: Probe) -> Probe:
        if self.progress:
            print(
                f"capacity: {self.knob}={probe.value:.6g} {probe.verdict} "
                f"({len(probe.runs)} replications, {probe.stability})",
                file=sys.stderr,
                flush=True,
            )
        return probe


def probe_cost(variant: Scenario, runs: list[dict[str, Any]]) -> float:
    """The price per hour of a probe: its configuration's, or, where a server autoscales,
    the mean over its runs of the fleet they measured (``replicas`` says little then)."""
    if any((r.get("cost") or {}).get("autoscaled") for r in runs):
        return float(np.mean([r["cost"]["total_per_hour"] for r in runs]))
    return scenario_cost(variant)["total_per_hour"]


def _stable(runs: list[dict[str, Any]]) -> bool:
    """No replication saturated, failing or unstable (degraded: an outage worked around)."""
    return all(SEVERITY[r["stability"]["status"]] < SEVERITY["saturated"] for r in runs)


def _worst(runs: list[dict[str, Any]]) -> str:
    return max((r["stability"]["status"] for r in runs), key=SEVERITY.__getitem__)

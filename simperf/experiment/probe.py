"""Probes of a capacity search: the replicated runs at one knob value, and their verdict.

A probe runs its first replication alone: an ``unstable`` run (a queue grew throughout
or hit the safety cap) settles it as missed. Otherwise it runs the rest of its first
batch and adds replications while an SLO is undecided, up to the budget. With a results
store (the sweep's, :mod:`simperf.experiment.store`), every run is written as it
finishes under the point ``{knob: value}`` and read back on a rerun, so an interrupted
search resumes where it stopped (probes with ``run.warmup: auto`` are not stored: their
warm-up is detected on the replications together).
"""

from __future__ import annotations

import sys
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from simperf.experiment.metrics import flatten
from simperf.experiment.replicate import _run_all, replicate
from simperf.experiment.slo_verdict import MET, MISSED, UNDECIDED, judge, more_needed
from simperf.experiment.store import ResultStore, canonical_hash
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
    """Runs and judges probes, each value once, on one executor."""

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
    ) -> None:
        self.scenario, self.knob, self.slos = scenario, knob, slos
        self.n, self.budget, self.seed = replications, max_replications, seed
        self.confidence, self.pool, self.progress = confidence, pool, progress
        self.probes: list[Probe] = []
        self._done: dict[float, Probe] = {}
        self.store = store
        self._stored: dict[tuple[str, int], dict[str, Any]] = {}
        if store is not None:
            self._stored = {
                (row["point_key"], row["replication"]): row["result"]
                for row in store.rows()
                if row["status"] == "ok"
            }

    def met(self, value: float) -> bool:
        if value not in self._done:
            self._done[value] = self._probe(value)
            self.probes.append(self._done[value])
        return self._done[value].verdict == MET

    def _probe(self, value: float) -> Probe:
        variant = self.scenario.with_overrides({self.knob: value})
        cost = scenario_cost(variant)["total_per_hour"]
        runs = self._runs(value, variant, range(1))
        if _unstable(runs):
            rows = [{**row, "slo_verdict": MISSED} for row in self._judge(runs)]
            return self._report(Probe(value, runs, rows, MISSED, "unstable", cost))
        if variant.run.auto_warmup:  # the warm-up is detected on the replications together
            reps = replicate(variant, self.n, seed=self.seed, executor=self.pool)
            variant, runs = reps.scenario, reps.runs
        else:
            runs += self._runs(value, variant, range(1, self.n))
        while True:
            rows = self._judge(runs)
            verdicts = {r["slo_verdict"] for r in rows}
            unstable = _unstable(runs)
            if unstable or MISSED in verdicts or verdicts == {MET} or len(runs) >= self.budget:
                break
            wanted = min(more_needed(rows, len(runs), self.confidence), self.budget)
            runs += self._runs(value, variant, range(len(runs), wanted))
        verdict = (
            MISSED if unstable or MISSED in verdicts else MET if verdicts == {MET} else UNDECIDED
        )
        stability = _worst([r["stability"]["status"] for r in runs])
        return self._report(Probe(value, runs, rows, verdict, stability, cost))

    def _runs(self, value: float, variant: Scenario, replications: range) -> list[dict[str, Any]]:
        """Replications of one probe: from the store when it has them, else run (and stored)."""
        point = {self.knob: value}
        key = canonical_hash(point)
        missing = [r for r in replications if (key, r) not in self._stored]
        if missing:
            fresh = _run_all(self.pool, variant, self.seed, range(missing[0], missing[-1] + 1))
            for r, run in zip(range(missing[0], missing[-1] + 1), fresh, strict=True):
                if (key, r) not in self._stored and self.store is not None:
                    self.store.save(key, r, point, result=run)
                self._stored.setdefault((key, r), run)
        return [self._stored[(key, r)] for r in replications]

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


def _unstable(runs: list[dict[str, Any]]) -> bool:
    return any(r["stability"]["status"] == "unstable" for r in runs)


def _worst(statuses: list[str]) -> str:
    for status in ("unstable", "saturated"):
        if status in statuses:
            return status
    return "stable"

"""Independent replications of one scenario, with a confidence interval per metric."""

from __future__ import annotations

from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simperf import checks
from simperf.errors import SpecError
from simperf.experiment.executors import completed, executor_for
from simperf.experiment.metrics import check_metric
from simperf.experiment.progress import bar as progress_bar
from simperf.experiment.run import run
from simperf.experiment.store import ResultStore, canonical_hash
from simperf.metrics.paths import flatten
from simperf.metrics.stats import Interval, replications_needed, t_interval
from simperf.metrics.warmup import detect_warmup, warmup_report
from simperf.presentation.tables import replications_html
from simperf.spec.io import from_dict
from simperf.spec.run import PrecisionSpec
from simperf.spec.scenario import Scenario


def run_to_dict(scenario_data: dict[str, Any], seed: int, replication: int) -> dict[str, Any]:
    """Run one replication from plain data; the unit of work shipped to executors."""
    result = run(from_dict(scenario_data), seed=seed, replication=replication)
    data = result.to_dict()
    data["_perf"] = result.perf
    windows = getattr(result, "_arrival_windows", None)
    if windows is not None:
        data["_arrival_windows"] = [w.tolist() for w in windows]
    return data


PILOT_REPLICATIONS = 10


def ensemble_warmup(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Warm-up for all replications, detected on their arrival windows together.

    Averaging over replications removes the noise that misleads MSER on one
    autocorrelated run, and averaging their autocorrelation functions steadies the
    relaxation time (see :mod:`simperf.metrics.warmup`).
    """
    times = np.asarray(runs[0]["_arrival_windows"][0])
    grid = min(np.asarray(run["_arrival_windows"][0]).size for run in runs)
    sums = np.array([np.asarray(run["_arrival_windows"][1])[:grid] for run in runs])
    counts = np.array([np.asarray(run["_arrival_windows"][2])[:grid] for run in runs])
    report = warmup_report(detect_warmup(sums, counts), times[:grid], runs[0]["end_time"])
    report["method"] += ", over replications"
    report["pilot_replications"] = len(runs)
    return report


@dataclass(repr=False)
class Replications:
    """The runs of one scenario and their statistics.

    Attributes
    ----------
    runs
        ``to_dict()`` of each replication, in replication order.
    frame
        Tidy: one row per (replication, metric) with the value.
    confidence
        Confidence level of :meth:`interval` and :meth:`summary`.
    """

    scenario: Scenario
    seed: int
    runs: list[dict[str, Any]]
    confidence: float = 0.95
    frame: pd.DataFrame = field(init=False)
    warmup: dict[str, Any] | None = None
    precision: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        rows = [
            {"replication": r, "metric": metric, "value": value}
            for r, run in enumerate(self.runs)
            for metric, value in flatten(
                {k: v for k, v in run.items() if not k.startswith("_")}
            ).items()
        ]
        self.frame = pd.DataFrame(rows, columns=["replication", "metric", "value"])

    @property
    def n(self) -> int:
        return len(self.runs)

    def values(self, metric: str) -> list[float]:
        """One value per replication (NaN where a run had no sample)."""
        if metric not in self.metrics:
            raise KeyError(f"unknown metric {metric!r}")
        sub = self.frame[self.frame.metric == metric].sort_values("replication")
        return sub["value"].tolist()

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(self.frame["metric"]))

    def interval(self, metric: str, confidence: float | None = None) -> Interval:
        """Student-t interval of a metric's mean (replications without a sample skipped)."""
        values = [v for v in self.values(metric) if v == v]
        if not values:
            raise ValueError(f"{metric}: no replication has a sample")
        return t_interval(values, confidence or self.confidence)

    def summary(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """One row per metric: mean, std, n, half_width, low, high."""
        rows = []
        for metric in metrics or self.metrics:
            values = [v for v in self.values(metric) if v == v]
            if not values:
                continue
            iv = t_interval(values, self.confidence)
            rows.append(
                {
                    "metric": metric,
                    "mean": iv.mean,
                    "std": iv.std,
                    "n": iv.n,
                    "half_width": iv.half_width,
                    "low": iv.low,
                    "high": iv.high,
                }
            )
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        return replications_html(self)

    def __repr__(self) -> str:  # every run's metrics would fill a screen
        return (
            f"Replications(scenario={self.scenario.name!r}, seed={self.seed}, n={self.n}, "
            f"confidence={self.confidence})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Per-metric intervals as JSON-ready data."""
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "replications": self.n,
            "confidence": self.confidence,
            "warmup": self.warmup,
            "precision": self.precision,
            "metrics": {
                row["metric"]: {
                    k: _none_if_nan(row[k])
                    for k in ("mean", "half_width", "low", "high", "std", "n")
                }
                for row in self.summary().to_dict("records")
            },
        }


def _none_if_nan(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return value


def replicate(
    scenario: Scenario,
    n: int | None = None,
    *,
    seed: int | None = None,
    executor: Executor | str | None = None,
    workers: int | None = None,
    confidence: float = 0.95,
    precision: PrecisionSpec | dict[str, Any] | None = None,
    progress: bool | None = None,
    store: str | Path | None = None,
    resume: bool = False,
) -> Replications:
    """Run independent replications and summarise every metric.

    Replication ``r`` uses the streams of (seed, r): the same numbers whichever executor
    runs it, and common random numbers with any other scenario replicated at that seed.

    Parameters
    ----------
    scenario
        The scenario.
    n
        Number of replications (>= 1); with a precision target, the first batch
        (default 5).
    seed
        Root seed (default: the scenario's ``run.seed``).
    executor
        See :func:`simperf.experiment.executors.executor_for`.
    workers
        Processes for the local pool.
    confidence
        Confidence level of the intervals.
    precision
        Keep adding replications until ``precision.metric``'s interval half-width is at
        most ``precision.relative`` of its mean, or ``max_replications`` have run
        (default: the scenario's ``run.precision``). The result's ``precision`` says
        whether the target was reached. The interval is at ``precision.confidence``
        where it names one, else at ``confidence``.
    progress
        A progress bar on stderr: None (default) shows it when stderr is a terminal or
        in a notebook, True always, False never.
    store, resume
        A results store (SQLite, as :func:`~simperf.experiment.sweep.sweep` writes) that
        keeps every run as it finishes; ``resume=True`` reuses the runs it holds (and
        refuses a store written for another spec or seed), so an interrupted call
        rerun runs only what is missing.

    Examples
    --------
    >>> import simperf
    >>> reps = simperf.replicate(simperf.load("models/mm1.yaml"), 5)  # doctest: +SKIP
    >>> reps.interval("latency.all.mean")  # doctest: +SKIP
    """
    if isinstance(precision, dict):
        precision = PrecisionSpec.model_validate(precision)
    precision = precision or scenario.run.precision
    # a precision naming no level of its own is judged at the intervals' (it stopped on a
    # 95% interval under a 99% one printed wider than its target, 'reached' above it)
    level = (
        confidence if precision is None or precision.confidence is None else precision.confidence
    )
    if n is not None and n < 1:
        raise SpecError(f"replications: must be >= 1, got {n}")
    checks.replications("replications", n or 1)
    if precision is not None:
        check_metric(scenario, precision.metric, what="precision.metric")
        n = min(max(n or 5, 2), precision.max_replications)
    n = n or 1
    seed = scenario.run.seed if seed is None else seed
    warmup: dict[str, Any] | None = None
    spec_hash = canonical_hash(
        {"spec": scenario.model_dump(mode="json", by_alias=True), "seed": seed}
    )
    db = ResultStore(store, spec_hash, resume=resume) if store is not None else None
    point: dict[str, Any] = {}  # the spec itself, as a sweep's store keys it
    with (
        db if db is not None else nullcontext(),  # the store closed at the end
        executor_for(executor, workers=workers, jobs=n) as pool,
        progress_bar(n, f"replicate {scenario.name}", progress) as ticks,
    ):
        stored = StoredRuns(pool, seed, db)
        scenario, point, warmup = warmed_up(stored, scenario, point, n)
        runs = stored.get(scenario, point, range(n), ticks)
        reached = None
        while precision is not None:
            values = [flatten(r).get(precision.metric, float("nan")) for r in runs]
            values = [v for v in values if v == v]
            reached = _precise_enough(values, precision.relative, level)
            if reached or len(runs) >= precision.max_replications:
                break
            wanted = replications_needed(values, precision.relative, level)
            # at most double: a few replications' interval is a noisy guide (t of few
            # degrees of freedom, a spread from few values) and overshot threefold
            extra = min(
                max(wanted - len(runs), 1), len(runs), precision.max_replications - len(runs)
            )
            ticks.total = len(runs) + extra
            runs += stored.get(scenario, point, range(len(runs), len(runs) + extra), ticks)
    reps = Replications(scenario, seed, runs, confidence)
    reps.warmup = warmup
    if precision is not None:
        iv = reps.interval(precision.metric, level)
        if iv.half_width == 0:  # one value in every replication: nothing left to narrow
            achieved: float | None = 0.0
        elif iv.half_width is not None and iv.mean:
            achieved = iv.half_width / abs(iv.mean)
        else:  # one replication, or a spread about a mean of 0
            achieved = None
        reps.precision = {
            "metric": precision.metric,
            "target": precision.relative,
            "achieved": achieved,
            "reached": bool(reached),
            "replications": reps.n,
            "budget": precision.max_replications,
            "confidence": level,
        }
    return reps


def _precise_enough(values: list[float], relative: float, confidence: float) -> bool:
    if len(values) < 2:
        return False
    iv = t_interval(values, confidence)
    return iv.half_width is not None and iv.half_width <= relative * abs(iv.mean)


def warmed_up(
    stored: StoredRuns, scenario: Scenario, point: dict[str, Any], n: int
) -> tuple[Scenario, dict[str, Any], dict[str, Any] | None]:
    """With ``run.warmup: auto``, the scenario with the warm-up detected on up to
    :data:`PILOT_REPLICATIONS` of its first ``n`` replications cut (:func:`ensemble_warmup`),
    its point with the cut, and the warm-up report; without, all three as they were (and
    None). The pilots are the scenario's own replications, read from or kept in
    ``stored`` like any other."""
    if not scenario.run.auto_warmup:
        return scenario, point, None
    pilots = stored.get(scenario, point, range(min(n, PILOT_REPLICATIONS)))
    warmup = ensemble_warmup(pilots)
    cut = {"run.warmup": warmup["cut_time"]}
    return scenario.with_overrides(cut), {**point, **cut}, warmup


class StoredRuns:
    """Replications of one spec and seed: read from a results store where it holds them,
    else run on ``pool`` and written to the store as each one finishes, so that Ctrl-C
    or a crash loses only the runs in progress.

    A run is keyed by its point, the overrides that made its variant of the spec the
    store was opened for (``{}``: the spec itself), as a sweep keys its points. With
    ``within``, only the stored runs whose point holds those items are read: the runs of
    one search in a store that several share (cheapest's designs, growth's months).
    """

    def __init__(
        self,
        pool: Executor,
        seed: int,
        store: ResultStore | None = None,
        within: dict[str, Any] | None = None,
    ) -> None:
        self.pool, self.seed, self.store = pool, seed, store
        self._held: dict[tuple[str, int], dict[str, Any]] = {}
        if store is not None:
            self._held = {
                (row["point_key"], row["replication"]): row["result"]
                for row in store.rows(within)
                if row["status"] == "ok"
            }

    def get(
        self,
        variant: Scenario,
        point: dict[str, Any],
        replications: range,
        ticks: Any = None,
    ) -> list[dict[str, Any]]:
        """The runs of ``replications`` of ``variant``, in order; ``ticks`` (a progress
        bar) counts each, stored ones included."""
        key = canonical_hash(point)
        missing = [r for r in replications if (key, r) not in self._held]
        if ticks is not None and len(missing) < len(replications):
            ticks.update(len(replications) - len(missing))
        data = variant.model_dump(mode="json", by_alias=True)
        tasks = [(r, (data, self.seed, r)) for r in missing]
        for r, future in completed(self.pool, run_to_dict, tasks):
            run = future.result()
            if self.store is not None:
                self.store.save(key, r, point, result=run)
            self._held[(key, r)] = run
            if ticks is not None:
                ticks.update(1)
        return [self._held[(key, r)] for r in replications]

"""A/B comparison on common random numbers: is B really different from A?"""

from __future__ import annotations

from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simperf import checks
from simperf.errors import SpecError
from simperf.experiment.executors import executor_for
from simperf.experiment.progress import bar as progress_bar
from simperf.experiment.replicate import Replications, StoredRuns
from simperf.experiment.store import ResultStore, canonical_hash
from simperf.metrics.paths import flatten
from simperf.metrics.stats import paired_difference, t_interval
from simperf.presentation.tables import comparison_html
from simperf.spec.scenario import Scenario

ABSENT_IN_A, ABSENT_IN_B = "absent in A", "absent in B"
"""The verdicts of a metric one side reports and the other does not (a cache or a
database only in B): nothing to pair, so no difference."""


@dataclass(repr=False)
class Comparison:
    """Paired differences (B - A) of every metric both scenarios report, and the
    metrics only one of them reports.

    Attributes
    ----------
    frame
        One row per metric, A's in their order then those only B reports: mean_a,
        mean_b, difference, half_width, low, high, relative (difference / mean_a),
        significant (the interval excludes 0, the differences having some spread), n,
        and verdict (``significant``, ``not significant`` or ``same in every
        replication``: see :class:`~simperf.metrics.stats.Difference`; ``absent in A``
        or ``absent in B`` for a metric one side does not report or has no value for in
        any replication, with the other's mean and its replications with a value as
        ``n``, the rest NaN; ``no interval`` for one pair of values).
    """

    a: Replications
    b: Replications
    frame: pd.DataFrame
    confidence: float

    def difference(self, metric: str) -> dict[str, Any]:
        """The row of one metric as a dict."""
        rows = self.frame[self.frame.metric == metric]
        if rows.empty:
            raise KeyError(f"unknown metric {metric!r}")
        return rows.iloc[0].to_dict()

    def _repr_html_(self) -> str:
        return comparison_html(self)

    def __repr__(self) -> str:  # both sides' runs would fill a screen
        significant = int(self.frame["significant"].fillna(False).astype(bool).sum())
        return (
            f"Comparison(a={self.a.scenario.name!r}, b={self.b.scenario.name!r}, "
            f"replications={self.a.n}, significant={significant} of {len(self.frame)} metrics)"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the two scenarios and one entry per metric."""
        metrics = {}
        for row in self.frame.to_dict("records"):
            metric = row.pop("metric")
            metrics[metric] = {
                k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()
            }
        return {
            "a": self.a.scenario.name,
            "b": self.b.scenario.name,
            "replications": self.a.n,
            "seed": self.a.seed,
            "confidence": self.confidence,
            "metrics": metrics,
        }


def compare(
    a: Scenario,
    b: Scenario,
    n: int = 5,
    *,
    seed: int | None = None,
    executor: Executor | str | None = None,
    workers: int | None = None,
    confidence: float = 0.95,
    progress: bool | None = None,
    store: str | Path | None = None,
    resume: bool = False,
) -> Comparison:
    """Run A and B on the same seeds and replications and difference every metric.

    Replication ``r`` of A and of B use the same random streams wherever their
    components match by name (the arrivals always do), so most of the noise cancels in
    the paired difference: a few replications detect changes that two independent
    intervals would need dozens for. A scenario compared with itself differs by exactly
    zero. ``progress`` is a bar on stderr: None (default) shows it when stderr is a
    terminal or in a notebook, True always, False never.

    With ``store`` (a results store, SQLite, as :func:`~simperf.experiment.sweep.sweep`
    writes) every run is kept as it finishes, A's under the point ``{"compare": "a"}``
    and B's under ``{"compare": "b"}``; ``resume=True`` reuses the runs it holds (and
    refuses a store written for another pair of specs or seed), so an interrupted
    comparison rerun runs only what is missing.

    Examples
    --------
    >>> import simperf
    >>> base = simperf.load("models/mmc.yaml")  # doctest: +SKIP
    >>> five = base.with_overrides({"components.app.cores": 5})  # doctest: +SKIP
    >>> result = simperf.compare(base, five)  # doctest: +SKIP
    >>> result.difference("latency.all.mean")["significant"]  # doctest: +SKIP
    True
    """
    if n < 2:
        raise SpecError(f"replications: a comparison needs at least 2, got {n}")
    checks.replications("replications", n)
    seed = a.run.seed if seed is None else seed
    spec_hash = canonical_hash(
        {
            "a": a.model_dump(mode="json", by_alias=True),
            "b": b.model_dump(mode="json", by_alias=True),
            "seed": seed,
        }
    )
    db = ResultStore(store, spec_hash, resume=resume) if store is not None else None
    with (
        db if db is not None else nullcontext(),  # the store closed at the end
        executor_for(executor, workers=workers, jobs=2 * n) as pool,
        progress_bar(2 * n, f"compare {a.name} / {b.name}", progress) as ticks,
    ):
        stored = StoredRuns(pool, seed, db)
        runs_a = stored.get(a, {"compare": "a"}, range(n), ticks)
        runs_b = stored.get(b, {"compare": "b"}, range(n), ticks)
    reps_a = Replications(a, seed, runs_a, confidence)
    reps_b = Replications(b, seed, runs_b, confidence)
    flat_a = [flatten(r) for r in runs_a]
    flat_b = [flatten(r) for r in runs_b]
    rows = []
    # every metric either side reports in any replication: one only B has (a cache, a
    # database) is a row of its own, not left out
    # (a metric with no value, NaN, in any replication of a side counts as absent there)
    metrics = dict.fromkeys(m for flat in (*flat_a, *flat_b) for m in flat)
    in_a = {m for flat in flat_a for m, v in flat.items() if v == v}
    in_b = {m for flat in flat_b for m, v in flat.items() if v == v}
    for metric in metrics:
        if (metric in in_a) != (metric in in_b):
            rows.append(_one_sided(metric, flat_a if metric in in_a else flat_b, metric in in_a))
            continue
        pairs = [
            (x.get(metric, float("nan")), y.get(metric, float("nan")))
            for x, y in zip(flat_a, flat_b, strict=True)
        ]
        pairs = [(x, y) for x, y in pairs if x == x and y == y]
        if not pairs:  # no value on either side, or never in the same replication
            continue
        diff = paired_difference([p[0] for p in pairs], [p[1] for p in pairs], confidence)
        rows.append(
            {
                "metric": metric,
                "mean_a": diff.mean_a,
                "mean_b": diff.mean_b,
                "difference": diff.mean,
                "half_width": diff.half_width,
                "low": diff.low,
                "high": diff.high,
                "relative": diff.relative,
                "significant": diff.significant,
                "n": diff.n,
                "verdict": diff.verdict,
            }
        )
    return Comparison(reps_a, reps_b, pd.DataFrame(rows), confidence)


def _one_sided(metric: str, flats: list[dict[str, Any]], in_a: bool) -> dict[str, Any]:
    """The row of a metric only A (``in_a``) or only B reports: its mean there."""
    values = [v for v in (flat.get(metric, float("nan")) for flat in flats) if v == v]
    mean = t_interval(values).mean if values else float("nan")
    nan = float("nan")
    return {
        "metric": metric,
        "mean_a": mean if in_a else nan,
        "mean_b": nan if in_a else mean,
        "difference": nan,
        "half_width": nan,
        "low": nan,
        "high": nan,
        "relative": nan,
        "significant": False,
        "n": len(values),
        "verdict": ABSENT_IN_B if in_a else ABSENT_IN_A,
    }

"""Judging SLOs over replications: met, missed or undecided, and how many more runs.

An SLO ``metric below target`` is *met* when the upper bound of the Student-t interval
of the metric's mean (over replications) is below the target, *missed* when the lower
bound is above it, and *undecided* when the interval straddles it (mirrored for
``above``). More replications narrow the interval until it clears the target. A metric
with one value in every replication (up to rounding: a count, a price, an error rate of
0) has an interval of no width that no replication more would move: its value is judged,
and one on the target is missed (it is not below it, nor above).
"""

from __future__ import annotations

from typing import Any

from simperf.metrics.stats import replications_for, same_in_every_replication, t_interval
from simperf.spec.slo import SloSpec

MET, MISSED, UNDECIDED = "met", "missed", "undecided"


def judge(values: list[float], slo: SloSpec, confidence: float) -> dict[str, Any]:
    """The verdict of one SLO on one value per replication (NaN: no sample, skipped)."""
    target = slo.target
    finite = [v for v in values if v == v]
    row: dict[str, Any] = {
        "metric": slo.metric,
        "side": slo.side,
        "target": target,
        "mean": None,
        "half_width": None,
        "std": None,
        "low": None,
        "high": None,
        "slo_verdict": UNDECIDED,
    }
    if len(finite) < 2:
        row["mean"] = finite[0] if finite else None
        return row
    iv = t_interval(finite, confidence)
    low, high = iv.low, iv.high
    assert low is not None and high is not None
    good, bad = (
        (high < target, low > target) if slo.side == "below" else (low > target, high < target)
    )
    if same_in_every_replication(finite):  # no interval to narrow: undecided would stay so
        bad = not good
    verdict = MET if good else MISSED if bad else UNDECIDED
    row.update(
        mean=iv.mean, half_width=iv.half_width, std=iv.std, low=low, high=high, slo_verdict=verdict
    )
    return row


def more_needed(rows: list[dict[str, Any]], n: int, confidence: float) -> int:
    """Replications that would shrink the widest undecided interval clear of its target.

    The spread of the replications run so far (``std``, over those with a value) is
    taken as the metric's; the count is the
    smallest whose t interval (at its own degrees of freedom) would be narrower than the
    mean's distance to the target (:func:`~simperf.metrics.stats.replications_for`), at
    least ``n + 1`` and at most ``10 n``.
    """
    wanted = n + 1
    for row in rows:
        if row["slo_verdict"] != UNDECIDED or row["std"] is None:
            continue
        gap = abs(row["target"] - row["mean"])
        if gap == 0:
            wanted = max(wanted, 10 * n)
            continue
        wanted = max(wanted, min(replications_for(row["std"], gap, confidence, n + 1), 10 * n))
    return wanted

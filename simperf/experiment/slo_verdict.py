"""Judging SLOs over replications: met, missed or undecided, and how many more runs.

An SLO ``metric below target`` is *met* when the upper bound of the Student-t interval
of the metric's mean (over replications) is below the target, *missed* when the lower
bound is above it, and *undecided* when the interval straddles it (mirrored for
``above``). More replications narrow the interval until it clears the target.
"""

from __future__ import annotations

import math
from typing import Any

import scipy.stats

from simperf.metrics.stats import t_interval
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
    verdict = MET if good else MISSED if bad else UNDECIDED
    row.update(mean=iv.mean, half_width=iv.half_width, low=low, high=high, slo_verdict=verdict)
    return row


def more_needed(rows: list[dict[str, Any]], n: int, confidence: float) -> int:
    """Replications that would shrink the widest undecided interval clear of its target."""
    wanted = n + 1
    for row in rows:
        if row["slo_verdict"] != UNDECIDED or row["half_width"] is None:
            continue
        gap = abs(row["target"] - row["mean"])
        t = float(scipy.stats.t.ppf(0.5 + confidence / 2, max(n - 1, 1)))
        std = row["half_width"] * math.sqrt(n) / t
        z = float(scipy.stats.norm.ppf(0.5 + confidence / 2))
        need = (z * std / gap) ** 2 if gap > 0 else float("inf")
        wanted = max(wanted, int(min(math.ceil(need * 1.1), 10 * n)))
    return wanted

"""Statistics of request records: latency percentiles (exact or from folded records),
how many requests a selection stands for, and per-window request series."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simperf.metrics.quantiles import weighted_percentiles

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}


def clean(value: float | None) -> float | None:
    """A JSON-safe float: NaN and infinities become None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def latency_stats(latencies: np.ndarray, *, owned: bool = False) -> dict[str, float | None]:
    """Mean, percentiles and max of a latency sample (None where there are no samples).

    Parameters
    ----------
    latencies
        The sample, in seconds.
    owned
        True when the caller gives up the array (a fresh copy from a mask): the
        percentiles then partition it in place instead of copying it once more.
    """
    if latencies.size == 0:
        return {"count": 0, "mean": None, **dict.fromkeys(PERCENTILES), "max": None}
    mean, largest = float(latencies.mean()), float(latencies.max())
    values = np.percentile(latencies, list(PERCENTILES.values()), overwrite_input=owned)
    return {
        "count": int(latencies.size),
        "mean": mean,
        **{k: float(v) for k, v in zip(PERCENTILES, values, strict=True)},
        "max": largest,
    }


def folded_latency_stats(
    latency: np.ndarray, weights: np.ndarray, sums: np.ndarray, largest: np.ndarray
) -> dict[str, float | None]:
    """:func:`latency_stats` of folded records (see :mod:`simperf.metrics.folded`).

    Count, mean and max are exact; percentiles are within the buckets' relative error.
    """
    count = int(weights.sum())
    if count == 0:
        return latency_stats(np.empty(0))
    values = weighted_percentiles(latency, weights, list(PERCENTILES.values()))
    return {
        "count": count,
        "mean": float(sums.sum() / count),
        **{k: float(v) for k, v in zip(PERCENTILES, values, strict=True)},
        "max": float(largest.max()),
    }


def stats_of(data: dict[str, np.ndarray], select: Any) -> dict[str, float | None]:
    """Latency statistics of the records ``select`` picks (a mask or indices: a copy)."""
    weights = data.get("weight")
    if weights is None:
        return latency_stats(data["latency"][select], owned=True)
    return folded_latency_stats(
        data["latency"][select],
        weights[select],
        data["latency_sum"][select],
        data["latency_max"][select],
    )


def tally(data: dict[str, np.ndarray], mask: np.ndarray, weights: str = "weight") -> int:
    """How many requests the records ``mask`` picks stand for (folded records count many)."""
    counts = data.get(weights)
    return int(np.count_nonzero(mask)) if counts is None else int(counts[mask].sum())


def request_series(
    start: float, end: float, name: str, data: dict[str, np.ndarray], picked: np.ndarray
) -> list[tuple[float, float, str, str, float | None]]:
    """Throughput, errors, error rate and p50/p95/p99 of the records ``picked`` (indices
    of those finished in a window; folded records count as the requests they stand for)."""
    span = end - start
    outcome = data["outcome"][picked]
    weights = {"weight": data["weight"][picked]} if "weight" in data else {}
    failed = tally(weights, outcome != 0)
    finished = tally(weights, np.ones(outcome.size, dtype=bool))
    stats = stats_of(data, picked[outcome == 0])
    return [
        (start, end, name, "throughput", (finished - failed) / span),
        (start, end, name, "errors", float(failed)),
        (start, end, name, "error_rate", failed / finished if finished else None),
        *((start, end, name, key, stats[key]) for key in ("p50", "p95", "p99")),
    ]

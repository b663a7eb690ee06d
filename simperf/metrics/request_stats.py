"""Statistics of request records: latency percentiles (exact or from folded records),
how many requests a selection stands for, and per-window request series."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simperf.metrics.percentiles import percentiles
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
        True when the caller gives up the array (a scratch copy): the percentiles may
        then partition it in place instead of copying it once more.
    """
    if latencies.size == 0:
        return {"count": 0, "mean": None, **dict.fromkeys(PERCENTILES), "max": None}
    mean, largest = float(latencies.mean()), float(latencies.max())
    values = percentiles(latencies, list(PERCENTILES.values()), overwrite_input=owned)
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

    Count, mean and max are exact; percentiles are within the buckets' relative error,
    and never above the max (a bucket's representative may be: the max is exact, so the
    percentile it bounds only comes nearer).
    """
    count = int(weights.sum())
    if count == 0:
        return latency_stats(np.empty(0))
    most = float(largest.max())
    values = np.minimum(weighted_percentiles(latency, weights, list(PERCENTILES.values())), most)
    return {
        "count": count,
        "mean": float(sums.sum() / count),
        **{k: float(v) for k, v in zip(PERCENTILES, values, strict=True)},
        "max": most,
    }


def stats_of(data: dict[str, np.ndarray], select: Any) -> dict[str, float | None]:
    """Latency statistics of the records ``select`` picks (a mask or indices)."""
    weights = data.get("weight")
    if weights is None:
        return latency_stats(pick(data["latency"], select))
    return folded_latency_stats(
        pick(data["latency"], select),
        pick(weights, select),
        pick(data["latency_sum"], select),
        pick(data["latency_max"], select),
    )


def pick(values: np.ndarray, select: Any) -> np.ndarray:
    """``values[select]`` (not to be modified); a mask through np.compress, several times
    faster."""
    if isinstance(select, np.ndarray) and select.dtype == bool:
        # all picked (no failure, no warm-up): the column itself, not a copy
        return values if select.all() else np.compress(select, values)
    return values[select]


def tally(data: dict[str, np.ndarray], mask: np.ndarray, weights: str = "weight") -> int:
    """How many requests the records ``mask`` picks stand for (folded records count many)."""
    counts = data.get(weights)
    return int(np.count_nonzero(mask)) if counts is None else int(counts[mask].sum())


SERIES = {"p50": 50.0, "p95": 95.0, "p99": 99.0}
"""The latency percentiles of a request series."""


def request_series(
    edges: np.ndarray, data: dict[str, np.ndarray], picked: np.ndarray | None = None
) -> list[list[tuple[str, float | None]]]:
    """Throughput, errors, error rate and p50/p95/p99 of requests, window by window.

    Parameters
    ----------
    edges
        The windows' bounds in time (window ``i`` is ``[edges[i], edges[i + 1])``).
    data
        The request records, in order of end (folded records count as the requests
        they stand for).
    picked
        Indices of the records in the series, in order of end; None: all of them.

    Returns
    -------
    list
        Per window, its ``(metric, value)`` pairs; empty for a window of no length.
    """
    end, outcome, latency = data["end"], data["outcome"], data["latency"]
    if picked is not None:
        end, outcome, latency = end[picked], outcome[picked], latency[picked]
    bounds = np.searchsorted(end, edges, side="left")
    weights = data.get("weight")
    index = picked
    if index is None and weights is not None:
        index = np.arange(end.size)
    # one scratch array for every window's ok latencies: fresh ones would cost page
    # faults each (a window's are past malloc's threshold for a mapping of its own)
    scratch = np.empty(int(np.diff(bounds).max(initial=0)))
    out: list[list[tuple[str, float | None]]] = []
    for i in range(edges.size - 1):
        span = float(edges[i + 1] - edges[i])
        if span <= 0:
            out.append([])
            continue
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        ok = outcome[lo:hi] == 0
        if weights is None:
            finished = hi - lo
            failed = finished - int(np.count_nonzero(ok))
            mine = latency[lo:hi]  # every one ok: a view, which percentiles leave as is
            if failed:
                mine = np.compress(ok, mine, out=scratch[: finished - failed])
            window = {}
            if mine.size:
                values = percentiles(mine, list(SERIES.values()), overwrite_input=bool(failed))
                window = dict(zip(SERIES, map(float, values), strict=True))
        else:
            assert index is not None
            counts = weights[index[lo:hi]]
            finished, failed = int(counts.sum()), int(counts[~ok].sum())
            window = stats_of(data, index[lo:hi][ok])
        out.append(
            [
                ("throughput", (finished - failed) / span),
                ("errors", float(failed)),
                ("error_rate", failed / finished if finished else None),
                *((key, window.get(key)) for key in SERIES),
            ]
        )
    return out

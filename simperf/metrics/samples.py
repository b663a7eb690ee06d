"""Bounded samples: a stream of values kept exactly up to a cap, then folded into a sketch.

A database records a value per query (its time on the server), per connection taken
(the pool wait) and per write a replica receives (the replication lag), appended to an
``array("d")`` on the hot path. Past ``run.keep_requests``, the model's folds (after each
snapshot and as each batch of request records fills) move the values beyond the first
``keep`` into a
:class:`~simperf.metrics.quantiles.StreamingQuantiles` (as :mod:`simperf.metrics.waits`
does with the instances' waits), keeping their count, sum, largest value and how many
exceed a threshold exactly: the count, mean, maximum and the count above the threshold
(slow queries, waits above 0) stay exact, the percentiles are within the sketch's
stated relative error. Values before the first snapshot (the warm-up) are counted but
not kept: nothing reads them.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from simperf.metrics.percentiles import percentiles
from simperf.metrics.quantiles import StreamingQuantiles
from simperf.metrics.waits import CHUNK


class Samples:
    """The fold state of one ``array("d")`` of values (the array stays the hot path's).

    Parameters
    ----------
    values
        The array the model appends to.
    over
        Values above this are counted exactly once folded (None: not counted).

    Examples
    --------
    >>> times = array("d", [0.5, 1.0, 2.0, 4.0, 8.0])
    >>> samples = Samples(times, over=1.5)
    >>> samples.fold(keep=2, batch=1, warm=0)
    >>> len(times), samples.count, samples.folded_over
    (2, 5, 3)
    >>> d = samples.distribution(0, 5)
    >>> d["count"], d["mean"], d["max"], d["over"]
    (5, 3.1, 8.0, 3)
    """

    __slots__ = (
        "folded",
        "folded_count",
        "folded_max",
        "folded_over",
        "folded_sum",
        "keep",
        "over",
        "values",
    )

    def __init__(self, values: array[float], over: float | None = None) -> None:
        self.values = values
        self.over = over
        self.folded: StreamingQuantiles | None = None
        self.folded_count = 0  # values folded (warm-up ones included: counted, not kept)
        self.folded_sum = 0.0
        self.folded_max = -np.inf
        self.folded_over = 0
        self.keep = 0

    @property
    def count(self) -> int:
        """Values recorded so far, kept or folded."""
        return len(self.values) + self.folded_count

    def fold(self, keep: int, batch: int, warm: int) -> None:
        """Fold the values past the first ``keep`` once ``batch`` have piled up.

        ``warm`` is the count at the first snapshot: values before it are not kept.
        """
        values = self.values
        if len(values) - keep < batch:
            return
        tail = np.array(values[keep:])  # a copy: a view would stop the array shrinking
        del values[keep:]
        start = keep + self.folded_count  # the global index of tail[0]
        kept = tail[min(max(warm - start, 0), tail.size) :]
        if self.folded is None:
            self.folded = StreamingQuantiles()
        if kept.size:
            self.folded.add(kept)
            self.folded_sum += float(kept.sum())
            self.folded_max = max(self.folded_max, float(kept.max()))
            if self.over is not None:
                self.folded_over += int(np.count_nonzero(kept > self.over))
        self.folded_count += tail.size
        self.keep = keep

    def distribution(self, lo: int, hi: int) -> dict[str, Any]:
        """:func:`distribution` of the values ``lo`` to ``hi`` of this stream alone."""
        return distribution([(self, lo, hi)])


def distribution(ranges: list[tuple[Samples, int, int]]) -> dict[str, Any]:
    """Count, mean, p50, p99 and max of several streams' values, and ``over``.

    Each range is ``(samples, lo, hi)``: the values between two snapshots' counts. Exact
    while nothing was folded; after, the percentiles are within the sketch's relative
    error and the rest is exact. ``over`` counts the values above the streams'
    threshold (None without one).
    """
    threshold = ranges[0][0].over if ranges else None
    parts: list[np.ndarray] = []
    sketch: StreamingQuantiles | None = None
    total, largest, over = 0.0, -np.inf, 0
    for samples, lo, hi in ranges:
        values = samples.values
        held = np.frombuffer(values, dtype=float) if len(values) else np.empty(0)
        if samples.folded is None:
            parts.append(held[lo:hi])
            continue
        if sketch is None:
            sketch = StreamingQuantiles(samples.folded.buckets)
        sketch.merge(samples.folded)
        total += samples.folded_sum
        largest = max(largest, samples.folded_max)
        over += samples.folded_over
        # positions from ``keep`` on hold the values appended since the last fold
        keep, folded = samples.keep, samples.folded_count
        parts += [
            held[min(lo, keep) : min(hi, keep)],
            held[max(lo - folded, keep) : max(hi - folded, keep)],
        ]
    values = np.concatenate(parts) if parts else np.empty(0)
    if threshold is not None:
        over += int(np.count_nonzero(values > threshold))
    if sketch is None:
        return {**_exact(values), "over": None if threshold is None else over}
    for start in range(0, values.size, CHUNK):  # small temporaries
        sketch.add(values[start : start + CHUNK])
    count = sketch.count
    if not count:
        return {**_exact(values), "over": None if threshold is None else 0}
    if values.size:
        total += float(values.sum())
        largest = max(largest, float(values.max()))
    p50, p99 = sketch.percentiles([50, 99])
    return {
        "count": count,
        "mean": total / count,
        "p50": float(p50),
        "p99": float(p99),
        "max": largest,
        "over": None if threshold is None else over,
    }


def _exact(values: np.ndarray) -> dict[str, Any]:
    """Count, mean, p50, p99 and max of ``values`` (a scratch copy: partitioned)."""
    if values.size == 0:
        return {"count": 0, "mean": None, "p50": None, "p99": None, "max": None}
    mean, largest = float(values.mean()), float(values.max())
    p50, p99 = percentiles(values, [50, 99], overwrite_input=True)
    return {
        "count": int(values.size),
        "mean": mean,
        "p50": float(p50),
        "p99": float(p99),
        "max": largest,
    }

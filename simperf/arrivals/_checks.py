"""The batch-size check and the monotone hand-out shared by every arrival generator (numbers
are checked by :mod:`simperf.checks`)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np


def _check_batch(batch: int) -> int:
    if int(batch) != batch or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch}")
    return int(batch)


def _monotone(chunks: Iterator[np.ndarray]) -> Iterator[float]:
    """Hand out the times of ``chunks`` as floats, never decreasing.

    Mapping arrivals back to time rounds independently on each side of a segment or
    sojourn boundary, which can reorder two arrivals by one ulp; a running maximum
    removes that without moving any time by more than that ulp.
    """
    last = -math.inf
    for chunk in chunks:
        if chunk.size == 0:
            continue
        chunk = np.maximum.accumulate(chunk)
        if chunk[0] < last:
            chunk = np.maximum(chunk, last)
        last = float(chunk[-1])
        yield from chunk.tolist()

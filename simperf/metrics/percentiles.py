"""Exact percentiles of large samples: :func:`numpy.percentile`'s result, bit for bit,
without its full partition of every value.

``numpy.percentile`` (method ``linear``) partitions a copy of the whole sample, which at
a million latencies costs more than the rest of the summary. The same order statistics
come cheaper from a bracket: a strided sample, sorted, brackets each wanted rank by
value; one pass counts the values below the bracket and picks those in it, and only
those are partitioned. The values picked are the sample's own, and they are
interpolated with numpy's own formula, so the result is numpy's exactly; where a bracket
misses its rank (a sample unlike the whole), the whole sample is partitioned instead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

LARGE = 1 << 13
"""Samples at least this large are bracketed; smaller ones are partitioned whole."""
SAMPLE = 2048
"""At most about how many values the bracket is drawn from."""
STEP = 32
"""At least how far apart the values drawn are."""
MARGIN = 4.5
"""A bracket's half-width, in standard deviations of a rank in the sample."""
MERGE = 1 / 32
"""Brackets closer than this share of the sample are picked in one pass."""


def percentiles(
    values: np.ndarray, q: Sequence[float], *, overwrite_input: bool = False
) -> np.ndarray:
    """``numpy.percentile(values, q)`` (method ``linear``), to the last bit.

    Parameters
    ----------
    values
        A one-dimensional sample. Anything but NaN-free float64 values goes to
        :func:`numpy.percentile` itself.
    q
        Percentiles, in ``[0, 100]``.
    overwrite_input
        True lets a small sample be partitioned in place instead of in a copy (as
        numpy's own option); False leaves ``values`` as they are.

    Returns
    -------
    numpy.ndarray
        One float per percentile.

    Raises
    ------
    ValueError
        If a percentile is outside ``[0, 100]``.

    Examples
    --------
    >>> x = np.random.default_rng(1).exponential(1.0, 100_000)
    >>> bool(np.array_equal(percentiles(x, [50, 99.9]), np.percentile(x, [50, 99.9])))
    True
    """
    n = values.size
    plan = _plan(n, tuple(q))
    if plan is None or values.dtype != np.float64 or np.isnan(values.max()):
        # numpy's own errors, dtypes and NaN handling
        return np.percentile(values, q, overwrite_input=overwrite_input)
    wanted, low_at, high_at, gamma = plan
    found = order_statistics(values, wanted, overwrite_input=overwrite_input)
    low, high = found[low_at], found[high_at]
    # numpy's lerp, operation for operation
    diff = high - low
    out = np.add(low, diff * gamma)
    np.subtract(high, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


@functools.lru_cache(maxsize=1024)
def _plan(n: int, q: tuple[float, ...]) -> tuple[np.ndarray, ...] | None:
    """For ``n`` values and percentiles ``q``: the ranks to find (sorted, distinct), where
    each percentile's two ranks are among them, and its interpolation weight, as numpy
    computes them; None for no values or a percentile outside ``[0, 100]``.

    Shared by every window of the same size (a run's windows are a few sizes).
    """
    fractions = np.true_divide(np.asarray(q, dtype=float), 100)
    if n == 0 or not np.all((fractions >= 0) & (fractions <= 1)):
        return None
    # rank (n - 1) q between its floor and the next rank, both the last rank at or past
    # it (where numpy's weight counts from index -1)
    virtual = (n - 1) * fractions
    below = np.floor(virtual)
    last = virtual >= n - 1
    below[last] = -1
    gamma = virtual - below.astype(np.intp)
    low_rank = np.where(last, n - 1, below).astype(np.intp)
    high_rank = np.where(last, n - 1, below + 1).astype(np.intp)
    wanted = np.unique(np.concatenate([low_rank, high_rank]))
    plan = (
        wanted,
        np.searchsorted(wanted, low_rank),
        np.searchsorted(wanted, high_rank),
        gamma,
    )
    for array in plan:
        array.flags.writeable = False  # shared between calls
    return plan


def order_statistics(
    values: np.ndarray, ranks: np.ndarray, *, overwrite_input: bool = False
) -> np.ndarray:
    """The values at sorted, distinct 0-based ``ranks`` of the sorted ``values``.

    ``values`` must hold no NaN; they are partitioned in place where
    ``overwrite_input`` allows it, else left as they are.
    """
    if values.size >= LARGE:
        found = _bracketed(values, ranks)
        if found is not None:
            return found
    if not overwrite_input:
        values = values.copy()
    values.partition(ranks)
    return values[ranks]


def _bracketed(values: np.ndarray, ranks: np.ndarray) -> np.ndarray | None:
    """:func:`order_statistics` from brackets drawn from a strided sample; None where a
    bracket misses its rank (or would hold everything)."""
    n = values.size
    step, groups = _brackets(n, tuple(ranks.tolist()))
    if not groups:
        return None
    sample = np.sort(values[::step])
    last = sample.size - 1
    out = np.empty(ranks.size)
    for lo, hi, first, stop in groups:
        # np.compress: several times faster than boolean indexing on a sparse mask
        if lo <= 0:
            inside, count_below = np.compress(values <= sample[hi], values), 0
        elif hi >= last:
            inside = np.compress(values >= sample[lo], values)
            count_below = n - inside.size
        else:
            inside = np.compress((values >= sample[lo]) & (values <= sample[hi]), values)
            count_below = int(np.count_nonzero(values < sample[lo]))
        mine = ranks[first:stop] - count_below
        if mine[0] < 0 or mine[-1] >= inside.size:
            return None
        if inside.size * 2 <= n:  # bracketed in turn, when large, from a sample of its own
            out[first:stop] = order_statistics(inside, mine, overwrite_input=True)
        else:
            inside.partition(mine)
            out[first:stop] = inside[mine]
    return out


@functools.lru_cache(maxsize=1024)
def _brackets(n: int, ranks: tuple[int, ...]) -> tuple[int, list[tuple[int, int, int, int]]]:
    """How :func:`_bracketed` draws its sample from ``n`` values (every ``step``-th) and
    brackets ``ranks``: per bracket, its bounds' places in the sorted sample and the
    ``ranks[first:stop]`` it holds. No bracket but one holding everything."""
    step = max(n // SAMPLE, STEP)
    size = -(-n // step)  # values[::step].size
    wanted = np.asarray(ranks, dtype=float)
    share = wanted / n
    spread = MARGIN * np.sqrt(size * share * (1.0 - share)) + 2.0
    lows = np.floor(wanted / step - spread).astype(np.intp).tolist()
    highs = np.ceil(wanted / step + spread).astype(np.intp).tolist()
    gap = int(size * MERGE)
    groups: list[tuple[int, int, int, int]] = []
    for i, (lo, hi) in enumerate(zip(lows, highs, strict=True)):
        if groups and lo <= groups[-1][1] + gap:
            groups[-1] = (groups[-1][0], hi, groups[-1][2], i + 1)
        else:
            groups.append((lo, hi, i, i + 1))
    if len(groups) == 1 and groups[0][0] <= 0 and groups[0][1] >= size - 1:
        groups = []  # a bracket of everything: the caller partitions the whole
    return step, groups

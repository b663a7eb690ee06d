"""Key samplers: turn a :class:`~simperf.spec.keyspace.KeyspaceSpec` into a stream of keys.

Keys are Python ints in ``0 .. keys - 1``. For the zipf, uniform and hotset models the
key is the popularity rank (0 = most popular); for a trace it is the label's order of
first appearance in the file. Random keys are drawn ``batch`` at a time with numpy and
handed out one per call, so one call costs about as much as a generator step.

Zipf sampling over a finite key space is exact by one of two methods:

* up to :data:`CDF_MAX_KEYS` keys, inversion: the cumulative distribution of
  ``p_i ∝ 1/(i + 1)^alpha`` is computed once in float64 (cached per ``(keys, alpha)``,
  read-only) and a batch of uniforms is located in it with :func:`numpy.searchsorted`.
* above it, rejection-inversion (Hörmann and Derflinger, "Rejection-inversion to
  generate variates from monotone discrete distributions", ACM TOMACS 6(3), 1996),
  vectorised: O(1) memory, exact for any ``alpha > 0`` (1 and below 1 included), about
  98% of candidates accepted.

Why the threshold is low: ``searchsorted`` costs one cache (and TLB) miss per bisection
step once the CDF outgrows the CPU caches. Measured per batch of 65,536 keys, alpha 0.8,
on a 2-core development machine: the CDF took ~10 ms at 1e5 keys, ~30 ms at 1e6 and
~75 ms at 1e7 (under 1 M keys/s, far from the 3 M keys/s a simulation needs), while
rejection-inversion takes ~3-5 ms at any size. Below a few thousand keys both cost about
the same and the CDF is the simpler exact method, so it is kept there. ``zipf_method``
forces either.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from itertools import chain, repeat
from stat import S_ISREG
from typing import Literal

import numpy as np

from simperf.errors import BuildError
from simperf.spec.keyspace import (
    HotsetPopularity,
    KeyspaceSpec,
    TracePopularity,
    UniformPopularity,
    ZipfPopularity,
)

BATCH = 65536
"""Default number of keys drawn per numpy call."""
CDF_MAX_KEYS = 10_000
"""Largest Zipf key space sampled by CDF inversion by default; beyond it, rejection-inversion."""
MAX_PROBABILITY_KEYS = 100_000_000
"""Largest key space for which :func:`popularity_probabilities` builds a per-key vector."""

KeySampler = Callable[[], int]
"""A zero-argument function returning the next key."""


def key_sampler(
    spec: KeyspaceSpec,
    rng: np.random.Generator,
    batch: int = BATCH,
    *,
    zipf_method: Literal["auto", "cdf", "rejection"] = "auto",
) -> KeySampler:
    """Build a function that returns one key per call.

    Parameters
    ----------
    spec
        The key space.
    rng
        The generator of this key stream (unused for a trace, which is deterministic).
    batch
        Number of keys drawn per numpy call.
    zipf_method
        ``"auto"`` (CDF inversion up to :data:`CDF_MAX_KEYS` keys, rejection-inversion
        above), or force ``"cdf"`` (8 bytes of memory per key) or ``"rejection"``. Both
        are exact; they give different streams for the same seed.

    Returns
    -------
    KeySampler
        A zero-argument function returning Python ints in ``0 .. spec.keys - 1``. A
        trace is replayed in file order and starts over from its first row when it runs
        out (so a run longer than the trace sees it several times).

    Raises
    ------
    BuildError
        If a trace cannot be read or has more distinct keys than ``spec.keys``.
    """
    if batch < 1:
        raise ValueError("batch: must be >= 1")
    pop = spec.popularity
    if isinstance(pop, TracePopularity):
        codes = _load_trace(spec).codes
        return _cycle(codes, batch)
    if zipf_method not in ("auto", "cdf", "rejection"):
        raise ValueError(f"zipf_method: expected auto, cdf or rejection, not {zipf_method!r}")
    if zipf_method == "cdf" and spec.keys > MAX_PROBABILITY_KEYS:
        raise ValueError(f"zipf_method: a CDF of {spec.keys} keys would not fit in memory")
    draw = _batch_drawer(spec, rng, zipf_method)
    # chain/map/repeat run in C: one call is a single iterator step, no Python frame.
    return chain.from_iterable(map(lambda n: draw(n).tolist(), repeat(batch))).__next__


def trace_times(spec: KeyspaceSpec) -> np.ndarray | None:
    """Request timestamps of a trace key space, in seconds, one per row.

    Numeric timestamps are returned as they are (seconds); ISO 8601 date-times are
    converted to seconds since the first row. They are non-decreasing (checked).

    Returns
    -------
    numpy.ndarray or None
        The timestamps (read-only float64), or ``None`` if the key space is not a trace
        or its spec has no ``time_column``.
    """
    if not isinstance(spec.popularity, TracePopularity) or spec.popularity.time_column is None:
        return None
    return _load_trace(spec).times


def check_trace(spec: KeyspaceSpec) -> None:
    """Read and check a trace key space's file now (later samplers reuse the read).

    Raises
    ------
    BuildError
        If the file cannot be read or its rows are unusable, naming the field.
    """
    _load_trace(spec)


def popularity_probabilities(
    spec: KeyspaceSpec, max_keys: int = MAX_PROBABILITY_KEYS
) -> np.ndarray:
    """Probability that a request asks for each key, indexed by key.

    Exact for zipf, uniform and hotset; for a trace, the empirical frequency of each key
    over the whole file (keys that the trace never uses, up to ``spec.keys``, get 0).

    Parameters
    ----------
    spec
        The key space.
    max_keys
        Refuse key spaces larger than this (the vector takes 8 bytes per key).

    Returns
    -------
    numpy.ndarray
        float64 vector of length ``spec.keys`` summing to 1.
    """
    n = spec.keys
    if n > max_keys:
        raise ValueError(
            f"keys: {n} keys is more than max_keys={max_keys} for a per-key probability vector"
        )
    pop = spec.popularity
    if isinstance(pop, ZipfPopularity):
        p = _zipf_weights(n, pop.alpha)
        p /= p.sum()  # numpy's pairwise summation: relative error ~1e-16 * log2(n)
        return p
    if isinstance(pop, UniformPopularity):
        return np.full(n, 1.0 / n)
    if isinstance(pop, HotsetPopularity):
        hot = pop.hot_count(n)
        p = np.full(n, (1.0 - pop.hot_requests) / (n - hot))
        p[:hot] = pop.hot_requests / hot
        return p
    if isinstance(pop, TracePopularity):
        codes = _load_trace(spec).codes
        return np.bincount(codes, minlength=n) / codes.size
    raise TypeError(f"unknown popularity model {pop!r}")  # pragma: no cover


# -- random models -------------------------------------------------------------------


def _batch_drawer(
    spec: KeyspaceSpec, rng: np.random.Generator, zipf_method: str
) -> Callable[[int], np.ndarray]:
    n = spec.keys
    pop = spec.popularity
    if isinstance(pop, UniformPopularity):
        return lambda size: rng.integers(0, n, size)
    if isinstance(pop, HotsetPopularity):
        hot = pop.hot_count(n)
        share = pop.hot_requests

        def hotset(size: int) -> np.ndarray:
            is_hot = rng.random(size) < share
            return np.where(is_hot, rng.integers(0, hot, size), rng.integers(hot, n, size))

        return hotset
    if isinstance(pop, ZipfPopularity):
        if zipf_method == "cdf" or (zipf_method == "auto" and n <= CDF_MAX_KEYS):
            return _zipf_inversion(n, pop.alpha, rng)
        return _zipf_rejection_inversion(n, pop.alpha, rng)
    raise TypeError(f"no random sampler for {pop!r}")  # pragma: no cover


def _zipf_weights(n: int, alpha: float) -> np.ndarray:
    """``(i + 1)^-alpha`` for i in ``0 .. n-1``, computed in place to halve peak memory."""
    w = np.arange(1, n + 1, dtype=np.float64)
    np.power(w, -alpha, out=w)
    return w


@functools.lru_cache(maxsize=4)
def _zipf_cdf(n: int, alpha: float) -> np.ndarray:
    cdf = _zipf_weights(n, alpha)
    np.cumsum(cdf, out=cdf)
    cdf /= cdf[-1]
    cdf.flags.writeable = False  # shared between samplers through the cache
    return cdf


def _zipf_inversion(n: int, alpha: float, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
    cdf = _zipf_cdf(n, alpha)
    last = n - 1

    def draw(size: int) -> np.ndarray:
        # side="right": u in [cdf[i-1], cdf[i]) gives i, so P(i) = cdf[i] - cdf[i-1].
        keys = np.searchsorted(cdf, rng.random(size), side="right")
        # cdf[-1] == 1.0 > u always; the clip only guards float round-off.
        return np.minimum(keys, last, out=keys)

    return draw


def _zipf_rejection_inversion(
    n: int, alpha: float, rng: np.random.Generator
) -> Callable[[int], np.ndarray]:
    """Exact Zipf over ranks 1..n by Hörmann-Derflinger rejection-inversion, returned 0-based.

    With ``h(x) = x^-alpha`` and ``H`` its antiderivative, a uniform ``u`` on
    ``(H(1.5) - 1, H(n + 0.5)]`` is inverted to ``x = H^-1(u)`` and rounded to ``k``;
    ``k`` is accepted when ``k - x <= s`` (a cheap test that settles ~98% of candidates)
    or else when ``u >= H(k + 0.5) - h(k)``. This is Apache Commons RNG's
    ``RejectionInversionZipfSampler``, vectorised.
    """
    b = 1.0 - alpha
    if b == 0.0:
        h_integral, h_integral_inverse = np.log, np.exp
    else:
        # expm1/log1p keep H and its inverse accurate when alpha is close to 1.
        def h_integral(x: np.ndarray) -> np.ndarray:
            return np.expm1(b * np.log(x)) / b

        def h_integral_inverse(u: np.ndarray) -> np.ndarray:
            # The clamp at -1 (Commons RNG) maps u beyond the support to +inf, then to n.
            return np.exp(np.log1p(np.maximum(b * u, -1.0)) / b)

    def h(x: np.ndarray) -> np.ndarray:
        return np.exp(-alpha * np.log(x))

    h_x1 = float(h_integral(np.float64(1.5))) - 1.0
    h_n = float(h_integral(np.float64(n + 0.5)))
    s = 2.0 - float(h_integral_inverse(h_integral(np.float64(2.5)) - h(np.float64(2.0))))
    span = h_x1 - h_n
    top = float(n)

    def draw(size: int) -> np.ndarray:
        out = np.empty(size, dtype=np.int64)
        filled = 0
        while filled < size:
            want = size - filled
            u = rng.random(want + (want >> 4) + 16)  # a few spare for the rejected ones
            u *= span
            u += h_n
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                x = h_integral_inverse(u)
            k = x + 0.5
            np.clip(k, 1.0, top, out=k)
            np.floor(k, out=k)
            accept = (k - x) <= s
            slow = np.flatnonzero(~accept)
            if slow.size:
                ks = k[slow]
                accept[slow] = u[slow] >= h_integral(ks + 0.5) - h(ks)
            # Surplus accepted candidates are dropped: the kept ones are still i.i.d.
            got = k[accept][:want]
            out[filled : filled + got.size] = got
            filled += got.size
        out -= 1
        return out

    return draw


# -- traces --------------------------------------------------------------------------


class _Trace:
    __slots__ = ("codes", "distinct", "times")

    def __init__(self, codes: np.ndarray, distinct: int, times: np.ndarray | None) -> None:
        self.codes = codes
        self.distinct = distinct
        self.times = times


def _load_trace(spec: KeyspaceSpec) -> _Trace:
    pop = spec.popularity
    assert isinstance(pop, TracePopularity)
    try:
        stat = os.stat(pop.path)
    except OSError as exc:
        raise BuildError(f"popularity.path: cannot read trace {pop.path!r}: {exc}") from None
    if not S_ISREG(stat.st_mode):  # pandas would raise IsADirectoryError or block on a pipe
        raise BuildError(f"popularity.path: cannot read trace {pop.path!r}: not a regular file")
    # File identity in the cache key: an edited file is read again.
    trace = _read_trace(pop.path, pop.column, pop.time_column, stat.st_mtime_ns, stat.st_size)
    if trace.distinct > spec.keys:
        raise BuildError(
            f"keys: the trace {pop.path!r} has {trace.distinct} distinct keys, "
            f"more than keys={spec.keys}"
        )
    return trace


@functools.lru_cache(maxsize=4)
def _read_trace(
    path: str, column: str, time_column: str | None, _mtime_ns: int, _size: int
) -> _Trace:
    import pandas as pd

    columns = [column] if time_column is None else [column, time_column]
    try:
        # Keys as strings, no NA parsing: labels like "007" or "NA" stay distinct keys.
        frame = pd.read_csv(
            path, usecols=columns, dtype={column: str}, keep_default_na=False, na_values=[]
        )
    except ValueError as exc:  # pandas reports missing columns as ValueError
        raise BuildError(f"popularity: cannot read trace {path!r}: {exc}") from None
    if frame.empty:
        raise BuildError(f"popularity.path: the trace {path!r} has no rows")
    labels = frame[column]
    if (labels == "").any():
        row = int(np.argmax((labels == "").to_numpy()))
        raise BuildError(f"popularity.column: empty key in row {row + 1} of {path!r}")
    # factorize numbers labels in order of first appearance.
    codes, uniques = pd.factorize(labels, sort=False)
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    codes.flags.writeable = False
    times = None
    if time_column is not None:
        times = _parse_times(frame[time_column], path, time_column)
    return _Trace(codes, len(uniques), times)


def _parse_times(raw: object, path: str, column: str) -> np.ndarray:
    """Seconds from a numeric column, or from ISO 8601 date-times (relative to row 1)."""
    import pandas as pd

    where = f"popularity.time_column: {column!r} in {path!r}"
    series = pd.Series(raw)
    if not pd.api.types.is_numeric_dtype(series):
        blank = series.astype(str).str.strip() == ""
        if blank.any():
            raise BuildError(f"{where} has missing times (row {int(np.argmax(blank)) + 1})")
        numeric = pd.to_numeric(series, errors="coerce")
        if numeric.notna().all():
            series = numeric
    if pd.api.types.is_numeric_dtype(series):
        times = series.to_numpy(dtype=np.float64)
    else:
        try:
            stamps = pd.to_datetime(series, format="ISO8601")
        except (ValueError, TypeError) as exc:
            # pandas follows its reason with advice on format= ("You might want to try:")
            reason = str(exc).splitlines()[0].split(" You might")[0]
            raise BuildError(
                f"{where} holds neither numbers (seconds) nor ISO 8601 date-times: {reason}"
            ) from None
        times = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(dtype=np.float64)
    if not np.isfinite(times).all():
        raise BuildError(f"{where} has missing times")
    if times.size > 1 and (np.diff(times) < 0).any():
        row = int(np.argmax(np.diff(times) < 0)) + 2
        raise BuildError(
            f"{where}: times decrease at row {row}; a trace is replayed in file order, "
            "so sort it by time"
        )
    times = np.array(times)  # own, read-only copy
    times.flags.writeable = False
    return times


def _cycle(codes: np.ndarray, batch: int) -> KeySampler:
    """Replay ``codes`` in order forever, converting ``batch`` of them to ints at a time."""
    starts = chain.from_iterable(repeat(range(0, codes.size, batch)))
    return chain.from_iterable(map(lambda i: codes[i : i + batch].tolist(), starts)).__next__

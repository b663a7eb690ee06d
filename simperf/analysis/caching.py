"""Analytic cache hit rates under the independent reference model (IRM).

Requests are independent draws from fixed per-key probabilities ``p`` (for instance
:func:`simperf.keys.popularity_probabilities`). ``p`` need not be normalised: it is
divided by its sum, so request rates work as well. Hit rates are request-weighted:
``sum_i p_i * h_i`` where ``h_i`` is key i's hit probability.

Models
------
* LRU -- Che's approximation (Che, Tung and Wang, IEEE JSAC 20(7), 2002; justified by
  Fricker, Robert and Roberts, ITC 2012): a key stays cached for a characteristic time
  ``T`` after its last request, where ``sum_i (1 - exp(-p_i T)) = C``; then
  ``h_i = 1 - exp(-p_i T)``.
* FIFO and RANDOM -- the same hit rate for both (Gelenbe, "A unified approach to the
  evaluation of a class of replacement algorithms", IEEE Trans. Computers 22(6), 1973);
  in characteristic-time form (Martina, Garetto and Leonardi, "A unified approach to the
  performance analysis of caching systems", INFOCOM 2014): ``h_i = p_i T / (1 + p_i T)``
  with ``sum_i p_i T / (1 + p_i T) = C``.
* Invalidation by writes (write-around: a write deletes the key) -- key i's reads and
  writes Poisson at rates proportional to ``p_i`` and ``w_i`` (writes counted in reads'
  units). Under LRU a read hits iff the previous read came within ``T`` and no write
  since: the age ``X`` of that read is exponential of rate ``p_i``, and no write in it has
  probability ``exp(-w_i X)``, so ``h_i = int_0^T p_i exp(-(p_i + w_i) x) dx =
  p_i / (p_i + w_i) (1 - exp(-(p_i + w_i) T))``, which is also key i's occupancy (by
  PASTA), so ``sum_i h_i = C`` fixes ``T``. Under FIFO (an entry lives ``T`` from its
  set) and RANDOM (an exponential life of mean ``T``) each miss starts a stay that a
  write cuts short, of mean ``m_i = (1 - exp(-w_i T)) / w_i`` and ``T / (1 + w_i T)``
  respectively, and ``h_i = p_i m_i / (1 + p_i m_i)`` (renewal). Every form is Che's (or
  Martina's) at ``w_i = 0``; with invalidation the cache may never fill (``sum_i h_i``
  tends to ``sum_i p_i / (p_i + w_i)``, which may be below ``C``: then ``T`` is infinite).
* Writes that set the key (write-through, write-back: the write stores the new value in
  the cache) -- the key is referenced by its reads and its writes, at ``p_i + w_i``, and
  a read hits iff the key is present (PASTA). Under LRU every reference makes the key most
  recent: ``h_i = 1 - exp(-(p_i + w_i) T)``. Under FIFO a set re-inserts the key (its
  stay starts again) and a hit does not: a stay lasts until ``T`` passes with no write,
  of mean ``(exp(w_i T) - 1) / w_i`` (Wald), and any reference while it is absent stores
  it. Under RANDOM a stay is an exponential life of mean ``T`` whatever the writes. Each
  is Che's (Martina's) form at the rate ``p_i + w_i``; the hit rate is read-weighted.
* Writes behind an LRU cache (to the store alone: nothing deletes or sets the key) --
  the cache holds what Che's form says; a hit is stale if its key was written since the
  miss that set the copy, over the run of read gaps shorter than ``T`` since then
  (:func:`lru_stale_rate`).
* LFU -- perfect LFU under IRM converges to the ``C`` most popular keys: the hit rate
  is the sum of the ``C`` largest probabilities. With writes that delete keys, those
  keys each hit unless written since their previous read (:func:`lfu_invalidated`).
  With a TTL (lazy expiry: an expired entry keeps its slot, its count its rank) those
  keys each hit as in a TTL-only cache (:func:`lfu_ttl_hit_rate`).
* TTL -- a cache without capacity limit whose entries expire ``ttl`` after being set,
  requests for key i arriving as a Poisson process of rate ``lambda_i = rate * p_i``.
  Entry set on a miss and *not* refreshed on hits (Redis ``SET key value EX ttl`` on a
  miss): each miss starts a window of length ``ttl`` whose requests all hit, so
  ``h_i = lambda_i ttl / (1 + lambda_i ttl)`` (renewal argument). Expiry reset on every
  request: a request hits iff the previous one came less than ``ttl`` earlier, so
  ``h_i = 1 - exp(-lambda_i ttl)``. These are the TTL caches of Fofack, Nain, Neglia and
  Towsley ("Analysis of TTL-based cache networks", VALUETOOLS 2012) with a fixed timer:
  the reset timer is LRU's form, the non-reset one FIFO's, at ``T = lambda ttl``, so
  writes that delete or set the key take the same forms as above at that ``T``.
* An item limit and a TTL from the set, not refreshed by hits (Redis ``SET EX`` with
  ``allkeys-lru``): under LRU a request hits iff within ``T`` (Che's, unchanged: an
  expired entry keeps its slot until requested or evicted) of the key's previous request
  and within ``ttl`` of the miss that set it; the mean requests of the cycle between two
  misses is a renewal function with a closed form (:func:`fixed_ttl_hit_ratios`). Under
  FIFO and RANDOM the stay ends at the earlier of Martina's eviction and the ttl.
* An item limit and a TTL restarted by every hit (Redis ``GETEX``): under LRU a request
  hits iff within ``min(T, ttl)`` of the previous one (:func:`lru_ttl_hit_rate`); under
  RANDOM iff within ``ttl`` of it with no eviction since (memoryless, at Martina's
  ``T``); under FIFO the cycle from a miss breaks at a gap past ``ttl`` or at ``T`` from
  the set: the same renewal function with the two times exchanged
  (:func:`refreshed_ttl_hit_ratios`).

The approximations are asymptotically exact as the cache and the key space grow; for
caches of a thousand entries and more they are typically within a few thousandths.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "characteristic_time",
    "che_fifo",
    "che_invalidated",
    "che_lru",
    "che_random",
    "che_written",
    "fixed_ttl_hit_rate",
    "fixed_ttl_hit_ratios",
    "lfu_invalidated",
    "lfu_static",
    "lfu_ttl_hit_rate",
    "lru_stale_rate",
    "lru_ttl_hit_rate",
    "refreshed_ttl_hit_rate",
    "refreshed_ttl_hit_ratios",
    "ttl_hit_rate",
    "ttl_hit_ratios",
    "ttl_stale_rate",
]


def _probabilities(p: ArrayLike) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("p: expected a non-empty 1-D array of probabilities")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("p: probabilities must be finite and >= 0")
    total = p.sum()
    if total <= 0:
        raise ValueError("p: probabilities must have a positive sum")
    return p / total


def _ttl_arguments(p: ArrayLike, rate: float, ttl: float) -> np.ndarray:
    """The ttl forms' arguments checked (a ttl may be infinite); ``p`` normalised."""
    if rate <= 0:
        raise ValueError("rate: must be > 0")
    if ttl < 0:
        raise ValueError("ttl: must be >= 0")
    return _probabilities(p)


def _occupancy_lru(p: np.ndarray, t: float) -> np.ndarray:
    return -np.expm1(-p * t)


def _occupancy_fifo(p: np.ndarray, t: float) -> np.ndarray:
    x = p * t
    return x / (1.0 + x)


_OCCUPANCY: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "lru": _occupancy_lru,
    "fifo": _occupancy_fifo,
    "random": _occupancy_fifo,
}


def _invalidated_lru(p: np.ndarray, w: np.ndarray, t: float) -> np.ndarray:
    rate = p + w
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rate > 0, p / np.where(rate > 0, rate, 1.0) * -np.expm1(-rate * t), 0.0)


def _stay_fifo(w: np.ndarray, t: float) -> np.ndarray:
    """Mean stay of an entry set at a miss: ``min(T, first write)``."""
    x = w * t
    # (1 - e^{-w T}) / w, accurate as w T -> 0 (where it tends to T)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 1e-8, -np.expm1(-x) / np.where(w > 0, w, 1.0), t * (1.0 - x / 2))


def _stay_random(w: np.ndarray, t: float) -> np.ndarray:
    """Mean stay: the smaller of an exponential life of mean ``T`` and the first write."""
    return t / (1.0 + w * t)


def _renewal(stay: Callable[[np.ndarray, float], np.ndarray]) -> Callable[..., np.ndarray]:
    def occupancy(p: np.ndarray, w: np.ndarray, t: float) -> np.ndarray:
        x = p * stay(w, t)
        return x / (1.0 + x)

    return occupancy


_INVALIDATED: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
    "lru": _invalidated_lru,
    "fifo": _renewal(_stay_fifo),
    "random": _renewal(_stay_random),
}


def _written_lru(p: np.ndarray, w: np.ndarray, t: float) -> np.ndarray:
    return -np.expm1(-(p + w) * t)


def _written_fifo(p: np.ndarray, w: np.ndarray, t: float) -> np.ndarray:
    """A stay lasts until ``T`` passes with no write: mean ``(e^{w T} - 1) / w``."""
    x = w * t
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        stay = np.where(x > 1e-8, np.expm1(x) / np.where(w > 0, w, 1.0), t * (1.0 + x / 2))
        y = (p + w) * stay
        return np.where(np.isinf(y), 1.0, y / (1.0 + y))


def _written_random(p: np.ndarray, w: np.ndarray, t: float) -> np.ndarray:
    y = (p + w) * t
    return y / (1.0 + y)


_WRITTEN: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
    "lru": _written_lru,
    "fifo": _written_fifo,
    "random": _written_random,
}

_ON_WRITE = {"delete": _INVALIDATED, "set": _WRITTEN}


def _write_rates(p: np.ndarray, writes: float, write_p: ArrayLike | None) -> np.ndarray:
    """Per-key write rates in reads' units: ``writes`` per read, spread as ``write_p``."""
    if not np.isfinite(writes) or writes < 0:
        raise ValueError("writes: must be finite and >= 0")
    q = p if write_p is None else _probabilities(write_p)
    if q.shape != p.shape:
        raise ValueError("write_p: needs one probability per key, like p")
    return writes * q


def characteristic_time(
    p: ArrayLike,
    capacity: float,
    policy: Literal["lru", "fifo", "random"] = "lru",
    writes: float = 0.0,
    write_p: ArrayLike | None = None,
    on_write: Literal["delete", "set"] = "delete",
) -> float:
    """Characteristic time ``T`` of a cache of ``capacity`` entries (in requests).

    Solves ``sum_i occupancy_i(T) = capacity`` with Brent's method, where occupancy is
    ``1 - exp(-p_i T)`` for LRU and ``p_i T / (1 + p_i T)`` for FIFO and RANDOM (with
    writes that invalidate, the forms of :func:`che_invalidated`). ``T`` is measured in
    requests (multiply by the mean inter-request time for seconds).

    Parameters
    ----------
    p
        Per-key read probabilities (normalised here).
    capacity
        Cache size in entries.
    policy
        Eviction policy.
    writes
        Writes that delete their key, per read (0: none).
    write_p
        Per-key write probabilities (default: ``p``).
    on_write
        What a write does to its key: ``"delete"`` it (write-around,
        :func:`che_invalidated`) or ``"set"`` it (write-through, write-back:
        :func:`che_written`).

    Returns
    -------
    float
        ``T``; 0 if ``capacity <= 0``, ``inf`` if the cache never fills (every requested
        key fits, or writes keep the occupancy below ``capacity`` however long ``T``).
    """
    p = _probabilities(p)
    if writes > 0 or write_p is not None:
        w = _write_rates(p, writes, write_p)
        written = _ON_WRITE[on_write][policy]

        def occupancy(p: np.ndarray, t: float) -> np.ndarray:
            return written(p, w, t)

        # as T -> inf a deleted key's occupancy tends to p_i / (p_i + w_i), a set one's to 1
        with np.errstate(divide="ignore", invalid="ignore"):
            if on_write == "delete":
                ceiling = float(np.where(p > 0, p / (p + w), 0.0).sum())
            else:
                ceiling = float(np.count_nonzero(p + w))
    else:
        occupancy = _OCCUPANCY[policy]
        ceiling = float(np.count_nonzero(p))
    return _solve_time(p, capacity, occupancy, ceiling)


def _solve_time(
    p: np.ndarray,
    capacity: float,
    occupancy: Callable[[np.ndarray, float], np.ndarray],
    ceiling: float,
) -> float:
    """``T`` with ``sum_i occupancy(p, T)_i = capacity``: 0 for no capacity, ``inf`` at
    or past ``ceiling`` (the occupancy's limit as ``T`` grows). Every occupancy here is
    at most ``p_i T``."""
    if capacity <= 0:
        return 0.0
    if capacity >= ceiling:
        return float("inf")

    def excess(t: float) -> float:
        return float(occupancy(p, t).sum()) - capacity

    # Occupancy of key i is at most p_i T, so the sum is at most T: T >= capacity
    # (unless writes that set keys hold slots too: then lower)
    low = float(capacity)
    while excess(low) > 0:
        low /= 2.0
    high = 2.0 * low
    while excess(high) < 0:
        low, high = high, 2.0 * high
    from scipy.optimize import brentq  # imported here: a model without a cache never solves

    return float(brentq(excess, low, high, xtol=1e-12, rtol=1e-13, maxiter=500))


def _che(p: ArrayLike, capacity: float, policy: Literal["lru", "fifo", "random"]) -> float:
    p = _probabilities(p)
    t = characteristic_time(p, capacity, policy)
    if t == 0.0:
        return 0.0
    if np.isinf(t):
        return 1.0
    return float(np.dot(p, _OCCUPANCY[policy](p, t)))


def che_lru(p: ArrayLike, capacity: float) -> float:
    """Hit rate of an LRU cache of ``capacity`` entries by Che's approximation.

    Parameters
    ----------
    p
        Per-key request probabilities (normalised here).
    capacity
        Cache size in entries.

    Returns
    -------
    float
        ``sum_i p_i (1 - exp(-p_i T))`` with ``sum_i (1 - exp(-p_i T)) = capacity``.
    """
    return _che(p, capacity, "lru")


def che_fifo(p: ArrayLike, capacity: float) -> float:
    """Hit rate of a FIFO cache of ``capacity`` entries (Gelenbe; Martina et al.).

    Returns
    -------
    float
        ``sum_i p_i h_i`` with ``h_i = p_i T / (1 + p_i T)`` and ``sum_i h_i = capacity``.
    """
    return _che(p, capacity, "fifo")


def che_random(p: ArrayLike, capacity: float) -> float:
    """Hit rate of a RANDOM-eviction cache: under IRM the same as FIFO (Gelenbe, 1973)."""
    return _che(p, capacity, "random")


def che_invalidated(
    p: ArrayLike,
    capacity: float,
    writes: float,
    policy: Literal["lru", "fifo", "random"] = "lru",
    write_p: ArrayLike | None = None,
) -> float:
    """Hit rate of a cache whose writes delete their key (write-around), by Che's method.

    Reads of key i and writes to it are independent Poisson processes; each write drops
    the key, so a read hits only if its key was read within the characteristic time and
    not written since (see the module's notes for each policy's form).

    Parameters
    ----------
    p
        Per-key read probabilities (normalised here).
    capacity
        Cache size in entries.
    writes
        Invalidating writes per read (all keys together).
    policy
        Eviction policy: ``"lru"``, ``"fifo"`` or ``"random"``.
    write_p
        Per-key write probabilities (default: ``p``).

    Returns
    -------
    float
        ``sum_i p_i h_i``; for LRU ``h_i = p_i / (p_i + w_i) (1 - exp(-(p_i + w_i) T))``
        with ``w_i = writes q_i`` and ``sum_i h_i = capacity`` (or ``T`` infinite when
        the cache never fills). ``writes = 0`` gives :func:`che_lru` (:func:`che_fifo`,
        :func:`che_random`).
    """
    p = _probabilities(p)
    w = _write_rates(p, writes, write_p)
    t = characteristic_time(p, capacity, policy, writes, write_p)
    if t == 0.0:
        return 0.0
    if np.isinf(t):
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.dot(p, np.where(p > 0, p / (p + w), 0.0)))
    return float(np.dot(p, _INVALIDATED[policy](p, w, t)))


def che_written(
    p: ArrayLike,
    capacity: float,
    writes: float,
    policy: Literal["lru", "fifo", "random"] = "lru",
    write_p: ArrayLike | None = None,
) -> float:
    """Read hit rate of a cache whose writes set their key (write-through, write-back).

    A write stores the key, so it is referenced by its reads and its writes: Che's
    approximation (Martina's for FIFO and RANDOM) at the rate ``p_i + w_i``, weighted by
    the reads (see the module's notes for each policy's form).

    Parameters
    ----------
    p
        Per-key read probabilities (normalised here).
    capacity
        Cache size in entries.
    writes
        Writes per read (all keys together).
    policy
        Eviction policy: ``"lru"``, ``"fifo"`` or ``"random"``.
    write_p
        Per-key write probabilities (default: ``p``).

    Returns
    -------
    float
        ``sum_i p_i h_i``; for LRU ``h_i = 1 - exp(-(p_i + w_i) T)`` with
        ``sum_i h_i = capacity``. ``writes = 0`` gives :func:`che_lru` (:func:`che_fifo`,
        :func:`che_random`).
    """
    p = _probabilities(p)
    w = _write_rates(p, writes, write_p)
    t = characteristic_time(p, capacity, policy, writes, write_p, on_write="set")
    if t == 0.0:
        return 0.0
    if np.isinf(t):
        return 1.0
    return float(np.dot(p, _WRITTEN[policy](p, w, t)))


def lru_ttl_hit_rate(
    p: ArrayLike,
    capacity: float,
    rate: float,
    ttl: float,
    writes: float = 0.0,
    write_p: ArrayLike | None = None,
    on_write: Literal["delete", "set"] = "delete",
) -> float:
    """Read hit rate of an LRU cache whose entries also expire ``ttl`` after their last
    request (the ttl restarted by every hit, Redis ``GETEX``), expiry being lazy.

    An expired entry keeps its slot until it is requested (then dropped and stored
    again: most recent, as a hit would make it) or evicted, so the slots are held as
    without the ttl and the characteristic time ``T`` is Che's (with the writes, of
    :func:`che_invalidated` or :func:`che_written`); a read hits iff its key's previous
    reference came within ``min(T, rate x ttl)`` (and no write deleted it since): the
    same forms at that time.

    Parameters
    ----------
    p
        Per-key read probabilities (normalised here).
    capacity
        Cache size in entries.
    rate
        Reads per second (all keys together).
    ttl
        Time to live (seconds), restarted by every hit.
    writes, write_p, on_write
        Writes per read, their popularity (default ``p``), and whether a write deletes
        its key or sets it (with a fresh ttl).

    Returns
    -------
    float
        ``sum_i p_i h_i`` with ``h_i`` LRU's form at ``min(T, rate ttl)``.
    """
    p = _ttl_arguments(p, rate, ttl)
    w = _write_rates(p, writes, write_p)
    t = characteristic_time(p, capacity, "lru", writes, write_p, on_write)
    t = min(t, rate * ttl)
    return float(np.dot(p, _ON_WRITE[on_write]["lru"](p, w, t)))


_SERIES_LIMIT = 15.0
"""``a H`` up to which :func:`_lru_cycle_requests` sums its alternating series: its terms
are at most ``e^(a H) (1 + x H)`` against a sum of at least ``e^x`` (some 9 digits kept);
past it the series' tail beyond the dominant root is below ``e^(-H)``, ``H >= 40``."""
_SERIES_TERMS = 80  # (a H)^k / k! at a H = 15 is below 1e-23 past k = 80


_SERIES_TOLERANCE = 1e-25
"""What the terms :func:`_series_sums` leaves out of a key's sums add up to at most,
relative to the sums (the series' own round-off is some 1e-16 of its largest term)."""

_SERIES_CHECK = 8
"""From which term, and every how many, :func:`_series_sums` looks for keys to let go:
a cold key's terms fall below the tolerance after some 8, and a look costs as a term."""


def _series_sums(
    a: np.ndarray,
    span: float,
    floor: Callable[..., np.ndarray],
    carried: tuple[np.ndarray, ...],
    weights: Callable[..., tuple[np.ndarray | float, ...]],
) -> tuple[np.ndarray, ...]:
    """Sums over ``k`` up to ``H = span`` (at most ``_SERIES_TERMS``) of the terms
    ``(-a (H - k))^k / k!`` of :func:`_unbroken`'s series, each times the weights
    ``weights(k, H - k, *carried)`` (per-key arrays ``carried`` taken along).

    The terms are at most ``b_k = (a H)^k / k!``, which fall by ``a H / (k + 1)`` a step
    once past ``a H``, so a key's terms after ``k`` add up to at most ``b_(k + 1) / (1 -
    a H / (k + 2))``; a key leaves the sums once that is below ``_SERIES_TOLERANCE x
    floor`` (``floor`` a lower bound of its sums over its terms' largest weight): most
    keys, the cold ones, after some ``_SERIES_CHECK`` terms rather than ``H``'s.
    """
    sums: list[np.ndarray] | None = None
    done: list[np.ndarray] = []  # the sums of the keys let go, by output
    keys: np.ndarray | None = None  # those still summed (None: all)
    scaled = limit = a
    for k in range(min(int(np.floor(span)), _SERIES_TERMS) + 1):
        rest = span - k
        if k == 0:
            term = np.ones_like(a)
        else:
            z = a * rest
            with np.errstate(divide="ignore"):
                term = np.where(
                    z > 0, np.exp(k * np.log(np.where(z > 0, z, 1.0)) - math.lgamma(k + 1)), 0.0
                )
        signed = (-1) ** k * term
        parts = weights(k, rest, *carried)
        if sums is None:
            sums = [signed * w for w in parts]
            done = [np.empty(a.size) for _ in parts]
        else:
            for total, w in zip(sums, parts, strict=True):
                total += signed * w
        if k >= _SERIES_CHECK and k % _SERIES_CHECK == 0:
            if keys is None:  # the first look
                keys = np.arange(a.size)
                scaled = a * span  # a H
                limit = _SERIES_TOLERANCE * floor(*carried)
            bound = scaled ** (k + 1) * math.exp(-math.lgamma(k + 2))  # b_(k + 1)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                tail = np.where(scaled < k + 2, bound / (1.0 - scaled / (k + 2)), np.inf)
            stay = ~(tail < limit)
            if stay.sum() < 0.75 * stay.size:  # a quarter of them or more go
                gone = ~stay
                for out, total in zip(done, sums, strict=True):
                    out[keys[gone]] = total[gone]
                if not stay.any():
                    return tuple(done)
                keys, a, scaled, limit = keys[stay], a[stay], scaled[stay], limit[stay]
                carried = tuple(c[stay] for c in carried)
                sums = [total[stay] for total in sums]
    assert sums is not None
    if keys is None:
        return tuple(sums)
    for out, total in zip(done, sums, strict=True):
        out[keys] = total
    return tuple(done)


def _slowest_root(lambertw: Callable[..., np.ndarray], a: np.ndarray) -> np.ndarray:
    """``theta = -W_0(-a)``, the slowest root of ``s + a e^(-s) = 0``; 1 at the branch
    point ``a = 1 / e`` (``x = 1``), where scipy's ``lambertw`` gives NaN."""
    theta = -lambertw(-a, 0).real
    return np.where(np.isfinite(theta), theta, 1.0)


def _lru_cycle_requests(x: np.ndarray, span: float) -> np.ndarray:
    """Mean requests in a cycle of an LRU entry whose ttl runs from its set.

    Times are in units of the characteristic time ``T``: ``x = p_i T`` is the key's
    requests in ``T``, ``span = ttl / T``. A cycle starts with a miss; its later
    requests hit while each comes within 1 of the one before and within ``span`` of the
    miss, so the mean count is the renewal function ``U(span)`` of gaps drawn from
    ``x e^(-x u)`` on ``u < 1`` (a defective law of mass ``1 - e^(-x)``); see
    :func:`_unbroken`.
    """
    return _unbroken(x, span)[2]


def _unbroken(x: np.ndarray, span: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(q, Q, U)`` at ``span`` for Poisson requests of ``x`` per unit of time, a cycle
    starting with a request at 0 and broken by the first gap of 1 or more.

    ``q(u)`` is the chance that no gap completed by ``u`` was 1 or more, ``Q(u)`` its
    integral from 0 (the mean time, up to ``u``, before the request that breaks the
    cycle) and ``U = q + x Q`` the mean requests of the cycle cut at ``span`` (its
    first request and those before ``span`` that do not break it). The cycle breaks at
    ``u`` if no request came in ``(u - 1, u)`` and none broke it by ``u - 1``, so
    ``q'(u) = -a q(u - 1)``, ``a = x e^(-x)``, with ``q = 1`` on ``[0, 1]``:
    ``q(H) = sum_{k <= H} (-a (H - k))^k / k!``, ``Q(H) = sum_{k <= H} (-a)^k (H -
    k)^(k + 1) / (k + 1)!``, whence ``U(H) = sum_{k <= H} (-a (H - k))^k / k! (1 + x (H -
    k) / (k + 1))``. Where ``a H`` is large the terms cancel, and each is instead its
    limit (``q`` 0, ``Q`` ``e^x / x``, ``U`` ``e^x``) less the residue of its Laplace
    transform (``q``'s is ``1 / (s + a e^(-s))``) at the slowest root ``-theta`` of
    ``s + a e^(-s) = 0``, ``theta = -W_0(-a)``: ``e^(-theta H) / (1 - theta)`` times 1,
    ``-1 / theta`` and ``(theta - x) / theta`` (for ``x <= 1`` that root is ``x`` itself,
    where ``U``'s residue is 0).
    """
    c = np.exp(-x)
    a = x * c
    series = a * span <= _SERIES_LIMIT
    q, integral, cycle = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    xs = x[series]
    # Q >= min(1, span) and U >= 1: a term's weight is at most 1 + x span

    def weights(k: int, rest: float, xs: np.ndarray) -> tuple[np.ndarray | float, ...]:
        return 1.0, rest / (k + 1), 1.0 + xs * rest / (k + 1)

    def floor(xs: np.ndarray) -> np.ndarray:
        return min(1.0, span) / (max(1.0, span) * (1.0 + xs * span))

    kept, held, total = _series_sums(a[series], span, floor, (xs,), weights)
    q[series], integral[series], cycle[series] = kept, held, total
    far = ~series
    if far.any():
        from scipy.special import lambertw  # imported here, as brentq is

        xf, af = x[far], a[far]
        theta = _slowest_root(lambertw, af)
        # a double root at x = 1, where the two slowest residues cancel: both left out
        single = 1.0 - theta > 1e-6
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            decay = np.where(single, np.exp(-theta * span) / (1.0 - theta), 0.0)
            residue = (xf - theta) / (theta * (1.0 - theta)) * np.exp(-theta * span)
            q[far] = decay
            integral[far] = np.exp(xf) / xf - decay / theta
        residue = np.where((xf > 1.0) & single, residue, 0.0)
        cycle[far] = np.exp(xf) - residue
    return q, integral, cycle


def _fixed_ttl_fifo(p: np.ndarray, t: float, ell: float) -> tuple[np.ndarray, np.ndarray]:
    """(hit, occupancy) per key under FIFO: a stay of ``T`` from the set, or the ttl."""
    m = min(t, ell)
    if ell >= t:
        held = np.full_like(p, t)
    else:  # expired, the entry keeps its slot until read again or evicted at T
        with np.errstate(divide="ignore", invalid="ignore"):
            held = ell + np.where(
                p > 0, -np.expm1(-p * (t - ell)) / np.where(p > 0, p, 1.0), t - ell
            )
    return p * m / (1.0 + p * m), p * held / (1.0 + p * m)


def _fixed_ttl_random(p: np.ndarray, t: float, ell: float) -> tuple[np.ndarray, np.ndarray]:
    """(hit, occupancy) per key under RANDOM: an exponential stay of mean ``T``, or the ttl."""
    alive = math.exp(-ell / t)  # the entry outlives its ttl
    s = t * -math.expm1(-ell / t)  # E[min(stay, ttl)]
    held = s + alive * t / (1.0 + p * t)  # then until the next read or the eviction
    return p * s / (1.0 + p * s), p * held / (1.0 + p * s)


_FIXED_TTL = {"fifo": _fixed_ttl_fifo, "random": _fixed_ttl_random}


def _fixed_ttl_written(
    policy: str, p: np.ndarray, w: np.ndarray, t: float, ell: float, on_write: str
) -> tuple[np.ndarray, np.ndarray]:
    """(hit, occupancy) per key under FIFO or RANDOM with a ttl from the set and writes
    at ``w`` (times in requests) that delete the key or set it afresh.

    From a set the entry is valid for ``m``, the mean of the smallest of its stay
    (``T``, or exponential of mean ``T``), the ttl and the next write, and holds its
    slot ``held = m + tail`` (an expired entry until the key is read again or evicted).
    With deletes a cycle runs from a miss to the next, ``m + 1 / p`` long; with sets,
    from a set (a miss or a write) to the next: ``m + (1 - w m) / (w + p)``, ``1 - w m``
    being the chance the entry stopped being valid before a write came."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if policy == "fifo":
            m = _stay_fifo(w, min(t, ell))
            tail = np.zeros_like(p)
            if ell < t:  # expired, until read again or evicted at T
                rate = p + w
                rest = np.where(
                    rate > 0, -np.expm1(-rate * (t - ell)) / np.where(rate > 0, rate, 1.0), t - ell
                )
                tail = np.exp(-w * ell) * rest
        else:
            r = 1.0 / t + w
            m = _stay_fifo(r, ell)  # (1 - e^(-r ttl)) / r
            tail = np.exp(-r * ell) / (r + p)
        held = m + tail
        if on_write == "delete":
            return p * m / (1.0 + p * m), p * held / (1.0 + p * m)
        cycle = m + np.where(p + w > 0, (1.0 - w * m) / np.where(p + w > 0, p + w, 1.0), np.inf)
        return m / cycle, held / cycle


_GAMMA_SERIES_TOLERANCE = 1e-18
"""The last term :func:`_ratio_of_gamma`'s series adds: the rest, below it (its terms'
ratio is under 1 / 2), is then under some 1e-17 of the sum (at least ``e^-1``)."""


def _ratio_of_gamma(k: int, z: np.ndarray) -> np.ndarray:
    """``(k + 1)! P(k + 1, z) / z^(k + 1) = e^(-z) sum_m z^m / ((k + 2) ... (k + 1 + m))``,
    ``P`` the regularised lower incomplete gamma function: the integral of ``e^(-z v)
    v^k / k!`` over ``v < 1`` over its value at ``z = 0``."""
    if k == 0:  # (1 - e^(-z)) / z, as a write-cut stay of the unit time is
        return _stay_fifo(z, 1.0)
    out = np.empty_like(z)
    small = z < 1.0  # the series, whose ratio is below 1 / 2 (at most 50 terms: 1e-15)
    # most keys are cold, their z tiny, their terms falling by 1 / 200 a step below 0.01
    for part in (z < 0.01, small & (z >= 0.01)):
        zs = z[part]
        term = np.exp(-zs)
        total = term.copy()
        for m in range(1, 50):
            term = term * zs / (k + 1 + m)
            total += term
            # the sum is above e^-1 and the rest below the last term: it is kept whole
            if not term.size or term.max() < _GAMMA_SERIES_TOLERANCE:
                break
        out[part] = total
    zl = z[~small]  # P(k + 1, z) >= e^-1 / (k + 1)! there: no underflow
    from scipy.special import gammainc  # imported here, as brentq is

    out[~small] = np.exp(np.log(gammainc(k + 1, zl)) + math.lgamma(k + 2) - (k + 1) * np.log(zl))
    return out


def _unbroken_written(
    x: np.ndarray, omega: np.ndarray, span: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(e^(-omega H) q(H), int_0^H e^(-omega u) q(u) du)`` for :func:`_unbroken`'s
    ``q``, at ``H = span``: its cycle also broken by a write, at ``omega`` per unit.

    Term by term, ``e^(-omega u) (u - k)^k / k!`` integrates over ``(k, H)`` to ``e^(-omega
    k) (H - k)^(k + 1) / (k + 1)!`` times :func:`_ratio_of_gamma` at ``omega (H - k)``.
    Where ``a H`` is large, as in :func:`_unbroken`, each is its limit (0, and ``q``'s
    Laplace transform ``1 / (omega + a e^(-omega))``) less the slowest root's residue,
    ``e^(-(theta + omega) H) / (1 - theta)`` times 1 and ``1 / (theta + omega)``.
    """
    a = x * np.exp(-x)
    series = a * span <= _SERIES_LIMIT
    edge, integral = np.empty_like(x), np.empty_like(x)
    xs, om = x[series], omega[series]
    # the integral is at least its part over (0, min(1, span)), where q = 1; the cycle's
    # reads (edge + (x + omega) integral) at least 1

    def weights(
        k: int, rest: float, om: np.ndarray, xs: np.ndarray
    ) -> tuple[np.ndarray | float, ...]:
        return 1.0, np.exp(-k * om) * (rest / (k + 1)) * _ratio_of_gamma(k, om * rest)

    def floor(om: np.ndarray, xs: np.ndarray) -> np.ndarray:
        return np.minimum(1.0, _stay_fifo(om, min(1.0, span))) / (
            max(1.0, span) * (1.0 + xs * span)
        )

    kept, held = _series_sums(a[series], span, floor, (om, xs), weights)
    edge[series], integral[series] = kept * np.exp(-om * span), held
    far = ~series
    if far.any():
        from scipy.special import lambertw  # imported here, as brentq is

        af, of = a[far], omega[far]
        theta = _slowest_root(lambertw, af)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            decay = np.where(1.0 - theta > 1e-6, np.exp(-(theta + of) * span) / (1.0 - theta), 0.0)
            edge[far] = decay
            integral[far] = 1.0 / (of + af * np.exp(-of)) - decay / (theta + of)
    return edge, integral


def _fixed_ttl_lru_written(
    p: np.ndarray, w: np.ndarray, t: float, ell: float, on_write: str
) -> np.ndarray:
    """Hit per key under LRU with a ttl from the set and writes (times in requests): a
    cycle from a set breaks at a gap of ``T`` or more, past the ttl, or at a write."""
    x, omega = p * t, w * t
    edge, integral = _unbroken_written(x, omega, ell / t)
    cycle = edge + (x + omega) * integral  # the reads of a cycle from a miss
    if on_write == "delete":
        return 1.0 - 1.0 / cycle
    # from a set to the next (a write, or a read that misses): hits over reads
    with np.errstate(divide="ignore", invalid="ignore"):
        between = integral + edge / np.where(x + omega > 0, x + omega, 1.0)
        return np.where(x > 0, (cycle - 1.0) / np.where(x > 0, x * between, 1.0), 0.0)


def fixed_ttl_hit_ratios(
    p: ArrayLike,
    capacity: float,
    rate: float,
    ttl: float,
    policy: Literal["lru", "fifo", "random"] = "lru",
    writes: float = 0.0,
    write_p: ArrayLike | None = None,
    on_write: Literal["delete", "set"] = "delete",
) -> np.ndarray:
    """Per-key hit probabilities of a cache of ``capacity`` items whose entries also
    expire ``ttl`` after their set, hits leaving the expiry alone (Redis ``SET key value
    EX ttl`` on a miss, with ``maxmemory-policy allkeys-lru``), expiry being lazy.

    Requests for key i are Poisson at ``rate * p_i``; the cache evicts as Che's (LRU) or
    Martina's (FIFO, RANDOM) characteristic time ``T`` says. A cycle of key i starts at
    a miss (the set) and ends at the next miss; the hit probability is the cycle's mean
    hits over its mean requests (renewal-reward).

    * LRU: a request hits iff it comes within ``T`` of the key's previous request and
      within ``ttl`` of the set. An expired entry keeps its slot until it is requested
      (dropped and stored again: most recent, as a hit would make it) or evicted, so a
      key is held iff requested within ``T``, as without the ttl: ``T`` is Che's. The
      cycle's mean requests ``U`` is a renewal function (:func:`_lru_cycle_requests`),
      ``h_i = 1 - 1 / U``: ``lambda ttl / (1 + lambda ttl)`` when ``ttl <= T`` (the
      ttl-only form) and Che's ``1 - exp(-p_i T)`` as ``ttl / T`` grows.
    * FIFO: an entry stays ``T`` from its set, or until its ttl: ``m = min(T, ttl)``,
      ``h_i = lambda m / (1 + lambda m)``. An expired entry holds its slot until the next
      request or ``T``, which sets the occupancy that fixes ``T``.
    * RANDOM: the stay is exponential of mean ``T``: ``m = T (1 - exp(-ttl / T))`` in the
      same form, the occupancy counting an expired entry's slot the same way.

    Writes, Poisson at ``w_i`` (in reads' units), either delete their key (write-around)
    or set it with a fresh ttl (write-through, write-back), ending the cycle or starting
    a new one, and ``T`` is fixed with them (:func:`che_invalidated`, :func:`che_written`
    for LRU):

    * LRU: with ``x = p_i T``, ``omega = w_i T``, ``H = ttl / T``, a read ``u`` after the
      set hits if no gap so far reached 1, ``u < H`` and no write fell since: the cycle
      from a miss holds ``U = e^(-omega H) q(H) + (x + omega) int_0^H e^(-omega u) q(u)
      du`` reads (:func:`_unbroken_written`), so with deletes ``h_i = 1 - 1 / U``; with
      sets, the span from a set to the next (a write, or a read that misses) lasts
      ``int_0^H e^(-omega u) q(u) du + e^(-omega H) q(H) / (x + omega)`` and holds ``U -
      1`` hits among ``x`` times as many reads.
    * FIFO and RANDOM: the entry is valid for the mean ``m`` of the smallest of its stay,
      the ttl and the next write; with deletes ``h_i = p_i m / (1 + p_i m)``, with sets
      ``h_i = m / (m + (1 - w_i m) / (p_i + w_i))`` (:func:`_fixed_ttl_written`).

    Each is the form without writes at ``w_i = 0``, and :func:`che_invalidated`'s or
    :func:`che_written`'s as the ttl grows. Write-back's dirty entries, which do not
    expire until flushed, are taken as expiring.

    Parameters
    ----------
    p
        Per-key request probabilities (normalised here).
    capacity
        Cache size in entries.
    rate
        Requests per second (all keys together).
    ttl
        Time to live (seconds), counted from the set.
    policy
        Eviction policy: ``"lru"``, ``"fifo"`` or ``"random"``.
    writes, write_p, on_write
        Writes per read, their popularity (default ``p``), and whether a write deletes
        its key or sets it (with a fresh ttl).

    Returns
    -------
    numpy.ndarray
        Hit probability of each key: the ttl-only form (:func:`ttl_hit_ratios`) where
        the cache never fills.
    """
    p = _ttl_arguments(p, rate, ttl)
    ell = rate * ttl  # the ttl in requests, as T is
    if writes > 0 or write_p is not None:
        return _fixed_ttl_with_writes(p, capacity, ell, policy, writes, write_p, on_write)
    if policy == "lru":
        t = characteristic_time(p, capacity, "lru")
    else:
        forms = _FIXED_TTL[policy]
        t = _solve_time(p, capacity, lambda p, t: forms(p, t, ell)[1], np.count_nonzero(p))
    if t == 0.0:
        return np.zeros_like(p)
    if np.isinf(t):
        return p * ell / (1.0 + p * ell)
    if policy == "lru":
        return 1.0 - 1.0 / _lru_cycle_requests(p * t, ell / t)
    return _FIXED_TTL[policy](p, t, ell)[0]


def _fixed_ttl_with_writes(
    p: np.ndarray,
    capacity: float,
    ell: float,
    policy: str,
    writes: float,
    write_p: ArrayLike | None,
    on_write: str,
) -> np.ndarray:
    """:func:`fixed_ttl_hit_ratios` with writes, the ttl ``ell`` in requests."""
    w = _write_rates(p, writes, write_p)
    if policy == "lru":
        t = characteristic_time(p, capacity, "lru", writes, write_p, on_write)  # type: ignore[arg-type]
    else:

        def occupancy(p: np.ndarray, t: float) -> np.ndarray:
            return _fixed_ttl_written(policy, p, w, t, ell, on_write)[1]

        t = _solve_time(p, capacity, occupancy, float(occupancy(p, math.inf).sum()))
    if t == 0.0:
        return np.zeros_like(p)
    if np.isinf(t):  # the ttl-only form with the writes: FIFO's timer at T = ttl
        return _ON_WRITE[on_write]["fifo"](p, w, ell)
    if policy == "lru":
        return _fixed_ttl_lru_written(p, w, t, ell, on_write)
    return _fixed_ttl_written(policy, p, w, t, ell, on_write)[0]


def fixed_ttl_hit_rate(
    p: ArrayLike,
    capacity: float,
    rate: float,
    ttl: float,
    policy: Literal["lru", "fifo", "random"] = "lru",
    writes: float = 0.0,
    write_p: ArrayLike | None = None,
    on_write: Literal["delete", "set"] = "delete",
) -> float:
    """Overall (read-weighted) hit rate of a cache with an item limit and a ttl that
    hits do not refresh; see :func:`fixed_ttl_hit_ratios`."""
    ratios = fixed_ttl_hit_ratios(p, capacity, rate, ttl, policy, writes, write_p, on_write)
    return float(np.dot(_probabilities(p), ratios))


def _refreshed_fifo(p: np.ndarray, t: float, ell: float) -> tuple[np.ndarray, np.ndarray]:
    """(hit, occupancy) per key under FIFO with a ttl restarted by hits (times in
    requests): a cycle from a miss breaks at the first request more than ``ell`` after
    the one before or past the stay ``t`` (:func:`_unbroken` in units of ``ell``)."""
    if ell <= 0:  # every read misses; a key is held for t after each
        return np.zeros_like(p), -np.expm1(-p * t)
    x = p * ell
    _, held, cycle = _unbroken(x, t / ell)
    return 1.0 - 1.0 / cycle, x * held / cycle


def _refreshed_random(p: np.ndarray, t: float, ell: float) -> tuple[np.ndarray, np.ndarray]:
    """(hit, occupancy) per key under RANDOM with a ttl restarted by hits: the stay is
    memoryless, so a read hits iff its key's previous read came within ``ell`` and no
    eviction fell since (a rate ``1 / t``); the occupancy is Martina's."""
    x = p * t
    present = x / (1.0 + x)
    return x / (1.0 + x) * -np.expm1(-(p + 1.0 / t) * ell), present


_REFRESHED = {"fifo": _refreshed_fifo, "random": _refreshed_random}


def _refreshed_written(
    policy: str, p: np.ndarray, w: np.ndarray, t: float, ell: float, on_write: str
) -> tuple[np.ndarray, np.ndarray]:
    """(hit, occupancy) per key under FIFO or RANDOM with a ttl restarted by hits and
    writes at ``w`` (times in requests) that delete the key or set it afresh.

    RANDOM: a read or a set write leaves the key cached with a fresh ttl; a read hits iff
    the previous such reference came within the ttl with no eviction (rate ``1 / t``)
    nor delete since: ``r / (r + k) (1 - e^(-(r + k) ttl))``, ``r`` the references' rate
    (``p``, or ``p + w`` with sets), ``k`` the rate that ends a stay (``1 / t + w``, or
    ``1 / t``); the occupancy is :func:`che_invalidated`'s or :func:`che_written`'s.
    FIFO: :func:`_unbroken_written` in units of the ttl, the writes breaking the cycle
    from a set too (as in :func:`_fixed_ttl_lru_written`, the ttl and ``T`` exchanged)."""
    if policy == "random":
        rate, end = (p, 1.0 / t + w) if on_write == "delete" else (p + w, 1.0 / t)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(rate > 0, rate / (rate + end), 0.0)
        return share * -np.expm1(-(rate + end) * ell), share
    if ell <= 0:  # every read misses; a key is held T from each set
        return np.zeros_like(p), _ON_WRITE[on_write]["fifo"](p, w, t)
    x, omega = p * ell, w * ell
    edge, integral = _unbroken_written(x, omega, t / ell)
    cycle = edge + (x + omega) * integral  # the reads of a cycle from a miss
    with np.errstate(divide="ignore", invalid="ignore"):
        if on_write == "delete":
            return 1.0 - 1.0 / cycle, x * integral / cycle
        # from a set to the next (a write, or a read that misses)
        between = integral + edge / np.where(x + omega > 0, x + omega, 1.0)
        hit = np.where(x > 0, (cycle - 1.0) / np.where(x > 0, x * between, 1.0), 0.0)
        return hit, np.where(x + omega > 0, integral / between, 0.0)


def refreshed_ttl_hit_ratios(
    p: ArrayLike,
    capacity: float,
    rate: float,
    ttl: float,
    policy: Literal["lru", "fifo", "random"] = "fifo",
    writes: float = 0.0,
    write_p: ArrayLike | None = None,
    on_write: Literal["delete", "set"] = "delete",
) -> np.ndarray:
    """Per-key hit probabilities of a cache of ``capacity`` items whose entries also
    expire ``ttl`` after their last request (every hit restarts the ttl, Redis
    ``GETEX``), expiry being lazy; requests for key i Poisson at ``rate * p_i``.

    A read hits iff its key's previous request came within ``ttl`` and the entry was not
    evicted since. An expired entry keeps its slot until the key is requested (dropped
    and stored again) or the entry is evicted.

    * LRU: the slots are held as without the ttl: ``h_i = 1 - exp(-p_i min(T, rate ttl))``
      with Che's ``T`` (:func:`lru_ttl_hit_rate`, which takes writes too).
    * RANDOM: the stay is exponential of mean ``T`` (Martina, Garetto and Leonardi,
      INFOCOM 2014), whatever the sets and hits, so ``T`` is Martina's and, the stay being
      memoryless, ``h_i = x / (1 + x) (1 - exp(-(p_i + 1 / T) rate ttl))``, ``x = p_i T``
      (the key present, its previous request within the ttl and no eviction since).
    * FIFO: an entry stays ``T`` from its set. A cycle of key i starts at a miss and
      breaks at the first request more than ``ttl`` after the one before (expired) or
      more than ``T`` after the miss (evicted): in units of the ttl, with ``x = rate p_i
      ttl`` and ``H = T / (rate ttl)``, the chance ``q`` that no gap so far was 1 or
      more solves ``q'(u) = -x e^(-x) q(u - 1)``, ``q = 1`` on ``[0, 1]``, the renewal
      argument of :func:`fixed_ttl_hit_ratios` with the roles of the ttl and ``T``
      exchanged (:func:`_unbroken`). The cycle holds ``U = q(H) + x Q(H)`` requests,
      ``Q`` the integral of ``q``, so ``h_i = 1 - 1 / U``, and holds the slot ``Q(H)`` of
      its ``U / x`` (the key is re-set, still cached, if read after its expiry), which
      fixes ``T``. At ``ttl >= T`` it is Martina's form; as ``ttl / T`` falls, the
      ttl-only form ``1 - exp(-rate p_i ttl)``.

    Writes, Poisson at ``w_i`` (in reads' units), delete their key or set it with a
    fresh ttl, and ``T`` is fixed with them. LRU: :func:`lru_ttl_hit_rate`'s forms.
    RANDOM: a read (or a write that sets) leaves the key cached and fresh, so a read hits
    iff that previous reference came within the ttl, with no eviction nor delete since:
    ``r / (r + k) (1 - exp(-(r + k) rate ttl))``, ``r`` the rate of those references
    (``p_i``, or ``p_i + w_i`` with sets) and ``k`` that of what ends a stay (``1 / T +
    w_i``, or ``1 / T``), at :func:`che_invalidated`'s (:func:`che_written`'s) ``T``.
    FIFO: a write also breaks the cycle, so the cycle holds ``U = e^(-omega H) q(H) + (x
    + omega) Q_omega(H)`` reads, ``omega = w_i rate ttl`` and ``Q_omega`` the integral of
    ``e^(-omega u) q(u)`` (:func:`_unbroken_written`): with deletes ``h_i = 1 - 1 / U``;
    with sets ``U - 1`` hits per span from a set to the next, of ``Q_omega(H) + e^(-omega
    H) q(H) / (x + omega)``, as in :func:`fixed_ttl_hit_ratios`.

    Parameters
    ----------
    p
        Per-key request probabilities (normalised here).
    capacity
        Cache size in entries.
    rate
        Requests per second (all keys together).
    ttl
        Time to live (seconds), restarted by every hit.
    policy
        Eviction policy: ``"lru"``, ``"fifo"`` or ``"random"``.
    writes, write_p, on_write
        Writes per read, their popularity (default ``p``), and whether a write deletes
        its key or sets it (with a fresh ttl).

    Returns
    -------
    numpy.ndarray
        Hit probability of each key: the ttl-only form (:func:`ttl_hit_ratios` with
        ``reset_on_hit``) where the cache never fills.
    """
    p = _ttl_arguments(p, rate, ttl)
    ell = rate * ttl  # the ttl in requests, as T is
    if writes > 0 or write_p is not None:
        return _refreshed_with_writes(p, capacity, ell, policy, writes, write_p, on_write)
    if policy == "fifo":
        occupancy = lambda p, t: _refreshed_fifo(p, t, ell)[1]  # noqa: E731
        t = _solve_time(p, capacity, occupancy, np.count_nonzero(p))
    else:
        t = characteristic_time(p, capacity, policy)
    if t == 0.0:
        return np.zeros_like(p)
    if np.isinf(t):
        return -np.expm1(-p * ell)
    if policy == "lru":
        return -np.expm1(-p * min(t, ell))
    return _REFRESHED[policy](p, t, ell)[0]


def _refreshed_with_writes(
    p: np.ndarray,
    capacity: float,
    ell: float,
    policy: str,
    writes: float,
    write_p: ArrayLike | None,
    on_write: str,
) -> np.ndarray:
    """:func:`refreshed_ttl_hit_ratios` with writes, the ttl ``ell`` in requests."""
    w = _write_rates(p, writes, write_p)
    mode: Literal["delete", "set"] = "delete" if on_write == "delete" else "set"
    if policy == "fifo":

        def occupancy(p: np.ndarray, t: float) -> np.ndarray:
            return _refreshed_written("fifo", p, w, t, ell, on_write)[1]

        # as T grows a deleted key is held p / (p + w) of the time, a set one always
        with np.errstate(divide="ignore", invalid="ignore"):
            if on_write == "delete":
                ceiling = float(np.where(p > 0, p / (p + w), 0.0).sum())
            else:
                ceiling = float(np.count_nonzero(p + w))
        t = _solve_time(p, capacity, occupancy, ceiling)
    else:
        t = characteristic_time(p, capacity, policy, writes, write_p, mode)  # type: ignore[arg-type]
    if t == 0.0:
        return np.zeros_like(p)
    if np.isinf(t) or policy == "lru":  # LRU's timer at the smaller time
        return _ON_WRITE[on_write]["lru"](p, w, min(t, ell))
    return _refreshed_written(policy, p, w, t, ell, on_write)[0]


def refreshed_ttl_hit_rate(
    p: ArrayLike,
    capacity: float,
    rate: float,
    ttl: float,
    policy: Literal["lru", "fifo", "random"] = "fifo",
    writes: float = 0.0,
    write_p: ArrayLike | None = None,
    on_write: Literal["delete", "set"] = "delete",
) -> float:
    """Overall (read-weighted) hit rate of a cache with an item limit and a ttl that
    every hit restarts; see :func:`refreshed_ttl_hit_ratios`."""
    ratios = refreshed_ttl_hit_ratios(p, capacity, rate, ttl, policy, writes, write_p, on_write)
    return float(np.dot(_probabilities(p), ratios))


def lfu_static(p: ArrayLike, capacity: float) -> float:
    """Hit rate of a cache holding the ``floor(capacity)`` most popular keys (perfect LFU).

    Returns
    -------
    float
        Sum of the ``capacity`` largest probabilities.
    """
    p = _probabilities(p)
    k = int(min(max(np.floor(capacity), 0), p.size))
    if k == 0:
        return 0.0
    return float(np.partition(p, p.size - k)[p.size - k :].sum())


def lfu_invalidated(
    p: ArrayLike, capacity: float, writes: float, write_p: ArrayLike | None = None
) -> float:
    """Hit rate of a perfect LFU cache whose writes delete their key (write-around).

    LFU's counts are of reads and outlive a delete, so the cache still converges to the
    ``floor(capacity)`` most read keys; a deleted one is stored again at its next read
    (a miss), which is a hit only if no write fell since the read before: ``h_i = p_i /
    (p_i + w_i)`` for those keys. The slot a delete frees is lent meanwhile to whatever
    key misses next, whose hits this leaves out: a lower bound (0.399 against 0.413 ±
    0.012 simulated with 30% writes, 1,000 of 10,000 Zipf 0.8 keys).

    Parameters
    ----------
    p
        Per-key read probabilities (normalised here).
    capacity
        Cache size in entries.
    writes
        Invalidating writes per read (all keys together).
    write_p
        Per-key write probabilities (default: ``p``).

    Returns
    -------
    float
        ``sum_i p_i p_i / (p_i + w_i)`` over the ``capacity`` most read keys.
    """
    p = _probabilities(p)
    w = _write_rates(p, writes, write_p)
    top = _top_keys(p, capacity)
    if top.size == 0:
        return 0.0
    q, v = p[top], w[top]
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.dot(q, np.where(q > 0, q / (q + v), 0.0)))


def _top_keys(p: np.ndarray, capacity: float) -> np.ndarray:
    """Indices of the ``floor(capacity)`` most requested keys (perfect LFU's contents)."""
    k = int(min(max(np.floor(capacity), 0), p.size))
    if k == 0:
        return np.empty(0, dtype=np.intp)
    return np.argpartition(p, p.size - k)[p.size - k :]


def lfu_ttl_hit_rate(
    p: ArrayLike,
    capacity: float,
    rate: float,
    ttl: float,
    reset_on_hit: bool = False,
    writes: float = 0.0,
    write_p: ArrayLike | None = None,
    on_write: Literal["delete", "set"] = "delete",
) -> float:
    """Read hit rate of a perfect LFU cache of ``capacity`` items whose entries also
    expire ``ttl`` after their set (or, ``reset_on_hit``, their last hit), expiry being
    lazy; reads of key i Poisson at ``rate * p_i``.

    LFU's counts are of reads and outlive an expiry, and an expired entry keeps its slot
    until its key is read again (a miss, whose set stores it again) or it is evicted, so
    under the IRM the cache converges to the ``floor(capacity)`` most read keys as without
    the ttl (:func:`lfu_static`; its admission refuses the others once full). Each of
    them hits as in a TTL-only cache (:func:`ttl_hit_ratios`: ``x / (1 + x)``, or ``1 -
    exp(-x)`` if hits restart the ttl, ``x = rate p_i ttl``; with the writes' forms),
    every other key never. The limit of perfect LFU, reached as its counts since the
    start separate the keys near rank ``capacity``; with writes that delete keys, a lower
    bound, the freed slots being lent to other keys meanwhile (as :func:`lfu_invalidated`).

    Parameters
    ----------
    p
        Per-key read probabilities (normalised here).
    capacity
        Cache size in entries.
    rate
        Reads per second (all keys together).
    ttl
        Time to live (seconds).
    reset_on_hit
        Whether every hit restarts the ttl.
    writes, write_p, on_write
        Writes per read, their popularity (default ``p``), and whether a write deletes
        its key or sets it (with a fresh ttl; a key outside the top ones is refused).

    Returns
    -------
    float
        ``sum_i p_i h_i`` over the top keys, ``h_i`` of :func:`ttl_hit_ratios`.
    """
    ratios = ttl_hit_ratios(p, rate, ttl, reset_on_hit, writes, write_p, on_write)
    p = _probabilities(p)
    top = _top_keys(p, capacity)
    return float(np.dot(p[top], ratios[top]))


def ttl_hit_ratios(
    p: ArrayLike,
    rate: float,
    ttl: float,
    reset_on_hit: bool,
    writes: float = 0.0,
    write_p: ArrayLike | None = None,
    on_write: Literal["delete", "set"] = "delete",
) -> np.ndarray:
    """Per-key hit probabilities of a TTL-only cache under Poisson requests.

    Parameters
    ----------
    p
        Per-key request probabilities (normalised here).
    rate
        Total request rate (per second); key i is requested at ``rate * p_i``.
    ttl
        Time to live (seconds), the same for every entry (with writes; without, the
        form that does not reset holds for any ttl distribution of this mean).
    reset_on_hit
        False: the entry expires ``ttl`` after the miss that stored it (set on miss,
        hits do not refresh it), ``h_i = x / (1 + x)``. True: every request restarts the
        ttl, ``h_i = 1 - exp(-x)``. Here ``x = rate * p_i * ttl``.
    writes
        Writes per request (Poisson, spread as ``write_p``, default ``p``), each of
        which deletes its key (``on_write="delete"``: write-around) or stores it with a
        fresh ttl (``"set"``: write-through, write-back). The timer is then LRU's
        (reset) or FIFO's (not reset) at ``T = rate * ttl`` requests
        (:func:`che_invalidated`, :func:`che_written`).

    Returns
    -------
    numpy.ndarray
        Hit probability of each key.
    """
    p = _ttl_arguments(p, rate, ttl)
    if writes > 0 or write_p is not None:
        w = _write_rates(p, writes, write_p)
        return _ON_WRITE[on_write]["lru" if reset_on_hit else "fifo"](p, w, rate * ttl)
    x = p * (rate * ttl)
    if reset_on_hit:
        return -np.expm1(-x)
    return x / (1.0 + x)


def ttl_hit_rate(
    p: ArrayLike,
    rate: float,
    ttl: float,
    reset_on_hit: bool,
    writes: float = 0.0,
    write_p: ArrayLike | None = None,
    on_write: Literal["delete", "set"] = "delete",
) -> float:
    """Overall (request-weighted) hit rate of a TTL-only cache; see :func:`ttl_hit_ratios`."""
    ratios = ttl_hit_ratios(p, rate, ttl, reset_on_hit, writes, write_p, on_write)
    return float(np.dot(_probabilities(p), ratios))


def ttl_stale_rate(
    p: ArrayLike,
    read_rate: float,
    write_rate: float,
    ttl: float,
    write_p: ArrayLike | None = None,
) -> float:
    """Fraction of reads served stale by a TTL-only cache whose store is written behind it.

    The cache has no capacity limit; an entry is set on a miss with the store's current
    version and is not refreshed by hits (``reset_on_hit=False`` in :func:`ttl_hit_ratios`).
    Writes go to the store only (another service, a batch job): nothing invalidates the
    cache, and the TTL alone bounds how long stale data is served. Reads of key i arrive
    as a Poisson process of rate ``read_rate * p_i``, writes at ``write_rate * q_i``.

    Parameters
    ----------
    p
        Per-key read probabilities (normalised here).
    read_rate, write_rate
        Total read and write rates (per second).
    ttl
        Time to live (seconds).
    write_p
        Per-key write probabilities (default: ``p``).

    Returns
    -------
    float
        ``sum_i p_i s_i`` with ``s_i = lambda_i (ttl - (1 - exp(-w_i ttl)) / w_i) /
        (1 + lambda_i ttl)``: the stale hits of one cycle over its reads.
    """
    if read_rate <= 0:
        raise ValueError("read_rate: must be > 0")
    if write_rate < 0:
        raise ValueError("write_rate: must be >= 0")
    if ttl < 0:
        raise ValueError("ttl: must be >= 0")
    p = _probabilities(p)
    q = p if write_p is None else _probabilities(write_p)
    if q.shape != p.shape:
        raise ValueError("write_p: needs one probability per key, like p")
    lam = read_rate * p
    w = write_rate * q
    x = w * ttl
    # ttl - (1 - e^{-w ttl}) / w, written to stay accurate as w ttl -> 0 (where it ~ w ttl^2 / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        unseen = np.where(x > 1e-8, ttl - (-np.expm1(-x)) / np.where(w > 0, w, 1.0), x * ttl / 2)
    stale = lam * unseen / (1.0 + lam * ttl)
    return float(np.dot(p, stale))


def lru_stale_rate(
    p: ArrayLike,
    capacity: float,
    writes: float,
    write_p: ArrayLike | None = None,
) -> float:
    """Fraction of reads served stale by an LRU cache whose store is written behind it.

    Cache-aside reads under the IRM; writes go to the store only (a database update that
    leaves the cache alone), so a cached copy is stale once its key has been written
    since the miss that set it. Che's approximation: key i stays cached while its reads
    come less than ``T`` apart (:func:`che_lru`'s ``T``; writes do not touch the cache).
    A read hits after ``k >= 1`` such gaps since that miss, each exponential of rate
    ``p_i``; it is fresh only if no write (rate ``w_i``) fell in them, so the fresh hits
    are ``sum_k q_i g_i^k = q_i g_i / (1 - g_i)`` with ``q_i = exp(-p_i T)`` (the
    gap before the miss exceeded ``T``) and ``g_i = E[exp(-w_i X); X < T] =
    p_i / (p_i + w_i) (1 - exp(-(p_i + w_i) T))``.

    Parameters
    ----------
    p
        Per-key read probabilities (normalised here).
    capacity
        Cache size in entries.
    writes
        Writes per read (all keys together).
    write_p
        Per-key write probabilities (default: ``p``).

    Returns
    -------
    float
        ``sum_i p_i s_i`` with ``s_i = (1 - q_i) - q_i g_i / (1 - g_i)``: key i's hits
        less its fresh hits. ``writes = 0`` gives 0.
    """
    p = _probabilities(p)
    w = _write_rates(p, writes, write_p)
    t = characteristic_time(p, capacity, "lru")
    if t == 0.0:
        return 0.0
    if np.isinf(t):  # every key stays once read: every hit after a write is stale
        return float(np.dot(p, np.where(w > 0, 1.0, 0.0)))
    q = np.exp(-p * t)
    hit = -np.expm1(-p * t)
    stay = np.exp(-(p + w) * t)
    # q g / (1 - g) with 1 - g = (w + p stay) / (p + w): no cancellation where g nears 1
    # (hot keys); a key never written has every hit fresh
    with np.errstate(divide="ignore", invalid="ignore"):
        fresh = np.where(
            w > 0, q * p * -np.expm1(-(p + w) * t) / np.where(w > 0, w + p * stay, 1.0), hit
        )
    return float(np.dot(p, np.clip(hit - fresh, 0.0, 1.0)))

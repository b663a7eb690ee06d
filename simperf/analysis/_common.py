"""Argument checks and distribution helpers shared by the analytic models."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simperf.checks import finite
from simperf.lazy import lazy_module

special = lazy_module("scipy.special")  # imported on first use: only Erlang tails need it

FloatArray = NDArray[np.float64]

# ----------------------------------------------------------------------------- checks


def _integer(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer | float):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if not float(value).is_integer():
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    n = int(value)
    if n < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value!r}")
    return n


def _probability(p: float) -> float:
    x = finite("p", p)
    if not 0.0 <= x < 1.0:
        raise ValueError(f"p: a quantile level must be in [0, 1), got {p!r}")
    return x


def _stable(rho: float, what: str) -> None:
    if rho >= 1.0:
        raise ValueError(
            f"unstable: {what} has utilization {rho:.6g} >= 1, so no stationary regime exists"
        )


def _vector(name: str, values: ArrayLike) -> FloatArray:
    x = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: values must be finite")
    return x


def _servers_vector(servers: ArrayLike | None, size: int) -> NDArray[np.int64]:
    if servers is None:
        return np.ones(size, dtype=np.int64)
    c = np.atleast_1d(np.asarray(servers))
    if c.shape != (size,):
        raise ValueError(f"servers: expected {size} values, got shape {c.shape}")
    if not np.all(np.isfinite(c.astype(np.float64))) or not np.all(c == np.round(c)):
        raise ValueError("servers: expected integers")
    if (c < 1).any():
        raise ValueError("servers: every station needs at least 1 server")
    return c.astype(np.int64)


def _frozen(x: ArrayLike) -> FloatArray:
    a = np.array(x, dtype=np.float64)
    a.setflags(write=False)
    return a


def _littles_law(rate: float, wait: float, sojourn: float) -> dict[str, float]:
    """The mean waits and, by Little's law at ``rate``, the mean numbers waiting and
    present, and the throughput (a stable queue without loss passes ``rate`` on)."""
    return {
        "mean_wait": wait,
        "mean_sojourn": sojourn,
        "mean_queue_length": rate * wait,
        "mean_in_system": rate * sojourn,
        "throughput": rate,
    }


def _shape_like(values: FloatArray, t: ArrayLike) -> float | FloatArray:
    return float(values) if np.ndim(t) == 0 else values


# ----------------------------------------------------------------- distribution helpers


def _hypoexp_sf(a: float, b: float, t: FloatArray) -> FloatArray:
    """P(Exp(a) + Exp(b) > t), exact for every a, b > 0 including a == b.

    The textbook form ``(b e^{-a t} - a e^{-b t}) / (b - a)`` cancels catastrophically as
    ``a -> b``. With ``lo <= hi`` it equals ``e^{-lo t} (1 + lo t (1 - e^{-x}) / x)`` where
    ``x = (hi - lo) t``; ``(1 - e^{-x}) / x -> 1`` as ``x -> 0`` gives the Erlang-2 case.
    """
    lo, hi = min(a, b), max(a, b)
    x = (hi - lo) * t
    safe = np.where(x > 0, x, 1.0)
    g = np.where(x > 0, -np.expm1(-safe) / safe, 1.0)
    return np.exp(-lo * t) * (1.0 + lo * t * g)


def _erlang_sf(k: ArrayLike, rate: float, t: FloatArray) -> FloatArray:
    """P(Erlang(k, rate) > t) broadcast over ``k`` (>= 1) and ``t``."""
    return special.gammaincc(k, rate * t)


def _cdf_from_sf(sf: Callable[[FloatArray], FloatArray], t: ArrayLike) -> float | FloatArray:
    """``1 - sf(t)`` shaped like ``t`` (a float for a scalar)."""
    return _shape_like(1.0 - sf(np.asarray(t, dtype=np.float64)), t)


def _quantile_from_sf(sf: Callable[[FloatArray], FloatArray], p: float, scale: float) -> float:
    """Smallest ``t >= 0`` with ``sf(t) <= 1 - p`` for a continuous tail ``sf`` (vectorised,
    as the results' ``_wait_sf``), searched from ``scale`` up; ``p`` is checked here.

    Inverting the survival function rather than the CDF keeps the relative precision of
    high quantiles (``1 - p`` is represented exactly, ``p`` close to 1 is not).
    """
    p = _probability(p)
    target = 1.0 - p

    def tail(t: float) -> float:
        return float(sf(np.float64(t)))

    if tail(0.0) <= target:
        return 0.0
    lo, hi = 0.0, scale
    for _ in range(2000):
        if tail(hi) <= target:
            break
        lo, hi = hi, 2.0 * hi
    else:  # pragma: no cover - only for pathological tails
        raise RuntimeError("could not bracket the quantile")
    from scipy import optimize  # imported here: most runs never invert a tail

    return float(optimize.brentq(lambda t: tail(t) - target, lo, hi, xtol=1e-15 * hi))


_EULER_TERMS = 15
"""M of the Euler inversion: about 0.6 M significant digits (Abate and Whitt 2006),
and a round-off of some 10^(M/3) units of the last place, so 15 gives about 1e-9."""


def _euler_weights(m: int) -> tuple[NDArray[np.complex128], FloatArray, float]:
    """Nodes ``beta_k``, weights ``eta_k`` and the factor ``10^(M/3)`` of the Euler
    algorithm in Abate and Whitt's unified framework (INFORMS J. Computing 18, 2006)."""
    xi = np.ones(2 * m + 1)
    xi[0] = 0.5
    xi[2 * m] = 2.0**-m
    binomial = 1.0
    for j in range(1, m):  # xi_{2M-j} = xi_{2M-j+1} + 2^-M C(M, j)
        binomial = binomial * (m - j + 1) / j
        xi[2 * m - j] = xi[2 * m - j + 1] + 2.0**-m * binomial
    k = np.arange(2 * m + 1)
    beta = m * math.log(10.0) / 3.0 + 1j * math.pi * k
    eta = np.where(k % 2 == 0, 1.0, -1.0) * xi
    return beta, eta, 10.0 ** (m / 3.0)


_EULER = _euler_weights(_EULER_TERMS)


def _cdf_from_transform(
    transform: Callable[[NDArray[np.complex128]], NDArray[np.complex128]], t: ArrayLike
) -> FloatArray:
    """P(X <= t) of a non-negative random variable with no atom, from its
    Laplace-Stieltjes transform ``E[exp(-s X)]``, by the Euler algorithm.

    ``transform`` takes an array of complex ``s`` (any shape) and returns the transform
    at each. The CDF's own transform is ``transform(s) / s``; it is inverted at every
    ``t > 0`` at once (``t <= 0`` gives 0), with an absolute error near 1e-9 for a
    continuous CDF (a jump, an atom away from 0, is smeared near it).
    """
    tt = np.atleast_1d(np.asarray(t, dtype=np.float64))
    out = np.zeros(tt.shape)
    positive = tt > 0
    if positive.any():
        beta, eta, scale = _EULER
        x = tt[positive][:, None]
        s = beta[None, :] / x
        values = (transform(s) / s).real
        out[positive] = scale * (values @ eta) / x[:, 0]
    return np.clip(out, 0.0, 1.0)

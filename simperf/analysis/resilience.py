"""Calls under failure: client timeouts over a queue, calls retried with backoff (its
decorrelated jitter included), retries under a budget, a slow instance behind a
balancer, and hedged calls, each where an exact form exists.

The models assume what :mod:`simperf.components.resilience` does: abandoned work goes
on (a timeout or a losing hedge copy does not take work off the callee), so a queue under
a client timeout is the same queue; and attempts to a callee with no queueing take
independent times, so their timeouts are independent Bernoulli trials (as are injected
errors, drawn per attempt).

Times are seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np

from simperf.analysis._common import FloatArray, _integer, _probability, _quantile_from_sf
from simperf.analysis.queueing import QueueResult
from simperf.checks import nonnegative, positive
from simperf.lazy import lazy_module

# imported on first use: only a retry budget's Markov chain solves a sparse system
sparse = lazy_module("scipy.sparse")
sparse_linalg = lazy_module("scipy.sparse.linalg")

Jitter = Literal["none", "full", "equal", "decorrelated"]

# ------------------------------------------------------------------ client timeout


@dataclass(frozen=True)
class ClientTimeout:
    """A client deadline ``timeout`` over a stationary M/M/c queue whose abandoned
    requests stay in it.

    Attributes
    ----------
    timeout
        The client's deadline, seconds.
    timeout_share
        ``P(S > timeout)``: the share of requests recorded as timed out.
    mean_ok_latency
        ``E[S | S <= timeout]``: the mean latency of the requests that succeed.
    """

    timeout: float
    timeout_share: float
    mean_ok_latency: float


def client_timeout(queue: QueueResult, timeout: float) -> ClientTimeout:
    """The timed-out share and the mean latency of the rest, for a deadline over ``queue``.

    ``E[S; S <= t] = int_0^t P(S > u) du - t P(S > t)``; the M/M/c sojourn tail is a
    mixture of an exponential and a hypoexponential, integrated in closed form.

    Examples
    --------
    >>> from simperf.analysis import mm1
    >>> r = client_timeout(mm1(70, 100), 0.05)  # sojourn Exp(30)
    >>> round(r.timeout_share, 6) == round(math.exp(-1.5), 6)
    True
    """
    t = positive("timeout", timeout)
    mu, a, c_prob = queue.service_rate, queue._wait_rate, queue.prob_wait
    tail = float(queue._sojourn_sf(t))  # type: ignore[arg-type]
    # int_0^t of (1 - C) e^{-mu u} + C P(Exp(a) + Exp(mu) > u) du
    below = (1.0 - c_prob) * _exp_area(mu, t) + c_prob * _hypoexp_area(a, mu, t)
    return ClientTimeout(t, tail, (below - t * tail) / (1.0 - tail))


def _exp_area(rate: float, t: float) -> float:
    """``int_0^t e^{-rate u} du``."""
    return -math.expm1(-rate * t) / rate


def _hypoexp_area(a: float, b: float, t: float) -> float:
    """``int_0^t P(Exp(a) + Exp(b) > u) du``, exact also as ``a -> b`` (Erlang 2)."""
    if math.isclose(a, b, rel_tol=1e-6):
        r = 0.5 * (a + b)  # Erlang-2 tail e^{-r u} (1 + r u)
        return 2.0 * _exp_area(r, t) - t * math.exp(-r * t)
    return (b * _exp_area(a, t) - a * _exp_area(b, t)) / (b - a)


# ------------------------------------------------------------ retries and backoff


def backoff_mean(retry: int, base: float, cap: float, jitter: Jitter) -> float:
    """Mean wait before retry ``retry`` (1, 2, ...), as the runtime draws it.

    The ceiling is ``min(cap, base 2^(retry - 1))``; ``none`` waits it, ``full`` a uniform
    draw below it (mean half of it), ``equal`` half of it plus a uniform draw below the
    other half (mean three quarters). ``decorrelated`` depends on the previous wait: its
    mean is :func:`decorrelated_backoff`'s.

    Examples
    --------
    >>> [backoff_mean(n, 0.01, 0.03, "full") for n in (1, 2, 3)]
    [0.005, 0.01, 0.015]
    >>> [round(backoff_mean(n, 0.01, 1.0, "decorrelated"), 6) for n in (1, 2, 3)]
    [0.02, 0.035, 0.0575]
    """
    n = _integer("retry", retry, 1)
    if jitter == "decorrelated":
        return decorrelated_backoff(n, base, cap).mean
    ceiling = min(nonnegative("cap", cap), nonnegative("base", base) * 2.0 ** (n - 1))
    share = {"none": 1.0, "full": 0.5, "equal": 0.75}.get(jitter)
    if share is None:
        raise ValueError(f"jitter: {jitter!r} is not one of none, full, equal, decorrelated")
    return share * ceiling


_GRID = 1 << 14
"""Intervals of the geometric grid over [base, cap] on which a decorrelated wait's density is
carried from retry to retry (trapezoids, extrapolated from half as many: the mean within
1e-7 of itself, relative, on a grid 16 times finer)."""


@dataclass(frozen=True, eq=False)
class DecorrelatedBackoff:
    """The wait ``W_n`` before retry ``n`` with decorrelated jitter:
    ``W_n = min(cap, U(base, 3 W_{n-1}))``, ``W_0 = base``, ``U`` uniform.

    Attributes
    ----------
    retry, base, cap
        ``n`` and the backoff's ``base`` and ``cap``, seconds.
    mean
        ``E[W_n]``.
    at_cap
        ``P(W_n = cap)``: the mass the cap holds.
    """

    retry: int
    base: float
    cap: float
    mean: float
    at_cap: float
    _grid: FloatArray = field(repr=False)
    _below: FloatArray = field(repr=False)  # P(W_n <= grid point), the cap's mass excluded

    def cdf(self, x: float) -> float:
        """``P(W_n <= x)``: continuous on ``[base, cap)``, a jump of :attr:`at_cap` at
        ``cap``."""
        if x >= self.cap:
            return 1.0
        if x < self.base:
            return 0.0
        return float(np.interp(x, self._grid, self._below))


def decorrelated_backoff(retry: int, base: float, cap: float) -> DecorrelatedBackoff:
    """The distribution of the wait before retry ``retry`` with decorrelated jitter.

    Given ``W_{n-1} = w`` the wait is uniform on ``[b, 3w]`` cut at the cap ``c``, so on
    ``[b, c)`` its density is ``f_n(x) = E[1{3 W_{n-1} >= x} / (3 W_{n-1} - b)]``, a
    function of the previous wait's distribution alone: ``f_n(x) = G_{n-1}(max(b, x/3))``
    with ``G(y) = int_y^c dF(w) / (3w - b)`` (the cap's mass included); what is left of the
    unit mass sits at ``c``. ``W_1`` is uniform on ``[b, 3b]`` cut at ``c``, of mean ``2b``
    (``c - (c - b)^2 / 4b`` below ``3b``) and with ``G_1`` a logarithm; from there the
    density is carried on a geometric grid of ``2^14`` intervals (trapezoids, extrapolated by
    Richardson's rule from ``2^13``). While the cap cannot bind (``3^n b <= c``) the mean
    is also ``E[W_n] = b / 2 + 1.5 E[W_{n-1}] = 3b 1.5^(n-1) - b``, which is used then.

    Parameters
    ----------
    retry
        ``n >= 1``.
    base, cap
        ``b`` and ``c >= b``, seconds. With ``b = 0`` every wait is 0, as the runtime
        draws it.

    Examples
    --------
    >>> round(decorrelated_backoff(1, 0.01, 0.025).mean, 6)  # 0.025 - 0.015^2 / 0.04
    0.019375
    >>> round(decorrelated_backoff(3, 0.01, 1.0).mean, 6)  # uncapped: 0.03 x 2.25 - 0.01
    0.0575
    """
    n = _integer("retry", retry, 1)
    b, c = nonnegative("base", base), nonnegative("cap", cap)
    if c < b:
        raise ValueError(f"cap: must be >= base ({b!r}), got {cap!r}")
    if b == 0.0 or b == c:  # every wait is the base: U(0, 0) draws 0, and b = c caps it
        grid = np.array([b, b])
        return DecorrelatedBackoff(n, b, c, b, float(b == c), grid, np.zeros(2))
    x, density, at_cap, mean = _decorrelated(n, b, c, _GRID)
    if n > 1:  # trapezoids err by O(h^2): Richardson's extrapolation from half the grid
        coarse = _decorrelated(n, b, c, _GRID // 2)
        mean, at_cap = (4.0 * mean - coarse[3]) / 3.0, (4.0 * at_cap - coarse[2]) / 3.0
    if 3.0**n * b <= c:  # the cap never binds: the recursion's own closed form
        mean, at_cap = 3.0 * b * 1.5 ** (n - 1) - b, 0.0
    if n == 1:  # uniform up to ``min(3b, c)``: its jump there is not a trapezoid's
        below = (np.minimum(x, 3.0 * b) - b) / (2.0 * b)
    else:
        below = np.concatenate([[0.0], np.cumsum(0.5 * np.diff(x) * (density[1:] + density[:-1]))])
    return DecorrelatedBackoff(n, b, c, float(mean), float(at_cap), x, below)


def _decorrelated(
    n: int, b: float, c: float, intervals: int
) -> tuple[FloatArray, FloatArray, float, float]:
    """``(grid, density of W_n on it, P(W_n = c), E[W_n])`` for ``0 < b < c``."""
    # geometric: the chain scales by 3 (f_n(x) reads G at x/3), and the waits near b,
    # where 1 / (3w - b) varies fastest, need the points most
    x = b * (c / b) ** np.linspace(0.0, 1.0, intervals + 1)
    x[-1] = c
    top = min(3.0 * b, c)  # W_1: uniform on [b, 3b], cut at c
    density = np.where(x < top, 1.0 / (2.0 * b), 0.0)
    at_cap = max(0.0, (3.0 * b - c) / (2.0 * b))
    mean = 2.0 * b if c >= 3.0 * b else c - (c - b) ** 2 / (4.0 * b)
    if n == 1:
        return x, density, at_cap, mean
    # f_2 = G_1(max(b, x/3)), G_1(y) = ln((3 top - b) / (3y - b)) / 6b + at_cap / (3c - b)
    y = np.maximum(b, x / 3.0)
    density = np.log((3.0 * top - b) / (3.0 * np.minimum(y, top) - b)) / (6.0 * b)
    density += at_cap / (3.0 * c - b)
    for _ in range(3, n + 1):
        # G(y) = int_y^c f(w) / (3w - b) dw + P(W = c) / (3c - b); f_n(x) = G(max(b, x/3))
        weighted = density / (3.0 * x - b)
        slices = 0.5 * np.diff(x) * (weighted[1:] + weighted[:-1])
        upper = np.concatenate([np.cumsum(slices[::-1])[::-1], [0.0]])
        mass = 1.0 - _trapezoid(density, x)
        density = np.interp(np.maximum(b, x / 3.0), x, upper) + mass / (3.0 * c - b)
    at_cap = 1.0 - _trapezoid(density, x)
    return x, density, at_cap, _trapezoid(density * x, x) + at_cap * c


def _trapezoid(y: FloatArray, x: FloatArray) -> float:
    return float(np.sum(0.5 * np.diff(x) * (y[1:] + y[:-1])))


@dataclass(frozen=True)
class RetriedCall:
    """A call retried on failure, each attempt failing independently.

    Attributes
    ----------
    failure_probability
        ``p``: the chance that one attempt fails (times out, or fails fast).
    attempts
        ``n``: the most attempts a call makes, the first included.
    attempts_per_call
        ``(1 - p^n) / (1 - p)``.
    retries_per_call
        ``attempts_per_call - 1``.
    failed_share
        ``p^n``: calls whose every attempt fails.
    mean_ok_latency
        Mean latency of the calls that succeed: the failed attempts, the backoffs
        before the retries and the answer, given it came within the timeout.
    mean_latency
        Mean latency over all calls, failed ones (``n`` failed attempts and ``n - 1``
        backoffs) included.
    """

    failure_probability: float
    attempts: int
    attempts_per_call: float
    retries_per_call: float
    failed_share: float
    mean_ok_latency: float
    mean_latency: float


def retried_call(
    fail_after: float,
    attempts: int,
    failure_probability: float,
    mean_answer_below: float,
    backoff_means: Sequence[float] = (),
) -> RetriedCall:
    """Attempts, failures and mean latency of a call retried on failure.

    Parameters
    ----------
    fail_after
        How long a failed attempt takes, seconds: its timeout ``tau``, or 0 for an error
        that fails fast.
    attempts
        ``n >= 1``, the first attempt included.
    failure_probability
        ``p``, the chance that an attempt fails: ``P(X > tau)`` for an answer time ``X``.
    mean_answer_below
        Mean time of a successful attempt: ``E[X | X <= tau]``.
    backoff_means
        Mean wait before retry 1, 2, ... (at least ``n - 1`` values; none: no backoff).

    Returns
    -------
    RetriedCall
        The call succeeds at attempt ``k`` with probability ``p^(k-1) (1 - p)``, after
        ``k - 1`` failed attempts and backoffs.

    Examples
    --------
    >>> r = retried_call(0.01, 3, 0.5, 0.004)
    >>> r.attempts_per_call, r.failed_share
    (1.75, 0.125)
    """
    tau = nonnegative("fail_after", fail_after)
    n = _integer("attempts", attempts, 1)
    p = _probability(failure_probability)
    waits = list(backoff_means) or [0.0] * (n - 1)
    if len(waits) < n - 1:
        raise ValueError(f"backoff_means: need {n - 1} values, got {len(waits)}")
    before = [0.0]  # mean time spent before attempt k: k - 1 failed attempts and backoffs
    for k in range(1, n):
        before.append(before[-1] + tau + waits[k - 1])
    ok = [p ** (k - 1) * (1.0 - p) for k in range(1, n + 1)]
    succeeded = sum(ok)
    ok_time = sum(w * (b + mean_answer_below) for w, b in zip(ok, before, strict=True))
    failed = p**n
    failed_time = before[-1] + tau
    per_call = sum(p**k for k in range(n))
    return RetriedCall(
        failure_probability=p,
        attempts=n,
        attempts_per_call=per_call,
        retries_per_call=per_call - 1.0,
        failed_share=failed,
        mean_ok_latency=ok_time / succeeded,
        mean_latency=ok_time + failed * failed_time,
    )


def exponential_below(mean: float, timeout: float) -> tuple[float, float]:
    """``(P(X > tau), E[X | X <= tau])`` for an exponential ``X`` of ``mean``.

    Examples
    --------
    >>> p, below = exponential_below(1.0, 1.0)
    >>> round(p, 6), round(below, 6)  # e^-1, 1 - e^-1 / (1 - e^-1)
    (0.367879, 0.418023)
    """
    m, tau = positive("mean", mean), positive("timeout", timeout)
    p = math.exp(-tau / m)
    return p, m - tau * p / -math.expm1(-tau / m)


# ---------------------------------------------------------------- retry budgets


@dataclass(frozen=True)
class BudgetedRetries:
    """Calls retried on failure under a retry budget, each attempt failing independently.

    Attributes
    ----------
    failure_probability, attempts, ratio, burst
        ``p``, ``n`` (the first attempt included), and the budget's ``r`` and ``B``.
    attempts_per_call
        ``1 + E[R]``, ``R`` the retries a call makes.
    retries_per_call
        ``E[R]``; at most ``r``, and ``min(r, p (1 - p^(n-1)) / (1 - p))`` when the
        bucket is far from empty or from full.
    denied_share
        Calls that wanted a retry and found no token (``budget_denied`` per call).
    failed_share
        Calls whose last attempt failed: ``1 - (1 - p) attempts_per_call``, since a call
        stops at its one success.
    """

    failure_probability: float
    attempts: int
    ratio: float
    burst: float
    attempts_per_call: float
    retries_per_call: float
    denied_share: float
    failed_share: float


_MAX_TOKEN_STATES = 200_000
"""Token levels past which :func:`budgeted_retries` refuses (the chain's size)."""


def budgeted_retries(
    failure_probability: float, attempts: int, ratio: float, burst: float = 10.0
) -> BudgetedRetries:
    """Attempts per call when a token bucket caps the retries, calls taking their turns.

    Each call adds ``r`` tokens to the bucket (holding at most ``B``); each retry takes
    one, and a call with no whole token left is not retried. Attempts fail independently
    with probability ``p``. A call's retries ``R = min(F, n - 1, floor(T / 1))``, ``F``
    its leading failures (``P(F >= j) = p^j``) and ``T`` the tokens after its deposit,
    leave ``T - R`` for the next call: the bucket seen by successive calls is a Markov
    chain on the multiples of ``1/q`` (``r = a/q`` in lowest terms), whose stationary
    distribution is solved for exactly. Past the bucket's reach the answer is
    ``1 + min(r, D)``, ``D = p (1 - p^(n-1)) / (1 - p)`` the retries an unlimited call
    makes; near ``r = D`` the bucket empties and fills, and the chain's answer lies below.

    Assumes calls take their turns: each call's retries are made before the next call's
    first attempt (failures that fail fast, retried without backoff). Overlapping calls
    share the tokens in another order; the long-run limits above still hold.

    Parameters
    ----------
    failure_probability
        ``p`` in ``[0, 1)``.
    attempts
        ``n >= 1``.
    ratio, burst
        ``r`` in ``(0, 1]`` (a fraction of denominator at most 10,000) and ``B >= 1``, with
        ``B q`` whole.

    Examples
    --------
    >>> b = budgeted_retries(0.5, 3, 0.25)  # wants 0.75 retries a call, allowed 0.25
    >>> round(b.retries_per_call, 9), round(b.failed_share, 9)
    (0.25, 0.375)
    >>> round(budgeted_retries(0.5, 3, 1.0).attempts_per_call, 4)  # 1 + p + p^2, nearly
    1.7498
    """
    p = _probability(failure_probability)
    n = _integer("attempts", attempts, 1)
    r = positive("ratio", ratio)
    bucket = positive("burst", burst)
    if r > 1.0 or bucket < 1.0:
        raise ValueError(f"ratio must be in (0, 1] and burst >= 1, got {ratio!r}, {burst!r}")
    share = Fraction(r).limit_denominator(10_000)
    a, q = share.numerator, share.denominator
    if not math.isclose(a / q, r, rel_tol=1e-12):
        raise ValueError(f"ratio: {ratio!r} is not a fraction of denominator at most 10,000")
    full = round(bucket * q)
    if not math.isclose(full, bucket * q, rel_tol=1e-12) or full + 1 > _MAX_TOKEN_STATES:
        raise ValueError(
            f"burst: {burst!r} x {q} (the ratio's denominator) must be whole and below "
            f"{_MAX_TOKEN_STATES:,}"
        )
    levels = np.arange(full + 1)
    after = np.minimum(levels + a, full)  # tokens after the call's deposit, in 1/q
    allowed = np.minimum(after // q, n - 1)  # retries the tokens allow
    rows, cols, probs = [], [], []
    for j in range(n):  # R = j: j leading failures then a success (or j = allowed)
        taken = j < allowed
        weight = np.where(taken, p**j * (1.0 - p), np.where(j == allowed, p**j, 0.0))
        keep = weight > 0
        rows.append(levels[keep])
        cols.append(after[keep] - j * q)
        probs.append(weight[keep])
    step = sparse.csr_matrix(
        (np.concatenate(probs), (np.concatenate(rows), np.concatenate(cols))),
        shape=(full + 1, full + 1),
    )
    # pi (P - I) = 0 with sum(pi) = 1: the full bucket is reachable from every level
    # (successes refill it), so there is one closed class and pi is unique
    system = (step.T - sparse.identity(full + 1, format="csr")).tolil()
    system[full, :] = 1.0
    rhs = np.zeros(full + 1)
    rhs[full] = 1.0
    pi = sparse_linalg.spsolve(system.tocsc(), rhs)
    j = np.arange(n)[:, None]
    allowed_row = allowed[None, :]
    # E[R | level] = sum over 1 <= j <= allowed of P(F >= j) = sum p^j
    retries = float(pi @ np.sum(np.where((j >= 1) & (j <= allowed_row), p**j, 0.0), axis=0))
    # denied: the call wanted another try (F > allowed, allowed < n - 1)
    denied = float(pi @ np.where(allowed < n - 1, p ** (allowed + 1.0), 0.0))
    per_call = 1.0 + retries
    return BudgetedRetries(p, n, r, bucket, per_call, retries, denied, 1.0 - (1.0 - p) * per_call)


# ------------------------------------------------------------------ slow instance


@dataclass(frozen=True)
class SlowInstance:
    """A call timed at ``tau`` and retried, through a balancer that sends each attempt to
    one of ``N`` instances at random, one of them ``s`` times slower; the instances answer
    in exponential times (mean ``m``, ``s m`` on the slow one) and never queue.

    Attributes
    ----------
    mean_answer, factor, instances, timeout
        ``m``, ``s``, ``N`` and ``tau``.
    slow_timeout, fast_timeout
        ``P(X > tau)`` on the slow and on a fast instance: ``e^{-tau / (s m)}``, ``e^{-tau/m}``.
    call
        :class:`RetriedCall` at ``p = slow_timeout / N + (1 - 1/N) fast_timeout``.
    waits
        The backoff before each retry, seconds (fixed: ``jitter: none``).
    """

    mean_answer: float
    factor: float
    instances: int
    timeout: float
    slow_timeout: float
    fast_timeout: float
    call: RetriedCall
    waits: tuple[float, ...]

    def _answer_cdf(self, t: float) -> float:
        """``P(X <= t)`` of one attempt's answer time, the instance drawn at random."""
        if t <= 0.0:
            return 0.0
        m, s, k = self.mean_answer, self.factor, self.instances
        return -(math.expm1(-t / (s * m)) + (k - 1) * math.expm1(-t / m)) / k

    def sf(self, t: float) -> float:
        """``P(L > t)`` of a successful call's latency ``L``: it succeeds at attempt ``k``
        with probability ``p^(k-1) (1 - p) / (1 - p^n)``, after ``(k - 1) tau`` and the
        waits before it, in an answer ``X`` given ``X <= tau``."""
        t = float(t)
        p, n, tau = self.call.failure_probability, self.call.attempts, self.timeout
        ok = self._answer_cdf(tau)
        total, before = 0.0, 0.0
        for k in range(1, n + 1):
            weight = p ** (k - 1) * (1.0 - p)
            left = t - before
            if left < tau:
                total += weight * (1.0 if left < 0 else (ok - self._answer_cdf(left)) / ok)
            if k < n:
                before += tau + self.waits[k - 1]
        return total / (1.0 - p**n)

    def quantile(self, q: float) -> float:
        """The ``q``-quantile of a successful call's latency (its tail inverted).

        Examples
        --------
        >>> one = slow_instance(0.01, 1.0, 3, 1.0, 2)  # no slow one, no timeout to speak of
        >>> round(one.quantile(0.99), 6) == round(-0.01 * math.log(0.01), 6)
        True
        """
        return _quantile_from_sf(self.sf, q, self.timeout)  # type: ignore[arg-type]


def slow_instance(
    mean: float,
    factor: float,
    instances: int,
    timeout: float,
    attempts: int,
    waits: Sequence[float] = (),
) -> SlowInstance:
    """One instance of ``instances`` slowed ``factor`` times, behind a random balancer,
    under a per-call ``timeout`` retried up to ``attempts`` attempts in all.

    Each attempt is a fresh draw of the instance and of its answer time, so attempts time
    out independently with ``p = (e^{-tau/(s m)} + (N - 1) e^{-tau/m}) / N`` and
    :func:`retried_call` gives the attempts per call, the failed share and the means; the
    answer of a successful attempt is the mixture ``X`` given ``X <= tau``. The tail of a
    successful call's latency is :meth:`SlowInstance.sf`.

    Assumes a balancer that picks an instance at random for every attempt (``random``;
    round robin would correlate an attempt with the one before) and instances that never
    queue (ample workers and cores: a slowed queue's waits are not independent).

    Examples
    --------
    >>> s = slow_instance(0.01, 4.0, 4, 0.02, 3)
    >>> round(s.call.failure_probability, 6)  # (e^-0.5 + 3 e^-2) / 4
    0.253134
    >>> round(s.call.attempts_per_call, 6)  # 1 + p + p^2
    1.317211
    """
    m, s = positive("mean", mean), positive("factor", factor)
    k = _integer("instances", instances, 1)
    tau = positive("timeout", timeout)
    n = _integer("attempts", attempts, 1)
    gaps = tuple(nonnegative("waits", w) for w in waits) or (0.0,) * (n - 1)
    if len(gaps) < n - 1:
        raise ValueError(f"waits: need {n - 1} values, got {len(gaps)}")
    slow_p, slow_below = exponential_below(s * m, tau)
    fast_p, fast_below = exponential_below(m, tau)
    p = (slow_p + (k - 1) * fast_p) / k
    # E[X | X <= tau] of the mixture: each part's truncated mean weighted by its mass below
    below = ((1 - slow_p) * slow_below + (k - 1) * (1 - fast_p) * fast_below) / (k * (1 - p))
    call = retried_call(tau, n, p, below, gaps)
    return SlowInstance(m, s, k, tau, slow_p, fast_p, call, gaps)


# ------------------------------------------------------------------------ hedging


@dataclass(frozen=True)
class HedgedExponential:
    """A call hedged after ``after`` against a callee answering in independent
    exponential times of ``mean`` (no queueing): latency ``min(X1, after + X2)``.

    Attributes
    ----------
    mean_answer, after
        The callee's mean time and the hedge's delay ``d``, seconds.
    hedge_rate
        ``P(X1 > d) = e^{-d/m}``: second copies per call.
    mean
        ``m (1 - e^{-d/m} / 2)``.
    """

    mean_answer: float
    after: float
    hedge_rate: float
    mean: float

    def sf(self, t: float) -> float:
        """``P(latency > t)``: ``e^{-t/m}`` before the hedge, ``e^{-(2t - d)/m}`` after."""
        m, d = self.mean_answer, self.after
        if t <= d:
            return math.exp(-max(t, 0.0) / m)
        return math.exp(-(2.0 * t - d) / m)

    def mean_below(self, timeout: float) -> float:
        """``E[L | L <= timeout]``: the mean latency of hedged calls that also have a
        ``timeout`` (``int_0^t P(L > u) du - t P(L > t)``, over ``P(L <= t)``).

        Examples
        --------
        >>> h = hedged_exponential(0.01, 0.01)
        >>> round(h.mean_below(1.0), 12) == round(h.mean, 12)
        True
        """
        t = positive("timeout", timeout)
        m, d = self.mean_answer, self.after
        if t <= d:
            area = m * -math.expm1(-t / m)
        else:
            area = m * -math.expm1(-d / m) + 0.5 * m * math.exp(d / m) * (
                math.exp(-2.0 * d / m) - math.exp(-2.0 * t / m)
            )
        tail = self.sf(t)
        return (area - t * tail) / (1.0 - tail)

    def quantile(self, q: float) -> float:
        """The ``q``-quantile of the latency.

        Examples
        --------
        >>> h = hedged_exponential(0.01, 0.01)
        >>> round(h.quantile(0.99), 6)  # (d + m ln 100) / 2
        0.028026
        """
        q = _probability(q)
        m, d = self.mean_answer, self.after
        t = -m * math.log1p(-q)
        return t if t <= d else 0.5 * (d + t)


def hedged_exponential(mean: float, after: float) -> HedgedExponential:
    """The latency of a hedged call to a callee of exponential answer times, no queueing.

    Examples
    --------
    >>> h = hedged_exponential(0.01, 0.005)
    >>> round(h.mean, 6), round(h.hedge_rate, 6)
    (0.006967, 0.606531)
    """
    m, d = positive("mean", mean), positive("after", after)
    late = math.exp(-d / m)
    return HedgedExponential(m, d, late, m * (1.0 - 0.5 * late))


@dataclass(frozen=True)
class HedgedCopies:
    """A call hedged every ``after`` up to ``copies`` copies against a callee answering
    in independent times ``shift + E`` (``E`` exponential of mean ``mean_answer``, no
    queueing): latency ``L = min over k < n of (k d + X_k)``.

    A copy not sent (one answered before ``k d``) could not have won, so ``L`` is the
    minimum over all ``n``: ``P(L > t) = prod_k P(X > t - k d)``, the exponent
    ``-(j t - j c - d j (j - 1) / 2) / m`` while ``j`` copies are past their shift ``c``.
    With ``copies=2`` and ``shift=0`` it is :class:`HedgedExponential`.

    Attributes
    ----------
    mean_answer, shift, after, copies
        ``m``, ``c``, ``d`` (seconds) and ``n``.
    copies_per_call
        ``sum_k P(L > k d)``: copy ``k`` is sent when none has answered by ``k d``
        (``1 +`` the hedges per call).
    mean
        ``E[L]``, the tail integrated piecewise.
    """

    mean_answer: float
    shift: float
    after: float
    copies: int
    copies_per_call: float
    mean: float

    def _hazard(self, t: float) -> float:
        """``-ln P(L > t)``: each copy ``k`` past its shift adds ``(t - k d - c) / m``."""
        m, c, d = self.mean_answer, self.shift, self.after
        return sum(max(t - k * d - c, 0.0) for k in range(self.copies)) / m

    def sf(self, t: float) -> float:
        """``P(latency > t)``."""
        return math.exp(-self._hazard(t))

    def quantile(self, q: float) -> float:
        """The ``q``-quantile of the latency: ``t`` with ``hazard(t) = -ln(1 - q)``,
        linear between the times a further copy passes its shift.

        Examples
        --------
        >>> h = hedged_copies(0.01, 0.01)  # two copies, no shift: HedgedExponential
        >>> round(h.quantile(0.99), 6)
        0.028026
        """
        q = _probability(q)
        m, c, d, n = self.mean_answer, self.shift, self.after, self.copies
        target = -m * math.log1p(-q)
        for j in range(1, n + 1):  # j copies past their shift, for t in [c + (j-1) d, c + j d)
            t = (target + j * c + d * j * (j - 1) / 2) / j
            if j == n or t < c + j * d:
                return t
        raise AssertionError("unreachable")  # pragma: no cover


def hedged_copies(mean: float, after: float, copies: int = 2, shift: float = 0.0) -> HedgedCopies:
    """The latency of a call hedged every ``after`` up to ``copies`` copies, against a
    callee answering in ``shift`` plus an exponential of ``mean``, no queueing.

    Examples
    --------
    >>> h = hedged_copies(0.01, 0.005)
    >>> round(h.mean, 6), round(h.copies_per_call - 1, 6)  # as hedged_exponential
    (0.006967, 0.606531)
    >>> h = hedged_copies(0.01, 0.005, copies=3)
    >>> round(h.copies_per_call, 6)  # 1 + e^-0.5 + e^-1.5
    1.829661
    """
    m, d = positive("mean", mean), positive("after", after)
    c = nonnegative("shift", shift)
    n = _integer("copies", copies, 1)
    partial = HedgedCopies(m, c, d, n, 0.0, 0.0)
    # E[L] = c + sum over j of the tail's integral while j copies are past their shift:
    # (m / j) (sf(start) - sf(end)) with start c + (j-1) d, end c + j d (inf for the last)
    mean_latency = c
    for j in range(1, n + 1):
        end = partial.sf(c + j * d) if j < n else 0.0
        mean_latency += m / j * (partial.sf(c + (j - 1) * d) - end)
    per_call = sum(partial.sf(k * d) for k in range(n))
    return HedgedCopies(m, c, d, n, per_call, mean_latency)

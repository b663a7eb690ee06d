"""Calls under failure: client timeouts over a queue, calls retried with backoff, and
hedged calls, each where an exact closed form exists.

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
from dataclasses import dataclass
from typing import Literal

from simperf.analysis._common import _integer, _probability
from simperf.analysis.queueing import QueueResult
from simperf.checks import nonnegative, positive

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
    other half (mean three quarters). ``decorrelated`` depends on the previous wait, a
    chain with no closed form past the first retry, and is refused.

    Examples
    --------
    >>> [backoff_mean(n, 0.01, 0.03, "full") for n in (1, 2, 3)]
    [0.005, 0.01, 0.015]
    """
    n = _integer("retry", retry, 1)
    ceiling = min(nonnegative("cap", cap), nonnegative("base", base) * 2.0 ** (n - 1))
    share = {"none": 1.0, "full": 0.5, "equal": 0.75}.get(jitter)
    if share is None:
        raise ValueError(f"jitter: no closed form for {jitter!r} (none, full or equal)")
    return share * ceiling


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

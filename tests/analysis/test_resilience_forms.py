"""Closed forms for calls under failure against numerical integrals and seeded Monte
Carlo estimates (compared within a few standard errors)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from simperf.analysis import (
    backoff_mean,
    client_timeout,
    exponential_below,
    hedged_copies,
    hedged_exponential,
    mm1,
    mmc,
    retried_call,
)

N = 400_000


@pytest.mark.parametrize(
    "queue", [mm1(70, 100), mmc(280, 100, 4), mmc(100, 100 / 3, 4)], ids=["mm1", "mmc", "a=mu"]
)
@pytest.mark.parametrize("timeout", [0.002, 0.03, 0.2])
def test_client_timeout_is_the_sojourn_tail_and_its_truncated_mean(queue, timeout) -> None:
    r = client_timeout(queue, timeout)
    assert r.timeout_share == pytest.approx(1.0 - queue.sojourn_cdf(timeout), rel=1e-12)
    # E[S; S <= t] = int_0^t P(S > u) du - t P(S > t), the tail integrated numerically
    area, _ = integrate.quad(lambda u: 1.0 - queue.sojourn_cdf(u), 0.0, timeout)
    below = (area - timeout * r.timeout_share) / (1.0 - r.timeout_share)
    assert r.mean_ok_latency == pytest.approx(below, rel=1e-9)


def test_client_timeout_over_mm1_is_a_truncated_exponential() -> None:
    # M/M/1: the sojourn is Exp(mu - lambda)
    p, below = exponential_below(1 / 30, 0.05)
    r = client_timeout(mm1(70, 100), 0.05)
    assert r.timeout_share == pytest.approx(p, rel=1e-12)
    assert r.mean_ok_latency == pytest.approx(below, rel=1e-12)


def test_backoff_means_match_the_draws() -> None:
    rng = np.random.default_rng(3)
    u = rng.random(N)
    for n in (1, 2, 3, 4):
        ceiling = min(0.03, 0.01 * 2 ** (n - 1))
        draws = {
            "none": np.full(N, ceiling),
            "full": u * ceiling,
            "equal": ceiling * (0.5 + 0.5 * u),
        }
        for jitter, x in draws.items():
            se = x.std() / math.sqrt(N)
            assert abs(backoff_mean(n, 0.01, 0.03, jitter) - x.mean()) <= 4 * se + 1e-15
    with pytest.raises(ValueError, match="decorrelated"):
        backoff_mean(1, 0.01, 0.03, "decorrelated")


def test_retried_call_matches_a_monte_carlo_of_attempts() -> None:
    rng = np.random.default_rng(7)
    m, tau, n = 0.01, 0.01, 3
    waits = [backoff_mean(k, 0.005, 0.008, "full") for k in (1, 2)]
    x = rng.exponential(m, (N, n))
    b = rng.random((N, n - 1)) * np.array([0.005, 0.008])
    answered = x <= tau
    first = np.where(answered.any(axis=1), answered.argmax(axis=1), n)  # 0-based, n: failed
    ok = first < n
    tries = np.minimum(first + 1, n)
    before = np.zeros(N)  # timeouts and backoffs before the last attempt
    for k in range(1, n):
        before += np.where(first >= k, tau + b[:, k - 1], 0.0)
    latency = before + np.where(ok, x[np.arange(N), np.minimum(first, n - 1)], tau)
    p, below = exponential_below(m, tau)
    r = retried_call(tau, n, p, below, waits)

    def near(theory: float, sample: np.ndarray) -> None:
        assert abs(theory - sample.mean()) <= 4 * sample.std() / math.sqrt(sample.size)

    near(r.attempts_per_call, tries)
    near(r.failed_share, ~ok)
    near(r.mean_ok_latency, latency[ok])
    near(r.mean_latency, latency)
    assert r.retries_per_call == pytest.approx(r.attempts_per_call - 1)
    assert r.failed_share == pytest.approx(math.exp(-3))


def test_hedged_exponential_matches_a_monte_carlo() -> None:
    rng = np.random.default_rng(11)
    m, d = 0.01, 0.006
    x = rng.exponential(m, (N, 2))
    latency = np.minimum(x[:, 0], d + x[:, 1])
    h = hedged_exponential(m, d)
    assert abs(h.mean - latency.mean()) <= 4 * latency.std() / math.sqrt(N)
    assert abs(h.hedge_rate - (x[:, 0] > d).mean()) <= 4 * 0.5 / math.sqrt(N)
    for q in (0.3, 0.5, 0.9, 0.99):
        assert h.sf(h.quantile(q)) == pytest.approx(1 - q, rel=1e-12)
        assert abs((latency > h.quantile(q)).mean() - (1 - q)) <= 4 * math.sqrt(q * (1 - q) / N)
    assert integrate.quad(h.sf, 0, 1, points=[d])[0] == pytest.approx(h.mean, rel=1e-9)


@pytest.mark.parametrize(("copies", "shift"), [(3, 0.0), (4, 0.002)], ids=["exp", "shifted"])
def test_hedged_copies_match_a_monte_carlo(copies: int, shift: float) -> None:
    # copy k goes at k d only if none has answered, but a copy not sent could not have
    # won: the latency is the minimum over all n, and copy k is sent with P(L > k d)
    rng = np.random.default_rng(12)
    m, d = 0.01, 0.004
    answer = shift + rng.exponential(m, (N, copies))
    sent_at = d * np.arange(copies)
    latency = (sent_at + answer).min(axis=1)
    h = hedged_copies(m, d, copies, shift)
    assert abs(h.mean - latency.mean()) <= 4 * latency.std() / math.sqrt(N)
    sent = (latency[:, None] > sent_at).sum(axis=1)
    assert abs(h.copies_per_call - sent.mean()) <= 4 * sent.std() / math.sqrt(N)
    for q in (0.3, 0.5, 0.9, 0.99):
        assert h.sf(h.quantile(q)) == pytest.approx(1 - q, rel=1e-12)
        assert abs((latency > h.quantile(q)).mean() - (1 - q)) <= 4 * math.sqrt(q * (1 - q) / N)
    points = list(shift + sent_at)
    assert integrate.quad(h.sf, 0, 1, points=points)[0] == pytest.approx(h.mean, rel=1e-9)


def test_two_hedged_copies_are_the_hedged_exponential() -> None:
    two, one = hedged_copies(0.01, 0.006), hedged_exponential(0.01, 0.006)
    assert two.mean == pytest.approx(one.mean, rel=1e-12)
    assert two.copies_per_call == pytest.approx(1 + one.hedge_rate, rel=1e-12)
    for q in (0.1, 0.5, 0.99):
        assert two.quantile(q) == pytest.approx(one.quantile(q), rel=1e-12)


def test_a_retried_fail_fast_error_costs_only_its_backoffs() -> None:
    # two attempts, p = 1/2, a 10 ms wait: ok at once 1/2, after the wait 1/4
    r = retried_call(0.0, 2, 0.5, 0.004, [0.01])
    assert (r.attempts_per_call, r.failed_share) == (1.5, 0.25)
    assert r.mean_ok_latency == pytest.approx(0.004 + 0.01 / 3)
    assert r.mean_latency == pytest.approx(0.5 * 0.004 + 0.25 * 0.014 + 0.25 * 0.01)


@pytest.mark.parametrize("timeout", [0.004, 0.006, 0.02])
def test_hedged_mean_below_a_timeout_matches_its_tail_integral(timeout: float) -> None:
    h = hedged_exponential(0.01, 0.006)
    area, _ = integrate.quad(h.sf, 0.0, timeout, points=[0.006] if timeout > 0.006 else None)
    below = (area - timeout * h.sf(timeout)) / (1.0 - h.sf(timeout))
    assert h.mean_below(timeout) == pytest.approx(below, rel=1e-10)

"""Closed forms for calls under failure against numerical integrals and seeded Monte
Carlo estimates (compared within a few standard errors)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from simperf.analysis import (
    backoff_mean,
    budgeted_retries,
    client_timeout,
    decorrelated_backoff,
    exponential_below,
    hedged_copies,
    hedged_exponential,
    mm1,
    mmc,
    retried_call,
    slow_instance,
)
from simperf.components.resilience import RetryBudget, backoff_sampler
from simperf.spec.resilience import BackoffSpec

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
    with pytest.raises(ValueError, match="jitter"):
        backoff_mean(1, 0.01, 0.03, "exponential")  # type: ignore[arg-type]


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


@pytest.mark.parametrize(
    ("base", "cap"), [(0.01, 0.025), (0.01, 0.05), (0.005, 0.2)], ids=["tight", "cap", "loose"]
)
def test_decorrelated_backoff_matches_a_monte_carlo(base: float, cap: float) -> None:
    # W_n = min(cap, U(base, 3 W_{n-1})), W_0 = base, drawn as the runtime's sampler does
    rng = np.random.default_rng(13)
    w = np.full(N, base)
    for n in range(1, 7):
        w = np.minimum(cap, base + rng.random(N) * (3 * w - base))
        d = decorrelated_backoff(n, base, cap)
        assert abs(d.mean - w.mean()) <= 4 * w.std() / math.sqrt(N)
        assert abs(d.at_cap - (w >= cap).mean()) <= 4 * math.sqrt(0.25 / N)
        for x in np.quantile(w, [0.1, 0.5, 0.9]):
            assert abs(d.cdf(x) - (w <= x).mean()) <= 4 * math.sqrt(0.25 / N)
        assert backoff_mean(n, base, cap, "decorrelated") == d.mean


def test_decorrelated_backoff_is_the_runtime_sampler() -> None:
    rng = np.random.default_rng(14)
    spec = BackoffSpec(base=0.01, cap=0.05, jitter="decorrelated")
    wait = backoff_sampler(spec, rng.random)
    runs = 40_000
    waits = np.empty((runs, 4))
    for i in range(runs):
        previous = 0.0
        for n in range(1, 5):
            previous = waits[i, n - 1] = wait(n, previous)
    for n in range(1, 5):
        x = waits[:, n - 1]
        mean = decorrelated_backoff(n, 0.01, 0.05).mean
        assert abs(mean - x.mean()) <= 4 * x.std() / math.sqrt(runs)


def test_decorrelated_backoff_closed_cases() -> None:
    # the first wait: uniform on [b, 3b], cut at the cap
    assert decorrelated_backoff(1, 0.01, 0.025).mean == pytest.approx(0.025 - 0.015**2 / 0.04)
    assert decorrelated_backoff(1, 0.01, 0.025).at_cap == pytest.approx(0.25)
    # uncapped: E[W_n] = b / 2 + 1.5 E[W_{n-1}]; the grid agrees with it where it applies
    for n in range(1, 6):
        closed = 3 * 0.001 * 1.5 ** (n - 1) - 0.001
        assert decorrelated_backoff(n, 0.001, 1.0).mean == pytest.approx(closed, rel=1e-12)
    d = decorrelated_backoff(5, 0.001, 0.243 + 1e-9)  # 3^5 b: the cap just cannot bind
    assert d.at_cap == 0.0 and d.cdf(0.1) == pytest.approx(
        decorrelated_backoff(5, 0.001, 1).cdf(0.1), abs=1e-6
    )
    carried = decorrelated_backoff(5, 0.001, 0.2)  # it binds: below the uncapped mean
    assert 0 < carried.at_cap < 0.1 and carried.mean < 3 * 0.001 * 1.5**4 - 0.001
    # no base: every wait 0 (U(0, 0)); base = cap: every wait the cap
    assert (decorrelated_backoff(3, 0.0, 1.0).mean, decorrelated_backoff(3, 0.02, 0.02).mean) == (
        0.0,
        0.02,
    )
    with pytest.raises(ValueError, match="cap"):
        decorrelated_backoff(1, 0.02, 0.01)


@pytest.mark.parametrize(
    ("p", "attempts", "ratio", "burst"),
    [(0.5, 3, 0.25, 10.0), (0.5, 3, 0.7, 2.0), (0.3, 4, 0.4, 5.0)],
    ids=["binding", "edge", "four"],
)
def test_budgeted_retries_match_the_runtime_bucket(p, attempts, ratio, burst) -> None:
    # calls taking their turns against the runtime's own token bucket
    rng = np.random.default_rng(15)
    calls = 60_000
    fails = rng.random((calls, attempts)) < p
    bucket = RetryBudget(ratio, burst)
    tries = np.zeros(calls)
    denied = np.zeros(calls)
    failed = np.zeros(calls)
    for i in range(calls):
        bucket.deposit()
        k = 0
        while True:
            tries[i] += 1
            if not fails[i, k]:
                break
            if k + 1 >= attempts or not bucket.take():
                failed[i] = 1
                denied[i] = k + 1 < attempts
                break
            k += 1
    b = budgeted_retries(p, attempts, ratio, burst)
    for theory, sample in ((b.attempts_per_call, tries), (b.denied_share, denied),
                           (b.failed_share, failed)):  # fmt: skip
        assert abs(theory - sample.mean()) <= 4 * sample.std() / math.sqrt(calls)
    assert b.retries_per_call <= ratio + 1e-12
    assert b.failed_share == pytest.approx(1 - (1 - p) * b.attempts_per_call, rel=1e-12)


def test_budgeted_retries_limits() -> None:
    # far past the bucket's reach: 1 + min(ratio, the retries unlimited calls make)
    wanted = 0.5 + 0.25
    assert budgeted_retries(0.5, 3, 0.1).attempts_per_call == pytest.approx(1.1, rel=1e-9)
    assert budgeted_retries(0.5, 3, 1.0, 100).attempts_per_call == pytest.approx(1 + wanted)
    assert budgeted_retries(0.0, 3, 0.1).attempts_per_call == 1.0
    assert budgeted_retries(0.5, 1, 0.1).attempts_per_call == 1.0
    for bad in ((0.5, 3, 1 / math.pi), (0.5, 3, 0.1, 2.55), (0.5, 3, 1.5)):
        with pytest.raises(ValueError):
            budgeted_retries(*bad)


def test_slow_instance_matches_a_monte_carlo() -> None:
    rng = np.random.default_rng(16)
    m, s, k, tau, n, waits = 0.01, 4.0, 4, 0.02, 3, (0.005, 0.01)
    slowed = rng.integers(0, k, (N, n)) == 0
    x = rng.exponential(m, (N, n)) * np.where(slowed, s, 1.0)
    answered = x <= tau
    first = np.where(answered.any(axis=1), answered.argmax(axis=1), n)
    ok = first < n
    before = np.array([0.0, tau + waits[0], 2 * tau + waits[0] + waits[1]])
    latency = (before[np.minimum(first, n - 1)] + x[np.arange(N), np.minimum(first, n - 1)])[ok]
    theory = slow_instance(m, s, k, tau, n, waits)
    tries = np.minimum(first + 1, n)
    assert abs(theory.call.attempts_per_call - tries.mean()) <= 4 * tries.std() / math.sqrt(N)
    assert abs(theory.call.mean_ok_latency - latency.mean()) <= 4 * latency.std() / math.sqrt(N)
    assert abs(theory.call.failed_share - (~ok).mean()) <= 4 * math.sqrt(0.02 / N)
    for q in (0.5, 0.9, 0.99):
        t = theory.quantile(q)
        assert theory.sf(t) == pytest.approx(1 - q, rel=1e-9)
        assert abs((latency > t).mean() - (1 - q)) <= 4 * math.sqrt(q * (1 - q) / latency.size)
    # no slow instance: a retried call to one exponential callee
    p, below = exponential_below(m, tau)
    plain = slow_instance(m, 1.0, k, tau, n, waits).call
    assert plain.mean_ok_latency == pytest.approx(
        retried_call(tau, n, p, below, waits).mean_ok_latency
    )

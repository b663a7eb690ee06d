"""Closed-form queueing results checked against independent facts.

Textbook values, identities between models, brute-force Markov chains built here from
scratch, and seeded Monte Carlo estimates (compared within a few standard errors).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, sparse, stats
from scipy.sparse import linalg as sparse_linalg

from simperf.analysis import (
    QueueResult,
    erlang_b,
    erlang_c,
    erlang_m1,
    fork_join_bounds,
    fork_join_two,
    independent_max_quantile,
    jackson,
    mg1,
    mm1,
    mm1_bounded_wait,
    mmc,
    mmck,
    mva,
    power_of_two,
    tandem,
)

LEVELS = (0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999)


# ------------------------------------------------------------------------ helpers


def stationary(generator: np.ndarray) -> np.ndarray:
    """Stationary distribution of a small generator: pi Q = 0 with pi_0 pinned to 1.

    Sparse LU rather than dense LAPACK, whose thread start-up dominates on small
    problems on a busy machine.
    """
    a = sparse.csc_matrix(generator.T)
    rest = sparse_linalg.spsolve(a[1:, 1:].tocsc(), -a[1:, 0].toarray().ravel())
    pi = np.concatenate(([1.0], rest))
    return pi / pi.sum()


def lindley_waits(service: np.ndarray, interarrival: np.ndarray) -> np.ndarray:
    """Waits of a FCFS single-server queue: W_j = U_j - min_{i<=j} U_i (Lindley)."""
    steps = service[:-1] - interarrival[1:]
    u = np.concatenate(([0.0], np.cumsum(steps)))
    return u - np.minimum.accumulate(u)


def batch_se(x: np.ndarray, batches: int = 100) -> float:
    means = x[: len(x) // batches * batches].reshape(batches, -1).mean(axis=1)
    return float(means.std(ddof=1) / math.sqrt(batches))


def quantile_se(sample_size: int, p: float, density: float) -> float:
    return math.sqrt(p * (1 - p) / sample_size) / density


# ---------------------------------------------------------------------- M/M/1, M/M/c


def test_mm1_textbook_values() -> None:
    r = mm1(90, 100)
    assert r.utilization == pytest.approx(0.9)
    assert r.mean_sojourn == pytest.approx(0.1)
    assert r.mean_wait == pytest.approx(0.09)
    assert r.mean_in_system == pytest.approx(9.0)
    assert r.mean_queue_length == pytest.approx(8.1)
    assert r.prob_wait == pytest.approx(0.9)
    assert r.sojourn_quantile(0.99) == pytest.approx(math.log(100) / 10)
    assert r.wait_quantile(0.05) == 0.0  # 10 % of arrivals do not wait
    assert r.wait_quantile(0.99) == pytest.approx(math.log(0.9 / 0.01) / 10)


def test_mm1_no_traffic() -> None:
    r = mm1(0, 50)
    assert r.mean_sojourn == pytest.approx(0.02)
    assert r.mean_in_system == 0.0


@pytest.mark.parametrize(
    "args", [(100, 100), (120, 100), (-1, 100), (10, 0), (float("nan"), 1), ("x", 1)]
)
def test_mm1_rejects_unstable_or_invalid(args: tuple[object, object]) -> None:
    with pytest.raises(ValueError):
        mm1(*args)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_quantile_level_must_be_in_unit_interval(p: float) -> None:
    with pytest.raises(ValueError, match="p:"):
        mm1(1, 2).sojourn_quantile(p)


def test_erlang_textbook_values() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_c(3, 0.0) == 0.0
    # c = 2 in closed form: C = 2 rho^2 / (1 + rho)
    rho = 5 / 6
    assert erlang_c(2, 2 * rho) == pytest.approx(2 * rho**2 / (1 + rho))


@pytest.mark.parametrize(("c", "a"), [(10, 7.5), (500, 480.0), (5000, 4950.0)])
def test_erlang_c_large_systems_match_poisson_form(c: int, a: float) -> None:
    # B = P(Poisson(a) = c) / P(Poisson(a) <= c), evaluated in log space by scipy
    b = math.exp(stats.poisson.logpmf(c, a) - stats.poisson.logcdf(c, a))
    assert erlang_b(c, a) == pytest.approx(b, rel=1e-9)
    assert erlang_c(c, a) == pytest.approx(b / (1 - a / c * (1 - b)), rel=1e-9)


def test_erlang_c_rejects_unstable_load() -> None:
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(4, 4.0)
    with pytest.raises(ValueError):
        erlang_c(0, 0.5)
    with pytest.raises(ValueError):
        erlang_c(2.5, 0.5)


def test_mmc_with_one_server_equals_mm1() -> None:
    a, b = mmc(70, 100, 1), mm1(70, 100)
    for name in (
        "utilization",
        "prob_wait",
        "mean_wait",
        "mean_sojourn",
        "mean_queue_length",
        "mean_in_system",
    ):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-12)


def test_mmc_textbook_values() -> None:
    r = mmc(100, 60, 2)
    rho = 100 / 120
    c_prob = 2 * rho**2 / (1 + rho)
    assert r.utilization == pytest.approx(rho)
    assert r.prob_wait == pytest.approx(c_prob)
    assert r.mean_queue_length == pytest.approx(c_prob * rho / (1 - rho))
    assert r.mean_wait == pytest.approx(c_prob / 20)
    assert r.mean_sojourn == pytest.approx(c_prob / 20 + 1 / 60)
    assert r.mean_in_system == pytest.approx(100 * r.mean_sojourn)


def convolution_cdf(r: QueueResult, t: float) -> float:
    """P(wait + service <= t) by numerical integration of the convolution."""
    mu, c_prob = r.service_rate, r.prob_wait
    alpha = r.servers * mu - r.arrival_rate

    def integrand(s: float) -> float:
        return alpha * math.exp(-alpha * s) * -math.expm1(-mu * (t - s))

    waited, _ = integrate.quad(integrand, 0, t, epsabs=1e-13, epsrel=1e-12)
    return (1 - c_prob) * -math.expm1(-mu * t) + c_prob * waited


@pytest.mark.parametrize(
    ("lam", "mu", "c"),
    [
        (24, 10, 3),
        (1.0, 1.0, 2),  # c mu - lambda == mu: the Erlang-2 special case
        (1.0 + 1e-9, 1.0, 2),  # next to it, where the textbook form cancels
        (1.0 - 1e-7, 1.0, 2),
        (0.5, 1.0, 2),  # c mu - lambda > mu
        (390, 1, 400),
    ],
)
def test_mmc_sojourn_cdf_is_the_convolution(lam: float, mu: float, c: int) -> None:
    r = mmc(lam, mu, c)
    for t in np.array([0.05, 0.5, 1, 2, 5]) * r.mean_sojourn:
        assert r.sojourn_cdf(t) == pytest.approx(convolution_cdf(r, t), abs=1e-10)
    assert r.sojourn_cdf(0.0) == 0.0
    assert r.sojourn_cdf(-1.0) == 0.0
    ts = np.array([0.1, 1.0]) * r.mean_sojourn
    assert np.asarray(r.sojourn_cdf(ts)).shape == (2,)


def test_mmc_sojourn_cdf_is_continuous_through_the_special_case() -> None:
    values = [mmc(lam, 1.0, 2).sojourn_cdf(1.7) for lam in (1 - 1e-6, 1.0, 1 + 1e-6)]
    assert values[0] == pytest.approx(values[1], abs=1e-6)
    assert values[2] == pytest.approx(values[1], abs=1e-6)
    # Erlang-2 part exactly when c mu - lambda == mu
    r = mmc(1.0, 1.0, 2)
    expected = (1 - r.prob_wait) * (1 - math.exp(-1.7)) + r.prob_wait * (1 - math.exp(-1.7) * 2.7)
    assert values[1] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(("lam", "mu", "c"), [(90, 100, 1), (24, 10, 3), (1, 1, 2), (390, 1, 400)])
def test_queue_quantiles_invert_their_cdfs(lam: float, mu: float, c: int) -> None:
    r = mmc(lam, mu, c)
    for p in LEVELS:
        assert r.sojourn_cdf(r.sojourn_quantile(p)) == pytest.approx(p, abs=1e-12)
        q = r.wait_quantile(p)
        if q > 0:
            assert r.wait_cdf(q) == pytest.approx(p, abs=1e-12)
        else:
            assert p <= 1 - r.prob_wait
    assert r.sojourn_quantile(0.0) == 0.0


def test_mm1_quantile_closed_form_agrees_with_mixture_cdf() -> None:
    r = mm1(90, 100)
    ts = np.linspace(0, 1, 11)
    np.testing.assert_allclose(r.sojourn_cdf(ts), 1 - np.exp(-10 * ts), atol=1e-14)


def test_mmc_sojourn_quantile_matches_monte_carlo() -> None:
    lam, mu, c, p, n = 24.0, 10.0, 3, 0.95, 1_000_000
    r = mmc(lam, mu, c)
    rng = np.random.default_rng(20240601)
    waits = np.where(rng.random(n) < r.prob_wait, rng.exponential(1 / (c * mu - lam), n), 0.0)
    sojourn = waits + rng.exponential(1 / mu, n)
    q = r.sojourn_quantile(p)
    h = 1e-6 * q
    density = (r.sojourn_cdf(q + h) - r.sojourn_cdf(q - h)) / (2 * h)
    assert abs(np.quantile(sojourn, p) - q) < 3 * quantile_se(n, p, density)
    assert sojourn.mean() == pytest.approx(r.mean_sojourn, rel=5e-3)


# ------------------------------------------------------- M/M/1 with a bound on the wait


@pytest.mark.parametrize(("lam", "tau"), [(50.0, 0.02), (100.0, 0.05), (150.0, 0.05)])
def test_bounded_wait_matches_the_work_recursion(lam: float, tau: float) -> None:
    # The work an arrival finds, V' = max(0, V + S 1[V <= tau] - A): 200,000 arrivals
    # (a dropped request adds no work), against the closed form within 5 s.e. of the
    # first 40 batches' means.
    rng = np.random.default_rng(7)
    n, mu = 200_000, 100.0
    gaps, services = rng.exponential(1 / lam, n), rng.exponential(1 / mu, n)
    found = np.empty(n)
    v = 0.0
    for i in range(n):
        found[i] = v
        v = max(0.0, v + (services[i] if v <= tau else 0.0) - gaps[i])
    served = found <= tau
    r = mm1_bounded_wait(lam, mu, tau)

    def close(values: np.ndarray, theory: float) -> None:
        batches = values[: len(values) // 40 * 40].reshape(40, -1).mean(axis=1)
        assert abs(batches.mean() - theory) <= 5 * batches.std(ddof=1) / math.sqrt(40)

    close((~served).astype(float), r.shed_probability)
    close(found[served], r.mean_wait)
    close((found[served] > 0).astype(float), r.p_wait)
    close((found > 0).astype(float), r.utilization)  # PASTA: the busy share
    assert r.throughput == pytest.approx(r.utilization * mu, rel=1e-12)  # flow balance


def test_bounded_wait_limits() -> None:
    # no bound: the M/M/1 queue; a zero bound: the M/M/1/1 loss system
    r, plain = mm1_bounded_wait(70, 100, 10.0), mm1(70, 100)
    assert r.shed_probability < 1e-12
    assert r.mean_sojourn == pytest.approx(plain.mean_sojourn, rel=1e-9)
    assert r.p_wait == pytest.approx(0.7, rel=1e-9)
    for lam in (30.0, 100.0, 400.0):
        r, loss = mm1_bounded_wait(lam, 100, 0.0), mmck(lam, 100, 1, 1)
        assert r.shed_probability == pytest.approx(loss.blocking_probability, rel=1e-12)
        assert r.mean_wait == 0.0 and r.p_wait == 0.0
    # continuous through lambda = mu
    assert mm1_bounded_wait(100, 100, 0.05).shed_probability == pytest.approx(
        mm1_bounded_wait(100 * (1 + 1e-7), 100, 0.05).shed_probability, rel=1e-5
    )


# ------------------------------------------------------------------------- M/M/c/K


def mmck_by_hand(lam: float, mu: float, c: int, k: int) -> np.ndarray:
    w = [(lam / mu) ** n / math.factorial(min(n, c)) / c ** max(n - c, 0) for n in range(k + 1)]
    return np.array(w) / sum(w)


@pytest.mark.parametrize("rho", [0.1, 0.5, 1.0, 3.0])
def test_mmck_single_slot_blocking(rho: float) -> None:
    r = mmck(rho * 10, 10, 1, 1)
    assert r.blocking_probability == pytest.approx(rho / (1 + rho))
    assert r.throughput == pytest.approx(rho * 10 / (1 + rho))
    assert r.mean_sojourn == pytest.approx(0.1)  # admitted requests are only served


@pytest.mark.parametrize(("lam", "mu", "c", "k"), [(300, 100, 2, 10), (5, 1, 3, 7), (1, 2, 4, 4)])
def test_mmck_matches_direct_birth_death_solution(lam: float, mu: float, c: int, k: int) -> None:
    r = mmck(lam, mu, c, k)
    p = mmck_by_hand(lam, mu, c, k)
    n = np.arange(k + 1)
    np.testing.assert_allclose(r.state_probabilities, p, rtol=1e-12)
    assert r.blocking_probability == pytest.approx(p[-1])
    assert r.mean_in_system == pytest.approx(n @ p)
    assert r.throughput == pytest.approx(lam * (1 - p[-1]))
    # flow balance: admitted rate = departure rate = mu E[min(n, c)]
    assert r.utilization == pytest.approx(np.minimum(n, c) @ p / c)
    assert r.mean_sojourn == pytest.approx(r.mean_wait + 1 / mu)


@pytest.mark.parametrize(("c", "a"), [(1, 0.3), (5, 4.0), (20, 25.0)])
def test_mmck_without_waiting_room_is_erlang_b(c: int, a: float) -> None:
    assert mmck(a * 3, 3, c, c).blocking_probability == pytest.approx(erlang_b(c, a))


def test_mmck_with_large_capacity_converges_to_mmc() -> None:
    finite, infinite = mmck(24, 10, 3, 400), mmc(24, 10, 3)
    assert finite.blocking_probability < 1e-30
    for name in ("mean_in_system", "mean_sojourn", "mean_wait", "utilization"):
        assert getattr(finite, name) == pytest.approx(getattr(infinite, name), rel=1e-12)
    for p in (0.5, 0.95, 0.999):
        assert finite.sojourn_quantile(p) == pytest.approx(infinite.sojourn_quantile(p), rel=1e-9)
        assert finite.wait_quantile(p) == pytest.approx(infinite.wait_quantile(p), rel=1e-9)


def test_mmck_deep_buffer_near_saturation_is_stable_numerically() -> None:
    # thousands of Erlang phases in the wait mixture
    finite, infinite = mmck(1.98, 1.0, 2, 2000), mmc(1.98, 1.0, 2)
    assert finite.mean_sojourn == pytest.approx(infinite.mean_sojourn, rel=1e-6)
    for p in (0.5, 0.95, 0.999):
        assert finite.sojourn_quantile(p) == pytest.approx(infinite.sojourn_quantile(p), rel=1e-6)


def test_mmck_overloaded_deep_buffer_keeps_the_whole_sojourn_distribution() -> None:
    # Arrivals see ~5000 present and wait ~2500 s: the incomplete gamma function of the
    # sojourn tail underflows there, and the hypergeometric form has to take over.
    r = mmck(2.4, 1.0, 2, 5000)
    assert r.sojourn_cdf(2000.0) < 1e-12 and r.sojourn_cdf(3200.0) > 1 - 1e-12
    t = np.linspace(2000.0, 3200.0, 1201)
    mean = 2000.0 + integrate.simpson(1 - r.sojourn_cdf(t), x=t)
    assert mean == pytest.approx(r.mean_sojourn, rel=1e-8)
    assert r.sojourn_cdf(r.sojourn_quantile(0.5)) == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize(("lam", "mu", "c", "k"), [(300, 100, 2, 10), (9, 10, 1, 5), (5, 1, 3, 7)])
def test_mmck_quantiles_invert_cdfs_and_match_the_mean(
    lam: float, mu: float, c: int, k: int
) -> None:
    r = mmck(lam, mu, c, k)
    for p in LEVELS:
        assert r.sojourn_cdf(r.sojourn_quantile(p)) == pytest.approx(p, abs=1e-11)
        q = r.wait_quantile(p)
        assert q == 0.0 or r.wait_cdf(q) == pytest.approx(p, abs=1e-11)
    # E[T] = int_0^inf (1 - F(t)) dt
    mean, _ = integrate.quad(lambda t: 1 - r.sojourn_cdf(t), 0, np.inf, epsabs=1e-12)
    assert mean == pytest.approx(r.mean_sojourn, rel=1e-7)


def test_mmck_sojourn_quantile_matches_monte_carlo() -> None:
    lam, mu, c, k, p, n = 5.0, 1.0, 3, 7, 0.95, 1_000_000
    r = mmck(lam, mu, c, k)
    rng = np.random.default_rng(7)
    seen = r.state_probabilities[:-1] / (1 - r.blocking_probability)
    present = rng.choice(k, size=n, p=seen)
    phases = np.maximum(present - c + 1, 0)
    waits = np.where(phases > 0, rng.gamma(np.maximum(phases, 1), 1 / (c * mu)), 0.0)
    sojourn = waits + rng.exponential(1 / mu, n)
    q = r.sojourn_quantile(p)
    h = 1e-6 * q
    density = (r.sojourn_cdf(q + h) - r.sojourn_cdf(q - h)) / (2 * h)
    assert abs(np.quantile(sojourn, p) - q) < 3 * quantile_se(n, p, density)


def test_mmck_rejects_invalid() -> None:
    with pytest.raises(ValueError, match="capacity"):
        mmck(1, 1, 3, 2)
    with pytest.raises(ValueError):
        mmck(-1, 1, 1, 1)


def test_mmck_no_traffic() -> None:
    r = mmck(0, 4, 2, 5)
    assert r.blocking_probability == 0.0
    assert r.mean_sojourn == pytest.approx(0.25)


# -------------------------------------------------------------------------- M/G/1


def test_mg1_with_exponential_service_equals_mm1() -> None:
    a, b = mg1(90, 0.01, 0.01**2), mm1(90, 100)
    for name in ("utilization", "mean_wait", "mean_sojourn", "mean_queue_length"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-12)


def test_mg1_with_deterministic_service_halves_the_mm1_wait() -> None:
    for lam in (10, 50, 95):
        assert mg1(lam, 0.01, 0.0).mean_wait == pytest.approx(mm1(lam, 100).mean_wait / 2)


def test_mg1_rejects_unstable_and_negative_variance() -> None:
    with pytest.raises(ValueError, match="unstable"):
        mg1(100, 0.01, 0.0)
    with pytest.raises(ValueError):
        mg1(10, 0.01, -1.0)


# ----------------------------------------------------------------------- Jackson


def test_tandem_of_mm1_is_the_sum_of_sojourns() -> None:
    r = tandem(50, [100, 200, 80])
    expected = sum(1 / (mu - 50) for mu in (100, 200, 80))
    assert r.network_mean_sojourn == pytest.approx(expected)
    np.testing.assert_allclose(r.throughput, 50)
    np.testing.assert_allclose(r.mean_sojourn, [1 / 50, 1 / 150, 1 / 30])


def test_tandem_with_servers_uses_mmc_per_node() -> None:
    r = tandem(150, [100, 200], servers=[2, 1])
    expected = mmc(150, 100, 2).mean_sojourn + mm1(150, 200).mean_sojourn
    assert r.network_mean_sojourn == pytest.approx(expected)


def test_jackson_feedback_and_general_routing() -> None:
    # one node with feedback 0.5: lambda = gamma / (1 - 0.5)
    r = jackson([50.0], [[0.5]], [200.0])
    assert r.throughput[0] == pytest.approx(100)
    assert r.visit_ratios[0] == pytest.approx(2)
    assert r.network_mean_sojourn == pytest.approx(2 * mm1(100, 200).mean_sojourn)

    gamma = np.array([10.0, 5.0, 0.0])
    p = np.array([[0.0, 0.5, 0.3], [0.2, 0.0, 0.6], [0.1, 0.0, 0.0]])
    mu = np.array([40.0, 30.0, 15.0])
    c = [1, 2, 1]
    r = jackson(gamma, p, mu, c)
    lam = np.linalg.solve(np.eye(3) - p.T, gamma)
    np.testing.assert_allclose(r.throughput, lam)
    np.testing.assert_allclose(lam, gamma + p.T @ lam)
    for i in range(3):
        node = mmc(lam[i], mu[i], c[i])
        assert r.mean_sojourn[i] == pytest.approx(node.mean_sojourn)
        assert r.mean_in_system[i] == pytest.approx(node.mean_in_system)
    # end to end: visits times per-visit sojourn, summed
    assert r.network_mean_sojourn == pytest.approx(float(r.visit_ratios @ r.mean_sojourn))


@pytest.mark.parametrize(
    ("gamma", "p", "mu", "match"),
    [
        ([1.0], [[1.0]], [5.0], "never leave"),
        ([1.0, 0.0], [[0.0, 0.7], [0.0, 0.0]], [5.0, 0.5], "node 1"),
        ([1.0], [[0.6, 0.6]], [5.0], "routing"),
        ([1.0], [[1.2]], [5.0], "routing"),
        ([0.0], [[0.0]], [5.0], "no external traffic"),
    ],
)
def test_jackson_rejects_invalid_networks(
    gamma: list[float], p: list[list[float]], mu: list[float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        jackson(gamma, p, mu)


# --------------------------------------------------------------------------- MVA


def closed_cyclic_ctmc(
    users: int, think: float, demands: list[float], servers: list[int]
) -> tuple[float, np.ndarray]:
    """Brute-force CTMC of think -> station 0 -> ... -> station K-1 -> think."""
    k = len(demands)
    states = [s for s in itertools.product(range(users + 1), repeat=k) if sum(s) <= users]
    index = {s: i for i, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for s in states:
        i = index[s]
        thinking = users - sum(s)
        if thinking:
            t = (s[0] + 1, *s[1:])
            q[i, index[t]] += thinking / think
        for j in range(k):
            if s[j]:
                t = list(s)
                t[j] -= 1
                if j + 1 < k:
                    t[j + 1] += 1
                q[i, index[tuple(t)]] += min(s[j], servers[j]) / demands[j]
        q[i, i] = -q[i].sum()
    pi = stationary(q)
    arr = np.array(states)
    x = float(pi @ (np.minimum(arr[:, -1], servers[-1]) / demands[-1]))
    return x, pi @ arr


@pytest.mark.parametrize(
    ("users", "think", "demands", "servers"),
    [
        (5, 0.5, [0.2], [2]),
        (6, 1.0, [0.3, 0.5, 0.2], [2, 3, 1]),
        (5, 0.2, [0.1, 0.15], [1, 1]),
        (4, 0.7, [0.4, 0.3], [3, 2]),
        (3, 0.1, [0.2, 0.1], [5, 1]),  # more servers than users: a pure delay
    ],
)
def test_mva_matches_brute_force_ctmc(
    users: int, think: float, demands: list[float], servers: list[int]
) -> None:
    x, queues = closed_cyclic_ctmc(users, think, demands, servers)
    r = mva(users, think, demands, servers)
    assert r.throughput == pytest.approx(x, rel=1e-10)
    np.testing.assert_allclose(r.queue_lengths, queues, rtol=1e-9)
    assert r.response_time == pytest.approx(queues.sum() / x, rel=1e-9)
    np.testing.assert_allclose(r.utilizations, x * np.array(demands) / servers, rtol=1e-12)


def test_mva_with_one_user_is_the_sum_of_demands() -> None:
    for servers in (None, [1, 4, 2]):
        r = mva(1, 2.0, [0.1, 0.2, 0.3], servers)
        assert r.response_time == pytest.approx(0.6)
        assert r.throughput == pytest.approx(1 / 2.6)


@pytest.mark.parametrize("servers", [None, [1, 1, 2]])
def test_mva_throughput_respects_asymptotic_bounds(servers: list[int] | None) -> None:
    demands = np.array([0.05, 0.02, 0.08])
    c = np.ones(3) if servers is None else np.array(servers)
    z = 1.0
    r = mva(200, z, demands, servers)
    n = np.arange(1, 201)
    x = r.throughput_curve
    assert np.all(x <= 1 / np.max(demands / c) + 1e-9)
    assert np.all(x <= n / (z + demands.sum()) + 1e-12)
    assert np.all(np.diff(x) >= -1e-12)  # more users never lower throughput
    # Little on the whole cycle: N = X (Z + R)
    np.testing.assert_allclose(x * (z + r.response_time_curve), n, rtol=1e-12)
    assert r.queue_lengths.sum() + r.throughput * z == pytest.approx(200)


def test_mva_load_dependent_station_is_stable_for_many_servers_and_users() -> None:
    # one 32-server station and think time: a birth-death chain solved in log space
    users, think, demand, c = 400, 1.0, 0.09, 32
    n = np.arange(users + 1)
    up = np.log((users - n[:-1]) / think)
    down = np.log(np.minimum(n[1:], c) / demand)
    logp = np.concatenate(([0.0], np.cumsum(up - down)))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    x = float(p @ (np.minimum(n, c) / demand))
    r = mva(users, think, [demand], [c])
    assert r.throughput == pytest.approx(x, rel=1e-10)
    assert r.queue_lengths[0] == pytest.approx(float(p @ n), rel=1e-10)


def test_mva_rejects_invalid() -> None:
    with pytest.raises(ValueError):
        mva(0, 1.0, [0.1])
    with pytest.raises(ValueError):
        mva(3, 1.0, [-0.1])
    with pytest.raises(ValueError):
        mva(3, 0.0, [0.0])
    with pytest.raises(ValueError, match="servers"):
        mva(3, 1.0, [0.1, 0.2], servers=[1])


# ------------------------------------------------------------------------ E_k/M/1


def test_erlang_m1_with_one_phase_equals_mm1() -> None:
    a, b = erlang_m1(70, 100, 1), mm1(70, 100)
    assert a.sigma == pytest.approx(0.7, rel=1e-12)
    assert a.mean_sojourn == pytest.approx(b.mean_sojourn, rel=1e-12)
    assert a.mean_wait == pytest.approx(b.mean_wait, rel=1e-12)
    assert a.sojourn_quantile(0.99) == pytest.approx(b.sojourn_quantile(0.99), rel=1e-12)


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9, 0.999])
def test_erlang_m1_two_phases_closed_form(rho: float) -> None:
    # sigma = A*(mu(1 - sigma)) for E_2 reduces to sigma^2 - (4 rho + 1) sigma + 4 rho^2 = 0
    sigma = ((4 * rho + 1) - math.sqrt(8 * rho + 1)) / 2
    r = erlang_m1(rho * 100, 100, 2)
    assert r.sigma == pytest.approx(sigma, rel=1e-10)
    assert r.mean_sojourn == pytest.approx(1 / (100 * (1 - sigma)), rel=1e-8)


def test_erlang_m1_many_phases_approaches_dm1() -> None:
    rho, mu = 0.8, 1.0
    sigma = 0.5
    for _ in range(2000):  # D/M/1: sigma = exp(-mu (1 - sigma) / r)
        sigma = math.exp(-(1 - sigma) / rho)
    assert erlang_m1(rho, mu, 20000).sigma == pytest.approx(sigma, rel=1e-4)


def test_erlang_m1_matches_round_robin_simulation() -> None:
    # round robin over 3 servers of a Poisson(lam) stream: every 3rd arrival
    lam, mu, n, jobs = 210.0, 100.0, 3, 600_000
    rng = np.random.default_rng(11)
    gaps = rng.exponential(1 / lam, jobs * n).reshape(jobs, n).sum(axis=1)
    service = rng.exponential(1 / mu, jobs)
    sojourn = (lindley_waits(service, gaps) + service)[10_000:]
    r = erlang_m1(lam / n, mu, n)
    assert abs(sojourn.mean() - r.mean_sojourn) < 4 * batch_se(sojourn)
    # successive sojourns are correlated: compare the empirical CDF at the quantile
    below = (sojourn <= r.sojourn_quantile(0.95)).astype(float)
    assert abs(below.mean() - 0.95) < 4 * batch_se(below)


def test_erlang_m1_quantiles_invert_cdfs() -> None:
    r = erlang_m1(80, 100, 4)
    for p in LEVELS:
        assert r.sojourn_cdf(r.sojourn_quantile(p)) == pytest.approx(p, abs=1e-13)
        q = r.wait_quantile(p)
        assert q == 0.0 or r.wait_cdf(q) == pytest.approx(p, abs=1e-13)


def test_erlang_m1_rejects_unstable() -> None:
    with pytest.raises(ValueError, match="unstable"):
        erlang_m1(100, 100, 3)
    with pytest.raises(ValueError):
        erlang_m1(10, 100, 0)


# ---------------------------------------------------------------------- fork-join


def test_fork_join_two_formula_and_limits() -> None:
    assert fork_join_two(50, 100) == pytest.approx((12 - 0.5) / 8 / 50)
    # no load: max of two Exp(mu) has mean 1.5 / mu
    assert fork_join_two(0, 100) == pytest.approx(1.5 / 100)
    with pytest.raises(ValueError):
        fork_join_two(100, 100)


def test_fork_join_two_matches_simulation() -> None:
    lam, mu, jobs = 50.0, 100.0, 1_000_000
    rng = np.random.default_rng(3)
    gaps = rng.exponential(1 / lam, jobs)
    s1, s2 = rng.exponential(1 / mu, jobs), rng.exponential(1 / mu, jobs)
    response = np.maximum(lindley_waits(s1, gaps) + s1, lindley_waits(s2, gaps) + s2)[1000:]
    assert abs(response.mean() - fork_join_two(lam, mu)) < 4 * batch_se(response)
    # the response quantile lies between the single-queue and independent-max quantiles
    b = fork_join_bounds(lam, mu, 2)
    lo, hi = b.quantile_bounds(0.99)
    assert lo < np.quantile(response, 0.99) < hi


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9])
def test_fork_join_bounds(rho: float) -> None:
    mu = 100.0
    two = fork_join_bounds(rho * mu, mu, 2)
    assert two.lower < fork_join_two(rho * mu, mu) < two.upper
    assert two.nelson_tantawi == pytest.approx(fork_join_two(rho * mu, mu))
    assert two.upper == pytest.approx(1.5 / (mu - rho * mu))
    one = fork_join_bounds(rho * mu, mu, 1)
    assert one.lower == one.upper == one.nelson_tantawi == pytest.approx(1 / (mu - rho * mu))
    eight = fork_join_bounds(rho * mu, mu, 8)
    assert eight.lower < eight.nelson_tantawi < eight.upper


def test_independent_max_quantile() -> None:
    lam, mu = 30.0, 100.0
    theta = mu - lam
    for n in (1, 2, 10):
        for p in LEVELS:
            t = independent_max_quantile(lam, mu, n, p)
            assert (-math.expm1(-theta * t)) ** n == pytest.approx(p, rel=1e-12)
    assert independent_max_quantile(lam, mu, 1, 0.9) == pytest.approx(
        mm1(lam, mu).sojourn_quantile(0.9)
    )
    # Monte Carlo maximum of 5 exponentials
    rng = np.random.default_rng(5)
    draws = rng.exponential(1 / theta, (200_000, 5)).max(axis=1)
    q = independent_max_quantile(lam, mu, 5, 0.9)
    density = 5 * (0.9 ** (4 / 5)) * theta * math.exp(-theta * q)
    assert abs(np.quantile(draws, 0.9) - q) < 3 * quantile_se(len(draws), 0.9, density)


# ------------------------------------------------------------------- power of d


def power_of_d_brute_force(lam: float, mu: float, n: int, d: int, m: int) -> float:
    """Mean number in system of power-of-d on unsorted queue vectors, truncated at m."""
    states = list(itertools.product(range(m + 1), repeat=n))
    index = {s: i for i, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    subsets = list(itertools.combinations(range(n), d))
    for s in states:
        i = index[s]
        for sample in subsets:
            shortest = min(s[j] for j in sample)
            ties = [j for j in sample if s[j] == shortest]
            for j in ties:
                if s[j] < m:
                    t = list(s)
                    t[j] += 1
                    q[i, index[tuple(t)]] += lam / len(subsets) / len(ties)
        for j in range(n):
            if s[j]:
                t = list(s)
                t[j] -= 1
                q[i, index[tuple(t)]] += mu
        q[i, i] = -q[i].sum()
    pi = stationary(q)
    return float(pi @ np.array(states).sum(axis=1))


@pytest.mark.filterwarnings("ignore:power_of_two")
@pytest.mark.parametrize("d", [1, 2, 3])
def test_power_of_d_matches_unsorted_brute_force(d: int) -> None:
    lam, mu, n, m = 2.1, 1.0, 3, 6
    r = power_of_two(lam, mu, n, d=d, max_queue=m)
    assert r.mean_in_system == pytest.approx(power_of_d_brute_force(lam, mu, n, d, m), rel=1e-9)


def test_power_of_two_reference_value() -> None:
    # 4 servers, 5 ms mean service, 75 % load
    r = power_of_two(600, 200, 4)
    assert r.mean_sojourn == pytest.approx(0.01009, abs=0.05e-3)
    assert r.truncation_probability < 1e-7
    # a deeper truncation changes nothing that matters
    deeper = power_of_two(600, 200, 4, max_queue=r.max_queue + 10)
    assert abs(deeper.mean_sojourn / r.mean_sojourn - 1) < 1e-4
    # Little's law against the distribution of the queue joined (PASTA)
    k = np.arange(r.joined_queue_pmf.size)
    assert float(r.joined_queue_pmf @ (k + 1)) / 200 == pytest.approx(r.mean_sojourn, rel=1e-9)
    assert r.mean_wait == pytest.approx(r.mean_sojourn - 1 / 200)
    assert r.utilization == pytest.approx(0.75, rel=1e-6)


def test_power_of_one_is_mm1_and_full_sampling_beats_two() -> None:
    one = power_of_two(2.1, 1.0, 3, d=1, max_queue=60)
    single = mm1(0.7, 1.0)
    assert one.mean_sojourn == pytest.approx(single.mean_sojourn, rel=1e-5)
    assert one.sojourn_quantile(0.99) == pytest.approx(single.sojourn_quantile(0.99), rel=1e-5)
    two = power_of_two(600, 200, 4, d=2)
    four = power_of_two(600, 200, 4, d=4)
    assert four.mean_sojourn < two.mean_sojourn < mm1(150, 200).mean_sojourn


def test_power_of_two_quantiles_invert_cdfs() -> None:
    r = power_of_two(600, 200, 4)
    for p in LEVELS:
        assert r.sojourn_cdf(r.sojourn_quantile(p)) == pytest.approx(p, abs=1e-11)
        q = r.wait_quantile(p)
        assert q == 0.0 or r.wait_cdf(q) == pytest.approx(p, abs=1e-11)
    mean, _ = integrate.quad(lambda t: 1 - r.sojourn_cdf(t), 0, np.inf, epsabs=1e-13)
    assert mean == pytest.approx(r.mean_sojourn, rel=1e-7)


def test_power_of_two_rejects_invalid() -> None:
    with pytest.raises(ValueError, match="unstable"):
        power_of_two(800, 200, 4)
    with pytest.raises(ValueError, match="d:"):
        power_of_two(100, 200, 2, d=3)
    with pytest.raises(ValueError):
        power_of_two(100, 200, 2, max_queue=0)


def test_power_of_two_warns_when_truncation_is_visible() -> None:
    with pytest.warns(RuntimeWarning, match="max_queue"):
        power_of_two(600, 200, 4, max_queue=5)

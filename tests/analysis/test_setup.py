"""M/G/1 with a set-up time: the closed form against its special cases and Welch's form."""

from __future__ import annotations

import math

import pytest

from simperf.analysis import mg1, mg1_setup


def test_no_setup_is_the_pollaczek_khinchine_queue() -> None:
    plain = mg1(70, 0.01, 0.5e-4)
    setup = mg1_setup(70, 0.01, 0.5e-4, 0.0)
    assert setup.mean_sojourn == pytest.approx(plain.mean_sojourn, rel=1e-12)
    assert setup.idle == pytest.approx(1 - 0.7, rel=1e-12)


@pytest.mark.parametrize("lam", [5.0, 50.0, 95.0])
def test_agrees_with_welchs_exceptional_first_service(lam: float) -> None:
    # Welch (1964): first service X0 = U + S of each busy period, the others S
    es, var, eu, var_u = 0.01, 2e-4, 0.004, 1e-6
    es2, eu2 = var + es * es, var_u + eu * eu
    ex0, ex0_2 = eu + es, eu2 + 2 * eu * es + es2
    rho = lam * es
    p0 = (1 - rho) / (1 - rho + lam * ex0)
    queue = lam * es2 / (2 * (1 - rho)) + lam * (ex0_2 - es2) / (2 * (1 - rho + lam * ex0))
    r = mg1_setup(lam, es, var, eu, var_u)
    assert r.idle == pytest.approx(p0, rel=1e-12)
    assert r.mean_sojourn == pytest.approx(queue + es + p0 * eu, rel=1e-12)
    assert r.mean_held == pytest.approx(es + p0 * eu, rel=1e-12)
    # the server is held by the requests' held times: lambda E[held] = 1 - p0
    assert r.utilization == pytest.approx(lam * r.mean_held, rel=1e-12)


@pytest.mark.parametrize("lam", [5.0, 80.0])
def test_a_setup_after_an_idle_time_is_one_paid_with_its_probability(lam: float) -> None:
    # an idle period is exponential (rate lam): the wake-up is paid with probability
    # exp(-lam after), a set-up U' = U B with B Bernoulli independent of the rest
    eu, var_u, after = 0.004, 1e-6, 0.003
    pays = math.exp(-lam * after)
    mixed = mg1_setup(lam, 0.01, 2e-4, pays * eu, pays * (var_u + eu * eu) - (pays * eu) ** 2)
    r = mg1_setup(lam, 0.01, 2e-4, eu, var_u, after=after)
    assert r.mean_sojourn == pytest.approx(mixed.mean_sojourn, rel=1e-12)
    assert r.idle == pytest.approx(mixed.idle, rel=1e-12)


def test_a_setup_does_not_make_a_stable_queue_unstable() -> None:
    assert mg1_setup(99, 0.01, 0.0, 1.0).idle > 0
    with pytest.raises(ValueError, match="unstable"):
        mg1_setup(100, 0.01, 0.0, 0.001)
    with pytest.raises(ValueError, match="mean_setup: must be >= 0"):
        mg1_setup(10, 0.01, 0.0, -1.0)

"""The closed forms of sessions found, re-authenticated and created."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simperf.analysis.sessions import session_shares


def test_one_client_steady_state_by_hand() -> None:
    # rate 0.5/s over 4 instances, idle 8 s: the instance's last visit within 8 s with
    # probability 1 - exp(-1), the client's with 1 - exp(-4)
    s = session_shares([1.0], 0.5, 4, 8.0, 0.0, None)
    assert s.found == pytest.approx(1 - math.exp(-1))
    assert s.created == pytest.approx(math.exp(-4))
    assert s.reauthenticated == pytest.approx(math.exp(-1) - math.exp(-4))


def test_sticky_or_shared_never_reauthenticates() -> None:
    s = session_shares(np.arange(1, 101) ** -0.7, 50.0, 1, 30.0, 5.0, 60.0)
    assert s.reauthenticated == pytest.approx(0.0, abs=1e-15)
    assert s.found + s.created == pytest.approx(1.0)


def test_the_measured_period_averages_the_empty_start() -> None:
    # before the idle timeout u = t: the mean of exp(-c t) over [0, 10] is (1 - e^-10c)/10c
    c, n = 0.3, 3
    s = session_shares([1.0], c, n, 100.0, 0.0, 10.0)
    mean = lambda rate: (1 - math.exp(-10 * rate)) / (10 * rate)  # noqa: E731
    assert s.created == pytest.approx(mean(c))
    assert s.reauthenticated == pytest.approx(mean(c / n) - mean(c))
    # past the idle timeout the steady state takes over
    late = session_shares([1.0], c, n, 1.0, 50.0, 60.0)
    steady = session_shares([1.0], c, n, 1.0, 0.0, None)
    assert late == pytest.approx(steady)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="instances"):
        session_shares([1.0], 1.0, 0, 1.0, 0.0, None)
    with pytest.raises(ValueError, match="end"):
        session_shares([1.0], 1.0, 2, 1.0, 5.0, 5.0)

"""Sessions found, re-authenticated and created: closed forms for Poisson clients.

A client address ``a`` sends a Poisson stream of rate ``lambda_a`` to a server of ``n``
instances. With sessions kept in each instance's memory behind a balancer that is not
sticky, each request picks an instance at random, so the client's visits to one
instance are Poisson of rate ``lambda_a / n``; with a sticky balancer, one instance or a
shared store, ``n`` is 1. A session ends ``idle`` seconds after its last use, and the
run starts with none. A request at time ``t`` (``u = min(t, idle)``):

* finds its session if the client's previous visit to that instance came within ``u``:
  ``1 - exp(-lambda_a u / n)``;
* creates one if the client sent nothing at all within ``u``: ``exp(-lambda_a u)``;
* re-authenticates otherwise (the client holds a live session elsewhere):
  ``exp(-lambda_a u / n) - exp(-lambda_a u)``.

Averaged over the measured period ``[start, end]`` (requests arrive evenly in time) and
over clients by their share of requests. After ``idle`` the shares are the steady
state's; before it, the run's empty start still shows, which is the case of a run
shorter than the idle timeout. Same-client requests in progress at once (a
re-authentication's own time) are not followed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from simperf.checks import positive


class SessionShares(NamedTuple):
    """Shares of requests (summing to 1) by what their session lookup found."""

    found: float
    reauthenticated: float
    created: float


def session_shares(
    p: ArrayLike,
    rate: float,
    instances: int,
    idle: float,
    start: float,
    end: float | None,
) -> SessionShares:
    """Request-weighted shares of sessions found, re-authenticated and created.

    Parameters
    ----------
    p
        Each client's share of the requests (normalised here).
    rate
        Requests per second that use sessions, all clients together.
    instances
        Instances a client's requests spread over at random (1: sticky or shared).
    idle
        The sessions' idle timeout (seconds).
    start, end
        The measured period, in seconds from the run's start (empty of sessions);
        ``end`` None: the steady state (as if the run were infinitely long).

    Returns
    -------
    SessionShares

    Examples
    --------
    >>> s = session_shares([1.0], rate=1.0, instances=2, idle=10.0, start=0.0, end=None)
    >>> round(s.found, 4), round(s.reauthenticated, 4), round(s.created, 6)
    (0.9933, 0.0067, 4.5e-05)
    """
    positive("rate", rate)
    positive("idle", idle)
    if instances < 1:
        raise ValueError("instances: must be >= 1")
    shares = np.asarray(p, dtype=float)
    shares = shares / shares.sum()
    client = rate * shares
    missed = float(shares @ _mean_exp(client / instances, idle, start, end))
    created = float(shares @ _mean_exp(client, idle, start, end))
    return SessionShares(1.0 - missed, missed - created, created)


def _mean_exp(c: np.ndarray, idle: float, start: float, end: float | None) -> np.ndarray:
    """Mean over ``t`` in ``[start, end]`` of ``exp(-c min(t, idle))``, per rate ``c``."""
    steady = np.exp(-c * idle)
    if end is None:
        return steady
    if end <= start:
        raise ValueError("end: must be after start")
    total = steady * max(end - max(start, idle), 0.0)
    a, b = min(start, idle), min(end, idle)
    if b > a:  # the part before the idle timeout: (exp(-c a) - exp(-c b)) / c
        safe = np.where(c > 0, c, 1.0)
        total = total + np.where(c > 0, np.exp(-c * a) * -np.expm1(-c * (b - a)) / safe, b - a)
    return total / (end - start)


__all__ = ["SessionShares", "session_shares"]

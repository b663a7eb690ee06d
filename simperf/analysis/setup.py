"""M/G/1 with a set-up (wake-up) time paid by the request that finds the server idle.

The model of an app server's ``wake_up``: a Poisson stream into one FIFO server whose
service is ``S``, except for a request arriving at an empty system, which first holds
the server for an independent set-up time ``U`` (``U + S`` in all: Welch's *exceptional
first service* of each busy period).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simperf.analysis._common import _littles_law, _stable
from simperf.checks import nonnegative, positive


@dataclass(frozen=True)
class SetupResult:
    """Mean-value results of an M/G/1 queue with set-up times.

    Attributes
    ----------
    arrival_rate, mean_service, service_variance, mean_setup, setup_variance
        The inputs.
    utilization
        Fraction of time the server is held (set-up included):
        ``(rho + lambda E[U]) / (1 + lambda E[U])``.
    idle
        Probability that an arrival finds the server idle (PASTA):
        ``(1 - rho) / (1 + lambda E[U])``.
    mean_held
        Mean time a request holds the server: ``E[S] + idle E[U]`` (``E[U]`` is what an
        idle arrival pays on average, see ``after``).
    mean_wait
        Mean time from arrival to the start of service proper (set-up included).
    mean_sojourn, mean_queue_length, mean_in_system, throughput
        As in :class:`~simperf.analysis.queueing.MG1Result`.
    """

    arrival_rate: float
    mean_service: float
    service_variance: float
    mean_setup: float
    setup_variance: float
    utilization: float
    idle: float
    mean_held: float
    mean_wait: float
    mean_sojourn: float
    mean_queue_length: float
    mean_in_system: float
    throughput: float


def mg1_setup(
    arrival_rate: float,
    mean_service: float,
    service_variance: float,
    mean_setup: float,
    setup_variance: float = 0.0,
    after: float = 0.0,
) -> SetupResult:
    """The M/G/1 FIFO queue whose idle server needs a set-up time ``U`` to start.

    Welch's exceptional-first-service queue with first service ``U + S``; its mean wait
    reduces to the Pollaczek-Khinchine wait plus a set-up term::

        W = lambda E[S^2] / (2 (1 - rho)) + (2 E[U] + lambda E[U^2]) / (2 (1 + lambda E[U]))

    with ``rho = lambda E[S]`` (stable for ``rho < 1`` whatever ``U``), and the sojourn
    ``W + E[S]``. The set-up does not change the stability condition: it is paid once per
    busy period.

    Parameters
    ----------
    arrival_rate
        Poisson rate ``lambda`` (>= 0), per second.
    mean_service, service_variance
        ``E[S]`` (> 0, seconds) and ``Var[S]`` (>= 0, seconds squared).
    mean_setup, setup_variance
        ``E[U]`` and ``Var[U]`` (>= 0); 0 and 0 give the M/G/1 queue.
    after
        Only a server idle for at least this long (seconds, >= 0) needs the set-up. An
        idle period is exponential with rate ``lambda``, so the busy period's first
        request pays ``U`` with probability ``exp(-lambda after)``, independently of
        the rest: the same formulas with ``E[U]`` and ``E[U^2]`` times that.

    Returns
    -------
    SetupResult

    Raises
    ------
    ValueError
        If ``rho >= 1`` or a parameter is invalid.

    References
    ----------
    P. D. Welch, "On a generalized M/G/1 queuing process in which the first customer of
    each busy period receives exceptional service", Operations Research 12(5), 736-752,
    1964. The set-up form: H. Takagi, *Queueing Analysis*, vol. 1, section 2.3 (1991).

    Examples
    --------
    >>> r = mg1_setup(50, 0.01, 0.0001, 0.005)  # M/M/1 at 0.5, a 5 ms wake-up
    >>> round(r.idle, 3), round(r.mean_sojourn, 4)
    (0.4, 0.0245)
    """
    lam = nonnegative("arrival_rate", arrival_rate)
    es = positive("mean_service", mean_service)
    var = nonnegative("service_variance", service_variance)
    eu = nonnegative("mean_setup", mean_setup)
    var_u = nonnegative("setup_variance", setup_variance)
    pays = math.exp(-lam * nonnegative("after", after))
    rho = lam * es
    _stable(rho, "the M/G/1 queue with set-up times")
    eu_paid, eu2_paid = pays * eu, pays * (var_u + eu * eu)  # E[U'] and E[U'^2]
    setups = 1.0 + lam * eu_paid
    idle = (1.0 - rho) / setups
    pk = lam * (var + es * es) / (2.0 * (1.0 - rho))
    wait = pk + (2.0 * eu_paid + lam * eu2_paid) / (2.0 * setups)
    return SetupResult(
        arrival_rate=lam,
        mean_service=es,
        service_variance=var,
        mean_setup=eu,
        setup_variance=var_u,
        utilization=1.0 - idle,
        idle=idle,
        mean_held=es + idle * eu_paid,
        **_littles_law(lam, wait, wait + es),
    )

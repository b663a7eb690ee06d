"""Spill-over between groups of servers: each group a loss system (Erlang B) whose
overflow goes on to the next group in the caller's order (alternate routing)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from simperf.analysis.queueing import erlang_b


def spill_over(
    rates: Sequence[float],
    orders: Sequence[Sequence[int]],
    times: Sequence[Sequence[float]],
    capacities: Sequence[float],
    iterations: int = 200,
) -> list[list[float]]:
    """Share of each source's requests that each group serves, under spill-over.

    Source ``r`` sends its Poisson requests to group ``orders[r][0]``; a group admits a
    request while fewer than ``capacities[g]`` are in progress there, else the request
    tries the next group in ``orders[r]``; when every group is full the first takes it.
    A group is taken as an Erlang loss system with ``ceil(capacity)`` servers offered the
    Erlangs of every stream that tries it (rate times ``times[r][g]``, the time a
    request of source ``r`` stays in progress at ``g``): Erlang B is insensitive to the
    holding-time distribution and the same for every stream. Overflow streams are
    taken as Poisson (they are peakier, so a second group's blocking is somewhat
    underestimated); the groups' blockings are solved together by fixed-point
    iteration.

    Parameters
    ----------
    rates
        Requests per second from each source (>= 0).
    orders
        For each source, the groups in the order it tries them.
    times
        ``times[r][g]``: mean time in progress at group ``g`` of a request from ``r``.
    capacities
        Requests in progress at which each group counts as full.
    iterations
        Most fixed-point rounds.

    Returns
    -------
    list of list of float
        ``share[r][g]``: the fraction of source ``r``'s requests served by group ``g``
        (each row sums to 1).

    Examples
    --------
    One source, one group of two slots, 1 Erlang offered: Erlang B(2, 1) = 0.2 spills.

    >>> [[round(s, 6) for s in row] for row in spill_over([1.0], [[0, 1]], [[1.0, 1.0]], [2, 99])]
    [[0.8, 0.2]]
    """
    return spill_over_full(rates, orders, times, capacities, iterations)[0]


def spill_over_full(
    rates: Sequence[float],
    orders: Sequence[Sequence[int]],
    times: Sequence[Sequence[float]],
    capacities: Sequence[float],
    iterations: int = 200,
) -> tuple[list[list[float]], list[float]]:
    """:func:`spill_over`'s shares, and for each source the fraction of its requests that
    found every group full (the first group takes them over its limit).

    Examples
    --------
    One group of two slots at 1 Erlang, no other: Erlang B(2, 1) = 0.2 find it full.

    >>> spill_over_full([1.0], [[0]], [[1.0]], [2])
    ([[1.0]], [0.2])
    """
    groups = len(capacities)
    blocking = [0.0] * groups
    share = [[0.0] * groups for _ in rates]
    for _ in range(iterations):
        offered = [0.0] * groups
        for r, rate in enumerate(rates):
            reaching = 1.0  # fraction of source r's requests that try this group
            for g in orders[r]:
                offered[g] += rate * reaching * times[r][g]
                reaching *= blocking[g]
        new = [
            erlang_b(math.ceil(c), a) if math.ceil(c) >= 1 else 1.0
            for c, a in zip(capacities, offered, strict=True)
        ]
        if max(abs(a - b) for a, b in zip(new, blocking, strict=True)) < 1e-12:
            blocking = new
            break
        blocking = new
    full = [0.0] * len(rates)
    for r in range(len(rates)):
        reaching = 1.0
        for g in orders[r]:
            share[r][g] += reaching * (1.0 - blocking[g])
            reaching *= blocking[g]
        share[r][orders[r][0]] += reaching  # every group full: the nearest takes it
        full[r] = reaching
    return share, full

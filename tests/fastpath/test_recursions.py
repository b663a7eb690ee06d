"""The vectorised recursions against the plain sequential ones, to the last bit."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from simperf.fastpath.recursions import fifo_starts


def sequential_starts(arrivals: np.ndarray, services: np.ndarray, servers: int) -> list[float]:
    """One request at a time: it takes the server that frees first (FIFO)."""
    free = [-np.inf] * servers
    starts = []
    for arrival, service in zip(arrivals.tolist(), services.tolist(), strict=True):
        start = max(arrival, free[0])
        starts.append(start)
        heapq.heapreplace(free, start + service)
    return starts


@pytest.mark.parametrize("servers", [1, 2, 3, 5])
@pytest.mark.parametrize("count", [1, 2, 7, 64, 1000, 20_000])
def test_starts_match_the_sequential_recursion(servers: int, count: int) -> None:
    rng = np.random.default_rng(count * 10 + servers)
    # utilisation 0.95: long busy periods, blocks that start busy
    arrivals = np.cumsum(rng.exponential(0.01 / (0.95 * servers), count))
    services = rng.exponential(0.01, count)
    starts = fifo_starts(arrivals, services, servers)
    expected = sequential_starts(arrivals, services, servers)
    if servers == 1:  # the closed form rounds differently from the loop
        np.testing.assert_allclose(starts, expected, rtol=0, atol=1e-12)
    else:
        assert starts.tolist() == expected


def test_idle_servers_and_equal_times() -> None:
    arrivals = np.array([0.0, 0.0, 0.0, 5.0, 5.0, 5.0, 5.0])
    services = np.array([1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 0.0])
    assert fifo_starts(arrivals, services, 2).tolist() == [0.0, 0.0, 1.0, 5.0, 5.0, 6.0, 6.0]
    assert fifo_starts(np.empty(0), np.empty(0), 3).size == 0

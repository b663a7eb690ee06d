"""Expiring tables: a sweep drops only what no reader at or after it can see."""

from __future__ import annotations

import numpy as np

from simperf.components.expiring import FLOOR, Expiring


def test_a_sweep_changes_no_lookup_from_then_on() -> None:
    rng = np.random.default_rng(1)
    times, plain = Expiring(0.25), {}
    table = times.table  # as readers hold it
    now = 0.0
    for _ in range(20_000):
        now += float(rng.exponential(0.001))
        key = int(rng.integers(0, 5_000))
        plain[key] = value = now + float(rng.exponential(0.1))
        times.put(key, value, now)
        probe = int(rng.integers(0, 5_000))
        # the readers' test: a time still ahead of now
        assert (now < table.get(probe, -1.0) + 0.25) == (now < plain.get(probe, -1.0) + 0.25)
    assert len(plain) > 4 * FLOOR  # the plain table kept what the swept one dropped
    assert len(table) <= times.bound <= max(FLOOR, 2 * len(table))

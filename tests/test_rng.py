"""Batched draws hand out a stream's values in order, drawing each batch only when due."""

from __future__ import annotations

import numpy as np

from simperf.arrivals.homogeneous import deterministic_times, poisson_batches, poisson_times
from simperf.rng import batched, constant


def test_batched_draws_each_batch_when_the_last_is_used_up() -> None:
    # two samplers on one generator: the order of their batches is the order of calls
    # that found a batch used up, so the values depend on when each batch is drawn
    rng = np.random.default_rng(7)
    drawn: list[int] = []

    def draw(n: int) -> np.ndarray:
        drawn.append(n)
        return rng.random(n)

    a, b = batched(draw, batch=3), batched(draw, batch=2)
    assert drawn == []  # nothing drawn before the first call
    got = [a(), b(), a(), a(), b(), b(), a()]
    assert drawn == [3, 2, 2, 3]
    ref = np.random.default_rng(7).random(10).tolist()
    assert got == [ref[0], ref[3], ref[1], ref[2], ref[4], ref[5], ref[7]]
    assert all(type(v) is float for v in got)


def test_constant_returns_its_value_every_call() -> None:
    value = 0.25
    draw = constant(value)
    assert [draw() for _ in range(3)] == [value] * 3 and draw() is value


def test_homogeneous_times_are_their_batches_in_order() -> None:
    times = poisson_times(50.0, np.random.default_rng(3), batch=4)
    batches = poisson_batches(50.0, np.random.default_rng(3), 4)
    expected = np.concatenate([next(batches) for _ in range(3)]).tolist()
    assert [next(times) for _ in range(12)] == expected
    evenly = deterministic_times(4.0, batch=3)
    assert [next(evenly) for _ in range(7)] == [k / 4.0 for k in range(1, 8)]

"""Exact percentiles: numpy.percentile's result to the last bit, bracketed or not."""

from __future__ import annotations

import numpy as np
import pytest

from simperf.metrics import percentiles as module
from simperf.metrics.percentiles import order_statistics, percentiles

QS = (
    [50, 90, 95, 99, 99.9],
    [50.0, 95.0, 99.0],
    [0, 100],
    [97.31234, 12.5, 12.5],
    list(range(0, 101, 10)),  # brackets that merge into one of everything
)


def samples(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n)
    stride = max(n // module.SAMPLE, 1)
    return {
        "exponential": rng.exponential(1.0, n),
        "ties": np.round(rng.exponential(1.0, n), 2),
        "sorted": np.sort(rng.random(n)),
        "reversed": np.sort(rng.random(n))[::-1].copy(),
        "constant": np.full(n, 0.25),
        "zeros and waits": np.where(rng.random(n) < 0.3, 0.0, rng.exponential(1.0, n)),
        # values the strided sample does not see: brackets miss, the fallback answers
        "striped": np.where(np.arange(n) % stride == 0, 0.0, 1.0 + rng.random(n)),
    }


@pytest.mark.parametrize("n", [1, 2, 3, 17, 1000, module.LARGE, 300_001])
def test_bit_for_bit_numpy(n: int) -> None:
    for name, values in samples(n).items():
        before = values.copy()
        for q in QS:
            expected = np.percentile(values, q)
            got = percentiles(values, q)
            assert got.dtype == expected.dtype
            assert np.array_equal(got.view(np.int64), expected.view(np.int64)), (name, q)
        assert np.array_equal(values, before), name  # not modified


def test_order_statistics_large() -> None:
    values = np.random.default_rng(3).lognormal(0.0, 2.0, 200_000)
    ranks = np.array([0, 5, 99_999, 100_000, 199_000, 199_999])
    assert np.array_equal(order_statistics(values, ranks), np.sort(values)[ranks])


def test_what_numpy_refuses_or_propagates() -> None:
    values = np.random.default_rng(4).random(module.LARGE)
    with pytest.raises(ValueError):
        percentiles(values, [101])
    values[7] = np.nan
    assert np.isnan(percentiles(values, [50])).all()
    ints = np.arange(10)
    assert np.array_equal(percentiles(ints, [50, 90]), np.percentile(ints, [50, 90]))

"""Streaming percentiles: within the stated relative error of exact ones, merges exact."""

from __future__ import annotations

import numpy as np
import pytest

from simperf.metrics.quantiles import LogBuckets, StreamingQuantiles, weighted_percentiles

PERCENTILES = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]


def _samples() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(18)
    n = 100_000
    return {
        "exponential": rng.exponential(0.1, n),
        # heavy tail: sigma 2 spans about eight decades
        "lognormal": rng.lognormal(np.log(0.01), 2.0, n),
        # two modes three decades apart (cache hits and misses)
        "bimodal": np.where(
            rng.random(n) < 0.8, rng.normal(0.0005, 0.00005, n), rng.normal(0.5, 0.05, n)
        ).clip(1e-6),
    }


@pytest.mark.parametrize("name", ["exponential", "lognormal", "bimodal"])
@pytest.mark.parametrize("error", [0.01, 0.001])
def test_percentiles_within_the_stated_relative_error(name: str, error: float) -> None:
    values = _samples()[name]
    sketch = StreamingQuantiles(LogBuckets(error))
    for chunk in np.array_split(values, 7):
        sketch.add(chunk)
    exact = np.percentile(values, PERCENTILES)
    approx = sketch.percentiles(PERCENTILES)
    assert sketch.count == values.size
    relative = np.abs(approx - exact) / exact
    assert relative.max() <= error * (1 + 1e-9)
    # and the error is used: a bucket ten times narrower would be needlessly exact
    assert relative.max() > error / 10


def test_merging_histograms_is_exact() -> None:
    values = _samples()["lognormal"]
    whole, first, second = StreamingQuantiles(), StreamingQuantiles(), StreamingQuantiles()
    whole.add(values)
    first.add(values[:30_000])
    second.add(values[30_000:])
    first.merge(second)
    assert np.array_equal(first.counts, whole.counts)
    assert np.array_equal(first.percentiles(PERCENTILES), whole.percentiles(PERCENTILES))
    with pytest.raises(ValueError, match="different buckets"):
        first.merge(StreamingQuantiles(LogBuckets(0.05)))


def test_unit_weights_give_numpy_percentiles() -> None:
    values = _samples()["exponential"][:1001]
    got = weighted_percentiles(values, np.ones(values.size, dtype=int), PERCENTILES)
    assert np.allclose(got, np.percentile(values, PERCENTILES), rtol=1e-12, atol=0)
    repeated = weighted_percentiles(np.array([3.0, 1.0, 2.0]), np.array([2, 1, 3]), [0, 50, 100])
    assert np.allclose(repeated, np.percentile([1.0, 2, 2, 2, 3, 3], [0, 50, 100]))
    assert np.isnan(weighted_percentiles(np.empty(0), np.empty(0, int), [50])).all()


def test_values_below_the_smallest_count_as_zero_and_above_the_largest_as_it() -> None:
    buckets = LogBuckets(0.01, smallest=1e-6, largest=10.0)
    index = buckets.index(np.array([0.0, 5e-7, 1e-6, 10.0, 1e6]))
    assert index[0] == index[1] == 0 and index[2] == 1
    assert index[3] == index[4] == buckets.size - 1
    assert buckets.value(index)[0] == 0.0
    assert buckets.value(index)[3] == pytest.approx(10.0, rel=0.01)
    with pytest.raises(ValueError, match="relative_error"):
        LogBuckets(0.0)

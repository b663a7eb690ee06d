"""Key samplers: exact popularity, hot sets, trace replay and reproducibility."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from simperf.errors import BuildError
from simperf.keys import key_sampler, popularity_probabilities, trace_times
from simperf.spec.keyspace import KeyspaceSpec

P_MIN = 1e-4  # chi-square p-value below which a sampler is wrong (seeds are fixed)


def _spec(keys: int, popularity: Any) -> KeyspaceSpec:
    return KeyspaceSpec.model_validate({"keys": keys, "popularity": popularity})


def _draw(sampler: Callable[[], int], n: int) -> np.ndarray:
    return np.fromiter((sampler() for _ in range(n)), dtype=np.int64, count=n)


def _edges(keys: int, head: int = 30) -> np.ndarray:
    """Bin edges over keys: the first ``head`` keys one by one, then log-spaced."""
    tail = np.unique(np.geomspace(head, keys, 25).astype(np.int64))
    return np.unique(np.concatenate([np.arange(head + 1), tail, [keys]]))


def _chi_square(sample: np.ndarray, edges: np.ndarray, below: Callable[[int], float]) -> float:
    """p-value of the sample's counts in ``[edges[j], edges[j+1])`` against ``below(k)``,
    the probability that a key is < k."""
    observed = np.histogram(sample, bins=edges)[0].astype(float)
    expected = np.diff([below(int(k)) for k in edges]) * sample.size
    assert observed[expected == 0].sum() == 0, "keys drawn where the probability is zero"
    # Merge bins from the tail until each expects at least 5 draws (chi-square validity).
    obs, exp = [0.0], [0.0]
    for o, e in zip(observed[::-1], expected[::-1], strict=True):
        if exp[-1] >= 5:
            obs.append(0.0)
            exp.append(0.0)
        obs[-1] += o
        exp[-1] += e
    if exp[-1] < 5 and len(exp) > 1:
        obs[-2] += obs.pop()
        exp[-2] += exp.pop()
    exp_arr = np.array(exp) * sample.size / sum(exp)  # absorb float round-off
    return float(stats.chisquare(obs, exp_arr).pvalue)


def _zipf_partial_sum(k: int, alpha: float) -> float:
    """``sum_{i=1..k} i^-alpha``: exact up to 10^6 terms, Euler-Maclaurin beyond."""
    m = 1_000_000
    if k <= m:
        return float((np.arange(1, k + 1, dtype=np.float64) ** -alpha).sum())
    exact = float((np.arange(1, m, dtype=np.float64) ** -alpha).sum())
    if alpha == 1.0:
        integral = math.log(k / m)
    else:
        integral = (k ** (1 - alpha) - m ** (1 - alpha)) / (1 - alpha)
    ends = (k**-alpha + m**-alpha) / 2
    slopes = (-alpha * k ** (-alpha - 1) + alpha * m ** (-alpha - 1)) / 12
    return exact + integral + ends + slopes


# -- zipf ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["cdf", "rejection"])
@pytest.mark.parametrize("alpha", [0.5, 0.8, 1.0, 1.5, 3.0])
def test_zipf_matches_probabilities(method: str, alpha: float) -> None:
    keys = 100_000
    spec = _spec(keys, {"zipf": alpha})
    p = popularity_probabilities(spec)
    sample = _draw(key_sampler(spec, np.random.default_rng(1), zipf_method=method), 300_000)
    cumulative = np.concatenate([[0.0], np.cumsum(p)])
    assert _chi_square(sample, _edges(keys), lambda k: cumulative[k]) > P_MIN
    # Per-rank binomial bounds on the most popular keys.
    counts = np.bincount(sample, minlength=keys)
    for rank in range(10):
        mean = sample.size * p[rank]
        assert abs(counts[rank] - mean) <= 5 * math.sqrt(mean * (1 - p[rank]))


@pytest.mark.parametrize(
    ("keys", "alpha"), [(1_000_000_000, 0.8), (100_000_000, 0.5), (30_000_000, 1.0), (10**9, 2)]
)
def test_zipf_exact_over_huge_key_spaces(keys: int, alpha: float) -> None:
    # Beyond the CDF's reach: rejection-inversion, checked against partial zeta sums.
    spec = _spec(keys, {"zipf": alpha})
    sample = _draw(key_sampler(spec, np.random.default_rng(2)), 300_000)
    assert sample.min() >= 0 and sample.max() < keys
    total = _zipf_partial_sum(keys, alpha)
    p_value = _chi_square(sample, _edges(keys), lambda k: _zipf_partial_sum(k, alpha) / total)
    assert p_value > P_MIN


def test_zipf_small_key_spaces() -> None:
    for keys in (1, 2, 3):
        for method in ("cdf", "rejection"):
            spec = _spec(keys, {"zipf": 1.0})
            sample = _draw(key_sampler(spec, np.random.default_rng(3), zipf_method=method), 30_000)
            assert set(sample.tolist()) == set(range(keys))
            p = popularity_probabilities(spec)
            cumulative = np.concatenate([[0.0], np.cumsum(p)])
            if keys > 1:
                edges = np.arange(keys + 1)
                assert _chi_square(sample, edges, cumulative.__getitem__) > P_MIN


def test_popularity_probabilities_zipf() -> None:
    p = popularity_probabilities(_spec(1000, {"zipf": 0.9}))
    assert p.shape == (1000,) and math.isclose(p.sum(), 1.0)
    assert (np.diff(p) < 0).all()
    assert math.isclose(p[0] / p[9], 10**0.9)
    with pytest.raises(ValueError, match="max_keys"):
        popularity_probabilities(_spec(10**9, {"zipf": 0.9}))


# -- uniform and hotset ----------------------------------------------------------------


def test_uniform() -> None:
    keys = 50_000
    spec = _spec(keys, "uniform")
    p = popularity_probabilities(spec)
    assert np.allclose(p, 1 / keys)
    sample = _draw(key_sampler(spec, np.random.default_rng(4)), 200_000)
    assert _chi_square(sample, np.linspace(0, keys, 51).astype(int), lambda k: k / keys) > P_MIN


def test_hotset_split() -> None:
    keys = 10_000
    spec = _spec(keys, {"model": "hotset", "hot_keys": 0.2, "hot_requests": 0.8})
    p = popularity_probabilities(spec)
    assert math.isclose(p.sum(), 1.0)
    assert np.allclose(p[:2000], 0.8 / 2000) and np.allclose(p[2000:], 0.2 / 8000)
    n = 200_000
    sample = _draw(key_sampler(spec, np.random.default_rng(5)), n)
    hot = int((sample < 2000).sum())
    assert abs(hot - 0.8 * n) <= 5 * math.sqrt(n * 0.8 * 0.2)
    cumulative = np.concatenate([[0.0], np.cumsum(p)])
    edges = np.linspace(0, keys, 41).astype(int)  # 2000 is an edge: hot and cold bins
    assert _chi_square(sample, edges, lambda k: cumulative[k]) > P_MIN


def test_hotset_rounds_hot_keys_up() -> None:
    spec = _spec(10, {"model": "hotset", "hot_keys": 0.15, "hot_requests": 0.5})
    p = popularity_probabilities(spec)  # ceil(1.5) = 2 hot keys
    assert np.allclose(p[:2], 0.25) and np.allclose(p[2:], 0.5 / 8)


# -- streams ---------------------------------------------------------------------------

RANDOM_MODELS = [
    (100_000, {"zipf": 0.8}),
    (1000, {"zipf": 1.2}),
    (10**9, {"zipf": 0.9}),
    (5000, "uniform"),
    (5000, {"model": "hotset", "hot_keys": 0.1, "hot_requests": 0.9}),
]


@pytest.mark.parametrize(("keys", "popularity"), RANDOM_MODELS)
def test_reproducible_per_seed(keys: int, popularity: Any) -> None:
    spec = _spec(keys, popularity)

    def first(seed: int, batch: int = 65536) -> list[int]:
        sampler = key_sampler(spec, np.random.default_rng(seed), batch=batch)
        return [sampler() for _ in range(2000)]

    a = first(7)
    assert a == first(7)
    assert a != first(8)
    assert all(type(k) is int and 0 <= k < keys for k in a)
    # Small batches refill correctly.
    small = first(7, batch=3)
    assert all(0 <= k < keys for k in small) and len(set(small)) > 1


def test_cdf_stream_does_not_depend_on_batch_size() -> None:
    spec = _spec(1000, {"zipf": 0.8})
    a = key_sampler(spec, np.random.default_rng(9), batch=7, zipf_method="cdf")
    b = key_sampler(spec, np.random.default_rng(9), batch=1000, zipf_method="cdf")
    assert [a() for _ in range(3000)] == [b() for _ in range(3000)]


def test_bad_arguments() -> None:
    spec = _spec(10, "uniform")
    with pytest.raises(ValueError, match="batch"):
        key_sampler(spec, np.random.default_rng(0), batch=0)
    with pytest.raises(ValueError, match="zipf_method"):
        key_sampler(spec, np.random.default_rng(0), zipf_method="alias")  # type: ignore[arg-type]
    assert trace_times(spec) is None


# -- traces ----------------------------------------------------------------------------


def _trace(tmp_path: Path, text: str, keys: int = 100, **fields: Any) -> KeyspaceSpec:
    path = tmp_path / "trace.csv"
    path.write_text(text)
    return _spec(keys, {"model": "trace", "path": str(path), **fields})


def test_trace_replays_in_order_and_cycles(tmp_path: Path) -> None:
    spec = _trace(tmp_path, "key,t\nuser:7,0.5\nuser:3,0.75\nuser:7,1.0\n007,1.0\n7,2.5\n")
    sampler = key_sampler(spec, np.random.default_rng(0), batch=2)
    # Labels are numbered by first appearance; "007" and "7" are different keys.
    assert [sampler() for _ in range(12)] == [0, 1, 0, 2, 3] * 2 + [0, 1]
    assert trace_times(spec) is None  # no time_column in the spec
    p = popularity_probabilities(spec)
    assert p.shape == (100,) and math.isclose(p.sum(), 1.0)
    assert np.allclose(p[:4], [0.4, 0.2, 0.2, 0.2]) and not p[4:].any()


def test_trace_times(tmp_path: Path) -> None:
    spec = _trace(tmp_path, "id,ts\na,10\nb,10.5\na,12\n", column="id", time_column="ts")
    assert np.array_equal(trace_times(spec), [10.0, 10.5, 12.0])
    sampler = key_sampler(spec, np.random.default_rng(0))
    assert [sampler() for _ in range(4)] == [0, 1, 0, 0]


def test_trace_date_times(tmp_path: Path) -> None:
    text = "key,when\nx,2024-01-01 00:00:00\ny,2024-01-01 00:00:01.5\nx,2024-01-01 00:01:00\n"
    spec = _trace(tmp_path, text, time_column="when")
    assert np.allclose(trace_times(spec), [0.0, 1.5, 60.0])


@pytest.mark.parametrize(
    ("text", "fields", "keys", "message"),
    [
        ("key\na\nb\nc\n", {}, 2, "3 distinct keys"),
        ("name\na\n", {}, 10, "cannot read trace"),
        ("key,t\na,1\nb,0.5\n", {"time_column": "t"}, 10, "decrease at row 2"),
        ("key,t\na,1\nb,\n", {"time_column": "t"}, 10, "missing times"),
        ("key,t\na,1\nb,soon\n", {"time_column": "t"}, 10, "neither numbers"),
        ("key\na\n\n", {}, 10, None),  # blank lines are skipped, not keys
        ("key,x\na,1\n,2\n", {}, 10, "empty key in row 2"),
        ("key\n", {}, 10, "no rows"),
    ],
)
def test_trace_errors(
    tmp_path: Path, text: str, fields: dict[str, Any], keys: int, message: str | None
) -> None:
    spec = _trace(tmp_path, text, keys=keys, **fields)
    if message is None:
        key_sampler(spec, np.random.default_rng(0))
        return
    with pytest.raises(BuildError, match=message):
        key_sampler(spec, np.random.default_rng(0))
        trace_times(spec)


def test_trace_path_that_is_a_directory(tmp_path: Path) -> None:
    spec = _spec(10, {"model": "trace", "path": str(tmp_path)})
    with pytest.raises(BuildError, match=r"cannot read trace .*: not a regular file"):
        key_sampler(spec, np.random.default_rng(0))


def test_trace_missing_file(tmp_path: Path) -> None:
    spec = _spec(10, {"model": "trace", "path": str(tmp_path / "nope.csv")})
    with pytest.raises(BuildError, match="cannot read trace"):
        key_sampler(spec, np.random.default_rng(0))


def test_trace_is_read_again_when_the_file_changes(tmp_path: Path) -> None:
    spec = _trace(tmp_path, "key\na\nb\n")
    assert popularity_probabilities(spec)[:2].tolist() == [0.5, 0.5]
    (tmp_path / "trace.csv").write_text("key\na\na\na\nb\n")
    assert popularity_probabilities(spec)[:2].tolist() == [0.75, 0.25]

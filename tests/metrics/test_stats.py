"""Statistics across replications: intervals, paired differences, batch means, summaries."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.signal import lfilter

from simperf.metrics.stats import (
    Interval,
    batch_means,
    paired_difference,
    replications_needed,
    summarise_replications,
    t_interval,
)

ALPHA = 1e-4  # false-failure probability of each statistical test


def binomial_bounds(n: int, p: float) -> tuple[float, float]:
    return stats.binom.ppf(ALPHA / 2, n, p), stats.binom.isf(ALPHA / 2, n, p)


# --------------------------------------------------------------------------- t_interval


@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_t_interval_covers_the_true_mean_at_its_level(confidence: float) -> None:
    rng = np.random.default_rng(0)
    samples = rng.normal(3.0, 2.0, size=(2000, 5))
    covered = 0
    for row in samples:
        iv = t_interval(row, confidence)
        covered += iv.low <= 3.0 <= iv.high
    lo, hi = binomial_bounds(2000, confidence)
    assert lo <= covered <= hi


def test_t_interval_matches_scipy() -> None:
    x = np.random.default_rng(1).exponential(2.0, size=12)
    iv = t_interval(x, 0.9)
    low, high = stats.t.interval(0.9, x.size - 1, loc=x.mean(), scale=stats.sem(x))
    assert (iv.low, iv.high) == pytest.approx((low, high))
    assert iv.mean == pytest.approx(x.mean())
    assert iv.std == pytest.approx(x.std(ddof=1))
    assert iv.half_width == pytest.approx((high - low) / 2)
    assert (iv.n, iv.confidence) == (12, 0.9)


def test_t_interval_single_sample_has_no_spread_and_no_nan() -> None:
    iv = t_interval([4.5])
    assert iv == Interval(4.5, None, None, None, 1, None, 0.95)
    json.dumps(iv.to_dict(), allow_nan=False)


def test_t_interval_equal_samples_have_zero_half_width() -> None:
    iv = t_interval([0.1] * 7)
    assert (iv.mean, iv.half_width, iv.low, iv.high, iv.std) == (0.1, 0.0, 0.1, 0.1, 0.0)


@pytest.mark.parametrize(
    ("samples", "confidence"),
    [
        ([], 0.95),
        ([1.0, math.nan], 0.95),
        ([1.0, math.inf], 0.95),
        ([[1.0, 2.0]], 0.95),
        ([1.0, 2.0], 1.0),
        ([1.0, 2.0], 0.0),
    ],
)
def test_t_interval_rejects_bad_input(samples: list, confidence: float) -> None:
    with pytest.raises(ValueError):
        t_interval(samples, confidence)


# --------------------------------------------------------------------------- paired


def test_paired_difference_of_identical_samples_is_exactly_zero() -> None:
    a = np.random.default_rng(2).normal(10.0, 1.0, size=10)
    d = paired_difference(a, a.copy())
    assert (d.mean, d.half_width, d.low, d.high, d.relative) == (0.0, 0.0, 0.0, 0.0, 0.0)
    assert d.significant is False
    assert d.n == 10
    json.dumps(d.to_dict(), allow_nan=False)


def test_paired_difference_detects_a_shift_hidden_by_common_noise() -> None:
    rng = np.random.default_rng(3)
    common = rng.normal(100.0, 20.0, size=10)  # replication-to-replication variation
    a = common + rng.normal(0.0, 0.1, size=10)
    b = common * 1.02 + rng.normal(0.0, 0.1, size=10)  # 2% slower, same seeds
    d = paired_difference(a, b)
    assert d.significant
    assert d.relative == pytest.approx(0.02, abs=0.005)
    assert d.mean == pytest.approx(t_interval(b - a).mean)
    assert d.half_width == pytest.approx(t_interval(b - a).half_width)
    assert (d.mean_a, d.mean_b) == (pytest.approx(a.mean()), pytest.approx(b.mean()))
    # unpaired intervals overlap: the shift is invisible without pairing
    ia, ib = t_interval(a), t_interval(b)
    assert ia.high > ib.low


@pytest.mark.parametrize("n", [2, 5])
def test_a_difference_the_same_in_every_replication_is_not_called_significant(n: int) -> None:
    """requests.ok 2 fewer in both replications (common random numbers give such
    differences of counts): the t interval of two equal differences has zero width and
    excluded 0, so `compare` called it significant on no evidence of any spread."""
    a = np.arange(n, dtype=float) * 100 + 6000
    d = paired_difference(a, a - 2)
    assert (d.mean, d.half_width) == (-2.0, 0.0)
    assert d.significant is False
    assert d.verdict == "same in every replication"
    # a difference with a spread is judged by its interval as before
    d = paired_difference(a, a - 2 - 0.1 * np.arange(n))
    assert d.significant and d.verdict == "significant"
    d = paired_difference([1.0, 2.0], [1.5, 1.5])
    assert not d.significant and d.verdict == "not significant"


@pytest.mark.parametrize("n", [2, 5])
def test_paired_difference_covers_the_true_difference_at_its_level(n: int) -> None:
    """Common random numbers make A and B strongly correlated; the interval is of the
    per-replication differences (n - 1 degrees of freedom), so it covers the true
    difference at its level, two replications (the fewest compare allows) included."""
    rng = np.random.default_rng(4)
    common = rng.normal(100.0, 20.0, size=(2000, n))
    a = common + rng.normal(0.0, 1.0, size=(2000, n))
    b = 1.05 * common + rng.normal(0.0, 1.0, size=(2000, n))  # true difference 5
    covered = sum(
        d.low <= 5.0 <= d.high for d in (paired_difference(x, y) for x, y in zip(a, b, strict=True))
    )
    lo, hi = binomial_bounds(2000, 0.95)
    assert lo <= covered <= hi


def test_paired_difference_edge_cases() -> None:
    d = paired_difference([0.0, 0.0], [1.0, 1.0])  # constant shift from a zero baseline
    assert (d.mean, d.half_width, d.significant, d.relative) == (1.0, 0.0, False, None)
    assert d.verdict == "same in every replication"
    d = paired_difference([2.0], [3.0])
    assert (d.half_width, d.low, d.high, d.significant) == (None, None, None, False)
    assert (d.relative, d.verdict) == (0.5, "no interval")
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0, 2.0, 3.0])


# --------------------------------------------------------------------------- batch means


def test_batch_means_covers_the_mean_of_an_autocorrelated_series() -> None:
    rng = np.random.default_rng(7)
    covered, runs = 0, 400
    for _ in range(runs):
        x = lfilter([1.0], [1.0, -0.9], rng.normal(size=20_000))  # AR(1), mean 0
        iv = batch_means(x, batches=20)
        covered += iv.low <= 0.0 <= iv.high
    lo, hi = binomial_bounds(runs, 0.95)
    assert lo <= covered <= hi


def test_batch_means_drops_the_oldest_remainder() -> None:
    iv = batch_means(np.arange(105.0), batches=10)
    assert (iv.mean, iv.n) == (54.5, 10)
    with pytest.raises(ValueError):
        batch_means(np.arange(5.0), batches=10)
    with pytest.raises(ValueError):
        batch_means(np.arange(50.0), batches=1)


# --------------------------------------------------------------------------- replications


def test_replications_needed() -> None:
    """The hand computation: s = 1.291 about 11.5, a half-width of 5% (0.575) wanted.
    22 replications give t_{0.975, 21} s / sqrt(22) = 2.080 x 1.291 / 4.690 = 0.5725,
    21 give 2.086 x 1.291 / 4.583 = 0.5876. The t quantile of the 4 run so far (3.182)
    in place of 21's asked for 52."""
    x = [10.0, 12.0, 11.0, 13.0]
    assert replications_needed(x, 0.05) == 22
    assert replications_needed(x, 0.5) <= 4  # already precise enough
    assert replications_needed([5.0, 5.0, 5.0], 0.01) == 2
    for bad in ([1.0], 0.05), (x, 0.0), ([-1.0, 1.0], 0.05):
        with pytest.raises(ValueError):
            replications_needed(*bad)


# --------------------------------------------------------------------------- summaries


def tidy() -> pd.DataFrame:
    rows = []
    for scenario, shift in (("base", 0.0), ("cache", -0.02)):
        for rep in range(4):
            rows.append((scenario, rep, "latency", 0.1 + shift + 0.01 * rep))
            rows.append((scenario, rep, "throughput", 1000.0 + rep))
    rows.append(("base", 0, "errors", 3.0))  # a metric seen in one replication only
    rows.append(("cache", 0, "errors", math.nan))  # and one never defined
    return pd.DataFrame(rows, columns=["scenario", "replication", "metric", "value"])


def test_summarise_replications_one_interval_per_group_and_metric() -> None:
    out = summarise_replications(tidy(), by="scenario", confidence=0.9)
    summary = ["mean", "std", "n", "half_width", "low", "high"]
    assert list(out.columns) == ["scenario", "metric", *summary]
    assert list(zip(out.scenario, out.metric, strict=True)) == [
        ("base", "latency"),
        ("base", "throughput"),
        ("cache", "latency"),
        ("cache", "throughput"),
        ("base", "errors"),
        ("cache", "errors"),
    ]
    row = out.iloc[2]
    iv = t_interval([0.08, 0.09, 0.10, 0.11], 0.9)
    assert (row["mean"], row["half_width"], row["n"]) == (
        pytest.approx(iv.mean),
        pytest.approx(iv.half_width),
        4,
    )
    single, empty = out.iloc[4], out.iloc[5]
    assert (single["mean"], single["n"]) == (3.0, 1)
    assert pd.isna(single["half_width"]) and pd.isna(single["std"])
    assert empty["n"] == 0 and pd.isna(empty["mean"])
    # undefined values are null in JSON, never NaN
    records = json.loads(out.to_json(orient="records"))
    assert records[4]["half_width"] is None
    json.dumps(records, allow_nan=False)


def test_summarise_replications_without_groups_and_errors() -> None:
    df = tidy()
    out = summarise_replications(df[df.scenario == "base"].drop(columns="scenario"))
    assert list(out.metric) == ["latency", "throughput", "errors"]
    assert list(out.n) == [4, 4, 1]
    with pytest.raises(ValueError, match="missing column"):
        summarise_replications(df.drop(columns="value"))
    with pytest.raises(ValueError, match="more than one value"):
        summarise_replications(df)  # replications repeat across scenarios without `by`
    bad = df.assign(value=df.value.astype(object))
    bad.loc[0, "value"] = "fast"
    with pytest.raises(ValueError, match="non-numeric"):
        summarise_replications(bad, by=["scenario"])

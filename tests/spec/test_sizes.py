"""Sizes and bandwidths with units, and size distributions."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from simperf.spec.sizes import ConstantSize, SizeDistribution
from simperf.units import parse_bandwidth, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512B", 512.0),
        ("4KiB", 4096.0),
        ("1.5MB", 1.5e6),
        ("10kB", 1e4),
        ("2 GiB", 2.0 * 2**30),
        ("1TB", 1e12),
        (100, 100.0),
        ("7", 7.0),
    ],
)
def test_parse_size(text: object, size: float) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "bandwidth"),
    [
        ("1Gbit/s", 1.25e8),
        ("100Mbps", 1.25e7),
        ("800kbit/s", 1e5),
        ("10MB/s", 1e7),
        ("1GiB/s", 2.0**30),
        (5000, 5000.0),
    ],
)
def test_parse_bandwidth(text: object, bandwidth: float) -> None:
    assert parse_bandwidth(text) == bandwidth


@pytest.mark.parametrize("text", ["4 parsecs", "10Mb", "1.5 MiBs", True])
def test_bad_sizes_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize("text", ["1Gbit", "10MB", "B/s", "fast"])
def test_bad_bandwidths_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_bandwidth(text)


SIZES = TypeAdapter(SizeDistribution)


def test_a_bare_size_is_a_constant() -> None:
    assert SIZES.validate_python("4KiB") == ConstantSize(value=4096)


@pytest.mark.parametrize(
    ("spec", "mean"),
    [
        ({"dist": "exponential", "mean": "20KiB"}, 20480.0),
        ({"dist": "uniform", "low": "1kB", "high": "3kB"}, 2000.0),
        ({"dist": "gamma", "mean": "1MB", "cv": 0.5}, 1e6),
        ({"dist": "empirical", "values": ["1KiB", 0]}, 512.0),
        ({"dist": "lognormal", "mean": "2GB", "cv": 1.0}, 2e9),
    ],
)
def test_size_distributions_take_units_and_keep_their_means(spec: dict, mean: float) -> None:
    assert SIZES.validate_python(spec).mean == pytest.approx(mean, rel=1e-12)


def test_sizes_beyond_the_time_bound_are_accepted() -> None:
    # times stop at 1e7 s; sizes of 1 GB and more must not
    assert SIZES.validate_python({"dist": "exponential", "mean": "5GB"}).mean == 5e9


@pytest.mark.parametrize("bad", ["-1KB", {"dist": "uniform", "low": "2kB", "high": "1kB"}, "5ms"])
def test_bad_size_distributions_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        SIZES.validate_python(bad)

from __future__ import annotations

import pytest

from simperf.units import format_time, parse_rate, parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250us", 250e-6),
        ("250µs", 250e-6),
        ("5ms", 0.005),
        ("2s", 2.0),
        ("3min", 180.0),
        ("1m", 60.0),
        ("1h", 3600.0),
        ("1.5 s", 1.5),
        ("100ns", 1e-7),
        ("1_000ms", 1.0),
        (0.25, 0.25),
        (3, 3.0),
        ("7", 7.0),
    ],
)
def test_parse_time(text: object, seconds: float) -> None:
    assert parse_time(text) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("2000/s", 2000.0),
        ("10k/s", 10_000.0),
        ("120/min", 2.0),
        ("5/ms", 5000.0),
        ("1M/h", 1e6 / 3600),
        ("500rps", 500.0),
        (90, 90.0),
    ],
)
def test_parse_rate(text: object, rate: float) -> None:
    assert parse_rate(text) == pytest.approx(rate, rel=1e-12)


@pytest.mark.parametrize("bad", ["5 parsecs", "ms", "", "5ms5", True, None, [1], "nan"])
def test_bad_times_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)


@pytest.mark.parametrize("bad", ["5/fortnight", "fast", "", None, False])
def test_bad_rates_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_rate(bad)


def test_format_time() -> None:
    assert format_time(0.0123) == "12.3 ms"
    assert format_time(2.5e-5) == "25 µs"
    assert format_time(None) == "-"
    assert format_time(600) == "10 min"
    assert format_time(19 * 3600) == "19 h"
    assert format_time(3 * 86400) == "3 d"

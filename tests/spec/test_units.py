from __future__ import annotations

import pytest

from simperf.units import (
    format_time,
    parse_bandwidth,
    parse_count,
    parse_fraction,
    parse_price,
    parse_rate,
    parse_size,
    parse_time,
)


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


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.0009996, "1 ms"), (0.99951, "1 s"), (-0.0009996, "-1 ms"), (9.996e-7, "1 µs")],
)
def test_a_time_rounding_up_to_the_next_unit_is_shown_in_it(seconds: float, shown: str) -> None:
    # a run's p50 of 0.9996 ms was printed "1e+03 µs"
    assert format_time(seconds) == shown


def test_format_time_shows_float_noise_below_a_nanosecond_as_zero() -> None:
    # a wait of 2.0 - 1.9999999999999998 s: printed as "2.22e-10 µs" it overran its column
    assert format_time(2.0 - 1.9999999999999998) == "0 s"
    assert format_time(-1e-13) == "0 s"
    assert format_time(1e-9) == "1 ns"


def test_a_time_below_a_microsecond_is_written_in_nanoseconds() -> None:
    # a mean wait of 4.2 ns read "0.0042 µs" in the component table: digits as noise
    assert format_time(4.2e-9) == "4.2 ns"
    assert format_time(7.5e-7) == "750 ns"
    assert format_time(9.9951e-7) == "1 µs"  # rounded up into the next unit
    assert format_time(-4.2e-9) == "-4.2 ns"


# Non-ASCII digits: \d matched them and float() read "５" as 5.
@pytest.mark.parametrize("digits", ["５", "٥", "1٠", "۵"])
def test_non_ascii_digits_are_refused(digits: str) -> None:
    with pytest.raises(ValueError, match="expected a time"):
        parse_time(f"{digits}ms")
    with pytest.raises(ValueError, match="expected a rate"):
        parse_rate(f"{digits}/s")
    with pytest.raises(ValueError, match="expected a size"):
        parse_size(f"{digits}KiB")
    with pytest.raises(ValueError, match="expected a number"):
        parse_count(f"{digits}k")


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_time, "1e400"),
        (parse_time, "1e400ms"),
        (parse_time, float("inf")),
        (parse_rate, "1e400/s"),
        (parse_fraction, "1e400%"),
        (parse_price, "1e400/h"),
        (parse_size, "1e400GB"),
        (parse_bandwidth, "1e400Gbps"),
        (parse_count, "1e400k"),
        (parse_count, float("nan")),
    ],
)
def test_non_finite_values_are_refused(parse: object, text: object) -> None:
    with pytest.raises(ValueError, match="finite"):
        parse(text)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "count"),
    [("2k", 2000), ("2K", 2000), ("1.5M", 1_500_000), ("1G", 10**9), ("100_000", 100_000)],
)
def test_parse_count_takes_the_suffixes_of_rates(text: str, count: int) -> None:
    assert parse_count(text) == count
    # the same multipliers as rates: "2k" counts what "2k/s" is per second
    if not text.endswith("G") and "_" not in text:
        assert parse_count(text) == parse_rate(f"{text}/s")


def test_parse_count_keeps_large_ints_exact() -> None:
    assert parse_count(10**30 + 1) == 10**30 + 1


@pytest.mark.parametrize("bad", ["2x", "k", "", True, None, "٢k"])
def test_bad_counts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_count(bad)

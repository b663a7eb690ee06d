"""Times and rates with units.

Times are seconds and rates are per second everywhere inside simperf. Specs accept
plain numbers (already in those units) or strings with a unit, which these functions
turn into floats:

>>> parse_time("250us"), parse_time("5ms"), parse_time("2s"), parse_time("3min")
(0.00025, 0.005, 2.0, 180.0)
>>> parse_rate("2000/s"), parse_rate("10k/s"), parse_rate("120/min")
(2000.0, 10000.0, 2.0)
"""

from __future__ import annotations

import math
import re

_TIME_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_MULTIPLIERS = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6}
# ASCII digits only: \d also matches "５" or "٥", which float() would then accept.
_NUMBER = r"[-+]?(?:[0-9][0-9_]*\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_TIME_RE = re.compile(rf"^\s*({_NUMBER})\s*([a-zµ]*)\s*$")
_FRACTION_RE = re.compile(rf"^\s*({_NUMBER})\s*(%?)\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*([kKM]?)\s*(?:/\s*([a-zµ]+)|rps|qps)?\s*$")

TIME_PATTERN = r"^\s*[-+]?[0-9._]+([eE][-+]?[0-9]+)?\s*(ns|us|µs|ms|s|sec|m|min|h|d)?\s*$"
RATE_PATTERN = (
    r"^\s*[-+]?[0-9._]+([eE][-+]?[0-9]+)?\s*[kKM]?\s*"
    r"(/\s*(ns|us|µs|ms|s|sec|m|min|h|d)|rps|qps)?\s*$"
)


def _number(text: str) -> float:
    return float(text.replace("_", ""))


def _finite(result: float, kind: str) -> float:
    if not math.isfinite(result):
        raise ValueError(f"a {kind} must be a finite number, got {result}")
    return result


def parse_time(value: object) -> float:
    """Convert a time (number of seconds, or a string with a unit) to seconds.

    Parameters
    ----------
    value
        A number, or a string such as ``"250us"``, ``"5ms"``, ``"2s"``, ``"3min"``, ``"1h"``.

    Returns
    -------
    float
        The time in seconds.

    Raises
    ------
    ValueError
        If the string has no recognised unit or is not a number.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a time, got {value!r}")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        match = _TIME_RE.match(value)
        if not match:
            raise ValueError(f"expected a time such as 250us, 5ms, 2s or 3min, got {value!r}")
        number, unit = match.groups()
        if unit not in _TIME_UNITS and unit != "":
            raise ValueError(
                f"unknown time unit {unit!r} in {value!r} "
                f"(expected one of {', '.join(u for u in _TIME_UNITS if u != 'µs')})"
            )
        result = _number(number) * _TIME_UNITS.get(unit, 1.0)
    else:
        raise ValueError(f"expected a time (number of seconds or string with unit), got {value!r}")
    return _finite(result, "time")


def parse_rate(value: object) -> float:
    """Convert a rate (number per second, or a string with a unit) to events per second.

    Parameters
    ----------
    value
        A number, or a string such as ``"2000/s"``, ``"10k/s"``, ``"120/min"``, ``"500rps"``.

    Returns
    -------
    float
        The rate per second.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a rate, got {value!r}")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        match = _RATE_RE.match(value)
        if not match:
            raise ValueError(f"expected a rate such as 2000/s, 10k/s or 120/min, got {value!r}")
        number, multiplier, unit = match.groups()
        per = 1.0
        if unit:
            if unit not in _TIME_UNITS:
                raise ValueError(f"unknown time unit {unit!r} in rate {value!r}")
            per = _TIME_UNITS[unit]
        result = _number(number) * _MULTIPLIERS[multiplier] / per
    else:
        raise ValueError(
            f"expected a rate (number per second or string such as 2000/s), got {value!r}"
        )
    return _finite(result, "rate")


_COUNT_MULTIPLIERS = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}
_COUNT_RE = re.compile(rf"^\s*({_NUMBER})\s*([kKMG]?)\s*$")
FRACTION_PATTERN = r"^\s*[-+]?[0-9._]+([eE][-+]?[0-9]+)?\s*%?\s*$"
"""The strings :func:`parse_fraction` accepts: a number, or a percentage such as 10%."""
COUNT_PATTERN = r"^\s*[-+]?[0-9._]+([eE][-+]?[0-9]+)?\s*[kKMG]?\s*$"


def parse_count(value: object) -> float | int:
    """Convert a count (a number, or a string with an SI suffix) to a number.

    The suffixes are those of rates (``10k/s``): ``k`` (or ``K``) thousands, ``M``
    millions, ``G`` billions. Whether the count must be whole is the field's to say.

    Parameters
    ----------
    value
        A number, or a string such as ``"2k"``, ``"1.5M"`` or ``"100_000"``.

    Returns
    -------
    float or int
        The count (an int given stays an int, however large).

    Examples
    --------
    >>> parse_count("2k"), parse_count("1.5M"), parse_count(7)
    (2000.0, 1500000.0, 7)
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _finite(value, "count")
    if not isinstance(value, str):
        raise ValueError(f"expected a number (or a string such as 2k or 1.5M), got {value!r}")
    match = _COUNT_RE.match(value)
    if not match:
        raise ValueError(f"expected a number such as 2000, 2k or 1.5M, got {value!r}")
    number, multiplier = match.groups()
    return _finite(_number(number) * _COUNT_MULTIPLIERS[multiplier], "count")


def parse_fraction(value: object) -> float:
    """Convert a fraction (a number, or a percentage string such as ``"1%"``) to a float.

    Parameters
    ----------
    value
        A number such as ``0.9``, or a string such as ``"0.9"``, ``"1%"`` or ``"2.5 %"``.

    Returns
    -------
    float
        The fraction (``"1%"`` is ``0.01``).

    Examples
    --------
    >>> parse_fraction("1%"), parse_fraction(0.9), parse_fraction("0.25")
    (0.01, 0.9, 0.25)
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a fraction, got {value!r}")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        match = _FRACTION_RE.match(value)
        if not match:
            raise ValueError(
                f"expected a fraction such as 0.9 or a percentage such as 1%, got {value!r}"
            )
        number, percent = match.groups()
        result = _number(number) / (100.0 if percent else 1.0)
    else:
        raise ValueError(f"expected a fraction (number or percentage such as 1%), got {value!r}")
    return _finite(result, "fraction")


_PRICE_PERIODS = {
    "s": 1 / 3600,
    "sec": 1 / 3600,
    "min": 1 / 60,
    "h": 1.0,
    "hour": 1.0,
    "d": 24.0,
    "day": 24.0,
    "month": 730.0,
}
_PRICE_RE = re.compile(rf"^\s*({_NUMBER})\s*(?:/\s*([a-z]+))?\s*$")
PRICE_PATTERN = r"^\s*[-+]?[0-9._]+([eE][-+]?[0-9]+)?\s*(/\s*(s|sec|min|h|hour|d|day|month))?\s*$"


def parse_price(value: object) -> float:
    """Convert a price rate (a plain number per hour, or a string) to money per hour.

    Prices are currency-neutral: a number of whatever unit the spec's author uses. A
    month is 730 hours (365 days x 24 h / 12), as cloud providers bill.

    Parameters
    ----------
    value
        A number (per hour), or a string such as ``"0.20/h"``, ``"4.8/day"``,
        ``"146/month"`` or ``"0.0001/s"``.

    Returns
    -------
    float
        The price per hour.

    Examples
    --------
    >>> parse_price("0.20/h"), parse_price("24/day"), parse_price(0.5)
    (0.2, 1.0, 0.5)
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a price per hour, got {value!r}")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        match = _PRICE_RE.match(value)
        if not match:
            raise ValueError(
                f"expected a price such as 0.20/h, 4.8/day or 146/month, got {value!r}"
            )
        number, period = match.groups()
        if period is not None and period not in _PRICE_PERIODS:
            raise ValueError(
                f"unknown period {period!r} in price {value!r} "
                f"(expected one of {', '.join(_PRICE_PERIODS)})"
            )
        result = _number(number) / _PRICE_PERIODS[period or "h"]
    else:
        raise ValueError(
            f"expected a price (number per hour or string such as 0.20/h), got {value!r}"
        )
    return _finite(result, "price")


def format_time(seconds: float | None) -> str:
    """Format seconds with a readable unit (``0.0123`` -> ``'12.3 ms'``).

    Below a nanosecond is shown as ``0 s``: simulated times are differences of clock
    readings, and one that should be 0 (a request queued behind a release due at the
    same instant, reached along another sum) comes out as float noise (``2e-16``).
    Below a microsecond in nanoseconds: ``4.2 ns``, not ``0.0042 µs``, whose digits past
    the point read as noise.

    Examples
    --------
    >>> format_time(4.2e-9), format_time(7.5e-7), format_time(2.5e-5), format_time(2e-16)
    ('4.2 ns', '750 ns', '25 µs', '0 s')
    """
    if seconds is None:
        return "-"
    # rounded to the 3 digits shown before the unit is chosen: 0.9996 ms is "1 ms",
    # not "1e+03 µs"
    seconds = float(f"{seconds:.3g}")
    magnitude = abs(seconds)
    if magnitude < 1e-9:
        return "0 s"
    if magnitude < 1e-6:
        return f"{seconds * 1e9:.3g} ns"
    if magnitude < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if magnitude < 1:
        return f"{seconds * 1e3:.3g} ms"
    if magnitude < 120:
        return f"{seconds:.3g} s"
    if magnitude < 7200:
        return f"{seconds / 60:.3g} min"
    if magnitude < 172800:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86400:.3g} d"


def format_clock(seconds: float) -> str:
    """Format a time on the run's clock as ``h:mm:ss`` (``235.2`` -> ``'0:03:55.2'``).

    For instants in a list (when a fleet changed): one unit for all, and to the tenth
    of a second however long the run, where :func:`format_time` keeps 3 digits (an
    action at 20:17:15 would read ``20.3 h``).

    Examples
    --------
    >>> format_clock(115.0), format_clock(235.25), format_clock(73035.0)
    ('0:01:55', '0:03:55.2', '20:17:15')
    """
    tenths = round(seconds * 10)
    minutes, tenth_seconds = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    whole, tenth = divmod(tenth_seconds, 10)
    return f"{hours}:{minutes:02d}:{whole:02d}" + (f".{tenth}" if tenth else "")


# --------------------------------------------------------------------------- sizes

_SIZE_UNITS = {
    "": 1.0,
    "B": 1.0,
    "kB": 1e3,
    "KB": 1e3,
    "MB": 1e6,
    "GB": 1e9,
    "TB": 1e12,
    "KiB": 2.0**10,
    "MiB": 2.0**20,
    "GiB": 2.0**30,
    "TiB": 2.0**40,
}
_BIT_MULTIPLIERS = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_SIZE_RE = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z]*)\s*$")
_BITS_RE = re.compile(rf"^\s*({_NUMBER})\s*([kKMGT]?)(?:bit/s|bps)\s*$")
_BYTES_PER_S_RE = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z]*)\s*/\s*s\s*$")

SIZE_PATTERN = r"^\s*[-+]?[0-9._]+([eE][-+]?[0-9]+)?\s*(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$"
BANDWIDTH_PATTERN = (
    r"^\s*[-+]?[0-9._]+([eE][-+]?[0-9]+)?\s*"
    r"(([kKMGT]?(bit/s|bps))|((B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*/\s*s))\s*$"
)


def parse_size(value: object) -> float:
    """Convert a size (number of bytes, or a string with a unit) to bytes.

    Decimal units (``kB``, ``MB``, ``GB``, ``TB``) are powers of 1000 and binary units
    (``KiB``, ``MiB``, ``GiB``, ``TiB``) powers of 1024.

    Parameters
    ----------
    value
        A number of bytes, or a string such as ``"512B"``, ``"4KiB"``, ``"1.5MB"``.

    Returns
    -------
    float
        The size in bytes.

    Examples
    --------
    >>> parse_size("4KiB"), parse_size("1.5MB"), parse_size(100)
    (4096.0, 1500000.0, 100.0)
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a size, got {value!r}")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        match = _SIZE_RE.match(value)
        if not match:
            raise ValueError(f"expected a size such as 512B, 4KiB or 1.5MB, got {value!r}")
        number, unit = match.groups()
        if unit not in _SIZE_UNITS:
            raise ValueError(
                f"unknown size unit {unit!r} in {value!r} "
                f"(expected one of {', '.join(u for u in _SIZE_UNITS if u)})"
            )
        result = _number(number) * _SIZE_UNITS[unit]
    else:
        raise ValueError(f"expected a size (number of bytes or string with unit), got {value!r}")
    return _finite(result, "size")


def parse_bandwidth(value: object) -> float:
    """Convert a bandwidth (bytes per second, or a string with a unit) to bytes per second.

    Parameters
    ----------
    value
        A number of bytes per second, or a string in bits (``"100Mbit/s"``, ``"1Gbps"``)
        or bytes (``"10MB/s"``, ``"1GiB/s"``) per second.

    Returns
    -------
    float
        Bytes per second.

    Examples
    --------
    >>> parse_bandwidth("1Gbit/s"), parse_bandwidth("100Mbps"), parse_bandwidth("10MB/s")
    (125000000.0, 12500000.0, 10000000.0)
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a bandwidth, got {value!r}")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        bits = _BITS_RE.match(value)
        per_second = _BYTES_PER_S_RE.match(value)
        if bits:
            number, multiplier = bits.groups()
            result = _number(number) * _BIT_MULTIPLIERS[multiplier] / 8.0
        elif per_second and per_second.group(2) in _SIZE_UNITS and per_second.group(2):
            number, unit = per_second.groups()
            result = _number(number) * _SIZE_UNITS[unit]
        else:
            raise ValueError(
                f"expected a bandwidth such as 100Mbit/s, 1Gbps or 10MB/s, got {value!r}"
            )
    else:
        raise ValueError(
            f"expected a bandwidth (bytes per second or string such as 1Gbit/s), got {value!r}"
        )
    return _finite(result, "bandwidth")


def format_interval(start: float, end: float) -> str:
    """``start to end`` in one unit, the one :func:`format_time` gives ``end`` (an
    alert from 100 s to 160 s read "100 s to 2.67 min").

    Examples
    --------
    >>> format_interval(100.0, 160.0)
    '1.67 min to 2.67 min'
    >>> format_interval(64800.0, 82800.0)
    '18 h to 23 h'
    """
    text = format_time(max(abs(start), abs(end)))
    unit = text.split(" ", 1)[1] if " " in text else "s"
    scale = {"µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}[unit]
    return f"{start / scale:.3g} {unit} to {end / scale:.3g} {unit}"

"""Building blocks shared by every spec model: the base class and unit-aware types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from simperf.units import (
    BANDWIDTH_PATTERN,
    PRICE_PATTERN,
    RATE_PATTERN,
    SIZE_PATTERN,
    TIME_PATTERN,
    parse_bandwidth,
    parse_price,
    parse_rate,
    parse_size,
    parse_time,
)


class SpecModel(BaseModel):
    """Base of all spec models: immutable, and unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Time = Annotated[
    float,
    BeforeValidator(parse_time),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": TIME_PATTERN},
            ],
            "description": "seconds, or a string with a unit: 250us, 5ms, 2s, 3min",
        }
    ),
]
"""A time in seconds; accepts a number or a string with a unit."""

Rate = Annotated[
    float,
    BeforeValidator(parse_rate),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": RATE_PATTERN},
            ],
            "description": "per second, or a string with a unit: 2000/s, 10k/s, 120/min",
        }
    ),
]
"""A rate per second; accepts a number or a string such as ``2000/s``."""

Size = Annotated[
    float,
    BeforeValidator(parse_size),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": SIZE_PATTERN},
            ],
            "description": "bytes, or a string with a unit: 512B, 4KiB, 1.5MB, 8GiB",
        }
    ),
]
"""A size in bytes; accepts a number or a string such as ``4KiB`` or ``1.5MB``."""

Bandwidth = Annotated[
    float,
    BeforeValidator(parse_bandwidth),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": BANDWIDTH_PATTERN},
            ],
            "description": "bytes per second, or a string: 100Mbit/s, 1Gbps, 10MB/s",
        }
    ),
]
"""A bandwidth in bytes per second; accepts a number or a string such as ``1Gbit/s``."""

Price = Annotated[
    float,
    BeforeValidator(parse_price),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": PRICE_PATTERN},
            ],
            "description": "money per hour, or a string: 0.20/h, 4.8/day, 146/month",
        }
    ),
]
"""A price rate per hour (currency-neutral); accepts a number or a string such as ``0.20/h``."""

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""Component, class and endpoint names: letters, digits and underscores."""
CALL_TARGET = r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$"
"""A call target written ``component.endpoint``."""

MAX_RATE = 1e7
"""Upper bound on arrival rates (requests per second)."""
MAX_COUNT = 100_000
"""Upper bound on counts such as replicas, cores, workers, users."""
MAX_TIME = 1e7
"""Upper bound on times in seconds (about 115 days)."""
MAX_SIZE = 1e15
"""Upper bound on sizes in bytes (1 PB)."""
MAX_BANDWIDTH = 1e13
"""Upper bound on bandwidths in bytes per second (80 Tbit/s)."""

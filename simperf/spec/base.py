"""Building blocks shared by every spec model: the base class and unit-aware types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from simperf.units import (
    RATE_PATTERN,
    SIZE_PATTERN,
    TIME_PATTERN,
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

Bytes = Annotated[
    float,
    BeforeValidator(parse_size),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": SIZE_PATTERN},
            ],
            "description": "bytes, or a string with a unit: 512, 4KB, 1.5MB, 64KiB, 2GiB",
        }
    ),
]
"""A size in bytes; accepts a number or a string with a unit (KB = 1000, KiB = 1024)."""

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

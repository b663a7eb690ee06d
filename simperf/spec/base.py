"""Building blocks shared by every spec model: the base class and unit-aware types."""

from __future__ import annotations

import difflib
import functools
import math
import operator
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    GetJsonSchemaHandler,
    PlainValidator,
    Tag,
    WrapValidator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from simperf.units import (
    BANDWIDTH_PATTERN,
    COUNT_PATTERN,
    FRACTION_PATTERN,
    PRICE_PATTERN,
    RATE_PATTERN,
    SIZE_PATTERN,
    TIME_PATTERN,
    parse_bandwidth,
    parse_count,
    parse_fraction,
    parse_price,
    parse_rate,
    parse_size,
    parse_time,
)


class SpecModel(BaseModel):
    """Base of all spec models: immutable, and unknown fields are errors.

    Numbers are strict in three ways pydantic is not by default: a boolean is not a number
    (``cores: true`` would be 1), a quoted number is not a number where the field takes no
    string (a unit, a name: ``cores: "3"``, as the JSON Schema says), and every number must
    be finite (``.nan``, ``.inf``, ``1e400``). A true/false field takes ``true`` or
    ``false`` only, as the JSON Schema says: not ``"yes"``, ``"on"`` (strings: the reader
    reads YAML's ``yes``, ``no``, ``on`` and ``off`` as such) or ``1``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, field in cls.model_fields.items():
            key = field.alias if field.alias in data else name
            if key not in data:
                continue
            opaque, takes_bool, numbers_only = _annotation_kind(cls, name)
            value = data[key]
            if _bool_only(cls, name) and not isinstance(value, bool | None):
                # pydantic would read "yes", "on", "1" or 1 as true; the JSON Schema does not
                shown = f"the string {value!r}" if isinstance(value, str) else repr(value)
                raise ValueError(f"{key}: expected true or false, not {shown}")
            if not takes_bool and (
                isinstance(value, bool) or (not opaque and _contains_bool(value))
            ):
                raise ValueError(f"{key}: expected a number, not a boolean")
            if numbers_only and any(isinstance(item, str) for item in _leaves(value)):
                text = next(item for item in _leaves(value) if isinstance(item, str))
                raise ValueError(f"{key}: expected a number, not the string {text!r}")
        return data

    @model_validator(mode="after")
    def _finite_numbers(self) -> SpecModel:
        for name, field in type(self).model_fields.items():
            if not _all_finite(getattr(self, name)):
                raise ValueError(f"{field.alias or name}: must be a finite number (not nan or inf)")
        return self


_KINDS: dict[tuple[type, str], tuple[bool, bool, bool]] = {}
# Metadata of an annotation whose function may read a string into a number (a unit).
_PARSERS = (BeforeValidator, PlainValidator, WrapValidator)


@functools.cache
def _bool_only(model: type[BaseModel], field: str) -> bool:
    """Whether a field takes a boolean and nothing else (``None`` aside)."""
    ann = model.model_fields[field].annotation
    return ann is bool or (
        typing.get_origin(ann) in (typing.Union, types.UnionType)
        and set(typing.get_args(ann)) == {bool, type(None)}
    )


def _annotation_kind(model: type[BaseModel], field: str) -> tuple[bool, bool, bool]:
    """(holds models or free-form data, accepts booleans, holds numbers and takes no
    string) for a field, cached per class."""
    key = (model, field)
    if key not in _KINDS:
        opaque = takes_bool = takes_str = numbers = False
        # a validator of the model's own may read strings: the field is left to it
        decorators = model.__pydantic_decorators__.field_validators.values()
        takes_str = any(field in d.info.fields and d.info.mode != "after" for d in decorators)
        stack = [model.model_fields[field].annotation, *model.model_fields[field].metadata]
        while stack:
            ann = stack.pop()
            if ann is bool or ann is Any:
                takes_bool = takes_str = True
            elif ann is str or isinstance(ann, _PARSERS) or typing.get_origin(ann) is Literal:
                takes_str = True
            elif ann is int or ann is float:
                numbers = True
            elif isinstance(ann, type) and (issubclass(ann, BaseModel) or typing.is_typeddict(ann)):
                opaque = True  # nested models check their own fields
            args = typing.get_args(ann)
            if typing.get_origin(ann) is dict:
                args = args[1:]  # a mapping's keys are names: only its values may be numbers
            stack.extend(a for a in args if not isinstance(a, str))
        _KINDS[key] = (opaque, takes_bool, numbers and not takes_str and not opaque)
    return _KINDS[key]


def _leaves(value: Any) -> Iterator[Any]:
    """Every value inside nested lists, tuples and dicts (a dict's values), depth first."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        else:
            yield item


def _contains_bool(value: Any) -> bool:
    return any(isinstance(item, bool) for item in _leaves(value))


def _all_finite(value: Any) -> bool:
    return all(math.isfinite(item) for item in _leaves(value) if isinstance(item, float))


@dataclass(frozen=True)
class UnitString:
    """JSON Schema of a unit-aware number: the number itself, or a string with a unit.

    The number keeps the bounds of its field (``minimum``, ``exclusiveMaximum`` ...);
    a string's value is known only once its unit is parsed, so it is checked by pattern.

    Parameters
    ----------
    pattern
        Regular expression of the strings the field's parser accepts.
    description
        What the number means and examples of strings.
    """

    pattern: str
    description: str

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        number: dict[str, Any] = handler(schema)
        return {
            "anyOf": [number, {"type": "string", "pattern": self.pattern}],
            "description": self.description,
        }


def unit_number(kind: type, parse: Callable[[Any], Any], pattern: str, description: str) -> Any:
    """A number field type that also accepts a string with a unit.

    Parameters
    ----------
    kind
        ``float`` or ``int``: the type of the parsed value.
    parse
        The parser of numbers and strings (a :mod:`simperf.units` parser).
    pattern, description
        The JSON Schema of its strings (see :class:`UnitString`).
    """
    return Annotated[kind, BeforeValidator(parse), UnitString(pattern, description)]


def tagged_union(
    members: dict[str, Any],
    tag_of: Callable[[Any], str | None],
    error_type: str | None = None,
    message: str | None = None,
) -> Any:
    """A union discriminated by ``tag_of``, which names the member a value is meant for.

    Parameters
    ----------
    members
        Each tag and its type, in the order of the union (and of its JSON Schema).
    tag_of
        The tag of a raw value or a validated model (None: no member fits).
    error_type, message
        The error reported when ``tag_of`` finds no member.
    """
    union = functools.reduce(operator.or_, [Annotated[t, Tag(tag)] for tag, t in members.items()])
    return Annotated[
        union, Discriminator(tag_of, custom_error_type=error_type, custom_error_message=message)
    ]


Time = unit_number(
    float, parse_time, TIME_PATTERN, "seconds, or a string with a unit: 250us, 5ms, 2s, 3min"
)
"""A time in seconds; accepts a number or a string with a unit."""

Rate = unit_number(
    float, parse_rate, RATE_PATTERN, "per second, or a string with a unit: 2000/s, 10k/s, 120/min"
)
"""A rate per second; accepts a number or a string such as ``2000/s``."""

Size = unit_number(
    float, parse_size, SIZE_PATTERN, "bytes, or a string with a unit: 512B, 4KiB, 1.5MB, 8GiB"
)
"""A size in bytes; accepts a number or a string such as ``4KiB`` or ``1.5MB``."""

Bandwidth = unit_number(
    float,
    parse_bandwidth,
    BANDWIDTH_PATTERN,
    "bytes per second, or a string: 100Mbit/s, 1Gbps, 10MB/s",
)
"""A bandwidth in bytes per second; accepts a number or a string such as ``1Gbit/s``."""

Price = unit_number(
    float, parse_price, PRICE_PATTERN, "money per hour, or a string: 0.20/h, 4.8/day, 146/month"
)
"""A price rate per hour (currency-neutral); accepts a number or a string such as ``0.20/h``."""

Count = unit_number(
    int, parse_count, COUNT_PATTERN, "a whole number, or with an SI suffix: 2k, 1.5M, 1G"
)
"""A whole count; accepts a number or a string such as ``2k`` (as rates accept ``10k/s``)."""

Fraction = unit_number(
    float, parse_fraction, FRACTION_PATTERN, "a fraction, or a percentage: 0.1, 10%, 2.5 %"
)
"""A fraction; accepts a number or a percentage string such as ``10%`` (as targets do)."""

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


def suggest(word: object, names: Any) -> str:
    """`` (did you mean 'x'?)`` for the allowed name closest to ``word``, or ``""``."""
    close = difflib.get_close_matches(str(word), sorted(map(str, names)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""

"""Key spaces: how many distinct keys there are and how popular each one is.

A key space is written ``{keys: 100000, popularity: {model: zipf, alpha: 0.9}}``. Keys are
identified by their popularity rank, 0 being the most popular (for a trace: by order of
first appearance). Shorthands: ``popularity: uniform`` and ``popularity: {zipf: 0.9}``.

Runtime samplers live in :mod:`simperf.keys`; this module is pure data and does no I/O
(a trace's file is read only when a sampler is built).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from typing_extensions import TypedDict

from simperf.spec.base import Count, SpecModel, tagged_union

MAX_KEYS = 1_000_000_000
"""Upper bound on the number of distinct keys of a key space."""
MAX_ALPHA = 5.0
"""Upper bound on the Zipf exponent (beyond it nearly every request hits key 0)."""


class ZipfPopularity(SpecModel):
    """Zipf popularity over a finite key space: P(rank i) ∝ 1 / (i + 1)^alpha."""

    model: Literal["zipf"] = Field("zipf", description="popularity model")
    alpha: float = Field(
        gt=0,
        le=MAX_ALPHA,
        description="Zipf exponent; 0.6-1.0 is typical of web and key-value workloads",
    )


class UniformPopularity(SpecModel):
    """Every key equally likely."""

    model: Literal["uniform"] = Field("uniform", description="popularity model")


class HotsetPopularity(SpecModel):
    """A fraction ``hot_requests`` of requests goes to a fraction ``hot_keys`` of keys.

    Within the hot set and within the rest, keys are equally likely. The hot set is the
    first ``ceil(hot_keys * keys)`` ranks.
    """

    model: Literal["hotset"] = Field("hotset", description="popularity model")
    hot_keys: float = Field(gt=0, lt=1, description="fraction of the keys that are hot")
    hot_requests: float = Field(
        gt=0, lt=1, description="fraction of the requests that go to the hot keys"
    )

    def hot_count(self, keys: int) -> int:
        """Number of hot keys in a key space of ``keys`` keys (at least 1)."""
        # Rounding first keeps e.g. 0.07 * 100 = 7.000000000000001 from becoming 8.
        return max(1, math.ceil(round(self.hot_keys * keys, 6)))


class TracePopularity(SpecModel):
    """Keys replayed from a CSV file, one row per request, in file order.

    Key labels may be anything (numbers or strings); they are numbered by first
    appearance. The file is not opened during validation.
    """

    model: Literal["trace"] = Field("trace", description="popularity model")
    path: str = Field(min_length=1, max_length=4096, description="path of the CSV file")
    column: str = Field(
        "key", min_length=1, max_length=256, description="name of the column holding the key"
    )
    time_column: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="optional column of request timestamps (seconds, or date-times)",
    )


class ZipfShorthand(TypedDict):
    """``{zipf: ALPHA}``, shorthand for ``{model: zipf, alpha: ALPHA}``."""

    zipf: Annotated[float, Field(gt=0, le=MAX_ALPHA)]


def _popularity_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("model")
    return getattr(value, "model", None)


def _popularity_shorthand(value: Any) -> Any:
    """Expand ``uniform`` and ``{zipf: 0.9}`` into the canonical ``{model: ...}`` form."""
    if isinstance(value, str) and value.strip() == "uniform":
        return {"model": "uniform"}
    if isinstance(value, dict) and "model" not in value and len(value) == 1 and "zipf" in value:
        return {"model": "zipf", "alpha": value["zipf"]}
    return value


Popularity = Annotated[
    tagged_union(
        {
            "zipf": ZipfPopularity,
            "uniform": UniformPopularity,
            "hotset": HotsetPopularity,
            "trace": TracePopularity,
        },
        _popularity_tag,
        "popularity",
        "expected uniform, {zipf: ALPHA} or {model: zipf|uniform|hotset|trace, ...}",
    ),
    BeforeValidator(
        _popularity_shorthand,
        json_schema_input_type=(
            ZipfPopularity
            | UniformPopularity
            | HotsetPopularity
            | TracePopularity
            | Literal["uniform"]
            | ZipfShorthand
        ),
    ),
]
"""A popularity model; ``uniform`` and ``{zipf: ALPHA}`` are accepted as shorthands."""

POPULARITY_TAGS = frozenset({"zipf", "uniform", "hotset", "trace"})


class KeyspaceSpec(SpecModel):
    """A named key space: its size and how requests are spread over its keys."""

    keys: Count = Field(
        ge=1,
        le=MAX_KEYS,
        description=(
            "number of distinct keys; for a trace, an upper bound on its distinct keys "
            "(checked when the trace is read)"
        ),
    )
    popularity: Popularity = Field(description="how popular each key is")
    description: str = Field("", max_length=1000, description="free-text note")

    @model_validator(mode="after")
    def _hotset_fits(self) -> KeyspaceSpec:
        pop = self.popularity
        if isinstance(pop, HotsetPopularity) and pop.hot_count(self.keys) >= self.keys:
            raise ValueError(
                f"popularity.hot_keys: {pop.hot_keys} of {self.keys} keys leaves no cold key; "
                "use more keys or a smaller hot_keys"
            )
        return self

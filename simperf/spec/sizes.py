"""Size distributions: the time distributions of :mod:`simperf.spec.distributions` in bytes.

A payload size is written like a time distribution with sizes instead of times:
``{dist: lognormal, median: 4KiB, p99: 1MiB}``; a bare size (``4KiB`` or ``4096``) is a
constant. Each family subclasses its time counterpart and only retypes the fields, so
means, variances and sampling are shared.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Discriminator, Field, Tag

from simperf.spec.base import MAX_SIZE, Size
from simperf.spec.distributions import (
    Constant,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    ScipyDistribution,
    Uniform,
    _distribution_tag,
)


class ConstantSize(Constant):
    """Always the same size."""

    value: Size = Field(ge=0, le=MAX_SIZE, description="the size (bytes)")


class ExponentialSize(Exponential):
    """Exponential sizes with the given mean."""

    mean_: Size = Field(alias="mean", gt=0, le=MAX_SIZE, description="mean (bytes)")


class UniformSize(Uniform):
    """Sizes uniform between ``low`` and ``high``."""

    low: Size = Field(ge=0, le=MAX_SIZE, description="lower bound (bytes)")
    high: Size = Field(ge=0, le=MAX_SIZE, description="upper bound (bytes)")


class LognormalSize(Lognormal):
    """Lognormal sizes given by ``median`` and ``p99`` or by ``mean`` and ``cv``."""

    median: Size | None = Field(None, gt=0, le=MAX_SIZE, description="median (bytes)")
    p99: Size | None = Field(None, gt=0, le=MAX_SIZE, description="99th percentile (bytes)")
    mean_: Size | None = Field(None, alias="mean", gt=0, le=MAX_SIZE, description="mean (bytes)")


class GammaSize(Gamma):
    """Gamma sizes given by ``mean`` and ``cv``."""

    mean_: Size = Field(alias="mean", gt=0, le=MAX_SIZE, description="mean (bytes)")


class EmpiricalSize(Empirical):
    """Resamples the given sizes with equal probability (or the given weights)."""

    values: list[Annotated[Size, Field(ge=0, le=MAX_SIZE)]] = Field(
        min_length=1, max_length=1_000_000, description="observed sizes (bytes)"
    )


def _scalar_to_constant(value: float) -> ConstantSize:
    return ConstantSize(value=value)


SizeDistribution = Annotated[
    Annotated[ConstantSize, Tag("constant")]
    | Annotated[ExponentialSize, Tag("exponential")]
    | Annotated[UniformSize, Tag("uniform")]
    | Annotated[LognormalSize, Tag("lognormal")]
    | Annotated[GammaSize, Tag("gamma")]
    | Annotated[EmpiricalSize, Tag("empirical")]
    | Annotated[ScipyDistribution, Tag("scipy")]
    | Annotated[Size, Field(ge=0, le=MAX_SIZE), AfterValidator(_scalar_to_constant), Tag("scalar")],
    Discriminator(
        _distribution_tag,
        custom_error_type="distribution",
        custom_error_message=(
            "expected a size (constant) or {dist: constant|exponential|uniform|lognormal|"
            "gamma|empirical|scipy, ...} with sizes in bytes or units such as 4KiB"
        ),
    ),
]
"""A size distribution in bytes; a bare size is validated into a :class:`ConstantSize`."""

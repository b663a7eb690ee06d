"""Distributions as specs: data that knows its analytic mean and variance.

A distribution is written ``{dist: exponential, mean: 5ms}``; a bare time (``5ms`` or
``0.005``) is shorthand for a constant. Each spec draws batches with ``sample_batch``;
runtime code wraps that in :func:`simperf.rng.batched`, so no spec object is touched per
event.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, Field, model_validator

from simperf.rng import exponential
from simperf.spec.base import MAX_TIME, SpecModel, Time, tagged_union
from simperf.units import format_time, parse_size, parse_time

_Z99 = 2.3263478740408408  # standard normal 0.99 quantile


_BINARY_UNITS = (("TiB", 2.0**40), ("GiB", 2.0**30), ("MiB", 2.0**20), ("KiB", 2.0**10))


def _show_size(value: float) -> str:
    """Bytes in the largest binary unit they fill (``4KiB``, ``1.5MiB``, ``300B``)."""
    for name, unit in _BINARY_UNITS:
        if value >= unit:
            return f"{value / unit:.4g}{name}"
    return f"{value:g}B"


def _show(value: Any, parser: Any) -> str:
    """A parameter as written in a spec: times and sizes with a unit (``parser`` is the
    field's unit parser, or None), lists item by item."""
    if isinstance(value, list):
        return "[" + ", ".join(_show(v, parser) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v, None)}" for k, v in value.items()) + "}"
    if parser is parse_time and isinstance(value, int | float):
        return format_time(value).replace(" ", "")
    if parser is parse_size and isinstance(value, int | float):
        return _show_size(value)
    return f"{value:g}" if isinstance(value, float) else repr(value)


def _unit_parser(field: Any) -> Any:
    """``parse_time`` or ``parse_size`` when the field is a time or a size, else None."""
    parsers = {getattr(m, "func", None) for m in field.metadata}
    text = str(field.annotation)  # optional fields keep their validators in the annotation
    for parser in (parse_time, parse_size):
        if parser in parsers or parser.__name__ in text:
            return parser
    return None


class _Distribution(SpecModel):
    """Common interface of distribution specs.

    They print as their family and parameters, times and sizes with a unit:

    >>> Gamma(mean=0.01, cv=0.5)
    Gamma(mean=10ms, cv=0.5)
    >>> Empirical(values=[0.001, 0.002, 0.004])
    Empirical(values=[1ms, 2ms, 4ms])
    >>> from simperf.spec.sizes import LognormalSize
    >>> LognormalSize(median="4KiB", p99="1.5MiB")
    LognormalSize(median=4KiB, p99=1.5MiB)
    """

    def __repr__(self) -> str:
        shown = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if name == "dist" or value is None:
                continue
            shown.append(f"{field.alias or name}={_show(value, _unit_parser(field))}")
        return f"{type(self).__name__}({', '.join(shown)})"

    __str__ = __repr__

    @property
    def mean(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def variance(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def cv(self) -> float:
        """Coefficient of variation (standard deviation / mean)."""
        return math.sqrt(self.variance) / self.mean if self.mean else 0.0

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover
        """Draw ``n`` values with ``rng``."""
        raise NotImplementedError

    @property
    def is_constant(self) -> bool:
        return False


class Constant(_Distribution):
    """Always the same value."""

    dist: Literal["constant"] = Field("constant", description="distribution family")
    value: Time = Field(ge=0, le=MAX_TIME, description="the value (seconds)")

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    @property
    def is_constant(self) -> bool:
        return True

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Exponential(_Distribution):
    """Exponential with the given mean (memoryless: the M in M/M/1)."""

    dist: Literal["exponential"] = Field("exponential", description="distribution family")
    mean_: Time = Field(alias="mean", gt=0, le=MAX_TIME, description="mean (seconds)")

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def variance(self) -> float:
        return self.mean_**2

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return exponential(rng, self.mean_, n)


class Uniform(_Distribution):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"] = Field("uniform", description="distribution family")
    low: Time = Field(ge=0, le=MAX_TIME, description="lower bound (seconds)")
    high: Time = Field(ge=0, le=MAX_TIME, description="upper bound (seconds)")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high: must be >= low")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Lognormal(_Distribution):
    """Lognormal given by ``median`` and ``p99`` (what planners know) or ``mean`` and ``cv``."""

    dist: Literal["lognormal"] = Field("lognormal", description="distribution family")
    median: Time | None = Field(None, gt=0, le=MAX_TIME, description="median (seconds)")
    p99: Time | None = Field(None, gt=0, le=MAX_TIME, description="99th percentile (seconds)")
    mean_: Time | None = Field(None, alias="mean", gt=0, le=MAX_TIME, description="mean (seconds)")
    cv_: float | None = Field(
        None, alias="cv", gt=0, le=100, description="coefficient of variation (std / mean)"
    )

    @model_validator(mode="after")
    def _one_parametrisation(self) -> Lognormal:
        by_quantiles = self.median is not None and self.p99 is not None
        by_moments = self.mean_ is not None and self.cv_ is not None
        if by_quantiles == by_moments or (
            by_quantiles and (self.mean_ is not None or self.cv_ is not None)
        ):
            raise ValueError("give either median and p99, or mean and cv")
        if by_quantiles and self.p99 <= self.median:  # type: ignore[operator]
            raise ValueError("p99: must be greater than median")
        _require_finite_moments(self)
        return self

    @property
    def mu_sigma(self) -> tuple[float, float]:
        """Parameters of the underlying normal."""
        if self.median is not None and self.p99 is not None:
            sigma = math.log(self.p99 / self.median) / _Z99
            return math.log(self.median), sigma
        assert self.mean_ is not None and self.cv_ is not None
        sigma2 = math.log1p(self.cv_**2)
        return math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2)

    @property
    def mean(self) -> float:
        mu, sigma = self.mu_sigma
        return math.exp(mu + sigma**2 / 2)

    @property
    def variance(self) -> float:
        mu, sigma = self.mu_sigma
        return (math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2)

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:
        mu, sigma = self.mu_sigma
        return rng.lognormal(mu, sigma, n)


class Gamma(_Distribution):
    """Gamma given by ``mean`` and ``cv`` (cv < 1 is more regular than exponential)."""

    dist: Literal["gamma"] = Field("gamma", description="distribution family")
    mean_: Time = Field(alias="mean", gt=0, le=MAX_TIME, description="mean (seconds)")
    cv_: float = Field(alias="cv", gt=0, le=100, description="coefficient of variation")

    @model_validator(mode="after")
    def _drawable(self) -> Gamma:
        # shape = 1/cv^2 overflows for a tiny cv (1e-200), and numpy cannot draw from it
        try:
            shape, scale = self.shape_scale
        except ArithmeticError:  # cv^2 underflows to 0
            shape, scale = math.inf, 0.0
        if not (math.isfinite(shape) and scale > 0 and math.isfinite(self.variance)):
            raise ValueError(
                f"cv: {self.cv_:g} is too small to draw from (use {{dist: constant}} instead)"
            )
        return self

    @property
    def shape_scale(self) -> tuple[float, float]:
        """numpy's parameters: shape ``1/cv^2`` and scale ``mean/shape``."""
        shape = 1.0 / self.cv_**2
        return shape, self.mean_ / shape

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def variance(self) -> float:
        return (self.cv_ * self.mean_) ** 2

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:
        shape, scale = self.shape_scale
        return rng.gamma(shape, scale, n)


class Empirical(_Distribution):
    """Resamples the given values with equal probability (or the given weights)."""

    dist: Literal["empirical"] = Field("empirical", description="distribution family")
    values: list[Time] = Field(min_length=1, max_length=1_000_000, description="observed values")
    weights: list[float] | None = Field(None, description="relative weights, one per value")

    @model_validator(mode="after")
    def _check(self) -> Empirical:
        if any(v < 0 for v in self.values):
            raise ValueError("values: must all be >= 0")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("weights: must have one weight per value")
            total = sum(self.weights)
            if any(w < 0 for w in self.weights) or not 0 < total < math.inf:
                raise ValueError("weights: must be >= 0 with a positive, finite sum")
        return self

    def _probabilities(self) -> np.ndarray:
        if self.weights is None:
            return np.full(len(self.values), 1.0 / len(self.values))
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self._probabilities(), self.values))

    @property
    def variance(self) -> float:
        p = self._probabilities()
        v = np.asarray(self.values)
        return float(np.dot(p, (v - np.dot(p, v)) ** 2))

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:
        v = np.asarray(self.values, dtype=float)
        if self.weights is None:
            return v[rng.integers(0, len(v), n)]
        return rng.choice(v, size=n, p=self._probabilities())


class ScipyDistribution(_Distribution):
    """Any continuous ``scipy.stats`` distribution by name, e.g. ``weibull_min``.

    Values are in seconds; negative draws are clipped to 0.
    """

    dist: Literal["scipy"] = Field("scipy", description="distribution family")
    name: str = Field(description="name of a continuous distribution in scipy.stats")
    params: dict[str, float] = Field(
        default_factory=dict, description="its parameters, e.g. {c: 1.5, scale: 0.01}"
    )

    @model_validator(mode="after")
    def _check(self) -> ScipyDistribution:
        frozen = self._frozen()
        try:
            mean, var = (float(x) for x in frozen.stats(moments="mv"))
        except (ArithmeticError, ValueError, TypeError):  # scipy's own argument checks
            mean = var = math.nan
        if not (math.isfinite(mean) and math.isfinite(var)):
            raise ValueError(
                f"scipy.stats.{self.name} with {self.params} has no finite mean and variance"
            )
        return self

    def _frozen(self) -> Any:
        import scipy.stats

        candidate = getattr(scipy.stats, self.name, None)
        if not isinstance(candidate, scipy.stats.rv_continuous):
            raise ValueError(f"name: {self.name!r} is not a continuous scipy.stats distribution")
        try:
            return candidate(**self.params)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"params: {exc}") from None

    @property
    def mean(self) -> float:
        return float(self._frozen().mean())

    @property
    def variance(self) -> float:
        return float(self._frozen().var())

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.maximum(self._frozen().rvs(size=n, random_state=rng), 0.0)


def _require_finite_moments(spec: _Distribution) -> None:
    """Refuse parameters whose mean or variance overflow (numpy could not draw from them)."""
    try:
        finite = math.isfinite(spec.mean) and math.isfinite(spec.variance)
    except (ArithmeticError, ValueError):
        finite = False
    if not finite:
        raise ValueError(f"{spec.dist}: these parameters give no finite mean and variance")  # type: ignore[attr-defined]


def _distribution_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("dist")
    if isinstance(value, _Distribution):
        return value.dist  # type: ignore[attr-defined]
    if isinstance(value, int | float | str):
        return "scalar"
    return None


def distribution_union(
    families: dict[str, type[SpecModel]], scalar: Any, what: str, after: str = ""
) -> Any:
    """The tagged union of distribution ``families`` (``dist`` -> class, ``constant``
    first) and a bare ``scalar``, validated into the constant family.

    Parameters
    ----------
    families
        Each ``dist`` tag and its spec class, in the order the error message lists them.
    scalar
        The type of a bare value (a time, a size) with its bounds.
    what
        The error message's start: what a bare value is (``"a time (constant)"``).
    after
        The error message's end (units, say).
    """
    constant = families["constant"]

    def to_constant(value: float) -> SpecModel:
        return constant(value=value)

    scalar_member = Annotated[scalar, AfterValidator(to_constant)]
    return tagged_union(
        {**families, "scalar": scalar_member},
        _distribution_tag,
        "distribution",
        f"expected {what} or {{dist: {'|'.join(families)}, ...}}{after}",
    )


FAMILIES: dict[str, type[SpecModel]] = {
    "constant": Constant,
    "exponential": Exponential,
    "uniform": Uniform,
    "lognormal": Lognormal,
    "gamma": Gamma,
    "empirical": Empirical,
    "scipy": ScipyDistribution,
}

Distribution = distribution_union(
    FAMILIES, Annotated[Time, Field(ge=0, le=MAX_TIME)], "a time (constant)"
)
"""A distribution spec; a bare time is validated into a :class:`Constant`."""

DISTRIBUTION_TAGS = frozenset({*FAMILIES, "scalar"})

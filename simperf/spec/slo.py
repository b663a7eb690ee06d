"""Service-level objectives: a metric of the result that must stay below (or above) a target.

``slo: [{metric: latency.all.p99, below: 200ms}, {metric: error_rate, below: 0.1%}]``.
The metric is any path of the result (:func:`simperf.experiment.metrics.flatten`), and
the target takes its unit (:func:`metric_kind`, which the text's values read too): a
time for latencies and waits (``200ms``), a rate for throughputs and other per-second
metrics (``50/s``: ``estimate.bottleneck.saturation_rate``, ``rate_limits.api.rate``), a
fraction or percentage for error and hit rates, shares and utilisations (``0.1%``,
``0.8``), a price for costs (``2/h``), a plain number otherwise. An SLO is
judged over replications (:mod:`simperf.experiment.capacity`), never on one run.

Fast answers that fail are no service: unless the SLOs bound ``error_rate`` themselves,
:func:`with_error_budget` adds ``error_rate < 0.1%`` (:data:`DEFAULT_MAX_ERROR_RATE`), so
a design that meets its latency target by rejecting requests does not meet its SLOs. An
``error_rate`` entry in the ``slo:`` list (or ``--slo 'error_rate<1%'``) sets another
threshold.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, WithJsonSchema, model_validator

from simperf.errors import SimperfWarning
from simperf.spec.base import SpecModel
from simperf.units import (
    COUNT_PATTERN,
    FRACTION_PATTERN,
    PRICE_PATTERN,
    RATE_PATTERN,
    TIME_PATTERN,
    parse_fraction,
    parse_price,
    parse_rate,
    parse_time,
)

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

ERROR_RATE = "error_rate"
"""The metric of the error budget: the share of requests that ended in an error."""
DEFAULT_MAX_ERROR_RATE = 0.001
"""The error rate a design must stay below when its SLOs do not bound ``error_rate``."""

_TIME_LEAVES = frozenset({"mean", "max", "min", "mean_service", "filled_at"})
_PERCENTILE = re.compile(r"p\d+")
"""A percentile's leaf (``p99``, ``p98``: an unknown one is still a time, and refused by
name, not by its unit)."""
_TIME_WORDS = frozenset({"wait", "time"})
_FRACTION_WORDS = frozenset(
    {"rate", "utilization", "share", "offload", "ratio", "occupancy", "reduction"}
)
"""Whole words of a leaf (split at ``_``): ``hit_ratio`` is a share, ``expirations`` and
``generated`` are counts, ``pool_timeouts`` and ``waited`` are not times."""


def _number(value: object) -> float:
    if isinstance(value, str) and value.strip().endswith("%"):
        return parse_fraction(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None


def _bare_number(value: object) -> bool:
    """A number written without a unit (``50``, ``"50"``, ``"1.5"``)."""
    if isinstance(value, str):
        return _BARE.match(value) is not None
    return isinstance(value, int | float) and not isinstance(value, bool)


_BARE = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


MetricKind = Literal["time", "fraction", "rate", "price", "ratio", "count"]
"""How a metric's value reads: the unit its target is written in and its value shown in."""

_RATE_LEAVES = frozenset(
    {"throughput", "rate", "arrival_rate", "visit_rate", "saturation_rate", "qps", "request_rate"}
)
"""Leaves per second, though named like the shares ``error_rate`` and ``hit_rate``
(``estimate.saturation_rate``, ``rate_limits.api.rate``: requests a second; an
autoscaling policy's ``request_rate``, which its actions' reasons name)."""
_RATIO_LEAVES = frozenset({"imbalance", "headroom"})
"""Leaves that are ratios of two loads (max/mean, capacity/load), read as ``1.12x``."""


_AVAILABILITY = "faults.availability."
"""The faults section's availabilities: of requests (by class) and over time (by instance
and component)."""


def metric_kind(metric: str) -> MetricKind:
    """The kind of a result's metric, from its dotted path: the one classification that
    both an SLO's target (:func:`unit_parser`) and the text's values read.

    Examples
    --------
    >>> [metric_kind(m) for m in ("latency.all.p99", "error_rate", "throughput")]
    ['time', 'fraction', 'rate']
    >>> [metric_kind(m) for m in ("components.db.imbalance", "cost.total_per_hour")]
    ['ratio', 'price']
    >>> [metric_kind(m) for m in ("estimate.saturation_rate", "faults.failed")]
    ['rate', 'count']
    >>> [metric_kind(m) for m in ("latency.all.count", "app.p_wait", "requests.generated")]
    ['count', 'fraction', 'count']
    >>> metric_kind("faults.availability.requests.all"), metric_kind("faults.availability.time.x")
    ('fraction', 'fraction')
    """
    leaf = metric.rsplit(".", 1)[-1]
    if metric.startswith(_AVAILABILITY):
        # shares whose leaves are classes, instances and counts up (at_least_up.2), none
        # a word of their kind; a component's number of instances is a count
        return "count" if leaf == "instances" else "fraction"
    if leaf in _RATE_LEAVES or leaf.endswith("_per_second"):
        return "rate"
    if leaf in _RATIO_LEAVES:
        return "ratio"
    if metric.startswith("cost."):
        return "price"
    words = set(leaf.split("_"))
    # p_wait: the probability of waiting, not a wait
    if words & _FRACTION_WORDS or leaf.startswith("p_"):
        return "fraction"
    if leaf in _TIME_LEAVES or _PERCENTILE.fullmatch(leaf) or words & _TIME_WORDS:
        return "time"
    return "count"


_KIND_PARSERS: dict[str, Callable[[object], float]] = {
    "time": parse_time,
    "fraction": parse_fraction,
    "rate": parse_rate,
    "price": parse_price,
    "ratio": _number,
    "count": _number,
}
_KIND_WORDS: dict[str, str] = {
    "time": "a time",
    "fraction": "a share",
    "rate": "a rate per second",
    "price": "a price",
    "ratio": "a plain number",
    "count": "a plain number",
}
"""How a refused target names its metric's kind, so that the unit it wants is plain."""


def unit_parser(metric: str) -> Callable[[object], float]:
    """The parser of a target for ``metric``, chosen by its kind (:func:`metric_kind`).

    Examples
    --------
    >>> unit_parser("estimate.saturation_rate")("500/s"), unit_parser("error_rate")("0.1%")
    (500.0, 0.001)
    """
    return _KIND_PARSERS[metric_kind(metric)]


TargetText = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "|".join(
                f"({p})"
                for p in (
                    TIME_PATTERN,
                    RATE_PATTERN,
                    PRICE_PATTERN,
                    COUNT_PATTERN,
                    FRACTION_PATTERN,
                )
            ),
        }
    ),
]
"""A target with a unit; which unit is checked against the metric (:func:`unit_parser`)."""


class SloSpec(SpecModel):
    """A target on one metric of the result: its mean must be below (or above) a value."""

    metric: str = Field(
        min_length=1, max_length=300, description="metric path (latency.all.p99, error_rate)"
    )
    below: float | TargetText | None = Field(
        None, description="the mean must stay below this (unit of the metric: 200ms, 0.1%)"
    )
    above: float | TargetText | None = Field(
        None, description="the mean must stay above this (unit of the metric: 500/s, 0.9)"
    )

    @model_validator(mode="after")
    def _check(self) -> SloSpec:
        if (self.above is None) == (self.below is None):
            raise ValueError("give below or above (one of them)")
        parser = unit_parser(self.metric)
        try:
            target = parser(self.bound_value)
        except ValueError as exc:
            kind = _KIND_WORDS[metric_kind(self.metric)]
            raise ValueError(f"{self.side}: {exc} ({self.metric} is {kind})") from None
        if self.below is not None and target <= 0 and parser is not _number:
            # times, rates, prices and fractions are never negative: no run could meet it
            raise ValueError(f"below: must be > 0 ({self.metric} is never below 0)")
        if parser is parse_time and target >= 1 and _bare_number(self.bound_value):
            # as spec.hints warns of service times: "p99<50" is 50 s, rarely what is meant
            shown = f"{target:g}"
            warnings.warn(
                f"slo {self.metric} {'<' if self.side == 'below' else '>'} {shown}: a bare "
                f"number is seconds; write the unit (e.g. {shown}ms, or {shown}s if seconds "
                "are meant)",
                SimperfWarning,
                stacklevel=2,
            )
        return self

    @property
    def side(self) -> Literal["below", "above"]:
        """Which side of the target the metric must stay on."""
        return "below" if self.below is not None else "above"

    @property
    def bound_value(self) -> float | str:
        value = self.below if self.below is not None else self.above
        assert value is not None
        return value

    @property
    def target(self) -> float:
        """The target in the metric's base unit (seconds, per second, fraction ...)."""
        return unit_parser(self.metric)(self.bound_value)


_SLO_TEXT = re.compile(r"^\s*(\S.*?)\s*([<>])\s*([^<>\s][^<>]*?)\s*$")
"""``METRIC<VALUE``: the operator is the last ``<`` or ``>``, since a metric path may hold
one (the link ``ap->us``), and brackets, colons and spaces too (``app[0]``,
``store[s0:primary]``, an estimate's station ``replica cpu``); a value holds none."""


def parse_slo(text: str) -> SloSpec:
    """An SLO written ``METRIC<VALUE`` or ``METRIC>VALUE`` (``latency.all.p99<200ms``).

    Raises
    ------
    ValueError
        If the text is not of that form or the value is not in the metric's unit.
    """
    match = _SLO_TEXT.match(text)
    if not match:
        raise ValueError(
            f"expected METRIC<VALUE or METRIC>VALUE, e.g. latency.all.p99<200ms, got {text!r}"
        )
    metric, op, value = match.groups()
    side = "below" if op == "<" else "above"
    return _validated({"metric": metric, side: value}, f"{text.strip()}: ")


def _validated(data: Any, where: str = "") -> SloSpec:
    """``data`` as an SLO; a problem as one ValueError line per problem (``where`` first),
    not pydantic's report with its types, inputs and links."""
    from pydantic import ValidationError

    from simperf.spec.validation import format_validation_error

    try:
        return SloSpec.model_validate(data)
    except ValidationError as exc:
        lines = format_validation_error(exc, data, SloSpec).splitlines()
        raise ValueError("\n".join(where + line for line in lines)) from None


def as_slos(slo: Any) -> list[SloSpec]:
    """SLOs from specs, dicts or ``METRIC<VALUE`` strings (one or a list)."""
    items = slo if isinstance(slo, list | tuple) else [slo]
    out = []
    for item in items:
        if isinstance(item, SloSpec):
            out.append(item)
        elif isinstance(item, str):
            out.append(parse_slo(item))
        else:
            out.append(_validated(item))
    return out


def with_error_budget(slos: list[SloSpec]) -> list[SloSpec]:
    """The SLOs, with ``error_rate < 0.1%`` added unless one of them bounds the error rate.

    Examples
    --------
    >>> [(s.metric, s.target) for s in with_error_budget(as_slos("latency.all.p99<200ms"))]
    [('latency.all.p99', 0.2), ('error_rate', 0.001)]
    >>> [(s.metric, s.target) for s in with_error_budget(as_slos("error_rate<1%"))]
    [('error_rate', 0.01)]
    """
    if any(s.metric == ERROR_RATE for s in slos):
        return list(slos)
    return [*slos, SloSpec(metric=ERROR_RATE, below=DEFAULT_MAX_ERROR_RATE)]


def slo_problems(scenario: Scenario) -> list[str]:
    """SLOs on the latency of a request class the workload does not have, each as
    ``path: message`` (other metric names are checked against a dry run's result)."""
    classes = [c.name for c in scenario.workload.classes]
    problems = []
    for i, slo in enumerate(scenario.slo):
        parts = slo.metric.split(".")
        if len(parts) > 2 and parts[0] == "latency" and parts[1] not in ("all", *classes):
            problems.append(
                f"slo[{i}].metric: unknown request class {parts[1]!r} "
                f"(classes: all, {', '.join(classes)})"
            )
    return problems

"""Autoscaling of an app server: how many of its instances are provisioned over time.

``autoscaling: {min: 2, max: 10, metric: cpu_utilization, target: 60%}`` keeps between
``min`` and ``max`` instances (starting at ``replicas``, raised to ``min`` or lowered to
``max``). Every
``evaluation_period`` the metric is computed over the period just ended, per instance
in service; it is acted on ``metric_lag`` later (a monitoring pipeline's delay). A
policy is either *target tracking* (``target``: the fleet becomes ``ceil(n x metric /
target)``, n the instances measured, except while ``|metric / target - 1|`` is within
``tolerance``, when it stays) or *steps* (``steps: [{above: 80%, change: 2},
{below: 30%, change: -1}]``: an ``above`` step adds to the instances the period measured, and
acts only beyond the fleet, so that instances warming count as capacity added for the
same rise, as AWS's step scaling counts them). An instance added takes traffic ``warmup``
after the decision (launch, boot, registration) and starts cold: no sessions, no requests in
progress. An instance removed takes no new requests and is released once the requests
it holds have finished (drain); a scale-out takes draining instances back first, at
once and warm. No scale-out is taken within ``cooldown`` of the last
scale-out, and no scale-in within ``scale_in_cooldown`` (by default ``cooldown``) of any
action: a scale-in never delays the scale-out a rise in load needs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from simperf.spec.base import MAX_COUNT, MAX_TIME, Fraction, SpecModel, Time
from simperf.units import parse_fraction, parse_rate

METRICS = ("cpu_utilization", "worker_occupancy", "queue_length", "request_rate")
"""What a policy tracks, per instance in service over an evaluation period."""

Metric = Literal["cpu_utilization", "worker_occupancy", "queue_length", "request_rate"]

_FRACTIONS = frozenset({"cpu_utilization", "worker_occupancy"})


def parse_level(metric: str, value: object) -> float:
    """A threshold or target of ``metric`` in its unit (a fraction, a rate or a number)."""
    if metric in _FRACTIONS:
        return parse_fraction(value)
    if metric == "request_rate":
        return parse_rate(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


class ScalingStep(SpecModel):
    """One step of a step policy: when the metric is above (or below) a level, change by k."""

    above: float | str | None = Field(
        None, description="act when the metric is above this level (60%, 50/s, 4)"
    )
    below: float | str | None = Field(None, description="act when the metric is below this level")
    change: int = Field(
        ge=-MAX_COUNT,
        le=MAX_COUNT,
        description="instances to add (> 0, with above) or remove (< 0, with below)",
    )

    @model_validator(mode="after")
    def _one_side(self) -> ScalingStep:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        if self.above is not None and self.change <= 0:
            raise ValueError("change: must be > 0 with above (instances added)")
        if self.below is not None and self.change >= 0:
            raise ValueError("change: must be < 0 with below (instances removed)")
        return self


class AutoscalingSpec(SpecModel):
    """Instances added and removed with the load, between ``min`` and ``max``.

    Every ``evaluation_period`` the metric of the period just ended (per instance in
    service) is acted on ``metric_lag`` later, by target tracking (``target``, left
    alone within ``tolerance`` of it) or by ``steps``; an instance added takes traffic
    ``warmup`` after the decision, one removed drains first. The fleet starts at
    ``replicas`` brought within ``min..max``.
    """

    min: int = Field(ge=1, le=MAX_COUNT, description="fewest instances provisioned")
    max: int = Field(ge=1, le=MAX_COUNT, description="most instances provisioned")
    metric: Metric = Field(
        "cpu_utilization",
        description="per instance in service: cpu_utilization (busy cores / cores), "
        "worker_occupancy, queue_length (requests waiting) or request_rate "
        "(requests sent per second: the load offered)",
    )
    target: float | str | None = Field(
        None, description="target tracking: the metric's level to keep (60%, 50/s, 4)"
    )
    steps: list[ScalingStep] | None = Field(
        None, min_length=1, max_length=100, description="step policy: [{above|below, change}]"
    )
    evaluation_period: Time = Field(
        60.0, gt=0, le=MAX_TIME, description="the metric is computed over each such period"
    )
    metric_lag: Time = Field(
        0.0, ge=0, le=MAX_TIME, description="delay before a period's metric is acted on"
    )
    warmup: Time = Field(
        0.0, ge=0, le=MAX_TIME, description="from a decision to add to the instance taking traffic"
    )
    cooldown: Time = Field(
        0.0, ge=0, le=MAX_TIME, description="after a scale-out, no other scale-out for this long"
    )
    scale_in_cooldown: Time | None = Field(
        None,
        ge=0,
        le=MAX_TIME,
        description="after an action, no scale-in for this long (default: cooldown)",
    )
    scale_in: bool = Field(True, description="false: instances are added but never removed")
    tolerance: Fraction = Field(
        0.0,
        ge=0,
        lt=1,
        description="target tracking: no action while |metric / target - 1| <= this "
        "(a dead band, as Kubernetes' HPA tolerance; 0.1 or 10%; 0: none)",
    )

    @field_validator("target", mode="before")
    @classmethod
    def _no_boolean_target(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a number, not a boolean")
        return value

    @model_validator(mode="after")
    def _policy(self) -> AutoscalingSpec:
        if self.min > self.max:
            raise ValueError(f"min: {self.min} is more than max ({self.max})")
        if (self.target is None) == (self.steps is None):
            raise ValueError("give exactly one policy: target (target tracking) or steps")
        if self.tolerance > 0 and self.target is None:
            raise ValueError("tolerance: a dead band around a target: give target, not steps")
        if self.target is not None:
            level = self._level(self.target, "target")
            if level <= 0:
                raise ValueError("target: must be > 0")
            if self.metric in _FRACTIONS and level > 1:
                raise ValueError(f"target: a {self.metric} target must be at most 100%")
        for i, step in enumerate(self.steps or []):
            side = "above" if step.above is not None else "below"
            level = self._level(getattr(step, side), f"steps[{i}].{side}")
            if level < 0:
                raise ValueError(f"steps[{i}].{side}: must be >= 0")
        return self

    def _level(self, value: object, path: str) -> float:
        try:
            return parse_level(self.metric, value)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None

    @property
    def target_level(self) -> float | None:
        """The target in the metric's unit (None for a step policy)."""
        return None if self.target is None else parse_level(self.metric, self.target)

    @property
    def step_levels(self) -> list[tuple[str, float, int]]:
        """The steps as ``(above|below, level, change)``."""
        return [
            ("above", parse_level(self.metric, s.above), s.change)
            if s.above is not None
            else ("below", parse_level(self.metric, s.below), s.change)
            for s in self.steps or []
        ]

    @property
    def in_cooldown(self) -> float:
        """The cooldown after any action before a scale-in."""
        return self.cooldown if self.scale_in_cooldown is None else self.scale_in_cooldown


def autoscaled(scenario: Any) -> dict[str, int]:
    """Each autoscaled server of a scenario -> its fleet's ``max``."""
    return {
        name: spec.autoscaling.max
        for name, spec in scenario.components.items()
        if getattr(spec, "autoscaling", None) is not None
    }

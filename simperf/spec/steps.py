"""The steps of an app server's endpoint: cpu, delay, call and parallel here, and the union
of every step kind (query, read, write, rate_limit and leaderboard come from the specs of
the components they use)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from simperf.spec.base import CALL_TARGET, MAX_TIME, SpecModel, Time, tagged_union
from simperf.spec.cache import ReadStep, WriteStep
from simperf.spec.cache_ops import LeaderboardStep, RateLimitStep
from simperf.spec.database import QueryStep
from simperf.spec.distributions import Distribution
from simperf.spec.kind import CALL, PARALLEL, Forward, StepKind
from simperf.spec.resilience import FallbackSpec, HedgeSpec, RetrySpec


class CpuStep(StepKind):
    """Hold one core for a sampled time divided by the instance's ``speed``."""

    cpu: Distribution = Field(description="CPU time at speed 1")


class DelayStep(StepKind):
    """Wait without holding a core (an external call, a sleep, I/O not modelled elsewhere)."""

    delay: Distribution = Field(description="time to wait")


class CallStep(StepKind):
    """Call another component's endpoint and wait for it, written ``component.endpoint``."""

    call: str = Field(pattern=CALL_TARGET, description="target as component.endpoint")
    timeout: Time | None = Field(
        None, gt=0, le=MAX_TIME, description="give up an attempt after this long (default: never)"
    )
    retry: RetrySpec | None = Field(None, description="attempts, backoff, budget (default: none)")
    hedge: HedgeSpec | None = Field(
        None, description="send further copies, one every delay, until one answers"
    )
    fallback: FallbackSpec | None = Field(
        None, description="on failure: skip the call or serve a default (request ends degraded)"
    )

    def forwards(self) -> list[Forward]:
        """The endpoint called."""
        component, endpoint = self.call.split(".")
        return [Forward(component, endpoint, CALL)]


class ParallelStep(StepKind):
    """Call several endpoints at once and wait for all of them (scatter-gather)."""

    parallel: list[Annotated[str, Field(pattern=CALL_TARGET)]] = Field(
        min_length=1, max_length=1000, description="targets as component.endpoint"
    )
    timeout: Time | None = Field(
        None, gt=0, le=MAX_TIME, description="give up each arm after this long (default: never)"
    )

    def forwards(self) -> list[Forward]:
        """Every arm's endpoint."""
        return [Forward(*call.split("."), PARALLEL) for call in self.parallel]  # type: ignore[misc]


def _step_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = set(value) & set(STEP_TYPES)
        return keys.pop() if len(keys) == 1 else None
    for tag, cls in STEP_TYPES.items():
        if isinstance(value, cls):
            return tag
    return None


STEP_TYPES: dict[str, type[SpecModel]] = {
    "cpu": CpuStep,
    "delay": DelayStep,
    "call": CallStep,
    "parallel": ParallelStep,
    "query": QueryStep,
    "read": ReadStep,
    "write": WriteStep,
    "rate_limit": RateLimitStep,
    "leaderboard": LeaderboardStep,
}

Step = tagged_union(
    STEP_TYPES,
    _step_tag,
    "step",
    f"expected exactly one of {', '.join(list(STEP_TYPES)[:-1])} or {list(STEP_TYPES)[-1]}",
)
STEP_TAGS = frozenset(STEP_TYPES)

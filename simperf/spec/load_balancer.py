"""Load-balancer spec: a policy spreading requests over the instances of its backends."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from simperf.spec.base import SpecModel
from simperf.spec.distributions import Constant, Distribution

BalancingPolicy = Literal["round_robin", "random", "least_connections"]


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class LoadBalancerSpec(SpecModel):
    """Spreads each request over the instances of its backend components.

    ``least_connections`` counts the requests each instance has in progress (queued or
    served), not just those in transit through the balancer.
    """

    kind: Literal["load_balancer"] = Field("load_balancer", description="component kind")
    policy: BalancingPolicy = Field("round_robin", description="how an instance is chosen")
    backends: Annotated[list[str], BeforeValidator(_as_list)] = Field(
        min_length=1,
        max_length=1000,
        description="component name(s) whose instances receive the traffic",
    )
    overhead: Distribution = Field(
        default_factory=lambda: Constant(value=0.0),
        description="processing time the balancer adds to each request",
    )

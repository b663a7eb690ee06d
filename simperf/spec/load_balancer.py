"""Load-balancer spec: a policy spreading requests over the instances of its backends."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, model_validator

from simperf.spec.base import IDENTIFIER, MAX_TIME, SpecModel, Time
from simperf.spec.cost import CostSpec
from simperf.spec.distributions import Constant, Distribution
from simperf.spec.kind import BACKEND, ComponentKind, Forward

BalancingPolicy = Literal[
    "round_robin",
    "random",
    "least_connections",
    "weighted_round_robin",
    "power_of_two",
    "ip_hash",
    "geographic",
]
# Fields that only mean something under one policy: setting them elsewhere is an error.
POLICY_FIELDS = {
    "weights": "weighted_round_robin",
    "virtual_nodes": "ip_hash",
    "spill_over": "geographic",
}


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


_Backends = Annotated[list[str], Field(min_length=1, max_length=1000)]
"""Backend names; one name may be written alone (``backends: app``)."""


class HealthCheckSpec(SpecModel):
    """Active health checks: the balancer probes each instance every ``interval``.

    A probe fails when the instance is down (after ``timeout``, as a connection to a dead
    host does) or, with ``endpoint``, when that endpoint's response takes longer than
    ``timeout``: the probe queues for a worker like any request, so an overloaded instance
    fails it too. After ``unhealthy_threshold`` failures in a row the instance gets no
    traffic; after ``healthy_threshold`` successes in a row it gets traffic again. Until
    then requests still reach a dead instance and fail as ``instance_down`` (unless the
    balancer ``retries`` them elsewhere). Without a health check the balancer knows at
    once which instances are down: an ideal check with no delay.
    """

    interval: Time = Field(10.0, gt=0, le=MAX_TIME, description="time between probes")
    timeout: Time = Field(
        2.0, gt=0, le=MAX_TIME, description="a probe with no answer by then has failed"
    )
    unhealthy_threshold: int = Field(
        3, ge=1, le=1000, description="failed probes in a row that remove an instance"
    )
    healthy_threshold: int = Field(
        2, ge=1, le=1000, description="passed probes in a row that restore an instance"
    )
    endpoint: str | None = Field(
        None,
        pattern=IDENTIFIER,
        description="endpoint of the backends each probe calls (served like a request); "
        "null: the probe only finds whether the instance is up",
    )

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> HealthCheckSpec:
        if self.timeout > self.interval:
            raise ValueError("timeout: must be <= interval (one probe at a time)")
        return self


class OutlierDetectionSpec(SpecModel):
    """Passive outlier ejection (as Envoy's): the balancer watches its own traffic.

    A response that fails, or (with ``latency``) takes longer than ``latency``, counts as an
    error of the instance that gave it; ``consecutive_errors`` in a row eject the instance
    for ``base_ejection_time`` times the number of times it has been ejected (at most
    ``max_ejection_time``). At most ``max_ejection_percent`` of the instances are out at
    once (but always at least one may be). It sees what liveness probes miss: an instance
    that answers, but slowly or wrongly.
    """

    consecutive_errors: int = Field(
        5, ge=1, le=100_000, description="errors in a row that eject an instance"
    )
    latency: Time | None = Field(
        None,
        gt=0,
        le=MAX_TIME,
        description="a response slower than this counts as an error (default: only failures)",
    )
    base_ejection_time: Time = Field(
        30.0, gt=0, le=MAX_TIME, description="first ejection's length (then x ejections)"
    )
    max_ejection_time: Time = Field(300.0, gt=0, le=MAX_TIME, description="longest ejection")
    max_ejection_percent: float = Field(
        50.0, gt=0, le=100, description="most instances ejected at once, in % (at least one)"
    )


class LoadBalancerSpec(ComponentKind):
    """Spreads each request over the instances of its backend components.

    Policies:

    - ``round_robin``, ``random``: in turn, or uniformly at random;
    - ``least_connections``: the instance with the fewest requests in progress (queued or
      served) among those the balancer sent;
    - ``weighted_round_robin``: in turn, in proportion to ``weights`` (smoothly
      interleaved, as nginx does);
    - ``power_of_two``: two distinct instances at random, the one with fewer requests in
      progress wins;
    - ``ip_hash``: sticky by client address, on a consistent-hash ring with
      ``virtual_nodes`` points per instance, so adding an instance moves about 1/n of
      the addresses;
    - ``geographic``: backends grouped by region; a request goes to the group of its
      client's region, or the nearest group with headroom, where a group has headroom
      while its requests in progress are below ``spill_over`` times the workers of its
      instances in rotation (one down takes its workers out).
    """

    fault_kinds: ClassVar[frozenset[str]] = frozenset({"crash", "errors"})

    kind: Literal["load_balancer"] = Field("load_balancer", description="component kind")
    policy: BalancingPolicy = Field("round_robin", description="how an instance is chosen")
    backends: Annotated[
        _Backends, BeforeValidator(_as_list, json_schema_input_type=str | _Backends)
    ] = Field(description="component name(s) whose instances receive the traffic")
    overhead: Distribution = Field(
        default_factory=lambda: Constant(value=0.0),
        description="processing time the balancer adds to each request",
    )
    cost: CostSpec | None = Field(
        None, description="price per hour of the balancer (one instance, per_instance)"
    )
    region: str | None = Field(
        None,
        pattern=IDENTIFIER,
        description="region the balancer runs in (default: none; requests go from the caller "
        "straight to the chosen instance, as with DNS or anycast)",
    )
    weights: (
        dict[Annotated[str, Field(pattern=IDENTIFIER)], Annotated[float, Field(gt=0, le=1e6)]]
        | None
    ) = Field(
        None,
        description="weighted_round_robin: backend -> weight of each of its instances "
        "(default: cores x speed)",
    )
    virtual_nodes: int = Field(
        100, ge=1, le=10_000, description="ip_hash: points per instance on the hash ring"
    )
    spill_over: float = Field(
        1.0,
        gt=0,
        le=1000,
        description="geographic: a group is full at this many requests in progress per worker "
        "of its instances in rotation",
    )

    health_check: HealthCheckSpec | None = Field(
        None,
        description="active health checks; null: the balancer knows at once which instances "
        "are down",
    )
    outlier_detection: OutlierDetectionSpec | None = Field(
        None, description="passive ejection of instances that fail or answer slowly"
    )
    retries: int = Field(
        0,
        ge=0,
        le=10,
        description="times a request refused by a down instance is sent to another instance "
        "the balancer believes healthy",
    )

    @model_validator(mode="after")
    def _policy_fields(self) -> LoadBalancerSpec:
        # Compared with the defaults rather than model_fields_set: a dumped and reloaded
        # spec (overrides, replications) sets every field.
        for field, policy in POLICY_FIELDS.items():
            default = type(self).model_fields[field].get_default(call_default_factory=True)
            if getattr(self, field) != default and self.policy != policy:
                raise ValueError(f"{field}: only applies to policy {policy}")
        return self

    def endpoint_names(self, scenario: Any, seen: frozenset[str] = frozenset()) -> set[str]:
        """The endpoints every backend answers."""
        common: set[str] | None = None
        for backend in self.backends:
            spec = scenario.components.get(backend)
            if spec is not None and spec is not self:
                names = (
                    set() if backend in seen else spec.endpoint_names(scenario, seen | {backend})
                )
                common = names if common is None else common & names
        return common or set()

    def forwards(self, scenario: Any, endpoint: str) -> list[Forward]:
        """Each backend, with its share of the traffic (its share of the instances)."""
        components = scenario.components
        sizes = {b: components[b].instance_count for b in self.backends if b in components}
        count = sum(sizes.values())
        return [
            Forward(b, endpoint, BACKEND, size / count, path="backends")
            for b, size in sizes.items()
        ]

    def problems(self, scenario: Any, name: str) -> list[str]:
        """Backends that are unknown or not app servers."""
        components = scenario.components
        found = []
        for i, backend in enumerate(self.backends):
            path = f"components.{name}.backends[{i}]"
            if backend not in components:
                known = ", ".join(sorted(components))
                found.append(f"{path}: unknown component {backend!r} (known: {known})")
            elif components[backend].kind != "app_server":
                found.append(f"{path}: {backend!r} is not an app_server")
        return found

    def location(self, regions: list[str]) -> int | None:
        """Its ``region``; without one, wherever its caller is."""
        return regions.index(self.region) if self.region is not None else None

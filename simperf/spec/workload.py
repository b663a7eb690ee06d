"""Workload specs: how requests arrive (open or closed loop) and what they ask for."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from simperf.spec.base import IDENTIFIER, MAX_COUNT, MAX_RATE, Rate, SpecModel
from simperf.spec.distributions import Constant, Distribution


class PoissonArrival(SpecModel):
    """Open-loop Poisson arrivals (exponential inter-arrival times)."""

    kind: Literal["poisson"] = Field("poisson", description="arrival process")
    rate: Rate = Field(gt=0, le=MAX_RATE, description="mean arrival rate (requests per second)")


class DeterministicArrival(SpecModel):
    """Open-loop arrivals at exactly ``1/rate`` apart."""

    kind: Literal["deterministic"] = Field("deterministic", description="arrival process")
    rate: Rate = Field(gt=0, le=MAX_RATE, description="arrival rate (requests per second)")


class TraceArrival(SpecModel):
    """Open-loop arrivals replayed from a trace key space: one request per row, at the
    row's timestamp (shifted so that the first row arrives at t = 0), carrying the row's
    key when its class uses that key space. Arrivals stop when the trace ends."""

    kind: Literal["trace"] = Field("trace", description="arrival process")
    keyspace: str = Field(
        pattern=IDENTIFIER,
        max_length=64,
        description="a key space with popularity {model: trace, ..., time_column: ...}",
    )


Arrival = Annotated[
    PoissonArrival | DeterministicArrival | TraceArrival, Field(discriminator="kind")
]
ARRIVAL_TAGS = frozenset({"poisson", "deterministic", "trace"})


class RequestClass(SpecModel):
    """One kind of request: its share of the traffic and where it enters the topology."""

    name: str = Field(pattern=IDENTIFIER, max_length=64, description="class name")
    weight: float = Field(1.0, gt=0, le=1e9, description="relative share of requests")
    entry: str = Field(description="name of the component the request enters")
    endpoint: str = Field(
        pattern=IDENTIFIER, max_length=64, description="endpoint called on the entry component"
    )
    keyspace: str | None = Field(
        None,
        pattern=IDENTIFIER,
        max_length=64,
        description=(
            "key space each request draws its key from (needed to reach read and write "
            "steps); reads and writes of one key space are separate classes"
        ),
    )


class Workload(SpecModel):
    """Open loop (``arrival``) or closed loop (``users`` with ``think_time``)."""

    arrival: Arrival | None = Field(None, description="open-loop arrival process")
    users: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="closed loop: number of concurrent users"
    )
    think_time: Distribution | None = Field(
        None, description="closed loop: time a user waits between a response and its next request"
    )
    classes: list[RequestClass] = Field(
        min_length=1, max_length=1000, description="request classes, chosen by weight"
    )

    @model_validator(mode="after")
    def _open_or_closed(self) -> Workload:
        if (self.arrival is None) == (self.users is None):
            raise ValueError("give exactly one of arrival (open loop) or users (closed loop)")
        if self.think_time is not None and self.users is None:
            raise ValueError("think_time: only applies to a closed loop (users)")
        names = [c.name for c in self.classes]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"classes: duplicate class name(s) {', '.join(duplicates)}")
        if "all" in names:
            raise ValueError("classes: 'all' is reserved for the aggregate")
        return self

    @property
    def think(self) -> Distribution:
        """The think-time distribution (zero if not given)."""
        return self.think_time if self.think_time is not None else Constant(value=0.0)

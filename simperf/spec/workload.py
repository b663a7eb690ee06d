"""Workload specs: how requests arrive (open or closed loop) and what they ask for."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, model_validator

from simperf.spec.base import (
    IDENTIFIER,
    MAX_COUNT,
    MAX_RATE,
    MAX_TIME,
    Count,
    Rate,
    SpecModel,
    Time,
)
from simperf.spec.distributions import Constant, Distribution
from simperf.spec.sizes import SizeDistribution

DAY = 86400.0
MAX_ADDRESSES = 10_000_000
"""Upper bound on the client address population (its popularity table is held in memory)."""


class PoissonArrival(SpecModel):
    """Open-loop Poisson arrivals (exponential inter-arrival times)."""

    kind: Literal["poisson"] = Field("poisson", description="arrival process")
    rate: Rate = Field(gt=0, le=MAX_RATE, description="mean arrival rate (requests per second)")


class DeterministicArrival(SpecModel):
    """Open-loop arrivals at exactly ``1/rate`` apart."""

    kind: Literal["deterministic"] = Field("deterministic", description="arrival process")
    rate: Rate = Field(gt=0, le=MAX_RATE, description="arrival rate (requests per second)")


class PiecewiseArrival(SpecModel):
    """Poisson arrivals whose rate follows a piecewise-constant profile.

    The profile gives the shape: from each ``from`` time on, the rate is proportional to
    the given value (relative numbers or absolute rates alike). It is scaled so that its
    mean is ``rate``: over one ``period`` when the profile repeats, else over the run's
    duration (the last value continuing to its end).
    """

    kind: Literal["piecewise"] = Field("piecewise", description="arrival process")
    rate: Rate = Field(
        gt=0, le=MAX_RATE, description="mean arrival rate (requests per second); scales the profile"
    )
    profile: list[tuple[Time, Annotated[Rate, Field(ge=0, le=MAX_RATE)]]] = Field(
        min_length=1,
        max_length=100_000,
        description="[from, rate] pairs, the first from 0: the shape of the rate over time",
    )
    period: Time | None = Field(
        None,
        gt=0,
        le=MAX_TIME,
        description="the profile repeats with this period (default: it runs once)",
    )

    @model_validator(mode="after")
    def _check_profile(self) -> PiecewiseArrival:
        starts = [start for start, _ in self.profile]
        if starts[0] != 0:
            raise ValueError("profile: the first segment must start at 0")
        if any(b <= a for a, b in pairwise(starts)):
            raise ValueError("profile: the from times must be strictly increasing")
        if not any(rate > 0 for _, rate in self.profile):
            raise ValueError("profile: at least one rate must be > 0")
        if self.period is not None and self.period <= starts[-1]:
            raise ValueError("period: must be longer than the last from time of the profile")
        return self


class DiurnalArrival(SpecModel):
    """Poisson arrivals at ``rate * (1 + amplitude * cos(2 pi (t - peak) / period))``.

    The cosine averages to zero over a period, so ``rate`` is the mean.
    """

    kind: Literal["diurnal"] = Field("diurnal", description="arrival process")
    rate: Rate = Field(gt=0, le=MAX_RATE, description="mean arrival rate (requests per second)")
    amplitude: float = Field(
        ge=0, le=1, description="swing relative to the mean: peak = rate * (1 + amplitude)"
    )
    period: Time = Field(DAY, gt=0, le=MAX_TIME, description="length of one cycle (default 24h)")
    peak: Time = Field(0.0, ge=0, le=MAX_TIME, description="time of the peak rate, e.g. 20h")


class MmppArrival(SpecModel):
    """On/off bursts: a two-state Markov-modulated Poisson process.

    The process alternates between two states, staying in each for an exponential time
    with the given mean; in each state arrivals are Poisson at a rate proportional to
    ``relative_rates``, scaled so that the long-run mean is ``rate``.
    """

    kind: Literal["mmpp"] = Field("mmpp", description="arrival process")
    rate: Rate = Field(gt=0, le=MAX_RATE, description="long-run mean arrival rate (per second)")
    relative_rates: tuple[
        Annotated[float, Field(ge=0, le=MAX_RATE)], Annotated[float, Field(ge=0, le=MAX_RATE)]
    ] = Field(description="arrival rates of the two states, relative to each other")
    mean_sojourns: tuple[
        Annotated[Time, Field(gt=0, le=MAX_TIME)], Annotated[Time, Field(gt=0, le=MAX_TIME)]
    ] = Field(description="mean time spent in each state per visit")

    @model_validator(mode="after")
    def _not_silent(self) -> MmppArrival:
        if not any(r > 0 for r in self.relative_rates):
            raise ValueError("relative_rates: at least one must be > 0")
        return self


class TraceArrival(SpecModel):
    """Open-loop arrivals replayed from a trace key space: one request per row, at the
    row's timestamp (shifted so that the first row arrives at t = 0), carrying the row's
    key when its class uses that key space. Arrivals stop when the trace ends, and so does
    the run unless it sets ``duration`` or ``requests``."""

    kind: Literal["trace"] = Field("trace", description="arrival process")
    keyspace: str = Field(
        pattern=IDENTIFIER,
        max_length=64,
        description="a key space with popularity {model: trace, ..., time_column: ...}",
    )


Arrival = Annotated[
    PoissonArrival
    | DeterministicArrival
    | PiecewiseArrival
    | DiurnalArrival
    | MmppArrival
    | TraceArrival,
    Field(discriminator="kind"),
]
ARRIVAL_TAGS = frozenset({"poisson", "deterministic", "piecewise", "diurnal", "mmpp", "trace"})
TIME_VARYING_ARRIVALS = frozenset({"piecewise", "diurnal", "mmpp", "trace"})
"""Arrival kinds whose rate changes during a run: their load is judged window by window."""


class ClientsSpec(SpecModel):
    """Who sends the requests: the regions they come from and their addresses.

    Each request draws its client region from ``regions`` (weights) and its client
    address from ``addresses`` addresses, address ``i`` (0 the largest, e.g. a big NAT)
    sending a share proportional to ``1 / (i + 1)^skew`` (Zipf; 0 is uniform).
    """

    regions: (
        dict[Annotated[str, Field(pattern=IDENTIFIER)], Annotated[float, Field(gt=0, le=1e9)]]
        | None
    ) = Field(
        None,
        min_length=1,
        description="region -> relative share of the requests (regions of network)",
    )
    addresses: Count | None = Field(
        None, ge=1, le=MAX_ADDRESSES, description="number of distinct client addresses"
    )
    skew: float = Field(
        0.0, ge=0, le=5, description="Zipf exponent of the traffic share per address (0: even)"
    )

    @model_validator(mode="after")
    def _check(self) -> ClientsSpec:
        if self.skew and self.addresses is None:
            raise ValueError("skew: needs addresses")
        return self


class RequestClass(SpecModel):
    """One kind of request: its share of the traffic and where it enters the topology."""

    name: str = Field(pattern=IDENTIFIER, max_length=64, description="class name")
    weight: float = Field(1.0, gt=0, le=1e9, description="relative share of requests")
    entry: str = Field(description="name of the component the request enters")
    endpoint: str = Field(
        pattern=IDENTIFIER, max_length=64, description="endpoint called on the entry component"
    )
    request_size: SizeDistribution | None = Field(
        None, description="bytes sent with each request over a network link (default: 0)"
    )
    response_size: SizeDistribution | None = Field(
        None, description="bytes sent back with each response over a network link (default: 0)"
    )
    priority: int = Field(
        0,
        ge=-1000,
        le=1000,
        description=(
            "higher is served first by queues with discipline: priority, and shed last (default 0)"
        ),
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
    timeout: Time | None = Field(
        None,
        gt=0,
        le=MAX_TIME,
        description=(
            "the client gives up after this long (outcome timeout); every timed call on "
            "the way waits at most the time left (default: never)"
        ),
    )


class Workload(SpecModel):
    """Open loop (``arrival``) or closed loop (``users`` with ``think_time``)."""

    arrival: Arrival | None = Field(None, description="open-loop arrival process")
    users: Count | None = Field(
        None, ge=1, le=MAX_COUNT, description="closed loop: number of concurrent users"
    )
    think_time: Distribution | None = Field(
        None, description="closed loop: time a user waits between a response and its next request"
    )
    classes: list[RequestClass] = Field(
        min_length=1, max_length=1000, description="request classes, chosen by weight"
    )
    clients: ClientsSpec | None = Field(
        None, description="client regions and addresses (for networks and sticky balancing)"
    )

    @model_validator(mode="after")
    def _open_or_closed(self) -> Workload:
        if (self.arrival is None) == (self.users is None):
            missing_or_both = "arrival" if self.arrival is None else "users"
            raise ValueError(
                f"{missing_or_both}: give exactly one of arrival (open loop) or users (closed loop)"
            )
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

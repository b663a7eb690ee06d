"""Run settings: how long to simulate, what to discard, which seed."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from simperf.checks import MAX_REPLICATIONS
from simperf.spec.base import MAX_TIME, Count, SpecModel, Time

MAX_REQUESTS = 100_000_000
DEFAULT_DURATION = 60.0
DEFAULT_SAFETY_CAP = 10_000
DEFAULT_KEEP_REQUESTS = 1_000_000
"""Per-request records kept by default: every run of up to a million requests is exact."""
DEFAULT_WINDOWS = 60
"""Time-series windows per run when ``window`` is not given."""
DEFAULT_PER_INSTANCE = 100
"""Instances of one component listed one by one in a result by default (the first ones):
a fleet of 20,000 had some 5M time-series rows and 6 MB of JSON, one entry an instance."""
MAX_WINDOWS = 100_000
"""Most time-series windows one run may ask for (each holds a snapshot of every instance)."""
AUTO_WARMUP_GRID = 1000
"""With ``warmup: auto``, snapshots every 1/1000 of the run, so that the detected
warm-up can end on a snapshot (where utilisation and queue areas are known exactly)."""
AUTO_WARMUP_INSTANCE_SNAPSHOTS = 1_000_000
"""With ``warmup: auto``, at most this many instance snapshots (instances x windows) on
the grid: a fleet of more than 1,000 instances gets fewer windows than
:data:`AUTO_WARMUP_GRID` (2,000 instances took 2M snapshots, 90% of their run's time)."""
MIN_AUTO_WARMUP_GRID = 100
"""The coarsest grid ``warmup: auto`` takes, whatever the fleet: MSER-5 then chooses its
cut among 10 batch means (of the first half), a hundredth of the run apart."""
AUTO_WARMUP_WINDOW_SPLIT = 10
"""With ``warmup: auto`` and ``run.window``, snapshots every tenth of a window."""


def auto_warmup_grid(instances: int) -> int:
    """Windows ``warmup: auto`` cuts a run of ``instances`` instances into.

    :data:`AUTO_WARMUP_GRID`, fewer for a fleet of more than 1,000 instances, so that a
    run takes at most :data:`AUTO_WARMUP_INSTANCE_SNAPSHOTS` instance snapshots (at
    least :data:`MIN_AUTO_WARMUP_GRID` windows). The run (:meth:`simperf.model.Model.auto_grid`)
    and its size estimate (:mod:`simperf.spec.size_estimate`) both read it here.

    Parameters
    ----------
    instances
        Instances the run holds.

    Returns
    -------
    int
    """
    fits = AUTO_WARMUP_INSTANCE_SNAPSHOTS // max(instances, 1)
    return min(AUTO_WARMUP_GRID, max(MIN_AUTO_WARMUP_GRID, fits))


DEFAULT_MAX_EVENTS = 1e8
"""Largest estimated run accepted by default: about 10 minutes on one core at the
measured 170-180k simulation events per second of ``models/mm1.yaml``."""


def readable_window(span: float, windows: int = DEFAULT_WINDOWS) -> float:
    """``span / windows`` rounded to the nearest 1, 2 or 5 times a power of ten.

    Parameters
    ----------
    span
        Simulated time the windows cover, in seconds (> 0).
    windows
        How many windows the span should hold, roughly.

    Returns
    -------
    float
        The window width in seconds: ``readable_window(2000) == 50.0`` (2000 / 60 = 33.3).
    """
    raw = span / windows
    decade = 10.0 ** math.floor(math.log10(raw))
    # nearest in log scale, so the count stays within about 1.6x of the target
    return min((m * decade for m in (1.0, 2.0, 5.0, 10.0)), key=lambda w: abs(math.log(w / raw)))


class PrecisionSpec(SpecModel):
    """Replicate until one metric's confidence interval is this narrow (within a budget)."""

    metric: str = Field(
        min_length=1, max_length=300, description="dotted result path, e.g. latency.all.p99"
    )
    relative: float = Field(
        gt=0, lt=1, description="target half-width as a fraction of the metric's mean"
    )
    confidence: float | None = Field(
        None,
        ge=0.5,
        le=0.9999,
        description="confidence level (default: the intervals', 95% unless asked otherwise)",
    )
    max_replications: int = Field(
        100, ge=2, le=MAX_REPLICATIONS, description="budget: never run more replications than this"
    )


class TraceSpec(SpecModel):
    """Request tracing: a sample of requests recorded span by span (off by default)."""

    sample: float = Field(
        0.01,
        gt=0,
        le=1,
        description=(
            "share of requests traced, each decided from a stream of its own (so tracing "
            "changes no other draw)"
        ),
    )
    slowest: int = Field(
        20,
        ge=0,
        le=10_000,
        description="traced requests kept in the slow-request log (the slowest of all traced)",
    )
    keep: int = Field(
        20_000,
        ge=1,
        le=MAX_REQUESTS,
        description=(
            "traced requests kept span by span (result.traces, the breakdown); past it a "
            "uniform sample of them, drawn from a stream of its own, so memory stays "
            "bounded; the counts and the slow-request log still cover every traced request"
        ),
    )


class RunSettings(SpecModel):
    """How a scenario is run. Give ``duration`` or ``requests`` (default: 60 s, or a
    replayed trace's span)."""

    duration: Time | None = Field(
        None, gt=0, le=MAX_TIME, description="simulated time to run, warm-up included"
    )
    requests: Count | None = Field(
        None,
        ge=1,
        le=MAX_REQUESTS,
        description="number of requests to generate; the run ends when all have finished",
    )
    warmup: Literal["auto"] | Annotated[Time, Field(ge=0, le=MAX_TIME)] = Field(
        0.0,
        union_mode="left_to_right",
        description=(
            "initial period whose requests are not measured, or auto: the end of the "
            "initial transient found on the response times (MSER-5, never shorter than "
            "their relaxation time)"
        ),
    )
    seed: int = Field(1, ge=0, le=2**63 - 1, description="root random seed")
    window: Time | None = Field(
        None,
        gt=0,
        le=MAX_TIME,
        description=(
            "time-series window (default: about a sixtieth of the measured period, rounded "
            "to 1, 2 or 5 x 10^k s; with requests, of the period the arrival rate implies). "
            f"At most {MAX_WINDOWS:,} windows; a run longer than expected merges them in pairs. "
            "With warmup: auto, a snapshot every tenth of it, so that the warm-up found ends "
            f"on one and the windows after it are this long (at most "
            f"{MAX_WINDOWS // AUTO_WARMUP_WINDOW_SPLIT:,} windows)"
        ),
    )
    keep_requests: Count = Field(
        DEFAULT_KEEP_REQUESTS,
        ge=1,
        le=MAX_REQUESTS,
        description=(
            "per-request records kept (24 bytes each; Result.requests holds the first "
            "ones to finish); past it requests are counted by window, class, outcome and "
            "latency bucket, so memory stays bounded, counts and means stay exact and "
            "percentiles are within 1% (latency.<class>.exact: false)"
        ),
    )
    per_instance: Literal["all"] | Annotated[int, Field(ge=0, le=MAX_REQUESTS)] = Field(
        DEFAULT_PER_INSTANCE,
        union_mode="left_to_right",
        description=(
            "instances of each component listed one by one (the time series' rows per "
            "instance, the JSON's per_instance, Result.components' instance rows): the "
            "first ones; a component with more is reported whole (its figures still count "
            "every instance; components.<name>.per_instance_listed says how many are "
            "listed). all: every instance"
        ),
    )
    safety_cap: int = Field(
        DEFAULT_SAFETY_CAP,
        ge=1,
        le=10_000_000,
        description=(
            "most requests that may wait at one instance whose queue_limit is unlimited; "
            "beyond it requests fail as safety_cap and the run is marked unstable"
        ),
    )

    max_events: float = Field(
        DEFAULT_MAX_EVENTS,
        ge=1,
        le=1e13,
        description=(
            "largest run accepted, in estimated simulation events (arrivals x hops, health "
            "checks, timers, time-series windows x instances); a bigger run is refused "
            "before it starts"
        ),
    )

    engine: Literal["auto", "events", "fast"] = Field(
        "auto",
        description=(
            "events: the discrete-event engine; fast: the exact vectorised path for FIFO "
            "chains (an error where it would not be exact); auto: fast where exact"
        ),
    )

    precision: PrecisionSpec | None = Field(
        None, description="stop replicating once this precision is reached (replicate only)"
    )

    trace: TraceSpec | None = Field(
        None,
        description=(
            "trace a sample of requests: one span per hop, queue wait and network crossing "
            "(result.traces, result.breakdown(), result.to_otel())"
        ),
    )

    profile: bool = Field(
        False,
        description=(
            "count the CPU of every cpu step, per app server, endpoint and step: "
            "result.cpu_profile() (exact; on the event engine)"
        ),
    )

    @model_validator(mode="after")
    def _horizon(self) -> RunSettings:
        if self.duration is not None and self.requests is not None:
            raise ValueError("give duration or requests, not both")
        if self.duration is not None and not self.auto_warmup and self.warmup >= self.duration:
            # the values, as run.requests' check gives them: a --duration or --set
            # that made the run too short is named nowhere else in the message
            raise ValueError(
                f"warmup: must be shorter than duration (run.warmup = {self.warmup:g} s, "
                f"run.duration = {self.duration:g} s): nothing would be measured; run "
                "longer or shorten the warm-up"
            )
        horizon = self.horizon
        if self.window is not None and horizon is not None:
            windows = math.ceil((horizon - self.fixed_warmup) / self.window)
            if windows > MAX_WINDOWS:
                raise ValueError(
                    f"window: {self.window:g} s gives {windows:,} windows over the run; "
                    f"at most {MAX_WINDOWS:,} (use a longer window)"
                )
            most = MAX_WINDOWS // AUTO_WARMUP_WINDOW_SPLIT
            if self.auto_warmup and windows > most:
                # snapshots every tenth of a window: past MAX_WINDOWS they would merge,
                # and the windows would no longer be the ones asked for
                raise ValueError(
                    f"window: {self.window:g} s gives {windows:,} windows over the run; "
                    f"with warmup: auto (a snapshot every tenth of a window) at most "
                    f"{most:,} (use a longer window)"
                )
        return self

    @property
    def auto_warmup(self) -> bool:
        """True when the warm-up is detected from the run itself."""
        return self.warmup == "auto"

    @property
    def fixed_warmup(self) -> float:
        """The warm-up in seconds when fixed in advance (0 when detected automatically)."""
        return 0.0 if self.warmup == "auto" else float(self.warmup)

    def listed(self, instances: int) -> int:
        """How many of a component's ``instances`` are listed one by one."""
        return instances if self.per_instance == "all" else min(instances, self.per_instance)

    @property
    def horizon(self) -> float | None:
        """Simulated end time, or None when the run is bounded by a request count."""
        if self.requests is not None:
            return None
        return self.duration if self.duration is not None else DEFAULT_DURATION

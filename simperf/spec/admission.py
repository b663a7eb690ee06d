"""How an app server admits, orders and sheds the requests waiting for a worker.

``queue`` orders the wait for a worker (FIFO, LIFO, or by class priority) and sheds
requests that waited too long; ``concurrency_limit`` caps the requests admitted at once
by a limit adapted to the latency it measures (AIMD). Both are optional: an app server
without them queues FIFO and never sheds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from simperf.spec.base import MAX_COUNT, MAX_TIME, SpecModel, Time


class CodelSpec(SpecModel):
    """Controlled delay (the variant of "Fail at Scale", Maurer 2015).

    While the queue has been empty at some moment of the last ``interval``, a request may
    wait up to ``interval``; once it has stayed non-empty for a whole ``interval`` (a
    standing queue), a request that waited longer than ``target`` is shed.
    """

    target: Time = Field(
        gt=0, le=MAX_TIME, description="wait bound under a standing queue, e.g. 5ms"
    )
    interval: Time = Field(
        gt=0, le=MAX_TIME, description="wait bound otherwise, and how long a queue must stand"
    )

    @model_validator(mode="after")
    def _target_below_interval(self) -> CodelSpec:
        if self.target > self.interval:
            raise ValueError("target: must not exceed interval")
        return self


class QueueSpec(SpecModel):
    """The queue for a worker: its order and when a waiting request is shed.

    ``discipline``: ``fifo`` (oldest first), ``lifo`` (newest first) or ``priority``
    (the highest ``workload.classes[*].priority`` first, oldest first within a class;
    non-preemptive). With ``priority`` and a ``queue_limit``, a request arriving at a
    full queue pushes out the oldest waiting request of the lowest priority below its
    own (shed), and is rejected only when nothing waiting ranks below it.

    A request's wait is checked when a worker frees up and picks it: one that waited
    longer than ``shed_after`` (or the CoDel bound) is shed there, as servers that check
    a request's queue time on dequeue do, and the worker takes the next one. With
    ``drop_expired``, one whose caller has given up is dropped there too, counted as
    ``expired``: its deadline is the earlier of its client's (a class ``timeout``) and
    that of the timed call it is an attempt of (the call's ``timeout``), as gRPC
    propagates a call's deadline; and one its caller cancelled while it waited (a
    hedged call's losing copy), counted as ``cancelled``, as a server that checks its
    call's context on dequeue sees a deadline passed and a cancellation alike.
    """

    discipline: Literal["fifo", "lifo", "priority"] = Field(
        "fifo", description="order in which waiting requests get a worker"
    )
    lifo_over: int | None = Field(
        None,
        ge=1,
        le=MAX_COUNT,
        description=(
            "adaptive LIFO: serve the newest first (within a priority) while more than "
            "this many wait (default: never)"
        ),
    )
    shed_after: Time | None = Field(
        None,
        gt=0,
        le=MAX_TIME,
        description="shed a request that waited longer than this for a worker (cause shed)",
    )
    codel: CodelSpec | None = Field(
        None, description="controlled-delay shedding: {target, interval} (instead of shed_after)"
    )
    drop_expired: bool = Field(
        False,
        description=(
            "drop a request whose deadline (its class timeout, or the timeout of the call "
            "it is an attempt of) has passed when a worker would pick it (counted as "
            "expired), or that its caller cancelled (a hedged call's losing copy: "
            "cancelled); default: serve it"
        ),
    )

    @model_validator(mode="after")
    def _one_bound(self) -> QueueSpec:
        if self.shed_after is not None and self.codel is not None:
            raise ValueError("codel: give either shed_after or codel, not both")
        if self.lifo_over is not None and self.discipline == "lifo":
            raise ValueError("lifo_over: the queue is LIFO already")
        return self


class ConcurrencyLimitSpec(SpecModel):
    """An adaptive limit on the requests an instance admits at once (AIMD).

    Like Netflix's ``concurrency-limits`` AIMD limiter: a request that finds ``limit``
    requests admitted is shed at once; each admitted request's time in the instance
    (queueing for cores and downstream calls included) is measured when it ends, and
    one longer than ``latency_target``, or one that failed as a ``timeout`` (a drop),
    multiplies the limit by ``backoff`` (rounded down), while a fast one raises it by 1
    when the requests admitted as it was admitted (itself included) were at least half
    the limit. The limit stays in ``[min, max]`` (``max`` defaults to the instance's
    workers).
    """

    algorithm: Literal["aimd"] = Field("aimd", description="how the limit adapts")
    latency_target: Time = Field(
        gt=0, le=MAX_TIME, description="a request slower than this backs the limit off"
    )
    initial: int | None = Field(
        None,
        ge=1,
        le=MAX_COUNT,
        description="limit at the start (default: 10, or the highest limit if lower)",
    )
    min: int = Field(1, ge=1, le=MAX_COUNT, description="lowest limit")
    max: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="highest limit (default: the instance's workers)"
    )
    backoff: float = Field(
        0.9, gt=0, lt=1, description="factor applied to the limit on a slow request"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ConcurrencyLimitSpec:
        if self.max is not None and self.min > self.max:
            raise ValueError("min: must not exceed max")
        initial = self.initial
        if initial is not None and (
            initial < self.min or (self.max is not None and initial > self.max)
        ):
            raise ValueError("initial: must lie within [min, max]")
        return self

    def start(self, highest: int) -> int:
        """The limit at the start, given the highest limit."""
        return self.initial if self.initial is not None else max(self.min, min(10, highest))

"""Ordered queues with shedding, and the adaptive concurrency limit, of an app instance.

Built only for an app server with a ``queue`` or ``concurrency_limit`` (see
:mod:`simperf.spec.admission`); every other instance keeps the plain FIFO
:class:`~simperf.components.slots.Slots` and pays nothing for this module.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import simpy
from simpy.events import Event

from simperf.components.base import Process, RequestFailed
from simperf.components.slots import Slots, drop_abandoned
from simperf.spec.admission import ConcurrencyLimitSpec, QueueSpec

if TYPE_CHECKING:
    from simperf.components.resilience import Carried
    from simperf.components.server import Server


def class_ranks(classes: list[int]) -> list[int]:
    """Each class's rank from its priority: 0 for the highest priority, then 1, ...

    Examples
    --------
    >>> class_ranks([0, 5, 0, -1])
    [1, 0, 1, 2]
    """
    levels = sorted(set(classes), reverse=True)
    return [levels.index(p) for p in classes]


class OrderedSlots(Slots):
    """Slots whose waiters are served by rank, then FIFO or LIFO, and shed when stale.

    A waiter is ``(event, arrived, deadline, carried)`` in the deque of its rank (0 first). When a
    slot is released, the next waiter (lowest rank; oldest, or newest for LIFO or while
    more than ``lifo_over`` wait) gets it; if it waited longer than the bound
    (``shed_after``, or the CoDel bound) it is handed the slot with a :class:`Shed`
    failure instead, so that it fails as ``shed`` and gives the slot straight back to the
    next waiter. With ``drop_expired``, a waiter whose client deadline has passed is
    handed the slot the same way, failing as ``timeout`` (what its client recorded) and
    counted in ``expired``; so is one whose caller cancelled it while it waited (a losing
    copy of a hedged call, seen through what it ``carried``), failing as ``cancelled``
    (``cancelled_code``, registered at the first) and counted in ``cancelled``: the rule
    of :func:`~simperf.components.slots.drop_abandoned`, which database cores and pool
    connections drop by too.

    Examples
    --------
    >>> env = simpy.Environment()
    >>> workers = OrderedSlots(env, 1, ranks=2, lifo=False, lifo_over=None)
    >>> workers.acquire() is None                        # free: granted at once
    True
    >>> low, high = workers.wait(1), workers.wait(0)     # rank 0 is served first
    >>> workers.release(); high.triggered, low.triggered
    (True, False)
    """

    __slots__ = (
        "bound",
        "cancelled",
        "cancelled_code",
        "codel",
        "count",
        "drop_expired",
        "expired",
        "expired_code",
        "interval",
        "last_empty",
        "levels",
        "lifo",
        "lifo_over",
        "shed",
        "shed_code",
        "target",
    )

    def __init__(
        self,
        env: simpy.Environment,
        capacity: int,
        *,
        ranks: int,
        lifo: bool,
        lifo_over: int | None,
        shed_after: float | None = None,
        codel: tuple[float, float] | None = None,
        shed_code: int = 0,
        drop_expired: bool = False,
        expired_code: int = 0,
        cancelled_code: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(env, capacity)
        self.levels: list[deque[tuple[Event, float, float, Carried | None]]] = [
            deque() for _ in range(ranks)
        ]
        self.waiting = self  # type: ignore[assignment]  # len(slots.waiting): the waiters
        self.count = 0
        self.lifo = lifo
        self.lifo_over = lifo_over if lifo_over is not None else math.inf
        self.bound = shed_after if shed_after is not None else math.inf
        self.codel = codel is not None
        self.target, self.interval = codel if codel is not None else (math.inf, math.inf)
        self.last_empty = 0.0  # when the queue last became non-empty
        self.shed_code = shed_code
        self.shed = 0
        self.drop_expired = drop_expired
        self.expired_code = expired_code
        self.expired = 0  # dropped on dequeue, their client's deadline past
        self.cancelled = 0  # dropped on dequeue, cancelled by their caller before it
        self.cancelled_code = cancelled_code or (lambda: expired_code)

    def __len__(self) -> int:
        return self.count

    def acquire(self) -> Event | None:
        """Take a slot at the lowest priority rank (see :meth:`wait`)."""
        if self.free:
            self.free -= 1
            return None
        return self.wait(len(self.levels) - 1)

    def wait(self, rank: int, deadline: float = math.inf, carried: Carried | None = None) -> Event:
        """Queue at ``rank`` for a slot (none is free): an event fired when granted.

        ``deadline``: when the request's caller gives up (dropped on dequeue after it,
        with ``drop_expired``); ``carried``: the attempt's, whose caller may cancel it
        meanwhile (dropped then too)."""
        event = Event(self.env)
        if not self.count:
            self.last_empty = self.env.now
        self.levels[rank].append((event, self.env.now, deadline, carried))
        self.count += 1
        return event

    def evict(self, rank: int) -> bool:
        """Shed the oldest waiter of the lowest rank below ``rank``; False if none waits."""
        for level in reversed(self.levels[rank + 1 :]):
            if level:
                event = level.popleft()[0]
                self.count -= 1
                self.shed += 1
                # it holds no slot: its failure must not give one back (see AppInstance)
                event.fail(RequestFailed(self.shed_code))
                return True
        return False

    def release(self) -> None:
        """Give a slot back: to the next waiter, failed as shed if it waited too long."""
        if not self.count:
            self.free += 1
            return
        newest = self.lifo or self.count > self.lifo_over
        for level in self.levels:
            if level:
                event, arrived, deadline, carried = level.pop() if newest else level.popleft()
                break
        self.count -= 1
        now = self.env.now
        bound = self.bound
        if self.codel:
            bound = self.target if now - self.last_empty >= self.interval else self.interval
        if now - arrived > bound:
            self.shed += 1
            event.fail(Shed(self.shed_code))
        elif not (self.drop_expired and drop_abandoned(self, event, now, deadline, carried, Shed)):
            # (a dropped one's client recorded it as timed out, or its caller took another
            # copy's answer: serving it would be wasted work. A cancelled one fails as
            # cancelled, not timeout, so that a nested caller's concurrency limit does not
            # take it for a congestion signal)
            event.succeed()


class Shed(RequestFailed):
    """A shed waiter that was handed a slot: it gives the slot back as it fails."""

    __slots__ = ()


def ordered_wait(
    server: Server,
    slots: OrderedSlots,
    rank: int,
    deadline: float = math.inf,
    carried: Carried | None = None,
) -> Process:
    """:meth:`Server.queue_for` at a priority ``rank``: wait (monitored); returns the wait.

    Raises :class:`RequestFailed` when shed: holding the slot if the request was shed (or
    dropped past its ``deadline`` or cancelled through ``carried``) as it was picked
    (:class:`Shed`), holding none if it was pushed out of a full queue.
    """
    env = server.env
    arrived = env.now
    server.queue.change(1, arrived)
    try:
        yield slots.wait(rank, deadline, carried)
    finally:
        server.queue.change(-1, env.now)
    waited = env.now - arrived
    server.waits.append(waited)
    return waited


class AimdLimit:
    """An AIMD concurrency limit (Netflix ``concurrency-limits``' ``AIMDLimit``).

    Examples
    --------
    >>> spec = ConcurrencyLimitSpec(latency_target=0.1, initial=4, max=8)
    >>> limit = AimdLimit(spec, workers=8)
    >>> limit.sample(0.05, in_flight=2); limit.limit   # fast, half in use: +1
    5
    >>> limit.sample(0.5, in_flight=1); limit.limit    # slow: x 0.9, rounded down
    4
    """

    __slots__ = ("backoff", "highest", "limit", "lowest", "target")

    def __init__(self, spec: ConcurrencyLimitSpec, workers: int) -> None:
        self.lowest = spec.min
        self.highest = spec.max if spec.max is not None else workers
        self.limit = spec.start(self.highest)
        self.target = spec.latency_target
        self.backoff = spec.backoff

    def sample(self, latency: float, in_flight: int) -> None:
        """Adapt to one finished request's ``latency``; ``in_flight``: the requests
        admitted when it was (itself included)."""
        if latency > self.target:
            self.limit = max(self.lowest, int(self.limit * self.backoff))
        elif 2 * in_flight >= self.limit:
            self.limit = min(self.highest, self.limit + 1)

    def drop(self) -> None:
        """Back off for a request that timed out (a drop), however long it took."""
        self.limit = max(self.lowest, int(self.limit * self.backoff))


def queue_slots(
    env: simpy.Environment,
    capacity: int,
    spec: QueueSpec | None,
    ranks: int,
    shed_code: int,
    expired_code: int = 0,
    cancelled_code: Callable[[], int] | None = None,
) -> OrderedSlots:
    """The ordered worker slots of an instance with a ``queue`` (or priorities only);
    ``expired_code`` is the cause a request dropped past its deadline fails with,
    ``cancelled_code()`` the one of a request its caller cancelled."""
    if spec is None:
        return OrderedSlots(env, capacity, ranks=ranks, lifo=False, lifo_over=None)
    codel = (spec.codel.target, spec.codel.interval) if spec.codel is not None else None
    return OrderedSlots(
        env,
        capacity,
        ranks=ranks if spec.discipline == "priority" else 1,
        lifo=spec.discipline == "lifo",
        lifo_over=spec.lifo_over,
        shed_after=spec.shed_after,
        codel=codel,
        shed_code=shed_code,
        drop_expired=spec.drop_expired,
        expired_code=expired_code,
        cancelled_code=cancelled_code,
    )

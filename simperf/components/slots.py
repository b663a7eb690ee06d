"""A FIFO counting semaphore: the cheapest correct way to hold one of N identical things.

``simpy.Resource`` creates a request and a release event per use, even when a slot is
free. Workers and cores are used by every request, so they use this instead: taking a
free slot costs no event at all, and only a request that must wait gets one (granted
in FIFO order when a holder releases).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import simpy
from simpy.events import Event

from simperf.components.base import RequestFailed


class Slots:
    """``capacity`` identical slots with a FIFO queue of waiters.

    Examples
    --------
    >>> env = simpy.Environment()
    >>> cores = Slots(env, 2)
    >>> cores.acquire() is None, cores.acquire() is None   # free: granted at once
    (True, True)
    >>> waiter = cores.acquire(); waiter.triggered          # full: wait for a release
    False
    >>> cores.release(); waiter.triggered
    True
    """

    __slots__ = ("capacity", "env", "free", "waiting")

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        self.env = env
        self.capacity = capacity
        self.free = capacity
        self.waiting: deque[Event] = deque()

    def acquire(self) -> Event | None:
        """Take a slot: None if one was free, else an event that fires when granted."""
        if self.free:
            self.free -= 1
            return None
        event = Event(self.env)
        self.waiting.append(event)
        return event

    def release(self) -> None:
        """Give a slot back, handing it straight to the longest waiter if there is one."""
        if self.waiting:
            self.waiting.popleft().succeed()
        else:
            self.free += 1

    @property
    def in_use(self) -> int:
        """Slots currently held (granted waiters included)."""
        return self.capacity - self.free


class _Drops(Protocol):
    """What :func:`drop_abandoned` counts on: the slots' drop counters and causes."""

    expired: int
    cancelled: int
    expired_code: int
    cancelled_code: Callable[[], int]


def drop_abandoned(
    slots: _Drops,
    event: Event,
    now: float,
    deadline: float,
    carried: Any,
    failure: type[RequestFailed],
) -> bool:
    """The one drop rule of slots that drop abandoned waiters: fail ``event`` if nobody
    waits for it any longer, and say whether it did.

    A waiter whose attempt's ``deadline`` has passed at ``now`` fails as
    ``slots.expired_code`` (counted in ``slots.expired``); one whose caller cancelled what
    it ``carried`` (a :class:`~simperf.components.resilience.Carried`, or None) as
    ``slots.cancelled_code()`` (in ``slots.cancelled``). ``failure`` is the exception it
    fails with: :class:`RequestFailed` holds no slot; an app queue's
    :class:`~simperf.components.admission.Shed` was handed one and gives it back.
    """
    if now >= deadline:
        slots.expired += 1
        event.fail(failure(slots.expired_code))
        return True
    if carried is not None and carried.given_up():
        slots.cancelled += 1
        event.fail(failure(slots.cancelled_code()))
        return True
    return False


class DroppingSlots(Slots):
    """Slots that drop a waiter whose caller has gone, when it would be granted one.

    A waiter queued through :meth:`wait` keeps a ticket: the deadline of the attempt it
    serves and what that attempt carries (a
    :class:`~simperf.components.resilience.Carried`, whose caller may cancel it while it
    waits). When a slot is released, a waiter whose deadline has passed is failed as
    ``expired_code`` (counted in ``expired``) and one whose caller cancelled it as
    ``cancelled_code()`` (in ``cancelled``), holding nothing (:func:`drop_abandoned`), and
    the slot goes on to the next waiter: what an app server's ``queue.drop_expired`` does
    to its workers (:class:`~simperf.components.admission.OrderedSlots`, by the same
    rule), for a database's cores and a pool's connections. A waiter queued through
    :meth:`acquire` (a flat runner's, with no deadline) is never dropped.

    Examples
    --------
    >>> env = simpy.Environment()
    >>> cores = DroppingSlots(env, 1, expired_code=7, cancelled_code=lambda: 8)
    >>> cores.acquire() is None
    True
    >>> late, plain = cores.wait(0.0, None), cores.acquire()
    >>> cores.release(); late.ok, plain.triggered, cores.expired   # late: past its deadline
    (False, True, 1)
    """

    __slots__ = ("cancelled", "cancelled_code", "expired", "expired_code", "tickets")

    def __init__(
        self,
        env: simpy.Environment,
        capacity: int,
        *,
        expired_code: int,
        cancelled_code: Callable[[], int],
    ) -> None:
        super().__init__(env, capacity)
        self.tickets: dict[Event, tuple[float, Any]] = {}
        self.expired_code = expired_code
        self.cancelled_code = cancelled_code  # registered at the first: most runs cancel none
        self.expired = 0
        self.cancelled = 0

    def wait(self, deadline: float, carried: Any) -> Event:
        """Queue for a slot (none is free) on behalf of an attempt due by ``deadline``
        that carries ``carried`` (None: nothing its caller may cancel)."""
        event = Event(self.env)
        self.waiting.append(event)
        if deadline < math.inf or carried is not None:
            self.tickets[event] = (deadline, carried)
        return event

    def forget(self, event: Event) -> None:
        """A waiter gave up (a pool's ``max_wait``): it leaves the queue."""
        self.waiting.remove(event)
        self.tickets.pop(event, None)

    def release(self) -> None:
        """Give a slot back: to the next waiter whose caller still waits for it."""
        waiting = self.waiting
        tickets = self.tickets
        while waiting:
            event = waiting.popleft()
            ticket = tickets.pop(event, None) if tickets else None
            if ticket is not None and drop_abandoned(
                self, event, self.env.now, ticket[0], ticket[1], RequestFailed
            ):
                continue
            event.succeed()
            return
        self.free += 1

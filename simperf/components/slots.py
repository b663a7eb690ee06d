"""A FIFO counting semaphore: the cheapest correct way to hold one of N identical things.

``simpy.Resource`` creates a request and a release event per use, even when a slot is
free. Workers and cores are used by every request, so they use this instead: taking a
free slot costs no event at all, and only a request that must wait gets one (granted
in FIFO order when a holder releases).
"""

from __future__ import annotations

from collections import deque

import simpy
from simpy.events import Event


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

"""Connection pools: one per (app instance, database), holding connections open.

A query takes a connection (at once if one is free, costing no event, else in FIFO
order, failing as ``pool_timeout`` after ``max_wait``), holds it for the query, and gives
it back. A pool with ``drop_expired`` drops a waiting query whose caller has gone (its
deadline passed, or its caller cancelled it) when a connection would be granted to it
(:class:`~simperf.components.slots.DroppingSlots`), and the connection goes to the next
waiter. When the pools of all app instances want more connections than a server
accepts, the connections beyond ``max_connections`` were refused when the pool opened
them: a query that would need one of them fails as ``connection_refused``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any, NoReturn

from simperf.components.base import Process, Request, RequestFailed
from simperf.components.slots import DroppingSlots, Slots
from simperf.metrics.monitor import LevelMonitor
from simperf.metrics.samples import Samples


class Pool:
    """The pool of one app instance (``owner``, of app server ``component``) for one database."""

    __slots__ = (
        "component",
        "deadlines",
        "env",
        "in_use",
        "max_wait",
        "owner",
        "refused",
        "refused_code",
        "size",
        "slots",
        "timeout_code",
        "timeouts",
        "unsent",
        "usable",
        "wait_samples",
        "wait_sum",
        "waits",
    )

    def __init__(
        self,
        env: Any,
        owner: str,
        component: str,
        size: int,
        max_wait: float,
        usable: int,
        *,
        timeout_code: int,
        refused_code: int,
        drops: tuple[Any, int, Callable[[], int]] | None = None,
    ) -> None:
        self.env = env
        self.owner = owner
        self.component = component
        self.size = size
        # drops: (the run's AttemptDeadlines, the timeout and the cancelled cause) of a
        # pool with drop_expired; any other pool keeps the plain FIFO and pays nothing
        self.deadlines = None if drops is None else drops[0]
        self.slots: Slots = (
            Slots(env, size)
            if drops is None
            else DroppingSlots(env, size, expired_code=drops[1], cancelled_code=drops[2])
        )
        self.max_wait = max_wait
        self.usable = usable
        self.timeout_code = timeout_code
        self.refused_code = refused_code
        self.waits = array("d")
        self.wait_samples = Samples(self.waits, over=0.0)  # bounded past run.keep_requests
        # waits of the connections granted and accepted (a refused one is counted in
        # ``refused`` alone); their sum kept so snapshots need no array sum
        self.wait_sum = 0.0
        self.timeouts = 0
        self.unsent = 0
        self.refused = 0
        self.in_use = LevelMonitor()

    def acquire(self, request: Request | None = None) -> Process | None:
        """Take a connection for ``request``: None when one was free (no event, no
        generator), else the process that waits for one, at most ``max_wait``.

        Raises ``RequestFailed`` (at once, or from the waiting process) when the connection
        was refused, the wait timed out or, with ``drop_expired``, the request's caller
        had gone when it would have been granted one.
        """
        slots = self.slots
        if slots.free:
            slots.free -= 1
            if slots.capacity - slots.free > self.usable:  # _granted inlined
                self._refuse()
            self.waits.append(0.0)
            self.in_use.change(1, self.env.now)
            return None
        return self._wait(request)

    def _wait(self, request: Request | None) -> Process:
        env = self.env
        slots = self.slots
        deadlines = self.deadlines
        if deadlines is None or request is None:
            grant = slots.acquire()
            assert grant is not None  # called only when no connection is free
        else:  # the attempt's deadline and cancellation, judged when it would be granted
            grant = slots.wait(*deadlines.ticket(request))  # type: ignore[attr-defined]
        started = env.now
        yield grant | env.timeout(self.max_wait)  # a drop fails the grant: raised here
        if not grant.triggered:
            if deadlines is None:
                slots.waiting.remove(grant)
            else:
                slots.forget(grant)  # type: ignore[attr-defined]
            self.timeouts += 1
            raise RequestFailed(self.timeout_code)
        self._granted(env.now - started)

    def _granted(self, waited: float) -> None:
        """A connection was taken after ``waited``: refused if beyond what the server
        accepted, else an acquisition and a wait sample (a refusal is neither)."""
        if self.slots.in_use > self.usable:
            self._refuse()
        self.waits.append(waited)
        self.wait_sum += waited
        self.in_use.change(1, self.env.now)

    def _refuse(self) -> NoReturn:
        """The connection taken is one the server refused when the pool opened it."""
        self.slots.release()
        self.refused += 1
        raise RequestFailed(self.refused_code)

    def left_unsent(self, code: int, rest: int) -> None:
        """Count the ``rest`` queries of a step's ``repeat`` that its query failing with
        ``code`` left unsent, when it timed out or was dropped waiting for a connection:
        they were offered to the pool as well (the headroom counts its load per query)."""
        slots = self.slots
        if code == self.timeout_code or (
            isinstance(slots, DroppingSlots) and code == slots.expired_code
        ):
            self.unsent += rest

    def release(self) -> None:
        """Give the connection back (to the longest waiter, if any)."""
        self.in_use.change(-1, self.env.now)
        self.slots.release()

    def counters(self, now: float) -> dict[str, float]:
        """Cumulative counters at ``now`` (with ``drop_expired``: the queries dropped)."""
        counters = {
            "waits": self.wait_samples.count,
            "timeouts": self.timeouts,
            "refused": self.refused,
            "in_use_area": self.in_use.area_at(now),
        }
        slots = self.slots
        if isinstance(slots, DroppingSlots):
            counters["expired"] = slots.expired
            counters["cancelled"] = slots.cancelled
        return counters

"""The monitored server every instance is: slots, queue and busy monitors, counters.

App instances, cache nodes, database servers (and their storage) and shared link
directions are :class:`Server` s: they take a slot (at once if one is free, else queued
in FIFO order and counted in the queue monitor), hold it busy for a service time, give
it back and count what they served. The result's component table reads every one of
them the same way, through :meth:`Server.snapshot`.

Hot paths take a free slot inline (``if slots.free: slots.free -= 1``), which costs no
event and no generator; only a request that must wait goes through :meth:`Server.queue_for`.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any

import simpy

from simperf.components.base import Process
from simperf.components.slots import Slots
from simperf.metrics.monitor import LevelMonitor

if TYPE_CHECKING:
    from simperf.metrics.quantiles import StreamingQuantiles


class Server:
    """A monitored server of ``capacity`` slots.

    Parameters
    ----------
    env
        The run's environment.
    name, component
        The instance's name (``app[0]``) and the component it belongs to.
    capacity
        Slots that count towards utilisation (cores; link directions have one).
    within
        The server this one is part of (a database server's storage): its waits are
        also waits of that server.

    Examples
    --------
    >>> env = simpy.Environment()
    >>> disk = Server(env, "db/storage", "db", 1)
    >>> def read(seconds):
    ...     yield from disk.serve(seconds)
    >>> _ = env.process(read(2.0)), env.process(read(3.0))
    >>> env.run()
    >>> disk.served, disk.wait_sum, disk.service_sum, disk.snapshot(env.now)["busy_area"]
    (2, 2.0, 5.0, 5.0)
    >>> disk.waits.tolist()  # the second request found the disk busy
    [2.0]
    """

    kind = "server"
    capped = False  # True where the queue is bounded by the run's safety cap only

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        component: str,
        capacity: int,
        *,
        within: Server | None = None,
    ) -> None:
        self.env = env
        self.name = name
        self.component = component
        self.capacity = capacity
        self.slots = Slots(env, capacity)
        self.within = within
        self.busy = LevelMonitor()
        self.queue = LevelMonitor()
        self.served = 0
        self.rejected = 0
        self.wait_sum = 0.0
        self.service_sum = 0.0
        # Every wait of a request that found no free slot (0 included: it still waited
        # its turn), appended where it queues only, so the free-slot path costs nothing.
        # 8 bytes a wait; anything with ``append``, ``len`` and slices may stand in (a
        # streaming quantile sketch).
        self.waits = array("d")
        # past run.keep_requests, the waits beyond the first ones (simperf.metrics.waits)
        self.folded_waits: StreamingQuantiles | None = None
        self.waits_folded = 0
        self.waits_keep = 0

    def queue_for(self, slots: Slots) -> Process:
        """Wait in this server's queue for one of ``slots`` (none is free); returns the wait."""
        env = self.env
        arrived = env.now
        within = self.within
        self.queue.change(1, arrived)
        if within is not None:
            within.queue.change(1, arrived)
        yield slots.acquire()
        now = env.now
        self.queue.change(-1, now)
        if within is not None:
            within.queue.change(-1, now)
        waited = now - arrived
        self.waits.append(waited)
        return waited

    def take(self, slots: Slots) -> Process:
        """Take one of ``slots``, queueing when none is free; returns the wait."""
        if slots.free:
            slots.free -= 1
            return 0.0
        return (yield from self.queue_for(slots))

    def work(self, seconds: float) -> Process:
        """Be busy for ``seconds`` (the caller holds a slot)."""
        busy = self.busy
        env = self.env
        busy.change(1, env.now)
        yield env.timeout(seconds)
        busy.change(-1, env.now)

    def serve(self, seconds: float) -> Process:
        """Take a slot, work ``seconds``, give it back and count it; returns the wait."""
        slots = self.slots
        waited = yield from self.take(slots)
        try:
            yield from self.work(seconds)
        finally:
            slots.release()
        self.served += 1
        self.wait_sum += waited
        self.service_sum += seconds
        return waited

    def occupy(self, seconds: float) -> Process:
        """Hold a slot busy for ``seconds`` unrecorded in queue or counters (background work)."""
        grant = self.slots.acquire()
        if grant is not None:
            yield grant
        try:
            yield from self.work(seconds)
        finally:
            self.slots.release()

    def snapshot(self, now: float, *, window: bool = True) -> dict[str, Any]:
        """Cumulative counters and areas at ``now`` (differences give window metrics).

        ``window``: whether the snapshot closes a time-series window, which starts the
        queue's next peak; a fault's mark of the counters (see
        :class:`~simperf.components.faults.FaultLog`) leaves the peak as it is.
        """
        return {
            "busy_area": self.busy.area_at(now),
            "queue_area": self.queue.area_at(now),
            "queue_peak": self.queue.reset_peak() if window else self.queue.peak,
            "queue_now": self.queue.level,
            "served": self.served,
            "rejected": self.rejected,
            "wait_sum": self.wait_sum,
            "service_sum": self.service_sum,
            "waited": len(self.waits) + self.waits_folded,
        }

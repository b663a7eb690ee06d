"""Time-weighted level monitors (busy cores, queue length, requests in system)."""

from __future__ import annotations

from typing import Any


class LevelMonitor:
    """Integrates a piecewise-constant level over simulated time.

    ``change(delta, now)`` is called where the level moves; ``area_at(now)`` is the
    integral of the level from time 0 to ``now``. A difference of two areas divided by
    the elapsed time is the time-average level over that interval. ``peak`` is the
    highest level since it was last reset (per time-series window).
    """

    __slots__ = ("area", "last", "level", "peak")

    def __init__(self) -> None:
        self.level = 0
        self.area = 0.0
        self.last = 0.0
        self.peak = 0

    def change(self, delta: int, now: float) -> None:
        """Move the level by ``delta`` at time ``now``."""
        self.area += self.level * (now - self.last)
        self.last = now
        self.level += delta
        if self.level > self.peak:
            self.peak = self.level

    def area_at(self, now: float) -> float:
        """Integral of the level over [0, now]."""
        return self.area + self.level * (now - self.last)

    def reset_peak(self) -> int:
        """Return the peak since the last reset and start a new one at the current level."""
        peak = self.peak
        self.peak = self.level
        return peak


_LEVEL = LevelMonitor.__dict__["level"]  # the slot, which the watch's property wraps


class RestWatch:
    """Servers at rest, and which of them have moved since: by their first level change.

    :meth:`rest` arms an owner's monitors: each becomes, until its level is next
    written, an instance of this watch's subclass of :class:`LevelMonitor`, whose
    ``level`` setter turns it back into a plain one and notes its owner in
    :attr:`woken`. Inline updates (``monitor.level += 1``) and :meth:`LevelMonitor.change`
    both write ``level``, so both are seen; a monitor never armed, or written once
    since, is a plain one, so a busy server's hot path pays nothing and a server at
    rest pays once, when it wakes.

    Examples
    --------
    >>> watch, busy = RestWatch(), LevelMonitor()
    >>> watch.rest("app[0]", [busy])
    >>> busy.change(1, 2.0)
    >>> list(watch.woken), type(busy) is LevelMonitor
    (['app[0]'], True)
    """

    def __init__(self) -> None:
        self.woken: dict[Any, None] = {}
        """Owners with a monitor written since it was armed, in the order they woke."""
        armed: dict[LevelMonitor, Any] = {}  # monitor -> owner (monitors hash by identity)
        woken = self.woken

        def level(monitor: LevelMonitor) -> int:
            return _LEVEL.__get__(monitor, LevelMonitor)  # type: ignore[no-any-return]

        def wake(monitor: LevelMonitor, value: int) -> None:
            monitor.__class__ = LevelMonitor
            _LEVEL.__set__(monitor, value)
            woken[armed.pop(monitor)] = None

        self._armed = armed
        # one class a watch: its setter notes in this watch's ``woken`` only
        self._watched = type(
            "WatchedLevelMonitor",
            (LevelMonitor,),
            {"__slots__": (), "level": property(level, wake)},
        )

    def rest(self, owner: Any, monitors: list[LevelMonitor]) -> None:
        """Arm ``monitors``: the first level written on any of them wakes ``owner``."""
        armed, watched = self._armed, self._watched
        for monitor in monitors:
            monitor.__class__ = watched
            armed[monitor] = owner

    def disarm(self) -> None:
        """Turn every monitor still armed back into a plain one (the run is over)."""
        for monitor in self._armed:
            monitor.__class__ = LevelMonitor
        self._armed.clear()

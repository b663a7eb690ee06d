"""Time-weighted level monitors (busy cores, queue length, requests in system)."""

from __future__ import annotations


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

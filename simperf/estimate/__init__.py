"""The closed-form estimate of a scenario: :func:`estimate` (no simulation).

``routes`` walks the spec (the load on every station, the time of every endpoint),
``stations`` solves each queue, ``core`` puts them together into an :class:`Estimate`.
"""

from __future__ import annotations

from simperf.estimate.core import P99_METHOD, Estimate, estimate

__all__ = ["P99_METHOD", "Estimate", "estimate"]

"""Experiments: single runs, replications, comparisons, sweeps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simperf.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from simperf.experiment.run import run

# ``run`` is imported on first use: the light modules here (the horizon check, progress)
# must not load the engine and pandas for a command that only checks a spec.
lazy_exports(__name__, {"simperf.experiment.run": ["run"]})

__all__ = ["run"]

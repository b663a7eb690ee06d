"""Experiments: single runs, replications, comparisons, sweeps."""

from __future__ import annotations

from simperf.experiment.run import run

__all__ = ["run"]

"""Calibration: model inputs fitted to measured request logs.

``logs`` reads and checks the log, ``families`` fits service-time families, ``traffic``
the arrival rate and dispersion, ``overhead`` the per-request overhead and its
dependence on load, ``core`` puts them together (:func:`calibrate`) and predicts each
load level with the calibrated scenario, ``text`` prints the result.
"""

from __future__ import annotations

from simperf.calibrate.core import Calibration, calibrate
from simperf.calibrate.logs import LogError, read_log

__all__ = ["Calibration", "LogError", "calibrate", "read_log"]

"""Scenario specs: pydantic models only (pure data, no simulation imports)."""

from __future__ import annotations

from simperf.spec.io import from_dict, json_schema, load
from simperf.spec.scenario import Scenario

__all__ = ["Scenario", "from_dict", "json_schema", "load"]

"""Shared fixtures: a minimal valid scenario to change one thing at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
CATALOGUE = MODELS / "instance_types.yaml"
"""The instance-type catalogue beside the example scenarios (not a scenario itself)."""
SCENARIO_FILES = sorted(p for p in MODELS.glob("*.yaml") if p != CATALOGUE)
"""Every example scenario in models/."""

MINIMAL: dict[str, Any] = {
    "name": "minimal",
    "workload": {
        "arrival": {"kind": "poisson", "rate": 50},
        "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
    },
    "components": {
        "app": {
            "kind": "app_server",
            "cores": 1,
            "endpoints": {"serve": [{"cpu": {"dist": "exponential", "mean": "10ms"}}]},
        }
    },
    "run": {"duration": 20, "warmup": 1},
}


@pytest.fixture
def minimal_spec() -> dict[str, Any]:
    """A fresh deep copy of a minimal valid scenario dict."""
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def minimal_scenario(minimal_spec: dict[str, Any]):
    from simperf import from_dict

    return from_dict(minimal_spec)


def two_tier(arrival: dict[str, Any], trace: dict[str, Any] | None, **run: Any) -> dict[str, Any]:
    """front (1 ms CPU, a call to back, 1 ms CPU) -> back (3 ms CPU), one core each."""
    return {
        "name": "two_tier",
        "workload": {
            "arrival": arrival,
            "classes": [{"name": "get", "entry": "front", "endpoint": "page"}],
        },
        "components": {
            "front": {
                "kind": "app_server",
                "cores": 1,
                "endpoints": {"page": [{"cpu": "1ms"}, {"call": "back.data"}, {"cpu": "1ms"}]},
            },
            "back": {
                "kind": "app_server",
                "cores": 1,
                "endpoints": {"data": [{"cpu": {"dist": "exponential", "mean": "3ms"}}]},
            },
        },
        "run": {**run, **({"trace": trace} if trace is not None else {})},
    }

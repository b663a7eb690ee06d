"""Every example model loads, validates and runs a short horizon with conservation."""

from __future__ import annotations

from pathlib import Path

import pytest

import simperf

from conftest import SCENARIO_FILES

MODEL_FILES = SCENARIO_FILES


def test_there_are_models() -> None:
    assert {"mm1.yaml", "mmc.yaml", "tandem.yaml", "closed.yaml", "web_tier.yaml"} <= {
        p.name for p in MODEL_FILES
    }


# cut to 30 s, a model may lose a fault scheduled later (failover's second): warned of
@pytest.mark.filterwarnings("ignore:.*the fault never happens:simperf.errors.SimperfWarning")
@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_model_runs(path: Path) -> None:
    text = path.read_text()
    assert text.startswith("#"), "every model is documented at its top"
    scenario = simperf.load(path)
    horizon = scenario.run.horizon or 30.0
    short = scenario.with_overrides(
        {
            "run.duration": min(horizon, 30.0),
            "run.warmup": min(scenario.run.warmup, 3.0),
            "run.requests": None,
        }
    )
    result = simperf.run(short, seed=3)
    d = result.to_dict()
    req = d["requests"]
    assert req["generated"] > 0
    assert req["generated"] == req["ok"] + sum(req["errors"].values()) + req["in_flight"]
    assert d["latency"]["all"]["count"] > 0

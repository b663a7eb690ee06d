"""Every example model loads, validates and runs a short horizon with conservation."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_header_states_the_rate_it_runs(path: Path) -> None:
    # a reader sizes the model from its comment: the first "N/s" there is the spec's
    header = path.read_text().split("\nname:")[0]
    stated = re.search(r"(?<![\w.,])([\d,.]*\d)/s\b", header)
    arrival = simperf.load(path).workload.arrival
    if stated is None or getattr(arrival, "kind", None) != "poisson":
        pytest.skip("no Poisson rate stated in the header")
    assert float(stated.group(1).replace(",", "")) == arrival.rate  # type: ignore[union-attr]

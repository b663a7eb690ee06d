"""Waits past run.keep_requests: folded into a sketch during the run, P(wait) exact and
the wait percentiles within the sketch's stated error of those with every wait kept."""

from __future__ import annotations

import pytest

import simperf
from simperf.build import build

from conftest import MODELS

KEEP = 500
ERROR = 0.01
WAITS = ("wait_p50", "wait_p95", "wait_p99")


def _check(full: dict, capped: dict) -> None:
    assert capped["p_wait"] == full["p_wait"] and capped["served"] == full["served"]
    for key in WAITS:
        assert capped[key] == pytest.approx(full[key], rel=ERROR * (1 + 1e-9)), key


@pytest.mark.parametrize(
    ("model", "engine"), [("mm1", "events"), ("mmc", "events"), ("mm1", "fast")]
)
def test_waits_past_the_cap_keep_p_wait_exact_and_percentiles_within_their_error(
    model: str, engine: str
) -> None:
    scenario = simperf.load(MODELS / f"{model}.yaml").with_overrides(
        {"run.duration": 60, "run.warmup": 5, "run.engine": engine}
    )
    full = simperf.run(scenario).data["components"]["app"]
    capped = simperf.run(scenario, overrides={"run.keep_requests": KEEP}).data["components"]
    _check(full, capped["app"])
    assert capped["app"]["wait_p99"] != full["wait_p99"]  # from the sketch, not the waits
    for name, row in full["per_instance"].items():
        _check(row, capped["app"]["per_instance"][name])
    assert full["p_wait"] > 0.3 and full["served"] > 8 * KEEP


def test_the_waits_past_the_cap_are_folded_during_the_run() -> None:
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": 60, "run.warmup": 5, "run.keep_requests": KEEP}
    )
    model = build(scenario, seed=1).execute()
    (inst,) = model.instances
    assert inst.waits_folded > 5 * KEEP
    # the kept ones, then less than a batch (a quarter of the cap) and a window's waits
    assert len(inst.waits) < 2 * KEEP

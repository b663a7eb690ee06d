"""The summary's figures of a one-class, one-instance run, checked against the records
themselves (the summary computes each percentile set once and reuses it)."""

from __future__ import annotations

import numpy as np
import pytest

import simperf

from conftest import MODELS


def test_one_class_and_one_instance_figures_match_the_records() -> None:
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": 30, "run.warmup": 5, "run.engine": "fast"}
    )
    result = simperf.run(scenario, seed=2)
    latency = result.data["latency"]
    records = result._arrays
    measured = records["latency"][records["start"] >= 5.0]
    expected = np.percentile(measured, [50, 90, 95, 99, 99.9])
    for name in ("request", "all"):
        row = latency[name]
        assert row["count"] == measured.size
        assert row["mean"] == pytest.approx(measured.mean(), rel=1e-12)
        got = [row[k] for k in ("p50", "p90", "p95", "p99", "p999")]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    component = result.data["components"]["app"]
    instance = component["per_instance"]["app[0]"]
    assert component["p_wait"] > 0.5
    for key in ("p_wait", "wait_p50", "wait_p95", "wait_p99"):
        assert component[key] == instance[key]

"""Database samples past run.keep_requests: bounded, with exact counts, means and maxima,
percentiles within the sketch's stated relative error."""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simperf
from simperf.metrics.quantiles import RELATIVE_ERROR
from simperf.metrics.samples import Samples, distribution

MODELS = Path(__file__).resolve().parents[2] / "models"
KEEP = 300


def test_folded_values_keep_count_mean_max_and_the_count_over_exact() -> None:
    rng = np.random.default_rng(1)
    x = rng.lognormal(-6, 1, 5000)
    values = array("d")
    samples = Samples(values, over=0.005)
    for start in range(0, x.size, 700):  # appended between snapshots, folded at each
        values.extend(x[start : start + 700])
        samples.fold(keep=KEEP, batch=100, warm=200)
    assert len(values) <= KEEP + 100 and samples.count == x.size
    measured = x[200:]  # the warm-up's 200 values are counted, never kept
    d = distribution([(samples, 200, x.size)])
    assert d["count"] == measured.size
    assert d["mean"] == pytest.approx(measured.mean(), rel=1e-12)
    assert d["max"] == measured.max()
    assert d["over"] == np.count_nonzero(measured > 0.005)
    for p, q in ((50, d["p50"]), (99, d["p99"])):
        exact = np.percentile(measured, p)
        assert abs(q - exact) <= RELATIVE_ERROR * exact


def _databases(result: Any) -> dict[str, Any]:
    return result.to_dict()["databases"]["catalog"]


def test_a_capped_run_reports_database_samples_as_the_full_run_does() -> None:
    scenario = simperf.load(MODELS / "read_replicas.yaml").with_overrides(
        {"run.duration": 2, "run.warmup": 0.5, "run.window": 0.25}
    )
    full = _databases(simperf.run(scenario, seed=2))
    model = simperf.build.build(scenario.with_overrides({"run.keep_requests": KEEP}), seed=2)
    model.execute()
    db = model.components["catalog"]
    # bounded: the first KEEP, and what came after the last snapshot's fold
    streams = [s.samples for s in db.stats.values()] + [p.wait_samples for p in db.pools]
    streams.append(db.lag_samples)
    assert all(len(s.values) < KEEP + 400 for s in streams)  # a window's values at most
    assert sum(s.folded_count for s in streams) > sum(len(s.values) for s in streams)
    capped = _databases(simperf.run(scenario.with_overrides({"run.keep_requests": KEEP}), seed=2))
    pairs = [(full["queries"][q], capped["queries"][q]) for q in full["queries"]]
    pairs += [(full["pools"]["app"]["wait"], capped["pools"]["app"]["wait"])]
    pairs += [(full["replication"]["lag"], capped["replication"]["lag"])]
    for exact, folded in pairs:
        assert folded.get("calls", folded.get("count")) == exact.get("calls", exact.get("count"))
        assert folded["mean"] == pytest.approx(exact["mean"], rel=1e-9)
        assert folded["max"] == exact["max"]
        for p in ("p50", "p99"):
            assert abs(folded[p] - exact[p]) <= RELATIVE_ERROR * exact[p]
    for q in full["queries"]:
        assert capped["queries"][q]["slow"] == full["queries"][q]["slow"]
    assert capped["pools"]["app"]["waited"] == full["pools"]["app"]["waited"]
    assert capped["pools"]["app"]["acquisitions"] == full["pools"]["app"]["acquisitions"]

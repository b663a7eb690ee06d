"""A/B comparisons on common random numbers."""

from __future__ import annotations

import pytest

import simperf

from conftest import MODELS


def mmc(**overrides):
    return simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": 60, "run.warmup": 5, **overrides}
    )


def test_four_versus_five_cores_is_detected_with_five_replications() -> None:
    result = simperf.compare(mmc(), mmc(**{"components.app.cores": 5}), 5, executor="serial")
    row = result.difference("latency.all.mean")
    assert row["significant"] and row["difference"] < 0
    assert result.difference("components.app.utilization")["relative"] < -0.15
    # the arrivals are common: throughput barely moves and is not called significant
    assert abs(result.difference("throughput")["relative"]) < 0.01


def test_a_scenario_compared_with_itself_differs_by_exactly_zero() -> None:
    result = simperf.compare(mmc(), mmc(), 3, executor="serial")
    assert (result.frame["difference"] == 0).all()
    assert not result.frame["significant"].any()
    data = result.to_dict()
    assert data["metrics"]["latency.all.p99"]["difference"] == 0


def test_common_random_numbers_beat_independent_intervals() -> None:
    import math

    from scipy import stats

    a, b = mmc(), mmc(**{"components.app.cores": 5})
    paired = simperf.compare(a, b, 5, executor="serial").difference("latency.all.mean")
    # the same difference estimated from independent replications (different seeds)
    ra = simperf.replicate(a, 5, seed=1, executor="serial").interval("latency.all.mean")
    rb = simperf.replicate(b, 5, seed=2, executor="serial").interval("latency.all.mean")
    t = stats.t.ppf(0.975, df=8)
    independent = t * math.sqrt(ra.std**2 / 5 + rb.std**2 / 5)
    # Arrivals and service draws are shared, so the paired interval is narrower; here by
    # about 10-20% (the 5-core latency varies far less than the 4-core one, which limits
    # the correlation between the two to about 0.7).
    assert paired["half_width"] < independent


def test_counts_the_same_in_every_replication_are_not_called_significant() -> None:
    """B asks for 2 requests fewer: requests.ok is 2 lower in both replications. Their
    t interval has zero width, and compare called it significant on no evidence."""
    mm1 = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": None, "run.requests": 6000}
    )
    result = simperf.compare(
        mm1, mm1.with_overrides({"run.requests": 5998}), 2, executor="serial", progress=False
    )
    row = result.difference("requests.ok")
    assert (row["difference"], row["half_width"]) == (-2.0, 0.0)
    assert not row["significant"]
    assert row["verdict"] == "same in every replication"
    assert result.to_dict()["metrics"]["requests.ok"]["verdict"] == "same in every replication"
    # a latency that moved by other amounts in each replication keeps its t verdict
    assert result.difference("latency.all.mean")["verdict"] in ("significant", "not significant")


def renamed(scenario: simperf.Scenario, old: str, new: str) -> simperf.Scenario:
    """The scenario with component ``old`` called ``new`` (its metrics under that name)."""
    data = scenario.model_dump(mode="json", by_alias=True)
    data["components"] = {new if k == old else k: v for k, v in data["components"].items()}
    for cls in data["workload"]["classes"]:
        cls["entry"] = new if cls["entry"] == old else cls["entry"]
    return simperf.from_dict(data)


def test_a_metric_of_one_side_only_is_listed_as_absent_on_the_other() -> None:
    """B's server is called web: its metrics were missing from the comparison, as if B
    had nothing A lacks (a cache or a database only in B)."""
    a = mmc(**{"run.duration": 10, "run.warmup": 1})
    result = simperf.compare(a, renamed(a, "app", "web"), 2, executor="serial", progress=False)
    only_b = result.difference("components.web.utilization")
    assert only_b["verdict"] == "absent in A" and not only_b["significant"]
    assert only_b["mean_a"] != only_b["mean_a"] and only_b["mean_b"] > 0.5  # NaN: none in A
    assert only_b["n"] == 2
    assert result.difference("components.app.utilization")["verdict"] == "absent in B"
    # A's metrics come first, then B's own, in their order
    metrics = result.frame["metric"].tolist()
    assert metrics.index("components.app.utilization") < metrics.index("components.web.utilization")
    assert result.to_dict()["metrics"]["components.web.utilization"]["mean_a"] is None
    # what both report is paired as before
    assert result.difference("latency.all.mean")["verdict"] in ("significant", "not significant")


def test_a_metric_with_no_value_on_one_side_is_listed_too(monkeypatch) -> None:
    """A reports a metric with no value in any replication (NaN: no sample, such as the
    latency of a class it never served), B with one: the row was dropped, as was one
    with a value in a single pair of replications."""
    from simperf.experiment import replicate

    def fake_run(data, seed, rep):
        b = data["name"] == "b"
        return {
            "served": (0.02 + rep / 100) if b else float("nan"),  # no sample in A
            "once": 1.0 if rep == 0 else float("nan"),  # one pair only
            "both": float(rep + (2 if b else 0)),
        }

    monkeypatch.setattr(replicate, "run_to_dict", fake_run)
    a = mmc(**{"name": "a"})
    result = simperf.compare(a, a.with_overrides({"name": "b"}), 3, executor="serial")
    served = result.difference("served")
    assert (served["verdict"], served["n"]) == ("absent in A", 3)
    assert served["mean_b"] == pytest.approx(0.03)
    assert result.difference("once")["verdict"] == "no interval"
    assert result.difference("both")["verdict"] == "same in every replication"

"""Ranking designs by price says when the prices leave cores out."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import simperf
from simperf.errors import SimperfWarning

MODELS = Path(__file__).resolve().parents[2] / "models"


def designs(cost: dict[str, object]) -> dict[str, tuple[simperf.Scenario, str, int, int]]:
    """mmc.yaml (320/s of 10 ms) up (one instance, 1 to 8 cores) or out (1-core instances)."""
    base = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": 10, "run.warmup": 1, "components.app.cost": cost}
    )
    one_core = base.with_overrides({"components.app.cores": 1})
    return {
        "up": (base, "components.app.cores", 1, 8),
        "out": (one_core, "components.app.replicas", 1, 8),
    }


def test_designs_differing_in_cores_warn_when_cores_are_unpriced() -> None:
    with pytest.warns(SimperfWarning, match="cores are free in this comparison") as caught:
        ranking = simperf.cheapest(
            designs({"per_instance": "1/h"}),
            ["components.app.utilization<0.9"],
            replications=2,
            executor="serial",
        )
    frame = ranking.frame.set_index("design")
    # 4 cores either way (utilisation 0.8): one instance looks 4x cheaper with cores free
    assert frame.loc["up", "answer"] == 4 and frame.loc["out", "answer"] == 4
    assert ranking.best == "up"
    (warning,) = ranking.warnings
    assert "(up: 4, out: 1)" in warning
    assert warning in {str(w.message) for w in caught}
    assert ranking.to_dict()["warnings"] == [warning]


def test_priced_cores_give_no_warning() -> None:
    ranking = simperf.cheapest(
        designs({"per_instance": "1/h", "per_core": "0.5/h"}),
        ["components.app.utilization<0.9"],
        replications=2,
        executor="serial",
    )
    assert ranking.warnings == []
    frame = ranking.frame.set_index("design")
    assert frame.loc["up", "cost_per_hour"] == 1 + 4 * 0.5
    assert frame.loc["out", "cost_per_hour"] == 4 * (1 + 0.5)


def test_a_ranking_says_which_answers_are_not_certain() -> None:
    """p95 below 42.5 ms at 500/s: 6 cores (42.47 ms by Erlang C) stay undecided, so
    the answer 7 of the design searched over cores is not certain."""
    base = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"workload.arrival.rate": "500/s", "run.duration": 20, "run.warmup": 2}
    )
    ranking = simperf.cheapest(
        {"up": (base, "components.app.cores", 1, 8)},
        ["latency.all.p95<42.5ms"],
        replications=2,
        max_replications=4,
        executor="serial",
    )
    row = ranking.frame.set_index("design").loc["up"]
    assert row["answer"] == 7 and not row["certain"]
    assert ranking.to_dict()["ranking"][0]["certain"] is False


def test_a_knob_that_changes_no_price_is_flagged() -> None:
    """Scaling up by speed on a per-instance price costs the same at any speed, so the
    ranking of cheapest's own example found speed cheaper than replicas without a word."""
    base = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": 10, "run.warmup": 1, "components.app.cost": {"per_instance": "1/h"}}
    )
    with pytest.warns(SimperfWarning, match="components.app.speed changes no price"):
        ranking = simperf.cheapest(
            {"up": (base, "components.app.speed", 1, 4), "out": (base, "components.app.replicas")},
            ["latency.all.mean<14ms"],
            replications=2,
            executor="serial",
        )
    assert ranking.best == "up"  # at 1/h, against 2/h for two instances
    (note,) = [w for w in ranking.warnings if "changes no price" in w]
    assert note.startswith("up: ") and "1/h" in note


def test_no_design_is_refused_with_a_clear_error() -> None:
    """``cheapest({})`` raised pandas' KeyError 'met' after ranking nothing."""
    with pytest.raises(simperf.SpecError, match="give at least one design"):
        simperf.cheapest({})


def test_designs_that_coincide_are_searched_once(tmp_path: Path) -> None:
    """Two names for one spec, knob and range (an override that changes nothing): the
    second repeats the first's runs, so it is given the first's search, not run again."""
    up = designs({"per_instance": "1/h", "per_core": "0.5/h"})["up"]
    same = (up[0].with_overrides({"components.app.cores": 4}), *up[1:])
    out = tmp_path / "c.db"
    with pytest.warns(SimperfWarning, match="design 'again' is design 'up'"):
        ranking = simperf.cheapest(
            {"up": up, "again": same},
            ["components.app.utilization<0.9"],
            replications=2,
            executor="serial",
            store=out,
        )
    assert ranking.searches["again"] is ranking.searches["up"]
    assert ranking.tied == ["up", "again"]
    with sqlite3.connect(out) as db:
        (stored,) = db.execute("SELECT COUNT(*) FROM runs").fetchone()
    assert stored == sum(len(p.runs) for p in ranking.searches["up"].probes)

"""Experiment outcomes print as one line in a terminal, and as their summary in IPython.

Their dataclass repr held the scenario and every run: a capacity search's filled 20,000
characters of a notebook or REPL, where typing its name is the first thing users do.
"""

from __future__ import annotations

import pytest

import simperf

from conftest import MODELS

SLO = ["components.app.utilization<0.9"]


@pytest.fixture(scope="module")
def base() -> simperf.Scenario:
    """320/s of exactly 10 ms: every run is short and its answer exact."""
    return simperf.load(MODELS / "mmc.yaml").with_overrides(
        {
            "run.duration": 2,
            "run.warmup": 0.5,
            "workload.arrival": {"kind": "deterministic", "rate": 320},
            "components.app.endpoints.serve": [{"cpu": {"dist": "constant", "value": 0.01}}],
            "components.app.cost": {"per_instance": "1/h", "per_core": "0.5/h"},
        }
    )


def _short(outcome: object, *parts: str) -> str:
    text = repr(outcome)
    assert len(text) < 200 and "\n" not in text, text[:300]
    for part in parts:
        assert part in text
    return text


def test_a_capacity_search_prints_its_answer(base: simperf.Scenario) -> None:
    found = simperf.capacity(base, "components.app.cores", SLO, low=1, high=8, executor="serial")
    assert found.answer == 4
    _short(found, "Capacity(", "'components.app.cores'", "answer=4", "cost=3.0")
    pretty = pytest.importorskip("IPython.lib.pretty")
    assert pretty.pretty(found) == found.summary()


def test_replications_and_comparisons_print_one_line(base: simperf.Scenario) -> None:
    reps = simperf.replicate(base, 2, executor="serial")
    _short(reps, "Replications(scenario='mmc'", "n=2")
    cmp = simperf.compare(
        base, base.with_overrides({"components.app.cores": 5}), 2, executor="serial"
    )
    _short(cmp, "Comparison(a='mmc', b='mmc'", "replications=2", "metrics)")


def test_a_ranking_and_a_growth_print_one_line(base: simperf.Scenario) -> None:
    one_core = base.with_overrides({"components.app.cores": 1})
    ranking = simperf.cheapest(
        {
            "up": (base, "components.app.cores", 1, 8),
            "out": (one_core, "components.app.replicas", 1, 8),
        },
        SLO,
        executor="serial",
    )
    _short(ranking, "Ranking(best='up'", "'out'")
    projection = simperf.growth({"as_is": base}, SLO, rate=0.1, months=2, executor="serial")
    _short(projection, "Growth(rate=0.1, months=2", "['as_is']")
    pretty = pytest.importorskip("IPython.lib.pretty")
    assert pretty.pretty(projection) == projection.summary()

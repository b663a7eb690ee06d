"""Growth projections: the breach month and the cost of fixed and resized designs.

Arrivals are deterministic and every request takes exactly 10 ms of a core, so a
c-core server's utilisation is the closed form rate x 10 ms / c in every replication
(intervals of zero width): the month an SLO on it stops holding, and the smallest
core count meeting it each month, follow from the growth alone.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import simperf
from simperf.errors import SpecError
from simperf.experiment.growth import LOAD, Growth

MODELS = Path(__file__).resolve().parents[2] / "models"
RATE, SERVICE, LIMIT = 320.0, 0.01, 0.9


@pytest.fixture(scope="module")
def base() -> simperf.Scenario:
    return simperf.load(MODELS / "mmc.yaml").with_overrides(
        {
            "run.duration": 4,
            "run.warmup": 0.5,
            "workload.arrival": {"kind": "deterministic", "rate": RATE},
            "components.app.endpoints.serve": [{"cpu": {"dist": "constant", "value": SERVICE}}],
            "components.app.cost": {"per_instance": "1/h", "per_core": "0.5/h"},
        }
    )


def test_breach_month_and_cost_follow_the_closed_form(base: simperf.Scenario) -> None:
    growth, months = 0.1, 5
    projection = simperf.growth(
        {"fixed": base, "cores": (base, "components.app.cores", 1, 5)},
        [f"components.app.utilization<{LIMIT}"],
        rate=growth,
        months=months,
        replications=2,
        executor="serial",
    )
    rates = [RATE * (1 + growth) ** m for m in range(months)]
    # Fixed at 4 cores: the first month with rate x 10 ms / 4 >= 0.9.
    breach = next(m for m, r in enumerate(rates) if r * SERVICE / 4 >= LIMIT)
    designs = projection.designs.set_index("design")
    assert designs.loc["fixed", "breach_month"] == breach == 2
    assert designs.loc["fixed", "cost_until_breach"] == breach * 3.0 * 730
    assert pd.isna(designs.loc["fixed", "cost_over_horizon"])
    # Resized: each month the fewest cores keeping utilisation below 0.9, up to 5.
    need = [math.floor(r * SERVICE / LIMIT) + 1 for r in rates]
    held = [n for n in need if n <= 5]
    frame = projection.frame
    sizes = frame[frame.design == "cores"]["size"].tolist()
    assert sizes[: len(held)] == held == [4, 4, 5, 5]
    assert designs.loc["cores", "breach_month"] == len(held) == 4
    assert designs.loc["cores", "cost_until_breach"] == sum((1 + 0.5 * n) * 730 for n in held)
    assert "cores: SLOs stop holding in month 4" in projection.summary()
    # Why: 387.2/s on 4 cores is 96.8% busy, saturated; 468.5/s on 5 cores 93.7% busy.
    why = frame.groupby("design").why.last()
    assert why["fixed"].startswith("saturated (app: cores 96.8% busy")
    assert why["cores"] == (
        "components.app.cores=5: components.app.utilization 93.7% (same in every replication) "
        "missed, target < 90%"
    )
    assert f"at 468.512/s {why['cores']}" in projection.summary()
    assert projection.to_dict()["designs"][0]["breach_month"] == 2
    assert "Growth of 10.0% a month" in projection._repr_html_()


def test_shrinking_traffic_needs_fewer_cores(base: simperf.Scenario) -> None:
    """Each month searched from the month before's answer up: at -20% a month the
    projection kept 4 cores (cost 4 x 3 x 730 = 8,760) where 3 and then 2 keep
    utilisation below 0.9."""
    growth, months = -0.2, 4
    projection = simperf.growth(
        {"cores": (base, "components.app.cores", 1, 5)},
        [f"components.app.utilization<{LIMIT}"],
        rate=growth,
        months=months,
        replications=2,
        executor="serial",
    )
    rates = [RATE * (1 + growth) ** m for m in range(months)]
    need = [math.floor(r * SERVICE / LIMIT) + 1 for r in rates]
    assert projection.frame["size"].tolist() == need == [4, 3, 3, 2]
    cost = projection.designs.set_index("design").loc["cores", "cost_over_horizon"]
    assert cost == sum((1 + 0.5 * n) * 730 for n in need) == 7300
    assert "components.app.cores 4 to 2" in projection.summary()


def test_a_closed_workload_cannot_grow(base: simperf.Scenario) -> None:
    closed = simperf.load(MODELS / "closed.yaml")
    with pytest.raises(SpecError, match=r"growth scales workload\.arrival\.rate"):
        simperf.growth({"closed": closed}, ["latency.all.mean<1s"], rate=0.1)
    with pytest.raises(SpecError, match="above -100%"):
        simperf.growth({"fixed": base}, ["latency.all.mean<1s"], rate=-1)


def test_the_summary_gives_the_sizes_and_does_not_price_an_unpriced_spec() -> None:
    frame = pd.DataFrame(
        {
            "design": ["fixed", "fixed", "up", "up", "up"],
            "month": [0, 1, 0, 1, 2],
            "met": [True, False, True, True, True],
            "knob": [
                None,
                None,
                "components.app.cores",
                "components.app.cores",
                "components.app.cores",
            ],
            "size": [None, None, 4.0, 5.0, 7.0],
            "cost_per_hour": [0.0, None, 0.0, 0.0, 0.0],
        }
    )
    designs = pd.DataFrame(
        {
            "design": ["fixed", "up"],
            "breach_month": [1, None],
            "cost_until_breach": [0.0, 0.0],
            "cost_over_horizon": [None, 0.0],
        }
    )
    text = Growth(0.1, 3, frame, designs).summary()
    assert "fixed: SLOs stop holding in month 1 (no prices in the spec)" in text
    assert "up: SLOs hold all 3 months; components.app.cores 4 to 7 (no prices in the spec)" in text


def test_a_design_that_misses_in_month_0_says_so(base: simperf.Scenario) -> None:
    # 320/s of 10 ms on 4 cores is 80% busy from the start: utilization < 0.5 never holds.
    projection = simperf.growth(
        {"fixed": base}, ["components.app.utilization<0.5"], rate=0.1, months=3, replications=2
    )
    designs = projection.designs.set_index("design")
    assert designs.loc["fixed", "breach_month"] == 0
    assert designs.loc["fixed", "months_held"] == 0
    assert designs.loc["fixed", "cost_until_breach"] is None
    assert projection.summary().splitlines()[1] == (
        "  fixed: SLOs do not hold even in month 0; at 320/s "
        "components.app.utilization 80.0% (same in every replication) missed, target < 50%"
    )


def test_a_month_whose_size_is_not_certain_says_so() -> None:
    """500/s of 10 ms, p95 below 42.5 ms: Erlang C gives 42.47 ms at 6 cores, so 6 stays
    undecided and each month's 7 cores may in truth be 6 (the capacity search's doubt).
    The next month searches from 6, the smallest size not shown to miss, not from 7,
    which would hide that doubt; a fixed design at 6 cores breaches, but not certainly."""
    boundary = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"workload.arrival.rate": "500/s", "run.duration": 20, "run.warmup": 2}
    )
    projection = simperf.growth(
        {
            "up": (boundary, "components.app.cores", 1, 8),
            "six": boundary.with_overrides({"components.app.cores": 6}),
        },
        ["latency.all.p95<42.5ms"],
        rate=0.0,
        months=2,
        replications=2,
        max_replications=4,
        executor="serial",
    )
    frame = projection.frame
    up = frame[frame.design == "up"]
    assert up["size"].tolist() == [7, 7]
    assert up["certain"].tolist() == [False, False]
    assert up["size_range"].tolist() == [[6, 7], [6, 7]]
    assert up["doubt"].tolist() == ["components.app.cores=6 undecided after 4 runs"] * 2
    six = frame[frame.design == "six"].iloc[0]
    assert not six["met"] and not six["certain"]
    designs = projection.designs.set_index("design")
    assert not designs.loc["up", "certain"] and not designs.loc["six", "certain"]
    data = projection.to_dict()
    assert [m["size_range"] for m in data["months_judged"][:2]] == [[6, 7], [6, 7]]
    assert data["designs"][0]["certain"] is False
    up_line, six_line = projection.summary().splitlines()[1:]
    assert "not certain: months 0-1 components.app.cores 6 to 7" in up_line
    assert "components.app.cores=6 undecided after 4 runs" in up_line
    assert "SLOs not shown to hold even in month 0" in six_line


@pytest.mark.parametrize("design", ["fixed", "resized"])
def test_a_busiest_month_over_max_events_is_refused_before_any_run(
    base: simperf.Scenario, design: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 50% a month, month 5 brings 7.6x the arrivals: over max_events where month 0
    fits. Before, the projection ran until that month and then failed, losing the rest."""

    def no_run(*args: object) -> None:
        raise AssertionError("a month ran")

    monkeypatch.setattr("simperf.experiment.replicate.run_to_dict", no_run)
    small = base.with_overrides({"run.max_events": 5000})  # month 0: about 1.3k arrivals
    plan = small if design == "fixed" else (small, "components.app.cores", 1, 8)
    with pytest.raises(SpecError, match=r"design 'd': month 5 \(workload\.arrival\.rate=2430"):
        simperf.growth(
            {"d": plan}, ["components.app.utilization<0.9"], rate=0.5, months=6, executor="serial"
        )


def test_falling_traffic_judges_a_design_that_misses_in_month_0_again(
    base: simperf.Scenario,
) -> None:
    """At -20% a month, 4 cores are 80%, 64%, 51.2% and 41% busy: utilisation < 0.6
    misses in months 0 and 1 and holds from month 2 on. Judging used to stop at month 0."""
    projection = simperf.growth(
        {"fixed": base}, ["components.app.utilization<0.6"], rate=-0.2, months=4, replications=2
    )
    frame = projection.frame
    assert frame.met.tolist() == [False, False, True, True]
    designs = projection.designs.set_index("design")
    assert designs.loc["fixed", "breach_month"] == 0
    assert designs.loc["fixed", "holds_from"] == 2
    assert designs.loc["fixed", "months_held"] == 2
    assert designs.loc["fixed", "cost_once_held"] == 2 * 3.0 * 730
    line = projection.summary().splitlines()[1]
    assert line.startswith(
        "  fixed: SLOs hold from month 2 as traffic falls (missed in month 0), cost "
    )
    assert "at 320/s components.app.utilization 80.0% (same in every" in line


def test_another_rate_resumes_with_the_runs_of_the_loads_it_shares(
    base: simperf.Scenario, tmp_path: Path
) -> None:
    """Runs are stored by load, not by month: a store resumed at another growth rate
    reuses month 0 (the same load) and gives what a fresh projection at that rate does."""
    slo, out = ["components.app.utilization<0.9"], tmp_path / "g.db"
    kw = dict(months=2, replications=2, executor="serial")
    simperf.growth({"fixed": base}, slo, rate=0.1, store=out, **kw)
    resumed = simperf.growth({"fixed": base}, slo, rate=0.05, store=out, resume=True, **kw)
    fresh = simperf.growth({"fixed": base}, slo, rate=0.05, **kw)
    assert resumed.to_dict() == fresh.to_dict()
    with sqlite3.connect(out) as db:
        loads = sorted(
            json.loads(p)[LOAD] for (p,) in db.execute("SELECT DISTINCT point FROM runs")
        )
    assert loads == pytest.approx([RATE, RATE * 1.05, RATE * 1.1])  # month 0 once


def test_designs_that_coincide_are_judged_once(base: simperf.Scenario, tmp_path: Path) -> None:
    out = tmp_path / "g.db"
    with pytest.warns(simperf.SimperfWarning, match="design 'again' is design 'fixed'"):
        projection = simperf.growth(
            {"fixed": base, "again": base.with_overrides({"components.app.cores": 4})},
            [f"components.app.utilization<{LIMIT}"],
            rate=0.1,
            months=3,
            replications=2,
            executor="serial",
            store=out,
        )
    frame = projection.frame
    mine = frame[frame.design == "again"].drop(columns="design").reset_index(drop=True)
    assert mine.equals(frame[frame.design == "fixed"].drop(columns="design").reset_index(drop=True))
    with sqlite3.connect(out) as db:
        (stored,) = db.execute("SELECT COUNT(*) FROM runs").fetchone()
    assert stored == 2 + 2 + 1  # months 0 and 1 twice, saturated month 2 once: not again

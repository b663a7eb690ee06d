"""Notebook views: results and experiments show as escaped tables, not text dumps."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import simperf
from simperf.presentation.tables import frame_html


@pytest.fixture(scope="module")
def scenario() -> simperf.Scenario:
    from simperf import from_dict

    from conftest import MINIMAL

    return from_dict(MINIMAL).with_overrides({"run.duration": 10})


def _cells(html: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", html)


def test_result_shows_tables(scenario: simperf.Scenario) -> None:
    result = simperf.run(scenario, seed=1)
    html = result._repr_html_()
    assert html.count("<table") >= 2  # latency per class, components
    assert "Latency by class" in html and "Components" in html
    assert "req" in _cells(html)
    assert len(html) < 20_000


def test_replications_comparison_capacity_and_ranking_show_tables(
    scenario: simperf.Scenario,
) -> None:
    reps = simperf.replicate(scenario, 2, executor="serial", progress=False)
    html = reps._repr_html_()
    assert "2 replications" in html and "latency.all.p99" in _cells(html)
    other = scenario.with_overrides({"components.app.cores": 2})
    cmp = simperf.compare(scenario, other, 2, executor="serial", progress=False)
    html = cmp._repr_html_()
    shown = _cells(html)
    significant = cmp.frame[cmp.frame.significant.astype(bool)]["metric"]
    assert set(significant) <= set(shown) and "latency.all.mean" in shown
    found = simperf.capacity(
        scenario, "components.app.cores", ["latency.all.p99 < 100ms"], low=1, high=4,
        replications=2, executor="serial", progress=False,
    )  # fmt: skip
    html = found._repr_html_()
    assert "<table" in html and f"components.app.cores = {found.answer:g}" in html
    priced = scenario.with_overrides({"components.app.cost": {"per_core": 0.05}})
    ranking = simperf.cheapest(
        {"up": (priced, "components.app.cores", 1, 4)}, ["latency.all.p99 < 100ms"],
        replications=2, executor="serial", progress=False,
    )  # fmt: skip
    assert "cheapest meeting the SLO: up" in ranking._repr_html_()


def test_the_component_table_shows_what_a_server_shed_and_dropped_expired() -> None:
    from simperf.presentation.tables import component_table
    from tests.components.test_admission import deadline_scenario

    html = component_table(simperf.run(deadline_scenario(True, via_front=True)))
    header = re.findall(r"<th>(.*?)</th>", html)
    after = header.index("rejected") + 1
    assert header[after : after + 2] == ["shed", "expired"]
    cells = _cells(html)
    app, front = cells[: len(header)], cells[len(header) : 2 * len(header)]
    assert app[header.index("expired")] == "7" and front[header.index("expired")] == "-"


def test_every_count_has_its_thousands_separated() -> None:
    # counts in int64 columns (a cache's hits, a class's count) read 8281 beside the
    # float columns' 29,412: numpy's integers are not Python's
    frame = pd.DataFrame({"hits": np.array([8281], dtype=np.int64), "served": [29412.0]})
    cells = _cells(frame_html(frame))
    assert "8,281" in cells and "29,412" in cells


def test_a_comparison_of_one_spec_with_an_override_names_its_sides_apart(
    scenario: simperf.Scenario,
) -> None:
    # notebooks/03 compared read_replicas with itself less its replicas: the title read
    # "read_replicas against read_replicas"; each side now says what it has that differs
    short = scenario.with_overrides({"run.duration": 2})
    two = short.with_overrides({"components.app.cores": 2})
    cmp = simperf.compare(short, two, 2, executor="serial", progress=False)
    title = re.search(r"<h4>(.*?)</h4>", cmp._repr_html_()).group(1)
    assert title == "minimal (components.app.cores=2) against minimal (components.app.cores=1)"


def test_comparison_sides() -> None:
    from simperf import from_dict
    from simperf.presentation.tables import comparison_sides

    from conftest import MINIMAL

    base = from_dict(MINIMAL)
    assert comparison_sides(base, base) == ("minimal (the same spec)", "minimal (the same spec)")
    other = base.model_copy(update={"name": "other"})
    assert comparison_sides(base, other) == ("minimal", "other")
    many = base.with_overrides({"run.seed": 3, "run.duration": 5, "components.app.cores": 2})
    a, b = comparison_sides(base, many)
    assert a.startswith("minimal (") and a.endswith(", and 1 more)")
    assert "components.app.cores=2" in b or "run.seed=3" in b


def _row(html: str, metric: str) -> dict[str, str]:
    """The cells of ``metric``'s row of an HTML table, by column."""
    header = re.findall(r"<th>(.*?)</th>", html)
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        cells = re.findall(r"<td>(.*?)</td>", row)
        if metric in cells:
            return dict(zip(header, cells, strict=True))
    raise KeyError(metric)


def test_experiment_views_format_each_metric_as_the_text_does(
    scenario: simperf.Scenario,
) -> None:
    # replications, comparisons and capacity searches showed raw means and half-widths
    # (0.5118, 0.08979) where the text says 51.2% and 89.8 ms; the frames stay raw
    from simperf.presentation.cells import metric_value

    short = scenario.with_overrides({"run.duration": 3})
    reps = simperf.replicate(short, 2, executor="serial", progress=False)
    row = _row(reps._repr_html_(), "components.app.utilization")
    raw = reps.summary(["components.app.utilization"]).iloc[0]
    metric = "components.app.utilization"
    assert row["mean"] == metric_value(metric, raw["mean"]) and row["mean"].endswith("%")
    assert row["half_width"] == metric_value(metric, raw["half_width"])
    assert _row(reps._repr_html_(), "estimate.bottleneck.utilization")["half_width"] == (
        "same in every replication"
    )
    assert reps.summary()["mean"].dtype == float  # the frame itself is untouched
    other = short.with_overrides({"components.app.cores": 2})
    cmp = simperf.compare(short, other, 2, executor="serial", progress=False)
    row = _row(cmp._repr_html_(), "latency.all.p99")
    raw = cmp.difference("latency.all.p99")
    assert row["mean_a"] == metric_value("latency.all.p99", raw["mean_a"])
    assert row["difference"].endswith("ms") and row["relative"] == f"{raw['relative']:+.1%}"
    found = simperf.capacity(
        short, "components.app.cores", ["latency.all.p99 < 200ms"], low=2, high=2,
        replications=2, executor="serial", progress=False,
    )  # fmt: skip
    html = found._repr_html_()
    row = _row(html, "latency.all.p99")
    assert row["target"] == "200 ms" and row["mean"] == metric_value(
        "latency.all.p99", found.frame["mean"].iat[0]
    )
    assert row["cost_per_hour"] == "0/h"
    # an error rate of 0 in every replication: no interval, said as the text says it
    assert _row(html, "error_rate")["half_width"] == "same in every replication"
    assert "meets latency.all.p99 &lt; 200 ms, error_rate &lt; 0.1% at" in html
    # the search's text names the components its costs leave out: so does its view
    assert found.unpriced == ["app"]
    assert "costs: not in the total, no price given: app" in html


def test_ranking_and_growth_views_name_what_their_costs_leave_out() -> None:
    from simperf.experiment.cheapest import Ranking
    from simperf.experiment.growth import Growth

    ranking = Ranking(
        pd.DataFrame(
            [
                {"design": "up", "knob": "components.app.cores", "answer": 2.0,
                 "cost_per_hour": 0.25, "met": True, "certain": True, "probes": 2,
                 "replications": 4, "unpriced": ["lb", "search"]},
                {"design": "out", "knob": "components.app.replicas", "answer": None,
                 "cost_per_hour": 0.5, "met": False, "certain": True, "probes": 1,
                 "replications": 2, "unpriced": []},
            ]
        ),
        {},
    )  # fmt: skip
    html = ranking._repr_html_()
    assert "cost/h leaves out, no price given: up: lb, search" in html
    assert _row(html, "up")["cost_per_hour"] == "0.25/h" and _row(html, "up")["unpriced"] == (
        "lb, search"
    )
    assert _row(html, "out")["cost_per_hour"] == "-" and _row(html, "out")["unpriced"] == "-"
    months = pd.DataFrame(
        [{"design": "api", "month": 0, "load": 1.0, "rate": 320.0, "knob": None, "size": None,
          "size_range": None, "certain": True, "doubt": None, "met": True,
          "cost_per_hour": 1.5, "cost": 1095.0, "why": None}]
    )  # fmt: skip
    designs = pd.DataFrame(
        [{"design": "api", "breach_month": None, "months_held": 1, "cost_until_breach": 1095.0,
          "cost_over_horizon": 1095.0, "holds_from": 0, "cost_once_held": 1095.0,
          "certain": True, "unpriced": ["store"]}]
    )  # fmt: skip
    html = Growth(0.1, 1, months, designs)._repr_html_()
    assert "no price given: api: store" in html
    assert "<td>320/s</td>" in html and "<td>1.5/h</td>" in html

"""Every rate a user reads is written one way (``presentation.cells.per_second``:
``320/s``; a figure's axis ``rate_title``: ``throughput (requests/s)``): the run's text,
the estimate's, growth's, the report and the figures, none in words of their own."""

from __future__ import annotations

import re

import simperf
from simperf import plots
from simperf.presentation import summary_stores
from simperf.presentation.cells import PER_SECOND, per_second, rate_title

from conftest import MODELS, ROOT

OTHER_WORDING = re.compile(r"\breq/s\b|\d requests/s")
"""``2000 req/s`` or ``16.01 requests/s`` where the rule writes ``2000/s``."""


def _scanned(text: str) -> str:
    # the simulator's own speed ('48,413 requests/s, 441,121 events/s') counts two
    # things per second of wall time, not a rate of the model: named, as events are
    return "\n".join(line for line in text.splitlines() if not line.startswith("wall time"))


def peaked() -> simperf.Scenario:
    """models/mmc.yaml at 100/s, then 300/s from 4 s: a load that varies in time."""
    return simperf.load(MODELS / "mmc.yaml").with_overrides(
        {
            "workload.arrival": {"kind": "piecewise", "rate": 200, "profile": [[0, 0.5], [4, 1.5]]},
            "description": "M/M/4 at a load that triples at 4 s",  # the report shows it
            "run.duration": 6,
            "run.warmup": 1,
        }
    )


def test_the_run_the_estimate_and_the_figures_write_rates_one_way() -> None:
    result = simperf.run(peaked())
    text = result.summary()
    peak = next(line for line in text.splitlines() if "the peak:" in line)
    assert re.search(rf"load, \d+(\.\d+)?{PER_SECOND} offered", peak), peak
    assert re.search(rf"times the mean \d+(\.\d+)?{PER_SECOND}", peak), peak
    estimate = simperf.estimate(simperf.load(MODELS / "web_stack.yaml")).summary()
    assert estimate.splitlines()[0].endswith(f"rate {per_second(2000)}")
    assert "first to saturate: app cores at 2.47x the load (4950/s)" in estimate
    for shown in (text, estimate, result.to_html()):
        assert not OTHER_WORDING.search(_scanned(shown)), OTHER_WORDING.search(_scanned(shown))
    figure = plots.timeseries(result, ("throughput", "error_rate"))
    assert figure.layout.yaxis.title.text == rate_title("throughput")
    sweep = simperf.sweep(
        peaked().with_overrides({"workload.arrival": {"kind": "poisson", "rate": 100}}),
        {"workload.arrival.rate": [100, 200]},
        replications=2,
        executor="serial",
    )
    axis = plots.percentiles_vs_load(sweep).layout.xaxis.title.text
    assert axis == rate_title("arrival rate") == "arrival rate (requests/s)"


def test_a_database_servers_query_rate_carries_its_unit() -> None:
    # the databases table printed its qps bare ("1235") beside "45.0%" and "12 ms"
    server = {
        "role": "primary",
        "cpu_utilization": 0.45,
        "storage_utilization": 0.2,
        "qps": 1234.5,
        "buffer_pool": {"hit_ratio": 0.99},
        "stale_reads": 0,
    }
    db = {"instances": {"db[primary]": server}, "pools": {}, "queries": {}}
    db["slow_queries"] = {"threshold": 0.1}
    header, row = summary_stores.databases({"databases": {"db": db}})[1:3]
    assert header.split()[:4] == ["database", "server", "cpu", "storage"]
    assert "queries" in header and "qps" not in header
    assert " 1234/s " in row, row  # four digits, as before, and per second


PROSE_REQ = re.compile(r"\breq/s\b")
"""``90 req/s`` or ``load (req/s)``: a rate as no view writes it (``90/s``, ``(requests/s)``)."""


def test_the_models_and_docs_write_rates_as_the_views_do() -> None:
    # the models' headers and descriptions (which the report shows) said "90 req/s", as
    # did the README, docs, a notebook and the experiments' output, where every view
    # writes 90/s
    pages = [*MODELS.glob("*.yaml"), ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    pages += [*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "experiments").glob("*.py")]
    pages += [*(ROOT / "realbench").glob("*.py")]
    found = {
        p.relative_to(ROOT).as_posix(): m.group(0)
        for p in pages
        # inline code quotes what was written before (`90 req/s`), not a rate
        if (m := PROSE_REQ.search(re.sub(r"`[^`\n]*`", "", p.read_text(encoding="utf-8"))))
    }
    assert not found
    assert "Poisson 90/s" in simperf.load(MODELS / "mm1.yaml").description


def test_the_html_databases_table_writes_the_query_rate_as_the_text_does() -> None:
    # the text's queries column read 1234/s where the HTML's qps read a bare 1234
    import pandas as pd

    from simperf.presentation.tables import frame_html

    frame = pd.DataFrame(
        {
            "component": ["db", "db"],
            "part": ["all", "instances.db[primary]"],
            "queries": [20099, 20099],
            "qps": [1234.5, float("nan")],
        }
    )
    cells = re.findall(r"<td>([^<]*)</td>", frame_html(frame))
    assert per_second(1234.5, ".4g") in cells and "1234" not in cells, cells
    assert "20,099" in cells  # the count of queries stays a count
    assert cells[-1] == "-"

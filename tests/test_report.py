"""The HTML report: self-contained, escaped, every figure drawn in a real browser."""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

import simperf
from simperf.cli import main
from simperf.presentation import tables
from simperf.presentation.report import figures, render
from simperf.units import format_clock, format_time

from conftest import MODELS, ROOT

INJECTION = "<script>document.body.dataset.pwned = 'yes'</script><b>bold</b> & co"

_spec = importlib.util.spec_from_file_location(
    "report_screenshot", ROOT / "experiments" / "report_screenshot.py"
)
assert _spec is not None and _spec.loader is not None
browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser)


@pytest.fixture(scope="module")
def result() -> simperf.Result:
    scenario = simperf.load(MODELS / "web_stack.yaml").with_overrides(
        {"run.duration": 8, "run.warmup": 2, "description": INJECTION}
    )
    return simperf.run(scenario, seed=1)


@pytest.fixture(scope="module")
def page(result: simperf.Result) -> str:
    return render(result)


def test_report_is_self_contained(page: str) -> None:
    # Every script is inline: no src= on any script tag, no stylesheet link.
    assert not re.search(r"<script[^>]+src=", page)
    assert "<link" not in page
    assert "Plotly" in page  # the library itself, inlined


def test_report_has_every_section(page: str, result: simperf.Result) -> None:
    for section in ("summary", "topology", "latency", "time", "components", "caches", "cdns"):
        assert f'<section id="{section}">' in page
    assert '<section id="databases">' in page
    assert '<section id="alerts">' in page  # the flagship declares alerts
    assert "slow_products" in page
    assert "bottleneck: app[" in page
    for name in ("static", "product", "checkout"):
        assert f"<td>{name}</td>" in page
    assert "reviews_of_product" in page  # the spec, shown at the end


def test_description_is_escaped(page: str) -> None:
    assert INJECTION not in page
    assert "&lt;script&gt;document.body.dataset.pwned" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page


def test_class_descriptions_are_escaped() -> None:
    from types import SimpleNamespace

    from simperf.presentation.tables import class_table

    # The classes of a spec, one with free text in its description.
    classes = [
        SimpleNamespace(
            name="a", weight=3.0, entry="lb", endpoint="page", keyspace=None, description=INJECTION
        ),
        SimpleNamespace(name="b", weight=1.0, entry="lb", endpoint="buy", keyspace="k"),
    ]
    fake = SimpleNamespace(scenario=SimpleNamespace(workload=SimpleNamespace(classes=classes)))
    table = class_table(fake)  # type: ignore[arg-type]
    assert INJECTION not in table and "&lt;script&gt;" in table
    assert "<td>lb.page</td>" in table and "<td>75.0%</td>" in table


def test_result_to_html_writes_the_file(result: simperf.Result, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    html = result.to_html(str(out))
    assert out.read_text(encoding="utf-8") == html


def test_result_to_html_makes_a_missing_directory_as_report_out_does(
    result: simperf.Result, tmp_path: Path
) -> None:
    # raised FileNotFoundError where simperf report --out made the directory
    out = tmp_path / "results" / "today" / "r.html"
    html = result.to_html(out)
    assert out.read_text(encoding="utf-8") == html


@pytest.mark.parametrize("where", ["a directory", "under a file"])
def test_result_to_html_refuses_a_path_it_cannot_write_before_rendering(
    where: str, result: simperf.Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # IsADirectoryError, NotADirectoryError after the whole page was rendered
    import simperf.presentation.report as report

    monkeypatch.setattr(report, "render", lambda _: pytest.fail("rendered first"))
    (tmp_path / "notes.txt").write_text("a file, not a directory")
    out = tmp_path if where == "a directory" else tmp_path / "notes.txt" / "r.html"
    with pytest.raises(simperf.SimperfError) as raised:
        result.to_html(str(out))
    (line,) = str(raised.value).splitlines()
    assert line.startswith(f"{out}: ")
    assert ("is a directory" if where == "a directory" else "cannot create its directory") in line


def test_cli_report_prints_summary_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sub" / "mm1.html"
    assert (
        main(
            [
                "report",
                str(MODELS / "mm1.yaml"),
                "--duration",
                "60s",
                "--set",
                "run.warmup=5",
                "--out",  # as every other writing command; -o still works (below)
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "scenario mm1" in printed
    assert printed.rstrip().endswith(f"report written to {out}")
    assert '<section id="latency">' in out.read_text(encoding="utf-8")


def test_cli_report_json_is_one_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mm1.html"
    argv = [
        "report",
        str(MODELS / "mm1.yaml"),
        "--duration",
        "60s",
        "--set",
        "run.warmup=5",
        "-o",
        str(out),
        "--json",
    ]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["report"] == str(out) and data["result"]["scenario"] == "mm1"


def test_cli_report_unwritable_output_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "report",
        str(MODELS / "mm1.yaml"),
        "--duration",
        "60s",
        "--set",
        "run.warmup=5",
        "-o",
        str(tmp_path),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and "Traceback" not in err
    assert main([*argv[:-2], "--output", str(tmp_path)]) == 2
    assert f"--out {tmp_path}: is a directory" in capsys.readouterr().err


_ERROR_TRAP = (
    "<script>window.__errors = [];"
    "window.addEventListener('error', e => window.__errors.push(String(e.message)));"
    "const __ce = console.error;"
    "console.error = (...a) => { window.__errors.push(a.join(' ')); __ce(...a); };"
    "window.addEventListener('load', () => setTimeout(() => {"
    "document.body.dataset.errors = JSON.stringify(window.__errors); }, 500));</script>"
)


def _figure_chunks(dom: str) -> dict[str, str]:
    """The DOM of each figure div, by id (each runs to the next figure's start)."""
    starts = [(m.start(), m.group(1)) for m in re.finditer(r'<div id="(figure-\d+)"', dom)]
    ends = [s for s, _ in starts[1:]] + [len(dom)]
    return {name: dom[start:end] for (start, name), end in zip(starts, ends, strict=True)}


@pytest.mark.skipif(
    browser.find_chromium() is None and os.environ.get("CI") != "true",
    reason="chromium is not installed (CI installs it: .ci/run); set CI=true to require it",
)
def test_report_renders_in_headless_chromium(
    page: str, result: simperf.Result, tmp_path: Path
) -> None:
    assert browser.find_chromium() is not None, "CI=true: chromium must be installed"
    html_path = tmp_path / "report.html"
    html_path.write_text(page.replace("<head>", "<head>" + _ERROR_TRAP, 1), encoding="utf-8")
    dom = browser.dump_dom(html_path)
    errors = re.search(r'data-errors="([^"]*)"', dom)
    assert errors, "the page never finished loading"
    assert errors.group(1) == "[]", errors.group(1)
    assert "data-pwned" not in dom  # the description's script did not run
    expected = sum(len(figs) for figs in figures(result).values())
    chunks = _figure_chunks(dom)
    assert len(chunks) == expected
    for name, chunk in chunks.items():
        assert 'class="main-svg"' in chunk, f"{name} was not drawn"
        # Drawn marks: a line or marker path with coordinates, or a heatmap image.
        drawn = re.findall(r'class="(?:js-line|point)"[^>]*\sd="M\s?-?\d', chunk)
        drawn += re.findall(r'class="point"><path[^>]*\sd="M\s?-?\d', chunk)
        drawn += re.findall(r"<image[^>]+href=\"data:image/png", chunk)
        assert drawn, f"{name} has axes but no points drawn"
    png = browser.screenshot(html_path, tmp_path / "report.png", height=1200)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_make_run_writes_the_flagship_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^run:.*\n\t\$\(VENV\)/bin/simperf (report .+)$", makefile, re.M)
    assert recipe, "make run no longer runs simperf report"
    argv = recipe.group(1).split()
    assert argv[1] == "models/web_stack.yaml"
    argv[1] = str(ROOT / argv[1])
    out = tmp_path / "results" / "web_stack.html"
    argv[argv.index("--out") + 1] = str(out)
    assert main([*argv, "--duration", "5s", "--set", "run.warmup=1"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"report written to {out}")
    assert out.stat().st_size > 1_000_000  # plotly inlined


def test_a_bad_day_has_its_failures_section() -> None:
    # A breaker in front of a callee that fails every call, and a fallback: the summary
    # has the faults and the calls; the report must have them too.
    scenario = simperf.from_dict(
        {
            "name": "bad_day",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 50},
                "classes": [{"name": "get", "entry": "gw", "endpoint": "get"}],
            },
            "components": {
                "gw": {
                    "kind": "app_server",
                    "breakers": {"api": {"window": 20, "min_calls": 10, "wait": "2s"}},
                    "endpoints": {"get": [{"call": "api.get", "fallback": {"cpu": "1ms"}}]},
                },
                "api": {"kind": "app_server", "endpoints": {"get": [{"cpu": "1ms"}]}},
            },
            "faults": [{"component": "api", "kind": "errors", "fraction": 1.0, "at": 1, "for": 3}],
            "run": {"duration": 5, "warmup": 0},
        }
    )
    result = simperf.run(scenario, seed=1)
    page = render(result)
    assert '<section id="failures"><h2>Failures</h2>' in page
    faults = [line for line in result.summary().splitlines() if line.startswith("faults")]
    assert faults and html.escape(faults[0]) in page  # the summary's words
    assert "gw-&gt;api" in page and "breaker_opens" in page  # the calls table


def test_report_tables_give_units(page: str, result: simperf.Result) -> None:
    # The databases table showed CPU utilisation as raw fractions (0.0004611), the
    # alerts table start, end and duration as bare numbers.
    databases = page[page.index('<section id="databases">') :]
    databases = databases[: databases.index("</section>")]
    frame = result.frame("databases").dropna(subset=["cpu_utilization"])
    for value in frame["cpu_utilization"]:
        assert f"<td>{value:.1%}</td>" in databases
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {
            "run.duration": 6,
            "run.warmup": 1,
            "alerts": [{"name": "busy", "metric": "utilization", "component": "app",
                        "above": 0.01, "for": "1s"}],
        }
    )  # fmt: skip
    alerted = simperf.run(scenario, seed=1)
    row = alerted.alerts.iloc[0]
    alerts = render(alerted)
    alerts = alerts[alerts.index('<section id="alerts">') :]
    assert f"<td>{format_time(row['start'])}</td>" in alerts
    assert f"<td>{format_time(row['duration'])}</td>" in alerts


def test_an_autoscaled_run_has_its_autoscaling_section() -> None:
    # The load triples at 20 s: the fleet grows, and the report shows when, why and at
    # what cost (the summary's lines), every action, and the instances over time.
    scenario = simperf.from_dict(
        {
            "name": "surge",
            "workload": {
                "arrival": {"kind": "piecewise", "rate": 25, "profile": [[0, 1], [20, 3]]},
                "classes": [{"name": "get", "entry": "app", "endpoint": "get"}],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "cost": {"per_instance": "0.1/h"},
                    "autoscaling": {"min": 1, "max": 6, "target": 0.6, "evaluation_period": 5},
                    "endpoints": {"get": [{"cpu": "50ms"}]},
                }
            },
            "run": {"duration": 60, "warmup": 0},
        }
    )
    result = simperf.run(scenario, seed=1)
    assert result.to_dict()["autoscaling"]["app"]["scale_outs"] >= 1
    page = render(result)
    assert '<section id="autoscaling"><h2>Autoscaling</h2>' in page
    line = next(ln for ln in result.summary().splitlines() if ln.startswith("autoscaling app"))
    assert html.escape(line) in page
    assert html.escape(result.scaling_events["reason"].iat[-1]) in page  # every action
    first = result.scaling_events["time"].iat[0]
    assert f"<td>{format_clock(first)}</td>" in page  # on the run's clock
    assert "Instances over time" in page


def _section(page: str, key: str) -> str:
    part = page[page.index(f'<section id="{key}">') :]
    return part[: part.index("</section>")]


def test_report_sections_give_units_to_every_rate_and_time(
    page: str, result: simperf.Result
) -> None:
    # the CDN table showed byte_hit_rate as a bare 0.859 beside hit_rate's 65.1%, and the
    # cache table the time its cache filled as a bare 39.85
    cdns = _section(page, "cdns")
    for value in result.frame("cdns")["byte_hit_rate"]:
        assert f"<td>{value:.1%}</td>" in cdns
    frame = pd.DataFrame({"filled_at": [39.84762], "byte_hit_rate": [0.859026]})
    cells = tables.frame_html(frame, tables.TIME_COLUMNS, tables.SHARE_COLUMNS)
    assert f"<td>{format_time(39.84762)}</td>" in cells and "<td>85.9%</td>" in cells


def test_report_shows_imbalance_as_a_multiple() -> None:
    # imbalance is a max/mean ratio: a sharded database's 1.05 read "105.0%"
    scenario = simperf.load(MODELS / "sharded_store.yaml")
    sharded = simperf.run(scenario.with_overrides({"run.duration": 3, "run.warmup": 1}), seed=1)
    values = sharded.frame("databases")["imbalance"].dropna()
    assert not values.empty
    databases = _section(render(sharded), "databases")
    for value in values:
        assert f"<td>{value:.3g}x</td>" in databases
        assert f"<td>{value:.1%}</td>" not in databases
    assert f"max/mean load {values.iloc[0]:.3g}x" in sharded.summary()  # and in the text


def test_report_counts_what_a_balancer_dispatched(page: str, result: simperf.Result) -> None:
    # the text summary's components table gives a balancer's served as what it
    # dispatched; the report's read '-' in every column of the balancer's row
    dispatched = int(result.to_dict()["components"]["lb"]["dispatched"])
    components = _section(page, "components")
    row = components[components.index("<td>lb</td>") :]
    row = row[: row.index("</tr>")]
    assert f"<td>{dispatched:,}</td>" in row


def test_report_names_every_alert_even_one_that_never_fired(
    page: str, result: simperf.Result
) -> None:
    # an alert that never fired left an empty firings table: the section named no alert
    alerts = _section(page, "alerts")
    for line in result.summary().splitlines():
        if line.startswith("alert "):
            assert html.escape(line) in alerts
    assert "never fired" in alerts


def test_report_spec_shows_durations_as_given_not_float_noise(page: str) -> None:
    # the spec's 100us read 9.999999999999999e-05, its 400us 0.00039999999999999996
    spec = _section(page, "spec")
    assert "9.999999999999999e-05" not in spec and "0.00039999999999999996" not in spec
    assert "value: 0.0001\n" in spec and "write_latency: 0.0004\n" in spec


def test_report_and_notebook_headlines_read_as_the_text_summary(
    page: str, result: simperf.Result
) -> None:
    # the report's summary and the notebook's headline said 51.83 req/s and error rate
    # 0.1% where the text says 51.83/s and 0.12%: one formatter (metric_value) for all
    from simperf.presentation.cells import metric_value

    d = result.data
    throughput = metric_value("throughput", d["throughput"])
    error_rate = metric_value("error_rate", d["error_rate"])
    text = result.summary()
    assert f"throughput {throughput}   error rate {error_rate}" in text
    summary = _section(page, "summary")
    assert f"<th>throughput</th><td>{throughput}</td>" in summary
    assert f"<th>error rate</th><td>{error_rate}</td>" in summary
    assert f": {throughput}, error rate {error_rate}," in tables.headline(result)
    assert "req/s" not in summary and "req/s" not in tables.headline(result)

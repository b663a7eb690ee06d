"""The faults section in the text summary, the time series and the plots."""

from __future__ import annotations

import pytest

import simperf
from simperf.plots.requests import event_windows


@pytest.fixture(scope="module")
def result() -> simperf.Result:
    return simperf.run(
        simperf.from_dict(
            {
                "name": "faulty",
                "workload": {
                    "arrival": {"kind": "deterministic", "rate": 100},
                    "classes": [{"name": "req", "entry": "lb", "endpoint": "serve"}],
                },
                "components": {
                    "lb": {
                        "kind": "load_balancer",
                        "backends": "app",
                        "health_check": {"interval": "1s", "timeout": "250ms"},
                    },
                    "app": {
                        "kind": "app_server",
                        "replicas": 2,
                        "endpoints": {"serve": [{"cpu": "1ms"}]},
                    },
                },
                "faults": [
                    {"component": "app", "instance": 1, "at": 2, "for": 4},
                    {"component": "app", "kind": "errors", "fraction": 0.5, "at": 7, "for": 1},
                ],
                "run": {"duration": 10, "warmup": 1, "window": 1},
            }
        ),
        seed=1,
    )


def test_the_summary_shows_availability_and_each_fault(result: simperf.Result) -> None:
    text = result.summary()
    faults = result.to_dict()["faults"]
    assert f"faults    2 occurrence(s), {faults['failed']} requests failed" in text
    assert "app up: mean" in text
    assert "app[1] crash at 2 s, for 4 s, detected after" in text
    assert "app errors at 7 s, for 1 s" in text


def test_errors_by_cause_over_time_add_up_to_the_errors(result: simperf.Result) -> None:
    frame = result.timeseries
    by_cause = frame[frame.metric.str.startswith("errors:")]
    assert set(by_cause.metric) == {"errors:instance_down", "errors:injected_error"}
    total = frame[frame.metric == "errors"].value.sum()
    assert by_cause.value.sum() == total > 0
    crash = by_cause[by_cause.metric == "errors:instance_down"]
    assert set(crash[crash.value > 0].start) <= {2.0, 3.0, 4.0, 5.0}


def test_the_time_series_plot_shades_every_occurrence(result: simperf.Result) -> None:
    labels = [w[2] for w in event_windows(result)]
    assert labels == ["fault: app[1]", "fault: app errors"]


def test_the_summary_gives_the_headroom_while_the_worst_fault_lasted(
    result: simperf.Result,
) -> None:
    text = result.summary()
    fault = result.to_dict()["headroom"]["fault"]
    assert fault["target"] == "app[1]"  # the crash, not the errors (which left both up)
    assert (
        f"          while app[1] crash lasted (2 s to 6 s): app cores at "
        f"{fault['headroom']:.3g}x ({fault['utilization']:.1%} busy at app[0])"
    ) in text
    header = next(line for line in text.splitlines() if line.startswith("component "))
    assert header.endswith("headroom in fault")
    row = next(line for line in text.splitlines() if line.startswith("app "))
    assert row.endswith(f"{fault['headroom']:.3g}x")


def test_the_report_gives_the_headroom_as_the_summary_does(result: simperf.Result) -> None:
    # The report's summary and components table had no headroom at all.
    from simperf.presentation.report import render

    page = render(result)
    lines = [line for line in result.summary().splitlines() if "saturates first" in line]
    fault_line = next(line for line in result.summary().splitlines() if "lasted" in line)
    summary = page[page.index('<section id="summary">') : page.index('<section id="topology">')]
    assert f"<th>headroom</th><td>{lines[0].removeprefix('headroom').strip()}<br>" in summary
    assert fault_line.strip() in summary
    table = page[page.index('<section id="components">') :]
    table = table[: table.index("</table>")]
    assert "<th>headroom</th>" in table and "<th>headroom_in_fault</th>" in table
    room = result.to_dict()["headroom"]
    assert f"<td>{room['components']['app']['headroom']:.3g}x</td>" in table
    assert f"<td>{room['fault']['headroom']:.3g}x</td>" in table


def test_a_notebook_shows_the_headroom(result: simperf.Result) -> None:
    page = result._repr_html_()
    assert "headroom app cores saturates first" in page and "while app[1] crash lasted" in page
    assert "<th>headroom</th>" in page


def test_an_alert_interval_is_written_in_one_unit() -> None:
    # an alert from 100 s to 160 s read "(100 s to 2.67 min)"
    from simperf.presentation.summary_failures import alerts

    firing = {"start": 100.0, "end": 160.0, "peak": 1.0}
    report = {"metric": "error_rate", "target": "all", "condition": "above"}
    report |= {"threshold": 0.5, "for": 0.0, "firings": 1, "time_firing": 60.0}
    (line,) = alerts({"alerts": {"errors": {**report, "intervals": [firing]}}})[1:]
    assert line.endswith("fired 1x, 60 s in all (1.67 min to 2.67 min)")

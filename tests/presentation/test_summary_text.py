"""The text summary's words: which counts cover the whole run and which the measured part."""

from __future__ import annotations

from typing import Any

import pytest

import simperf
from simperf.presentation import summary_text


def twice_capacity(warmup: float) -> dict[str, Any]:
    """200 req/s of 10 ms at one worker with a queue limit: half is rejected."""
    return {
        "name": "twice",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 200},
            "classes": [{"name": "r", "entry": "app", "endpoint": "r"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "workers": 1,
                "queue_limit": 10,
                "endpoints": {"r": [{"cpu": "10ms"}]},
            }
        },
        "run": {"duration": 5, "warmup": warmup},
    }


def behind_a_breaker() -> simperf.Scenario:
    """A gateway calling a one-core API of exactly 10 ms at 50 calls/s (half busy), through
    a breaker that opens on slow calls (over 5 ms: all of them) and stays open 1 s."""
    breaker = {
        "window": 10,
        "min_calls": 10,
        "failure_ratio": 0.5,
        "slow_call": "5ms",
        "slow_ratio": 0.5,
        "wait": "1s",
        "probes": 2,
    }
    return simperf.from_dict(
        {
            "name": "behind_a_breaker",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 50},
                "classes": [{"name": "get", "entry": "gateway", "endpoint": "get"}],
            },
            "components": {
                "gateway": {
                    "kind": "app_server",
                    "workers": 1000,
                    "breakers": {"api": breaker},
                    "endpoints": {"get": [{"call": "api.get"}]},
                },
                "api": {
                    "kind": "app_server",
                    "workers": 10,
                    "endpoints": {"get": [{"cpu": "10ms"}]},
                },
            },
            "run": {"duration": 20, "warmup": 0},
        }
    )


def test_counts_that_include_the_warm_up_say_so() -> None:
    result = simperf.run(simperf.from_dict(twice_capacity(1.0)), seed=1)
    d = result.to_dict()
    lines = result.summary().splitlines()
    requests = next(line for line in lines if line.startswith("requests"))
    errors = next(line for line in lines if line.startswith("errors"))
    # 'rejected 500' over the run beside a measured error rate of 400 in 4 s: labelled
    assert requests.endswith(f"(whole run; {d['requests']['measured']} measured)")
    assert errors == f"errors    rejected {d['requests']['errors']['rejected']}  (whole run)"
    assert d["requests"]["errors"]["rejected"] > d["requests"]["measured"] * d["error_rate"]


def test_without_a_warm_up_the_counts_are_plain() -> None:
    lines = simperf.run(simperf.from_dict(twice_capacity(0.0)), seed=1).summary().splitlines()
    assert not any("whole run" in line for line in lines)


def test_a_callee_behind_a_breaker_reads_against_the_load_offered_it() -> None:
    result = simperf.run(behind_a_breaker(), seed=1)
    api = result.to_dict()["headroom"]["components"]["api"]
    text = result.summary()
    assert (
        f"          api at 2x of the load offered it, counting the {api['stopped']:,.0f} calls "
        f"a breaker failed fast ({api['served_headroom']:.3g}x on the calls it served)"
    ) in text
    row = next(line for line in text.splitlines() if line.startswith("api "))
    assert row.endswith(" 2x")


def test_the_fault_headroom_interval_is_in_one_unit() -> None:
    # "while app[1] crash lasted (52 s to 2.53 min)" mixed units, as alerts did
    from simperf.presentation.summary_text import headroom

    first = {"component": "app", "resource": "cores", "headroom": 2.0}
    first |= {"utilization": 0.5, "instance": "app[0]"}
    fault = {"target": "app[1]", "kind": "crash", "start": 52.0, "end": 152.0}
    fault |= {"occurrences": 1, "component": "app", "resource": "cores", "headroom": 1.5}
    fault |= {"utilization": 0.665, "instance": "app[0]"}
    d = {"headroom": {"first": first, "fault": fault, "components": {}}}
    assert "while app[1] crash lasted (0.867 min to 2.53 min): " in headroom(d)[1]


def test_a_database_with_replicas_estimates_the_utilisation_of_all_its_servers() -> None:
    # 200 reads/s of exactly 2 ms on the one replica's 2 cores (20% busy) and none on the
    # primary: the component's util pools both servers' cores (10%), and so must the
    # estimate beside it (it showed the busiest server kind's alone, 20.0%).
    scenario = simperf.from_dict(
        {
            "name": "replicated",
            "workload": {
                "arrival": {"kind": "poisson", "rate": 200},
                "classes": [{"name": "r", "entry": "db", "endpoint": "by_id"}],
            },
            "components": {
                "db": {
                    "kind": "database",
                    "primary": {"cores": 2, "storage": {"read_latency": 0, "write_latency": 0}},
                    "read_replicas": 1,
                    "cpu": {"per_query": "2ms", "per_row": 0, "per_page": 0},
                    "connection": {"handshake": 0, "startup": 0},
                    "tables": {"t": {"rows": 1000, "row_size": 100}},
                    "queries": {"by_id": {"table": "t", "where": ["id"]}},
                }
            },
            "run": {"duration": 20, "warmup": 1},
        }
    )
    d = simperf.run(scenario, seed=1).to_dict()
    # its utilisation is the Poisson count of 19 s of arrivals times 2 ms over 4 cores:
    # 99.9% of runs within 3.29 standard deviations of 0.1
    sd = (200 * 19) ** 0.5 * 2e-3 / (4 * 19)
    assert d["components"]["db"]["utilization"] == pytest.approx(0.1, abs=3.29 * sd)
    row = next(line for line in summary_text.components(d) if line.startswith("db "))
    assert row.split()[-2] == "10.0%", row


def test_a_large_headroom_is_whole_and_apart_from_est_util() -> None:
    # an idle server's headroom printed "3.91e+03x" against est util: "0.0%3.91e+03x"
    from conftest import MODELS

    idle = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"workload.arrival.rate": 0.05, "run.duration": 600, "run.warmup": 0}
    )
    result = simperf.run(idle, seed=1)
    room = result.to_dict()["headroom"]["components"]["app"]["headroom"]
    assert room > 1000
    row = next(line for line in result.summary().splitlines() if line.startswith("app "))
    assert row.endswith(f" {room:,.0f}x") and "e+" not in row
    assert f"at {room:,.0f}x this load" in result.summary()


def test_a_spilling_groups_headroom_is_the_estimates_not_one_over_utilisation() -> None:
    # multi_region printed "web_ap workers saturates first, at 1.44x this load ...;
    # estimate: web_ap workers at 1.89x": web_ap spills what it cannot admit, so its
    # occupancy grows slower than the load (the simulator saturates it past 1.89x)
    from simperf.presentation.tables import component_table

    from conftest import MODELS

    short = simperf.load(MODELS / "multi_region.yaml").with_overrides({"run.duration": 20})
    result = simperf.run(short, seed=1)
    d = result.to_dict()
    estimated = d["estimate"]["components"]
    section = d["headroom"]
    for name in ("web_eu", "web_us", "web_ap"):
        comp = section["components"][name]
        assert comp["spill"] == "geo"
        assert comp["estimated_headroom"] == estimated[name]["headroom"]
        assert comp["estimated_resource"] == estimated[name]["resource"]
        assert comp["headroom"] == pytest.approx(1 / comp["utilization"])  # kept, as measured
    assert "spill" not in section["components"]["db"]  # called by every group alike
    first = section["first"]
    assert first["component"] == "web_ap" and first["estimated_headroom"] > 1.8
    assert first["headroom"] < 1.6
    line = summary_text.headroom(d)[0]
    room = summary_text.multiple(first["estimated_headroom"])
    assert f"web_ap workers saturates first, at {room} this load by the estimate" in line
    assert "; estimate:" not in line  # the same figure, said once
    assert "headroom* is the estimate's" in summary_text.headroom(d)[1]
    row = next(line for line in result.summary().splitlines() if line.startswith("web_ap "))
    assert row.endswith(f" {room}*")
    assert f"{room}*" in component_table(result)
    assert f"at {room} this load by the estimate" in result._repr_html_()


def test_without_an_estimate_a_spilling_groups_headroom_is_not_called_its_saturation() -> None:
    comps = {"web": {"resource": "workers", "instance": "web[0]", "utilization": 0.5}}
    comps["web"] |= {"headroom": 2.0, "spill": "geo"}
    comps["web"] |= {"estimated_headroom": None, "estimated_resource": None}
    d = {"headroom": {"components": comps, "first": {"component": "web", **comps["web"]}}}
    line, note = summary_text.headroom(d)
    assert "first by 1/utilisation, 2x this load" in line and "saturates first" not in line
    assert "web 2x (no estimate)" in note
    assert summary_text.headroom_cell(comps["web"]) == "-*"


def test_a_tiny_queue_and_wait_are_written_without_noise_text_and_html() -> None:
    # the component table read "7.24e-06" and "0.0042 µs" for app in read_replicas
    import pandas as pd

    from simperf.presentation.tables import MEAN_COUNT_COLUMNS, TIME_COLUMNS, frame_html

    comp = {
        "kind": "app_server",
        "utilization": 0.14,
        "worker_occupancy": 0.022,
        "pool_occupancy": 0.051,
        "mean_queue_length": 7.24e-06,
        "mean_wait": 4.2e-09,
        "served": 82967,
    }
    busier = {**comp, "mean_queue_length": 0.00215, "mean_wait": 7.5e-07}
    lines = summary_text.components({"components": {"app": comp, "catalog": busier}})
    app, catalog = lines[2].split(), lines[3].split()
    assert app[5:8] == ["<0.001", "4.2", "ns"], lines[2]
    assert catalog[5:8] == ["0.00215", "750", "ns"], lines[3]
    assert "e-0" not in "\n".join(lines) and "0.0042" not in "\n".join(lines)
    frame = pd.DataFrame([{"component": "app", **comp}])
    html = frame_html(frame, TIME_COLUMNS)
    assert "mean_queue_length" in MEAN_COUNT_COLUMNS
    assert "<td>&lt;0.001</td>" in html and "<td>4.2 ns</td>" in html, html
    assert "e-0" not in html

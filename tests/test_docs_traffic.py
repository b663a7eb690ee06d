"""docs/traffic.md stays true: its spec snippets validate, its units parse and the mean
sojourns it quotes for the balancing policies are the closed forms'."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

import simperf
from simperf import analysis
from simperf.components.balancing import SCAN_LIMIT
from simperf.units import parse_bandwidth, parse_size

from conftest import MINIMAL, ROOT, edited

PAGE = (ROOT / "docs" / "traffic.md").read_text(encoding="utf-8")
DOC = " ".join(PAGE.split())
ARRIVALS, CLIENTS, NETWORK, MEMORY = re.findall(r"```yaml\n(.*?)```", PAGE, re.S)


def test_each_arrival_shown_validates() -> None:
    arrivals = [yaml.safe_load(a)["arrival"] for a in re.split(r"\n(?=arrival:)", ARRIVALS)]
    assert [a["kind"] for a in arrivals] == ["diurnal", "piecewise", "mmpp"]
    for arrival in arrivals:
        simperf.from_dict(edited(MINIMAL, workload__arrival=arrival))


def test_a_profile_that_runs_once_needs_a_duration() -> None:
    assert "(so the run needs a duration)" in DOC
    once = {"kind": "piecewise", "rate": 10, "profile": [[0, 1], [5, 2]]}
    spec = edited(MINIMAL, workload__arrival=once, run={"requests": 100})
    with pytest.raises(simperf.SpecError, match=r"needs run\.duration"):
        simperf.from_dict(spec)


def snippets_together() -> dict[str, Any]:
    """The clients, network and memory snippets in one scenario: the page's geographic
    balancer ``geo`` in front of its ``web_eu`` (with the memory budget) and a ``web_us``."""
    clients = yaml.safe_load(CLIENTS)["workload"]["clients"]
    network = yaml.safe_load(NETWORK.replace(", ...}", "}"))
    memory = yaml.safe_load(MEMORY.replace(" ...,", ""))["app"]["memory"]
    page = {"page": [{"cpu": "5ms"}]}
    return {
        "name": "traffic_page",
        "workload": {
            "arrival": {"kind": "poisson", "rate": 50},
            "classes": network["workload"]["classes"],
            "clients": clients,
        },
        "network": network["network"],
        "components": {
            "geo": {
                "kind": "load_balancer",
                "policy": "geographic",
                "backends": ["web_eu", "web_us"],
            },
            "web_eu": {**network["components"]["web_eu"], "endpoints": page, "memory": memory},
            "web_us": {"kind": "app_server", "region": "us", "endpoints": page},
        },
        "run": {"duration": 20, "warmup": 1},
    }


def test_clients_network_and_memory_snippets_validate_together() -> None:
    spec = snippets_together()
    simperf.from_dict(spec)
    sticky = copy.deepcopy(spec)
    sticky["components"]["geo"]["policy"] = "ip_hash"  # the addresses it hashes
    simperf.from_dict(sticky)


def test_sizes_and_bandwidths_shown_parse() -> None:
    for size in ("512B", "10kB", "1.5MB", "4KiB", "8GiB"):
        assert f"`{size}`" in DOC and parse_size(size) > 0
    assert parse_size("4KiB") == 4096 and parse_size("10kB") == 10_000
    for bandwidth in ("100Mbit/s", "1Gbps", "10MB/s"):
        assert f"`{bandwidth}`" in DOC and parse_bandwidth(bandwidth) > 0
    for dist in ("{dist: exponential, mean: 20KiB}", "{dist: gamma, mean: 10kB, cv: 0.5}"):
        assert f"`{dist}`" in DOC
        spec = edited(MINIMAL, workload__classes__0__request_size=yaml.safe_load(dist))
        spec["workload"]["clients"] = {"regions": {"a": 1}}
        spec["network"] = {"regions": ["a"], "links": {"a": {"a": {"bandwidth": "1Gbps"}}}}
        simperf.from_dict(spec)


def test_power_of_two_figures_are_the_closed_forms() -> None:
    # 4 servers of 5 ms at load 0.75: 600/s in all, 150/s each
    shown = re.search(
        r"mean sojourn of ([\d.]+) ms against ([\d.]+) ms for round robin and ([\d.]+) ms "
        r"for random \(5 ms service\)",
        DOC,
    )
    assert shown, "power_of_two's figures are missing"
    two, rr, random = (float(x) / 1e3 for x in shown.groups())
    assert round(analysis.power_of_two(600.0, 200.0, 4).mean_sojourn, 5) == two
    assert round(analysis.erlang_m1(150.0, 200.0, 4).mean_sojourn, 4) == rr  # E4/M/1
    assert 0.005 / (1 - 0.75) == random  # M/M/1 each


def test_least_connections_scans_up_to_the_limit_quoted() -> None:
    assert f"scans its instances when there are at most {SCAN_LIMIT} of them" in DOC

"""Traffic specs: arrival profiles, clients, network, payloads, balancing fields, memory.

Each test starts from the minimal spec and changes one thing.
"""

from __future__ import annotations

from typing import Any

import pytest

from simperf import SpecError, from_dict


def error_of(spec: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        from_dict(spec)
    return str(info.value)


def with_network(spec: dict[str, Any], **network: Any) -> dict[str, Any]:
    spec["network"] = {"regions": ["eu", "us", "ap"], **network}
    return spec


# --------------------------------------------------------------------------- arrivals


def test_piecewise_profile_is_valid(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"] = {
        "kind": "piecewise",
        "rate": "100/s",
        "profile": [[0, 1], ["8h", 3], ["18h", "500/s"]],
        "period": "24h",
    }
    arrival = from_dict(minimal_spec).workload.arrival
    assert arrival.profile == [(0.0, 1.0), (28800.0, 3.0), (64800.0, 500.0)]
    assert arrival.period == 86400.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"profile": [[1, 1]]}, "profile: the first segment must start at 0"),
        ({"profile": [[0, 1], [5, 2], [5, 3]]}, "strictly increasing"),
        ({"profile": [[0, 0], [5, 0]]}, "at least one rate must be > 0"),
        ({"profile": [[0, 1], [5, 2]], "period": 5}, "period: must be longer than the last"),
        ({"profile": [[0, -1]]}, "workload.arrival.profile[0][1]: must be >= 0"),
    ],
)
def test_bad_piecewise_profiles(
    minimal_spec: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    minimal_spec["workload"]["arrival"] = {"kind": "piecewise", "rate": 10, **change}
    assert message in error_of(minimal_spec)


def test_a_profile_that_does_not_repeat_needs_a_duration(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"] = {"kind": "piecewise", "rate": 10, "profile": [[0, 1]]}
    minimal_spec["run"] = {"requests": 100}
    assert error_of(minimal_spec).startswith(
        "workload.arrival.period: a profile that does not repeat needs run.duration"
    )


def test_a_profile_silent_for_the_whole_run_is_refused(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"] = {
        "kind": "piecewise",
        "rate": 10,
        "profile": [[0, 0], [100, 1]],
    }
    assert "no arrivals before the end of the run" in error_of(minimal_spec)


def test_diurnal_defaults_to_a_day(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"] = {"kind": "diurnal", "rate": 10, "amplitude": 0.5}
    arrival = from_dict(minimal_spec).workload.arrival
    assert (arrival.period, arrival.peak) == (86400.0, 0.0)


def test_diurnal_amplitude_above_one(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"] = {"kind": "diurnal", "rate": 10, "amplitude": 1.5}
    assert error_of(minimal_spec) == "workload.arrival.amplitude: must be <= 1.0"


def test_mmpp_needs_a_busy_state(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"] = {
        "kind": "mmpp",
        "rate": 10,
        "relative_rates": [0, 0],
        "mean_sojourns": ["1s", "100ms"],
    }
    assert "relative_rates: at least one must be > 0" in error_of(minimal_spec)


def test_unknown_arrival_kind_lists_the_new_ones(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"] = {"kind": "bursty", "rate": 10}
    message = error_of(minimal_spec)
    assert message.startswith("workload.arrival: unknown kind 'bursty'")
    assert all(k in message for k in ("piecewise", "diurnal", "mmpp"))


# --------------------------------------------------------------------------- network


def test_network_latency_is_symmetric_unless_both_given(minimal_spec: dict[str, Any]) -> None:
    spec = with_network(
        minimal_spec, latency={"eu": {"us": "40ms", "ap": "120ms"}, "ap": {"eu": "100ms"}}
    )
    network = from_dict(spec).network
    assert network.latency_between("eu", "us") == network.latency_between("us", "eu") == 0.04
    assert network.latency_between("eu", "ap") == 0.12
    assert network.latency_between("ap", "eu") == 0.1
    assert network.latency_between("us", "ap") == 0.0
    assert network.latency_between("eu", "eu") == 0.0


def test_network_refuses_unknown_regions(minimal_spec: dict[str, Any]) -> None:
    spec = with_network(minimal_spec, latency={"eu": {"mars": "20min"}})
    assert error_of(spec) == "network.latency: unknown region 'mars' (regions: eu, us, ap)"


def test_network_refuses_duplicate_regions(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["network"] = {"regions": ["eu", "eu"]}
    assert "regions: duplicate region(s) eu" in error_of(minimal_spec)


def test_link_bandwidth_accepts_units(minimal_spec: dict[str, Any]) -> None:
    spec = with_network(
        minimal_spec, links={"eu": {"us": {"bandwidth": "1Gbit/s", "shared": True}}}
    )
    link = from_dict(spec).network.link_between("us", "eu")
    assert (link.bandwidth, link.shared) == (1.25e8, True)


def test_component_in_unknown_region(minimal_spec: dict[str, Any]) -> None:
    spec = with_network(minimal_spec)
    spec["components"]["app"]["region"] = "mars"
    assert error_of(spec) == "components.app.region: unknown region 'mars' (regions: eu, us, ap)"


def test_region_without_network(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["region"] = "eu"
    assert error_of(minimal_spec) == (
        "components.app.region: 'eu' needs a network section listing the regions"
    )


def test_client_regions_must_be_network_regions(minimal_spec: dict[str, Any]) -> None:
    spec = with_network(minimal_spec)
    spec["workload"]["clients"] = {"regions": {"eu": 2, "moon": 1}}
    assert "workload.clients.regions.moon: unknown region 'moon'" in error_of(spec)


def test_clients_skew_needs_addresses(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["clients"] = {"skew": 1.0}
    assert "skew: needs addresses" in error_of(minimal_spec)


def test_payload_sizes_accept_units_and_distributions(minimal_spec: dict[str, Any]) -> None:
    request_class = minimal_spec["workload"]["classes"][0]
    request_class["request_size"] = "4KiB"
    request_class["response_size"] = {"dist": "lognormal", "median": "20KiB", "p99": "1MiB"}
    parsed = from_dict(minimal_spec).workload.classes[0]
    assert parsed.request_size.mean == 4096.0
    assert parsed.response_size.median == 20480.0


def test_bad_payload_size_names_the_path(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["classes"][0]["request_size"] = {"dist": "exponential", "mean": "5ms"}
    assert error_of(minimal_spec).startswith("workload.classes[0].request_size.mean:")


# --------------------------------------------------------------------------- balancing


def balancer(spec: dict[str, Any], **lb: Any) -> dict[str, Any]:
    spec["components"]["lb"] = {"kind": "load_balancer", "backends": ["app"], **lb}
    spec["workload"]["classes"][0]["entry"] = "lb"
    return spec


@pytest.mark.parametrize(
    ("lb", "message"),
    [
        (
            {"policy": "round_robin", "weights": {"app": 2}},
            "weights: only applies to policy weighted_round_robin",
        ),
        ({"policy": "random", "spill_over": 0.5}, "spill_over: only applies to policy geographic"),
        (
            {"policy": "power_of_two", "virtual_nodes": 7},
            "virtual_nodes: only applies to policy ip_hash",
        ),
        (
            {"policy": "weighted_round_robin", "weights": {"ghost": 2}},
            "components.lb.weights.ghost: not a backend",
        ),
        ({"policy": "ip_hash"}, "components.lb.policy: ip_hash needs workload.clients.addresses"),
        ({"policy": "geographic"}, "components.lb.policy: geographic needs a network section"),
    ],
)
def test_balancer_policy_fields(
    minimal_spec: dict[str, Any], lb: dict[str, Any], message: str
) -> None:
    assert message in error_of(balancer(minimal_spec, **lb))


def test_balancer_spec_survives_a_round_trip(minimal_spec: dict[str, Any]) -> None:
    spec = balancer(minimal_spec, policy="weighted_round_robin", weights={"app": 3})
    scenario = from_dict(spec)
    again = scenario.with_overrides({"workload.arrival.rate": 20})
    assert again.components["lb"].weights == {"app": 3.0}


# --------------------------------------------------------------------------- memory


def test_memory_accepts_sizes(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["memory"] = {
        "capacity": "8GiB",
        "baseline": "2GiB",
        "per_request": "50MiB",
    }
    memory = from_dict(minimal_spec).components["app"].memory
    assert memory.on_full == "reject"
    assert memory.max_requests == 122  # 6 GiB / 50 MiB = 122.88


def test_memory_with_no_room_for_a_request(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["memory"] = {
        "capacity": "1GiB",
        "baseline": "1000MiB",
        "per_request": "50MiB",
    }
    assert "baseline + per_request exceeds capacity" in error_of(minimal_spec)


def test_memory_on_full_must_be_reject_or_wait(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["memory"] = {
        "capacity": "1GiB",
        "per_request": "50MiB",
        "on_full": "swap",
    }
    assert error_of(minimal_spec).startswith("components.app.memory.on_full:")

"""Warnings on bare numbers of seconds given for service times and latencies."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from simperf import SimperfWarning, from_dict, load


def bare_second_warnings(action: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return [str(w.message) for w in caught if issubclass(w.category, SimperfWarning)]


def test_bare_cpu_of_one_second_or_more_warns_with_its_path(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["endpoints"]["serve"] = [{"cpu": 5}]
    minimal_spec["run"] = {"requests": 10}
    messages = bare_second_warnings(lambda: from_dict(minimal_spec))
    assert messages == [
        "components.app.endpoints.serve[0].cpu: a bare number is seconds; write the unit "
        "(e.g. 5ms, or 5s if seconds are meant)"
    ]


@pytest.mark.parametrize(
    ("cpu", "warned"),
    [
        (0.999, []),
        (1, [""]),
        ("5s", []),
        ({"dist": "exponential", "mean": 2}, [".mean"]),
        ({"dist": "exponential", "mean": "2s"}, []),
        ({"dist": "uniform", "low": 0.5, "high": 3}, [".high"]),
        ({"dist": "empirical", "values": [0.1, 4, 7]}, [".values[1]", ".values[2]"]),
    ],
)
def test_which_numbers_warn(minimal_spec: dict[str, Any], cpu: object, warned: list[str]) -> None:
    minimal_spec["components"]["app"]["endpoints"]["serve"] = [{"cpu": cpu}]
    messages = bare_second_warnings(lambda: from_dict(minimal_spec))
    path = "components.app.endpoints.serve[0].cpu"
    assert [m.split(": a bare")[0] for m in messages] == [path + w for w in warned]


def test_durations_and_ttls_do_not_warn(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["run"] = {"duration": 600, "warmup": 60}  # bare seconds are right here
    minimal_spec["keyspaces"] = {"items": {"keys": 100, "popularity": "uniform"}}
    minimal_spec["components"]["redis"] = {
        "kind": "cache",
        "keyspace": "items",
        "capacity": 10,
        "ttl": 300,
    }
    assert bare_second_warnings(lambda: from_dict(minimal_spec)) == []


def test_warning_names_the_file_line(tmp_path: Path, minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["endpoints"]["serve"] = [{"cpu": 2}]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(minimal_spec, sort_keys=False))
    line = path.read_text().splitlines().index("      - cpu: 2") + 1
    messages = bare_second_warnings(lambda: load(path))
    assert messages == [
        f"{path}:{line}: components.app.endpoints.serve[0].cpu: a bare number is seconds; "
        "write the unit (e.g. 5ms, or 5s if seconds are meant)"
    ]


def test_overrides_warn_only_about_what_they_set(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["endpoints"]["serve"] = [{"cpu": "3s"}]
    scenario = from_dict(minimal_spec)
    # the dumped spec has every time as a bare number: only the override is judged
    assert bare_second_warnings(lambda: scenario.with_overrides({"run.seed": 4})) == []
    messages = bare_second_warnings(
        lambda: scenario.with_overrides({"components.app.endpoints.serve[0].cpu": "2"})
    )
    assert messages == [
        "overrides components.app.endpoints.serve[0].cpu=2: components.app.endpoints.serve[0]"
        ".cpu: a bare number is seconds; write the unit (e.g. 5ms, or 5s if seconds are meant)"
    ]
    # the command line prints its own wording: the flag its user typed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenario.with_overrides({"components.app.endpoints.serve[0].cpu": "2"})
    worded = [getattr(w.message, "command_line", None) for w in caught]
    assert worded == [messages[0].replace("overrides ", "--set ", 1)]

"""Runs bounded by a request count that would end inside their warm-up."""

from __future__ import annotations

from typing import Any

import pytest

from simperf.errors import SpecError
from simperf.experiment.horizon import check_horizon, expected_arrival_time, measured_nothing
from simperf.spec.io import from_dict


def _scenario(spec: dict[str, Any], **run: Any):
    spec["run"] = run
    return from_dict(spec)


def test_expected_arrival_time_is_requests_over_rate(minimal_spec: dict[str, Any]) -> None:
    assert expected_arrival_time(_scenario(minimal_spec, requests=500)) == 500 / 50
    assert expected_arrival_time(_scenario(minimal_spec, duration=20)) is None


def test_requests_inside_the_warmup_are_refused(minimal_spec: dict[str, Any]) -> None:
    with pytest.raises(SpecError, match=r"500 requests at 50/s arrive within 10 s"):
        check_horizon(_scenario(minimal_spec, requests=500, warmup=10))
    check_horizon(_scenario(minimal_spec, requests=501, warmup=10))  # one beyond it


def test_unknown_lengths_are_left_to_the_run(minimal_spec: dict[str, Any]) -> None:
    check_horizon(_scenario(minimal_spec, requests=5, warmup="auto"))
    closed = dict(minimal_spec, workload={**minimal_spec["workload"], "arrival": None})
    closed["workload"]["users"] = 2
    check_horizon(_scenario(closed, requests=5, warmup=10))


def test_measured_nothing() -> None:
    assert measured_nothing({"measured_time": 0.0})
    assert not measured_nothing({"measured_time": 0.5})

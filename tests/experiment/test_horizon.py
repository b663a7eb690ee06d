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


def _with_arrival(spec: dict[str, Any], arrival: dict[str, Any], **run: Any):
    spec["workload"] = {**spec["workload"], "arrival": arrival}
    return _scenario(spec, **run)


def test_a_profiles_budget_inside_the_warmup_is_refused(minimal_spec: dict[str, Any]) -> None:
    # scaled to a mean of 10/s, the profile sends 48/s for the first 600 s of each hour,
    # then 2.4/s: 8,000 requests arrive by 167 s, which the mean rate would have put at
    # 800 s, after a 500 s warm-up
    piecewise = {"kind": "piecewise", "rate": 10, "period": 3600, "profile": [[0, 20], [600, 1]]}
    scale = 10 / ((600 * 20 + 3000 * 1) / 3600)  # the profile is scaled to the mean rate
    expected = 8000 / (20 * scale)
    assert expected_arrival_time(
        _with_arrival(minimal_spec, piecewise, requests=8000)
    ) == pytest.approx(expected)
    with pytest.raises(SpecError, match=r"8000 requests on the piecewise profile \(mean 10/s\)"):
        check_horizon(_with_arrival(minimal_spec, piecewise, requests=8000, warmup=500))
    enough = 20 * scale * 500
    check_horizon(_with_arrival(minimal_spec, piecewise, requests=round(enough) + 1, warmup=500))
    diurnal = {"kind": "diurnal", "rate": 10, "amplitude": 0.6, "period": "1h", "peak": 0}
    with pytest.raises(SpecError, match=r"ask for more than 864000 requests"):
        # a day's warm-up on an hourly profile: 24 periods of 36,000 requests
        check_horizon(_with_arrival(minimal_spec, diurnal, requests=800_000, warmup="24h"))


def test_an_mmpps_length_is_left_to_the_run(minimal_spec: dict[str, Any]) -> None:
    mmpp = {"kind": "mmpp", "rate": 10, "relative_rates": [1, 9], "mean_sojourns": ["9s", "1s"]}
    assert expected_arrival_time(_with_arrival(minimal_spec, mmpp, requests=5)) is None
    check_horizon(_with_arrival(minimal_spec, mmpp, requests=5, warmup=10))

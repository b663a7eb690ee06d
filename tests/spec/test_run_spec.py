"""Run settings: readable default windows and the limit on explicit ones."""

from __future__ import annotations

import math

import pytest

import simperf
from simperf.errors import SpecError
from simperf.spec.run import MAX_WINDOWS, readable_window

from conftest import MODELS


@pytest.mark.parametrize(
    ("span", "expected"),
    [(60.0, 1.0), (1950.0, 50.0), (100.0, 2.0), (2e6, 5e4), (0.3, 0.005), (86400.0, 2000.0)],
)
def test_readable_window_is_one_two_or_five_times_a_power_of_ten(
    span: float, expected: float
) -> None:
    window = readable_window(span)
    assert window == pytest.approx(expected)
    # the nearest of 1, 2, 5 x 10^k in log scale is within sqrt(2.5) of span / 60
    assert abs(math.log(window / (span / 60))) <= math.log(math.sqrt(2.5)) + 1e-12


def test_an_explicit_window_giving_too_many_windows_is_refused_with_path_and_count() -> None:
    base = simperf.load(MODELS / "mm1.yaml")  # 2000 s, 50 s warm-up: 1950 s measured
    with pytest.raises(SpecError) as info:
        base.with_overrides({"run.window": "1us"})
    message = str(info.value)
    assert "run.window:" in message
    assert f"{1950 / 1e-6:,.0f} windows" in message
    assert f"{MAX_WINDOWS:,}" in message
    # exactly at the limit is accepted
    fine = base.with_overrides({"run.window": 1950 / MAX_WINDOWS})
    assert fine.run.window == pytest.approx(1950 / MAX_WINDOWS)


def test_the_default_duration_counts_too() -> None:
    data = simperf.load(MODELS / "mm1.yaml").model_dump(by_alias=True)
    data["run"] = {"window": "1ms"}  # default 60 s horizon: 60,000 windows, accepted
    assert simperf.from_dict(data).run.window == pytest.approx(1e-3)
    data["run"] = {"window": "100us"}  # 600,000
    with pytest.raises(SpecError, match=r"run\.window: .*600,000 windows"):
        simperf.from_dict(data)


def test_keep_requests_takes_a_count_and_refuses_zero_with_its_path() -> None:
    base = simperf.load(MODELS / "mm1.yaml")
    assert base.run.keep_requests == 1_000_000
    assert base.with_overrides({"run.keep_requests": "2M"}).run.keep_requests == 2_000_000
    with pytest.raises(SpecError, match=r"run\.keep_requests: must be >= 1"):
        base.with_overrides({"run.keep_requests": 0})


def test_tracing_is_off_by_default_and_its_sample_is_checked_with_its_path() -> None:
    base = simperf.load(MODELS / "mm1.yaml")
    assert base.run.trace is None
    traced = base.with_overrides({"run.trace": {}})
    assert (traced.run.trace.sample, traced.run.trace.slowest) == (0.01, 20)
    with pytest.raises(SpecError) as info:
        base.with_overrides({"run.trace": {"sample": 0}})
    assert "run.trace.sample:" in str(info.value)


def test_an_automatic_warm_up_refuses_windows_its_snapshots_could_not_keep() -> None:
    # a snapshot every tenth of a window: past 10,000 windows they would be merged and
    # the windows would no longer be those asked for
    base = simperf.load(MODELS / "mm1.yaml").with_overrides({"run.warmup": "auto"})
    assert base.with_overrides({"run.window": "0.2s"}).run.window == pytest.approx(0.2)
    with pytest.raises(SpecError) as info:
        base.with_overrides({"run.window": "0.1s"})
    message = str(info.value)
    assert "run.window: 0.1 s gives 20,000 windows" in message
    assert "with warmup: auto" in message and f"{MAX_WINDOWS // 10:,}" in message

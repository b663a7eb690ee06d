"""Calibration round trips: simulate a known spec, calibrate from its log, and the
calibrated parameters agree with the spec's within their interval over replications
(one log per replication, each from its own seed)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simperf.calibrate import Calibration, calibrate

from agreement import HORIZONS, values_agree, width

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "calibrate"))
from simulated_logs import (
    cut_short,
    single_server,
    timed_out,
    timed_out_and_failed,
    two_steps,
    with_failures,
)

GAMMA = {"dist": "gamma", "mean": "8ms", "cv": 0.5}
REPLICATIONS = 10
REQUESTS = 2000  # per log on the full horizon


def _logs(share: float, make: Callable[[int, int], pd.DataFrame]) -> list[Calibration]:
    requests = int(REQUESTS * share)
    return [
        calibrate(make(seed, requests), predict_requests=None)
        for seed in range(1, REPLICATIONS + 1)
    ]


def _mean(cal: Calibration, component: str = "app") -> float:
    fits = cal.fits
    chosen = fits["chosen"] & (fits["parameter"] == "mean") & (fits["component"] == component)
    return float(fits.loc[chosen, "value"].iloc[0])


def _timed_out(log: pd.DataFrame, share: float) -> pd.DataFrame:
    """The slowest ``share`` timed out at the latency they exceed, with no server time."""
    return timed_out(log, float(np.quantile(log["latency"], 1 - share)))[0]


@pytest.mark.parametrize("share", HORIZONS)
def test_failed_requests_round_trip(share: float) -> None:
    # gamma 8 ms at 50/s, a random 10% answered 500 with no server time: the rate and
    # utilisation count them (before: 45/s and 0.36), the service time does not
    def make(seed: int, requests: int) -> pd.DataFrame:
        _, log = single_server(50, GAMMA, requests=requests, seed=seed)
        return with_failures(log.drop(columns=["server_start", "server_end"]), 0.1, seed)[0]

    cals = _logs(share, make)
    level = [cal.levels.iloc[0] for cal in cals]
    # a log's rate is known to 1/sqrt(n) (2.2% at 2,000), their mean over 10 to 3.4%
    values_agree([lv["rate"] for lv in level], "rate", 50, max_width=width(0.05, share))
    util = [lv["utilisation"] for lv in level]
    values_agree(util, "utilisation", 0.4, max_width=width(0.05, share))
    values_agree([_mean(c) for c in cals], "mean", 0.008, max_width=width(0.02, share))


@pytest.mark.parametrize("share", HORIZONS)
def test_timed_out_requests_round_trip_without_server_times(share: float) -> None:
    # gamma 8 ms then 2 ms held at 15/s (rho 0.15), no server times, the slowest 10%
    # timed out: the held overhead solved from the mean latency (before: 1.35 ms at
    # rho 0.3, 30% low) and the censored service time
    def make(seed: int, requests: int) -> pd.DataFrame:
        return _timed_out(
            single_server(15, GAMMA, requests=requests, seed=seed, held=0.002)[1], 0.1
        )

    cals = _logs(share, make)
    held = [cal.levels["held"].iloc[0] for cal in cals]
    values_agree(held, "held", 0.002, max_width=width(0.06, share))
    values_agree([_mean(c) for c in cals], "mean", 0.008, max_width=width(0.02, share))


@pytest.mark.parametrize("share", HORIZONS)
def test_timed_out_requests_round_trip_in_their_first_step(share: float) -> None:
    # exponential 8 ms then gamma 2 ms at 10/s, logged as each ends, a 20 ms timeout:
    # a request given up on in its first step is censored there (before: left out, the
    # first step 6.1 ms)
    def make(seed: int, requests: int) -> pd.DataFrame:
        first, second = stats.expon(scale=0.008), stats.gamma(4, scale=0.0005)
        return two_steps(10, first, second, requests=requests, seed=seed, timeout=0.020)

    cals = _logs(share, make)
    values_agree([_mean(c, "first") for c in cals], "first", 0.008, max_width=width(0.04, share))
    values_agree([_mean(c, "second") for c in cals], "second", 0.002, max_width=width(0.03, share))


@pytest.mark.validate
def test_the_held_overheads_error_covers_the_truth_when_requests_timed_out() -> None:
    # gamma 8 ms then 2 ms held at 15/s, no server times, the slowest 10% timed out:
    # over 40 logs the held overhead's 95% interval (its standard error drawn by
    # bootstrap, the timed-out requests' missing times drawn anew) covers 2 ms as often
    # as a binomial(40, 0.95) allows at 99.9%, and the errors' z-scores spread as a
    # standard normal's (their variance within its chi-square 99.9% interval)
    z = []
    for seed in range(1, 41):
        _, log = single_server(15, GAMMA, requests=REQUESTS, seed=seed, held=0.002)
        level = calibrate(_timed_out(log, 0.1), predict_requests=None).levels.iloc[0]
        z.append((level["held"] - 0.002) / level["held_se"])
    z = np.array(z)
    covered = int(np.sum(np.abs(z) <= stats.norm.ppf(0.975)))
    assert covered >= stats.binom.ppf(0.0005, z.size, 0.95), z
    low, high = stats.chi2.ppf([0.0005, 0.9995], z.size - 1) / (z.size - 1)
    assert low <= z.var(ddof=1) <= high, z


@pytest.mark.validate
def test_failed_requests_without_server_times_among_timed_out_ones_round_trip() -> None:
    # gamma 8 ms then 2 ms held at rho 0.15, no server times, the slowest 10% timed out
    # and a random 20% of the others answered 500 after their service: their latency
    # less their wait and the overhead is a sample of their time (before: left out, the
    # timed-out weighed too much: 8.18 ± 0.11 ms at 99.9% over these ten logs)
    cals = [
        calibrate(timed_out_and_failed(15, seed)[0], predict_requests=None)
        for seed in range(1, REPLICATIONS + 1)
    ]
    values_agree([_mean(c) for c in cals], "mean", 0.008, max_width=0.02)


@pytest.mark.validate
def test_requests_cut_short_without_server_times_round_trip() -> None:
    # gamma 8 ms (cv 0.5) at 60/s, errors at 25 per second of service cut 18% short,
    # no server times: their latencies bound their times, censored (before: left out,
    # the completed ones are the short ones: 7.65 ± 0.10 ms at 99.9% over these ten)
    cals = [
        calibrate(
            cut_short(60, stats.gamma(4, scale=0.002), 25, requests=REQUESTS, seed=seed).drop(
                columns=["server_start", "server_end"]
            ),
            predict_requests=None,
        )
        for seed in range(1, REPLICATIONS + 1)
    ]
    values_agree([_mean(c) for c in cals], "mean", 0.008, max_width=0.02)

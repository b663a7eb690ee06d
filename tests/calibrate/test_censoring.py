"""Requests left out of a calibration: timed out (censored) and saturated levels.

Timed out. Exponential service times of mean m at a load low enough that latency is
the service time: a client timeout t = m ln 10 times out e^(-t/m) = 10% of requests,
and those left out leave the kept ones' mean at E[S | S < t] = m - t e^(-t/m) /
(1 - e^(-t/m)) = m (1 - ln 10 / 9) = 0.7442 m: 25.6% low.

Saturated. Poisson arrivals at 1.2 times one worker's capacity: the backlog, and so
the latency, grows by 0.2 s a second; the mean latency solved by Pollaczek-Khinchine
put the utilisation just under 1 whatever the load.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from simulated_logs import single_server

from simperf.calibrate import calibrate

MEAN = 0.010
EXPONENTIAL = {"dist": "exponential", "mean": "10ms"}


def test_timed_out_requests_are_counted_and_the_low_bias_said() -> None:
    _, log = single_server(2, EXPONENTIAL, requests=2000, seed=5)
    timeout = MEAN * math.log(10)
    late = log["latency"].to_numpy() > timeout
    log = log.astype({"status": object})
    log.loc[late, ["status", "latency", "time_app"]] = ["timeout", timeout, np.nan]
    log = log.drop(columns=["server_start", "server_end"])
    cal = calibrate(log, confidence=0.99, predict_requests=None)
    fits = cal.fits[(cal.fits.family == "exponential") & (cal.fits.parameter == "mean")]
    fit = fits.iloc[0]
    # the fit is the truncated mean, not the true one: the bias the warning names
    assert fit["low"] <= MEAN * (1 - math.log(10) / 9) <= fit["high"] < MEAN
    share = late.mean()
    assert abs(share - 0.1) < 3 * math.sqrt(0.1 * 0.9 / late.size)
    (warning,) = cal.warnings
    assert f"{late.sum()} of 2000 requests ({share:.1%}) timed out" in warning
    assert "biased low" in warning
    assert "Warnings" in cal.summary() and warning in cal.summary()
    assert json.loads(json.dumps(cal.to_dict()))["warnings"] == [warning]


def test_a_saturated_level_is_flagged_not_fitted() -> None:
    _, steady = single_server(50, EXPONENTIAL, requests=1500, seed=2)
    _, flooded = single_server(120, EXPONENTIAL, requests=1500, seed=2)
    later = flooded.assign(load=120, timestamp=flooded["timestamp"] + 100)
    log = pd.concat([steady.assign(load=50), later]).drop(columns=["server_start", "server_end"])
    cal = calibrate(log, predict_requests=None)
    levels = cal.levels.set_index("load")
    assert not levels.loc[50, "saturated"] and math.isnan(levels.loc[50, "growth"])
    assert levels.loc[120, "saturated"]
    # the backlog grows by 120 x 10 ms - 1 = 0.2 s a second, give or take its noise
    assert 0.1 < levels.loc[120, "growth"] < 0.3
    # before: held fitted so that the utilisation read 1.00
    assert math.isnan(levels.loc[120, "held"]) and math.isnan(levels.loc[120, "utilisation"])
    assert levels.loc[120, "overhead_method"] == "not fitted: saturated"
    (warning,) = cal.warnings
    assert warning.startswith("load 120: saturated: its latency grows by")
    assert any(
        line.split()[:1] == ["120"] and line.endswith(" sat") for line in cal.summary().splitlines()
    )
    assert json.loads(json.dumps(cal.to_dict()))["levels"][1]["saturated"] is True

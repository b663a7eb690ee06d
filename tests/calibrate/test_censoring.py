"""Requests a calibration cannot take at face value: timed out (censored) and
saturated levels.

Timed out. Gamma service times of mean m = 10 ms and cv 0.5 at a load low enough that
latency is the service time (rho 0.02), and a client timeout t at their 80th percentile:
a fifth of the requests time out. Left out, they left the kept ones' mean at
E[S | S < t] = 8.4 ms, 16% low (exponential at 10%: 25.6%); fitted as right-censored at
t, the mean is m within its standard error.

Saturated. Poisson arrivals at 1.2 times one worker's capacity: the backlog, and so
the latency, grows by 0.2 s a second; the mean latency solved by Pollaczek-Khinchine
put the utilisation just under 1 whatever the load.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from simulated_logs import behind_a_failed_request, single_server, timed_out, two_steps

from simperf.calibrate import calibrate

MEAN = 0.010
EXPONENTIAL = {"dist": "exponential", "mean": "10ms"}
GAMMA = {"dist": "gamma", "mean": "10ms", "cv": 0.5}
GAMMA_8MS = {"dist": "gamma", "mean": "8ms", "cv": 0.5}


def test_timed_out_requests_are_fitted_as_censored_and_the_mean_is_unbiased() -> None:
    # before: the 21.4% timed out were left out, no family fitted the rest and the
    # empirical one's mean read 8.02 ms [7.77, 8.27] at 99.9% for a true 10 ms
    true = stats.gamma(4.0, scale=MEAN / 4)
    timeout = float(true.isf(0.2))
    log, late = timed_out(single_server(2, GAMMA, requests=2000, seed=5)[1], timeout)
    cal = calibrate(log, confidence=0.999, predict_requests=None)
    chosen = cal.fits[cal.fits.chosen].set_index("parameter")
    assert chosen["family"].iloc[0] == "gamma"
    mean = chosen.loc["mean"]
    # the tolerance is the estimator's own 99.9% interval; its standard error is at
    # least the uncensored sample's (MEAN cv / sqrt(n)) and censoring a fifth costs
    # less than half again
    se = (mean["high"] - mean["low"]) / 2 / stats.norm.ppf(0.9995)
    complete_se = MEAN * 0.5 / math.sqrt(2000)
    assert complete_se < se < 1.5 * complete_se
    assert mean["low"] <= MEAN <= mean["high"]
    truncated = integrate.quad(lambda s: s * true.pdf(s), 0, timeout)[0] / true.cdf(timeout)
    assert truncated < mean["low"]  # the naive fit's answer is outside the interval
    assert abs(late.mean() - 0.2) < 3 * math.sqrt(0.2 * 0.8 / late.size)
    # the timed-out requests were sent: they count in the rate
    sent = log["timestamp"]
    assert cal.levels["rate"].iloc[0] == (len(log) - 1) / (sent.max() - sent.min())
    (warning,) = cal.warnings
    share = late.mean()
    assert f"{late.sum()} of 2000 requests ({share:.1%}) timed out" in warning
    # all but the few that waited behind an earlier request longer than their timeout
    censored = int(cal.fits[cal.fits.chosen]["censored"].iloc[0])
    assert 0.98 * late.sum() <= censored <= late.sum()
    assert f"; {censored} censored value(s))" in warning
    assert cal.levels["timed_out"].iloc[0] == late.sum()
    assert f"p {cal.fits.ks_p.iloc[0]:.2g}, {censored} censored)" in cal.summary()
    assert "Warnings" in cal.summary() and warning in cal.summary()
    assert json.loads(json.dumps(cal.to_dict()))["warnings"] == [warning]


def test_percentiles_past_the_timed_out_share_are_not_measured() -> None:
    # before: p95 and p99 were those of the requests that completed, all under the
    # timeout, and p50 that of 80% of them
    timeout = float(stats.gamma(4.0, scale=MEAN / 4).isf(0.1))
    log, late = timed_out(single_server(2, GAMMA, requests=1000, seed=3)[1], timeout)
    cal = calibrate(log, predict_requests=500)
    measured = cal.accuracy.set_index("percentile")["measured"]
    assert measured["p50"] == np.percentile(np.where(late, timeout, log["latency"]), 50)
    assert math.isnan(measured["p95"]) and math.isnan(measured["p99"])
    assert "-" in cal.summary().splitlines()[-1]


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


def test_a_saturated_level_says_what_it_means_and_what_to_do() -> None:
    # before: the table read "sat" with no word on it, and the warning named no way
    # out; --base 120 said "calibrate from a level below saturation" without naming one

    from simperf.calibrate import LogError

    _, steady = single_server(50, EXPONENTIAL, requests=1500, seed=2)
    _, flooded = single_server(120, EXPONENTIAL, requests=1500, seed=2)
    later = flooded.assign(load=120, timestamp=flooded["timestamp"] + 100)
    log = pd.concat([steady.assign(load=50), later]).drop(columns=["server_start", "server_end"])
    cal = calibrate(log, predict_requests=None)
    levels = cal.levels.set_index("load")
    capacity = 1 / levels.loc[50, "service"]  # one worker
    (warning,) = cal.warnings
    assert f"It offered {levels.loc[120, 'rate']:.4g}/s" in warning
    assert f"serves at most {capacity:.4g}/s" in warning
    assert "leave load 120 out of the log" in warning
    assert f"measure it again below {capacity:.4g}/s" in warning
    legend = [line for line in cal.summary().splitlines() if line.strip().startswith("sat:")]
    assert len(legend) == 1 and "not predicted" in legend[0]
    with pytest.raises(LogError, match=r"--base 50\b"):
        calibrate(log, base=120, predict_requests=None)


def test_a_level_the_model_saturates_at_is_said_not_predicted() -> None:
    # before: its predictions read "-" without a word; the worker served it (5 ms a
    # request at 110/s, rho 0.55) but the model calibrated at 50/s holds it 10 ms
    _, base = single_server(50, EXPONENTIAL, requests=1500, seed=2)
    _, faster = single_server(110, {"dist": "exponential", "mean": "5ms"}, requests=1500, seed=3)
    later = faster.assign(load=110, timestamp=faster["timestamp"] + 100)
    log = pd.concat([base.assign(load=50), later]).drop(columns=["server_start", "server_end"])
    cal = calibrate(log, predict_requests=500)
    assert not cal.levels["saturated"].any()
    assert cal.accuracy.set_index("load").loc[110, "predicted"].isna().all()
    (warning,) = cal.warnings
    assert warning.startswith("load 110: not saturated in the log, but the model calibrated at")
    assert "nothing is predicted there" in warning


def test_a_timed_out_request_is_censored_past_its_wait() -> None:
    # one worker, no server times: a request ends at 1.010; one sent at 1.005 timed out
    # after 30 ms, having waited 5 ms, so its service exceeded 25 ms (before: 30 ms,
    # the wait counted as service); one sent at 2 waited for nothing (30 ms); one sent
    # at 2.01 waited for that one, whose end is past 2.03 (its 30 ms and the expected
    # rest of an exponential of mean 10 ms past it, 10 ms: 2.04), so exceeded 0 ms and
    # is dropped
    from simperf.calibrate.core import censoring
    from simperf.calibrate.families import fit_exponential
    from simperf.calibrate.overhead import Overhead

    rows = pd.DataFrame({"timestamp": [1.0], "latency": [0.010], "worker": [0]})
    late = pd.DataFrame(
        {"timestamp": [1.005, 2.0, 2.01], "latency": [0.030] * 3, "worker": [0] * 3}
    )
    parts = {"handler": np.array([0.010])}
    cost = Overhead(0.0, 0.0, 0.0, 0.0, "mean latency")
    _, first, _, _ = censoring(late, rows, parts, cost)
    assert first["handler"] == pytest.approx([0.025, 0.030, 0.010])
    exponential = {"handler": [fit_exponential(np.array([0.01, 0.01]))]}
    _, second, _, _ = censoring(late, rows, parts, cost, exponential)
    assert second["handler"] == pytest.approx([0.025, 0.030])


def test_the_held_overhead_solved_from_the_mean_latency_counts_the_timed_out() -> None:
    # gamma 8 ms then 2 ms held at 30/s (rho 0.3), no server times, the slowest 10%
    # timed out. Before: the held overhead was solved from the completed requests' mean
    # latency alone and read 1.466 ± 0.099 ms (four logs: 1.35 to 1.47); now each
    # timed-out request counts at its expected latency under the censored fits, and the
    # service's moments are the fits' (1.960 ± 0.138; four logs: 1.79 to 1.97)
    _, log = single_server(30, GAMMA_8MS, requests=2000, seed=3, held=0.002)
    log, late = timed_out(log, float(np.quantile(log["latency"], 0.9)))
    level = calibrate(log, confidence=0.999, predict_requests=None).levels.iloc[0]
    assert level["overhead_method"] == "mean latency" and level["timed_out"] == late.sum()
    # within its own 99.9% interval (the standard error of the mean latency it is
    # solved from)
    assert abs(level["held"] - 0.002) <= stats.norm.ppf(0.9995) * level["held_se"]
    assert level["held_se"] < 0.1 * 0.002  # narrow enough to mean something


def test_a_request_timed_out_in_its_first_step_is_censored_there() -> None:
    # two steps logged as each ends: exponential 8 ms then gamma 2 ms at 10/s, a 20 ms
    # timeout. A request given up on during the first step logged neither, one given up
    # on during the second logged the first. Before: the first kind (214 of 258) was
    # left out as missing several times and the first step read empirical 6.07 ms
    # [5.68, 6.46] at 99.9%; now it is censored in the first step (7.99 [7.40, 8.64])
    log = two_steps(
        10,
        stats.expon(scale=0.008),
        stats.gamma(4, scale=0.0005),
        requests=2000,
        seed=1,
        timeout=0.020,
    )
    cal = calibrate(log, confidence=0.999, predict_requests=None)
    chosen = cal.fits[cal.fits.chosen & (cal.fits.parameter == "mean")].set_index("component")
    both = int(((log["status"] == "timeout") & log["time_first"].isna()).sum())
    assert chosen.loc["first", "family"] == "exponential"
    assert chosen.loc["first", "low"] <= 0.008 <= chosen.loc["first", "high"]
    assert chosen.loc["second", "low"] <= 0.002 <= chosen.loc["second", "high"]
    # all but those that waited past their timeout
    assert 0.9 * both <= chosen.loc["first", "censored"] <= both
    (warning,) = cal.warnings
    assert "missed several components' times" not in warning


def test_several_missing_times_are_bounded_only_in_a_log_that_logs_each_as_it_ends() -> None:
    # one worker, no waits: a request timed out after 30 ms. With every timed-out row
    # missing both times nothing says which step was running: none is bounded. With a
    # row that logged the first step and not the second, the log records each as it
    # ends: a row missing both was in its first step, censored at 30 ms
    from simperf.calibrate.core import censoring
    from simperf.calibrate.overhead import Overhead

    rows = pd.DataFrame(
        {
            "timestamp": [0.0],
            "latency": [0.010],
            "worker": [0],
            "time_a": [0.006],
            "time_b": [0.004],
        }
    )
    parts = {"a": np.array([0.006]), "b": np.array([0.004])}
    cost = Overhead(0.0, 0.0, 0.0, 0.0, "mean latency")
    both = pd.DataFrame(
        {
            "timestamp": [1.0],
            "latency": [0.030],
            "worker": [0],
            "time_a": [np.nan],
            "time_b": [np.nan],
        }
    )
    _, censored, unfitted, _ = censoring(both, rows, parts, cost)
    assert unfitted == 1 and censored["a"].size == censored["b"].size == 0
    one = pd.DataFrame(
        {
            "timestamp": [2.0],
            "latency": [0.030],
            "worker": [0],
            "time_a": [0.012],
            "time_b": [np.nan],
        }
    )
    _, censored, unfitted, _ = censoring(pd.concat([both, one]), rows, parts, cost)
    assert unfitted == 0
    assert censored["a"] == pytest.approx([0.030]) and censored["b"] == pytest.approx([0.018])
    # a row that logged the second step and not the first: not the order of a log that
    # records each as it ends, so the row missing both bounds nothing again
    odd = one.assign(timestamp=3.0, time_a=np.nan, time_b=0.012)
    _, censored, unfitted, _ = censoring(pd.concat([both, one, odd]), rows, parts, cost)
    assert unfitted == 1 and censored["a"] == pytest.approx([0.018])


def test_the_held_overheads_error_spreads_the_imputed_latencies() -> None:
    # no server times, the slowest 10% timed out: the held overhead's standard error
    # draws each timed-out request's missing time anew in every bootstrap replicate;
    # its expected value taken as observed (no spread) gives a narrower error
    from simperf.calibrate.core import Imputed, censoring, held_error
    from simperf.calibrate.families import fit_families
    from simperf.calibrate.logs import read_requests
    from simperf.calibrate.overhead import Overhead

    _, log = single_server(15, GAMMA_8MS, requests=600, seed=2, held=0.002)
    log, late = timed_out(log, float(np.quantile(log["latency"], 0.9)))
    rows, late_rows, _ = read_requests(log)
    parts = {"app": rows["time_app"].to_numpy()}
    cost = Overhead(0.002, 0.0, 0.0, 0.0, "mean latency")
    fits = {"app": fit_families(parts["app"])}
    _, censored, _, imputed = censoring(late_rows, rows, parts, cost, fits)
    assert 0 < censored["app"].size <= late.sum()
    args = (rows["latency"].to_numpy(), parts["app"])
    sent = np.concatenate([rows["timestamp"].to_numpy(), late_rows["timestamp"].to_numpy()])
    spread = held_error(sent, *args, imputed, fits, 15.0, len(log), 0.002)
    flat = Imputed(
        imputed.latency,
        imputed.service,
        imputed.excess,
        imputed.point,
        [None] * len(imputed.component),
        imputed.floor,
    )
    assert spread > held_error(sent, *args, flat, fits, 15.0, len(log), 0.002)
    # the same log, the same error
    assert spread == held_error(sent, *args, imputed, fits, 15.0, len(log), 0.002)


def test_a_timed_out_request_waits_behind_a_failed_one() -> None:
    # one worker, no server times, a request a second: one ends at 40.010, a failed one
    # (a 500) sent at 40.011 ends at 40.021 and one sent at 40.015 timed out after
    # 30 ms, having waited 6 ms behind the failed one: its service exceeded 24 ms
    # (before: 30 ms, the failed one's time on the worker taken for its service)
    log = behind_a_failed_request()
    cal = calibrate(log, predict_requests=None)
    assert cal.levels["held"].iloc[0] == 0
    assert cal.censored["app"] == pytest.approx([0.024])
    # a failed row with no latency logged says nothing of when its worker was free
    unknown = log.astype({"latency": float})
    unknown.loc[41, "latency"] = np.nan
    assert calibrate(unknown, predict_requests=None).censored["app"] == pytest.approx([0.030])

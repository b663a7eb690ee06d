"""Calibration figures: a Q-Q trace per fitted family, measured and predicted per percentile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from simperf.calibrate import calibrate
from simperf.plots import fit_quantiles, predicted_vs_measured


def test_fit_quantiles_draws_each_family_against_the_sample() -> None:
    rng = np.random.default_rng(3)
    send = np.cumsum(rng.exponential(0.1, 500))
    log = pd.DataFrame({"timestamp": send, "latency": 0.02, "time_db": rng.gamma(4.0, 0.001, 500)})
    cal = calibrate(log, predict_requests=None)
    fig = fit_quantiles(cal)
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data if t.name]
    assert names[0] == "gamma (chosen)"
    assert {"exponential", "lognormal"} <= set(names)
    chosen = fig.data[0]
    # a good fit lies near the diagonal: median quantile within 5%
    assert abs(chosen.y[49] / chosen.x[49] - 1) < 0.05


def test_predicted_vs_measured_has_both_per_percentile() -> None:
    frame = pd.DataFrame(
        {
            "load": [0.2, 0.2, 0.6, 0.6],
            "percentile": ["p50", "p99", "p50", "p99"],
            "measured": [0.01, 0.03, 0.02, 0.06],
            "predicted": [0.011, 0.029, 0.021, 0.058],
        }
    )
    fig = predicted_vs_measured(frame)
    assert [t.name for t in fig.data] == [
        "p50 measured",
        "p50 predicted",
        "p99 measured",
        "p99 predicted",
    ]
    assert list(fig.data[1].y) == [11.0, 21.0]

    # the title named "the lowest load" even when --base calibrated from another
    assert "lowest" not in fig.layout.title.text
    titled = predicted_vs_measured(frame, base=0.6).layout.title.text
    assert titled == "Calibrated at load 0.6: predicted against measured latency"


def test_fit_quantiles_puts_kaplan_meier_quantiles_against_the_fit_when_censored() -> None:
    """A fifth of the requests timed out. Before, the x axis held the completed values'
    quantiles alone, the fast four fifths stretched over 0-100%: every point sat left of
    the fitted one and the figure read as a poor fit of a good one."""
    rng = np.random.default_rng(7)
    n = 1000
    service = rng.gamma(4.0, 0.0025, n)
    timeout = float(np.quantile(service, 0.8))
    late = service > timeout
    log = pd.DataFrame(
        {
            "timestamp": np.arange(n, dtype=float),  # a second apart: nothing queues
            "latency": np.where(late, timeout, service),
            "time_db": np.where(late, np.nan, service),
            "status": np.where(late, "timeout", "ok"),
        }
    )
    cal = calibrate(log, predict_requests=None)
    fig = fit_quantiles(cal)
    chosen = fig.data[0]
    assert chosen.name == "gamma (chosen)"
    # Kaplan-Meier of the completed times and the timed-out ones censored at the timeout
    right = np.full(late.sum(), timeout)
    km = stats.ecdf(stats.CensoredData(uncensored=service[~late], right=right))
    q = (np.arange(99) + 0.5) / 99
    reached = q <= km.cdf.probabilities[-1]  # past the last completed value: unknown
    expected = km.cdf.quantiles[np.searchsorted(km.cdf.probabilities, q[reached])] * 1e3
    np.testing.assert_allclose(chosen.x, expected, rtol=1e-12)
    np.testing.assert_allclose(chosen.y, cal.candidates["db"][0].quantile(q[reached]) * 1e3)
    assert 0.75 < reached.mean() < 0.85  # the share that completed
    (mark,) = [t for t in fig.data if t.name and "censor" in t.name]
    assert list(mark.x) == [timeout * 1e3] * 2
    assert f"{late.sum()} of {n} censored" in mark.name

"""The arrival process: Poisson, paced and bursty send times told apart."""

from __future__ import annotations

import numpy as np

from simperf.calibrate.traffic import arrivals


def test_poisson_paced_and_bursty() -> None:
    rng = np.random.default_rng(11)
    poisson = arrivals(np.cumsum(rng.exponential(0.01, 5000)))
    paced = arrivals(np.arange(5000) * 0.01)
    # bursts: 20 requests at once every 0.2 s
    bursty = arrivals(np.repeat(np.arange(250) * 0.2, 20) + rng.uniform(0, 1e-4, 5000))
    assert poisson.poisson and 0.8 < poisson.dispersion < 1.2
    assert not paced.poisson and paced.dispersion < 0.1
    assert not bursty.poisson and bursty.dispersion > 5
    low, high = poisson.rate_ci
    assert low < 100 < high


def test_the_levels_report_the_intervals_at_the_level_asked_for() -> None:
    # the rate's Garwood interval and the dispersion index's were computed and dropped,
    # and the summary said "95% intervals" whatever the confidence
    import pandas as pd

    from simperf.calibrate import calibrate

    rng = np.random.default_rng(5)
    t = np.cumsum(rng.exponential(0.02, 2000))
    work = rng.exponential(0.003, t.size)
    log = pd.DataFrame({"timestamp": t, "latency": work + 0.001, "time_app": work})
    for confidence in (0.9, 0.99):
        cal = calibrate(log, confidence=confidence, predict_requests=None)
        expected = arrivals(t, confidence)
        row = cal.levels.iloc[0]
        assert (row["rate_low"], row["rate_high"]) == expected.rate_ci
        assert (row["dispersion_low"], row["dispersion_high"]) == expected.dispersion_ci
        assert row["rate_low"] < 50 < row["rate_high"]
        assert f"{confidence:.0%} intervals" in cal.summary()
        assert "95% intervals" not in cal.summary()


def test_the_rate_interval_of_bursty_traffic_covers_its_long_run_rate() -> None:
    # before: Garwood's interval (a Poisson count's) covered the long-run rate of these
    # logs 11 times in 40 at 95%: bursts make the count vary five times as much
    from scipy import stats

    from simperf.arrivals.mmpp import mmpp2_mean_rate, mmpp2_times

    rates, sojourns = (50.0, 200.0), (2.0, 1.0)
    rate = mmpp2_mean_rate(rates, sojourns)
    covered = 0
    for seed in range(40):
        times = mmpp2_times(rates, sojourns, np.random.default_rng(seed))
        a = arrivals(np.fromiter(times, float, 5000))
        assert not a.poisson and a.dispersion > 3
        covered += a.rate_ci[0] <= rate <= a.rate_ci[1]
    # at least the 0.1% quantile of the count a 95% interval would cover
    assert covered >= stats.binom.ppf(0.001, 40, 0.95)

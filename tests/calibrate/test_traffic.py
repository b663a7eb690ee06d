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

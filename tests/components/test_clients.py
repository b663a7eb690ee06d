"""Client regions and addresses: drawn per request from their own streams."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

import simperf
from simperf.build import build
from simperf.components.workload import zipf_addresses

ALPHA = 1e-4


def spec(clients: dict[str, Any] | None, *, network: bool = True, requests: int = 4000):
    data: dict[str, Any] = {
        "name": "clients",
        "workload": {
            "arrival": {"kind": "poisson", "rate": 100},
            "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "workers": 1000,
                "endpoints": {"serve": [{"delay": "1ms"}]},
            }
        },
        "run": {"requests": requests},
    }
    if clients is not None:
        data["workload"]["clients"] = clients
    if network:
        data["network"] = {"regions": ["eu", "us"], "latency": {"eu": {"us": "10ms"}}}
    return simperf.from_dict(data)


def test_client_regions_follow_the_mix() -> None:
    n = 4000
    result = simperf.run(spec({"regions": {"eu": 3, "us": 1}}, requests=n), seed=2)
    latency = result._arrays["latency"]  # type: ignore[attr-defined]
    far = int(np.count_nonzero(latency > 0.01))  # the app is in eu: us clients pay 20 ms
    assert np.all(np.isclose(latency, 0.001) | np.isclose(latency, 0.021))
    lo, hi = stats.binom.ppf(ALPHA / 2, n, 0.25), stats.binom.isf(ALPHA / 2, n, 0.25)
    assert lo <= far <= hi


def test_zipf_addresses_have_their_probabilities() -> None:
    addresses, skew, n = 50, 1.2, 200_000
    draw = zipf_addresses(addresses, skew, np.random.default_rng(5))
    values = np.array([draw() for _ in range(n)])
    assert values.min() >= 0 and values.max() < addresses
    p = np.arange(1, addresses + 1, dtype=float) ** -skew
    p /= p.sum()
    counts = np.bincount(values, minlength=addresses)
    chi2 = stats.chisquare(counts, p * n)
    assert chi2.pvalue > ALPHA
    uniform = zipf_addresses(addresses, 0.0, np.random.default_rng(5))
    assert (
        stats.chisquare(np.bincount([uniform() for _ in range(n)], minlength=addresses)).pvalue
        > ALPHA
    )


def test_requests_carry_region_and_address_only_when_asked() -> None:
    assert build(spec(None, network=False)).clients._tagger() is None
    tag = build(spec({"addresses": 10}, network=False)).clients._tagger()
    assert tag is not None


def test_client_draws_leave_the_arrival_stream_alone() -> None:
    plain = simperf.run(spec(None, network=False), seed=9)._arrays["start"]  # type: ignore[attr-defined]
    tagged = simperf.run(
        spec({"regions": {"eu": 1}, "addresses": 1000, "skew": 1.0}), seed=9
    )._arrays["start"]  # type: ignore[attr-defined]
    assert np.array_equal(np.sort(plain), np.sort(tagged))

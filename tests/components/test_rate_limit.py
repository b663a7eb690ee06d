"""Token-bucket rate limiting in a cache: exact decisions, and the admitted rate under load.

The reference is the generic cell rate algorithm (virtual scheduling), written here
independently: a request at ``t`` conforms when ``t >= tat - (burst - 1) / rate``, and
then ``tat = max(t, tat) + 1 / rate``. It admits exactly what a token bucket of the
same rate and burst admits, with no token arithmetic.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simperf
from simperf.components.rate_limit import SlidingWindows, TokenBuckets

LATENCY = 50e-6  # one command on the cache node


def gcra(times: list[float], rate: float, burst: int) -> list[bool]:
    """Which of the decisions at ``times`` (sorted) a (rate, burst) limit admits."""
    tat = -math.inf
    tolerance = (burst - 1) / rate
    admitted = []
    for t in times:
        ok = t >= tat - tolerance
        if ok:
            tat = max(t, tat) + 1 / rate
        admitted.append(ok)
    return admitted


@pytest.mark.parametrize(("rate", "burst"), [(10.0, 1), (10.0, 5), (3.7, 20), (250.0, 3)])
def test_token_buckets_admit_what_the_reference_admits(rate: float, burst: int) -> None:
    rng = np.random.default_rng(7)
    # bursts and lulls: gaps drawn around the limit's own spacing
    times = np.cumsum(rng.exponential(1 / (1.5 * rate), 5000) * rng.choice([0.2, 3.0], 5000))
    buckets = TokenBuckets(rate, burst)
    ours = [buckets.take(0, t) for t in times.tolist()]
    assert ours == gcra(times.tolist(), rate, burst)
    assert 0 < sum(ours) < len(ours)  # the sequence exercises both outcomes


def sliding_log(times: list[float], limit: int, window: float) -> list[bool]:
    """Admit a request when fewer than ``limit`` admitted ones lie in (t - window, t]."""
    admitted: list[float] = []
    decisions = []
    for t in times:
        ok = sum(1 for a in admitted if t - window < a) < limit
        if ok:
            admitted.append(t)
        decisions.append(ok)
    return decisions


@pytest.mark.parametrize(("limit", "window"), [(1, 0.1), (5, 1.0), (20, 0.5)])
def test_sliding_windows_admit_what_a_brute_force_count_admits(limit: int, window: float) -> None:
    rng = np.random.default_rng(5)
    times = np.cumsum(rng.exponential(window / limit / 1.5, 3000) * rng.choice([0.2, 3.0], 3000))
    windows = SlidingWindows(limit, window)
    ours = [windows.take(0, t) for t in times.tolist()]
    assert ours == sliding_log(times.tolist(), limit, window)
    assert 0 < sum(ours) < len(ours)


def test_a_sliding_window_limit_in_a_run_never_exceeds_its_count() -> None:
    """Global sliding window of 50 per 0.5 s under 200/s Poisson: every admitted request
    has fewer than 50 others admitted in the half second before it, and the admitted rate
    is at most 100/s."""
    s = limited({"kind": "poisson", "rate": 200.0}, rate=100.0, burst=1, duration=20.0)
    data = s.model_dump(mode="json", by_alias=True)
    step = data["components"]["app"]["endpoints"]["api"][0]["rate_limit"]
    step.update({"algorithm": "sliding_window", "window": 0.5})
    result = simperf.run(simperf.from_dict(data), seed=4)
    ends = np.sort(result._arrays["end"][result._arrays["outcome"] == 0])
    # decisions are at the command's completion, which is the request's end here
    in_window = np.searchsorted(ends, ends, side="right") - np.searchsorted(
        ends, ends - 0.5, side="right"
    )
    assert in_window.max() <= 50
    report = result.to_dict()["rate_limits"]["app_api"]
    assert report["admitted"] <= 50 * math.ceil(20.0 / 0.5)
    assert report["rejected"] > 0


def test_buckets_are_per_key() -> None:
    buckets = TokenBuckets(1.0, 1)
    assert [buckets.take(k, 0.0) for k in (1, 2, 1, 2)] == [True, True, False, False]


def limited(
    arrival: dict[str, Any],
    *,
    rate: float,
    burst: int,
    per: str = "global",
    duration: float | None = None,
    requests: int | None = None,
    keyspaces: dict[str, Any] | None = None,
    warmup: float = 0,
    faults: list[dict[str, Any]] | None = None,
) -> simperf.Scenario:
    """Clients from 50 addresses at an app whose one step is a rate limit in ``redis``;
    ``faults``: the scenario's."""
    run: dict[str, Any] = {"warmup": warmup}
    run.update({"duration": duration} if duration is not None else {"requests": requests})
    return simperf.from_dict(
        {
            "name": "rate_limit_test",
            "keyspaces": keyspaces or {"none": {"keys": 1, "popularity": {"model": "uniform"}}},
            "workload": {
                "arrival": arrival,
                "clients": {"addresses": 50},
                "classes": [{"name": "api", "entry": "app", "endpoint": "api"}],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "workers": 1000,
                    "endpoints": {
                        "api": [
                            {
                                "rate_limit": {
                                    "cache": "redis",
                                    "rate": rate,
                                    "burst": burst,
                                    "per": per,
                                }
                            }
                        ]
                    },
                },
                "redis": {
                    "kind": "cache",
                    "keyspace": next(iter(keyspaces or {"none": None})),
                    "capacity": 10,
                    "latency": LATENCY,
                },
            },
            "faults": faults or [],
            "run": run,
        }
    )


def test_a_fixed_arrival_sequence_is_decided_as_the_reference_decides(tmp_path: Path) -> None:
    """Decisions happen when the node executes the command: arrival, queue, service."""
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(rng.exponential(1 / 40.0, 3000) * rng.choice([0.01, 2.0], 3000))
    path = tmp_path / "arrivals.csv"
    path.write_text("key,t\n" + "\n".join(f"k,{t!r}" for t in arrivals.tolist()) + "\n")
    keyspace = {
        "trace": {
            "keys": 1,
            "popularity": {"model": "trace", "path": str(path), "time_column": "t"},
        }
    }
    scenario = limited(
        {"kind": "trace", "keyspace": "trace"},
        rate=20.0,
        burst=4,
        requests=10_000,
        keyspaces=keyspace,
    )
    result = simperf.run(scenario, seed=1)
    data = result._arrays
    order = np.argsort(data["start"], kind="stable")
    starts = data["start"][order].tolist()
    outcomes = data["outcome"][order]
    done, completions = -math.inf, []
    for a in starts:  # one single-core node: FIFO, one LATENCY per command
        done = max(a, done) + LATENCY
        completions.append(done)
    expected = gcra(completions, 20.0, 4)
    admitted = (outcomes == 0).tolist()
    assert len(admitted) == 3000
    assert admitted == expected
    report = result.to_dict()["rate_limits"]["app_api"]
    assert report["admitted"] == sum(expected)
    assert report["rejected"] == 3000 - sum(expected)
    assert result.to_dict()["requests"]["errors"]["rate_limited"] == 3000 - sum(expected)


def test_the_admitted_rate_converges_to_the_limit_under_poisson_overload() -> None:
    """Poisson arrivals at twice the limit: the admitted rate is ``rate`` within (b + 1)/T.

    Bound: over a window of length T a bucket gains ``rate * T`` tokens and holds between
    0 and ``burst`` at either end, so ``admitted = rate * T + (held at start - held at
    end) - lost``, where *lost* counts tokens that overflowed a full bucket. The number of
    whole tokens held behaves as a D/M/1/b queue (tokens arrive every 1/rate, are taken
    by Poisson arrivals at lambda): a token overflows with probability at most sigma^b,
    sigma the root of sigma = exp(-(lambda / rate) (1 - sigma)). At lambda = 2 rate,
    sigma = 0.2032 and with b = 20 the expected overflow in the run is below 1e-9, so
    ``|admitted - rate T| <= b`` (plus 1 for whole tokens) holds but with probability
    below 1e-9.
    """
    rate, burst, lam, duration, warmup = 100.0, 20, 200.0, 60.0, 5.0
    sigma = overflow_root(lam / rate)
    assert sigma == pytest.approx(0.2032, abs=1e-3)
    assert rate * duration * sigma**burst < 1e-9
    scenario = limited(
        {"kind": "poisson", "rate": lam},
        rate=rate,
        burst=burst,
        duration=duration,
        warmup=warmup,
    )
    result = simperf.run(scenario, seed=11).to_dict()
    report = result["rate_limits"]["app_api"]
    span = result["measured_time"]
    assert abs(report["admitted"] - rate * span) <= burst + 1
    assert abs(report["admitted_per_second"] - rate) <= (burst + 1) / span
    # Poisson arrivals: about half rejected (the offered rate is twice the limit)
    offered = report["admitted"] + report["rejected"]
    assert abs(offered - lam * span) <= 5 * math.sqrt(lam * span)


def overflow_root(load: float) -> float:
    """sigma = exp(-load (1 - sigma)) in (0, 1), for ``load`` = lambda / rate > 1."""
    sigma = 0.5
    for _ in range(500):
        sigma = math.exp(-load * (1 - sigma))
    return sigma


def test_per_client_buckets_limit_each_client() -> None:
    """50 clients share 500/s evenly, 10/s each, against 4/s each: each is cut to its limit.

    Per bucket, over the run: admitted <= burst + rate T, and (as in the global case)
    admitted >= rate T (1 - sigma^b) - b, sigma^b bounding the share of tokens lost to
    overflow at lambda / rate = 2.5.
    """
    rate, burst, duration, clients = 4.0, 2, 30.0, 50
    scenario = limited(
        {"kind": "poisson", "rate": 500.0},
        rate=rate,
        burst=burst,
        per="client",
        duration=duration,
    )
    report = simperf.run(scenario, seed=2).to_dict()["rate_limits"]["app_api"]
    lost_share = overflow_root(10.0 / rate) ** burst
    assert report["admitted"] <= clients * (burst + rate * duration)
    assert report["admitted"] >= clients * (rate * duration * (1 - lost_share) - burst)

"""Request logs made by simperf itself, for calibration tests: one FIFO server, so each
request's handler start is ``max(arrival at the server, previous end)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import simperf


def single_server(
    rate: float,
    service: dict[str, Any],
    *,
    requests: int,
    seed: int,
    held: float = 0.0,
    outside: float = 0.0,
    wake: float = 0.0,
    after: float = 0.0,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Simulate Poisson ``rate`` into one single-core server with ``service`` then a
    constant ``held`` step, behind a constant ``outside`` delay; return the spec and the
    log (``time_app`` is the service step alone, as an instrumented handler would log it).
    A ``wake`` is the server's constant ``wake_up`` after ``after`` idle, before the
    handler starts."""
    steps: list[dict[str, Any]] = [{"cpu": service}]
    if held:
        steps.append({"cpu": {"dist": "constant", "value": f"{held * 1e3}ms"}})
    components: dict[str, Any] = {
        "app": {"kind": "app_server", "cores": 1, "workers": 1, "endpoints": {"s": steps}}
    }
    if wake:
        wake_up = {"time": f"{wake * 1e3}ms", "after": f"{after * 1e3}ms"}
        components["app"]["wake_up"] = wake_up
    entry = "app"
    if outside:
        delay = {"delay": {"dist": "constant", "value": f"{outside * 1e3}ms"}}
        components["client"] = {
            "kind": "app_server",
            "workers": 100_000,
            "endpoints": {"s": [delay, {"call": "app.s"}]},
        }
        entry = "client"
    spec = {
        "name": "simulated",
        "workload": {
            "arrival": {"kind": "poisson", "rate": f"{rate}/s"},
            "classes": [{"name": "r", "entry": entry, "endpoint": "s"}],
        },
        "components": components,
        "run": {"requests": requests, "warmup": 0},
    }
    frame = simperf.run(simperf.from_dict(spec), seed=seed).requests.sort_values("start")
    start, end = frame["start"].to_numpy(), frame["end"].to_numpy()
    at_server = start + outside
    previous_end = np.concatenate([[-np.inf], end[:-1]])
    woken = at_server - previous_end >= after if wake else np.zeros(len(frame), bool)
    server_start = np.maximum(at_server, previous_end) + np.where(woken, wake, 0.0)
    log = pd.DataFrame(
        {
            "timestamp": start,
            "latency": frame["latency"].to_numpy(),
            "status": 200,
            "server_start": server_start,
            "server_end": end,
            "time_app": end - server_start - held,
        }
    )
    return spec, log


def held_after_idle(rate: float, seed: int, requests: int = 4000) -> tuple[pd.DataFrame, float]:
    """One worker, exponential 5 ms handler; after a request that found it idle the
    worker is held 2 ms more, after one that waited 0.5 ms (1 ms outside, each way
    half). Returns the log and the mean held gap over all requests."""
    rng = np.random.default_rng(seed)
    sent = np.cumsum(rng.exponential(1 / rate, requests))
    handler = rng.exponential(0.005, requests)
    start, end, gaps = np.empty(requests), np.empty(requests), np.empty(requests)
    free = -np.inf
    for i in range(requests):
        arrive = sent[i] + 0.0005
        idle = arrive >= free
        start[i] = max(arrive, free)
        end[i] = start[i] + handler[i]
        gaps[i] = 0.002 if idle else 0.0005
        free = end[i] + gaps[i]
    log = pd.DataFrame(
        {
            "timestamp": sent,
            "latency": end + 0.0005 - sent,
            "server_start": start,
            "server_end": end,
            "worker": 0,
        }
    )
    return log, float(gaps.mean())


def with_failures(log: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``log`` with a random ``share`` of its rows answered 500 at the end of their
    service (a backend's error, as a proxy reports it): sent and served like the others,
    but with no server-side time logged. Returns the log and which rows failed."""
    failed = np.random.default_rng(seed).random(len(log)) < share
    log = log.astype({"status": object})
    log.loc[failed, "status"] = 500
    log.loc[failed, [c for c in log.columns if c.startswith("time_")]] = np.nan
    return log, failed


def timed_out(log: pd.DataFrame, timeout: float) -> tuple[pd.DataFrame, np.ndarray]:
    """``log`` as a client with ``timeout`` records it: requests slower than ``timeout``
    at the timeout, with no ``time_app``, and no server-side times logged at all.
    Returns that log and which rows timed out."""
    late = log["latency"].to_numpy() > timeout
    log = log.astype({"status": object}).drop(columns=["server_start", "server_end"])
    log.loc[late, ["status", "latency", "time_app"]] = ["timeout", timeout, np.nan]
    return log, late


def timed_out_and_failed(
    rate: float, seed: int, *, requests: int = 2000, failed: float = 0.2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gamma 8 ms (cv 0.5) then 2 ms held at ``rate`` into one worker, no server times;
    the slowest 10% timed out (at the latency they exceeded, no ``time_app``) and a
    random ``failed`` share of the others answered 500 at the end of their service, with
    no ``time_app`` either. Returns that log and the same one with no failures."""
    service = {"dist": "gamma", "mean": "8ms", "cv": 0.5}
    _, log = single_server(rate, service, requests=requests, seed=seed, held=0.002)
    log, late = timed_out(log, float(np.quantile(log["latency"], 0.9)))
    errors = (np.random.default_rng(seed + 1000).random(len(log)) < failed) & ~late
    with_errors = log.copy()
    with_errors.loc[errors, ["status", "time_app"]] = [500, np.nan]
    return with_errors, log


def two_steps(
    rate: float, first: Any, second: Any, *, requests: int, seed: int, timeout: float
) -> pd.DataFrame:
    """Poisson ``rate`` into one FIFO worker whose handler runs two steps, ``time_first``
    then ``time_second`` (frozen scipy distributions), logged as each ends, by a client
    that gives up after ``timeout``: a timed-out row has the latency ``timeout`` and only
    the steps that ended before it (the worker still serves it to the end)."""
    rng = np.random.default_rng(seed)
    sent = np.cumsum(rng.exponential(1 / rate, requests))
    a, b = first.rvs(requests, random_state=rng), second.rvs(requests, random_state=rng)
    start = np.empty(requests)
    free = -np.inf
    for i in range(requests):
        start[i] = max(sent[i], free)
        free = start[i] + a[i] + b[i]
    latency = (start - sent) + a + b  # so that no rounding makes a + b exceed it
    late = latency > timeout
    return pd.DataFrame(
        {
            "timestamp": sent,
            "latency": np.where(late, timeout, latency),
            "status": np.where(late, "timeout", "ok"),
            "time_first": np.where(start + a <= sent + timeout, a, np.nan),
            "time_second": np.where(late, np.nan, b),
        }
    )


def cut_short(
    rate: float, service: Any, hazard: float, *, requests: int, seed: int
) -> pd.DataFrame:
    """Poisson ``rate`` into one FIFO worker whose handler runs ``service`` (a frozen
    scipy distribution), logged as ``time_app``, unless an error comes first: at a
    constant ``hazard`` per second of service, independent of the service time. A
    request the error cuts short answers 500 at once, its ``time_app`` empty and its
    handler's span logged (the worker is free from then on)."""
    rng = np.random.default_rng(seed)
    sent = np.cumsum(rng.exponential(1 / rate, requests))
    work = service.rvs(requests, random_state=rng)
    error = rng.exponential(1 / hazard, requests)
    failed = error < work
    span = np.where(failed, error, work)
    start = np.empty(requests)
    free = -np.inf
    for i in range(requests):
        start[i] = max(sent[i], free)
        free = start[i] + span[i]
    return pd.DataFrame(
        {
            "timestamp": sent,
            "latency": start + span - sent,
            "status": np.where(failed, 500, 200),
            "server_start": start,
            "server_end": start + span,
            "time_app": np.where(failed, np.nan, work),
        }
    )


def behind_a_failed_request() -> pd.DataFrame:
    """One worker, no server times, a request a second: one ends at 40.010, a failed one
    (a 500) sent at 40.011 ends at 40.021, and one sent at 40.015 timed out after 30 ms,
    having waited 6 ms behind the failed one (its service exceeded 24 ms)."""
    service = np.random.default_rng(1).exponential(0.010, 40)
    return pd.DataFrame(
        {
            "timestamp": [*np.arange(40.0), 40.0, 40.011, 40.015],
            "latency": [*service, 0.010, 0.010, 0.030],
            "status": [*[200] * 41, 500, "timeout"],
            "time_app": [*service, 0.010, np.nan, np.nan],
        }
    )

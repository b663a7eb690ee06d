"""Per-request overhead: latency not spent in the logged components.

The overhead is split in two, because they act differently under load:

* **held**: work the worker does for a request besides its components (accepting the
  connection, parsing, writing the response, the framework's own code). It queues like
  service time.
* **outside**: time the worker is free for others (the client, the loopback, the
  kernel). It adds a constant to every latency and does not queue.

With the handler's start and end times in the log, *held* is measured directly: the
handler's time not in components, plus the gap between a worker finishing one request
and starting the next when that next one was already waiting. *Outside* is what is left
of the latency of requests that found their worker idle. Without them, the whole
overhead is taken as held and found from the mean latency by the Pollaczek-Khinchine
formula (an M/G/1 queue, so single-worker servers only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from simperf.analysis.queueing import mg1

# Fewer waiting successors than this and the gap between requests is not measured well
# enough; the held overhead then comes from the mean latency instead.
MIN_GAPS = 20


@dataclass(frozen=True)
class Overhead:
    """The overhead of one load level (seconds).

    Attributes
    ----------
    held, held_se
        Held by the worker per request, and its standard error.
    outside, outside_se
        Added outside the worker per request, and its standard error.
    method
        ``server times`` (measured) or ``mean latency`` (solved from P-K).
    """

    held: float
    held_se: float
    outside: float
    outside_se: float
    method: str

    @property
    def total(self) -> float:
        return self.held + self.outside


def _se(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")


def overhead(level: pd.DataFrame, components: np.ndarray, rate: float) -> Overhead:
    """The overhead of one load level's requests.

    Parameters
    ----------
    level
        The level's rows of a log read by :func:`~simperf.calibrate.logs.read_log`.
    components
        Each request's summed component time (seconds), aligned with ``level``.
    rate
        The level's arrival rate (for the Pollaczek-Khinchine fallback).
    """
    latency = level["latency"].to_numpy()
    if {"server_start", "server_end"} <= set(level.columns):
        ordered = level.assign(_c=components).sort_values(["worker", "server_start"])
        start = ordered["server_start"].to_numpy()
        end = ordered["server_end"].to_numpy()
        sent = ordered["timestamp"].to_numpy()
        same = ordered["worker"].to_numpy()[1:] == ordered["worker"].to_numpy()[:-1]
        in_handler = np.clip(end - start - ordered["_c"].to_numpy(), 0, None)
        idle = np.concatenate([[True], ~same | (sent[1:] >= end[:-1])])
        beyond = (ordered["latency"].to_numpy() - (end - start))[idle]
        # A request sent just before its predecessor ended may reach the server after it
        # (the outside time): only those sent earlier than that surely waited. The
        # outside time depends on the gaps, so two passes.
        outside = 0.0
        for _ in range(2):
            waiting = same & (sent[1:] + outside < end[:-1])
            gaps = np.clip(start[1:] - end[:-1], 0, None)[waiting]
            if gaps.size < MIN_GAPS:
                break
            outside = max(float(beyond.mean() - gaps.mean()), 0.0)
        else:
            held = float(in_handler.mean() + gaps.mean())
            held_se = float(np.hypot(_se(in_handler), _se(gaps)))
            return Overhead(held, held_se, outside, _se(beyond), "server times")
    return _from_mean_latency(latency, components, rate)


def _from_mean_latency(latency: np.ndarray, components: np.ndarray, rate: float) -> Overhead:
    """The constant held time ``h`` for which an M/G/1 queue with service ``C + h`` has
    the measured mean latency (0 if the components alone already explain it)."""
    target = float(latency.mean())
    c1, c2 = float(components.mean()), float(np.mean(components**2))

    def excess(h: float) -> float:
        mean = c1 + h
        return mg1(rate, mean, c2 + 2 * h * c1 + h * h - mean * mean).mean_sojourn - target

    top = (1 - 1e-9) / rate - c1 if rate > 0 else target
    if top <= 0 or excess(0.0) >= 0:
        held = 0.0
    else:
        held = float(optimize.brentq(excess, 0.0, top)) if excess(top) > 0 else top
    se = _se(latency)
    return Overhead(held, se, 0.0, 0.0, "mean latency")


def load_dependence(utilisation: np.ndarray, held: np.ndarray) -> tuple[float, float, float]:
    """Least-squares line ``held = intercept + slope * utilisation`` over load levels.

    Returns ``(intercept, slope, slope_se)``; the slope is NaN with fewer than two levels
    and its error NaN with fewer than three.
    """
    u, h = np.asarray(utilisation, float), np.asarray(held, float)
    if u.size < 2 or np.ptp(u) == 0:
        return float(h.mean()), float("nan"), float("nan")
    slope, intercept = np.polyfit(u, h, 1)
    if u.size < 3:
        return float(intercept), float(slope), float("nan")
    residual = h - (intercept + slope * u)
    s2 = float(residual @ residual) / (u.size - 2)
    return float(intercept), float(slope), float(np.sqrt(s2 / ((u - u.mean()) ** 2).sum()))

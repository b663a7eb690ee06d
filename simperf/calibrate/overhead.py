"""Per-request overhead: latency not spent in the logged components.

The overhead is split in two, because they act differently under load:

* **held**: work the worker does for a request besides its components (accepting the
  connection, parsing, writing the response, the framework's own code). It queues like
  service time.
* **outside**: time the worker is free for others (the client, the loopback, the
  kernel). It adds a constant to every latency and does not queue.

With the handler's start and end times in the log, *held* is measured directly: the
handler's time not in components, plus the gap between a worker finishing one request
and starting the next when that next one was already waiting. That gap is seen only
after requests whose successor waited, and which those are depends on the load: at low
load mostly long requests that found the worker idle, at high load nearly all. The gap
is therefore averaged per stratum of the preceding request (found the worker idle or
not, by tercile of its handler time) and the strata weighted by their share of all
the level's requests (:func:`stratified_mean`), so that the held overhead is the mean
over every request at any load. *Outside* is what is left
of the latency of requests that found their worker idle. Without them, the whole
overhead is taken as held and found from the mean latency by the Pollaczek-Khinchine
formula (an M/G/1 queue, so single-worker servers only).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import optimize

from simperf.analysis.queueing import mg1

# Fewer waiting successors than this and the gap between requests is not measured well
# enough; the held overhead then comes from the mean latency instead.
MIN_GAPS = 20
# A stratum with fewer gaps than this is left out of the stratified mean (its weight
# goes to the others).
MIN_STRATUM = 5
# Strata of the preceding request's handler time (quantile bins over the level).
DURATION_BINS = 3


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
    wake, wake_se, wake_after
        The wake-up: extra time before the handler starts, paid by a request that
        reaches a worker idle for at least ``wake_after`` (sent that long, less the
        outside time, after the worker's last request ended); 0, NaN, NaN when none is
        found (see :func:`wake_up`).
    woken
        Fraction of the level's requests that paid it.
    """

    held: float
    held_se: float
    outside: float
    outside_se: float
    method: str
    wake: float = 0.0
    wake_se: float = float("nan")
    wake_after: float = float("nan")
    woken: float = 0.0

    @property
    def total(self) -> float:
        return self.held + self.outside


def _se(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")


def overhead(
    level: pd.DataFrame,
    components: np.ndarray,
    rate: float,
    handled: pd.DataFrame | None = None,
) -> Overhead:
    """The overhead of one load level's requests.

    Parameters
    ----------
    level
        The level's rows of a log read by :func:`~simperf.calibrate.logs.read_log`.
    components
        Each request's summed component time (seconds), aligned with ``level``.
    rate
        The level's arrival rate (for the Pollaczek-Khinchine fallback).
    handled
        The level's failed (or timed-out) requests whose handler's start and end are
        logged (``timestamp``, ``worker``, ``server_start``, ``server_end``): they held
        their worker too, so a request sent during one of them waited, and the gaps
        before and after them are the worker's; their own latencies and handler times
        (an error's) are no successful request's and are not measured.
    """
    latency = level["latency"].to_numpy()
    if {"server_start", "server_end"} <= set(level.columns):
        frame = level.assign(_c=components, _ok=True)
        if handled is not None and not handled.empty:
            columns = ["timestamp", "latency", "worker", "server_start", "server_end"]
            others = handled[columns].assign(_c=np.nan, _ok=False)
            frame = pd.concat([frame, others], ignore_index=True)
        ordered = frame.sort_values(["worker", "server_start"], kind="stable")
        ok = ordered["_ok"].to_numpy(bool)
        start = ordered["server_start"].to_numpy()
        end = ordered["server_end"].to_numpy()
        sent = ordered["timestamp"].to_numpy()
        same = ordered["worker"].to_numpy()[1:] == ordered["worker"].to_numpy()[:-1]
        in_handler = np.clip(end - start - ordered["_c"].to_numpy(), 0, None)[ok]
        idle = np.concatenate([[True], ~same | (sent[1:] >= end[:-1])])
        beyond = (ordered["latency"].to_numpy() - (end - start))[idle & ok]
        # how long each idle arrival's worker had been idle (the first: for ever)
        slept = np.concatenate([[np.inf], np.where(same, sent[1:] - end[:-1], np.inf)])
        slept = slept[idle & ok]
        wake = wake_up(slept, beyond)
        # the outside time is that of the idle arrivals that did not pay a wake-up
        unwoken = beyond if wake is None else beyond[slept < wake[2]]
        # A request sent just before its predecessor ended may reach the server after it
        # (the outside time): only those sent earlier than that surely waited. The
        # outside time depends on the gaps, so two passes. Each gap belongs to the
        # request before it, and is stratified by that request.
        strata = _strata(idle, end - start)
        outside = 0.0
        for _ in range(2):
            waiting = same & (sent[1:] + outside < end[:-1])
            gaps = np.clip(start[1:] - end[:-1], 0, None)[waiting]
            if gaps.size < MIN_GAPS:
                break
            gap, gap_se = stratified_mean(gaps, strata[:-1][waiting], strata)
            if not np.isfinite(gap):  # no stratum had enough gaps
                gap, gap_se = float(gaps.mean()), _se(gaps)
            outside = max(float(unwoken.mean() - gap), 0.0)
        else:
            held = float(in_handler.mean() + gap)
            held_se = float(np.hypot(_se(in_handler), gap_se))
            cost = Overhead(held, held_se, outside, _se(unwoken), "server times")
            if wake is None:
                return cost
            woken = float(np.sum(slept >= wake[2]) / len(level))
            # the worker's idle time when the request reaches it: the outside time later
            after = wake[2] + outside
            return replace(cost, wake=wake[0], wake_se=wake[1], wake_after=after, woken=woken)
    return _from_mean_latency(latency, components, rate)


def stratified_mean(
    values: np.ndarray, strata: np.ndarray, population: np.ndarray
) -> tuple[float, float]:
    """The mean of ``values`` over a population they over- or under-sample.

    Each stratum's mean of ``values`` is weighted by the stratum's share of
    ``population``; strata with fewer than ``MIN_STRATUM`` values are left out and the
    weights of the others renormalised.

    Parameters
    ----------
    values
        The observations.
    strata
        Each observation's stratum label, aligned with ``values``.
    population
        The stratum label of every member of the population (the observed and the rest).

    Returns
    -------
    tuple
        ``(mean, standard error)``; ``(nan, nan)`` when no stratum has enough values.
    """
    labels, counts = np.unique(population, return_counts=True)
    share = dict(zip(labels.tolist(), (counts / counts.sum()).tolist(), strict=True))
    means, variances, weights = [], [], []
    for label in np.unique(strata):
        chosen = values[strata == label]
        if chosen.size < MIN_STRATUM or label not in share:
            continue
        means.append(chosen.mean())
        variances.append(chosen.var(ddof=1) / chosen.size)
        weights.append(share[label])
    if not weights:
        return float("nan"), float("nan")
    w = np.array(weights) / np.sum(weights)
    return float(w @ np.array(means)), float(np.sqrt(w**2 @ np.array(variances)))


def _strata(idle: np.ndarray, handler: np.ndarray) -> np.ndarray:
    """Each request's stratum: found its worker idle or not, by its handler time's
    quantile bin."""
    edges = np.quantile(handler, np.linspace(0, 1, DURATION_BINS + 1)[1:-1])
    return idle.astype(int) * DURATION_BINS + np.searchsorted(edges, handler, side="right")


def wake_up(slept: np.ndarray, beyond: np.ndarray) -> tuple[float, float, float] | None:
    """The wake-up cost in the latency of requests that found their worker idle.

    A worker that sleeps while idle takes longer to start a request the longer it has
    slept, up to a limit (the real stack: docs/calibration.md). The latency outside
    the handler of the idle arrivals is fitted by a step in the time the worker had
    slept, ``beyond = outside + wake x (slept >= after)``, by least squares over every
    split of the arrivals sorted by that time (each side at least ``MIN_GAPS``).

    Parameters
    ----------
    slept
        Time each idle arrival's worker had been idle (``inf``: never busy before).
    beyond
        Its latency outside the handler (seconds), aligned with ``slept``.

    Returns
    -------
    tuple or None
        ``(wake, standard error, after)``; None when the step is not larger than twice
        its standard error (no wake-up seen) or too few arrivals are on either side.
    """
    order = np.argsort(slept, kind="stable")
    d, b = slept[order], beyond[order]
    n = b.size
    if n < 2 * MIN_GAPS:
        return None
    first, second = np.cumsum(b), np.cumsum(b * b)
    k = np.arange(MIN_GAPS, n - MIN_GAPS + 1)  # the first k do not pay
    # a split between two arrivals that slept equally long is no split
    k = k[d[k - 1] < d[np.minimum(k, n - 1)]]
    if k.size == 0:
        return None
    rest = first[-1] - first[k - 1]
    sse = second[-1] - first[k - 1] ** 2 / k - rest**2 / (n - k)
    split = int(k[np.argmin(sse)])
    free, paid = b[:split], b[split:]
    wake = float(paid.mean() - free.mean())
    se = float(np.hypot(_se(free), _se(paid)))
    if not wake > 2 * se:
        return None
    after = d[split - 1] + (d[split] - d[split - 1]) / 2 if np.isfinite(d[split]) else d[split - 1]
    return wake, se, float(after)


def _from_mean_latency(latency: np.ndarray, components: np.ndarray, rate: float) -> Overhead:
    """The constant held time ``h`` for which an M/G/1 queue with service ``C + h`` has
    the measured mean latency (0 if the components alone already explain it)."""
    c1, c2 = float(components.mean()), float(np.mean(components**2))
    return held_from_mean(float(latency.mean()), _se(latency), c1, c2, rate)


def held_from_mean(target: float, se: float, c1: float, c2: float, rate: float) -> Overhead:
    """The held time ``h`` that gives an M/G/1 queue with service moments ``c1``, ``c2``
    (seconds, seconds², before ``h``) and arrival ``rate`` the mean latency ``target``
    (0 when the service alone reaches it); ``se`` is the target's standard error."""

    def excess(h: float) -> float:
        mean = c1 + h
        # Var[C + h] = Var[C]: 0 for constant times, where rounding gives -1e-21
        variance = max(c2 + 2 * h * c1 + h * h - mean * mean, 0.0)
        return mg1(rate, mean, variance).mean_sojourn - target

    top = (1 - 1e-9) / rate - c1 if rate > 0 else target
    if top <= 0 or excess(0.0) >= 0:
        held = 0.0
    else:
        held = float(optimize.brentq(excess, 0.0, top)) if excess(top) > 0 else top
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

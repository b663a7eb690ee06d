"""``calibrate``: from a request log to a calibrated scenario and how well it predicts."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simperf.calibrate.families import FamilyFit, fit_families
from simperf.calibrate.logs import (
    COMPONENT_PREFIX,
    LogError,
    component_columns,
    has_server_times,
    read_requests,
)
from simperf.calibrate.overhead import Overhead, _se, held_from_mean, load_dependence, overhead
from simperf.calibrate.traffic import Arrivals, arrivals
from simperf.experiment.progress import bar as progress_bar
from simperf.presentation.cells import per_second
from simperf.spec.base import MAX_TIME

PERCENTILES = (50, 95, 99)
# The client front only delays: enough workers that nobody ever waits for one.
CLIENT_WORKERS = 100_000
# A level's latency trend is read off this many consecutive batches of its requests
# (their means are close to independent where a request's latency is not), and only
# with at least MIN_TREND requests.
BATCHES = 10
MIN_TREND = 400
# Without server times and with timed-out requests, the held overhead and the censored
# fits depend on each other: refitted at most this many times, or until the held
# overhead moves less than SETTLED seconds.
PASSES = 8
SETTLED = 1e-6
# The held overhead solved from the mean latency: its standard error from this many
# bootstrap replicates of this many blocks of consecutive requests (held_error).
BOOTSTRAP = 200
BLOCKS = 40
BOOTSTRAP_SEED = 0
# Failed requests' times inferred from their latency are censored (cut short) when
# shorter than the completed requests' at this p-value (one-sided two-sample KS): strict,
# as a full service's exact times taken as censored read the mean high (+1 ms of 8).
SHORTER = 0.001


@dataclass(frozen=True)
class Failures:
    """What one level's failed requests (other than timed out) tell of its service.

    Attributes
    ----------
    served
        Rows with every component's time logged: failed after their full service, their
        times are service samples.
    cut
        Rows with some component times logged and some not (or only the handler's
        span): an error cut their service short. Their logged times are samples; the
        first missing one is censored where the row bounds it (:func:`censoring`).
    censored_values
        The censored values those gave (those of ``inferred`` apart).
    spans
        Rows whose handler's start and end are logged: counted in the worker's
        occupancy when the overhead is measured.
    untimed
        Rows with no server-side time: in the rate, and where their latency is logged
        and the level has timed-out requests, in those requests' waits (:func:`censoring`:
        each held its worker until its send time plus its latency).
    complete, censored
        Each component's sample values and censoring points from them (seconds).
    inferred, inferred_as
        Of the rows without server-side time in a log of one component, those whose
        latency less their wait and the overhead gave a value of its time, and how it
        was fitted: ``"served"`` (a sample: the values were not shorter than the
        completed requests' times, as after a full service) or ``"cut"`` (censored:
        shorter, as where errors cut the service short); ``""`` with none.
    latency, point
        Those rows' latencies and the values of the time they gave (seconds).
    """

    @property
    def inferred_censored(self) -> int:
        """The censored values the rows without server-side time gave."""
        return self.inferred if self.inferred_as == "cut" else 0

    def latencies(self, fits: dict[str, list[FamilyFit]]) -> np.ndarray:
        """The inferred rows' expected latencies had they completed: their latency
        after a full service, and past a cut its expected time past the point too
        (under the component's chosen fit). Failed at random among the requests that
        did not time out, they belong in the level's mean latency as much as the
        completed ones: left out, the timed-out ones weigh too much in it."""
        if self.inferred_as != "cut":
            return self.latency
        (fit,) = fits.values()
        life = _residual_life(fit[0])
        return self.latency + np.array([life(p) for p in self.point])

    served: int
    cut: int
    censored_values: int
    spans: int
    untimed: int
    complete: dict[str, np.ndarray] = field(repr=False)
    censored: dict[str, np.ndarray] = field(repr=False)
    inferred: int = 0
    inferred_as: str = ""
    latency: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    point: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))

    @classmethod
    def none(cls, parts: dict[str, np.ndarray], untimed: int = 0, spans: int = 0) -> Failures:
        empty = {name: np.empty(0) for name in parts}
        return cls(0, 0, 0, spans, untimed, empty, dict(empty))


def failures(
    errors: pd.DataFrame,
    rows: pd.DataFrame,
    parts: dict[str, np.ndarray],
    cost: Overhead,
    late: pd.DataFrame | None = None,
) -> Failures:
    """What a level's failed requests' server-side times tell of each component.

    A failed request's logged component time is a complete value: the component ended,
    its work done, whatever the status. A row with every component's time logged failed
    after its full service: a service sample. A row with some logged and some missing
    (or none logged but the handler's span) was cut short by its error: its first
    missing time, the component that was running, is right-censored where the row
    bounds it, as a timed-out request's (:func:`censoring`, its latency in place of a
    timeout), and the later ones, never started, are left out without bias. Censoring
    assumes the error came independently of how long the service still had to run.

    A row with no server-side time in a log of one component bounds it too: its
    latency less its wait and the overhead is its time if it failed after its full
    service, a lower bound if an error cut it short, and the log cannot say which.
    Taken as censored, a full service's exact time reads as "longer" and the mean comes
    out high; left out, the failed requests are missing from those that completed
    before the timeout, and the timed-out ones weigh too much. So the values are
    compared with the completed requests' times (one-sided two-sample KS): shorter at
    p below :data:`SHORTER` (cut short, or rejected early), they are censored;
    otherwise they are samples. With exponential times the two are alike either way
    (no memory), and the samples read low where errors cut the service short, as the
    completed requests alone did.

    The waits are worked out from the ends of every earlier request of the worker:
    the completed, the other failed (their send time plus latency) and, from ``late``,
    the timed-out ones at their expected latency (:attr:`Imputed.latency`, or the
    latency they exceeded).

    A log with the handler's span alone (no ``time_<name>``) cannot tell a failure
    after its full service from one cut short: those spans are no sample of the
    handler's time, only of its occupancy (:func:`~simperf.calibrate.overhead.overhead`).
    """
    spans = 0
    if has_server_times(errors):
        span = errors[["server_start", "server_end"]].to_numpy()
        spans = int(np.isfinite(span).all(axis=1).sum())
    columns = component_columns(rows)
    if errors.empty or not columns:
        return Failures.none(parts, len(errors) - spans, spans)
    known = np.isfinite(errors[columns].to_numpy(float))
    served = known.all(axis=1)
    span = np.zeros(len(errors), bool)
    if has_server_times(errors):
        span = np.isfinite(errors[["server_start", "server_end"]].to_numpy()).all(axis=1)
    timed = np.isfinite(errors["latency"].to_numpy())
    cut = ~served & (known.any(axis=1) | span) & timed
    # without server times, one component: its latency bounds it as a timed-out row's
    inferred = ~served & ~cut & timed & (len(columns) == 1)
    names = list(parts)
    complete = {
        name: errors[c].to_numpy(float)[served] for name, c in zip(names, columns, strict=True)
    }
    # every request that held the worker besides those censored: its end is known, or
    # (the timed-out) expected
    ahead = [] if late is None or late.empty else [late]
    complete_cut, censored, _, _ = censoring(
        errors[cut], rows, parts, cost, failed=pd.concat([errors[~cut], *ahead])
    )
    complete = {name: np.concatenate([complete[name], complete_cut[name]]) for name in names}
    values = sum(c.size for c in censored.values())
    used, how = 0, ""
    if inferred.any():
        _, _, _, imputed = censoring(
            errors[inferred], rows, parts, cost, failed=pd.concat([errors[~inferred], *ahead])
        )
        (name,) = names
        bounded = imputed.point > 0
        x, latency = imputed.point[bounded], imputed.floor[bounded]
        used = x.size
        if used:
            shorter = (
                stats.ks_2samp(x, parts[name], alternative="greater", method="asymp").pvalue
                < SHORTER
            )
            how = "cut" if shorter else "served"
            if shorter:
                censored[name] = np.concatenate([censored[name], x])
            else:
                complete[name] = np.concatenate([complete[name], x])
    untimed = len(errors) - int(served.sum()) - int(cut.sum())
    return Failures(
        int(served.sum()),
        int(cut.sum()),
        values,
        spans,
        untimed,
        complete,
        censored,
        used,
        how,
        latency if used else np.empty(0),
        x if used else np.empty(0),
    )


@dataclass
class Level:
    """What was measured at one load level."""

    load: float
    requests: int
    arrivals: Arrivals
    fits: dict[str, list[FamilyFit]]
    overhead: Overhead
    workers: int
    latency: np.ndarray = field(repr=False)
    samples: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    growth: float = math.nan
    """Latency gained per second over the level when it grows (a backlog), else NaN."""
    timed_out: int = 0
    """Its timed-out requests (in the rate; their service times censored)."""
    unfitted: int = 0
    """Timed-out requests that miss more than one component's time in a log that does
    not record each component as it ends (:func:`censoring`): no single time is bounded
    by their latency, so their missing times are left out of the fits."""
    beyond: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    """The latency each timed-out request is known to exceed (seconds)."""
    censored: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    """Each component's right-censoring points (seconds): the times timed-out requests
    missed, known only to exceed them; ``samples`` holds its complete values."""
    failed: int = 0
    """Its other failed requests (in the rate; their latencies in no fit)."""
    failures: Failures = field(default_factory=lambda: Failures.none({}))
    """What those failed requests' server-side times gave the fits and the overhead."""

    @property
    def saturated(self) -> bool:
        """The backlog grows over the level, or its service demand reaches its workers."""
        return math.isfinite(self.growth) or self.utilisation >= 1

    @property
    def service(self) -> float:
        """Mean time a worker is held per request (components, held overhead and the
        wake-up times the fraction of requests that paid it)."""
        cost = self.overhead
        components = sum(f[0].params["mean"] for f in self.fits.values())
        return components + cost.held + cost.wake * cost.woken

    @property
    def utilisation(self) -> float:
        return self.arrivals.rate * self.service / self.workers


@dataclass
class Calibration:
    """A calibrated model and the evidence for it.

    Attributes
    ----------
    levels
        One row per load level: requests (completed; ``timed_out`` those that timed
        out and ``failed`` the others that failed, both counted in the rate), rate and
        its interval (``rate_low``, ``rate_high``), dispersion index and its interval
        (and whether Poisson), held and outside overhead with their standard errors,
        the wake-up (its time, standard error, the idle time after which it is paid and
        the fraction of requests that paid it), mean service and utilisation, and how
        the failed requests' server times were used (``failed_served``, ``failed_cut``,
        ``failed_censored``, ``failed_spans``, ``failed_untimed``, and of those
        ``failed_inferred`` whose latency gave their time, fitted as ``inferred_as``:
        :class:`Failures`)
        and ``error_share``, the failed share of every request sent (:func:`error_share`;
        the calibrated scenario fails the base level's, and a warning names a level whose
        share differs beyond chance).
    fits
        One row per (level, component, family, parameter): value, interval, AIC, KS
        distance and p-value, whether the family was chosen, and the complete (``n``)
        and right-censored (``censored``: timed out, or cut short by an error) values
        fitted.
    accuracy
        One row per (level, percentile): measured (NaN past the share of requests
        that completed: only known to exceed the timeout), predicted by the calibrated
        model at the level's rate, and the relative error (empty if not predicted).
    fragment
        The calibrated scenario (plain data, as YAML would hold it), at the base level's
        rate; change ``workload.arrival.rate`` to predict other loads.
    base
        The load level calibrated from (the lowest).
    overhead_trend
        ``(intercept, slope, slope_se)`` of held overhead against utilisation over the
        levels (slope NaN with a single level).
    """

    levels: pd.DataFrame
    fits: pd.DataFrame
    accuracy: pd.DataFrame
    fragment: dict[str, Any]
    base: float
    overhead_trend: tuple[float, float, float]
    failed: int = 0
    samples: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """The base level's complete component times (seconds), those of timed-out requests
    included, for goodness-of-fit figures."""
    candidates: dict[str, list[FamilyFit]] = field(default_factory=dict, repr=False)
    """The base level's fits of each component, the chosen one first."""
    confidence: float = 0.95
    """The level of every interval in ``levels`` and ``fits``."""
    warnings: list[str] = field(default_factory=list)
    """What makes a number above less than it seems: saturated levels, timed-out
    requests (censored, or left out)."""
    censored: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """The base level's right-censoring points of each component (seconds): the times
    its timed-out requests missed, known only to exceed them (empty: none)."""

    def to_yaml(self) -> str:
        """The calibrated scenario as YAML."""
        import yaml

        return yaml.safe_dump(self.fragment, sort_keys=False)

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: _json(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
            ]

        intercept, slope, slope_se = self.overhead_trend
        return {
            "base": self.base,
            "confidence": self.confidence,
            "failed": self.failed,
            "levels": records(self.levels),
            "fits": records(self.fits),
            "accuracy": records(self.accuracy),
            "overhead_trend": {
                "intercept": _json(intercept),
                "slope": _json(slope),
                "slope_se": _json(slope_se),
            },
            "warnings": self.warnings,
            "fragment": self.fragment,
        }

    def summary(self) -> str:
        """The calibration as text (what ``simperf calibrate`` prints)."""
        from simperf.calibrate.text import summary

        return summary(self)


def _json(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _components(level: pd.DataFrame) -> dict[str, np.ndarray]:
    columns = component_columns(level)
    if columns:
        return {c[len(COMPONENT_PREFIX) :]: level[c].to_numpy() for c in columns}
    if has_server_times(level):
        return {"handler": (level["server_end"] - level["server_start"]).to_numpy()}
    raise LogError(
        "log: no server-side times: give time_<component> columns (durations) or "
        "server_start and server_end"
    )


def _level(
    load: float,
    rows: pd.DataFrame,
    late: pd.DataFrame,
    confidence: float,
    errors: pd.DataFrame | None = None,
) -> Level:
    parts = _components(rows)
    errors = late.iloc[:0] if errors is None else errors
    # a timed-out request was sent, and held its worker, like any other; a failed one
    # was sent too: the offered rate counts it (its latency, a failure's, is no
    # successful request's service time and stays out of the fits)
    sent = np.concatenate(
        [rows["timestamp"].to_numpy(), late["timestamp"].to_numpy(), errors["timestamp"].to_numpy()]
    )
    traffic = arrivals(np.sort(sent), confidence)
    if not math.isfinite(traffic.rate):  # no rate: nothing queues, nothing to predict
        raise LogError(
            f"log: load level {load:g} needs requests at two distinct times at least "
            f"(found {len(rows)} request(s), all sent at {rows['timestamp'].iloc[0]:g} s)"
        )
    total = np.sum(list(parts.values()), axis=0)
    workers = int(rows["worker"].nunique())
    # failed and timed-out requests whose handler's span is logged held their worker:
    # left out, a request waiting behind one looks idle and the gap across it looks held
    handled = pd.concat([late, errors], ignore_index=True)
    if has_server_times(handled):
        spans = np.isfinite(handled[["server_start", "server_end"]].to_numpy()).all(axis=1)
        handled = handled[spans]
    else:
        handled = handled.iloc[:0]
    cost = overhead(rows, total, traffic.rate / workers, handled)
    latency = rows["latency"].to_numpy()
    failed = failures(errors, rows, parts, cost, late)
    # without server times the held overhead is solved from the mean latency, which
    # the timed-out requests belong in, each at its expected latency under the fits,
    # and the failed ones whose times were inferred from their latency
    solved = cost.method == "mean latency" and (not late.empty or failed.inferred > 0)

    def fitted(
        complete: dict[str, np.ndarray], censored: dict[str, np.ndarray]
    ) -> dict[str, list[FamilyFit]]:
        # the timed-out requests' values with the failed ones' (service samples, or
        # censored where an error cut the service short)
        return {
            name: fit_families(
                np.concatenate([x, complete[name], failed.complete[name]]),
                confidence,
                np.concatenate([censored[name], failed.censored[name]]),
            )
            for name, x in parts.items()
        }

    complete, censored, unfitted, _ = censoring(late, rows, parts, cost, failed=errors)
    fits = fitted(complete, censored)
    for _ in range(PASSES if solved else 1):
        if not solved and not any(c.size for c in censored.values()):
            break
        # again, with the waits behind timed-out requests from the last fit's times
        complete, censored, unfitted, expected = censoring(late, rows, parts, cost, fits, errors)
        # the failed requests' waits behind the timed-out ones, at their expected ends
        failed = failures(errors, rows, parts, cost, late.assign(latency=expected.latency))
        fits = fitted(complete, censored)
        if not solved:
            break
        every = np.concatenate([latency, expected.latency, failed.latencies(fits)])
        held = cost.held
        moments = _moments(
            parts,
            {k: np.concatenate([v, failed.complete[k]]) for k, v in complete.items()},
            {k: np.concatenate([v, failed.censored[k]]) for k, v in censored.items()},
            fits,
        )
        cost = held_from_mean(float(every.mean()), _se(every), *moments, traffic.rate / workers)
        if abs(cost.held - held) < SETTLED:
            break
    if cost.method == "mean latency":
        sent = len(rows) + len(late) + len(errors)
        cost = replace(
            cost,
            held_se=held_error(
                np.concatenate([rows["timestamp"].to_numpy(), late["timestamp"].to_numpy()]),
                latency,
                total,
                expected if solved and not late.empty else None,
                fits,
                traffic.rate / workers,
                sent,
                cost.held,
            ),
        )
    growth = backlog_growth(
        rows["timestamp"].to_numpy(), latency, rows["worker"].to_numpy(), confidence
    )
    if math.isfinite(growth) and cost.method == "mean latency":
        # the mean latency holds a growing backlog: Pollaczek-Khinchine would fit the
        # held time that puts the utilisation just under 1, whatever the real one
        cost = replace(cost, held=math.nan, held_se=math.nan, method="not fitted: saturated")
    beyond = late["latency"].fillna(float(latency.max())).to_numpy()
    return Level(
        load,
        len(rows),
        traffic,
        fits,
        cost,
        workers,
        latency,
        {
            name: np.concatenate([x, complete[name], failed.complete[name]])
            for name, x in parts.items()
        },
        growth,
        len(late),
        unfitted,
        beyond,
        {name: np.concatenate([c, failed.censored[name]]) for name, c in censored.items()},
        len(errors),
        failed,
    )


def held_error(
    sent: np.ndarray,
    latency: np.ndarray,
    service: np.ndarray,
    imputed: Imputed | None,
    fits: dict[str, list[FamilyFit]],
    rate: float,
    count: int,
    centre: float = 0.0,
) -> float:
    """The standard error of a held overhead solved from the mean latency.

    A bootstrap over blocks of consecutive requests (a queue correlates neighbours'
    latencies): in each of :data:`BOOTSTRAP` replicates :data:`BLOCKS` blocks are
    drawn with replacement, every timed-out request's missing time is drawn anew from
    its chosen fit past its censoring point (:meth:`Imputed.draw`: its expected value
    alone has no spread, and taken as observed it narrowed the error), the rate is
    drawn from its Poisson count, and the held time is solved again
    (:func:`~simperf.calibrate.overhead.held_from_mean`) from the replicate's mean
    latency and service moments. Seeded: the same log gives the same error.

    Parameters
    ----------
    sent
        Send times of the completed requests, then of the timed-out ones.
    latency, service
        The completed requests' latencies and summed component times (seconds).
    imputed
        The timed-out requests' expected latencies (None: none timed out).
    fits
        Each component's fits, the chosen first.
    rate, count
        The rate per worker and the number of requests it was counted from.
    centre
        The held overhead the censoring points were found with.
    """
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    order = np.argsort(sent, kind="stable")
    blocks = np.array_split(np.arange(sent.size), min(BLOCKS, sent.size))

    def solve(chosen: np.ndarray, drawn: float, u: np.ndarray, change: float) -> float:
        every, work = latency, service
        if imputed is not None:
            late, late_work = imputed.draw(fits, u, change)
            every, work = np.concatenate([every, late]), np.concatenate([work, late_work])
        x, c = every[chosen], work[chosen]
        mean, second = float(c.mean()), float(np.mean(c * c))
        return held_from_mean(float(x.mean()), math.nan, mean, second, drawn).held

    late = 0 if imputed is None else imputed.latency.size
    held = np.empty(BOOTSTRAP)
    for b in range(BOOTSTRAP):
        pick = np.concatenate([blocks[k] for k in rng.integers(len(blocks), size=len(blocks))])
        drawn = rate * rng.poisson(count) / count
        u = rng.random(late)
        held[b] = solve(order[pick], drawn, u, 0.0)
        # the censoring points depend on the held overhead, and the imputed latencies
        # on them: solved again as the calibration does, until it settles
        for _ in range(PASSES if imputed is not None else 0):
            again = solve(order[pick], drawn, u, held[b] - centre)
            settled = abs(again - held[b]) < SETTLED
            held[b] = again
            if settled:
                break
    return float(held.std(ddof=1))


def _moments(
    parts: dict[str, np.ndarray],
    complete: dict[str, np.ndarray],
    censored: dict[str, np.ndarray],
    fits: dict[str, list[FamilyFit]],
) -> tuple[float, float]:
    """Mean and second moment of a request's summed component times, the components
    taken as independent: a component with censored values from its chosen fit (its
    complete values lack the slowest), any other from its complete values."""
    mean = variance = 0.0
    for name, x in parts.items():
        fit = fits[name][0]
        if censored[name].size and fit.frozen is not None:
            mean += fit.params["mean"]
            variance += float(fit.frozen.var())
        else:
            sample = np.concatenate([x, complete[name]])
            mean += float(sample.mean())
            variance += float(sample.var())
    return mean, variance + mean * mean


def censoring(
    late: pd.DataFrame,
    rows: pd.DataFrame,
    parts: dict[str, np.ndarray],
    cost: Overhead,
    fits: dict[str, list[FamilyFit]] | None = None,
    failed: pd.DataFrame | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int, Imputed]:
    """What a level's timed-out requests tell of each component's time.

    A timed-out request took longer than its latency ``t`` (the timeout; without one,
    longer than every completed request of the level, as one timeout applies to all).
    A component time it logged is a complete value. When exactly one is missing, that
    one exceeded ``t`` less the time from the send to the handler's start, the held
    overhead, the other components and the time from the handler's end to the
    response, and is right-censored there. The time to the handler's start is
    ``server_start`` less the send time when logged; otherwise the later of the outside
    time before the handler and the end of every earlier request of its worker (FIFO:
    it waited for them). Those ends are ``server_end`` (or the send time plus the
    latency) for completed requests and for the ``failed`` ones (other than timed out:
    they held their worker too; without ``server_end``, the send time plus the latency
    less the time after the handler, none where their latency is not logged); for
    timed-out ones without ``server_end``, their
    start and known times plus their censored time's expected value under ``fits``
    (the first pass's) or, without them, its censoring point (a lower bound, which
    would put the next request's point high). The time after the handler is the
    completed requests' mean of the send time plus the latency less ``server_end``
    (none without server times). With several components missing, none is bounded
    alone, unless the log records each component as it ends: every timed-out row
    logged the first components in column order (the order of the calibrated steps)
    and none after, and some row logged at least one. Then the first missing one was
    running when the request was given up on and is censored there, the time to its
    start being no more than the rest, and the later ones had not started: their
    times, independent of the timeout, are left out without bias. Otherwise the
    request's missing times are left out of the fits (its logged ones are complete
    values) and counted. A point at or below zero says nothing (the request had waited
    longer than its timeout) and is dropped.

    Each timed-out request's expected latency is its time to the handler, the held
    overhead, the time after it and its known component times, plus the bounded missing
    one's censoring point (at least 0) and its expected time past it under ``fits``,
    and the fitted means of the other missing ones; never less than the latency it
    exceeded, and that latency itself without ``fits``.

    Returns
    -------
    tuple
        ``(complete values, censoring points)``, each by component, how many
        timed-out requests bounded none of their missing times, and each timed-out
        request's expected latency (seconds, in the order of ``late``).
    """
    complete = {name: np.empty(0) for name in parts}
    censored = {name: np.empty(0) for name in parts}
    if late.empty:
        empty = np.empty(0)
        return complete, censored, 0, Imputed(empty, empty, empty, empty, [], empty)
    names = list(parts)
    times = _components(late) if component_columns(late) else _handler(late)
    known = np.column_stack([times[name] for name in names])
    finite = np.isfinite(known)
    missing = (~finite).sum(axis=1)
    others = np.where(finite, known, 0.0).sum(axis=1)
    # The one missing time a row bounds: its only one or, in a log that records each
    # component as it ends (every timed-out row logged the first ones in column order
    # and none after, some of them at least one), its first: that one was running when
    # the request was given up on and the later ones had not started, so their missing
    # times say nothing of them and are left out unbiased.
    suffix = bool(np.all(finite[:, :-1] >= finite[:, 1:]))
    partial = (missing > 0) & (missing < len(names))
    sequential = len(names) > 1 and suffix and bool(partial.any())
    bounded = (missing == 1) | (sequential & (missing > 0))
    target = np.argmax(~finite, axis=1)  # the first missing one
    bound = late["latency"].fillna(float(rows["latency"].max())).to_numpy()
    served = has_server_times(rows)
    sent, latency = rows["timestamp"].to_numpy(), rows["latency"].to_numpy()
    back = float(np.mean(sent + latency - rows["server_end"].to_numpy())) if served else 0.0
    back = max(back, 0.0)
    outside = cost.outside if math.isfinite(cost.outside) else 0.0
    held = cost.held if math.isfinite(cost.held) else 0.0
    arrive = max(outside - back, 0.0)
    column = {
        c: late[c].to_numpy() if c in late.columns else np.full(len(late), np.nan)
        for c in ("server_start", "server_end")
    }
    ends = rows["server_end"].to_numpy() if served else sent + latency
    workers = rows["worker"].to_numpy()
    if failed is not None and not failed.empty:
        # a failed request held its worker until its handler ended: a request sent
        # meanwhile waited for it (left out, that wait was taken for service)
        end = failed["timestamp"].to_numpy() + failed["latency"].to_numpy() - back
        if "server_end" in failed.columns:
            logged = failed["server_end"].to_numpy(float)
            end = np.where(np.isfinite(logged), logged, end)
        held_by = np.isfinite(end)
        sent = np.concatenate([sent, failed["timestamp"].to_numpy()[held_by]])
        ends = np.concatenate([ends, end[held_by]])
        workers = np.concatenate([workers, failed["worker"].to_numpy()[held_by]])
    done = sent.size
    # every request in send order (completed and failed first at a tie), per worker
    order = np.lexsort(
        (np.arange(done + len(late)), np.concatenate([sent, late["timestamp"].to_numpy()]))
    )
    workers = np.concatenate([workers, late["worker"].to_numpy()])
    free: dict[Any, float] = {}
    point = np.empty(len(late))
    expected = bound.copy()
    service = np.zeros(len(late))
    excess = np.zeros(len(late))
    lives = {name: _residual_life(fit[0]) for name, fit in (fits or {}).items()}
    for index in order:
        worker = workers[index]
        if index < done:
            free[worker] = max(free.get(worker, -math.inf), ends[index])
            continue
        i = index - done
        ts = float(late["timestamp"].iat[i])
        before = max(arrive, free.get(worker, -math.inf) - ts)
        if math.isfinite(column["server_start"][i]):
            before = max(float(column["server_start"][i]) - ts, 0.0)
        point[i] = bound[i] - before - held - back - others[i]
        # the expected times of the missing components past the one bounded (all of
        # them when none is)
        unbounded = [k for k in np.flatnonzero(~finite[i]) if not (bounded[i] and k == target[i])]
        later = sum(fits[names[k]][0].params["mean"] for k in unbounded) if fits else 0.0
        if fits is not None:
            rest = later
            if bounded[i]:
                excess[i] = max(point[i], 0.0) + lives[names[target[i]]](max(point[i], 0.0))
                rest += excess[i]
            expected[i] = max(bound[i], before + held + back + others[i] + rest)
            service[i] = others[i] + rest
        end = column["server_end"][i]
        if not math.isfinite(end):
            rest = point[i]
            if fits is not None and bounded[i] and point[i] > 0:
                rest += lives[names[target[i]]](point[i]) + later
            end = ts + before + others[i] + held + max(rest, 0.0)
        free[worker] = max(free.get(worker, -math.inf), float(end))
    for k, name in enumerate(names):
        complete[name] = known[finite[:, k], k]
        points = point[bounded & (target == k)]
        censored[name] = points[points > 0]
    imputed = Imputed(
        expected,
        service,
        excess,
        np.where(bounded, np.clip(point, 0.0, None), np.nan),
        [names[target[i]] if bounded[i] else None for i in range(len(late))],
        bound,
    )
    return complete, censored, int(((missing > 1) & ~bounded).sum()), imputed


@dataclass(frozen=True)
class Imputed:
    """The timed-out requests' expected latencies and what they are made of (seconds,
    in the order of the requests; :func:`censoring`).

    Attributes
    ----------
    latency
        The expected latency (at least ``floor``, the latency it exceeded).
    service
        The expected summed component time.
    excess
        The bounded missing time's expected value, in both (0: none bounded).
    point, component
        That time's censoring point (at least 0; NaN: none) and its component (None).
    floor
        The latency the request is known to have exceeded.
    """

    latency: np.ndarray
    service: np.ndarray
    excess: np.ndarray
    point: np.ndarray
    component: list[str | None]
    floor: np.ndarray

    def draw(
        self, fits: dict[str, list[FamilyFit]], u: np.ndarray, held: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """One stochastic imputation: each bounded missing time drawn (by inversion of
        the uniforms ``u``) from its chosen fit past its censoring point instead of its
        expected value, the points moved down by ``held``, a change of the held
        overhead (the time before the missing one grows by it). Returns the latencies
        and the summed component times."""
        drawn = np.zeros(self.latency.size)
        moved = np.zeros(self.latency.size)
        for name in {c for c in self.component if c is not None}:
            frozen = fits[name][0].frozen
            if frozen is None:  # a constant or the empirical: no spread to draw
                continue
            rows = np.array([c == name for c in self.component])
            point = np.clip(self.point[rows] - held, 0.0, None)
            drawn[rows] = frozen.isf(u[rows] * frozen.sf(point)) - self.excess[rows]
            moved[rows] = self.point[rows] - point
        drawn = np.where(np.isfinite(drawn), drawn, 0.0)
        return np.maximum(self.latency + drawn + moved, self.floor), self.service + drawn


def _residual_life(fit: FamilyFit) -> Callable[[float], float]:
    """The mean time past a point of a value known to exceed it, under ``fit``: the
    area under its survival function past the point over the survival there
    (trapezoids on 4,097 points up to its 1e-9 quantile from the top)."""
    if fit.frozen is None:
        return lambda point: 0.0
    grid = np.linspace(0.0, float(fit.frozen.isf(1e-9)), 4097)
    survival = fit.frozen.sf(grid)
    # the area from each grid point to the top
    area = np.concatenate([np.cumsum((survival[1:] + survival[:-1])[::-1] / 2)[::-1], [0.0]])
    area *= grid[1]

    def life(point: float) -> float:
        there = float(fit.frozen.sf(point))
        return float(np.interp(point, grid, area)) / there if there > 0 else 0.0

    return life


def _handler(late: pd.DataFrame) -> dict[str, np.ndarray]:
    """A timed-out request's handler time: NaN when its start or end is not logged."""
    if not has_server_times(late):
        return {"handler": np.full(len(late), np.nan)}
    return {"handler": (late["server_end"] - late["server_start"]).to_numpy()}


def backlog_growth(
    timestamp: np.ndarray, latency: np.ndarray, worker: np.ndarray, confidence: float
) -> float:
    """The latency gained per second over a level whose backlog grows, else NaN.

    Over a saturated level the queue, and so the latency, grows by ``rho - 1`` seconds
    per second (``rho`` the offered load over the capacity) and, once it has built up,
    no request finds its worker idle; over a stable one it only fluctuates, and requests
    find their worker idle throughout (a share ``1 - rho`` of them for Poisson arrivals
    into one worker). A level grows when all three hold:

    * no request of its second half found its worker idle (sent after every earlier
      request of that worker had its response);
    * the means of :data:`BATCHES` consecutive batches of its latencies, regressed on
      their mean send times, rise with a slope positive at ``confidence`` (one-sided,
      Student's t on the batch means);
    * the latency gained over the level is more than its mean latency (a backlog built
      from empty gains twice its mean).

    The first alone would call a long busy period near saturation growth; the second
    alone, the slow swings of a stable queue's latency at high load (its batch means
    are correlated, so the t test is optimistic).

    Parameters
    ----------
    timestamp, latency, worker
        The level's send times and latencies (seconds), and each request's worker, in
        send order.
    confidence
        Level of the one-sided test.
    """
    n = latency.size
    if n < MIN_TREND:
        return math.nan
    done = pd.Series(timestamp + latency)
    # every earlier response of the same worker in: the running maximum of their ends
    previous = done.groupby(worker).transform(lambda e: e.cummax().shift()).to_numpy()
    idle = ~(timestamp < previous)  # NaN (a worker's first request): idle
    if idle[n // 2 :].any():
        return math.nan
    cuts = np.array_split(np.arange(n), BATCHES)
    x = np.array([timestamp[c].mean() for c in cuts])
    y = np.array([latency[c].mean() for c in cuts])
    if np.ptp(x) == 0:
        return math.nan
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (intercept + slope * x)
    se = math.sqrt(float(residual @ residual) / (BATCHES - 2) / float(((x - x.mean()) ** 2).sum()))
    significant = slope > stats.t.ppf(confidence, BATCHES - 2) * se
    large = slope * float(timestamp[-1] - timestamp[0]) > float(latency.mean())
    return float(slope) if significant and large else math.nan


NEGLIGIBLE = 1e-9
"""A held overhead at or below this (seconds) is the residue of subtracting logged times,
not a step of the handler: no log measures a nanosecond."""


def error_share(level: Level) -> float:
    """The share of the level's requests that failed, the timed-out apart (those are
    slow requests the calibrated model serves to their end)."""
    return level.failed / (level.requests + level.timed_out + level.failed)


def scenario_fragment(
    level: Level, requests: int = 100_000, failures: bool = True
) -> dict[str, Any]:
    """The scenario that level's fits describe: Poisson arrivals at its rate into one app
    server whose workers hold each component's fitted time and the held overhead (and a
    ``wake_up`` when one was found); the outside overhead is a delay in a ``client``
    front that holds nothing.

    With ``failures`` and failed requests in the level, the app's last step calls
    ``failures``, a server that takes no time and holds nothing, with an ``errors``
    fault that fails the level's share of the requests (:func:`error_share`) for the
    whole run: a failed request held its worker for its service, as the calibration
    counts it in the rate and the utilisation, and fails after it. Without
    ``failures`` every request succeeds, with the same latency distribution (what
    :func:`predict` simulates: the failure point changes no success's latency, and
    a fault keeps the run off the fast path)."""
    steps: list[dict[str, Any]] = []
    for fit in level.fits.values():
        steps += [{"cpu": dist} for dist in fit[0].steps()]
    if level.overhead.held > NEGLIGIBLE:
        steps.append({"cpu": {"dist": "constant", "value": _ms(level.overhead.held)}})
    app: dict[str, Any] = {"kind": "app_server", "cores": level.workers, "workers": level.workers}
    if level.overhead.wake > 0:
        wake = {"dist": "constant", "value": _ms(level.overhead.wake)}
        app["wake_up"] = {"time": wake, "after": _ms(level.overhead.wake_after)}
    faults: list[dict[str, Any]] = []
    errors: dict[str, Any] = {}
    if failures and level.failed:
        steps.append({"call": "failures.serve"})
        nothing = {"delay": {"dist": "constant", "value": "0ms"}}
        errors = {
            "failures": {
                "kind": "app_server",
                "workers": CLIENT_WORKERS,
                "endpoints": {"serve": [nothing]},
            }
        }
        share = float(f"{error_share(level):.6g}")
        faults.append(
            {
                "kind": "errors",
                "component": "failures",
                "fraction": share,
                "at": "0s",
                "for": f"{MAX_TIME:g}s",
            }
        )
    components: dict[str, Any] = {"app": {**app, "endpoints": {"serve": steps}}, **errors}
    entry = "app"
    if level.overhead.outside > 0:
        delay = {"delay": {"dist": "constant", "value": _ms(level.overhead.outside)}}
        components = {
            "client": {
                "kind": "app_server",
                "workers": CLIENT_WORKERS,
                "endpoints": {"serve": [delay, {"call": "app.serve"}]},
            },
            **components,
        }
        entry = "client"
    return {
        "name": "calibrated",
        "description": f"calibrated from a request log at {per_second(level.arrivals.rate, '.4g')}",
        "workload": {
            "arrival": {"kind": "poisson", "rate": f"{level.arrivals.rate:.6g}/s"},
            "classes": [{"name": "request", "entry": entry, "endpoint": "serve"}],
        },
        "components": components,
        **({"faults": faults} if faults else {}),
        "run": {"requests": requests, "warmup": "auto"},
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.6g}ms"


def predict(fragment: dict[str, Any], rate: float, seed: int = 1) -> np.ndarray:
    """Latency percentiles (``PERCENTILES``) the calibrated scenario gives at ``rate``."""
    from simperf.experiment.run import run
    from simperf.spec.io import from_dict

    scenario = from_dict(fragment).with_overrides({"workload.arrival.rate": rate})
    requests = run(scenario, seed=seed).requests
    latency = requests.loc[requests["measured"] & (requests["outcome"] == "ok"), "latency"]
    return np.percentile(latency.to_numpy(), PERCENTILES)


def calibrate(
    log: str | Path | pd.DataFrame,
    *,
    base: float | None = None,
    confidence: float = 0.95,
    predict_requests: int | None = 100_000,
    seed: int = 1,
    progress: bool | None = None,
) -> Calibration:
    """Fit a model's inputs to a request log and check it against the log.

    Parameters
    ----------
    log
        CSV path or DataFrame in the format of :mod:`simperf.calibrate.logs`.
    base
        The load level to calibrate from (default: the lowest).
    confidence
        Level of every interval reported.
    predict_requests
        Requests simulated per level to compare percentiles; ``None`` skips it.
    seed
        Seed of those simulations.
    progress
        A bar on stderr counting the levels simulated: None (default) shows it where
        someone watches (a terminal, a notebook), True always, False never.

    Returns
    -------
    Calibration

    Raises
    ------
    LogError
        The log cannot be calibrated from (its message says why).

    Examples
    --------
    >>> import simperf
    >>> cal = simperf.calibrate("requests.csv")  # doctest: +SKIP
    >>> print(cal.summary())  # doctest: +SKIP
    """
    data, late, errors = read_requests(log)
    loads = sorted(data["load"].unique())
    if base is None:
        base = float(loads[0])
    elif base not in loads:
        raise LogError(f"log: load level {base:g} not in the log (levels: {loads})")
    levels = [
        _level(
            float(v),
            data[data["load"] == v],
            late[late["load"] == v],
            confidence,
            errors[errors["load"] == v],
        )
        for v in loads
    ]
    calibrated = next(lv for lv in levels if lv.load == base)
    if not math.isfinite(calibrated.service):
        steady_loads = [f"--base {lv.load:g}" for lv in levels if not lv.saturated]
        instead = (
            f" ({' or '.join(steady_loads)})"
            if steady_loads
            else " (every level of this log is saturated: measure below its lowest rate)"
        )
        raise LogError(
            f"log: load level {base:g} is saturated (its latency grows by "
            f"{calibrated.growth * 1e3:.3g} ms a second): no overhead can be fitted from its "
            f"mean latency; calibrate from a level below saturation{instead}"
        )
    fragment = scenario_fragment(calibrated, predict_requests or 100_000)
    # a saturated level's held overhead, when fitted at all, is not a steady state's
    steady = [lv for lv in levels if not lv.saturated]
    trend = (
        load_dependence(
            np.array([lv.utilisation for lv in steady]),
            np.array([lv.overhead.held for lv in steady]),
        )
        if steady
        else (math.nan, math.nan, math.nan)
    )
    plain = scenario_fragment(calibrated, predict_requests or 100_000, failures=False)
    accuracy = _accuracy(levels if predict_requests else [], calibrated, plain, seed, progress)
    return Calibration(
        _levels_frame(levels),
        _fits_frame(levels),
        accuracy,
        fragment,
        float(base),
        trend,
        int(data.attrs.get("failed", 0)),
        calibrated.samples,
        calibrated.fits,
        confidence,
        _warnings(levels, calibrated, confidence),
        calibrated.censored,
    )


def _warnings(levels: list[Level], calibrated: Level, confidence: float = 0.95) -> list[str]:
    """A line per saturated level, saying what to do, per level the calibrated model
    saturates at, per level with timed-out requests, saying how they were fitted, and
    per level whose error share differs from the base level's (:func:`shares_differ`)."""
    out = []
    capacity = calibrated.workers / calibrated.service
    differ = shares_differ(levels, calibrated, confidence)
    # with several levels compared, the confidence is that of the whole list
    compared = f" over the {len(levels) - 1} levels compared (Holm)" if len(levels) > 2 else ""
    for lv, differs in zip(levels, differ, strict=True):
        if lv.saturated:
            why = (
                f"its latency grows by {lv.growth * 1e3:.3g} ms a second (a backlog)"
                if math.isfinite(lv.growth)
                else f"its utilisation is {lv.utilisation:.2f}"
            )
            unfitted = "" if math.isfinite(lv.overhead.held) else ", nor fitted from its mean"
            out.append(
                f"load {lv.load:g}: saturated: {why}; its latencies are no steady state's, "
                f"so nothing is predicted there and its overhead is left out of the trend"
                f"{unfitted}. It offered {per_second(lv.arrivals.rate, '.4g')} and the "
                f"model calibrated at load {calibrated.load:g} serves at most "
                f"{per_second(capacity, '.4g')}: leave load {lv.load:g} out of the log "
                f"(nothing else is fitted from it), or measure it again below "
                f"{per_second(capacity, '.4g')} to have it predicted"
            )
        elif lv.arrivals.rate / capacity >= 1:
            out.append(
                f"load {lv.load:g}: not saturated in the log, but the model calibrated at "
                f"load {calibrated.load:g} serves at most {per_second(capacity, '.4g')} and it "
                f"offered {per_second(lv.arrivals.rate, '.4g')}: nothing is predicted there; "
                f"the worker's time per request was shorter at this load "
                f"({lv.service * 1e3:.3f} ms against {calibrated.service * 1e3:.3f} ms; see the "
                "held overhead's trend)"
            )
        if lv.timed_out:
            total = lv.timed_out + lv.requests
            censored = sum(f[0].censored for f in lv.fits.values())
            censored -= lv.failures.censored_values + lv.failures.inferred_censored
            line = (
                f"load {lv.load:g}: {lv.timed_out} of {total} requests "
                f"({lv.timed_out / total:.1%}) timed out: each is counted in the rate and "
                "its missing service time fitted as censored (longer than its latency less "
                f"the rest of it; {censored} censored value(s))"
            )
            if lv.unfitted:
                line += (
                    f"; {lv.unfitted} missed several components' times and are left out, "
                    "so the fitted times are biased low"
                )
            out.append(
                line + "; its measured percentiles past the share that completed are "
                "only known to exceed the timeout (-)"
            )
        if differs:
            fraction = (
                "set its errors fault's fraction to"
                if calibrated.failed
                else "add an errors fault failing a fraction"
            )
            out.append(
                f"load {lv.load:g}: {error_share(lv):.2%} of its requests failed (besides "
                f"the timed out) against {error_share(calibrated):.2%} at load "
                f"{calibrated.load:g}, a difference beyond chance at {confidence:.0%}"
                f"{compared}: the "
                f"calibrated scenario fails {error_share(calibrated):.2%} at any rate; to "
                f"model load {lv.load:g}, {fraction} {error_share(lv):.4g} (or calibrate "
                f"with --base {lv.load:g})"
            )
    return out


def share_p(level: Level, base: Level) -> float:
    """The p-value of ``level``'s error share (:func:`error_share`) against ``base``'s:
    a two-sided two-proportion z-test (pooled share; 1 with none failed at both)."""
    n, m = (
        level.requests + level.timed_out + level.failed,
        base.requests + base.timed_out + base.failed,
    )
    pooled = (level.failed + base.failed) / (n + m)
    if pooled in (0.0, 1.0):
        return 1.0
    z = (error_share(level) - error_share(base)) / math.sqrt(
        pooled * (1 - pooled) * (1 / n + 1 / m)
    )
    return float(2 * stats.norm.sf(abs(z)))


def holm(p: np.ndarray, confidence: float) -> np.ndarray:
    """Which of the hypotheses with p-values ``p`` Holm-Bonferroni rejects, the chance
    of rejecting any true one at most ``1 - confidence``: in increasing order the k-th
    smallest (from 0) is rejected while it is at most ``(1 - confidence) / (m - k)``.

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, 0.03]), 0.95).tolist()
    [True, False, False]
    """
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    passed = p[order] <= (1 - confidence) / (p.size - np.arange(p.size))
    # rejected up to the first that is not
    rejected = np.cumprod(passed).astype(bool)
    out = np.zeros(p.size, bool)
    out[order] = rejected
    return out


def shares_differ(levels: list[Level], base: Level, confidence: float) -> list[bool]:
    """Whether each level's error share differs from ``base``'s beyond chance: each by
    :func:`share_p`, the levels other than the base together by :func:`holm`, so that
    with every share the same the chance of any warning is at most ``1 - confidence``
    however many levels (tested each alone, 19 levels of 1,500 requests besides the
    base warned in 39% of 4,000 such logs at 95%; with Holm's, 3.3%). The base is never
    said to differ."""
    others = [lv is not base for lv in levels]
    p = np.array([share_p(lv, base) for lv, other in zip(levels, others, strict=True) if other])
    rejected = iter(holm(p, confidence))
    return [bool(next(rejected)) if other else False for other in others]


def _levels_frame(levels: list[Level]) -> pd.DataFrame:
    rows = [
        {
            "load": lv.load,
            "requests": lv.requests,
            "rate": lv.arrivals.rate,
            "rate_low": lv.arrivals.rate_ci[0],
            "rate_high": lv.arrivals.rate_ci[1],
            "dispersion": lv.arrivals.dispersion,
            "dispersion_low": lv.arrivals.dispersion_ci[0],
            "dispersion_high": lv.arrivals.dispersion_ci[1],
            "poisson": lv.arrivals.poisson,
            "held": lv.overhead.held,
            "held_se": lv.overhead.held_se,
            "outside": lv.overhead.outside,
            "outside_se": lv.overhead.outside_se,
            "wake": lv.overhead.wake,
            "wake_se": lv.overhead.wake_se,
            "wake_after": lv.overhead.wake_after,
            "woken": lv.overhead.woken,
            "overhead_method": lv.overhead.method,
            "service": lv.service,
            "utilisation": lv.utilisation,
            "growth": lv.growth,
            "saturated": lv.saturated,
            "timed_out": lv.timed_out,
            "failed": lv.failed,
            "error_share": error_share(lv),
            "failed_served": lv.failures.served,
            "failed_cut": lv.failures.cut,
            "failed_censored": lv.failures.censored_values,
            "failed_spans": lv.failures.spans,
            "failed_untimed": lv.failures.untimed,
            "failed_inferred": lv.failures.inferred,
            "inferred_as": lv.failures.inferred_as,
        }
        for lv in levels
    ]
    return pd.DataFrame(rows)


def _fits_frame(levels: list[Level]) -> pd.DataFrame:
    rows = []
    for lv in levels:
        for component, fits in lv.fits.items():
            for rank, fit in enumerate(fits):
                for name, value in fit.params.items():
                    low, high = fit.ci[name]
                    rows.append(
                        {
                            "load": lv.load,
                            "component": component,
                            "family": fit.family,
                            "chosen": rank == 0,
                            "parameter": name,
                            "value": float(value),
                            "low": float(low),
                            "high": float(high),
                            "aic": fit.aic,
                            "ks": fit.ks,
                            "ks_p": fit.ks_p,
                            "n": fit.n,
                            "censored": fit.censored,
                        }
                    )
    return pd.DataFrame(rows)


def measured_percentiles(latency: np.ndarray, beyond: np.ndarray) -> np.ndarray:
    """The latency percentiles (``PERCENTILES``) of completed requests and timed-out
    ones known to exceed ``beyond``: NaN where a percentile reaches a timed-out one
    (only known to exceed the timeout)."""
    if beyond.size == 0:
        return np.percentile(latency, PERCENTILES)
    every = np.concatenate([latency, beyond])
    values = np.percentile(every, PERCENTILES)
    known = int(np.sum(latency < beyond.min()))
    reach = np.ceil(np.array(PERCENTILES) / 100 * (every.size - 1))
    return np.where(reach < known, values, np.nan)


def _accuracy(
    levels: list[Level],
    calibrated: Level,
    fragment: dict[str, Any],
    seed: int,
    progress: bool | None = None,
) -> pd.DataFrame:
    # the calibrated model's utilisation at a level's rate: past 1 it has no steady
    # state to predict, and a saturated level's percentiles are a growing backlog's
    simulated = [
        lv.arrivals.rate * calibrated.service / calibrated.workers < 1 and not lv.saturated
        for lv in levels
    ]
    rows = []
    predictions = []
    shown = progress if any(simulated) else False  # nothing simulated: no empty bar
    with progress_bar(sum(simulated), "calibrate", shown) as ticks:
        for lv, simulate in zip(levels, simulated, strict=True):
            if simulate:
                ticks.set_postfix_str(f"load {lv.load:g}")  # which level runs now
                predictions.append(predict(fragment, lv.arrivals.rate, seed))
                ticks.update(1)
            else:
                predictions.append(np.full(len(PERCENTILES), np.nan))
    for lv, predicted in zip(levels, predictions, strict=True):
        measured = measured_percentiles(lv.latency, lv.beyond)
        for p, m, s in zip(PERCENTILES, measured, predicted, strict=True):
            rows.append(
                {
                    "load": lv.load,
                    "percentile": f"p{p}",
                    "measured": float(m),
                    "predicted": float(s),
                    "error": float(s / m - 1),
                }
            )
    columns = ["load", "percentile", "measured", "predicted", "error"]
    return pd.DataFrame(rows, columns=columns)

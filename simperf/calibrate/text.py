"""A calibration as text: what ``simperf calibrate`` prints."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from simperf.calibrate.core import Calibration


def _ms(seconds: float) -> str:
    """``1.500 ms``; ``-`` for none. A value that rounds to zero is ``0.000``, not
    ``-0.000`` (a fitted overhead of -1e-15 s is none).

    Examples
    --------
    >>> _ms(0.0015), _ms(-1e-15), _ms(float("nan"))
    ('1.500 ms', '0.000 ms', '-')
    """
    return "-" if not math.isfinite(seconds) else f"{round(seconds * 1e3, 3) + 0.0:.3f} ms"


def summary(cal: Calibration) -> str:
    """Traffic and overhead per level, the chosen fits at the base level, the overhead's
    dependence on load, and predicted against measured percentiles."""
    lines = [f"Calibrated from load level {cal.base:g}"]
    if cal.levels["failed"].sum():
        lines.append(f"  ({_failures(cal)})")
    for fault in cal.fragment.get("faults", []):
        lines.append(
            f"  (errors: the calibrated scenario fails {fault['fraction']:.2%} of its requests "
            f"after their service, the share that failed at load {cal.base:g}: an errors "
            f"fault on {fault['component']}; the predictions are of the successful ones)"
        )
    if cal.warnings:
        lines += ["", "Warnings", *(f"  {w}" for w in cal.warnings)]
    lines += ["", "Traffic and overhead per load level"]
    lines.append(
        f"  {'load':>8} {'requests':>8} {'rate/s':>9} {'dispersion':>10} {'poisson':>7} "
        f"{'held':>10} {'outside':>10} {'util':>5}"
    )
    for row in cal.levels.itertuples():
        lines.append(
            f"  {row.load:>8g} {row.requests:>8d} {row.rate:>9.2f} {row.dispersion:>10.3f} "
            f"{'yes' if row.poisson else 'no':>7} {_ms(row.held):>10} {_ms(row.outside):>10} "
            f"{_util(row.utilisation, row.saturated):>5}"
        )
    if cal.levels["saturated"].any():
        lines.append(
            "  sat: saturated (a growing backlog), its held overhead not fitted; ! after a "
            "utilisation: saturated. Either is not predicted: see Warnings"
        )
    for row in cal.levels.itertuples():
        if row.wake > 0:
            lines.append(
                f"  {row.load:>8g} wake-up {_ms(row.wake)} ± {_ms(row.wake_se)} after "
                f"{_ms(row.wake_after)} idle, paid by {row.woken:.0%} of requests"
            )
    intercept, slope, slope_se = cal.overhead_trend
    if math.isfinite(slope):
        se = f" ± {slope_se * 1e3:.3f}" if math.isfinite(slope_se) else ""
        lines.append(
            f"  held overhead = {_ms(intercept)} {'+' if slope >= 0 else '-'} "
            f"{abs(slope) * 1e3:.3f}{se} ms x utilisation"
        )
    level = f"{cal.confidence * 100:g}%"
    lines += ["", f"Service times at load {cal.base:g} (chosen family by AIC; {level} intervals)"]
    base = cal.fits[(cal.fits["load"] == cal.base) & cal.fits["chosen"]]
    for component, rows in base.groupby("component", sort=False):
        first = rows.iloc[0]
        params = ", ".join(
            f"{r.parameter} {_value(r.parameter, r.value)} "
            f"[{_value(r.parameter, r.low)}, {_value(r.parameter, r.high)}]"
            for r in rows.itertuples()
        )
        censored = f", {first.censored} censored" if first.censored else ""
        lines.append(
            f"  {component}: {first.family} {params}  "
            f"(KS {first.ks:.3f}, p {first.ks_p:.2g}{censored})"
        )
    if not cal.accuracy.empty:
        lines += ["", "Predicted against measured latency"]
        lines.append(f"  {'load':>8} {'pct':>4} {'measured':>12} {'predicted':>12} {'error':>7}")
        for row in cal.accuracy.itertuples():
            error = "-" if not math.isfinite(row.error) else f"{row.error:+.1%}"
            lines.append(
                f"  {row.load:>8g} {row.percentile:>4} {_ms(row.measured):>12} "
                f"{_ms(row.predicted):>12} {error:>7}"
            )
    return "\n".join(lines)


def _failures(cal: Calibration) -> str:
    """How many failed requests were used, and how: their latencies in no fit, their
    server-side times as measurements of their service or of their worker's time."""
    n = {c: int(cal.levels[c].sum()) for c in cal.levels.columns if c.startswith("failed")}
    fitted = n["failed_served"] + n["failed_cut"]
    kinds = [
        (n["failed_served"], "failed after their full service: service samples"),
        (n["failed_cut"], f"cut short: {n['failed_censored']} censored value(s)"),
        (
            n["failed_spans"] if not fitted else 0,
            "with the handler's span alone (full or cut short, unknown): not fitted",
        ),
        (n["failed_untimed"], _untimed(cal.levels, n["failed_untimed"]) + _inferred(cal.levels)),
    ]
    used = "; ".join(f"{k} {what}" for k, what in kinds if k > 0)
    spans = (
        f"; the handler spans of {n['failed_spans']} counted in their worker's time"
        if n["failed_spans"]
        else ""
    )
    return (
        f"{n['failed']} failed requests besides the timed out: counted in the rate"
        f"{'' if n['failed_inferred'] else ', their latencies in no fit'}; {used}{spans}"
    )


def _untimed(levels: pd.DataFrame, untimed: int) -> str:
    """Where the failed rows without server times count: in the rate, and at a level
    with timed-out requests in their waits too (:func:`simperf.calibrate.core.censoring`
    works a timed-out request's wait out from the ends of its worker's earlier ones)."""
    waited = int(levels.loc[levels["timed_out"] > 0, "failed_untimed"].sum())
    if not waited:
        return "without server times: in the rate" + (
            "" if levels["failed_inferred"].any() else " only"
        )
    where = "" if waited == untimed else f" ({waited} of them, at loads with timeouts)"
    return (
        "without server times: in the rate, and their latency, where logged, in the waits "
        f"of the timed-out requests behind them{where}"
    )


def _inferred(levels: pd.DataFrame) -> str:
    """How the failed rows without server times whose latency gave their time were
    fitted (:func:`simperf.calibrate.core.failures`): samples where those times were no
    shorter than the completed requests', censored where they were."""
    out = []
    for kind, what in (
        ("served", "service samples (no shorter than the completed requests')"),
        ("cut", "censored (shorter than the completed requests': cut short)"),
    ):
        count = int(levels.loc[levels["inferred_as"] == kind, "failed_inferred"].sum())
        if count:
            out.append(f"{count} fitted as {what}")
    if not out:
        return ""
    return "; of them, their latency less their wait and the overhead: " + " and ".join(out)


def _util(utilisation: float, saturated: bool) -> str:
    """The utilisation, ``sat`` for a saturated level whose overhead was not fitted."""
    if not math.isfinite(utilisation):
        return "sat" if saturated else "-"
    return f"{utilisation:.2f}" + ("!" if saturated else "")


def _value(parameter: str, value: float) -> str:
    return f"{value:.3g}" if parameter == "cv" else _ms(value)

"""What a planner must see first in a run: instability, SLO misses, the bottleneck."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simperf.metrics.paths import flatten
from simperf.presentation.cells import verdict_reason
from simperf.spec.slo import unit_parser
from simperf.units import format_time, parse_time

if TYPE_CHECKING:  # pragma: no cover
    from simperf.metrics.result import Result


def bottleneck(result: Result) -> dict[str, Any] | None:
    """The busiest instance (``instance``, ``component``, ``utilization``), or None.

    The instance with the highest utilisation is the one whose queue grows first as
    the load rises, whatever its kind.
    """
    frame = result.components
    if "instance" not in frame or "utilization" not in frame:
        return None
    rows = frame[(frame["instance"] != "all") & frame["utilization"].notna()]
    if rows.empty:
        return None
    top = rows.loc[rows["utilization"].idxmax()]
    return {
        "instance": str(top["instance"]),
        "component": str(top["component"]),
        "utilization": float(top["utilization"]),
    }


def slo_verdicts(result: Result) -> list[tuple[bool, str]]:
    """(met, sentence) for each SLO of the spec, judged on this run's value (no interval)."""
    flat = flatten(result.data)
    out = []
    for slo in result.scenario.slo:
        value = flat.get(slo.metric, float("nan"))
        if value != value:
            out.append((False, f"SLO {slo.describe()}: this run has no value for {slo.metric}"))
            continue
        met = value < slo.target if slo.side == "below" else value > slo.target
        shown = format_time(value) if unit_parser(slo.metric) is parse_time else f"{value:.4g}"
        out.append((met, f"SLO {slo.describe()} {'met' if met else 'missed'}: {shown}"))
    return out


def slo_misses(result: Result) -> list[str]:
    """Each SLO of the spec this run's value misses, as a sentence."""
    return [text for met, text in slo_verdicts(result) if not met]


def warnings(result: Result) -> list[tuple[str, str]]:
    """(level, text) pairs: ``error`` for unstable, ``warning`` for saturated or missed,
    ``info`` for the SLOs met and the bottleneck."""
    out: list[tuple[str, str]] = []
    stab = result.data["stability"]
    if stab["status"] != "stable":
        level = "error" if stab["status"] == "unstable" else "warning"
        reason = verdict_reason(stab)
        out.append((level, f"{stab['status']}: {reason}" if reason else stab["status"]))
    out.extend(("warning", text) for text in slo_misses(result))
    errors = {k: v for k, v in result.data["requests"]["errors"].items() if v}
    if errors:
        parts = ", ".join(f"{k} {v}" for k, v in errors.items())
        out.append(("warning", f"failed requests: {parts}"))
    if result.data["measured_time"] <= 0:
        out.append(("error", "the run ended before the warm-up did: nothing was measured"))
    out.extend(("info", text) for met, text in slo_verdicts(result) if met)
    top = bottleneck(result)
    if top is not None:
        out.append(
            (
                "info",
                f"bottleneck: {top['instance']} at {top['utilization']:.0%} busy "
                "(the first to queue as load grows)",
            )
        )
    return out

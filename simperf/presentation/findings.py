"""What a planner must see first in a run: instability, SLO misses, the bottleneck."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simperf.metrics.paths import flatten
from simperf.presentation.cells import metric_value, slo_text, verdict_reason

if TYPE_CHECKING:  # pragma: no cover
    from simperf.metrics.result import Result


def bottleneck(result: Result) -> dict[str, Any] | None:
    """The first to saturate as the load grows (``instance``, ``component``, ``resource``,
    ``utilization``, ``estimated``), or None.

    The headroom's ``first``: the binding resource (cores, workers, a pool, storage, a
    link's bandwidth) of the component that saturates first, at its busiest instance,
    chosen by the estimate behind a spilling balancer (``estimated``). Without it, the
    instance with the busiest cores.
    """
    first = (result.data.get("headroom") or {}).get("first")
    if first and first.get("instance") and first.get("utilization") is not None:
        return {
            "instance": str(first["instance"]),
            "component": str(first["component"]),
            "resource": str(first["resource"]),
            "utilization": float(first["utilization"]),
            "estimated": first.get("estimated_headroom") is not None,
        }
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
        "resource": "cores",
        "utilization": float(top["utilization"]),
        "estimated": False,
    }


def slo_verdicts(result: Result) -> list[tuple[bool, str]]:
    """(met, sentence) for each SLO of the spec, judged on this run's value (no interval)."""
    flat = flatten(result.data)
    out = []
    for slo in result.scenario.slo:
        value = flat.get(slo.metric, float("nan"))
        if value != value:
            out.append((False, f"SLO {slo_text(slo)}: this run has no value for {slo.metric}"))
            continue
        met = value < slo.target if slo.side == "below" else value > slo.target
        shown = metric_value(slo.metric, value)
        out.append((met, f"SLO {slo_text(slo)} {'met' if met else 'missed'}: {shown}"))
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
        # a resource other than cores is named (the busiest cores may be elsewhere),
        # unless the instance is that resource (a database server's storage)
        named = top["resource"] == "cores" or top["instance"].endswith(f"/{top['resource']}")
        resource = "" if named else f" {top['resource']}"
        how = ", by the estimate" if top["estimated"] else ""
        out.append(
            (
                "info",
                f"bottleneck: {top['instance']}{resource} at {top['utilization']:.0%} busy "
                f"(the first to queue as load grows{how})",
            )
        )
    return out

"""The text summary of a closed-form estimate (:meth:`simperf.estimate.Estimate.summary`).

Presentation only: reads the estimate's plain dict.
"""

from __future__ import annotations

from typing import Any

from simperf.presentation.cells import PER_SECOND, multiple, pct, per_second
from simperf.units import format_time


def render(d: dict[str, Any]) -> str:
    """Classes, components (binding resource, utilisation, headroom), bottleneck, notes."""
    kind = "closed loop, MVA" if d["closed"] else "open loop"
    lines = [
        f"estimate of {d['scenario']} ({kind}, closed forms: nothing simulated)  "
        f"rate {per_second(d['rate'], '.4g')}",  # as the classes' table and the saturation rate
        "",
        f"{'class':<16}{'rate' + PER_SECOND:>10}{'mean':>11}{'p99~':>11}",
    ]
    for name, row in d["classes"].items():
        lines.append(
            f"{name:<16}{row['rate']:>10.4g}{format_time(row['mean']):>11}"
            f"{format_time(row['p99']):>11}"
        )
    lines += ["", f"{'component':<16}{'binding':<14}{'util':>8}{'headroom':>10}"]
    for name, comp in d["components"].items():
        lines.append(
            f"{name:<16}{comp['resource']:<14}{pct(comp['utilization']):>8}"
            f"{multiple(comp['headroom']):>10}"
        )
    neck = d["bottleneck"]
    if neck is not None:
        lines += [
            "",
            f"first to saturate: {neck['component']} {neck['resource']} at "
            f"{multiple(neck['headroom'])} the load ({per_second(neck['saturation_rate'], '.4g')})",
        ]
    notes = d["notes"]
    if notes:
        lines.append("")
        lines += [f"approximate {name}: {text}" for name, texts in notes.items() for text in texts]
    lines.append(d["p99_method"])
    return "\n".join(lines)

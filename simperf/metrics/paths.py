"""Metric paths: a result dictionary's numeric leaves by dotted path (``latency.all.p99``)."""

from __future__ import annotations

from typing import Any

SKIPPED = frozenset({"seed", "replication", "warmup", "end_time"})

TEXT_SECTIONS = frozenset({"stability", "headroom"})
TEXT_LEAVES = frozenset(
    {"component", "instance", "resource", "estimated_resource", "reason", "target"}
)
"""Text fields of those sections (``stability.reason``): names or words, null where there
is none (a stable run blames no component), and never a number."""


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a result dictionary by dotted path (``latency.all.p99``).

    Strings, booleans, private keys (``_perf``) and text fields (:data:`TEXT_LEAVES`),
    null or not, are left out; any other ``None`` (no sample) becomes NaN so that
    statistics skip it.
    """
    flat: dict[str, float] = {}
    for key, value in data.items():
        if key.startswith("_"):
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{path}."))
        elif isinstance(value, bool | str):
            continue
        elif isinstance(value, int | float):
            if not prefix and key in SKIPPED:
                continue
            flat[path] = float(value)
        elif value is None:
            if key in TEXT_LEAVES and path.split(".", 1)[0] in TEXT_SECTIONS:
                continue  # no text, not a number missing
            flat[path] = float("nan")
    return flat

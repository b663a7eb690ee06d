"""Metric paths: a result dictionary's numeric leaves by dotted path (``latency.all.p99``)."""

from __future__ import annotations

from typing import Any

SKIPPED = frozenset({"seed", "replication", "warmup", "end_time"})


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a result dictionary by dotted path (``latency.all.p99``).

    Strings, booleans and private keys (``_perf``) are left out; ``None`` (no sample)
    becomes NaN so that statistics skip it.
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
            flat[path] = float("nan")
    return flat

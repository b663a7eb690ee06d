"""Warnings about valid specs that probably do not mean what they say.

A bare number is a time in seconds. For service times and latencies that is rarely
what was meant: ``cpu: 5`` is five seconds of CPU per request, where ``5ms`` was likely
intended. The rule: a bare number of 1 or more given for a latency-like distribution
(the fields in :data:`LATENCY_FIELDS`, as a constant or as a time parameter of a
distribution) issues a :class:`~simperf.errors.SimperfWarning` naming its path and
suggesting a unit. The spec stays valid; writing the unit (``5s``) silences it. Durations
such as ``run.duration``, ``ttl`` or health-check intervals are not concerned.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from simperf.errors import SimperfWarning
from simperf.spec.distributions import _Distribution

LATENCY_FIELDS = frozenset(
    {
        "cpu",
        "delay",
        "latency",
        "network",
        "per_query",
        "handshake",
        "startup",
        "replication_lag",
        "overhead",
        "jitter",
    }
)
"""Distribution fields that hold service times or latencies (sub-second as a rule)."""
_TIME_PARAMETERS = ("value", "mean", "low", "high", "median", "p99", "values")


def warn_bare_seconds(
    scenario: BaseModel,
    raw: Any,
    locate: Callable[[str], str | None],
    only: set[str] | None = None,
    command: Callable[[str], str | None] | None = None,
) -> None:
    """Warn about each bare number >= 1 s given for a latency-like field.

    Parameters
    ----------
    scenario
        The validated scenario.
    raw
        The plain data it was validated from (numbers as the user wrote them).
    locate
        ``path -> "file:line"`` (or ``None``) to say where each one was written.
    only
        Paths to look under (overrides); ``None`` looks everywhere.
    command
        ``locate`` as the command line words it, where that differs (an override's
        ``--set``): the warning's ``command_line``.
    """
    stack: list[tuple[Any, Any, str, bool]] = [(scenario, raw, "", False)]
    while stack:
        value, data, path, latency = stack.pop()
        if isinstance(value, _Distribution):
            if latency:
                for where in _bare_seconds(data, path):
                    if only is None or any(where.startswith(p) for p in only):
                        said = [locate(where), command(where) if command else None]
                        text = [
                            f"{prefix + ': ' if prefix else ''}{where}: a bare number is "
                            "seconds; write the unit (e.g. 5ms, or 5s if seconds are meant)"
                            for prefix in said
                        ]
                        worded = text[1] if command else None
                        warnings.warn(SimperfWarning(text[0], worded), stacklevel=2)
            continue
        if isinstance(value, BaseModel) and isinstance(data, dict):
            for name, field in type(value).model_fields.items():
                key = field.alias or name
                if key in data:
                    child = f"{path}.{key}" if path else key
                    stack.append((getattr(value, name), data[key], child, key in LATENCY_FIELDS))
        elif isinstance(value, list | tuple) and isinstance(data, list):
            for i, (item, raw_item) in enumerate(zip(value, data, strict=False)):
                stack.append((item, raw_item, f"{path}[{i}]", latency))
        elif isinstance(value, dict) and isinstance(data, dict):
            for key, item in value.items():
                if key in data:
                    stack.append((item, data[key], f"{path}.{key}", latency))


def _bare_seconds(data: Any, path: str) -> list[str]:
    """Paths of the bare numbers >= 1 in a distribution as written."""
    if _is_big_number(data):
        return [path]
    found = []
    if isinstance(data, dict):
        for key in _TIME_PARAMETERS:
            item = data.get(key)
            if _is_big_number(item):
                found.append(f"{path}.{key}")
            elif isinstance(item, list):
                found.extend(f"{path}.{key}[{i}]" for i, v in enumerate(item) if _is_big_number(v))
    return found


def _is_big_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 1

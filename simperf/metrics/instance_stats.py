"""Per-instance and per-component figures between two snapshots: occupancy, counts,
memory, wait percentiles, imbalance, and the routes' and caches' counters."""

from __future__ import annotations

from typing import Any

import numpy as np

from simperf.metrics.percentiles import percentiles
from simperf.metrics.quantiles import StreamingQuantiles
from simperf.metrics.request_stats import clean
from simperf.model import Snapshot

INSTANCE_KEYS = (
    "utilization",
    "mean_queue_length",
    "max_queue_length",
    "mean_wait",
    "mean_service",
    "p_wait",
    "wait_p50",
    "wait_p95",
    "wait_p99",
    "served",
    "rejected",
    "shed",
    "expired",
    "cancelled",
    "memory_utilization",
    "out_of_memory",
    "worker_occupancy",
    "pool_occupancy",
    "pool_wait",
    "pool_timeouts",
    "connection_occupancy",
)


def occupancy(a: dict[str, float], b: dict[str, float], span: float) -> dict[str, Any]:
    """Worker and connection-pool occupancy (time-weighted in use / size), where held.

    ``pool_wait`` is the mean wait of the acquisitions granted in the span.
    """
    out: dict[str, Any] = {}
    if "worker_area" in b:
        area = b["worker_area"] - a["worker_area"]
        out["workers"] = int(b["workers"])
        out["worker_occupancy"] = clean(area / (b["workers"] * span)) if span > 0 else None
        out["worker_area"] = area
    if "pool_area" in b:
        area = b["pool_area"] - a["pool_area"]
        acquired = int(b["pool_acquired"] - a["pool_acquired"])
        wait_total = b["pool_wait_sum"] - a["pool_wait_sum"]
        out["pool_size"] = int(b["pool_size"])
        # none where the database accepted none of its connections: nothing to be busy
        out["pool_occupancy"] = (
            clean(area / (b["pool_size"] * span)) if span > 0 and b["pool_size"] else None
        )
        out["pool_wait"] = clean(wait_total / acquired) if acquired else None
        out["pool_acquired"] = acquired
        out["pool_timeouts"] = int(b["pool_timeouts"] - a["pool_timeouts"])
        unsent = int(b["pool_unsent"] - a["pool_unsent"])
        if unsent:  # a repeated query's rest, after one timed out or was dropped
            out["pool_unsent"] = unsent
        refused = int(b["pool_refused"] - a["pool_refused"])
        if refused:  # taken beyond what the database accepted: offered, not served
            out["pool_refused"] = refused
        if "pool_expired" in b:  # pool.drop_expired
            out["pool_expired"] = int(b["pool_expired"] - a["pool_expired"])
        out["pool_area"] = area
        out["pool_wait_total"] = wait_total
    return out


def connections(a: dict[str, float], b: dict[str, float], span: float) -> dict[str, Any]:
    """A database server's connections opened per query (no pool), where it opened or
    refused any: ``connection_occupancy``, the time-weighted connections in use over
    the ``connections`` its ``max_connections`` leaves past the pools' (refused beyond
    them: ``rejected``), a resource as a pool is (headroom, the verdict)."""
    if "connection_area" not in b:
        return {}
    if b["opened"] - a["opened"] == 0 and b["rejected"] - a["rejected"] == 0:
        return {}
    area = b["connection_area"] - a["connection_area"]
    limit = int(b["connections"])
    return {
        "connections": limit,
        "connection_area": area,
        "connection_occupancy": clean(area / (limit * span)) if limit and span > 0 else None,
    }


def occupancy_total(rows: list[dict[str, Any]], span: float) -> dict[str, Any]:
    """A component's worker, pool and per-query connection occupancy over its instances
    (none if not held)."""
    out: dict[str, Any] = {}
    held = [r for r in rows if "worker_area" in r]
    if held:
        workers = sum(r["workers"] * r.get("provisioned_time", span) for r in held)
        area = sum(r["worker_area"] for r in held)
        out["worker_occupancy"] = clean(area / workers) if workers > 0 else None
    pooled = [r for r in rows if "pool_area" in r]
    if pooled:
        size = sum(r["pool_size"] for r in pooled)
        acquired = sum(r["pool_acquired"] for r in pooled)
        area = sum(r["pool_area"] for r in pooled)
        out["pool_occupancy"] = clean(area / (size * span)) if span > 0 and size else None
        out["pool_wait"] = (
            clean(sum(r["pool_wait_total"] for r in pooled) / acquired) if acquired else None
        )
        out["pool_timeouts"] = sum(r["pool_timeouts"] for r in pooled)
    opened = [r for r in rows if "connection_area" in r]  # a database's servers, per query
    if opened:
        limit = sum(r["connections"] for r in opened)
        area = sum(r["connection_area"] for r in opened)
        out["connection_occupancy"] = clean(area / (limit * span)) if span > 0 and limit else None
    return out


def instance_counts(a: Snapshot, b: Snapshot, span: float) -> list[tuple[Any, ...]]:
    """Autoscaled servers' mean instances provisioned (``instances``) and in service
    (``serving``) in the window from ``a`` to ``b``, and what the instances provisioned
    cost per hour there (``cost_per_hour``, where an instance has a price)."""
    records: list[tuple[Any, ...]] = []
    for key, counters in b.components.items():
        if not key.startswith("autoscaling.") or key not in a.components:
            continue
        before = a.components[key]
        name = key.removeprefix("autoscaling.")
        for metric, area in (("instances", "provisioned_area"), ("serving", "serving_area")):
            records.append((a.time, b.time, name, metric, (counters[area] - before[area]) / span))
        price = counters.get("per_instance_hour")
        if price is not None:
            mean = (counters["provisioned_area"] - before["provisioned_area"]) / span
            records.append((a.time, b.time, name, "cost_per_hour", mean * price))
    return records


def merged(sketches: list[StreamingQuantiles | None]) -> StreamingQuantiles | None:
    """One sketch of the folded waits of several instances (None if none folded)."""
    held = [s for s in sketches if s is not None]
    if not held:
        return None
    out = StreamingQuantiles()
    for sketch in held:
        out.merge(sketch)
    return out


def wait_percentiles(
    waits: np.ndarray, served: int, folded: StreamingQuantiles | None = None
) -> dict[str, Any]:
    """P(wait) and percentiles of the waiting time of ``served`` requests.

    Parameters
    ----------
    waits
        The waits of the requests that found no free slot (a wait of 0 still counts:
        the request queued for a slot freed at the same instant).
    served
        Requests served over the same period, waiting or not.
    folded
        A sketch of further waits (those folded past ``run.keep_requests``, see
        :mod:`simperf.metrics.waits`): percentiles are then within its stated relative
        error; None: every wait is in ``waits``.

    Returns
    -------
    dict
        ``p_wait`` (waits / served, Erlang C's probability of waiting on an M/M/c) and
        ``wait_p50``, ``wait_p95``, ``wait_p99`` of the waiting time of every served
        request (0 for those that found a free slot); None without requests served.
    """
    if served <= 0:
        return {"p_wait": None, **dict.fromkeys(WAIT_PERCENTILES)}
    count = int(waits.size) + (folded.count if folded is not None else 0)
    waited = min(count, served)
    p_wait = waited / served
    out: dict[str, Any] = dict.fromkeys(WAIT_PERCENTILES, 0.0)
    out["p_wait"] = p_wait
    # the q-quantile of a sample that is 0 for the (1 - p_wait) that did not wait is the
    # waits' own quantile at rank 1 - (1 - q) / p_wait, where that is above 0
    ranks = {
        name: (1.0 - (1.0 - q / 100.0) / p_wait) * 100.0
        for name, q in WAIT_PERCENTILES.items()
        if waited and 1.0 - q / 100.0 < p_wait
    }
    if ranks and folded is not None:
        sketch = folded
        if waits.size:
            sketch = StreamingQuantiles(folded.buckets)
            sketch.merge(folded)
            sketch.add(waits)
        values = sketch.percentiles(list(ranks.values()))
        out.update({name: float(v) for name, v in zip(ranks, values, strict=True)})
    elif ranks:  # exact, as numpy.percentile, without partitioning all the waits
        values = percentiles(waits, list(ranks.values()))
        out.update({name: float(v) for name, v in zip(ranks, values, strict=True)})
    return out


WAIT_PERCENTILES = {"wait_p50": 50.0, "wait_p95": 95.0, "wait_p99": 99.0}


def exposure(a: dict[str, float], b: dict[str, float], span: float) -> float:
    """The time an instance was provisioned between snapshots ``a`` and ``b`` (an
    autoscaled one's provisioned time; any other's whole ``span``)."""
    if "provisioned_area" in b:
        return b["provisioned_area"] - a["provisioned_area"]
    return span


def count(a: Snapshot, nodes: dict[str, dict[str, Any]], name: str, counter: str) -> int:
    """A cache's ``counter`` summed over its nodes, from snapshot ``a`` to ``nodes``."""
    before = a.components.get(name, {})
    return sum(c[counter] - before.get(n, {}).get(counter, 0) for n, c in nodes.items())


DROPS = ("expired", "cancelled")
"""What a queue, a database's cores or a pool with ``drop_expired`` counts of the work it
dropped unserved: past its deadline, or cancelled by its caller."""


def dropped(a: Snapshot, b: Snapshot, name: str) -> dict[str, int] | None:
    """The queries database ``name`` dropped between snapshots ``a`` and ``b``, waiting
    for a core (its servers) or a connection (the pools for it), as
    ``databases.<name>.expired`` and ``.cancelled`` count them; None where neither drops."""
    before, after = a.components[name], b.components[name]
    counters = [
        (before[group][key], counts)
        for group in ("instances", "pools")
        for key, counts in after[group].items()
        if "expired" in counts
    ]
    if not counters:
        return None
    return {drop: int(sum(c[drop] - p[drop] for p, c in counters)) for drop in DROPS}


def route_series(
    a: Snapshot, b: Snapshot, name: str, span: float
) -> list[tuple[float, float, str, str, float | None]]:
    """A call route's rates over one window: calls and attempts per second, timeouts,
    fail-fasts, tries not sent past their deadline (expired) and retries, and the share
    of the window its breaker was not closed."""
    before, after = a.components.get(name, {}), b.components[name]
    out: list[tuple[float, float, str, str, float | None]] = []
    for metric, counter in (
        ("call_rate", "calls"),
        ("attempt_rate", "attempts"),
        ("retry_rate", "retries"),
        ("timeout_rate", "timeouts"),
        ("fail_fast_rate", "fail_fast"),
        ("expired_rate", "expired"),
    ):
        out.append((a.time, b.time, name, metric, (after[counter] - before.get(counter, 0)) / span))
    if "breaker_open_area" in after:
        area = after["breaker_open_area"] - before.get("breaker_open_area", 0.0)
        out.append((a.time, b.time, name, "breaker_open", area / span))
    return out


def hit_rate(a: Snapshot, nodes: dict[str, dict[str, Any]], name: str) -> float | None:
    """A cache's hit rate from snapshot ``a`` to the counters ``nodes`` (None: no reads)."""
    hits = count(a, nodes, name, "hits")
    misses = count(a, nodes, name, "misses")
    return hits / (hits + misses) if hits + misses else None


def memory(a: dict[str, float], b: dict[str, float], span: float) -> dict[str, Any]:
    """Time-weighted memory utilisation and out-of-memory failures, where modelled."""
    if "memory_area" not in b:
        return {}
    area = b["memory_area"] - a["memory_area"]
    return {
        "memory_utilization": clean(area / (b["memory_capacity"] * span)) if span > 0 else None,
        "out_of_memory": int(b["out_of_memory"] - a["out_of_memory"]),
        "memory_area": area,
        "memory_capacity_total": b["memory_capacity"],
    }


def memory_total(rows: list[dict[str, Any]], span: float) -> dict[str, Any]:
    """A component's memory utilisation over the instances that model memory."""
    mine = [r for r in rows if "memory_area" in r]
    capacity = sum(r["memory_capacity_total"] for r in mine)
    return {
        "memory_utilization": clean(sum(r["memory_area"] for r in mine) / (capacity * span))
        if span > 0
        else None,
        "out_of_memory": sum(r["out_of_memory"] for r in mine),
    }


def imbalance(loads: list[float]) -> float | None:
    if not loads or sum(loads) == 0:
        return None
    return float(max(loads) / (sum(loads) / len(loads)))


def sum_or_none(values: Any) -> float | None:
    values = [v for v in values if v is not None]
    return float(sum(values)) if values else None


def max_or_none(values: Any) -> float | None:
    values = [v for v in values if v is not None]
    return max(values) if values else None

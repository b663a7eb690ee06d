"""Traced requests as tables: spans, the latency breakdown, the slow-request log, OTel JSON.

The spans come from :class:`simperf.components.tracing.Tracer`. A span's *own* time is
its time on the request's critical path not covered by its children there, so that the
own times of one request's spans add up to its latency exactly and none is negative:
of work that overlaps (parallel arms, hedged copies, abandoned attempts) only what the
request waited on counts.
"""

from __future__ import annotations

import gc
import itertools
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = [
    "trace_id",
    "class",
    "span_id",
    "parent",
    "component",
    "instance",
    "kind",
    "start",
    "end",
    "duration",
    "detail",
    "outcome",
    "measured",
]
PART = {
    "request": "other",
    "hop": "service",
    "queue": "wait",
    "network": "network",
    "pool_wait": "pool_wait",
    "cache": "service",
    "backing": "service",
    "attempt": "service",
    "backoff": "backoff",
}
"""Which part of latency a span kind's own time is (a cache read's own time is the
cache's command; an attempt's and a backing read's, the caller's client CPU)."""


def spans_frame(
    traces: list[Any], classes: list[str], causes: list[str], warmup: float
) -> pd.DataFrame:
    """One row per span of every finished traced request.

    Parameters
    ----------
    traces
        Finished :class:`~simperf.components.tracing.Trace` s.
    classes, causes
        Request class names and outcome causes (0: ``ok``), by index.
    warmup
        Requests that started before it are not ``measured``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: times in simulated seconds, ``parent`` -1 for the
        request's own span (``kind`` ``request``), ``detail`` what the kind tells
        (a cache read's ``hit``/``miss``/``down``, an attempt's ``#n outcome``, the
        database of a ``pool_wait``; else empty), ``outcome`` ``ok`` or the error cause.
    """
    # Many small tuples at once: the cyclic collector would scan the run's whole heap
    # again and again meanwhile (tuples of numbers make no cycles).
    enabled = gc.isenabled()
    gc.disable()
    try:
        rows = [
            (t.id, t.klass, *span, t.outcome, t.start >= warmup) for t in traces for span in t.spans
        ]
    finally:
        if enabled:
            gc.enable()
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    # as recorded: the class as its code, no duration yet (both filled in below)
    raw = ["klass" if c == "class" else c for c in COLUMNS if c != "duration"]
    frame = pd.DataFrame(rows, columns=raw)
    frame.insert(1, "class", pd.Categorical.from_codes(frame.pop("klass"), categories=classes))
    frame.insert(9, "duration", frame["end"] - frame["start"])
    ok = ["ok", *causes[1:]]
    frame["outcome"] = pd.Categorical.from_codes(frame["outcome"], categories=ok)
    return frame.sort_values(["trace_id", "span_id"], ignore_index=True)[COLUMNS]


def own_times(spans: pd.DataFrame) -> pd.DataFrame:
    """``spans`` with ``own`` (the span's time on the request's critical path, less its
    children's) and ``part`` columns.

    The own times of one request's spans add up to its latency, and none is negative.
    Where a parent's children follow one another inside it (most requests), every span
    is on the path and its own time is its duration less its children's. Where they
    overlap or outlive their parent (parallel arms, hedged copies, attempts abandoned on
    a timeout), summing them would count the overlap twice: there the request's
    :func:`critical_path` decides.
    """
    key = pd.MultiIndex.from_arrays([spans["trace_id"], spans["span_id"]])
    start = spans["start"].to_numpy(dtype=float)
    end = spans["end"].to_numpy(dtype=float)
    parent = key.get_indexer(pd.MultiIndex.from_arrays([spans["trace_id"], spans["parent"]]))
    children = spans[parent >= 0].groupby(["trace_id", "parent"])["duration"].sum()
    own = end - start - children.reindex(key).fillna(0.0).to_numpy()
    tangled = _tangled(spans, start, end, parent)
    if tangled.any():
        own[tangled] = critical_path(spans[tangled])
    out = spans.assign(own=own)
    out["part"] = out["kind"].map(PART).fillna("other")
    # a request's own time is the client's; a crossing's is the network's
    out.loc[out["kind"] == "request", "component"] = "client"
    return out


def _tangled(spans: pd.DataFrame, start: np.ndarray, end: np.ndarray, parent: np.ndarray) -> Any:
    """Whether each span's request has siblings that overlap or a span outside its parent."""
    has = parent >= 0
    up = np.maximum(parent, 0)
    outside = has & ((start < start[up]) | (end > end[up]))
    # siblings in order of start: an overlap shows between neighbours
    order = np.lexsort((start, parent, spans["trace_id"].to_numpy()))
    same = (parent[order][1:] == parent[order][:-1]) & has[order][1:]
    same &= spans["trace_id"].to_numpy()[order][1:] == spans["trace_id"].to_numpy()[order][:-1]
    overlap = np.zeros(len(spans), bool)
    overlap[order[1:]] = same & (start[order][1:] < end[order][:-1])
    bad = spans["trace_id"][outside | overlap].unique()
    return spans["trace_id"].isin(bad).to_numpy()


def critical_path(spans: pd.DataFrame) -> np.ndarray:
    """Each span's own time on its request's critical path (0: off the path).

    The critical path is the chain of spans the request's latency waited on, found by
    walking back from the end of its ``request`` span (the last-finishing-child walk
    that trace viewers such as Jaeger use): within a span, from the current point, the
    child that ended last at or before it is on the path; the path goes down into that
    child up to its end, then goes on from the child's start. A child still running at
    the current point (an attempt abandoned on a timeout) counts up to that point only,
    the moment its parent stopped waiting for it; between children that ended at the
    same point, the one that truly ended there (the winning hedge) is on the path, not
    the one that ran on. What no child on the path covers is the span's own. So a
    parallel arm that finished first is off the path, the losing hedge copy counts only
    until the winning one was sent, and the own times of a request add up to its latency.

    Parameters
    ----------
    spans
        Rows of whole requests, as :func:`spans_frame` gives.

    Returns
    -------
    numpy.ndarray
        The own time of each row, in the rows' order.
    """
    # a request's rows together, in the order its spans opened
    order = np.lexsort((spans["span_id"].to_numpy(), spans["trace_id"].to_numpy()))
    ids = spans["trace_id"].to_numpy()[order]
    span_ids = spans["span_id"].to_numpy()[order]
    parents = spans["parent"].to_numpy()[order]
    starts = spans["start"].to_numpy(dtype=float)[order]
    ends = spans["end"].to_numpy(dtype=float)[order]
    own = np.zeros(len(spans))
    bounds = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True])
    for first, stop in itertools.pairwise(bounds):
        row = {int(s): first + k for k, s in enumerate(span_ids[first:stop])}
        kids: dict[int, list[int]] = {}
        roots = []
        for r in range(first, stop):
            up = row.get(int(parents[r]))
            if up is None:
                roots.append(r)
            else:
                kids.setdefault(up, []).append(r)
        for r in roots:
            _walk(r, starts[r], ends[r], starts, ends, kids, own)
    out = np.empty_like(own)
    out[order] = own
    return out


def _walk(
    span: int,
    lo: float,
    hi: float,
    starts: np.ndarray,
    ends: np.ndarray,
    kids: dict[int, list[int]],
    own: np.ndarray,
) -> None:
    """Attribute ``span``'s time in [lo, hi] along the path (see :func:`critical_path`)."""
    now = hi
    left = kids.get(span, [])
    while now > lo:
        running = [k for k in left if starts[k] < now]
        if not running:
            break
        # the last to end by now; of those ending (clipped) at the same point, the one
        # that truly ended first; then the one opened last (the inner of two alike)
        pick = max(running, key=lambda k: (min(ends[k], now), -ends[k], starts[k], k))
        until = min(ends[pick], now)
        own[span] += now - until
        begin = max(starts[pick], lo)
        _walk(pick, begin, until, starts, ends, kids, own)
        left = [k for k in running if k != pick]
        now = begin
    own[span] += max(now - lo, 0.0)


def breakdown(spans: pd.DataFrame, quantile: float = 0.99) -> pd.DataFrame:
    """Per class, the share of latency spent in each component, waiting or in service.

    Over the measured ``ok`` traced requests: ``mean`` is the mean time per request in
    the (component, part), ``share`` that over the mean latency; ``tail_mean`` and
    ``tail_share`` the same over the requests at or above the class's ``quantile``
    latency (the p99 requests). Shares of a class add up to 1: the parts of each request
    add up to its latency.

    Returns
    -------
    pandas.DataFrame
        class, component, part (wait, service, network, other), mean, share, tail_mean,
        tail_share, requests (the traced sample) and tail_requests.
    """
    columns = [
        "class",
        "component",
        "part",
        "mean",
        "share",
        "tail_mean",
        "tail_share",
        "requests",
        "tail_requests",
    ]
    spans = spans[spans["measured"] & (spans["outcome"] == "ok")]
    if spans.empty:
        return pd.DataFrame(columns=columns)
    timed = own_times(spans)
    per_request = timed.pivot_table(
        index="trace_id", columns=["component", "part"], values="own", aggfunc="sum", fill_value=0.0
    )
    roots = timed[timed["kind"] == "request"].set_index("trace_id")
    latency = roots["duration"].reindex(per_request.index)
    klass = roots["class"].reindex(per_request.index).astype(str)
    rows: list[dict[str, Any]] = []
    for name in [*sorted(klass.unique()), "all"]:
        mine = np.ones(len(klass), bool) if name == "all" else (klass == name).to_numpy()
        sample, lat = per_request[mine], latency[mine]
        tail = (lat >= np.quantile(lat, quantile)).to_numpy()
        mean_latency, tail_latency = lat.mean(), lat[tail].mean()
        for (component, part), values in sample.items():
            mean, tail_mean = values.mean(), values[tail].mean()
            if mean == 0 and tail_mean == 0:
                continue
            rows.append(
                {
                    "class": name,
                    "component": component,
                    "part": part,
                    "mean": float(mean),
                    "share": float(mean / mean_latency) if mean_latency > 0 else None,
                    "tail_mean": float(tail_mean),
                    "tail_share": float(tail_mean / tail_latency) if tail_latency > 0 else None,
                    "requests": int(mine.sum()),
                    "tail_requests": int(tail.sum()),
                }
            )
    return pd.DataFrame(rows, columns=columns)


def breakdown_dict(frame: pd.DataFrame) -> dict[str, Any]:
    """:func:`breakdown` as the result's ``breakdown`` section: class -> parts."""
    out: dict[str, Any] = {}
    for name, rows in frame.groupby("class", sort=False):
        out[str(name)] = {
            "requests": int(rows["requests"].iloc[0]),
            "tail_requests": int(rows["tail_requests"].iloc[0]),
            "parts": {
                f"{r.component}.{r.part}": {
                    "mean": r.mean,
                    "share": r.share,
                    "tail_share": r.tail_share,
                }
                for r in rows.itertuples()
            },
        }
    return out


WAITS = ("queue", "pool_wait")
"""Span kinds that are a wait for a slot (a worker, core, connection ...)."""


def waited(spans: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per class, the share of requests that waited at least once, at each component and
    anywhere (``any``): the probability of waiting per request, not per queue visit.

    Over the measured ``ok`` traced requests, as :func:`breakdown`.
    """
    spans = spans[spans["measured"] & (spans["outcome"] == "ok")]
    roots = spans[spans["kind"] == "request"]
    waits = spans[spans["kind"].isin(WAITS) & (spans["duration"] > 0)]
    out: dict[str, dict[str, float]] = {}
    for name in [*sorted(roots["class"].astype(str).unique()), "all"]:
        mine = roots if name == "all" else roots[roots["class"].astype(str) == name]
        if mine.empty:
            continue
        ids = mine["trace_id"]
        shares = {"any": float(ids.isin(waits["trace_id"]).mean())}
        for component, rows in waits.groupby("component", sort=True):
            shares[str(component)] = float(ids.isin(rows["trace_id"]).mean())
        out[name] = shares
    return out


def slowest(spans: pd.DataFrame, count: int) -> pd.DataFrame:
    """The spans of the ``count`` slowest traced requests, slowest first.

    A ``latency`` column repeats each request's latency on its spans.
    """
    roots = spans[spans["kind"] == "request"].nlargest(count, "duration", keep="first")
    order = {trace: rank for rank, trace in enumerate(roots["trace_id"])}
    picked = spans[spans["trace_id"].isin(order)].copy()
    picked["latency"] = picked["trace_id"].map(
        dict(zip(roots["trace_id"], roots["duration"], strict=True))
    )
    picked["rank"] = picked["trace_id"].map(order)
    return picked.sort_values(["rank", "span_id"], ignore_index=True).drop(columns="rank")


def to_otel(spans: pd.DataFrame, scenario: str) -> dict[str, Any]:
    """The spans as OpenTelemetry JSON (OTLP ``ExportTraceServiceRequest`` shape).

    One resource per component (``service.name``); ids are hex (32 digits for a trace,
    16 for a span), times integer nanoseconds of simulated time, as strings.
    """
    by_service: dict[str, list[dict[str, Any]]] = {}
    for r in spans.rename(columns={"class": "klass"}).itertuples(index=False):
        trace_id = f"{int(r.trace_id):032x}"
        span: dict[str, Any] = {
            "traceId": trace_id,
            "spanId": _span_id(r.trace_id, r.span_id),
            "parentSpanId": "" if r.parent < 0 else _span_id(r.trace_id, r.parent),
            "name": r.kind if not r.instance else f"{r.kind} {r.instance}",
            "kind": {"request": 2, "hop": 2, "attempt": 3}.get(
                r.kind, 1
            ),  # SERVER, CLIENT, INTERNAL
            "startTimeUnixNano": str(round(r.start * 1e9)),
            "endTimeUnixNano": str(round(r.end * 1e9)),
            "attributes": [
                {"key": "simperf.kind", "value": {"stringValue": r.kind}},
                {"key": "simperf.instance", "value": {"stringValue": r.instance}},
                {"key": "simperf.class", "value": {"stringValue": str(r.klass)}},
                *_detail_attributes(r.kind, r.detail),
            ],
            "status": {"code": 1 if r.outcome == "ok" else 2},
        }
        by_service.setdefault(str(r.component), []).append(span)
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": service}},
                        {"key": "simperf.scenario", "value": {"stringValue": scenario}},
                    ]
                },
                "scopeSpans": [{"scope": {"name": "simperf"}, "spans": items}],
            }
            for service, items in by_service.items()
        ]
    }


def _detail_attributes(kind: str, detail: str) -> list[dict[str, Any]]:
    """A span's ``detail`` as OTel attributes: a cache read's hit, an attempt's number and
    outcome, a pool wait's database."""
    if not detail:
        return []
    out = [{"key": "simperf.detail", "value": {"stringValue": detail}}]
    if kind == "cache":
        out.append({"key": "cache.hit", "value": {"boolValue": detail == "hit"}})
    elif kind == "attempt":
        number, _, outcome = detail.partition(" ")
        out.append({"key": "simperf.attempt", "value": {"intValue": number.lstrip("#")}})
        if outcome:
            out.append({"key": "simperf.outcome", "value": {"stringValue": outcome}})
    elif kind == "pool_wait":
        out.append({"key": "db.name", "value": {"stringValue": detail}})
    return out


def _span_id(trace_id: int, span_id: int) -> str:
    return f"{int(trace_id) & 0xFFFFFFFF:08x}{int(span_id) + 1:08x}"


def section(
    spans: pd.DataFrame,
    slow: pd.DataFrame,
    sample: float,
    count: int,
    traced: int,
    measured: int,
) -> dict[str, Any]:
    """The result's ``traces`` section: the sample and the counts of every traced request
    (``traced``, of which ``measured`` after the warm-up), the breakdown of those kept
    (``spans``: all of them up to ``run.trace.keep``, else a uniform sample) and the
    slow-request log (``slow``: the spans of the ``count`` slowest of all)."""
    roots = slow[slow["kind"] == "request"]
    # no request sampled: the frame's columns have no type to rank by
    ranked = roots.nlargest(count, "duration", keep="first") if len(roots) else roots
    return {
        "sample": sample,
        "traced": traced,
        "measured": measured,
        "kept": int((spans["kind"] == "request").sum()),
        "breakdown": breakdown_dict(breakdown(spans)),
        "p_wait": waited(spans),
        "slowest": [
            {
                "trace_id": int(r.trace_id),
                "class": str(r.klass),
                "start": float(r.start),
                "latency": float(r.duration),
                "outcome": str(r.outcome),
            }
            for r in ranked.rename(columns={"class": "klass"}).itertuples(index=False)
        ],
    }

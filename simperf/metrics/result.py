"""The result of one run: tidy frames, a JSON-ready dictionary and a printable summary."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simperf.outputs import output_file, write_output
from simperf.presentation.summary_text import render
from simperf.presentation.tables import result_html


@dataclass
class Result:
    """What one run of one scenario with one seed measured.

    Attributes
    ----------
    latency
        One row per request class (and ``all``): count, mean, p50 ... p999, max in
        seconds, throughput (completed ok per second), errors, error_rate, and shed
        (requests an app server's queue or concurrency limit dropped) where one can shed.
    components
        One row per instance and per component: utilization (busy cores / cores),
        worker_occupancy (busy workers / workers) and, with a connection pool,
        pool_occupancy (busy connections / the connections the database accepted of the
        pool's size) and pool_wait, and a database server's connection_occupancy
        (connections opened per query / those its max_connections leaves past the
        pools'), all time-weighted;
        queue lengths, mean wait and service time, served, rejected, and shed where
        the app server has a ``queue`` or ``concurrency_limit``; expired (attempts
        dropped past their deadline) and cancelled (attempts their caller gave up on
        first: a hedged call's losing copies) where its queue has ``drop_expired``.
        Counts are integers (``Int64`` where some rows have none); every column of
        every frame is described in docs/results.md, "Frame columns".
    timeseries
        Long frame (start, end, component, metric, value) in fixed windows; ``shed``
        per window (``all``, per server and per instance) where an app server can shed, and
        ``expired`` and ``cancelled`` per instance and per server (their sum) where its
        queue drops expired attempts, and per database where it drops. With more
        than one request class, each class's throughput, errors, error_rate and
        p50/p95/p99 too (``component`` is the class name).
    perf
        Wall time and events per second of the run (not part of :meth:`to_dict`,
        which is deterministic for a given spec and seed).
    """

    scenario: Any
    seed: int
    replication: int
    data: dict[str, Any]
    latency: pd.DataFrame
    components: pd.DataFrame
    timeseries: pd.DataFrame
    perf: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Everything measured, as JSON-ready nested dicts (None where there is no sample)."""
        return copy.deepcopy(self.data)

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.data, **kwargs)

    @property
    def stability(self) -> str:
        """``stable``, ``degraded``, ``saturated``, ``failing`` or ``unstable``.

        See :mod:`simperf.metrics.stability`; ``to_dict()["stability"]`` names the
        bottleneck instance and ``resource`` (cores, workers, pool, queue_limit ...), and
        the fault ``target`` a failing or degraded run is blamed on.
        """
        return self.data["stability"]["status"]

    def metric(self, path: str) -> Any:
        """A value of :meth:`to_dict` by dotted path, e.g. ``"latency.all.p99"``."""
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(path)
            node = node[part]
        return node

    def frame(self, section: str) -> pd.DataFrame:
        """A section of :meth:`to_dict` contributed by components, as a tidy frame.

        Parameters
        ----------
        section
            ``"caches"``, ``"cdns"``, ``"databases"`` ...

        Returns
        -------
        pandas.DataFrame
            One row per component (``part`` ``"all"``) and one per part of it (a
            cache's nodes, a CDN's ``edges.<region>`` and ``shield``), with the numeric
            metrics as columns; empty when the run has no such section. A database's
            ``all`` row has its whole figures (servers' load and queries' calls summed,
            their call-weighted mean time ...), its servers' buffer-pool hit ratio, its
            pools' waits and its replication lag are columns of their rows
            (``buffer_pool_hit_ratio``, ``wait_p99``, ``lag_p99`` ...), and counts of
            bytes are whole (``int64``). A section of
            numbers alone (``"errors"``: failed requests by cause) is one row of them.
            ``"headroom"`` gives its components' figures (``headroom.components``: the
            binding resource at its busiest instance, its utilisation and headroom).

        Raises
        ------
        ValueError
            For a section that is not one entry per component (``faults``,
            ``requests``, ``stability`` ...: read them with :meth:`to_dict`).
        """
        entries = self.data.get(section, {})
        if section == "headroom" and entries:  # its first, faults ...: not components
            entries = entries["components"]
        if entries and not any(isinstance(v, dict) for v in entries.values()):
            # a section of numbers (``errors``: failed requests by cause): one row of them
            return pd.DataFrame([entries])
        if not _per_component(entries):
            frames = [n for n, v in self.data.items() if n == "headroom" or _per_component(v)]
            raise ValueError(
                f"frame({section!r}): that section is not one entry per component; read it "
                f"with to_dict()[{section!r}]. This run's frames: {', '.join(frames)}"
            )
        nested = NESTED.get(section, {})
        whole = WHOLE.get(section)
        rows: list[dict[str, Any]] = []
        for name, metrics in entries.items():
            totals = {} if whole is None else whole(metrics)
            rows.append({"component": name, "part": "all", **_scalars(metrics), **totals})
            for key, value in metrics.items():
                if not isinstance(value, dict):
                    continue
                if key in TALLIES:  # {table: {index: uses}}: a row per entry, not a column per name
                    rows += [
                        {"component": name, "part": f"{key}.{group}.{entry}", TALLIES[key]: n}
                        for group, entries in value.items()
                        for entry, n in entries.items()
                    ]
                elif value and all(isinstance(v, dict) for v in value.values()):
                    for sub, sub_metrics in value.items():
                        part = sub if key == "nodes" else f"{key}.{sub}"
                        rows.append(
                            {"component": name, "part": part, **_scalars(sub_metrics, nested)}
                        )
                else:
                    rows.append({"component": name, "part": key, **_scalars(value, nested)})
        for row in rows:  # sizes are drawn from continuous distributions: whole bytes
            for key in BYTE_COUNTS.intersection(row):
                if row[key] is not None:
                    row[key] = round(row[key])
        return typed_frame(rows, FIRST_COLUMNS)

    @property
    def alerts(self) -> pd.DataFrame:
        """One row per firing of each alert: alert, start, end, duration, peak.

        ``frame("alerts")`` gives one row per alert instead (firings, time firing ...).
        """
        rows = [
            {"alert": name, **i, "duration": i["end"] - i["start"]}
            for name, alert in self.data.get("alerts", {}).items()
            for i in alert["intervals"]
        ]
        return pd.DataFrame(rows, columns=["alert", "start", "end", "peak", "duration"])

    @property
    def scaling_events(self) -> pd.DataFrame:
        """One row per autoscaling action: component, time, from, to, reason.

        ``from`` and ``to`` count the instances provisioned and not draining; only
        actions in the measured period are listed.
        """
        rows = [
            {"component": name, **event}
            for name, report in self.data.get("autoscaling", {}).items()
            for event in report["events"]
        ]
        return pd.DataFrame(rows, columns=["component", "time", "from", "to", "reason"])

    @property
    def requests(self) -> pd.DataFrame:
        """One row per finished request, in finishing order of record.

        Returns
        -------
        pandas.DataFrame
            ``class`` and ``outcome`` (``ok`` or an error cause) as categoricals,
            ``start``, ``end`` and ``latency`` in seconds, and ``measured`` (started
            after the warm-up, as the latency table counts). Empty for a result rebuilt
            from a dictionary, which keeps no per-request records. At most
            ``run.keep_requests`` rows: past that many, only the first requests to
            finish are here (``to_dict()["requests"]["records_kept"]`` says so), and
            the summary counts the rest without records.
        """
        arrays = getattr(self, "_arrays", None)
        classes = [name for name in self.data["latency"] if name != "all"]
        causes = getattr(self, "_causes", None) or ["ok", *self.data["requests"]["errors"]]
        if arrays is None:
            return pd.DataFrame(columns=["class", "start", "end", "latency", "outcome", "measured"])
        return pd.DataFrame(
            {
                "class": pd.Categorical.from_codes(arrays["klass"], categories=classes),
                "start": arrays["start"],
                "end": arrays["end"],
                "latency": arrays["latency"],
                "outcome": pd.Categorical.from_codes(arrays["outcome"], categories=causes),
                "measured": arrays["start"] >= self.data["warmup"],
            }
        )

    @property
    def traces(self) -> pd.DataFrame:
        """One row per span of the traced requests kept (``run.trace``: all of them up to
        ``run.trace.keep``, past it a uniform sample of that many); empty without it.

        Columns: trace_id (the request's id), class, span_id, parent (-1: the request's
        own span), component, instance, kind (``request``, ``hop``, ``queue``,
        ``network``, ``pool_wait``, ``cache``, ``backing``, ``attempt``, ``backoff``),
        start, end, duration (simulated seconds), detail (a cache read's hit or miss, an
        attempt's number and outcome, a pool wait's database), outcome, measured.
        See :mod:`simperf.metrics.traces`.
        """
        from simperf.metrics.traces import COLUMNS

        spans = getattr(self, "_spans", None)
        return pd.DataFrame(columns=COLUMNS) if spans is None else spans

    @property
    def slowest(self) -> pd.DataFrame:
        """The spans of the slowest traced requests (``run.trace.slowest``, of every traced
        request, kept or not), slowest first."""
        from simperf.metrics.traces import slowest

        spans = getattr(self, "_slow_spans", None)
        if spans is None or not len(spans):
            return self.traces.iloc[:0]
        count = self.data.get("traces", {}).get("slowest", [])
        return slowest(spans, len(count))

    def breakdown(self, quantile: float = 0.99) -> pd.DataFrame:
        """Per class, the share of mean and of tail latency in each component and part.

        Computed from the traced requests (``run.trace``; ``requests`` is the sample
        size): see :func:`simperf.metrics.traces.breakdown`.
        """
        from simperf.metrics.traces import breakdown

        return breakdown(self.traces, quantile)

    def cpu_profile(self) -> pd.DataFrame:
        """CPU per app server, endpoint and ``cpu`` step over the measured period
        (``run.profile``; exact counts, empty without it).

        Columns: component, endpoint, step (its index in the endpoint), calls,
        cpu_seconds (core-seconds), mean (per call), cores (busy on average), share (of
        all the profiled CPU). See :func:`simperf.metrics.cpu_profile.profile_frame`.
        """
        from simperf.metrics.cpu_profile import profile_frame

        return profile_frame(self.data.get("cpu_profile", {}), self.data["measured_time"])

    def to_otel(self) -> dict[str, Any]:
        """The traced requests as OpenTelemetry JSON (``resourceSpans`` ... ``spans``)."""
        from simperf.metrics.traces import to_otel

        return to_otel(self.traces, self.data["scenario"])

    def to_html(self, path: str | Path | None = None) -> str:
        """The self-contained HTML report (see :func:`simperf.presentation.report.render`).

        Parameters
        ----------
        path
            When given, the report is also written there; its missing directories are
            made, as ``simperf report --out`` makes them (:func:`simperf.outputs.output_file`).

        Returns
        -------
        str
            The HTML document; it works offline (plotly's JavaScript is inlined).

        Raises
        ------
        SimperfError
            If ``path`` is a directory or cannot be written (checked before rendering).
        """
        from simperf.presentation.report import render

        out = None if path is None else output_file("", path, "report.html")
        html = render(self)
        if out is not None:
            write_output("", out, html)
        return html

    def _repr_html_(self) -> str:
        return result_html(self)

    def summary(self) -> str:
        """A readable multi-line summary for terminals and notebooks."""
        return render(self.data, self.perf)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.summary())

    def __repr__(self) -> str:
        d = self.data
        return (
            f"Result(scenario={d['scenario']!r}, seed={self.seed}, "
            f"throughput={d['throughput']:.6g}, p99={d['latency']['all']['p99']}, "
            f"stability={d['stability']['status']!r})"
        )


TALLIES = {"indexes": "uses"}
"""Sections' maps of names to counts, framed as a row per name (``indexes.orders.PRIMARY``,
``uses``), so that a table's index names never become columns."""

NESTED: dict[str, dict[str, tuple[str, ...]]] = {
    "databases": {
        "buffer_pool": ("hit_ratio",),  # a server's, observed
        "wait": ("mean", "p50", "p99", "max"),  # a pool's wait for a connection
        "lag": ("mean", "p50", "p99", "max"),  # replication's
    },
}
"""Per section, the dicts inside a row whose figures become columns of that row
(``buffer_pool_hit_ratio``, ``wait_p99``, ``lag_p99``): what a planner reads of a server,
a pool and replication."""

BYTE_COUNTS = frozenset({"bytes", "cacheable_bytes", "hit_bytes", "origin_bytes", "used_bytes"})
"""Counts of bytes, summed from drawn (continuous) sizes: rounded to whole bytes in the
frames, integers as every other count (``to_dict()`` keeps the sums as they are)."""


def _database_totals(report: dict[str, Any]) -> dict[str, Any]:
    from simperf.components.db_report import totals

    return totals(report)


WHOLE: dict[str, Any] = {"databases": _database_totals}
"""Per section, the function giving a component's ``all`` row the figures of the whole
component that its report keeps only per part."""

FIRST_COLUMNS = (
    # identity
    "component", "part", "kind", "role", "shard",
    # load
    "queries", "qps", "calls", "acquisitions", "replica_reads", "cpu_utilization",
    "storage_utilization", "storage_replication_utilization", "connection_occupancy",
    "utilization",
    # latency (seconds)
    "mean", "p50", "p90", "p95", "p99", "p999", "max",
)  # fmt: skip
"""Columns a section's frame puts first, in this order (those it has); details follow in
the order the section gives them."""

COMPONENT_COLUMNS = (
    # identity and size
    "component", "instance", "kind", "instances", "capacity", "workers", "pool_size",
    "connections",
    # load
    "served", "dispatched", "rejected", "shed", "expired", "cancelled", "utilization",
    "worker_occupancy", "pool_occupancy", "connection_occupancy",
    # waiting and service (seconds, but the queue lengths and p_wait)
    "mean_queue_length", "max_queue_length", "mean_wait", "mean_service", "p_wait",
    "wait_p50", "wait_p95", "wait_p99",
)  # fmt: skip
"""Columns ``Result.components`` puts first (identity, size, load, waits); details follow."""


def _per_component(value: Any) -> bool:
    """Whether a section of the result is one dict per component (or empty)."""
    return isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def typed_frame(rows: list[dict[str, Any]], first: Iterable[str] = ()) -> pd.DataFrame:
    """``rows`` as a frame whose counts are integers.

    A column whose values are all Python or numpy integers (None or absent aside) is a
    count: ``int64``, or pandas' nullable ``Int64`` where some row has none (a
    balancer's row of ``served``). A column of other numbers and None is ``float64``,
    None its NaN. Built from the rows' own types, so a float that happens to be whole
    (a utilisation of 0.0) stays a float.

    Parameters
    ----------
    rows
        One dict per row; a row may leave a column out.
    first
        Columns to put first, in this order (those the rows have); the rest follow as
        they first appear in ``rows``.

    Returns
    -------
    pandas.DataFrame
    """
    seen = dict.fromkeys(key for row in rows for key in row)
    columns = [c for c in first if c in seen] + [c for c in seen if c not in first]
    frame = pd.DataFrame(rows, columns=columns)
    for column in frame.columns:
        values = [row[column] for row in rows if row.get(column) is not None]
        if not all(_is_number(v) for v in values):
            continue
        if values and all(_is_count(v) for v in values):
            if len(values) == len(rows):
                frame[column] = np.array([row[column] for row in rows], dtype=np.int64)
            else:
                frame[column] = pd.array([row.get(column) for row in rows], dtype="Int64")
        elif frame[column].dtype == "object":
            frame[column] = frame[column].astype(float)
    return frame


def _scalars(
    metrics: dict[str, Any], nested: dict[str, tuple[str, ...]] | None = None
) -> dict[str, Any]:
    """A row's numbers and names; of its dicts, the ``nested`` ones' figures as
    ``<dict>_<figure>`` columns (``wait_p99``), the rest left out."""
    row = {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}
    for key, figures in (nested or {}).items():
        inner = metrics.get(key)
        if isinstance(inner, dict):
            row.update({f"{key}_{f}": inner[f] for f in figures if f in inner})
    return row

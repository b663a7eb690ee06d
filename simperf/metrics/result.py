"""The result of one run: tidy frames, a JSON-ready dictionary and a printable summary."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

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
        pool_occupancy (busy connections / pool size) and pool_wait, all time-weighted;
        queue lengths, mean wait and service time, served, rejected, and shed where
        the app server has a ``queue`` or ``concurrency_limit``; expired (attempts
        dropped past their deadline) and cancelled (attempts their caller gave up on
        first: a hedged call's losing copies) where its queue has ``drop_expired``.
    timeseries
        Long frame (start, end, component, metric, value) in fixed windows; ``shed``
        per window (``all``, and per instance) where an app server can shed, and
        ``expired`` per instance where its queue drops expired attempts. With more
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
        bottleneck instance and ``resource`` (cores, workers, pool, queue_limit ...).
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
            metrics as columns; empty when the run has no such section. A section of
            numbers alone (``"errors"``: failed requests by cause) is one row of them.
        """
        rows: list[dict[str, Any]] = []
        found = self.data.get(section, {})
        if found and not any(isinstance(v, dict) for v in found.values()):
            # a section of numbers (``errors``: failed requests by cause): one row of them
            return pd.DataFrame([found])
        for name, metrics in found.items():
            rows.append({"component": name, "part": "all", **_scalars(metrics)})
            for key, value in metrics.items():
                if not isinstance(value, dict):
                    continue
                if value and all(isinstance(v, dict) for v in value.values()):
                    for sub, sub_metrics in value.items():
                        part = sub if key == "nodes" else f"{key}.{sub}"
                        rows.append({"component": name, "part": part, **_scalars(sub_metrics)})
                else:
                    rows.append({"component": name, "part": key, **_scalars(value)})
        frame = pd.DataFrame(rows)
        # a number not known yet (a cache never filled) is None in the JSON: a column of
        # nothing but numbers and None is numeric, None its NaN
        for column in [c for c in frame.columns if frame[c].dtype == "object"]:
            if frame[column].dropna().map(_is_number).all():
                frame[column] = frame[column].astype(float)
        return frame

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

    def to_html(self, path: str | None = None) -> str:
        """The self-contained HTML report (see :func:`simperf.presentation.report.render`).

        Parameters
        ----------
        path
            When given, the report is also written there.

        Returns
        -------
        str
            The HTML document; it works offline (plotly's JavaScript is inlined).
        """
        from simperf.presentation.report import render

        html = render(self)
        if path is not None:
            with open(path, "w", encoding="utf-8") as out:
                out.write(html)
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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}

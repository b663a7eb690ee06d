"""The result of one run: tidy frames, a JSON-ready dictionary and a printable summary."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from simperf.units import format_time

SHORT_RUN_RELAXATIONS = 100
"""A measured period shorter than this many relaxation times gets a warning: an interval
from one run needs about 20 batches each several relaxation times long."""


@dataclass
class Result:
    """What one run of one scenario with one seed measured.

    Attributes
    ----------
    latency
        One row per request class (and ``all``): count, mean, p50 ... p999, max in
        seconds, throughput (completed ok per second), errors, error_rate.
    components
        One row per instance and per component: utilization (busy cores / cores),
        worker_occupancy (busy workers / workers) and, with a connection pool,
        pool_occupancy (busy connections / pool size) and pool_wait, all time-weighted;
        queue lengths, mean wait and service time, served, rejected.
    timeseries
        Long frame (start, end, component, metric, value) in fixed windows.
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
    perf: dict[str, float] = field(default_factory=dict)

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
            metrics as columns; empty when the run has no such section.
        """
        rows: list[dict[str, Any]] = []
        for name, metrics in self.data.get(section, {}).items():
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
        return pd.DataFrame(rows)

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
    def requests(self) -> pd.DataFrame:
        """One row per finished request, in finishing order of record.

        Returns
        -------
        pandas.DataFrame
            ``class`` and ``outcome`` (``ok`` or an error cause) as categoricals,
            ``start``, ``end`` and ``latency`` in seconds, and ``measured`` (started
            after the warm-up, as the latency table counts). Empty for a result rebuilt
            from a dictionary, which keeps no per-request records.
        """
        arrays = getattr(self, "_arrays", None)
        classes = [name for name in self.data["latency"] if name != "all"]
        causes = ["ok", *self.data["requests"]["errors"]]
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
        from simperf.presentation.tables import result_html

        return result_html(self)

    def summary(self) -> str:
        """A readable multi-line summary for terminals and notebooks."""
        d = self.data
        req = d["requests"]
        lines = [
            f"scenario {d['scenario']}  seed {d['seed']}  "
            f"measured {d['measured_time']:.6g} s after {d['warmup']:.6g} s warm-up",
            f"requests  generated {req['generated']}  ok {req['ok']}  failed {req['failed']}  "
            f"in flight {req['in_flight']}",
            "throughput "
            + (f"{d['throughput']:.6g} req/s" if d["throughput"] is not None else "-")
            + "   error rate "
            + (f"{d['error_rate']:.3%}" if d["error_rate"] is not None else "-"),
        ]
        if d["measured_time"] <= 0:
            lines.append("warning   the run ended before the warm-up did: nothing was measured")
        auto = d.get("warmup_auto")
        if auto and auto["relaxation_time"] is not None:
            relaxation = auto["relaxation_time"]
            lines.append(
                f"warm-up   auto: cut {format_time(auto['cut_time'])}, decided by "
                f"{auto['decided_by']} (relaxation time {format_time(relaxation)})"
            )
            if d["measured_time"] < SHORT_RUN_RELAXATIONS * relaxation:
                lines.append(
                    f"warning   the measured period is only {d['measured_time'] / relaxation:.0f} "
                    "relaxation times long: its mean is noisy; run longer or replicate"
                )
        if any(req["errors"].values()):
            lines.append(
                "errors    " + "  ".join(f"{k} {v}" for k, v in req["errors"].items() if v)
            )
        stab = d["stability"]
        lines.append(
            f"stability {stab['status']}"
            + (f" ({stab['component']}: {stab['reason']})" if stab["reason"] else "")
        )
        lines.extend(f"warning   {w}" for w in stab.get("warnings", []))
        cost = d.get("cost")
        if cost and cost["components"]:
            parts = "  ".join(f"{k} {v:.4g}" for k, v in cost["components"].items())
            lines.append(f"cost      {cost['total_per_hour']:.4g} per hour ({parts})")
        if d.get("alerts"):
            from simperf.metrics.alerts import summary_lines as alert_lines

            lines.extend(alert_lines(d["alerts"]))
        lines.append("")
        header = (
            f"{'class':<16}{'count':>9}{'mean':>11}{'p50':>11}{'p95':>11}{'p99':>11}{'max':>11}"
        )
        lines.append(header)
        for name, row in d["latency"].items():
            lines.append(
                f"{name:<16}{row['count']:>9}"
                + "".join(
                    f"{format_time(row[k]):>11}" for k in ("mean", "p50", "p95", "p99", "max")
                )
            )
        lines.append("")
        lines.append(
            f"{'component':<16}{'kind':<15}{'util':>7}{'workers':>8}{'pool':>7}{'queue':>9}"
            f"{'wait':>11}{'served':>10}"
        )
        for name, comp in d["components"].items():
            queue = comp.get("mean_queue_length")
            lines.append(
                f"{name:<16}{comp['kind']:<15}"
                + "".join(
                    f"{comp[k]:>{w}.1%}" if comp.get(k) is not None else f"{'-':>{w}}"
                    for k, w in (("utilization", 7), ("worker_occupancy", 8), ("pool_occupancy", 7))
                )
                + (f"{queue:>9.3g}" if queue is not None else f"{'-':>9}")
                + f"{format_time(comp.get('mean_wait')):>11}"
                + f"{comp.get('served', comp.get('dispatched', '-')):>10}"
            )
        if d.get("databases"):
            from simperf.metrics.database import summary_lines

            lines.extend(summary_lines(d["databases"]))
        if d.get("caches"):
            lines.append("")
            lines.append(
                f"{'cache':<16}{'hit rate':>9}{'hits':>10}{'misses':>10}{'evictions':>11}"
                f"{'expired':>9}{'stale':>8}{'lost writes':>13}"
            )
            for name, cache in d["caches"].items():
                rate = cache["hit_rate"]
                lines.append(
                    f"{name:<16}"
                    + (f"{rate:>9.1%}" if rate is not None else f"{'-':>9}")
                    + f"{cache['hits']:>10}{cache['misses']:>10}{cache['evictions']:>11}"
                    + f"{cache['expirations']:>9}{cache['stale_reads']:>8}"
                    + f"{cache['lost_writes']:>13}"
                )
        if d.get("cdns"):
            lines.append("")
            lines.append(f"{'cdn':<16}{'hit rate':>9}{'offload':>9}{'bytes off':>11}{'origin':>10}")
            for name, cdn in d["cdns"].items():
                parts = [(name, cdn)]
                parts += [(f"  edge {r}", e) for r, e in cdn["edges"].items()]
                if "shield" in cdn:
                    parts.append(("  shield", cdn["shield"]))
                for label, m in parts:
                    lines.append(
                        f"{label:<16}"
                        + "".join(
                            f"{m[k]:>{w}.1%}" if m[k] is not None else f"{'-':>{w}}"
                            for k, w in (("hit_rate", 9), ("offload", 9), ("byte_offload", 11))
                        )
                        + f"{m['origin_requests']:>10}"
                    )
        lines.extend(_cache_state_lines(d))
        if self.perf:
            lines.append("")
            lines.append(
                f"wall time {self.perf['wall_time']:.3g} s  "
                f"({self.perf['requests_per_second']:,.0f} requests/s, "
                f"{self.perf['events_per_second']:,.0f} events/s)"
            )
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.summary())

    def __repr__(self) -> str:
        d = self.data
        return (
            f"Result(scenario={d['scenario']!r}, seed={self.seed}, "
            f"throughput={d['throughput']:.6g}, p99={d['latency']['all']['p99']}, "
            f"stability={d['stability']['status']!r})"
        )


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}


def _cache_state_lines(d: dict[str, Any]) -> list[str]:
    """Summary lines for sessions, rate limiters and leaderboards (none if absent)."""
    lines: list[str] = []
    for name, report in (d.get("sessions") or {}).items():
        lines.append(
            f"sessions {name} ({report['store']}): active {report['active']}  "
            f"created {report['created']}  lost {report['lost']}  "
            f"reauthentications {report['reauthentications']}"
        )
    for name, report in (d.get("rate_limits") or {}).items():
        lines.append(
            f"rate limit {name}: admitted {report['admitted']}  rejected {report['rejected']}"
        )
    for name, report in (d.get("leaderboards") or {}).items():
        lines.append(f"leaderboard {name}: members {report['members']}  ops {report['ops']}")
    return ["", *lines] if lines else []

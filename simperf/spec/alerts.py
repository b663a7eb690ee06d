"""Alerts: conditions on the simulated time series, evaluated after the run.

``alerts: [{name: slow, metric: p99, above: 2s, for: 2h}]`` fires whenever the p99 of
the requests finished in a time-series window stays above 2 s for two hours. Metric
names are those of the time series (``Result.timeseries``): request metrics (latency
percentiles, ``throughput``, ``errors``, ``error_rate``) of all requests or of one
``class``, ``in_system``, ``utilization`` or ``queue_length`` of a ``component`` (or
of one of its instances), the requests an app server (or one instance) ``shed``,
dropped past their deadline (``expired``) or dropped as cancelled (``cancelled``) in a
window, and the queries a database dropped so (``expired``, ``cancelled``: at its servers
and its pools, or at one server's cores and storage). The threshold takes the metric's
unit: a time for latencies (``200ms``), a rate for throughput (``50/s``), a fraction or a
percentage for ratios (``0.9``, ``1%``), a number for counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from simperf.spec.base import IDENTIFIER, MAX_COUNT, MAX_TIME, SpecModel, Time
from simperf.spec.database import DATABASE_KINDS
from simperf.spec.resilience import drops_queries
from simperf.spec.slo import TargetText
from simperf.units import parse_count, parse_fraction, parse_rate, parse_time

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

LATENCY_METRICS = ("mean", "p50", "p90", "p95", "p99", "p999", "max")
"""Latency statistics of the ok requests finished in a window (seconds)."""
REQUEST_METRICS = frozenset({*LATENCY_METRICS, "throughput", "errors", "error_rate"})
"""Metrics of finished requests: of all of them, or of one request class."""
COUNTER_METRICS = {"shed": "sheds", "expired": "drops", "cancelled": "drops"}
"""An app server's counts per window (its instances' together, or one's), and what the
server must do for the count to exist: shed (a ``queue`` or a ``concurrency_limit``) or
drop (``queue.drop_expired``). A database counts the drops (``drop_expired``: its own,
at its servers, or a pool's for it; one server's, at its cores and storage, with
``instance``)."""
INSTANCE_METRICS = frozenset({"utilization", "queue_length", *COUNTER_METRICS})
"""Metrics of a component (its own instances together) or of one of its instances."""
MEASURED_KINDS = frozenset({"app_server", "cache", "database", "sharded_database"})
"""Component kinds with instances whose utilisation and queue are measured."""
COUNTED_KINDS = {"app_server": "most_replicas", "cache": "nodes"}
"""Kinds whose instances are numbered by a field of the spec (an app server's slots: up to
``autoscaling.max`` when autoscaled, else ``replicas``); a database's servers are checked
against the built model, before the run."""

AlertMetric = Literal[
    "mean",
    "p50",
    "p90",
    "p95",
    "p99",
    "p999",
    "max",
    "throughput",
    "errors",
    "error_rate",
    "in_system",
    "utilization",
    "queue_length",
    "shed",
    "expired",
    "cancelled",
]


_PARSERS = {
    **dict.fromkeys(LATENCY_METRICS, parse_time),
    "throughput": parse_rate,
    "error_rate": parse_fraction,
    "utilization": parse_fraction,
    "errors": parse_count,
    "in_system": parse_count,
    "queue_length": parse_count,
    **dict.fromkeys(COUNTER_METRICS, parse_count),
}


class AlertSpec(SpecModel):
    """An alert on a time-series metric: it fires while the condition has held for ``for``.

    The metric is computed at the end of each time-series window over the last
    ``window``; the condition holds over a time-series window whose value crosses the
    threshold (a window without samples never does). An alert fires once its condition
    has held without a break for longer than ``for``, and stops when it no longer holds.
    """

    name: str = Field(pattern=IDENTIFIER, max_length=64, description="alert name")
    metric: AlertMetric = Field(description="time-series metric the alert watches")
    request_class: str = Field(
        "all",
        alias="class",
        max_length=64,
        description="request class of a request metric (all: every request)",
    )
    component: str | None = Field(
        None,
        max_length=64,
        description="component of utilization, queue_length, shed, expired and cancelled",
    )
    instance: int | None = Field(
        None,
        ge=0,
        lt=MAX_COUNT,
        description="index of one of the component's instances (default: all together); "
        "an autoscaled server's slot below its max, evaluated while provisioned",
    )
    above: float | TargetText | None = Field(
        None, description="fires above this value (unit of the metric: 200ms, 50/s, 1%, 0.9)"
    )
    below: float | TargetText | None = Field(
        None, description="fires below this value (unit of the metric: 200ms, 50/s, 1%, 0.9)"
    )
    for_: Time = Field(
        0.0,
        alias="for",
        ge=0,
        le=MAX_TIME,
        description="how long the condition must hold before the alert fires",
    )
    window: Time | None = Field(
        None,
        gt=0,
        le=MAX_TIME,
        description=(
            "period each value is computed over, a whole number of time-series windows "
            "(default: one)"
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> AlertSpec:
        if (self.above is None) == (self.below is None):
            raise ValueError("give above or below (one of them)")
        side = "above" if self.above is not None else "below"
        try:
            _PARSERS[self.metric](getattr(self, side))
        except ValueError as exc:
            raise ValueError(f"{side}: {exc}") from None
        if self.metric in INSTANCE_METRICS and self.component is None:
            raise ValueError(f"component: required for {self.metric}")
        if self.metric not in INSTANCE_METRICS and self.component is not None:
            raise ValueError(
                "component: only utilization, queue_length, shed, expired and cancelled "
                "take a component"
            )
        if self.instance is not None and self.component is None:
            raise ValueError("instance: needs a component")
        if self.metric not in REQUEST_METRICS and self.request_class != "all":
            raise ValueError(f"class: {self.metric} is not measured per request class")
        return self

    @property
    def direction(self) -> str:
        """``above`` or ``below``."""
        return "above" if self.above is not None else "below"

    @property
    def threshold(self) -> float:
        """The threshold in the metric's base unit (seconds, per second, fraction, count)."""
        return _PARSERS[self.metric](getattr(self, self.direction))


def alert_problems(scenario: Scenario) -> list[str]:
    """Every problem with ``alerts`` references, each as ``path: message``.

    Instance indexes of app servers and caches are checked here; those of databases
    against the built model, before the run (see
    :func:`simperf.metrics.alerts.check_targets`).
    """
    problems: list[str] = []
    classes = [c.name for c in scenario.workload.classes]
    components = scenario.components
    seen: set[str] = set()
    for i, alert in enumerate(scenario.alerts):
        path = f"alerts[{i}]"
        if alert.name in seen:
            problems.append(f"{path}.name: alert {alert.name!r} is defined twice")
        seen.add(alert.name)
        if alert.request_class != "all" and alert.request_class not in classes:
            problems.append(
                f"{path}.class: unknown request class {alert.request_class!r} "
                f"(classes: all, {', '.join(classes)})"
            )
        if alert.component is None:
            continue
        spec = components.get(alert.component)
        if spec is None:
            known = ", ".join(sorted(components))
            problems.append(
                f"{path}.component: unknown component {alert.component!r} (known: {known})"
            )
        elif spec.kind not in MEASURED_KINDS:
            problems.append(
                f"{path}.component: {alert.component!r} ({spec.kind}) has no instances of its "
                f"own to measure; {', '.join(sorted(MEASURED_KINDS))} components have"
            )
        elif alert.metric in COUNTER_METRICS and (
            problem := _counter_problem(scenario, alert, spec)
        ):
            problems.append(f"{path}.metric: {problem}")
        elif alert.instance is not None and spec.kind in COUNTED_KINDS:
            count = int(getattr(spec, COUNTED_KINDS[spec.kind]))
            if alert.instance >= count:
                slots = " (autoscaling.max)" if getattr(spec, "autoscaling", None) else ""
                problems.append(
                    f"{path}.instance: {alert.component!r} has {count} instance(s){slots}, "
                    "numbered from 0"
                )
    return problems


def _counter_problem(scenario: Scenario, alert: AlertSpec, spec: Any) -> str | None:
    """Why the component the alert names never counts its metric (None: it may)."""
    metric, name = alert.metric, str(alert.component)
    if spec.kind in DATABASE_KINDS and COUNTER_METRICS[metric] == "drops":
        if alert.instance is None:
            if not drops_queries(scenario, name):
                return f"{name!r} drops nothing {metric} (no drop_expired on it or a pool for it)"
        elif not spec.drop_expired:
            # a pool's drops are no server's: they never reach one
            return (
                f"{name!r}'s servers drop nothing {metric} (no drop_expired on it); "
                "its pools' drops are counted for the database, without instance"
            )
        return None
    if spec.kind != "app_server":
        counted = "app servers" if metric == "shed" else "app servers and databases"
        return f"{metric} is counted by {counted}; {name!r} is a {spec.kind}"
    queue = getattr(spec, "queue", None)
    if COUNTER_METRICS[metric] == "sheds":
        if queue is None and spec.concurrency_limit is None:
            return f"{name!r} sheds nothing (no queue or concurrency_limit)"
    elif queue is None or not queue.drop_expired:
        return f"{name!r} drops nothing {metric} (no queue.drop_expired)"
    return None

"""One run: build, execute, summarise."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from simperf import fastpath
from simperf.build import build
from simperf.errors import SpecError
from simperf.estimate import estimate
from simperf.metrics import alerts, traces
from simperf.metrics.availability import faults_section
from simperf.metrics.headroom import (
    MAX_UNITS,
    at_max,
    at_peak,
    busiest_window,
    during_faults,
    fail_fasts_between,
    headroom,
    mark_fault_spills,
    mark_spills,
    spilling,
    stopped_calls,
    worst,
)
from simperf.metrics.request_stats import clean
from simperf.metrics.result import COMPONENT_COLUMNS, Result, typed_frame
from simperf.metrics.summary import Summary
from simperf.spec.autoscaling import autoscaled
from simperf.spec.cost import scenario_cost, with_autoscaling
from simperf.spec.scenario import Scenario
from simperf.spec.size_estimate import check_size
from simperf.spec.workload import TIME_VARYING_ARRIVALS


def run(
    scenario: Scenario,
    *,
    seed: int | None = None,
    replication: int = 0,
    overrides: dict[str, Any] | None = None,
) -> Result:
    """Simulate a scenario once.

    Parameters
    ----------
    scenario
        A validated scenario (see :func:`simperf.load`).
    seed
        Root seed (default: the scenario's ``run.seed``). Same scenario and seed give
        identical results.
    replication
        Replication index: independent random streams for the same seed.
    overrides
        Dotted-path overrides applied first, e.g. ``{"components.app.replicas": 8}``.

    Returns
    -------
    Result

    Raises
    ------
    SpecError
        If the run's estimated events exceed ``run.max_events`` (checked before building).

    Examples
    --------
    >>> import simperf
    >>> result = simperf.run(simperf.load("models/mm1.yaml"), seed=7)  # doctest: +SKIP
    >>> result.latency.set_index("class").loc["all", "p99"]  # doctest: +SKIP
    """
    if overrides:
        scenario = scenario.with_overrides(overrides)
    started = time.perf_counter()
    check_size(scenario)
    model = build(scenario, seed=seed, replication=replication)
    alerts.check_targets(model)
    engine = scenario.run.engine
    refused = None
    if engine in ("fast", "auto"):
        try:
            executed = fastpath.execute(model)
        except fastpath.Refused as reason:
            if engine == "fast":
                raise SpecError(f"run.engine: fast is not exact here: {reason}") from None
            refused = str(reason)
        else:
            return _timed(executed, started, engine="fast")
    return _timed(model.execute(), started, refused=refused)


def _timed(model: Any, started: float, **how: Any) -> Result:
    """:func:`summarise` an executed ``model``, adding to ``perf`` the time before and after
    its simulation (``perf.wall_time`` times the simulation alone).

    Building thousands of instances can take longer than running them: ``build_time`` is
    all of ``run`` before the simulation's clock started (the size check, the build, a
    fast path tried and refused), ``summary_time`` all of it after.
    """
    executed = time.perf_counter()
    result = summarise(model, **how)
    result.perf["build_time"] = max(executed - started - model.wall_time, 0.0)
    result.perf["summary_time"] = time.perf_counter() - executed
    return result


def summarise(
    model: Any,
    *,
    engine: str = "events",
    refused: str | None = None,
) -> Result:
    """Turn an executed model into a :class:`Result`.

    ``engine`` ran it (``perf.engine``); ``refused`` is why the fast path was not exact
    (``perf.fast_path_refused``), when ``run.engine`` was ``auto``.
    """
    summary = Summary(model)
    rows = summary.instance_rows()
    latency = summary.latency()
    requests = summary.requests()
    components = summary.components(rows)
    reports = summary.component_reports()
    all_stats = latency["all"]
    data: dict[str, Any] = {
        "scenario": model.scenario.name,
        "seed": model.ctx.seed,
        "replication": model.ctx.replication,
        "warmup": summary.warmup,
        "warmup_auto": summary.auto_warmup,
        "end_time": model.end,
        "measured_time": summary.measured_time,
        "requests": requests,
        "throughput": all_stats["throughput"],
        "error_rate": all_stats["error_rate"],
        "errors": dict(summary.measured_errors),  # the measured period's, as error_rate
        "latency": latency,
        "components": components,
        "stability": summary.stability(rows),
        "checks": summary.checks(),
        "cost": scenario_cost(model.scenario),
        "headroom": None,
        "estimate": beside(model.scenario),
    }
    for section, name, metrics in reports:
        data.setdefault(section, {})[name] = metrics
    data["headroom"] = _headroom(model, summary, rows, data.get("calls", {}), data["estimate"])
    if "autoscaling" in data:
        data["cost"] = with_autoscaling(data["cost"], data["autoscaling"])
    if model.scenario.alerts:
        data["alerts"] = alerts.evaluate(summary)
    faults = faults_section(summary)
    if faults is not None:
        data["faults"] = faults
    latency_frame = typed_frame([{"class": name, **row} for name, row in latency.items()])
    component_rows = [
        {
            "component": name,
            "instance": "all",
            **{k: v for k, v in comp.items() if k != "per_instance"},
        }
        for name, comp in components.items()
    ]
    instance_rows = [
        {
            k: v
            for k, v in r.items()
            if k not in ("waits", "folded_waits", "storage_expired")
            and not k.endswith(("_area", "_total"))
        }
        for r in rows
        if r["instance"] not in summary.unlisted  # past run.per_instance
    ]
    components_frame = typed_frame(component_rows + instance_rows, COMPONENT_COLUMNS)
    spans = slow = None
    tracer = model.ctx.tracer
    if tracer is not None:
        frame = (summary.classes, summary.causes, summary.warmup)
        spans = traces.spans_frame(tracer.traces, *frame)
        slow = traces.spans_frame(tracer.slowest, *frame)
        starts = np.frombuffer(tracer.starts, dtype=float)
        data["traces"] = traces.section(
            spans,
            slow,
            tracer.spec.sample,
            tracer.spec.slowest,
            traced=starts.size,
            measured=int((starts >= summary.warmup).sum()),
        )
    perf: dict[str, Any] = {
        "wall_time": model.wall_time,
        "events": model.events,
        "events_per_second": model.events / model.wall_time if model.wall_time > 0 else 0.0,
        "requests_per_second": requests["generated"] / model.wall_time
        if model.wall_time > 0
        else 0.0,
        "engine": engine,
    }
    if refused is not None:
        perf["fast_path_refused"] = refused
    result = Result(
        scenario=model.scenario,
        seed=model.ctx.seed,
        replication=model.ctx.replication,
        data=_json_safe(data),
        latency=latency_frame,
        components=components_frame,
        timeseries=summary.timeseries(),
        perf=perf,
    )
    result._arrays = summary.records  # per-request records (the first kept), for tests and plots
    result._causes = summary.causes  # their outcome codes' causes (errors leave some out)
    if spans is not None:
        result._spans, result._slow_spans = spans, slow
    if summary.windows is not None:
        result._arrival_windows = summary.windows
    return result


def _headroom(
    model: Any,
    summary: Summary,
    rows: list[dict[str, Any]],
    calls: dict[str, Any],
    estimated: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``headroom`` section: against the load offered (breakers' fail-fasts counted),
    the estimate's behind a spilling balancer and, in a run with faults, while each
    fault lasted."""
    keyed = {key: c for key, c in model.components.items() if c.kind == "route"}
    routes = list(keyed.values())
    stopped = stopped_calls(model.scenario, routes, calls) if calls else None
    section = at_max(
        headroom(rows, stopped), rows, autoscaled(model.scenario), summary.measured_time, stopped
    )
    spills = spilling(model.scenario)
    section = mark_spills(section, spills, estimated)
    # a load varying in time saturates at its peak first: the headline is the busiest
    # window's, the mean load's kept beside it
    arrival = model.scenario.workload.arrival
    grid = summary._grid()
    window = busiest_window(grid) if arrival is not None else None
    if arrival is not None and arrival.kind in TIME_VARYING_ARRIVALS and window is not None:
        span = grid[-1].time - grid[0].time
        mean_rate = (grid[-1].generated - grid[0].generated) / span if span > 0 else 0.0
        # the fail-fasts of the window itself: a breaker opens at the peak, not evenly
        in_window = fail_fasts_between(keyed, *window)
        section = at_peak(
            section,
            window,
            rows,
            autoscaled(model.scenario),
            mean_rate,
            spills,
            estimated,
            stopped_calls(model.scenario, routes, in_window) if calls else None,
        )
    else:
        section["load"] = "mean"
    if model.scenario.faults and summary.snapshots:
        # where the load varies in time, also at the busiest window within each fault
        units = during_faults(
            model.ctx.faults,
            summary.snapshots[0],
            summary.snapshots[-1],
            rows,
            grid if section["load"] == "peak" else None,
            model.scenario,
            keyed,
        )
        mark_fault_spills(units, spills)
        section["faults"] = units[:MAX_UNITS]
        section["fault"] = worst(units)
    return section


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return clean(value)
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return value


def beside(scenario: Scenario) -> dict[str, Any]:
    """The closed-form estimate shown beside the simulated numbers (its ``to_dict``).

    Computed once per run, after it (nothing on the simulation's path); where the
    closed forms fail on a spec, ``{"error": message}`` says so instead.
    """
    try:
        return estimate(scenario).to_dict()
    except (ValueError, ArithmeticError) as exc:
        return {"error": f"no closed-form estimate: {exc}"}

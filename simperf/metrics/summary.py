"""From a finished model to tidy tables and the result dictionary."""

from __future__ import annotations

import itertools
from functools import cached_property
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from simperf.metrics import instance_stats
from simperf.metrics.request_stats import (
    clean,
    pick,
    request_series,
    stats_of,
    tally,
)
from simperf.metrics.stability import verdict
from simperf.metrics.waits import measured_waits
from simperf.metrics.warmup import detect_warmup, warmup_report
from simperf.model import DEFAULT_WINDOWS, Model, Snapshot
from simperf.spec.database import DATABASE_KINDS

TIMESERIES_CHUNK = 1 << 16
"""Time-series rows gathered as tuples before they become a frame: a fleet of 20,000
instances has some 5M rows (one a metric, instance and window), whose tuples held all at
once cost about 1 GB more than the frame they make."""
SERIES_COLUMNS = ["start", "end", "component", "metric", "value"]
SUMMED = frozenset(
    {
        "busy_area",
        "queue_area",
        "provisioned_area",
        "shed",
        "expired",
        "cancelled",
        "worker_area",
        "workers",
    }
)
"""The counters of an instance past ``run.per_instance`` that its component's
time-series rows add up (:class:`_Unlisted`)."""
ATTEMPT_CAUSES = frozenset({"cancelled"})
"""Causes an attempt fails with but no request ends with, left out of the errors by
cause while none did: a ``cancelled`` copy is one its caller no longer waits for (a
hedged call's losing copy, or the calls made for it), and a client never cancels its own
request, whose outcome is its winning copy's. Where the copies were dropped is counted
as ``cancelled`` by what dropped them (``components.<app>``, ``databases.<db>``)."""


def _peer_imbalance(component: Any, rows: list[dict[str, Any]]) -> float | None:
    """Max / mean of ``served`` over instances that share one load: a database's
    servers of one role (its primary's writes are no share of its replicas' reads, so
    over all of them a balanced pair of replicas read 1.42x), the worst such group;
    every instance of any other component."""
    roles = {s.name: s.role for s in getattr(component, "servers", ())}
    groups: dict[Any, list[float]] = {}
    for r in rows:
        groups.setdefault(roles.get(r["instance"]), []).append(r["served"])
    found = [v for g in groups.values() if (v := instance_stats.imbalance(g)) is not None]
    return max(found) if found else None


def _series_frame(records: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=SERIES_COLUMNS)


class _Unlisted:
    """Consecutive instances past ``run.per_instance``, of one component and kind and with
    the same counters, added into their component's time-series figures at once.

    Each window's counters are read as one numpy column per counter, and added in the
    instances' order with the same float operations as the time series' loop adds one
    instance at a time, so a component's rows are the same whatever it lists.
    """

    def __init__(self, instances: list[Any], keys: frozenset[str], own: bool) -> None:
        self.names = [inst.name for inst in instances]
        self.component = instances[0].component
        self.app = instances[0].kind == "app_server"
        self.own = own  # of the component's own kind: in its utilisation
        self.capacity = np.array([inst.capacity for inst in instances], dtype=float)
        self.keys = keys & SUMMED  # what the component's rows read, nothing more
        self.order = sorted(self.keys)  # busy_area and queue_area at least: tuples
        self.get = itemgetter(*self.order)
        self._last: tuple[Snapshot, dict[str, np.ndarray]] | None = None

    def columns(self, snapshot: Snapshot) -> dict[str, np.ndarray]:
        """The counters at ``snapshot``, one array each (the last ones read are kept)."""
        if self._last is not None and self._last[0] is snapshot:
            return self._last[1]
        states = snapshot.instances
        get = self.get
        table = np.array([get(states[name]) for name in self.names], dtype=float)
        columns = {key: table[:, j] for j, key in enumerate(self.order)}
        self._last = (snapshot, columns)
        return columns

    def add(
        self,
        a: Snapshot,
        b: Snapshot,
        by_component: dict[str, list[float]],
        scaled: dict[str, list[float]],
        server_counts: dict[str, dict[str, float]],
        whole: list[Any] | None,
    ) -> None:
        """Add the window from ``a`` to ``b`` into the component's sums (see
        :meth:`Summary.timeseries`); ``whole``: its queue and workers, if it sums them."""
        sa, sb = self.columns(a), self.columns(b)
        span = b.time - a.time
        area = sb["busy_area"] - sa["busy_area"]
        provisioned = "provisioned_area" in self.keys
        exposure = sb["provisioned_area"] - sa["provisioned_area"] if provisioned else span
        if self.own and provisioned:
            totals = scaled.setdefault(self.component, [0.0, 0.0])
            for value in area.tolist():
                totals[0] += value
            for value in (self.capacity * exposure).tolist():
                totals[1] += value
        elif self.own:  # exposure is the span: never 0
            by_component.setdefault(self.component, []).extend(
                (area / (self.capacity * span)).tolist()
            )
        mine = server_counts.setdefault(self.component, {})
        for key in ("shed", "expired", "cancelled"):
            if self.app and key in self.keys:
                total = mine.get(key, 0.0)
                for value in (sb[key] - sa[key]).tolist():
                    total += value
                mine[key] = total
        if whole is None:
            return
        for value in ((sb["queue_area"] - sa["queue_area"]) / span).tolist():
            whole[0] += value
        if "worker_area" in self.keys:
            held = whole[1] or 0.0
            for value in (sb["worker_area"] - sa["worker_area"]).tolist():
                held += value
            whole[1] = held
            for value in (sb["workers"] * exposure).tolist():
                whole[2] += value


class Summary:
    """Everything measured in one run, as plain data and tidy frames.

    ``data`` holds one record per finished request, or, for a run past
    ``run.keep_requests``, weighted stand-in records (``weight``, ``latency_sum`` and
    ``latency_max`` columns; see :mod:`simperf.metrics.folded`); ``records`` holds the
    records kept either way.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        recorder = model.ctx.recorder
        self.relative_error: float | None = None  # of percentiles, when approximate
        if recorder.capped:
            times = np.array([s.time for s in model.snapshots])
            self.data = recorder.folded_arrays(times)
            self.relative_error = recorder.folded.relative_error  # type: ignore[union-attr]
            self.records = recorder.arrays()
        else:
            self.data = self.records = recorder.arrays()
        self.causes = recorder.causes
        self.classes = recorder.class_names
        self.end = model.end
        self.snapshots = model.snapshots
        self.stride = 1
        self.auto_warmup: dict[str, Any] | None = None
        self.windows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        run = model.scenario.run
        self.warmup = run.fixed_warmup
        if run.auto_warmup:
            self._detect_warmup()
        self.measured_time = max(self.end - self.warmup, 0.0)

    def _detect_warmup(self) -> None:
        """Cut the initial transient (see :mod:`simperf.metrics.warmup`).

        Requests are grouped by arrival into the snapshot windows (1/1000 of the run, or
        :meth:`~simperf.model.Model.auto_grid`'s coarser grid for a big fleet), so
        the cut falls on a snapshot and utilisation and queue lengths are measured over
        exactly the same period as latencies. The uncut windows stay in
        :attr:`windows` for detection over replications.
        """
        self.windows = self.arrival_windows()
        times, sums, counts = self.windows
        cut = detect_warmup(sums, counts)
        index = min(cut.index, max(len(self.snapshots) - 2, 0))
        grid = self.snapshots
        self.snapshots = grid[index:]
        self.warmup = self.snapshots[0].time if self.snapshots else 0.0
        window = self.model.scenario.run.window
        if window is not None and len(grid) > 2:
            # snapshots every tenth of run.window (Model.window), or of twice that after
            # each merge: the time series' windows are run.window's from the cut on
            self.stride = max(1, round(window / (grid[1].time - grid[0].time)))
        else:
            self.stride = max(1, (len(self.snapshots) - 1) // DEFAULT_WINDOWS)
        self.auto_warmup = warmup_report(cut, times, self.end)
        self.auto_warmup["cut_requests"] = tally(self.data, self.data["start"] < self.warmup)

    def arrival_windows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Snapshot times, and the sum and count of ok response times by arrival window."""
        data = self.data
        ok = data["outcome"] == 0
        times = np.array([s.time for s in self.snapshots])
        if times.size == 0:
            return times, np.zeros(0), np.zeros(0, dtype=int)
        window = np.searchsorted(times, data["start"][ok], side="right") - 1
        keep = window >= 0
        latency, weights = data.get("latency_sum", data["latency"]), data.get("weight")
        sums = np.bincount(window[keep], weights=latency[ok][keep], minlength=times.size)
        if weights is None:
            counts = np.bincount(window[keep], minlength=times.size)
        else:
            counts = np.bincount(window[keep], weights=weights[ok][keep], minlength=times.size)
            counts = counts.astype(np.int64)
        return times, sums[: times.size], counts[: times.size]

    # -- requests ---------------------------------------------------------------------
    @cached_property
    def _ok(self) -> np.ndarray:
        """Which records are of requests that succeeded (one mask for every table)."""
        return self.data["outcome"] == 0

    @cached_property
    def _measured(self) -> np.ndarray:
        """Which records are of requests that arrived after the warm-up."""
        return self.data["start"] >= self.warmup

    def _by_cause(self, mask: np.ndarray | None = None) -> dict[str, int]:
        """Failed requests by cause, of the records ``mask`` picks (None: all); a cause
        only attempts fail with (:data:`ATTEMPT_CAUSES`) where no request ended with it.

        Counted over the failed records alone, usually few.
        """
        data = self.data
        failed = ~self._ok if mask is None else mask & ~self._ok
        outcome = np.compress(failed, data["outcome"])
        weights = {"weight": np.compress(failed, data["weight"])} if "weight" in data else {}
        counts = {
            cause: tally(weights, outcome == code)
            for code, cause in enumerate(self.causes)
            if code > 0
        }
        return {cause: n for cause, n in counts.items() if n or cause not in ATTEMPT_CAUSES}

    @cached_property
    def measured_errors(self) -> dict[str, int]:
        """Failed requests by cause, of those that arrived in the measured period (the
        result's top-level ``errors``, beside its ``error_rate``; ``requests.errors``
        counts the whole run, which it conserves)."""
        return self._by_cause(self._measured)

    def requests(self) -> dict[str, Any]:
        recorder = self.model.ctx.recorder
        data = self.data
        errors = self._by_cause()
        out = {
            "generated": recorder.generated,
            "ok": tally(data, self._ok),
            "failed": sum(errors.values()),
            "in_flight": recorder.in_flight,
            "measured": tally(data, self._measured),
            "errors": errors,
            # by the time they end, as the caches' and databases' stale_reads count
            "stale": recorder.stale - (self.snapshots[0].stale if self.snapshots else 0),
            "degraded": tally(data, data["degraded_start"] >= self.warmup, "degraded_weight"),
        }
        if self.relative_error is not None:
            out["records_kept"] = int(self.records["end"].size)
        return out

    def latency(self) -> dict[str, dict[str, Any]]:
        data = self.data
        measured = self._measured
        ok = measured & self._ok
        completed_ok = (data["end"] >= self.warmup) & self._ok
        rows: dict[str, dict[str, Any]] = {}
        span = self.measured_time
        # requests shed by an app server's queue or concurrency limit, where one can shed
        shed = None
        if "shed" in self.causes:
            shed = measured & (data["outcome"] == self.causes.index("shed"))
        single: dict[str, Any] | None = None  # one class: "all" is the same records
        for index, name in enumerate([*self.classes, "all"]):
            mine = None if name == "all" else data["klass"] == index
            if mine is not None and mine.all():
                mine = None  # every record: no mask to apply

            def of(mask: np.ndarray, mine: np.ndarray | None = mine) -> np.ndarray:
                return mask if mine is None else mask & mine

            if name == "all" and single is not None:
                stats: dict[str, Any] = dict(single)
            else:
                stats = stats_of(data, of(ok))
                if len(self.classes) == 1:
                    single = dict(stats)
            if self.relative_error is not None:
                stats["exact"] = False  # percentiles from the folded buckets
                stats["relative_error"] = self.relative_error
            finished = tally(data, of(measured))
            failed = finished - tally(data, of(ok))
            stats["throughput"] = tally(data, of(completed_ok)) / span if span > 0 else None
            stats["errors"] = failed
            stats["error_rate"] = failed / finished if finished else None
            if shed is not None:
                stats["shed"] = tally(data, of(shed))
            stats["degraded"] = self._degraded(None if name == "all" else index)
            rows[name] = stats
        return rows

    def _degraded(self, klass: int | None) -> int:
        """Measured ``ok`` requests of a class (None: all) a fallback stood in for."""
        data = self.data
        measured = data["degraded_start"] >= self.warmup
        if klass is not None:
            measured &= data["degraded_klass"] == klass
        return tally(data, measured, "degraded_weight")

    # -- components -------------------------------------------------------------------
    @cached_property
    def unlisted(self) -> frozenset[str]:
        """Instances past ``run.per_instance`` of their component (and kind): counted in
        their component's figures, never listed one by one (no time-series rows of
        their own, no ``per_instance`` entry)."""
        run = self.model.scenario.run
        groups: dict[tuple[str, str], list[str]] = {}
        for inst in self.model.instances:
            if inst.name != inst.component:  # a shared link: its row is its component's
                groups.setdefault((inst.component, inst.kind), []).append(inst.name)
        return frozenset(
            name for names in groups.values() for name in names[run.listed(len(names)) :]
        )

    def instance_rows(self) -> list[dict[str, Any]]:
        if len(self.snapshots) < 1:
            return []
        first, last = self.snapshots[0], self.snapshots[-1]
        span = last.time - first.time
        rows = []
        for inst in self.model.instances:
            a, b = first.instances[inst.name], last.instances[inst.name]
            served = b["served"] - a["served"]
            peaks = [s.instances[inst.name]["queue_peak"] for s in self.snapshots[1:]]
            exposure = instance_stats.exposure(a, b, span)
            waits, folded = measured_waits(inst, a, b)
            rows.append(
                {
                    "component": inst.component,
                    "instance": inst.name,
                    "kind": inst.kind,
                    "capacity": inst.capacity,
                    "utilization": clean(
                        (b["busy_area"] - a["busy_area"]) / (inst.capacity * exposure)
                    )
                    if exposure > 0
                    else None,
                    "mean_queue_length": clean((b["queue_area"] - a["queue_area"]) / span)
                    if span > 0
                    else None,
                    "max_queue_length": int(max(peaks)) if peaks else None,
                    "mean_wait": clean((b["wait_sum"] - a["wait_sum"]) / served)
                    if served
                    else None,
                    "mean_service": clean((b["service_sum"] - a["service_sum"]) / served)
                    if served
                    else None,
                    **instance_stats.wait_percentiles(waits, served, folded),
                    "waits": waits,  # for the component's percentiles; not a column
                    "folded_waits": folded,
                    "served": int(served),
                    "rejected": int(b["rejected"] - a["rejected"]),
                    "busy_area": b["busy_area"] - a["busy_area"],
                    "wait_total": b["wait_sum"] - a["wait_sum"],
                    "service_total": b["service_sum"] - a["service_sum"],
                    **instance_stats.memory(a, b, span),
                    **instance_stats.occupancy(a, b, exposure),
                    **instance_stats.connections(a, b, span),
                    **({"provisioned_time": exposure} if "provisioned_area" in b else {}),
                    **({"shed": int(b["shed"] - a["shed"])} if "shed" in b else {}),
                    **({"expired": int(b["expired"] - a["expired"])} if "expired" in b else {}),
                    # a database server's and its storage's drops at storage (headroom's)
                    **(
                        {"storage_expired": int(b["storage_expired"] - a["storage_expired"])}
                        if "storage_expired" in b
                        else {}
                    ),
                    **(
                        {"cancelled": int(b["cancelled"] - a["cancelled"])}
                        if "cancelled" in b
                        else {}
                    ),
                }
            )
        return rows

    def components(self, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        span = self.measured_time
        out: dict[str, dict[str, Any]] = {}
        for name, component in self.model.components.items():
            if not component.listed:
                continue
            # Rows of another kind (a database server's storage) are shown per instance
            # and judged for stability, but not averaged into the component's figures.
            mine = [r for r in rows if r["component"] == name and r["kind"] == component.kind]
            entry: dict[str, Any] = {"kind": component.kind}
            if mine:
                served = sum(r["served"] for r in mine)
                capacity = sum(r["capacity"] * r.get("provisioned_time", span) for r in mine)
                entry.update(
                    {
                        "instances": len(mine),
                        "utilization": clean(sum(r["busy_area"] for r in mine) / capacity)
                        if capacity > 0
                        else None,
                        "mean_queue_length": instance_stats.sum_or_none(
                            r["mean_queue_length"] for r in mine
                        ),
                        "max_queue_length": instance_stats.max_or_none(
                            r["max_queue_length"] for r in mine
                        ),
                        "mean_wait": clean(sum(r["wait_total"] for r in mine) / served)
                        if served
                        else None,
                        "mean_service": clean(sum(r["service_total"] for r in mine) / served)
                        if served
                        else None,
                        # one instance: its own (the same waits, served and sketch)
                        **(
                            {k: mine[0][k] for k in ("p_wait", *instance_stats.WAIT_PERCENTILES)}
                            if len(mine) == 1
                            else instance_stats.wait_percentiles(
                                np.concatenate([r["waits"] for r in mine]),
                                served,
                                instance_stats.merged([r["folded_waits"] for r in mine]),
                            )
                        ),
                        "served": served,
                        "rejected": sum(r["rejected"] for r in mine),
                        "imbalance": _peer_imbalance(component, mine),
                        "per_instance": {
                            r["instance"]: {k: r[k] for k in instance_stats.INSTANCE_KEYS if k in r}
                            for r in mine
                            if r["instance"] not in self.unlisted
                        },
                    }
                )
                if len(entry["per_instance"]) < len(mine):  # past run.per_instance
                    entry["per_instance_listed"] = len(entry["per_instance"])
                if any("shed" in r for r in mine):
                    entry["shed"] = sum(r.get("shed", 0) for r in mine)
                if any("expired" in r for r in mine):  # queue.drop_expired
                    entry["expired"] = sum(r.get("expired", 0) for r in mine)
                    entry["cancelled"] = sum(r.get("cancelled", 0) for r in mine)
                if any("memory_area" in r for r in mine):
                    entry.update(instance_stats.memory_total(mine, span))
                entry.update(instance_stats.occupancy_total(mine, span))
            dispatched = self._dispatched(name, component)
            if dispatched is not None:
                entry["dispatched"] = int(sum(dispatched))
                entry["imbalance"] = instance_stats.imbalance(dispatched)
                listed = self.model.scenario.run.listed(len(dispatched))
                entry["per_instance"] = {
                    inst.name: {"dispatched": count}
                    for inst, count in zip(
                        component.instances[:listed],  # type: ignore[attr-defined]
                        dispatched[:listed],
                        strict=True,
                    )
                }
                if listed < len(dispatched):  # past run.per_instance
                    entry["per_instance_listed"] = listed
            out[name] = entry
        return out

    def _dispatched(self, name: str, component: Any) -> list[int] | None:
        """Requests a balancer sent to each instance in the measured period."""
        if getattr(component, "dispatched", None) is None:
            return None
        if not self.snapshots or name not in self.snapshots[-1].components:
            return list(component.dispatched)
        first = self.snapshots[0].components[name]["dispatched"]
        last = self.snapshots[-1].components[name]["dispatched"]
        return [b - a for a, b in zip(first, last, strict=True)]

    def component_reports(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Sections contributed by components (caches, databases ...), measured period only."""
        if not self.snapshots:
            return []
        first, last = self.snapshots[0], self.snapshots[-1]
        span = last.time - first.time
        reports = []
        for name, component in self.model.components.items():
            if name in first.components and name in last.components:
                report = component.report(first.components[name], last.components[name], span)
                if report is not None:
                    reports.append((report[0], component.name, report[1]))
        return reports

    # -- stability --------------------------------------------------------------------
    def stability(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """The verdict: see :func:`simperf.metrics.stability.verdict`."""
        return verdict(
            self.model,
            self.snapshots,
            self._grid(),
            rows,
            errors=self.measured_errors,
            measured=tally(self.data, self._measured),
            degraded=self._degraded(None),
        )

    # -- time series ------------------------------------------------------------------
    def _grid(self) -> list[Snapshot]:
        """The snapshots that bound the time-series windows (the last one included)."""
        grid = self.snapshots[:: self.stride]
        if grid and grid[-1] is not self.snapshots[-1]:
            grid.append(self.snapshots[-1])
        return grid

    def timeseries(self) -> pd.DataFrame:
        data = self.data
        # records are appended as requests finish, so ends are already in time order
        ends, outcome, weights = data["end"], data["outcome"], data.get("weight")
        degraded_ends = data["degraded_end"]
        # counts up to each record (folded records stand for many), for counts by slice
        degraded_before = None
        if "degraded_weight" in data:
            degraded_before = np.concatenate([[0], np.cumsum(data["degraded_weight"])])
        records: list[tuple[float, float, str, str, float | None]] = []
        shed_code = self.causes.index("shed") if "shed" in self.causes else None
        # Errors by cause, for the causes this run produced (a run without failures adds
        # no rows).
        codes = [int(c) for c in np.unique(np.compress(outcome != 0, outcome))]
        grid = self._grid()
        edges = np.array([s.time for s in grid], dtype=float)
        series = {"all": request_series(edges, data)}
        # Each class's own request series, where there is more than one class (masks keep
        # the records' order of ends).
        if len(self.classes) > 1:
            for index, name in enumerate(self.classes):
                series[name] = request_series(edges, data, np.flatnonzero(data["klass"] == index))
        frames: list[pd.DataFrame] = []
        unlisted = self.unlisted
        kinds = {name: component.kind for name, component in self.model.components.items()}
        # components not listed whole (run.per_instance): their queue and workers as a whole
        partial = {i.component for i in self.model.instances if i.name in unlisted}
        plan = self._series_plan(grid)
        for i, (a, b) in enumerate(itertools.pairwise(grid)):
            if len(records) >= TIMESERIES_CHUNK:  # a big fleet's rows: see TIMESERIES_CHUNK
                frames.append(_series_frame(records))
                records = []
            span = b.time - a.time
            if span <= 0:
                continue
            lo, hi = np.searchsorted(ends, [a.time, b.time], side="left")
            window_outcome = outcome[lo:hi]
            window_data = data if weights is None else {"weight": weights[lo:hi]}
            records.extend((a.time, b.time, "all", *row) for row in series["all"][i])
            if shed_code is not None:
                shed = float(tally(window_data, window_outcome == shed_code))
                records.append((a.time, b.time, "all", "shed", shed))
            for code in codes:
                count = float(tally(window_data, window_outcome == code))
                records.append((a.time, b.time, "all", f"errors:{self.causes[code]}", count))
            for name in self.classes if len(self.classes) > 1 else ():
                records.extend((a.time, b.time, name, *row) for row in series[name][i])
            records.append(
                (a.time, b.time, "all", "in_system", (b.in_system_area - a.in_system_area) / span)
            )
            # the offered load, beside the throughput finished: they part under overload
            records.append(
                (a.time, b.time, "all", "arrival_rate", (b.generated - a.generated) / span)
            )
            by_component: dict[str, list[float]] = {}
            scaled: dict[str, list[float]] = {}  # autoscaled: busy and core-seconds
            # app server -> its instances' shed and DROPS, summed
            server_counts: dict[str, dict[str, float]] = {}
            # a component not listed whole: its queue length and [held, workers] summed
            wholes: dict[str, list[Any]] = {}
            for inst in plan:
                if isinstance(inst, _Unlisted):  # many at once, as the loop would add them
                    whole = None
                    if inst.component in partial and inst.own:
                        whole = wholes.setdefault(inst.component, [0.0, None, 0.0])
                    inst.add(a, b, by_component, scaled, server_counts, whole)
                    continue
                sa, sb = a.instances[inst.name], b.instances[inst.name]
                listed = inst.name not in unlisted
                exposure = instance_stats.exposure(sa, sb, span)
                area = sb["busy_area"] - sa["busy_area"]
                # an instance not provisioned in the window has no utilisation there
                busy = area / (inst.capacity * exposure) if exposure > 0 else None
                # a shared link is one instance named as its component: its row is
                # the component's, not to be recorded again as their mean
                if inst.kind == self.model.components[inst.component].kind and (
                    inst.name != inst.component
                ):
                    if "provisioned_area" in sb:
                        totals = scaled.setdefault(inst.component, [0.0, 0.0])
                        totals[0] += area
                        totals[1] += inst.capacity * exposure
                    else:
                        by_component.setdefault(inst.component, []).append(busy)
                if listed:
                    records.append((a.time, b.time, inst.name, "utilization", busy))
                mine = server_counts.setdefault(inst.component, {})
                if "shed" in sb:
                    shed = sb["shed"] - sa["shed"]
                    if listed:
                        records.append((a.time, b.time, inst.name, "shed", shed))
                    if inst.kind == "app_server":
                        mine["shed"] = mine.get("shed", 0.0) + shed
                if "expired" in sb:  # queue.drop_expired: attempts dropped past their deadline
                    dropped = sb["expired"] - sa["expired"]
                    # and those dropped as their caller cancelled them (what alerts watch)
                    cancelled = sb["cancelled"] - sa["cancelled"]
                    if listed:
                        records.append((a.time, b.time, inst.name, "expired", dropped))
                        records.append((a.time, b.time, inst.name, "cancelled", cancelled))
                    if inst.kind == "app_server":  # a database's own row: dropped() below
                        mine["expired"] = mine.get("expired", 0.0) + dropped
                        mine["cancelled"] = mine.get("cancelled", 0.0) + cancelled
                queue = (sb["queue_area"] - sa["queue_area"]) / span
                if inst.component in partial and inst.kind == kinds[inst.component]:
                    whole = wholes.setdefault(inst.component, [0.0, None, 0.0])
                    whole[0] += queue
                    if "worker_area" in sb:
                        whole[1] = (whole[1] or 0.0) + sb["worker_area"] - sa["worker_area"]
                        whole[2] += sb["workers"] * exposure
                if not listed:
                    continue
                if "worker_area" in sb:
                    workers = sb["workers"] * exposure
                    held = (sb["worker_area"] - sa["worker_area"]) / workers if workers else None
                    records.append((a.time, b.time, inst.name, "worker_occupancy", held))
                records.append((a.time, b.time, inst.name, "queue_length", queue))
            for component, (queue, held, workers) in wholes.items():
                records.append((a.time, b.time, component, "queue_length", queue))
                if held is not None:  # app servers: as an instance's, None while none ran
                    occupancy = held / workers if workers > 0 else None
                    records.append((a.time, b.time, component, "worker_occupancy", occupancy))
            for component, values in by_component.items():
                records.append((a.time, b.time, component, "utilization", float(np.mean(values))))
            for component, (area, seconds) in scaled.items():
                value = area / seconds if seconds > 0 else None
                records.append((a.time, b.time, component, "utilization", value))
            # the server's as a whole, as an alert on it (no instance) counts them
            for component, totals in server_counts.items():
                records.extend((a.time, b.time, component, *total) for total in totals.items())
            records.extend(instance_stats.instance_counts(a, b, span))
            for name, nodes in b.components.items():
                kind = self.model.components[name].kind
                if kind == "cache":
                    records.append(
                        (a.time, b.time, name, "hit_rate", instance_stats.hit_rate(a, nodes, name))
                    )
                    # what reaches the store behind it: the load a lost node sends there
                    reads = instance_stats.count(a, nodes, name, "store_reads")
                    records.append((a.time, b.time, name, "store_reads_per_second", reads / span))
                elif (
                    kind in DATABASE_KINDS
                    and (drops := instance_stats.dropped(a, b, name)) is not None
                ):
                    # drop_expired: at its cores and its pools, as databases.<name> counts
                    records.extend((a.time, b.time, name, k, float(v)) for k, v in drops.items())
                elif kind == "route" and self.model.components[name].shown:
                    records.extend(instance_stats.route_series(a, b, name, span))
            if degraded_ends.size:
                lo, hi = np.searchsorted(degraded_ends, [a.time, b.time], side="left")
                count = hi - lo
                if degraded_before is not None:
                    count = degraded_before[hi] - degraded_before[lo]
                records.append((a.time, b.time, "all", "degraded", float(count)))
        if records or not frames:
            frames.append(_series_frame(records))
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        frame["value"] = frame["value"].astype(float)
        return frame

    def _series_plan(self, grid: list[Snapshot]) -> list[Any]:
        """The instances in the time series' order: each listed one alone, those past
        ``run.per_instance`` in runs of one component, kind and counters
        (:class:`_Unlisted`), so that a big fleet's windows cost what is listed."""
        unlisted = self.unlisted
        kinds = {name: component.kind for name, component in self.model.components.items()}
        plan: list[Any] = []
        run: list[Any] = []
        keys: frozenset[str] = frozenset()

        def close() -> None:
            if run:
                own = run[0].kind == kinds[run[0].component]
                plan.append(_Unlisted(list(run), keys, own))
                run.clear()

        last = grid[-1].instances if grid else {}
        for inst in self.model.instances:
            # a shared link is one instance named as its component: never summed here
            if inst.name not in unlisted or inst.name == inst.component or not grid:
                close()
                plan.append(inst)
                continue
            mine = frozenset(last[inst.name])
            if run and ((inst.component, inst.kind, mine) != (run[0].component, run[0].kind, keys)):
                close()
            keys = mine
            run.append(inst)
        close()
        return plan

    def checks(self) -> dict[str, Any]:
        """Little's law over the measured period: L versus lambda x W."""
        if len(self.snapshots) < 2 or self.measured_time <= 0:
            return {"mean_in_system": None, "arrival_rate": None, "mean_time_in_system": None}
        first, last = self.snapshots[0], self.snapshots[-1]
        span = last.time - first.time
        data = self.data
        measured = self._measured
        arrivals = last.generated - first.generated
        count = tally(data, measured)
        total = pick(data.get("latency_sum", data["latency"]), measured).sum()
        return {
            "mean_in_system": clean((last.in_system_area - first.in_system_area) / span),
            "arrival_rate": clean(arrivals / span),
            "mean_time_in_system": clean(total / count) if count else None,
        }

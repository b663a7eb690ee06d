"""The closed-form estimate of a scenario, without running the simulator.

Open workloads: every station is solved alone at the load the routes put on it
(:mod:`simperf.estimate.stations`), each class's mean is the sum of its route's mean
service, waits, delays and network hops. Closed workloads: exact MVA on the stations'
demands gives the throughput, and the waits it finds replace the open ones. The p99 is
approximate: each station's wait (none with the probability of not waiting, else
exponential, as in M/M/c; at a single server, M/G/1's) and service
(a gamma of its mean and cv) are summed along the route as independent
(:func:`simperf.estimate.stations.quantile`; exact for a chain of M/M/1 stations, whose
sojourns are independent), a query's waits and services at its
database's cores and storage among them, delay steps at their distribution and hops as
constant at their means; a class entering at a CDN mixes its edge hits and its misses
as routes of their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simperf.analysis.networks import mva
from simperf.dbcost.mix import client_region_shares
from simperf.estimate.routes import Routes
from simperf.estimate.stations import Station, Time, quantile
from simperf.keys import trace_times
from simperf.lazy import lazy_module
from simperf.presentation.cells import percent, target_value
from simperf.presentation.estimate_text import render
from simperf.presentation.tables import estimate_html
from simperf.spec.autoscaling import autoscaled
from simperf.spec.scenario import Scenario
from simperf.spec.workload import TIME_VARYING_ARRIVALS

# imported on first use: only a spilling geographic balancer's headroom solves for a root
optimize = lazy_module("scipy.optimize")

P99_METHOD = (
    "p99: each station's wait (no wait, or exponential, as in M/M/c; M/G/1's at a single "
    "server) and service (gamma of its mean and cv; a lognormal step's own) summed along "
    "the route as independent, a database query's too, delay steps at their distribution, "
    "a hedged call's copies sharing their callee's queue, network hops "
    "constant, a CDN's hits and misses as routes apart (exact for M/M/c, and chains of M/M/1)"
)
STATION_COLUMNS = (
    "servers",
    "instances",
    "visit_rate",
    "mean_service",
    "scv",
    "utilization",
    "mean_wait",
    "headroom",
)
HEDGE_PASSES = 8
"""Most solutions while hedged calls' copies per call settle."""
MAX_SCALE = 1e6
"""Largest load multiplier searched for a spilling station's saturation (beyond: none)."""
MAX_MVA_STATIONS = 8
"""Multi-server stations MVA solves instance by instance; beyond this many, a replicated
station is pooled into one with all its instances' servers (MVA's cost doubles with each)."""


@dataclass
class Estimate:
    """A closed-form estimate of a scenario (see :func:`estimate`).

    Attributes
    ----------
    scenario
        The scenario estimated.
    rate
        Requests per second entering (the throughput MVA finds for a closed workload).
    classes
        One row per request class and ``all``: ``rate``, ``mean``, ``p99`` (seconds; NaN
        when a station on the route is saturated).
    stations
        One row per station: ``component``, ``resource``, ``servers``, ``instances``,
        ``visit_rate``, ``mean_service``, ``scv``, ``utilization``, ``mean_wait``,
        ``headroom``.
    notes
        Component (or ``workload``, ``network``) -> what its estimate approximates or
        leaves out.
    unsettled
        Autoscaled server -> why it was estimated at the fleet it starts with (a step
        policy, a ``queue_length`` target, a closed workload...) rather than at the
        fleet its target settles at; the servers whose fleet was settled are absent.
    """

    scenario: Scenario
    rate: float
    classes: pd.DataFrame
    stations: pd.DataFrame
    notes: dict[str, list[str]]
    unsettled: dict[str, str] = field(default_factory=dict)

    @property
    def components(self) -> pd.DataFrame:
        """One row per component: its binding station's ``resource``, ``utilization``,
        ``headroom`` (the load multiplier at which it saturates: ``1 / utilization``, an
        autoscaled server's with its fleet at ``max``, or solved for behind a geographic
        balancer that spills), and ``notes``. Workers held without end (utilization and
        headroom NaN) bind where a saturated station downstream holds them; where the
        component's own station is saturated (its cores), that station binds, as in
        :attr:`bottleneck`."""
        rows = []
        frame = self.stations
        for name in dict.fromkeys(frame["component"]):
            mine = frame[frame["component"] == name]
            bounded = mine[np.isfinite(mine["utilization"])]
            if (bounded["utilization"] >= 1.0).any():
                # its own saturated cores hold its workers without end: the cores bind
                mine = bounded
            top = mine.loc[mine["utilization"].idxmax()]
            rows.append(
                {
                    "component": name,
                    "resource": top["resource"],
                    "utilization": top["utilization"],
                    "headroom": top["headroom"],
                    "notes": "; ".join(self.notes.get(name, [])),
                }
            )
        return pd.DataFrame(rows)

    @property
    def bottleneck(self) -> dict[str, Any] | None:
        """The station that saturates first as load grows: component, resource,
        utilization, headroom and the request rate at which it saturates."""
        busy = self.stations[self.stations["utilization"] > 0]
        if busy.empty:
            return None
        bounded = busy[np.isfinite(busy["utilization"])]
        if not bounded.empty:  # a worker held without end waits on one of these
            busy = bounded
        top = _first_to_saturate(busy)
        headroom = float(top["headroom"])
        return {
            "component": top["component"],
            "resource": top["resource"],
            "utilization": float(top["utilization"]),
            "headroom": headroom,
            "saturation_rate": self.rate * headroom,
        }

    def mean(self, klass: str = "all") -> float:
        """Estimated mean latency of a class (seconds)."""
        return float(self.classes.set_index("class").loc[klass, "mean"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: rate, classes, components (with their stations), bottleneck, notes."""
        components: dict[str, Any] = {}
        for row in self.components.to_dict("records"):
            name = row["component"]
            stations = self.stations[self.stations["component"] == name]
            components[name] = {
                "resource": row["resource"],
                "utilization": _clean(row["utilization"]),
                "headroom": _clean(row["headroom"]),
                "stations": {
                    s["resource"]: {k: _clean(s[k]) for k in STATION_COLUMNS}
                    for s in stations.to_dict("records")
                },
                "notes": self.notes.get(name, []),
            }
        return {
            "scenario": self.scenario.name,
            "rate": self.rate,
            "closed": self.scenario.workload.users is not None,
            "classes": {
                r["class"]: {k: _clean(r[k]) for k in ("rate", "mean", "p99")}
                for r in self.classes.to_dict("records")
            },
            "components": components,
            "bottleneck": self.bottleneck,
            "notes": {k: v for k, v in self.notes.items() if v},
            "p99_method": P99_METHOD,
        }

    def summary(self) -> str:
        """Readable lines: classes, components, the bottleneck and the notes."""
        return render(self.to_dict())

    def _repr_html_(self) -> str:
        return estimate_html(self)

    def __repr__(self) -> str:
        return f"Estimate(scenario={self.scenario.name!r}, mean={self.mean():.6g})"


def estimate(scenario: Scenario) -> Estimate:
    """Estimate a scenario's latencies and utilisations from closed forms, in milliseconds.

    Demands per station come from the routes (visit ratios through balancers, calls,
    queries, cache misses by Che's approximation, CDN misses); stations are M/M/c with
    the Allen-Cunneen correction for non-exponential service; closed workloads use exact
    MVA. Nothing is simulated. What the closed forms do not cover is listed in
    :attr:`Estimate.notes`.

    Parameters
    ----------
    scenario
        A validated scenario.

    Returns
    -------
    Estimate

    Examples
    --------
    >>> import simperf
    >>> mmc = simperf.from_dict({  # models/mmc.yaml: M/M/4 at utilisation 0.8
    ...     "name": "mmc",
    ...     "workload": {"arrival": {"kind": "poisson", "rate": "320/s"},
    ...                  "classes": [{"name": "request", "entry": "app", "endpoint": "serve"}]},
    ...     "components": {"app": {"kind": "app_server", "cores": 4, "endpoints": {
    ...         "serve": [{"cpu": {"dist": "exponential", "mean": "10ms"}}]}}},
    ...     "run": {"duration": "500s"}})
    >>> e = simperf.estimate(mmc)
    >>> round(e.mean() * 1e3, 3), e.bottleneck["headroom"]  # Erlang C; 1 / 0.8
    (17.455, 1.25)
    """
    routes, entries, rate = _solve(scenario, 1.0)
    found = _result(scenario, routes, entries, rate)
    if routes.spilled and rate > 0 and scenario.workload.users is None:
        _spilled_headroom(scenario, found)
    return found


def _solve(scenario: Scenario, scale: float) -> tuple[Routes, list[tuple[Any, float, int]], float]:
    """The routes loaded by ``scale`` times an open workload's rate (a closed workload's
    own throughput), with their entries and the rate entering.

    Hedged calls load their callees with the copies they send, which depend on the
    callees' waits: loaded first at no waits, then again at the copies each solution's
    waits give, until those settle (to 1e-6 of a copy per call, a few passes)."""
    copies: dict[int, float] = {}
    for _ in range(HEDGE_PASSES):
        routes, entries, rate = _solve_once(scenario, scale, copies)
        found = routes.hedges_found
        if not found or all(
            key in copies and abs(value - copies[key]) <= 1e-6 for key, value in found.items()
        ):
            break
        copies = dict(found)
    return routes, entries, rate


def _solve_once(
    scenario: Scenario, scale: float, copies: dict[int, float]
) -> tuple[Routes, list[tuple[Any, float, int]], float]:
    """:func:`_solve` with hedged calls' ``copies`` per call given (the others at no
    waits)."""
    routes = Routes(scenario)
    routes.hedge_copies.update(copies)
    workload = scenario.workload
    closed = workload.users is not None
    rate = 1.0 if closed else _open_rate(scenario, routes) * scale
    routes.rate = None if closed else rate
    entries = _entries(scenario, routes)
    routes.entries = entries
    if scenario.faults:
        routes.note("workload", "faults: outages not estimated (every instance up)")
    for klass, share, region in entries:
        routes.load(klass.entry, klass.endpoint, rate * share, region, klass.name, True)
    routes.spill()
    routes.load_sessions()
    held = _autoscale(scenario, routes, closed)
    if closed:
        rate = _solve_closed(scenario, routes, entries)
    else:
        _settle(routes)
        _autoscale_held(scenario, routes, held)
        routes.note_timeouts()
    return routes, entries, rate


def _spilled_headroom(scenario: Scenario, found: Estimate) -> None:
    """Each station's headroom as the load multiplier at which it saturates, solved for.

    A geographic balancer's groups spill what they cannot admit to the next, so a
    group's load does not grow in proportion to the offered load (nor its neighbours'):
    ``1 / utilisation`` is no saturation point. Each station's utilisation is found again
    with the whole estimate at a scaled load, and the multiplier at which it reaches 1
    is bracketed from ``1 / utilisation`` and solved by Brent's method (a station whose
    load stays in proportion is found at once).
    """
    cache: dict[float, dict[tuple[str, str], float]] = {}

    def levels(scale: float) -> dict[tuple[str, str], float]:
        if scale not in cache:
            routes = _solve(scenario, scale)[0]
            cache[scale] = {
                (s.component, s.resource): s.utilization for s in routes.stations.values()
            }
        return cache[scale]

    rooms = []
    for row in found.stations.to_dict("records"):
        rho, key = row["utilization"], (row["component"], row["resource"])
        room = row["headroom"]
        if 0 < rho < 1:
            room = _saturating_scale(lambda scale, key=key: levels(scale)[key], 1.0 / rho)
        rooms.append(room)
    found.stations["headroom"] = rooms


def _saturating_scale(level: Any, guess: float) -> float:
    """The load multiplier at which ``level(scale)`` (increasing, below 1 at 1) reaches 1;
    infinite when it does not by ``MAX_SCALE``."""
    low, high = 1.0, guess
    value = level(high)
    if abs(value - 1.0) <= 1e-9:  # the station's load grows in proportion
        return high
    while value < 1.0:
        if high >= MAX_SCALE:
            return math.inf
        low, high = high, high * 2
        value = level(high)

    def excess(scale: float) -> float:
        value = level(scale)
        # a worker held without end (infinite utilisation) counts as saturated
        return (value if value < 2.0 else 2.0) - 1.0

    return float(optimize.brentq(excess, low, high, rtol=1e-6, xtol=1e-9))


def _open_rate(scenario: Scenario, routes: Routes) -> float:
    arrival = scenario.workload.arrival
    assert arrival is not None
    rate = getattr(arrival, "rate", None)
    if arrival.kind == "trace":
        rate = _trace_rate(scenario)
    if arrival.kind in TIME_VARYING_ARRIVALS and rate is not None:
        routes.note("workload", f"{arrival.kind} arrivals: estimated at the mean rate")
    if arrival.kind == "deterministic":
        routes.note("workload", "deterministic arrivals: taken as Poisson (an upper bound)")
    if rate is None:
        routes.note("workload", f"{arrival.kind} arrivals: no rate to estimate at")
        return 0.0
    return float(rate)


def _trace_rate(scenario: Scenario) -> float | None:
    """A replayed trace's mean rate over the run (its rows before the horizon, per
    second; without a horizon, over the trace), or None for an empty or instant one."""
    arrival = scenario.workload.arrival
    times = trace_times(scenario.keyspaces[arrival.keyspace])  # type: ignore[union-attr]
    if times is None or times.size == 0:
        return None
    offsets = times - times[0]  # replayed from t = 0
    horizon = scenario.run.horizon
    if horizon is None:
        horizon = float(offsets[-1])
    if horizon <= 0:
        return None
    return float(np.count_nonzero(offsets < horizon)) / horizon


def _entries(scenario: Scenario, routes: Routes) -> list[tuple[Any, float, int]]:
    """(class, share of the requests, client region) of every entry point."""
    workload = scenario.workload
    total = sum(c.weight for c in workload.classes)
    regions = client_region_shares(scenario)
    return [(c, c.weight / total * s, r) for c in workload.classes for r, s in regions.items()]


def _autoscale(scenario: Scenario, routes: Routes, closed: bool) -> list[str]:
    """Put each autoscaled app server at the fleet its target settles at under the load,
    within ``min`` and ``max``: for a ``cpu_utilization`` target the fewest instances at
    most that busy, ``ceil(work / (cores x target))``; for a ``request_rate`` target
    ``ceil(rate / target)``, the rate the requests sent to it (what the run's policy
    counts). A ``worker_occupancy`` target on a server with no more workers than cores
    (a worker never waits for a core, so its holding time does not depend on the fleet)
    settles at ``ceil(rate x hold / (workers x target))`` once the holding times are
    known: those servers are returned, for :func:`_autoscale_held`. Other metrics (their
    level depends on the fleet through its waits), step policies and closed workloads
    are estimated at the fleet the run starts with, noted."""
    held = []
    for name, spec in scenario.components.items():
        scaling = getattr(spec, "autoscaling", None)
        if scaling is None:
            continue
        target = scaling.target_level
        if (
            not closed
            and target is not None
            and scaling.metric == "worker_occupancy"
            and spec.worker_count <= spec.cores
        ):
            held.append(name)
            continue
        load = None if closed or target is None else _tracked_load(routes, name, scaling.metric)
        why = _unsettled_because(scaling, closed)
        if why is not None:
            routes.unsettled[name] = why
        _place(routes, name, spec, load)
    return held


def _unsettled_because(scaling: Any, closed: bool) -> str | None:
    """Why an autoscaled server's fleet has no closed form, in words; None where it has
    one (a ``worker_occupancy`` target on no more workers than cores is settled apart)."""
    if closed:
        return "a closed workload"
    if scaling.target_level is None:
        return "a step policy"
    if scaling.metric == "worker_occupancy":
        return "a worker_occupancy target with more workers than cores"
    if scaling.metric not in ("cpu_utilization", "request_rate"):
        return f"a {scaling.metric} target"
    return None


def _autoscale_held(scenario: Scenario, routes: Routes, names: list[str]) -> None:
    """Settle the ``worker_occupancy`` targets :func:`_autoscale` left: each fleet from
    its workers' busy total (rate x hold), then the holds again, until no fleet changes
    (a caller's hold includes its autoscaled callees' waits)."""

    def fleets() -> list[int | None]:
        stations = [routes.stations.get((n, "workers")) for n in names]
        return [None if s is None else s.instances for s in stations]

    for _ in range(len(names) + 1):
        before = fleets()
        for name in names:
            workers = routes.stations.get((name, "workers"))
            load = None if workers is None else workers.work / workers.servers
            _place(routes, name, scenario.components[name], load)
        if before == fleets():
            return
        _settle(routes)


def _place(routes: Routes, name: str, spec: Any, load: float | None) -> None:
    """Set ``name``'s fleet to ``ceil(load / target)`` within min and max (with a
    ``tolerance``, the fewest instances its dead band leaves alone; with no ``load``, the
    fleet it starts with), and note it."""
    scaling = spec.autoscaling
    start = spec.initial_replicas
    if load is None:
        routes.note(name, f"autoscaling: estimated at the {start} instance(s) it starts with")
        return
    target = scaling.target_level
    # an infinite load: a hold through a callee saturated (so far) wants every instance
    wanted = math.ceil(load / target - 1e-9) if math.isfinite(load) else math.inf
    # A tolerance t leaves any fleet n alone whose metric is within t of the target:
    # the fleet settles anywhere from ceil(load / (target (1 + t))) to the larger of
    # `wanted` and floor(load / (target (1 - t))). The estimate takes the fewest, the
    # busiest fleet the band allows (the conservative end for latency and the SLOs).
    band = None
    tolerance = scaling.tolerance
    if tolerance > 0 and math.isfinite(load):
        fewest = math.ceil(load / (target * (1 + tolerance)) - 1e-9)
        most = max(wanted, math.floor(load / (target * (1 - tolerance)) + 1e-9))
        band = (
            int(min(max(fewest, scaling.min), scaling.max)),
            int(min(max(most, scaling.min), scaling.max)),
        )
    fleet = int(min(max(wanted, scaling.min), scaling.max)) if band is None else band[0]
    for (component, _), station in routes.stations.items():
        if component == name:  # cores, workers and pools: each instance has its own
            station.instances = fleet
    text = (  # the target in its metric's unit, as the run's actions read it
        f"autoscaling: estimated at the {fleet} instance(s) a "
        f"{target_value(scaling.metric, target)} "
        f"{scaling.metric} target settles at (the run starts with {start})"
    )
    if band is not None and band[1] > band[0]:
        text += (
            f"; its tolerance of {percent(tolerance)} lets the run settle anywhere from "
            f"{band[0]} to {band[1]}: the fewest taken"
        )
    if wanted > scaling.max:
        more = wanted if math.isfinite(wanted) else "more (its hold is unbounded)"
        text += f"; it would want {more}, capped at max {scaling.max}"
    # a fleet settled again replaces its note
    notes = routes.notes[name]
    notes[:] = [n for n in notes if not n.startswith("autoscaling: ")]
    routes.note(name, text)


def _tracked_load(routes: Routes, name: str, metric: str) -> float | None:
    """What a target on ``metric`` divides into the fleet wanted: the busy cores, or the
    requests per second sent to ``name``; None for a metric without such a closed form."""
    if metric == "cpu_utilization":
        cores = routes.stations.get((name, "cores"))
        return None if cores is None else cores.work / cores.servers
    if metric == "request_rate":
        return sum(rate for (component, _), rate in routes.calls.items() if component == name)
    return None


def _settle(routes: Routes) -> None:
    """Fill the workers stations until their holding times stop changing (callers'
    holds include their callees' worker waits, so callees settle first)."""
    for _ in range(len(routes.stations) + 1):
        before = [s.work for s in routes.stations.values()]
        routes.reset()
        routes.fill_workers()
        if before == [s.work for s in routes.stations.values()]:
            break
    routes.reset()


def _queueing(routes: Routes) -> list[Station]:
    """The stations a closed workload's MVA solves: an app server's workers when it has
    no more workers than cores (they hold its queue), else its cores; caches, databases
    and link directions (named ``from->to``, no component) as they are."""
    chosen = []
    for (component, resource), station in routes.stations.items():
        spec = routes.components.get(component)
        if spec is not None and spec.kind == "app_server":
            bound = "workers" if spec.worker_count <= spec.cores else "cores"
            if resource != bound:
                continue
        if station.work > 0:
            chosen.append(station)
    return chosen


def _solve_closed(
    scenario: Scenario, routes: Routes, entries: list[tuple[Any, float, int]]
) -> float:
    """Throughput of a closed workload by exact MVA; sets the stations' waits."""
    workload = scenario.workload
    users = int(workload.users or 1)
    routes.idle = True
    _settle(routes)
    idle = sum(
        (routes.response(k.entry, k.endpoint, r, k.name, True).scaled(s) for k, s, r in entries),
        Time(),
    ).total
    stations = _queueing(routes)
    multi = sum(s.instances for s in stations if s.servers > 1)
    pooled = multi > MAX_MVA_STATIONS
    if pooled:
        routes.note("workload", "replicated multi-server stations pooled into one for MVA")
    demands, servers, owner = [], [], []
    for s in stations:
        for work in [s.work] if pooled else s.instance_work():
            demands.append(work)
            servers.append(s.servers * (s.instances if pooled else 1))
            owner.append(s)
    delay = max(idle - sum(s.work for s in stations), 0.0)
    residence: dict[int, float] = {}
    if demands:
        solution = mva(users, workload.think.mean + delay, demands, servers)
        throughput = solution.throughput
        for s, r in zip(owner, solution.residence_times, strict=True):
            residence[id(s)] = residence.get(id(s), 0.0) + float(r)
    else:  # nothing queues: each user cycles through its think time and delays alone
        throughput = users / (workload.think.mean + delay)
    for s in list(routes.stations.values()):
        s.scale(throughput)
    routes.calls.update({k: v * throughput for k, v in routes.calls.items()})
    routes.idle = False
    for s in stations:
        visits = s.rate / throughput
        routes.waits[(s.component, s.resource)] = max(
            (residence[id(s)] - s.work / throughput) / visits, 0.0
        )
    _settle(routes)
    return throughput


def _result(
    scenario: Scenario, routes: Routes, entries: list[tuple[Any, float, int]], rate: float
) -> Estimate:
    times: dict[str, list[tuple[float, Time]]] = {}
    for klass, share, region in entries:
        for p, t in routes.branches(klass.entry, klass.endpoint, region, klass.name):
            times.setdefault(klass.name, []).append((share * p, t))
    rows = []
    for name, parts in times.items():
        share = sum(s for s, _ in parts)
        rows.append(_class_row(name, rate * share, [(s / share, t) for s, t in parts]))
    everything = [(s, t) for parts in times.values() for s, t in parts]
    rows.append(_class_row("all", rate, everything))
    stations = []
    fleets = autoscaled(scenario)
    for s in routes.stations.values():
        rho = s.utilization
        # A worker held without end waits on a station saturated downstream: it cannot be
        # the first to saturate, and no load multiplier of its own says when it would.
        headroom = math.nan if math.isinf(rho) else 1.0 / rho if rho > 0 else math.inf
        if s.component in fleets and math.isfinite(headroom):
            # an autoscaled fleet grows with the load up to max: it saturates there
            headroom *= fleets[s.component] / s.instances
            routes.note(
                s.component,
                f"headroom with its fleet at max {fleets[s.component]} (it grows with the load)",
            )
        stations.append(
            {
                "component": s.component,
                "resource": s.resource,
                "servers": s.servers,
                "instances": s.instances,
                "visit_rate": s.rate,
                "mean_service": s.mean_service,
                "scv": s.scv,
                "utilization": rho,
                "mean_wait": routes.wait(s),
                "headroom": headroom,
            }
        )
        if math.isinf(rho):
            routes.note(
                s.component,
                f"{s.resource} held without end (a station it waits on downstream is "
                "saturated): headroom not estimated",
            )
        elif rho >= 1.0:
            routes.note(s.component, f"{s.resource} saturated: utilisation {rho:.2f} >= 1")
    return Estimate(
        scenario=scenario,
        rate=rate,
        classes=pd.DataFrame(rows),
        stations=pd.DataFrame(stations),
        notes={k: list(v) for k, v in routes.notes.items()},
        unsettled=dict(routes.unsettled),
    )


def _first_to_saturate(stations: pd.DataFrame) -> Any:
    """Of each component's busiest station, the row of least headroom: the busiest while
    loads grow in proportion (a spilling group's headroom is solved for, see
    :func:`_spilled_headroom`). Only components' busiest stations compete: the workers
    in front of a component's cores fill with the queue for them, but its throughput
    is the cores'."""
    busiest = stations.loc[stations.groupby("component", sort=False)["utilization"].idxmax()]
    if busiest["headroom"].isna().any():
        return busiest.loc[busiest["utilization"].idxmax()]
    return busiest.loc[busiest["headroom"].idxmin()]


def _class_row(name: str, rate: float, parts: list[tuple[float, Time]]) -> dict[str, Any]:
    """Mean and approximate p99 of a mixture of routes (share, time)."""
    mean = sum(s * t.total for s, t in parts)
    if not math.isfinite(mean):
        return {"class": name, "rate": rate, "mean": math.nan, "p99": math.nan}
    return {"class": name, "rate": rate, "mean": mean, "p99": quantile(parts, 0.99)}


def _clean(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value

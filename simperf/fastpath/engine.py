"""Run a built model on the fast path: every request's times at once, then the records
and snapshots the event engine would have left, for the same summary code to read."""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Iterator
from itertools import islice
from typing import Any

import numpy as np

from simperf.arrivals.homogeneous import poisson_batches
from simperf.components.workload import WORKLOAD, arrival_times
from simperf.fastpath.chain import Chain, Refused, Station, plan
from simperf.fastpath.levels import (
    WindowAreas,
    ahead_of_each,
    cumulative_at,
    levels_at,
    never_above,
    window_peaks,
)
from simperf.fastpath.recursions import fifo_starts
from simperf.metrics.waits import fold_waits
from simperf.model import Model, Snapshot
from simperf.rng import BATCH
from simperf.spec.workload import PoissonArrival


def execute(model: Model) -> Model:
    """Compute ``model``'s run exactly, without the event engine.

    The model (built, never run) gets what :meth:`Model.execute` leaves: finished
    requests in its recorder, snapshots, end time and wall time.

    Raises
    ------
    Refused
        When the spec is not one the fast path computes exactly, or when the run turns
        out not to be (a worker pool or a queue limit reached); the model is untouched.
    """
    started = time.perf_counter()
    chain = plan(model)
    horizon = model.horizon
    arrivals = _arrivals(model, model.scenario.run.requests, horizon)
    sorts = _Sorts()
    end = _route(chain, arrivals, sorts)
    limit = math.inf if horizon is None else horizon
    ends = sorts.sorted(end)
    arrived = arrivals[: np.searchsorted(arrivals, limit, "left")]
    for station in chain.stations:
        _check_capacity(station, limit, arrived, ends, sorts)
    model.end = float(horizon if horizon is not None else (end.max() if end.size else 0.0))
    _snapshots(model, chain, arrivals, ends, sorts)
    _records(model, arrivals, end, limit, sorts)
    if model.snapshots and not model.scenario.run.auto_warmup:
        # the waits past the cap, as the event engine folds them (the arrays above are
        # the run's in full: its peak memory grows with its length all the same)
        first, last = model.snapshots[0], model.snapshots[-1]
        fold_waits(model.instances, model.ctx.recorder.keep, 1, first, last)
    model.events = 0
    model.wall_time = time.perf_counter() - started
    return model


def _arrivals(model: Model, budget: int | None, horizon: float | None) -> np.ndarray:
    """The open loop's arrival times, from the stream the event engine reads them from."""
    arrival = model.scenario.workload.arrival
    rng = model.ctx.rng(WORKLOAD, "arrival")
    if isinstance(arrival, PoissonArrival) and arrival.rate > 0:
        batches: Any = poisson_batches(arrival.rate, rng, BATCH)
    else:
        batches = _chunks(arrival_times(arrival, rng, horizon))
    chunks: list[np.ndarray] = []
    count = 0
    for chunk in batches:
        if chunk.size == 0:
            break
        if budget is not None and count + chunk.size >= budget:
            chunks.append(chunk[: budget - count])
            break
        if horizon is not None and chunk[-1] >= horizon:
            chunks.append(chunk[: np.searchsorted(chunk, horizon, side="left")])
            break
        chunks.append(chunk)
        count += chunk.size
    return np.concatenate(chunks) if chunks else np.empty(0)


def _chunks(times: Iterator[float]) -> Iterator[np.ndarray]:
    """An arrival iterator's times, ``BATCH`` at a time, until it runs out."""
    while (chunk := np.fromiter(islice(times, BATCH), dtype=float)).size:
        yield chunk


def _variates(draw: Any, count: int) -> np.ndarray:
    """``count`` variates drawn ``BATCH`` at a time, as the event engine's samplers do."""
    if count == 0:
        return np.empty(0)
    return np.concatenate([draw(BATCH) for _ in range(-(-count // BATCH))])[:count]


class _Sorts:
    """Sorting orders and sorted copies, each computed once per array of one run
    (a station's departures are also the next step's arrivals, the ends, the exits)."""

    def __init__(self) -> None:
        self._orders: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self._sorted: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def order(self, times: np.ndarray) -> np.ndarray | None:
        """The stable order that sorts ``times`` (None: already sorted)."""
        cached = self._orders.get(id(times))
        if cached is None or cached[0] is not times:
            ordered = times.size < 2 or bool(np.all(times[1:] >= times[:-1]))
            cached = (times, None if ordered else np.argsort(times, kind="stable"))
            self._orders[id(times)] = cached
        return cached[1]

    def sorted(self, times: np.ndarray) -> np.ndarray:
        """``times`` sorted (itself when already sorted)."""
        order = self.order(times)
        if order is None:
            return times
        cached = self._sorted.get(id(times))
        if cached is None or cached[0] is not times:
            cached = (times, times[order])
            self._sorted[id(times)] = cached
        return cached[1]


def _route(chain: Chain, arrivals: np.ndarray, sorts: _Sorts) -> np.ndarray:
    """Move every request through the stages; returns each one's end time."""
    t = arrivals
    for stage in chain.stages:
        station = chain.stations[stage.instance]
        arrays = station.arrays
        if stage.op == "enter":
            arrays["enter"] = t
            continue
        if stage.op == "exit":
            arrays["exit"] = t
            continue
        order = sorts.order(t)
        reach = sorts.sorted(t)
        values = _variates(stage.draw, t.size)
        if stage.op == "delay":
            done = reach + values
        else:  # a FIFO station: draws go to requests in the order they start
            starts = fifo_starts(reach, values, station.servers)
            done = starts + values
            arrays["start"] = starts
            # those who queued (FIFO: in the order they got a slot) and the queue's
            # length as each joined (those who did not queue had no one ahead)
            waited = starts > reach
            queued, dequeued = reach[waited], starts[waited]
            arrays["queued"], arrays["dequeued"] = queued, dequeued
            risen = arrays["risen"] = ahead_of_each(queued, dequeued)
            risen += 1
            wait = starts - reach
            arrays["wait"] = wait if order is None else _unsorted(wait, order)
        t = done if order is None else _unsorted(done, order)
        if stage.op == "cpu":
            # in request order: sorted (values only, ties alike) for the next station's
            # arrivals or the ends anyway, so busy time shares that sort
            arrays["done"] = t
    return t


def _unsorted(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    out[order] = values
    return out


def _held(station: Station, sorts: _Sorts) -> tuple[np.ndarray, np.ndarray]:
    """When each request takes and gives back its worker (sorted separately)."""
    arrays = station.arrays
    taken = arrays["start"] if station.workers_queue else arrays["enter"]
    return sorts.sorted(taken), sorts.sorted(arrays["exit"])


def _check_capacity(
    station: Station, limit: float, arrivals: np.ndarray, ends: np.ndarray, sorts: _Sorts
) -> None:
    """Refuse a run in which a worker pool fills (cores queue) or a queue limit is met.

    ``arrivals`` (those before ``limit``) and ``ends`` bound every instance's crowd by
    the whole system's, which settles most checks without sorting anything more.
    """
    name = station.runtime.name
    if station.workers_queue:
        queued, risen = station.arrays["queued"], station.arrays["risen"]
        risen = risen[: np.searchsorted(queued, limit, "left")]
        if risen.size and int(risen.max()) > station.limit:
            raise Refused(f"{name}: {station.limit} requests waited for a worker (queue limit)")
        return
    if never_above(arrivals, ends, station.workers):
        return
    taken, given = _held(station, sorts)
    if not never_above(taken[taken < limit], given, station.workers):
        raise Refused(f"{name}: all {station.workers} workers were busy (they would queue)")


def snapshot_times(model: Model) -> tuple[np.ndarray, list[int]]:
    """Every time the run loop takes a snapshot, and the indices of those it keeps.

    The same loop as :meth:`Model._snapshots` on the same float additions, so that the
    times are the event engine's to the last bit.
    """
    run = model.scenario.run
    window = model.window()
    limit = model.window_limit(window)
    end = model.end
    times: list[float] = []
    kept: list[int] = []
    now = 0.0 + run.fixed_warmup
    while now < end:
        kept.append(len(times))
        times.append(now)
        if len(kept) > limit:
            del kept[1::2]
            window *= 2
        now = now + window
    if not times or times[-1] < end:
        kept.append(len(times))
        times.append(end)
    return np.array(times), kept


def _snapshots(
    model: Model, chain: Chain, arrivals: np.ndarray, ends: np.ndarray, sorts: _Sorts
) -> None:
    times, kept = snapshot_times(model)
    edges = np.concatenate(([0.0], times))
    areas = WindowAreas(edges)
    instances: dict[str, dict[str, np.ndarray]] = {}
    for station in chain.stations:
        instances[station.runtime.name] = _counters(station, areas, sorts)
    for runtime in model.instances:  # instances off the route: idle all run
        if runtime.name not in instances:
            idle = runtime.snapshot(0.0)
            instances[runtime.name] = {k: np.full(times.size, v) for k, v in idle.items()}
    in_system = areas(arrivals, ends)
    generated = np.searchsorted(arrivals, times, side="right")
    model.snapshots = [
        Snapshot(
            time=float(times[k]),
            instances={
                name: {key: _scalar(values[k]) for key, values in counters.items()}
                for name, counters in instances.items()
            },
            in_system_area=float(in_system[k]),
            generated=int(generated[k]),
        )
        for k in kept
    ]


def _scalar(value: Any) -> float | int:
    return value.item() if hasattr(value, "item") else value


def _counters(station: Station, areas: WindowAreas, sorts: _Sorts) -> dict[str, np.ndarray]:
    """:meth:`AppInstance.snapshot` at every snapshot time, from the station's arrays."""
    arrays = station.arrays
    edges = areas.edges
    times = edges[1:]
    count = times.size
    counters: dict[str, np.ndarray] = {}
    if "start" in arrays:
        starts, done = arrays["start"], arrays["done"]
        queued, dequeued, risen = arrays["queued"], arrays["dequeued"], arrays["risen"]
        counters["busy_area"] = areas(starts, sorts.sorted(done))
        counters["queue_area"] = areas(queued, dequeued)
        counters["queue_peak"] = window_peaks(queued, dequeued, risen, edges)
        counters["queue_now"] = levels_at(queued, dequeued, times)
        wait = arrays["wait"]
        # in the order they got a slot, as the event engine appends them (for P(wait)
        # and the wait percentiles)
        waits = array("d")
        waits.frombytes(np.subtract(dequeued, queued).view(np.uint8))  # no bytes copy
        station.runtime.waits = waits
        counters["waited"] = np.searchsorted(dequeued, times, side="right")
    else:  # calls and delays only: never queues
        zeros = np.zeros(count)
        counters.update(busy_area=zeros, queue_area=zeros, queue_peak=zeros, queue_now=zeros)
        counters["waited"] = np.zeros(count, dtype=int)
        wait = None
    leave = arrays["exit"]
    service = leave - arrays["enter"]
    if wait is not None:
        service -= wait
    order = sorts.order(leave)  # the run's ends: sorted once for the records anyway
    if order is not None:
        leave, service = sorts.sorted(leave), service[order]
        wait = None if wait is None else wait[order]
    counters["served"] = np.searchsorted(leave, times, side="right")
    counters["rejected"] = np.zeros(count, dtype=int)
    counters["wait_sum"] = np.zeros(count) if wait is None else cumulative_at(leave, wait, times)
    counters["service_sum"] = cumulative_at(leave, service, times)
    taken, given = _held(station, sorts)
    counters["worker_area"] = areas(taken, given)
    counters["workers"] = np.full(count, station.workers)
    return counters


def _records(
    model: Model, arrivals: np.ndarray, end: np.ndarray, limit: float, sorts: _Sorts
) -> None:
    """The requests finished by ``limit``, in the order they finished, in the recorder."""
    order = sorts.order(end)
    ends = sorts.sorted(end)
    starts = arrivals if order is None else arrivals[order]
    finished = int(np.searchsorted(ends, limit, side="left"))
    recorder = model.ctx.recorder
    recorder.generated = arrivals.size
    recorder.start, recorder.end = array("d"), array("d")
    # as bytes views: no intermediate bytes object
    recorder.start.frombytes(np.ascontiguousarray(starts[:finished]).view(np.uint8))
    recorder.end.frombytes(np.ascontiguousarray(ends[:finished]).view(np.uint8))
    recorder.klass = array("i", bytes(4 * finished))
    recorder.outcome = array("i", bytes(4 * finished))

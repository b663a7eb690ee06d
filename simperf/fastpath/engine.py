"""Run a built model on the fast path, in rounds of ``ROUND`` arrivals, leaving the
records and snapshots the event engine would have left, for the same summary code.

Each round's requests go through the stations with their state carried from the round
before (Lindley: the last departure; Kiefer-Wolfowitz: the sorted free times of the
servers), so the times are one big pass's. A round ends at the next round's first
arrival ``w``: no later request does anything before ``w``, so every event before it is
final, and the counters, records and waits are taken up to there and the rest kept for
the next round. Memory thus holds a round and the requests in flight, the kept records
and waits (``run.keep_requests``, the rest folded as the event engine folds them) and
one value per snapshot window: it does not grow with the run.
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Iterator
from itertools import islice
from types import SimpleNamespace
from typing import Any

import numpy as np

from simperf.arrivals.homogeneous import poisson_batches
from simperf.components.workload import WORKLOAD, arrival_times
from simperf.fastpath.chain import Chain, Refused, Station, plan
from simperf.fastpath.recursions import fifo_starts, free_after
from simperf.metrics.recorder import RequestRecorder
from simperf.metrics.waits import fold_waits
from simperf.model import Model, Snapshot
from simperf.rng import BATCH
from simperf.spec.workload import PoissonArrival

ROUND = 1 << 18
"""Arrivals simulated at once: large enough for numpy to pay, small enough to keep a
round's arrays a few MiB."""

Columns = dict[str, np.ndarray]


def execute(model: Model) -> Model:
    """Compute ``model``'s run exactly, without the event engine.

    The model (built, never run) gets what :meth:`Model.execute` leaves: finished
    requests in its recorder (past ``run.keep_requests`` folded), each instance's
    waits, snapshots, end time and wall time.

    Raises
    ------
    Refused
        When the spec is not one the fast path computes exactly, or when the run turns
        out not to be (a worker pool or a queue limit reached); the model is untouched.
    """
    started = time.perf_counter()
    run = _Run(model, plan(model))
    for arrivals, w in _rounds(_arrivals(model), ROUND):
        run.round(arrivals, w)
    run.commit()
    model.events = 0
    model.wall_time = time.perf_counter() - started
    return model


def _arrivals(model: Model) -> Iterator[np.ndarray]:
    """The open loop's arrival times in chunks, from the stream the event engine reads
    them from, cut at ``run.requests`` and at the horizon."""
    arrival = model.scenario.workload.arrival
    budget, horizon = model.scenario.run.requests, model.horizon
    rng = model.ctx.rng(WORKLOAD, "arrival")
    if isinstance(arrival, PoissonArrival) and arrival.rate > 0:
        batches: Any = poisson_batches(arrival.rate, rng, BATCH)
    else:
        batches = _chunks(arrival_times(arrival, rng, horizon))
    count = 0
    for chunk in batches:
        if chunk.size == 0:
            return
        if budget is not None and count + chunk.size >= budget:
            yield chunk[: budget - count]
            return
        if horizon is not None and chunk[-1] >= horizon:
            yield chunk[: np.searchsorted(chunk, horizon, side="left")]
            return
        count += chunk.size
        yield chunk


def _chunks(times: Iterator[float]) -> Iterator[np.ndarray]:
    """An arrival iterator's times, ``BATCH`` at a time, until it runs out."""
    while (chunk := np.fromiter(islice(times, BATCH), dtype=float)).size:
        yield chunk


def _rounds(chunks: Iterator[np.ndarray], size: int) -> Iterator[tuple[np.ndarray, float]]:
    """Rounds of ``size`` arrivals, each with the next round's first arrival (inf after
    the last)."""
    held: list[np.ndarray] = []
    count = 0
    for chunk in chunks:
        held.append(chunk)
        count += chunk.size
        while count > size:  # one more than a round: the next one's first is known
            joined = np.concatenate(held)
            yield joined[:size], float(joined[size])
            held, count = [joined[size:]], count - size
    joined = np.concatenate(held) if held else np.empty(0)
    yield joined, math.inf


class _Draws:
    """A stage's variates in the order requests reach it, drawn ``BATCH`` at a time as
    the event engine's samplers draw them (the draws left over wait for the next round)."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.left = np.empty(0)

    def take(self, count: int) -> np.ndarray:
        if count > self.left.size:
            more = [self.draw(BATCH) for _ in range(-(-(count - self.left.size) // BATCH))]
            self.left = np.concatenate((self.left, *more))
        taken, self.left = self.left[:count], self.left[count:]
        return taken


class _Pending:
    """Timed items (with values) not yet final: pushed in any order, taken in time order
    once they are before a round's end."""

    def __init__(self) -> None:
        self.times: list[np.ndarray] = []
        self.values: list[np.ndarray] = []

    def push(self, times: np.ndarray, values: np.ndarray | None = None) -> None:
        self.times.append(times)
        if values is not None:
            self.values.append(values)

    def pop(self, w: float) -> tuple[np.ndarray, np.ndarray | None]:
        """The items before ``w``, sorted by time (stable: earlier pushes first)."""
        times = _joined(self.times)
        values = _joined(self.values) if self.values else None
        if times.size > 1 and not bool(np.all(times[1:] >= times[:-1])):
            order = np.argsort(times, kind="stable")
            times = times[order]
            values = None if values is None else values[order]
        cut = times.size if w == math.inf else int(np.searchsorted(times, w, "left"))
        self.times = [times[cut:]] if cut < times.size else []
        self.values = [values[cut:]] if values is not None and cut < times.size else []
        return times[:cut], None if values is None else values[:cut]


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    if not parts:
        return np.empty(0)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _windows(points: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The window ``(points[k - 1], points[k]]`` of each time: ``k`` (``points.size`` past
    the last: the open window)."""
    return np.searchsorted(points, times, side="left")


class _Tally:
    """How many timed items (and the sum of their values) fall in each snapshot window."""

    def __init__(self, values: bool = False) -> None:
        self.pending = _Pending()
        self.values = values
        self.open = (0, 0.0)  # the window not closed yet
        self.counts: list[np.ndarray] = []
        self.sums: list[np.ndarray] = []

    def advance(self, w: float, points: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Take the items before ``w``; close the windows up to ``points`` (all before
        ``w``). Returns the items taken, sorted."""
        times, values = self.pending.pop(w)
        k = _windows(points, times)
        counts = np.bincount(k, minlength=points.size + 1)
        counts[0] += self.open[0]
        self.counts.append(counts[:-1])
        if self.values:
            assert values is not None
            sums = np.bincount(k, weights=values, minlength=points.size + 1)
            sums[0] += self.open[1]
            self.sums.append(sums[:-1])
            self.open = (int(counts[-1]), float(sums[-1]))
        else:
            self.open = (int(counts[-1]), 0.0)
        return times, values

    def count_at(self) -> np.ndarray:
        """Items up to each snapshot (cumulative)."""
        return np.cumsum(np.concatenate(self.counts))

    def sum_at(self) -> np.ndarray:
        return np.cumsum(np.concatenate(self.sums))


class _Level:
    """A level that rises at one kind of times and falls at another (busy cores, the
    queue, workers held, requests in system): its integral over each snapshot window,
    its value at each snapshot and its highest in each window (a monitor's peak)."""

    def __init__(self, limit: float) -> None:
        self.up, self.down = _Pending(), _Pending()
        self.limit = limit
        self.level = 0  # at the last snapshot
        self.ups = self.downs = 0  # rises and falls taken so far
        self.previous = 0.0  # the last snapshot (the run's areas start at 0)
        self.open = np.zeros(5)  # the open window: rises, their sum, falls, their sum, peak
        self.highest = 0  # the highest level reached before ``limit``
        self.areas: list[np.ndarray] = []
        self.levels: list[np.ndarray] = []
        self.peaks: list[np.ndarray] = []

    def advance(self, w: float, points: np.ndarray) -> None:
        up, _ = self.up.pop(w)
        down, _ = self.down.pop(w)
        # the level just after each rise: every fall at or before it is taken already
        risen = np.arange(self.ups + 1, self.ups + 1 + up.size) - (
            self.downs + np.searchsorted(down, up, side="right")
        )
        if up.size:
            before = int(np.searchsorted(up, self.limit, "left"))
            if before:
                self.highest = max(self.highest, int(risen[:before].max()))
        self.ups += up.size
        self.downs += down.size
        m = points.size
        ku, kd = _windows(points, up), _windows(points, down)
        rises = np.bincount(ku, minlength=m + 1).astype(float)
        rise_sum = np.bincount(ku, weights=up, minlength=m + 1)
        falls = np.bincount(kd, minlength=m + 1).astype(float)
        fall_sum = np.bincount(kd, weights=down, minlength=m + 1)
        peak = np.zeros(m + 1)
        if up.size:
            firsts = np.searchsorted(ku, np.arange(m + 1), "left")
            filled = np.bincount(ku, minlength=m + 1) > 0
            peak[filled] = np.maximum.reduceat(risen, firsts[filled])
        rises[0] += self.open[0]
        rise_sum[0] += self.open[1]
        falls[0] += self.open[2]
        fall_sum[0] += self.open[3]
        peak[0] = max(peak[0], self.open[4])
        self.open = np.array([rises[m], rise_sum[m], falls[m], fall_sum[m], peak[m]])
        if m == 0:
            return
        ends = points
        net = (rises[:m] - falls[:m]).astype(np.int64)
        at = self.level + np.cumsum(net)
        starts_level = np.concatenate(([self.level], at[:-1]))
        lengths = np.diff(np.concatenate(([self.previous], ends)))
        # each rise adds (window end - rise), each fall takes (window end - fall) off
        self.areas.append(
            starts_level * lengths
            + (rises[:m] * ends - rise_sum[:m])
            - (falls[:m] * ends - fall_sum[:m])
        )
        self.levels.append(at)
        self.peaks.append(np.maximum(starts_level, peak[:m]))
        self.level = int(at[-1])
        self.previous = float(ends[-1])
        # the open window's peak is at least its level at its start
        self.open[4] = max(self.open[4], self.level)

    def area_at(self) -> np.ndarray:
        return np.cumsum(np.concatenate(self.areas))


class _Grid:
    """The snapshot times, as :meth:`Model._snapshots` takes them (the same float
    additions), generated as the rounds reach them; merging windows in pairs past the
    model's limit, and telling the recorder so."""

    def __init__(self, model: Model, recorder: RequestRecorder) -> None:
        run = model.scenario.run
        self.window = model.window()
        self.limit = model.window_limit(self.window)
        self.now = 0.0 + run.fixed_warmup
        self.times: list[float] = []
        self.kept: list[int] = []
        self.recorder = recorder

    def until(self, bound: float) -> np.ndarray:
        """The snapshot times before ``bound`` not given yet."""
        first = len(self.times)
        while self.now < bound:
            self.kept.append(len(self.times))
            self.times.append(self.now)
            if len(self.kept) > self.limit:
                del self.kept[1::2]
                self.window *= 2
                self.recorder.merge_windows()
            self.now = self.now + self.window
        return np.array(self.times[first:])

    def kept_times(self) -> np.ndarray:
        times = self.times
        return np.array([times[k] for k in self.kept])


class _StationState:
    """One station's carried state and its streams of events."""

    def __init__(self, station: Station, limit: float) -> None:
        self.station = station
        self.free: np.ndarray | None = None  # its servers' free times (None: idle)
        self.cpu = False
        self.busy = _Level(limit)
        self.queue = _Level(limit)
        self.workers = _Level(limit)
        self.waited = _Tally()  # dequeued times, with the waits, in the order they end
        self.waits = _Pending()
        self.served = _Tally(values=True)  # exits, with the service time
        self.wait_sum = _Tally(values=True)  # exits, with the wait
        # what :func:`fold_waits` reads and the instance gets at the end
        self.holder = SimpleNamespace(
            name=station.runtime.name,
            waits=array("d"),
            folded_waits=None,
            waits_folded=0,
            waits_keep=0,
        )


class _Run:
    """The state carried from round to round."""

    def __init__(self, model: Model, chain: Chain) -> None:
        self.model = model
        self.chain = chain
        run = model.scenario.run
        self.horizon = model.horizon
        self.limit = math.inf if self.horizon is None else self.horizon
        original = model.ctx.recorder
        # a recorder of its own until the run is known to be exact (the model untouched)
        self.recorder = RequestRecorder(original.class_names, original.keep)
        self.recorder.causes = list(original.causes)
        self.grid = _Grid(model, self.recorder)
        self.fold_waits = (
            not run.auto_warmup
        )  # as the event engine (an auto warm-up reads them all)
        self.stations = [_StationState(s, self.limit) for s in chain.stations]
        for stage in chain.stages:
            if stage.op == "cpu":
                self.stations[stage.instance].cpu = True
        self.draws = [
            _Draws(stage.draw) if stage.draw is not None else None for stage in chain.stages
        ]
        self.pending: list[Columns | None] = [None] * len(chain.stages)
        self.system = _Level(self.limit)
        self.generated = _Tally()
        self.records = _Pending()  # ends, with the arrivals
        self.arrived = 0
        self.last_end = -math.inf
        self.first: Any = None  # the first snapshot's waited counts, once taken

    def round(self, arrivals: np.ndarray, w: float) -> None:
        """Move the round's arrivals through the route; take every event before ``w``."""
        self.arrived += arrivals.size
        self.system.up.push(arrivals)
        self.generated.pending.push(arrivals)
        columns: Columns = {"t": arrivals, "a": arrivals}
        for index, stage in enumerate(self.chain.stages):
            columns = self._stage(index, stage, columns, w)
        ends = columns["t"]
        if ends.size:
            self.last_end = max(self.last_end, float(ends.max()))
        self.system.down.push(ends)
        self.records.push(ends, columns["a"])
        if w == math.inf:
            end = self.horizon if self.horizon is not None else max(self.last_end, 0.0)
            self.model.end = float(end)
            points = self.grid.until(end)
            if not self.grid.times or self.grid.times[-1] < end:
                self.grid.kept.append(len(self.grid.times))
                self.grid.times.append(end)
                points = np.append(points, end)
            self._take(w, points, end)
        else:
            self._take(w, self.grid.until(w), None)

    def _stage(self, index: int, stage: Any, columns: Columns, w: float) -> Columns:
        state = self.stations[stage.instance]
        t = columns["t"]
        k = stage.instance
        if stage.op == "enter":
            columns[f"enter{k}"] = t
            if not state.station.workers_queue:
                state.workers.up.push(t)
            return columns
        if stage.op == "exit":
            wait = columns.get(f"wait{k}")
            service = t - columns[f"enter{k}"]
            if wait is not None:
                service -= wait
                state.wait_sum.pending.push(t, wait)
            state.served.pending.push(t, service)
            state.workers.down.push(t)
            return columns
        # order-dependent: requests take their draws (and a server) in the order they
        # reach the stage, so those held from earlier rounds go first, and those that
        # reach it at or after ``w`` wait for the next round (a later one may be earlier)
        held = self.pending[index]
        if held is not None:
            columns = {key: np.concatenate((held[key], columns[key])) for key in held}
            t = columns["t"]
        if t.size > 1 and not bool(np.all(t[1:] >= t[:-1])):
            order = np.argsort(t, kind="stable")
            columns = {key: value[order] for key, value in columns.items()}
            t = columns["t"]
        cut = t.size if w == math.inf else int(np.searchsorted(t, w, "left"))
        self.pending[index] = (
            {key: value[cut:] for key, value in columns.items()} if cut < t.size else None
        )
        columns = {key: value[:cut] for key, value in columns.items()}
        reach = columns["t"]
        draws = self.draws[index]
        assert draws is not None
        values = draws.take(reach.size)
        if stage.op == "delay":
            columns["t"] = reach + values
            return columns
        station = state.station
        starts = fifo_starts(reach, values, station.servers, state.free)
        done = starts + values
        if done.size:
            state.free = free_after(state.free, done, station.servers)
        columns[f"wait{k}"] = starts - reach
        columns["t"] = done
        state.busy.up.push(starts)
        state.busy.down.push(done)
        waited = starts > reach
        queued, dequeued = reach[waited], starts[waited]
        state.queue.up.push(queued)
        state.queue.down.push(dequeued)
        state.waited.pending.push(dequeued)
        state.waits.push(dequeued, dequeued - queued)
        if station.workers_queue:
            state.workers.up.push(starts)
        return columns

    def _take(self, w: float, points: np.ndarray, end: float | None) -> None:
        """Every stream's events before ``w`` into the windows up to ``points``."""
        self.system.advance(w, points)
        self.generated.advance(w, points)
        for state in self.stations:
            for level in (state.busy, state.queue, state.workers):
                level.advance(w, points)
            self._check(state)
            state.waited.advance(w, points)
            state.served.advance(w, points)
            state.wait_sum.advance(w, points)
            dequeued, waits = state.waits.pop(w)
            if end is not None:
                waits = waits[: np.searchsorted(dequeued, end, "right")]
            assert waits is not None
            state.holder.waits.frombytes(np.ascontiguousarray(waits).view(np.uint8))
        if self.first is None and self.grid.times:
            # the first snapshot's waited counts: the waits of the warm-up, not kept
            self.first = SimpleNamespace(
                instances={
                    s.holder.name: {"waited": int(s.waited.count_at()[0])} for s in self.stations
                }
            )
        self._record(w)
        if self.fold_waits and self.first is not None:
            holders = [s.holder for s in self.stations]
            batch = 1 if end is not None else self.recorder.fold_size
            fold_waits(holders, self.recorder.keep, batch, self.first)

    def _check(self, state: _StationState) -> None:
        """Refuse a run in which a worker pool fills (cores queue) or a queue limit is met."""
        station = state.station
        name = station.runtime.name
        if station.workers_queue:
            if state.queue.highest > station.limit:
                raise Refused(f"{name}: {station.limit} requests waited for a worker (queue limit)")
        elif state.workers.highest > station.workers:
            raise Refused(f"{name}: all {station.workers} workers were busy (they would queue)")

    def _record(self, w: float) -> None:
        """The requests finished before ``w`` (and the horizon), in the order they finished."""
        ends, starts = self.records.pop(w)
        assert starts is not None
        finished = int(np.searchsorted(ends, self.limit, side="left"))
        recorder = self.recorder
        recorder.start.frombytes(np.ascontiguousarray(starts[:finished]).view(np.uint8))
        recorder.end.frombytes(np.ascontiguousarray(ends[:finished]).view(np.uint8))
        recorder.klass.frombytes(bytes(4 * finished))
        recorder.outcome.frombytes(bytes(4 * finished))
        recorder.fold_records(self.grid.kept_times())

    def commit(self) -> None:
        """Leave on the model what the event engine would have."""
        model = self.model
        recorder = self.recorder
        recorder.generated = self.arrived
        original = model.ctx.recorder
        for key in ("generated", "start", "end", "klass", "outcome", "folded", "folded_count"):
            setattr(original, key, getattr(recorder, key))
        for state in self.stations:
            runtime, holder = state.station.runtime, state.holder
            runtime.waits = holder.waits
            runtime.folded_waits = holder.folded_waits
            runtime.waits_folded = holder.waits_folded
            runtime.waits_keep = holder.waits_keep
        self._snapshots()

    def _snapshots(self) -> None:
        model, grid = self.model, self.grid
        times = np.array(grid.times)
        count = times.size
        instances: dict[str, dict[str, np.ndarray]] = {}
        for state in self.stations:
            instances[state.station.runtime.name] = self._counters(state, count)
        for runtime in model.instances:  # instances off the route: idle all run
            if runtime.name not in instances:
                idle = runtime.snapshot(0.0)
                instances[runtime.name] = {k: np.full(count, v) for k, v in idle.items()}
        in_system = self.system.area_at()
        generated = self.generated.count_at()
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
            for k in grid.kept
        ]

    def _counters(self, state: _StationState, count: int) -> dict[str, np.ndarray]:
        """:meth:`AppInstance.snapshot` at every snapshot time."""
        counters: dict[str, np.ndarray] = {}
        if state.cpu:
            counters["busy_area"] = state.busy.area_at()
            counters["queue_area"] = state.queue.area_at()
            counters["queue_peak"] = np.concatenate(state.queue.peaks).astype(float)
            counters["queue_now"] = np.concatenate(state.queue.levels)
            counters["waited"] = state.waited.count_at()
            counters["wait_sum"] = state.wait_sum.sum_at()
        else:  # calls and delays only: never queues
            zeros = np.zeros(count)
            counters.update(busy_area=zeros, queue_area=zeros, queue_peak=zeros, queue_now=zeros)
            counters["waited"] = np.zeros(count, dtype=int)
            counters["wait_sum"] = zeros
        counters["served"] = state.served.count_at()
        counters["rejected"] = np.zeros(count, dtype=int)
        counters["service_sum"] = state.served.sum_at()
        counters["worker_area"] = state.workers.area_at()
        counters["workers"] = np.full(count, state.station.workers)
        return counters


def _scalar(value: Any) -> float | int:
    return value.item() if hasattr(value, "item") else value

"""The compiled kernels against the numpy recursions on the same inputs: the same bits."""

from __future__ import annotations

import subprocess
import sys
from bisect import insort

import numpy as np
import pytest

import simperf
from simperf.fastpath import engine, kernels, levels, recursions
from simperf.fastpath.recursions import Carry, Passage, fifo_pass, fifo_run
from tests.conftest import HAS_NUMBA, MODELS

needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed (extra 'fast')")


def run_both(
    monkeypatch: pytest.MonkeyPatch, arrivals: np.ndarray, services: np.ndarray, servers: int
) -> tuple[tuple[np.ndarray, np.ndarray | None, Carry], ...]:
    """Each way, in two rounds with its state carried: starts, order, the state left."""
    monkeypatch.delenv("SIMPERF_NUMBA", raising=False)
    recursions.load()
    out = []
    for compiled in (True, False):
        monkeypatch.setattr(recursions, "USE_NUMBA", compiled)
        assert (recursions.compiled() is not None) == compiled
        carry, starts, orders = Carry(), [], []
        half = arrivals.size // 2
        for lo, hi in ((0, half), (half, arrivals.size)):
            start, order = fifo_run(arrivals[lo:hi], services[lo:hi], servers, carry)
            starts.append(start)
            orders.append(order)
        order = None if orders[0] is None else np.concatenate(orders)
        out.append((np.concatenate(starts), order, carry))
    return tuple(out)


@needs_numba
@pytest.mark.parametrize("servers", [1, 2, 4, 7, 16])
@pytest.mark.parametrize("load", [0.5, 0.99, 1.3])
def test_kernels_give_the_numpy_recursions_bits(
    monkeypatch: pytest.MonkeyPatch, servers: int, load: float
) -> None:
    rng = np.random.default_rng(servers * 100 + int(load * 10))
    count = 30_001
    arrivals = np.cumsum(rng.exponential(1.0 / (load * servers), count))
    services = rng.exponential(1.0, count)
    services[::97] = 0.0  # departures equal to starts
    arrivals[500:520] = arrivals[500]  # equal arrivals (and so equal departures)
    (a_starts, a_order, a_carry), (b_starts, b_order, b_carry) = run_both(
        monkeypatch, arrivals, services, servers
    )
    np.testing.assert_array_equal(a_starts, b_starts)
    assert a_starts.tobytes() == b_starts.tobytes()
    if servers == 1:
        assert a_order is None and b_order is None
        assert (a_carry.total, a_carry.peak, a_carry.departure) == (
            b_carry.total,
            b_carry.peak,
            b_carry.departure,
        )
    else:
        assert a_order is not None and b_order is not None
        np.testing.assert_array_equal(a_order, b_order)  # each round's stable order
        np.testing.assert_array_equal(a_carry.free, b_carry.free)


@needs_numba
def test_equal_departures_leave_first_in_first_out(monkeypatch: pytest.MonkeyPatch) -> None:
    arrivals = np.array([0.0, 0.0, 0.0, 1.0, 1.0])
    services = np.array([2.0, 1.0, 1.0, 0.0, 1.0])
    (starts, order, _), (b_starts, b_order, _) = run_both(monkeypatch, arrivals, services, 2)
    assert starts.tolist() == b_starts.tolist() == [0.0, 0.0, 1.0, 2.0, 2.0]
    # departures 2, 1 | 2, 2, 3 per round: the equal ones in arrival order
    assert order is not None and b_order is not None
    assert order.tolist() == b_order.tolist() == [1, 0, 0, 1, 2]


def test_the_environment_switches_the_kernels_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recursions, "USE_NUMBA", True)
    monkeypatch.setenv("SIMPERF_NUMBA", "0")
    assert recursions.compiled() is None
    monkeypatch.delenv("SIMPERF_NUMBA")
    assert (recursions.load() is not None) == HAS_NUMBA
    assert (recursions.compiled() is not None) == HAS_NUMBA


@needs_numba
@pytest.mark.parametrize("load_from", [1000, 10_000])
def test_a_run_loads_the_kernels_once_it_is_long_enough(
    monkeypatch: pytest.MonkeyPatch, load_from: int
) -> None:
    monkeypatch.setattr(recursions, "_kernels", None)  # as in a fresh process
    monkeypatch.setattr(recursions, "USE_NUMBA", True)
    monkeypatch.delenv("SIMPERF_NUMBA", raising=False)
    monkeypatch.setattr(recursions, "LOAD_FROM", load_from)
    monkeypatch.setattr(engine, "ROUND", 500)
    scenario = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": None, "run.warmup": 0, "run.requests": 3000, "run.engine": "fast"}
    )
    loaded = []
    real = recursions.fifo_pass

    def spy(*args: object, **kwargs: object) -> object:
        loaded.append(recursions.compiled() is not None)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "fifo_pass", spy)
    simperf.run(scenario, seed=1)
    # numpy until the run has sent load_from requests, compiled from then on
    assert loaded[0] is False
    assert loaded[-1] is (load_from <= 3000)


def test_importing_simperf_does_not_import_numba() -> None:
    code = "import sys, simperf; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


@needs_numba
def test_rises_count_their_falls_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    up = np.sort(rng.integers(0, 50, 400).astype(float))  # many equal times
    down = np.sort(rng.integers(0, 50, 350).astype(float))
    recursions.load()
    out = []
    for compiled in (True, False):
        monkeypatch.setattr(recursions, "USE_NUMBA", compiled)
        out.append(levels._risen(up, down, 3))
    np.testing.assert_array_equal(out[0], out[1])
    assert out[0].dtype == out[1].dtype
    expected = 3 + 1 + np.arange(up.size) - np.searchsorted(down, up, side="right")
    np.testing.assert_array_equal(out[0], expected)


@needs_numba
@pytest.mark.parametrize(
    ("up", "down"),
    [([], [1.0]), ([1.0, 2.0], []), ([1.0, 2.0], [5.0, 6.0]), ([5.0, 6.0], [1.0, 2.0, 5.0])],
)
def test_rises_count_their_falls_at_the_edges(up: list[float], down: list[float]) -> None:
    risen = kernels.compile_all().risen  # whatever SIMPERF_NUMBA says
    scratch = np.full(len(down) + 1, 7.0), np.full(len(up) + 3, 9, dtype=np.int64)
    levels = risen(np.array(up), np.array(down), 2, *scratch)
    expected = 2 + 1 + np.arange(len(up)) - np.searchsorted(down, up, side="right")
    np.testing.assert_array_equal(levels, expected)


@needs_numba
@pytest.mark.parametrize(
    "shape", ["falls first", "falls last", "falls in one part", "few rises", "ties"]
)
def test_rises_merged_in_parts_count_every_fall(shape: str) -> None:
    # the merge runs in four parts side by side: falls bunched in one part, or all
    # before or after the rises, must count as in one merge
    rng = np.random.default_rng(7)
    up = np.sort(rng.random(1001)) + 1.0
    down = {
        "falls first": np.sort(rng.random(900)),
        "falls last": np.sort(rng.random(900)) + 2.0,
        "falls in one part": np.sort(rng.uniform(up[300], up[400], 900)),
        "few rises": np.sort(rng.random(900)) + 1.0,
        "ties": np.sort(np.concatenate([up[::3], up[::5]])),
    }[shape]
    if shape == "few rises":
        up = up[:5]
    scratch = np.full(down.size + 5, 7.0), np.full(up.size, 9, dtype=np.int64)
    levels = kernels.compile_all().risen(up, down, 4, *scratch)
    expected = 4 + 1 + np.arange(up.size) - np.searchsorted(down, up, side="right")
    np.testing.assert_array_equal(levels, expected)


@needs_numba
@pytest.mark.parametrize("servers", [1, 3])
def test_a_compiled_pass_gives_the_numpy_pass_bits(
    monkeypatch: pytest.MonkeyPatch, servers: int
) -> None:
    rng = np.random.default_rng(servers)
    arrivals = np.cumsum(rng.exponential(1.0 / (0.9 * servers), 20_000))
    services = rng.exponential(1.0, 20_000)
    monkeypatch.delenv("SIMPERF_NUMBA", raising=False)
    recursions.load()
    passes = []
    for compiled in (True, False):
        monkeypatch.setattr(recursions, "USE_NUMBA", compiled)
        carry = Carry()
        halves = ((0, 10_000), (10_000, 20_000))  # two rounds, the state carried
        passes.append(
            [fifo_pass(arrivals[lo:hi], services[lo:hi], servers, carry) for lo, hi in halves]
        )
    for a, b in zip(*passes, strict=True):
        assert a.queued.size > 1000  # some waited, some did not
        for field in Passage._fields:
            one, other = getattr(a, field), getattr(b, field)
            assert (one is None) == (other is None) == (field == "order" and servers == 1)
            if one is not None:
                assert one.tobytes() == other.tobytes(), field


@needs_numba
@pytest.mark.parametrize("load", [0.5, 1.3])
@pytest.mark.parametrize(
    ("kernel", "initial"),
    [
        ("two_servers", [-np.inf, 3.0]),
        ("four_servers", [-np.inf, 1.0, 3.0]),
        ("four_servers", [-np.inf, 1.0, 1.0, 3.0]),
    ],
)
def test_the_register_kernels_give_the_general_kernels_bits(
    load: float, kernel: str, initial: list[float]
) -> None:
    compiled = kernels.compile_all()
    servers = len(initial)
    rng = np.random.default_rng(int(load * 10) + servers)
    count = 20_000
    arrivals = np.cumsum(rng.exponential(1.0 / (servers * load), count))
    services = rng.exponential(1.0, count)
    services[::50] = 0.0
    arrivals[100:120] = arrivals[100]  # equal arrivals, and so equal departures
    # on a grid of quarters from the middle on: departures meet free times exactly
    half = count // 2
    arrivals[half:] = np.maximum.accumulate(np.round(arrivals[half:] * 4) / 4)
    services[half:] = np.round(services[half:] * 4) / 4
    outs = []
    for run in (compiled.kiefer_wolfowitz, getattr(compiled, kernel)):
        free, rows = np.array(initial), np.zeros((6, count))
        order = np.empty(count, dtype=np.int64)
        waited = run(arrivals, services, free, rows, order)
        some = rows[3:, :waited]
        outs.append((waited, free.tobytes(), rows[:3].tobytes(), some.tobytes(), order.tobytes()))
    assert 0 < outs[0][0] < count  # some waited, some did not
    assert outs[0] == outs[1]


@needs_numba
@pytest.mark.parametrize("servers", [1, 3, 5])
def test_the_general_kernel_is_the_recursion_for_any_number_of_servers(servers: int) -> None:
    # one server included (runs route it to Lindley): the plain recursion, value for value
    rng = np.random.default_rng(servers + 40)
    count = 5000
    arrivals = np.cumsum(rng.exponential(1.0 / (0.95 * servers), count))
    services = rng.exponential(1.0, count)
    services[::41] = 0.0
    initial = np.sort(rng.uniform(0.0, 3.0, servers))
    free, rows = initial.copy(), np.zeros((6, count))
    order = np.empty(count, dtype=np.int64)
    kernels.compile_all().kiefer_wolfowitz(arrivals, services, free, rows, order)
    times = initial.tolist()
    starts = []
    for arrival, service in zip(arrivals.tolist(), services.tolist(), strict=True):
        starts.append(max(arrival, times.pop(0)))
        insort(times, starts[-1] + service)  # after equal times: first in, first out
    assert rows[0].tolist() == starts
    assert free.tolist() == times
    np.testing.assert_array_equal(order, np.argsort(rows[2], kind="stable"))

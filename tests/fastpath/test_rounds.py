"""The fast path in rounds: the state each station carries from round to round makes
a run in small rounds the one-round run (1e-9) and the event engine's, and past
``run.keep_requests`` it folds what the event engine folds."""

from __future__ import annotations

import math
from itertools import islice, pairwise
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter

import simperf
from simperf.arrivals.homogeneous import poisson_batches
from simperf.fastpath import engine
from simperf.fastpath.chain import WHOLE
from simperf.fastpath.recursions import Carry, fifo_starts
from simperf.rng import BATCH
from simperf.spec.distributions import Distribution
from tests.conftest import MODELS
from tests.fastpath.test_fastpath_identity import assert_close, assert_same_run, both


def _budget(model: str, requests: int = 3000, **more: Any) -> simperf.Scenario:
    return simperf.load(MODELS / f"{model}.yaml").with_overrides(
        {"run.duration": None, "run.warmup": 1, "run.requests": requests, **more}
    )


@pytest.mark.usefixtures("recursion_mode")
@pytest.mark.parametrize("model", ["mm1", "mmc", "tandem"])
def test_small_rounds_give_the_one_round_run_and_the_event_engine(
    model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = _budget(model)
    events, whole = both(scenario)
    monkeypatch.setattr(engine, "ROUND", 257)  # 12 rounds, none on a window's edge
    chunked = simperf.run(scenario.with_overrides({"run.engine": "fast"}), seed=3)
    assert_same_run(events, chunked)
    assert_same_run(whole, chunked)


@pytest.mark.usefixtures("recursion_mode")
def test_small_rounds_with_delays_a_horizon_and_in_flight_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a delay after the cpu step reorders requests between the stations
    scenario = simperf.load(MODELS / "tandem.yaml").with_overrides(
        {
            "run.duration": 12,
            "run.warmup": 2,
            "run.window": 0.5,
            "components.api.endpoints.serve": [
                {"cpu": {"dist": "exponential", "mean": "10ms"}},
                {"delay": {"dist": "exponential", "mean": "30ms"}},
                {"call": "store.serve"},
            ],
        }
    )
    monkeypatch.setattr(engine, "ROUND", 100)
    events, fast = both(scenario, seed=5)
    assert_same_run(events, fast)
    assert fast.to_dict()["requests"]["in_flight"] == events.to_dict()["requests"]["in_flight"]


def test_records_and_waits_past_the_cap_fold_as_the_event_engine_folds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": 40, "run.warmup": 5, "run.window": 1, "run.keep_requests": 1000}
    )
    monkeypatch.setattr(engine, "ROUND", 700)
    events, fast = both(scenario)
    assert fast.data["requests"]["records_kept"] == 1000
    assert fast.data["components"]["app"]["wait_p99"] is not None
    assert_close(events.to_dict(), fast.to_dict())
    np.testing.assert_allclose(events.requests["latency"], fast.requests["latency"], atol=1e-9)


@pytest.mark.usefixtures("recursion_mode")
@pytest.mark.parametrize("servers", [1, 2, 5])
def test_a_recursion_resumed_from_its_state_is_the_whole_one(servers: int) -> None:
    rng = np.random.default_rng(servers)
    arrivals = np.cumsum(rng.exponential(1.0, 5000))
    services = rng.exponential(0.95 * servers, 5000)
    whole = fifo_starts(arrivals, services, servers)
    parts, carry = [], Carry()
    for lo in range(0, 5000, 613):
        parts.append(fifo_starts(arrivals[lo : lo + 613], services[lo : lo + 613], servers, carry))
    # the same float operations as one pass: the same starts to the last bit
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.usefixtures("recursion_mode")
def test_arrivals_drawn_in_chunks_are_the_batches_the_event_engine_reads() -> None:
    chunks = islice(engine.poisson_chunks(90.0, np.random.default_rng(4), 8), 12)
    drawn = np.concatenate(list(chunks))
    assert drawn.size == (1 + 1 + 2 + 4 + 8 * 8) * BATCH
    batches = poisson_batches(90.0, np.random.default_rng(4), BATCH)
    expected = np.concatenate(list(islice(batches, 72)))
    assert drawn.tobytes() == expected.tobytes()  # to the last bit


@pytest.mark.parametrize("sizes", [[5, 3, 9, 1, 7, 20], [4, 4, 4, 4], [12], [1], []])
def test_rounds_cut_the_chunks_into_rounds_each_with_the_next_first(sizes: list[int]) -> None:
    bounds = np.cumsum([0, *sizes])
    chunks = [np.arange(lo, hi, dtype=float) for lo, hi in pairwise(bounds)]
    rounds = list(engine._rounds(iter(chunks), 4))
    total = int(bounds[-1])
    assert np.concatenate([r for r, _ in rounds]).tolist() == list(range(total))
    assert [r.size for r, _ in rounds[:-1]] == [4] * (len(rounds) - 1)
    assert [w for _, w in rounds] == [*(4.0 * k for k in range(1, len(rounds))), math.inf]


@pytest.mark.parametrize(
    "dist",
    [
        {"dist": "exponential", "mean": 0.01},
        {"dist": "uniform", "low": 0.0, "high": 0.02},
        {"dist": "lognormal", "median": 0.01, "p99": 0.05},
        {"dist": "gamma", "mean": 0.01, "cv": 0.5},
        {"dist": "gamma", "mean": 0.01, "cv": 2.0},
    ],
)
def test_one_draw_for_several_batches_is_the_batches_draws(dist: dict[str, Any]) -> None:
    spec = TypeAdapter(Distribution).validate_python(dist)
    assert isinstance(spec, WHOLE)
    one = spec.sample_batch(np.random.default_rng(7), 5 * BATCH)
    rng = np.random.default_rng(7)
    batches = np.concatenate([spec.sample_batch(rng, BATCH) for _ in range(5)])
    np.testing.assert_array_equal(one, batches)


@pytest.mark.parametrize("held", [0, 1, 5, engine.MERGE + 1])
def test_rows_held_from_a_round_merge_as_a_stable_sort_would_order_them(held: int) -> None:
    rng = np.random.default_rng(held)
    head = {"t": np.sort(rng.integers(0, 20, held).astype(float)), "v": np.arange(held) + 0.5}
    body = {"t": np.sort(rng.integers(0, 20, 300).astype(float)), "v": np.arange(300.0)}
    taken, later = engine._split_at([head, body], 12.0)
    both = {key: np.concatenate((head[key], body[key])) for key in head}
    order = np.argsort(both["t"], kind="stable")  # equal times: the held rows first
    cut = int(np.searchsorted(both["t"][order], 12.0))
    for key in both:
        np.testing.assert_array_equal(taken[key], both[key][order][:cut])
        assert later is not None
        np.testing.assert_array_equal(later[key], both[key][order][cut:])


def test_a_run_asks_for_no_huge_pages_and_restores_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hint = pytest.importorskip("numpy._core.multiarray")._set_madvise_hugepage
    during: list[bool] = []
    real = engine.fifo_pass

    def spy(*args: Any, **kwargs: Any) -> Any:
        during.append(hint(False))  # reads the state (and leaves it off)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "fifo_pass", spy)

    class Column(engine.Column):  # the record buffers, set up before the first round
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            during.append(hint(False))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(engine, "Column", Column)
    before = hint(True)
    try:
        simperf.run(_budget("mm1", 500, **{"run.engine": "fast"}), seed=1)
        assert during and not any(during)
        assert hint(True) is True  # the request is back as it was
    finally:
        hint(before)

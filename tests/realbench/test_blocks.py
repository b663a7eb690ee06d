"""Blocks of a realbench run: disturbance measures, the rule that leaves blocks out, the
bootstrap spread, and the log joined for calibration (no servers needed)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from realbench import bench, blocks, loadgen


def test_foreign_share_is_the_cpu_busy_time_not_the_workers() -> None:
    before = blocks.CpuSample(wall=100.0, busy=50.0, worker=10.0, waited=1.0)
    after = blocks.CpuSample(wall=110.0, busy=55.0, worker=14.0, waited=1.2)
    assert blocks.foreign_share(before, after) == pytest.approx(0.1)
    assert blocks.waited_share(before, after) == pytest.approx(0.02)


def test_cpu_sample_reads_this_machine() -> None:
    cpu = min(os.sched_getaffinity(0))
    sample = blocks.cpu_sample(cpu, os.getpid())
    assert sample.busy > 0 and sample.worker >= 0 and sample.waited >= 0


def test_disturbed_blocks_by_the_rule_but_never_most_of_a_level() -> None:
    rows = pd.DataFrame(
        {
            "load": [0.2, 0.2, 0.2, 0.6, 0.6, 0.6],
            "round": [0, 1, 2, 0, 1, 2],
            "waited": [0.001, 0.20, 0.001, 0.30, 0.40, 0.001],
            "late": [0.0, 0.0, 0.05, 0.0, 0.0, 0.0],
        }
    )
    # 0.2: rounds 2 (waited) and 3 (late) out, but that leaves one: all kept
    # 0.6: rounds 1 and 2 out would leave one: all kept
    assert not blocks.disturbed(rows).any()
    rows.loc[len(rows)] = {"load": 0.6, "round": 3, "waited": 0.002, "late": 0.0}
    assert blocks.disturbed(rows).tolist() == [False] * 3 + [True, True, False, False]


def _log(spreads: list[float]) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    parts = []
    for block, scale in enumerate(spreads):
        latency = rng.exponential(scale, 500)
        sent = block * 100 + np.sort(rng.uniform(0, 50, 500))
        parts.append(
            pd.DataFrame({"timestamp": sent, "sent": sent, "latency": latency, "load": 0.2}).assign(
                server_start=sent, server_end=sent + latency, block=block
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_block_spread_sees_blocks_that_differ() -> None:
    alike = blocks.block_spread(_log([0.01] * 6), (50, 95), resamples=200)
    drift = blocks.block_spread(_log([0.01, 0.02] * 3), (50, 95), resamples=200)
    assert (alike["blocks"] == 6).all()
    assert (drift["spread"].to_numpy() > 2 * alike["spread"].to_numpy()).all()


def test_prepare_leaves_disturbed_blocks_out_and_joins_the_rest() -> None:
    log = _log([0.01] * 4)
    rows = pd.DataFrame(
        {"load": 0.2, "round": range(4), "waited": [0.0, 0.5, 0.0, 0.0], "late": 0.0}
    )
    joined = bench.prepare(log, rows)
    assert sorted(joined["block"].unique()) == [0, 2, 3]
    # one clock: no gap of a left-out or idle stretch between blocks
    assert joined["timestamp"].diff().max() < 5
    assert (joined["sent"] == joined["timestamp"]).all()


def test_the_same_demands_and_scaled_send_times_at_every_level() -> None:
    slow = loadgen.poisson_times(10.0, 100, 1e9, seed=4)
    fast = loadgen.poisson_times(40.0, 100, 1e9, seed=4)
    np.testing.assert_allclose(slow, 4 * fast)
    demands = loadgen.cpu_demands(0.005, 20_000, seed=2)
    np.testing.assert_array_equal(demands[:10], loadgen.cpu_demands(0.005, 10, seed=2))
    assert demands.mean() == pytest.approx(0.005, rel=0.03)


def test_late_counts_sends_after_their_time() -> None:
    records = [loadgen.Record(1.0, 0.01, 200, sent) for sent in (1.0, 1.0005, 1.003)]
    assert loadgen.late(records) == 1

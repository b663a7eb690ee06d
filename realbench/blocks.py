"""The measurement in blocks: what disturbed a block, which blocks are left out, and
each measured percentile's spread over blocks.

A run visits the loads in rounds (0.2, 0.4, 0.6, 0.75, 0.2, ...), one *block* per load
and round. Whatever else runs on the shared machine lands in some blocks and not
others; these measures of each block tell which:

* **waited**: the share of the block's wall time that the worker was ready to run but
  waited for its CPU (``/proc/<pid>/schedstat``): what other work cost the worker,
  whatever their priorities.
* **late**: the share of the block's requests that the load generator sent more than
  :data:`~realbench.loadgen.LATE` after their scheduled time (its own CPU was taken).
* **foreign** (reported, not in the rule): the share of the block's wall time that the
  worker's CPU was busy with anything but the worker (other processes, interrupts, time
  stolen by the hypervisor), from ``/proc/stat`` and the worker's ``/proc/<pid>/stat``.
  Only known when the worker is pinned to its own CPU. At real-time priority the worker
  runs first, and others use its CPU's idle time without delaying it.

The rule that leaves a block out is fixed here, before the final run's errors are
looked at: :data:`WAITED_MAX` and :data:`LATE_MAX`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

WAITED_MAX = 0.01
"""A block in which the worker waited for its CPU more than this share of the wall time
is disturbed."""
LATE_MAX = 0.02
"""A block with more than this share of late sends is disturbed."""
MIN_KEPT = 2
"""A level keeps all its blocks when fewer than this many would be left."""
BOOTSTRAP = 400
"""Resamples of a level's blocks for the spread of its percentiles."""


@dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU times (seconds) at one instant: the worker's CPU busy (all but idle
    and iowait), the worker process's own user and system time, and the time it was
    ready to run but waited for a CPU."""

    wall: float
    busy: float
    worker: float
    waited: float = 0.0


def _ticks() -> float:
    return float(os.sysconf("SC_CLK_TCK"))


def cpu_sample(cpu: int, pid: int) -> CpuSample:
    """Read the busy time of ``cpu`` and the CPU time of process ``pid``."""
    wall = time.time()
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith(f"cpu{cpu} "):
                fields = [float(x) for x in line.split()[1:]]
                break
        else:
            raise ValueError(f"cpu{cpu} not in /proc/stat")
    busy = sum(fields) - fields[3] - fields[4] - sum(fields[8:10])  # guest is in user
    with open(f"/proc/{pid}/stat") as stat:
        after_name = stat.read().rsplit(")", 1)[1].split()
    own = float(after_name[11]) + float(after_name[12])  # utime, stime
    with open(f"/proc/{pid}/schedstat") as stat:
        waited = float(stat.read().split()[1]) / 1e9  # run-queue wait (ns)
    return CpuSample(wall, busy / _ticks(), own / _ticks(), waited)


def foreign_share(before: CpuSample, after: CpuSample) -> float:
    """Share of the wall time between two samples that the CPU did other work."""
    wall = after.wall - before.wall
    other = (after.busy - before.busy) - (after.worker - before.worker)
    return max(other, 0.0) / wall if wall > 0 else float("nan")


def waited_share(before: CpuSample, after: CpuSample) -> float:
    """Share of the wall time between two samples that the worker waited for its CPU."""
    wall = after.wall - before.wall
    return (after.waited - before.waited) / wall if wall > 0 else float("nan")


def disturbed(blocks: pd.DataFrame) -> pd.Series:
    """Which blocks the rule leaves out.

    Parameters
    ----------
    blocks
        One row per block with ``load``, ``waited`` (NaN when unknown) and ``late``
        (shares, see the module).

    Returns
    -------
    pandas.Series
        True for a block to leave out: ``waited > WAITED_MAX`` or ``late > LATE_MAX``,
        unless that would leave its level fewer than ``MIN_KEPT`` blocks (then none of
        that level's blocks is left out).
    """
    bad = (blocks["waited"] > WAITED_MAX) | (blocks["late"] > LATE_MAX)
    kept = (~bad).groupby(blocks["load"]).transform("sum")
    return bad & (kept >= MIN_KEPT)


def block_spread(
    log: pd.DataFrame,
    percentiles: tuple[int, ...],
    resamples: int = BOOTSTRAP,
    seed: int = 0,
) -> pd.DataFrame:
    """Each level's measured percentiles with a bootstrap over its blocks.

    The blocks of a level are drawn with replacement (as many as it has) and the
    percentiles of their pooled latencies computed, ``resamples`` times: a block is long
    enough that blocks are nearly independent, so this spread holds the slow drift of
    the machine that a spread over single requests misses.

    Returns
    -------
    pandas.DataFrame
        ``load``, ``percentile`` (``p50``...), ``blocks`` and ``spread``: the 95%
        interval's half-width relative to the percentile of all the level's requests.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for load, level in log.groupby("load"):
        groups = [g["latency"].to_numpy() for _, g in level.groupby("block")]
        whole = np.percentile(level["latency"], percentiles)
        draws = np.empty((resamples, len(percentiles)))
        for i in range(resamples):
            chosen = rng.integers(len(groups), size=len(groups))
            draws[i] = np.percentile(np.concatenate([groups[j] for j in chosen]), percentiles)
        low, high = np.percentile(draws, [2.5, 97.5], axis=0)
        for p, lo, hi, w in zip(percentiles, low, high, whole, strict=True):
            rows.append(
                {
                    "load": load,
                    "percentile": f"p{p}",
                    "blocks": len(groups),
                    "spread": (hi - lo) / 2 / w,
                }
            )
    return pd.DataFrame(rows)

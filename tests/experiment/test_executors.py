"""Executors: a process pool's workers do not outlive a parent killed outright."""

from __future__ import annotations

import concurrent.futures
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from simperf.experiment.executors import PARENT_POLL_INTERVAL, SerialExecutor, executor_for

from conftest import MODELS, ROOT


def _children(pid: int) -> set[int]:
    """Child pids of ``pid``, read from /proc."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie awaiting its reaper counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_pool_workers_die_with_a_killed_sweep() -> None:
    command = [
        sys.executable,
        "-m",
        "simperf.cli",
        "sweep",
        str(MODELS / "mmc.yaml"),
        "--grid",
        "components.app.cores=4,5,6,7,8,9",
        "--duration",
        "4000s",
        "--set",
        "run.engine=events",  # long enough to kill (some 20 s): the fast path takes 1.5 s
        "--workers",
        "2",
        "--quiet",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            assert proc.poll() is None, "the sweep ended before its workers started"
            workers = _children(proc.pid)
        assert len(workers) >= 2
        time.sleep(1)  # let every worker run its initializer
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10 * PARENT_POLL_INTERVAL + 5
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in workers:  # a failed check must not leave workers behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_pool_runs_work_in_its_workers() -> None:
    with executor_for("processes", workers=2) as pool:
        pids = {pool.submit(os.getpid).result() for _ in range(4)}
    assert os.getpid() not in pids


def test_serial_executor_runs_in_this_process() -> None:
    with executor_for("serial") as pool:
        assert isinstance(pool, SerialExecutor)
        assert pool.submit(os.getpid).result() == os.getpid()


def test_dask_local_takes_any_free_port_for_its_dashboard() -> None:
    """A taken :8787 (another cluster, a parallel test) must not warn or fail."""
    pytest.importorskip("distributed")
    blocker = socket.socket()
    try:
        blocker.bind(("0.0.0.0", 8787))
        blocker.listen()
    except OSError:
        pass  # taken already: the case under test anyway
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with executor_for("dask:local", workers=1) as pool:
                assert pool.submit(sum, [1, 2]).result() == 3
                # Ctrl-C reaches the whole process group: the cluster's processes ignore
                # it and leave the closing to this one, and they log nothing on the way
                # (pages of tracebacks before, from workers still busy in a run)
                processes = _descendants(os.getpid())
                assert processes and all(_ignores_sigint(pid) for pid in processes)
                handlers = pool.submit(
                    lambda: [h.level for h in logging.getLogger("distributed").handlers]
                ).result()
                assert handlers and set(handlers) == {logging.CRITICAL}
    finally:
        blocker.close()


def _descendants(pid: int) -> set[int]:
    found = set()
    for child in _children(pid):
        found |= {child} | _descendants(child)
    return found


def _ignores_sigint(pid: int) -> bool:
    """Whether ``pid`` ignores SIGINT (SigIgn in /proc/PID/status, bit 2 - 1)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


def test_an_interrupted_pool_stops_at_once() -> None:
    """Ctrl-C (or any error) inside the pool's block ends its runs then and there: the
    results of the runs in progress and queued would never be read, and waiting for
    them kept an interrupted sweep going for as long as they took."""
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), executor_for("processes", workers=2) as pool:
        futures = [pool.submit(time.sleep, 10) for _ in range(6)]
        time.sleep(1)  # both workers are sleeping now, more calls queued behind them
        raise KeyboardInterrupt
    assert time.monotonic() - started < 5  # 30 s before: the 2 calls running, 3 queued
    # the calls ended are failed by the pool's own thread, soon after: none hangs
    ended = [f for f in futures if not f.cancelled()]  # wait() counts cancelled as pending
    _, pending = concurrent.futures.wait(ended, timeout=5)
    assert not pending

"""Where runs execute: serially, in a local process pool, or on a Dask cluster.

Every run is a pure function of (scenario, seed, replication), so results are identical
whichever executor computes them. Work is shipped as plain data (the scenario's JSON
dump) so any executor that can pickle a dict can run it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from simperf.errors import SimperfError

DASK_CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a Dask scheduler before giving up with a clear error."""

PARENT_POLL_INTERVAL = 0.5
"""Seconds between a pool worker's checks that the process that started it is alive."""


class SerialExecutor(Executor):
    """Runs each submitted call at once, in this process (for debugging and tiny jobs)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def completed(
    pool: Executor, fn: Callable[..., Any], tasks: list[tuple[Any, tuple[Any, ...]]]
) -> Iterator[tuple[Any, Future[Any]]]:
    """Run ``fn(*args)`` for each (tag, args) and yield (tag, future) as each one finishes.

    A serial executor runs them one at a time here, so each result is handed out (and
    can be stored) before the next run starts.
    """
    if isinstance(pool, SerialExecutor):
        for tag, args in tasks:
            yield tag, pool.submit(fn, *args)
        return
    futures = {pool.submit(fn, *args): tag for tag, args in tasks}
    try:
        for future in as_completed(futures):
            yield futures[future], future
    finally:
        for future in futures:
            future.cancel()


def die_with_parent(parent: int) -> None:
    """Pool-worker initializer: end this worker when its parent process is gone.

    A parent killed outright (SIGKILL, OOM killer) cannot shut its pool down, and the
    workers would go on computing runs nobody will read. On Linux the kernel is asked to
    kill the worker with its parent (``PR_SET_PDEATHSIG``); everywhere, a daemon thread
    also watches the parent's pid and exits when it changes (the worker was re-parented).
    """
    _ask_kernel_to_kill_with_parent()
    if os.getppid() != parent:  # the parent died before this worker got here
        os._exit(1)
    watcher = threading.Thread(
        target=_watch_parent, args=(parent,), name="simperf-parent-watch", daemon=True
    )
    watcher.start()


def _ask_kernel_to_kill_with_parent() -> None:
    if not os.uname().sysname == "Linux":
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the watcher thread is enough
        pass


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_INTERVAL)
    os._exit(1)


def abandon(pool: ProcessPoolExecutor) -> None:
    """Stop a process pool now: queued calls cancelled, workers ended mid-call.

    For a block left by an error or Ctrl-C, whose results nobody will read: the pool's
    own ``shutdown`` would wait for the calls running and for those already queued to
    the workers (a few more than the workers), so an interrupted sweep went on for as
    long as they took. A results store keeps what finished before.
    """
    # the pool's worker processes (private, but stable from 3.8 to 3.13; 3.14 has
    # ProcessPoolExecutor.terminate_workers)
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    for worker in workers:
        worker.join(timeout=5)


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@contextmanager
def executor_for(
    spec: Executor | str | None, *, workers: int | None = None, jobs: int | None = None
) -> Iterator[Executor]:
    """An executor from a user's choice, closed afterwards if this function created it.

    Parameters
    ----------
    spec
        An ``Executor`` (used as is, not shut down), ``"serial"``, ``"processes"``,
        ``"dask:local"`` (a ``LocalCluster`` on loopback without dashboard),
        ``"dask:ADDRESS"`` (an existing scheduler), or None: processes when there is
        more than one job and more than one core, else serial.
    workers
        Process count for the process pool (default: all cores).
    jobs
        How many runs will be submitted (to skip pool start-up for a single run).
    """
    if isinstance(spec, Executor):
        yield spec
        return
    count = workers or default_workers()
    if spec is None:
        spec = "processes" if count > 1 and (jobs is None or jobs > 1) else "serial"
    if spec == "serial":
        yield SerialExecutor()
    elif spec == "processes":
        pool = ProcessPoolExecutor(
            max_workers=count, initializer=die_with_parent, initargs=(os.getpid(),)
        )
        try:
            yield pool
        except BaseException:
            abandon(pool)
            raise
        pool.shutdown(wait=True)
    elif spec.startswith("dask:"):
        with _dask_executor(spec[len("dask:") :], workers=workers) as pool:
            yield pool
    else:
        raise ValueError(
            f"unknown executor {spec!r} (expected serial, processes, dask:local or dask:ADDRESS)"
        )


@contextmanager
def _dask_executor(address: str, *, workers: int | None) -> Iterator[Executor]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("Dask execution needs the extra: pip install 'simperf[dask]'") from exc
    if address == "local":
        with _sigint_ignored():
            cluster = LocalCluster(
                n_workers=workers or default_workers(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",  # None means the default :8787, which may be taken
                # its own private cluster: a run's error reaches its future, and a closing
                # cluster's workers, still busy in a run, log heartbeats failing in pages
                silence_logs=logging.CRITICAL,
            )
        try:
            with Client(cluster) as client:
                yield client.get_executor()
        finally:
            cluster.close()
    else:
        client = _connect(Client, address)
        with client:
            yield client.get_executor()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while a LocalCluster starts its processes, which keep it ignored.

    Ctrl-C reaches the terminal's whole process group: each worker and nanny then died
    with pages of tracebacks before the command could close the cluster itself, as it
    does on the KeyboardInterrupt that this process still gets.
    """
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _connect(client_class: Any, address: str) -> Any:
    """A Dask client of the scheduler at ``address``, or a SimperfError within the
    connect timeout (a malformed, unreachable or silent address)."""
    try:
        return client_class(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise SimperfError(
            f"dask scheduler {address!r}: cannot connect within {DASK_CONNECT_TIMEOUT:g} s "
            f"({type(exc).__name__}: {exc}); give host:port of a running scheduler "
            "(e.g. tcp://127.0.0.1:8786) or 'local'"
        ) from None

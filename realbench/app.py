"""The WSGI service under test: a Redis GET and SET, a PostgreSQL query, then CPU work.

Each request's CPU demand is the ``cpu`` query parameter (seconds; the load generator
draws it, so every load level can run the same sequence) or, without one, exponential
with mean ``REALBENCH_CPU_MS`` milliseconds; either way it is the worker's own CPU time
(so a preempted worker still does the same work). With ``REALBENCH_WORKER_CPU`` set,
each worker pins itself to that CPU on its first request (the load generator, the
gunicorn master and the databases keep the others). The
response carries the server-side times the calibration needs, in one header::

    X-Timing: <pid> <start> <end> <redis> <postgres> <cpu>

``start``/``end`` are wall-clock times (``time.time()``, the load generator's clock) at
which the handler began and ended; the rest are durations in seconds.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import psycopg
import redis

CPU_MEAN = float(os.environ.get("REALBENCH_CPU_MS", "5")) / 1000
KEYS = 1000

_state: dict[str, Any] = {}


def _connections() -> tuple[Any, Any, random.Random]:
    # one connection of each per worker process, opened on its first request (after fork)
    if "pid" not in _state or _state["pid"] != os.getpid():
        cpu = os.environ.get("REALBENCH_WORKER_CPU")
        if cpu:
            os.sched_setaffinity(0, {int(cpu)})
        _state.update(
            pid=os.getpid(),
            redis=redis.Redis(host="127.0.0.1", port=int(os.environ["REALBENCH_REDIS_PORT"])),
            pg=psycopg.connect(
                host="127.0.0.1",
                port=int(os.environ["REALBENCH_PG_PORT"]),
                user="bench",
                dbname="postgres",
                autocommit=True,
            ),
            rng=random.Random(os.getpid()),
        )
    return _state["redis"], _state["pg"], _state["rng"]


def burn(seconds: float) -> None:
    """Spin until this thread has used ``seconds`` of CPU."""
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for _ in range(200):
            x += 1


def demand(environ: dict[str, Any], rng: random.Random) -> float:
    """The request's CPU demand (s): its ``cpu`` query parameter, else a random draw."""
    given = parse_qs(environ.get("QUERY_STRING", "")).get("cpu")
    return float(given[0]) if given else rng.expovariate(1 / CPU_MEAN)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Serve one request (any path)."""
    started = time.time()
    cache, db, rng = _connections()
    key = rng.randrange(KEYS)
    t0 = time.perf_counter()
    cache.get(f"item:{key}")
    cache.set(f"item:{key}", started)
    t1 = time.perf_counter()
    with db.cursor() as cur:
        cur.execute("SELECT value FROM items WHERE id = %s", (key,))
        cur.fetchone()
    t2 = time.perf_counter()
    burn(demand(environ, rng))
    t3 = time.perf_counter()
    ended = time.time()
    timing = f"{os.getpid()} {started:.6f} {ended:.6f} {t1 - t0:.7f} {t2 - t1:.7f} {t3 - t2:.7f}"
    body = b"ok\n"
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), ("X-Timing", timing)],
    )
    return [body]

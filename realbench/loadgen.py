"""Open-loop Poisson load on 127.0.0.1, timed from each request's scheduled send time.

Send times are drawn in advance; each request is started at its time whether or not
earlier ones have finished, and its latency runs from the *scheduled* time to the last
byte of the response, so a late sender or a full backlog is charged to the latency
instead of hidden (no coordinated omission). The sender sleeps until ``SPIN`` before a
send time and spins to it, so requests leave on time (the actual send time is logged as
``sent``; a late one shows there). Each request can carry its CPU demand (``?cpu=``
seconds), so every load level can run the same demand sequence. Bounded: at most
``count`` requests, none scheduled after ``max_seconds``, at most ``max_outstanding`` in
flight (beyond that the run stops as overloaded).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np

HOST = "127.0.0.1"
REQUEST = "GET /{query} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
SPIN = 0.002
"""The sender sleeps until this long before a send time, then spins (s): an asyncio
sleep alone wakes up to a millisecond or more late."""
LATE = 0.001
"""A request sent more than this after its scheduled time counts as late (s)."""


@dataclass
class Record:
    """One request as measured by the client and reported by the server."""

    timestamp: float
    latency: float
    status: int
    sent: float = float("nan")
    worker: int = 0
    server_start: float = float("nan")
    server_end: float = float("nan")
    redis: float = float("nan")
    postgres: float = float("nan")
    cpu: float = float("nan")


class Overloaded(RuntimeError):
    """More requests in flight than the generator allows: the server cannot keep up."""


async def _one(
    port: int, scheduled: float, records: list[Record], demand: float | None = None
) -> None:
    status = 0
    timing: list[str] = []
    sent = time.time()
    query = "" if demand is None else f"?cpu={demand:.7f}"
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(REQUEST.format(query=query).encode())
        response = await reader.read()
        writer.close()
        head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "x-timing":
                timing = value.split()
    except (OSError, ValueError, IndexError):
        status = 599
    latency = time.time() - scheduled
    record = Record(scheduled, latency, status, sent)
    if len(timing) == 6:
        record.worker = int(timing[0])
        record.server_start, record.server_end = float(timing[1]), float(timing[2])
        record.redis, record.postgres, record.cpu = map(float, timing[3:])
    records.append(record)


async def _run(
    port: int, times: np.ndarray, demands: np.ndarray | None, max_outstanding: int
) -> list[Record]:
    records: list[Record] = []
    tasks: set[asyncio.Task[None]] = set()
    start = time.time() + 0.05
    for index, offset in enumerate(times.tolist()):
        scheduled = start + offset
        delay = scheduled - time.time() - SPIN
        if delay > 0:
            await asyncio.sleep(delay)
        # let the responses due meanwhile be read, then spin to the send time
        await asyncio.sleep(0)
        while time.time() < scheduled:
            pass
        if len(tasks) >= max_outstanding:
            for task in tasks:
                task.cancel()
            raise Overloaded(f"more than {max_outstanding} requests in flight")
        demand = None if demands is None else float(demands[index])
        task = asyncio.create_task(_one(port, scheduled, records, demand))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    return records


def poisson_times(rate: float, count: int, max_seconds: float, seed: int) -> np.ndarray:
    """Send offsets (seconds from the start) of a Poisson process at ``rate``."""
    gaps = np.random.default_rng(seed).exponential(1 / rate, count)
    times = np.cumsum(gaps) - gaps[0]
    return times[times <= max_seconds]


def generate(
    port: int,
    rate: float,
    count: int,
    max_seconds: float,
    *,
    seed: int = 1,
    demands: np.ndarray | None = None,
    max_outstanding: int = 500,
) -> list[Record]:
    """Send up to ``count`` requests at Poisson ``rate`` to 127.0.0.1:``port``.

    ``demands`` (seconds of CPU, at least as many as requests sent) is passed one per
    request, in order; without it the app draws its own. The same ``seed`` at another
    rate gives the same send times scaled by the rates' ratio.
    """
    times = poisson_times(rate, count, max_seconds, seed)
    return asyncio.run(_run(port, times, demands, max_outstanding))


def cpu_demands(mean: float, count: int, seed: int) -> np.ndarray:
    """``count`` exponential CPU demands of ``mean`` seconds (one level's sequence: the
    same ``seed`` gives every level the same demands)."""
    return np.random.default_rng([seed, 7]).exponential(mean, count)


def late(records: list[Record], after: float = LATE) -> int:
    """How many requests left more than ``after`` seconds after their scheduled time."""
    return sum(1 for r in records if r.sent - r.timestamp > after)


def saturated(port: int, count: int, demand: float, clients: int = 3) -> list[Record]:
    """``count`` requests from ``clients`` closed-loop clients, each sending its next
    request as soon as its last returns: the single worker always finds one waiting, so
    the gaps between its successive ends are its time per request, idle time left out."""

    async def client(records: list[Record], left: list[int]) -> None:
        while left[0] > 0:
            left[0] -= 1
            await _one(port, time.time(), records, demand)

    async def run() -> list[Record]:
        records: list[Record] = []
        left = [count]
        await asyncio.gather(*(client(records, left) for _ in range(clients)))
        return records

    return asyncio.run(run())


def sequential(port: int, count: int, demand: float | None = None) -> list[Record]:
    """``count`` requests one after another (a warm-up, and the service time alone),
    each with CPU demand ``demand`` seconds (None: the app draws one)."""

    async def run() -> list[Record]:
        records: list[Record] = []
        for _ in range(count):
            await _one(port, time.time(), records, demand)
        return records

    return asyncio.run(run())

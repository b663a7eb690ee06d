"""The ``rate_limit`` step: token buckets (or sliding logs) kept in a cache, one command each.

A limiter's buckets live on the cache's nodes (a per-client bucket on the node its
address hashes to, the global one on one node), so the check pays the node's network
round trip and command queue like a ``read``. The bucket is updated when the command
completes (a script run atomically on the node). A node that fails loses its buckets,
which come back full; while it is down requests are admitted unchecked
(``on_down: fall_through``) or fail as ``cache_down``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from simperf.components.app_server import AppServer, StepRunner
from simperf.components.base import Component, Context, Process, Request, RequestFailed
from simperf.components.cache import Cache, node_index
from simperf.rng import stable_hash
from simperf.spec.cache_ops import RateLimitSpec, RateLimitStep
from simperf.spec.cache_ops_checks import limiter_name


class TokenBuckets:
    """Token buckets by key: ``rate`` tokens per second, at most ``burst`` held.

    A bucket starts full. Taking a token at ``now`` first adds what accrued since the
    bucket's last update (capped at ``burst``); the request is admitted if a whole token
    is there.

    Examples
    --------
    >>> buckets = TokenBuckets(rate=1.0, burst=2)
    >>> [buckets.take(0, t) for t in (0.0, 0.0, 0.0, 1.0)]
    [True, True, False, True]
    """

    __slots__ = ("burst", "rate", "state")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.state: dict[int, list[float]] = {}  # key -> [tokens, time of last update]

    def take(self, key: int, now: float) -> bool:
        """Take one token from ``key``'s bucket at ``now``; False if there is none."""
        bucket = self.state.get(key)
        if bucket is None:
            self.state[key] = [self.burst - 1.0, now]
            return True
        tokens = bucket[0] + (now - bucket[1]) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return True
        bucket[0] = tokens
        return False


class SlidingWindows:
    """Sliding logs by key: at most ``limit`` admissions in any ``window`` (a Redis sorted
    set of timestamps, trimmed to the window on each check).

    A request at ``now`` is admitted if fewer than ``limit`` admissions lie in
    ``(now - window, now]``; rejected requests are not logged.

    Examples
    --------
    >>> windows = SlidingWindows(limit=2, window=1.0)
    >>> [windows.take(0, t) for t in (0.0, 0.5, 0.9, 1.0, 1.2)]
    [True, True, False, True, False]
    """

    __slots__ = ("limit", "state", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.state: dict[int, deque[float]] = {}

    def take(self, key: int, now: float) -> bool:
        """Admit one request of ``key`` at ``now`` if its window has room."""
        log = self.state.get(key)
        if log is None:
            log = self.state[key] = deque()
        horizon = now - self.window
        while log and log[0] <= horizon:
            log.popleft()
        if len(log) < self.limit:
            log.append(now)
            return True
        return False


class RateLimiter(Component):
    """One named limiter: its buckets on each node, and admitted and rejected counts.

    Not a row of the component table; it reports the ``rate_limits.<name>`` section.
    """

    kind = "rate_limit"
    listed = False

    def __init__(self, ctx: Context, name: str, cache: Cache, spec: RateLimitSpec) -> None:
        super().__init__(ctx, name)
        self.rate = spec.rate
        self.buckets: list[TokenBuckets | SlidingWindows] = [
            TokenBuckets(spec.rate, spec.burst)
            if spec.algorithm == "token_bucket"
            else SlidingWindows(spec.limit, spec.window or 1.0)
            for _ in cache.nodes
        ]
        self.admitted = 0
        self.rejected = 0
        self.unchecked = 0  # admitted without a check while the bucket's node was down
        cache.on_fail.append(self._lose)

    def _lose(self, node: int) -> None:
        self.buckets[node].state.clear()

    def snapshot(self, now: float) -> dict[str, Any]:
        return {"admitted": self.admitted, "rejected": self.rejected, "unchecked": self.unchecked}

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]]:
        """The ``rate_limits.<name>`` section over the measured period."""
        values: dict[str, Any] = {key: last[key] - first[key] for key in last}
        checked = values["admitted"] + values["rejected"]
        values["rate"] = self.rate
        values["admitted_per_second"] = values["admitted"] / span if span > 0 else None
        values["rejected_share"] = values["rejected"] / checked if checked else None
        return "rate_limits", values


def compile_rate_limit(server: AppServer, step: RateLimitStep, purpose: str) -> StepRunner:
    """Compile ``{rate_limit: {cache, rate, burst, per, name}}``."""
    spec = step.rate_limit
    endpoint = purpose.split(":")[0]
    name = limiter_name(server.name, endpoint, step)
    cache = server.component(spec.cache)
    assert isinstance(cache, Cache)
    ctx = server.ctx
    limiter = ctx.reporter(
        f"rate_limits.{name}", RateLimiter, lambda: RateLimiter(ctx, name, cache, spec)
    )
    env = server.env
    nodes = cache.nodes
    count = len(nodes)
    per_client = spec.per == "client"
    global_node = stable_hash(f"rate_limit:{name}") % count
    buckets = limiter.buckets
    limited = ctx.recorder.cause("rate_limited")

    def rate_limit(request: Request, instance: Any) -> Process:
        if per_client:
            address: int = request.client  # type: ignore[assignment]
            index = node_index(address, count)
        else:
            address, index = 0, global_node
        node = nodes[index]
        if node.up:
            yield from node.command()
            if node.up:
                if buckets[index].take(address, env.now):
                    limiter.admitted += 1
                    return
                limiter.rejected += 1
                raise RequestFailed(limited)
        node.fail_when_down()
        limiter.unchecked += 1

    return rate_limit

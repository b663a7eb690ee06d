"""Specs of the cache used beyond caching: rate limiters and leaderboards (endpoint steps).

* ``{rate_limit: {cache: NAME, rate: 100/s, burst: 20, per: client}}`` -- a token bucket
  kept in the cache: ``rate`` tokens per second, at most ``burst`` held, one per request.
  A request finding the bucket empty fails as ``rate_limited``. The check is one cache
  command (a script run atomically on the node), paid in the request's latency. With
  ``algorithm: sliding_window`` it is a sliding log instead: at most ``rate x window``
  requests admitted in any ``window``.
* ``{leaderboard: {cache: NAME, board: scores, op: add}}`` -- one sorted-set command on
  the board's node, with the request's client address as the member. ``add`` and
  ``incr`` insert the member if new; ``rank`` looks it up; ``top`` reads the ``count``
  best. Its service time is the node's ``latency`` plus ``log_cost`` per doubling of the
  set's size (a skip list's levels), plus ``item_cost`` per member returned by ``top``.

Each step checks the cache it names and the client addresses it needs; that steps sharing
a limiter or a board agree is checked across steps by :mod:`simperf.spec.cache_ops_checks`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from simperf.spec.base import IDENTIFIER, MAX_COUNT, MAX_RATE, MAX_TIME, Rate, SpecModel, Time
from simperf.spec.cache import cache_reference_problems
from simperf.spec.kind import StepKind

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

MAX_COST = 1.0
"""Upper bound on per-step cost coefficients (seconds)."""


class RateLimitSpec(SpecModel):
    """A token bucket kept in a cache, per client address or one for everybody."""

    cache: str = Field(pattern=IDENTIFIER, max_length=64, description="name of the cache")
    rate: Rate = Field(gt=0, le=MAX_RATE, description="tokens added per second (the limit)")
    burst: int = Field(
        1, ge=1, le=MAX_COUNT, description="tokens a bucket holds at most (a new bucket is full)"
    )
    per: Literal["client", "global"] = Field(
        "client", description="one bucket per client address, or one shared by all requests"
    )
    algorithm: Literal["token_bucket", "sliding_window"] = Field(
        "token_bucket",
        description=(
            "token_bucket: refills at rate up to burst; sliding_window: a log of admitted "
            "requests, at most rate x window in any window"
        ),
    )
    window: Time | None = Field(
        None, gt=0, le=MAX_TIME, description="sliding_window: its length (default 1s)"
    )
    name: str | None = Field(
        None,
        pattern=IDENTIFIER,
        max_length=64,
        description=(
            "the limiter's name (its buckets' keys and its result section); steps with the "
            "same name share buckets (default: SERVER_ENDPOINT)"
        ),
    )

    @model_validator(mode="after")
    def _algorithm_fields(self) -> RateLimitSpec:
        if self.algorithm == "token_bucket":
            if self.window is not None:
                raise ValueError("window: only applies to algorithm sliding_window")
        else:
            if self.burst != 1:
                raise ValueError("burst: only applies to algorithm token_bucket")
            if self.limit < 1:
                raise ValueError("window: rate x window must allow at least 1 request")
        return self

    @property
    def limit(self) -> int:
        """sliding_window: requests admitted at most in any window."""
        # the allowance keeps 0.1/s x 10s from rounding down to 0
        return int(self.rate * (self.window or 1.0) * (1 + 1e-12))


class RateLimitStep(StepKind):
    """Admit the request or reject it as ``rate_limited`` (``{rate_limit: {...}}``)."""

    rate_limit: RateLimitSpec = Field(description="the limiter")

    def problems(self, scenario: Scenario, path: str) -> list[str]:
        """Its cache exists and is a cache; a per-client limit has client addresses."""
        limit, path = self.rate_limit, f"{path}.rate_limit"
        problems = cache_reference_problems(scenario, limit.cache, f"{path}.cache")
        if limit.per == "client" and not _has_addresses(scenario):
            problems.append(f"{path}.per: per client needs workload.clients.addresses")
        return problems


class LeaderboardSpec(SpecModel):
    """One sorted-set command on a board kept in a cache; the member is the client address."""

    cache: str = Field(pattern=IDENTIFIER, max_length=64, description="name of the cache")
    board: str = Field(
        pattern=IDENTIFIER, max_length=64, description="name of the sorted set (shared by steps)"
    )
    op: Literal["add", "incr", "rank", "top"] = Field(
        description=(
            "add (ZADD) or incr (ZINCRBY): insert or update the member; rank (ZRANK): look "
            "it up; top (ZREVRANGE 0 count-1): read the best count members"
        )
    )
    count: int = Field(10, ge=1, le=MAX_COUNT, description="top: members returned")
    log_cost: Time = Field(
        100e-9,
        ge=0,
        le=MAX_COST,
        description="service time added per doubling of the set's size (log2(size + 1))",
    )
    item_cost: Time = Field(
        100e-9, ge=0, le=MAX_COST, description="top: service time added per member returned"
    )


class LeaderboardStep(StepKind):
    """A sorted-set operation on a board (``{leaderboard: {cache, board, op}}``)."""

    leaderboard: LeaderboardSpec = Field(description="the operation")

    def problems(self, scenario: Scenario, path: str) -> list[str]:
        """Its cache exists and is a cache; there are client addresses to be members."""
        path = f"{path}.leaderboard"
        problems = cache_reference_problems(scenario, self.leaderboard.cache, f"{path}.cache")
        if not _has_addresses(scenario):
            problems.append(
                f"{path}: members are client addresses: it needs workload.clients.addresses"
            )
        return problems


def _has_addresses(scenario: Scenario) -> bool:
    clients = scenario.workload.clients
    return clients is not None and clients.addresses is not None


__all__ = ["LeaderboardSpec", "LeaderboardStep", "RateLimitSpec", "RateLimitStep"]

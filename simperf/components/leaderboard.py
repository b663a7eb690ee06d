"""The ``leaderboard`` step: sorted-set commands on a board kept in a cache.

A board lives on one node of its cache (chosen by a hash of its name), with its real
membership: the set of client addresses added so far. A command pays the node's network
round trip and queue; its service time is the node's ``latency`` draw plus
``log_cost * log2(size + 1)`` for the size when it starts executing (a skip list's
levels), plus ``item_cost`` per member ``top`` returns. ``add`` and ``incr`` insert the
member when the command completes. A node that fails loses the board; while it is down
commands are skipped (``on_down: fall_through``) or fail as ``cache_down``.
"""

from __future__ import annotations

import math
from typing import Any

from simperf.components.app_server import AppServer, StepRunner
from simperf.components.base import Component, Context, Process, Request
from simperf.components.cache import Cache
from simperf.rng import stable_hash
from simperf.spec.cache_ops import LeaderboardStep

OPS = ("add", "incr", "rank", "top")


class Board(Component):
    """One sorted set: its members, the node holding it, and counts per operation.

    Not a row of the component table; it reports the ``leaderboards.<board>`` section.
    """

    kind = "leaderboard"
    listed = False

    def __init__(self, ctx: Context, name: str, cache: Cache) -> None:
        super().__init__(ctx, name)
        self.node_index = stable_hash(f"leaderboard:{name}") % len(cache.nodes)
        self.node = cache.nodes[self.node_index]
        self.members: set[int] = set()
        self.peak = 0
        self.counts = dict.fromkeys(OPS, 0)
        self.skipped = 0  # commands not run because the node was down
        self.service_sum = 0.0  # service time of the board's commands (extra cost included)
        cache.on_fail.append(self._lose)

    def _lose(self, node: int) -> None:
        if node == self.node_index:
            self.members.clear()

    def snapshot(self, now: float) -> dict[str, Any]:
        return {
            **self.counts,
            "skipped": self.skipped,
            "service_sum": self.service_sum,
            "members": len(self.members),
            "peak_members": self.peak,
        }

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]]:
        """The ``leaderboards.<board>`` section over the measured period."""
        values: dict[str, Any] = {key: last[key] - first[key] for key in (*OPS, "skipped")}
        ops = sum(values[op] for op in OPS)
        values["ops"] = ops
        values["mean_service"] = (last["service_sum"] - first["service_sum"]) / ops if ops else None
        values["members"] = last["members"]
        values["peak_members"] = last["peak_members"]
        return "leaderboards", values


def compile_leaderboard(server: AppServer, step: LeaderboardStep, purpose: str) -> StepRunner:
    """Compile ``{leaderboard: {cache, board, op, count, log_cost, item_cost}}``."""
    spec = step.leaderboard
    cache = server.component(spec.cache)
    assert isinstance(cache, Cache)
    ctx = server.ctx
    board = ctx.reporter(f"leaderboards.{spec.board}", Board, lambda: Board(ctx, spec.board, cache))
    node = board.node
    members = board.members
    counts = board.counts
    op = spec.op
    inserts = op in ("add", "incr")
    log_cost = spec.log_cost
    fixed = spec.item_cost * spec.count if op == "top" else 0.0

    def cost() -> float:
        return fixed + log_cost * math.log2(len(members) + 1)

    def leaderboard(request: Request, instance: Any) -> Process:
        if node.up:
            service = yield from node.command(cost)  # add after: others add meanwhile
            board.service_sum += service
            if node.up:
                counts[op] += 1
                if inserts:
                    members.add(request.client)  # type: ignore[arg-type]
                    if len(members) > board.peak:
                        board.peak = len(members)
                return
        node.fail_when_down()
        board.skipped += 1

    return leaderboard

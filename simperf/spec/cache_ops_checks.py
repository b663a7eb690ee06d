"""What rate-limit and leaderboard steps sharing a name must agree on, across the scenario.

A step's own references (its cache, the client addresses it needs) are its
:meth:`StepKind.problems`. Every problem is one ``path: message`` line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simperf.spec import topology
from simperf.spec.cache_ops import LeaderboardStep, RateLimitStep

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario


def limiter_name(server: str, endpoint: str, step: RateLimitStep) -> str:
    """The name of a rate limiter: its own, or ``SERVER_ENDPOINT``."""
    return step.rate_limit.name or f"{server}_{endpoint}"


def cache_ops_problems(scenario: Scenario) -> list[str]:
    """Steps sharing a limiter name agree on its settings, and steps sharing a board on
    its cache; each problem is ``path: message``."""
    problems: list[str] = []
    limiters: dict[str, tuple[str, Any]] = {}
    boards: dict[str, tuple[str, str]] = {}
    for path, name, endpoint, step in topology.all_steps(scenario):
        if isinstance(step, RateLimitStep):
            key = limiter_name(name, endpoint, step)
            settings = step.rate_limit.model_dump(exclude={"name"})
            first = limiters.setdefault(key, (path, settings))
            if first[1] != settings:
                problems.append(
                    f"{path}.rate_limit: the limiter {key!r} is also defined at "
                    f"{first[0]} with other settings (one name, one limiter)"
                )
        elif isinstance(step, LeaderboardStep):
            board = step.leaderboard
            first_board = boards.setdefault(board.board, (path, board.cache))
            if first_board[1] != board.cache:
                problems.append(
                    f"{path}.leaderboard.cache: the board {board.board!r} is kept in "
                    f"{first_board[1]!r} at {first_board[0]}"
                )
    return problems

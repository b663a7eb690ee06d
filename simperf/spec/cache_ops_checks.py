"""Cross-references of rate limiters and leaderboards (caches beyond caching).

Called from the scenario's validator; every problem is one ``path: message`` line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simperf.spec.app_server import AppServerSpec
from simperf.spec.cache import cache_reference_problems
from simperf.spec.cache_ops import LeaderboardStep, RateLimitStep

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario


def limiter_name(server: str, endpoint: str, step: RateLimitStep) -> str:
    """The name of a rate limiter: its own, or ``SERVER_ENDPOINT``."""
    return step.rate_limit.name or f"{server}_{endpoint}"


def cache_ops_problems(scenario: Scenario) -> list[str]:
    """Every problem with ``rate_limit`` and ``leaderboard`` steps (an app server checks
    its own sessions).

    Checked: the caches they name exist and are caches; what needs client addresses
    (per-client limits, leaderboard members) has them; steps sharing a limiter name agree
    on its settings, and steps sharing a board on its cache.
    """
    problems: list[str] = []
    clients = scenario.workload.clients
    has_addresses = clients is not None and clients.addresses is not None
    limiters: dict[str, tuple[str, Any]] = {}
    boards: dict[str, tuple[str, str]] = {}
    for name, spec in scenario.components.items():
        if not isinstance(spec, AppServerSpec):
            continue
        for endpoint, steps in spec.endpoints.items():
            for index, step in enumerate(steps):
                path = f"components.{name}.endpoints.{endpoint}[{index}]"
                if isinstance(step, RateLimitStep):
                    limit = step.rate_limit
                    problems += cache_reference_problems(
                        scenario, limit.cache, f"{path}.rate_limit.cache"
                    )
                    if limit.per == "client" and not has_addresses:
                        problems.append(
                            f"{path}.rate_limit.per: per client needs workload.clients.addresses"
                        )
                    key = limiter_name(name, endpoint, step)
                    settings = limit.model_dump(exclude={"name"})
                    first = limiters.setdefault(key, (path, settings))
                    if first[1] != settings:
                        problems.append(
                            f"{path}.rate_limit: the limiter {key!r} is also defined at "
                            f"{first[0]} with other settings (one name, one limiter)"
                        )
                elif isinstance(step, LeaderboardStep):
                    board = step.leaderboard
                    problems += cache_reference_problems(
                        scenario, board.cache, f"{path}.leaderboard.cache"
                    )
                    if not has_addresses:
                        problems.append(
                            f"{path}.leaderboard: members are client addresses: it needs "
                            "workload.clients.addresses"
                        )
                    first_board = boards.setdefault(board.board, (path, board.cache))
                    if first_board[1] != board.cache:
                        problems.append(
                            f"{path}.leaderboard.cache: the board {board.board!r} is kept in "
                            f"{first_board[1]!r} at {first_board[0]}"
                        )
    return problems

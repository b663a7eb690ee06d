"""Cross-reference checks for databases, run by the scenario's validator.

Every problem is one ``path: message`` line naming the field (``components.main.queries.
by_id.where[0]: unknown column ...``). Oversubscribed connection limits are not errors but
:class:`~simperf.errors.SimperfWarning` warnings: a pool larger than the server accepts is
a real (and common) misconfiguration whose effect the simulation shows.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from simperf.errors import SimperfWarning
from simperf.spec.app_server import AppServerSpec
from simperf.spec.database import (
    QueryStep,
)

if TYPE_CHECKING:
    from simperf.spec.scenario import Scenario


def is_database(spec: Any) -> bool:
    """Whether a component spec is a database or a sharded database."""
    return bool(spec.is_database)


def database_problems(scenario: Scenario) -> list[str]:
    """Every unknown database or query an app server names, each as ``path: message``.

    A database checks its own tables, columns and key spaces (its ``problems()``).
    """
    problems: list[str] = []
    for name, spec in scenario.components.items():
        if isinstance(spec, AppServerSpec):
            problems.extend(_app_server(scenario, f"components.{name}", spec))
    return problems


def _app_server(scenario: Scenario, path: str, spec: AppServerSpec) -> list[str]:
    problems = []
    components = scenario.components
    databases = sorted(n for n, s in components.items() if is_database(s))
    known = ", ".join(databases) or "none"
    single = not isinstance(spec.pool, list)
    seen: set[str] = set()
    for i, pool in enumerate(spec.pools):
        ppath = f"{path}.pool" if single else f"{path}.pool[{i}]"
        if pool.database not in components:
            problems.append(
                f"{ppath}.database: unknown database {pool.database!r} (known: {known})"
            )
        elif not is_database(components[pool.database]):
            problems.append(f"{ppath}.database: {pool.database!r} is not a database")
        elif pool.database in seen:
            problems.append(f"{ppath}.database: a second pool for {pool.database!r}")
        seen.add(pool.database)
    for endpoint, steps in spec.endpoints.items():
        for k, step in enumerate(steps):
            if not isinstance(step, QueryStep):
                continue
            spath = f"{path}.endpoints.{endpoint}[{k}]"
            target = components.get(step.database)
            if target is None:
                problems.append(
                    f"{spath}.database: unknown database {step.database!r} (known: {known})"
                )
            elif not is_database(target):
                problems.append(f"{spath}.database: {step.database!r} is not a database")
            elif step.query not in target.queries:
                have = ", ".join(sorted(target.queries))
                problems.append(
                    f"{spath}.query: {step.database!r} has no query {step.query!r} (it has: {have})"
                )
    return problems


def connection_warnings(scenario: Scenario) -> list[str]:
    """One message per database instance whose pools need more than ``max_connections``.

    Pools hold their connections open: every instance of every app server with a pool
    for the database keeps ``size`` connections to each of its servers (to every shard).
    """
    messages = []
    for name, spec in scenario.components.items():
        if not is_database(spec):
            continue
        holders = []
        for app, app_spec in scenario.components.items():
            if isinstance(app_spec, AppServerSpec):
                for pool in app_spec.pools:
                    if pool.database == name:
                        holders.append((app, app_spec.replicas, pool.size))
        total = sum(replicas * size for _, replicas, size in holders)
        if not total:
            continue
        roles = [("the primary", spec.primary.max_connections)]
        if spec.read_replicas:
            roles.append(("each read replica", spec.replica_spec.max_connections))
        detail = " + ".join(f"{app} ({n} x {size})" for app, n, size in holders)
        for role, limit in roles:
            if total > limit:
                messages.append(
                    f"components.{name}: connection pools hold {total} connections "
                    f"({detail}), more than max_connections {limit} of {role}; "
                    "queries needing the connections beyond it are refused"
                )
    return messages


def warn_about(scenario: Scenario) -> None:
    """Issue a :class:`SimperfWarning` for each oversubscribed connection limit."""
    for message in connection_warnings(scenario):
        warnings.warn(message, SimperfWarning, stacklevel=2)

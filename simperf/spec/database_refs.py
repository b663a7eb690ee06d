"""Connection limits of databases, warned about by the scenario's validator.

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

if TYPE_CHECKING:
    from simperf.spec.scenario import Scenario


def is_database(spec: Any) -> bool:
    """Whether a component spec is a database or a sharded database."""
    return bool(spec.is_database)


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
                        holders.append((app, app_spec.most_replicas, pool.size))
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

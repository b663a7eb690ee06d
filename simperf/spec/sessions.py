"""Session state of an app server: held by each instance (sticky) or in a shared cache.

``sessions: {store: local, idle_timeout: 30min, reauth: login}`` on an app server gives
every client address a session. A session is active from a request until
``idle_timeout`` passes without one. With ``store: local`` each instance keeps its own
sessions in memory: a request reaching an instance that does not hold its client's live
session (its instance failed, or the balancer is not sticky) runs the ``reauth``
endpoint's steps first. With ``store: {cache: NAME}`` sessions live in the cache: each
request pays one command to read (and refresh) its session, a new session one more to
write it, and an app instance's failure loses nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from simperf.spec.base import IDENTIFIER, MAX_TIME, SpecModel, Time, tagged_union


class SharedSessionStore(SpecModel):
    """Sessions kept in a cache component, shared by every instance."""

    cache: str = Field(pattern=IDENTIFIER, max_length=64, description="name of the cache")


def _store_tag(value: Any) -> str | None:
    if value == "local":
        return "local"
    if isinstance(value, dict | SharedSessionStore):
        return "shared"
    return None


SessionStore = tagged_union(
    {"local": Literal["local"], "shared": SharedSessionStore},
    _store_tag,
    "session_store",
    "expected local or {cache: NAME}",
)
"""Where sessions live: ``local`` (each instance) or ``{cache: NAME}`` (shared)."""
SESSION_STORE_TAGS = frozenset({"local", "shared"})


class SessionsSpec(SpecModel):
    """Sessions per client address, their store, lifetime and the cost of losing one."""

    store: SessionStore = Field(
        "local",
        description="local: each instance's memory (pair with ip_hash); {cache: NAME}: shared",
    )
    idle_timeout: Time = Field(
        1800.0, gt=0, le=MAX_TIME, description="a session ends after this long without a request"
    )
    reauth: str | None = Field(
        None,
        pattern=IDENTIFIER,
        max_length=64,
        description=(
            "endpoint of this server whose steps run before a request whose client's "
            "live session is not found (default: none, re-authentication is free)"
        ),
    )
    endpoints: list[Annotated[str, Field(pattern=IDENTIFIER, max_length=64)]] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="endpoints that use the session (default: all but reauth)",
    )


__all__ = ["SESSION_STORE_TAGS", "SessionStore", "SessionsSpec", "SharedSessionStore"]

"""Sessions of an app server: kept by each instance (sticky) or in a shared cache.

A session belongs to a client address. It is *live* while requests keep coming within
``idle_timeout`` of each other; the client's own view of it is :attr:`Sessions.seen`,
the last time one of its requests was served with a session. A request to an endpoint
that uses sessions first runs the prologue compiled here, in its worker:

* it looks the session up: in its instance's table (``store: local``, free), or on the
  cache node the address hashes to (``store: {cache}``, one command that also refreshes
  it);
* found and live: the session is touched;
* not found while the client believes it has a live session (the instance that held it
  failed, the balancer sent the client elsewhere, the cache node failed): the ``reauth``
  endpoint's steps run first and the request counts as a re-authentication;
* otherwise a new session is created (free; the shared store pays a second command to
  write it).

Losing state: an app instance that fails loses its table (``store: local``); a cache node
that fails loses the sessions it held. Sessions lost are those whose client's latest
session was there and still live; the number of live sessions of the whole server at that
moment is added to ``active_at_failures``, so ``lost / active_at_failures`` is the share
lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simperf.components.base import Process, Request
from simperf.components.cache import Cache, node_index
from simperf.spec.sessions import SessionsSpec

if TYPE_CHECKING:  # pragma: no cover
    from simperf.components.app_server import AppInstance, AppServer

COUNTERS = ("hits", "created", "reauthentications", "lost", "active_at_failures")


class Sessions:
    """The session state of one app server and its counters."""

    def __init__(self, server: AppServer, spec: SessionsSpec) -> None:
        self.server = server
        self.spec = spec
        self.env = server.env
        self.idle = spec.idle_timeout
        self.local = isinstance(spec.store, str)
        self.cache: Cache | None = None
        # address -> time of the session's last use: one table per instance (local) or
        # per cache node (shared).
        self.tables: list[dict[int, float]] = [{} for _ in server.instances]
        self.seen: dict[int, float] = {}
        self.hits = self.created = self.reauthentications = 0
        self.lost = self.active_at_failures = 0

    def wire(self, components: dict[str, Any]) -> None:
        """Find the shared store's cache and follow its nodes' failures."""
        if self.local:
            return
        cache = components[self.spec.store.cache]  # type: ignore[union-attr]
        assert isinstance(cache, Cache)
        self.cache = cache
        self.tables = [{} for _ in cache.nodes]
        cache.on_fail.append(self.lose)

    def uses(self, endpoint: str) -> bool:
        """Whether requests to ``endpoint`` carry a session."""
        if self.spec.endpoints is not None:
            return endpoint in self.spec.endpoints
        return endpoint != self.spec.reauth

    def active(self, now: float) -> int:
        """Clients whose session is live at ``now`` (by their own view)."""
        idle = self.idle
        return sum(1 for last in self.seen.values() if now - last <= idle)

    def instance_failed(self, index: int) -> None:
        """App instance ``index`` failed: its table is lost, unless sessions are shared."""
        if self.local:
            self.lose(index)
        else:
            self.active_at_failures += self.active(self.env.now)

    def lose(self, index: int) -> None:
        """Table ``index`` (an instance's or a cache node's) is gone."""
        now = self.env.now
        seen = self.seen
        idle = self.idle
        table = self.tables[index]
        self.lost += sum(
            1 for address, last in table.items() if now - last <= idle and seen[address] == last
        )
        self.active_at_failures += self.active(now)
        table.clear()

    def snapshot(self, now: float) -> dict[str, Any]:
        # Counters only: counting live sessions scans every client, so it is done once,
        # for the report, at the end of the run.
        return {key: getattr(self, key) for key in COUNTERS}

    def report(self, first: dict[str, Any], last: dict[str, Any], span: float) -> dict[str, Any]:
        """The ``sessions.<server>`` section over the measured period."""
        values: dict[str, Any] = {key: last[key] - first[key] for key in COUNTERS}
        values["requests"] = values["hits"] + values["created"] + values["reauthentications"]
        values["active"] = self.active(self.env.now)  # the run's end (the last snapshot)
        values["store"] = "local" if self.local else "shared"
        values["lost_share"] = (
            values["lost"] / values["active_at_failures"] if values["active_at_failures"] else None
        )
        values["reauthentications_per_second"] = (
            values["reauthentications"] / span if span > 0 else None
        )
        return values

    def prologue(self, reauth: list[tuple[int, Any]] | None) -> Any:
        """The step that every session-using endpoint runs first."""
        if self.local:
            return self._local(reauth)
        return self._shared(reauth)

    def _begin(
        self,
        request: Request,
        instance: AppInstance,
        address: int,
        now: float,
        reauth: list[tuple[int, Any]] | None,
    ) -> Process:
        """A session its store does not hold: re-authenticated (the ``reauth`` steps) if
        the client was seen within the idle time, else created. Only misses come here."""
        known = self.seen.get(address)
        if known is not None and now - known <= self.idle:
            self.reauthentications += 1
            if reauth is not None:
                yield from instance.steps(request, reauth)
        else:
            self.created += 1

    def _local(self, reauth: list[tuple[int, Any]] | None) -> Any:
        env = self.env
        idle = self.idle
        seen = self.seen
        tables = self.tables

        def session(request: Request, instance: AppInstance) -> Process:
            address: int = request.client  # type: ignore[assignment]
            table = tables[instance.index]
            now = env.now
            last = table.get(address)
            if last is not None and now - last <= idle:
                table[address] = seen[address] = now
                self.hits += 1
                return
            yield from self._begin(request, instance, address, now, reauth)
            table[address] = seen[address] = env.now

        return session

    def _shared(self, reauth: list[tuple[int, Any]] | None) -> Any:
        env = self.env
        idle = self.idle
        seen = self.seen
        tables = self.tables
        cache = self.cache
        assert cache is not None
        nodes = cache.nodes
        count = len(nodes)

        def session(request: Request, instance: AppInstance) -> Process:
            address: int = request.client  # type: ignore[assignment]
            index = node_index(address, count)
            node = nodes[index]
            if node.up:
                yield from node.command()  # get the session and refresh its expiry
            now = env.now
            if node.up:
                table = tables[index]
                last = table.get(address)
                if last is not None and now - last <= idle:
                    table[address] = seen[address] = now
                    self.hits += 1
                    return
            else:
                node.fail_when_down()
            yield from self._begin(request, instance, address, now, reauth)
            if node.up:
                yield from node.command()  # write the new session
                if node.up:
                    tables[index][address] = env.now
            seen[address] = env.now

        return session

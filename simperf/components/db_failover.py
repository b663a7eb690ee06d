"""Database servers on the fault timeline: the route table of each primary and its replicas.

Faults name a database's servers by index (:attr:`Database.servers`): for each shard in
order, its primary, then its replicas (``db[primary]`` = 0, ``db[replica0]`` = 1, ...; a
sharded database with ``r`` replicas has shard ``s``'s primary at ``s (1 + r)``). A fault
changes the shard's route table (:class:`~simperf.components.database.DatabaseCore`'s
``primary`` and ``replicas``), never the query handlers:

* a replica that fails leaves ``replicas``: reads go to the others (to the primary when
  none is left); when it recovers it rejoins, caught up at once;
* a primary that fails leaves ``primary`` empty: writes (and reads that go to the
  primary) fail as ``primary_down``, reads go on at the replicas. With ``failover``
  configured, ``detection + promotion`` later the replica that was the most caught up at
  the moment of failure (fewest writes still in flight to it) becomes the primary; the
  writes it had not yet applied are **lost**. Without ``failover`` (or without a replica
  up to promote) the primary is missed until it recovers;
* a replaced primary that recovers rejoins as a replica.

Queries already running on a server that fails complete. Writes replicate to the
replicas in the route table when they commit, so lost writes are counted only for a
database a fault names (the count needs, per replica, the times its pending writes
become visible: a deque trimmed at each write).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simperf.components.base import Process
from simperf.components.db_instance import PRIMARY, REPLICA

if TYPE_CHECKING:  # pragma: no cover
    from simperf.components.database import Database, DatabaseCore
    from simperf.components.db_instance import DbInstance


class Failover:
    """The fault handling of one database: outages, promotions and lost writes.

    Parameters
    ----------
    db
        The database; its cores switch to routed runs (a query the route table has no
        instance for fails as ``primary_down``) and, with ``failover`` configured, to
        writes that remember, per replica, when they become visible there.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.env = db.env
        self.spec = db.spec.failover
        self.core_of: dict[DbInstance, DatabaseCore] = {}
        self.failed_primary: dict[DatabaseCore, DbInstance | None] = {}
        self.outage: dict[DatabaseCore, dict[str, Any]] = {}  # its primary's latest outage
        self.events: list[dict[str, Any]] = []
        self.lost_writes = 0
        for core in db.cores:
            self.failed_primary[core] = None
            for inst in core.instances:
                self.core_of[inst] = core
            core.run = core.run_routed  # type: ignore[method-assign]
            if self.spec is not None:
                core._replicate = self._tracked(core)  # type: ignore[method-assign]

    def _tracked(self, core: DatabaseCore) -> Any:
        """``core``'s replication, also keeping each replica's pending visibility times."""
        plain = core._replicate
        env = self.env

        def replicate(request: Any, q: Any, key: int) -> None:
            plain(request, q, key)
            now = env.now
            for replica in core.replicas:
                recent = replica.recent
                recent.append(replica.last_apply)  # visible from then on; never decreases
                # with no lag the write just appended is visible already: the list empties
                while recent and recent[0] <= now:
                    recent.popleft()

        return replicate

    def fail(self, inst: DbInstance) -> None:
        """``inst`` goes down: it leaves its shard's route table."""
        inst.outages += 1
        if not inst.up:
            return
        inst.up = False
        core = self.core_of[inst]
        now = self.env.now
        if inst is core.primary:
            core.primary = None
            self.failed_primary[core] = inst
            # writes each replica has not yet applied: lost if it is promoted
            behind = {r: sum(1 for v in r.recent if v > now) for r in core.replicas}
            event: dict[str, Any] = {
                "server": inst.name,
                "failed_at": now,
                "detected_at": None,
                "promoted_at": None,
                "promoted": None,
                "recovered_at": None,
                "lost_writes": 0,
            }
            self.events.append(event)
            self.outage[core] = event
            if self.spec is not None:
                self.env.process(self._promote(core, inst, event, behind))
        elif inst in core.replicas:
            core.replicas.remove(inst)

    def recover(self, inst: DbInstance) -> None:
        """``inst`` comes back: as the primary if none replaced it, else as a replica."""
        inst.outages -= 1
        if inst.outages:
            return
        inst.up = True
        core = self.core_of[inst]
        if core.primary is None and self.failed_primary[core] is inst:
            core.primary = inst
            self.failed_primary[core] = None
            self.outage[core]["recovered_at"] = self.env.now
            return
        if inst.role == PRIMARY:  # replaced while down: it follows the new primary
            inst.role = REPLICA
            if getattr(inst, "lag", None) is None:
                db = self.db
                inst.lag = db.ctx.sampler(db.spec.replication_lag, db.name, f"lag:{inst.name}")
        inst.forget_pending()
        inst.last_apply = self.env.now
        core.replicas.append(inst)

    def _promote(
        self,
        core: DatabaseCore,
        failed: DbInstance,
        event: dict[str, Any],
        behind: dict[DbInstance, int],
    ) -> Process:
        spec = self.spec
        assert spec is not None
        env = self.env
        yield env.timeout(spec.detection)
        if core.primary is not None or self.failed_primary[core] is not failed:
            return  # it came back before anyone noticed
        event["detected_at"] = env.now
        if self.db.ctx.faults is not None:  # the fault's detection, as a balancer's would be
            self.db.ctx.faults.detected(failed.name, env.now)
        yield env.timeout(spec.promotion)
        if core.primary is not None or self.failed_primary[core] is not failed:
            return
        candidates = [r for r in core.replicas if r in behind] or core.replicas
        if not candidates:
            return  # no replica up: the shard waits for a server to recover
        best = min(candidates, key=lambda r: behind.get(r, 0))
        core.replicas.remove(best)
        best.role = PRIMARY
        best.forget_pending()
        core.primary = best
        self.failed_primary[core] = None
        lost = behind.get(best, 0)
        self.lost_writes += lost
        event.update(promoted_at=env.now, promoted=best.name, lost_writes=lost)

    def report(self, start: float, end: float) -> dict[str, Any]:
        """The ``failover`` part of ``databases.<name>``: outages of primaries that
        lasted into the measured period ``[start, end]`` (as the faults section's
        occurrences), with the promotion and lost writes of each."""
        events = []
        for event in self.events:
            back = event["promoted_at"] if event["promoted"] is not None else event["recovered_at"]
            # one over before the warm-up ended is not the measured period's
            if event["failed_at"] < end and (back is None or back >= start):
                unavailable = (back if back is not None else end) - event["failed_at"]
                events.append({**event, "write_unavailable": unavailable})
        return {
            "configured": self.spec is not None,
            "primary_failures": len(events),
            "promotions": sum(1 for e in events if e["promoted"] is not None),
            "lost_writes": sum(e["lost_writes"] for e in events),
            "events": events,
        }

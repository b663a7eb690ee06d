"""The autoscaler of an app server: provisions and releases its instances over time.

The server is built with ``autoscaling.max`` instances; those not provisioned are out of
service (``up`` False), so that routers (the server's own round robin, balancers) skip
them and no request pays for autoscaling. Being out of service is not a failure: fault
counters and the stability verdict are untouched, and utilisation counts only the time
an instance was provisioned.

An instance is ``off``, ``warming`` (provisioned, not yet taking traffic), ``serving`` or
``draining`` (provisioned, taking no new requests, finishing those it holds). Every
``evaluation_period`` the metric of the period just ended is computed per instance
working (serving or draining, and not crashed) and acted on ``metric_lag`` later. A
crashed instance (a ``crash`` fault) reports no metric and adds no capacity, as a cloud
autoscaler's health checks see it; the next decision terminates it (billed until then,
as a cloud bills a crashed VM until it is terminated) and replaces it one for one,
whatever the cooldowns. The end of its fault brings nothing back: an instance
provisioned later in its slot is a new one. A draining instance is released at the
first check (every second, or every evaluation period if shorter) that finds it holding
no request; it then loses the sessions it kept locally. A scale-out takes draining
instances back before off ones: they serve again at once, warm.
"""

from __future__ import annotations

import math
from typing import Any

from simperf.components.base import Component, Process
from simperf.metrics.monitor import LevelMonitor
from simperf.spec.autoscaling import AutoscalingSpec
from simperf.spec.cost import group_price
from simperf.units import format_clock

OFF, WARMING, SERVING, DRAINING = "off", "warming", "serving", "draining"
_EPS = 1e-9  # a metric at its target is not above it (float noise in busy areas)

Measured = tuple[str, float, str, float]
"""What a decision acted on: the metric, its value over the period (raw), how it was
compared (``vs target``, ``above``, ``below``) and the level it was compared with."""


class Autoscaler(Component):
    """Scales ``server`` (an :class:`~simperf.components.app_server.AppServer`) by ``spec``.

    Not a row of the component table; it reports the ``autoscaling.<server>`` section
    and the instance counts of the time series. ``events`` lists every action as
    ``(time, from, to, reason, measured)``, ``from`` and ``to`` counting provisioned
    instances that are not draining (the fleet); a decision of the policy's has its
    ``measured`` (:data:`Measured`: the metric, its raw value, how it was compared and
    the level), which its reason opens with up to the first ``;`` (the text shows it in
    the metric's unit), a crash's replacement none.
    """

    kind = "autoscaling"
    listed = False

    def __init__(self, server: Any, spec: AutoscalingSpec) -> None:
        super().__init__(server.ctx, server.name)
        self.server = server
        self.spec = spec
        self.target = spec.target_level
        self.steps = spec.step_levels
        env = self.env
        start = server.spec.initial_replicas
        down = server.ctx.recorder.cause("instance_down")
        self.state = [SERVING if i < start else OFF for i in range(len(server.instances))]
        for inst, state in zip(server.instances, self.state, strict=True):
            inst.provisioned = LevelMonitor()
            if state == SERVING:
                inst.provisioned.change(1, 0.0)
            else:
                inst.in_service = inst.up = False
                inst.down_code = down  # a router finding no instance up fails the request
        # Instance counts over time: provisioned (billed), serving, working (serving or
        # draining: the denominator of the per-instance metric).
        self.provisioned = LevelMonitor()
        self.serving = LevelMonitor()
        self.working = LevelMonitor()
        for monitor in (self.provisioned, self.serving, self.working):
            monitor.change(start, 0.0)
        self.events: list[tuple[float, int, int, str, Measured | None]] = []
        # (time, instances wanted) of every decision that wanted more than max
        self.capped: list[tuple[float, int]] = []
        # a change wanted but held: (scale-out?, first wanted at, what held it last)
        self.held: tuple[bool, float, str] | None = None
        self.last_out = -math.inf
        self.crashed: set[int] = set()  # provisioned instances down by a crash fault
        # per slot: [start, end] of each time it held a crashed instance and no other in
        # service in its place (end None while it lasts): the heatmap's down boxes
        self.outages: dict[int, list[list[float | None]]] = {}
        self.replaced: list[tuple[float, int]] = []  # (time, crashed instances replaced)
        # per slot: [start, end, replaced] of each time its instance was crashed and the
        # capacity it gave was not yet back in service, in the slot or in the slot of its
        # replacement (end None while it lasts): availability and the verdict's "down"
        self.unserved: dict[int, list[list[Any]]] = {}
        # slot warming a replacement -> the crashed slots whose capacity it brings back
        self.stands_in: dict[int, list[int]] = {}
        self.launches = [0] * len(server.instances)  # per slot: instances provisioned there
        self.last_in = -math.inf
        self.poll = min(1.0, spec.evaluation_period)
        # request_rate tracks the load offered: requests sent to an instance, counted
        # as they arrive (an overloaded one finishes fewer, its queue growing)
        self.arrived = 0
        if spec.metric == "request_rate":
            for inst in server.instances:
                inst.handle = self._counted(inst.handle)
        # an instance type's price counts, as in the scenario's cost
        sized = server.spec
        self.per_instance_hour = group_price(
            server.ctx.scenario, sized.cost, 1, sized.cores, sized.instance_type
        )
        env.process(self._evaluate())

    def _counted(self, handle: Any) -> Any:
        """``handle`` counting each request it is given (no extra generator frame)."""

        def counted(request: Any, steps: Any) -> Process:
            self.arrived += 1
            return handle(request, steps)

        return counted

    # -- counts -----------------------------------------------------------------------
    @property
    def fleet(self) -> int:
        """Instances provisioned and not draining (warming or serving)."""
        return sum(1 for s in self.state if s in (WARMING, SERVING))

    def _work(self, index: int, change: int, now: float) -> None:
        """A working instance more or less, unless it is crashed (counted out already)."""
        if index not in self.crashed:
            self.working.change(change, now)

    # -- crashes (from the server's fail and recover) -------------------------------------
    def crash(self, index: int) -> bool:
        """Instance ``index`` went down: it no longer counts in the metric.

        Returns whether an instance was there to crash: an off slot holds none, so the
        crash hits nothing (an instance provisioned there later is a new one).
        """
        state = self.state[index]
        if state == OFF:
            return False
        if index not in self.crashed:
            if state in (SERVING, DRAINING):
                self.working.change(-1, self.env.now)
            if state == SERVING:  # in service no more: it serves nothing
                self.serving.change(-1, self.env.now)
            self.crashed.add(index)
            if state == DRAINING:  # leaving the fleet: nothing of it is missed
                return True
            self._outage_from(index)
            if index in self.stands_in:  # a replacement warming: the slots it stands in
                return True  # for are short already, and the fleet lacks no more
            spans = self.unserved.setdefault(index, [])
            if not spans or spans[-1][1] is not None:
                spans.append([self.env.now, None, False])
        return True

    def _served_again(self, index: int, replaced: bool = False) -> None:
        """The capacity slot ``index`` lost to a crash is in service again from now."""
        spans = self.unserved.get(index)
        if spans and spans[-1][1] is None:
            spans[-1][1] = self.env.now
            spans[-1][2] = spans[-1][2] or replaced

    def _outage_from(self, index: int) -> None:
        """Slot ``index`` has no instance in service from now (unless it had none)."""
        spans = self.outages.setdefault(index, [])
        if not spans or spans[-1][1] is not None:
            spans.append([self.env.now, None])

    def _outage_to(self, index: int) -> None:
        """Slot ``index`` has an instance in service again from now."""
        spans = self.outages.get(index)
        if spans and spans[-1][1] is None:
            spans[-1][1] = self.env.now

    def recover(self, index: int) -> None:
        """Instance ``index`` is back up."""
        if index not in self.crashed:
            return
        self.crashed.discard(index)
        self._outage_to(index)
        self._served_again(index)
        if self.state[index] in (SERVING, DRAINING):
            self.working.change(1, self.env.now)
        if self.state[index] == SERVING:
            self.serving.change(1, self.env.now)

    def _totals(self) -> tuple[float, ...]:
        """Cumulative (numerator of the metric, working instance-seconds) at now."""
        now = self.env.now
        metric = self.spec.metric
        instances = self.server.instances
        if metric == "cpu_utilization":
            cores = instances[0].capacity
            value = sum(i.busy.area_at(now) for i in instances) / cores
        elif metric == "worker_occupancy":
            workers = instances[0].workers.capacity
            value = sum(i.held.area_at(now) for i in instances) / workers
        elif metric == "queue_length":
            value = sum(i.queue.area_at(now) for i in instances)
        else:
            value = float(self.arrived)
        return value, self.working.area_at(now)

    # -- the loop ---------------------------------------------------------------------
    def _evaluate(self) -> Process:
        env = self.env
        period = self.spec.evaluation_period
        lag = self.spec.metric_lag
        before = self._totals()
        while True:
            yield env.timeout(period)
            after = self._totals()
            exposure = after[1] - before[1]
            if exposure > 0:
                value = (after[0] - before[0]) / exposure
                measured = exposure / period
                serving = self.serving.level  # in service as the period ends
                if lag > 0:
                    env.timeout(lag).callbacks.append(
                        lambda _, v=value, n=measured, s=serving: self._decide(v, n, s)
                    )
                else:
                    self._decide(value, measured, serving)
            before = after

    def _replace_crashed(self) -> None:
        """Terminate every crashed instance (billed until now) and replace those of the
        fleet one for one, as a cloud's health checks do: no cooldown holds it, since
        the fleet's size does not change."""
        crashed = sorted(self.crashed)
        if not crashed:
            return
        now = self.env.now
        before = self.fleet
        kept = [i for i in crashed if self.state[i] in (WARMING, SERVING)]
        lost = len(kept)
        for index in crashed:
            self._terminate(index, now)
        self.replaced.append((now, lost))
        # each replacement brings back one crashed slot's capacity (and the slots that
        # one stood in for, if it crashed while warming)
        owed = [[i, *self.stands_in.pop(i, [])] for i in kept]
        for index, slots in zip(self._add(lost, now), owed, strict=True):
            if self.state[index] == SERVING:  # a draining one taken back: serving now
                for slot in slots:
                    self._served_again(slot, replaced=True)
            else:
                self.stands_in.setdefault(index, []).extend(slots)
        names = ", ".join(self.server.instances[i].name for i in crashed)
        # a draining one was leaving the fleet: terminated, not replaced
        done = "terminated and replaced" if lost else "terminated"
        self._record(before, f"{names} crashed: {done}")

    def _terminate(self, index: int, now: float) -> None:
        """Release crashed instance ``index``: its slot is off and free of the crash."""
        # crashed: counted out of serving already (crash)
        self.state[index] = OFF
        self.launches[index] += 1  # a warm-up under way is void
        self.crashed.discard(index)
        inst = self.server.instances[index]
        inst.in_service = False
        inst.provisioned.change(-1, now)
        self.provisioned.change(-1, now)
        # the outage stays with the terminated instance: its end, on the fault timeline,
        # brings nothing back, and an instance provisioned in the slot is a new one
        inst.absorbed += inst.outages
        inst.outages = 0
        inst.connect_timeout = 0.0
        inst._rewire()

    def _decide(self, value: float, measured: float, serving: int) -> None:
        """Act on a period's metric ``value`` (per working instance, ``measured`` of them
        on average, ``serving`` in service at the period's end)."""
        spec = self.spec
        self._replace_crashed()
        fleet = self.fleet
        detail = ""
        if self.target is not None:
            # inside the dead band the fleet stays (measured may differ from it: warming)
            if spec.tolerance > 0 and abs(value / self.target - 1) <= spec.tolerance + _EPS:
                desired = fleet
            else:
                desired = math.ceil(measured * value / self.target - _EPS)
            why: Measured | None = (spec.metric, value, "vs target", self.target)
        else:
            desired, why = fleet, None
            above = [s for s in self.steps if s[0] == "above" and value > s[1] + _EPS]
            below = [s for s in self.steps if s[0] == "below" and value < s[1] - _EPS]
            if above:
                _, level, change = max(above, key=lambda s: s[1])
                # A step adds to the capacity the period measured, as AWS's step scaling
                # adds to the instances past their warm-up: those warming, or in service
                # only since the period ended, were added for this breach already (a
                # larger step adds the difference), else each period until they serve
                # and show in the metric adds another.
                warming = sum(1 for s in self.state if s == WARMING)
                base = min(serving, fleet - warming)
                desired = max(fleet, base + change)
                why = (spec.metric, value, "above", level)
                if base < fleet:  # why it adds less than its change
                    detail = f"; {base} measured + {change}, {fleet - base} added already"
            elif below:
                _, level, change = min(below, key=lambda s: s[1])
                desired = fleet + change
                why = (spec.metric, value, "below", level)
        # the raw reason the result keeps; the text shows `why` in the metric's unit
        reason = "" if why is None else f"{why[0]} {why[1]:.4g} {why[2]} {why[3]:.4g}{detail}"
        now = self.env.now
        if desired > spec.max:
            self.capped.append((now, desired))
            reason += f"; wanted {desired}, capped at max {spec.max}"
        desired = min(max(desired, spec.min), spec.max)
        if desired > fleet:
            held = "the cooldown" if now - self.last_out < spec.cooldown else None
        elif desired < fleet and spec.scale_in:
            held = (
                "instances warming"
                if WARMING in self.state
                else "the scale-in cooldown"
                if now - max(self.last_out, self.last_in) < spec.in_cooldown
                else None
            )
        else:  # nothing wanted: a change held before is wanted no more
            self.held = None
            return
        side = desired > fleet
        if held is not None:
            # when the change was first wanted, and what held it last, for its reason
            since = self.held[1] if self.held is not None and self.held[0] == side else now
            self.held = (side, since, held)
            return
        if self.held is not None and self.held[0] == side:
            reason += f"; wanted from {format_clock(self.held[1])}, held by {self.held[2]}"
        self.held = None
        if side:
            self._scale_out(desired - fleet, reason, why)
        else:
            self._scale_in(fleet - desired, reason, why)

    def _record(self, before: int, reason: str, measured: Measured | None = None) -> None:
        self.events.append((self.env.now, before, self.fleet, reason, measured))

    def _scale_out(self, count: int, reason: str, measured: Measured | None) -> None:
        before = self.fleet
        now = self.env.now
        self._add(count, now)
        self.last_out = now
        self._record(before, reason, measured)

    def _add(self, count: int, now: float) -> list[int]:
        """Bring ``count`` instances into the fleet; returns their slots."""
        # Draining instances first: they never stopped, so they take traffic again at
        # once, warm (and are billed already); then off ones, which warm up, a slot
        # whose terminated instance's fault still lasts last (its plots show it down).
        order = [i for i, s in enumerate(self.state) if s == DRAINING and i not in self.crashed]
        off = [i for i, s in enumerate(self.state) if s == OFF]
        instances = self.server.instances
        order += sorted(off, key=lambda i: instances[i].absorbed > 0)
        for index in order[:count]:
            if self.state[index] == DRAINING:
                self._in_service(index, draining=True)
                continue
            self.server.instances[index].provisioned.change(1, now)
            self.provisioned.change(1, now)
            self.state[index] = WARMING
            self.launches[index] += 1
            self.env.timeout(self.spec.warmup).callbacks.append(
                lambda _, i=index, n=self.launches[index]: self._warm(i, n)
            )
        return order[:count]

    def _warm(self, index: int, launch: int) -> None:
        """Launch ``launch`` of slot ``index`` has warmed up (unless it was terminated)."""
        if self.launches[index] == launch and self.state[index] == WARMING:
            self._in_service(index)

    def _in_service(self, index: int, draining: bool = False) -> None:
        """Instance ``index`` takes traffic: warmed up, or ``draining`` and taken back
        (already counted as working)."""
        now = self.env.now
        inst = self.server.instances[index]
        self.state[index] = SERVING
        inst.in_service = True
        if inst.outages == 0:
            inst.up = True
            inst._rewire()
            self._outage_to(index)  # a new instance in a crashed one's slot
        if index not in self.crashed:  # crashed while warming: serves nothing
            self.serving.change(1, now)
            for slot in self.stands_in.pop(index, []):
                self._served_again(slot, replaced=True)
        if not draining:
            self._work(index, 1, now)

    def _scale_in(self, count: int, reason: str, measured: Measured | None) -> None:
        before = self.fleet
        now = self.env.now
        serving = [i for i, s in enumerate(self.state) if s == SERVING]
        for index in reversed(serving[-count:]):
            inst = self.server.instances[index]
            self.state[index] = DRAINING
            inst.in_service = inst.up = False
            if index not in self.crashed:  # none is: the decision terminated them first
                self.serving.change(-1, now)
            self.env.process(self._drain(index))
        self.last_in = now
        self._record(before, reason, measured)

    def _drain(self, index: int) -> Process:
        inst = self.server.instances[index]
        while inst.active and self.state[index] == DRAINING:
            yield self.env.timeout(self.poll)
        if self.state[index] != DRAINING:  # taken back into the fleet meanwhile
            return
        now = self.env.now
        if index in self.crashed:  # drained while down: gone, as if terminated
            self._terminate(index, now)
            return
        self.state[index] = OFF
        inst.provisioned.change(-1, now)
        self.provisioned.change(-1, now)
        self._work(index, -1, now)
        sessions = self.server.sessions
        if sessions is not None and sessions.local:
            sessions.lose(index)  # a new instance in its place starts with none

    # -- results ----------------------------------------------------------------------
    def snapshot(self, now: float) -> dict[str, Any]:
        return {
            "time": now,
            "provisioned_area": self.provisioned.area_at(now),
            "serving_area": self.serving.area_at(now),
            "provisioned": self.provisioned.level,
            "serving": self.serving.level,
            "actions": len(self.events),
            "per_instance_hour": self.per_instance_hour,
        }

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]]:
        """The ``autoscaling.<server>`` section over the measured period."""
        start, end = first["time"], last["time"]
        events = [e for e in self.events if start <= e[0] <= end]
        capped = [wanted for t, wanted in self.capped if start <= t <= end]
        fleet = [n for _, _, n in self.fleet_spans(start, end)]
        hours = (last["provisioned_area"] - first["provisioned_area"]) / 3600.0
        per_instance_hour = self.per_instance_hour
        return "autoscaling", {
            "min": self.spec.min,
            "max": self.spec.max,
            "mean_instances": (last["provisioned_area"] - first["provisioned_area"]) / span
            if span > 0
            else None,
            "mean_serving": (last["serving_area"] - first["serving_area"]) / span
            if span > 0
            else None,
            # the fleet as the policy left it, as the range counts it (a draining
            # instance is billed, provisioned_at_end, but no longer of the fleet)
            "instances_at_end": fleet[-1],
            "provisioned_at_end": last["provisioned"],
            "fewest_instances": min(fleet),
            "most_instances": max(fleet),
            "instance_hours": hours,
            "cost": None if per_instance_hour is None else hours * per_instance_hour,
            "per_instance_hour": per_instance_hour,
            "scale_outs": sum(1 for e in events if e[2] > e[1]),
            "scale_ins": sum(1 for e in events if e[2] < e[1]),
            "replaced": sum(n for t, n in self.replaced if start <= t <= end),
            "capped_at_max": len(capped),
            "most_wanted": max(capped, default=None),
            "events": [
                {
                    "time": t,
                    "from": a,
                    "to": b,
                    "reason": reason,
                    "measured": None
                    if measured is None
                    else dict(zip(("metric", "value", "compared", "level"), measured, strict=True)),
                }
                for t, a, b, reason, measured in events
            ],
            # only in a run with faults: every other run's section is as it was
            **({"down": self._down(start, end)} if self.server.ctx.scenario.faults else {}),
        }

    def fleet_spans(self, start: float, end: float) -> list[tuple[float, float, int]]:
        """``(from, to, instances)`` of the fleet over ``[start, end]``, piecewise."""
        before = [e for e in self.events if e[0] < start]
        fleet = before[-1][2] if before else self.server.spec.initial_replicas
        out: list[tuple[float, float, int]] = []
        now = start
        for t, _, after, _, _ in self.events:
            if start <= t <= end:
                out.append((now, t, fleet))
                now, fleet = t, after
        out.append((now, end, fleet))
        return out

    def unserved_between(
        self, start: float, end: float
    ) -> dict[str, list[tuple[float, float, bool]]]:
        """Instance name -> ``(from, to, replaced)`` of each time its crash left the fleet
        short of its capacity, clipped to ``[start, end]``: until it served again, or its
        replacement (in its slot or another) did (``replaced`` True)."""
        out: dict[str, list[tuple[float, float, bool]]] = {}
        for index, spans in sorted(self.unserved.items()):
            kept = [
                (max(a, start), min(end if b is None else b, end), replaced)
                for a, b, replaced in spans
            ]
            kept = [span for span in kept if span[1] > span[0]]
            if kept:
                out[self.server.instances[index].name] = kept
        return out

    def slots_used(self) -> list[str]:
        """Names of the slots that held an instance at some time in the run."""
        start = self.server.spec.initial_replicas
        return [
            inst.name
            for i, inst in enumerate(self.server.instances)
            if i < start or self.launches[i] > 0
        ]

    def _down(self, start: float, end: float) -> dict[str, list[list[float | None]]]:
        """Instance name -> the spans its slot had a crashed instance and none in service
        in its place, overlapping ``[start, end]`` (an end None: to the fault's end, as
        the fault log has it; a terminated instance's fault goes on without it)."""
        out: dict[str, list[list[float | None]]] = {}
        for index, spans in sorted(self.outages.items()):
            kept = [[a, b] for a, b in spans if a <= end and (b is None or b >= start)]
            if kept:
                out[self.server.instances[index].name] = kept
        return out

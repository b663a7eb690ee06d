"""Balancing policies: each picks the index of one instance per request.

A policy is built once per balancer with what it needs (instance count, the balancer's
list of requests in progress per instance, a random stream, a hash ring) and answers
``choose(request)`` on the hot path with list indexing and integer arithmetic only.
``open`` is the balancer's own list, updated by the balancer as requests come and go.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

from simperf.components.base import Request
from simperf.rng import stable_hash


class RoundRobin:
    """Each instance in turn."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.next = 0

    def choose(self, request: Request) -> int:
        index = self.next
        self.next = (index + 1) % self.n
        return index


class Random:
    """Uniformly at random (``draw`` hands out batched integers in ``[0, n)``)."""

    def __init__(self, draw: Callable[[], Any]) -> None:
        self.draw = draw

    def choose(self, request: Request) -> int:
        return int(self.draw())


class LeastConnections:
    """Fewest requests in progress; ties go to the first at or after a rotating start."""

    def __init__(self, open_: list[int]) -> None:
        self.open = open_
        self.n = len(open_)
        self.next = 0

    def choose(self, request: Request) -> int:
        n = self.n
        start = self.next
        self.next = (start + 1) % n
        open_ = self.open
        best = start
        best_open = open_[start]
        for offset in range(1, n):
            i = (start + offset) % n
            if open_[i] < best_open:
                best, best_open = i, open_[i]
        return best


class WeightedRoundRobin:
    """In turn, in proportion to the weights, smoothly interleaved (nginx's algorithm).

    Every pick adds each weight to its instance's credit and takes the instance with the
    most credit, which then pays the total weight: over any cycle of ``sum(weights)``
    picks (integer weights) each instance is picked exactly its weight's number of
    times, and a heavy instance's picks are spread through the cycle, not bunched.
    """

    def __init__(self, weights: Sequence[float]) -> None:
        self.weights = [float(w) for w in weights]
        self.total = sum(self.weights)
        self.credit = [0.0] * len(self.weights)

    def choose(self, request: Request) -> int:
        credit = self.credit
        best = 0
        best_credit = -1.0e300
        for i, weight in enumerate(self.weights):
            value = credit[i] + weight
            credit[i] = value
            if value > best_credit:
                best, best_credit = i, value
        credit[best] -= self.total
        return best


class PowerOfTwo:
    """Two distinct instances at random; the one with fewer requests in progress wins.

    Each request costs one batched integer ``k`` in ``[0, n (n - 1))``, decoded into an
    ordered pair of distinct instances. The pair's order is itself uniformly random, so
    keeping the first on a tie is a random tie-break.
    """

    def __init__(self, open_: list[int], draw: Callable[[], Any] | None) -> None:
        self.open = open_
        self.span = len(open_) - 1
        self.draw = draw

    def choose(self, request: Request) -> int:
        if self.draw is None:  # a single instance
            return 0
        first, second = divmod(int(self.draw()), self.span)
        if second >= first:
            second += 1
        open_ = self.open
        return second if open_[second] < open_[first] else first


class HashRing:
    """Consistent hashing: ``virtual_nodes`` points per instance on a 64-bit ring.

    An address belongs to the first point at or after its hash (wrapping around). Points
    depend only on instance names, so adding an instance only takes over the arcs in
    front of its own points: about ``1/(n + 1)`` of the addresses move, all to it.

    Examples
    --------
    >>> ring = HashRing(["app[0]", "app[1]"], 100)
    >>> ring.owner(42) in (0, 1)
    True
    """

    def __init__(self, names: Sequence[str], virtual_nodes: int) -> None:
        points = sorted(
            (stable_hash(f"{name}#{v}"), i)
            for i, name in enumerate(names)
            for v in range(virtual_nodes)
        )
        self.keys = [key for key, _ in points]
        self.owners = [owner for _, owner in points]

    def owner(self, address: int) -> int:
        """Index (in ``names``) of the instance that serves ``address``."""
        j = bisect_right(self.keys, stable_hash(f"client:{address}"))
        return self.owners[j % len(self.keys)]

    def owner_among(self, address: int, up: Callable[[int], bool]) -> int | None:
        """The first instance at or after ``address`` on the ring that is ``up`` (None: none).

        When an instance fails, only its own addresses move, each to the next instance
        along the ring, as health-checked consistent hashing does.
        """
        j = bisect_right(self.keys, stable_hash(f"client:{address}"))
        owners = self.owners
        size = len(owners)
        for step in range(size):
            owner = owners[(j + step) % size]
            if up(owner):
                return owner
        return None


class IpHash:
    """Sticky by client address on a consistent-hash ring (owners cached per address)."""

    def __init__(self, ring: HashRing) -> None:
        self.ring = ring
        self.cache: dict[int, int] = {}

    def choose(self, request: Request) -> int:
        address = request.client
        owner = self.cache.get(address)  # type: ignore[arg-type]
        if owner is None:
            owner = self.cache[address] = self.ring.owner(address)  # type: ignore[index,arg-type]
        return owner


class Geographic:
    """The client's own region first, else the nearest group with headroom.

    ``groups[g]`` lists the instance indices of group ``g``; ``orders[r]`` the groups by
    distance from client region ``r``; ``limits[g]`` the requests in progress at which
    group ``g`` is full. When every group is full the nearest takes the request. Within a
    group the instance with the fewest requests in progress wins (rotating tie-break).
    """

    def __init__(
        self,
        open_: list[int],
        groups: list[list[int]],
        orders: list[list[int]],
        limits: list[float],
    ) -> None:
        self.open = open_
        self.groups = groups
        self.orders = orders
        self.limits = limits
        self.next = [0] * len(groups)

    def choose(self, request: Request) -> int:
        open_ = self.open
        order = self.orders[request.region]  # type: ignore[index]
        chosen = order[0]
        for g in order:
            if sum(open_[i] for i in self.groups[g]) < self.limits[g]:
                chosen = g
                break
        members = self.groups[chosen]
        n = len(members)
        start = self.next[chosen]
        self.next[chosen] = (start + 1) % n
        best = members[start]
        for offset in range(1, n):
            i = members[(start + offset) % n]
            if open_[i] < open_[best]:
                best = i
        return best

    def choose_among(self, request: Request, usable: Callable[[int], bool]) -> int | None:
        """The instance for a request whose chosen one is out of rotation (None: none).

        The groups in the client's latency order, the first with headroom among its
        usable instances, else the nearest with any usable instance: a dark region's
        clients go to the next region (paying the latency matrix on the way there),
        not to whichever instance anywhere is least loaded.
        """
        open_ = self.open
        fallback: list[int] = []
        for g in self.orders[request.region]:  # type: ignore[index]
            members = [i for i in self.groups[g] if usable(i)]
            if not members:
                continue
            if sum(open_[i] for i in self.groups[g]) < self.limits[g]:
                return min(members, key=lambda i: open_[i])
            if not fallback:
                fallback = members
        return min(fallback, key=lambda i: open_[i]) if fallback else None

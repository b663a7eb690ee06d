"""Balancing policies: each picks the index of one instance per request.

A policy is built once per balancer with what it needs (instance count, the balancer's
list of requests in progress per instance, a random stream, a hash ring) and answers
``choose(request)`` on the hot path with list indexing and integer arithmetic only.
``open`` is the balancer's own list, updated by the balancer as requests come and go
(least-connections over many instances gives the balancer a list that indexes itself).
"""

from __future__ import annotations

import math
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
    """Fewest requests in progress; ties go to the first at or after a rotating start.

    A scan of every instance: the cheapest choice for a few instances. Beyond
    :data:`SCAN_LIMIT`, :func:`least_connections` builds :class:`IndexedLeastConnections`,
    which makes the same choices in O(log n).
    """

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


SCAN_LIMIT = 32
"""Most instances for which least-connections scans: below this a scan costs less than
keeping the index (measured: the two cost about the same at 32 instances, the index
half as much at 200)."""


class OpenCounts(list):  # type: ignore[type-arg]
    """Requests in progress per instance, a list that keeps a min-tree of itself.

    ``counts[i] = value`` (and so ``counts[i] += 1``) also updates the tree in O(log n),
    stopping early where a node's minimum does not change; reads are a plain list's.
    Only single non-negative indices are assigned (slices are not supported).

    Examples
    --------
    >>> counts = OpenCounts(5)
    >>> counts[0] += 1; counts[3] += 2
    >>> counts, counts.first_min(1), counts.first_min(4)
    ([1, 0, 0, 2, 0], 1, 4)
    """

    __slots__ = ("size", "tree")

    def __init__(self, n: int) -> None:
        super().__init__([0] * n)
        size = 1
        while size < n:
            size *= 2
        self.size = size
        # tree[size + i] is counts[i] (padding: infinity, never a minimum); tree[k] is
        # the minimum of tree[2k] and tree[2k + 1]; tree[1] the minimum of all
        tree: list[float] = [0.0] * size + [0] * n + [math.inf] * (size - n)
        for k in range(size - 1, 0, -1):
            tree[k] = min(tree[2 * k], tree[2 * k + 1])
        self.tree = tree

    def __setitem__(self, index: int, value: int) -> None:  # type: ignore[override]
        list.__setitem__(self, index, value)
        tree = self.tree
        pos = index + self.size
        tree[pos] = value
        low: float = value
        while pos > 1:
            sibling = tree[pos ^ 1]
            if sibling < low:
                low = sibling
            pos >>= 1
            if tree[pos] == low:
                break  # nothing above changes either
            tree[pos] = low

    def first_min(self, start: int) -> int:
        """The first index at or after ``start`` (wrapping around) holding the minimum."""
        tree = self.tree
        size = self.size
        low = tree[1]
        pos = start + size
        if tree[pos] == low:
            return start
        # up: the nearest subtree to the right of ``start`` holding the minimum
        while pos > 1:
            if not pos & 1 and tree[pos + 1] == low:
                pos += 1
                break
            pos >>= 1
        # (none after ``start``: pos is the root, whose first minimum comes before it)
        while pos < size:  # down: its leftmost leaf holding the minimum
            pos <<= 1
            if tree[pos] != low:
                pos += 1
        return pos - size


class IndexedLeastConnections:
    """:class:`LeastConnections`'s choices (the same tie-break) in O(log n) per request.

    ``open`` is an :class:`OpenCounts`: the balancer's updates keep its tree current, and
    a choice walks the tree instead of every instance.
    """

    def __init__(self, n: int) -> None:
        self.open = OpenCounts(n)
        self.n = n
        self.next = 0

    def choose(self, request: Request) -> int:
        start = self.next
        self.next = start + 1 if start + 1 < self.n else 0
        return self.open.first_min(start)


def least_connections(n: int) -> LeastConnections | IndexedLeastConnections:
    """The least-connections policy for ``n`` instances: a scan for a few, else indexed.

    The balancer keeps its requests in progress in the returned policy's ``open``.
    """
    if n <= SCAN_LIMIT:
        return LeastConnections([0] * n)
    return IndexedLeastConnections(n)


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
    distance from client region ``r``; ``room[i]`` the requests in progress that instance
    ``i`` adds to its group's limit (``spill_over`` times its workers) while
    ``usable(i)``: a group is full when its requests in progress reach the room of its
    usable instances, so an instance down (or out of rotation) takes its workers out of
    the limit and the group spills sooner. When every group is full the nearest takes
    the request. Within a group the instance with the fewest requests in progress wins
    (rotating tie-break).
    """

    def __init__(
        self,
        open_: list[int],
        groups: list[list[int]],
        orders: list[list[int]],
        room: list[float],
        usable: Callable[[int], bool],
    ) -> None:
        self.open = open_
        self.groups = groups
        self.orders = orders
        self.room = room
        self.usable = usable
        self.next = [0] * len(groups)

    def _has_room(self, g: int) -> bool:
        """Whether group ``g`` has fewer requests in progress than its usable room."""
        open_, room, usable = self.open, self.room, self.usable
        held = 0
        limit = 0.0
        for i in self.groups[g]:
            held += open_[i]
            if usable(i):
                limit += room[i]
        return held < limit

    def choose(self, request: Request) -> int:
        open_ = self.open
        order = self.orders[request.region]  # type: ignore[index]
        chosen = order[0]
        for g in order:
            if self._has_room(g):
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
            if self._has_room(g):
                return min(members, key=lambda i: open_[i])
            if not fallback:
                fallback = members
        return min(fallback, key=lambda i: open_[i]) if fallback else None

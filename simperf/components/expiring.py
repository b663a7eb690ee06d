"""Tables of times that stop mattering: bounded in a long run, swept as they double.

A database keeps, per key, the time a write becomes visible on a replica, and per
client the time of its last write (read-your-writes). An entry matters only until
``value + after`` has passed; kept for ever, such tables grow with the run's length
(one entry per key or per client ever written). :class:`Expiring` drops its dead
entries when it has doubled since the last sweep: one pass over ``n`` entries after at
least ``n / 2`` insertions, so amortised O(1) a write, and nothing at all on a lookup.
An entry is dead exactly when a reader would find it no later than now (it compares
``now < value + after``), and time never runs back, so dropping it changes no result.
"""

from __future__ import annotations

FLOOR = 256
"""Entries below which a table is never swept (a sweep would cost more than it frees)."""


class Expiring(dict[int, float]):
    """A ``dict`` of times whose entries expire ``after`` seconds past their value.

    Reads are a plain ``dict``'s; a writer calls :meth:`sweep` when ``len(table) >
    table.bound``.

    Parameters
    ----------
    after
        Seconds past an entry's value during which it still matters (0: until its value).

    Examples
    --------
    >>> table = Expiring(1.0)
    >>> for key in range(300):
    ...     table[key] = float(key)
    >>> table.sweep(299.5)
    >>> sorted(table)
    [299]
    >>> table.bound
    256
    """

    __slots__ = ("after", "bound")

    def __init__(self, after: float = 0.0) -> None:
        super().__init__()
        self.after = after
        self.bound = FLOOR

    def sweep(self, now: float) -> None:
        """Keep the entries that still matter at ``now``; the next sweep at twice as many.

        The dict is refilled, not deleted from, so that its table shrinks with it.
        """
        after = self.after
        live = [(key, value) for key, value in self.items() if now < value + after]
        self.clear()
        self.update(live)
        self.bound = max(FLOOR, 2 * len(live))

"""Tables of times that stop mattering: bounded in a long run, swept as they double.

A database keeps, per key, the time a write becomes visible on a replica, and per
client the time of its last write (read-your-writes). An entry matters only until
``value + after`` has passed; kept for ever, such tables grow with the run's length
(one entry per key or per client ever written). :class:`Expiring` drops its dead
entries when its table has doubled since the last sweep: one pass over ``n`` entries
after at least ``n / 2`` insertions, so amortised O(1) a write, and nothing at all on a
lookup. An entry is dead exactly when a reader would find it no later than now (it
compares ``now < value + after``), and time never runs back, so dropping it changes no
result.
"""

from __future__ import annotations

FLOOR = 256
"""Entries below which a table is never swept (a sweep would cost more than it frees)."""


class Expiring:
    """A plain ``dict`` of times (``table``) whose entries expire ``after`` past their value.

    Readers look ``table`` up directly: a plain ``dict``, whose look-ups the interpreter
    specialises (a subclass's it does not); writers go through :meth:`put`.

    Parameters
    ----------
    after
        Seconds past an entry's value during which it still matters (0: until its value).

    Examples
    --------
    >>> times = Expiring(1.0)
    >>> for key in range(300):
    ...     times.put(key, float(key), float(key))
    >>> len(times.table), min(times.table)  # swept at the 257th entry (keeping 256)
    (44, 256)
    >>> times.sweep(299.5)
    >>> sorted(times.table), times.bound
    ([299], 256)
    """

    __slots__ = ("after", "bound", "table")

    def __init__(self, after: float = 0.0) -> None:
        self.table: dict[int, float] = {}
        self.after = after
        self.bound = FLOOR

    def put(self, key: int, value: float, now: float) -> None:
        """``table[key] = value`` at time ``now``, sweeping when the table has doubled."""
        table = self.table
        table[key] = value
        if len(table) > self.bound:
            self.sweep(now)

    def sweep(self, now: float) -> None:
        """Keep the entries that still matter at ``now``; the next sweep at twice as many.

        The dict is refilled, not deleted from, so that its table shrinks with it (and
        readers holding it see the change).
        """
        after = self.after
        table = self.table
        live = [(key, value) for key, value in table.items() if now < value + after]
        table.clear()
        table.update(live)
        self.bound = max(FLOOR, 2 * len(live))

"""Light calendar entries: a flat runner's continuation scheduled straight in SimPy's heap.

A flat runner (:mod:`simperf.components.flat`, :mod:`simperf.components.flat_db`)
waits out a step with a ``Timeout`` whose only callback resumes it: the event object, its
callback list and SimPy's callback loop model nothing. A light entry puts the
continuation itself (a bound method, called with no argument) in ``env._queue`` under the
key a ``Timeout`` made at the same moment would get, ``(now + delay, priority, eid)``,
with ``eid`` drawn from the same counter, so every event keeps its place among the
others and results are unchanged. Only :func:`simperf.model.run_until`'s loop, which
tells a light entry from an event, may process such a heap: SimPy's own ``step`` and
``run`` would not.

This relies on three private attributes of ``simpy.Environment`` (``_queue``, ``_eid``
and ``_now``) as SimPy 4.1 has them; simpy is pinned (``constraints.txt``), and
:func:`check_internals` (run by every :func:`~simperf.model.run_until`, and by a test)
fails loudly if an upgrade changes them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from heapq import heappush
from types import MethodType
from typing import Any

from simpy.events import NORMAL, URGENT

__all__ = ["LIGHT", "NORMAL", "URGENT", "check_internals", "later", "soon", "soon_all"]

LIGHT = MethodType
"""The type of a light entry in the heap (a bound method); events are never of it."""


def later(env: Any, delay: float, callback: Callable[[], None]) -> None:
    """Call ``callback()`` ``delay`` from now, where a ``Timeout(env, delay)`` would fire.

    The hottest waits inline this line instead of calling it (a call is a tenth of the
    saving).
    """
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), callback))


def soon(env: Any, callback: Callable[[], None], priority: int = NORMAL) -> None:
    """Call ``callback()`` after the events already due now, as a succeeded event's
    callback would run (``priority`` ``URGENT``: as a process's start)."""
    heappush(env._queue, (env._now, priority, next(env._eid), callback))


def soon_all(env: Any, callbacks: list[Callable[[], None]], priority: int = NORMAL) -> None:
    """:func:`soon` for each of ``callbacks`` in turn, as one calendar entry.

    Entries pushed one after another, with nothing pushed between them, share their time
    and priority and take consecutive ids: no other entry sorts between them, neither one
    already in the heap nor one pushed later (its id is larger), so calling them all, in
    order, where the first would have been called changes nothing but the count of
    entries (the ids the others take keep their order).
    """
    if len(callbacks) == 1:
        soon(env, callbacks[0], priority)
    elif callbacks:
        soon(env, _Together(callbacks).run, priority)


class _Together:
    """Callbacks due together (:func:`soon_all`): one light entry calls them in order."""

    __slots__ = ("callbacks",)

    def __init__(self, callbacks: list[Callable[[], None]]) -> None:
        self.callbacks = callbacks

    def run(self) -> None:
        for callback in self.callbacks:
            callback()


def check_internals(env: Any) -> None:
    """Fail loudly if ``env`` lacks the SimPy internals light entries are written into.

    Raises
    ------
    RuntimeError
        When ``_queue`` is not a list, ``_eid`` not an ``itertools.count`` or ``_now``
        not a number: SimPy changed, and the pinned version (constraints.txt) must be
        restored or this module adapted.
    """
    queue = getattr(env, "_queue", None)
    eid = getattr(env, "_eid", None)
    now = getattr(env, "_now", None)
    if (
        not isinstance(queue, list)
        or not isinstance(eid, itertools.count)
        or not isinstance(now, int | float)
    ):
        raise RuntimeError(
            "simpy.Environment no longer has the _queue list, _eid counter and _now time "
            "that simperf's light calendar entries rely on: install the simpy version "
            "pinned in constraints.txt"
        )

"""Record columns: the event engine appends to ``array`` buffers one value at a time; the
fast path fills numpy buffers a round at a time (:class:`Column`) and hands out views of
their filled part. Both are cut past ``run.keep_requests`` alike (:func:`cut`), and read
alike (``np.frombuffer``).
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np


def cut(owner: Any, name: str, keep: int, stop: int | None = None) -> np.ndarray:
    """Take the values from ``keep`` to ``stop`` (default: all past ``keep``) out of the
    column ``owner.<name>``; return them.

    They are a copy: a view would stop an ``array`` from shrinking, or be overwritten
    by a :class:`Column`'s next round. Only an ``array`` keeps values past ``stop`` (the
    event engine folds between snapshots; a :class:`Column` is cut whole).
    """
    column = getattr(owner, name)
    tail = np.array(column[keep:stop])
    if isinstance(column, array):
        del column[keep:stop]
    else:
        if stop is not None and stop < len(column):
            raise ValueError(f"{name}: a Column is cut past keep whole, not to {stop}")
        setattr(owner, name, column[:keep])
    return tail


class Column:
    """A numpy buffer that rounds of values are appended to, as views of its filled part.

    Appending a round to an ``array`` reallocates it each time, and the allocator
    copies it whole when it cannot grow it in place: 6 to 20 ms of a million-request
    M/M/1 run on the fast path, against none once the buffer holds the run's records.

    Parameters
    ----------
    dtype
        The values' type.
    size
        The buffer's first size: the values expected, when known.
    most
        The most values held at once (a cut keeps them under it): the buffer doubles
        up to it, and past it grows to what it must hold.
    zeros
        Every value appended is 0: nothing is written (the buffer starts zeroed).
    """

    def __init__(self, dtype: Any, size: int = 0, most: int = 0, zeros: bool = False) -> None:
        self.zeros = zeros
        self.most = most
        self.buffer = np.zeros(size, dtype) if zeros else np.empty(size, dtype)

    def extended(self, held: np.ndarray, values: np.ndarray | int) -> np.ndarray:
        """``held`` (empty, or a view of the buffer's start: what a cut left) followed
        by ``values`` (a count when :attr:`zeros`), as a view of the buffer."""
        count = values if isinstance(values, int) else values.size
        start = held.size
        end = start + count
        if end > self.buffer.size:
            size = max(end, min(2 * self.buffer.size, self.most))
            if self.zeros:
                self.buffer = np.zeros(size, self.buffer.dtype)
            else:
                bigger = np.empty(size, self.buffer.dtype)
                bigger[:start] = held
                self.buffer = bigger
        if not self.zeros:
            self.buffer[start:end] = values
        return self.buffer[:end]

"""Record columns: ``array`` buffers and the fast path's numpy ones cut alike."""

from __future__ import annotations

from array import array
from types import SimpleNamespace

import numpy as np
import pytest

from simperf.metrics.columns import Column, cut


@pytest.mark.parametrize("kind", ["array", "column"])
def test_a_cut_keeps_the_first_values_and_returns_the_rest(kind: str) -> None:
    values = np.arange(10.0)
    if kind == "array":
        owner = SimpleNamespace(values=array("d", values.tolist()))
    else:
        owner = SimpleNamespace(values=Column(float, 4, 16).extended(np.empty(0), values))
    tail = cut(owner, "values", 6)
    assert tail.tolist() == [6.0, 7.0, 8.0, 9.0]
    assert np.frombuffer(owner.values, dtype=float).tolist() == values[:6].tolist()
    assert isinstance(owner.values, array) == (kind == "array")


def test_rounds_go_after_what_a_cut_kept() -> None:
    column = Column(float, 3, 8)
    held = column.buffer[:0]
    held = column.extended(held, np.array([1.0, 2.0]))
    held = column.extended(held, np.array([3.0, 4.0, 5.0]))  # past the first size
    owner = SimpleNamespace(values=held)
    assert cut(owner, "values", 2).tolist() == [3.0, 4.0, 5.0]
    held = column.extended(owner.values, np.array([6.0]))
    assert held.tolist() == [1.0, 2.0, 6.0]
    assert np.shares_memory(held, column.buffer)
    held = column.extended(held, np.arange(20.0))  # past ``most``: as much as it must hold
    assert held.tolist() == [1.0, 2.0, 6.0, *range(20)]
    assert column.buffer.size == 23


def test_a_zeros_column_writes_nothing_and_grows_zeroed() -> None:
    column = Column(np.int32, 2, 4, zeros=True)
    held = column.extended(column.buffer[:0], 3)
    held = column.extended(held, 5)
    assert held.dtype == np.int32
    assert held.tolist() == [0] * 8


def test_a_cut_to_a_stop_leaves_an_array_its_values_past_it_and_refuses_a_column() -> None:
    # the event engine folds the records ending before now; those ending now stay
    owner = SimpleNamespace(values=array("d", [0.0, 1.0, 2.0, 3.0, 4.0]))
    assert cut(owner, "values", 1, 3).tolist() == [1.0, 2.0]
    assert owner.values.tolist() == [0.0, 3.0, 4.0]
    column = SimpleNamespace(values=Column(float, 4, 16).extended(np.empty(0), np.arange(5.0)))
    assert cut(column, "values", 1, 5).tolist() == [1.0, 2.0, 3.0, 4.0]  # to its end: whole
    with pytest.raises(ValueError, match="cut past keep whole"):
        cut(column, "values", 0, 0)

from __future__ import annotations

import pytest

from simperf.analysis.queueing import erlang_b
from simperf.analysis.spillover import spill_over


def test_overflow_is_offered_to_the_next_group() -> None:
    # group 0 (3 slots) takes 4 Erlangs of its own; its overflow joins group 1's own
    # 1 Erlang (whose source knows no other group): B1 = B(4, 1 + 4 B0), B0 = B(3, 4)
    share = spill_over([4.0, 1.0], [[0, 1], [1]], [[1.0, 1.0], [1.0, 1.0]], [3, 4])
    b0 = erlang_b(3, 4.0)
    b1 = erlang_b(4, 1.0 + 4.0 * b0)
    assert b1 > erlang_b(4, 1.0)  # the overflow raises the second group's blocking
    # what both refuse goes to the first group anyway
    assert share[0] == pytest.approx([1 - b0 + b0 * b1, b0 * (1 - b1)], rel=1e-9)
    assert share[1] == [0.0, 1.0]
    assert [sum(row) for row in share] == pytest.approx([1.0, 1.0], rel=1e-12)


def test_a_group_without_room_spills_everything() -> None:
    full = erlang_b(10, 1.0)
    share = spill_over([1.0], [[0, 1]], [[1.0, 1.0]], [0, 10])
    assert share == [pytest.approx([full, 1 - full], rel=1e-12)]

"""EXPLAIN's words about what a query costs its caller beyond the plan."""

from __future__ import annotations

import simperf
from simperf.dbcost.explain import explain_text, unpooled_callers
from tests.estimate.test_estimate import one_query


def test_a_caller_without_a_pool_is_told_it_pays_a_connection_per_query() -> None:
    bare = simperf.from_dict(one_query(pool=False))
    assert unpooled_callers(bare, "db") == ["app"]
    assert (
        "  no pool at app: each query also opens a connection, 1.5 ms handshake + 1 ms "
        "start-up on a database core"
    ) in explain_text(bare).splitlines()
    pooled = simperf.from_dict(one_query(pool=True))
    assert unpooled_callers(pooled, "db") == []
    assert "no pool" not in explain_text(pooled)

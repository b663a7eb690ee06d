"""The app's CPU demand: the one the request carries, else its own draw."""

from __future__ import annotations

import random

import pytest

pytest.importorskip("psycopg")
pytest.importorskip("redis")
from realbench.app import demand


def test_the_request_carries_its_cpu_demand() -> None:
    rng = random.Random(1)
    assert demand({"QUERY_STRING": "cpu=0.0042"}, rng) == pytest.approx(0.0042)
    drawn = [demand({"QUERY_STRING": ""}, rng) for _ in range(2000)]
    assert sum(drawn) / len(drawn) == pytest.approx(0.005, rel=0.1)

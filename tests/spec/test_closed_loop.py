"""A closed loop that would never let simulated time pass is refused by validation."""

from __future__ import annotations

import pytest

import simperf
from simperf.errors import SpecError

from conftest import MODELS


def closed(think: object, steps: list[dict[str, object]]) -> simperf.Scenario:
    return simperf.load(MODELS / "closed.yaml").with_overrides(
        {"workload.think_time": think, "components.app.endpoints.serve": steps}
    )


def test_users_who_never_think_on_requests_that_take_no_time_are_refused() -> None:
    # simulated time would never pass: the run used to loop at t = 0 forever
    with pytest.raises(SpecError, match=r"workload\.think_time: 20 users with no think time"):
        closed("0s", [{"cpu": "0s"}, {"delay": "0s"}])


@pytest.mark.parametrize(
    ("think", "steps"),
    [("0s", [{"cpu": "0s"}, {"delay": "1ms"}]), ("1s", [{"cpu": "0s"}])],
)
def test_think_time_or_a_step_that_takes_time_is_enough(
    think: str, steps: list[dict[str, object]]
) -> None:
    closed(think, steps)


def test_estimate_of_users_on_free_requests_is_users_over_think_time() -> None:
    # no station queues: the closed forms used to fail on an empty demand vector
    e = simperf.estimate(closed("1s", [{"cpu": "0s"}]))
    assert e.rate == pytest.approx(20.0)

"""models/diurnal.yaml's day under target tracking: the fleet derived by hand.

The day's rate is ``10 (1 + 0.6 cos(2 pi (t - 20 h) / 24 h))`` requests/s of 60 ms of CPU
on 1-core instances. Tracking 40% CPU, each period's decision wants ``ceil(busy cores /
0.4) = ceil(0.15 x mean rate of the period)`` instances (whatever the fleet measured):
1 below 6.67/s, 2 to 13.33/s, 3 above. With 5-minute periods acted on a minute later, a
3-minute warm-up, a 5-minute cooldown after a scale-out and a 20-minute one before a
scale-in, the day's rates give (no noise, in :func:`by_hand`): 1 -> 2 at 0:06 (12.9/s),
2 -> 1 at 4:21 (6.61/s), 1 -> 2 at 11:51 (6.72/s), 2 -> 3 at 16:21 (13.39/s) and 3 -> 2
at 23:51 (13.28/s), a mean of 47.9 / 24 = 1.996 instances. The simulator's Poisson
arrivals move each crossing by a period or two (a period's rate is known to some 3%), so
the mean fleet agrees within its interval over replications, and every hour at least an
hour from a crossing holds the hand's fleet exactly. Run under ``make validate`` (some
20 s a replication).
"""

from __future__ import annotations

import math

import pytest
import yaml

from agreement import agrees, replications
from conftest import MODELS

MEAN, AMPLITUDE, DAY, PEAK, SERVICE = 10.0, 0.6, 86400.0, 72000.0, 0.06
PERIOD, LAG, WARMUP, COOLDOWN, IN_COOLDOWN, TARGET = 300.0, 60.0, 180.0, 300.0, 1200.0, 0.4
POLICY = {
    "min": 1,
    "max": 4,
    "metric": "cpu_utilization",
    "target": "40%",
    "evaluation_period": "5min",
    "metric_lag": "1min",
    "warmup": "3min",
    "cooldown": "5min",
    "scale_in_cooldown": "20min",
}


def arrived(t: float) -> float:
    """Requests expected from 0 to ``t``: the rate's integral."""
    k = 2 * math.pi / DAY
    return MEAN * (t + AMPLITUDE * (math.sin(k * (t - PEAK)) + math.sin(k * PEAK)) / k)


def by_hand() -> list[tuple[float, int]]:
    """(time, fleet from then) of every action, each period at its mean rate."""
    fleet, warm, last_out, last_in = 1, -math.inf, -math.inf, -math.inf
    actions = []
    k = 1
    while k * PERIOD + LAG <= DAY:
        now = k * PERIOD + LAG
        rate = (arrived(k * PERIOD) - arrived((k - 1) * PERIOD)) / PERIOD
        wanted = min(max(math.ceil(rate * SERVICE / TARGET), POLICY["min"]), POLICY["max"])
        if wanted > fleet and now - last_out >= COOLDOWN:
            fleet, last_out, warm = wanted, now, now + WARMUP
            actions.append((now, fleet))
        elif wanted < fleet and now >= warm and now - max(last_out, last_in) >= IN_COOLDOWN:
            fleet, last_in = wanted, now
            actions.append((now, fleet))
        k += 1
    return actions


def mean_fleet(actions: list[tuple[float, int]]) -> float:
    """The fleet's time average over the day."""
    times = [0.0, *(t for t, _ in actions), DAY]
    fleets = [1, *(n for _, n in actions)]
    return sum((b - a) * n for a, b, n in zip(times, times[1:], fleets, strict=False)) / DAY


def test_the_hand_trajectory() -> None:
    actions = by_hand()
    assert [(round(t / 60), n) for t, n in actions] == [
        (6, 2),
        (261, 1),
        (711, 2),
        (981, 3),
        (1431, 2),
    ]
    assert mean_fleet(actions) == pytest.approx(47.9 / 24)


def fleet_at(events: list[dict[str, float]], t: float) -> int:
    """A run's fleet at ``t`` from its actions (it starts at min 1)."""
    fleet = 1
    for event in events:
        if event["time"] <= t:
            fleet = int(event["to"])
    return fleet


@pytest.mark.validate
def test_the_simulated_fleet_follows_the_hand_trajectory() -> None:
    base = yaml.safe_load((MODELS / "diurnal.yaml").read_text())
    base["components"]["app"]["autoscaling"] = POLICY
    base["run"]["warmup"] = 0
    del base["alerts"]
    reps = replications(base, 5)
    actions = by_hand()
    agrees(reps, "autoscaling.app.mean_instances", mean_fleet(actions))
    for run in reps.runs:
        events = run["autoscaling"]["app"]["events"]
        # each action near one of the hand's (noise moves a crossing by minutes, and
        # may flip the fleet there), and the hand's fleet an hour after each of them
        # (the last, at 23:51, has no hour left)
        for event in events:
            assert min(abs(event["time"] - t) for t, _ in actions) < 3600, event
        for t, fleet in actions[:-1]:
            assert fleet_at(events, t + 3600) == fleet, t
        # the headline headroom is the peak's: the busiest hour, either side of 20:00
        assert run["headroom"]["load"] == "peak"
        assert run["headroom"]["peak"]["start"] in (PEAK - 3600, PEAK)
    # By hand: either hour next to the peak offers (arrived(20 h) - arrived(19 h)) / 1 h
    # = 15.93/s of 60 ms, 0.956 cores, over max 4 one-core instances: 4.18x (6.67x at the
    # mean, 0.6 cores). The busier of the two hours is taken, which biases the rate up by
    # some 0.56 of its 0.4% Poisson noise: 0.5% allowed for it.
    peak_rate = (arrived(PEAK) - arrived(PEAK - 3600)) / 3600
    agrees(reps, "headroom.components.app.headroom", 4 / (peak_rate * SERVICE), approximation=0.005)
    agrees(reps, "headroom.components.app.mean_headroom", 4 / (MEAN * SERVICE))

"""Sessions found, re-authenticated and created against their closed forms
(:func:`simperf.analysis.sessions.session_shares`), and the estimate's cores, with the
re-authentications' CPU, against the run's.

Local sessions behind a balancer that is not sticky: a client's visits to one of ``n``
instances are Poisson of its rate over ``n``, so a request finds its session there with
probability ``1 - exp(-lambda u / n)`` (``u`` the time since the run's empty start, at
most the idle timeout), not ``1 / n``: every instance a client has visited within the
idle timeout holds a session of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import simperf
from simperf.analysis.sessions import session_shares

from agreement import HORIZONS, MEAN_WIDTH, replications, values_agree, width

RATE = 200.0
SERVICE, LOGIN = 1e-3, 5e-3


def sessions_spec(policy: str, duration: float) -> dict[str, Any]:
    """200/s from 400 Zipf(0.5) addresses to 4 one-core instances keeping local sessions
    (idle 20 s) behind ``policy``; a re-authentication costs 5 ms of CPU."""
    return {
        "name": "session_theory",
        "workload": {
            "arrival": {"kind": "poisson", "rate": RATE},
            "clients": {"addresses": 400, "skew": 0.5},
            "classes": [{"name": "get", "entry": "lb", "endpoint": "get"}],
        },
        "components": {
            "lb": {"kind": "load_balancer", "policy": policy, "backends": "app"},
            "app": {
                "kind": "app_server",
                "replicas": 4,
                "cores": 1,
                "workers": 8,
                "sessions": {"store": "local", "idle_timeout": "20s", "reauth": "login"},
                "endpoints": {
                    "get": [{"cpu": {"dist": "exponential", "mean": SERVICE}}],
                    "login": [{"cpu": LOGIN}],
                },
            },
        },
        "run": {"duration": duration, "warmup": 2},
    }


def _shares(reps: Any) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"reauthenticated": [], "created": []}
    for run in reps.runs:
        s = run["sessions"]["app"]
        out["reauthenticated"].append(s["reauthentications"] / s["requests"])
        out["created"].append(s["created"] / s["requests"])
    return out


@pytest.mark.parametrize("share", HORIZONS)
def test_non_sticky_sessions_reauthenticate_as_the_closed_form_says(share: float) -> None:
    duration = 2 + 38 * share
    scenario = simperf.from_dict(sessions_spec("round_robin", duration))
    clients = np.arange(1, 401, dtype=float) ** -0.5
    theory = session_shares(clients, RATE, 4, 20.0, 2.0, duration)
    assert 0.1 < theory.reauthenticated < 0.5  # neither term negligible
    # the estimate loads the cores with the re-authentications' CPU at that share
    estimate = simperf.estimate(scenario).stations.set_index(["component", "resource"])
    cores = estimate.loc[("app", "cores"), "utilization"]
    assert cores == pytest.approx(RATE * (SERVICE + theory.reauthenticated * LOGIN) / 4)

    reps = replications(scenario, 10 if share < 1 else 20)
    measured = _shares(reps)
    mean_width = width(MEAN_WIDTH, share)
    found = measured["reauthenticated"]
    print(values_agree(found, "reauthenticated", theory.reauthenticated, max_width=mean_width))
    print(values_agree(measured["created"], "created", theory.created, max_width=0.1))
    busy = reps.values("components.app.utilization")
    print(values_agree(busy, "components.app.utilization", cores, max_width=mean_width))

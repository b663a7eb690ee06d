"""CPU scaling by the Universal Scalability Law against its closed forms.

Saturated throughput against X(N) for two (alpha, beta) pairs over several core counts,
and an open M/M/c queue with USL cores against its exact birth-death chain, which only
agrees when every change in the number in service re-times the work left.
"""

from __future__ import annotations

from typing import Any

import pytest

from simperf import analysis

from agreement import agrees, conserved_and_little, open_spec, replications, server

MU = 100.0  # exponential CPU of mean 10 ms
PAIRS = [(0.08, 0.0), (0.02, 0.002)]


def saturated(cores: int, alpha: float, beta: float, users: int) -> dict[str, Any]:
    app = server(cores=cores, scaling={"alpha": alpha, "beta": beta}, workers=users)
    return {
        "name": "usl_saturated",
        "workload": {
            "users": users,
            "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
        },
        "components": {"app": app},
        "run": {"duration": 20, "warmup": 1},
    }


@pytest.mark.validate
@pytest.mark.parametrize(("alpha", "beta"), PAIRS)
@pytest.mark.parametrize("cores", [4, 16])
def test_saturated_throughput_is_x_of_n(alpha: float, beta: float, cores: int) -> None:
    # twice as many users as cores: requests also queue for cores, which stay all busy
    reps = replications(saturated(cores, alpha, beta, 2 * cores), 10)
    theory = float(analysis.usl_throughput(cores, MU, alpha, beta))
    agrees(reps, "throughput", theory)
    agrees(reps, "components.app.utilization", 1.0)
    conserved_and_little(reps)


@pytest.mark.validate
@pytest.mark.parametrize(
    ("alpha", "beta", "cores", "rate"), [(0.08, 0.0, 4, 240.0), (0.02, 0.002, 4, 260.0)]
)
def test_open_queue_matches_the_birth_death_chain(
    alpha: float, beta: float, cores: int, rate: float
) -> None:
    app = server(cores=cores, scaling={"alpha": alpha, "beta": beta})
    reps = replications(open_spec("usl_mmc", rate, {"app": app}, duration=100, warmup=5), 20)
    theory = analysis.usl_mmc(rate, MU, cores, alpha, beta)
    agrees(reps, "latency.all.mean", theory.mean_sojourn)
    agrees(reps, "components.app.utilization", theory.utilization)
    conserved_and_little(reps)

"""Processor sharing with constant times: exact completion times."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

import simperf
from simperf.components.server import Server
from simperf.components.shared_cpu import processor_sharing


def finish_times(cores: int, jobs: list[tuple[float, float]]) -> list[float]:
    """End times of jobs given as (arrival, work) on ``cores`` shared cores."""
    env = simpy.Environment()
    server = Server(env, "app[0]", "app", cores)
    shared = processor_sharing(server)
    ends = [0.0] * len(jobs)

    def job(i: int, arrival: float, work: float):
        yield env.timeout(arrival)
        yield shared.run(work)
        ends[i] = env.now

    for i, (arrival, work) in enumerate(jobs):
        env.process(job(i, arrival, work))
    env.run()
    assert server.busy.level == 0
    return ends


def test_two_jobs_share_one_core() -> None:
    # b arrives at 1 with a at 1 left: both at half speed; a ends at 3, b alone to 4
    assert finish_times(1, [(0, 2.0), (1, 2.0)]) == pytest.approx([3.0, 4.0])


def test_up_to_c_jobs_run_at_full_speed() -> None:
    # 3 jobs on 2 cores: each at 2/3 until the short one ends at 1.5, then full speed
    assert finish_times(2, [(0, 1.0), (0, 3.0), (0, 3.0)]) == pytest.approx([1.5, 3.5, 3.5])


def test_busy_area_is_the_work_done() -> None:
    env = simpy.Environment()
    server = Server(env, "app[0]", "app", 2)
    shared = processor_sharing(server)
    rng = np.random.default_rng(1)
    work = rng.exponential(1.0, 200)

    def job(arrival: float, w: float):
        yield env.timeout(arrival)
        yield shared.run(w)

    for arrival, w in zip(np.cumsum(rng.exponential(0.6, 200)), work, strict=True):
        env.process(job(float(arrival), float(w)))
    env.run()
    assert server.busy.area_at(env.now) == pytest.approx(work.sum(), rel=1e-9)


def test_ps_app_server_end_to_end() -> None:
    s = simperf.from_dict(
        {
            "name": "ps",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 1000},
                "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "cores": 1,
                    "workers": 10,
                    "cpu_discipline": "ps",
                    "endpoints": {"serve": [{"cpu": "100ms"}]},
                }
            },
            "run": {"requests": 2},
        }
    )
    data = simperf.run(s)._arrays  # type: ignore[attr-defined]
    # a arrives at 1 ms, b at 2 ms with a 99 ms from done: both at half speed until a
    # ends 198 ms later, b 1 ms after it
    assert np.sort(data["end"]) == pytest.approx([0.2, 0.201], abs=1e-12)

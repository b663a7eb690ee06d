"""CPU that slows with concurrency (USL ``scaling``): exact event times with constant work."""

from __future__ import annotations

from typing import Any

import pytest
import simpy

import simperf
from simperf.analysis.usl import usl_throughput
from simperf.build import build
from simperf.components.calls import CPU, RUN
from simperf.components.server import Server
from simperf.components.shared_cpu import SharedCores, usl_cores

WORK = 0.01  # seconds of CPU per request at full speed


def ends(cpu: SharedCores, env: simpy.Environment, jobs: list[tuple[float, float]]) -> list[float]:
    """End times of jobs given as (start, work), in start order."""
    out = [0.0] * len(jobs)

    def job(i: int, start: float, work: float) -> Any:
        yield env.timeout(start)
        yield from cpu.work(work)
        out[i] = env.now

    for i, (start, work) in enumerate(jobs):
        env.process(job(i, start, work))
    env.run()
    return out


def test_rate_changes_mid_service_recompute_the_remaining_work() -> None:
    # alpha = 1: n in service each run at 1/n (processor sharing of one core's worth).
    # A (work 2) alone for 1 s does 1; B (work 0.5) joins: both at 1/2, B ends at 2;
    # A (with 0.5 done meanwhile) alone again with 0.5 left, ends at 2.5.
    env = simpy.Environment()
    cpu = usl_cores(Server(env, "app[0]", "app", 2), 1.0, 0.0)
    assert ends(cpu, env, [(0.0, 2.0), (1.0, 0.5)]) == pytest.approx([2.5, 2.0], abs=1e-12)


def test_coherency_slows_three_at_once_by_the_usl_factor() -> None:
    env = simpy.Environment()
    server = Server(env, "app[0]", "app", 3)
    cpu = usl_cores(server, 0.1, 0.05)
    slowdown = 1 + 0.1 * 2 + 0.05 * 3 * 2
    assert ends(cpu, env, [(0.0, 1.0)] * 3) == pytest.approx([slowdown] * 3, abs=1e-12)
    # the busy level is the number in service: three cores busy for the whole span
    assert server.busy.area_at(env.now) == pytest.approx(3 * slowdown, abs=1e-12)


def closed(cores: int, scaling: dict[str, float] | None, **app: Any) -> simperf.Scenario:
    """``cores`` users with no think time on ``cores`` cores: every core always busy."""
    spec = {"kind": "app_server", "cores": cores, "endpoints": {"serve": [{"cpu": WORK}]}}
    if scaling is not None:
        spec["scaling"] = scaling
    return simperf.from_dict(
        {
            "name": "usl",
            "workload": {
                "users": app.pop("users", cores),
                "classes": [{"name": "r", "entry": "app", "endpoint": "serve"}],
            },
            "components": {"app": {**spec, **app}},
            "run": {"duration": 3, "warmup": 0.5},
        }
    )


@pytest.mark.parametrize(("alpha", "beta"), [(0.1, 0.0), (0.03, 0.004)])
@pytest.mark.parametrize("cores", [1, 4, 16])
def test_saturated_throughput_is_the_usl(alpha: float, beta: float, cores: int) -> None:
    result = simperf.run(closed(cores, {"alpha": alpha, "beta": beta}), seed=1).to_dict()
    theory = float(usl_throughput(cores, 1 / WORK, alpha, beta))
    # completions come in rounds of `cores`: the window may hold one round more or less
    edge = cores / result["measured_time"]
    assert abs(result["throughput"] - theory) <= edge + 1e-9
    assert result["components"]["app"]["utilization"] == pytest.approx(1.0)
    req = result["requests"]
    assert req["generated"] == req["ok"] + req["failed"] + req["in_flight"]


def test_queueing_for_cores_counts_as_wait_not_service() -> None:
    # 8 users, 8 workers, 2 cores, alpha 0.5: pairs run together for 1.5 x 10 ms, and each
    # request waits for the three pairs ahead of it
    result = simperf.run(
        closed(2, {"alpha": 0.5, "beta": 0.0}, workers=8, users=8), seed=1
    ).to_dict()
    app = result["components"]["app"]
    assert app["mean_service"] == pytest.approx(0.015, rel=1e-6)
    assert app["mean_wait"] == pytest.approx(0.045, rel=1e-3)
    assert result["throughput"] == pytest.approx(2 / 0.015, abs=2 / result["measured_time"])


@pytest.mark.parametrize("scaling", [None, {"alpha": 0.0, "beta": 0.0}])
def test_linear_scaling_builds_the_plain_cpu_step(scaling: dict[str, float] | None) -> None:
    model = build(closed(4, scaling), seed=1)
    app = model.components["app"]
    assert app.resolve("serve")[0][0] == CPU
    assert app.instances[0].work.__func__ is Server.work  # type: ignore[attr-defined]


def test_nonlinear_scaling_builds_the_shared_cpu_step() -> None:
    model = build(closed(4, {"alpha": 0.1, "beta": 0.0}), seed=1)
    app = model.components["app"]
    assert app.resolve("serve")[0][0] == RUN
    assert isinstance(app.instances[0].work.__self__, SharedCores)  # type: ignore[attr-defined]


def test_database_cores_follow_the_usl() -> None:
    # 4 app workers query an 4-core database with alpha 0.2 continuously: 4 queries of
    # 1 ms at once each take 1 + 0.2 x 3 = 1.6 ms
    db = {
        "kind": "database",
        "primary": {"cores": 4, "scaling": {"alpha": 0.2, "beta": 0.0}},
        "cpu": {"per_query": "1ms", "per_row": 0, "per_page": 0},
        "connection": {"handshake": 0, "startup": 0},
        "rtt": 0,
        "bandwidth": 2**50,
        "tables": {"kv": {"rows": 1, "row_size": 100}},
        "queries": {"get": {"table": "kv", "where": ["id"]}},
    }
    scenario = simperf.from_dict(
        {
            "name": "db_usl",
            "workload": {"users": 4, "classes": [{"name": "r", "entry": "app", "endpoint": "q"}]},
            "components": {
                "app": {
                    "kind": "app_server",
                    "cores": 4,
                    "endpoints": {"q": [{"query": "get", "database": "db"}]},
                },
                "db": db,
            },
            "run": {"duration": 1, "warmup": 0.1},
        }
    )
    result = simperf.run(scenario, seed=1).to_dict()
    assert result["latency"]["all"]["mean"] == pytest.approx(0.0016, rel=1e-6)


def test_zero_scaling_gives_the_same_result_as_none() -> None:
    def result(scaling: dict[str, float] | None) -> dict[str, Any]:
        app: dict[str, Any] = {
            "kind": "app_server",
            "cores": 2,
            "workers": 4,
            "endpoints": {"serve": [{"cpu": {"dist": "exponential", "mean": 0.01}}]},
        }
        if scaling is not None:
            app["scaling"] = scaling
        scenario = simperf.from_dict(
            {
                "name": "same",
                "workload": {
                    "arrival": {"kind": "poisson", "rate": 150},
                    "classes": [{"name": "r", "entry": "app", "endpoint": "serve"}],
                },
                "components": {"app": app},
                "run": {"requests": 3000},
            }
        )
        out = simperf.run(scenario, seed=3).to_dict()
        out.pop("scenario")
        return out

    assert result({"alpha": 0.0, "beta": 0.0}) == result(None)
    assert result({"alpha": 0.2, "beta": 0.0}) != result(None)

"""simperf against closed-form queueing results (utilisation <= 0.8 here; heavier
loads run under `make validate`). Seeds are fixed, so these tests are deterministic."""

from __future__ import annotations

from typing import Any

import pytest

import simperf
from simperf import analysis

from agreement import (
    ENGINES,
    HORIZONS,
    MEAN_WIDTH,
    TAIL_WIDTH,
    agrees,
    conserved_and_little,
    open_spec,
    replications,
    server,
    width,
)
from conftest import MODELS

MU = 100.0  # exponential service of mean 10 ms


@pytest.mark.parametrize("engine", ENGINES)
def test_mm1_mean_and_tail(engine: str) -> None:
    lam = 70.0
    spec = open_spec("mm1", lam, {"app": server()}, duration=1000, warmup=10)
    reps = replications(spec, 20, engine=engine)
    theory = analysis.mm1(lam, MU)
    agrees(reps, "latency.all.mean", theory.mean_sojourn)
    agrees(reps, "latency.all.p95", theory.sojourn_quantile(0.95), max_width=TAIL_WIDTH)
    agrees(reps, "latency.all.p99", theory.sojourn_quantile(0.99), max_width=TAIL_WIDTH)
    agrees(reps, "components.app.utilization", lam / MU)
    conserved_and_little(reps)


@pytest.mark.parametrize("engine", ENGINES)
def test_mmc_erlang_c_mean_and_tail(engine: str) -> None:
    lam, c = 280.0, 4
    spec = open_spec("mmc", lam, {"app": server(cores=c)}, duration=250, warmup=5)
    reps = replications(spec, 20, engine=engine)
    theory = analysis.mmc(lam, MU, c)
    agrees(reps, "latency.all.mean", theory.mean_sojourn)
    agrees(reps, "latency.all.p95", theory.sojourn_quantile(0.95), max_width=TAIL_WIDTH)
    agrees(reps, "latency.all.p99", theory.sojourn_quantile(0.99), max_width=TAIL_WIDTH)
    agrees(reps, "components.app.mean_wait", theory.mean_wait, max_width=0.05)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", HORIZONS)
def test_mmck_blocking_probability_via_queue_limit(share: float) -> None:
    lam, c, limit = 300.0, 3, 2  # K = 5, offered load 1.0 per server: heavy blocking
    app = server(cores=c, queue_limit=limit)
    spec = open_spec("mmck", lam, {"app": app}, duration=200 * share, warmup=5)
    reps = replications(spec, 20)
    theory = analysis.mmck(lam, MU, c, c + limit)
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "error_rate", theory.blocking_probability, max_width=mean_width)
    agrees(reps, "latency.all.mean", theory.mean_sojourn, max_width=mean_width)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", HORIZONS)
def test_shed_after_is_an_mm1_with_a_bound_on_the_wait(share: float) -> None:
    # 1.5 times the load one worker serves, FIFO, shed when picked after 50 ms: a third
    # of the requests shed, the busy share 0.981, the rest served in 43.5 ms.
    lam = 150.0
    app = server(workers=1, queue={"shed_after": "50ms"})
    spec = open_spec("shed", lam, {"app": app}, duration=200 * share, warmup=5)
    reps = replications(spec, 10)
    theory = analysis.mm1_bounded_wait(lam, MU, 0.05)
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "error_rate", theory.shed_probability, max_width=mean_width)
    agrees(reps, "latency.all.mean", theory.mean_sojourn, max_width=mean_width)
    agrees(reps, "components.app.utilization", theory.utilization, max_width=mean_width)
    agrees(reps, "components.app.p_wait", theory.p_wait, max_width=mean_width)


@pytest.mark.parametrize("share", HORIZONS)
def test_a_fixed_concurrency_limit_is_an_mm1k(share: float) -> None:
    # A limit held at 3 (min = max) sheds a request that finds 3 admitted: M/M/1/3 at
    # rho = 1, a quarter shed, the rest in 20 ms.
    lam, limit = 100.0, 3
    fixed = {"latency_target": "1h", "initial": limit, "min": limit, "max": limit}
    app = server(workers=10, concurrency_limit=fixed)
    spec = open_spec("limited", lam, {"app": app}, duration=200 * share, warmup=5)
    reps = replications(spec, 10)
    theory = analysis.mmck(lam, MU, 1, limit)
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "error_rate", theory.blocking_probability, max_width=mean_width)
    agrees(reps, "latency.all.mean", theory.mean_sojourn, max_width=mean_width)
    agrees(reps, "components.app.utilization", theory.utilization, max_width=mean_width)


@pytest.mark.parametrize("share", HORIZONS)
def test_mg1_pollaczek_khinchine_with_lognormal_service(share: float) -> None:
    lam = 50.0
    service = {"dist": "lognormal", "mean": 0.01, "cv": 1.0}
    app = server(service=service)
    spec = open_spec("mg1", lam, {"app": app}, duration=1300 * share, warmup=10)
    reps = replications(spec, 20)
    variance = (1.0 * 0.01) ** 2
    theory = analysis.mg1(lam, 0.01, variance)
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "components.app.mean_wait", theory.mean_wait, max_width=mean_width)
    agrees(reps, "latency.all.mean", theory.mean_sojourn, max_width=mean_width)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("share", HORIZONS)
def test_tandem_matches_jackson(share: float, engine: str) -> None:
    overrides = {"run.duration": 250 * share}
    scenario = simperf.load(MODELS / "tandem.yaml").with_overrides(overrides)
    reps = replications(scenario, 20, engine=engine)
    theory = analysis.tandem(150.0, [MU, MU, MU], servers=[2, 2, 2])
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "latency.all.mean", theory.network_mean_sojourn, max_width=mean_width)
    conserved_and_little(reps)


@pytest.mark.validate
@pytest.mark.parametrize("engine", ENGINES)
def test_a_chain_of_mm1_stations_has_the_estimates_hypoexponential_p99(engine: str) -> None:
    # Jackson: the sojourns of a request along a chain of M/M/1 stations are independent
    # Exp(mu_i - lambda), so the estimate's p99 (their sum's) is exact: 308 ms here,
    # where one exponential of the 86.7 ms mean put it at 399 ms
    lam, means = 50.0, [0.010, 0.005, 0.015]
    components = {}
    for i, mean in enumerate(means):
        app = server(service={"dist": "exponential", "mean": mean}, workers=1000)
        if i + 1 < len(means):
            app["endpoints"]["serve"].append({"call": f"t{i + 1}.serve"})
        components[f"t{i}"] = app
    spec = open_spec("chain", lam, components, entry="t0", duration=2000, warmup=10)
    scenario = simperf.from_dict(spec)
    p99 = float(simperf.estimate(scenario).classes.set_index("class").loc["all", "p99"])
    reps = replications(scenario, 20, engine=engine)
    agrees(reps, "latency.all.p99", p99, max_width=TAIL_WIDTH)
    agrees(reps, "latency.all.mean", sum(1 / (1 / m - lam) for m in means))


def test_closed_model_matches_exact_mva() -> None:
    scenario = simperf.load(MODELS / "closed.yaml").with_overrides({"run.duration": 2000})
    reps = replications(scenario, 20)
    theory = analysis.mva(20, 1.0, [0.04])
    agrees(reps, "throughput", theory.throughput)
    agrees(reps, "latency.all.mean", theory.response_time)


def _balanced(policy: str, n: int, lam: float, share: float) -> dict:
    components = {
        "lb": {"kind": "load_balancer", "policy": policy, "backends": "app"},
        "app": server(replicas=n),
    }
    duration = 300 * share
    return open_spec(f"lb_{policy}", lam, components, entry="lb", duration=duration, warmup=5)


@pytest.mark.parametrize("share", HORIZONS)
def test_random_split_gives_independent_mm1_queues(share: float) -> None:
    n, lam = 3, 210.0
    reps = replications(_balanced("random", n, lam, share), 20)
    theory = analysis.mm1(lam / n, MU)
    agrees(reps, "latency.all.mean", theory.mean_sojourn, max_width=width(MEAN_WIDTH, share))
    p99 = theory.sojourn_quantile(0.99)
    agrees(reps, "latency.all.p99", p99, max_width=width(TAIL_WIDTH, share))


@pytest.mark.parametrize("share", HORIZONS)
def test_round_robin_gives_erlang_arrivals_per_server(share: float) -> None:
    n, lam = 3, 210.0
    reps = replications(_balanced("round_robin", n, lam, share), 20)
    theory = analysis.erlang_m1(lam / n, MU, n)
    agrees(reps, "latency.all.mean", theory.mean_sojourn, max_width=width(MEAN_WIDTH, share))
    p99 = theory.sojourn_quantile(0.99)
    agrees(reps, "latency.all.p99", p99, max_width=width(TAIL_WIDTH, share))
    # and round robin is measurably better than random at the same load
    assert theory.mean_sojourn < analysis.mm1(lam / n, MU).mean_sojourn * 0.8


@pytest.mark.validate
def test_mm1_heavy_load() -> None:
    # load 0.9: relaxation time 1/(mu (1 - sqrt(rho))^2) = 3.8 s; 30 runs of 4,000 s
    # give intervals of about 2% on the mean and 4.3% on p99 (20 x 4,500 s gave 5.3%)
    lam = 90.0
    spec = open_spec("mm1_heavy", lam, {"app": server()}, duration=4000, warmup=100)
    reps = replications(spec, 30)
    theory = analysis.mm1(lam, MU)
    agrees(reps, "latency.all.mean", theory.mean_sojourn)
    agrees(reps, "latency.all.p99", theory.sojourn_quantile(0.99), max_width=TAIL_WIDTH)
    conserved_and_little(reps)


@pytest.mark.validate
def test_mmc_heavy_load() -> None:
    lam, c = 0.9 * 8 * MU, 8
    spec = open_spec("mmc_heavy", lam, {"app": server(cores=c)}, duration=800, warmup=20)
    reps = replications(spec, 20)
    theory = analysis.mmc(lam, MU, c)
    agrees(reps, "latency.all.mean", theory.mean_sojourn)
    agrees(reps, "latency.all.p99", theory.sojourn_quantile(0.99), max_width=TAIL_WIDTH)


@pytest.mark.parametrize(
    "delay",
    [{"dist": "exponential", "mean": 0.01}, {"dist": "constant", "value": 0.01}],
    ids=["M/M/c/c", "M/G/c/c"],
)
def test_workers_held_by_a_delay_are_an_erlang_loss_system(delay: dict[str, Any]) -> None:
    # Workers held only by a delay, none queued: a loss system, whose blocking (Erlang B)
    # depends on the delay's mean alone; the carried load spreads over the c workers.
    lam, c = 300.0, 4  # offered load 3 Erlangs
    app = {
        "kind": "app_server",
        "cores": 1,
        "workers": c,
        "queue_limit": 0,
        "endpoints": {"serve": [{"delay": delay}]},
    }
    reps = replications(open_spec("loss", lam, {"app": app}, duration=100, warmup=5), 10)
    offered = lam * 0.01
    blocking = analysis.erlang_b(c, offered)
    agrees(reps, "error_rate", blocking)
    agrees(reps, "components.app.worker_occupancy", offered * (1 - blocking) / c)
    assert all(run["components"]["app"]["utilization"] == 0.0 for run in reps.runs)
    conserved_and_little(reps)

"""How fast is simperf's hot path against the floor: a minimal hand-written SimPy model?

Runs the same queues (``models/mm1.yaml``, ``models/tandem.yaml``) in simperf and in an
idiomatic hand-written SimPy model (a process per request, ``simpy.Resource``, variates
pre-drawn with numpy), in the same process, and prints simulated requests per wall
second and the ratio simperf / hand-written. With Ciw installed, Ciw runs the M/M/1 too.

Usage: ``python experiments/engine_speed.py [--requests N] [--repeats R] [--json]``
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

import numpy as np
import simpy

import simperf

MODELS = Path(__file__).resolve().parent.parent / "models"


def hand_written(rate: float, stages: list[tuple[int, float]], requests: int, seed: int) -> float:
    """A minimal SimPy model of Poisson arrivals through FIFO multi-server stages.

    Returns the wall time of the simulation (variates are drawn before timing).
    """
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate, requests).tolist()
    services = [rng.exponential(mean, requests).tolist() for _, mean in stages]
    env = simpy.Environment()
    servers = [simpy.Resource(env, capacity=c) for c, _ in stages]
    latencies: list[float] = []

    def customer(i: int):
        start = env.now
        for server, draws in zip(servers, services, strict=True):
            with server.request() as req:
                yield req
                yield env.timeout(draws[i])
        latencies.append(env.now - start)

    def source():
        for i, gap in enumerate(gaps):
            yield env.timeout(gap)
            env.process(customer(i))

    env.process(source())
    gc.disable()
    started = time.perf_counter()
    env.run()
    elapsed = time.perf_counter() - started
    gc.enable()
    assert len(latencies) == requests
    return elapsed


def ciw_mm1(rate: float, mean: float, requests: int, seed: int) -> float | None:
    """Ciw on the same M/M/1, run for the simulated time of ``requests`` arrivals."""
    try:
        import ciw
    except ImportError:
        return None
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=rate)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / mean)],
        number_of_servers=[1],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    started = time.perf_counter()
    sim.simulate_until_max_time(requests / rate)
    return time.perf_counter() - started


def simperf_time(name: str, requests: int, seed: int) -> float:
    scenario = simperf.load(MODELS / f"{name}.yaml").with_overrides(
        {"run.duration": None, "run.warmup": 0, "run.requests": requests}
    )
    return simperf.run(scenario, seed=seed).perf["wall_time"]


def measure(requests: int, repeats: int) -> list[dict[str, object]]:
    cases = {
        "mm1": (90.0, [(1, 0.010)]),
        "tandem": (150.0, [(2, 0.010)] * 3),
    }
    rows = []
    for name, (rate, stages) in cases.items():
        ours, floor = [], []
        for r in range(repeats):  # interleaved so that machine noise hits both alike
            floor.append(hand_written(rate, stages, requests, seed=r))
            ours.append(simperf_time(name, requests, seed=r))
        row = {
            "model": name,
            "requests": requests,
            "hand_written_req_per_s": requests / min(floor),
            "simperf_req_per_s": requests / min(ours),
            "ratio": min(floor) / min(ours),
        }
        if name == "mm1":
            ciw_wall = ciw_mm1(rate, 0.010, requests, seed=1)
            row["ciw_req_per_s"] = requests / ciw_wall if ciw_wall else None
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    rows = measure(args.requests, args.repeats)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'model':<8}{'hand-written req/s':>20}{'simperf req/s':>16}{'ratio':>8}{'Ciw req/s':>12}"
    )
    for row in rows:
        ciw_rate = row.get("ciw_req_per_s")
        print(
            f"{row['model']:<8}{row['hand_written_req_per_s']:>20,.0f}"
            f"{row['simperf_req_per_s']:>16,.0f}{row['ratio']:>8.2f}"
            + (f"{ciw_rate:>12,.0f}" if ciw_rate else f"{'-':>12}")
        )


if __name__ == "__main__":
    main()

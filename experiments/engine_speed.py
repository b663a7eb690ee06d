"""How fast is simperf's hot path against the floor: a minimal hand-written SimPy model?

Runs the same queues (``models/mm1.yaml``, ``models/tandem.yaml``) in simperf and in an
idiomatic hand-written SimPy model (a process per request, ``simpy.Resource``, variates
pre-drawn with numpy), in the same process, and prints simulated requests per wall
second and the ratio simperf / hand-written. With Ciw installed, Ciw runs the M/M/1 too.

With ``--models``, a second table gives the rate of richer models (databases with replicas,
shards, a cache) as a fraction of ``models/mm1.yaml``'s, measured in the same run with the
same request budget: what a request of each costs against the plainest queue, in wall
microseconds and in events (calendar entries) per request.

Usage: ``python experiments/engine_speed.py [--requests N] [--repeats R] [--json]
[--models [NAME ...]]``
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


def simperf_run(name: str, requests: int, seed: int) -> tuple[float, int]:
    """Wall time and calendar entries (events) of ``requests`` requests of ``name``."""
    scenario = simperf.load(MODELS / f"{name}.yaml").with_overrides(
        {"run.duration": None, "run.warmup": 0, "run.requests": requests, "run.engine": "events"}
    )
    perf = simperf.run(scenario, seed=seed).perf
    return perf["wall_time"], perf["events"]


def simperf_time(name: str, requests: int, seed: int) -> float:
    return simperf_run(name, requests, seed)[0]


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


RICHER = ("read_replicas", "sharded_store", "cache_aside")
"""The second table's default models: a database's replicas, its shards, a cache."""


def relative(models: list[str], requests: int, repeats: int) -> list[dict[str, object]]:
    """Simulated requests per wall second of ``models``, and as a fraction of M/M/1's.

    Each model runs ``requests`` requests without warm-up, interleaved with ``mm1`` in
    every repeat (so that machine noise hits all alike); the best of the repeats counts.
    """
    names = ["mm1", *(m for m in models if m != "mm1")]
    walls: dict[str, list[float]] = {name: [] for name in names}
    events: dict[str, int] = {}
    for r in range(repeats):
        for name in names:
            wall, events[name] = simperf_run(name, requests, seed=r)
            walls[name].append(wall)
    floor = requests / min(walls["mm1"])
    return [
        {
            "model": name,
            "requests": requests,
            "simperf_req_per_s": requests / min(walls[name]),
            "fraction_of_mm1": requests / min(walls[name]) / floor,
            "us_per_request": min(walls[name]) / requests * 1e6,
            "events_per_request": events[name] / requests,
        }
        for name in names
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--models",
        nargs="*",
        default=None,
        metavar="NAME",
        help=f"also time these models against mm1 (none named: {', '.join(RICHER)})",
    )
    args = parser.parse_args()
    rows = measure(args.requests, args.repeats)
    models = None
    if args.models is not None:
        models = relative(args.models or list(RICHER), args.requests, args.repeats)
    if args.json:
        print(json.dumps(rows if models is None else {"engine": rows, "models": models}, indent=2))
        return
    print(
        f"{'model':<8}{'hand-written requests/s':>25}{'simperf requests/s':>20}{'ratio':>8}"
        f"{'Ciw requests/s':>16}"
    )
    for row in rows:
        ciw_rate = row.get("ciw_req_per_s")
        print(
            f"{row['model']:<8}{row['hand_written_req_per_s']:>25,.0f}"
            f"{row['simperf_req_per_s']:>20,.0f}{row['ratio']:>8.2f}"
            + (f"{ciw_rate:>16,.0f}" if ciw_rate else f"{'-':>16}")
        )
    if models is not None:
        print(
            f"\n{'model':<16}{'simperf requests/s':>20}{'x mm1':>8}{'us/req':>9}{'events/req':>12}"
        )
        for row in models:
            print(
                f"{row['model']:<16}{row['simperf_req_per_s']:>20,.0f}{row['fraction_of_mm1']:>8.2f}"
                f"{row['us_per_request']:>9.2f}{row['events_per_request']:>12.2f}"
            )


if __name__ == "__main__":
    main()

"""What does simulating a cache cost per request, against a call with the same hops?

Runs ``models/lru_zipf.yaml`` and, interleaved in the same process, the same topology
with the cache replaced by a single-core app server ``kv`` taking the cache's 10 us per
command: requests that hit the cache become one call to ``kv``, requests that miss
become a call, the 5 ms wait and a second call (the get and the set), in the same
proportions (two request classes weighted by the cache's measured hit rate). Both make
the same SimPy events; the difference is the price of real keys (drawing them, looking
them up, evicting, versions). Three cases: the model as is (hit rate ~0.2), every
request a hit (1,000 keys in a 1,000-item cache) and nearly every request a miss (a
1-item cache).

Prints the CPU time and the wall time of the run loop per simulated request (best of
``--repeats`` each; CPU time is less disturbed by other processes on a shared machine)
and the ratios cache / call.

Usage: ``python experiments/cache_overhead.py [--requests N] [--repeats R] [--json]``
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from typing import Any

from cache_common import MODELS

import simperf
from simperf.build import build
from simperf.experiment.run import summarise

CASES: dict[str, dict[str, Any]] = {
    "lru_zipf": {},
    "all_hits": {"keyspaces.items.keys": 1000},
    "all_misses": {"components.cache.capacity": 1},
}


def cache_scenario(requests: int, overrides: dict[str, Any]) -> simperf.Scenario:
    return simperf.load(MODELS / "lru_zipf.yaml").with_overrides(
        {"run.duration": None, "run.warmup": 0, "run.requests": requests, **overrides}
    )


def call_scenario(cache: simperf.Scenario, hit_rate: float) -> simperf.Scenario:
    """The same hops without a cache: hit -> one call, miss -> call, delay, call."""
    data = cache.model_dump(mode="json", by_alias=True)
    latency = data["components"]["cache"]["latency"]
    del data["components"]["cache"]
    data["keyspaces"] = {}
    classes = [("hit", max(hit_rate, 1e-9), ["kv.get"]), ("miss", max(1 - hit_rate, 1e-9), None)]
    data["workload"]["classes"] = [
        {"name": name, "weight": weight, "entry": "app", "endpoint": name}
        for name, weight, _ in classes
    ]
    data["components"]["app"]["endpoints"] = {
        "hit": [{"call": "kv.get"}],
        "miss": [{"call": "kv.get"}, {"delay": 0.005}, {"call": "kv.get"}],
    }
    data["components"]["kv"] = {
        "kind": "app_server",
        "cores": 1,
        "endpoints": {"get": [{"cpu": latency}]},
    }
    return simperf.from_dict(data)


def per_request(scenario: simperf.Scenario, seed: int) -> tuple[float, float, dict[str, Any]]:
    """CPU and wall seconds of the run loop per generated request, and the run's result."""
    model = build(scenario, seed=seed)
    gc.collect()
    started = time.process_time()
    model.execute()
    cpu = time.process_time() - started
    data = summarise(model).to_dict()
    n = data["requests"]["generated"]
    return cpu / n, model.wall_time / n, data


def measure(requests: int, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for name, overrides in CASES.items():
        cache = cache_scenario(requests, overrides)
        first = per_request(cache, 0)[2]
        hit_rate = first["caches"]["cache"]["hit_rate"]
        call = call_scenario(cache, hit_rate)
        ours, theirs = [], []
        for r in range(repeats):  # interleaved, so that machine noise hits both alike
            ours.append(per_request(cache, r)[:2])
            theirs.append(per_request(call, r)[:2])
        cpu = min(c for c, _ in ours), min(c for c, _ in theirs)
        wall = min(w for _, w in ours), min(w for _, w in theirs)
        rows.append(
            {
                "case": name,
                "requests": requests,
                "hit_rate": hit_rate,
                "cache_cpu_us_per_request": cpu[0] * 1e6,
                "call_cpu_us_per_request": cpu[1] * 1e6,
                "ratio": cpu[0] / cpu[1],
                "cache_wall_us_per_request": wall[0] * 1e6,
                "call_wall_us_per_request": wall[1] * 1e6,
                "wall_ratio": wall[0] / wall[1],
            }
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=200_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args()
    rows = measure(args.requests, args.repeats)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'case':<12}{'hit rate':>9}{'CPU us/req: cache':>19}{'call':>7}{'ratio':>7}"
        f"{'wall us/req: cache':>20}{'call':>7}{'ratio':>7}"
    )
    for row in rows:
        print(
            f"{row['case']:<12}{row['hit_rate']:>9.3f}{row['cache_cpu_us_per_request']:>19.1f}"
            f"{row['call_cpu_us_per_request']:>7.1f}{row['ratio']:>7.2f}"
            f"{row['cache_wall_us_per_request']:>20.1f}{row['call_wall_us_per_request']:>7.1f}"
            f"{row['wall_ratio']:>7.2f}"
        )


if __name__ == "__main__":
    main()

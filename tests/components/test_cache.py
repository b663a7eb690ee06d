"""The cache component in whole runs, with constant times: exact counts and exact times.

Keys come from trace key spaces (a CSV written by the test), so every request's key is
known in advance; arrivals are deterministic, so every command's time is known too.
Statistical agreement with the analytic cache models is in
``tests/validation/test_cache_theory.py``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simperf
from simperf.build import build
from simperf.components.cache import Cache
from simperf.errors import SpecError
from simperf.experiment.run import summarise

from conftest import MODELS

RATE = 100.0  # deterministic arrivals every 10 ms: each request finishes before the next
LATENCY = 1e-5  # cache command
BACKING = 1e-3  # backing read


def trace(tmp_path: Path, keys: Sequence[Any], name: str = "keys.csv") -> str:
    path = tmp_path / name
    path.write_text("key\n" + "\n".join(str(k) for k in keys) + "\n")
    return str(path)


def scenario(
    keyspace: dict[str, Any],
    cache: dict[str, Any],
    *,
    endpoints: dict[str, list[Any]] | None = None,
    classes: list[dict[str, Any]] | None = None,
    rate: float = RATE,
    requests: int | None = None,
    duration: float | None = None,
    extra_components: dict[str, Any] | None = None,
    faults: list[dict[str, Any]] | None = None,
    warmup: float = 0.0,
) -> simperf.Scenario:
    """One app server reading (and writing) keys through ``cache``."""
    run: dict[str, Any] = {"warmup": warmup}
    run.update({"requests": requests} if requests is not None else {"duration": duration})
    return simperf.from_dict(
        {
            "name": "cache_test",
            "keyspaces": {"items": keyspace},
            "workload": {
                "arrival": {"kind": "deterministic", "rate": rate},
                "classes": classes
                or [{"name": "read", "entry": "app", "endpoint": "get", "keyspace": "items"}],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "workers": 10_000,
                    "endpoints": endpoints
                    or {"get": [{"read": {"cache": "cache", "backing": {"delay": BACKING}}}]},
                },
                "cache": {"kind": "cache", "keyspace": "items", "latency": LATENCY, **cache},
                **(extra_components or {}),
            },
            "faults": faults or [],
            "run": run,
        }
    )


def run(s: simperf.Scenario) -> dict[str, Any]:
    result = simperf.run(s, seed=1).to_dict()
    req = result["requests"]
    assert req["generated"] == req["ok"] + sum(req["errors"].values()) + req["in_flight"]
    return result


# -- plain references -------------------------------------------------------------------


def reference_hits(
    keys: Sequence[int], capacity: int, policy: str, ttl: float | None = None
) -> int:
    """Cache-aside over a key sequence at RATE, one request at a time.

    The get of request k completes at ``k / RATE + LATENCY``; a miss's set completes
    ``BACKING + LATENCY`` later, and with a ttl the entry is gone from then + ttl on.
    """
    cache: OrderedDict[int, float] = OrderedDict()  # key -> expiry; order: eviction order
    counts: dict[int, int] = {}  # LFU: requests per key, cached or not
    touched: dict[int, int] = {}  # LFU: when each cached key was last hit or stored
    hits = 0
    for k, key in enumerate(keys, start=1):
        now = k / RATE + LATENCY
        counts[key] = counts.get(key, 0) + 1
        if key in cache and now >= cache[key]:
            del cache[key]
        if key in cache:
            hits += 1
            touched[key] = k
            if policy == "lru":
                cache.move_to_end(key)
            continue
        expires = math.inf if ttl is None else now + BACKING + LATENCY + ttl
        if len(cache) >= capacity:
            if policy == "lfu":
                # least requested; between equals, the least recently hit or stored
                victim = min(cache, key=lambda c: (counts[c], touched[c]))
                if counts[key] < counts[victim]:
                    continue  # not admitted
            else:
                victim = next(iter(cache))
            del cache[victim]
        cache[key] = expires
        touched[key] = k
    return hits


def zipf_sequence(n: int, keys: int, alpha: float, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, keys + 1) ** alpha
    return rng.choice(keys, size=n, p=weights / weights.sum()).tolist()


# -- hits and misses ----------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["lru", "fifo"])
@pytest.mark.parametrize("ttl", [None, 0.2537])
def test_fixed_key_sequence_gives_the_reference_hit_count(
    tmp_path: Path, policy: str, ttl: float | None
) -> None:
    keys = zipf_sequence(3000, 400, 0.9, seed=3)
    s = scenario(
        {"keys": 400, "popularity": {"model": "trace", "path": trace(tmp_path, keys)}},
        {"capacity": 50, "eviction": policy, "ttl": ttl},
        requests=len(keys),
    )
    cache = run(s)["caches"]["cache"]
    expected = reference_hits(keys, 50, policy, ttl)
    assert cache["hits"] == expected
    assert cache["misses"] == len(keys) - expected
    assert cache["store_reads"] == cache["misses"]
    assert cache["reads"] == len(keys)
    if ttl is None:
        assert cache["expirations"] == 0
        assert cache["evictions"] == cache["misses"] - 50
    else:
        assert cache["expirations"] > 0


def test_lfu_fixed_key_sequence_gives_the_reference_hit_count(tmp_path: Path) -> None:
    # Keys 0..59, key i requested 60 - i times per round, shuffled: many ties early on.
    rounds = [key for key in range(60) for _ in range(60 - key)]
    keys = [k for _ in range(2) for k in np.random.default_rng(5).permutation(rounds).tolist()]
    s = scenario(
        {"keys": 60, "popularity": {"model": "trace", "path": trace(tmp_path, keys)}},
        {"capacity": 20, "eviction": "lfu"},
        requests=len(keys),
    )
    cache = run(s)["caches"]["cache"]
    # The trace numbers keys by first appearance; the reference uses the same sequence.
    assert cache["hits"] == reference_hits(keys, 20, "lfu")


def test_read_latencies_are_exact(tmp_path: Path) -> None:
    keys = [1, 1, 2, 1]  # miss, hit, miss, hit
    for mode, miss in (("cache_aside", 2 * 0.001 + 0.005), ("read_through", 0.001 + 0.005)):
        s = scenario(
            {"keys": 2, "popularity": {"model": "trace", "path": trace(tmp_path, keys)}},
            {"capacity": 10, "latency": 0, "network": "1ms"},
            endpoints={"get": [{"read": {"cache": "cache", "backing": "db.get", "mode": mode}}]},
            extra_components={"db": {"kind": "app_server", "endpoints": {"get": [{"cpu": "5ms"}]}}},
            requests=4,
        )
        result = simperf.run(s, seed=1)
        latency = result._arrays["latency"]
        assert latency.tolist() == pytest.approx([miss, 0.001, miss, 0.001], abs=1e-12)
        d = result.to_dict()
        assert d["components"]["db"]["served"] == 2
        assert d["components"]["cache"]["served"] == (6 if mode == "cache_aside" else 4)


def test_a_hot_single_threaded_node_queues(tmp_path: Path) -> None:
    # 1,000 req/s with 0.9 ms per command: utilisation 0.9 on one core (0.45 on two).
    # One command per request, but the first two miss (the second arrives during the
    # first one's backing read) and also set the key.
    keys = [0] * 5000
    for cores in (1, 2):
        s = scenario(
            {"keys": 1, "popularity": {"model": "trace", "path": trace(tmp_path, keys)}},
            {"capacity": 10, "latency": "0.9ms", "cores": cores},
            rate=1000,
            requests=5000,
        )
        d = run(s)
        node = d["components"]["cache"]
        assert node["served"] == 5002
        busy = 5002 * 0.0009
        assert node["utilization"] == pytest.approx(busy / (cores * d["end_time"]), rel=1e-9)
    # Commands every 1 ms taking 2 ms each: a single core falls behind and they queue.
    s = scenario(
        {"keys": 1, "popularity": {"model": "trace", "path": trace(tmp_path, keys)}},
        {"capacity": 10, "latency": "2ms"},
        rate=1000,
        requests=10,
    )
    d = run(s)
    assert d["components"]["cache"]["mean_wait"] > 0


# -- stampedes ------------------------------------------------------------------------------


@pytest.mark.parametrize("coalesce", [False, True])
def test_concurrent_misses_on_one_key(tmp_path: Path, coalesce: bool) -> None:
    n = 10  # arrivals 0.1 ms apart, all within the 5 ms backing read of the first
    s = scenario(
        {"keys": 1, "popularity": "uniform"},
        {"capacity": 10, "coalesce": coalesce},
        endpoints={"get": [{"read": {"cache": "cache", "backing": "db.get"}}]},
        extra_components={
            "db": {"kind": "app_server", "workers": 100, "endpoints": {"get": [{"delay": "5ms"}]}}
        },
        rate=10_000,
        requests=n,
    )
    d = run(s)
    cache = d["caches"]["cache"]
    assert cache["misses"] == n
    if coalesce:
        assert d["components"]["db"]["served"] == 1
        assert cache["store_reads"] == 1 and cache["coalesced_reads"] == n - 1
        assert cache["store_read_reduction"] == pytest.approx(1 - 1 / n)
    else:
        assert d["components"]["db"]["served"] == n
        assert cache["store_reads"] == n and cache["coalesced_reads"] == 0


def test_a_failed_backing_read_fails_its_waiters(tmp_path: Path) -> None:
    # The store's reads pass 1 ms of network, then need its only worker, without a queue.
    # Key a's read occupies it; key b's leader is rejected 1 ms after its miss, while the
    # two later requests for b wait on its flight: they fail with it.
    s = scenario(
        {
            "keys": 2,
            "popularity": {"model": "trace", "path": trace(tmp_path, ["a", "b", "b", "b"])},
        },
        {"capacity": 10, "coalesce": True},
        endpoints={"get": [{"read": {"cache": "cache", "backing": "net.get"}}]},
        extra_components={
            "net": {
                "kind": "app_server",
                "workers": 100,
                "endpoints": {"get": [{"delay": "1ms"}, {"call": "db.get"}]},
            },
            "db": {"kind": "app_server", "queue_limit": 0, "endpoints": {"get": [{"cpu": "5ms"}]}},
        },
        rate=10_000,
        requests=4,
    )
    d = run(s)
    assert d["requests"]["ok"] == 1
    assert d["requests"]["errors"]["rejected"] == 3
    assert d["caches"]["cache"]["coalesced_reads"] == 2


# -- writes ---------------------------------------------------------------------------------


def _writes(tmp_path: Path, keys: Sequence[Any], policy: str, **extra: Any) -> simperf.Scenario:
    """Writes at 10/s (t = 0.1, 0.2, ... s) for 4 s, 3 ms per store write."""
    return scenario(
        {"keys": len(set(keys)), "popularity": {"model": "trace", "path": trace(tmp_path, keys)}},
        {"capacity": 100, "write_policy": policy, "flush_interval": "1s"},
        classes=[{"name": "write", "entry": "app", "endpoint": "put", "keyspace": "items"}],
        endpoints={"put": [{"write": {"cache": "cache", "backing": "db.put"}}]},
        extra_components={
            "db": {"kind": "app_server", "workers": 100, "endpoints": {"put": [{"delay": "3ms"}]}}
        },
        rate=10,
        duration=4,
        **extra,
    )


@pytest.mark.parametrize(
    ("policy", "latency", "store_writes"),
    [
        ("write_through", 0.003 + LATENCY, 39),
        ("write_around", 0.003 + LATENCY, 39),
        ("write_back", LATENCY, 29),  # flushed at 1, 2 and 3 s; the 10 after 3 s stay dirty
    ],
)
def test_write_latency_and_store_writes_per_policy(
    tmp_path: Path, policy: str, latency: float, store_writes: int
) -> None:
    keys = list(range(40))  # every write a new key: nothing to coalesce
    d = run(_writes(tmp_path, keys, policy))
    assert d["latency"]["write"]["count"] == 39
    assert d["latency"]["write"]["max"] == pytest.approx(latency, abs=1e-12)
    assert d["latency"]["write"]["p50"] == pytest.approx(latency, abs=1e-12)
    cache = d["caches"]["cache"]
    assert cache["writes"] == 39 and cache["store_writes"] == store_writes
    assert d["components"]["db"]["served"] == store_writes
    assert cache["items"] == {"write_through": 39, "write_around": 0, "write_back": 39}[policy]
    assert cache["dirty_keys"] == (10 if policy == "write_back" else 0)


def test_write_back_failure_loses_exactly_the_unflushed_writes(tmp_path: Path) -> None:
    # Write k (k = 1 .. 39) of key keys[k - 1] completes at k/10 s + 10 us. The flusher
    # takes the dirty keys at 1, 2 and 3 s; the node fails at 2.55 s and recovers at
    # 3.05 s (missing the tick of 3 s); the run ends at 4 s, before the next tick.
    keys = ["k0", "k1", "k2", "k0", "k3", "k1", "k4", "k5", "k0", "k6"] * 4

    def distinct(ks: range) -> int:
        return len({keys[k - 1] for k in ks})

    windows = {"tick1": range(1, 10), "tick2": range(10, 20), "lost": range(20, 26)}
    down, after = range(26, 31), range(31, 40)
    faults = [{"component": "cache", "at": 2.55, "for": 0.5}]
    d = run(_writes(tmp_path, keys, "write_back", faults=faults))
    cache = d["caches"]["cache"]
    assert cache["writes"] == 39
    assert cache["lost_writes"] == distinct(windows["lost"]) == 5
    assert cache["fallthrough_writes"] == len(down)
    flushed = distinct(windows["tick1"]) + distinct(windows["tick2"])
    assert cache["store_writes"] == flushed + len(down)
    assert d["components"]["db"]["served"] == flushed + len(down)
    coalesced = sum(len(w) - distinct(w) for w in (*windows.values(), after))
    assert cache["coalesced_writes"] == cache["store_writes_avoided"] == coalesced
    assert cache["dirty_keys"] == distinct(after)
    # The same writes through a write-through cache lose nothing.
    through = run(_writes(tmp_path, keys, "write_through", faults=faults))["caches"]["cache"]
    assert through["lost_writes"] == 0 and through["dirty_keys"] == 0
    assert through["store_writes"] == 39


def test_a_failed_node_loses_its_contents_and_reads_fall_through(tmp_path: Path) -> None:
    keys = [0] * 30  # reads at 0.1 ... 3.0 s; the node is down over (1.05, 1.55)
    for on_down in ("fall_through", "fail"):
        d = run(
            scenario(
                {"keys": 1, "popularity": {"model": "trace", "path": trace(tmp_path, keys)}},
                {"capacity": 10, "on_down": on_down},
                rate=10,
                requests=30,
                faults=[{"component": "cache", "at": 1.05, "for": 0.5}],
            )
        )
        cache = d["caches"]["cache"]
        assert cache["misses"] == 2  # the first read, and the first after recovery
        assert cache["hits"] == 30 - 5 - 2
        if on_down == "fall_through":
            assert cache["fallthrough_reads"] == 5 and cache["store_reads"] == 2 + 5
            assert d["requests"]["ok"] == 30
        else:
            assert cache["down_errors"] == 5 and d["requests"]["errors"]["cache_down"] == 5
            assert d["requests"]["ok"] == 25


# -- staleness ------------------------------------------------------------------------------


def _race(tmp_path: Path, policy: str, warmup: float = 0.0) -> dict[str, Any]:
    """Each request reads key 0 and, 1 ms later, writes it (in parallel): the read misses
    at first and reads the store (version 0) for 5 ms while the write commits."""
    return run(
        scenario(
            {"keys": 1, "popularity": "uniform"},
            {"capacity": 10, "write_policy": policy},
            endpoints={
                "both": [{"parallel": ["app.get", "app.put"]}],
                "get": [{"read": {"cache": "cache", "backing": {"delay": "5ms"}}}],
                "put": [
                    {"delay": "1ms"},
                    {"write": {"cache": "cache", "backing": {"delay": "2ms"}}},
                ],
            },
            classes=[{"name": "rw", "entry": "app", "endpoint": "both", "keyspace": "items"}],
            rate=10,
            requests=5,
            warmup=warmup,
        )
    )


def test_cache_aside_with_invalidation_serves_stale_data_after_a_race(tmp_path: Path) -> None:
    # write_around: request 1's write commits version 1 and deletes the key at 3 ms,
    # before its read sets version 0 at 5 ms; request 2 hits that stale copy, and its
    # write deletes it. Request 3 misses again, and so on: miss, stale hit, miss ...
    around = _race(tmp_path, "write_around")["caches"]["cache"]
    assert around["misses"] == 3 and around["hits"] == 2
    assert around["stale_reads"] == 2
    # write_through: the write sets version 1 at 3 ms; the slow reader finds a newer copy
    # and does not replace it. Later reads hit the latest version (their own writes land
    # after them), so nothing is stale.
    through = _race(tmp_path, "write_through")
    assert through["caches"]["cache"]["misses"] == 1
    assert through["caches"]["cache"]["stale_reads"] == 0
    assert through["requests"]["stale"] == 0


def test_stale_ok_requests_are_counted(tmp_path: Path) -> None:
    d = _race(tmp_path, "write_around")
    assert d["requests"]["stale"] == 2 and d["requests"]["ok"] == 5


def test_stale_requests_are_counted_after_the_warm_up_like_stale_reads(tmp_path: Path) -> None:
    # Requests arrive at 0.1, 0.2, ... 0.5 s; those at 0.2 and 0.4 s hit a stale copy.
    # A warm-up of 0.25 s leaves one of them in the measured period, for the request
    # count as for the cache's (the whole run's 2 were counted before).
    d = _race(tmp_path, "write_around", warmup=0.25)
    assert d["caches"]["cache"]["stale_reads"] == 1
    assert d["requests"]["stale"] == 1


# -- nodes, sizes, ttl ------------------------------------------------------------------------


def test_keys_are_spread_over_nodes(tmp_path: Path) -> None:
    s = scenario(
        {"keys": 10_000, "popularity": "uniform"},
        {"capacity": 1000, "nodes": 4},
        rate=1000,
        requests=20_000,
    )
    model = build(s, seed=1)
    cache = model.components["cache"]
    assert isinstance(cache, Cache)
    counts = np.bincount([cache.node_of(k).index for k in range(10_000)], minlength=4)
    assert counts.min() > 2300 and counts.max() < 2700
    d = summarise(model.execute()).to_dict()
    nodes = d["caches"]["cache"]["nodes"]
    assert set(nodes) == {f"cache[{i}]" for i in range(4)}
    for key in ("hits", "misses", "evictions", "items"):
        assert sum(n[key] for n in nodes.values()) == d["caches"]["cache"][key]
    assert all(n["items"] == 1000 for n in nodes.values())
    assert d["components"]["cache"]["instances"] == 4


def test_byte_capacity_with_object_sizes(tmp_path: Path) -> None:
    s = scenario(
        {"keys": 5000, "popularity": {"zipf": 0.9}},
        {
            "capacity": None,
            "capacity_bytes": "100KB",
            "object_size": {"dist": "lognormal", "median": "1KB", "p99": "20KB"},
        },
        rate=1000,
        requests=20_000,
    )
    model = build(s, seed=1).execute()
    cache = model.components["cache"]
    d = summarise(model).to_dict()["caches"]["cache"]
    assert 0 < d["used_bytes"] <= 100_000
    assert d["evictions"] > 0 and d["items"] < 100
    sizes = cache.sizes  # type: ignore[attr-defined]
    assert d["used_bytes"] == pytest.approx(sum(sizes[k] for k in cache.nodes[0].store))
    again = build(s, seed=1).execute().components["cache"]
    assert again.sizes == sizes  # type: ignore[attr-defined]


@pytest.mark.parametrize("refresh", [False, True])
def test_ttl_refresh_on_hit(tmp_path: Path, refresh: bool) -> None:
    # One key read every 100 ms with a 250 ms ttl: set at 0.1 s, it expires at 0.35 s
    # unless each hit restarts it (then it never expires).
    keys = [0] * 20
    d = run(
        scenario(
            {"keys": 1, "popularity": {"model": "trace", "path": trace(tmp_path, keys)}},
            {"capacity": 10, "ttl": "250ms", "ttl_refresh": refresh},
            rate=10,
            requests=20,
        )
    )
    cache = d["caches"]["cache"]
    if refresh:
        assert (cache["misses"], cache["expirations"]) == (1, 0)
    else:
        # misses at 0.1, 0.4, 0.7, ...: one every three requests
        assert cache["misses"] == 7 and cache["expirations"] == 6


def test_result_sections_and_json(tmp_path: Path) -> None:
    s = simperf.load(MODELS / "lru_zipf.yaml")
    d = simperf.run(s.with_overrides({"run.duration": 10, "run.warmup": 2}), seed=2).to_dict()
    cache = d["caches"]["cache"]
    for key in (
        "hit_rate",
        "hits",
        "misses",
        "evictions",
        "expirations",
        "stale_reads",
        "lost_writes",
        "dirty_keys",
        "store_reads_avoided",
        "store_writes_avoided",
    ):
        assert key in cache
    assert cache["hit_rate"] == cache["hits"] / (cache["hits"] + cache["misses"])
    assert d["components"]["cache"]["kind"] == "cache"
    assert d["latency"]["read"]["count"] > 0
    summary = simperf.run(s.with_overrides({"run.duration": 3, "run.warmup": 1})).summary()
    assert "hit rate" in summary and "lost writes" in summary


def test_lru_zipf_overrides() -> None:
    base = simperf.load(MODELS / "lru_zipf.yaml")
    cache = base.components["cache"]
    assert (cache.capacity, cache.eviction, cache.ttl) == (1000, "lru", None)
    assert base.keyspaces["items"].keys == 100_000
    bigger = base.with_overrides({"components.cache.capacity": "10000"})
    assert bigger.components["cache"].capacity == 10_000
    fifo = base.with_overrides({"components.cache.eviction": "fifo"})
    assert fifo.components["cache"].eviction == "fifo"
    with pytest.raises(SpecError, match=r"components\.cache\.capacity: must be >= 1"):
        base.with_overrides({"components.cache.capacity": "0"})


def test_trace_timestamps_drive_arrivals_and_keys(tmp_path: Path) -> None:
    # Rows: (key, t). Arrivals at t - 100; each request reads its row's key. Key b's
    # second read (t = 100.5 + 1 ms after its first) comes before the first one's set
    # completes (1 ms backing read), so it misses too.
    rows = [("a", 100.0), ("b", 100.5), ("b", 100.5005), ("a", 101.0), ("b", 103.0)]
    path = tmp_path / "trace.csv"
    path.write_text("key,t\n" + "\n".join(f"{k},{t}" for k, t in rows) + "\n")
    keyspace = {"keys": 2, "popularity": {"model": "trace", "path": str(path), "time_column": "t"}}
    data = scenario(keyspace, {"capacity": 10}, requests=50).model_dump(mode="json", by_alias=True)
    data["workload"]["arrival"] = {"kind": "trace", "keyspace": "items"}
    result = simperf.run(simperf.from_dict(data), seed=1)
    starts = result._arrays["start"]
    assert sorted(starts.tolist()) == pytest.approx([t - 100.0 for _, t in rows])
    cache = result.to_dict()["caches"]["cache"]
    assert (cache["hits"], cache["misses"]) == (2, 3)
    assert result.to_dict()["requests"]["generated"] == 5  # the trace ran out: 5, not 50


def test_simultaneous_commands_wait_their_turn_and_every_wait_counts(tmp_path: Path) -> None:
    # N reads of one key reach a one-core node at the same instant (a parallel step's
    # arms): the gets wait 0, L, ..., (N-1) L and all miss; their sets come one backing
    # read after each get ended, L apart, and wait for nothing. Mean over the 2N
    # commands: L N (N - 1) / 2 / 2N = L (N - 1) / 4.
    n, latency = 8, 1e-3
    s = scenario(
        {"keys": 1, "popularity": {"model": "trace", "path": trace(tmp_path, [0])}},
        {"capacity": 10, "latency": latency},
        endpoints={
            "fan": [{"parallel": ["app.get"] * n}],
            "get": [{"read": {"cache": "cache", "backing": {"delay": "1s"}}}],
        },
        classes=[{"name": "fan", "entry": "app", "endpoint": "fan", "keyspace": "items"}],
        requests=1,
    )
    node = run(s)["components"]["cache"]
    assert node["served"] == 2 * n
    assert node["mean_wait"] == pytest.approx(latency * (n - 1) / 4, rel=1e-9)


def _database_behind(write: dict[str, Any]) -> simperf.Scenario:
    """Five requests, 100 ms apart, each reading key 0 through the cache (cache-aside over
    the database's ``by_id``) and then ``write``-ing it: a step on the database."""
    return scenario(
        {"keys": 1, "popularity": "uniform"},
        {"capacity": 10, "write_policy": "write_through"},
        endpoints={"rw": [{"read": {"cache": "cache", "backing": "db.by_id"}}, write]},
        classes=[{"name": "rw", "entry": "app", "endpoint": "rw", "keyspace": "items"}],
        rate=10,
        requests=5,
        extra_components={
            "db": {
                "kind": "database",
                "primary": {"cores": 1, "memory": "1GiB"},
                "tables": {
                    "t": {"rows": 1, "row_size": 100, "keyspace": "items", "columns": {"v": 1}}
                },
                "queries": {
                    "by_id": {"table": "t", "where": ["id"]},
                    "bump": {"table": "t", "op": "update", "where": ["id"], "updates": ["v"]},
                },
            }
        },
    )


def test_a_database_update_behind_the_cache_makes_its_copies_stale() -> None:
    # A `query` step updating the row commits a new version of key 0: request 1 misses
    # and caches version 0, then updates the row (version 1); requests 2-5 hit the
    # copy of version 0, older than the row each time: 4 stale reads (none before
    # database writes committed versions: the cache looked fresh for ever).
    d = run(_database_behind({"query": "bump", "database": "db"}))
    assert d["caches"]["cache"]["hits"] == 4
    assert d["caches"]["cache"]["stale_reads"] == 4
    assert d["requests"]["stale"] == 4


def test_a_cached_write_to_the_database_commits_one_version() -> None:
    # Through the cache, the write's version is the one its database query committed,
    # not a second one: five writes, five versions, and every hit is of the latest.
    model = build(_database_behind({"write": {"cache": "cache", "backing": "db.bump"}}), seed=1)
    d = summarise(model.execute()).to_dict()
    assert model.ctx.keyspaces["items"].latest == {0: 5}
    assert d["caches"]["cache"]["hits"] == 4 and d["caches"]["cache"]["stale_reads"] == 0

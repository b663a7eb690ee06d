"""Query rates read off the spec: every route to a query counts, at the rate it is taken.

Checked against runs: with Poisson arrivals and a uniform key space, a request misses an
LRU cache of ``C`` of the ``N`` keys with probability exactly ``1 - C/N`` once the cache
is full (whatever it holds, the key drawn is among its ``C`` keys with that chance), so
the backing query's count over the measured period is Poisson (a thinned Poisson stream)
with mean ``rate x (1 - C/N) x measured time``.
"""

from __future__ import annotations

from typing import Any

import pytest
from scipy import stats

import simperf
from simperf.analysis.caching import (
    che_invalidated,
    che_lru,
    fixed_ttl_hit_rate,
    lfu_ttl_hit_rate,
    lru_ttl_hit_rate,
    refreshed_ttl_hit_rate,
    ttl_hit_rate,
)
from simperf.dbcost.explain import variants_of
from simperf.dbcost.mix import Variant, miss_rate, query_rates
from simperf.keys import popularity_probabilities
from simperf.metrics.stats import t_interval
from simperf.spec.keyspace import KeyspaceSpec
from tests.validation.agreement import CONFIDENCE, agrees, replications

KEYS, CAPACITY, RATE = 1000, 100, 200.0
WARMUP, DURATION = 5.0, 35.0  # the cache fills in about a hundred requests: 0.5 s
FALSE_ALARM = 1e-6  # chance that a correct prediction falls outside the bounds


def poisson_bounds(mean: float) -> tuple[float, float]:
    """Counts a Poisson variable of this mean stays within but with FALSE_ALARM."""
    low, high = stats.poisson.interval(1 - FALSE_ALARM, mean)
    return float(low), float(high)


DATABASE = {
    "kind": "database",
    "cpu": {"per_query": "10us"},
    "tables": {"items": {"rows": KEYS, "row_size": 100, "keyspace": "items"}},
    "queries": {"item": {"table": "items", "where": ["id"]}},
}


def _run(spec: dict[str, Any]) -> tuple[simperf.Scenario, dict[str, Any]]:
    spec["keyspaces"] = {"items": {"keys": KEYS, "popularity": "uniform"}}
    spec["run"] = {"duration": DURATION, "warmup": WARMUP}
    scenario = simperf.from_dict(spec)
    return scenario, simperf.run(scenario, seed=1).to_dict()


def _expected_calls(per_request: float) -> float:
    return per_request * RATE * (DURATION - WARMUP)


def test_uniform_lru_misses_are_one_minus_capacity_over_keys() -> None:
    keyspace = KeyspaceSpec(keys=KEYS, popularity="uniform")
    assert miss_rate(keyspace, capacity=CAPACITY, eviction="lru") == pytest.approx(
        1 - CAPACITY / KEYS, rel=1e-9
    )
    # Unmodelled caches count every read as a miss (an upper bound); unlimited ones none.
    assert miss_rate(keyspace, capacity=CAPACITY, eviction="lru", ttl=60.0) == 1.0
    assert miss_rate(keyspace, capacity=None, eviction="lru") == 0.0


def test_a_query_behind_a_cache_runs_at_the_miss_rate() -> None:
    scenario, result = _run(
        {
            "name": "cache_backing",
            "workload": {
                "arrival": {"kind": "poisson", "rate": RATE},
                "classes": [
                    {"name": "get", "entry": "app", "endpoint": "get", "keyspace": "items"}
                ],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "workers": 1000,
                    "endpoints": {"get": [{"read": {"cache": "cache", "backing": "db.item"}}]},
                },
                "cache": {"kind": "cache", "keyspace": "items", "capacity": CAPACITY},
                "db": DATABASE,
            },
        }
    )
    per_request = query_rates(scenario)["db"][Variant("item")]
    assert per_request == pytest.approx(1 - CAPACITY / KEYS, rel=1e-9)
    assert variants_of(scenario, "db")[Variant("item")] == per_request  # what EXPLAIN uses
    calls = result["databases"]["db"]["queries"]["item"]["calls"]
    low, high = poisson_bounds(_expected_calls(per_request))
    assert low <= calls <= high


def test_a_query_behind_a_cdn_origin_counts() -> None:
    # One class the CDN caches (its origin sees the misses), one it passes through.
    scenario, result = _run(
        {
            "name": "cdn_origin",
            "network": {"regions": ["eu"]},
            "workload": {
                "arrival": {"kind": "poisson", "rate": RATE},
                "classes": [
                    {"name": "page", "entry": "cdn", "endpoint": "get", "keyspace": "items"},
                    {"name": "api", "entry": "cdn", "endpoint": "get", "keyspace": "items"},
                ],
            },
            "components": {
                "cdn": {
                    "kind": "cdn",
                    "origin": "app",
                    "keyspace": "items",
                    "cacheable": ["page"],
                    "edges": {"eu": {"latency": "1ms"}},
                    "capacity": CAPACITY,
                },
                "app": {
                    "kind": "app_server",
                    "workers": 1000,
                    "endpoints": {"get": [{"query": "item", "database": "db"}]},
                },
                "db": DATABASE,
            },
        }
    )
    per_request = query_rates(scenario)["db"][Variant("item")]
    assert per_request == pytest.approx(0.5 * (1 - CAPACITY / KEYS) + 0.5, rel=1e-9)
    calls = result["databases"]["db"]["queries"]["item"]["calls"]
    low, high = poisson_bounds(_expected_calls(per_request))
    assert low <= calls <= high


@pytest.mark.parametrize(
    "edge",
    [
        pytest.param({"capacity": None, "ttl": 1.0}, id="ttl"),
        pytest.param({"capacity": 100, "ttl": 1.0}, id="items-and-ttl"),
    ],
)
def test_a_cdn_with_a_ttl_sends_its_origin_the_queries_a_run_measures(
    edge: dict[str, Any],
) -> None:
    # 400 req/s, 80% cacheable over 1,000 Zipf(0.8) items, clients 3:1 in eu and us,
    # each edge with a 1 s ttl from the set: the eu edge sees 240 lookups/s, the us one
    # 80/s, each hitting by its closed form at its own rate. The query mix counted every
    # request as reaching the origin with any ttl (1.0 query per request, 4,000 in the
    # 10 s measured, against some 2,830 run).
    spec: dict[str, Any] = {
        "name": "cdn_ttl_db",
        "keyspaces": {"items": {"keys": KEYS, "popularity": {"zipf": 0.8}}},
        "network": {"regions": ["us", "eu"], "latency": {"us": {"eu": 0.01}}},
        "workload": {
            "arrival": {"kind": "poisson", "rate": 400},
            "clients": {"regions": {"eu": 3, "us": 1}},
            "classes": [
                {
                    "name": "page",
                    "weight": 0.8,
                    "entry": "cdn",
                    "endpoint": "get",
                    "keyspace": "items",
                },
                {"name": "api", "weight": 0.2, "entry": "cdn", "endpoint": "get"},
            ],
        },
        "components": {
            "cdn": {
                "kind": "cdn",
                "origin": "app",
                "keyspace": "items",
                "cacheable": ["page"],
                "edges": {"us": {"latency": 0.001}, "eu": {"latency": 0.001}},
                **edge,
            },
            "app": {
                "kind": "app_server",
                "region": "us",
                "workers": 1000,
                "endpoints": {"get": [{"query": "item", "database": "db"}]},
            },
            "db": DATABASE,
        },
        "run": {"duration": 12, "warmup": 2},
    }
    scenario = simperf.from_dict(spec)
    per_request = query_rates(scenario)["db"][Variant("item")]
    p = popularity_probabilities(scenario.keyspaces["items"])
    forms = {
        None: lambda rate: ttl_hit_rate(p, rate, 1.0, False),
        100: lambda rate: fixed_ttl_hit_rate(p, 100, rate, 1.0, "lru"),
    }
    hit = forms[edge["capacity"]]
    expected = 0.2 + 0.8 * (0.75 * (1 - hit(240.0)) + 0.25 * (1 - hit(80.0)))
    assert per_request == pytest.approx(expected, rel=SOLVER)
    # the estimate's origin load is the same figure (with an item limit it took Che's alone)
    stations = simperf.estimate(scenario).stations.set_index(["component", "resource"])
    assert stations.loc[("app", "workers"), "visit_rate"] == pytest.approx(400 * per_request)
    runs = replications(scenario, 8)
    metric = "databases.db.queries.item.calls"
    agrees(runs, metric, per_request * 400 * 10, max_width=0.05)
    iv = t_interval(runs.values(metric), CONFIDENCE)
    assert iv.half_width is not None
    assert abs(400 * 10 - iv.mean) > iv.half_width  # every request: refused by the run


# Under uniform popularity every eviction policy holds CAPACITY of the KEYS keys, so a
# read hits with probability CAPACITY / KEYS (Che's approximation is exact here).
MISS = 1 - CAPACITY / KEYS
# The characteristic time is solved by brentq to rtol 1e-13; 1e-12 bounds its effect.
SOLVER = 1e-12


def mix_scenario(eviction: str) -> simperf.Scenario:
    """Half the requests read through a cache backed by ``db.get``, half call ``db.other``."""
    app: dict[str, Any] = {
        "kind": "app_server",
        "endpoints": {
            "read": [{"read": {"cache": "cache", "backing": "db.get"}}],
            "other": [{"call": "db.other"}],
        },
    }
    return simperf.from_dict(
        {
            "name": "mix",
            "keyspaces": {"items": {"keys": KEYS, "popularity": "uniform"}},
            "workload": {
                "arrival": {"kind": "poisson", "rate": 10},
                "classes": [
                    {"name": "r", "entry": "app", "endpoint": "read", "keyspace": "items"},
                    {"name": "o", "entry": "app", "endpoint": "other"},
                ],
            },
            "components": {
                "app": app,
                "cache": {
                    "kind": "cache",
                    "keyspace": "items",
                    "capacity": CAPACITY,
                    "eviction": eviction,
                },
                "db": {
                    "kind": "database",
                    "tables": {"kv": {"rows": KEYS, "row_size": 100, "keyspace": "items"}},
                    "queries": {
                        "get": {"table": "kv", "where": ["id"]},
                        "other": {"table": "kv", "where": ["id"]},
                    },
                },
            },
            "run": {"requests": 10},
        }
    )


@pytest.mark.parametrize("eviction", ["lru", "fifo", "random", "lfu"])
def test_a_query_reached_through_a_cache_backing_read_runs_once_per_miss(eviction: str) -> None:
    rates = query_rates(mix_scenario(eviction))["db"]
    assert rates[Variant("get")] == pytest.approx(0.5 * MISS, rel=SOLVER)
    assert rates[Variant("other")] == 0.5


@pytest.mark.parametrize(
    ("cache", "form"),
    [
        ({"capacity": None, "ttl": 1.0}, "ttl"),
        ({"capacity": None, "ttl": 1.0, "ttl_refresh": True}, "ttl refreshed"),
        ({"ttl": 20.0}, "fixed"),
        ({"ttl": 20.0, "eviction": "fifo"}, "fixed"),
        ({"ttl": 20.0, "ttl_refresh": True}, "refreshed"),
        ({"ttl": 20.0, "ttl_refresh": True, "eviction": "fifo"}, "refreshed fifo"),
        ({"ttl": 20.0, "ttl_refresh": True, "eviction": "random"}, "refreshed random"),
        ({"ttl": 20.0, "eviction": "lfu"}, "lfu"),
        ({"ttl": 20.0, "eviction": "lfu", "ttl_refresh": True}, "lfu refreshed"),
    ],
)
def test_a_ttl_caches_reads_reach_the_database_at_its_closed_forms_misses(
    cache: dict[str, Any], form: str
) -> None:
    # 5 reads/s (half of 10 req/s) of 1,000 uniform keys; a ttl's closed form needs that
    # rate. Before, any ttl counted every read as a miss in the query mix (the page mix
    # the runtime's buffer pools and EXPLAIN use), whatever the cache kept.
    scenario = mix_scenario("lru").with_overrides(
        {f"components.cache.{name}": value for name, value in cache.items()}
    )
    p = popularity_probabilities(scenario.keyspaces["items"])
    capacity = cache.get("capacity", CAPACITY)
    hit = {
        "ttl": lambda: ttl_hit_rate(p, 5.0, 1.0, False),
        "ttl refreshed": lambda: ttl_hit_rate(p, 5.0, 1.0, True),
        "fixed": lambda: fixed_ttl_hit_rate(p, capacity, 5.0, 20.0, cache.get("eviction", "lru")),
        "refreshed": lambda: lru_ttl_hit_rate(p, capacity, 5.0, 20.0),
        # FIFO and RANDOM whose hits restart the ttl: every read a miss before
        "refreshed fifo": lambda: refreshed_ttl_hit_rate(p, capacity, 5.0, 20.0, "fifo"),
        "refreshed random": lambda: refreshed_ttl_hit_rate(p, capacity, 5.0, 20.0, "random"),
        # LFU's top keys, each a ttl-only cache: every read a miss before
        "lfu": lambda: lfu_ttl_hit_rate(p, capacity, 5.0, 20.0),
        "lfu refreshed": lambda: lfu_ttl_hit_rate(p, capacity, 5.0, 20.0, True),
    }[form]()
    assert hit > 0.0
    rates = query_rates(scenario)["db"]
    assert rates[Variant("get")] == pytest.approx(0.5 * (1 - hit), rel=SOLVER)
    assert rates[Variant("other")] == 0.5


def write_scenario(policy: str, eviction: str = "lru") -> dict[str, Any]:
    """Reads through a cache backed by ``db.item`` and, at a third of the rate, writes of
    ``db.put`` through it under ``policy``."""
    return {
        "name": f"writes_{policy}",
        "workload": {
            "arrival": {"kind": "poisson", "rate": RATE},
            "classes": [
                {
                    "name": "get",
                    "weight": 3,
                    "entry": "app",
                    "endpoint": "get",
                    "keyspace": "items",
                },
                {
                    "name": "put",
                    "weight": 1,
                    "entry": "app",
                    "endpoint": "put",
                    "keyspace": "items",
                },
            ],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "workers": 1000,
                "endpoints": {
                    "get": [{"read": {"cache": "cache", "backing": "db.item"}}],
                    "put": [{"write": {"cache": "cache", "backing": "db.put"}}],
                },
            },
            "cache": {
                "kind": "cache",
                "keyspace": "items",
                "capacity": CAPACITY,
                "eviction": eviction,
                "write_policy": policy,
            },
            "db": {
                **DATABASE,
                "queries": {
                    **DATABASE["queries"],
                    "put": {"table": "items", "where": ["id"], "op": "update"},
                },
            },
        },
    }


ZIPF = {"keys": KEYS, "popularity": {"model": "zipf", "alpha": 0.8}}


def test_write_around_deletes_count_in_the_query_mix() -> None:
    # Every write deletes its key, so the next read of it misses and reaches the database:
    # one write per three reads gives che_invalidated's misses, not Che's (under uniform
    # popularity both are 1 - C/N: a full cache holds C equally read keys either way).
    spec = write_scenario("write_around")
    spec["keyspaces"] = {"items": ZIPF}
    scenario = simperf.from_dict({**spec, "run": {"requests": 10}})
    p = popularity_probabilities(scenario.keyspaces["items"])
    reads_only = 1 - che_lru(p, CAPACITY)
    miss = 1 - che_invalidated(p, CAPACITY, 1 / 3)
    rates = query_rates(scenario)["db"]
    assert rates[Variant("item")] == pytest.approx(0.75 * miss, rel=SOLVER)
    assert miss > reads_only + 0.05  # 0.82 against 0.73 of the reads
    assert rates[Variant("put")] == 0.25  # the delete is a cache command, not a query


@pytest.mark.parametrize("refresh", [False, True])
@pytest.mark.parametrize("eviction", ["lru", "fifo", "random"])
@pytest.mark.parametrize(
    ("policy", "on_write"), [("write_around", "delete"), ("write_through", "set")]
)
def test_a_ttl_with_writes_reaches_the_database_at_its_closed_forms_misses(
    eviction: str, policy: str, on_write: str, refresh: bool
) -> None:
    # 150 reads/s and 50 writes/s of Zipf(0.8) keys, 100 of the 1,000 cached with a 0.5 s
    # ttl from the set or restarted by hits: the form with the writes (before, every read
    # counted as a miss, but under LRU with the ttl restarted)
    spec = write_scenario(policy, eviction)
    spec["keyspaces"] = {"items": ZIPF}
    spec["components"]["cache"].update(ttl=0.5, ttl_refresh=refresh)
    scenario = simperf.from_dict({**spec, "run": {"requests": 10}})
    p = popularity_probabilities(scenario.keyspaces["items"])
    mode: Any = on_write
    form = refreshed_ttl_hit_rate if refresh else fixed_ttl_hit_rate
    hit = form(p, CAPACITY, 150.0, 0.5, eviction, 1 / 3, on_write=mode)  # type: ignore[arg-type]
    assert hit > 0.15
    rates = query_rates(scenario)["db"]
    assert rates[Variant("item")] == pytest.approx(0.75 * (1 - hit), rel=SOLVER)

"""The figures each model's header comment quotes are today's: its closed forms, and what
a whole run at seed 1 measures, each as the header rounds it.

A header reads as one line here (the ``#`` and line breaks dropped), so a test quotes its
words as they run on across lines. The runs are those of ``conftest.model_result``, shared
with the README's and the docs' tests.
"""

from __future__ import annotations

import math
import re

import simperf
from simperf.analysis.caching import che_lru
from simperf.analysis.networks import mva, tandem
from simperf.analysis.queueing import mm1, mmc
from simperf.dbcost.query_cost import Layout
from simperf.keys import popularity_probabilities

from conftest import MODELS, ROOT, model_result


def header(name: str) -> str:
    """The comment block before ``name:`` of ``models/<name>.yaml``, as one line."""
    block = (MODELS / f"{name}.yaml").read_text(encoding="utf-8").split("\nname:")[0]
    return " ".join(" ".join(line.lstrip("#") for line in block.splitlines()).split())


def che(name: str, keyspace: str, capacity: int) -> float:
    """Che's LRU hit rate of ``capacity`` items over a model's key space."""
    return che_lru(
        popularity_probabilities(simperf.load(MODELS / f"{name}.yaml").keyspaces[keyspace]),
        capacity,
    )


def about(value: float, step: float) -> float:
    """``value`` to the nearest ``step``, as "about" in a header rounds it."""
    return round(value / step) * step


# closed forms: no run


def test_mm1_theory() -> None:
    theory = mm1(90, 100)
    text = header("mm1")
    assert f"utilisation {theory.utilization}" in text
    sojourn = theory.mean_sojourn * 1e3
    assert f"mean sojourn 1/(mu - lambda) = {sojourn:.0f} ms" in text
    assert f"p99 = ln(100) x {sojourn:.0f} ms = {math.log(100) * sojourn:.1f} ms" in text


def test_mmc_theory() -> None:
    theory = mmc(320, 100, 4)
    text = header("mmc")
    assert f"(utilisation {theory.utilization})" in text
    assert (
        f"probability of waiting {theory.prob_wait:.3f}, mean wait {theory.mean_wait * 1e3:.2f} "
        f"ms, mean sojourn {theory.mean_sojourn * 1e3:.2f} ms" in text
    )


def test_tandem_theory() -> None:
    theory = tandem(150, [100, 100, 100], [2, 2, 2])
    text = header("tandem")
    assert f"(utilisation {theory.utilization[0]} each)" in text
    assert (
        f"M/M/2 with mean sojourn {theory.mean_sojourn[0] * 1e3:.2f} ms; end to end "
        f"{theory.network_mean_sojourn * 1e3:.2f} ms" in text
    )


def test_closed_theory() -> None:
    theory = mva(20, 1.0, [0.040])
    assert (
        f"throughput {theory.throughput:.1f}/s, response time {theory.response_time * 1e3:.0f}"
        f" ms (the server runs at utilisation {theory.utilizations[0]:.2f})" in header("closed")
    )


def test_lru_zipf_che_and_fill_times() -> None:
    text = header("lru_zipf")
    small, large = che("lru_zipf", "items", 1_000), che("lru_zipf", "items", 10_000)
    assert f"LRU hit rate of {small:.4f} at 1,000 items and {large:.4f} at 10,000" in text
    # when the cache fills: a run that stops once it has (the same arrivals up to then)
    filled = [
        model_result(
            "lru_zipf", (("components.cache.capacity", n), ("run.duration", d), ("run.warmup", 0))
        ).to_dict()["caches"]["cache"]["filled_at"]
        for n, d in ((1_000, "3s"), (10_000, "20s"))
    ]
    assert (
        f"fills in about {round(filled[0])} s at 1,000 items ({round(filled[1])} s at 10,000)"
        in text
    )
    assert (
        filled[1] < simperf.load(MODELS / "lru_zipf.yaml").run.warmup
    )  # kept out of the measurement


def test_sharded_store_pages_per_shard() -> None:
    scenario = simperf.load(MODELS / "sharded_store.yaml")
    store = scenario.components["store"]
    users = store.tables["users"]
    shard = users.model_copy(update={"rows": -(-users.rows // store.shards)})
    pages = Layout().pages(shard)
    in_pool = store.primary.memory / Layout().page_size / pages
    assert f"(about half of its {pages:,} pages of users)" in header("sharded_store")
    assert 0.45 < in_pool < 0.55


def test_cache_aside_database_without_the_cache() -> None:
    # every view's query at the database: the view rate x the query's mean CPU
    scenario = simperf.load(MODELS / "cache_aside.yaml")
    view = next(c for c in scenario.workload.classes if c.name == "view")
    reads = scenario.workload.arrival.rate * view.weight  # type: ignore[union-attr]
    mean = scenario.components["db"].endpoints["get"][0].cpu.mean * 1e3
    text = header("cache_aside")
    assert f"p99 20 ms, mean {mean:.1f} ms" in text
    assert f"{reads:.0f} x {mean:.1f} ms = {reads * mean / 1e3:.1f} cores" in text


# measured: one whole run at seed 1 (shared with the README's and the docs' tests)


def test_cache_aside_measured() -> None:
    text = header("cache_aside")
    d = model_result("cache_aside").to_dict()
    cache = d["caches"]["cache"]
    assert (
        f"Che's approximation gives a hit rate of {che('cache_aside', 'products', 10_000):.2f}"
        in text
    )
    assert f"measured here about {cache['hit_rate']:.2f}" in text
    assert f"it is about {about(d['components']['db']['utilization'], 0.1):.0%} busy" in text
    assert 0 < cache["stale_reads"] < 0.01 * cache["reads"]  # "the few stale reads"


def test_cdn_static_site_measured() -> None:
    text = header("cdn_static_site")
    d = model_result("cdn_static_site").to_dict()
    cdn = d["cdns"]["cdn"]
    edges = cdn["edges"]
    assert min(edges, key=lambda r: edges[r]["requests"]) == "ap"
    assert f"(seed 1, {d['measured_time']:.0f} s after a {d['warmup']:.0f} s warm-up)" in text
    assert f"edge hit rates of {cdn['hit_rate']:.2f} ({edges['ap']['hit_rate']:.2f} in ap" in text
    assert f"the shield catches {cdn['shield']['hit_rate']:.0%} of the edges' misses" in text
    assert (
        f"the origin sees {1 - cdn['offload']:.0%} of the requests (offload {cdn['offload']:.2f};"
        f" byte offload {cdn['byte_offload']:.2f}," in text
    )
    static, api = d["latency"]["static"], d["latency"]["api"]
    assert (
        f"mean latency {static['mean'] * 1e3:.0f} ms for static objects against "
        f"{api['mean'] * 1e3:.0f} ms for API calls, and {static['p50'] * 1e3:.0f} ms" in text
    )


def test_diurnal_measured() -> None:
    text = header("diurnal")
    d = model_result("diurnal").to_dict()
    scenario = simperf.load(MODELS / "diurnal.yaml")
    assert f"the server is {d['components']['app']['utilization']:.0%} busy" in text
    # the evening's offered load: the peak rate times 60 ms of CPU
    peak = scenario.workload.arrival.rate * (1 + scenario.workload.arrival.amplitude)
    assert f"peaking at 20:00 ({peak:.0f}/s)" in text
    assert f"runs at up to {peak * 0.060:.0%}" in text
    assert d["stability"]["status"] == "saturated" and "the verdict is `saturated`" in text
    alerts = d["alerts"]
    assert "With seed 1 both fire once, in the evening peak" in text
    for alert in alerts.values():
        assert alert["firings"] == 1 and alert["intervals"][0]["start"] >= 17 * 3600
    # the page the header sends a reader to shows the alerts' lines
    page = re.search(r"\(see (?:the )?([\w./]+)\)", text)
    assert page, "the header names no page for the alerts"
    shown = (ROOT / {"README": "README.md"}.get(page.group(1), page.group(1))).read_text()
    assert "alert slow_evening (p99 of all above 2 s for 60 min): fired 1x" in shown, page.group(1)


def test_failover_measured() -> None:
    text = header("failover")
    d = model_result("failover").to_dict()
    stale = d["caches"]["cache"]["stale_rate"]
    assert f"(about {about(stale, 0.1):.0%} of its reads: hits on products restocked" in text
    (event,) = d["databases"]["catalog"]["failover"]["events"]
    assert f"for detection + promotion = {event['write_unavailable']:.0f} s" in text
    assert event["lost_writes"] > 0 and d["requests"]["errors"]["primary_down"] > 0


def test_multi_region_measured() -> None:
    held = model_result("multi_region").to_dict()["components"]["web_ap"]["mean_service"]
    assert f"16 workers are held ~{about(held * 1e3, 10):.0f} ms per request" in header(
        "multi_region"
    )


def test_sessions_measured() -> None:
    text = header("sessions")
    d = model_result("sessions").to_dict()
    limited = d["rate_limits"]["app_play"]["rejected_share"]
    members = d["leaderboards"]["scores"]["members"]
    assert f"(about {limited:.1%} of plays, seed 1)" in text
    assert f"(about {about(members, 1000):,.0f} members)" in text
    assert d["sessions"]["app"]["lost"] == 0 and "(`sessions.app.lost` is 0)" in text
    assert f"p99 stays about {d['latency']['all']['p99'] * 1e3:.0f} ms" in text


def test_sessions_sticky_what_if_measured() -> None:
    text = header("sessions")
    sticky = (("components.app.sessions.store", "local"), ("components.lb.policy", "ip_hash"))
    what_if = "--set components.app.sessions.store=local \\ --set components.lb.policy=ip_hash"
    assert what_if in text  # the first what-if, its line continued
    d = model_result("sessions", sticky).to_dict()
    s = d["sessions"]["app"]
    assert (
        f"{s['lost']} of the {s['active_at_failures']:,} live sessions "
        f"({s['lost'] / s['active_at_failures']:.2f}) are lost" in text
    )
    assert f"p99 over the run rises to about {d['latency']['all']['p99']:.1f} s" in text


def test_web_stack_measured() -> None:
    text = header("web_stack")
    d = model_result("web_stack").to_dict()
    assert f"(seed 1, {d['measured_time']:.0f} s after a {d['warmup']:.0f} s warm-up)" in text
    redis, cdn = d["caches"]["redis"], d["cdns"]["cdn"]
    assert (
        f"app servers {d['components']['app']['utilization']:.0%} busy, the Redis hit rate "
        f"{redis['hit_rate']:.2f} (below Che's {che('web_stack', 'products', 10_000):.2f} for a "
        f"full LRU cache: it is still filling), CDN edges hit {cdn['hit_rate']:.2f} and the "
        f"origin sees {1 - cdn['offload']:.0%} of the requests;" in text
    )
    assert redis["filled_at"] > d["warmup"]  # still filling in the measured period
    replicas = [
        i for i in d["databases"]["catalog"]["instances"].values() if i["role"] == "replica"
    ]
    cpu = {f"{i['cpu_utilization']:.1%}" for i in replicas}
    storage = {f"{i['storage_utilization']:.1%}" for i in replicas}
    assert len(cpu) == len(storage) == 1  # both replicas read alike
    assert f"replicas are {cpu.pop()} busy on CPU and {storage.pop()} on storage" in text
    assert f"p99 is {d['latency']['all']['p99'] * 1e3:.0f} ms" in text

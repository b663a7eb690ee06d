"""How long a TTL? Hit rate against stale reads when the database changes behind the cache.

"Set appropriate TTLs", made quantitative. Runs ``models/cache_aside.yaml`` with a cache
that has no capacity limit (so the TTL alone decides what is cached), updates that write
the database without touching the cache (another service, a batch job: only the TTL
bounds how long a changed row is served stale), and a database of 8 cores instead of 4
(so that short TTLs do not overload it: this is about staleness, not overload). For each
TTL: the read hit rate, the share of reads that returned stale data, database reads per
second and the p99 of reads; beside them, the closed forms for a TTL cache under Poisson
reads and writes
(:func:`simperf.analysis.caching.ttl_hit_rate` and ``ttl_stale_rate``, which assume the
database answers instantly).

It reports the longest TTL that keeps stale reads under 1%, 5% and 10% (and the hit rate
it buys), from the simulation (interpolated in log TTL) and from the closed form.

Writes ``results/ttl_tradeoff.csv`` (one row per run) and ``.html`` (the figure).

Usage: ``python experiments/ttl_tradeoff.py [--quick] [--replications R] [--workers W]``
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from cache_common import MODELS, fmt, means, parser, run_points, save
from plotly.subplots import make_subplots
from scipy.optimize import brentq

import simperf
from simperf.analysis.caching import ttl_hit_rate, ttl_stale_rate
from simperf.keys import popularity_probabilities

STALE_BUDGETS = (0.01, 0.05, 0.10)
METRICS = {
    "caches.cache.hit_rate": "hit_rate",
    "caches.cache.stale_rate": "stale_rate",
    "caches.cache.store_reads_per_second": "db_reads_per_s",
    "latency.view.p99": "read_p99",
    "components.db.utilization": "db_utilization",
}


def main() -> None:
    args = parser(__doc__).parse_args()
    if args.quick:
        ttls, measured, reps = [1.0, 10.0], 5.0, 1
    else:
        ttls = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0]
        measured, reps = 60.0, 2
    reps = args.replications or reps
    model = simperf.load(MODELS / "cache_aside.yaml")
    put = model.components["app"].endpoints["put"]
    base = model.with_overrides(
        {
            "components.cache.capacity": None,
            "components.db.cores": 8,
            "components.db.workers": 8,
            "components.app.endpoints.put": [
                put[0].model_dump(mode="json", by_alias=True),
                {"write": {"backing": "db.put"}},  # the database alone: no invalidation
            ],
        }
    )
    points = []
    for ttl in ttls:
        warmup = 2.0 if args.quick else max(10.0, 3 * ttl)  # a TTL cache forgets in one ttl
        points.append(
            {"components.cache.ttl": ttl, "run.warmup": warmup, "run.duration": warmup + measured}
        )
    frame = run_points(base, points, args, reps)
    frame = frame.rename(columns={"components.cache.ttl": "ttl"})
    table = means(frame, ["ttl"], METRICS)
    rate = base.workload.arrival.rate  # type: ignore[union-attr]
    weights = {c.name: c.weight for c in base.workload.classes}
    reads = rate * weights["view"] / sum(weights.values())
    writes = rate * weights["update"] / sum(weights.values())
    p = popularity_probabilities(base.keyspaces["products"])
    table["theory_hit_rate"] = [ttl_hit_rate(p, reads, t, reset_on_hit=False) for t in table["ttl"]]
    table["theory_stale_rate"] = [ttl_stale_rate(p, reads, writes, t) for t in table["ttl"]]
    print(
        f"\n{'ttl':>7}{'hit rate':>10}{'theory':>8}{'stale':>9}{'theory':>9}{'db reads/s':>12}"
        f"{'read p99':>10}"
    )
    for row in table.itertuples():
        print(
            f"{row.ttl:>6g}s{fmt(row.hit_rate):>10}{fmt(row.theory_hit_rate):>8}"
            f"{fmt(row.stale_rate, '.4f'):>9}{fmt(row.theory_stale_rate, '.4f'):>9}"
            f"{fmt(row.db_reads_per_s, '.0f'):>12}{fmt(row.read_p99 * 1000, '.1f'):>8}ms"
        )
    for budget in STALE_BUDGETS:
        sim_ttl = longest_ttl(table["ttl"].to_numpy(), table["stale_rate"].to_numpy(), budget)
        theory_ttl = math.exp(
            brentq(lambda x, b=budget: ttl_stale_rate(p, reads, writes, math.exp(x)) - b, -12, 12)
        )
        theory_hit = ttl_hit_rate(p, reads, theory_ttl, reset_on_hit=False)
        line = f"stale reads <= {budget:.0%}: longest TTL "
        if sim_ttl is not None:
            hit = float(np.interp(math.log(sim_ttl), np.log(table["ttl"]), table["hit_rate"]))
            line += f"simulated ~{sim_ttl:.3g} s (hit rate ~{hit:.3f}), "
        else:
            line += "simulated: outside the grid, "
        print(line + f"closed form {theory_ttl:.3g} s (hit rate {theory_hit:.3f})")
        frame[f"longest_ttl_simulated_{budget:g}"] = sim_ttl
        frame[f"longest_ttl_theory_{budget:g}"] = theory_ttl
    save(frame, figure(table), "ttl_tradeoff", args.out)


def longest_ttl(ttls: np.ndarray, stale: np.ndarray, budget: float) -> float | None:
    """TTL where the stale rate crosses ``budget``, interpolated in log TTL (or None)."""
    above = np.flatnonzero(stale > budget)
    if above.size == 0 or above[0] == 0:
        return None
    i = int(above[0])
    lo, hi = math.log(ttls[i - 1]), math.log(ttls[i])
    x = lo + (budget - stale[i - 1]) * (hi - lo) / (stale[i] - stale[i - 1])
    return math.exp(x)


def figure(table: pd.DataFrame) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Reads: hit rate and stale share", "Database reads per second"),
    )
    for column, theory, name in (
        ("hit_rate", "theory_hit_rate", "hit rate"),
        ("stale_rate", "theory_stale_rate", "stale reads"),
    ):
        fig.add_scatter(
            x=table["ttl"],
            y=table[column],
            mode="markers+lines",
            name=name,
            legendgroup=name,
            row=1,
            col=1,
        )
        fig.add_scatter(
            x=table["ttl"],
            y=table[theory],
            mode="lines",
            line={"dash": "dot"},
            name=f"{name}, closed form",
            legendgroup=name,
            row=1,
            col=1,
        )
    for budget in STALE_BUDGETS:
        fig.add_hline(y=budget, line_dash="dash", line_color="grey", row=1, col=1)
    fig.add_scatter(
        x=table["ttl"],
        y=table["db_reads_per_s"],
        mode="markers+lines",
        name="database reads/s",
        row=1,
        col=2,
    )
    fig.update_xaxes(type="log", title_text="TTL (s)")
    fig.update_layout(title="TTL trade-off (models/cache_aside.yaml, writes behind the cache)")
    return fig


if __name__ == "__main__":
    main()

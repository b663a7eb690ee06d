"""How big must a cache be to take 90% of the reads off the database? Size x Zipf alpha.

Sweeps ``models/cache_aside.yaml`` (1,000/s, 100,000 keys, LRU cache-aside in front
of a 4-core database) over the cache's capacity and the key popularity's Zipf exponent,
without TTL (``ttl_tradeoff.py`` studies that), in two variants: the model's 5% of
updates that invalidate the key they write (write-around), and no updates at all (the
update requests then only use the app's CPU). Per run: the hit rate, the store load
reduction (the share of reads that never reached the database), the database's
utilisation and the p99 of reads.

Each run's warm-up lasts until its cache has filled, 1.25 Che characteristic times of
requests (an LRU cache holds the most recent distinct keys once full, so it is stationary
from then on), but at most ``--max-warmup`` simulated seconds; runs whose cache had not
filled by then are flagged in the CSV (``filled_in_warmup``).

For each alpha and variant it reports the boundary: the smallest cache giving at least
90% store load reduction, interpolated in log capacity between the grid points around
it, and beside it Che's approximation for the reads alone.

Writes ``results/cache_db_offload.csv`` (one row per run) and ``.html`` (the figure).

Usage: ``python experiments/cache_db_offload.py [--quick] [--replications R] [--workers W]``
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
from simperf.analysis.caching import characteristic_time, che_lru
from simperf.keys import popularity_probabilities
from simperf.spec.keyspace import KeyspaceSpec

TARGET = 0.9
KEYS = 100_000
READS = 950.0  # reads per second (95% of 1,000/s)
METRICS = {
    "caches.cache.hit_rate": "hit_rate",
    "caches.cache.store_read_reduction": "store_load_reduction",
    "components.db.utilization": "db_utilization",
    "latency.view.p99": "read_p99",
    "latency.view.mean": "read_mean",
    "filled_in_warmup": "filled_in_warmup",
}


def probabilities(alpha: float) -> np.ndarray:
    return popularity_probabilities(KeyspaceSpec(keys=KEYS, popularity={"zipf": alpha}))


def che_boundary(alpha: float) -> float:
    """Smallest LRU capacity (fractional) with Che hit rate TARGET, reads alone."""
    p = probabilities(alpha)
    lo, hi = 0.0, math.log(KEYS - 1)
    return float(math.exp(brentq(lambda c: che_lru(p, math.exp(c)) - TARGET, lo, hi)))


def boundary(capacities: np.ndarray, reductions: np.ndarray) -> tuple[float | None, int | None]:
    """(interpolated capacity, smallest grid capacity) reaching TARGET, or Nones."""
    reached = np.flatnonzero(reductions >= TARGET)
    if reached.size == 0:
        return None, None
    i = int(reached[0])
    if i == 0:
        return float(capacities[0]), int(capacities[0])
    lo, hi = np.log(capacities[i - 1]), np.log(capacities[i])
    r_lo, r_hi = reductions[i - 1], reductions[i]
    log_c = lo + (TARGET - r_lo) * (hi - lo) / (r_hi - r_lo)
    return float(math.exp(log_c)), int(capacities[i])


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--max-warmup", type=float, default=400.0, help="cap on warm-ups (s)")
    args = p.parse_args()
    if args.quick:
        alphas, capacities, measured, reps = [0.8, 1.2], [300, 3000], 5.0, 1
    else:
        alphas, capacities = [0.8, 1.0, 1.2], [300, 1000, 3000, 10_000, 30_000, 60_000]
        measured, reps = 60.0, 1
    reps = args.replications or reps
    model = simperf.load(MODELS / "cache_aside.yaml")
    app_cpu = model.components["app"].endpoints["put"][0].model_dump(mode="json", by_alias=True)
    base = model.with_overrides({"components.cache.ttl": None})
    points = []
    for updates in ("invalidating", "none"):
        for alpha in alphas:
            fills = {c: characteristic_time(probabilities(alpha), c) / READS for c in capacities}
            for capacity in capacities:
                warmup = (
                    2.0 if args.quick else min(max(5.0, 1.25 * fills[capacity]), args.max_warmup)
                )
                point = {
                    "keyspaces.products.popularity.alpha": alpha,
                    "components.cache.capacity": capacity,
                    "run.warmup": round(warmup, 1),
                    "run.duration": round(warmup + measured, 1),
                }
                if updates == "none":
                    point["components.app.endpoints.put"] = [app_cpu]
                points.append(point)
    frame = run_points(base, points, args, reps)
    frame["updates"] = np.where(
        frame["components.app.endpoints.put"].isna(), "invalidating", "none"
    )
    frame = frame.drop(columns=["components.app.endpoints.put"]).rename(
        columns={
            "keyspaces.products.popularity.alpha": "alpha",
            "components.cache.capacity": "capacity",
        }
    )
    filled = frame["caches.cache.filled_at"]
    frame["filled_in_warmup"] = (filled.notna() & (filled <= frame["run.warmup"])).astype(float)
    table = means(frame, ["updates", "alpha", "capacity"], METRICS)
    table["che_lru_hit_rate"] = [
        che_lru(probabilities(a), c) for a, c in zip(table["alpha"], table["capacity"], strict=True)
    ]
    rows = []
    for (updates, alpha), group in table.groupby(["updates", "alpha"]):
        interpolated, grid = boundary(
            group["capacity"].to_numpy(), group["store_load_reduction"].to_numpy()
        )
        rows.append(
            {
                "updates": updates,
                "alpha": alpha,
                "boundary_interpolated": interpolated,
                "boundary_grid": grid,
                "boundary_che_reads_only": che_boundary(float(alpha)),
            }
        )
    bounds = pd.DataFrame(rows)
    print(
        f"\n{'updates':<14}{'alpha':>6}{'capacity':>10}{'hit rate':>10}{'Che LRU':>9}"
        f"{'reduction':>11}{'db util':>9}{'read p99':>11}{'filled':>8}"
    )
    for row in table.itertuples():
        print(
            f"{row.updates:<14}{row.alpha:>6}{row.capacity:>10}{fmt(row.hit_rate):>10}"
            f"{fmt(row.che_lru_hit_rate):>9}{fmt(row.store_load_reduction):>11}"
            f"{fmt(row.db_utilization):>9}{fmt(row.read_p99 * 1000, '.1f'):>9}ms"
            f"{'yes' if row.filled_in_warmup == 1 else 'no':>8}"
        )
    print(f"\nsmallest cache with >= {TARGET:.0%} store load reduction ({KEYS:,} keys):")
    for row in bounds.itertuples():
        sim = (
            f"~{row.boundary_interpolated:,.0f} items (grid: {row.boundary_grid:,.0f})"
            if row.boundary_grid is not None and not pd.isna(row.boundary_grid)
            else f"more than {max(capacities):,} items"
        )
        che = row.boundary_che_reads_only
        print(f"  updates {row.updates}, alpha {row.alpha}: {sim}; Che, reads alone: {che:,.0f}")
    frame = frame.merge(bounds, on=["updates", "alpha"])
    save(frame, figure(table), "cache_db_offload", args.out)


PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def figure(table: pd.DataFrame) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Share of reads kept off the database", "p99 of reads (ms)"),
    )
    palette = dict(zip(sorted(table["alpha"].unique()), PALETTE, strict=False))
    for (updates, alpha), group in table.groupby(["updates", "alpha"]):
        name = f"Zipf {alpha}, updates {updates}"
        # one colour per alpha in both panels; the dash tells updates apart
        line = {"dash": "solid" if updates == "none" else "dash", "color": palette[alpha]}
        fig.add_scatter(
            x=group["capacity"],
            y=group["store_load_reduction"],
            mode="lines+markers",
            line=line,
            name=name,
            legendgroup=name,
            row=1,
            col=1,
        )
        fig.add_scatter(
            x=group["capacity"],
            y=group["read_p99"] * 1000,
            mode="lines+markers",
            line=line,
            name=name,
            legendgroup=name,
            showlegend=False,
            row=1,
            col=2,
        )
    for alpha, group in table[table["updates"] == "none"].groupby("alpha"):
        fig.add_scatter(
            x=group["capacity"],
            y=group["che_lru_hit_rate"],
            mode="lines",
            line={"dash": "dot", "color": "grey"},
            name=f"Che, Zipf {alpha}",
            row=1,
            col=1,
        )
    fig.add_hline(y=TARGET, line_dash="dash", row=1, col=1)
    fig.update_xaxes(type="log", title_text="cache capacity (items)")
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(title="Cache size vs database offload (models/cache_aside.yaml, no TTL)")
    return fig


if __name__ == "__main__":
    main()

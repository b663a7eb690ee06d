"""When does a CDN cut latency by 50% or more? By region, cacheable fraction, TTL, popularity.

An origin in ``us`` serves static objects (4 ms of CPU) and API calls (8 ms); clients are
10 ms one way from their region's edge, and the edges are 0 ms (us), 40 ms (eu) and 90 ms
(ap) one way from the origin. Each run sends 400 requests/s from the clients of one
region. A fraction ``f`` of them fetch objects of a catalogue of 20,000 with Zipf(alpha)
popularity, which the CDN may cache (2,000 objects per edge, LRU, a TTL, a shield of
10,000 objects in us); the rest are API calls that pass through. The baseline is the same
route with nothing cached (every request travels client -> edge -> origin), so the
reduction is what caching buys, not what terminating connections at the edge would.

A. ``f`` from 0.25 to 1 for alpha 0.6, 0.8, 1.0 and 1.2, TTL 5 min, with the shield.
B. TTLs from 1 s to 5 min, alpha 1.2, ``f`` 0.9, with and without the shield.

Measured per point: mean latency with and without the CDN, the reduction
``1 - cdn / baseline``, the edges' hit rate and the origin offload. Boundaries: the
smallest ``f`` and the shortest TTL at which the reduction reaches 50%, by region; and the
closed form it follows: hits cost ``2e`` (``e`` the client-edge latency) instead of the
baseline's mean ``B``, so the reduction is about ``H (B - 2e) / B`` for the fraction
``H`` of requests hit at the edge (shield hits add a little), and 50% needs
``H >= B / (2 (B - 2e))``.

Usage: ``python experiments/cdn_latency.py [--quick] [--workers 2] [--out results]``
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from cache_common import parser, run_points, save
from db_study import crossing
from plotly.subplots import make_subplots

import simperf
from simperf.units import parse_time

EDGE_LATENCY = 0.010
REGIONS = {"us": 0.0, "eu": 0.040, "ap": 0.090}  # one-way latency from the origin's region
TARGET = 0.5
TTL_ALPHA = 1.2  # popular enough that the TTL, not the capacity, decides
METRICS = {
    "latency.all.mean": "mean_ms",
    "latency.all.p50": "p50_ms",
    "latency.all.p95": "p95_ms",
    "cdns.cdn.hit_rate": "edge_hit_rate",
    "cdns.cdn.offload": "offload",
    "cdns.cdn.byte_offload": "byte_offload",
}


def base_scenario(rate: float, duration: float, warmup: float) -> simperf.Scenario:
    """The CDN in front of the origin; points override region, fraction, TTL ..."""
    return simperf.from_dict(
        {
            "name": "cdn_latency",
            "keyspaces": {"objects": {"keys": 20_000, "popularity": {"zipf": 0.9}}},
            "network": {
                "regions": list(REGIONS),
                "latency": {"us": {"eu": REGIONS["eu"], "ap": REGIONS["ap"]}, "eu": {"ap": 0.12}},
            },
            "workload": {
                "arrival": {"kind": "poisson", "rate": rate},
                "clients": {"regions": {"us": 1}},
                "classes": [
                    {
                        "name": "static",
                        "weight": 0.9,
                        "entry": "cdn",
                        "endpoint": "object",
                        "keyspace": "objects",
                        "response_size": {"dist": "lognormal", "median": "30KB", "p99": "1MB"},
                    },
                    {
                        "name": "api",
                        "weight": 0.1,
                        "entry": "cdn",
                        "endpoint": "api",
                        "response_size": "4KB",
                    },
                ],
            },
            "components": {
                "cdn": {
                    "kind": "cdn",
                    "origin": "web",
                    "keyspace": "objects",
                    "cacheable": ["static"],
                    "edges": {r: {"latency": EDGE_LATENCY} for r in REGIONS},
                    "capacity": 2_000,
                    "ttl": "5min",
                    "shield": {"region": "us", "capacity": 10_000},
                },
                "web": {
                    "kind": "app_server",
                    "region": "us",
                    "cores": 16,
                    "workers": 256,
                    "endpoints": {
                        "object": [{"cpu": {"dist": "exponential", "mean": "4ms"}}],
                        "api": [{"cpu": {"dist": "exponential", "mean": "8ms"}}],
                    },
                },
            },
            "run": {"duration": duration, "warmup": warmup},
        }
    )


def point(
    part: str,
    region: str,
    f: float,
    *,
    cdn: bool,
    alpha: float = 0.9,
    ttl: str = "5min",
    shield: bool = True,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(overrides, labels) of one run."""
    overrides: dict[str, Any] = {
        "workload.clients.regions": {region: 1},
        "workload.classes.0.weight": f,
        "workload.classes.1.weight": max(1 - f, 1e-9),  # weights must be > 0
        "keyspaces.objects.popularity.alpha": alpha,
        "components.cdn.ttl": ttl,
    }
    if not cdn:
        overrides["components.cdn.cacheable"] = []
    if not shield:
        overrides["components.cdn.shield"] = None
    labels = {"region": region, "cacheable": f, "alpha": alpha, "ttl": ttl, "shield": shield}
    return overrides, {"part": part, **labels, "cdn": cdn}


def main() -> None:
    p = parser(__doc__)
    args = p.parse_args()
    quick = args.quick
    regions = ["eu"] if quick else list(REGIONS)
    fractions = [0.5, 1.0] if quick else [0.25, 0.5, 0.75, 0.9, 1.0]
    alphas = [0.9] if quick else [0.6, 0.8, 1.0, 1.2]
    ttls = ["1s", "5min"] if quick else ["1s", "3s", "10s", "30s", "100s", "5min"]
    runs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for region in regions:
        runs += [point("baseline", region, f, cdn=False) for f in sorted({*fractions, 0.9})]
        runs += [point("fraction", region, f, cdn=True, alpha=a) for a in alphas for f in fractions]
        runs += [
            point("ttl", region, 0.9, cdn=True, alpha=TTL_ALPHA, ttl=t, shield=s)
            for s in (True, False)
            for t in ttls
        ]
    rate, duration, warmup = (200, 4, 1) if quick else (400, 60, 20)
    base = base_scenario(rate, duration, warmup)
    frame = run_points(base, [o for o, _ in runs], args, args.replications or 1)
    labels = pd.DataFrame([lab for _, lab in runs])
    frame = pd.concat(
        [labels.iloc[frame["point"]].reset_index(drop=True), frame[list(METRICS)]], axis=1
    )
    frame = frame.groupby(list(labels.columns), sort=False).mean().reset_index()
    frame = frame.rename(columns=METRICS)
    for column in ("mean_ms", "p50_ms", "p95_ms"):
        frame[column] *= 1000
    table = reductions(frame)
    save(table, figure(table), "cdn_latency", args.out)
    for key, value in boundaries(table).items():
        print(f"  {key}: {value}")


def reductions(frame: pd.DataFrame) -> pd.DataFrame:
    """CDN runs with their baseline's latency, the reduction and the closed-form need."""
    baseline = frame[~frame.cdn].set_index(["region", "cacheable"])
    cdn = frame[frame.cdn].copy()
    keys = list(zip(cdn.region, cdn.cacheable, strict=True))
    cdn["base_mean_ms"] = [baseline.loc[k, "mean_ms"] for k in keys]
    cdn["base_p95_ms"] = [baseline.loc[k, "p95_ms"] for k in keys]
    cdn["reduction"] = 1 - cdn.mean_ms / cdn.base_mean_ms
    cdn["p95_reduction"] = 1 - cdn.p95_ms / cdn.base_p95_ms
    cdn["edge_hit_share"] = cdn.edge_hit_rate * cdn.cacheable  # of all requests
    hit = 2000 * EDGE_LATENCY
    cdn["needed_hit_share"] = cdn.base_mean_ms / (2 * (cdn.base_mean_ms - hit))
    cdn["predicted_reduction"] = cdn.edge_hit_share * (cdn.base_mean_ms - hit) / cdn.base_mean_ms
    cdn["ttl_s"] = [parse_time(t) for t in cdn.ttl]
    return cdn.drop(columns=["cdn"]).reset_index(drop=True)


def boundaries(table: pd.DataFrame) -> dict[str, Any]:
    """Where the 50% claim holds, read off the grid."""
    out: dict[str, Any] = {}
    fractions = table[table.part == "fraction"]
    for (region, alpha), rows in fractions.groupby(["region", "alpha"], sort=False):
        rows = rows.sort_values("cacheable")
        edge = crossing(list(rows.cacheable), list(rows.reduction), TARGET)
        best = rows.reduction.max()
        if edge is None and rows.reduction.iloc[0] >= TARGET:
            edge = float(rows.cacheable.iloc[0])
        out[f"{region}, alpha {alpha}: smallest cacheable fraction for >= 50%"] = (
            round(edge, 3) if edge is not None else f"never (best {best:.0%} at f = 1)"
        )
    ttl = table[table.part == "ttl"]
    for (region, shield), rows in ttl.groupby(["region", "shield"], sort=False):
        rows = rows.sort_values("ttl_s")
        edge = crossing(list(rows.ttl_s), list(rows.reduction), TARGET, log_x=True)
        label = "with" if shield else "without"
        out[f"{region}, f 0.9, alpha {TTL_ALPHA}, {label} shield: shortest TTL (s) for >= 50%"] = (
            round(edge, 2)
            if edge is not None
            else f"none on the grid (reduction {rows.reduction.min():.0%} to "
            f"{rows.reduction.max():.0%})"
        )
    for region, rows in table.groupby("region", sort=False):
        needed = float(rows.needed_hit_share.median())
        out[f"{region}: edge hit share needed for 50% (closed form, B / 2(B - 2e))"] = (
            round(needed, 3) if needed <= 1 else f"unreachable ({needed:.2f} > 1)"
        )
    gap = (table.reduction - table.predicted_reduction).abs().max()
    out["closed form H (B - 2e) / B against the simulated reduction: largest gap"] = round(
        float(gap), 3
    )
    out["largest reduction anywhere"] = f"{table.reduction.max():.0%}"
    return out


DASH = {0.6: "dot", 0.8: "dash", 0.9: "longdash", 1.0: "solid", 1.2: "dashdot"}
COLOUR = {"us": "#636efa", "eu": "#ef553b", "ap": "#00cc96"}


def figure(table: pd.DataFrame) -> go.Figure:
    """Reduction of mean latency against the cacheable fraction and against the TTL.

    Colour is the clients' region, dash the Zipf exponent (left); on the right, circles
    are runs with the shield and crosses without it.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            "by cacheable fraction (TTL 5 min, shield)",
            f"by TTL (cacheable 0.9, Zipf {TTL_ALPHA})",
        ),
    )
    fractions = table[table.part == "fraction"]
    for (region, alpha), rows in fractions.groupby(["region", "alpha"], sort=False):
        rows = rows.sort_values("cacheable")
        fig.add_scatter(
            x=rows.cacheable,
            y=rows.reduction,
            name=f"{region}, Zipf {alpha}",
            showlegend=False,
            line={"color": COLOUR.get(region), "dash": DASH.get(alpha, "solid")},
            row=1,
            col=1,
        )
    ttl = table[table.part == "ttl"]
    for (region, shield), rows in ttl.groupby(["region", "shield"], sort=False):
        rows = rows.sort_values("ttl_s")
        fig.add_scatter(
            x=rows.ttl_s,
            y=rows.reduction,
            name=f"{region}, {'shield' if shield else 'no shield'}",
            showlegend=False,
            mode="lines+markers",
            marker={"symbol": "circle" if shield else "x", "size": 8 if shield else 10},
            line={"color": COLOUR.get(region), "dash": "solid" if shield else "dot"},
            row=1,
            col=2,
        )
    # One legend entry per region (colour), Zipf exponent (dash) and shield (marker).
    for region in dict.fromkeys(table.region):
        distance = f"{1000 * REGIONS[region]:.0f} ms" if region in REGIONS else ""
        _legend(fig, f"{region} clients (origin {distance} away)", color=COLOUR.get(region))
    for alpha in sorted(set(fractions.alpha)):
        _legend(fig, f"Zipf {alpha}", dash=DASH.get(alpha, "solid"))
    _legend(fig, "shield", symbol="circle")
    _legend(fig, "no shield", symbol="x")
    for col in (1, 2):
        fig.add_hline(y=TARGET, line={"color": "grey", "dash": "dot"}, row=1, col=col)
        fig.update_yaxes(title_text="mean latency reduction", range=[-0.05, 1], row=1, col=col)
    fig.update_xaxes(title_text="cacheable fraction of requests", row=1, col=1)
    fig.update_xaxes(title_text="TTL (s)", type="log", row=1, col=2)
    fig.update_layout(title="CDN: mean latency reduction against a route with nothing cached")
    return fig


def _legend(
    fig: go.Figure, name: str, *, color: str | None = None, dash: str = "solid", symbol: str = ""
) -> None:
    """A legend entry with no data."""
    fig.add_scatter(
        x=[None],
        y=[None],
        name=name,
        mode="markers" if symbol else "lines",
        marker={"symbol": symbol or "circle", "color": "grey", "size": 9},
        line={"color": color or "grey", "dash": dash},
    )


if __name__ == "__main__":
    main()

"""Vertical limits: the core count past which a bigger instance stops paying, by USL alpha, beta.

One app tier serves requests of 10 ms of CPU (exponential) on instances of the built-in
catalogue's general-purpose family (``m.large`` 2 cores ... ``m.16xlarge`` 64 cores,
priced in proportion to their cores), whose cores scale by the Universal Scalability Law
``X(N) = 100 N / (1 + alpha (N - 1) + beta N (N - 1))`` (``scaling: {alpha, beta}``).

- **Throughput per cost**: each size saturated (twice as many users as cores, no think
  time), its simulated throughput against ``X(N)``, and its throughput per unit price
  against scaling out the same cores as 2-core ``m.large`` instances. Scaling up "stops
  paying" past the largest size still giving at least 90% of scaling out's throughput
  per cost (with prices in proportion to cores that ratio is ``s(2) / s(N)``, ``s(N) =
  1 + alpha (N - 1) + beta N (N - 1)``); ``N* = sqrt((1 - alpha) / beta)`` is where even
  raw throughput peaks.
- **p99 at a fixed load**: Poisson traffic at 1000 requests/s on one instance of 16, 32
  or 64 cores against as many 2-core instances behind a least-connections balancer
  (the same cores and the same price): which design has the lower p99, by (alpha, beta).

Usage: ``python experiments/vertical_limits.py [--quick] [--out results] [--seed 1]
[--replications 2]``
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, mean, save
from plotly.subplots import make_subplots

import simperf
from simperf.analysis import usl_peak, usl_slowdown, usl_throughput
from simperf.spec.instances import load_catalogue

CPU_MEAN = 0.01  # seconds: one core alone serves 100 requests/s
PAIRS = [(0.0, 0.0), (0.01, 0.0), (0.05, 0.0), (0.01, 0.001)]
SIZES = {2: "m.large", 4: "m.xlarge", 8: "m.2xlarge", 16: "m.4xlarge", 32: "m.8xlarge",
         64: "m.16xlarge"}  # fmt: skip
LOAD = 1000.0  # requests/s for the p99 comparison
COMPARED = [16, 32, 64]  # total cores of each design at that load
PAYS = 0.9  # share of scaling out's throughput per cost that still "pays"
SERVICE = {"dist": "exponential", "mean": CPU_MEAN}


def tier(cores: int, alpha: float, beta: float, **extra: Any) -> dict[str, Any]:
    """An app server of the ``cores``-core general-purpose type, with USL cores."""
    return {
        "kind": "app_server",
        "instance_type": SIZES[cores],
        "scaling": {"alpha": alpha, "beta": beta},
        "endpoints": {"serve": [{"cpu": SERVICE}]},
        **extra,
    }


def saturated(cores: int, alpha: float, beta: float, duration: float) -> simperf.Scenario:
    """One instance kept busy: 2 x cores users with no think time."""
    return simperf.from_dict(
        {
            "name": "vertical_saturated",
            "workload": {
                "users": 2 * cores,
                "classes": [{"name": "r", "entry": "app", "endpoint": "serve"}],
            },
            "components": {"app": tier(cores, alpha, beta, workers=2 * cores)},
            "run": {"duration": duration, "warmup": duration / 10},
        }
    )


def at_load(design: str, cores: int, alpha: float, beta: float, duration: float) -> Any:
    """``LOAD`` requests/s on one ``cores``-core instance (up) or 2-core ones (out)."""
    if design == "up":
        components = {"app": tier(cores, alpha, beta)}
        entry = "app"
    else:
        components = {
            "lb": {"kind": "load_balancer", "policy": "least_connections", "backends": "app"},
            "app": tier(2, alpha, beta, replicas=cores // 2),
        }
        entry = "lb"
    return simperf.from_dict(
        {
            "name": f"vertical_{design}",
            "workload": {
                "arrival": {"kind": "poisson", "rate": LOAD},
                "classes": [{"name": "r", "entry": entry, "endpoint": "serve"}],
            },
            "components": components,
            "run": {"duration": duration, "warmup": duration / 10},
        }
    )


def throughput_rows(pairs: list[tuple[float, float]], args: Any) -> list[dict[str, Any]]:
    """Saturated throughput of every size, simulated and closed form, per unit price."""
    prices = {n: load_catalogue()[t].per_hour for n, t in SIZES.items()}
    duration = 1.0 if args.quick else 3.0
    rows = []
    for alpha, beta in pairs:
        out_per_cost = float(usl_throughput(2, 1 / CPU_MEAN, alpha, beta)) / prices[2]
        for cores in SIZES:
            runs = [
                simperf.run(saturated(cores, alpha, beta, duration), seed=args.seed,
                            replication=r).to_dict()
                for r in range(args.replications)
            ]  # fmt: skip
            simulated = mean(runs, "throughput")
            rows.append(
                {
                    "alpha": alpha,
                    "beta": beta,
                    "cores": cores,
                    "type": SIZES[cores],
                    "price_per_hour": prices[cores],
                    "throughput": simulated,
                    "usl": float(usl_throughput(cores, 1 / CPU_MEAN, alpha, beta)),
                    "per_cost_vs_out": simulated / prices[cores] / out_per_cost,
                    "closed_form_vs_out": float(usl_slowdown(2, alpha, beta))
                    / float(usl_slowdown(cores, alpha, beta)),
                }
            )
    return rows


def p99_rows(pairs: list[tuple[float, float]], args: Any) -> list[dict[str, Any]]:
    """p99 at ``LOAD`` of scaling up against scaling out the same cores."""
    duration = 3.0 if args.quick else 15.0
    compared = COMPARED[:2] if args.quick else COMPARED
    rows = []
    for alpha, beta in pairs:
        for cores in compared:
            for design in ("up", "out"):
                runs = [
                    simperf.run(at_load(design, cores, alpha, beta, duration), seed=args.seed,
                                replication=r).to_dict()
                    for r in range(args.replications)
                ]  # fmt: skip
                per_instance = cores if design == "up" else 2
                capacity = float(usl_throughput(per_instance, 1 / CPU_MEAN, alpha, beta))
                capacity *= cores // per_instance
                rows.append(
                    {
                        "alpha": alpha,
                        "beta": beta,
                        "cores": cores,
                        "design": design,
                        "capacity": capacity,
                        "stable": capacity > LOAD,
                        "p99_ms": mean(runs, "latency.all.p99") * 1e3,
                        "mean_ms": mean(runs, "latency.all.mean") * 1e3,
                    }
                )
    return rows


def label(alpha: float, beta: float) -> str:
    return f"α={alpha:g}, β={beta:g}"


def figure(throughput: pd.DataFrame, p99: pd.DataFrame) -> go.Figure:
    """Left: saturated throughput by cores (simulated markers, X(N) lines). Middle: its
    throughput per cost over scaling out's. Right: p99 at the fixed load, up against out."""
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            "saturated throughput: simulated (o) and X(N) (line)",
            "throughput per cost, over scaling out",
            f"p99 at {LOAD:g}/s: one instance (solid) or 2-core ones (dotted)",
        ),
    )
    palette = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e"]
    for i, ((alpha, beta), group) in enumerate(throughput.groupby(["alpha", "beta"])):
        colour, name = palette[i % len(palette)], label(alpha, beta)
        fig.add_scatter(
            x=group["cores"],
            y=group["throughput"],
            mode="markers",
            name=name,
            marker={"color": colour, "size": 8},
            legendgroup=name,
            row=1,
            col=1,
        )
        fig.add_scatter(
            x=group["cores"],
            y=group["usl"],
            mode="lines",
            showlegend=False,
            line={"color": colour},
            legendgroup=name,
            row=1,
            col=1,
        )
        fig.add_scatter(
            x=group["cores"],
            y=group["per_cost_vs_out"],
            mode="lines+markers",
            showlegend=False,
            line={"color": colour},
            legendgroup=name,
            row=1,
            col=2,
        )
        lat = p99[(p99["alpha"] == alpha) & (p99["beta"] == beta)]
        for design, dash in (("up", "solid"), ("out", "dot")):
            d = lat[lat["design"] == design]
            fig.add_scatter(
                x=d["cores"],
                y=d["p99_ms"],
                mode="lines+markers",
                showlegend=False,
                line={"color": colour, "dash": dash},
                legendgroup=name,
                row=1,
                col=3,
            )
    fig.add_hline(y=PAYS, line={"color": "black", "dash": "dot"}, row=1, col=2)  # type: ignore[arg-type]
    for col in (1, 2, 3):
        fig.update_xaxes(title_text="cores", type="log", row=1, col=col)
    fig.update_yaxes(title_text="requests/s", row=1, col=1)
    fig.update_yaxes(title_text="ratio (1: as good as scaling out)", row=1, col=2)
    fig.update_yaxes(title_text="p99 (ms)", type="log", row=1, col=3)
    fig.update_layout(title="Vertical limits under the USL", template="plotly_white")
    return fig


def stops_paying(group: pd.DataFrame, column: str) -> int:
    """Largest size whose throughput per cost is still ``PAYS`` of scaling out's."""
    paying = group[group[column] >= PAYS]["cores"]
    return int(paying.max()) if len(paying) else 2


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    pairs = [PAIRS[0], PAIRS[2]] if args.quick else PAIRS
    throughput = pd.DataFrame(throughput_rows(pairs, args))
    p99 = pd.DataFrame(p99_rows(pairs, args))
    frame = pd.concat([throughput.assign(part="throughput"), p99.assign(part="p99")])
    save("vertical_limits", frame, figure(throughput, p99), args)
    boundaries: dict[str, Any] = {
        "simulated saturated throughput over X(N) (range)": (
            round(float((throughput["throughput"] / throughput["usl"]).min()), 4),
            round(float((throughput["throughput"] / throughput["usl"]).max()), 4),
        )
    }
    for (alpha, beta), group in throughput.groupby(["alpha", "beta"]):
        peak = usl_peak(alpha, beta)
        lat = p99[(p99["alpha"] == alpha) & (p99["beta"] == beta)].set_index(["cores", "design"])
        p99s = {
            int(c): (round(float(lat.loc[(c, "up"), "p99_ms"]), 1),
                     round(float(lat.loc[(c, "out"), "p99_ms"]), 1))
            for c in sorted({c for c, _ in lat.index})
        }  # fmt: skip
        key = f"{label(alpha, beta)}: up pays up to (simulated, X(N)), N*, p99 up/out ms"
        boundaries[key] = (
            (stops_paying(group, "per_cost_vs_out"), stops_paying(group, "closed_form_vs_out")),
            None if math.isinf(peak) else round(peak, 1),
            p99s,
        )
    conclude("vertical_limits", boundaries, args)


if __name__ == "__main__":
    main()

"""Scaling up or out: the cheapest configuration meeting a p99 SLO, by load.

One app tier serves requests of 100 ms of CPU (gamma, cv 0.5: a p99 of about 250 ms
with no queueing) under Poisson load from 5 to 900 requests/s. The SLO: p99 below
400 ms and under 0.1% errors, judged over replications (``simperf.capacity``).

- **Up (vertical)**: one instance, searched over its cores from 1 to 64 (the largest
  instance on offer: the ceiling).
- **Out (horizontal)**: 2-core instances behind a least-connections balancer, searched
  over their number from 1 to 128.

Prices (currency-neutral, per hour) follow one rule for both: an instance costs
``0.02 + 0.04 x cores ** 1.25``. The exponent above 1 is the assumption that makes
scaling up "simple but limited": cloud providers price their largest instance sizes
at a premium per core (and the balancer in front of the 2-core instances is taken to
cost nothing). Measured per load: each design's smallest size meeting the SLO, its
price, and which is cheaper; the load beyond which one 64-core instance cannot meet the
SLO at all. The sizes do not depend on prices, so the same answers are also priced
linearly (exponent 1), to show what the premium decides.

Usage: ``python experiments/scaling_vertical_horizontal.py [--quick] [--out results]
[--seed 1] [--replications 3]``
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save
from plotly.subplots import make_subplots

import simperf

SLO = ["latency.all.p99<400ms", "error_rate<0.1%"]
PRICE = {"per_instance": 0.02, "per_core": 0.04, "size_exponent": 1.25}
CEILING = 64  # cores of the largest instance
OUT_CORES = 2  # cores of each instance scaled out
SERVICE = {"dist": "gamma", "mean": "100ms", "cv": 0.5}
COLOURS = {"up": "#d62728", "out": "#1f77b4"}


def design(kind: str, rate: float, requests: int) -> simperf.Scenario:
    """The tier at ``rate`` requests/s, scaled up (one instance) or out (behind a balancer)."""
    app: dict[str, Any] = {
        "kind": "app_server",
        "cores": 1 if kind == "up" else OUT_CORES,
        "cost": PRICE,
        "endpoints": {"serve": [{"cpu": SERVICE}]},
    }
    components: dict[str, Any] = {"app": app}
    entry = "app"
    if kind == "out":
        components["lb"] = {
            "kind": "load_balancer",
            "policy": "least_connections",
            "backends": "app",
        }
        entry = "lb"
    horizon = requests / rate
    return simperf.from_dict(
        {
            "name": f"scale_{kind}",
            "workload": {
                "arrival": {"kind": "poisson", "rate": rate},
                "classes": [{"name": "request", "entry": entry, "endpoint": "serve"}],
            },
            "components": components,
            "run": {"duration": horizon, "warmup": 0.1 * horizon, "safety_cap": 2000},
        }
    )


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    rates = [20.0, 300.0, 800.0] if args.quick else [5.0, 20.0, 80.0, 200.0, 400.0, 600.0, 900.0]
    requests = 2_000 if args.quick else 40_000
    replications = max(args.replications, 2) if args.quick else max(args.replications, 3)
    rows = []
    for rate in rates:
        ranking = simperf.cheapest(
            {
                "up": (design("up", rate, requests), "components.app.cores", 1, CEILING),
                "out": (design("out", rate, requests), "components.app.replicas", 1, 128),
            },
            SLO,
            replications=replications,
            max_replications=4 * replications,
            seed=args.seed,
            executor="serial",  # the machine is shared
        )
        for name, search in ranking.searches.items():
            answer = search.answer or 0
            at = search.frame[search.frame[search.knob] == search.answer]
            p99 = at[at.metric == "latency.all.p99"]
            rows.append(
                {
                    "rate": rate,
                    "design": name,
                    "knob": search.knob,
                    "size": answer if search.met_at_high else None,
                    "cores": (answer * (1 if name == "up" else OUT_CORES))
                    if search.met_at_high
                    else None,
                    "cost_per_hour": search.cost,
                    "met": search.met_at_high,
                    "p99_ms": 1000 * p99["mean"].iat[0] if not p99.empty else None,
                    "p99_high_ms": 1000 * p99["high"].iat[0] if not p99.empty else None,
                    "probes": len(search.probes),
                    "runs": sum(len(p.runs) for p in search.probes),
                }
            )
    frame = pd.DataFrame(rows)
    frame["cost_linear"] = [
        _price(1 if r.design == "up" else r.size, r.cores, 1.0) if r.met else None
        for r in frame.itertuples()
    ]
    frame["cheapest"] = _cheapest(frame, "cost_per_hour")
    frame["cheapest_linear"] = _cheapest(frame, "cost_linear")
    save("scaling_vertical_horizontal", frame, figure(frame), args)
    conclude("scaling_vertical_horizontal", boundaries(frame), args)


def _price(instances: float, cores: float, exponent: float) -> float:
    """The price rule of the module docstring, with a chosen size exponent."""
    per_instance = cores / instances
    return instances * (PRICE["per_instance"] + PRICE["per_core"] * per_instance**exponent)


def _cheapest(frame: pd.DataFrame, column: str) -> list[str]:
    """Per row: "yes" for the cheaper design at its load, "tie" when both cost the same."""
    out = []
    for row in frame.itertuples():
        prices = frame[(frame.rate == row.rate) & frame.met.astype(bool)][column]
        mine = getattr(row, column)
        if mine is None or mine != mine or not len(prices):
            out.append("no")
        elif (prices - prices.min()).abs().lt(1e-9).sum() > 1:
            out.append("tie")
        else:
            out.append("yes" if abs(mine - prices.min()) < 1e-9 else "no")
    return out


def _winners(frame: pd.DataFrame, column: str) -> dict[float, str]:
    winners = {}
    for rate, group in frame.groupby("rate"):
        marks = dict(zip(group.design, group[column], strict=True))
        tie = "tie" in marks.values()
        winners[float(rate)] = "tie" if tie else next(d for d, m in marks.items() if m == "yes")
    return winners


def boundaries(frame: pd.DataFrame) -> dict[str, Any]:
    """Where each design wins, and where scaling up stops meeting the SLO."""
    by = frame.pivot(index="rate", columns="design", values="cost_per_hour")
    linear = frame.pivot(index="rate", columns="design", values="cost_linear")
    up = frame[frame.design == "up"].set_index("rate")
    failed = up.index[~up.met.astype(bool)]
    met = up.index[up.met.astype(bool)]
    return {
        "cheapest design by load (requests/s), size premium (exponent 1.25)": _winners(
            frame, "cheapest"
        ),
        "cheapest design by load (requests/s), linear price per core": _winners(
            frame, "cheapest_linear"
        ),
        "price per hour by load, up / out (premium)": {
            float(r): [_round(by.loc[r].get("up")), _round(by.loc[r].get("out"))] for r in by.index
        },
        "price per hour by load, up / out (linear)": {
            float(r): [_round(linear.loc[r].get("up")), _round(linear.loc[r].get("out"))]
            for r in linear.index
        },
        "cores needed by load, up / out": {
            float(r): [
                _round(frame[(frame.rate == r) & (frame.design == d)]["cores"].iat[0])
                for d in ("up", "out")
            ]
            for r in by.index
        },
        f"highest load one {CEILING}-core instance meets the SLO at (requests/s)": float(met.max())
        if len(met)
        else None,
        f"lowest load no {CEILING}-core instance meets the SLO at (requests/s)": float(failed.min())
        if len(failed)
        else None,
    }


def _round(value: Any) -> Any:
    return None if value is None or value != value else round(float(value), 4)


def figure(frame: pd.DataFrame) -> go.Figure:
    """Price and cores at the SLO against load, scaled up and out."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("price per hour at the SLO", "cores at the SLO")
    )
    for name, label in (("up", "one instance, more cores"), ("out", "more 2-core instances")):
        sub = frame[frame.design == name].sort_values("rate")
        for col, y in ((1, "cost_per_hour"), (2, "cores")):
            fig.add_scatter(
                x=sub.rate,
                y=sub[y],
                name=label,
                legendgroup=name,
                showlegend=col == 1,
                mode="lines+markers",
                line={"color": COLOURS[name]},
                row=1,
                col=col,
            )
    # a trace rather than add_hline: shapes on a log axis are placed in log10 units
    rates = [float(frame.rate.min()), float(frame.rate.max())]
    fig.add_scatter(
        x=rates,
        y=[CEILING, CEILING],
        mode="lines",
        name=f"largest instance: {CEILING} cores",
        line={"color": "grey", "dash": "dot"},
        row=1,
        col=2,
    )
    for col in (1, 2):
        fig.update_xaxes(title_text="load (requests/s)", type="log", row=1, col=col)
    fig.update_yaxes(title_text="price per hour", type="log", row=1, col=1)
    fig.update_yaxes(title_text="cores", type="log", row=1, col=2)
    fig.update_layout(title="Scaling up or out to meet p99 < 400 ms")
    return fig


if __name__ == "__main__":
    main()

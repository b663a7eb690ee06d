"""Growing traffic: when scaling up stops working, and what each way costs until then.

The tier of ``scaling_vertical_horizontal.py`` (requests of 100 ms of CPU, gamma cv
0.5; SLO p99 below 400 ms and under 0.1% errors, judged over replications) starts at
100 requests/s (10 cores' worth of work) and grows by 3%, 10% or 25% a month,
compounding, for 24 months. Each month, each design is resized to the smallest size
meeting the SLO (``simperf.growth``, a capacity search per month from the previous
month's size up):

- **Up (vertical)**: one instance, 1 to 64 cores (the largest instance on offer).
- **Out (horizontal)**: 2-core instances behind a least-connections balancer, 1 to 128.

Prices as there: an instance costs ``0.02 + 0.04 x cores ** 1.25`` per hour (large
instances at a premium per core). Measured per growth rate and design: the month the
SLO stops holding (no size in range meets it), the cost until then, and the cost over
the 24 months where the design lasts that long; the same sizes are also priced linearly
in cores (exponent 1), to show what the premium decides.

Usage: ``python experiments/growth_projection.py [--quick] [--out results] [--seed 1]
[--replications 3]``
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save
from plotly.subplots import make_subplots
from scaling_vertical_horizontal import CEILING, OUT_CORES, PRICE, SLO, design

import simperf

START_RATE = 100.0
GROWTH = [0.03, 0.10, 0.25]
MONTHS = 24
COLOURS = {"up": "#d62728", "out": "#1f77b4"}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    growths = [0.25] if args.quick else GROWTH
    months = 4 if args.quick else MONTHS
    requests = 800 if args.quick else 6_000
    replications = max(args.replications, 2) if args.quick else max(args.replications, 3)
    designs = {
        # run.requests keeps each month's run equally long in requests as the rate grows
        name: (
            design(name, START_RATE, requests).with_overrides(
                {"run.duration": None, "run.requests": requests, "run.warmup": 0.5}
            ),
            knob,
            1,
            high,
        )
        for name, knob, high in (
            ("up", "components.app.cores", CEILING),
            ("out", "components.app.replicas", 128),
        )
    }
    frames, summaries = [], []
    for growth in growths:
        projection = simperf.growth(
            designs,
            SLO,
            rate=growth,
            months=months,
            replications=replications,
            max_replications=4 * replications,
            seed=args.seed,
            executor="serial",  # the machine is shared
        )
        frames.append(projection.frame.assign(growth=growth))
        summaries.append(projection.designs.assign(growth=growth))
    frame = pd.concat(frames, ignore_index=True)
    frame["cores"] = [
        None if r.size != r.size else r.size * (1 if r.design == "up" else OUT_CORES)
        for r in frame.itertuples()
    ]
    frame["cost_linear"] = linear_cost(frame)
    summary = pd.concat(summaries, ignore_index=True)
    summary["cost_linear_until_breach"] = [
        frame[(frame.growth == r.growth) & (frame.design == r.design)]["cost_linear"].sum()
        for r in summary.itertuples()
    ]
    save("growth_projection", frame, figure(frame, summary, months), args)
    summary.to_csv(args.out / "growth_projection_designs.csv", index=False)
    conclude("growth_projection", boundaries(summary, months), args)


def linear_cost(frame: pd.DataFrame) -> list[float | None]:
    """Each month's cost with prices linear in cores (size exponent 1): the same sizes,
    without the premium of large instances."""
    out: list[float | None] = []
    for r in frame.itertuples():
        if r.cores != r.cores or r.cores is None:
            out.append(None)
            continue
        instances = 1 if r.design == "up" else r.cores / OUT_CORES
        out.append(730.0 * (instances * PRICE["per_instance"] + PRICE["per_core"] * r.cores))
    return out


def figure(frame: pd.DataFrame, summary: pd.DataFrame, months: int) -> go.Figure:
    """Left: cores needed each month, per growth rate and design (a line ends at the
    breach). Right: cumulative cost of each design."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("cores needed to meet the SLO", "cumulative cost")
    )
    styles = ("dot", "dash", "solid")
    dashes = dict(zip(sorted(frame.growth.unique()), styles, strict=False))
    for (growth, name), group in frame[frame.met.astype(bool)].groupby(["growth", "design"]):
        label = f"{name}, {growth:.0%}/month"
        line = {"color": COLOURS[name], "dash": dashes.get(growth, "solid")}
        fig.add_scatter(
            x=group["month"], y=group["cores"], mode="lines+markers", name=label, line=line,
            legendgroup=label, row=1, col=1,
        )  # fmt: skip
        fig.add_scatter(
            x=group["month"], y=group["cost"].cumsum(), mode="lines", line=line,
            legendgroup=label, showlegend=False, row=1, col=2,
        )  # fmt: skip
    fig.add_hline(y=CEILING, line={"color": "grey", "dash": "dot"}, row=1, col=1)
    fig.update_xaxes(title_text="month", range=[-0.5, months - 0.5])
    fig.update_yaxes(title_text="cores", type="log", row=1, col=1)
    fig.update_yaxes(title_text="cost (price per hour x 730 h a month)", row=1, col=2)
    fig.update_layout(
        title="Growth: scaling up lasts until the largest instance; scaling out goes on",
        template="plotly_white",
    )
    return fig


def boundaries(summary: pd.DataFrame, months: int) -> dict[str, Any]:
    """Per growth rate and design: breach month and costs."""
    out: dict[str, Any] = {}
    for row in summary.itertuples():
        key = f"{row.growth:.0%}/month, {row.design}"
        breach = None if pd.isna(row.breach_month) else int(row.breach_month)
        out[f"{key}: breach month (None: holds {months} months)"] = breach
        out[f"{key}: cost until breach / over the horizon"] = (
            None if pd.isna(row.cost_until_breach) else round(float(row.cost_until_breach), 1),
            None if pd.isna(row.cost_over_horizon) else round(float(row.cost_over_horizon), 1),
        )
        out[f"{key}: cost until breach, prices linear in cores"] = round(
            float(row.cost_linear_until_breach), 1
        )
    return out


if __name__ == "__main__":
    main()

"""A region goes dark: its clients' latency when the next region serves them, and
whether the next region has the capacity.

Three regions (one-way latencies us-eu 40 ms, us-ap 90 ms, eu-ap 120 ms) each run their
own web tier behind geographic balancing (GeoDNS-like: a request goes straight from its
client's region to the chosen tier). Poisson traffic at 600 requests/s: 40% of clients
in eu, 40% in us, 20% in ap; a request holds a core for a gamma-distributed 8 ms (cv
0.5). eu has 2 instances of 2 cores, ap 2. Every eu instance is down from 20 s to 40 s:
eu's clients go to the next region in latency order, us, paying the 80 ms round trip.

The grid: us with 2, 3, 4 or 6 instances (2 cores each): 240 requests/s of its own, 480
during the evacuation, against 250/s per instance. Measured over the outage and before
it: us's utilisation, p50 and p99 of all requests, the requests served per region, and
the latency of eu's clients during the outage (the requests that started in it and took
at least the 80 ms round trip: their count is checked against eu's share of the
arrivals, which holds while us's own clients wait less than 80 ms). Compared with: an
evacuated client's latency is the round trip plus its time in us, at least 80 ms + 8 ms
at the median of an idle us.

Usage: ``python experiments/region_evacuation.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save
from plotly.subplots import make_subplots

import simperf

RATE, SHARES = 600.0, {"eu": 0.4, "us": 0.4, "ap": 0.2}
DARK_AT, DARK_FOR, END = 20.0, 20.0, 60.0
ROUND_TRIP = 0.080  # eu <-> us, there and back
US_INSTANCES = [2, 3, 4, 6]


def web(region: str, replicas: int) -> dict[str, Any]:
    """A web tier in ``region``: ``replicas`` instances of 2 cores."""
    return {
        "kind": "app_server",
        "region": region,
        "replicas": replicas,
        "cores": 2,
        "workers": 256,
        "endpoints": {"page": [{"cpu": {"dist": "gamma", "mean": "8ms", "cv": 0.5}}]},
    }


def evacuation_scenario(us_instances: int, scale: float) -> Any:
    """Three regions; every eu instance down from ``DARK_AT`` for ``DARK_FOR`` (scaled)."""
    return simperf.from_dict(
        {
            "name": "region_evacuation",
            "workload": {
                "arrival": {"kind": "poisson", "rate": RATE},
                "clients": {"regions": SHARES},
                "classes": [{"name": "page", "entry": "geo", "endpoint": "page"}],
            },
            "network": {
                "regions": ["us", "eu", "ap"],
                "latency": {"us": {"eu": "40ms", "ap": "90ms"}, "eu": {"ap": "120ms"}},
            },
            "components": {
                "geo": {
                    "kind": "load_balancer",
                    "policy": "geographic",
                    "backends": ["web_eu", "web_us", "web_ap"],
                },
                "web_eu": web("eu", 2),
                "web_us": web("us", us_instances),
                "web_ap": web("ap", 2),
            },
            "faults": [{"component": "web_eu", "at": DARK_AT * scale, "for": DARK_FOR * scale}],
            "run": {"duration": END * scale, "warmup": 0, "window": 1.0 * scale},
        }
    )


def point(us_instances: int, args: Any) -> dict[str, Any]:
    """Replications of one point, averaged."""
    scale = 0.25 if args.quick else 1.0
    start, stop = DARK_AT * scale, (DARK_AT + DARK_FOR) * scale
    rows = []
    for r in range(args.replications):
        result = simperf.run(
            evacuation_scenario(us_instances, scale), seed=args.seed, replication=r
        )
        requests = result.requests
        ok = requests[requests["outcome"] == "ok"]
        # the first seconds are the tiers starting empty; the outage's first and last
        # second are left out so that requests straddling its edges do not count
        before = ok[(ok["start"] >= 2 * scale) & (ok["end"] < start)]
        during = ok[(ok["start"] >= start + scale) & (ok["end"] < stop - scale)]
        evacuated = during[during["latency"] >= ROUND_TRIP]
        span = (stop - scale) - (start + scale)
        ts = result.timeseries
        util = ts[(ts["component"] == "web_us") & (ts["metric"] == "utilization")]
        util = util.set_index("start")["value"]
        served = result.to_dict()["components"]
        rows.append(
            {
                "us_util_before": float(
                    util[(util.index >= 2 * scale) & (util.index < start)].mean()
                ),
                "us_util_during": float(util[(util.index >= start) & (util.index < stop)].mean()),
                "p50_before": float(before["latency"].quantile(0.5)),
                "p99_before": float(before["latency"].quantile(0.99)),
                "p50_during": float(during["latency"].quantile(0.5)),
                "p99_during": float(during["latency"].quantile(0.99)),
                "eu_p50_during": float(evacuated["latency"].quantile(0.5)),
                "eu_p99_during": float(evacuated["latency"].quantile(0.99)),
                # requests at least a round trip long over eu's expected arrivals
                "evacuated_share_check": len(evacuated) / (RATE * SHARES["eu"] * span),
                "failed": result.to_dict()["requests"]["failed"],
                "served_eu": served["web_eu"]["served"],
                "served_us": served["web_us"]["served"],
                # ap serves its own clients only: 1 when none of eu's came to it
                "ap_over_own_share": served["web_ap"]["served"]
                / (RATE * SHARES["ap"] * END * scale),
            }
        )
    out: dict[str, Any] = {"us_instances": us_instances}
    out.update(pd.DataFrame(rows).mean().to_dict())
    return out


def figure(frame: pd.DataFrame) -> go.Figure:
    """Left: latency before and during the outage (all clients, and eu's evacuated
    clients) against us's instances. Right: us's utilisation before and during."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("latency (ms)", "us utilisation"),
    )
    x = frame["us_instances"]
    for column, name, dash in (
        ("eu_p99_during", "eu clients in us, p99", "solid"),
        ("eu_p50_during", "eu clients in us, p50", "dot"),
        ("p99_during", "all, p99 during the outage", "solid"),
        ("p99_before", "all, p99 before", "dash"),
    ):
        fig.add_scatter(
            x=x, y=frame[column] * 1e3, mode="markers+lines", name=name,
            line={"dash": dash}, row=1, col=1,
        )  # fmt: skip
    fig.add_scatter(
        x=x, y=np.full(len(x), ROUND_TRIP * 1e3), mode="lines", name="eu-us round trip",
        line={"color": "black", "dash": "dot"}, row=1, col=1,
    )  # fmt: skip
    fig.add_scatter(
        x=x, y=frame["us_util_during"], mode="markers+lines", name="us during", row=1, col=2
    )
    fig.add_scatter(
        x=x, y=frame["us_util_before"], mode="markers+lines", name="us before",
        line={"dash": "dash"}, row=1, col=2,
    )  # fmt: skip
    fig.update_xaxes(title_text="us instances (2 cores each)", row=1, col=1)
    fig.update_xaxes(title_text="us instances (2 cores each)", row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_layout(
        title="eu goes dark: its clients pay the round trip to us, and us needs the headroom",
        template="plotly_white",
    )
    return fig


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    instances = [3, 6] if args.quick else US_INSTANCES
    frame = pd.DataFrame([point(n, args) for n in instances])
    save("region_evacuation", frame, figure(frame), args)
    conclude(
        "region_evacuation",
        {
            "eu clients in us during the outage, p50 / p99 ms (by us instances)": {
                f"{int(r.us_instances)}": (
                    round(r.eu_p50_during * 1e3, 1),
                    round(r.eu_p99_during * 1e3, 1),
                )
                for r in frame.itertuples()
            },
            "all requests p99 before -> during, ms": {
                f"{int(r.us_instances)}": (
                    round(r.p99_before * 1e3, 1),
                    round(r.p99_during * 1e3, 1),
                )
                for r in frame.itertuples()
            },
            "us utilisation before -> during": {
                f"{int(r.us_instances)}": (round(r.us_util_before, 3), round(r.us_util_during, 3))
                for r in frame.itertuples()
            },
            "requests >= round trip over eu's arrivals (1: clean split)": {
                f"{int(r.us_instances)}": round(r.evacuated_share_check, 3)
                for r in frame.itertuples()
            },
            "failed requests (most)": float(frame["failed"].max()),
            "requests served in ap over its own clients' share (most)": round(
                float(frame["ap_over_own_share"].max()), 3
            ),
        },
        args,
    )


if __name__ == "__main__":
    main()

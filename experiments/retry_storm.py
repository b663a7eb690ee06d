"""Retry storms: does a short surge leave the system down after it ends, and what gets it out?

Clients send Poisson traffic at ``RATE`` through a gateway (many workers, no CPU of its
own) to an API tier of ``CORES`` cores, exponential CPU of mean ``CPU`` (utilisation
``RATE x CPU / CORES`` = 0.75). The gateway's call to the API has a ``TIMEOUT``; for
``T`` seconds from ``TRIGGER`` the arrival rate is ``SURGE`` times higher (the trigger),
then back to normal for ``AFTER`` T (``MIN_AFTER`` at least). The abandoned work of a
timed-out attempt goes on (no cancellation), so every retry adds load the API must still
serve, unless its queue drops the attempts the gateway has given up on
(``queue.drop_expired``: each attempt carries the end of its timeout as its deadline).

Policies on the gateway's call: no retry; naive retries (3 attempts, no backoff); the
same with a 10% retry budget; with exponential backoff and full jitter; with a circuit
breaker. Policies on the API's queue, behind no retry or naive retries: ``drop_expired``;
adaptive LIFO (newest first while more than ``LIFO_OVER`` wait), with and without
``drop_expired``. Measured, by arrival window: **goodput**, the share of the requests arriving in
the window that end ``ok``; the **recovery time**, from the end of the trigger to the end
of the last window whose goodput is below 95%, judged only on the windows that end the
clients' give-up time (``give_up``: every attempt's timeout and backoff) or more before the
run's end, so that the requests still in flight at the end pull none down; a run has
recovered when the last of those windows is at 95% or more, and is censored at the end of
the run otherwise (``recovery``); with t intervals over replications; the **wasted** share of
the attempts the API served (those that answered no request). The boundary: the shortest
trigger that tips naive retries into a metastable state, over a grid of ``T``.
Writes the per-run table, and the goodput series the figure draws (first replication of
each policy, trigger ``T``) to ``retry_storm_series.csv``.

Usage: ``python experiments/retry_storm.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, save

import simperf
from simperf.metrics.stats import t_interval
from simperf.units import parse_time

RATE, CORES, CPU = 300.0, 4, 0.01
TIMEOUT = "100ms"
SURGE = 1.5
TRIGGER, T, AFTER = 10.0, 5.0, 12.0  # trigger at 10 s for T; the run goes on 12 T after it
WINDOW = 1.0
MIN_AFTER = 12 * WINDOW
"""The shortest run after the trigger: 12 T of a short trigger is a window or less, too
few to tell a storm that lasts from a backlog still draining."""
POLICIES: dict[str, dict[str, Any]] = {
    "no retry": {},
    "naive retries": {"retry": {"attempts": 3}},
    "retry budget 10%": {"retry": {"attempts": 3, "budget": {"ratio": 0.1}}},
    "backoff + jitter": {
        "retry": {"attempts": 3, "backoff": {"base": "50ms", "cap": "1s", "jitter": "full"}}
    },
    "breaker": {"retry": {"attempts": 3}},
    "no retry + drop_expired": {},
    "naive retries + drop_expired": {"retry": {"attempts": 3}},
    "naive retries + adaptive lifo": {"retry": {"attempts": 3}},
    "naive retries + adaptive lifo + drop_expired": {"retry": {"attempts": 3}},
}
LIFO_OVER = 20  # half the 100 ms timeout's worth of the API's 400/s
API_QUEUE: dict[str, dict[str, Any]] = {
    "no retry + drop_expired": {"drop_expired": True},
    "naive retries + drop_expired": {"drop_expired": True},
    "naive retries + adaptive lifo": {"lifo_over": LIFO_OVER},
    "naive retries + adaptive lifo + drop_expired": {"lifo_over": LIFO_OVER, "drop_expired": True},
}
"""The API's queue by policy (default: FIFO, serving everything). With ``drop_expired``
it drops an attempt the gateway has given up on (its timeout passed) when a worker would
pick it; adaptive LIFO serves the newest first while more than ``LIFO_OVER`` wait."""
BREAKER = {"window": 50, "min_calls": 20, "failure_ratio": 0.5, "wait": "2s", "probes": 5}
COLOURS = {
    "no retry": "#7f7f7f",
    "naive retries": "#d62728",
    "retry budget 10%": "#2ca02c",
    "backoff + jitter": "#ff7f0e",
    "breaker": "#1f77b4",
    "no retry + drop_expired": "#9467bd",
    "naive retries + drop_expired": "#8c564b",
    "naive retries + adaptive lifo": "#e377c2",
    "naive retries + adaptive lifo + drop_expired": "#17becf",
}


def surge_arrival(surge: float, trigger_length: float, end: float) -> dict[str, Any]:
    """Poisson arrivals at ``RATE``, ``surge`` times higher for ``trigger_length`` from
    ``TRIGGER``, over a run of ``end`` (the spec's ``rate`` is the run's mean)."""
    mean_rate = (RATE * (end - trigger_length) + surge * RATE * trigger_length) / end
    return {
        "kind": "piecewise",
        "rate": mean_rate,
        "profile": [[0, RATE], [TRIGGER, surge * RATE], [TRIGGER + trigger_length, RATE]],
    }


def storm_scenario(policy: str, trigger_length: float, end: float) -> Any:
    """The gateway -> API stack with a surge of ``trigger_length`` from ``TRIGGER``."""
    gateway: dict[str, Any] = {
        "kind": "app_server",
        "workers": 100_000,
        "endpoints": {"get": [{"call": "api.get", "timeout": TIMEOUT, **POLICIES[policy]}]},
    }
    if policy == "breaker":
        gateway["breakers"] = {"api": BREAKER}
    api: dict[str, Any] = {
        "kind": "app_server",
        "cores": CORES,
        "endpoints": {"get": [{"cpu": {"dist": "exponential", "mean": CPU}}]},
    }
    if policy in API_QUEUE:
        api["queue"] = API_QUEUE[policy]
    return simperf.from_dict(
        {
            "name": "retry_storm",
            "workload": {
                "arrival": surge_arrival(SURGE, trigger_length, end),
                "classes": [{"name": "get", "entry": "gateway", "endpoint": "get"}],
            },
            "components": {
                "gateway": gateway,
                "api": api,
            },
            "run": {"duration": end, "warmup": 0},
        }
    )


def goodput(result: simperf.Result, end: float) -> pd.DataFrame:
    """Share of the requests arriving in each window that end ``ok``.

    The requests still in flight at the end count as not ``ok`` in the window holding the
    run's end (none when the windows stop short of it), since they arrived within their
    clients' give-up time of it; ``recovery`` judges no window they may fall in."""
    requests = result.requests
    edges = np.arange(0.0, end + WINDOW / 2, WINDOW)
    arrived, _ = np.histogram(requests["start"], edges)
    ok, _ = np.histogram(requests["start"][requests["outcome"] == "ok"], edges)
    arrived += np.histogram(_in_flight_starts(result), edges)[0]
    share = np.divide(ok, arrived, out=np.zeros(len(ok)), where=arrived > 0)
    return pd.DataFrame({"start": edges[:-1], "goodput": share})


def _in_flight_starts(result: simperf.Result) -> np.ndarray:
    # requests still in flight at the end have no record: put them at the end, not half a
    # window before it, which falls in a whole window when the end is not on a window edge
    missing = result.data["requests"]["in_flight"]
    return np.full(missing, result.data["end_time"])


def recovery(
    series: pd.DataFrame, trigger_end: float, end: float, give_up: float
) -> tuple[float, bool]:
    """Recovery judged on the windows whose arrivals have all had time to end.

    A window is judged when it ends ``give_up`` (the longest a request can last before its
    client gives up) or more before the run's ``end``: the requests still in flight at the
    end arrived after that, so they pull no judged window down. The run has *recovered*
    when the last judged window is at 95% goodput or more; the recovery time runs from
    ``trigger_end`` to the end of the last judged window below 95% (0 when none is). A run
    whose last judged window is below 95% is censored: its time is ``end - trigger_end``,
    a lower bound.

    Parameters
    ----------
    series : pandas.DataFrame
        Goodput by arrival window (``goodput``'s frame).
    trigger_end : float
        End of the surge (s).
    end : float
        End of the run (s).
    give_up : float
        The longest a request can last (s): its client's give-up time.

    Returns
    -------
    tuple of (float, bool)
        The recovery time (s) and whether the run recovered.
    """
    judged = series[(series["start"] >= trigger_end) & (series["start"] + WINDOW <= end - give_up)]
    if judged.empty or float(judged["goodput"].iloc[-1]) < 0.95:
        return end - trigger_end, False
    low = judged[judged["goodput"] < 0.95]
    if low.empty:
        return 0.0, True
    return float(low["start"].max()) + WINDOW - trigger_end, True


def give_up(policy: str) -> float:
    """The longest a request can last under ``policy`` (s): every attempt timing out, and
    each retry waiting the backoff's ``cap`` (a bound on any jitter)."""
    retry = POLICIES[policy].get("retry", {})
    attempts = retry.get("attempts", 1)
    backoff = retry.get("backoff", {})
    wait = parse_time(backoff["cap"]) if backoff else 0.0
    return attempts * parse_time(TIMEOUT) + (attempts - 1) * wait


def horizon(trigger_length: float) -> float:
    """End of the run: 12 T after the trigger, and ``MIN_AFTER`` at least."""
    return TRIGGER + trigger_length + max(AFTER * trigger_length, MIN_AFTER)


def replicate(policy: str, trigger_length: float, args: Any) -> list[dict[str, Any]]:
    """One row per replication: recovery time and mean goodput over the 10 T after."""
    end = horizon(trigger_length)
    scenario = storm_scenario(policy, trigger_length, end)
    rows = []
    for r in range(args.replications):
        result = simperf.run(scenario, seed=args.seed, replication=r)
        calls = result.data["calls"]["gateway->api"]
        rows.append(
            {
                "policy": policy,
                "T": trigger_length,
                "replication": r,
                **outcome(result, trigger_length, end, give_up(policy)),
                "amplification": calls["amplification"],
                "breaker_opens": calls.get("breaker_opens", 0),
            }
        )
    return rows


def outcome(
    result: simperf.Result, trigger_length: float, end: float, give_up: float
) -> dict[str, Any]:
    """A surge run's recovery (``recovery``'s, clients giving up after ``give_up``), goodput
    during the surge and over the 10 T after (one window at least), the API's served and
    expired counts and its wasted share (work that answered no request: given up, or lost),
    and the goodput series."""
    series = goodput(result, end)
    trigger_end = TRIGGER + trigger_length
    took, recovered = recovery(series, trigger_end, end, give_up)
    span = max(10 * trigger_length, WINDOW)
    after = series[(series["start"] >= trigger_end) & (series["start"] < trigger_end + span)]
    during = series[(series["start"] >= TRIGGER) & (series["start"] < trigger_end)]
    api = result.data["components"]["api"]
    ok = result.data["requests"]["ok"]
    return {
        "recovery": took,
        "recovered": recovered,
        "recovery_in_T": took / trigger_length,
        "goodput_during": float(during["goodput"].mean()),
        "goodput_10T_after": float(after["goodput"].mean()),
        "max_goodput_10T_after": float(after["goodput"].max()),
        "served": api["served"],
        "expired": api.get("expired", 0),
        "wasted": 1.0 - ok / api["served"] if api["served"] else np.nan,
        "series": series,
    }


def figure(series: dict[str, pd.DataFrame], trigger_length: float) -> go.Figure:
    """Goodput by arrival window per policy (first replication), trigger shaded."""
    fig = goodput_figure(
        series,
        trigger_length,
        SURGE,
        COLOURS,
        "Retry storm: naive retries stay down after the surge; a budget recovers",
    )
    fig.add_hline(y=0.5, line_dash="dot", line_color="grey")
    return fig


def goodput_figure(
    series: dict[str, pd.DataFrame],
    trigger_length: float,
    surge: float,
    colours: dict[str, str],
    title: str,
) -> go.Figure:
    """Goodput by arrival window, a line per policy in ``colours``, the surge shaded and
    the 95% recovery threshold dotted."""
    fig = go.Figure()
    for policy, frame in series.items():
        fig.add_scatter(
            x=frame["start"] + WINDOW / 2, y=frame["goodput"], mode="lines", name=policy,
            line={"color": colours[policy]},
        )  # fmt: skip
    fig.add_vrect(
        x0=TRIGGER, x1=TRIGGER + trigger_length, fillcolor="grey", opacity=0.2, line_width=0,
        annotation_text=f"surge x{surge:g} for {trigger_length:g} s",
    )  # fmt: skip
    fig.add_hline(y=0.95, line_dash="dot", line_color="black")
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="goodput (share of arrivals that end ok)", range=[0, 1.05])
    fig.update_layout(title=title, template="plotly_white")
    return fig


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and 95% t half-width (0 with one value or no spread)."""
    found = t_interval(np.asarray(values, dtype=float))
    return float(found.mean), float(found.half_width or 0.0)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    length = 1.0 if args.quick else T
    policies = (
        ["naive retries", "retry budget 10%", "naive retries + drop_expired"]
        if args.quick
        else list(POLICIES)
    )
    rows = [row for policy in policies for row in replicate(policy, length, args)]
    boundary = [0.25] if args.quick else [0.1, 0.25, 0.5, 1.0, 2.0]
    rows += [row for t in boundary for row in replicate("naive retries", t, args)]
    # the first replication's series (the comprehension would otherwise keep the last)
    series = {
        row["policy"]: row["series"]
        for row in rows
        if row["T"] == length and row["replication"] == 0
    }
    frame = pd.DataFrame([{k: v for k, v in row.items() if k != "series"} for row in rows])
    save("retry_storm", frame, figure(series, length), args)
    pd.concat([s.assign(policy=p) for p, s in series.items()]).to_csv(
        args.out / "retry_storm_series.csv", index=False
    )
    main_rows = frame[frame["T"] == length]
    summary: dict[str, Any] = {}
    for policy, group in main_rows.groupby("policy", sort=False):
        mean, half = interval(list(group["recovery_in_T"]))
        summary[f"{policy}: recovery / T (mean, 95% half-width; recovered runs)"] = (
            round(mean, 2),
            round(half, 2),
            f"{int(group['recovered'].sum())}/{len(group)}",
        )
        for column, label in (
            ("goodput_during", "mean goodput during the surge"),
            ("goodput_10T_after", "mean goodput over the 10 T after"),
            ("wasted", "share of the API's served attempts wasted"),
        ):
            g_mean, g_half = interval(list(group[column]))
            summary[f"{policy}: {label} (95% half-width)"] = (round(g_mean, 3), round(g_half, 3))
    naive = frame[frame["policy"] == "naive retries"]
    tipped = naive.groupby("T")["recovered"].mean()
    summary["naive retries: share of runs recovered, by trigger length T (s)"] = {
        float(t): float(share) for t, share in tipped.items()
    }
    conclude("retry_storm", summary, args)


if __name__ == "__main__":
    main()

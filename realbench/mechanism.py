"""Where the real stack's per-request overhead goes, from a request log: what a request
that wakes an idle worker pays, and what a worker going from request to request does.

Usage::

    python -m realbench.mechanism results/realbench/requests.csv

Per load level it prints the latency outside the handler of the requests that found
their worker idle, by how long the worker had slept; the gap between a worker's
consecutive requests when the next was already waiting, by the request's place in its
busy period; the same gap by whether the request before it had found the worker idle,
with its plain and stratified means (:func:`simperf.calibrate.overhead.stratified_mean`);
and the components' times of idle arrivals against waiting ones.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from simperf.calibrate.overhead import stratified_mean

SLEPT_MS = (0, 2, 5, 8, 20, np.inf)
"""Bins of the worker's idle time before an idle arrival (ms)."""
SURELY_WAITED = 0.0015
"""A request sent this long before its predecessor ended surely found it busy (s): more
than the outside time, so it was at the server already."""


def per_request(level: pd.DataFrame) -> pd.DataFrame:
    """One level's requests in the worker's order, with ``slept`` (ms the worker had been
    idle when an idle arrival was sent; NaN for the others), ``beyond`` (ms of latency
    outside the handler), ``gap`` (ms from the previous end to this start, for requests
    that surely waited; NaN otherwise), ``place`` (1 for the first waiting request
    after an idle arrival, 2 for the next...; 0 for idle arrivals) and ``after_idle``
    (the worker's previous request had found it idle)."""
    if "worker" not in level:
        level = level.assign(worker=0)
    frame = level.sort_values(["worker", "server_start"]).reset_index(drop=True)
    start, end = frame["server_start"].to_numpy(), frame["server_end"].to_numpy()
    sent = frame["timestamp"].to_numpy()
    same = np.concatenate(
        [[False], frame["worker"].to_numpy()[1:] == frame["worker"].to_numpy()[:-1]]
    )
    previous = np.where(same, np.concatenate([[np.nan], end[:-1]]), -np.inf)
    idle = sent >= previous
    waited = sent + SURELY_WAITED < previous
    place = np.zeros(len(frame), int)
    for i in range(1, len(frame)):
        place[i] = 0 if idle[i] else place[i - 1] + 1
    ms = 1e3
    return frame.assign(
        idle=idle,
        slept=np.where(idle, (sent - previous) * ms, np.nan),
        beyond=(frame["latency"] - (end - start)).to_numpy() * ms,
        gap=np.where(waited, (start - previous) * ms, np.nan),
        place=place,
        after_idle=np.concatenate([[False], idle[:-1]]) & same,
    )


def by_idle(rows: pd.DataFrame) -> dict[str, float]:
    """The gap before a waiting request (ms) by whether the request before it had found
    the worker idle: each kind's mean and count, the share of all requests that found it
    idle, and the gap's plain mean against its mean stratified by that share."""
    waiting = rows[rows["gap"].notna()]
    after = waiting["after_idle"].to_numpy()
    gaps = waiting["gap"].to_numpy()
    stratified, _ = stratified_mean(gaps, after, rows["idle"].to_numpy())
    return {
        "after idle: mean": float(gaps[after].mean()) if after.any() else np.nan,
        "n": int(after.sum()),
        "after waited: mean": float(gaps[~after].mean()) if (~after).any() else np.nan,
        "n ": int((~after).sum()),
        "idle share": float(rows["idle"].mean()),
        "plain mean": float(gaps.mean()) if gaps.size else np.nan,
        "stratified mean": stratified,
    }


def tables(log: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The four tables, one row per load level (mean ms; counts in ``n`` columns)."""
    slept, gaps, idle_gaps, parts = [], [], [], []
    components = [c for c in log.columns if c.startswith("time_")]
    for load, level in log.groupby("load"):
        rows = per_request(level)
        bins = pd.cut(rows["slept"], SLEPT_MS, right=False)
        by_sleep = rows.groupby(bins, observed=True)["beyond"].mean()
        slept.append({"load": load, **{f"slept {b}": v for b, v in by_sleep.items()}})
        waiting = rows[rows["gap"].notna()]
        position = waiting["place"].clip(upper=5)
        gap = waiting.groupby(position)["gap"].agg(["mean", "median"])
        gaps.append(
            {
                "load": load,
                **{f"{'5+' if p == 5 else p}: {s}": gap.loc[p, s] for p in gap.index for s in gap},
                "n": len(waiting),
            }
        )
        idle_gaps.append({"load": load, **by_idle(rows)})
        for label, chosen in (("idle", rows["idle"]), ("waited", rows["gap"].notna())):
            means = rows.loc[chosen, components].mean() * 1e3
            parts.append(
                {"load": load, "arrival": label, **means.to_dict(), "n": int(chosen.sum())}
            )
    return {
        "outside the handler, idle arrivals, by the worker's sleep (ms)": pd.DataFrame(slept),
        "gap before a waiting request, by its place in the busy period (ms)": pd.DataFrame(gaps),
        "gap before a waiting request, by the request before it (ms)": pd.DataFrame(idle_gaps),
        "components, idle against waiting arrivals (ms)": pd.DataFrame(parts),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    for title, table in tables(pd.read_csv(args[0])).items():
        print(f"\n{title}\n{table.round(3).to_string(index=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

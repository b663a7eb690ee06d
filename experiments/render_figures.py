"""Static PNGs of experiment figures, for the README, from results already on disk.

Renders, without running any simulation:

- ``docs/img/cache_db_offload.png``: ``figure()`` of ``cache_db_offload.py`` applied to
  the per-point means that its ``main()`` builds from ``cache_db_offload.csv`` (the
  replications averaged per updates x alpha x capacity, plus Che's LRU hit rate);
- ``docs/img/connection_pooling.png``: the figure that ``connection_pooling.py``'s
  ``main()`` builds, from ``connection_pooling.csv`` (the frame that ``main()`` writes);
- ``docs/img/cdn_latency.png``: ``figure()`` of ``cdn_latency.py`` applied to
  ``cdn_latency.csv`` (the frame that its ``main()`` writes);
- ``docs/img/health_checks.png``: ``figure()`` of ``health_checks.py`` applied to
  ``health_checks.csv`` (the frame that its ``main()`` writes);
- ``docs/img/degradation.png``: ``figure()`` of ``degradation.py`` applied to
  ``degradation.csv`` (the frame that its ``main()`` writes);
- ``docs/img/scaling_vertical_horizontal.png``: ``figure()`` of
  ``scaling_vertical_horizontal.py`` applied to the CSV its ``main()`` writes;
- ``gray_failure``, ``failover_database``, ``cache_node_loss``, ``region_evacuation``,
  ``timeouts_tail``, ``autoscaling_diurnal``, ``estimate_accuracy`` and
  ``capacity_bracketing``: ``figure()`` of the script of that name applied to the CSV
  its ``main()`` writes (``docs/img/<name>.png``);
- ``docs/img/retry_storm.png``: ``figure()`` of ``retry_storm.py`` applied to the goodput
  series it writes to ``retry_storm_series.csv``, with the full run's trigger length;
- ``docs/img/growth_projection.png``: ``figure()`` of ``growth_projection.py`` applied to
  ``growth_projection.csv`` and ``growth_projection_designs.csv``, over the full run's
  months.

Each CSV is looked for in the results directories given, in order (default
``results/``), so results of different runs can be combined. Run the experiments in full
first: a ``--quick`` run's results would be drawn just the same.

Needs kaleido (``pip install kaleido``; not a project dependency, since the PNGs are
committed and the experiments themselves only write HTML) and a Chromium. Kaleido finds
the browser through the ``BROWSER_PATH`` environment variable, else by searching
``PATH``; this script sets ``BROWSER_PATH`` to ``/usr/bin/chromium`` (Debian's
``chromium`` package) when that exists and the variable is unset. Kaleido starts the
browser with ``--no-sandbox`` by default, so running as root needs no extra setting.

Usage: ``python experiments/render_figures.py [RESULTS ...] [--out docs/img] [--only NAME ...]``
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import autoscaling_diurnal
import cache_db_offload as offload
import cache_node_loss
import capacity_bracketing
import cdn_latency as cdn
import connection_pooling as pooling
import degradation
import estimate_accuracy
import failover_database
import gray_failure
import growth_projection as growth
import health_checks as health
import pandas as pd
import plotly.graph_objects as go
import region_evacuation
import retry_storm
import scaling_vertical_horizontal as scaling
import timeouts_tail
from cache_common import means

from simperf.analysis.caching import che_lru

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1200, 500


def cache_db_offload(csv: Path) -> go.Figure:
    """The figure ``cache_db_offload.py`` draws, from the per-run CSV it writes."""
    frame = pd.read_csv(csv)
    table = means(frame, ["updates", "alpha", "capacity"], offload.METRICS)
    table["che_lru_hit_rate"] = [
        che_lru(offload.probabilities(a), c)
        for a, c in zip(table["alpha"], table["capacity"], strict=True)
    ]
    return offload.figure(table)


def retry_storm_figure(csv: Path) -> go.Figure:
    """The figure ``retry_storm.py`` draws, from the series it writes next to its CSV."""
    drawn = pd.read_csv(csv.with_name("retry_storm_series.csv"))
    series = {
        str(policy): group[["start", "goodput"]]
        for policy, group in drawn.groupby("policy", sort=False)
    }
    return retry_storm.figure(series, retry_storm.T)


def growth_projection(csv: Path) -> go.Figure:
    """The figure ``growth_projection.py`` draws, from the two CSVs it writes."""
    designs = pd.read_csv(csv.with_name("growth_projection_designs.csv"))
    return growth.figure(pd.read_csv(csv), designs, growth.MONTHS)


def from_csv(module: Any) -> Callable[[Path], go.Figure]:
    """``module.figure()`` applied to the CSV that the module's ``main()`` writes."""

    def build(csv: Path) -> go.Figure:
        return module.figure(pd.read_csv(csv))

    return build


FIGURES: dict[str, Callable[[Path], go.Figure]] = {
    "cache_db_offload": cache_db_offload,
    "retry_storm": retry_storm_figure,
    "growth_projection": growth_projection,
} | {
    module.__name__: from_csv(module)
    for module in (
        pooling,
        cdn,
        health,
        degradation,
        scaling,
        gray_failure,
        failover_database,
        cache_node_loss,
        region_evacuation,
        timeouts_tail,
        autoscaling_diurnal,
        estimate_accuracy,
        capacity_bracketing,
    )
}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "results",
        nargs="*",
        type=Path,
        default=[ROOT / "results"],
        help="directories holding the experiments' CSVs, searched in order (default results/)",
    )
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="output directory")
    p.add_argument(
        "--only", nargs="+", choices=sorted(FIGURES), help="render these figures only (default all)"
    )
    args = p.parse_args()
    if "BROWSER_PATH" not in os.environ and CHROMIUM.is_file():
        os.environ["BROWSER_PATH"] = str(CHROMIUM)
    args.out.mkdir(parents=True, exist_ok=True)
    missing = []
    for name, build in FIGURES.items():
        if args.only and name not in args.only:
            continue
        csv = next((d / f"{name}.csv" for d in args.results if (d / f"{name}.csv").is_file()), None)
        if csv is None:
            missing.append(name)
            continue
        png = args.out / f"{name}.png"
        build(csv).write_image(png, width=WIDTH, height=HEIGHT, scale=1)
        print(f"wrote {png} from {csv}")
    if missing:
        where = ", ".join(str(d) for d in args.results)
        sys.exit(f"no {', '.join(f'{n}.csv' for n in missing)} in {where}")


if __name__ == "__main__":
    main()

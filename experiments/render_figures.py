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
  ``scaling_vertical_horizontal.py`` applied to the CSV its ``main()`` writes.

Each CSV is looked for in the results directories given, in order (default
``results/``), so results of different runs can be combined. Run the experiments in full
first: a ``--quick`` run's results would be drawn just the same.

Needs kaleido (``pip install kaleido``; not a project dependency, since the PNGs are
committed and the experiments themselves only write HTML) and a Chromium. Kaleido finds
the browser through the ``BROWSER_PATH`` environment variable, else by searching
``PATH``; this script sets ``BROWSER_PATH`` to ``/usr/bin/chromium`` (Debian's
``chromium`` package) when that exists and the variable is unset. Kaleido starts the
browser with ``--no-sandbox`` by default, so running as root needs no extra setting.

Usage: ``python experiments/render_figures.py [RESULTS ...] [--out docs/img]``
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cache_db_offload as offload
import cdn_latency as cdn
import connection_pooling as pooling
import degradation
import health_checks as health
import pandas as pd
import plotly.graph_objects as go
import scaling_vertical_horizontal as scaling
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


def connection_pooling(csv: Path) -> go.Figure:
    """The figure ``connection_pooling.py`` draws, from the CSV it writes."""
    return pooling.figure(pd.read_csv(csv))


def cdn_latency(csv: Path) -> go.Figure:
    """The figure ``cdn_latency.py`` draws, from the CSV it writes."""
    return cdn.figure(pd.read_csv(csv))


def health_checks(csv: Path) -> go.Figure:
    """The figure ``health_checks.py`` draws, from the CSV it writes."""
    return health.figure(pd.read_csv(csv))


def degradation_figure(csv: Path) -> go.Figure:
    """The figure ``degradation.py`` draws, from the CSV it writes."""
    return degradation.figure(pd.read_csv(csv))


def scaling_vertical_horizontal(csv: Path) -> go.Figure:
    """The figure ``scaling_vertical_horizontal.py`` draws, from the CSV it writes."""
    return scaling.figure(pd.read_csv(csv))


FIGURES = {
    "cache_db_offload": cache_db_offload,
    "connection_pooling": connection_pooling,
    "cdn_latency": cdn_latency,
    "health_checks": health_checks,
    "degradation": degradation_figure,
    "scaling_vertical_horizontal": scaling_vertical_horizontal,
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
    args = p.parse_args()
    if "BROWSER_PATH" not in os.environ and CHROMIUM.is_file():
        os.environ["BROWSER_PATH"] = str(CHROMIUM)
    args.out.mkdir(parents=True, exist_ok=True)
    missing = []
    for name, build in FIGURES.items():
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

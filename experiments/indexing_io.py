"""When does an index cut a query's I/O by 30%?

A query filters a 1,000,000-row table on a column with ``d`` distinct values (it matches
``1 / d`` of the rows), once with no index on the column (a full scan) and once with a
secondary index. For three row sizes (81, 20 and 5 rows per 8 KiB page) it measures, per
query, the pages read, the pages read from storage (buffer-pool misses, 64 MiB pool) and
the query time, and reports the largest matched fraction at which the index still saves
at least 30% of the page reads and of the storage reads.

Expectation from the cost model: an index reads about one heap page per matching row, a
scan every page, so the saving is ``1 - matches / pages`` and falls below 30% once a query
matches more than about ``0.7 / R`` of the rows (R rows per page).

Usage: ``python experiments/indexing_io.py [--quick] [--out results] [--seed 1]``
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from db_study import arguments, conclude, crossing, database, mean, measure, save, scenario

ROWS = 1_000_000
CLAIM = 0.30


def point(row_size: int, distinct: int, indexed: bool, args: object) -> dict[str, float]:
    indexes = {"by_kind": ["kind"]} if indexed else {}
    db = database(
        primary={"memory": "64MiB"},
        tables={
            "events": {
                "rows": ROWS,
                "row_size": row_size,
                "columns": {"kind": distinct},
                "indexes": indexes,
            }
        },
        queries={"by_kind": {"table": "events", "where": ["kind"]}},
    )
    # One query at a time (one user, no think time): what a query costs, not queueing.
    s = scenario(
        "indexing_io",
        {"db": db},
        [{"name": "q", "entry": "db", "endpoint": "by_kind"}],
        users=1,
        duration=20 if args.quick else 120,  # type: ignore[attr-defined]
        warmup=0,
    )
    runs = measure(s, args)  # type: ignore[arg-type]
    calls = mean(runs, "databases.db.queries.by_kind.calls")
    return {
        "pages_per_query": mean(runs, "databases.db.instances.db[primary].pages_read") / calls,
        "storage_reads_per_query": mean(runs, "databases.db.instances.db[primary].page_misses")
        / calls,
        "mean_ms": 1000 * mean(runs, "databases.db.queries.by_kind.mean"),
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    row_sizes = [400] if args.quick else [100, 400, 1600]
    grid = (
        [10_000, 100, 3]
        if args.quick
        else [100_000, 10_000, 1000, 300, 100, 50, 30, 20, 10, 5, 3, 2]
    )
    rows = []
    for row_size in row_sizes:
        for distinct in grid:
            for indexed in (False, True):
                rows.append(
                    {
                        "row_size": row_size,
                        "rows_per_page": 8192 // row_size,
                        "distinct": distinct,
                        "matched_fraction": 1 / distinct,
                        "indexed": indexed,
                        **point(row_size, distinct, indexed, args),
                    }
                )
    frame = pd.DataFrame(rows)
    scan = frame[~frame.indexed].set_index(["row_size", "distinct"])
    index = frame[frame.indexed].set_index(["row_size", "distinct"])
    saving = pd.DataFrame(
        {
            "page_saving": 1 - index.pages_per_query / scan.pages_per_query,
            "storage_saving": 1 - index.storage_reads_per_query / scan.storage_reads_per_query,
            "time_saving": 1 - index.mean_ms / scan.mean_ms,
        }
    ).reset_index()
    frame = frame.merge(saving, on=["row_size", "distinct"])
    figure = go.Figure()
    boundaries = {}
    for row_size in row_sizes:
        mine = saving[saving.row_size == row_size].sort_values("distinct", ascending=False)
        x = (1 / mine.distinct).tolist()
        per_page = 8192 // row_size
        for metric in ("page_saving", "storage_saving"):
            figure.add_scatter(
                x=x, y=mine[metric], mode="lines+markers", name=f"{metric}, {per_page} rows/page"
            )
            edge = crossing(x, mine[metric].tolist(), CLAIM, log_x=True)
            boundaries[f"{metric} >= 30% while matched fraction <= (R={per_page})"] = (
                f"{edge:.4%}" if edge is not None else "beyond the grid"
            )
        boundaries[f"0.7 / R (R={per_page})"] = f"{0.7 / per_page:.4%}"
    figure.add_hline(y=CLAIM, line_dash="dash", annotation_text="30% saving")
    figure.update_layout(
        title="I/O saved by a secondary index, by the fraction of rows a query matches",
        xaxis={"title": "fraction of the table's rows matched", "type": "log"},
        yaxis={"title": "saving (1 - indexed / scan)", "range": [-1, 1.05]},
    )
    save("indexing_io", frame, figure, args)
    conclude("indexing_io", boundaries, args)


if __name__ == "__main__":
    main()

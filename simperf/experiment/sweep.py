"""Sweeps: a grid of what-ifs, replicated, on any executor, resumable from a store."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pandas as pd

from simperf import checks
from simperf.errors import SpecError
from simperf.experiment.executors import completed, executor_for
from simperf.experiment.horizon import NOTHING_MEASURED, check_horizon, measured_nothing
from simperf.experiment.progress import bar as progress_bar
from simperf.experiment.replicate import run_to_dict
from simperf.experiment.store import ResultStore, canonical_hash
from simperf.metrics.paths import flatten
from simperf.spec.scenario import Scenario
from simperf.spec.size_estimate import check_size


def grid_points(
    grid: dict[str, list[Any]] | list[dict[str, Any]], *, zipped: bool = False
) -> list[dict[str, Any]]:
    """The points of a grid: the cartesian product of ``{path: values}`` (or the values
    zipped, all lists of one length), or an explicit list of override dicts."""
    if isinstance(grid, list):
        return [dict(point) for point in grid]
    if not grid:
        return [{}]
    paths = list(grid)
    values = [list(v) if isinstance(v, list | tuple) else [v] for v in grid.values()]
    for path, vals in zip(paths, values, strict=True):
        if not vals:
            raise SpecError(f"grid {path}: needs at least one value")
    if zipped:
        lengths = {len(v) for v in values}
        if len(lengths) > 1:
            raise SpecError(f"zipped grid: all value lists need one length, got {sorted(lengths)}")
        combos: Iterable[tuple[Any, ...]] = zip(*values, strict=True)
    else:
        combos = itertools.product(*values)
    return [dict(zip(paths, combo, strict=True)) for combo in combos]


def sweep(
    scenario: Scenario,
    grid: dict[str, list[Any]] | list[dict[str, Any]],
    *,
    zipped: bool = False,
    replications: int = 1,
    seed: int | None = None,
    executor: Executor | str | None = None,
    workers: int | None = None,
    store: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Run every grid point ``replications`` times and return a tidy frame.

    Every point and replication uses the streams of (seed, replication), so points are
    compared on common random numbers. Each point is validated before anything runs. With
    a ``store``, every finished run is written at once; ``resume=True`` skips the stored
    runs (and refuses a store written for another spec or seed). A run that fails is
    recorded with its error while the others go on.

    Returns
    -------
    pandas.DataFrame
        One row per (point, replication): ``point`` (index in the grid), ``replication``,
        one column per override path, ``status``, ``error``, ``warning`` (set when a run
        measured nothing: it ended inside its warm-up), then every metric by dotted path
        (``latency.all.p99``, ``components.app.utilization`` ...). A point whose
        request-bounded run would end inside its warm-up is refused before anything runs.

    Examples
    --------
    >>> import simperf
    >>> frame = simperf.sweep(simperf.load("models/mmc.yaml"),  # doctest: +SKIP
    ...                       {"components.app.cores": [4, 5, 6]}, replications=3)
    """
    if replications < 1:
        raise SpecError(f"replications: must be >= 1, got {replications}")
    checks.replications("replications", replications)
    seed = scenario.run.seed if seed is None else seed
    points = grid_points(grid, zipped=zipped)
    jobs: list[tuple[int, str, dict[str, Any], dict[str, Any]]] = []
    for index, point in enumerate(points):
        try:
            variant = scenario.with_overrides(point, flag="--grid", argument="grid")
            check_horizon(variant)
            check_size(variant)  # as the run would refuse it, but before any point runs
        except SpecError as exc:
            raise exc.prefixed(f"grid point {_describe(point)}:\n") from None
        jobs.append(
            (index, canonical_hash(point), point, variant.model_dump(mode="json", by_alias=True))
        )
    spec_hash = canonical_hash(
        {"spec": scenario.model_dump(mode="json", by_alias=True), "seed": seed}
    )
    results: dict[tuple[str, int], dict[str, Any]] = {}
    db = ResultStore(store, spec_hash, resume=resume) if store is not None else None
    try:
        done = db.finished() if db is not None else set()
        todo = [(j, r) for j in jobs for r in range(replications) if (j[1], r) not in done]
        bar = progress_bar(
            len(jobs) * replications,
            "sweep",
            progress,
            initial=len(jobs) * replications - len(todo),
        )
        tasks = [((key, rep, point), (data, seed, rep)) for (_, key, point, data), rep in todo]
        with executor_for(executor, workers=workers, jobs=len(todo)) as pool:
            try:
                for (key, rep, point), future in completed(pool, run_to_dict, tasks):
                    try:
                        outcome: dict[str, Any] = {"result": future.result()}
                    except Exception as exc:
                        outcome = {"error": f"{type(exc).__name__}: {exc}"}
                    results[(key, rep)] = outcome
                    if db is not None:
                        db.save(key, rep, point, **outcome)
                    bar.update(1)
            finally:
                bar.close()
        if db is not None:
            for row in db.rows():
                results.setdefault(
                    (row["point_key"], row["replication"]),
                    {"result": row["result"]} if row["status"] == "ok" else {"error": row["error"]},
                )
    finally:
        if db is not None:
            db.close()
    return _frame(jobs, replications, results)


def _frame(
    jobs: list[tuple[int, str, dict[str, Any], dict[str, Any]]],
    replications: int,
    results: dict[tuple[str, int], dict[str, Any]],
) -> pd.DataFrame:
    paths = list(dict.fromkeys(path for _, _, point, _ in jobs for path in point))
    rows = []
    for index, key, point, _ in jobs:
        for rep in range(replications):
            outcome = results.get((key, rep))
            if outcome is None:
                continue
            row: dict[str, Any] = {"point": index, "replication": rep}
            row.update({path: point.get(path) for path in paths})
            row["status"] = "ok" if "result" in outcome else "error"
            row["error"] = outcome.get("error")
            row["warning"] = (
                NOTHING_MEASURED
                if "result" in outcome and measured_nothing(outcome["result"])
                else None
            )
            if "result" in outcome:
                row["stability"] = outcome["result"]["stability"]["status"]
                row.update(flatten(outcome["result"]))
            rows.append(row)
    return pd.DataFrame(rows)


def _describe(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items()) or "(base)"

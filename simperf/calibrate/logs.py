"""Request logs: reading and checking the CSV that ``simperf calibrate`` fits.

The format (times in seconds, one row per request):

``timestamp``
    when the request was (scheduled to be) sent; required.
``latency``
    measured from ``timestamp`` to the last byte of the response; required.
``status``
    optional; rows whose status is neither 2xx nor ``ok`` are counted and left out.
``load``
    optional load-level label (a number: offered rate or utilisation); each level is
    fitted on its own, the lowest is the one the model is calibrated from.
``time_<name>``
    optional server-side duration of component ``<name>`` (CPU work, a database query...).
``server_start``, ``server_end``
    optional absolute times (same clock as ``timestamp``) the handler began and ended;
    with them the overhead is split into the part that holds the worker and the rest.
``worker``
    optional worker identifier (a process id) when several workers serve.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from simperf.errors import SimperfError

REQUIRED = ("timestamp", "latency")
COMPONENT_PREFIX = "time_"


class LogError(SimperfError):
    """A request log cannot be calibrated from (unreadable, missing columns, no rows)."""


def component_columns(log: pd.DataFrame) -> list[str]:
    """The ``time_<name>`` columns of ``log``, in file order."""
    return [c for c in log.columns if c.startswith(COMPONENT_PREFIX) and len(c) > 5]


def has_server_times(log: pd.DataFrame) -> bool:
    """Whether the log carries the handler's own start and end times."""
    return {"server_start", "server_end"} <= set(log.columns)


def read_log(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read and check a request log; keep the successful requests.

    Parameters
    ----------
    source
        A CSV path or a DataFrame with the columns described in this module.

    Returns
    -------
    pandas.DataFrame
        The successful rows sorted by ``timestamp``, with a ``load`` column (0.0 when the
        log had none) and a ``worker`` column (0 when it had none); ``attrs["failed"]``
        counts the rows left out for their status.

    Raises
    ------
    LogError
        The file cannot be read, a required column is missing, a value is not a finite
        number (or is negative where a duration is expected), or no successful row is left.
    """
    name = "log" if isinstance(source, pd.DataFrame) else str(source)
    if isinstance(source, pd.DataFrame):
        log = source.copy()
    else:
        try:
            log = pd.read_csv(source)
        except FileNotFoundError:
            raise LogError(f"{name}: cannot read file (no such file)") from None
        except pd.errors.EmptyDataError:
            raise LogError(f"{name}: the log is empty (expected a CSV header and rows)") from None
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise LogError(f"{name}: cannot read file ({exc})") from None
    missing = [c for c in REQUIRED if c not in log.columns]
    if missing:
        raise LogError(
            f"{name}: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, log.columns)) or 'none'})"
        )
    failed = 0
    if "status" in log.columns:
        status = log["status"].astype(str).str.strip().str.lower()
        ok = status.str.match(r"^2\d\d(\.0)?$") | (status == "ok")
        failed = int((~ok).sum())
        log = log[ok]
    numeric = [*REQUIRED, *component_columns(log)]
    numeric += [c for c in ("load", "server_start", "server_end") if c in log.columns]
    for column in numeric:
        values = pd.to_numeric(log[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise LogError(f"{name}: {column}: row {row + 1} is not a finite number")
        log[column] = values.astype(float)
    durations = ["latency", *component_columns(log)]
    for column in durations:
        if (log[column] < 0).any():
            raise LogError(f"{name}: {column}: durations must be >= 0")
    if log.empty:
        raise LogError(f"{name}: no successful request to calibrate from ({failed} failed)")
    if "load" not in log.columns:
        log["load"] = 0.0
    if "worker" not in log.columns:
        log["worker"] = 0
    log = log.sort_values("timestamp", kind="stable").reset_index(drop=True)
    log.attrs["failed"] = failed
    return log

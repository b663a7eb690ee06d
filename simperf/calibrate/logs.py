"""Request logs: reading and checking the CSV that ``simperf calibrate`` fits.

The format (times in seconds, one row per request):

``timestamp``
    when the request was (scheduled to be) sent; required.
``latency``
    measured from ``timestamp`` to the last byte of the response; required.
``status``
    optional; rows whose status is neither 2xx nor ``ok`` failed: they were sent, so
    they count in the arrival rate (:func:`read_requests`' third frame), but their
    latencies are no service times; the server-side times they logged are (see
    :func:`simperf.calibrate.core.failures`). Those that timed
    out (``timeout``, 408 or 504) are counted apart and kept
    (:func:`read_requests`): they are the slowest requests, each known only to have
    taken longer than its latency (the timeout; empty: longer than every completed
    request of its level), so their service times are fitted as right-censored.
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
TIMED_OUT = r"^(timeout|timed[ _]out|408|504)(\.0)?$"
"""Statuses of a request the client gave up on (or a gateway did): its time is only
known to exceed the timeout."""


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

    The timed-out rows are :func:`read_requests`'s second frame.

    Parameters
    ----------
    source
        A CSV path or a DataFrame with the columns described in this module.

    Returns
    -------
    pandas.DataFrame
        The successful rows sorted by ``timestamp``, with a ``load`` column (0.0 when the
        log had none) and a ``worker`` column (0 when it had none); ``attrs["failed"]``
        counts the rows left out for their status, ``attrs["timed_out"]`` those of them
        that timed out, by load level.

    Raises
    ------
    LogError
        The file cannot be read, a required column is missing, a value is not a finite
        number (or is negative where a duration is expected), or no successful row is left.
    """
    return read_requests(source)[0]


def read_requests(
    source: str | Path | pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read and check a request log: its successful rows, its timed-out ones and the
    send times of the others that failed.

    Parameters
    ----------
    source
        A CSV path or a DataFrame with the columns described in this module.

    Returns
    -------
    tuple of pandas.DataFrame
        The successful rows, as :func:`read_log` returns them; the timed-out rows
        sorted by ``timestamp`` with the same ``load`` and ``worker`` columns, their
        latency and other times NaN where the log has none (or no usable one); and the
        other failed rows, as the timed-out ones (a failed request arrived like any
        other: it counts in the offered rate; the server-side times it logged measure
        its service).

    Raises
    ------
    LogError
        As :func:`read_log`; a failed row must have its send time too.
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
    # rows are numbered as in the file (1 = the first after the header), whatever
    # is left out before a bad value is found
    log = log.reset_index(drop=True)
    failed = 0
    by_load: dict[float, int] = {}
    if "status" in log.columns:
        status = log["status"].astype(str).str.strip().str.lower()
        ok = status.str.match(r"^2\d\d(\.0)?$") | (status == "ok")
        failed = int((~ok).sum())
        timed_out = log[status.str.match(TIMED_OUT)]
        if not timed_out.empty:
            load = (
                pd.to_numeric(timed_out["load"], errors="coerce").fillna(0.0)
                if "load" in log.columns
                else pd.Series(0.0, index=timed_out.index)
            )
            counts = load.value_counts()
            by_load = {float(k): int(v) for k, v in counts.items()}
        late = _failed(name, log[status.str.match(TIMED_OUT)])
        errors = _failed(name, log[~ok & ~status.str.match(TIMED_OUT)])
        log = log[ok]
    else:
        late = _failed(name, log.iloc[:0])
        errors = _failed(name, log.iloc[:0])
    numeric = [*REQUIRED, *component_columns(log)]
    numeric += [c for c in ("load", "server_start", "server_end") if c in log.columns]
    for column in numeric:
        log[column] = _numbers(name, column, log[column])
    durations = ["latency", *component_columns(log)]
    for column in durations:
        if (log[column] < 0).any():
            raise LogError(f"{name}: {column}: durations must be >= 0")
    _check_units(name, log)
    _check_clocks(name, log)
    if log.empty:
        raise LogError(f"{name}: no successful request to calibrate from ({failed} failed)")
    if "load" not in log.columns:
        log["load"] = 0.0
    if "worker" not in log.columns:
        log["worker"] = 0
    log = log.sort_values("timestamp", kind="stable").reset_index(drop=True)
    log.attrs["failed"] = failed
    log.attrs["timed_out"] = by_load
    return log, late, errors


def _failed(name: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Failed (or timed-out) rows: the send time checked as any row's, every other time
    a number or NaN (a request given up on, or cut short by an error, may have no
    latency or server time logged)."""
    rows = rows.copy()
    rows["timestamp"] = _numbers(name, "timestamp", rows["timestamp"])
    durations = ["latency", *component_columns(rows)]
    others = [c for c in ("load", "server_start", "server_end") if c in rows.columns]
    for column in [*durations, *others]:
        values = pd.to_numeric(rows[column], errors="coerce").astype(float)
        usable = np.isfinite(values) & ((values >= 0) | (column not in durations))
        rows[column] = values.where(usable)
    if "load" not in rows.columns:
        rows["load"] = 0.0
    rows["load"] = rows["load"].fillna(0.0)
    if "worker" not in rows.columns:
        rows["worker"] = 0
    return rows.sort_values("timestamp", kind="stable").reset_index(drop=True)


def _numbers(name: str, column: str, raw: pd.Series) -> pd.Series:
    """``raw`` as floats, or a LogError naming the first row that is not a usable number
    (not a number, not finite, or so large that its square overflows a float)."""
    what = {"load": "a number", "timestamp": "seconds, such as Unix time"}.get(column, "seconds")
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    x = values.to_numpy()
    bad = ~np.isfinite(x)
    if bad.any():
        label = raw.index[int(np.flatnonzero(bad)[0])]
        value = "empty" if pd.isna(raw[label]) else repr(raw[label])
        raise LogError(
            f"{name}: {column}: row {label + 1} is not a finite number ({value}; expected {what})"
        )
    with np.errstate(over="ignore"):
        huge = ~np.isfinite(x * x)
    if huge.any():
        label = raw.index[int(np.flatnonzero(huge)[0])]
        raise LogError(
            f"{name}: {column}: row {label + 1} is {values[label]:g}, too large to compute "
            f"with (expected {what})"
        )
    return values


def _check_units(name: str, log: pd.DataFrame) -> None:
    """Refuse a log whose server-side times exceed the latency in most rows: a part
    longer than its whole is a time in another unit (milliseconds among seconds). A
    few such rows are clock rounding and are let through."""
    columns = component_columns(log)
    if columns:
        part, what = log[columns].sum(axis=1), " + ".join(columns)
    elif has_server_times(log):
        part, what = log["server_end"] - log["server_start"], "server_end - server_start"
    else:
        return
    over = (part > log["latency"]).to_numpy()
    if over.sum() * 2 > len(log):
        first = int(np.flatnonzero(over)[0])
        label = log.index[first]
        raise LogError(
            f"{name}: {what} exceed the latency in {int(over.sum())} of {len(log)} rows "
            f"(row {label + 1}: {part.iloc[first]:g} s against {log['latency'].iloc[first]:g} s): "
            "every time must be in seconds"
        )


# Times are compared to the microsecond: finer is float rounding (an end computed as
# timestamp + latency), not a clock.
CLOCK_RESOLUTION = 1e-6


def _check_clocks(name: str, log: pd.DataFrame) -> None:
    """Refuse server times on another clock than ``timestamp``: on one clock a handler
    starts after its request was sent and ends before its response is in, so a log in
    which most handlers do not is skewed, and its split of the overhead (which compares
    send times with handler ends) would be wrong without a word."""
    if not has_server_times(log) or log.empty:
        return
    early = (log["timestamp"] - log["server_start"]).to_numpy()
    late = (log["server_end"] - log["timestamp"] - log["latency"]).to_numpy()
    off = (early > CLOCK_RESOLUTION) | (late > CLOCK_RESOLUTION)
    if off.sum() * 2 > len(log):
        by = float(np.median(np.maximum(early, late)[off]))
        raise LogError(
            f"{name}: server_start before timestamp or server_end after timestamp + latency "
            f"in {int(off.sum())} of {len(log)} rows (by {by * 1e3:.3g} ms, median): "
            "server times must be on the clock of timestamp"
        )

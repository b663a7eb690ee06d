"""CPU per app server, endpoint and step (``run.profile``) as a tidy frame.

The counts come from :mod:`simperf.components.profiling`: exact sums of what every
``cpu`` step drew in the measured period, not a sample.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

COLUMNS = ["component", "endpoint", "step", "calls", "cpu_seconds", "mean", "cores", "share"]


def profile_frame(section: dict[str, Any], measured_time: float) -> pd.DataFrame:
    """One row per ``cpu`` step of each app server's endpoints, in the order written.

    Parameters
    ----------
    section
        The result's ``cpu_profile`` section: server -> endpoint -> step index ->
        ``calls`` and ``cpu_seconds``.
    measured_time
        The measured period (simulated seconds).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``step`` the step's index in its endpoint, ``calls`` the
        steps started, ``cpu_seconds`` the core-seconds they asked for, ``mean`` that per
        call, ``cores`` the cores they kept busy on average over the measured period,
        ``share`` of all the profiled CPU. Empty without ``run.profile``.
    """
    rows = [
        (component, endpoint, int(index), step["calls"], step["cpu_seconds"])
        for component, endpoints in section.items()
        for endpoint, steps in endpoints.items()
        for index, step in steps.items()
    ]
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.DataFrame(rows, columns=COLUMNS[:5])
    frame["mean"] = frame["cpu_seconds"] / frame["calls"].where(frame["calls"] > 0)
    frame["cores"] = frame["cpu_seconds"] / measured_time if measured_time > 0 else None
    total = frame["cpu_seconds"].sum()
    frame["share"] = frame["cpu_seconds"] / total if total > 0 else None
    return frame.sort_values(["component", "endpoint", "step"], ignore_index=True)[COLUMNS]

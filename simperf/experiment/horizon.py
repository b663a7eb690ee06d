"""Whether a run bounded by a request count will outlast its warm-up, known before it runs.

An open workload of ``requests`` arrivals at a constant ``rate`` lasts about
``requests / rate`` seconds, and one on a diurnal or periodic piecewise profile until its
integrated rate reaches ``requests``; if that is no longer than a fixed warm-up, every
request is discarded and the run measures nothing. The length of a closed workload, of
an MMPP, replayed or non-periodic piecewise arrival process, or of an automatic warm-up
is only known after the run: its result says so instead (``measured_time`` 0).
"""

from __future__ import annotations

from typing import Any

from simperf.errors import SpecError
from simperf.spec.scenario import Scenario
from simperf.spec.size_estimate import expected_arrivals, expected_duration
from simperf.spec.workload import TIME_VARYING_ARRIVALS

NOTHING_MEASURED = "the run ended before the warm-up did: nothing was measured"


def expected_arrival_time(scenario: Scenario) -> float | None:
    """Expected time of the last arrival of a request-bounded open workload at a constant
    rate or on a diurnal or periodic piecewise profile, else None (not known before the
    run)."""
    # expected_arrivals is None where the arrivals' pace is not known before the run
    if scenario.run.requests is None or expected_arrivals(scenario, 0.0) is None:
        return None
    return expected_duration(scenario)


def check_horizon(scenario: Scenario, *, where: str = "") -> None:
    """Refuse a request-bounded run whose arrivals all fall inside the fixed warm-up.

    Parameters
    ----------
    scenario
        The scenario as it will run.
    where
        Prefix of the message (a sweep names its grid point).

    Raises
    ------
    SpecError
        Naming ``run.requests`` and ``run.warmup`` and the expected arrival time.
    """
    end = expected_arrival_time(scenario)
    warmup = scenario.run.fixed_warmup
    if end is None or scenario.run.auto_warmup or end > warmup:
        return
    arrival: Any = scenario.workload.arrival
    rate = f"{float(arrival.rate):g}/s"
    profiled = arrival.kind in TIME_VARYING_ARRIVALS
    pace = f"on the {arrival.kind} profile (mean {rate})" if profiled else f"at {rate}"
    needed = expected_arrivals(scenario, warmup)
    raise SpecError(
        f"{where}run.requests: {scenario.run.requests} requests {pace} arrive within "
        f"{end:g} s, inside the warm-up (run.warmup = {warmup:g} s): nothing would be "
        f"measured; ask for more than {needed:.0f} requests or a shorter warm-up"
    )


def measured_nothing(result: dict[str, Any]) -> bool:
    """Whether a run's result (``Result.to_dict()``) measured no time at all."""
    return float(result.get("measured_time") or 0.0) <= 0.0

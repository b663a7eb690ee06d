"""Which metrics a scenario reports, known before anything long runs."""

from __future__ import annotations

from simperf.errors import SpecError
from simperf.experiment.run import run
from simperf.metrics.paths import flatten
from simperf.spec.scenario import Scenario


def known_metrics(scenario: Scenario) -> list[str]:
    """Every metric path a run of this scenario reports (from a 50-request dry run)."""
    probe = scenario.with_overrides(
        {"run.duration": None, "run.requests": 50, "run.warmup": 0, "run.precision": None}
    )
    return list(flatten(run(probe, seed=0).to_dict()))


def check_metric(scenario: Scenario, metric: str, *, what: str = "metric") -> None:
    """Raise SpecError naming close matches if ``metric`` is not reported by the scenario."""
    known = known_metrics(scenario)
    if metric in known:
        return
    import difflib

    close = difflib.get_close_matches(metric, known, n=5, cutoff=0.5)
    hint = f" (did you mean: {', '.join(close)}?)" if close else ""
    raise SpecError(f"{what}: unknown metric {metric!r}{hint}")

"""Agreement with theory: the mean over replications must lie within its confidence
half-width (plus any stated approximation error) of the closed-form value, and the
half-width itself must be small enough to mean something."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

import simperf
from simperf.experiment.replicate import Replications, replicate
from simperf.metrics.stats import t_interval

CONFIDENCE = 0.999
MEAN_WIDTH = 0.03  # half-width at most 3% of theory for means
TAIL_WIDTH = 0.05  # and 5% for p95/p99

SHORT_SHARE = 0.25
"""Share of the full horizon that ``make test`` runs of a long agreement check."""


def horizons(short: float = SHORT_SHARE) -> list[Any]:
    """Parametrize a long check over these: ``make test`` runs it on ``short`` of its
    horizon, ``make validate`` on the whole of it, with the same assertions."""
    return [
        pytest.param(short, id="short"),
        pytest.param(1.0, id="full", marks=pytest.mark.validate),
    ]


HORIZONS = horizons()
"""A quarter of the horizon in ``make test``, all of it in ``make validate``."""


def width(full: float, share: float) -> float:
    """The widest meaningful interval on ``share`` of the horizon that allows ``full``.

    A half-width shrinks as one over the square root of the simulated time, so a quarter
    of the horizon doubles it: the same check, at the power that time buys.
    """
    return full / math.sqrt(share)


@dataclass
class Check:
    metric: str
    theory: float
    mean: float
    half_width: float

    def __str__(self) -> str:
        return (
            f"{self.metric}: simulated {self.mean:.6g} ± {self.half_width:.3g} "
            f"(99.9%), theory {self.theory:.6g}"
        )


ENGINES = [pytest.param("events", id="events"), pytest.param("fast", id="fast")]
"""Parametrize a check of a model the fast path computes over both engines."""


def replications(
    spec: simperf.Scenario | dict[str, Any], n: int, seed: int = 1, engine: str = "events"
) -> Replications:
    """``n`` replications on ``engine``: the event engine unless a test asks for the fast
    path, so that every check against theory holds the event engine to it."""
    scenario = spec if isinstance(spec, simperf.Scenario) else simperf.from_dict(spec)
    scenario = scenario.with_overrides({"run.engine": engine})
    return replicate(scenario, n, seed=seed, executor="serial")


def agrees(
    reps: Replications,
    metric: str,
    theory: float,
    *,
    max_width: float = MEAN_WIDTH,
    approximation: float = 0.0,
) -> Check:
    """Assert |mean - theory| <= half-width + approximation * theory, with a narrow interval."""
    return values_agree(
        reps.values(metric), metric, theory, max_width=max_width, approximation=approximation
    )


def values_agree(
    values: list[float],
    metric: str,
    theory: float,
    *,
    max_width: float = MEAN_WIDTH,
    approximation: float = 0.0,
) -> Check:
    """:func:`agrees` on one value per replication taken by hand (a figure inside a list
    of the result, which metric paths do not reach)."""
    iv = t_interval([v for v in values if v == v], CONFIDENCE)
    check = Check(metric, theory, iv.mean, iv.half_width)
    assert iv.half_width is not None
    assert iv.half_width <= max_width * abs(theory), f"interval too wide to test: {check}"
    assert abs(iv.mean - theory) <= iv.half_width + approximation * abs(theory), str(check)
    return check


def conserved_and_little(reps: Replications) -> None:
    """Conservation exactly, and Little's law within edge effects, in every replication."""
    for run in reps.runs:
        req = run["requests"]
        assert req["generated"] == req["ok"] + sum(req["errors"].values()) + req["in_flight"]
        c = run["checks"]
        assert c["arrival_rate"] * c["mean_time_in_system"] == _approx(c["mean_in_system"], 0.03)


def _approx(value: float, rel: float) -> Any:
    return pytest.approx(value, rel=rel)


def open_spec(
    name: str,
    rate: float,
    components: dict[str, Any],
    *,
    entry: str = "app",
    duration: float,
    warmup: float,
    endpoint: str = "serve",
) -> dict[str, Any]:
    return {
        "name": name,
        "workload": {
            "arrival": {"kind": "poisson", "rate": rate},
            "classes": [{"name": "req", "entry": entry, "endpoint": endpoint}],
        },
        "components": components,
        "run": {"duration": duration, "warmup": warmup},
    }


def server(cores: int = 1, service: Any = None, **extra: Any) -> dict[str, Any]:
    service = service or {"dist": "exponential", "mean": 0.01}
    return {
        "kind": "app_server",
        "cores": cores,
        "endpoints": {"serve": [{"cpu": service}]},
        **extra,
    }

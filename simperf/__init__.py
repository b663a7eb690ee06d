"""simperf: predict how a backend architecture performs before anyone builds it.

Examples
--------
>>> import simperf
>>> scenario = simperf.load("models/mm1.yaml")  # doctest: +SKIP
>>> result = simperf.run(scenario, seed=1)  # doctest: +SKIP
>>> print(result.summary())  # doctest: +SKIP
"""

from __future__ import annotations

from simperf.dbcost.explain import explain, explain_text
from simperf.errors import (
    BuildError,
    SimperfError,
    SimperfWarning,
    SimulationError,
    SpecError,
    SpecFileError,
)
from simperf.estimate import Estimate, estimate
from simperf.experiment.capacity import Capacity, capacity
from simperf.experiment.cheapest import Ranking, cheapest
from simperf.experiment.compare import Comparison, compare
from simperf.experiment.growth import Growth, growth
from simperf.experiment.replicate import Replications, replicate
from simperf.experiment.run import run
from simperf.experiment.sweep import sweep
from simperf.metrics.result import Result
from simperf.metrics.usl_fit import UslFit, fit_usl
from simperf.spec.io import from_dict, json_schema, load
from simperf.spec.scenario import Scenario

__version__ = "0.1.0"

__all__ = [
    "BuildError",
    "Capacity",
    "Comparison",
    "Estimate",
    "Growth",
    "Ranking",
    "Replications",
    "Result",
    "Scenario",
    "SimperfError",
    "SimperfWarning",
    "SimulationError",
    "SpecError",
    "SpecFileError",
    "UslFit",
    "capacity",
    "cheapest",
    "compare",
    "estimate",
    "explain",
    "explain_text",
    "fit_usl",
    "from_dict",
    "growth",
    "json_schema",
    "load",
    "replicate",
    "run",
    "sweep",
]

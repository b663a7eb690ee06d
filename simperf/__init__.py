"""simperf: predict how a backend architecture performs before anyone builds it.

Examples
--------
>>> import simperf
>>> scenario = simperf.load("models/mm1.yaml")  # doctest: +SKIP
>>> result = simperf.run(scenario, seed=1)  # doctest: +SKIP
>>> print(result.summary())  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simperf.errors import (
    BuildError,
    SimperfError,
    SimperfWarning,
    SimulationError,
    SpecError,
    SpecFileError,
)
from simperf.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from simperf.calibrate import Calibration, calibrate
    from simperf.dbcost.explain import explain, explain_text
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

# The public API is imported on first use: ``import simperf`` (and the CLI's start-up)
# does not pay for pandas, scipy and the database model until something needs them.
lazy_exports(
    __name__,
    {
        "simperf.calibrate": ["Calibration", "calibrate"],
        "simperf.dbcost.explain": ["explain", "explain_text"],
        "simperf.estimate": ["Estimate", "estimate"],
        "simperf.experiment.capacity": ["Capacity", "capacity"],
        "simperf.experiment.cheapest": ["Ranking", "cheapest"],
        "simperf.experiment.compare": ["Comparison", "compare"],
        "simperf.experiment.growth": ["Growth", "growth"],
        "simperf.experiment.replicate": ["Replications", "replicate"],
        "simperf.experiment.run": ["run"],
        "simperf.experiment.sweep": ["sweep"],
        "simperf.metrics.result": ["Result"],
        "simperf.metrics.usl_fit": ["UslFit", "fit_usl"],
        "simperf.spec.io": ["from_dict", "json_schema", "load"],
        "simperf.spec.scenario": ["Scenario"],
    },
)

__version__ = "0.1.0"

__all__ = [
    "BuildError",
    "Calibration",
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
    "calibrate",
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

"""Importing simperf is cheap: the public API is imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import simperf
import simperf.analysis

from conftest import ROOT

HEAVY = ("pandas", "scipy", "plotly", "simperf.components.database", "simperf.dbcost.explain")


def test_importing_simperf_loads_none_of_the_heavy_modules() -> None:
    code = f"import sys, simperf; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_public_names_resolve_on_first_use_and_are_listed() -> None:
    from simperf.experiment.run import run

    assert simperf.run is run
    assert {"run", "load", "Result"} <= set(dir(simperf))
    # the subpackage's import does not rebind the function of the same name
    from simperf.estimate import core

    assert simperf.estimate is core.estimate
    assert simperf.analysis.mm1(1.0, 2.0).mean_sojourn == pytest.approx(1.0)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        simperf.nothing  # noqa: B018

"""Importing simperf is cheap: the public API is imported on first use."""

from __future__ import annotations

import json
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


def _loaded_after(code: str) -> list[str]:
    """The heavy modules (and numpy, pydantic, SimPy) a fresh interpreter holds after ``code``."""
    heavy = (*HEAVY, "numpy", "pydantic", "simpy", "simperf.experiment.run")
    loaded = f"[m for m in {heavy!r} if m in sys.modules]"
    probe = f"import json, sys\n{code}\nprint(json.dumps({loaded}))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_cli_parser_and_help_load_no_library() -> None:
    # every command's module is imported to build the parser: none may import the engine,
    # the spec layer or a library at its top, or --help and --version pay for all of them
    code = (
        "from simperf.cli import build_parser, main\n"
        "build_parser()\n"
        "try:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code) == []


def test_validate_loads_the_spec_layer_only() -> None:
    # a spec without SLOs or precision needs no dry run: no engine, pandas or scipy
    code = "from simperf.cli import main\nassert main(['validate', 'models/mm1.yaml']) == 0"
    assert _loaded_after(code) == ["numpy", "pydantic"]


def test_a_run_loads_no_scipy_it_does_not_call() -> None:
    # the estimate beside a run solves for a root or an Erlang tail only on some specs:
    # scipy (some 0.4 s of the first run's start-up) is loaded when one is called
    code = (
        "import simperf\n"
        "scenario = simperf.load('models/web_tier.yaml')\n"
        "simperf.run(scenario.with_overrides({'run.duration': None, 'run.requests': 500}))"
    )
    loaded = _loaded_after(code)
    assert "simperf.experiment.run" in loaded
    assert "scipy" not in loaded and "plotly" not in loaded


def test_a_lazy_module_imports_at_its_first_attribute() -> None:
    from simperf.lazy import lazy_module

    code = (
        "from simperf.lazy import lazy_module\n"
        "special = lazy_module('scipy.special')\n"
        "assert 'scipy.special' not in sys.modules\n"
        "assert special.gammaln(1.0) == 0.0 and 'scipy.special' in sys.modules"
    )
    assert "scipy" in _loaded_after(code)
    # a module already imported is itself
    assert lazy_module("json") is json

"""The fast path's two ways of running its recursions: compiled (numba) and numpy."""

from __future__ import annotations

import importlib.util

import pytest

from simperf.fastpath import recursions

HAS_NUMBA = importlib.util.find_spec("numba") is not None


@pytest.fixture(params=["numba", "numpy"])
def recursion_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test once with the compiled kernels (skipped without numba), once without."""
    if request.param == "numba" and not HAS_NUMBA:
        pytest.skip("numba is not installed (the extra 'fast')")
    monkeypatch.setattr(recursions, "USE_NUMBA", request.param == "numba")
    monkeypatch.delenv("SIMPERF_NUMBA", raising=False)
    assert (recursions.compiled() is not None) == (request.param == "numba")
    return request.param

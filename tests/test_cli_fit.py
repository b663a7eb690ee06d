"""simperf fit-usl: alpha and beta from measured throughputs, exit status 2 on bad points."""

from __future__ import annotations

import json

import pytest

from simperf.analysis import usl_throughput
from simperf.cli import main

POINTS = [f"{n}:{float(usl_throughput(n, 100.0, 0.05, 0.002)):.6f}" for n in (1, 2, 4, 8, 16)]


def test_fit_usl_recovers_the_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit-usl", *POINTS, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rate"] == pytest.approx(100.0, rel=1e-5)
    assert data["alpha"] == pytest.approx(0.05, rel=1e-4)
    assert data["beta"] == pytest.approx(0.002, rel=1e-4)
    assert data["peak"] == pytest.approx((0.95 / 0.002) ** 0.5, rel=1e-4)
    assert main(["fit-usl", *POINTS]) == 0
    assert "scaling: {alpha: 0.05, beta: 0.002}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("points", "message"),
    [(["1:100", "2:190"], "at least 3 points"), (["1:100", "2x"], "expected N:THROUGHPUT")],
)
def test_bad_points_exit_2(
    points: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit-usl", *points]) == 2
    assert message in capsys.readouterr().err


def test_throughputs_near_the_float_limit_are_fitted_without_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # numpy's and scipy's RuntimeWarnings were printed above an error; 1:100 2:190 4:1e308
    # ended in scipy's RuntimeError traceback (exit 1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        assert main(["fit-usl", "1:1e308", "2:1e308", "4:1e308", "8:1e308", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["rate"] == pytest.approx(1e308, rel=1e-3)
        assert main(["fit-usl", "1:100", "2:190", "4:1e308"]) in (0, 2)
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("points", "alpha"),
    [
        # simulated saturated throughputs of 1 to 16 cores, 10 ms exponential work, 10 s
        # each: linear scaling, and alpha 0.05 with no coherency cost
        (["1:102.7", "2:197.4", "4:401.5", "8:788.4", "16:1586.6"], None),
        (["1:102.7", "2:188.1", "4:346.5", "8:588.6", "16:908.7"], 0.05),
    ],
)
def test_a_parameter_the_fit_puts_at_its_bound_is_zero(
    points: list[str], alpha: float | None, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: beta read 1.86e-15 and 4.02e-18 (the optimiser's last step short of the
    # bound), the peak N* = 2.32e+07 and 4.86e+08 cores, and the scaling line pasted a
    # non-zero alpha (6.6e-10) into a linear system's spec
    from simperf.metrics.usl_fit import fit_usl

    fit = fit_usl([(float(p.split(":")[0]), float(p.split(":")[1])) for p in points])
    assert fit.beta == 0.0 and fit.peak == float("inf")
    if alpha is None:
        assert fit.alpha == 0.0
    else:
        assert abs(fit.alpha - alpha) <= 3.29 * fit.alpha_se  # 99.9%
    assert abs(fit.rate - 100.0) <= 3.29 * fit.rate_se
    assert main(["fit-usl", *points]) == 0
    out = capsys.readouterr().out
    assert "N* = none (beta = 0)" in out
    assert "beta: 0}" in out

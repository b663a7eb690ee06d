"""``simperf fit-usl``: the Universal Scalability Law fitted to measured throughputs."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from simperf.cli_common import UsageError


def _point(text: str) -> tuple[float, float]:
    n, sep, x = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return float(n), float(x)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected N:THROUGHPUT such as 8:5510, got {text!r}"
        ) from None


def _cmd_fit_usl(args: argparse.Namespace) -> int:
    from simperf.metrics.usl_fit import fit_usl

    try:
        fit = fit_usl(args.points)
    except ValueError as exc:
        raise UsageError(f"fit-usl: {exc}") from None
    if args.json:
        fields = ("rate", "alpha", "beta", "rate_se", "alpha_se", "beta_se", "points")
        data: dict[str, Any] = {k: getattr(fit, k) for k in fields}
        data["peak"] = fit.peak
        # JSON has no infinity: an undetermined error or peak is null
        print(json.dumps({k: None if v == math.inf else v for k, v in data.items()}))
        return 0
    print(f"rate   {fit.rate:.6g} ± {fit.rate_se:.3g}  (throughput of one; ± standard errors)")
    print(f"alpha  {fit.alpha:.6g} ± {fit.alpha_se:.3g}  (contention)")
    print(f"beta   {fit.beta:.6g} ± {fit.beta_se:.3g}  (coherency)")
    peak = "none (beta = 0)" if math.isinf(fit.peak) else f"{fit.peak:.3g}"
    print(f"peak   N* = {peak}")
    print(f"spec   scaling: {{alpha: {fit.alpha:.6g}, beta: {fit.beta:.6g}}}")
    return 0


def register(commands: Any) -> None:
    """Add ``fit-usl`` to the ``simperf`` parser."""
    fit = commands.add_parser(
        "fit-usl",
        help="fit the Universal Scalability Law's alpha, beta to measured throughputs",
    )
    fit.add_argument(
        "points",
        metavar="N:THROUGHPUT",
        type=_point,
        nargs="+",
        help="cores (or concurrency) and the throughput measured there, at least 3",
    )
    fit.add_argument("--json", action="store_true", help="print one JSON object")
    fit.set_defaults(handler=_cmd_fit_usl)

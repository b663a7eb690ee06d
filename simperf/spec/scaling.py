"""How a server's CPU scales with concurrency: the Universal Scalability Law's alpha, beta."""

from __future__ import annotations

from pydantic import Field

from simperf.spec.base import SpecModel


class ScalingSpec(SpecModel):
    """Contention ``alpha`` and coherency ``beta`` of one instance's cores.

    With ``n`` requests in CPU service, each runs ``1 + alpha (n - 1) + beta n (n - 1)``
    times slower than alone, so ``N`` busy cores serve the USL throughput
    ``X(N) = N / (S (1 + alpha (N - 1) + beta N (N - 1)))`` for mean CPU time ``S``.
    Both 0 (the default) is linear scaling, simulated by the plain code. Fit them from
    measured throughputs with :func:`simperf.fit_usl` (``simperf fit-usl``).
    """

    alpha: float = Field(
        0.0, ge=0, le=1, description="contention: serial fraction of CPU work (0 to 1)"
    )
    beta: float = Field(
        0.0, ge=0, le=1, description="coherency: cost of crosstalk per pair of requests (>= 0)"
    )

    @property
    def linear(self) -> bool:
        """True when alpha = beta = 0: cores scale perfectly (the plain code runs)."""
        return self.alpha == 0 and self.beta == 0

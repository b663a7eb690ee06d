"""Random faults against availability theory, long: alternating renewal and k-of-n."""

from __future__ import annotations

import pytest
from metrics.test_availability import MTBF, MTTR, binomial_at_least, random_faults
from validation.agreement import agrees, conserved_and_little, replications


@pytest.mark.validate
def test_single_instance_availability_with_gamma_repairs() -> None:
    """Up MTBF / (MTBF + MTTR) of the time whatever the distributions' shapes (alternating
    renewal): exponential failures, gamma repairs (cv 0.5), 30 replications of 2,000 s."""
    spec = random_faults(1, 2000)
    spec["faults"][0]["mttr"] = {"dist": "gamma", "mean": MTTR, "cv": 0.5}
    reps = replications(spec, 30)
    agrees(
        reps,
        "faults.availability.time.components.app.mean_up",
        MTBF / (MTBF + MTTR),
        max_width=0.01,
    )
    conserved_and_little(reps)


@pytest.mark.validate
def test_k_of_n_availability_matches_the_binomial() -> None:
    """Five independent instances: at least k up, k = 1 .. 5, 30 replications of 2,000 s."""
    reps = replications(random_faults(5, 2000), 30)
    for k, theory in binomial_at_least(5, MTBF / (MTBF + MTTR)).items():
        agrees(reps, f"faults.availability.time.components.app.at_least_up.{k}", theory)

"""The README stays true: its spec reference is current and its tour runs."""

from __future__ import annotations

import re

import yaml

import simperf
from simperf.spec.reference import markdown, section

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_spec_reference_is_current() -> None:
    assert section(README) == markdown().strip(), (
        "README spec reference is stale: run python -m simperf.spec.reference README.md"
    )


def test_tour_spec_runs() -> None:
    block = re.search(r"```yaml\n# shop.yaml\n(.*?)```", README, re.S)
    assert block, "the tour's spec is missing"
    scenario = simperf.from_dict(yaml.safe_load(block.group(1)))
    result = simperf.run(scenario.with_overrides({"run.duration": 20, "run.warmup": 2}), seed=1)
    assert result.to_dict()["latency"]["browse"]["count"] > 0


def test_readme_opens_with_the_two_commands() -> None:
    head = README[:600]
    assert "make run" in head and "make test" in head

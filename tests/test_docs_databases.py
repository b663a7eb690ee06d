"""docs/databases.md stays true: its example spec is valid and its EXPLAIN output current."""

from __future__ import annotations

import re

import yaml

import simperf

from conftest import ROOT

DOC = (ROOT / "docs" / "databases.md").read_text(encoding="utf-8")


def test_explain_example_is_current() -> None:
    spec = re.search(r"```yaml\n(.*?)```", DOC, re.S)
    shown = re.search(r"\$ simperf explain orders.yaml\n(.*?)```", DOC, re.S)
    assert spec and shown, "the example spec or its EXPLAIN output is missing"
    scenario = simperf.from_dict(yaml.safe_load(spec.group(1)))
    assert simperf.explain_text(scenario).strip() == shown.group(1).strip()

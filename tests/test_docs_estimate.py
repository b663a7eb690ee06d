"""docs/estimate.md stays true: the output and the model figures it quotes are today's."""

from __future__ import annotations

import re

import pytest
import yaml

import simperf
from simperf.cli import main

from conftest import MODELS, ROOT, SCENARIO_FILES

PAGE = (ROOT / "docs" / "estimate.md").read_text(encoding="utf-8")
DOC = " ".join(PAGE.split())
SCENARIOS = [path.stem for path in SCENARIO_FILES]


def test_web_tier_estimate_is_what_the_cli_prints(capsys: pytest.CaptureFixture[str]) -> None:
    shown = re.search(r"```\n\$ simperf estimate (models/web_tier\.yaml)\n(.*?)```", PAGE, re.S)
    assert shown, "the estimate's example output is missing"
    assert main(["estimate", str(ROOT / shown.group(1))]) == 0
    assert capsys.readouterr().out == shown.group(2)


def test_saturated_rows_quoted_are_what_the_estimate_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # web_tier on one replica: its own cores saturated, the row names them
    one = ["--set", "components.app.replicas=1"]
    assert main(["estimate", str(MODELS / "web_tier.yaml"), *one]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("app "))
    assert f"`{' '.join(row.split())}`" in DOC
    # the README tour's payments with one worker per core: the callee is named, not the caller
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n# shop.yaml\n(.*?)```", readme, re.S)
    assert block, "the tour's spec is missing"
    tour = simperf.from_dict(yaml.safe_load(block.group(1)))
    trap = tour.with_overrides({"components.payments.workers": None})
    text = simperf.estimate(trap).summary()
    first = next(line for line in text.splitlines() if line.startswith("first to saturate"))
    assert f"`{first}`" in DOC


def test_sharded_store_range_headroom_quoted_is_todays() -> None:
    # docs said 2.04x simulated (48.9% busy); seed 1 on the model's own horizon gives 2.06x
    scenario = simperf.load(MODELS / "sharded_store.yaml")
    ranged = scenario.with_overrides({"components.store.routing": "range"})
    estimated = simperf.estimate(ranged).bottleneck
    simulated = simperf.run(ranged, seed=1).to_dict()["headroom"]["first"]
    assert simulated["component"] == estimated["component"] == "store"
    quoted = (
        f"saturates at {estimated['headroom']:.2f}x the load by the estimate, "
        f"{simulated['headroom']:.2f}x simulated (shard 0's storage "
        f"{simulated['utilization']:.1%} busy; seed 1"
    )
    assert quoted in DOC
    # the scatter-gather's estimate on the model as it is (hash routing), against 3
    # replications' 9.25 ms
    by_country = simperf.estimate(scenario).mean("by_country")
    assert f"({by_country * 1e3:.2f} against 9.25 ms" in DOC


def test_accuracy_table_estimates_are_todays() -> None:
    # the estimate is deterministic: its column is what simperf.estimate gives now, written
    # as experiments/estimate_accuracy.py writes it (the simulated columns are measured)
    rows = re.findall(r"^\| (\w+) \| ([\d.]+ ms) \| [\d.]+ ± ", PAGE, re.M)
    assert len(rows) == len(SCENARIOS), "a model is missing from the accuracy table"
    for model, shown in rows:
        found = simperf.estimate(simperf.load(MODELS / f"{model}.yaml")).mean("all")
        assert f"{found * 1e3:.3g} ms" == shown, model


def test_p99_tables_now_are_todays() -> None:
    # the "p99 now" column of the tables of the p99's history, model by model
    rows = re.findall(r"^\| (\w+)(?: \(.*?\))? ?(\w*) \| [\d.]+ ms \| ([\d.]+) ms \|", PAGE, re.M)
    checked = 0
    for model, klass, shown in rows:
        if model not in SCENARIOS:
            continue  # a hand-built chain
        found = simperf.estimate(simperf.load(MODELS / f"{model}.yaml")).to_dict()["classes"]
        decimals = len(shown.partition(".")[2])
        assert found[klass or "all"]["p99"] * 1e3 == pytest.approx(
            float(shown), abs=0.5 * 10**-decimals
        ), f"{model} {klass}"
        checked += 1
    assert checked >= 15, "the p99 tables are missing"

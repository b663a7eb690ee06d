"""The README stays a front page: short, its tour runs, the reference it points to is current."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
import yaml

import simperf
from simperf.cli import main
from simperf.spec.reference import markdown, section

from conftest import ROOT, model_result

README = (ROOT / "README.md").read_text(encoding="utf-8")
REFERENCE = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")


def test_spec_reference_is_current() -> None:
    assert section(REFERENCE) == markdown().strip(), (
        "docs/reference.md is stale: run python -m simperf.spec.reference docs/reference.md"
    )


def test_readme_is_a_front_page() -> None:
    assert len(README.splitlines()) < 400
    assert "spec-reference:start" not in README  # the reference lives in docs/reference.md
    assert "](docs/img/report.png)" in README  # the report's screenshot
    assert ". .venv/bin/activate" in README and "pip install -e ." in README
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f"](notebooks/{notebook.name})" in README, f"{notebook.name} is not linked"
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.name != "index.md":
            assert f"](docs/{page.name})" in README, f"docs/{page.name} is not in the map"


def test_tour_spec_runs() -> None:
    block = re.search(r"```yaml\n# shop.yaml\n(.*?)```", README, re.S)
    assert block, "the tour's spec is missing"
    scenario = simperf.from_dict(yaml.safe_load(block.group(1)))
    result = simperf.run(scenario.with_overrides({"run.duration": 20, "run.warmup": 2}), seed=1)
    assert result.to_dict()["latency"]["browse"]["count"] > 0


def test_readme_opens_with_the_two_commands() -> None:
    head = README[:600]
    assert "make run" in head and "make test" in head


def _tour() -> simperf.Scenario:
    block = re.search(r"```yaml\n# shop.yaml\n(.*?)```", README, re.S)
    assert block, "the tour's spec is missing"
    return simperf.from_dict(yaml.safe_load(block.group(1)))


def _without_wall_time(text: str) -> list[str]:
    # how the run was computed (wall time, which engine), not what it measured
    how = ("wall time", "event engine:")
    lines = [line for line in text.strip().splitlines() if not line.startswith(how)]
    return "\n".join(lines).strip().splitlines()


def test_tour_output_is_what_the_run_prints() -> None:
    shown = re.search(r"`simperf run shop.yaml` prints[^\n]*\n\n```\n(.*?)```", README, re.S)
    assert shown, "the tour's output is missing"
    printed = simperf.run(_tour(), seed=1).summary()
    assert _without_wall_time(shown.group(1)) == _without_wall_time(printed)


def test_flagship_output_is_what_make_run_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = re.search(r"`make run` prints:\n\n```\n\$ (simperf report .*?)\n(.*?)```", README, re.S)
    assert shown, "the flagship's output is missing"
    command, output = shown.groups()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"\t$(VENV)/bin/{command}\n" in makefile, "`make run` runs another command"
    # the command itself, its run the seed-1 run the other tests share (the same scenario)
    flagship = model_result("web_stack")  # run.seed: 1
    experiment_run = importlib.import_module("simperf.experiment.run")  # the module, not run

    def shared(scenario: simperf.Scenario, *, seed: int | None = None) -> simperf.Result:
        assert seed is None and scenario == simperf.load(ROOT / "models" / "web_stack.yaml")
        return flagship

    monkeypatch.setattr(experiment_run, "run", shared)
    monkeypatch.chdir(tmp_path)
    argv = command.split()[1:]
    argv[1] = str(ROOT / argv[1])
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert _without_wall_time(output) == _without_wall_time(printed)
    assert (tmp_path / "results" / "web_stack.html").is_file()


def test_tour_explains_the_worker_trap_it_avoids() -> None:
    # The sentence under the spec: with default workers payments is worker-bound.
    trap = simperf.run(_tour().with_overrides({"components.payments.workers": None}), seed=1)
    stab = trap.to_dict()["stability"]
    quoted = f"`{stab['status']} ({stab['component']}: {stab['reason']})`"
    assert quoted in " ".join(README.split())
    assert f"{trap.to_dict()['error_rate']:.0%} of requests are rejected upstream" in README


def test_tour_sizes_payments_workers_from_the_spec() -> None:
    # "about 120 checkouts/s x 58 ms (the delay's mean) = 7 busy workers", from the spec
    tour = _tour()
    buy = next(c for c in tour.workload.classes if c.name == "buy")
    checkouts = tour.workload.arrival.rate * buy.weight  # type: ignore[union-attr]
    mean = tour.components["payments"].endpoints["charge"][0].delay.mean
    text = " ".join(README.split())
    assert f"{checkouts:.0f} checkouts/s × {mean * 1e3:.0f} ms (the delay's mean)" in text
    assert f"≈ {checkouts * mean:.0f} busy workers" in text


def test_tour_error_is_what_the_cli_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = re.search(r"```\n\$ (simperf run shop.yaml [^\n]*)\n(.*?)```", README, re.S)
    assert shown, "the tour's invalid-spec example is missing"
    block = re.search(r"```yaml\n# shop.yaml\n(.*?)```", README, re.S)
    assert block
    (tmp_path / "shop.yaml").write_text(block.group(1), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    argv = shown.group(1).split()[1:]
    assert main(argv) == 2
    assert capsys.readouterr().err == shown.group(2)
    assert main([*argv, "--json"]) == 2
    error = json.loads(capsys.readouterr().out)
    quoted = re.search(r"`(\{\"error\": .*?\}\})`", " ".join(README.split()))
    assert quoted, "the tour's JSON error is missing"
    assert error == json.loads(quoted.group(1))


@pytest.mark.validate
def test_events_a_request_are_what_the_event_engine_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The speed paragraph's calendar entries a request, counted as `make bench` counts them
    # (experiments/engine_speed.py: run.requests, no warm-up, run.engine events); about
    # 9 CPU-s at 200,000 requests, so under `make validate`.
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))
    from engine_speed import simperf_run

    text = " ".join(README.split())
    assert "An M/M/1 request costs simperf two events" in text
    shown = re.search(
        r"Today's code sends ([\d.]+), ([\d.]+) and ([\d.]+) events a request "
        r"\(seed (\d+), ([\d,]+) requests",
        text,
    )
    assert shown, "the events a request are missing"
    *figures, seed, requests = shown.groups()
    n = int(requests.replace(",", ""))
    models = ["read_replicas", "sharded_store", "cache_aside"]  # the sentence's order
    counted = [f"{simperf_run(m, n, seed=int(seed))[1] / n:.1f}" for m in models]
    assert counted == figures
    assert f"{simperf_run('mm1', n, seed=int(seed))[1] / n:.1f}" == "2.0"

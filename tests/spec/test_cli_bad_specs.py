"""Every command that reads a spec answers a bad one the same way, in process.

The promise: a wrong spec fails before anything is simulated, with exit status 2 and one
message on stderr (nothing on stdout) naming the field's dotted path and what was
expected, a suggestion for a misspelt field, and no traceback; with ``--json``, one
error object on stdout. The bad specs are a deterministic sample of the seeded corpus of
``tests/spec/test_fuzz_bad_specs.py`` (each of its operators for each command), files
that are no spec (empty, a directory, binary, missing, tabs, an alias bomb), and
``--set`` overrides of the wrong type, for each command.
"""

from __future__ import annotations

import importlib
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_fuzz_bad_specs import DOTTED, SEED, _as_file, corpus

import simperf.build
from simperf.cli import main

from conftest import MODELS

GOOD = str(MODELS / "mm1.yaml")
# Each command and its arguments around SPEC (a spec that slipped through would be caught
# by the guard on building a model below).
COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "run": lambda spec: ["run", spec],
    "validate": lambda spec: ["validate", spec],
    "replicate": lambda spec: ["replicate", spec, "-n", "2", "--serial", "--quiet"],
    "compare": lambda spec: ["compare", GOOD, spec, "-n", "2", "--serial", "--quiet"],
    "compare (A)": lambda spec: ["compare", spec, GOOD, "-n", "2", "--serial", "--quiet"],
    "sweep": lambda spec: ["sweep", spec, "--grid", "run.seed=1,2", "--serial", "--quiet"],
    "capacity": lambda spec: [
        "capacity", spec, "--knob", "components.app.cores", "--slo", "latency.all.p99<1s",
        "--serial", "--quiet",
    ],
    "cheapest": lambda spec: [
        "cheapest", spec, "--design", "a=components.app.cores:1:4", "--slo",
        "latency.all.p99<1s", "--serial", "--quiet",
    ],
    "growth": lambda spec: [
        "growth", spec, "--rate", "10%", "--months", "2", "--slo", "latency.all.p99<1s",
        "--serial", "--quiet",
    ],
    "explain": lambda spec: ["explain", spec],
    "estimate": lambda spec: ["estimate", spec],
    "report": lambda spec: ["report", spec, "-o", f"{spec}.html", "--quiet"],
}  # fmt: skip


@pytest.fixture(autouse=True)
def nothing_is_simulated(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a bad spec reached the simulation")

    monkeypatch.setattr(simperf.build, "build", refuse)
    # the module, not the function simperf.experiment exports under the same name
    monkeypatch.setattr(importlib.import_module("simperf.experiment.run"), "build", refuse)


def answer(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _sample(tmp_path: Path) -> list[tuple[str, str, Path]]:
    """(operator, command, file): each corpus operator once for each command."""
    cases = corpus()
    rng = random.Random(SEED + 2)
    by_operator: dict[str, list[int]] = {}
    for i, (name, _, _) in enumerate(cases):
        by_operator.setdefault(name, []).append(i)
    sample = []
    for operator, indices in sorted(by_operator.items()):
        for command in COMMANDS:
            for i in rng.sample(indices, len(indices)):
                path = _as_file(tmp_path, i, cases[i][1], cases[i][2])
                if path is not None:
                    sample.append((operator, command, path))
                    break
    return sample


def test_every_command_refuses_each_kind_of_bad_spec_with_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = []
    sample = _sample(tmp_path)
    assert len(sample) >= 12 * len(COMMANDS)
    for operator, command, path in sample:
        code, out, err = answer(COMMANDS[command](str(path)), capsys)
        problem = (
            f"exit {code}"
            if code != 2
            else "a traceback"
            if "Traceback" in err
            else "output on stdout"
            if out
            else "no dotted path"
            if not DOTTED.search(err)
            else "the file is not named"
            if path.name not in err
            else "no suggestion"
            if operator == "unknown_field" and "(did you mean" not in err
            else ""
        )
        if problem:
            failures.append(f"{command} {path.name} ({operator}): {problem}: {err[-300:]!r}")
    assert failures == [], "\n".join(failures)


def _not_a_spec(tmp_path: Path) -> dict[str, Path]:
    pairs = zip("abcdefgh", "bcdefghi", strict=True)  # nine anchors of ten aliases: 10**9
    files = {
        "empty": "",
        "tabs": "name: x\nworkload:\n\tarrival: 1\n",
        "a list": "[1, 2, 3]\n",
        "two documents": "name: a\n---\nname: b\n",
        "a python tag": "name: !!python/object:os.system x\n",
        "an alias bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in pairs),
    }
    paths = {}
    for what, text in files.items():
        paths[what] = tmp_path / f"{what.replace(' ', '_')}.yaml"
        paths[what].write_text(text)
    paths["binary"] = tmp_path / "binary.yaml"
    paths["binary"].write_bytes(bytes(range(256)))
    paths["a directory"] = tmp_path / "directory.yaml"
    paths["a directory"].mkdir()
    paths["missing"] = tmp_path / "missing.yaml"
    return paths


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_a_file_that_is_no_spec(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = []
    for what, path in _not_a_spec(tmp_path).items():
        code, out, err = answer(COMMANDS[command](str(path)), capsys)
        lines = err.strip().splitlines()
        if code != 2 or "Traceback" in err or out or not lines or path.name not in err + out:
            failures.append(f"{what}: exit {code}: {err[-300:]!r}")
    assert failures == [], "\n".join(failures)


OVERRIDES = [
    ("components.app.cores=abc", r"components\.app\.cores: expected a number, not the string"),
    ("components.app.cores=[1, 2]", r"components\.app\.cores: .*integer"),
    ("components.app.cores=1e12", r"components\.app\.cores: "),
    ("components.app.corse=2", r"components\.app\.corse: unknown field \(did you mean 'cores'\?\)"),
    ("components.app=3", r"components\.app: "),
    ("workload.classes[5].name=x", r"workload\.classes: has no item '5' \(it has 1\)"),
    ("workload.arrival.rate=-5/s", r"workload\.arrival\.rate: must be > 0"),
    ("run.duration=.nan", r"run\.duration: "),
    ("nosuch.path=1", r"nosuch: unknown field"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_an_override_of_the_wrong_type(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = []
    for override, expected in OVERRIDES:
        argv = [*COMMANDS[command](GOOD), "--set", override]
        code, out, err = answer(argv, capsys)
        if code != 2 or "Traceback" in err or out or not re.search(expected, err):
            failures.append(f"--set {override}: exit {code}: {err[-300:]!r}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("command", COMMANDS)
def test_with_json_the_error_is_one_object_on_stdout(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((MODELS / "mm1.yaml").read_text().replace("cores: 1", "cores: 0"))
    code, out, err = answer([*COMMANDS[command](str(bad)), "--json"], capsys)
    assert code == 2 and "Traceback" not in err
    data = json.loads(out)
    error = data["files"][0]["error"] if command == "validate" else data["error"]
    assert error["kind"] == "spec"
    assert "components.app.cores: must be >= 1" in error["message"]

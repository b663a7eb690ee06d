"""A seeded corpus of bad specs: every one must end as a SpecError naming a dotted path.

The corpus is generated from the valid specs (``models/*.yaml`` and the minimal spec) by
mutations that are invalid by construction: a required field dropped, a number made
non-finite, boolean, out of range or of the wrong type, a misspelt field, a reference to
nothing, a broken unit, nesting 70+ levels deep, a call cycle, a duplicate key, a YAML
integer with a leading zero, a number of thousands of digits. No other exception (a
traceback) may escape, and no mutation may pass as valid.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from simperf import SpecError, from_dict
from simperf.spec.io import parse_text

from conftest import MINIMAL, SCENARIO_FILES

SEED = 20261203
CASES = 1200
# A dotted path: a name followed by .name or [index] at least once.
DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])+")
POSITIVE = ("cores", "replicas", "workers", "rate", "duration", "requests", "keys", "mean")
BOUNDED_COUNTS = ("cores", "replicas", "workers", "requests", "keys")
UNIT = re.compile(r"^([0-9.]+)\s*(us|ms|s|min|h|/s|k/s)$")

Case = tuple[str, str, Any]  # (operator, "data" or "text", the spec)


def _bases() -> list[dict[str, Any]]:
    specs = [copy.deepcopy(MINIMAL)]
    for path in SCENARIO_FILES:
        specs.append(yaml.safe_load(path.read_text()))
    return specs


def _walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i))


def _set(spec: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _numbers(spec: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        p
        for p, v in _walk(spec)
        if p and isinstance(v, int | float) and not isinstance(v, bool) and p[0] != "description"
    ]


def _named(spec: dict[str, Any], names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [p for p, v in _walk(spec) if p and p[-1] in names and not isinstance(v, dict)]


def _models(spec: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Paths of mappings that are models (fixed fields), not free-form name -> value maps."""
    found = [("workload",), ("run",)] + [("components", n) for n in spec["components"]]
    found += [("workload", "classes", i) for i in range(len(spec["workload"]["classes"]))]
    found += [p for p, v in _walk(spec) if isinstance(v, dict) and "dist" in v]
    return [p for p in found if p[0] in spec]


def _misspell(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    return word[:i] + word[i] * 3 + word[i + 1 :]  # a letter tripled: never a real field name


def _nested(depth: int) -> Any:
    node: Any = 1
    for _ in range(depth):
        node = [node]
    return node


# -- operators: each takes a valid spec and returns a case, or None if it does not apply --


def _non_finite(spec: dict[str, Any], rng: random.Random) -> Any:
    paths = _numbers(spec)
    if not paths:
        return None
    _set(spec, rng.choice(paths), rng.choice([math.nan, math.inf, -math.inf, "1e400"]))
    return spec


def _boolean(spec: dict[str, Any], rng: random.Random) -> Any:
    paths = _numbers(spec)
    if not paths:
        return None
    _set(spec, rng.choice(paths), rng.choice([True, False]))
    return spec


def _not_positive(spec: dict[str, Any], rng: random.Random) -> Any:
    paths = _named(spec, POSITIVE)
    if not paths:
        return None
    _set(spec, rng.choice(paths), rng.choice([0, -1, -2.5, "-5ms"]))
    return spec


def _too_big(spec: dict[str, Any], rng: random.Random) -> Any:
    paths = _named(spec, BOUNDED_COUNTS)
    if not paths:
        return None
    _set(spec, rng.choice(paths), rng.choice([10**15, 10**5000, "9e99"]))
    return spec


def _wrong_type(spec: dict[str, Any], rng: random.Random) -> Any:
    paths = [p for p, v in _walk(spec) if len(p) >= 2 and isinstance(v, dict | list)]
    if not paths:
        return None
    _set(spec, rng.choice(paths), rng.choice(["!oops", "?"]))
    return spec


def _number_as_text(spec: dict[str, Any], rng: random.Random) -> Any:
    paths = _numbers(spec)
    if not paths:
        return None
    _set(spec, rng.choice(paths), rng.choice(["lots", "", [1, 2], {"a": 1}]))
    return spec


def _drop_required(spec: dict[str, Any], rng: random.Random) -> Any:
    classes = spec["workload"]["classes"]
    options: list[tuple[Any, ...]] = (
        [("workload", "arrival")] if "arrival" in spec["workload"] else []
    )
    options += [
        ("workload", "classes", i, k) for i in range(len(classes)) for k in ("entry", "name")
    ]
    options += [("components", n, "kind") for n in spec["components"]]
    options += [(*p, "dist") for p, v in _walk(spec) if isinstance(v, dict) and "dist" in v]
    path = rng.choice(options)
    node: Any = spec
    for key in path[:-1]:
        node = node[key]
    if path[-1] not in node:
        return None
    del node[path[-1]]
    return spec


def _unknown_field(spec: dict[str, Any], rng: random.Random) -> Any:
    path = rng.choice(_models(spec))
    node: Any = spec
    for key in path:
        node = node[key]
    node[_misspell(rng.choice(sorted(node)), rng)] = 1
    return spec


def _bad_reference(spec: dict[str, Any], rng: random.Random) -> Any:
    classes = spec["workload"]["classes"]
    i = rng.randrange(len(classes))
    choice = rng.randrange(4)
    if choice == 0:
        classes[i]["entry"] = "nosuch_component"
    elif choice == 1:
        classes[i]["endpoint"] = "nosuch_endpoint"
    elif choice == 2:
        spec["components"]["zlb"] = {"kind": "load_balancer", "backends": ["nosuch"]}
    else:
        spec["components"]["zapp"] = {
            "kind": "app_server",
            "endpoints": {"e": [{"call": "nosuch.e"}]},
        }
    return spec


def _bad_unit(spec: dict[str, Any], rng: random.Random) -> Any:
    paths = [p for p, v in _walk(spec) if isinstance(v, str) and UNIT.match(v)]
    if not paths:
        return None
    path = rng.choice(paths)
    node: Any = spec
    for key in path:
        node = node[key]
    number, unit = UNIT.match(node).groups()  # type: ignore[union-attr]
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number)
    _set(spec, path, rng.choice([f"{number} parsecs", f"{wide}{unit}", f"1e400{unit}"]))
    return spec


def _deep(spec: dict[str, Any], rng: random.Random) -> Any:
    paths = [p for p, _ in _walk(spec) if len(p) >= 2]
    _set(spec, rng.choice(paths), _nested(rng.randrange(70, 700)))
    return spec


def _cycle(spec: dict[str, Any], rng: random.Random) -> Any:
    n = rng.randrange(2, 40)
    for i in range(n):
        target = f"zc{(i + 1) % n}.e"
        spec["components"][f"zc{i}"] = {
            "kind": "app_server",
            "endpoints": {"e": [{"call": target}]},
        }
    if rng.random() < 0.5:
        spec["components"]["zlb0"] = {"kind": "load_balancer", "backends": "zlb1"}
        spec["components"]["zlb1"] = {"kind": "load_balancer", "backends": "zlb0"}
    return spec


def _text(spec: dict[str, Any]) -> list[str]:
    return yaml.safe_dump(spec, sort_keys=False, width=1000).splitlines()


def _duplicate_key(spec: dict[str, Any], rng: random.Random) -> Any:
    lines = _text(spec)
    keyed = [i for i, t in enumerate(lines) if re.match(r"^\s*[A-Za-z_]\w*: \S", t)]
    i = rng.choice(keyed)
    return "\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]]) + "\n"


def _ambiguous_integer(spec: dict[str, Any], rng: random.Random) -> Any:
    lines = _text(spec)
    numbered = [
        i for i, t in enumerate(lines) if re.match(r"^\s*(- )?[A-Za-z_]\w*: [1-9][0-9]*$", t)
    ]
    if not numbered:
        return None
    i = rng.choice(numbered)
    key, value = lines[i].rsplit(": ", 1)
    lines[i] = f"{key}: " + rng.choice([f"0{value}", f"{value}:30", "1" * 4400])
    return "\n".join(lines) + "\n"


DATA_OPERATORS: dict[str, Callable[[dict[str, Any], random.Random], Any]] = {
    "non_finite": _non_finite,
    "boolean": _boolean,
    "not_positive": _not_positive,
    "too_big": _too_big,
    "wrong_type": _wrong_type,
    "number_as_text": _number_as_text,
    "drop_required": _drop_required,
    "unknown_field": _unknown_field,
    "bad_reference": _bad_reference,
    "bad_unit": _bad_unit,
    "deep": _deep,
    "cycle": _cycle,
}
TEXT_OPERATORS = {"duplicate_key": _duplicate_key, "ambiguous_integer": _ambiguous_integer}


def corpus(n: int = CASES, seed: int = SEED) -> list[Case]:
    """``n`` bad specs, the same for the same seed."""
    rng = random.Random(seed)
    bases = _bases()
    operators = [(name, "data", op) for name, op in DATA_OPERATORS.items()]
    operators += [(name, "text", op) for name, op in TEXT_OPERATORS.items()]
    cases: list[Case] = []
    while len(cases) < n:
        name, form, operator = operators[len(cases) % len(operators)]
        spec = operator(copy.deepcopy(rng.choice(bases)), rng)
        if spec is not None:
            cases.append((name, form, spec))
    return cases


def _validate(form: str, spec: Any) -> None:
    from_dict(parse_text(spec, source="case.yaml") if form == "text" else spec)


def test_corpus_is_large_seeded_and_covers_every_operator() -> None:
    cases = corpus()
    assert len(cases) >= 1000
    assert {name for name, _, _ in cases} == set(DATA_OPERATORS) | set(TEXT_OPERATORS)
    again = corpus(50)  # deterministic for the seed
    assert [c[:2] for c in again] == [c[:2] for c in cases[:50]]
    assert [c[2] for c in again if c[1] == "text"] == [c[2] for c in cases[:50] if c[1] == "text"]


def test_every_bad_spec_is_a_spec_error_with_a_dotted_path() -> None:
    failures = []
    slowest = 0.0
    for i, (name, form, spec) in enumerate(corpus()):
        start = time.perf_counter()
        try:
            _validate(form, spec)
        except SpecError as exc:
            if not DOTTED.search(str(exc)):
                failures.append(f"case {i} ({name}): no dotted path in {str(exc)[:300]!r}")
            elif name == "unknown_field" and "unknown field (did you mean" not in str(exc):
                failures.append(f"case {i} ({name}): no suggestion in {str(exc)[:300]!r}")
        except Exception as exc:  # any other exception is the defect sought
            failures.append(f"case {i} ({name}): {type(exc).__name__}: {str(exc)[:300]}")
        else:
            failures.append(f"case {i} ({name}): accepted as valid")
        slowest = max(slowest, time.perf_counter() - start)
    assert failures == []
    assert slowest < 5.0


def _as_file(directory: Path, i: int, form: str, spec: Any) -> Path | None:
    path = directory / f"case{i}.yaml"
    if form == "text":
        path.write_text(spec)
        return path
    try:
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
    except (ValueError, RecursionError):  # a 5,000-digit int or 700 levels: not writable
        return None
    return path


# Runs ``python -m simperf.cli validate FILE`` for each file in a forked child of one
# interpreter that imported simperf once: the same module run as __main__ in its own
# process, without paying the package's import (seconds) per file.
_FORKED_CLI = """
import json, os, runpy, sys, traceback
import simperf.cli
# the expensive part, shared by the forked children: what validate imports when it runs
import simperf.experiment.horizon, simperf.experiment.metrics, simperf.spec.io
codes = []
for path in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(path + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        sys.argv = ["simperf", "validate", path]
        code = 1
        try:
            runpy.run_module("simperf.cli", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        sys.stderr.flush()
        os._exit(code)
    codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print(json.dumps(codes))
"""


def _sample_files(directory: Path, n: int) -> list[tuple[str, Path]]:
    cases = corpus()
    rng = random.Random(SEED + 1)
    files = []
    for i in rng.sample(range(len(cases)), 2 * n):
        path = _as_file(directory, i, cases[i][1], cases[i][2])
        if path is not None:
            files.append((cases[i][0], path))
    assert len(files) >= n
    return files[:n]


def _bad_exits(files: list[tuple[str, Path]], codes: list[int], errors: list[str]) -> list[str]:
    return [
        f"{name} {path.name}: exit {code}: {err[-300:]}"
        for (name, path), code, err in zip(files, codes, errors, strict=True)
        if code != 2 or "Traceback" in err or not DOTTED.search(err)
    ]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks one child per file")
def test_a_sample_exits_2_through_the_cli_without_traceback(tmp_path: Path) -> None:
    files = _sample_files(tmp_path, 50)
    command = [sys.executable, "-c", _FORKED_CLI, *(str(path) for _, path in files)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    codes = json.loads(proc.stdout.splitlines()[-1])
    errors = [Path(f"{path}.err").read_text() for _, path in files]
    assert _bad_exits(files, codes, errors) == []


def test_a_few_exit_2_through_python_m_simperf_cli(tmp_path: Path) -> None:
    files = _sample_files(tmp_path, 3)
    runs = [
        subprocess.run(
            [sys.executable, "-m", "simperf.cli", "validate", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for _, path in files
    ]
    codes = [r.returncode for r in runs]
    assert _bad_exits(files, codes, [r.stderr for r in runs]) == []


@pytest.mark.parametrize("form", ["data", "text"])
def test_an_unmutated_base_is_valid(form: str) -> None:
    # the corpus is bad because of its mutations, not because the bases are
    for spec in _bases():
        _validate(form, "\n".join(_text(spec)) + "\n" if form == "text" else spec)

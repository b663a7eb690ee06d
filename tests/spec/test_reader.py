"""Reading spec files strictly: what plain YAML/JSON loading lets slip or crashes on."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from simperf import SpecError, SpecFileError
from simperf.spec.reader import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_INT_DIGITS,
    check_depth,
    key_lines,
    parse_json,
    parse_text,
    parse_yaml,
    read_spec_file,
)


def test_non_utf8_file_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecFileError, match=r"cannot read file \(not UTF-8: byte 0xe9 on line 1"):
        read_spec_file(path)


def test_directory_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(SpecFileError, match=r"cannot read file \(a directory\)"):
        read_spec_file(tmp_path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_device_is_refused_without_reading_it() -> None:
    with pytest.raises(SpecFileError, match=r"cannot read file \(not a regular file\)"):
        read_spec_file(Path("/dev/zero"))


def test_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(SpecFileError, match=r"cannot read file .* a spec is at most"):
        read_spec_file(path)


def test_file_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * MAX_FILE_BYTES)
    assert len(read_spec_file(path)) == MAX_FILE_BYTES


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 5000])
def test_deep_yaml_is_refused_with_its_path(depth: int) -> None:
    text = "description: " + "[" * depth + "]" * depth
    with pytest.raises(
        SpecError, match=rf"^s.yaml:1: description\[0\].*nested more than {MAX_DEPTH}"
    ):
        parse_yaml(text, "s.yaml")


def test_deep_yaml_block_style_names_the_line() -> None:
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_DEPTH + 2))
    with pytest.raises(SpecError, match=rf"^s.yaml:{MAX_DEPTH + 2}: k0.k1.k2"):
        parse_yaml(text, "s.yaml")


def test_yaml_at_the_depth_limit_is_accepted() -> None:
    depth = MAX_DEPTH - 1  # plus the top-level key: MAX_DEPTH levels
    data = parse_yaml("a: " + "[" * depth + "]" * depth, "s.yaml")
    check_depth(data)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 600, 100_000])
def test_deep_json_is_refused(depth: int) -> None:
    with pytest.raises(SpecError, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse_json('{"a": ' + "[" * depth + "]" * depth + "}", "s.json")


def test_check_depth_names_the_path() -> None:
    data: dict[str, object] = {}
    node = data
    for _ in range(MAX_DEPTH + 5):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    with pytest.raises(SpecError, match=r"^spec: x\.x\.x.*nested more than"):
        check_depth(data)


def test_duplicate_yaml_key_names_path_and_both_lines() -> None:
    text = "components:\n  app:\n    cores: 2\n    workers: 8\n    cores: 4\n"
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "s.yaml")
    assert str(info.value) == (
        "s.yaml:5: components.app.cores: duplicate key (first given on line 3; "
        "a key may appear once)"
    )


def test_duplicate_json_key_names_its_path() -> None:
    with pytest.raises(SpecError, match=r"^s.json: components.app.cores: duplicate key"):
        parse_json('{"components": {"app": {"cores": 2, "cores": 4}}}', "s.json")


@pytest.mark.parametrize("literal", ["010", "-007", "0_10", "08", "1:30", "1:02:03"])
def test_ambiguous_yaml_integers_are_refused(literal: str) -> None:
    with pytest.raises(SpecError, match=rf"^s.yaml:2: app.cores: '{literal}' is ambiguous"):
        parse_yaml(f"app:\n  cores: {literal}\n", "s.yaml")


@pytest.mark.parametrize(
    ("literal", "value"), [("0", 0), ("10", 10), ("'010'", "010"), ("0.5", 0.5)]
)
def test_plain_numbers_and_quoted_strings_are_kept(literal: str, value: object) -> None:
    assert parse_yaml(f"a: {literal}", "s.yaml") == {"a": value}


def test_too_long_integers_are_refused_in_yaml_and_json() -> None:
    digits = "1" * (MAX_INT_DIGITS + 1)
    with pytest.raises(SpecError, match=r"^s.yaml:2: run.seed: number too long"):
        parse_yaml(f"run:\n  seed: {digits}\n", "s.yaml")
    with pytest.raises(SpecError, match="number too long"):
        parse_json(f'{{"run": {{"seed": {"1" * 4301}}}}}', "s.json")
    assert parse_yaml(f"a: {'1' * MAX_INT_DIGITS}", "s.yaml") == {"a": int("1" * MAX_INT_DIGITS)}


def test_key_lines_map_paths_to_lines() -> None:
    text = "a:\n  b: 1\n  c:\n    - x\n    - {d: 2}\n"
    assert key_lines(text) == {"a": 1, "a.b": 2, "a.c": 3, "a.c[0]": 4, "a.c[1]": 5, "a.c[1].d": 5}
    assert key_lines("a: [") == {}


def _alias_bomb(levels: int) -> str:
    """``levels`` anchors, each a list of ten aliases of the one before: 10**levels leaves
    from a file of a few hundred bytes."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [6, 9])
def test_an_alias_bomb_is_refused_before_it_is_expanded(levels: int) -> None:
    # 10**6 leaves took 16 s to read, 10**9 never finished; now refused at once
    start = time.process_time()
    with pytest.raises(
        SpecError, match=r"bomb\.yaml:\d+: a\d\[\d+\]: aliases repeat more than 100,000 nodes"
    ):
        parse_text(_alias_bomb(levels), source="bomb.yaml")
    assert time.process_time() - start < 1.0


def test_anchors_within_the_limit_are_expanded() -> None:
    shared = ", ".join(f"k{i}: {i}" for i in range(100))
    text = f"base: &base {{{shared}}}\n" + "".join(f"c{i}: *base\n" for i in range(100))
    data = parse_text(text, source="anchors.yaml")
    assert data["c99"] == data["base"] and len(data) == 101

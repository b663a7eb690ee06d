"""Turning a spec file's bytes into plain data, refusing what YAML or JSON would let slip.

Plain ``yaml.safe_load`` and ``json.loads`` accept things a spec must not mean silently:
a key given twice (the last one wins), ``010`` (YAML 1.1 reads it as octal 8) or ``1:30``
(base 60, i.e. 90), ``yes``, ``no``, ``on`` and ``off`` as booleans (read here as the
strings they are, as YAML 1.2 and the JSON Schema do), and they fail with tracebacks on
very deep nesting or integers of thousands of digits, and aliases of aliases (a few
hundred bytes that expand to a billion nodes). Everything here raises
:class:`~simperf.errors.SpecError` (or :class:`~simperf.errors.SpecFileError` when the
file itself cannot be read) naming the
dotted path and, for YAML, the line.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from simperf.errors import SpecError, SpecFileError

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Largest spec file read (50 MiB): a bigger one is refused without being read."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists accepted (real specs stay under 15 levels)."""
MAX_INT_DIGITS = 4000
"""Longest integer literal accepted (below Python's 4,300-digit conversion limit)."""
MAX_ALIASED_NODES = 100_000
"""Most nodes that YAML aliases (``*name``) may repeat in all: an anchor used a few
dozen times stays far below; nine lines of aliases of aliases would be 10**9 nodes."""

# YAML 1.1 integers that do not mean what they look like: 010 is octal 8, 1:30 is 90.
_SURPRISING_INT = re.compile(r"^[-+]?(0[0-9_]+|[0-9][0-9_]*(:[0-5]?[0-9])+)$")
_LONG_NUMBER = re.compile(f"[0-9]{{{MAX_INT_DIGITS + 1},}}")


def read_spec_file(path: Path) -> str:
    """The text of a spec file, refusing non-regular, too large and non-UTF-8 files.

    Parameters
    ----------
    path
        The file to read.

    Returns
    -------
    str
        Its text.

    Raises
    ------
    SpecFileError
        If the file is missing, not a regular file (a directory, ``/dev/zero``, a pipe),
        larger than :data:`MAX_FILE_BYTES`, unreadable or not UTF-8.
    """
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise SpecFileError(f"{path}: cannot read file ({kind})")
        if info.st_size > MAX_FILE_BYTES:
            raise SpecFileError(
                f"{path}: cannot read file ({info.st_size:,} bytes; a spec is at most "
                f"{MAX_FILE_BYTES:,})"
            )
        with open(path, "rb") as handle:
            # Read at most one byte past the limit: a file growing as we read is refused too.
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SpecFileError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecFileError(f"{path}: cannot read file (more than {MAX_FILE_BYTES:,} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecFileError(
            f"{path}: cannot read file (not UTF-8: byte 0x{raw[exc.start]:02x} on line {line})"
        ) from None


def join_path(parts: list[Any]) -> str:
    """Path parts as written in messages: ``["a", "b", 0]`` -> ``a.b[0]``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def _shorten(parts: list[Any]) -> str:
    """A dotted path, cut in the middle when it is very long (deep nesting)."""
    if len(parts) <= 12:
        return join_path(parts)
    return f"{join_path(parts[:8])}...{join_path(parts[-2:])}"


class _StrictLoader(yaml.SafeLoader):
    """Safe loading that tracks the path of every node to refuse surprises with it."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source
        self.path: list[Any] = []
        # nodes under each composed node, aliases expanded (by id: nodes are not hashable)
        self.sizes: dict[int, int] = {}
        self.aliased = 0

    def where(self, node_or_mark: Any) -> str:
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        return f"{self.source}:{mark.line + 1}"

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        # Called with the key node (mapping values), the item number (sequence items),
        # or None (the document root, and mapping keys themselves).
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            node = super().compose_node(parent, index)
            self._count_alias(node, mark, index)
            return node
        if index is None:
            node = super().compose_node(parent, index)
            self._check(node)
            return node
        self.path.append(
            index.value
            if isinstance(index, yaml.ScalarNode)
            else index
            if isinstance(index, int)
            else "?"
        )
        try:
            if len(self.path) > MAX_DEPTH:
                raise SpecError(
                    f"{self.where(self.peek_event())}: {_shorten(self.path)}: nested more than "
                    f"{MAX_DEPTH} levels deep"
                )
            node = super().compose_node(parent, index)
            self._check(node)
            return node
        finally:
            self.path.pop()

    def _count_alias(self, node: Any, mark: Any, index: Any) -> None:
        """Refuse an alias once the nodes that aliases repeat pass MAX_ALIASED_NODES."""
        self.aliased += self.sizes.get(id(node), 1)
        if self.aliased > MAX_ALIASED_NODES:
            key = index.value if isinstance(index, yaml.ScalarNode) else index
            path = [*self.path, key] if index is not None else self.path
            raise SpecError(
                f"{self.where(mark)}: {_shorten(path) or 'spec'}: aliases repeat more than "
                f"{MAX_ALIASED_NODES:,} nodes (an anchor's alias counts every node under it)"
            )

    def _check(self, node: Any) -> None:
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            children = (
                [n for pair in node.value for n in pair]
                if isinstance(node, yaml.MappingNode)
                else node.value
            )
            self.sizes[id(node)] = 1 + sum(self.sizes.get(id(child), 1) for child in children)
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                if key.value in seen and key.tag == seen[key.value].tag:
                    first = seen[key.value].start_mark.line + 1
                    raise SpecError(
                        f"{self.where(key)}: {join_path([*self.path, key.value])}: duplicate "
                        f"key (first given on line {first}; a key may appear once)"
                    )
                seen[key.value] = key
        elif isinstance(node, yaml.ScalarNode) and node.style is None:
            where = f"{self.where(node)}: {join_path(self.path) or 'spec'}"
            # 010 is octal 8 and 1:30 is 90 as ints; 08 is the string "08", read as 8 later
            if _SURPRISING_INT.match(node.value):
                raise SpecError(
                    f"{where}: {node.value!r} is ambiguous (YAML reads leading zeros as octal "
                    "and colons as base 60): write the number without them, or quote it"
                )
            if _LONG_NUMBER.search(node.value):
                raise SpecError(f"{where}: number too long (more than {MAX_INT_DIGITS} digits)")


# YAML 1.1 reads yes/no/on/off (and y/n in some readers) as booleans; YAML 1.2, JSON and
# the JSON Schema know only true and false. Read the others as the strings they are, for
# the field to refuse ("scale_in: on") or take ("name: on") as the schema does.
_BOOL_TAG = "tag:yaml.org,2002:bool"
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text into plain data, strictly (see the module docstring).

    Raises
    ------
    SpecError
        On malformed YAML, tags, duplicate keys, ambiguous integers or too deep nesting.
    """
    loader = _StrictLoader(text, source)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, yaml.constructor.ConstructorError):
            problem = f"{problem} (only plain YAML data is accepted; tags are not)"
        raise SpecError(f"{where}: invalid YAML: {problem}") from None
    except RecursionError:  # a safety net: compose_node bounds the depth first
        raise SpecError(f"{source}: spec: nested too deep") from None
    finally:
        loader.dispose()


def parse_json(text: str, source: str) -> Any:
    """Parse strict JSON into plain data, refusing duplicate keys and too deep nesting.

    Raises
    ------
    SpecError
        On malformed JSON, duplicate keys, too long numbers or too deep nesting.
    """
    duplicates: list[tuple[str, dict[str, Any]]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        for key, value in items:
            if key in mapping:
                duplicates.append((key, mapping))
            mapping[key] = value
        return mapping

    def integer(literal: str) -> int:
        if len(literal.lstrip("-")) > MAX_INT_DIGITS:
            raise SpecError(f"{source}: spec: number too long (more than {MAX_INT_DIGITS} digits)")
        return int(literal)

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_int=integer)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise SpecError(f"{source}: spec: nested more than {MAX_DEPTH} levels deep") from None
    check_depth(data, source)
    for key, mapping in duplicates:
        path = _find(data, mapping) or []
        raise SpecError(
            f"{source}: {join_path([*path, key])}: duplicate key (a key may appear once)"
        )
    return data


def check_depth(data: Any, source: str = "spec") -> None:
    """Refuse data nested more than :data:`MAX_DEPTH` levels deep (iteratively, no recursion).

    Raises
    ------
    SpecError
        Naming the path where the limit is crossed.
    """
    stack: list[tuple[Any, list[Any]]] = [(data, [])]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise SpecError(f"{source}: {_shorten(path)}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            stack.extend((value, [*path, key]) for key, value in node.items())
        elif isinstance(node, list | tuple):
            stack.extend((value, [*path, i]) for i, value in enumerate(node))


def _find(data: Any, target: object) -> list[Any] | None:
    """The path of the container ``target`` (by identity) inside ``data``."""
    stack: list[tuple[Any, list[Any]]] = [(data, [])]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if isinstance(node, dict):
            stack.extend((value, [*path, key]) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, [*path, i]) for i, value in enumerate(node))
    return None


def key_lines(text: str) -> dict[str, int]:
    """Line (1-based) of every mapping key and list item, by dotted path; best effort.

    Works for YAML and for JSON (read as YAML); returns what it found before any error.
    """
    lines: dict[str, int] = {}
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except (yaml.YAMLError, RecursionError):
        return lines
    finally:
        loader.dispose()
    stack: list[tuple[Any, list[Any]]] = [(root, [])] if root is not None else []
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            continue
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    child = [*path, key.value]
                    lines.setdefault(join_path(child), key.start_mark.line + 1)
                    stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                child = [*path, i]
                lines.setdefault(join_path(child), value.start_mark.line + 1)
                stack.append((value, child))
    return lines


def parse_text(text: str, *, source: str = "<spec>", json_only: bool = False) -> Any:
    """Parse YAML (a superset of JSON) or strict JSON text into plain data.

    Duplicate keys, YAML integers with leading zeros or colons, integers of thousands of
    digits and nesting deeper than :data:`~simperf.spec.reader.MAX_DEPTH` are refused.
    """
    if json_only:
        return parse_json(text, source)
    data = parse_yaml(text, source)
    check_depth(data, source)
    return data

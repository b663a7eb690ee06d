"""Reading specs (YAML/JSON), turning validation errors into readable paths, overrides.

Every failure here raises :class:`simperf.errors.SpecError` whose message has one line per
problem, each ``path: what was expected``.
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Tag, ValidationError

from simperf.errors import SpecError
from simperf.spec.app_server import POOL_TAGS, STEP_TAGS
from simperf.spec.distributions import DISTRIBUTION_TAGS
from simperf.spec.hints import warn_bare_seconds
from simperf.spec.keyspace import POPULARITY_TAGS
from simperf.spec.reader import (
    check_depth,
    join_path,
    key_lines,
    parse_json,
    parse_yaml,
    read_spec_file,
)
from simperf.spec.scenario import COMPONENT_TAGS, Scenario
from simperf.spec.sessions import SESSION_STORE_TAGS
from simperf.spec.workload import ARRIVAL_TAGS

# Tags pydantic inserts into error locations for discriminated unions; they are not
# part of the user's path.
_UNION_TAGS = (
    COMPONENT_TAGS
    | DISTRIBUTION_TAGS
    | STEP_TAGS
    | POOL_TAGS
    | ARRIVAL_TAGS
    | POPULARITY_TAGS
    | SESSION_STORE_TAGS
    | {
        "function-after",
        "function-before",
        "function-wrap",
    }
)


_BOUNDS = frozenset({"greater_than_equal", "greater_than", "less_than_equal", "less_than"})
_FIELD_PREFIX = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*): (.+)$", re.S)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file (``.yaml``, ``.yml`` or ``.json``).

    Parameters
    ----------
    path
        The spec file. YAML is read with safe loading only: tags that would construct
        Python objects are refused.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    SpecFileError
        If the file cannot be read (missing, a directory or device, larger than
        :data:`~simperf.spec.reader.MAX_FILE_BYTES`, not UTF-8): a :class:`SpecError`.
    SpecError
        If the file cannot be parsed or the spec is invalid; each line is
        ``file:line: path: what was expected`` (the line when it is known).

    Examples
    --------
    >>> import simperf
    >>> scenario = simperf.load("models/mm1.yaml")  # doctest: +SKIP
    """
    path = Path(path)
    text = read_spec_file(path)
    json_only = path.suffix.lower() == ".json"
    data = parse_text(text, source=str(path), json_only=json_only)
    return _validate(data, _file_locator(text, str(path)))


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


def from_dict(data: Any) -> Scenario:
    """Validate plain data (as read from YAML/JSON) into a :class:`Scenario`."""
    check_depth(data)
    return _validate(data, lambda path: None)


def _validate(
    data: Any, locate: Callable[[str], str | None], only: set[str] | None = None
) -> Scenario:
    """Validate ``data``; each problem line is prefixed with ``locate(path)`` when known.

    Bare numbers of seconds are warned about everywhere, or only under the paths ``only``.
    """
    if not isinstance(data, dict):
        raise SpecError(f"spec: expected a mapping at the top level, got {type(data).__name__}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_locate_lines(format_validation_error(exc, data), locate)) from None
    except RecursionError:  # a safety net: depth and cycles are checked explicitly first
        raise SpecError("spec: nested or chained too deeply to check") from None
    warn_bare_seconds(scenario, data, locate, only)
    return scenario


def _file_locator(text: str, source: str) -> Callable[[str], str | None]:
    """``path -> "file:line"``; the file is scanned for lines only when an error needs one."""
    lines: dict[str, int] | None = None

    def locate(path: str) -> str | None:
        nonlocal lines
        if lines is None:
            lines = key_lines(text)
        while path:
            if path in lines:
                return f"{source}:{lines[path]}"
            path = _PARENT.sub("", path)
        return None

    return locate


_PARENT = re.compile(r"(\.[^.\[]*|\[\d+\])$")
_PARSED_ALONE = re.compile(r"^(:\d+)*: (spec: )?")
_PATH_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]-]*): ")


def _locate_lines(message: str, locate: Callable[[str], str | None]) -> str:
    """The one formatter of problem lines: ``where: path: message`` (``where`` if known)."""
    out = []
    for line in message.splitlines():
        match = _PATH_PREFIX.match(line)
        where = locate(match.group(1)) if match else None
        out.append(f"{where}: {line}" if where else line)
    return "\n".join(out)


def format_validation_error(exc: ValidationError, data: Any) -> str:
    """One ``path: message`` line per error, with union tags removed from paths."""
    lines = []
    for error in exc.errors(include_url=False):
        path = _user_path(error["loc"], data)
        message = _message(error)
        if error["type"] == "extra_forbidden":
            message = _unknown_field(error["loc"])
        if error["type"] == "value_error" and not path and ":" in message:
            lines.extend(message.splitlines())  # cross-reference errors carry their own paths
            continue
        field = _FIELD_PREFIX.match(message) if error["type"] == "value_error" else None
        if field and path:
            # a model validator naming one of its fields: "warmup: must be ..." at "run"
            path, message = f"{path}.{field.group(1)}", field.group(2)
        lines.append(f"{path or 'spec'}: {message}")
    return "\n".join(dict.fromkeys(lines))


def _user_path(loc: tuple[Any, ...], data: Any) -> str:
    parts: list[str] = []
    node = data
    for element in loc:
        if isinstance(node, dict) and element in node:
            node = node[element]
        elif isinstance(node, list) and isinstance(element, int) and element < len(node):
            node = node[element]
        elif isinstance(element, str) and element in _UNION_TAGS:
            continue
        elif isinstance(element, str) and element.startswith("function-"):
            continue
        else:
            node = None
        if isinstance(element, int):
            parts.append(f"[{element}]")
        else:
            parts.append(("." if parts else "") + str(element))
    return "".join(parts)


def suggest(word: object, names: Any) -> str:
    """`` (did you mean 'x'?)`` for the allowed name closest to ``word``, or ``""``."""
    close = difflib.get_close_matches(str(word), sorted(map(str, names)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown_field(loc: tuple[Any, ...]) -> str:
    names = _allowed_names(loc[:-1])
    hint = suggest(loc[-1], names)
    if hint:
        return f"unknown field{hint}"
    if names:
        return f"unknown field (allowed here: {', '.join(sorted(names))})"
    return "unknown field (misspelt, or not allowed here)"


def _allowed_names(loc: tuple[Any, ...]) -> set[str]:
    """Field names (and aliases) of the model(s) an error location points into."""
    current: list[Any] = [Scenario]
    for element in loc:
        options = [option for ann in current for option in _members(ann)]
        tagged = [ann for ann, tags in options if element in tags]
        if tagged:  # a union tag in the location picks the member
            current = tagged
            continue
        following: list[Any] = []
        for ann, _ in options:
            origin = typing.get_origin(ann)
            args = typing.get_args(ann)
            if isinstance(ann, type) and issubclass(ann, BaseModel) and isinstance(element, str):
                for name, field in ann.model_fields.items():
                    if element in (name, field.alias):
                        following.append(field.annotation)
            elif origin in (list, tuple) and isinstance(element, int):
                following.extend(a for a in args if a is not Ellipsis)
            elif origin is dict and args:
                following.append(args[1])
        if following:
            current = following
    names: set[str] = set()
    for ann in current:
        for model, _ in _members(ann):
            if isinstance(model, type) and issubclass(model, BaseModel):
                for name, field in model.model_fields.items():
                    names.add(field.alias or name)
    return names


def _members(ann: Any, tags: frozenset[str] = frozenset()) -> list[tuple[Any, frozenset[str]]]:
    """Alternatives of an annotation (unions and Annotated unwrapped) with their tags."""
    if typing.get_origin(ann) is typing.Annotated:
        inner, *extra = typing.get_args(ann)
        more = {m.tag for m in extra if isinstance(m, Tag)}
        return _members(inner, tags | more)
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(ann) for m in _members(arg, tags)]
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        for field in ann.model_fields.values():  # a Literal discriminator is a tag too
            if typing.get_origin(field.annotation) is typing.Literal:
                tags = tags | {str(a) for a in typing.get_args(field.annotation)}
    return [(ann, tags)]


def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind in _BOUNDS and isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number (not nan or inf)"  # nan fails every bound
    if kind == "greater_than_equal":
        return f"must be >= {ctx['ge']}"
    if kind == "greater_than":
        return f"must be > {ctx['gt']}"
    if kind == "less_than_equal":
        return f"must be <= {ctx['le']}"
    if kind == "less_than":
        return f"must be < {ctx['lt']}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (misspelt, or not allowed here)"
    if kind == "union_tag_invalid":
        expected = ctx.get("expected_tags", "")
        field = str(ctx.get("discriminator", "kind")).strip("'")
        hint = suggest(ctx.get("tag"), re.findall(r"'([^']*)'", str(expected)))
        return f"unknown {field} {ctx.get('tag')!r}{hint} (expected one of {expected})"
    if kind == "union_tag_not_found":
        field = str(ctx.get("discriminator", "kind")).strip("'")
        return f"missing field {field!r}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)"
    if kind == "string_pattern_mismatch":
        return "must be a name of letters, digits and _ (or component.endpoint for calls)"
    message = str(error["msg"])
    if kind == "literal_error":
        return message + suggest(error.get("input"), re.findall(r"'([^']*)'", ctx["expected"]))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def apply_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """Apply dotted-path overrides to a scenario and validate the result.

    Values may be given as strings (as on the command line); they are parsed as YAML
    scalars, so ``"8"`` is an int and ``"5ms"`` stays a string for the unit parser.
    Problems caused by an override are reported as coming from ``--set PATH=VALUE``.
    """
    data = scenario.model_dump(mode="json", by_alias=True)
    labels: dict[str, str] = {}
    for path, value in overrides.items():
        label = f"--set {path}={value}"
        parts = _split_path(path)
        where = join_path([int(p) if p.isdigit() else p for p in parts]) or "spec"
        if isinstance(value, str) and value.strip():
            try:
                value = parse_text(value, source=label)
            except SpecError as exc:
                # the value parsed alone: its "line 1" and top-level path are the override's
                message = _PARSED_ALONE.sub("", str(exc).removeprefix(label))
                raise SpecError(f"{label}: {where}: {message}") from None
        try:
            _set_path(data, parts, value)
        except SpecError as exc:
            raise SpecError(f"{label}: {exc}") from None
        labels[where] = label

    def locate(path: str) -> str | None:
        for where, label in labels.items():
            if path == where or path.startswith((f"{where}.", f"{where}[")):
                return label
        return None

    return _validate(data, locate, only=set(labels))


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``PATH=VALUE`` from the command line."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise SpecError(f"--set {text}: expected PATH=VALUE, e.g. components.app.replicas=8")
    return path.strip(), value.strip()


def _set_path(data: dict[str, Any], parts: list[str], value: Any) -> None:
    node: Any = data
    walked: list[Any] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = join_path(walked) or "spec"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise SpecError(f"{where}: has no item {part!r} (it has {len(node)})")
            key: Any = int(part)
        elif isinstance(node, dict):
            if part not in node:
                hint = (
                    suggest(part, node) or f" (allowed here: {', '.join(sorted(map(str, node)))})"
                )
                raise SpecError(f"{join_path([*walked, part])}: unknown field{hint}")
            key = part
        else:
            raise SpecError(f"{where}: is a value, not a section")
        if last:
            node[key] = value
        else:
            node = node[key]
        walked.append(key)


def _split_path(path: str) -> list[str]:
    # classes[0].weight and classes.0.weight are both accepted
    return [p for p in path.replace("[", ".").replace("]", "").split(".") if p]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, for editors."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "simperf scenario"
    return schema

"""Validating plain data into spec models, with each problem named ``path: message``.

Pydantic's errors become one line per problem: union tags are removed from paths, bounds
and unknown fields are said in words (with a did-you-mean), and a line is prefixed with its
file and line when the caller knows them.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, Tag, ValidationError

from simperf.errors import SpecError
from simperf.spec.app_server import POOL_TAGS
from simperf.spec.base import suggest
from simperf.spec.components import COMPONENT_TAGS
from simperf.spec.distributions import DISTRIBUTION_TAGS
from simperf.spec.hints import warn_bare_seconds
from simperf.spec.keyspace import POPULARITY_TAGS
from simperf.spec.sessions import SESSION_STORE_TAGS
from simperf.spec.steps import STEP_TAGS
from simperf.spec.workload import ARRIVAL_TAGS

M = TypeVar("M", bound=BaseModel)

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


# pydantic's bound errors: (operator, the key of the bound in the error's ctx)
_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}
_FIXED = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (misspelt, or not allowed here)",
    "string_pattern_mismatch": (
        "must be a name of letters, digits and _ (or component.endpoint for calls)"
    ),
}
# The tags a union's own message lists: "{dist: constant|exponential|..., ...}".
_TAG_CHOICES = re.compile(r"\{(\w+): ([\w|]+), \.\.\.\}")
_FIELD_PREFIX = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*): (.+)$", re.S)


_PATH_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]-]*): ")
# What a YAML or JSON document that is no mapping holds, in words.
_KINDS_OF_DATA = {
    type(None): "nothing",
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


def validate(
    model: type[M],
    data: Any,
    locate: Callable[[str], str | None],
    only: set[str] | None = None,
    command: Callable[[str], str | None] | None = None,
) -> M:
    """Validate ``data`` as ``model``; each problem line is prefixed with ``locate(path)``.

    Bare numbers of seconds are warned about everywhere, or only under the paths ``only``.
    ``command`` locates a path as the command line words it, where that differs
    (overrides: ``--set``, where Python's caller gave ``overrides``): the error's and the
    warnings' ``command_line``.
    """
    if not isinstance(data, dict):
        where = locate("spec")
        got = _KINDS_OF_DATA.get(type(data), f"a {type(data).__name__}")
        if data is None and where:
            got += " (the file is empty)"
        raise SpecError(
            f"{where + ': ' if where else ''}spec: expected a mapping of the spec's fields "
            f"(name, workload, components, ...) at the top level, got {got}"
        )
    try:
        scenario = model.model_validate(data)
    except ValidationError as exc:
        message = format_validation_error(exc, data, model)
        worded = None if command is None else _locate_lines(message, command)
        raise SpecError(_locate_lines(message, locate), worded) from None
    except RecursionError:  # a safety net: depth and cycles are checked explicitly first
        raise SpecError("spec: nested or chained too deeply to check") from None
    warn_bare_seconds(scenario, data, locate, only, command)
    return scenario


def _locate_lines(message: str, locate: Callable[[str], str | None]) -> str:
    """The one formatter of problem lines: ``where: path: message`` (``where`` if known)."""
    out = []
    for line in message.splitlines():
        match = _PATH_PREFIX.match(line)
        where = locate(match.group(1)) if match else None
        out.append(f"{where}: {line}" if where else line)
    return "\n".join(out)


def format_validation_error(exc: ValidationError, data: Any, root: type[BaseModel]) -> str:
    """One ``path: message`` line per error, with union tags removed from paths.

    ``root`` is the model validated, whose fields name the allowed ones for an unknown field.
    """
    lines = []
    for error in exc.errors(include_url=False):
        path = _user_path(error["loc"], data)
        message = _message(error)
        if error["type"] == "extra_forbidden":
            message = _unknown_field(error["loc"], root)
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


def _unknown_field(loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    if loc[-1] == "autoscaling":
        return "only app servers autoscale (a field of kind app_server)"
    names = _allowed_names(loc[:-1], root)
    hint = suggest(loc[-1], names)
    if hint:
        return f"unknown field{hint}"
    if names:
        return f"unknown field (allowed here: {', '.join(sorted(names))})"
    return "unknown field (misspelt, or not allowed here)"


def _allowed_names(loc: tuple[Any, ...], root: type[BaseModel]) -> set[str]:
    """Field names (and aliases) of the model(s) an error location points into."""
    current: list[Any] = [root]
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
    if kind in _BOUNDS:
        operator, bound = _BOUNDS[kind]
        return f"must be {operator} {ctx[bound]}"
    if kind in _FIXED:
        return _FIXED[kind]
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
    message = str(error["msg"])
    tagged = _TAG_CHOICES.search(message) if isinstance(value, dict) else None
    if tagged and isinstance(value.get(tagged.group(1)), str):
        # a union told by a tag of its own (dist, model): name the unknown tag, as kind's
        field, choices = tagged.group(1), tagged.group(2).split("|")
        if value[field] not in choices:
            hint = suggest(value[field], choices)
            return f"unknown {field} {value[field]!r}{hint}; {message}"
    if kind == "literal_error":
        return message + suggest(error.get("input"), re.findall(r"'([^']*)'", ctx["expected"]))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message

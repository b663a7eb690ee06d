"""Reading specs (YAML/JSON), turning validation errors into readable paths, overrides.

Every failure here raises :class:`simperf.errors.SpecError` whose message has one line per
problem, each ``path: what was expected``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simperf.errors import SpecError
from simperf.spec.app_server import POOL_TAGS, STEP_TAGS
from simperf.spec.distributions import DISTRIBUTION_TAGS
from simperf.spec.keyspace import POPULARITY_TAGS
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
    SpecError
        If the file cannot be read or parsed, or the spec is invalid.

    Examples
    --------
    >>> import simperf
    >>> scenario = simperf.load("models/mm1.yaml")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    data = parse_text(text, source=str(path), json_only=path.suffix.lower() == ".json")
    return from_dict(data)


def parse_text(text: str, *, source: str = "<spec>", json_only: bool = False) -> Any:
    """Parse YAML (a superset of JSON) or strict JSON text into plain data."""
    if json_only:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, yaml.constructor.ConstructorError):
            problem = f"{problem} (only plain YAML data is accepted; tags are not)"
        raise SpecError(f"{where}: invalid YAML: {problem}") from None


def from_dict(data: Any) -> Scenario:
    """Validate plain data (as read from YAML/JSON) into a :class:`Scenario`."""
    if not isinstance(data, dict):
        raise SpecError(f"spec: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_validation_error(exc, data)) from None


def format_validation_error(exc: ValidationError, data: Any) -> str:
    """One ``path: message`` line per error, with union tags removed from paths."""
    lines = []
    for error in exc.errors(include_url=False):
        path = _user_path(error["loc"], data)
        message = _message(error)
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


def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
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
        return f"unknown {field} {ctx.get('tag')!r} (expected one of {expected})"
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
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def apply_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """Apply dotted-path overrides to a scenario and validate the result.

    Values may be given as strings (as on the command line); they are parsed as YAML
    scalars, so ``"8"`` is an int and ``"5ms"`` stays a string for the unit parser.
    """
    data = scenario.model_dump(mode="json", by_alias=True)
    for path, value in overrides.items():
        if isinstance(value, str):
            value = parse_text(value, source=f"--set {path}") if value.strip() else value
        _set_path(data, path, value)
    return from_dict(data)


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``PATH=VALUE`` from the command line."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise SpecError(f"--set {text}: expected PATH=VALUE, e.g. components.app.replicas=8")
    return path.strip(), value.strip()


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = _split_path(path)
    node: Any = data
    walked: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(walked) or "spec"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise SpecError(f"{path}: {where} has no item {part!r} (it has {len(node)})")
            key: Any = int(part)
        elif isinstance(node, dict):
            if part not in node:
                have = ", ".join(sorted(map(str, node))) or "nothing"
                raise SpecError(f"{path}: {where} has no field {part!r} (it has: {have})")
            key = part
        else:
            raise SpecError(f"{path}: {where} is a value, not a section")
        if last:
            node[key] = value
        else:
            node = node[key]
        walked.append(part)


def _split_path(path: str) -> list[str]:
    # classes[0].weight and classes.0.weight are both accepted
    return [p for p in path.replace("[", ".").replace("]", "").split(".") if p]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, for editors."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "simperf scenario"
    return schema

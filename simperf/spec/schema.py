"""How the spec models become a standard JSON Schema (draft 2020-12), for editors.

pydantic's generator is used with two corrections, so that the schema says what the
code does:

- a default given by a factory (a cache's 10 µs ``latency``, ``run``'s settings) is
  written as ``default`` like any other;
- bounds that pydantic cannot fold into a number's schema (those of a field whose type
  is optional or parses units first) come out as its own ``gt``/``ge``/``lt``/``le``
  keys, which JSON Schema ignores; they become ``exclusiveMinimum``, ``minimum``,
  ``exclusiveMaximum`` and ``maximum`` on the numeric branches of the field.

and two that make it as strict as the validator where a schema can say so:

- a unit string beside a number bounded below by 0 takes no minus sign (``-5ms``), and
  beside a number that must be above 0 it needs a digit other than 0 (``0ms``);
- the tag of a union's member (a component's ``kind``, a distribution's ``dist``, a
  popularity's ``model``) is required, as the validator needs it to pick the member,
  although the member's own field has it as its default.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}
# Keywords whose value maps names to schemas, and keywords whose value is data.
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
_DATA = frozenset({"default", "const", "enum", "examples"})


class SpecJsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema generator, with factory defaults and standard bounds."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        """The field's default, calling its factory when it has one (and needs no data)."""
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]
        return super().get_default_value(schema)

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        """The JSON Schema of ``schema``, with every bound written as JSON Schema spells it."""
        generated = super().generate(schema, mode)
        _standard_bounds(generated)
        _unsigned_strings(generated)
        _require_tags(generated)
        return generated


def _standard_bounds(node: Any) -> None:
    """Replace pydantic's raw ``gt``/``ge``/``lt``/``le`` keys throughout ``node``, in place."""
    if isinstance(node, list):
        for item in node:
            _standard_bounds(item)
        return
    if not isinstance(node, dict):
        return
    bounds = {_BOUNDS[key]: node.pop(key) for key in list(node) if key in _BOUNDS}
    if bounds:
        _bound_numbers(node, bounds)
    for key, value in node.items():
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            for sub in value.values():
                _standard_bounds(sub)
        elif key not in _DATA:
            _standard_bounds(value)


def _bound_numbers(node: dict[str, Any], bounds: dict[str, Any]) -> None:
    """Put ``bounds`` on the numeric schemas of ``node``: itself, or its union's branches."""
    if node.get("type") in ("number", "integer"):
        node.update(bounds)
    for key in ("anyOf", "oneOf"):
        for branch in node.get(key, []):
            _bound_numbers(branch, bounds)


# Every unit pattern starts with an optional sign, then the number's digits.
_SIGNED = re.compile(r"^\^\\s\*\[-\+\]\?\[0-9\._\]\+")
_UNSIGNED = r"^\s*\+?[0-9._]+"
_NOT_ZERO = r"^\s*\+?[0-9._]*[1-9][0-9._]*"


def _schemas(node: Any) -> list[dict[str, Any]]:
    """Every schema object inside ``node`` (itself included), not entering data keywords."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            found.append(item)
            for key, value in item.items():
                if key in _NAMED_SCHEMAS and isinstance(value, dict):
                    stack.extend(value.values())
                elif key not in _DATA:
                    stack.append(value)
    return found


def _unsigned_strings(node: Any) -> None:
    """Refuse a sign (and a zero) in unit strings where the number's lower bound does."""
    for schema in _schemas(node):
        branches = schema.get("anyOf", [])
        numbers = [b for b in branches if b.get("type") in ("number", "integer")]
        strings = [b for b in branches if b.get("type") == "string" and "pattern" in b]
        if not numbers or not strings:
            continue
        if all(b.get("exclusiveMinimum", -1) >= 0 or b.get("minimum", -1) > 0 for b in numbers):
            replacement = _NOT_ZERO
        elif all(b.get("minimum", -1) >= 0 for b in numbers):
            replacement = _UNSIGNED
        else:
            continue
        for branch in strings:
            signed = _SIGNED.match(branch["pattern"])
            if signed:
                branch["pattern"] = replacement + branch["pattern"][signed.end() :]


def _tag_of(definition: dict[str, Any]) -> str | None:
    """The property a member of a tagged union is told by: one whose value is a constant."""
    tags = [name for name, prop in definition.get("properties", {}).items() if "const" in prop]
    return tags[0] if len(tags) == 1 else None


def _require_tags(schema: dict[str, Any]) -> None:
    """Make the tag of every definition met only as a member of a union required.

    A union's branches that are references to definitions sharing a constant-valued
    property (``kind``, ``dist``, ``model``) are a tagged union (its other branches are
    shorthands: ``{zipf: ALPHA}``); the validator picks the
    member by that property, so it must be given even though the member defaults it. A
    definition also used on its own (one reference beside ``null``) keeps its default.
    """
    definitions = schema.get("$defs", {})
    members: set[str] = set()
    alone: set[str] = set()
    for node in _schemas(schema):
        if "$ref" in node and len(node) == 1:
            continue
        for key in ("oneOf", "anyOf"):
            refs = [b["$ref"].rsplit("/", 1)[-1] for b in node.get(key, []) if "$ref" in b]
            tagged = [name for name in refs if _tag_of(definitions.get(name, {}))]
            if len(tagged) >= 2 and len({_tag_of(definitions[name]) for name in tagged}) == 1:
                members.update(tagged)
                refs = [name for name in refs if name not in tagged]
            alone.update(refs)
        if "$ref" in node:
            alone.add(node["$ref"].rsplit("/", 1)[-1])
    for name in members - alone:
        definition = definitions[name]
        tag = _tag_of(definition)
        required = definition.setdefault("required", [])
        if tag not in required:
            required.insert(0, tag)

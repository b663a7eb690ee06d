"""How the spec models become a standard JSON Schema (draft 2020-12), for editors.

pydantic's generator is used with two corrections, so that the schema says what the
code does:

- a default given by a factory (a cache's 10 µs ``latency``, ``run``'s settings) is
  written as ``default`` like any other;
- bounds that pydantic cannot fold into a number's schema (those of a field whose type
  is optional or parses units first) come out as its own ``gt``/``ge``/``lt``/``le``
  keys, which JSON Schema ignores; they become ``exclusiveMinimum``, ``minimum``,
  ``exclusiveMaximum`` and ``maximum`` on the numeric branches of the field.
"""

from __future__ import annotations

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

"""The spec reference (docs/reference.md), generated from the JSON Schema.

``python -m simperf.spec.reference docs/reference.md`` rewrites the part of the page
between the ``spec-reference`` markers; a test checks that the page is up to date.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from simperf.spec.base import SpecModel
from simperf.spec.io import json_schema

START = "<!-- spec-reference:start (python -m simperf.spec.reference docs/reference.md) -->"
END = "<!-- spec-reference:end -->"


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "anyOf" in prop or "oneOf" in prop:
        options = [_type(p) for p in prop.get("anyOf", prop.get("oneOf", []))]
        return " \\| ".join(dict.fromkeys(o for o in options if o != "null"))
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if (
        kind == "object"
        and "additionalProperties" in prop
        and isinstance(prop["additionalProperties"], dict)
    ):
        return f"map of {_type(prop['additionalProperties'])}"
    if kind == "string" and "pattern" in prop and "unit" in prop.get("description", ""):
        return "string with unit"
    return str(kind)


def _bounds(prop: dict[str, Any]) -> str:
    parts = []
    for key, symbol in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if key in prop:
            parts.append(
                f"{symbol} {prop[key]:g}"
                if isinstance(prop[key], float)
                else f"{symbol} {prop[key]}"
            )
    for option in prop.get("anyOf", []):
        bounds = _bounds(option)
        if bounds:
            parts.append(bounds)
    if "minItems" in prop:
        parts.append(f"≥ {prop['minItems']} items")
    return ", ".join(dict.fromkeys(parts))


def _models() -> dict[str, type[SpecModel]]:
    found: dict[str, type[SpecModel]] = {}
    pending = [SpecModel]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found[sub.__name__] = sub
            pending.append(sub)
    return found


def _field_bounds(model: type[SpecModel] | None, field: str) -> str:
    """Bounds from the pydantic field itself (unit-aware fields hide them from the schema)."""
    if model is None:
        return ""
    for name, info in model.model_fields.items():
        if field in (name, info.alias):
            parts = []
            for item in info.metadata:
                for attr, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                    value = getattr(item, attr, None)
                    if value is not None:
                        parts.append(f"{symbol} {value:g}")
            return ", ".join(parts)
    return ""


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" in prop:
        value = prop["default"]
        return "—" if value is None else f"`{value}`"
    return "—"


def _escape(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def markdown() -> str:
    """Markdown tables, one per spec model, from the JSON Schema."""
    schema = json_schema()
    defs = {
        "Scenario": {k: v for k, v in schema.items() if k != "$defs"},
        **schema.get("$defs", {}),
    }
    models = _models()
    lines = []
    for name in sorted(defs, key=lambda n: (n != "Scenario", n)):
        model = defs[name]
        if "properties" not in model:
            continue
        lines.append(f"#### {name}")
        lines.append("")
        description = (model.get("description") or "").strip().split("\n\n")[0]
        if description:
            lines.append(_escape(description))
            lines.append("")
        lines.append("| field | type | default | bounds | description |")
        lines.append("|---|---|---|---|---|")
        required = set(model.get("required", []))
        for field, prop in model["properties"].items():
            lines.append(
                f"| `{field}` | {_type(prop)} | {_default(prop, field in required)} | "
                f"{_field_bounds(models.get(name), field) or _bounds(prop)} | "
                f"{_escape(prop.get('description', ''))} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def update(path: Path) -> bool:
    """Rewrite the reference section of ``path``; True if it changed."""
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition(START)
    if not sep:
        raise SystemExit(f"{path}: no {START!r} marker")
    _, sep, tail = rest.partition(END)
    if not sep:
        raise SystemExit(f"{path}: no {END!r} marker")
    new = f"{head}{START}\n\n{markdown()}\n{END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def section(text: str) -> str:
    """The generated part of a README text (between the markers)."""
    _, _, rest = text.partition(START)
    return rest.partition(END)[0].strip()


if __name__ == "__main__":  # pragma: no cover
    changed = update(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/reference.md"))
    print("updated" if changed else "up to date")

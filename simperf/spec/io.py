"""Reading specs (YAML/JSON), turning validation errors into readable paths, overrides.

Every failure here raises :class:`simperf.errors.SpecError` whose message has one line per
problem, each ``path: what was expected``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simperf.errors import SpecError
from simperf.spec.overrides import apply_overrides, parse_assignment
from simperf.spec.reader import check_depth, key_lines, parse_text, read_spec_file
from simperf.spec.scenario import Scenario
from simperf.spec.schema import SpecJsonSchema
from simperf.spec.validation import format_validation_error, suggest, validate

__all__ = [
    "apply_overrides",
    "format_validation_error",
    "from_dict",
    "json_schema",
    "load",
    "parse_assignment",
    "parse_text",
    "suggest",
]


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
    if isinstance(data, dict) and "types" in data and not {"workload", "components"} & set(data):
        # models/instance_types.yaml beside the scenarios: "components: required field is
        # missing" and "types: unknown field" would not say what the file is
        raise SpecError(
            f"{path}: an instance-type catalogue (types:), not a scenario; a scenario "
            f"uses it by naming it in its catalogue: field (catalogue: {path}, relative "
            "to the working directory)"
        )
    return validate(Scenario, data, _file_locator(text, str(path)))


def from_dict(data: Any) -> Scenario:
    """Validate plain data (as read from YAML/JSON) into a :class:`Scenario`."""
    check_depth(data)
    return validate(Scenario, data, lambda path: None)


def _file_locator(text: str, source: str) -> Callable[[str], str | None]:
    """``path -> "file:line"``, or ``"file"`` where the file has no line for it (a field it
    leaves out); the file is scanned for lines only when an error needs one."""
    lines: dict[str, int] | None = None

    def locate(path: str) -> str | None:
        nonlocal lines
        if lines is None:
            lines = key_lines(text)
        while path:
            if path in lines:
                return f"{source}:{lines[path]}"
            parent = _PARENT.sub("", path)
            if parent == path:  # a top-level key the file does not have: no parent left
                break
            path = parent
        return source  # still named: compare reads two files

    return locate


_PARENT = re.compile(r"(\.[^.\[]*|\[\d+\])$")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, for editors."""
    schema = Scenario.model_json_schema(by_alias=True, schema_generator=SpecJsonSchema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "simperf scenario"
    return schema

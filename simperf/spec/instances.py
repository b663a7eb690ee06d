"""Instance types: a catalogue of (cores, memory, price per hour) that components pick from.

A component names a type (``instance_type: m.4xlarge``) and the type sets what it would
otherwise state: an app server's ``cores`` and, when it models memory, its
``memory.capacity``; a database server's ``cores`` and buffer pool (``memory``, set to
:data:`BUFFER_POOL_SHARE` of the type's memory, as databases are commonly configured).
Its price per hour is the type's (:func:`simperf.spec.cost.scenario_cost`), so memory is
priced: a memory-optimised type costs more than a general-purpose one of the same cores.

The catalogue is the scenario's ``catalogue:`` (a YAML or JSON file, relative to the
working directory) or, without one, the built-in :data:`DEFAULT_CATALOGUE` (the file
``models/instance_types.yaml`` shows, with illustrative list prices). ``cores`` may be
written beside a type only with the type's value, and memory only up to the type's (a
heap or buffer pool smaller than the machine); setting ``instance_type`` with ``--set``
(a design of ``simperf cheapest`` or ``capacity``) replaces both.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError

from simperf.errors import SpecError
from simperf.spec.base import MAX_SIZE, Price, Size, SpecModel, suggest
from simperf.spec.reader import parse_text, read_spec_file

DEFAULT_CATALOGUE = Path(__file__).with_name("instance_types.yaml")
"""The built-in catalogue (illustrative on-demand list prices, not quotes)."""

BUFFER_POOL_SHARE = 0.75
"""Share of a database server's memory its buffer pool gets from an instance type."""

TYPE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
TypeName = Annotated[str, Field(pattern=TYPE_NAME, max_length=64)]
"""An instance type's name: ``m.4xlarge``, ``n2-standard-8``."""


class InstanceType(SpecModel):
    """One instance type of a catalogue."""

    cores: int = Field(ge=1, le=1024, description="vCPUs")
    memory: Size = Field(gt=0, le=MAX_SIZE, description="memory, e.g. 16GiB")
    per_hour: Price = Field(ge=0, le=1e6, description="price per hour (0.192/h)")


class Catalogue(SpecModel):
    """A catalogue file: ``types: {name: {cores, memory, per_hour}}``."""

    types: dict[TypeName, InstanceType] = Field(
        min_length=1, max_length=10_000, description="type name -> type"
    )


def load_catalogue(path: str | None = None) -> dict[str, InstanceType]:
    """The instance types of the catalogue at ``path`` (``None``: the built-in one).

    Read once per file and modification time.

    Raises
    ------
    SpecError
        The file cannot be read or is not a valid catalogue (``catalogue: ...``).
    """
    file = DEFAULT_CATALOGUE if path is None else Path(path)
    try:
        stamp = file.stat().st_mtime_ns
    except OSError as exc:
        raise SpecError(f"catalogue: cannot read {str(file)!r}: {exc.strerror}") from None
    return _read(str(file), stamp)


@lru_cache(maxsize=16)
def _read(file: str, stamp: int) -> dict[str, InstanceType]:
    try:
        data = parse_text(read_spec_file(Path(file)), source=file)
        return dict(Catalogue.model_validate(data).types)
    except SpecError as exc:
        raise SpecError(f"catalogue: {exc}") from None
    except ValidationError as exc:
        where = exc.errors()[0]
        loc = ".".join(map(str, where["loc"]))
        raise SpecError(f"catalogue: {file}: {loc}: {where['msg']}") from None


def _typed(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("instance_type"), str)


def _servers(data: dict[str, Any]) -> list[tuple[str, tuple[dict[str, Any], bool]]]:
    """Every (path, (server data, is a database server)) that may name an instance type."""
    servers = []
    for name, component in data["components"].items():
        if not isinstance(component, dict):
            continue
        kind = component.get("kind", "app_server")
        if kind == "app_server":
            servers.append((f"components.{name}", (component, False)))
        elif kind in ("database", "sharded_database"):
            servers += [
                (f"components.{name}.{role}", (component[role], True))
                for role in ("primary", "replica")
                if isinstance(component.get(role), dict)
            ]
    return servers


def fill_from_types(data: Any) -> Any:
    """Raw scenario data with what each component's instance type sets filled in.

    Fields already written are kept (a mismatch is a problem of the component,
    :func:`type_problems`). The caller's data are not changed.

    Raises
    ------
    SpecError
        An unknown type name (its path, and the closest known name), or a catalogue
        that cannot be read.
    """
    if not isinstance(data, dict) or not isinstance(data.get("components"), dict):
        return data
    if not any(_typed(node) for _, (node, _) in _servers(data)):
        return data
    data = copy.deepcopy(data)
    path = data.get("catalogue")  # not a string: the field's own error says so
    path = path if isinstance(path, str) else None
    catalogue = load_catalogue(path)
    unknown = []
    for where, (node, database) in _servers(data):
        if not _typed(node):
            continue
        chosen = catalogue.get(node["instance_type"])
        if chosen is None:
            unknown.append(
                _unknown(f"{where}.instance_type", node["instance_type"], catalogue, path)
            )
            continue
        node.setdefault("cores", chosen.cores)
        if database:
            node.setdefault("memory", int(chosen.memory * BUFFER_POOL_SHARE))
        elif isinstance(node.get("memory"), dict):
            node["memory"].setdefault("capacity", chosen.memory)
    if unknown:  # before the fields: a missing capacity would hide the cause
        raise SpecError("\n".join(unknown))
    return data


def _unknown(where: str, name: str, catalogue: dict[str, InstanceType], path: Any) -> str:
    source = "the built-in catalogue" if path is None else repr(path)
    hint = suggest(name, catalogue) or f" (known: {', '.join(sorted(catalogue))})"
    return f"{where}: unknown instance type {name!r} in {source}{hint}"


def type_problems(
    scenario: Any, name: str, path: str, cores: int, memory: float | None
) -> list[str]:
    """Problems of an ``instance_type`` at ``path``: unknown, or fields that disagree.

    ``memory``: what the component models of the type's memory (``None``: nothing).
    """
    catalogue = load_catalogue(scenario.catalogue)
    chosen = catalogue.get(name)
    if chosen is None:  # caught while filling in; kept for scenarios built otherwise
        return [_unknown(f"{path}.instance_type", name, catalogue, scenario.catalogue)]
    problems = []
    if cores != chosen.cores:
        problems.append(
            f"{path}.cores: {cores} differs from instance_type {name!r} ({chosen.cores} cores): "
            "give one of them"
        )
    if memory is not None and memory > chosen.memory:
        problems.append(
            f"{path}: memory {memory:.6g} bytes exceeds instance_type {name!r} "
            f"({chosen.memory:.6g} bytes)"
        )
    return problems


def implied_fields(node: dict[str, Any]) -> None:
    """Drop from a component's data what its ``instance_type`` sets (when the type changes)."""
    node.pop("cores", None)
    memory = node.get("memory")
    if isinstance(memory, dict):  # an app server's
        memory.pop("capacity", None)
    elif memory is not None:  # a database server's buffer pool
        node.pop("memory", None)


def price_per_hour(scenario: Any, name: str) -> float:
    """The price per hour of one instance of type ``name`` in the scenario's catalogue."""
    return float(load_catalogue(scenario.catalogue)[name].per_hour)

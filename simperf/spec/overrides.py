"""Dotted-path overrides (``--set PATH=VALUE``) applied to a scenario and validated again."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from simperf.errors import SpecError
from simperf.spec import instances
from simperf.spec.reader import join_path, parse_text
from simperf.spec.validation import suggest, validate

if TYPE_CHECKING:
    from simperf.spec.scenario import Scenario

S = TypeVar("S", bound="Scenario")

_PARSED_ALONE = re.compile(r"^(:\d+)*: (spec: )?")


def apply_overrides(
    scenario: S,
    overrides: dict[str, Any],
    *,
    flag: str | Mapping[str, str] = "--set",
    argument: str = "overrides",
) -> S:
    """Apply dotted-path overrides to a scenario and validate the result.

    Values may be given as strings (as on the command line); they are parsed as YAML
    scalars, so ``"8"`` is an int and ``"5ms"`` stays a string for the unit parser.
    Problems caused by an override are reported as coming from ``ARGUMENT PATH=VALUE``
    (``overrides components.app.cores=0: ...``): ``argument`` is the Python argument
    that gave it (a sweep's ``grid``). The error's ``command_line`` (and a warning's)
    words it ``FLAG PATH=VALUE`` for the command line, which prints that: ``flag`` is
    the option that gave it (``--grid``, ``--set-b``; ``--set`` by default), or a
    mapping of paths to theirs (``--set`` where it names none).
    """
    data = scenario.model_dump(mode="json", by_alias=True)
    labels: dict[str, tuple[str, str]] = {}  # path written -> (Python's, the command's)
    started: list[list[str]] = []
    for path, value in overrides.items():
        label = (
            f"{override_label(argument, path)}={value}",
            f"{override_label(flag, path)}={value}",
        )
        parts = _split_path(path)
        where = _where(parts)
        if isinstance(value, str) and value.strip():
            try:
                value = parse_text(value, source=label[1])
            except SpecError as exc:
                # the value parsed alone: its "line 1" and top-level path are the override's
                message = _PARSED_ALONE.sub("", str(exc).removeprefix(label[1]))
                raise SpecError(*(f"{said}: {where}: {message}" for said in label)) from None
        try:
            if parts[-1] == "instance_type":  # a new type sets cores and memory anew
                parent = _node(data, parts[:-1])
                if isinstance(parent, dict):
                    instances.implied_fields(parent)
            written = _set_path(data, parts, value, started)
        except SpecError as exc:
            raise SpecError(*(f"{said}: {exc}" for said in label)) from None
        labels[_where(written)] = label

    def locate(path: str, said: int = 0) -> str | None:
        for where, label in labels.items():
            if path == where or path.startswith((f"{where}.", f"{where}[")):
                return label[said]
        # refused at a section above the field set (a misspelt kind or dist is refused at
        # the component or distribution holding it): the field set is still the cause
        for where, label in labels.items():
            if path != "spec" and where.startswith((f"{path}.", f"{path}[")):
                return label[said]
        return None

    return validate(type(scenario), data, locate, only=set(labels), command=lambda p: locate(p, 1))


def override_label(flag: str | Mapping[str, str], path: str) -> str:
    """``--set PATH`` as the user wrote it: ``flag`` (or the mapping's flag of ``path``),
    joined without a space where it ends in a colon (``--set-design up:PATH``); from
    Python, the argument's name in its place (``overrides PATH``)."""
    name = flag if isinstance(flag, str) else flag.get(path, "--set")
    return f"{name}{'' if name.endswith(':') else ' '}{path}"


def parse_assignment(
    text: str, *, flag: str = "--set", expected: str = "PATH=VALUE, e.g. components.app.replicas=8"
) -> tuple[str, str]:
    """Split ``PATH=VALUE`` from the command line; an error names ``flag``, the option
    that gave it (:func:`override_label`), and what it ``expected``."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise SpecError(f"{override_label(flag, text)}: expected {expected}")
    return path.strip(), value.strip()


def _node(data: Any, parts: list[str]) -> Any:
    """The node at ``parts`` (None where the path does not exist)."""
    node = data
    for part in parts:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _set_path(
    data: dict[str, Any], parts: list[str], value: Any, started: list[list[str]]
) -> list[str]:
    """Set ``parts`` to ``value``; returns the path written, which problems found by
    validation are blamed on: a new section's where one is started (a section the spec
    left out, such as ``cost``, is started by setting a field in it, and ``started``
    keeps it open to the next overrides' fields)."""
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
            opened = any(len(s) <= i and parts[: len(s)] == s for s in started)
            if part not in node and not opened:
                hint = (
                    suggest(part, node) or f" (allowed here: {', '.join(sorted(map(str, node)))})"
                )
                raise SpecError(f"{join_path([*walked, part])}: unknown field{hint}")
            key = part
        else:
            raise SpecError(f"{where}: is a value, not a section")
        if last:
            node[key] = value
            return parts
        if isinstance(node, dict) and node.get(key) is None:  # left out: the section starts here
            node[key] = _nested(parts[i + 1 :], value)
            started.append(parts[: i + 1])
            return parts[: i + 1]
        node = node[key]
        walked.append(key)
    return parts


def _nested(parts: list[str], value: Any) -> dict[str, Any]:
    """``{a: {b: value}}`` for ``[a, b]``: a new section, which validation then checks."""
    section: Any = value
    for part in reversed(parts):
        section = {part: section}
    return section


def _where(parts: list[str]) -> str:
    """A path's name in messages (``components.app.endpoints.get[0]``)."""
    return join_path([int(p) if p.isdigit() else p for p in parts]) or "spec"


def _split_path(path: str) -> list[str]:
    # classes[0].weight and classes.0.weight are both accepted
    return [p for p in path.replace("[", ".").replace("]", "").split(".") if p]


def differences(a: Scenario, b: Scenario) -> dict[str, tuple[Any, Any]]:
    """The paths at which two scenarios differ, as ``--set`` names them, with A's and B's
    values (None where one has nothing there), in the order of A's spec then B's.

    Examples
    --------
    >>> import simperf
    >>> base = simperf.load("models/mmc.yaml")  # doctest: +SKIP
    >>> differences(base, base.with_overrides({"components.app.cores": 5}))  # doctest: +SKIP
    {'components.app.cores': (4, 5)}
    """
    leaves_a = dict(_leaves(a.model_dump(mode="json", by_alias=True), []))
    leaves_b = dict(_leaves(b.model_dump(mode="json", by_alias=True), []))
    return {
        path: (leaves_a.get(path), leaves_b.get(path))
        for path in {**leaves_a, **leaves_b}
        if leaves_a.get(path) != leaves_b.get(path)
    }


def _leaves(node: Any, parts: list[Any]) -> Iterator[tuple[str, Any]]:
    """(path, value) of every scalar inside ``node`` (an empty dict or list is a value)."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, [*parts, key])
    elif isinstance(node, list) and node:
        for index, value in enumerate(node):
            yield from _leaves(value, [*parts, index])
    else:
        yield join_path(parts), node

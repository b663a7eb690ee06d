"""The generated spec reference shows what the schema says, defaults included."""

from __future__ import annotations

from simperf.spec.reference import markdown


def row(text: str, model: str, field: str) -> str:
    table = text.split(f"#### {model}\n", 1)[1].split("\n#### ", 1)[0]
    (line,) = [line for line in table.splitlines() if line.startswith(f"| `{field}` |")]
    return line


def test_factory_defaults_are_shown_as_a_spec_writes_them() -> None:
    text = markdown()
    assert "| `10 µs` |" in row(text, "CacheSpec", "latency")
    assert "| `0 s` |" in row(text, "LoadBalancerSpec", "overhead")
    assert "| its defaults |" in row(text, "Scenario", "run")
    assert "| `[]` |" in row(text, "Scenario", "slo")


def test_shorthands_and_unpriced_cores_are_shown() -> None:
    text = markdown()
    assert "| string \\| list of string | required |" in row(text, "LoadBalancerSpec", "backends")
    assert "| — |" in row(text, "CostSpec", "per_core")

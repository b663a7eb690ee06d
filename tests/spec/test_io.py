"""Reading files and applying overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from simperf import SpecError, from_dict, load


def test_load_yaml_and_json_agree(tmp_path: Path, minimal_spec: dict[str, Any]) -> None:
    import json

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(minimal_spec))
    (tmp_path / "s.json").write_text(json.dumps(minimal_spec))
    assert load(tmp_path / "s.yaml") == load(tmp_path / "s.json")


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nworkload: {arrival: [\n")
    with pytest.raises(SpecError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:3:1: invalid YAML")


def test_yaml_python_tag_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SpecError) as info:
        load(path)
    message = str(info.value)
    assert "invalid YAML" in message and "tags are not" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read file"):
        load(tmp_path / "nope.yaml")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(SpecError, match="expected a mapping"):
        load(path)


def test_overrides_return_a_new_validated_scenario(minimal_scenario) -> None:
    changed = minimal_scenario.with_overrides(
        {"components.app.cores": 4, "workload.arrival.rate": "2k/s", "run.seed": "9"}
    )
    assert changed.components["app"].cores == 4
    assert changed.workload.arrival.rate == 2000.0
    assert changed.run.seed == 9
    assert minimal_scenario.components["app"].cores == 1  # original untouched


def test_override_of_list_item_by_index(minimal_scenario) -> None:
    changed = minimal_scenario.with_overrides({"workload.classes[0].weight": 3})
    assert changed.workload.classes[0].weight == 3


def test_override_of_missing_path_is_refused(minimal_scenario) -> None:
    with pytest.raises(SpecError) as info:
        minimal_scenario.with_overrides({"components.app.corse": 2})
    assert str(info.value).startswith("components.app.corse: components.app has no field 'corse'")


def test_override_with_invalid_value_is_refused(minimal_scenario) -> None:
    with pytest.raises(SpecError, match=r"components.app.cores: must be >= 1"):
        minimal_scenario.with_overrides({"components.app.cores": "0"})


def test_override_round_trip_preserves_everything(minimal_spec: dict[str, Any]) -> None:
    scenario = from_dict(minimal_spec)
    assert scenario.with_overrides({}) == scenario
    assert scenario.with_overrides({"run.seed": 1}) == scenario

"""Reading files and applying overrides."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from simperf import SpecError, SpecFileError, from_dict, load


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
    assert str(info.value) == (
        "overrides components.app.corse=2: components.app.corse: unknown field "
        "(did you mean 'cores'?)"
    )


def test_override_with_invalid_value_is_refused(minimal_scenario) -> None:
    with pytest.raises(SpecError, match=r"components.app.cores: must be >= 1"):
        minimal_scenario.with_overrides({"components.app.cores": "0"})


def test_override_round_trip_preserves_everything(minimal_spec: dict[str, Any]) -> None:
    scenario = from_dict(minimal_spec)
    assert scenario.with_overrides({}) == scenario
    assert scenario.with_overrides({"run.seed": 1}) == scenario


# -- files that cannot be read: SpecFileError, "cannot read file" -----------------------


def test_unreadable_files_raise_spec_file_error(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("name: caf\xe9\n".encode("latin-1"))
    for path in (tmp_path / "nope.yaml", tmp_path, latin1):
        with pytest.raises(SpecFileError) as info:
            load(path)
        assert str(info.value).startswith(f"{path}: cannot read file (")
        assert isinstance(info.value, SpecError)  # callers catching any bad spec still do


# -- one style of error: file:line: path: message, with did-you-mean -------------------


def test_misspelt_field_in_a_file_names_line_and_suggestion(
    tmp_path: Path, minimal_spec: dict[str, Any]
) -> None:
    app = minimal_spec["components"]["app"]
    app["wrokers"] = app.pop("cores")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(minimal_spec, sort_keys=False))
    line = path.read_text().splitlines().index("    wrokers: 1") + 1
    with pytest.raises(SpecError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}:{line}: components.app.wrokers: unknown field (did you mean 'workers'?)"
    )


def test_misspelt_field_in_json_names_its_line(
    tmp_path: Path, minimal_spec: dict[str, Any]
) -> None:
    minimal_spec["run"]["sead"] = 3
    path = tmp_path / "s.json"
    path.write_text(json.dumps(minimal_spec, indent=2))
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if '"sead"' in t)
    with pytest.raises(SpecError) as info:
        load(path)
    assert str(info.value) == f"{path}:{line}: run.sead: unknown field (did you mean 'seed'?)"


def test_unknown_field_without_a_close_name_lists_the_allowed_ones(
    minimal_spec: dict[str, Any],
) -> None:
    minimal_spec["run"]["zzz"] = 1
    with pytest.raises(SpecError) as info:
        from_dict(minimal_spec)
    message = str(info.value)
    assert message.startswith(
        "run.zzz: unknown field (allowed here: duration, engine, keep_requests, max_events,"
    )
    assert "seed" in message and "warmup" in message


def test_misspelt_field_inside_a_union_member(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["endpoints"]["serve"][0]["cpu"]["meen"] = "1ms"
    with pytest.raises(SpecError, match=r"cpu.meen: unknown field \(did you mean 'mean'\?\)"):
        from_dict(minimal_spec)


def test_misspelt_kind_and_policy_get_suggestions(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["kind"] = "app_sever"
    with pytest.raises(
        SpecError, match=r"unknown kind 'app_sever' \(did you mean 'app_server'\?\)"
    ):
        from_dict(minimal_spec)
    minimal_spec["components"]["app"]["kind"] = "app_server"
    minimal_spec["components"]["lb"] = {"kind": "load_balancer", "backends": "app"}
    minimal_spec["components"]["lb"]["policy"] = "round_robn"
    with pytest.raises(SpecError, match=r"did you mean 'round_robin'\?"):
        from_dict(minimal_spec)


def test_override_errors_say_which_set_caused_them(minimal_scenario) -> None:
    with pytest.raises(SpecError) as info:
        minimal_scenario.with_overrides({"run.seed": 2, "components.app.cores": "0"})
    assert str(info.value) == "overrides components.app.cores=0: components.app.cores: must be >= 1"
    with pytest.raises(SpecError) as info:
        minimal_scenario.with_overrides({"run.sede": "2"})
    assert str(info.value) == "overrides run.sede=2: run.sede: unknown field (did you mean 'seed'?)"
    with pytest.raises(SpecError, match=r"^overrides run.seed=010: run.seed: '010' is ambiguous"):
        minimal_scenario.with_overrides({"run.seed": "010"})


@pytest.mark.parametrize(
    ("path", "value", "said"),
    [
        ("components.app.cores", 0, "components.app.cores: must be >= 1"),  # validation
        ("components.app.corse", 2, "components.app.corse: unknown field"),  # the path
        ("run.seed", "010", "run.seed: '010' is ambiguous"),  # the value, parsed alone
    ],
)
def test_override_errors_from_python_name_its_argument_not_the_commands_flag(
    minimal_scenario, path: str, value: Any, said: str
) -> None:
    # with_overrides({...}) said "--set components.app.cores=0: ...", a flag no notebook
    # user typed; the command keeps its own wording (command_line), which it prints
    with pytest.raises(SpecError) as info:
        minimal_scenario.with_overrides({path: value})
    assert str(info.value).startswith(f"overrides {path}={value}: {said}"), info.value
    assert "--" not in str(info.value)
    assert str(info.value.command_line).startswith(f"--set {path}={value}: {said}")


def test_a_sweeps_and_a_capacitys_override_errors_name_their_arguments() -> None:
    import simperf

    from conftest import MODELS

    mmc = load(MODELS / "mmc.yaml")
    with pytest.raises(SpecError) as swept:
        simperf.sweep(mmc, {"components.app.cores": [0, 4]}, executor="serial")
    with pytest.raises(SpecError) as searched:
        simperf.capacity(mmc, "components.app.cores", "latency.all.p99<50ms", low=0, high=4)
    said = "components.app.cores=0: components.app.cores: must be >= 1"
    # a sweep names its grid point first, then the override as the grid set it
    message, command = str(swept.value), str(swept.value.command_line)
    assert f"\ngrid {said}" in message and "--" not in message, message
    assert f"\n--grid {said}" in command, command
    assert message.split("\n")[0] == command.split("\n")[0]  # the point, named alike
    # a capacity search's end is the override itself: named once
    message, command = str(searched.value), str(searched.value.command_line)
    assert message == f"knob {said}" and command == f"--knob {said}"


def test_an_override_refused_at_its_parent_is_named(minimal_scenario) -> None:
    """A misspelt kind or dist is refused at the component or distribution holding it:
    the override is named all the same (it read 'components.app: unknown kind ...')."""
    with pytest.raises(SpecError) as info:
        minimal_scenario.with_overrides({"components.app.kind": "app_sever"})
    assert str(info.value).startswith(
        "overrides components.app.kind=app_sever: components.app: unknown kind 'app_sever' "
        "(did you mean 'app_server'?)"
    )
    dist = "components.app.endpoints.serve[0].cpu.dist"
    with pytest.raises(SpecError) as info:
        minimal_scenario.with_overrides({"run.seed": "3", dist: "gama"})
    assert str(info.value).startswith(
        f"overrides {dist}=gama: components.app.endpoints.serve[0].cpu: unknown dist 'gama'"
    )


# -- silently accepted before, refused now ----------------------------------------------


def test_duplicate_key_in_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: a\nname: b\n")
    with pytest.raises(SpecError, match=rf"^{path}:2: name: duplicate key \(first given on line 1"):
        load(path)


@pytest.mark.parametrize("word", ["yes", "on", "true", "no"])
def test_booleans_are_not_numbers(tmp_path: Path, minimal_spec: dict[str, Any], word: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(minimal_spec).replace("cores: 1", f"cores: {word}"))
    # yes/on/no are the strings they are (YAML 1.2), true a boolean: neither is a number
    with pytest.raises(SpecError, match=r"components.app.cores: expected a number, not (a|the) "):
        load(path)


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "'yes'", "1"])
def test_a_true_false_field_takes_true_or_false_only(
    tmp_path: Path, minimal_spec: dict[str, Any], word: str
) -> None:
    # YAML 1.1 read yes/no/on/off as booleans and pydantic took "yes" and 1 as true; the
    # JSON Schema, like YAML 1.2, takes true and false only.
    scaling = {"min": 1, "max": 2, "target": "60%", "scale_in": "WORD"}
    minimal_spec["components"]["app"]["autoscaling"] = scaling
    path = tmp_path / "s.yaml"
    text = yaml.safe_dump(minimal_spec)
    path.write_text(text.replace("WORD", word))
    shown = "the string " if not word.isdigit() else ""
    message = f"components.app.autoscaling.scale_in: expected true or false, not {shown}'?"
    with pytest.raises(SpecError, match=message + word.strip("'")):
        load(path)
    path.write_text(text.replace("WORD", "false"))
    assert load(path).components["app"].autoscaling.scale_in is False


def test_booleans_inside_number_lists_are_refused(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["workload"]["arrival"] = {
        "kind": "piecewise",
        "rate": 10,
        "profile": [[0, 1], [5, True]],
    }
    with pytest.raises(SpecError, match=r"workload.arrival.profile: expected a number, not a b"):
        from_dict(minimal_spec)


def test_leading_zero_integer_in_a_file_is_refused(
    tmp_path: Path, minimal_spec: dict[str, Any]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(minimal_spec).replace("cores: 1", "cores: 010"))
    with pytest.raises(SpecError, match=r"components.app.cores: '010' is ambiguous"):
        load(path)


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("workload", "arrival", "rate"), "1e400/s"),
        (("workload", "arrival", "rate"), float("inf")),
        (("workload", "classes", 0, "weight"), float("nan")),
        (("run", "duration"), "1e400"),
    ],
)
def test_non_finite_numbers_are_refused(
    minimal_spec: dict[str, Any], where: tuple[Any, ...], value: object
) -> None:
    node: Any = minimal_spec
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    path = ".".join(str(k) for k in where).replace(".0.", "[0].")
    with pytest.raises(SpecError, match=rf"^{re.escape(path)}: .*finite"):
        from_dict(minimal_spec)


def test_non_finite_alert_threshold_is_refused(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["alerts"] = [{"name": "slow", "metric": "p99", "above": "1e400"}]
    with pytest.raises(SpecError, match=r"^alerts\[0\].above: a time must be a finite number"):
        from_dict(minimal_spec)


def test_counts_take_si_suffixes(minimal_spec: dict[str, Any]) -> None:
    minimal_spec["run"] = {"requests": "2k"}
    minimal_spec["keyspaces"] = {"items": {"keys": "1.5M", "popularity": "uniform"}}
    minimal_spec["workload"]["classes"][0]["keyspace"] = "items"
    scenario = from_dict(minimal_spec)
    assert scenario.run.requests == 2000
    assert scenario.keyspaces["items"].keys == 1_500_000
    minimal_spec["run"] = {"requests": "1.5"}
    with pytest.raises(SpecError, match=r"^run.requests: .*fractional"):
        from_dict(minimal_spec)


def test_a_file_missing_required_top_level_keys_is_refused_not_hung(tmp_path: Path) -> None:
    # a required key the file lacks has no line and no parent path to fall back to
    path = tmp_path / "catalogue.yaml"
    path.write_text("m5.large: {cores: 2}\n")
    with pytest.raises(SpecError) as info:
        load(path)
    assert "workload" in str(info.value)


def test_a_problem_without_a_line_still_names_the_file(tmp_path: Path) -> None:
    """A field the file leaves out has no line; the file is named all the same (compare
    reads two specs, and 'workload: required field is missing' did not say which)."""
    path = tmp_path / "partial.yaml"
    path.write_text("name: partial\n")
    with pytest.raises(SpecError) as info:
        load(path)
    lines = str(info.value).splitlines()
    assert lines == [
        f"{path}: workload: required field is missing",
        f"{path}: components: required field is missing",
    ]


@pytest.mark.parametrize(
    ("text", "got"),
    [("", "nothing (the file is empty)"), ("# only a comment\n", "nothing (the file is empty)"),
     ("[1, 2]\n", "a list"), ("just words\n", "a string")],
)  # fmt: skip
def test_a_file_that_is_no_mapping_says_what_it_holds(tmp_path: Path, text: str, got: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}: spec: expected a mapping of the spec's fields (name, workload, components, "
        f"...) at the top level, got {got}"
    )


def test_misspelt_dist_and_popularity_model_get_suggestions(
    minimal_spec: dict[str, Any],
) -> None:
    """As a misspelt kind does: the tag is named, with the closest one (it read only
    'expected a time (constant) or {dist: constant|exponential|...}')."""
    minimal_spec["components"]["app"]["endpoints"]["serve"][0]["cpu"]["dist"] = "exponental"
    with pytest.raises(SpecError) as info:
        from_dict(minimal_spec)
    assert str(info.value) == (
        "components.app.endpoints.serve[0].cpu: unknown dist 'exponental' (did you mean "
        "'exponential'?); expected a time (constant) or {dist: constant|exponential|uniform|"
        "lognormal|gamma|empirical|scipy, ...}"
    )
    minimal_spec["components"]["app"]["endpoints"]["serve"][0]["cpu"]["dist"] = "exponential"
    minimal_spec["keyspaces"] = {"k": {"keys": 10, "popularity": {"model": "zipff", "alpha": 1}}}
    with pytest.raises(SpecError, match=r"keyspaces\.k\.popularity: unknown model 'zipff' "
                       r"\(did you mean 'zipf'\?\); expected uniform"):  # fmt: skip
        from_dict(minimal_spec)

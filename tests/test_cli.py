"""The command line: output formats and exit status 2 with a clear message on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from simperf.cli import main

from conftest import MODELS


def write(tmp_path: Path, spec: dict[str, Any], name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_run_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    # 9,000 requests at 90/s outlast mm1's 50 s warm-up
    assert main(["run", str(MODELS / "mm1.yaml"), "--requests", "9000", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "scenario mm1" in out and "p99" in out and "wall time" in out


def test_run_json_equals_result_to_dict(capsys: pytest.CaptureFixture[str]) -> None:
    import simperf

    assert (
        main(["run", str(MODELS / "mm1.yaml"), "--duration", "60s", "--seed", "5", "--json"]) == 0
    )
    printed = json.loads(capsys.readouterr().out)
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides({"run.duration": 60})
    assert printed == simperf.run(scenario, seed=5).to_dict()
    for key in ("mean", "p50", "p95", "p99"):
        assert printed["latency"]["all"][key] > 0
        assert printed["latency"]["request"][key] > 0
    assert set(printed["requests"]) >= {"generated", "ok", "in_flight"}
    assert printed["stability"]["status"] in {"stable", "saturated", "unstable"}
    assert 0 < printed["components"]["app"]["utilization"] < 1
    assert printed["error_rate"] == 0


@pytest.mark.parametrize(
    "override",
    [
        "workload.arrival.rate=50",
        "components.app.replicas=2",
        "components.app.cores=2",
    ],
)
def test_documented_override_paths_work(override: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "run",
                str(MODELS / "mm1.yaml"),
                "--requests",
                "500",
                "--set",
                "run.warmup=0",
                "--set",
                override,
                "--json",
            ]
        )
        == 0
    )


def test_users_override_on_closed_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["run", str(MODELS / "closed.yaml"), "--requests", "500", "--set", "workload.users=5"])
        == 0
    )


def test_validate_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(MODELS / "web_tier.yaml")]) == 0
    assert "valid scenario 'web_tier'" in capsys.readouterr().out
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "simperf scenario"


BAD_SPECS = {
    "unknown_kind": (("components", "app", "kind"), "mainframe", "components.app: unknown kind"),
    "misspelt": (("components", "app", "coers"), 2, "components.app.coers: unknown field"),
    "negative_rate": (("workload", "arrival", "rate"), -3, "workload.arrival.rate: must be > 0"),
    "shed_bound_not_positive": (
        ("components", "app", "queue"),
        {"shed_after": 0},
        "components.app.queue.shed_after: must be > 0",
    ),
    "ps_without_spare_workers": (
        ("components", "app", "cpu_discipline"),
        "ps",
        "components.app.cpu_discipline: ps shares 1 core(s)",
    ),
    "rate_too_high": (
        ("workload", "arrival", "rate"),
        "1e9/s",
        "workload.arrival.rate: must be <=",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_exits_2_with_the_path(
    case: str, tmp_path: Path, minimal_spec: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    (a, b, c), value, expected = BAD_SPECS[case]
    minimal_spec[a][b][c] = value
    assert main(["run", write(tmp_path, minimal_spec)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_balancer_without_backends_exits_2(
    tmp_path: Path, minimal_spec: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    minimal_spec["components"]["lb"] = {"kind": "load_balancer", "backends": []}
    assert main(["validate", write(tmp_path, minimal_spec)]) == 2
    assert "components.lb.backends: must have at least 1 item" in capsys.readouterr().err


def test_call_to_missing_endpoint_exits_2(
    tmp_path: Path, minimal_spec: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    minimal_spec["components"]["app"]["endpoints"]["serve"].append({"call": "app.nothing"})
    assert main(["run", write(tmp_path, minimal_spec)]) == 2
    assert (
        "components.app.endpoints.serve: 'app' has no endpoint 'nothing'" in capsys.readouterr().err
    )


@pytest.mark.parametrize("name", ["nope.yaml", ".", "latin1.yaml"])
def test_unreadable_spec_file_exits_2_as_a_file_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    path = tmp_path / name
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: cannot read file (")
    assert "invalid spec" not in err
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"simperf: error: {path}: cannot read file (")
    assert "invalid spec" not in err


def test_set_on_missing_path_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(MODELS / "mm1.yaml"), "--set", "components.app.turbo=1"]) == 2
    assert (
        "--set components.app.turbo=1: components.app.turbo: unknown field "
        "(allowed here: autoscaling, breakers, concurrency_limit, cores," in capsys.readouterr().err
    )


def test_the_command_names_its_flags_where_python_names_its_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Python's with_overrides words an error "overrides PATH=VALUE"; the command keeps
    # --set and --grid, in its text, its --json and its warnings
    mm1 = str(MODELS / "mm1.yaml")
    assert main(["run", mm1, "--set", "components.app.cores=0"]) == 2
    err = capsys.readouterr().err
    assert "  --set components.app.cores=0: components.app.cores: must be >= 1" in err, err
    assert "overrides" not in err
    assert main(["run", mm1, "--set", "components.app.cores=0", "--json"]) == 2
    message = json.loads(capsys.readouterr().out)["error"]["message"]
    assert message.startswith("--set components.app.cores=0: ") and "overrides" not in message
    grid = ["sweep", mm1, "--grid", "components.app.cores=0,1", "--serial", "--quiet"]
    assert main(grid) == 2
    err = capsys.readouterr().err
    assert "--grid components.app.cores=0: components.app.cores: must be >= 1" in err, err
    assert "\n  grid components" not in err
    bare = "components.app.endpoints.serve[0].cpu.mean=2"
    assert main(["estimate", mm1, "--set", bare]) == 0
    err = capsys.readouterr().err
    assert f"simperf: warning: --set {bare}: " in err and "overrides" not in err, err


def test_set_without_equals_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(MODELS / "mm1.yaml"), "--set", "components.app.cores"]) == 2
    assert "expected PATH=VALUE" in capsys.readouterr().err


def test_malformed_yaml_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    assert main(["run", str(path)]) == 2
    assert "invalid YAML" in capsys.readouterr().err


def test_python_object_tag_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['touch hacked']\n")
    assert main(["run", str(path)]) == 2
    assert "tags are not" in capsys.readouterr().err
    assert not Path("hacked").exists()


def test_bad_argument_exits_2_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(MODELS / "mm1.yaml"), "--seed", "minus-one"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: simperf run")
    assert "simperf run: error: argument --seed: expected a whole number" in err


def test_console_script_has_no_traceback(tmp_path: Path, minimal_spec: dict[str, Any]) -> None:
    minimal_spec["components"]["app"]["cores"] = 0
    proc = subprocess.run(
        [sys.executable, "-m", "simperf.cli", "run", write(tmp_path, minimal_spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "components.app.cores: must be >= 1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_python_m_simperf_is_the_command() -> None:
    # `python -m simperf` failed: "No module named simperf.__main__"
    proc = subprocess.run(
        [sys.executable, "-m", "simperf", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("simperf ")


def test_python_warning_is_shown_once_and_the_cli_exits(tmp_path: Path) -> None:
    # A non-simperf warning used to be re-recorded while being shown: the CLI looped
    # at exit until MemoryError. The handler is replaced in a child process.
    script = (
        "import sys, warnings\n"
        "import simperf.cli as cli\n"
        "def noisy(args):\n"
        "    warnings.warn('mean of empty slice', RuntimeWarning, stacklevel=1)\n"
        "    return 0\n"
        "cli._cmd_schema = noisy\n"
        "sys.exit(cli.main(['schema']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0
    assert proc.stderr.count("RuntimeWarning: mean of empty slice") == 1


def test_requests_take_si_suffixes(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", str(MODELS / "mm1.yaml"), "--set", "run.warmup=0", "--json"]
    assert main([*args, "--requests", "2k", "--seed", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["requests"]["generated"] == 2000


@pytest.mark.parametrize(
    ("text", "message"),
    [("2k/s", "expected a count"), ("1.5", "expected a whole number"), ("0", "must be >= 1")],
)
def test_requests_refuse_rates_fractions_and_zero(
    text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(MODELS / "mm1.yaml"), "--requests", text]) == 2
    assert message in capsys.readouterr().err


def test_requests_ending_inside_the_warmup_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # mm1: 90/s and a 50 s warm-up, so 3,000 requests arrive within 33 s: all discarded.
    assert main(["run", str(MODELS / "mm1.yaml"), "--requests", "3000"]) == 2
    err = capsys.readouterr().err
    assert "run.requests: 3000 requests at 90/s arrive within 33.3333 s" in err
    assert "run.warmup = 50 s" in err and "more than 4500 requests" in err


def test_closed_run_that_measures_nothing_warns_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    # A closed loop's length is not known in advance: it runs, and says what happened.
    args = ["run", str(MODELS / "closed.yaml"), "--requests", "20", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["measured_time"] == 0
    assert data["warnings"] == ["the run ended before the warm-up did: nothing was measured"]
    assert "simperf: warning: the run ended before the warm-up did" in captured.err


def test_validate_several_files(
    tmp_path: Path, minimal_spec: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    good = str(MODELS / "mm1.yaml")
    minimal_spec["components"]["app"]["cores"] = 0
    bad = write(tmp_path, minimal_spec)
    assert main(["validate", good, str(MODELS / "mmc.yaml")]) == 0
    assert capsys.readouterr().out.count("valid scenario") == 2
    assert main(["validate", good, bad, str(tmp_path / "missing.yaml")]) == 2
    captured = capsys.readouterr()
    assert f"{good}: valid scenario 'mm1' (1 component)\n" in captured.out  # not "components"
    line = Path(bad).read_text().splitlines().index("    cores: 0") + 1
    assert (
        f"{bad}: invalid spec:\n  {bad}:{line}: components.app.cores: must be >= 1" in captured.err
    )
    assert "missing.yaml: cannot read file" in captured.err


def test_validate_json_reports_each_file(
    tmp_path: Path, minimal_spec: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    minimal_spec["components"]["app"]["cores"] = 0
    bad = write(tmp_path, minimal_spec)
    missing = str(tmp_path / "missing.yaml")
    assert main(["validate", str(MODELS / "mm1.yaml"), bad, missing, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == ""
    data = json.loads(captured.out)
    assert data["valid"] is False
    first, second, third = data["files"]
    assert first == {"path": str(MODELS / "mm1.yaml"), "valid": True, "name": "mm1"}
    assert second["valid"] is False and second["error"]["kind"] == "spec"
    assert "components.app.cores: must be >= 1" in second["error"]["message"]
    assert third["error"]["kind"] == "file" and third["error"]["path"] == missing


def test_validate_rejects_an_slo_on_an_unknown_metric(
    tmp_path: Path, minimal_spec: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    minimal_spec["slo"] = [{"metric": "latency.all.p98", "below": "200ms"}]
    assert main(["validate", write(tmp_path, minimal_spec)]) == 2
    assert "slo[0].metric: unknown metric 'latency.all.p98'" in capsys.readouterr().err


def test_validate_refuses_a_run_too_large_to_simulate(
    tmp_path: Path, minimal_spec: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # run refuses it before it starts; validate called it valid
    minimal_spec["workload"]["arrival"]["rate"] = "1e7/s"
    minimal_spec["run"] = {"duration": "60s"}
    assert main(["validate", write(tmp_path, minimal_spec)]) == 2
    assert "run: the run would take about" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-1", str(2**63)])
def test_a_seed_out_of_range_is_an_argument_error(
    seed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(MODELS / "mm1.yaml"), "--seed", seed]) == 2
    assert "argument --seed: must be from 0 to 2**63 - 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "kind", "message"),
    [
        (["run", "MISSING"], "file", "cannot read file"),
        (["run", str(MODELS / "mm1.yaml"), "--set", "components.app.cores=0"], "spec", ">= 1"),
        (["run", str(MODELS / "mm1.yaml"), "--seed", "x"], "arguments", "argument --seed"),
    ],
)
def test_json_errors_are_one_json_object(
    args: list[str], kind: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == ""
    error = json.loads(captured.out)["error"]
    assert error["kind"] == kind and message in error["message"]


def test_run_engine_flag(capsys: pytest.CaptureFixture[str]) -> None:
    mm1 = [str(MODELS / "mm1.yaml"), "--requests", "2000", "--set", "run.warmup=1"]
    assert main(["run", *mm1, "--engine", "events"]) == 0
    events = capsys.readouterr().out
    assert "events/s" in events and "fast path" not in events
    assert main(["run", *mm1, "--engine", "fast"]) == 0
    fast = capsys.readouterr().out
    assert "exact fast path: no events" in fast
    # the same run: everything but the wall-time line agrees
    assert events.splitlines()[:-2] == fast.splitlines()[:-2]
    closed = str(MODELS / "closed.yaml")
    assert main(["run", closed, "--requests", "200", "--engine", "fast"]) == 2
    err = capsys.readouterr().err
    assert "run.engine: fast is not exact here: workload: a closed loop" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (None, "keyspaces.tr.popularity.path: cannot read trace"),
        ("key,t\n", "keyspaces.tr.popularity.path: the trace"),
        ("key,t\n1,2\n2,1\n", "keyspaces.tr.popularity.time_column: 't' in"),
        ("key,t\n1,0\n2,x\n", "keyspaces.tr.popularity.time_column: 't' in"),
    ],
)
def test_an_unusable_trace_names_its_key_space(
    tmp_path: Path, rows: str | None, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "trace.csv"
    if rows is not None:
        trace.write_text(rows)
    popularity = {"model": "trace", "path": str(trace), "time_column": "t"}
    spec = {
        "name": "trace",
        "keyspaces": {"tr": {"keys": 10, "popularity": popularity}},
        "workload": {
            "arrival": {"kind": "trace", "keyspace": "tr"},
            "classes": [{"name": "r", "entry": "app", "endpoint": "e", "keyspace": "tr"}],
        },
        "components": {"app": {"kind": "app_server", "endpoints": {"e": [{"cpu": "1ms"}]}}},
    }
    assert main(["run", write(tmp_path, spec)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.strip().splitlines()) == 1  # one line, not a pandas essay
    assert "want to try" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["replicate", "-n", "1e9"],
        ["compare", str(MODELS / "mm1.yaml"), "-n", "1e9"],
        ["sweep", "--grid", "components.app.cores=1,2", "--replications", "1e9"],
        ["capacity", "--knob", "components.app.cores", "--replications", "1e9"],
    ],
)
def test_a_billion_replications_are_refused_before_any_runs(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # each used to build a task list of a billion entries and die of MemoryError
    command, *rest = args
    assert main([command, str(MODELS / "mm1.yaml"), *rest, "--serial"]) == 2
    assert "replications: at most 100,000, got 1,000,000,000" in capsys.readouterr().err


def test_users_who_never_think_against_a_dead_server_stop_with_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # refused at once while the server is down, they used to loop at t = 100 s forever
    spec = yaml.safe_load((MODELS / "closed.yaml").read_text())
    spec["workload"]["think_time"] = "0s"
    spec["faults"] = [{"component": "app", "at": "100s", "for": "10s"}]
    assert main(["run", write(tmp_path, spec), "--duration", "200s"]) == 2
    err = capsys.readouterr().err
    assert "workload.think_time: at 100 s requests end at once" in err
    assert "Traceback" not in err

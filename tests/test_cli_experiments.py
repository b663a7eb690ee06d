"""replicate, compare and sweep on the command line: --json output and exit status 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from simperf.cli import main

from conftest import MODELS

MMC = str(MODELS / "mmc.yaml")
SHORT = ["--duration", "40s", "--serial", "--quiet"]


def test_replicate_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replicate", MMC, "-n", "3", *SHORT, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["replications"] == 3
    mean = data["metrics"]["latency.all.mean"]
    assert mean["low"] < mean["mean"] < mean["high"]


def test_replicate_with_precision(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["replicate", MMC, *SHORT, "--precision", "throughput:0.05", "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["precision"]["reached"] is True


def test_compare_text(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compare", MMC, MMC, "--set-b", "components.app.cores=5", "-n", "3", *SHORT]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "latency.all.mean" in out and "yes" in out
    # one file on both sides: each named with its value of what --set-b changed
    assert out.startswith(
        "A = mmc (components.app.cores=4)  B = mmc (components.app.cores=5)  3 paired"
    )


def test_sweep_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sweep", MMC, "--grid", "components.app.cores=4,5", *SHORT, "--json"]
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["components.app.cores"] for r in rows] == [4, 5]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sweep", MMC, "--grid", "components.app.corez=4,5"], "did you mean 'cores'"),
        (["sweep", MMC], "give at least one --grid"),
        (
            ["replicate", MMC, "--precision", "latency.all.p98:0.05"],
            "unknown metric 'latency.all.p98'",
        ),
        (["replicate", MMC, "--precision", "latency.all.p99:tight"], "expected METRIC:RELATIVE"),
    ],
)
def test_bad_input_exits_2_before_running(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, *SHORT]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_zero_replications_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replicate", MMC, "-n", "0"]) == 2
    assert "must be >= 1" in capsys.readouterr().err


def test_resume_against_changed_spec_exits_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "r.db")
    assert main(["sweep", MMC, "--grid", "components.app.cores=4", *SHORT, "--out", out]) == 0
    changed = [
        "sweep",
        MMC,
        "--grid",
        "components.app.cores=4",
        "--duration",
        "50s",
        "--serial",
        "--quiet",
        "--out",
        out,
        "--resume",
    ]
    assert main(changed) == 2
    assert "different spec or seed" in capsys.readouterr().err


def test_compare_applies_shared_options_to_both_sides(capsys: pytest.CaptureFixture[str]) -> None:
    # --duration, --set and --seed used to reach A only: a spec against itself then
    # differed "significantly". Common random numbers make every difference exactly 0.
    args = ["compare", MMC, MMC, "-n", "2", *SHORT, "--set", "components.app.cores=5"]
    assert main([*args, "--seed", "7", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["seed"] == 7
    differences = {m: row["difference"] for m, row in data["metrics"].items()}
    assert differences and all(d in (0, None) for d in differences.values())
    assert not any(row["significant"] for row in data["metrics"].values())


def test_compare_set_a_changes_a_only(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compare", MMC, MMC, "-n", "2", *SHORT, "--set-a", "components.app.cores=5"]
    assert main([*args, "--json"]) == 0
    latency = json.loads(capsys.readouterr().out)["metrics"]["latency.all.mean"]
    assert latency["mean_a"] < latency["mean_b"]  # A has one core more


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replicate", MMC, "--confidence", "1.5"], "--confidence: must be in (0, 1)"),
        (["compare", MMC, MMC, "--confidence", "0"], "--confidence: must be in (0, 1)"),
        (["capacity", MMC, "--knob", "x", "--confidence", "nan"], "must be in (0, 1)"),
        (["replicate", MMC, "-n", "2k/s"], "expected a count"),
    ],
)
def test_bad_arguments_exit_2_with_usage(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, *SHORT]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("relative", ["0", "-0.1", "nan", "1", "inf"])
def test_precision_out_of_range_exits_2(relative: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replicate", MMC, *SHORT, "--precision", f"throughput:{relative}"]) == 2
    err = capsys.readouterr().err
    assert "RELATIVE in (0, 1)" in err and "Traceback" not in err


def test_precision_budget_below_two_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["replicate", MMC, *SHORT, "--precision", "throughput:0.05", "--max-replications", "1"]
    assert main(args) == 2
    assert "max_replications: must be >= 2" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", ["sweep", "capacity", "replicate", "compare", "cheapest", "growth"]
)
def test_resume_without_out_exits_2(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    extra = {
        "sweep": ["--grid", "components.app.cores=4"],
        "capacity": ["--knob", "x"],
        "compare": [MMC],
        "cheapest": ["--design", "up=components.app.cores", "--design", "out=components.app.cores"],
        "growth": ["--rate", "10%"],
    }
    extra = extra.get(command, [])
    assert main([command, MMC, *extra, *SHORT, "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err


def test_out_that_is_a_directory_exits_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sweep", MMC, "--grid", "components.app.cores=4", *SHORT, "--out", str(tmp_path)]
    assert main(args) == 2
    assert "is a directory" in capsys.readouterr().err


def test_out_in_a_missing_directory_makes_it(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    # as report's --out did (tests/test_cli_out.py: every command's alike)
    out = tmp_path / "nowhere" / "r.db"
    args = ["sweep", MMC, "--grid", "components.app.cores=4", *SHORT, "--out", str(out)]
    assert main(args) == 0
    assert out.is_file() and "Traceback" not in capsys.readouterr().err


def test_resume_of_a_file_that_is_not_a_store_exits_2(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database, but long enough to be read as one " * 20)
    args = ["sweep", MMC, "--grid", "components.app.cores=4", *SHORT, "--out", str(text)]
    assert main([*args, "--resume", "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["kind"] == "store" and "is not a simperf results store" in error["message"]


def test_sweep_point_ending_inside_the_warmup_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # mmc: 320/s, 20 s warm-up; 8,000 requests last 25 s at 320/s but 10 s at 800/s
    args = ["sweep", MMC, "--grid", "workload.arrival.rate=320,800", "--requests", "8000"]
    assert main([*args, "--serial", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "grid point workload.arrival.rate=800" in err and "inside the warm-up" in err


def test_sweep_json_carries_a_nothing_measured_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    closed = str(MODELS / "closed.yaml")
    args = ["sweep", closed, "--grid", "workload.users=2,5", "--requests", "20"]
    assert main([*args, "--serial", "--quiet", "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert [r["warning"] for r in rows] == [
        "the run ended before the warm-up did: nothing was measured"
    ] * 2
    assert "simperf: warning:" not in captured.out


def test_interrupted_sweep_keeps_finished_runs_and_resumes(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from simperf.experiment import sweep as sweep_module

    real = sweep_module.run_to_dict
    calls = []

    def interrupted_third(*args):
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(sweep_module, "run_to_dict", interrupted_third)
    out = str(tmp_path / "r.db")
    args = ["sweep", MMC, "--grid", "components.app.cores=4,5,6,7", *SHORT, "--out", out]
    assert main(args) == 130
    assert "rerun with --resume --out" in capsys.readouterr().err
    monkeypatch.setattr(sweep_module, "run_to_dict", real)
    calls.clear()
    monkeypatch.setattr(sweep_module, "run_to_dict", lambda *a: calls.append(a) or real(*a))
    assert main([*args, "--resume", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["components.app.cores"] for r in rows] == [4, 5, 6, 7]
    assert len(calls) == 2  # the two runs that finished before the interrupt are reused


def test_interrupted_replicate_keeps_finished_runs_and_resumes(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from simperf.experiment import replicate as replicate_module

    real = replicate_module.run_to_dict

    def interrupted_third(data, seed, replication):  # type: ignore[no-untyped-def]
        if replication == 2:
            raise KeyboardInterrupt
        return real(data, seed, replication)

    monkeypatch.setattr(replicate_module, "run_to_dict", interrupted_third)
    out = str(tmp_path / "r.db")
    args = ["replicate", MMC, "-n", "4", *SHORT, "--json"]
    assert main([*args, "--out", out]) == 130
    assert "rerun with --resume --out" in capsys.readouterr().err
    ran: list[int] = []
    monkeypatch.setattr(
        replicate_module, "run_to_dict", lambda d, s, r: ran.append(r) or real(d, s, r)
    )
    assert main([*args, "--out", out, "--resume"]) == 0
    resumed = capsys.readouterr().out
    assert ran == [2, 3]  # the two runs that finished before the interrupt are reused
    assert main(args) == 0
    assert capsys.readouterr().out == resumed


def test_unreachable_dask_scheduler_exits_2_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from simperf.experiment.executors import DASK_CONNECT_TIMEOUT

    pytest.importorskip("distributed")
    start = time.perf_counter()
    args = ["replicate", MMC, "-n", "2", "--duration", "40s", "--quiet"]
    assert main([*args, "--dask", "127.0.0.1:1"]) == 2
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert "dask scheduler '127.0.0.1:1': cannot connect" in err and "Traceback" not in err
    # the connect timeout, plus the start-up checks that run before any executor
    assert elapsed < DASK_CONNECT_TIMEOUT + 15


def test_malformed_dask_address_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    args = ["replicate", MMC, "-n", "2", "--duration", "40s", "--quiet", "--dask", "a::b::"]
    assert main(args) == 2
    assert "dask scheduler 'a::b::': cannot connect" in capsys.readouterr().err


def test_replicating_a_bad_day_shows_its_faults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One of two instances behind health checks dies: what was lost and when it was
    # noticed are the numbers replicated, beside latency and throughput.
    spec = tmp_path / "crash.yaml"
    spec.write_text(
        "name: crash\n"
        "workload:\n"
        "  arrival: {kind: poisson, rate: 100/s}\n"
        "  classes: [{name: get, entry: lb, endpoint: get}]\n"
        "components:\n"
        "  lb: {kind: load_balancer, backends: app, health_check: {interval: 1s, timeout: 100ms}}\n"
        "  app: {kind: app_server, replicas: 2, endpoints: {get: [{cpu: 1ms}]}}\n"
        "faults: [{component: app, instance: 0, at: 2s, for: 4s}]\n"
        "run: {duration: 8s, warmup: 0s}\n"
    )
    assert main(["replicate", str(spec), "-n", "2", "--serial", "--quiet"]) == 0
    out = capsys.readouterr().out
    for metric in (
        "faults.availability.requests.all",
        "faults.failed",
        "faults.mean_time_to_detect",
    ):
        assert f"\n{metric} " in out
    # a share, in percent as the run's summary writes it (it read 0.9815, a count's)
    assert re.search(r"\nfaults\.availability\.requests\.all +\d+\.\d%", out), out


def test_sweep_json_keeps_every_digit(capsys: pytest.CaptureFixture[str]) -> None:
    """--json gave each number to 10 decimal places (pandas' to_json): a mean of
    0.012402028872965992 s came out as 0.0124020289, and anything under 5e-11 as 0."""
    import simperf
    from simperf.experiment.sweep import sweep

    args = ["sweep", MMC, "--grid", "components.app.cores=4", *SHORT, "--json"]
    assert main(args) == 0
    (row,) = json.loads(capsys.readouterr().out)
    scenario = simperf.load(MMC).with_overrides({"run.duration": 40})
    frame = sweep(scenario, {"components.app.cores": [4]}, executor="serial", progress=False)
    expected = frame.iloc[0]
    for metric in ("latency.all.mean", "components.app.mean_wait", "throughput"):
        assert row[metric] == expected[metric]


def test_a_grid_path_given_twice_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """The second list replaced the first: cores=4,5 then cores=6 swept 6 alone."""
    grid = ["--grid", "components.app.cores=4,5", "--grid", "components.app.cores=6"]
    assert main(["sweep", MMC, *grid, *SHORT]) == 2
    err = capsys.readouterr().err
    assert "--grid components.app.cores: given twice" in err and "Traceback" not in err


def test_replicate_and_compare_text_show_the_components_utilization_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The closed-form estimate's utilization (0.8 +- 0 in every run, 'significant' in a
    comparison) and the headroom's copy of the measured one were listed as results."""
    assert main(["replicate", MMC, "-n", "2", *SHORT]) == 0
    text = capsys.readouterr().out
    assert "components.app.utilization" in text
    assert "estimate.bottleneck.utilization" not in text
    assert "headroom.first.utilization" not in text
    assert main(["compare", MMC, MMC, "--set-b", "components.app.cores=5", "-n", "2", *SHORT]) == 0
    text = capsys.readouterr().out
    assert "components.app.utilization" in text and "estimate." not in text


def test_sweep_text_shows_the_worst_stability_of_a_point(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """M/M/1 at 0.93: one replication of four saturated. The table showed the commonest
    verdict, 'stable', where one replication shows the design can saturate."""
    args = ["sweep", str(MODELS / "mm1.yaml"), "--grid", "workload.arrival.rate=93/s"]
    args += ["--replications", "4", "--duration", "100s", "--set", "run.warmup=10s"]
    assert main([*args, "--serial", "--quiet"]) == 0
    (row,) = capsys.readouterr().out.splitlines()[1:]
    assert row.split()[:3] == ["93/s", "saturated", "1/4"]


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("components.app.cores", "--grid components.app.cores: expected PATH=V1,V2,..."),
        ("=4,5", "--grid =4,5: expected PATH=V1,V2,..."),
        ("components.app.cores=0,2", "--grid components.app.cores=0: components.app.cores"),
        ("components.app.corez=4", "--grid components.app.corez=4: components.app.corez"),
    ],
)
def test_grid_errors_name_grid_not_set(
    grid: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", MMC, "--grid", grid, *SHORT]) == 2
    err = capsys.readouterr().err
    assert message in err and "--set" not in err


def test_interrupted_compare_keeps_finished_runs_and_resumes(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from simperf.experiment import replicate as replicate_module

    real = replicate_module.run_to_dict
    calls: list[tuple[int, int]] = []  # (cores, replication) of each run

    def interrupted_b(data, seed, replication):  # type: ignore[no-untyped-def]
        if data["components"]["app"]["cores"] == 5 and replication == 1:
            raise KeyboardInterrupt  # A's three runs and B's first have finished
        return real(data, seed, replication)

    monkeypatch.setattr(replicate_module, "run_to_dict", interrupted_b)
    out = str(tmp_path / "c.db")
    args = ["compare", MMC, MMC, "--set-b", "components.app.cores=5", "-n", "3", *SHORT]
    assert main([*args, "--out", out, "--json"]) == 130
    assert "simperf: compare interrupted; rerun with --resume --out" in capsys.readouterr().err

    def counted(data, seed, replication):  # type: ignore[no-untyped-def]
        calls.append((data["components"]["app"]["cores"], replication))
        return real(data, seed, replication)

    monkeypatch.setattr(replicate_module, "run_to_dict", counted)
    assert main([*args, "--out", out, "--resume", "--json"]) == 0
    resumed = capsys.readouterr().out
    assert calls == [(5, 1), (5, 2)]  # only B's last two runs were missing
    calls.clear()
    assert main([*args, "--out", out, "--resume", "--json"]) == 0  # all stored: none runs
    assert calls == [] and capsys.readouterr().out == resumed
    assert main([*args, "--json"]) == 0  # the same as an uninterrupted comparison
    assert capsys.readouterr().out == resumed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set-b", "cores"], "--set-b cores: expected PATH=VALUE"),
        (["--set-a", "components.app.cores=0"], "--set-a components.app.cores=0: components"),
        (["--set-b", "components.app.corez=4"], "--set-b components.app.corez=4: components"),
    ],
)
def test_set_a_and_set_b_errors_name_their_option(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", MMC, MMC, *args, *SHORT]) == 2
    err = capsys.readouterr().err
    assert message in err and "--set " not in err


def test_replicate_and_compare_text_say_a_value_is_the_same_in_every_replication(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No request fails in any run: replicate printed the error rate's half-width as 0 (an
    interval of no width, as if known exactly) and compare's verdict on its difference
    came from that zero-width interval, not from any spread."""
    assert main(["replicate", MMC, "-n", "2", *SHORT]) == 0
    (row,) = [r for r in capsys.readouterr().out.splitlines() if r.startswith("error_rate")]
    assert row.split()[1:] == ["0.0%", "same", "in", "every", "replication"]
    args = ["compare", MMC, MMC, "--set-b", "components.app.cores=5", "-n", "2", *SHORT]
    assert main(args) == 0
    text = capsys.readouterr().out
    (row,) = [r for r in text.splitlines() if r.startswith("error_rate")]
    assert row.endswith("same in every replication")
    (row,) = [r for r in text.splitlines() if r.startswith("throughput")]
    assert row.endswith("same in every replication")  # 0.1/s more in both
    (row,) = [r for r in text.splitlines() if r.startswith("components.app.utilization")]
    assert row.endswith("yes")


def test_a_precision_reached_by_a_value_the_same_in_every_replication_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No request fails: the error rate's precision was reached with 'achieved' None, so
    the line read 'reached (±- after 5)'."""
    args = ["replicate", str(MODELS / "mm1.yaml"), "--duration", "200s", "--serial", "--quiet"]
    assert main([*args, "--precision", "error_rate:0.05"]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line == "precision error_rate ±5.0%: reached (same in every replication after 5)"
    assert main([*args, "--precision", "error_rate:0.05", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["precision"]["achieved"] == 0.0


def test_compare_text_shows_a_component_of_one_side_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """B's server is called web: its utilization was not printed at all."""
    text = Path(MMC).read_text().replace("entry: app", "entry: web").replace("  app:", "  web:")
    other = tmp_path / "web.yaml"
    other.write_text(text)
    assert main(["compare", MMC, str(other), "-n", "2", *SHORT]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert lines["components.web.utilization"].endswith("absent in A")
    assert lines["components.app.utilization"].endswith("absent in B")


def test_compare_names_the_spec_at_fault(capsys: pytest.CaptureFixture[str]) -> None:
    """B's 50 s warm-up is past --duration 30s: the message named no file and --json's
    path named A, models/mmc.yaml, which is valid."""
    mm1 = str(MODELS / "mm1.yaml")
    args = ["compare", MMC, mm1, "--duration", "30s", "--serial", "--quiet"]
    assert main(args) == 2
    assert f"simperf: invalid spec {mm1}:\n  run.warmup:" in capsys.readouterr().err
    assert main([*args, "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["path"] == mm1
    assert main(["compare", mm1, MMC, "--duration", "30s", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["path"] == mm1


def test_sweep_takes_n_for_its_replications_as_the_other_commands_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """replicate, compare and capacity take -n; sweep refused it (only --replications)."""
    args = ["sweep", MMC, "--grid", "components.app.cores=4", *SHORT, "--json"]
    assert main([*args, "-n", "2"]) == 0
    assert [r["replication"] for r in json.loads(capsys.readouterr().out)] == [0, 1]


def test_a_stores_errors_name_the_commands_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the store's errors are worded for Python's callers (store=, resume=True); the
    # command keeps its flags: nothing runs before either error
    from simperf.experiment.store import ResultStore

    out = tmp_path / "r.db"
    ResultStore(out, "of another spec").close()
    args = ["sweep", MMC, "--grid", "components.app.cores=4", *SHORT, "--out", str(out)]
    assert main(args) == 2
    assert "resume it (--resume) or choose another --out" in capsys.readouterr().err
    assert main([*args, "--resume", "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert "use another --out" in error["message"] and "store=" not in error["message"]

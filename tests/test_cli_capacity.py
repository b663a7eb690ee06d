"""capacity and cheapest on the command line: answers, --json, exit status 2 and no answer."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest

from simperf.cli import main
from simperf.cli_common import NO_ANSWER

from conftest import MODELS

MMC = str(MODELS / "mmc.yaml")
SHORT = ["--duration", "30s", "--set", "run.warmup=3", "--serial", "--quiet"]
WAIT = ["--slo", "components.app.mean_wait<4ms"]


def test_capacity_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["capacity", MMC, "--knob", "components.app.cores", *WAIT, "-n", "4", *SHORT]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answer"] == 5 and data["met"] is True
    assert {p["verdict"] for p in data["probes"]} == {"met", "missed"}


def test_capacity_resumes_from_its_store(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "cap.db")
    args = ["capacity", MMC, "--knob", "components.app.cores", *WAIT, "-n", "2", *SHORT]
    assert main([*args, "--out", store, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main([*args, "--out", store]) == 2  # an existing store is not overwritten
    assert "--resume" in capsys.readouterr().err
    assert main([*args, "--out", store, "--resume", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == first


def test_capacity_text_when_high_misses(capsys: pytest.CaptureFixture[str]) -> None:
    # No answer in range exits NO_ANSWER (it exited 0, as an answer does), text or JSON.
    args = ["capacity", MMC, "--knob", "components.app.cores", *WAIT, "--high", "3", *SHORT]
    assert main(args) == NO_ANSWER == 3
    assert "no value up to components.app.cores=3" in capsys.readouterr().out
    assert main([*args, "--json"]) == NO_ANSWER
    assert json.loads(capsys.readouterr().out)["met"] is False


def test_cheapest_with_no_design_meeting_the_slos_exits_no_answer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    designs = ["--design", "up=components.app.cores:1:2", "--design", "out=components.app.replicas"]
    one_core = ["--set", "components.app.cores=1"]  # 320/s of 10 ms: two cores are not enough
    args = ["cheapest", MMC, *one_core, *designs, *WAIT, "--high", "2", "-n", "2", *SHORT]
    assert main(args) == NO_ANSWER
    assert "cheapest: no design meets the SLOs" in capsys.readouterr().out
    assert main([*args, "--json"]) == NO_ANSWER
    assert json.loads(capsys.readouterr().out)["best"] is None


def test_cheapest_text(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "cheapest",
        MMC,
        "--set",
        "components.app.cores=1",
        "--set",
        "components.app.cost={per_instance: 1}",
        "--design",
        "out=components.app.replicas",
        "--design",
        "up=components.app.cores:1:8",
        "--set-design",
        "up:components.app.cost.per_core=2",
        "--slo",
        "components.app.utilization<0.9",
        "-n",
        "2",
        *SHORT,
    ]
    assert main(args) == 0
    assert "cheapest: out" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--knob", "components.app.corez", *WAIT], "did you mean 'cores'"),
        (["--knob", "components.app.cores", "--slo", "latency.all.p98<1s"], "unknown metric"),
        (["--knob", "components.app.cores", *WAIT, "--low", "8", "--high", "2"], "above high"),
        (["--knob", "components.app.cores", "--slo", "latency.all.p99=1s"], "METRIC<VALUE"),
        (["--knob", "components.app.cores"], "at least one target"),
        (["--knob", "components.app.cores", *WAIT, "--low", "1.5"], "valid integer"),
    ],
)
def test_bad_capacity_input_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["capacity", MMC, *args, *SHORT]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("slo", "message"),
    [
        ("latency.all.p99<0ms", "slo: latency.all.p99<0ms: below: must be > 0"),
        ("latency.all.p99<fast", "slo: latency.all.p99<fast: below: expected a time such as"),
    ],
)
def test_a_bad_slo_target_is_one_line_naming_it(
    slo: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # it used to be pydantic's report: "1 validation error for SloSpec", the input
    # dict, the error type and a link to pydantic's site
    assert main(["capacity", MMC, "--knob", "components.app.cores", "--slo", slo, *SHORT]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "validation error" not in err and "pydantic" not in err and "type=" not in err


def test_an_slo_on_a_rate_per_second_takes_a_rate(capsys: pytest.CaptureFixture[str]) -> None:
    """100/s a core: 5 cores saturate at 500/s, 4 at 400/s (it refused 450/s: "a fraction")."""
    slo = ["--slo", "estimate.bottleneck.saturation_rate>450/s"]
    args = ["capacity", MMC, "--knob", "components.app.cores", *slo, "-n", "2", *SHORT]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answer"] == 5 and data["slo"][0] == "estimate.bottleneck.saturation_rate > 450/s"
    assert main([*args, "--slo", "error_rate<500/s"]) == 2
    err = capsys.readouterr().err
    assert "error_rate<500/s: below: expected a fraction" in err
    assert "(error_rate is a share)" in err


def test_a_knob_value_out_of_bounds_names_the_knob_not_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # "--set components.app.cores=0: ..." for a --low 0 and no --set at all
    args = ["capacity", MMC, "--knob", "components.app.cores", *WAIT, "--low", "0", *SHORT]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--knob components.app.cores=0: components.app.cores: must be >= 1" in err
    assert "--set" not in err
    # it said "knob components.app.cores=0:" on a line of its own, then the same again
    assert err.count("components.app.cores=0") == 1


def test_a_bad_design_range_names_the_design(capsys: pytest.CaptureFixture[str]) -> None:
    # cheapest said "knob components.app.cores=0: ..." without naming which design
    designs = ["--design", "up=components.app.cores:0:8", "--design", "out=components.app.replicas"]
    assert main(["cheapest", MMC, *designs, *WAIT, *SHORT]) == 2
    err = capsys.readouterr().err
    assert "design 'up': --knob components.app.cores=0: components.app.cores: must be" in err
    assert err.count("components.app.cores=0") == 1


def test_bad_design_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["cheapest", MMC, "--design", "up", "--design", "out=components.app.replicas"]
    assert main([*args, *WAIT, *SHORT]) == 2
    assert "--design up: expected NAME=KNOB" in capsys.readouterr().err


def test_an_error_rate_slo_on_the_command_line_sets_the_threshold(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Room for 8 waiting requests: 5 cores reject 0.29% (M/M/5/13), 6 cores 0.04%."""
    args = ["capacity", MMC, "--knob", "components.app.cores", "--low", "4", "--high", "8"]
    args += ["--slo", "latency.all.p99<150ms", "--set", "components.app.queue_limit=8", *SHORT]
    assert main([*args, "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert main([*args, "--slo", "error_rate<0.5%", "--json"]) == 0
    relaxed = json.loads(capsys.readouterr().out)
    assert default["slo"][-1] == "error_rate < 0.1%" and default["answer"] == 6
    assert relaxed["slo"][-1] == "error_rate < 0.5%" and relaxed["answer"] == 5


def test_designs_pick_instance_types(capsys: pytest.CaptureFixture[str]) -> None:
    """3.2 Erlangs of work: one 16-core m.4xlarge (0.768/h) or two 2-core m.large (0.192/h)."""
    args = ["cheapest", MMC, "--slo", "components.app.utilization<0.9", "-n", "2", *SHORT]
    for name, kind in (("big", "m.4xlarge"), ("small", "m.large")):
        args += ["--design", f"{name}=components.app.replicas:1:4"]
        args += ["--set-design", f"{name}:components.app.instance_type={kind}"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {row["design"]: row for row in data["ranking"]}
    assert (rows["big"]["answer"], rows["small"]["answer"]) == (1, 2)
    assert rows["small"]["cost_per_hour"] == pytest.approx(2 * 0.096)
    assert rows["big"]["cost_per_hour"] == pytest.approx(0.768)
    assert data["best"] == "small"
    assert data["warnings"] == []  # no "cores are free": the types price their cores


def test_an_unknown_instance_type_in_a_design_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["cheapest", MMC, "--design", "up=components.app.replicas", *WAIT, *SHORT]
    args += ["--design", "out=components.app.cores"]
    assert main([*args, "--set-design", "up:components.app.instance_type=m.4xlage"]) == 2
    assert "did you mean 'm.4xlarge'" in capsys.readouterr().err


def test_growth_json_and_bad_rate(capsys: pytest.CaptureFixture[str]) -> None:
    # 320/s on 4 cores of 10 ms is 80% busy; +10% a month passes 90% in month 2.
    args = ["growth", MMC, "--rate", "10%", "--months", "3", "-n", "2", "--serial", "--quiet"]
    args += ["--duration", "3s", "--set", "run.warmup=0.5"]
    deterministic = ["--set", "workload.arrival={kind: deterministic, rate: 320}"]
    deterministic += ["--set", "components.app.endpoints.serve=[{cpu: 10ms}]"]
    utilization = ["--slo", "components.app.utilization<0.9"]
    assert main([*args, *deterministic, *utilization, "--design", "fixed", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["designs"][0]["design"] == "fixed"
    assert data["designs"][0]["breach_month"] == 2
    # the SLOs hold in no month judged, for no design: no answer, not 0
    busy = ["--slo", "components.app.utilization<0.5", "--months", "1"]
    assert main([*args, *deterministic, *busy, "--design", "fixed", "--json"]) == NO_ANSWER
    assert json.loads(capsys.readouterr().out)["designs"][0]["breach_month"] == 0
    assert main([*args[:3], "--rate", "lots", *WAIT]) == 2
    assert "--rate" in capsys.readouterr().err


def test_a_design_name_given_twice_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """The second replaced the first: two --design up=... ranked one design."""
    designs = ["--design", "up=components.app.cores", "--design", "up=components.app.replicas"]
    assert main(["cheapest", MMC, *designs, "--slo", "latency.all.mean<1s", *SHORT]) == 2
    assert "--design up: given twice" in capsys.readouterr().err


def test_an_interrupted_search_says_how_to_resume(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from simperf.experiment import replicate as replicate_module

    real = replicate_module.run_to_dict

    def interrupted_second(data, seed, replication):  # type: ignore[no-untyped-def]
        if replication == 1:
            raise KeyboardInterrupt
        return real(data, seed, replication)

    monkeypatch.setattr(replicate_module, "run_to_dict", interrupted_second)
    out = str(tmp_path / "cap.db")
    args = ["capacity", MMC, "--knob", "components.app.cores", *WAIT, *SHORT, "--out", out]
    assert main(args) == 130
    assert f"capacity interrupted; rerun with --resume --out {out}" in capsys.readouterr().err


def test_a_declining_growth_rate_needs_no_equals_sign(capsys: pytest.CaptureFixture[str]) -> None:
    # "--rate -5%" was refused ("expected one argument"): only "--rate=-5%" worked
    args = ["growth", MMC, "--rate", "-5%", "--months", "2", "-n", "2", "--serial", "--quiet"]
    args += ["--duration", "3s", "--set", "run.warmup=0.5", "--json"]
    assert main([*args, "--slo", "components.app.utilization<0.9"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rate"] == -0.05
    assert [round(m["rate"], 6) for m in data["months_judged"]] == [320.0, 304.0]


def test_capacity_refuses_a_high_over_max_events_before_any_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # health checks and time series grow with the replicas: 64 of them probed every
    # 10 ms for 2 s take about 1e5 events, over the 20k allowed, where 1 replica fits
    def no_run(*args: object) -> None:
        raise AssertionError("a probe ran")

    monkeypatch.setattr("simperf.experiment.replicate.run_to_dict", no_run)
    args = [
        "capacity",
        str(MODELS / "web_tier.yaml"),
        "--knob",
        "components.app.replicas",
        "--slo",
        "latency.all.p99<1s",
        "--set",
        "components.lb.health_check={interval: 10ms, timeout: 5ms}",
        "--set",
        "run.max_events=20000",
        "--duration",
        "2s",
        "--set",
        "run.warmup=0",
        "--serial",
        "--quiet",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "knob components.app.replicas=64" in err and "max_events" in err


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("a:cores", "--set-design a:cores: expected PATH=VALUE"),
        ("components.app.cores=3", "--set-design components.app.cores=3: expected NAME:PATH"),
        ("a:components.app.cores=0", "--set-design a:components.app.cores=0: components"),
    ],
)
def test_set_design_errors_name_their_option(
    assignment: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["cheapest", MMC, "--design", "a=components.app.cores", "--set-design", assignment]
    args += ["--design", "b=components.app.replicas"]
    assert main([*args, *WAIT, *SHORT]) == 2
    err = capsys.readouterr().err
    assert message in err and "--set " not in err


def _counted_runs(monkeypatch: pytest.MonkeyPatch, stop_at: int | None = None) -> list[str]:
    """Each run's (spec, replication), in order, as it starts; ``stop_at``: Ctrl-C as the
    run of that index starts (the runs before it have finished and been stored)."""
    from simperf.experiment import replicate as replicate_module
    from simperf.experiment.store import canonical_hash

    monkeypatch.undo()  # the real run_to_dict, not the counter of a call before
    real = replicate_module.run_to_dict
    calls: list[str] = []

    def counted(data, seed, replication):  # type: ignore[no-untyped-def]
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        calls.append(canonical_hash([data, seed, replication]))
        return real(data, seed, replication)

    monkeypatch.setattr(replicate_module, "run_to_dict", counted)
    return calls


GROWN = ["--rate", "10%", "--months", "3", "-n", "2", "--serial", "--quiet", "--duration", "3s"]
GROWN += ["--set", "run.warmup=0.5", "--slo", "components.app.utilization<0.9"]
RESUMABLE = {
    # two searches, of replicas and of cores, each of a few probes
    "cheapest": [
        "--set",
        "components.app.cost={per_instance: 1, per_core: 0.5}",
        "--design",
        "out=components.app.replicas:1:8",
        "--set-design",
        "out:components.app.cores=1",
        "--design",
        "up=components.app.cores:1:8",
        *GROWN[4:],
    ],
    # a fixed design judged month by month, then a search of cores each month
    "growth": ["--design", "fixed", "--design", "cores=components.app.cores:1:8", *GROWN],
}


@pytest.mark.parametrize("command", sorted(RESUMABLE))
def test_an_interrupted_what_if_resumes_from_its_store(
    command: str, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """cheapest and growth kept no runs: Ctrl-C in the second design lost the first's."""
    args = [command, MMC, *RESUMABLE[command], "--json"]
    every = _counted_runs(monkeypatch)
    assert main(args) == 0
    uninterrupted = capsys.readouterr().out
    out = str(tmp_path / f"{command}.db")
    stop = len(every) // 2 + 1  # in the second design
    finished = _counted_runs(monkeypatch, stop_at=stop)
    assert main([*args, "--out", out]) == 130
    assert f"{command} interrupted; rerun with --resume --out {out}" in capsys.readouterr().err
    assert finished == every[:stop]
    rest = _counted_runs(monkeypatch)
    assert main([*args, "--out", out, "--resume"]) == 0
    assert capsys.readouterr().out == uninterrupted  # byte for byte
    assert rest == every[stop:]  # nothing stored runs again
    assert main([*args, "--out", out, "--resume"]) == 0
    assert rest == every[stop:] and capsys.readouterr().out == uninterrupted
    with closing(sqlite3.connect(out)) as db:  # every run kept under its own key
        points = [json.loads(p) for (p,) in db.execute("SELECT point FROM runs")]
    assert len(points) == len(every)  # the same run in two designs is kept by each
    assert all(command in point for point in points)
    changed = [*args, "--set", "components.app.speed=2", "--out", out, "--resume"]
    assert main(changed) == 2
    assert json.loads(capsys.readouterr().out)["error"]["kind"] == "store"  # a different spec


def test_designs_that_cost_the_same_are_named_as_tied(capsys: pytest.CaptureFixture[str]) -> None:
    """3.2 Erlangs under 90% busy: one 4-core m.xlarge or two 2-core m.large, 0.192/h
    either way; 'cheapest: four' named the design given first alone."""
    args = ["cheapest", MMC, "--slo", "components.app.utilization<0.9", "-n", "2", *SHORT]
    for name, kind in (("four", "m.xlarge"), ("two", "m.large")):
        args += ["--design", f"{name}=components.app.replicas:1:4"]
        args += ["--set-design", f"{name}:components.app.instance_type={kind}"]
    assert main(args) == 0
    assert "cheapest: four and two, tied at 0.192 per hour\n" in capsys.readouterr().out
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(r["design"], r["answer"]) for r in data["ranking"]] == [("four", 1), ("two", 2)]
    assert data["best"] == "four" and data["tied"] == ["four", "two"]


def test_cheapest_of_one_design_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "give at least two --design" for none, but ran a search for one: a ranking
    of one design is `capacity`, which the message now names."""
    from simperf.experiment import cheapest as cheapest_module

    def ran(*args: object, **kwargs: object) -> None:
        raise AssertionError("a search ran for one design")

    monkeypatch.setattr(cheapest_module, "cheapest", ran)
    for designs in ([], ["--design", "up=components.app.cores"]):
        assert main(["cheapest", MMC, *designs, *WAIT, *SHORT]) == 2
        err = capsys.readouterr().err
        assert "give at least two --design NAME=KNOB" in err
        assert "simperf capacity" in err and "Traceback" not in err


def test_search_costs_name_the_components_they_leave_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """mmc prices nothing: its "cost 0/h" left app out without a word (a run's summary
    names it, cost.unpriced); a priced app leaves nothing out."""
    slo = ["--slo", "components.app.utilization<0.9", "-n", "2", *SHORT]
    assert main(["capacity", MMC, "--knob", "components.app.cores", *slo]) == 0
    assert "costs: not in the total, no price given: app" in capsys.readouterr().out
    priced = ["--set", "components.app.cost={per_instance: 1}"]
    assert main(["capacity", MMC, "--knob", "components.app.cores", *priced, *slo, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unpriced"] == []
    designs = ["--design", "out=components.app.replicas", "--design", "up=components.app.cores"]
    assert main(["cheapest", MMC, *designs, *slo]) == 0
    assert "cost/h leaves out, no price given: out: app; up: app" in capsys.readouterr().out
    assert main(["cheapest", MMC, *designs, *slo, "--json"]) == 0
    assert [r["unpriced"] for r in json.loads(capsys.readouterr().out)["ranking"]] == [["app"]] * 2
    # tandem: web priced at 1/h, api and store not; 150/s on 2 cores of 10 ms is 75% busy
    tandem = ["growth", str(MODELS / "tandem.yaml"), "--rate", "10%", "--months", "1"]
    tandem += ["--set", "components.web.cost={per_instance: 1}", "--design", "fixed"]
    tandem += ["--slo", "components.web.utilization<0.95", "-n", "2", "--serial", "--quiet"]
    tandem += ["--duration", "3s", "--set", "run.warmup=0.5"]
    assert main(tandem) == 0
    out = capsys.readouterr().out
    assert "over 1 month\n" in out  # not "1 months"
    assert (
        "fixed: SLOs hold over the month, cost 730 (not in the total, no price given: api, store)"
        in out
    )
    assert main([*tandem, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["designs"][0]["unpriced"] == ["api", "store"]

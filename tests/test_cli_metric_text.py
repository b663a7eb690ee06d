"""Every command's text shows a metric in its unit, as ``simperf run`` does: utilisation
and error rate in percent, throughput per second, times in ms or s (--json stays raw)."""

from __future__ import annotations

import json
import re

import pytest

from simperf.cli import main

from conftest import MODELS

MMC = str(MODELS / "mmc.yaml")
# 320/s of exactly 10 ms on 4 cores: 80.0% busy, 320/s, in every run
EXACT = [
    "--set", "workload.arrival={kind: deterministic, rate: 320}",
    "--set", "components.app.endpoints.serve=[{cpu: 10ms}]",
    "--duration", "3s", "--set", "run.warmup=0.5", "--serial", "--quiet",
]  # fmt: skip
RAW_FRACTION = re.compile(r"(?<![\d.])0\.\d{3,}(?![\d.]*\s*(ms|s|µs|%))")


def _line(out: str, metric: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(metric))


def test_replicate_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replicate", MMC, "-n", "2", *EXACT]) == 0
    out = capsys.readouterr().out
    assert "80.0%" in _line(out, "components.app.utilization")
    assert "320/s" in _line(out, "throughput")
    assert "0.0%" in _line(out, "error_rate")
    assert "10 ms" in _line(out, "latency.all.mean")
    assert not RAW_FRACTION.search(out), out


def test_compare_text(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compare", MMC, MMC, "--set-b", "components.app.cores=5", "-n", "2", *EXACT]
    assert main(args) == 0
    out = capsys.readouterr().out
    utilization = _line(out, "components.app.utilization").split()
    assert utilization[1:4] == ["80.0%", "64.0%", "-16.0%"], out
    assert _line(out, "throughput").split()[1:3] == ["320/s", "320/s"]
    assert not RAW_FRACTION.search(out), out


def test_sweep_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", MMC, "--grid", "components.app.cores=4,5", *EXACT]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[-2:] == ["320/s", "0.0%"], out
    assert not RAW_FRACTION.search("\n".join(out))


def test_capacity_text(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["capacity", MMC, "--knob", "components.app.cores", "--high", "6", "-n", "2"]
    assert main([*args, "--slo", "components.app.utilization<0.9", *EXACT]) == 0
    out = capsys.readouterr().out
    # a value the same in every replication has no interval, and the text says so
    assert "components.app.utilization 80.0% (same in every replication)" in out, out
    assert "error_rate 0.0% (same in every replication)" in out
    # the SLOs in their metrics' units: 'error_rate < 0.001' sat beside 'error_rate 0.0%'
    assert "meeting components.app.utilization < 90%, error_rate < 0.1%, stable" in out
    assert not RAW_FRACTION.search(out), out
    assert main([*args, "--slo", "components.app.utilization<0.9", *EXACT, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # --json: the descriptions name their unit, the numbers stay raw
    assert data["slo"] == ["components.app.utilization < 90%", "error_rate < 0.1%"]
    row = next(p for p in data["probes"] if p["components.app.cores"] == 4)
    assert row["mean"] == pytest.approx(0.8)
    assert (row["target"], row["half_width"]) == (0.9, 0.0)


def test_growth_text(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["growth", MMC, "--rate", "10%", "--months", "3", "-n", "2", "--design", "fixed"]
    assert main([*args, "--slo", "throughput<350/s", *EXACT]) == 0
    out = capsys.readouterr().out
    # month 1: 352/s, past the SLO's 350/s
    assert "at 352/s throughput 352/s (same in every replication) missed, target < 350/s" in out


def test_cheapest_text(capsys: pytest.CaptureFixture[str]) -> None:
    designs = ["--design", "up=components.app.cores:1:6", "--design", "out=components.app.replicas"]
    args = ["cheapest", MMC, *designs, "-n", "2", "--slo", "components.app.utilization<0.9"]
    assert main([*args, *EXACT]) == 0
    out = capsys.readouterr().out
    same = "(same in every replication)"
    assert f"components.app.utilization 80.0% {same}  error_rate 0.0% {same}" in out, out


def test_run_text_reads_as_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    # run printed "320 req/s" and "0.000%" where replicate, compare and sweep print
    assert main(["run", MMC, *EXACT[:-2]]) == 0
    out = capsys.readouterr().out
    assert "throughput 320/s   error rate 0.0%" in out, out

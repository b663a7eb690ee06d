from __future__ import annotations

import re
import warnings

import pytest
import yaml

import simperf
from simperf.errors import SimperfWarning, SpecError
from simperf.presentation.cells import slo_text
from simperf.spec.slo import SloSpec, as_slos, parse_slo

from conftest import MODELS


@pytest.mark.parametrize(
    ("text", "target", "side"),
    [
        ("latency.all.p99<200ms", 0.2, "below"),
        ("error_rate<0.1%", 0.001, "below"),
        ("throughput>2k/s", 2000.0, "above"),
        ("components.app.utilization < 80%", 0.8, "below"),
        ("components.app.mean_wait<4ms", 0.004, "below"),
        ("cost.total_per_hour<146/month", 0.2, "below"),
        ("components.app.served>10", 10.0, "above"),
        # per second, though named like error_rate: they took only a share (0.5, 50%)
        ("estimate.saturation_rate>500/s", 500.0, "above"),
        ("estimate.rate>2k/s", 2000.0, "above"),
        ("rate_limits.api.rate<120/min", 2.0, "below"),
        # and these took only a plain number
        ("components.app.arrivals_per_second>50/s", 50.0, "above"),
        ("components.db.qps<1k/s", 1000.0, "below"),
        ("components.cache.hit_rate>0.5", 0.5, "above"),
    ],
)
def test_targets_take_the_metric_unit(text: str, target: float, side: str) -> None:
    slo = parse_slo(text)
    assert slo.target == pytest.approx(target) and slo.side == side


def test_bad_slos() -> None:
    with pytest.raises(ValueError, match="METRIC<VALUE"):
        parse_slo("latency.all.p99 = 1s")
    with pytest.raises(ValueError, match="below"):
        SloSpec.model_validate({"metric": "latency.all.p99", "below": "fast"})
    with pytest.raises(ValueError, match="one of them"):
        SloSpec.model_validate({"metric": "error_rate", "below": 0.1, "above": 0.0})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("estimate.saturation_rate>50%", "expected a rate such as 2000/s"),
        ("error_rate<500/s", "expected a fraction such as 0.9"),
        ("latency.all.p99<500/s", "expected a time such as"),
        ("components.app.served>5ms", "expected a number"),
    ],
)
def test_a_target_in_another_kind_of_unit_is_refused_naming_the_kind(
    text: str, message: str
) -> None:
    metric = re.split("[<>]", text)[0]
    with pytest.raises(ValueError) as caught:
        parse_slo(text)
    (line,) = str(caught.value).splitlines()
    assert message in line and f"({metric} is a" in line


def test_parsing_and_display_read_one_kind() -> None:
    from simperf.presentation.cells import metric_value
    from simperf.spec.slo import metric_kind

    for metric, shown in [
        ("estimate.bottleneck.saturation_rate", "500/s"),
        ("error_rate", "0.1%"),
        ("latency.all.p99", "20 ms"),
        ("cost.total_per_hour", "2/h"),
    ]:
        target = parse_slo(f"{metric}<{shown.replace(' ', '')}").target
        assert metric_value(metric, target) == shown, metric_kind(metric)


def test_availability_is_a_share() -> None:
    # replicate's fault lines printed faults.availability.requests.all as 0.9815 (a count)
    # beside its '98.2%' in the run's summary; .time.* read as a time (0.9815 s)
    from simperf.presentation.cells import metric_value
    from simperf.spec.slo import metric_kind

    for metric in (
        "faults.availability.requests.all",
        "faults.availability.time.instances.cache[1]",
        "faults.availability.time.components.cache.at_least_up.2",
    ):
        assert metric_kind(metric) == "fraction", metric
        assert metric_value(metric, 0.98150315) == "98.2%"
        if "[" not in metric:  # --slo names no instance
            assert parse_slo(f"{metric}>99.9%").target == pytest.approx(0.999)
    assert metric_kind("faults.availability.time.components.cache.instances") == "count"


def test_as_slos_accepts_dicts_specs_and_strings() -> None:
    slos = as_slos(["error_rate<1%", {"metric": "latency.all.p99", "below": "1s"}])
    assert [slo_text(s) for s in as_slos(slos)] == ["error_rate < 1%", "latency.all.p99 < 1 s"]


@pytest.mark.parametrize(
    "target", ["latency.all.p99<0ms", "error_rate<0%", "throughput<0/s", "cost.total_per_hour<0/h"]
)
def test_a_target_below_zero_that_no_run_could_meet_is_refused(target: str) -> None:
    metric = target.split("<")[0]
    with pytest.raises(ValueError, match=rf"below: must be > 0 \({re.escape(metric)} is never"):
        as_slos([target])


def test_an_slo_on_a_class_the_workload_lacks_is_refused_with_its_path() -> None:
    # run used to accept it (only validate's dry run looked at metric names)
    data = yaml.safe_load((MODELS / "mm1.yaml").read_text())
    data["slo"] = [{"metric": "latency.all.p99", "below": "1s"}]
    data["slo"].append({"metric": "latency.reqest.p99", "below": "1s"})
    with pytest.raises(SpecError) as raised:
        simperf.from_dict(data)
    assert "slo[1].metric: unknown request class 'reqest' (classes: all, request)" in str(
        raised.value
    )


@pytest.mark.parametrize("slo", ["latency.all.p99<50", {"metric": "latency.all.p99", "below": 50}])
def test_a_bare_number_of_seconds_as_a_latency_target_is_warned_about(slo: object) -> None:
    # "latency.all.p99<50" is a p99 below 50 s: it was taken so without a word, and a
    # capacity search answered the smallest design whose p99 stays under 50 seconds
    with pytest.warns(SimperfWarning, match=r"latency.all.p99 < 50: a bare number is seconds"):
        (found,) = as_slos([slo])
    assert found.target == 50.0


@pytest.mark.parametrize(
    "slo", ["latency.all.p99<50ms", "latency.all.p99<0.5", "components.app.served>10"]
)
def test_a_target_with_its_unit_or_below_a_second_is_not_warned_about(slo: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SimperfWarning)
        as_slos([slo])


def test_a_metrics_kind_reads_whole_words_of_its_leaf() -> None:
    # 'generated' held 'rate' and 'expirations' 'ratio' (shares: 1200 read 120000.0%),
    # every latency.* leaf was a time (a class's count read 1200 s, its error rate's
    # target wanted one), p_wait (a probability) read 537 ms, the occupancies 0.5118
    from simperf.presentation.cells import metric_value

    for metric, value, shown in [
        ("requests.generated", 1200.0, "1200"),
        ("caches.c.expirations", 3.0, "3"),
        ("latency.all.count", 1200.0, "1200"),
        ("latency.checkout.error_rate", 0.5, "50.0%"),
        ("errors.pool_timeout", 2.0, "2"),
        ("databases.db.pools.app.waited", 4.0, "4"),
        ("components.app.p_wait", 0.537, "53.7%"),
        ("components.app.worker_occupancy", 0.5118, "51.2%"),
        ("caches.c.store_read_reduction", 0.25, "25.0%"),
        ("components.app.mean_service", 0.01, "10 ms"),
        ("latency.all.p99", 0.02, "20 ms"),
        ("latency.all.p98", 0.02, "20 ms"),
        ("components.app.wait_p99", 0.02, "20 ms"),
        ("databases.db.instances.db[primary].buffer_pool.hit_ratio", 0.9, "90.0%"),
    ]:
        assert metric_value(metric, value) == shown, metric
    assert parse_slo("latency.checkout.error_rate<1%").target == 0.01


_TARGETS = {"time": "1ms", "fraction": "50%", "rate": "1/s", "price": "1/h"}
"""A target in each kind's unit; ratios and counts take a plain number."""


@pytest.mark.parametrize("model", ["multi_region", "read_replicas", "sharded_store"])
def test_every_metric_a_run_reports_can_be_named_in_an_slo(model: str) -> None:
    # instances (app[0], store[s0:primary]), links (ap->us) and stations ("replica cpu")
    # were refused by --slo: "expected METRIC<VALUE or METRIC>VALUE"
    from simperf.experiment.metrics import check_metric, known_metrics
    from simperf.spec.slo import metric_kind

    scenario = simperf.load(MODELS / f"{model}.yaml")
    known = known_metrics(scenario)
    odd = [m for m in known if re.search(r"[^\w.\-]", m)]
    assert odd  # the paths this test is about
    for metric in known:
        target = _TARGETS.get(metric_kind(metric), "1")
        for op in "<>":
            slo = parse_slo(f"{metric}{op}{target}")
            assert slo.metric == metric and slo.side == ("below" if op == "<" else "above")
        assert parse_slo(f" {metric} < {target} ").metric == metric
    # and in a spec's slo list, checked against the dry run as validate checks it
    data = yaml.safe_load((MODELS / f"{model}.yaml").read_text())
    kinds = {frozenset(re.findall(r"[^\w.\-]", m)): m for m in odd}  # one of each kind
    data["slo"] = [
        {"metric": metric, "below": _TARGETS.get(metric_kind(metric), 1)}
        for metric in kinds.values()
    ]
    assert [slo.metric for slo in simperf.from_dict(data).slo] == list(kinds.values())
    check_metric(scenario, next(iter(kinds.values())))  # validate's check of a name

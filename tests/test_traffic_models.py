"""The traffic example models load, run a short horizon and show what they document."""

from __future__ import annotations

import simperf

from conftest import MODELS


def conserved(d: dict) -> None:
    req = d["requests"]
    assert req["generated"] == req["ok"] + req["failed"] + req["in_flight"]


def test_diurnal_model_peaks_in_the_evening() -> None:
    scenario = simperf.load(MODELS / "diurnal.yaml")
    # the same curve compressed into a 100 s "day", peaking at 80 s
    short = scenario.with_overrides(
        {
            "run.duration": 100,
            "run.window": 20,
            "workload.arrival.period": 100,
            "workload.arrival.peak": 80,
        }
    )
    result = simperf.run(short, seed=1)
    conserved(result.to_dict())
    ts = result.timeseries
    throughput = ts[(ts.component == "all") & (ts.metric == "throughput")]["value"].tolist()
    # 20 s windows: the 60-80 s and 80-100 s windows straddle the peak, 0-40 s the trough
    assert min(throughput[3:]) > max(throughput[:2])


def test_multi_region_model_spills_ap_clients_to_us() -> None:
    scenario = simperf.load(MODELS / "multi_region.yaml").with_overrides(
        {"run.duration": 20, "run.warmup": 2}
    )
    d = simperf.run(scenario, seed=1).to_dict()
    conserved(d)
    comps = d["components"]
    assert all(comps[name]["served"] > 0 for name in ("web_eu", "web_us", "web_ap", "db"))
    # ap clients served in us send their responses over the shared us->ap link
    assert comps["us->ap"]["served"] > 0
    assert comps["geo"]["per_instance"]["web_ap[0]"]["dispatched"] > 0

"""Figures carry the right data: a trace per class or component, axis titles with units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import simperf
from simperf import plots
from simperf.metrics.stats import t_interval
from simperf.plots._style import component_colours
from simperf.presentation.cells import rate_title

from conftest import MODELS, fleet, two_tier

CLASSES = ["static", "product", "checkout"]


@pytest.fixture(scope="module")
def result() -> simperf.Result:
    s = simperf.load(MODELS / "web_stack.yaml").with_overrides({"run.duration": 6, "run.warmup": 1})
    return simperf.run(s, seed=1)


def test_latency_percentiles(result: simperf.Result) -> None:
    fig = plots.latency_percentiles(result)
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["mean", "p50", "p95", "p99"]
    p99 = fig.data[3].y
    assert p99[-1] == pytest.approx(result.metric("latency.all.p99") * 1000)
    assert fig.layout.yaxis.title.text == "latency (ms)"


def test_requests_frame_agrees_with_the_latency_table(result: simperf.Result) -> None:
    frame = result.requests
    d = result.to_dict()
    assert len(frame) == d["requests"]["ok"] + d["requests"]["failed"]
    ok = frame[frame.measured & (frame.outcome == "ok")]
    for name in CLASSES:
        mine = ok.loc[ok["class"] == name, "latency"]
        assert len(mine) == d["latency"][name]["count"]
        assert mine.mean() == pytest.approx(d["latency"][name]["mean"], rel=1e-12)


def test_latency_cdf_one_line_per_class_through_exact_quantiles(result: simperf.Result) -> None:
    fig = plots.latency_cdf(result)
    assert [t.name for t in fig.data] == CLASSES
    assert fig.layout.xaxis.title.text == "latency (ms)"
    ok = result.requests
    ok = ok[ok.measured & (ok.outcome == "ok")]
    for trace in fig.data:
        values = ok.loc[ok["class"] == trace.name, "latency"].to_numpy()
        assert trace.y[0] == 0 and trace.y[-1] == 1
        assert trace.x[-1] == pytest.approx(values.max() * 1000)
        median = np.interp(0.5, trace.y, trace.x)
        # Two neighbouring drawn quantiles bracket the median.
        step = 1 / (plots.requests.CDF_POINTS - 1)
        lo, hi = np.quantile(values, [0.5 - step, 0.5 + step]) * 1000
        assert lo <= median <= hi


def test_latency_histogram_shares_sum_to_one_per_class(result: simperf.Result) -> None:
    fig = plots.latency_histogram(result, bins=40)
    assert [t.name for t in fig.data] == CLASSES
    for trace in fig.data:
        assert len(trace.x) == 40
        assert sum(trace.y) == pytest.approx(1.0, rel=1e-12)
    assert fig.layout.xaxis.title.text == "latency (ms)"


def test_timeseries_marks_faults_and_alerts(minimal_spec: dict) -> None:
    minimal_spec["faults"] = [{"component": "app", "at": 5, "for": 3}]
    minimal_spec["alerts"] = [{"name": "slow", "metric": "p99", "above": "1ms"}]
    r = simperf.run(simperf.from_dict(minimal_spec), seed=1)
    fig = plots.timeseries(r)
    assert len(fig.data) == 3
    shapes = [(s.x0, s.x1) for s in fig.layout.shapes]
    assert (5.0, 8.0) in shapes
    assert len(shapes) == 1 + len(r.alerts)
    labels = [a.text for a in fig.layout.annotations]
    assert "fault: app" in labels and "alert: slow" in labels


def test_utilization_per_instance_in_component_colours(result: simperf.Result) -> None:
    util = plots.utilization(result)
    colours = component_colours(result.scenario)
    assert {t.name for t in util.data} >= {"app[0]", "app[1]", "app[2]", "redis[0]"}
    for trace in util.data:
        assert trace.line.color == colours[trace.name.split("[")[0]]
        assert all(0 <= v <= 1 for v in trace.y)


def test_utilization_heatmap_rows_are_instances(result: simperf.Result) -> None:
    fig = plots.utilization_heatmap(result)
    (heat,) = fig.data
    ts = result.timeseries
    rows = ts[(ts.metric == "utilization") & (ts.component == "app[1]")]
    row = list(heat.y).index("app[1]")
    assert np.allclose(heat.z[row], rows["value"].to_numpy())
    assert fig.layout.xaxis.title.text == "simulated time (s)"


def test_worker_occupancy_heatmap_is_held_workers_over_workers(minimal_spec: dict) -> None:
    # Workers held only by a constant 10 ms delay at 50 req/s: 0.5 workers busy on average,
    # per window the held worker-seconds over workers x window (4 workers: about 1/8).
    minimal_spec["components"]["app"]["workers"] = 4
    minimal_spec["components"]["app"]["endpoints"]["serve"] = [{"delay": "10ms"}]
    result = simperf.run(simperf.from_dict(minimal_spec), seed=1)
    ts = result.timeseries
    rows = ts[(ts.metric == "worker_occupancy") & (ts.component == "app[0]")]
    windows = ts[(ts.metric == "throughput") & (ts.component == "all")]
    # Each window's occupancy is its completions x 10 ms / (4 workers x window), up to
    # the requests that straddle the window's edges (at most 4 workers x 10 ms each edge).
    span = (windows["end"] - windows["start"]).to_numpy()
    done = windows["value"].to_numpy() * span
    expected = done * 0.010 / (4 * span)
    assert np.all(np.abs(rows["value"].to_numpy() - expected) <= 2 * 4 * 0.010 / (4 * span))
    fig = plots.utilization_heatmap(result, "worker_occupancy")
    (heat,) = fig.data
    assert list(heat.y) == ["app[0]"] and heat.zmax == 1.0
    # workers held on a delay are not busy: the scale read 'busy' (the cores are idle)
    assert heat.colorbar.title.text == "held"
    assert np.allclose(heat.z[0], rows["value"].to_numpy())


def test_cache_hit_rate_over_time_comes_from_the_cache_counters(minimal_spec: dict) -> None:
    # One key and no TTL: the first read misses, every later one hits.
    minimal_spec["keyspaces"] = {"one": {"keys": 1, "popularity": "uniform"}}
    minimal_spec["workload"]["classes"][0]["keyspace"] = "one"
    minimal_spec["components"]["app"]["endpoints"]["serve"] = [
        {"read": {"cache": "c", "backing": {"delay": "1ms"}}}
    ]
    minimal_spec["components"]["c"] = {"kind": "cache", "keyspace": "one", "capacity": 10}
    minimal_spec["run"]["warmup"] = 0
    r = simperf.run(simperf.from_dict(minimal_spec), seed=1)
    fig = plots.cache_hit_rate(r)
    (line,) = fig.data
    assert line.name == "c"
    assert line.line.color == component_colours(r.scenario)["c"]
    assert fig.layout.yaxis.title.text == "hit rate (fraction of reads)"
    rows = r.timeseries[r.timeseries.metric == "hit_rate"]
    first = rows.iloc[0]
    # Reads are instantaneous at arrival: the first window read once per request in it.
    reads = int((r.requests["start"] < first["end"]).sum())
    assert reads > 1
    assert first["value"] == pytest.approx((reads - 1) / reads, rel=1e-12)
    later = [v for v in line.y[1:] if v == v]  # NaN: a window without reads
    assert len(later) > 10 and set(later) == {1.0}


def test_database_load_one_bar_per_query(result: simperf.Result) -> None:
    fig = plots.database_load(result)
    (bars,) = fig.data
    queries = result.to_dict()["databases"]["catalog"]["queries"]
    assert list(bars.x) == list(queries)
    span = result.to_dict()["measured_time"]
    for name, load in zip(bars.x, bars.y, strict=True):
        assert load == pytest.approx(queries[name]["calls"] * queries[name]["mean"] / span)
    assert fig.layout.yaxis.title.text == "query time per second (s/s)"


def test_topology_follows_the_spec(result: simperf.Result) -> None:
    assert plots.components.topology_edges(result.scenario) == [
        ("cdn", "lb"),
        ("lb", "app"),
        ("app", "redis"),
        ("app", "catalog"),
    ]
    fig = plots.topology(result)
    (nodes,) = fig.data
    assert len(nodes.x) == 1 + len(result.scenario.components)  # the clients too
    names = ["clients", *result.scenario.components]
    # each node in its binding resource's utilisation at its busiest instance, as the
    # headroom line gives it: the catalog read 0% (its CPUs) while its storage was the
    # busiest of its resources (10.6% on the full run), web_ap in multi_region 9% (its
    # cores) while its workers, the first to saturate, were 69% held
    for name, figure in result.metric("headroom.components").items():
        i = names.index(name)
        assert nodes.marker.color[i] == pytest.approx(figure["utilization"], rel=1e-12)
        resource = "" if figure["resource"] == "cores" else f" {figure['resource']}"
        assert nodes.text[i].endswith(f"<br>{figure['utilization']:.0%}{resource}")
    catalog = result.metric("headroom.components.catalog")
    assert catalog["resource"] == "storage"
    assert len(fig.layout.annotations) == 5  # clients -> cdn, and the four calls


def _sweep_frame() -> pd.DataFrame:
    """A sweep-shaped frame: two points, three replications each."""
    rows = []
    for rate, base in ((100, 0.010), (200, 0.020)):
        for rep, noise in enumerate((-0.001, 0.0, 0.002)):
            rows.append(
                {
                    "workload.arrival.rate": rate,
                    "replication": rep,
                    "status": "ok",
                    "latency.all.p50": base + noise,
                    "latency.all.p95": 2 * base + noise,
                    "latency.all.p99": 3 * base + noise,
                    "cost.total_per_hour": rate / 100,
                }
            )
    return pd.DataFrame(rows)


def test_percentiles_vs_load_bands_are_t_intervals() -> None:
    frame = _sweep_frame()
    fig = plots.percentiles_vs_load(frame)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == ["p50", "p95", "p99"]
    assert fig.layout.yaxis.title.text == "latency (ms)"
    band = fig.data[4]  # the p99 band, drawn before its line
    samples = frame[frame["workload.arrival.rate"] == 100]["latency.all.p99"]
    iv = t_interval(samples.to_numpy())
    assert band.y[0] == pytest.approx(iv.high * 1000)
    assert band.y[-1] == pytest.approx(iv.low * 1000)


def test_a_band_refuses_to_pool_the_points_of_another_swept_path() -> None:
    """A sweep of load and cores: the band at each load was a t interval over both core
    counts' replications together, an interval of no one design's mean, drawn as if it
    were one."""
    frame = pd.concat(
        [_sweep_frame().assign(**{"components.app.cores": cores}) for cores in (4, 8)]
    )
    with pytest.raises(ValueError, match="replication 0 appears 2 times"):
        plots.percentiles_vs_load(frame)
    one = frame[frame["components.app.cores"] == 4]
    assert len(plots.percentiles_vs_load(one).data) == 6


def test_cost_frontier_keeps_the_undominated_designs() -> None:
    frame = pd.DataFrame(
        {
            "design": ["a", "b", "c", "d"],
            "status": "ok",
            "cost.total_per_hour": [1.0, 2.0, 3.0, 4.0],
            "latency.all.p99": [0.5, 0.2, 0.3, 0.1],
        }
    )
    fig = plots.cost_frontier(frame, "design")
    front = fig.data[1]
    assert list(front.x) == [1.0, 2.0, 4.0]  # c is dearer and slower than b
    assert fig.layout.xaxis.title.text == "cost (per hour)"


def test_hit_rate_vs_size_axis_titles() -> None:
    frame = pd.DataFrame(
        {
            "components.c.capacity": [10, 10, 100, 100],
            "status": "ok",
            "caches.c.hit_rate": [0.1, 0.12, 0.5, 0.52],
        }
    )
    fig = plots.hit_rate_vs_size(frame, "components.c.capacity", "c")
    assert list(fig.data[1].x) == [10, 100]
    assert list(fig.data[1].y) == pytest.approx([0.11, 0.51])
    assert fig.layout.yaxis.title.text == "hit rate (fraction of reads)"


def test_latency_icicle_boxes_add_up_to_each_class_mean() -> None:
    spec = two_tier({"kind": "poisson", "rate": "200/s"}, {"sample": 0.5}, requests=2000)
    spec["workload"]["classes"] = [
        {"name": "get", "entry": "front", "endpoint": "page", "weight": 3},
        {"name": "put", "entry": "back", "endpoint": "data", "weight": 1},
    ]
    result = simperf.run(simperf.from_dict(spec))
    icicle = plots.latency_icicle(result).data[0]
    assert isinstance(icicle, go.Icicle)
    values = dict(zip(icicle.ids, icicle.values, strict=True))
    traced = result.traces
    roots = traced[(traced["kind"] == "request") & traced["measured"] & (traced["outcome"] == "ok")]
    for klass in ("get", "put"):
        mean = roots[roots["class"] == klass]["duration"].mean() * 1000
        assert values[klass] == pytest.approx(mean, rel=1e-9)
        children = [v for i, v in values.items() if i.count("/") == 1 and i.startswith(klass + "/")]
        assert sum(children) == pytest.approx(mean, rel=1e-9)
    assert "put/front" not in values  # put enters at back
    # the boxes carry their milliseconds: a pasted image has no hover
    texts = dict(zip(icicle.ids, icicle.text, strict=True))
    assert texts["get"] == f"get<br>{values['get']:.3g} ms" and icicle.textinfo == "text"


def test_cpu_icicle_boxes_are_the_exact_step_counts() -> None:
    spec = two_tier({"kind": "poisson", "rate": "200/s"}, None, requests=500, profile=True)
    spec["components"]["back"]["endpoints"]["data"] = [{"cpu": "3ms"}]
    result = simperf.run(simperf.from_dict(spec))
    icicle = plots.cpu_icicle(result).data[0]
    assert isinstance(icicle, go.Icicle)
    values = dict(zip(icicle.ids, icicle.values, strict=True))
    # front: 1 ms before its call and 1 ms after; back: 3 ms, for each of 500 requests
    assert values["front/page/0"] == pytest.approx(0.5) == values["front/page/2"]
    assert values["front/page"] == values["front"] == pytest.approx(1.0)
    assert values["back/data/0"] == values["back"] == pytest.approx(1.5)
    plain = simperf.run(
        simperf.from_dict(two_tier({"kind": "poisson", "rate": 50}, None, requests=20))
    )
    assert not plots.cpu_icicle(plain).data[0].ids  # no run.profile: nothing drawn


def test_heatmap_cells_span_their_windows(result: simperf.Result) -> None:
    # a cell is centred on its x: drawn at the window's end, each hour of a diurnal
    # run was shaded from half past to half past the next
    (heat,) = plots.utilization_heatmap(result).data
    ts = result.timeseries
    rows = ts[(ts.metric == "utilization") & (ts.component == "app[1]")]
    assert np.allclose(heat.x, (rows["start"] + rows["end"]).to_numpy() / 2)


def test_latency_cdf_passes_through_the_reported_percentiles(result: simperf.Result) -> None:
    fig = plots.latency_cdf(result)
    latency = result.latency.set_index("class")
    for trace in fig.data:
        for p in ("p50", "p90", "p95", "p99", "p999"):
            q = float(p[1:]) / (1000 if p == "p999" else 100)
            drawn = np.interp(q, trace.y, trace.x)
            assert drawn == pytest.approx(latency.loc[trace.name, p] * 1000, rel=1e-12)


def test_timeseries_says_what_it_shows_with_an_axis_per_unit(result: simperf.Result) -> None:
    fig = plots.timeseries(result)
    assert fig.layout.title.text.startswith("p50, p95, p99 per ")
    assert fig.layout.yaxis.title.text == "latency (ms)"
    # throughput (hundreds per second) and error rate (a fraction) shared one axis
    # titled "value", where the error rate was a flat line at 0
    mixed = plots.timeseries(result, ("throughput", "error_rate"))
    assert mixed.layout.yaxis.title.text == "throughput (requests/s)"
    assert mixed.layout.yaxis2.title.text == "error rate (%)"
    rate = result.timeseries
    rate = rate[(rate.component == "all") & (rate.metric == "error_rate")]["value"]
    assert np.allclose(mixed.data[1].y, rate.to_numpy() * 100, equal_nan=True)
    assert mixed.data[1].yaxis == "y2"


@pytest.mark.parametrize("figure", [plots.latency_cdf, plots.latency_histogram])
def test_log_latency_axes_label_their_ticks_in_ms(result: simperf.Result, figure) -> None:
    # plotly's own log ticks labelled 0.4 ms "4" (and 1 ms "1"), read as 4 ms in a pasted
    # figure: every tick now reads as the value it marks
    axis = figure(result).layout.xaxis
    ok = result.requests
    latency = ok.loc[ok.measured & (ok.outcome == "ok"), "latency"] * 1000
    assert len(axis.tickvals) >= 3
    assert [float(t) for t in axis.ticktext] == pytest.approx(list(axis.tickvals), rel=1e-9)
    assert latency.min() <= min(axis.tickvals) and max(axis.tickvals) <= latency.max()


def test_heatmap_tells_a_crashed_instance_from_an_idle_one(minimal_spec: dict) -> None:
    # app[1] crashed from 5 s to 9 s: its cells read 0 busy, as an idle instance's do,
    # and nothing in the figure said which it was
    minimal_spec["components"]["app"]["replicas"] = 2
    minimal_spec["components"]["lb"] = {"kind": "load_balancer", "backends": ["app"]}
    minimal_spec["workload"]["classes"][0]["entry"] = "lb"
    minimal_spec["faults"] = [{"component": "app", "instance": 1, "at": 5, "for": 4}]
    minimal_spec["run"] |= {"duration": 12, "window": 1}
    result = simperf.run(simperf.from_dict(minimal_spec), seed=1)
    fig = plots.utilization_heatmap(result)
    (heat,) = fig.data
    row = list(heat.y).index("app[1]")
    (down,) = fig.layout.shapes
    assert (down.x0, down.x1) == (5.0, 9.0)
    assert down.y0 < row < down.y1 and abs(down.y1 - down.y0) == 1  # that row alone
    assert down.label.text == "down" and down.showlegend and down.name == "down (crash)"
    # the data are what they were: 0 busy while down
    assert np.all(heat.z[row][(heat.x > 5) & (heat.x < 9)] == 0)


def test_heatmap_shows_autoscaled_instances_not_provisioned(minimal_spec: dict) -> None:
    # One instance 50% busy against a 30% target: a second is added later; before
    # that its cells had no value, drawn as the background, neither down nor idle.
    minimal_spec["components"]["app"]["autoscaling"] = {
        "min": 1,
        "max": 2,
        "metric": "cpu_utilization",
        "target": "30%",
        "evaluation_period": "2s",
        "warmup": "1s",
    }
    minimal_spec["run"] |= {"duration": 12, "window": 1, "warmup": 0}
    result = simperf.run(simperf.from_dict(minimal_spec), seed=1)
    fig = plots.utilization_heatmap(result)
    (heat,) = fig.data
    row = list(heat.y).index("app[1]")
    absent = np.isnan(np.asarray(heat.z[row], dtype=float))
    assert absent.any() and not absent.all()
    shapes = [s for s in fig.layout.shapes if s.name == "not provisioned"]
    assert shapes and all(s.y0 < row < s.y1 for s in shapes)
    covered = [(s.x0 <= x <= s.x1) for x in heat.x for s in shapes[:1]]
    assert np.array_equal(np.array(covered), absent)
    assert sum(s.showlegend for s in shapes) == 1
    assert not [s for s in fig.layout.shapes if s.name == "down (crash)"]


def test_topology_labels_an_autoscaled_server_with_the_fleet_it_ran(minimal_spec: dict) -> None:
    # One instance 50% busy against a 30% target grows to three of at most five: the label
    # said "app x5", the max, which never ran.
    minimal_spec["components"]["app"]["autoscaling"] = {
        "min": 1,
        "max": 5,
        "metric": "cpu_utilization",
        "target": "30%",
        "evaluation_period": "2s",
        "warmup": "1s",
    }
    minimal_spec["run"] |= {"duration": 12, "window": 1, "warmup": 0}
    result = simperf.run(simperf.from_dict(minimal_spec), seed=1)
    scaled = result.to_dict()["autoscaling"]["app"]
    low, high = scaled["fewest_instances"], scaled["most_instances"]
    assert (low, high) == (1, 3)
    (nodes,) = plots.topology(result).data
    app = ["clients", *result.scenario.components].index("app")
    assert nodes.text[app].startswith("<b>app</b> 1-3 of max 5<br>")


def _crash_and_replace(most: int, instance: int) -> simperf.Result:
    """10/s of exactly 100 ms on 2 one-core instances tracking 60% CPU (10 s periods
    acted on 5 s later, 30 s warm-up), at most ``most``; ``instance`` crashes from 52 s
    to 152 s. The decision at 55 terminates a crashed instance and brings a new one in,
    serving from 85."""
    scaling = {
        "min": 2,
        "max": most,
        "target": "60%",
        "evaluation_period": "10s",
        "metric_lag": "5s",
        "warmup": "30s",
    }
    app = {"cores": 1, "replicas": 2, "autoscaling": scaling}
    spec = fleet(app, duration=200, warmup=0, window=5)
    spec["workload"]["arrival"]["rate"] = 10
    spec["faults"] = [{"component": "app", "instance": instance, "at": 52, "for": 100}]
    return simperf.run(simperf.from_dict(spec), seed=1)


@pytest.mark.parametrize(
    ("most", "instance", "boxes"),
    [
        (2, 1, [(52.0, 85.0)]),  # the new instance takes app[1]'s slot: down until it serves
        (3, 1, [(52.0, 152.0)]),  # it goes to app[2]: app[1] has none all the fault long
    ],
)
def test_heatmap_draws_a_slot_down_only_while_nothing_serves_in_it(
    most: int, instance: int, boxes: list[tuple[float, float]]
) -> None:
    # At max 2 the replacement serves in the crashed slot from 85 s while the fault
    # lasts to 152 s: the slot was drawn down to 152 over a healthy instance 50% busy.
    result = _crash_and_replace(most, instance)
    fig = plots.utilization_heatmap(result)
    (heat,) = fig.data
    row = list(heat.y).index(f"app[{instance}]")
    down = [s for s in fig.layout.shapes if s.name == "down (crash)"]
    assert [(s.x0, s.x1) for s in down] == boxes
    assert all(s.y0 < row < s.y1 for s in down)
    if most == 2:  # what the box no longer hides: the new instance at work
        busy = np.asarray(heat.z[row], dtype=float)[(heat.x > 90) & (heat.x < 150)]
        assert busy == pytest.approx(0.5)


def test_fault_labels_starting_close_together_do_not_overlap(minimal_spec: dict) -> None:
    # three crashes 1 s apart on a 20 s run: each label is some 80 px wide, about 3 s
    # of a report's 480 px half-width figure, and all three were drawn on one line
    minimal_spec["components"]["app"]["replicas"] = 3
    minimal_spec["components"]["lb"] = {"kind": "load_balancer", "backends": ["app"]}
    minimal_spec["workload"]["classes"][0]["entry"] = "lb"
    minimal_spec["faults"] = [
        {"component": "app", "instance": i, "at": 5 + i, "for": 2} for i in range(3)
    ] + [{"component": "app", "instance": 0, "at": 15, "for": 1}]
    r = simperf.run(simperf.from_dict(minimal_spec), seed=1)
    fig = plots.timeseries(r)
    labels = [a for a in fig.layout.annotations if a.text.startswith("fault")]
    assert len(labels) == 4
    shifts = [a.yshift or 0 for a in labels]
    assert len(set(shifts[:3])) == 3  # one row each, from the top down
    assert shifts[3] == 0  # alone at 15 s: back in the first row
    span = r.data["end_time"] - r.data["warmup"]
    per_pixel = span / plots._style.PLOT_WIDTH
    for a in labels:
        for b in labels:
            if a is not b and (a.yshift or 0) == (b.yshift or 0) and a.x <= b.x:
                assert a.x + len(a.text) * plots._style.LABEL_CHAR * per_pixel <= b.x


def _grid_frame() -> pd.DataFrame:
    """A sweep's frame (its column order) of load x cores, 2 replications a point:
    latency = load / cores / 1000 + the replication's noise."""
    rows = []
    points = [(rate, cores) for rate in (100, 200) for cores in (2, 8)]
    for point, (rate, cores) in enumerate(points):
        for rep, noise in enumerate((0.0, 0.002)):
            rows.append(
                {
                    "point": point,
                    "replication": rep,
                    "workload.arrival.rate": rate,
                    "components.app.cores": cores,
                    "status": "ok",
                    "error": None,
                    "latency.all.p99": rate / cores / 1000 + noise,
                    "cost.total_per_hour": cores / 10,
                }
            )
    return pd.DataFrame(rows)


def test_sweep_lines_draw_a_line_per_value_of_the_other_swept_paths() -> None:
    """Latency against load of a load x cores sweep was one line, each point the mean of
    the 2-core and 8-core designs (32 ms at 100/s for designs of 51 and 13.5 ms)."""
    frame = _grid_frame()
    fig = plots.sweep_lines(frame, "workload.arrival.rate", "latency.all.p99")
    lines = {t.name: list(t.y) for t in fig.data}
    assert lines == {  # in ms, as every figure draws latencies
        "components.app.cores=2": pytest.approx([51, 101]),
        "components.app.cores=8": pytest.approx([13.5, 26]),
    }
    coloured = plots.sweep_lines(
        frame, "workload.arrival.rate", "latency.all.p99", "components.app.cores"
    )
    assert {t.name: list(t.y) for t in coloured.data} == lines
    # one value of the other path selected: one line, named by the metric as before
    one = frame[frame["components.app.cores"] == 2]
    assert [
        t.name for t in plots.sweep_lines(one, "workload.arrival.rate", "latency.all.p99").data
    ] == ["latency.all.p99"]


def test_sweep_lines_title_their_axes_in_words_and_units() -> None:
    """The axes read the raw paths, ``workload.arrival.rate`` and ``latency.all.p99`` in
    seconds, where the other figures say ``arrival rate (requests/s)`` and ``(ms)``."""
    frame = _grid_frame()
    frame["error_rate"] = 0.01
    fig = plots.sweep_lines(frame, "workload.arrival.rate", "latency.all.p99")
    assert fig.layout.xaxis.title.text == rate_title("arrival rate")
    assert fig.layout.yaxis.title.text == "p99 latency (ms)"
    fig = plots.sweep_lines(frame, "components.app.cores", "error_rate")
    assert fig.layout.xaxis.title.text == "components.app.cores"  # a count: no unit
    assert fig.layout.yaxis.title.text == "error rate (%)"  # as timeseries titles it
    assert list(fig.data[0].y) == pytest.approx([1.0, 1.0])
    shown = {
        "latency.checkout.mean": ("mean latency of checkout (ms)", 1000.0),
        "latency.all.throughput": (rate_title("throughput"), 1.0),
        "throughput": (rate_title("throughput"), 1.0),
        "components.app.utilization": ("components.app.utilization (%)", 100.0),
        "components.db.qps": ("components.db.qps (/s)", 1.0),
        "cost.total_per_hour": ("cost (per hour)", 1.0),
        "components.app.imbalance": ("components.app.imbalance (x)", 1.0),
    }
    assert {path: plots._style.metric_axis(path) for path in shown} == shown


def test_sweep_lines_refuse_to_pool_paths_they_cannot_tell_apart() -> None:
    """A frame without a sweep's columns, two designs at each x: refused, not averaged."""
    frame = _grid_frame().drop(columns=["point", "status", "error"])
    frame = frame.drop(columns=["components.app.cores"])
    with pytest.raises(ValueError, match="replication 0 appears 2 times"):
        plots.sweep_lines(frame, "workload.arrival.rate", "latency.all.p99")


def test_cost_frontier_draws_each_point_of_a_sweep_over_other_paths() -> None:
    """Designs by cores in a load x cores sweep: each design's latency was the mean over
    both loads, a design at no load."""
    fig = plots.cost_frontier(_grid_frame(), "components.app.cores")
    designs = fig.data[0]
    assert len(designs.x) == 4
    assert sorted(designs.y) == pytest.approx([13.5, 26.0, 51.0, 101.0])
    assert "2 (rate=100)" in designs.text

"""Database servers on the fault timeline: replicas leaving the route table, failover of a
primary (write unavailability, lost writes), sharded databases. Constant times throughout,
so every count is exact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simperf
from simperf.cli import main
from simperf.errors import SpecError

RATE = 100.0  # requests per second, deterministic: one every 10 ms
LAG = 0.05
FAIL_AT = 2.0005  # between two arrivals, so no commit coincides with the failure


def db_spec(replicas: int = 2, failover: dict[str, Any] | None = None, **extra: Any) -> dict:
    """1 ms of CPU per query and nothing else; replicas see each write 50 ms later."""
    spec: dict[str, Any] = {
        "kind": "database",
        "primary": {"cores": 8, "storage": {"read_latency": 0, "write_latency": 0}},
        "cpu": {
            "per_query": "1ms",
            "per_row": 0,
            "per_page": 0,
            "per_row_written": 0,
            "per_index_write": 0,
        },
        "connection": {"handshake": 0, "startup": 0},
        "rtt": 0,
        "bandwidth": 2**50,
        "read_replicas": replicas,
        "replication_lag": LAG,
        "tables": {"kv": {"rows": 1000, "row_size": 100}},
        "queries": {
            "put": {"table": "kv", "op": "update", "where": ["id"]},
            "get": {"table": "kv", "where": ["id"]},
        },
        **extra,
    }
    if failover is not None:
        spec["failover"] = failover
    return spec


def scenario(
    endpoint: str,
    faults: list[dict[str, Any]],
    *,
    db: dict[str, Any] | None = None,
    duration: float = 6.0,
) -> dict[str, Any]:
    return {
        "name": "db_failover",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": RATE},
            "classes": [{"name": endpoint, "entry": "app", "endpoint": endpoint}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "cores": 8,
                "workers": 1000,
                "endpoints": {
                    "write": [{"query": "put", "database": "db"}],
                    "read": [{"query": "get", "database": "db"}],
                },
            },
            "db": db if db is not None else db_spec(failover={"detection": 1, "promotion": 0.5}),
        },
        "faults": faults,
        "run": {"duration": duration, "warmup": 0},
    }


def run(spec: dict[str, Any]) -> dict[str, Any]:
    return simperf.run(simperf.from_dict(spec), seed=1).to_dict()


def primary_fault(duration: float = 10.0) -> list[dict[str, Any]]:
    return [{"component": "db", "instance": 0, "at": FAIL_AT, "for": duration}]


def conserved(result: dict[str, Any]) -> None:
    r = result["requests"]
    assert r["generated"] == r["ok"] + r["failed"] + r["in_flight"]


def test_writes_fail_for_detection_plus_promotion_and_the_lag_window_is_lost() -> None:
    """Writes at 100/s commit 1 ms after arriving and reach replicas 50 ms later. The
    primary fails at 2.0005 s: the 5 writes committed in the 50 ms before are on no replica
    (lost), and the writes arriving in the 1.5 s of detection plus promotion fail."""
    result = run(scenario("write", primary_fault()))
    conserved(result)
    assert result["requests"]["errors"]["primary_down"] == 150
    assert result["requests"]["failed"] == 150
    failover = result["databases"]["db"]["failover"]
    assert failover["promotions"] == 1
    assert failover["lost_writes"] == round(RATE * LAG)
    (event,) = failover["events"]
    assert event["detected_at"] == pytest.approx(FAIL_AT + 1)
    assert event["promoted_at"] == pytest.approx(FAIL_AT + 1.5)
    assert event["write_unavailable"] == pytest.approx(1.5)
    assert event["promoted"] == "db[replica0]"  # equally caught up: the first


@pytest.mark.parametrize(("detection", "promotion", "lag"), [(0.3, 0.2, 0.02), (2.0, 0.7, 0.13)])
def test_write_unavailability_and_lost_writes_follow_the_settings(
    detection: float, promotion: float, lag: float
) -> None:
    db = db_spec(failover={"detection": detection, "promotion": promotion}, replication_lag=lag)
    result = run(scenario("write", primary_fault(), db=db))
    conserved(result)
    assert result["requests"]["errors"]["primary_down"] == round(RATE * (detection + promotion))
    assert result["databases"]["db"]["failover"]["lost_writes"] == round(RATE * lag)


def test_the_most_caught_up_replica_is_promoted() -> None:
    """replica0 was down until 1.99 s: it rejoined caught up and has only the writes of the
    last 10 ms pending (1), replica1 those of the last 50 ms (5)."""
    faults = [{"component": "db", "instance": 1, "at": 1, "for": 0.99}, *primary_fault()]
    result = run(scenario("write", faults))
    (event,) = result["databases"]["db"]["failover"]["events"]
    assert event["promoted"] == "db[replica0]"
    assert event["lost_writes"] == 1


def test_reads_go_on_at_the_replicas_while_the_primary_is_down() -> None:
    result = run(scenario("read", primary_fault()))
    assert result["requests"]["failed"] == 0
    servers = result["databases"]["db"]["instances"]
    assert servers["db[primary]"]["queries"] == 0
    # 599 reads (the first at 10 ms); replica0 is the primary from 3.5005 s on
    assert servers["db[replica0]"]["queries"] + servers["db[replica1]"]["queries"] == 599


def test_a_failed_replica_leaves_its_reads_to_the_others() -> None:
    faults = [{"component": "db", "instance": 2, "at": FAIL_AT, "for": 2}]
    result = run(scenario("read", faults))
    assert result["requests"]["failed"] == 0
    servers = result["databases"]["db"]["instances"]
    # 599 reads; replica1 takes half of those outside its 2 s outage
    assert servers["db[replica1]"]["queries"] == pytest.approx(399 / 2, abs=1)
    assert servers["db[replica0]"]["queries"] == pytest.approx(599 - 399 / 2, abs=1)


def test_without_failover_writes_fail_until_the_primary_recovers() -> None:
    result = run(scenario("write", primary_fault(1.2), db=db_spec()))
    conserved(result)
    assert result["requests"]["errors"]["primary_down"] == result["requests"]["failed"] == 120
    (event,) = result["databases"]["db"]["failover"]["events"]
    assert event["promoted"] is None
    assert event["write_unavailable"] == pytest.approx(1.2)
    assert result["databases"]["db"]["failover"]["lost_writes"] == 0


def test_without_replicas_every_query_fails_until_recovery() -> None:
    result = run(scenario("read", primary_fault(1.2), db=db_spec(replicas=0)))
    conserved(result)
    assert result["requests"]["errors"]["primary_down"] == result["requests"]["failed"] == 120


def test_a_replaced_primary_rejoins_as_a_replica() -> None:
    result = run(
        scenario(
            "read",
            primary_fault(1.0),
            db=db_spec(replicas=1, failover={"detection": 0.2, "promotion": 0.3}),
        )
    )
    servers = result["databases"]["db"]["instances"]
    assert result["requests"]["failed"] == 0
    # the old primary serves every read from 3.0005 s (the only replica): 3.01 .. 5.99 s
    assert servers["db[primary]"]["queries"] == 299


def test_a_shard_primary_fails_alone() -> None:
    db = db_spec(replicas=1, failover={"detection": 1, "promotion": 0.5})
    db.update(kind="sharded_database", shards=2)
    # servers: shard 0 primary (0), its replica (1), shard 1 primary (2), its replica (3)
    result = run(
        scenario("write", [{"component": "db", "instance": 2, "at": FAIL_AT, "for": 9}], db=db)
    )
    conserved(result)
    failed = result["requests"]["errors"]["primary_down"]
    assert 0 < failed < 150  # only shard 1's writes, about half
    (event,) = result["databases"]["db"]["failover"]["events"]
    assert event["server"] == "db[s1:primary]"
    assert event["promoted"] == "db[s1:replica0]"


def test_a_fault_on_an_unknown_database_server_names_its_path() -> None:
    spec = scenario("write", [{"component": "db", "instance": 3, "at": 1, "for": 1}])
    with pytest.raises(SpecError, match=r"faults\[0\]\.instance: 'db' has 3 instance"):
        simperf.from_dict(spec)


def test_failover_without_a_replica_names_its_path() -> None:
    spec = scenario("write", [], db=db_spec(replicas=0, failover={"detection": 1}))
    with pytest.raises(SpecError, match=r"components\.db\.failover: needs read_replicas >= 1"):
        simperf.from_dict(spec)


def test_the_cli_exits_2_on_a_fault_on_an_unknown_database_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spec.json"
    path.write_text(
        json.dumps(scenario("write", [{"component": "db", "instance": 7, "at": 1, "for": 1}]))
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "faults[0].instance: 'db' has 3 instance(s)" in err
    assert "Traceback" not in err


def test_the_summary_names_the_outage_and_the_lost_writes() -> None:
    text = simperf.run(simperf.from_dict(scenario("write", primary_fault())), seed=1).summary()
    assert (
        "db[primary] down at 2 s, db[replica0] promoted at 3.5 s: writes unavailable 1.5 s, "
        "5 writes lost" in text
    )


@pytest.mark.parametrize("seed", range(4))
def test_conservation_is_exact_under_random_database_fault_schedules(seed: int) -> None:
    """Poisson reads and writes, pooled and not, on a sharded database with replicas;
    random outages of random servers, the whole database included (kept only where they
    do not overlap an earlier one on a server: the spec refuses overlapping schedules)."""
    rng = np.random.default_rng(seed)
    faults: list[dict[str, object]] = []
    taken: dict[int, list[tuple[float, float]]] = {}
    for _ in range(int(rng.integers(1, 8))):
        instance = None if rng.random() < 0.15 else int(rng.integers(0, 6))
        at, length = float(rng.uniform(0, 3)), float(rng.uniform(0.05, 1.5))
        servers = range(6) if instance is None else [instance]
        if any(at < b and a < at + length for k in servers for a, b in taken.get(k, [])):
            continue
        for k in servers:
            taken.setdefault(k, []).append((at, at + length))
        faults.append({"component": "db", "instance": instance, "at": at, "for": length})
    db = db_spec(replicas=2, failover={"detection": 0.2, "promotion": 0.1})
    db.update(
        kind="sharded_database", shards=2, replication_lag={"dist": "exponential", "mean": 0.05}
    )
    spec = scenario("write", faults, db=db, duration=4)
    spec["workload"] = {
        "arrival": {"kind": "poisson", "rate": 400},
        "classes": [
            {"name": "write", "entry": "app", "endpoint": "write", "weight": 1},
            {"name": "read", "entry": "app", "endpoint": "read", "weight": 2},
        ],
    }
    spec["components"]["app"]["pool"] = {"database": "db", "size": 8}
    spec["components"]["app"]["endpoints"]["read"].append({"cpu": "1ms"})
    result = run(spec)
    conserved(result)
    assert result["requests"]["generated"] > 1000


def test_writes_with_no_replication_lag_lose_nothing_at_failover() -> None:
    """A lag of 0 makes a write visible on the replicas as it commits: nothing is pending
    when the primary fails, so nothing is lost (the pending list, emptied by the write
    that had just entered it, raised IndexError)."""
    db = db_spec(failover={"detection": 1, "promotion": 0.5}, replication_lag=0)
    result = run(scenario("write", primary_fault(), db=db))
    conserved(result)
    assert result["requests"]["errors"]["primary_down"] == 150
    assert result["databases"]["db"]["failover"]["lost_writes"] == 0


def test_a_primary_outage_over_before_the_warm_up_ends_is_not_counted() -> None:
    """The primary fails at 2.0005 s and a replica is its successor at 3.5005 s, before a
    4 s warm-up ends: the measured period saw no write outage, as its requests, failed
    0 and availability 1, say. It read 1 primary failure, 1 promotion and 5 lost writes,
    counted over the whole run beside figures of the measured period."""
    spec = scenario("write", primary_fault())
    spec["run"]["warmup"] = 4.0
    result = run(spec)
    failover = result["databases"]["db"]["failover"]
    assert (failover["primary_failures"], failover["promotions"], failover["lost_writes"]) == (
        0,
        0,
        0,
    )
    assert failover["events"] == []
    assert result["faults"]["failed"] == 0
    # the same outage with no warm-up, and one overlapping the measured period, count
    spec["run"]["warmup"] = 3.0
    failover = run(spec)["databases"]["db"]["failover"]
    assert (failover["primary_failures"], failover["promotions"], failover["lost_writes"]) == (
        1,
        1,
        round(RATE * LAG),
    )

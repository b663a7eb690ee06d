"""``simperf explain`` and database specs on the command line: tables, exit status, warnings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from simperf.cli import main

from conftest import MODELS

DATABASE_MODELS = ["read_replicas.yaml", "sharded_store.yaml"]


@pytest.mark.parametrize("model", DATABASE_MODELS)
def test_explain_prints_a_table_per_database(
    model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(MODELS / model)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("database ")
    for column in ("query", "access", "index", "examined", "pages", "service"):
        assert column in out
    assert "unused indexes:" in out


def test_explain_json_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(MODELS / "read_replicas.yaml"), "--json"]) == 0
    rows = {r["query"]: r for r in json.loads(capsys.readouterr().out)}
    by_id = rows["product_by_id"]
    assert (by_id["access"], by_id["index"], by_id["rows_examined"]) == ("index", "PRIMARY", 1)
    assert rows["products_in_category limit 24"]["rows_examined"] == 24


def test_explain_sharded_marks_scatter_gather(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(MODELS / "sharded_store.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("users_in_country" in line and "x8 shards" in line for line in lines)
    assert not any("user_by_id" in line and "shards" in line for line in lines)


def test_run_json_has_the_database_section(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MODELS / "read_replicas.yaml")
    assert main(["run", path, "--duration", "5s", "--set", "run.warmup=1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    catalog = data["databases"]["catalog"]
    assert catalog["queries"]["product_by_id"]["calls"] > 0
    assert catalog["instances"]["catalog[replica0]"]["qps"] > 0
    assert catalog["pools"]["app"]["acquisitions"] > 0
    assert catalog["replication"]["lag"]["count"] > 0


def write(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def model(name: str) -> dict[str, Any]:
    return yaml.safe_load((MODELS / name).read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["components"]["catalog"].update(read_replicas=-1),
            "components.catalog.read_replicas: must be >= 0",
        ),
        (
            lambda d: d["components"]["catalog"]["queries"]["product_by_id"].update(table="prod"),
            "components.catalog.queries.product_by_id.table: unknown table 'prod'",
        ),
        (
            lambda d: d["components"]["catalog"]["queries"]["product_by_id"].update(where=["sku"]),
            "components.catalog.queries.product_by_id.where[0]: unknown column 'sku'",
        ),
        (
            lambda d: d["components"]["app"]["pool"].update(database="catalogue"),
            "components.app.pool.database: unknown database 'catalogue'",
        ),
    ],
)
@pytest.mark.parametrize("command", ["run", "validate", "explain"])
def test_bad_database_specs_exit_2_with_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, message: str, command: str
) -> None:
    data = model("read_replicas.yaml")
    change(data)
    assert main([command, write(tmp_path, data)]) == 2
    assert message in capsys.readouterr().err


def test_oversubscribed_connections_warn_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = model("read_replicas.yaml")
    data["components"]["app"]["pool"]["size"] = 80  # 4 x 80 = 320 > 200
    assert main(["validate", write(tmp_path, data)]) == 0
    captured = capsys.readouterr()
    assert "valid scenario" in captured.out
    warning = [line for line in captured.err.splitlines() if line.startswith("simperf: warning:")]
    assert len(warning) == 2  # the primary and each read replica, once each
    assert "connection pools hold 320 connections" in warning[0]


def test_run_summary_lists_database_servers(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MODELS / "sharded_store.yaml")
    assert main(["run", path, "--duration", "3s", "--set", "run.warmup=1"]) == 0
    out = capsys.readouterr().out
    assert "database server" in out and "store[s7:primary]" in out
    assert "pool api->store: 32 x 4" in out and "shards of store: 8 by hash" in out

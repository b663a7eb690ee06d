"""The results store: unusable paths are StoreErrors naming the path, never sqlite3's."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pandas.testing
import pytest

from simperf.errors import SimperfWarning, StoreError
from simperf.experiment.store import ResultStore


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with ResultStore(path, "h") as store:
        store.save("k", 0, {"a": 1}, result={"x": 1.0})
        store.save("k", 1, {"a": 1}, error="boom")
    with ResultStore(path, "h", resume=True) as store:
        assert store.finished() == {("k", 0)}
        assert [r["status"] for r in sorted(store.rows(), key=lambda r: r["replication"])] == [
            "ok",
            "error",
        ]


def test_rows_within_a_scope_read_only_that_search_runs(tmp_path: Path) -> None:
    """A store shared by growth's months: each month's search reads its own runs, and a
    damaged run of another month is not even parsed."""
    rate = 320 * 1.1**3  # a float, matched exactly after its JSON round trip
    with ResultStore(tmp_path / "r.db", "h") as store:
        store.save("a", 0, {"growth": "up", "rate": rate, "cores": 4}, result={"x": 1.0})
        store.save("b", 0, {"growth": "up", "rate": 320.0, "cores": 4}, result={"x": 2.0})
        store.save("c", 0, {"growth": "out", "rate": rate, "cores": 4}, result={"x": 3.0})
        store._db.execute("UPDATE runs SET result = '{cut' WHERE point_key = 'c'")
        rows = store.rows({"growth": "up", "rate": rate})
        assert [r["point_key"] for r in rows] == ["a"]
        assert {r["point_key"] for r in store.rows({"growth": "up"})} == {"a", "b"}
        with pytest.warns(SimperfWarning, match="1 damaged run"):
            assert len(store.rows()) == 2


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        ResultStore(tmp_path, "h")


def test_a_missing_directory_is_made_as_the_commands_out_makes_it(tmp_path: Path) -> None:
    # simperf sweep --out made it (outputs.output_file); sweep(store=...) refused it
    path = tmp_path / "missing" / "today" / "r.db"
    store = ResultStore(path, "h")
    store.save("a", 0, {"cores": 1}, result={"x": 1.0})
    assert path.is_file() and store.finished() == {("a", 0)}


def test_a_store_under_a_file_is_one_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a directory")
    path = tmp_path / "notes.txt" / "r.db"
    with pytest.raises(StoreError, match=f"^{re.escape(str(path))}: cannot create its directory"):
        ResultStore(path, "h")


def test_resuming_a_store_in_a_missing_directory_makes_nothing(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="nothing to resume"):
        ResultStore(tmp_path / "missing" / "r.db", "h", resume=True)
    assert not (tmp_path / "missing").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_unwritable_directory_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(StoreError):
        ResultStore(locked / "r.db", "h")


def test_text_file_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("plain text, not SQLite " * 50)
    with pytest.raises(StoreError, match="is not a simperf results store"):
        ResultStore(path, "h", resume=True)


def test_other_sqlite_database_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="no meta table"):
        ResultStore(path, "h", resume=True)
    with sqlite3.connect(path) as db:  # left as it was found
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert tables == {"t"}


def test_other_spec_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    ResultStore(path, "one").close()
    with pytest.raises(StoreError, match="different spec or seed"):
        ResultStore(path, "two", resume=True)


def test_a_damaged_run_is_run_again(tmp_path: Path) -> None:
    """A result that no longer parses (a file cut short, a bad copy) made --resume end in
    json's traceback; the run is now left out with a warning and run again."""
    import simperf
    from simperf.errors import SimperfWarning
    from simperf.experiment.sweep import sweep

    from conftest import MODELS

    scenario = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": 10, "run.warmup": 1}
    )
    grid = {"components.app.cores": [4, 5]}
    path = tmp_path / "r.db"
    fresh = sweep(scenario, grid, executor="serial", progress=False, store=path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE runs SET result = substr(result, 1, 100) WHERE point LIKE '%5%'")
    with pytest.warns(SimperfWarning, match="1 damaged run"):
        resumed = sweep(scenario, grid, executor="serial", progress=False, store=path, resume=True)
    pandas.testing.assert_frame_equal(resumed, fresh)
    with sqlite3.connect(path) as db:
        (length,) = db.execute("SELECT length(result) FROM runs WHERE point LIKE '%5%'").fetchone()
    assert length > 100  # written anew


def test_errors_from_python_name_its_arguments_not_the_commands_flags(tmp_path: Path) -> None:
    # sweep(store=...) said "choose another --out", a flag no notebook user typed
    path = tmp_path / "r.db"
    ResultStore(path, "h").close()
    with pytest.raises(StoreError) as exists:
        ResultStore(path, "h")
    with pytest.raises(StoreError) as other:
        ResultStore(path, "another", resume=True)
    with pytest.raises(StoreError) as directory:
        ResultStore(tmp_path, "h")
    for caught, says in ((exists, "resume=True"), (other, "store="), (directory, "store=")):
        assert "--" not in str(caught.value) and says in str(caught.value), caught.value
    # the command's own wording, for the command line to print
    assert "(--resume) or choose another --out" in str(exists.value.command_line)
    assert "use another --out" in str(other.value.command_line)

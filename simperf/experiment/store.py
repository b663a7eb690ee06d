"""A results store for sweeps: every finished run is written as soon as it completes.

SQLite (standard library) in WAL mode, one row per (point, replication). A sweep that is
killed loses at most the runs in progress; resuming skips every stored row. The store
remembers the hash of the spec and seed it was written for and refuses to mix in results
of a different one.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import warnings
from pathlib import Path
from typing import Any

from simperf.errors import SimperfWarning, StoreError
from simperf.outputs import output_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    point_key TEXT NOT NULL,
    replication INTEGER NOT NULL,
    point TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    error TEXT,
    PRIMARY KEY (point_key, replication)
);
"""


def canonical_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value`` (sorted keys), as hex."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ResultStore:
    """Sweep results on disk, keyed by (point, replication).

    Parameters
    ----------
    path
        The SQLite file.
    spec_hash
        Hash of the base spec and seed the results belong to.
    resume
        Continue an existing store (refused if it belongs to another spec); without it
        an existing file is refused rather than overwritten.
    """

    def __init__(self, path: str | Path, spec_hash: str, *, resume: bool = False) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(
                f"{self.path} is a directory: store= needs a file name",
                f"{self.path} is a directory: --out needs a file name",
            )
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists and not resume:
            raise StoreError(
                f"{self.path} already exists: resume it (resume=True) or choose another store=",
                f"{self.path} already exists: resume it (--resume) or choose another --out",
            )
        if resume and not exists:
            raise StoreError(f"{self.path}: nothing to resume (no such results store)")
        if not resume:  # its missing directories made, as every --out's
            output_file("", self.path, "runs.db", error=StoreError)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the results store ({exc})") from None
        try:
            self._open(spec_hash, resume=resume)
        except sqlite3.Error as exc:
            self._db.close()
            if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
                raise StoreError(f"{self.path} is not a simperf results store") from None
            raise StoreError(f"{self.path}: cannot use the results store ({exc})") from None
        except StoreError:
            self._db.close()
            raise

    def _open(self, spec_hash: str, *, resume: bool) -> None:
        if resume and not self._has_meta():
            raise StoreError(f"{self.path} is not a simperf results store (no meta table)")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        stored = self._db.execute("SELECT value FROM meta WHERE key = 'spec_hash'").fetchone()
        if stored is None:
            self._db.execute("INSERT INTO meta VALUES ('spec_hash', ?)", (spec_hash,))
        elif stored[0] != spec_hash:
            mixed = (
                f"{self.path} holds results of a different spec or seed "
                f"({stored[0][:12]} here, {spec_hash[:12]} now): refusing to mix them; "
            )
            raise StoreError(
                mixed + "use another store= for the changed spec",
                mixed + "use another --out for the changed spec",
            )

    def _has_meta(self) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        return row is not None

    def finished(self) -> set[tuple[str, int]]:
        """(point_key, replication) of every stored run that succeeded (a damaged one left
        out, as :meth:`rows` leaves it out, so that it is run again)."""
        return {(r["point_key"], r["replication"]) for r in self.rows() if r["status"] == "ok"}

    def save(
        self,
        point_key: str,
        replication: int,
        point: dict[str, Any],
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Write one finished run (committed at once)."""
        try:
            self._write(point_key, replication, point, result, error)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot write a run ({exc})") from None

    def _write(
        self,
        point_key: str,
        replication: int,
        point: dict[str, Any],
        result: dict[str, Any] | None,
        error: str | None,
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
            (
                point_key,
                replication,
                json.dumps(point, sort_keys=True),
                "ok" if error is None else "error",
                json.dumps(result) if result is not None else None,
                error,
            ),
        )

    def rows(self, within: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every stored run: point_key, replication, point, status, result, error.

        ``within``: only the runs whose point holds these items (one search's of a store
        that several share), the others' results not even parsed.

        A run whose point or result no longer parses (a file cut short or badly copied)
        is left out, with a :class:`~simperf.errors.SimperfWarning`, so that a resumed
        sweep or search runs it again and writes it anew.
        """
        cursor = self._db.execute(
            "SELECT point_key, replication, point, status, result, error FROM runs"
        )
        rows, damaged = [], 0
        for key, rep, point, status, result, error in cursor:
            try:
                parsed = json.loads(point)
                if within and any(item not in parsed.items() for item in within.items()):
                    continue
                row = {
                    "point_key": key,
                    "replication": int(rep),
                    "point": parsed,
                    "status": status,
                    "result": json.loads(result) if result else None,
                    "error": error,
                }
            except (TypeError, ValueError, AttributeError):  # JSONDecodeError: a ValueError
                damaged += 1
                continue
            if status == "ok" and not isinstance(row["result"], dict):
                damaged += 1
                continue
            rows.append(row)
        if damaged:
            warnings.warn(
                f"{self.path}: {damaged} damaged run(s) left out, to be run again",
                SimperfWarning,
                stacklevel=2,
            )
        return rows

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

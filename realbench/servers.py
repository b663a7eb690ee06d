"""Start PostgreSQL, Redis and gunicorn on 127.0.0.1, and stop them whatever happens.

PostgreSQL runs from a throwaway data directory (``initdb``, trust authentication, no
fsync) and Redis without persistence, both on free ports in a temporary directory that is
removed at the end. Running as root, PostgreSQL runs as the ``postgres`` user (initdb
refuses root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
ROWS = 1000


class ServersMissing(RuntimeError):
    """PostgreSQL, Redis or gunicorn is not installed."""


def pg_bin() -> Path:
    """The newest installed PostgreSQL's binaries."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if not found:
        raise ServersMissing("PostgreSQL not found (apt-get install postgresql)")
    return Path(found[-1]).parent


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


def check_installed(server_python: str) -> None:
    """Raise :class:`ServersMissing` naming what is missing."""
    pg_bin()
    if shutil.which("redis-server") is None:
        raise ServersMissing("redis-server not found (apt-get install redis-server)")
    probe = [server_python, "-c", "import gunicorn, psycopg, redis"]
    if (
        not os.access(server_python, os.X_OK)
        or subprocess.run(probe, capture_output=True).returncode
    ):
        raise ServersMissing(
            f"{server_python} lacks gunicorn, psycopg or redis (pip install -e '.[realbench]')"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {HOST}:{port} within {timeout:.0f} s")


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Stack:
    """The running stack: where gunicorn listens, and the directory of its logs."""

    port: int
    directory: Path


@contextlib.contextmanager
def stack(
    server_python: str, cpu_ms: float, workers: int = 1, worker_cpu: int | None = None
) -> Iterator[Stack]:
    """PostgreSQL (a table of ``ROWS`` rows), Redis and ``workers`` gunicorn sync workers
    serving :mod:`realbench.app`, the workers pinned to ``worker_cpu`` if given;
    everything is stopped and removed on exit."""
    check_installed(server_python)
    directory = Path(tempfile.mkdtemp(prefix="simperf-realbench-"))
    os.chmod(directory, 0o777)  # the postgres user writes its data directory here
    processes: list[subprocess.Popen[bytes]] = []
    bin_dir = pg_bin()
    data = directory / "pg"
    pg_port, redis_port, app_port = free_port(), free_port(), free_port()
    pg_started = False
    logs = open(directory / "servers.log", "ab")
    try:
        subprocess.run(
            _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "bench", "-A", "trust"]),
            check=True,
            stdout=logs,
            stderr=logs,
        )
        options = f"-c listen_addresses={HOST} -p {pg_port} -k {directory} -c fsync=off"
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-w",
                    "-o",
                    options,
                    "-l",
                    str(directory / "pg.log"),
                    "start",
                ]
            ),
            check=True,
            stdout=logs,
            stderr=logs,
        )
        pg_started = True
        sql = (
            "CREATE TABLE items (id int PRIMARY KEY, value text);"
            f"INSERT INTO items SELECT i, md5(i::text) FROM generate_series(0, {ROWS - 1}) i;"
            "ANALYZE items;"
        )
        subprocess.run(
            [
                str(bin_dir / "psql"),
                "-h",
                HOST,
                "-p",
                str(pg_port),
                "-U",
                "bench",
                "-d",
                "postgres",
                "-q",
                "-c",
                sql,
            ],
            check=True,
            stdout=logs,
            stderr=logs,
        )
        redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(redis_port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
            ],
            stdout=logs,
            stderr=logs,
        )
        processes.append(redis)
        _wait_port(redis_port, redis, "redis-server")
        env = {
            **os.environ,
            "REALBENCH_PG_PORT": str(pg_port),
            "REALBENCH_REDIS_PORT": str(redis_port),
            "REALBENCH_CPU_MS": str(cpu_ms),
            "REALBENCH_WORKER_CPU": "" if worker_cpu is None else str(worker_cpu),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }
        gunicorn = subprocess.Popen(
            [
                server_python,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--bind",
                f"{HOST}:{app_port}",
                "--backlog",
                "2048",
                "--log-level",
                "warning",
                "realbench.app:app",
            ],
            env=env,
            stdout=logs,
            stderr=logs,
        )
        processes.append(gunicorn)
        _wait_port(app_port, gunicorn, "gunicorn")
        yield Stack(app_port, directory)
    finally:
        for process in reversed(processes):
            _stop(process)
        if pg_started:
            subprocess.run(
                _as_postgres(
                    [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
                ),
                stdout=logs,
                stderr=logs,
                check=False,
            )
        logs.close()
        if os.environ.get("REALBENCH_KEEP") != "1":
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"realbench: logs kept in {directory}", file=sys.stderr)

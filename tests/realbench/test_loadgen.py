"""The load generator against a stand-in server on loopback (no gunicorn needed)."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np

from realbench import loadgen

SERVICE = 0.004


def _serve(listener: socket.socket, stop: threading.Event) -> None:
    """One connection at a time, each held ``SERVICE`` s: a single worker."""
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn:
            conn.recv(4096)
            start = time.time()
            time.sleep(SERVICE)
            end = time.time()
            timing = f"1 {start:.6f} {end:.6f} 0 0 {end - start:.6f}"
            conn.sendall(
                f"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nX-Timing: {timing}\r\n\r\nok".encode()
            )


def test_saturated_clients_keep_the_worker_busy_so_its_gaps_are_its_service_time() -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    stop = threading.Event()
    server = threading.Thread(target=_serve, args=(listener, stop), daemon=True)
    server.start()
    try:
        port = listener.getsockname()[1]
        busy = loadgen.saturated(port, 120, demand=0.0)
        sequential = loadgen.sequential(port, 20, demand=0.0)
    finally:
        stop.set()
        server.join()
        listener.close()
    assert len(busy) == 120 and all(r.status == 200 for r in busy)
    gaps = np.diff(np.sort([r.server_end for r in busy])[60:])
    # held SERVICE and barely more: a waiting request was always there
    assert SERVICE <= float(np.mean(gaps)) < SERVICE * 1.25
    # one after another, the gaps hold the client's round trip too
    seq_gaps = np.diff(np.sort([r.server_end for r in sequential]))
    assert float(np.mean(seq_gaps)) > float(np.mean(gaps))

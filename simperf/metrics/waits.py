"""Bounded wait records: an instance's waits past ``run.keep_requests`` in a sketch.

A :class:`~simperf.components.server.Server` appends the wait of every request that
queued (8 bytes each). Past the cap, the model's folds (after each snapshot and as each
batch of request records fills) move the waits beyond the first ``keep`` into a
per-instance :class:`~simperf.metrics.quantiles.StreamingQuantiles`
(``Server.folded_waits``), counting them in ``Server.waits_folded`` so that the
snapshots' ``waited`` count, and P(wait), stay exact; the wait percentiles are then
within the sketch's stated relative error. Waits before the first snapshot (the
warm-up) are counted but not kept: nothing reads them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simperf.metrics.columns import cut
from simperf.metrics.quantiles import StreamingQuantiles


def fold_waits(
    instances: list[Any], keep: int, batch: int, first: Any, last: Any | None = None
) -> None:
    """Fold each instance's waits past the first ``keep`` once ``batch`` have piled up.

    ``first`` is the run's first snapshot (its ``waited`` counts are the warm-up's
    waits); ``last``, when given, its last (waits after it are dropped: the fast path
    computes some past the end). Called by the model's folds, never per request.
    """
    for inst in instances:
        waits = getattr(inst, "waits", None)
        if waits is None or not hasattr(inst, "waits_folded") or len(waits) - keep < batch:
            continue
        tail = cut(inst, "waits", keep)
        # the global index of tail[0] is keep + the waits folded before it
        start = keep + inst.waits_folded
        warm = int(first.instances[inst.name].get("waited", 0))
        skip = min(max(warm - start, 0), tail.size)
        stop = tail.size
        if last is not None:
            stop = min(max(int(last.instances[inst.name]["waited"]) - start, skip), stop)
        if inst.folded_waits is None:
            inst.folded_waits = StreamingQuantiles()
        inst.folded_waits.add(tail[skip:stop])
        inst.waits_folded += tail.size
        inst.waits_keep = keep


def measured_waits(
    inst: Any, a: dict[str, float], b: dict[str, float]
) -> tuple[np.ndarray, StreamingQuantiles | None]:
    """The waits at ``inst`` between snapshots ``a`` (the first) and ``b`` (the last).

    Returns the waits in that range and None, or, when some were folded, no waits and
    a sketch of them all (the kept ones added to a copy of the folded ones).
    """
    waits = getattr(inst, "waits", None)
    if waits is None or "waited" not in a:
        return np.zeros(0), None
    lo, hi = int(a["waited"]), int(b["waited"])
    # views, not copies (the run is over: nothing appends any more)
    held = np.frombuffer(waits, dtype=float)
    folded = getattr(inst, "waits_folded", 0)
    if not folded:
        return held[lo:hi], None
    # positions from ``keep`` on hold the waits appended since the last fold
    keep = inst.waits_keep
    sketch = StreamingQuantiles(inst.folded_waits.buckets)
    sketch.merge(inst.folded_waits)
    for part in (
        held[min(lo, keep) : min(hi, keep)],
        held[max(lo - folded, keep) : max(hi - folded, keep)],
    ):
        for start in range(0, part.size, CHUNK):  # small temporaries
            sketch.add(part[start : start + CHUNK])
    return np.zeros(0), sketch


CHUNK = 1 << 16
"""Waits added to a sketch at once when the summary reads them."""

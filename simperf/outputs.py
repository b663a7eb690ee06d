"""Files simperf writes: checked before any work, their missing directories made.

One rule for every writer, the command line's ``--out`` (``report``'s page,
``calibrate``'s scenario, the results store) and the Python API's
(:meth:`simperf.Result.to_html`, a results store opened with ``store=``) alike.
"""

from __future__ import annotations

import os
from pathlib import Path

from simperf.errors import SimperfError


def output_file(
    flag: str, path: str | Path, example: str, *, error: type[SimperfError] = SimperfError
) -> Path:
    """The file an output names, checked before any work: not a directory, its missing
    directories made, and writable.

    Parameters
    ----------
    flag
        What names the file in an error, before it (``--out``); empty in the Python API,
        whose errors start with the path.
    path
        The file.
    example
        A file name the error suggests where ``path`` is a directory (``report.html``).
    error
        The error raised (a results store's: :class:`~simperf.errors.StoreError`).

    Raises
    ------
    SimperfError
        One line naming the path (and the flag), where it cannot be written.
    """
    out = Path(path)
    where = f"{flag} {out}" if flag else str(out)
    if out.is_dir():
        raise error(f"{where}: is a directory; give a file name, e.g. {out / example}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"{where}: cannot create its directory {out.parent} ({exc.strerror})") from None
    if not os.access(out.parent, os.W_OK):
        raise error(f"{where}: cannot write in {out.parent} (permission denied)")
    return out


def write_output(flag: str, out: Path, text: str) -> None:
    """Write ``text`` to ``out`` (checked by :func:`output_file`); a failure is one line
    naming the path (and ``flag``), not a traceback."""
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        where = f"{flag} {out}" if flag else str(out)
        raise SimperfError(f"{where}: cannot write it ({exc.strerror})") from None

"""Progress bars for long experiments, in terminals and notebooks, never in the way.

``progress=None`` (the default everywhere) shows a bar only where a person is watching:
when stderr is a terminal, or in a Jupyter kernel. Pipes, log files and ``--json`` runs
stay silent unless asked with ``progress=True``; ``progress=False`` always silences.
"""

from __future__ import annotations

import sys
from typing import Any


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = shell.get_ipython()  # type: ignore[attr-defined]
    return ipython is not None and type(ipython).__name__ == "ZMQInteractiveShell"


def wanted(progress: bool | None) -> bool:
    """Whether to show progress: the caller's choice, else whether someone is watching."""
    if progress is not None:
        return progress
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) or _in_notebook()


def bar(total: int | None, desc: str, progress: bool | None, *, initial: int = 0) -> Any:
    """A tqdm bar on stderr counting runs (disabled when :func:`wanted` says no).

    The notebook widget is used when ``ipywidgets`` is installed; otherwise the text
    bar, which notebooks show as well.
    """
    enabled = wanted(progress)
    cls: Any
    if enabled and _in_notebook():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as cls
        except ImportError:
            from tqdm.std import tqdm as cls
    else:
        from tqdm.std import tqdm as cls
    return cls(
        total=total,
        initial=initial,
        desc=desc,
        unit="run",
        disable=not enabled,
        file=sys.stderr,
        leave=True,
        dynamic_ncols=True,
    )

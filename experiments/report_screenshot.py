"""Open a report in headless Chromium: its rendered DOM, and a screenshot for people.

Run as a script, it writes the flagship's report and its screenshot for the README:

    python experiments/report_screenshot.py            # docs/img/report.png

The test suite uses :func:`dump_dom` to check that every figure is drawn with no
console error. The flags keep Chromium off the network (the report needs none).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]

RENDER_BUDGET_MS = 10_000
"""Virtual time the page gets before the DOM is read: plotly draws well within it."""


def find_chromium() -> str | None:
    """The Chromium executable on PATH (Debian's ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(extra: list[str], page: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium is not installed")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                chromium,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={RENDER_BUDGET_MS}",
                *extra,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )


def dump_dom(page: Path, timeout: float = 120.0) -> str:
    """The page's DOM after its scripts ran (``--dump-dom``)."""
    return _run(["--dump-dom"], page, timeout).stdout


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2600) -> Path:
    """A PNG of the top ``height`` pixels of the page."""
    png.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--screenshot={png.resolve()}", f"--window-size={width},{height}"], page, 120.0)
    return png


def main() -> None:
    import simperf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "models" / "web_stack.yaml"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "report.png"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = simperf.run(simperf.load(args.spec), seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        result.to_html(str(page))
        print(screenshot(page, Path(args.out)))


if __name__ == "__main__":
    main()

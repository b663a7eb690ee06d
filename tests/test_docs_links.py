"""Every relative link in the README and docs/ resolves: the file exists, and so does the
heading a ``#fragment`` names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)", re.S)


def _without_code(text: str) -> str:
    """The text without fenced code blocks and inline code (their brackets are not links)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = _without_code(path.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"(?m)^#{1,6} (.+)$", text)}


def links(path: Path) -> list[str]:
    return LINK.findall(_without_code(path.read_text(encoding="utf-8")))


def test_links_are_found() -> None:
    readme = links(ROOT / "README.md")
    assert "docs/img/report.png" in readme and "docs/index.md" in readme


def test_slug_follows_github() -> None:
    assert slug('"Proper indexing reduces I/O by 30%"') == "proper-indexing-reduces-io-by-30"
    assert slug("When does a CDN cut latency by 50%?") == "when-does-a-cdn-cut-latency-by-50"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page: Path) -> None:
    broken = []
    for link in links(page):
        if re.match(r"[a-z]+:", link):
            continue  # absolute URLs are not checked (the suite runs offline)
        target, _, fragment = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{link}: no such file")
        elif fragment and path.suffix == ".md" and fragment not in anchors(path):
            broken.append(f"{link}: no heading #{fragment} in {path.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)

"""Every relative link in the README and docs/ resolves: the file exists, and so does the
heading a ``#fragment`` names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\((?:<([^>\n]+)>|([^)\s]+))(?:\s+\"[^\"]*\")?\)", re.S)
"""An inline link or image: its target bare or in angle brackets, with an optional title."""


def _without_fences(text: str) -> str:
    """The text without fenced code blocks (their lines are neither links nor headings)."""
    return re.sub(r"```.*?```", "", text, flags=re.S)


def _without_code(text: str) -> str:
    """The text without fenced code blocks and inline code (their brackets are not links)."""
    return re.sub(r"`[^`\n]*`", "", _without_fences(text))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: inline code keeps its text, a link
    its text alone, closing hashes drop, and a repeated anchor gets ``-1``, ``-2``, ..."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    text = _without_fences(path.read_text(encoding="utf-8"))
    for m in re.finditer(r"(?m)^#{1,6} (.+?)(?: +#+)? *$", text):
        heading = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1)).replace("`", "")
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    text = _without_code(path.read_text(encoding="utf-8"))
    return [bracketed or bare for bracketed, bare in LINK.findall(text)]


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


def test_anchors_follow_github(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n## The `expired` count\n## [Speed](other.md) ##\n## Speed\n"
        "```\n## not a heading\n```\n",
        encoding="utf-8",
    )
    # inline code and a link's text stay in the anchor; a repeated heading is numbered
    assert anchors(page) == {"title", "the-expired-count", "speed", "speed-1"}


def test_links_with_titles_are_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('[a](a.md "its title") and [b](<b c.md>) and `[c](c.md)`\n', encoding="utf-8")
    assert links(page) == ["a.md", "b c.md"]

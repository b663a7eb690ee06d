"""docs/results.md stays true: the headroom lines it quotes for models/ are today's."""

from __future__ import annotations

import re

from conftest import ROOT, model_result

PAGE = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
DOC = " ".join(PAGE.split())


def test_multi_region_headroom_lines_are_what_the_summary_prints() -> None:
    shown = re.search(r"```\n(headroom  web_ap workers .*?)```", PAGE, re.S)
    assert shown, "multi_region's headroom lines are missing"
    printed = model_result("multi_region").summary()
    assert shown.group(1) in printed + "\n"


def test_diurnal_peak_headroom_quoted_is_what_the_summary_prints() -> None:
    shown = re.search(
        r"The summary reads `([^`]*)` for `models/diurnal\.yaml` \(([\d.]+% busy) (from [^,]*),"
        r".*?naming the window \(`([^`]*)`\)",
        DOC,
    )
    assert shown, "diurnal's headroom quote is missing"
    headline, busy, window, under = shown.groups()
    printed = " ".join(model_result("diurnal").summary().split())
    assert headline in printed and under in printed
    assert f"{busy} at app[0] {window}" in printed  # the verdict's words

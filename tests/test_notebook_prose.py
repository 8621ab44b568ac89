"""Notebooks that teach: opened without running, each section's method text is next to its code.

The text comes from the English catalog (``tools/notebook_prose.py`` writes it into
``report-hide`` Markdown cells); these tests fail when a notebook's prose has drifted from
the catalog, or when a section of the report has no prose in the notebook.
"""

from __future__ import annotations

import json
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import notebook_prose  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TEXTS = notebook_prose.catalog()


def test_every_notebook_carries_the_catalog_prose():
    stale = [p.name for p in notebook_prose.out_of_date(NOTEBOOKS, TEXTS)]
    assert stale == [], f"prose cells differ from the catalog in {stale}: run `make prose`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_section_is_explained_before_its_code(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for before, cell in zip(cells, cells[1:], strict=False):
        key = notebook_prose._section_key("".join(cell["source"]), TEXTS) if cell["cell_type"] == "code" else None
        if key:
            assert before["cell_type"] == "markdown" and before["metadata"].get("catalog") == key, key
            assert "report-hide" in before["metadata"]["tags"]
            shown = "".join(before["source"])
            assert TEXTS[key].splitlines()[0] in shown and "{" not in shown.split("-->", 1)[1]


def test_a_catalog_change_makes_the_prose_stale(tmp_path):
    changed = {**TEXTS, "nb02.s1": TEXTS["nb02.s1"] + " Changed."}
    assert notebook_prose.out_of_date([ROOT / "notebooks" / "02_rfm_scoring.ipynb"], changed)


def test_placeholders_are_shown_by_name():
    assert notebook_prose.readable("next {days} days, {share:.0%} of {{all}}") == "next ‹days› days, ‹share› of {all}"

"""Write each notebook section's method text into the notebook, from the language catalog.

The report text lives in one place, the catalogs ``resources/i18n/en.yaml`` and ``zh.yaml``:
when a notebook runs, a code cell shows its section's text in the report language with
``say("nb02.s1", L)``. A reader who opens the notebook in JupyterLab without running it would
see only those calls. So before every code cell that opens a section (a catalog text that
starts with a Markdown heading), the notebook carries a Markdown cell with the English text
of that section, placeholders shown as ``‹name›`` (they are filled in when the notebook
runs). These cells are tagged ``report-hide`` (the report shows the catalog text in its own
language instead) and carry ``"catalog": "<key>"`` in their metadata.

They are derived, never edited by hand: change the catalog, then run ``make prose``.
``tests/test_notebook_prose.py`` fails when a notebook's prose differs from the catalog.

Usage::

    python tools/notebook_prose.py           # rewrite the prose cells of every notebook
    python tools/notebook_prose.py --check   # exit 1 and name the notebooks that are out of date
"""

from __future__ import annotations

import argparse
import json
import re
import string
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CATALOG = ROOT / "lib" / "customer_analytics" / "resources" / "i18n" / "en.yaml"
SAY = re.compile(r"""say\(\s*["']([a-z0-9_]+\.[a-z0-9_.]+)["']""")
HIDE_TAG = "report-hide"


def catalog(path: Path = CATALOG) -> dict[str, str]:
    """Every catalog text by its dotted key (``nb02.s1``)."""
    def flat(node, prefix=""):
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                yield from flat(value, name + ".")
            else:
                yield name, str(value)

    return dict(flat(yaml.safe_load(path.read_text(encoding="utf-8"))))


def readable(text: str) -> str:
    """The catalog text with each ``{placeholder}`` shown as ``‹placeholder›``."""
    parts = []
    for literal, field, _spec, _conv in string.Formatter().parse(text):
        parts.append(literal)
        if field is not None:
            parts.append(f"‹{field}›")
    return "".join(parts)


def _section_key(source: str, texts: dict[str, str]) -> str | None:
    """The first catalog key a code cell shows whose text opens a section (a Markdown heading)."""
    for key in SAY.findall(source):
        if texts.get(key, "").lstrip().startswith("#"):
            return key
    return None


def _prose_cell(key: str, text: str) -> dict:
    note = f"<!-- From the catalog, key {key}: edit resources/i18n/en.yaml, then run `make prose`. -->\n"
    lines = (note + readable(text)).splitlines(keepends=True)
    return {"cell_type": "markdown", "id": "prose-" + key.replace(".", "-").replace("_", "-"),
            "metadata": {"catalog": key, "tags": [HIDE_TAG]}, "source": lines}


def with_prose(nb: dict, texts: dict[str, str]) -> dict:
    """The notebook with one prose cell before each code cell that opens a section."""
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and "catalog" in cell.get("metadata", {}):
            continue
        if cell["cell_type"] == "code":
            key = _section_key("".join(cell["source"]), texts)
            if key:
                cells.append(_prose_cell(key, texts[key]))
        cells.append(cell)
    return {**nb, "cells": cells}


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def out_of_date(paths: list[Path], texts: dict[str, str]) -> list[Path]:
    """The notebooks whose prose cells differ from the catalog."""
    stale = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if _dump(with_prose(json.loads(text), texts)) != text:
            stale.append(path)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    texts, paths = catalog(), sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    stale = out_of_date(paths, texts)
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)}: prose cells differ from the catalog; run `make prose`")
        return 1 if stale else 0
    for path in stale:
        path.write_text(_dump(with_prose(json.loads(path.read_text(encoding="utf-8")), texts)), encoding="utf-8")
        print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

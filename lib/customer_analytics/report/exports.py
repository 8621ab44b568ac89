"""Report output: exported tables and headline figures.

Notebooks write their tables with :func:`save_table` (CSV, fixed formatting, so two
runs on the same inputs give byte-identical files) and their headline figures with
:func:`record_headlines`; the runner collects the headlines into ``run.json`` and the
index page.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

TABLES_DIR = "tables"
HEADLINES_DIR = "headlines"


#: printf format of floats in exported tables: 15 significant digits keep money exact to the
#: cent up to 10^12 and every other figure well beyond 12 digits, while hiding the last-bit noise
#: of binary floats (0.1 + 0.2 is written 0.3), so equal inputs give byte-identical files.
FLOAT_FORMAT = "%.15g"


def save_table(df: pd.DataFrame, run_dir: str | Path, name: str, index: bool = True) -> Path:
    """Write a table as ``<run_dir>/tables/<name>.csv`` for finance and downstream tools; returns the path.

    Values are written at full precision (see :data:`FLOAT_FORMAT`): money is exact to the
    cent, nothing is rounded for display. Formatting for people happens in the HTML only.
    """
    folder = Path(run_dir) / TABLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    df.to_csv(path, index=index, lineterminator="\n", float_format=FLOAT_FORMAT)
    return path


def record_headlines(run_dir: str | Path, notebook: str, **figures) -> dict:
    """Record headline figures of a notebook for the report index (``headlines/<notebook>.json``)."""
    folder = Path(run_dir) / HEADLINES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    clean = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}
    (folder / f"{notebook}.json").write_text(json.dumps(clean, indent=1, sort_keys=True, default=str) + "\n")
    return clean


def collect_headlines(run_dir: str | Path) -> dict:
    """All headline figures recorded in a run folder, keyed by notebook."""
    folder = Path(run_dir) / HEADLINES_DIR
    if not folder.exists():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}

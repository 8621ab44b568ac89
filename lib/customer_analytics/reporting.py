"""Report output: tables and headline figures; re-exports charts, formatting and publishing.

Notebooks write their tables with :func:`save_table` (CSV, fixed formatting, so two
runs on the same inputs give byte-identical files) and their headline figures with
:func:`record_headlines`; the runner collects the headlines into ``run.json`` and the
index page.

The rest of the report layer lives in modules named for what they do, and is
importable from here as before (``reporting.plot_monthly``, ``reporting.export_html``):

- :mod:`customer_analytics.charts`      plot style, the one colour palette, chart functions
- :mod:`customer_analytics.formatting`  the one table formatter for HTML (``format_table``)
- :mod:`customer_analytics.publishing`  HTML export (summary first) and the dashboard index
- :mod:`customer_analytics.narrative`   report header and executive summary
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from customer_analytics.charts import (  # noqa: F401  (re-exported)
    CJK_FONT_FILE,
    CJK_FONT_NAME,
    PALETTE,
    cjk_font_path,
    color_for,
    colors_for,
    plot_forest,
    plot_k_metrics,
    plot_matrix,
    plot_monthly,
    plot_pca,
    plot_rf_heatmaps,
    plot_rfm_distributions,
    plot_segment_shares,
    plot_snake,
    setup_plots,
)
from customer_analytics.formatting import format_table  # noqa: F401  (re-exported)
from customer_analytics.publishing import export_html, write_index  # noqa: F401  (re-exported)

TABLES_DIR = "tables"
HEADLINES_DIR = "headlines"


def fmt_table(df: pd.DataFrame, digits: int = 6) -> pd.DataFrame:
    """Round floats to ``digits`` significant figures (stable across platforms)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda v: float(f"{v:.{digits}g}") if pd.notna(v) else v)
    return out


def save_table(df: pd.DataFrame, run_dir: str | Path, name: str, index: bool = True) -> Path:
    """Write a table as ``<run_dir>/tables/<name>.csv`` with stable formatting; returns the path."""
    folder = Path(run_dir) / TABLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    fmt_table(df).to_csv(path, index=index, lineterminator="\n")
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

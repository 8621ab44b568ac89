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


#: printf format of floats in exported tables: 15 significant digits keep every figure well beyond
#: 12 digits while hiding the last-bit noise of binary floats (0.1 + 0.2 is written 0.3), so equal
#: inputs give byte-identical files.
FLOAT_FORMAT = "%.15g"

#: The money columns of every exported table (amounts in the report currency): rounded to the
#: cent (2 decimals, half to even) by :func:`save_table`, whatever table they appear in.
MONEY_COLUMNS = (
    # cleaning audit, monthly and period tables, segment summary and mix
    "revenue", "revenue_removed", "revenue_changed", "revenue_effect",
    # RFM and clustering: net revenue per customer and its mean or median per segment or cluster
    "monetary", "mean_monetary", "median_monetary",
    # CLV: predicted value per customer, its total and mean per segment, expected spend per purchase
    "clv", "total_clv", "mean_clv", "expected_spend",
    # experiment ROI: money per user and in total
    "value_per_user_treatment", "value_per_user_control", "incremental_value_per_user",
    "incremental_cost_per_user", "profit_per_user", "profit_per_user_ci_low", "profit_per_user_ci_high",
    "total_cost", "total_profit", "total_profit_ci_low", "total_profit_ci_high",
)


def round_money(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every column of :data:`MONEY_COLUMNS` it has rounded to the cent (other columns unchanged)."""
    money = [c for c in df.columns if c in MONEY_COLUMNS and pd.api.types.is_float_dtype(df[c])]
    return df.round(dict.fromkeys(money, 2)) if money else df


def save_table(df: pd.DataFrame, run_dir: str | Path, name: str, index: bool = True) -> Path:
    """Write a table as ``<run_dir>/tables/<name>.csv`` for finance and downstream tools; returns the path.

    Money columns (:data:`MONEY_COLUMNS`) are rounded to the cent; every other figure is written
    at full precision (see :data:`FLOAT_FORMAT`). Formatting for people happens in the HTML only.
    """
    folder = Path(run_dir) / TABLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    round_money(df).to_csv(path, index=index, lineterminator="\n", float_format=FLOAT_FORMAT)
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

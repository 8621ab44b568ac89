"""``customers.csv``: the one file per customer that a marketing tool imports.

Notebooks 02/03 write it; notebooks 05 to 08 each add their columns to it in place with
:func:`add_customer_columns`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def add_customer_columns(path, columns: pd.DataFrame, fallback: pd.DataFrame | None = None, *,
                         replace_prefix: str | None = None) -> pd.DataFrame:
    """Join ``columns`` (``customer_id`` and the columns to add) onto the export at ``path``, in place.

    The export is read as text (ids keep leading zeros) and joined on ``customer_id``, one row per
    customer; without the file, ``fallback`` (an activation export) is used. Columns of the same
    names, and with ``replace_prefix`` every column whose name starts with it, are replaced, so a
    rerun never repeats them. Customers without a value get empty cells.
    """
    path = Path(path)
    export = pd.read_csv(path, dtype={"customer_id": str}, keep_default_na=False) if path.exists() else fallback
    added = [c for c in columns.columns if c != "customer_id"]
    stale = [c for c in export.columns
             if c in added or (replace_prefix is not None and c.startswith(replace_prefix))]
    out = export.drop(columns=stale).merge(columns.assign(customer_id=columns["customer_id"].astype(str)),
                                           on="customer_id", how="left", validate="one_to_one")
    out.to_csv(path, index=False, lineterminator="\n")
    return out

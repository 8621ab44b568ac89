"""Profile charts: the index of each group's most distinctive traits as a heatmap.

Each function draws one chart on ``ax`` (a new figure when None) and returns the Axes; the text
comes from the catalog (``nb07.chart_*``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.models import profiles as model
from customer_analytics.report.i18n import t
from customer_analytics.report.text import profiles as text


def _axes(ax, size):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def trait_matrix(result: model.Profile, traits: pd.DataFrame, names: dict, language: str = "en") -> pd.DataFrame:
    """Index of every trait that is in some group's top traits (rows) in every group (columns)."""
    keys = traits[["attribute", "level"]].drop_duplicates()
    d = result.table.merge(keys, on=["attribute", "level"])
    d = d.assign(trait=d.apply(lambda r: text.attribute_label(r["attribute"], language)
                               + (f": {text.level_label(r['attribute'], r['level'], language)}" if r["level"] else ""),
                               axis=1), group=d["group"].map(lambda g: names.get(g, g)))
    m = d.pivot_table(index="trait", columns="group", values="index", aggfunc="first", sort=False)
    return m[[names.get(g, g) for g in dict.fromkeys(result.table["group"]) if names.get(g, g) in m.columns]]


def plot_trait_index(result: model.Profile, ax=None, *, traits: pd.DataFrame, names: dict, language: str = "en"):
    """Heatmap of the index (100 = as all customers) of the top traits, on a log colour scale centred on 100."""
    m = trait_matrix(result, traits, names, language)
    ax = _axes(ax, (min(2 + 1.1 * len(m.columns), 13), 0.45 * len(m) + 2))
    values = np.log2(np.clip(m.to_numpy(dtype=float), 12.5, 800) / 100)
    ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap="RdBu_r", vmin=-2, vmax=2, interpolation="nearest")
    ax.grid(False)
    ax.set_yticks(np.arange(len(m)), m.index)
    ax.set_xticks(np.arange(len(m.columns)), m.columns, rotation=30, ha="right")
    for (i, j), v in np.ndenumerate(m.to_numpy(dtype=float)):
        if np.isfinite(v):  # white on the dark cells (beyond 2.3x or below 0.43x)
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(values[i, j]) > 1.2 else "black")
    ax.set(title=t("nb07.chart_title", language))
    ax.figure.tight_layout()
    return ax

"""Charts of the A/B(/n) evaluation (notebook 04)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.report.charts import color_for, plain_axis
from customer_analytics.report.formatting import is_money_name
from customer_analytics.report.i18n import t


def _money_ticks(axis, currency: str) -> None:
    """Tick labels as signed money: '-£5', '+£10' (a ``$`` escaped so it is never read as mathtext)."""
    from matplotlib.ticker import FuncFormatter

    symbol = currency.replace("$", r"\$")
    axis.set_major_formatter(FuncFormatter(
        lambda v, _: f"{'-' if v < 0 else '+' if v > 0 else ''}{symbol}{abs(v):,.{0 if abs(v) >= 10 or v == 0 else 2}f}"))


def plot_segment_forest(segments: pd.DataFrame, metric: str, alpha: float = 0.05, language: str = "en", *,
                        currency: str = ""):
    """Forest plot of per-segment differences, grouped by segment column, one colour per arm (legend).

    Rows are labelled 'column = segment · arm'; skipped (too small) cells are left out; rates are
    shown in percentage points; a money metric (by its name, see
    :func:`customer_analytics.report.formatting.is_money_name`) in ``currency``, on the axis label
    and every tick. Title and axis in ``language``; colours from the one palette
    (:func:`customer_analytics.report.charts.color_for`).
    """
    import matplotlib.pyplot as plt

    r = segments[(segments["metric"] == metric) & (segments["status"] == "ok")]
    r = r.sort_values(["segment_column", "segment", "arm"]).reset_index(drop=True)
    binary = bool(len(r)) and r["kind"].iloc[0] == "binary"
    scale = 100 if binary else 1
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(r) + 1.8))
    y = np.arange(len(r))[::-1]
    for arm in sorted(r["arm"].unique()):
        m = (r["arm"] == arm).to_numpy()
        g = r[m]
        ax.errorbar(g["diff"] * scale, y[m], xerr=[(g["diff"] - g["ci_low"]) * scale, (g["ci_high"] - g["diff"]) * scale],
                    fmt="o", color=color_for(arm), ecolor=color_for(arm), alpha=0.9, capsize=3, label=str(arm))
    for i in range(1, len(r)):  # a line between segment columns
        if r["segment_column"].iloc[i] != r["segment_column"].iloc[i - 1]:
            ax.axhline(y[i] + 0.5, color="#ccc", lw=1)
    ax.axvline(0, color="grey", ls="--")
    ax.set_yticks(y, [f"{c} = {s} · {a}" for c, s, a in zip(r["segment_column"], r["segment"], r["arm"], strict=True)])
    plain_axis(ax.xaxis)
    money = not binary and bool(currency) and is_money_name(metric)
    if money:
        _money_ticks(ax.xaxis, currency)
    unit = t("nb04.chart_unit_money", language, currency=currency.replace("$", r"\$")) if money else \
        t("nb04.chart_unit_pp" if binary else "nb04.chart_unit_metric", language)
    ax.set(title=t("nb04.chart_forest_title", language, metric=metric),
           xlabel=t("nb04.chart_forest_x", language, unit=unit, level=f"{(1 - alpha) * 100:g}%"))
    if len(r):
        ax.legend(title=t("nb04.chart_arm", language), fontsize=8, loc="best")
    fig.tight_layout()
    return fig

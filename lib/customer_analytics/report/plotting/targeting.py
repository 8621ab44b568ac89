"""Targeting charts: the Qini and uplift curves of each offer with the random line, and the profit of the top k%.

Each function draws one chart on ``ax`` (a new figure when None) and returns the Axes; the text
comes from the catalog (``nb08.chart_*``, model names ``nb08.model.*``).
"""

from __future__ import annotations

import numpy as np

from customer_analytics.models.uplift import TargetingResult, learners, metrics
from customer_analytics.report.charts import PALETTE, plain_axis
from customer_analytics.report.i18n import t


def _axes(ax, size=(7.5, 4.2)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def _pair(result: TargetingResult, arm: str):
    h = result.holdout
    keep = h["arm"].isin([arm, *[a for a in h["arm"].unique() if a not in result.arms]])
    return h[keep], (h.loc[keep, "arm"] == arm).astype(int).to_numpy()


def plot_curve(result: TargetingResult, arm: str, ax=None, *, kind: str = "qini", language: str = "en"):
    """The Qini (``kind="qini"``) or uplift curve of both models for ``arm``, with the random line."""
    ax = _axes(ax)
    h, treated = _pair(result, arm)
    curve = metrics.qini_curve if kind == "qini" else metrics.uplift_curve
    for i, m in enumerate(learners.MODELS):
        x, v = curve(h["outcome"], h[f"{m}_{arm}"], treated)
        ax.plot(x, v, color=PALETTE[i], lw=2.2 if m == result.model else 1.4, label=t(f"nb08.model.{m}", language))
    x, v = curve(h["outcome"], np.zeros(len(h)), treated)
    ax.plot([0, x[-1]], [0, v[-1]], color="grey", ls="--", lw=1.2, label=t("nb08.chart_random", language))
    ax.set(title=t(f"nb08.chart_{kind}_title", language, arm=arm), xlabel=t("nb08.chart_users", language),
           ylabel=t(f"nb08.chart_{kind}_y", language))
    plain_axis(ax.yaxis)
    ax.legend(frameon=False, fontsize=9)
    return ax


def plot_profit(result: TargetingResult, arm: str, ax=None, *, language: str = "en", currency: str = ""):
    """Measured incremental profit of sending ``arm`` to the top k%, k in 5% steps; the dashed line: everyone."""
    ax = _axes(ax)
    c = result.curves[arm]
    ax.plot(c["share"] * 100, c["total_profit"], marker="o", ms=3.5, color=PALETTE[0],
            label=t(f"nb08.model.{result.model}", language))
    everyone = c["total_profit"].iloc[-1]
    ax.axhline(everyone, color="grey", ls="--", lw=1.2, label=t("nb08.model.everyone", language))
    ax.axhline(0, color="black", lw=0.6)
    best = result.best.get(arm)
    if best is not None:
        ax.plot([best["share"] * 100], [best["total_profit"]], marker="*", ms=13, color=PALETTE[1])
    ax.set(title=t("nb08.chart_profit_title", language, arm=arm), xlabel=t("nb08.chart_share", language),
           ylabel=t("nb08.chart_profit", language, currency=currency))
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0f}%")
    plain_axis(ax.yaxis)
    ax.legend(frameon=False, fontsize=9)
    return ax

"""CLV and churn charts: holdout purchases by frequency, weekly tracking, the prediction histograms."""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.report.charts import SERIES, plain_axis
from customer_analytics.report.i18n import t


def plot_frequency_buckets(by_frequency: pd.DataFrame, holdout_days: int, language: str = "en"):
    """Mean holdout purchases by calibration frequency, actual and predicted (bars)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    x = np.arange(len(by_frequency))
    ax.bar(x - 0.2, by_frequency["actual"], 0.4, label=t("nb05.chart_actual", language), color=SERIES["revenue"])
    ax.bar(x + 0.2, by_frequency["predicted"], 0.4, label=t("nb05.chart_predicted", language),
           color=SERIES["orders"])
    ax.set_xticks(x, by_frequency["frequency"])
    ax.set(xlabel=t("nb05.chart_buckets_x", language),
           ylabel=t("nb05.chart_buckets_y", language, days=holdout_days),
           title=t("nb05.chart_buckets_title", language), ylim=(0, None))
    plain_axis(ax.yaxis)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def plot_tracking(tr: pd.DataFrame, calibration_end: pd.Timestamp, language: str = "en"):
    """Weekly cumulative repeat purchases, actual and predicted, holdout start marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(tr["week_end"], tr["actual"], label=t("nb05.chart_actual", language), color=SERIES["revenue"])
    ax.plot(tr["week_end"], tr["predicted"], label=t("nb05.chart_predicted", language), color=SERIES["orders"],
            ls="--")
    ax.axvline(calibration_end, color=SERIES["neutral"], ls=":", label=t("nb05.chart_holdout_start", language))
    ax.set(title=t("nb05.chart_tracking_title", language), ylabel=t("nb05.chart_tracking_y", language),
           xlabel=t("nb05.chart_week", language), ylim=(0, None))
    plain_axis(ax.yaxis)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def plot_predictions(pred: pd.DataFrame, horizon_days: int, clv_months: int = 12, language: str = "en",
                     *, currency: str = ""):
    """Histograms of P(alive), churn risk (percent) and CLV (log scale)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    ylab = t("nb05.chart_customers", language)
    bins = np.linspace(0, 1, 41)
    axes[0].hist(pred["p_alive"], bins=bins, color=SERIES["customers"])
    axes[0].set(title=t("nb05.chart_p_alive_title", language), xlabel=t("nb05.chart_probability", language),
                ylabel=ylab)
    axes[1].hist(pred["churn_risk"], bins=bins, color=SERIES["lapsed"])
    axes[1].set(title=t("nb05.chart_churn_title", language, days=horizon_days),
                xlabel=t("nb05.chart_probability", language), ylabel=ylab)
    for a in axes[:2]:
        plain_axis(a.xaxis, percent=True)
    v = pred["clv"].clip(lower=0.01)
    axes[2].hist(v, bins=np.geomspace(v.min(), v.max() * 1.001 + 0.01, 40), color=SERIES["revenue"])
    axes[2].set(title=t("nb05.chart_clv_title", language, months=clv_months), xscale="log", ylabel=ylab,
                xlabel=t("nb05.chart_clv_x", language, currency=currency))
    plain_axis(axes[2].xaxis)
    for a in axes:
        plain_axis(a.yaxis)
    fig.tight_layout()
    return fig

"""Lifecycle charts: cohort retention heatmaps and curves, growth accounting, quick ratio and stage flows.

Each function draws one chart on ``ax`` (a new figure when None) and returns the Axes; the
text comes from the catalog (``nb06.chart_*``), stage names from ``nb06.stage.*``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from customer_analytics.report.charts import SERIES, plain_axis
from customer_analytics.report.i18n import t

MAX_COHORTS = 24  # the heatmaps show at most the latest this many cohorts
#: One colour per lifecycle stage in every chart: greens for the good stages, warm for at risk, greys for the gone.
STAGE_COLORS = {"new": "#1b9e77", "reactivated": "#66a61e", "active": "#4c72b0", "at_risk": "#dd8452",
                "dormant": "#937860", "lost": "#b3b3b3"}


def _axes(ax, size):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def cohort_matrix(cohorts: pd.DataFrame, value: str = "share") -> pd.DataFrame:
    """The long cohort table as cohorts x months since (the latest :data:`MAX_COHORTS`); future cells NaN."""
    m = cohorts.pivot(index="cohort", columns="months_since", values=value)
    return m.iloc[-MAX_COHORTS:].dropna(axis=1, how="all")


def plot_cohort_heatmap(cohorts: pd.DataFrame, ax=None, *, value: str = "share", language: str = "en"):
    """Heatmap of customer retention (``value="share"``) or revenue retention (``"revenue_share"``).

    Rows are cohorts (first-purchase months), columns months since the first purchase; the months
    that have not happened yet stay blank. Colours are capped at the 95th percentile of the cells
    after month 0, so that month 0 (always 100%) does not wash out the rest.
    """
    m = cohort_matrix(cohorts, value)
    ax = _axes(ax, (11, 0.28 * len(m) + 2))
    later = m.iloc[:, 1:].to_numpy(dtype=float)
    top = float(np.nanquantile(later, 0.95)) if np.isfinite(later).any() else 1.0
    data = np.ma.masked_invalid(m.to_numpy(dtype=float))
    image = ax.imshow(data, aspect="auto", cmap="Blues", vmin=0, vmax=max(top, 0.01), interpolation="nearest")
    ax.grid(False)
    ax.set_yticks(np.arange(len(m)), m.index)
    step = max(1, len(m.columns) // 12)
    ax.set_xticks(np.arange(0, len(m.columns), step), m.columns[::step])
    key = "nb06.chart_cohort_customers" if value == "share" else "nb06.chart_cohort_revenue"
    ax.set(title=t(key, language), xlabel=t("nb06.chart_months_since", language),
           ylabel=t("nb06.chart_cohort", language))
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    plain_axis(bar.ax.yaxis, percent=True)
    ax.figure.tight_layout()
    return ax


def plot_retention_curves(cohorts: pd.DataFrame, ax=None, *, latest: int = 4, language: str = "en"):
    """Retention of the latest ``latest`` cohorts with a month after the first, against the mean of all cohorts."""
    ax = _axes(ax, (8, 3.6))
    m = cohort_matrix(cohorts, "share")
    ax.plot(m.columns, m.mean(axis=0), color=SERIES["neutral"], lw=3, label=t("nb06.chart_mean", language))
    with_more = m[m.notna().sum(axis=1) > 1].iloc[-latest:]
    for cohort in with_more.index:  # a handful of lines, one per cohort
        ax.plot(with_more.columns, with_more.loc[cohort].to_numpy(), marker="o", ms=3, label=str(cohort))
    ax.set(title=t("nb06.chart_curves_title", language), xlabel=t("nb06.chart_months_since", language),
           ylabel=t("nb06.chart_share", language), ylim=(0, None))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole months
    plain_axis(ax.yaxis, percent=True)
    ax.legend(loc="upper right", fontsize=8)
    ax.figure.tight_layout()
    return ax


def _month_ticks(ax, x: np.ndarray, months: pd.Series) -> None:
    """At most about 12 month labels on the x axis, slanted."""
    step = max(1, len(months) // 12)
    ax.set_xticks(x[::step], months.iloc[::step], rotation=45, ha="right")


def plot_growth(growth: pd.DataFrame, ax=None, *, language: str = "en"):
    """Customers gained (new and resurrected, above zero) and lost (churned, below zero) per month."""
    ax = _axes(ax, (10, 3.6))
    x = np.arange(len(growth))
    ax.bar(x, growth["new"], color=SERIES["new"], label=t("nb06.col.new", language))
    ax.bar(x, growth["resurrected"], bottom=growth["new"], color=SERIES["returning"],
           label=t("nb06.col.resurrected", language))
    ax.bar(x, -growth["churned"], color=SERIES["lapsed"], label=t("nb06.col.churned", language))
    ax.axhline(0, color="black", lw=0.8)
    _month_ticks(ax, x, growth["month"])
    ax.set(title=t("nb06.chart_growth_title", language), ylabel=t("nb06.chart_customers", language))
    plain_axis(ax.yaxis)
    ax.legend(loc="upper left", fontsize=8)
    ax.figure.tight_layout()
    return ax


def plot_quick_ratio(growth: pd.DataFrame, ax=None, *, language: str = "en"):
    """The quick ratio per month with the line at 1 (the base neither grows nor shrinks)."""
    ax = _axes(ax, (10, 3.0))
    x = np.arange(len(growth))
    ax.plot(x, growth["quick_ratio"], marker="o", ms=3, color=SERIES["revenue"], label=t("nb06.col.quick_ratio", language))
    ax.axhline(1, color=SERIES["neutral"], ls="--", label=t("nb06.chart_quick_line", language))
    _month_ticks(ax, x, growth["month"])
    ax.set(title=t("nb06.chart_quick_title", language), ylim=(0, None))
    ax.legend(loc="upper right", fontsize=8)
    ax.figure.tight_layout()
    return ax


def plot_flows(flows: pd.DataFrame, ax=None, *, periods: tuple[str, str] = ("", ""), language: str = "en"):
    """The stage flow matrix (last month's stage in rows, this month's in columns) as an annotated heatmap."""
    import seaborn as sns

    ax = _axes(ax, (8, 4.6))
    names = {k: t(f"nb06.stage.{k}", language) for k in [*flows.index, *flows.columns]}
    m = flows.rename(index=names, columns=names)
    sns.heatmap(m, annot=True, fmt=",d", cmap="Blues", cbar=False, ax=ax)
    ax.set(title=t("nb06.chart_flows_title", language, start=periods[0], end=periods[1]),
           xlabel=t("nb06.chart_stage_now", language), ylabel=t("nb06.chart_stage_last", language))
    ax.figure.tight_layout()
    return ax

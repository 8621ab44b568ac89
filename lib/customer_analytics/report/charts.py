"""Report figures: plot style (with a CJK font), one colour palette, and the chart functions.

Every chart has a title, axes named in words with units and a legend where colours
carry meaning. Numbers on axes are plain (thousands separators, never an offset
exponent such as ``1e6``). Each segment or cluster keeps one colour in every chart
and every month: :func:`color_for` maps its stable key (``champions``, ``cluster 2``)
to :data:`PALETTE`, whatever language the label is shown in.

Each plotting function returns the matplotlib Figure; the notebook shows it. Text
shown on a chart comes from the caller or from the language catalog
(:func:`customer_analytics.report.i18n.t`).
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import matplotlib
import pandas as pd

from customer_analytics.report.i18n import t
from customer_analytics.report.text import rfm as rfm_text

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
CJK_FONT_NAME = "Noto Sans CJK SC"

#: The one qualitative palette of the project (colour-blind friendly first, then muted).
PALETTE = ["#1b9e77", "#4c72b0", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
           "#d95f02", "#c44e52", "#8172b3", "#937860", "#64b5cd", "#666666", "#b3b3b3",
           "#8c564b", "#17becf"]
#: Segment keys in a fixed order: a segment's colour is the palette entry at its position.
SEGMENT_KEYS = ["champions", "loyal_customers", "potential_loyalist", "new_customers", "promising",
                "need_attention", "about_to_sleep", "at_risk", "cant_lose_them", "hibernating", "lost",
                "new_this_period", "no_longer_active"]
ZH8_KEYS = ["important_value", "important_development", "important_retention", "important_winback",
            "general_value", "general_development", "general_retention", "general_winback"]
#: Main series colours for charts without segments.
SERIES = {"revenue": "#4c72b0", "orders": "#dd8452", "customers": "#55a868", "new": "#1b9e77",
          "returning": "#4c72b0", "lapsed": "#c44e52", "neutral": "#999999"}


def color_for(key) -> str:
    """The colour of a segment key, a cluster id or any other category, the same in every chart.

    Known segment keys (en11 and zh8) and cluster ids 0-15 have fixed positions in
    :data:`PALETTE`; a segment *label* in English or Chinese maps to its key first;
    anything else gets a colour from a hash of its text (stable across runs).
    """
    k = str(key)
    if k not in SEGMENT_KEYS and k not in ZH8_KEYS:
        reverse = {v: kk for lang in ("en", "zh") for kk, v in rfm_text.label_table(lang).items()}
        k = reverse.get(k, k)
    if k in SEGMENT_KEYS:
        return PALETTE[SEGMENT_KEYS.index(k) % len(PALETTE)]
    if k in ZH8_KEYS:
        return PALETTE[ZH8_KEYS.index(k) % len(PALETTE)]
    digits = k.removeprefix("cluster").strip()
    if digits.isdigit():
        return PALETTE[int(digits) % len(PALETTE)]
    return PALETTE[int(hashlib.sha256(k.encode()).hexdigest(), 16) % len(PALETTE)]


def colors_for(keys) -> list[str]:
    """:func:`color_for` of each key, in order."""
    return [color_for(k) for k in keys]


def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK SC font installed with the ``mplfonts`` package.

    Raises
    ------
    FileNotFoundError
        If the package or the font file is missing (run ``make env``).
    """
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("The mplfonts package is not installed; run `make env`.")
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / CJK_FONT_FILE
    if not path.exists():
        raise FileNotFoundError(f"CJK font not found at {path}; reinstall with `make env`.")
    return path


def setup_plots(language: str = "en") -> None:
    """Seaborn theme for report figures; registers the CJK font so Chinese labels render.

    The CJK font is added to matplotlib's font list and placed after DejaVu Sans,
    so Latin text keeps its usual look and Chinese glyphs fall back to Noto Sans CJK.
    Offset exponents and scientific notation on axes are switched off.
    """
    import seaborn as sns
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(cjk_font_path()))
    sns.set_theme(style="whitegrid", context="notebook")
    # a list of families: matplotlib falls back glyph by glyph from the first to the second
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", CJK_FONT_NAME]
    matplotlib.rcParams["axes.unicode_minus"] = False
    matplotlib.rcParams["axes.formatter.useoffset"] = False
    matplotlib.rcParams["axes.formatter.limits"] = (-9, 12)
    matplotlib.rcParams["figure.dpi"] = 90
    matplotlib.rcParams["figure.figsize"] = (8, 4)


def plain_axis(axis, percent: bool = False, *, log: bool = False) -> None:
    """Tick labels with thousands separators (or as percentages of 1), never an offset exponent.

    On a log axis (``log=True``) the labelled ticks are 1, 2, 5, 10, 20, 50, ... and the minor
    ticks are unlabelled.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if log:  # 0.5, 1, 2, 5, 10, 20, ...: small ticks with just the decimals they need
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_minor_formatter(NullFormatter())
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 or v == 0 else f"{v:g}"))
    elif percent:
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    else:
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 or v == int(v)
                                               else f"{v:,.2f}"))


def drop_empty(matrix: pd.DataFrame) -> pd.DataFrame:
    """A matrix without its all-zero (or all-missing) rows and columns."""
    m = matrix.fillna(0)
    return matrix.loc[(m != 0).any(axis=1), (m != 0).any(axis=0)]


# ------------------------------------------------------------------ figures


def plot_monthly(monthly: pd.DataFrame, title: str | None = None, language: str = "en",
                 currency: str = ""):
    """Two panels sharing the month axis: revenue (bars) and orders (line), both from zero."""
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    x = monthly.index.astype(str)
    ax.bar(x, monthly["revenue"], color=SERIES["revenue"], label=t("chart.revenue", language))
    ax.set(ylabel=t("chart.revenue_unit", language, currency=currency), ylim=(0, None),
           title=title or t("chart.monthly_title", language))
    ax2.plot(x, monthly["orders"], color=SERIES["orders"], marker="o", label=t("chart.orders", language))
    ax2.set(ylabel=t("chart.orders_unit", language), xlabel=t("chart.month", language), ylim=(0, None))
    for a in (ax, ax2):
        plain_axis(a.yaxis)
        a.legend(loc="upper left")
    ax2.tick_params(axis="x", rotation=90)
    fig.tight_layout()
    return fig


def plot_rfm_distributions(scored: pd.DataFrame, language: str = "en", currency: str = ""):
    """Histograms of recency (days), frequency (orders, log count scale) and monetary (log value)."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    ylab = t("chart.customers_unit", language)
    axes[0].hist(scored["recency_days"], bins=40, color=SERIES["revenue"])
    axes[0].set(title=t("chart.recency_title", language), xlabel=t("chart.days", language), ylabel=ylab)
    axes[1].hist(scored["frequency"], bins=np.arange(0.5, scored["frequency"].quantile(0.99) + 1.5),
                 color=SERIES["customers"])
    axes[1].set(title=t("chart.frequency_title", language), xlabel=t("chart.orders_unit", language),
                ylabel=t("chart.customers_log", language), yscale="log")
    m = scored["monetary"].clip(lower=0.01)
    axes[2].hist(m, bins=np.geomspace(m.min(), m.max() * 1.001, 40), color=SERIES["lapsed"])
    axes[2].set(title=t("chart.monetary_title", language), xscale="log", ylabel=ylab,
                xlabel=t("chart.revenue_unit_log", language, currency=currency))
    for a in axes:
        plain_axis(a.yaxis)
    plain_axis(axes[2].xaxis)
    fig.tight_layout()
    return fig


def plot_rf_heatmaps(scored: pd.DataFrame, language: str = "en", currency: str = ""):
    """R x F score grids: customer counts and mean monetary value (empty rows/columns dropped)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    counts = drop_empty(pd.crosstab(scored["r_score"], scored["f_score"]).sort_index(ascending=False))
    money = scored.pivot_table(index="r_score", columns="f_score", values="monetary", aggfunc="mean")
    money = money.sort_index(ascending=False).loc[counts.index, counts.columns]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    sns.heatmap(counts, annot=True, fmt=",d", cmap="Blues", ax=axes[0], cbar=False)
    xl, yl = t("chart.f_score", language), t("chart.r_score", language)
    axes[0].set(title=t("chart.rf_counts_title", language), xlabel=xl, ylabel=yl)
    sns.heatmap(money, annot=True, fmt=",.0f", cmap="Reds", ax=axes[1], cbar=False)
    axes[1].set(title=t("chart.rf_money_title", language, currency=currency), xlabel=xl, ylabel=yl)
    fig.tight_layout()
    return fig


def plot_segment_shares(summary: pd.DataFrame, title: str | None = None, language: str = "en"):
    """Horizontal bars: each segment's share of customers next to its share of revenue."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.45 * len(summary) + 1.4))
    summary[["share", "revenue_share"]].iloc[::-1].plot.barh(ax=ax, color=[SERIES["customers"], SERIES["revenue"]])
    ax.set(title=title or t("chart.shares_title", language), xlabel=t("chart.share_pct", language), ylabel="")
    plain_axis(ax.xaxis, percent=True)
    ax.legend([t("chart.customers", language), t("chart.revenue", language)], loc="lower right")
    fig.tight_layout()
    return fig


def plot_matrix(matrix: pd.DataFrame, title: str, fmt: str = ",d", language: str = "en",
                *, xlabel: str | None = None, ylabel: str | None = None, shape_of: pd.DataFrame | None = None):
    """Annotated heatmap of a matrix (migration counts or percentages); all-zero rows/columns dropped.

    With ``shape_of`` (the counts behind a percentage matrix) the rows and columns kept are those
    of ``shape_of``, so that the counts and the percentages show the same segments even where a
    small count rounds to 0%.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    kept = drop_empty(matrix if shape_of is None else shape_of)
    m = matrix.loc[kept.index, kept.columns]
    fig, ax = plt.subplots(figsize=(0.8 * max(m.shape[1], 1) + 3, 0.5 * max(m.shape[0], 1) + 2))
    sns.heatmap(m, annot=True, fmt=fmt, cmap="Blues", cbar=False, ax=ax)
    ax.set(title=title, xlabel=xlabel or t("chart.this_period", language),
           ylabel=ylabel or t("chart.previous_period", language))
    fig.tight_layout()
    return fig

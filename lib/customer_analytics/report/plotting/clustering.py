"""Charts of the clustering report: the k search, the cluster profiles and the PCA map.

Text comes from the catalog (``nb03.chart.*``) and :mod:`customer_analytics.report.text.clustering`;
colours from the one palette (:func:`customer_analytics.report.charts.color_for`, ``SERIES``).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from customer_analytics.models.clustering import BASE_FEATURES, KChoice, seeded_sample
from customer_analytics.report.charts import SERIES, color_for, plain_axis
from customer_analytics.report.i18n import t
from customer_analytics.report.text.clustering import (
    BETTER,
    FEATURE_WORDS,
    _check_language,
    median_words,
    percentile,
    recency_days,
)


def plot_k_choice(choice: KChoice, language: str = "en", fits: int = 20):
    """Silhouette, stability and smallest-cluster share against k: the bar, and the chosen k marked.

    ``fits`` is the number of refits behind the stability figure (named in the middle panel's title).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    def c(key, **v):
        return t(f"nb03.chart.{key}", language, **v)

    tb = choice.table
    ok = tb["meets_bar"].to_numpy()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    panels = [("silhouette", c("k_silhouette"), c("y_silhouette"), None),
              ("stability_ari", c("k_ari", fits=fits), c("y_ari"), choice.stable_ari),
              ("min_share", c("k_share"), c("y_share"), choice.min_share)]
    for ax, (col, title, ylabel, bar) in zip(axes, panels, strict=True):
        ax.plot(tb.index, tb[col], color=SERIES["neutral"], zorder=1)
        ax.scatter(tb.index[ok], tb.loc[ok, col], color=SERIES["revenue"], zorder=2, label=c("meets"))
        ax.scatter(tb.index[~ok], tb.loc[~ok, col], color=SERIES["lapsed"], marker="x", zorder=2, label=c("fails"))
        ax.scatter([choice.k], [tb.loc[choice.k, col]], s=180, facecolors="none", edgecolors="black", lw=1.5,
                   zorder=3, label=c("chosen", k=choice.k))
        if bar is not None:
            ax.axhline(bar, color=SERIES["lapsed"], ls="--", lw=1)
        ax.set(title=title, xlabel=c("k_x"), ylabel=ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.get_major_formatter().set_useOffset(False)
    axes[1].set_ylim(top=1.02)
    axes[2].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes[0].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def plot_profile(levels: pd.DataFrame, cut: pd.DataFrame, names: dict[int, str], *, language: str = "en",
                 currency: str = ""):
    """Each cluster's median days since last purchase, orders and spend, against all customers' cut-offs.

    Each cluster keeps its colour from the project palette (:func:`customer_analytics.report.charts.color_for`).
    """
    import matplotlib.pyplot as plt

    _check_language(language)
    w = FEATURE_WORDS[language]
    ids = list(levels.index)
    labels = [f"{int(c)}: {names.get(int(c), c)}" for c in ids]
    fig, axes = plt.subplots(1, 3, figsize=(13, 0.45 * len(ids) + 2.2), sharey=True)
    q_low, q_high = percentile(cut.attrs.get("q_low", 0.25), language), percentile(cut.attrs.get("q_high", 0.75), language)
    for ax, col in zip(axes, BASE_FEATURES, strict=True):
        y = np.arange(len(ids))[::-1]
        ax.barh(y, levels[f"median_{col}"], color=[color_for(int(c)) for c in ids])
        ax.axvline(cut.loc[col, "low"], color="#555", ls="--", lw=1)
        ax.axvline(cut.loc[col, "high"], color="#555", ls=":", lw=1.2)
        if col != "recency_days":
            ax.set_xscale("log")
        plain_axis(ax.xaxis, log=col != "recency_days")
        xlabel = median_words(col, language)
        if col == "monetary" and currency:
            xlabel = t("nb03.chart.spend_unit", language, label=xlabel, currency=currency)
        ax.set(title=f"{w[col]}\n({BETTER[language][col]})", xlabel=xlabel)
        ax.set_yticks(y, labels)
    axes[0].tick_params(axis="y", labelsize=9)
    fig.suptitle(t("nb03.chart.profile_title", language), y=1.0)
    fig.text(0.01, -0.02, t("nb03.chart.profile_note", language, q_low=q_low, q_high=q_high, **recency_days(cut)),
             fontsize=8.5, ha="left", va="top", wrap=True)
    fig.tight_layout()
    return fig


def plot_pca(x: pd.DataFrame, labels, names: dict[int, str], seed: int = 42, *, sample: int = 3000,
             language: str = "en"):
    """2-D PCA map of the scaled features for a seeded sample of customers, coloured and labelled by cluster name."""
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    idx = seeded_sample(len(x), sample, rng)
    z = PCA(n_components=2, random_state=seed).fit_transform(StandardScaler().fit_transform(x.to_numpy()[idx]))
    fig, ax = plt.subplots(figsize=(8, 4.8))
    lab = np.asarray(labels)[idx]
    for c in sorted(set(lab)):
        ax.scatter(z[lab == c, 0], z[lab == c, 1], s=6, alpha=0.6, color=color_for(int(c)),
                   label=f"{int(c)}: {names.get(int(c), 'noise')}")
    # the axis label is wrapped so that it stays beside the axes, below the title
    ax.set(title=t("nb03.chart.pca_title", language, n=f"{len(idx):,}"),
           xlabel=t("nb03.chart.pc1", language), ylabel=textwrap.fill(t("nb03.chart.pc2", language), 30))
    for axis in (ax.xaxis, ax.yaxis):
        axis.get_major_formatter().set_useOffset(False)
    ax.legend(title=t("nb03.chart.cluster", language), markerscale=3, fontsize=8, loc="center left",
              bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig

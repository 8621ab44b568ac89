"""Where each cluster sits among all customers: the naming cut-offs and each cluster's levels (codes).

Recency is named against fixed day counts, the same as the RFM recency bands: *recent* (low) when
the cluster's median days since the last purchase is at most 90, *lapsed* (high) when it is more
than 180, *fading* in between (``clustering.name_recency_days``), so a name means the same on any data
set. F and M are *low* when the cluster's median is at or below the 25th percentile of **all
customers**, *high* when at or above the 75th percentile, *mid* in between (:func:`cutoffs`,
:func:`name_levels`). The names in words are written from these levels by
:func:`customer_analytics.report.text.clustering.name_clusters`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.models.clustering import BASE_FEATURES

LEVELS = ("low", "mid", "high")  # where a cluster median sits among all customers' values
#: Default ``clustering.name_recency_days``: recent = median at most 90 days since the last purchase (RFM R 3
#: and above), lapsed = more than 180 days (RFM R 1), fading in between.
RECENCY_DAYS = (90, 180)
#: The feature named against fixed values (days), not percentiles of the customers.
FIXED = "recency_days"


def cutoffs(rfm: pd.DataFrame, quantiles: tuple[float, float] | list[float] = (0.25, 0.75), *,
            recency_days: tuple[int, int] | list[int] = RECENCY_DAYS) -> pd.DataFrame:
    """The naming cut-offs: fixed days for recency, the given percentiles of all customers' frequency and monetary.

    Recency's cut-offs are ``recency_days`` (recent: at most the first, lapsed: more than the second).
    Percentiles are actual customer values (``inverted_cdf``), so "at or below the 25th
    percentile" includes every customer tied at that value (e.g. all one-order customers).

    Returns
    -------
    DataFrame
        Index the three features; columns ``low`` and ``high`` (the two cut-off values) and
        attributes ``q_low`` / ``q_high`` in ``.attrs``.
    """
    q_low, q_high = (float(q) for q in quantiles)
    if not 0 < q_low < q_high < 1:
        raise ConfigError(f"name_cutoffs must be two increasing shares in (0, 1), got {list(quantiles)}")
    d_low, d_high = (float(d) for d in recency_days)
    if not 0 <= d_low < d_high:
        raise ConfigError(f"name_recency_days must be two increasing day counts, got {list(recency_days)}")
    vals = rfm[BASE_FEATURES].to_numpy(dtype=float)
    out = pd.DataFrame({"low": np.quantile(vals, q_low, axis=0, method="inverted_cdf"),
                        "high": np.quantile(vals, q_high, axis=0, method="inverted_cdf")}, index=BASE_FEATURES)
    out.loc[FIXED] = [d_low, d_high]
    out.attrs.update(q_low=q_low, q_high=q_high)
    return out


def _level(v: pd.Series, low: float, high: float, col: str = "") -> np.ndarray:
    """low / mid / high; recency (fixed days) is high only *above* its upper cut-off (more than 180 days)."""
    above = v > high if col == FIXED else v >= high
    return np.where(v <= low, "low", np.where(above, "high", "mid"))


def name_levels(rfm: pd.DataFrame, labels: np.ndarray, cut: pd.DataFrame, previous: pd.DataFrame | None = None, *,
                previous_cut: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each cluster's medians and where they sit among all customers: low, mid or high.

    A median is *low* when at or below ``cut['low']``, *high* when at or above
    ``cut['high']`` (and not low), otherwise *mid*. Noise (label -1) is left out.

    With last month's levels and cut-offs (``previous``, ``previous_cut``; ids aligned),
    a cluster keeps last month's level of a feature unless its median **crossed** a
    cut-off: it must be on the new side of both this month's and last month's cut-off.
    A cut-off that moved past an unchanged median therefore does not rename a cluster. Recency's
    cut-offs are fixed days, which do not move: its level is always this month's.
    """
    med = rfm[BASE_FEATURES].astype(float).groupby(np.asarray(labels)).median()
    med = med[med.index >= 0]
    out = med.add_prefix("median_")
    both = med.index.intersection(previous.index) if previous is not None and previous_cut is not None else []
    for col in BASE_FEATURES:
        lev = pd.Series(_level(med[col], cut.loc[col, "low"], cut.loc[col, "high"], col), index=med.index)
        if len(both) and col != FIXED:
            old = previous.loc[both, f"{col}_level"]
            then = pd.Series(_level(med.loc[both, col], previous_cut.loc[col, "low"], previous_cut.loc[col, "high"]),
                             index=both)
            crossed = (lev[both] != old) & (then != old)
            lev[both] = lev[both].where(crossed, old)
        out[f"{col}_level"] = lev.to_numpy()
    out.index.name = "cluster"
    return out

"""Pre-exposure features of the experiment users, for the uplift models of notebook 08.

Transactions mode: each assigned customer's RFM figures and scores, tenure, average order value
(the CLV inputs), pre-period revenue, segment and cluster, all computed from the clean lines dated
up to the day before the first exposure, so no feature can see the campaign's effect. Table mode:
the columns named in ``targeting.features``. Numeric and categorical columns are told apart by dtype;
a column with one value carries no information and is dropped with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from customer_analytics.core.errors import InputError

#: The numeric pre-exposure features of transactions mode (from the RFM table as of the day before exposure).
RFM_FEATURES = ["recency_days", "frequency", "monetary", "tenure_days", "r_score", "f_score", "m_score",
                "avg_order_value"]
#: The categorical ones (from the experiment table of notebook 04), when present.
CATEGORICAL_FEATURES = ["segment", "cluster"]


@dataclass
class FeatureSet:
    """The feature matrix (one row per experiment user, in the experiment table's order) and its columns."""

    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    dropped: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return self.numeric + self.categorical


def transaction_features(data: pd.DataFrame, scored: pd.DataFrame, *, user: str = "customer_id") -> FeatureSet:
    """Features of transactions mode: ``scored`` is the RFM table as of the day before the first exposure.

    Customers without a purchase before it get missing RFM figures (imputed in the model pipeline)
    and ``has_history`` = 0; ``pre_revenue`` (net revenue in the 90 days before exposure) and the
    segment and cluster columns of the experiment table are used as they are.
    """
    rfm = scored.assign(avg_order_value=scored["monetary"] / scored["frequency"].where(scored["frequency"] > 0))
    rfm = rfm.set_index(rfm["customer_id"].astype(str))
    ids = data[user].astype(str)
    frame = pd.DataFrame({c: ids.map(rfm[c]).to_numpy(float) for c in RFM_FEATURES if c in rfm}, index=data.index)
    frame["has_history"] = ids.isin(rfm.index).astype(float).to_numpy()
    if "pre_revenue" in data:
        frame["pre_revenue"] = data["pre_revenue"].to_numpy(float)
    for col in CATEGORICAL_FEATURES:
        if col in data:
            frame[col] = data[col].astype(str).to_numpy()
    return _typed(frame)


def table_features(data: pd.DataFrame, columns: list[str], *, source: str = "the experiment table") -> FeatureSet:
    """Features of table mode: the columns named in ``targeting.features``.

    Raises
    ------
    InputError
        When ``columns`` is empty or names a column the table lacks.
    """
    if not columns:
        raise InputError("targeting.features is empty: name the pre-exposure columns of the experiment table "
                         f"to learn from, e.g. [spend_prev90, tier]; columns: {list(data.columns)}")
    missing = [c for c in columns if c not in data]
    if missing:
        raise InputError(f"targeting.features names {missing}, not columns of {source}; "
                         f"columns: {list(data.columns)}")
    return _typed(data[list(columns)].copy())


def _typed(frame: pd.DataFrame) -> FeatureSet:
    """Numeric columns as float, the others as text; one-valued columns dropped."""
    numeric, categorical, dropped = [], [], []
    for col in frame.columns:
        if frame[col].nunique(dropna=True) <= 1:
            dropped.append(col)
        elif pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
            numeric.append(col)
        else:
            categorical.append(col)
    out = frame.drop(columns=dropped)
    out[numeric] = out[numeric].astype(float)
    for col in categorical:
        out[col] = out[col].astype(str).where(out[col].notna(), "missing")
    return FeatureSet(out, numeric, categorical, dropped)


def check_features(features: FeatureSet) -> None:
    """Fail clearly when no feature is left (every one had a single value)."""
    if not features.columns:
        raise InputError(f"No feature varies across the experiment users (one value each: {features.dropped}); "
                         "the uplift models need at least one feature with two or more values.")
    bad = [c for c in features.numeric if not np.isfinite(features.frame[c].fillna(0)).all()]
    if bad:
        raise InputError(f"Feature column(s) {bad} hold infinite values; expected finite numbers or blanks.")

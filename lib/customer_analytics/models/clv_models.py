"""Choosing the purchase model on the holdout: BG/NBD, modified BG/NBD and Pareto/NBD compared.

Why three models: BG/NBD lets a customer leave only right after a repeat purchase, so every
one-time buyer (frequency 0) has P(alive) = 1 however long ago they bought. Modified BG/NBD
adds a chance to leave right after the first purchase and Pareto/NBD lets customers leave at any
moment; in both, a one-time buyer's P(alive) falls the longer they stay silent.

With ``clv.model: auto`` (the default) each model is refitted on the calibration period (the data
up to ``as_of - holdout_days``, :func:`customer_analytics.models.clv_validation.holdout`) and
scored on the holdout that follows. **The rule** (:func:`choose`):

1. score each model by its **holdout MAE per customer**: the mean over the calibration customers
   of | predicted - actual | repeat purchases in the holdout;
2. the model with the lowest MAE is chosen, except that every model within 1%
   (:data:`TIE_TOLERANCE`) of the lowest counts as tied, and a tie goes to the first of
   :data:`PREFERENCE` = Pareto/NBD, modified BG/NBD, BG/NBD.

The order: Pareto/NBD first because its story (a customer may stop at any moment, unseen) is
the one that fits shop customers and it is the reference model of the literature; modified
BG/NBD next, since it lets one-time buyers leave but only at one instant (right after the first
purchase); BG/NBD last, since it holds every one-time buyer alive. A 1% tolerance keeps the
choice from turning on noise: the per-customer error of purchase counts is mostly Poisson
noise that no model removes, so differences that small are not evidence. MAE reads as "the
average miss, in purchases"; as a score of expected values it favours forecasts that are a
little low, which is one more reason to settle near-ties by the order and not by the MAE.

With ``clv.model`` set to one model, only that model is fitted and it is used (``rule="config"``).

The comparison table (:attr:`ModelComparison.table`, exported as ``tables/clv_model_comparison.csv``)
has per model: ``customers`` (calibration customers), ``mae`` (above), ``error_pct`` (total
predicted minus actual holdout repeat purchases over the actual, in percent), ``churn_auc``
(ROC AUC of the model's churn risk for "no purchase in the first ``churn_days`` days of the
holdout", :func:`customer_analytics.models.clv_validation.auc_table`), ``one_time_p_alive`` (mean
P(alive) at the calibration end of the calibration customers with frequency 0) and ``chosen``.
Facts only; the sentences are in :mod:`customer_analytics.report.text.clv`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.models.clv import (
    MODELS,
    ClvFit,
    FitSettings,
    expected_purchases,
    fit,
    p_alive,
    prob_no_purchase,
)
from customer_analytics.models.clv_validation import Holdout, Validation, check_fit, holdout

AUTO = "auto"
#: Ties (MAE within :data:`TIE_TOLERANCE` of the lowest) go to the first of these.
PREFERENCE = ("pareto_nbd", "modified_bgnbd", "bgnbd")
TIE_TOLERANCE = 0.01
COMPARISON_COLUMNS = ["model", "model_name", "customers", "mae", "error_pct", "churn_auc", "one_time_p_alive",
                      "chosen"]
#: The one-time buyers' P(alive) by recency: this many bands of about equal size by days since the purchase.
RECENCY_BANDS = 5


@dataclass
class ModelComparison:
    """The purchase models scored on one holdout, the one chosen, and its holdout checks.

    Attributes
    ----------
    table : DataFrame
        One row per model fitted (:data:`COMPARISON_COLUMNS`, see the module docstring).
    chosen : str
        The model used for the report (a key of :data:`customer_analytics.models.clv.MODELS`).
    rule : {'auto', 'config'}
        Chosen by :func:`choose`, or set by ``clv.model``.
    validation : Validation
        The holdout checks of the chosen model.
    calibration_fit : ClvFit
        The chosen model fitted on the calibration period.
    """

    table: pd.DataFrame
    chosen: str
    rule: str
    validation: Validation
    calibration_fit: ClvFit

    def export(self) -> pd.DataFrame:
        """The table for ``tables/clv_model_comparison.csv``: rounded, with the rule, calibration end and unit."""
        out = self.table.round({"mae": 4, "error_pct": 2, "churn_auc": 4, "one_time_p_alive": 4})
        return out.assign(rule=self.rule, calibration_end=str(self.validation.calibration_end.date()),
                          time_unit=self.validation.time_unit)

    def summary(self) -> str:
        rows = "; ".join(f"{r.model} MAE {r.mae:.4f}, error {r.error_pct:+.1f}%, AUC {r.churn_auc:.3f}, "
                         f"one-time P(alive) {r.one_time_p_alive:.3f}" for r in self.table.itertuples())
        return f"Purchase model {self.chosen} ({self.rule}); holdout: {rows}."


def choose(table: pd.DataFrame, tolerance: float = TIE_TOLERANCE, order: tuple[str, ...] = PREFERENCE) -> str:
    """The model with the lowest ``mae``; models within ``tolerance`` (relative) of it tie, first in ``order`` wins.

    ``table`` has columns ``model`` and ``mae``; rows with a missing MAE are never chosen.

    Raises
    ------
    ValueError
        No row has an MAE.
    """
    scored = table.dropna(subset=["mae"])
    if scored.empty:
        raise ValueError("No purchase model has a holdout MAE to choose by")
    best = float(scored["mae"].min())
    tied = set(scored.loc[scored["mae"] <= best * (1 + float(tolerance)) + 1e-12, "model"])
    return next(m for m in [*order, *scored["model"]] if m in tied)


def score(h: Holdout, f: ClvFit) -> dict:
    """One row of the comparison table for ``f``, a model fitted on ``h.cal`` (definitions in the module docstring)."""
    from sklearn.metrics import roc_auc_score

    pred = expected_purchases(f, h.cal, h.holdout_units)
    actual = h.counts
    one_time = (h.cal["frequency"] == 0).to_numpy()
    alive = np.clip(p_alive(f, h.cal), 0.0, 1.0)
    both = len(np.unique(h.churned)) == 2
    auc = float(roc_auc_score(h.churned, prob_no_purchase(f, h.cal, h.churn_units))) if both else np.nan
    return {"model": f.model, "model_name": MODELS[f.model], "customers": len(h.cal),
            "mae": float(np.mean(np.abs(pred - actual))),
            "error_pct": 100 * (pred.sum() - actual.sum()) / actual.sum() if actual.sum() > 0 else np.nan,
            "churn_auc": auc, "one_time_p_alive": float(alive[one_time].mean()) if one_time.any() else np.nan}


def candidates(model: str) -> tuple[str, ...]:
    """The models to fit for ``clv.model``: all of :data:`PREFERENCE` for ``auto``, else that one."""
    if model == AUTO:
        return PREFERENCE
    if model not in MODELS:
        raise ConfigError(f"clv.model must be one of {', '.join([AUTO, *MODELS])}, got {model!r}")
    return (model,)


def compare(tx: pd.DataFrame, as_of: str | pd.Timestamp, holdout_days: int = 180, horizon_days: int = 90, *,
            settings: FitSettings | None = None) -> ModelComparison:
    """Refit the candidate purchase models on the calibration period, score them on the holdout, choose one.

    ``settings.model`` is ``auto`` (compare all three, choose by :func:`choose`) or one model
    (fit only that one). The chosen model's holdout checks are those of
    :func:`customer_analytics.models.clv_validation.validate`; the split, the churn truth and the
    baselines are computed once for all models.
    """
    s = settings if settings is not None else FitSettings(model=AUTO)
    models = candidates(s.model)
    h = holdout(tx, as_of, holdout_days, horizon_days, time_unit=s.time_unit, seed=s.seed)
    fits = {m: fit(h.cal, **asdict(replace(s, model=m))) for m in models}
    table = pd.DataFrame([score(h, f) for f in fits.values()])
    chosen = choose(table) if s.model == AUTO else s.model
    table["chosen"] = table["model"] == chosen
    table = table.reindex(columns=COMPARISON_COLUMNS)
    v = check_fit(h, tx, fits[chosen], s.seed)
    return ModelComparison(table, chosen, AUTO if s.model == AUTO else "config", v, fits[chosen])


def recency_bands(days: pd.Series, bands: int = RECENCY_BANDS) -> pd.Series:
    """Each value's band: ``bands`` groups of about equal size (quantiles), labelled by their days, e.g. "31-90".

    Equal-size bands follow the data: a shop whose one-time buyers all bought 15 to 18 months
    ago still gets several bands. Equal values stay in one band, so there may be fewer bands.
    """
    codes = pd.qcut(days.rank(method="min"), int(bands), labels=False, duplicates="drop") if len(days) else days
    span = days.groupby(codes).agg(["min", "max"])
    names = {c: f"{int(lo)}" if lo == hi else f"{int(lo)}-{int(hi)}" for c, (lo, hi) in span.iterrows()}
    return codes.map(names)


def one_time_p_alive(data: pd.DataFrame, pred: pd.DataFrame, as_of: str | pd.Timestamp, *,
                     segment: pd.Series | None = None, bands: int = RECENCY_BANDS) -> pd.DataFrame:
    """Mean P(alive) of the one-time buyers (frequency 0), by days since their purchase or by segment.

    Parameters
    ----------
    data : DataFrame
        The BTYD summary (customer_id, frequency, last_purchase) the predictions were made on.
    pred : DataFrame
        :func:`customer_analytics.models.clv.predict` (customer_id, p_alive).
    as_of : date-like
        The date the days since the purchase are counted to (the summary's ``as_of``).
    segment : Series, optional
        Segment per customer_id (e.g. the RFM segment name). Given: one row per segment, ordered by
        the median days since the purchase; else one row per band of days since the purchase
        (:func:`recency_bands`: ``bands`` bands of about equal size).

    Returns
    -------
    DataFrame
        ``segment`` or ``days_since_purchase`` (the band's first and last day, e.g. "31-90"), ``customers``,
        ``median_days`` (median days since the purchase) and ``mean_p_alive``.
    """
    d = data[["customer_id", "frequency", "last_purchase"]].merge(pred[["customer_id", "p_alive"]], on="customer_id")
    d = d[d["frequency"] == 0]
    days = (pd.Timestamp(as_of).normalize() - pd.to_datetime(d["last_purchase"])).dt.days
    d = d.assign(days=days.to_numpy())
    if segment is not None:
        key = "segment"
        d[key] = d["customer_id"].astype(str).map(segment.set_axis(segment.index.astype(str))).fillna("").to_numpy()
    else:
        key = "days_since_purchase"
        d[key] = recency_bands(d["days"], bands).to_numpy()
    out = d.groupby(key, observed=True).agg(customers=("customer_id", "size"), median_days=("days", "median"),
                                            mean_p_alive=("p_alive", "mean")).reset_index()
    return out.sort_values("median_days", kind="stable").reset_index(drop=True)

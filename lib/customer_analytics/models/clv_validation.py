"""Holdout validation of the CLV model: refit on a calibration period and compare with the holdout.

Checks: total repeat purchases in the holdout, mean holdout purchases by calibration
frequency, weekly cumulative tracking, and the churn ROC AUC of the model against recency
alone and a logistic regression on RFM features. Facts only; the words are in
:mod:`customer_analytics.report.text.clv`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from customer_analytics.models.clv import (
    FREQUENCY_BUCKETS,
    MODELS,
    TIME_UNITS,
    ClvFit,
    FitSettings,
    _per_customer,
    _unit_days,
    expected_purchases,
    fit,
    holdout_split,
    prob_no_purchase,
    purchase_days,
    summary,
)


@dataclass
class Validation:
    """Holdout checks of a model refitted on the calibration period."""

    calibration_end: pd.Timestamp
    as_of: pd.Timestamp
    time_unit: str
    totals: pd.DataFrame
    by_frequency: pd.DataFrame
    tracking: pd.DataFrame
    auc: pd.DataFrame
    churn_horizon_days: int
    model_name: str

    @property
    def error_pct(self) -> float:
        """(predicted - actual) / actual total holdout repeat purchases, in percent."""
        return float(self.totals["error_pct"].iloc[0])

    def table(self) -> pd.DataFrame:
        """One long table for ``tables/clv_validation.csv``: check, item, actual, predicted, time_unit."""
        t = self.totals.assign(check="total repeat purchases in holdout", item="all customers")
        b = self.by_frequency.assign(check="mean holdout purchases by calibration frequency",
                                     item=self.by_frequency["frequency"].astype(str))
        a = self.auc.rename(columns={"auc": "predicted"}).assign(
            check=f"churn ROC AUC (no purchase in {self.churn_horizon_days} days)", item=self.auc["score"],
            actual=np.nan)
        cols = ["check", "item", "customers", "actual", "predicted"]
        out = pd.concat([t.reindex(columns=cols), b.reindex(columns=cols), a.reindex(columns=cols)],
                        ignore_index=True)
        out["calibration_end"] = str(self.calibration_end.date())
        out["time_unit"] = self.time_unit
        return out


def frequency_buckets(cal: pd.DataFrame, actual: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """Mean holdout purchases by calibration frequency 0, 1, ..., 6, 7+ (the papers' figure)."""
    top = FREQUENCY_BUCKETS - 1
    b = np.minimum(cal["frequency"].to_numpy(), top)
    df = pd.DataFrame({"bucket": b, "actual": actual, "predicted": predicted})
    out = df.groupby("bucket").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                   predicted=("predicted", "mean")).reindex(range(FREQUENCY_BUCKETS))
    out.insert(0, "frequency", [str(i) for i in range(top)] + [f"{top}+"])
    out["customers"] = out["customers"].fillna(0).astype(int)
    return out.reset_index(drop=True)


def tracking(f: ClvFit, tx: pd.DataFrame, cal: pd.DataFrame, cal_end: pd.Timestamp, *, as_of: pd.Timestamp
             ) -> pd.DataFrame:
    """Weekly cumulative repeat purchases of the calibration customers, actual and predicted.

    Predicted: sum over customers of the model's expected repeat purchases for a new customer
    over the time since their first purchase (the papers' tracking plot); the calibration
    model never sees the holdout weeks.
    """
    unit = TIME_UNITS[f.time_unit]
    start = cal["first_purchase"].min()
    weeks = pd.date_range(start + pd.Timedelta(days=6), as_of + pd.Timedelta(days=6), freq="7D")
    weeks = weeks.where(weeks <= as_of, as_of).unique()
    days = purchase_days(tx, as_of)
    days = days[days["customer_id"].isin(cal["customer_id"])]
    rep = days[days["day"] > days["customer_id"].map(cal.set_index("customer_id")["first_purchase"])]
    actual = np.searchsorted(np.sort(rep["day"].to_numpy()), weeks.to_numpy(), side="right")
    firsts = cal.groupby("first_purchase").size()
    age = (weeks.to_numpy()[:, None] - firsts.index.to_numpy()[None, :]) / np.timedelta64(1, "D")
    grid = np.clip(age, 0, None).ravel() / unit
    uniq, inv = np.unique(grid, return_inverse=True)
    e = np.zeros(len(uniq))
    pos = uniq > 0
    if pos.any():
        newc = pd.DataFrame({"customer_id": np.arange(pos.sum()), "t": uniq[pos]})
        e[pos] = _per_customer(f.purchase_model.expected_purchases_new_customer(newc))
    pred = (e[inv].reshape(age.shape) * firsts.to_numpy()[None, :]).sum(axis=1)
    return pd.DataFrame({"week_end": weeks, "actual": actual, "predicted": pred,
                         "holdout": weeks > cal_end})


def rfm_features(tx: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Log RFM features per customer as of ``as_of`` for the logistic-regression baseline."""
    s = summary(tx, as_of, "days")
    days = purchase_days(tx, as_of)
    total = days.groupby("customer_id")["value"].sum()
    return pd.DataFrame({
        "customer_id": s["customer_id"],
        "log_recency_days": np.log1p((as_of - s["last_purchase"]).dt.days.to_numpy()),
        "log_purchases": np.log1p(s["frequency"].to_numpy() + 1),
        "log_revenue": np.log1p(s["customer_id"].map(total).clip(lower=0).to_numpy()),
        "log_tenure_days": np.log1p(s["T"].to_numpy()),
    })


def churn_baselines(tx: pd.DataFrame, cal: pd.DataFrame, cal_end: pd.Timestamp, horizon_days: int, *,
                    seed: int = 42) -> pd.DataFrame:
    """Scores of the two baselines for the calibration customers at ``cal_end``.

    - ``recency``: days since the last purchase (longer = more likely to churn);
    - ``logistic``: a scikit-learn logistic regression on log RFM features, trained at an
      earlier cut-off ``cal_end - horizon_days`` with the label "no purchase in the next
      ``horizon_days``", then applied to the features at ``cal_end``. It never sees the holdout.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    now = cal_end
    out = pd.DataFrame({"customer_id": cal["customer_id"],
                        "recency": (now - cal["last_purchase"]).dt.days.to_numpy()})
    early = now - pd.Timedelta(days=int(horizon_days))
    current = rfm_features(tx, now).set_index("customer_id")
    feats = list(current.columns)
    train = rfm_features(tx, early)
    bought = purchase_days(tx, now, start=early)["customer_id"].unique()
    y = ~train["customer_id"].isin(bought)
    if len(train) < 20 or y.nunique() < 2:
        out["logistic"] = np.nan
        return out
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    lr.fit(train[feats], y)
    x_now = current.loc[cal["customer_id"], feats]
    out["logistic"] = lr.predict_proba(x_now)[:, 1]
    return out


def auc_table(churned: np.ndarray, scores: dict[str, np.ndarray], seed: int = 42, n_boot: int = 200
              ) -> pd.DataFrame:
    """ROC AUC of each churn score, and its paired bootstrap 95% interval of the difference to the first.

    AUC: the probability that a randomly chosen customer who did not buy in the horizon gets a
    higher score than a randomly chosen one who did (0.5 = no better than chance).
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(churned, dtype=bool)
    names = list(scores)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(n_boot, len(y)))
    rows = []
    ref = names[0]
    boot = {}
    for k in names:
        s = np.asarray(scores[k], dtype="float64")
        if np.isnan(s).any() or len(np.unique(y)) < 2:
            rows.append({"score": k, "auc": np.nan})
            continue
        boot[k] = np.array([roc_auc_score(y[i], s[i]) if y[i].any() and not y[i].all() else np.nan for i in idx])
        rows.append({"score": k, "auc": float(roc_auc_score(y, s))})
    out = pd.DataFrame(rows)
    out["customers"] = len(y)
    diff = {k: boot[ref] - boot[k] for k in boot if k != ref and ref in boot}
    out["model_minus_this_low"] = out["score"].map({k: float(np.nanquantile(v, 0.025)) for k, v in diff.items()})
    out["model_minus_this_high"] = out["score"].map({k: float(np.nanquantile(v, 0.975)) for k, v in diff.items()})
    return out


def beats_recency(auc: pd.DataFrame) -> bool:
    """Whether the model's churn AUC is above the recency baseline's (interval of the difference above 0)."""
    rec = auc[auc["score"] == "recency"]
    return bool(len(rec) and rec["model_minus_this_low"].iloc[0] > 0)


@dataclass
class Holdout:
    """The calibration customers, what they did in the holdout, and the churn baselines' scores.

    Built once by :func:`holdout` and shared by every model checked on it
    (:func:`check_fit`, :func:`customer_analytics.models.clv_models.compare`).

    Attributes
    ----------
    cal : DataFrame
        The BTYD summary as of ``cal_end`` (:func:`customer_analytics.models.clv.summary`).
    cal_end, as_of : Timestamp
        The calibration end and the end of the holdout.
    holdout_days, churn_days : int
        The holdout length, and the first days of it in which "no purchase" counts as churn.
    time_unit : str
        The unit of recency and T.
    counts : ndarray
        Each calibration customer's repeat purchases in the holdout.
    churned : ndarray of bool
        No purchase in the first ``churn_days`` days of the holdout.
    baselines : DataFrame
        The recency and logistic churn scores (:func:`churn_baselines`).
    """

    cal: pd.DataFrame
    cal_end: pd.Timestamp
    as_of: pd.Timestamp
    holdout_days: int
    churn_days: int
    time_unit: str
    counts: np.ndarray
    churned: np.ndarray
    baselines: pd.DataFrame

    @property
    def holdout_units(self) -> float:
        """The holdout length in the time unit."""
        return int(self.holdout_days) / TIME_UNITS[self.time_unit]

    @property
    def churn_units(self) -> float:
        """The churn window in the time unit."""
        return int(self.churn_days) / TIME_UNITS[self.time_unit]


def holdout(tx: pd.DataFrame, as_of: str | pd.Timestamp, holdout_days: int = 180, horizon_days: int = 90, *,
            time_unit: str = "weeks", seed: int = 42) -> Holdout:
    """Split at ``as_of - holdout_days``: the calibration summary, the holdout counts, churn truth and baselines.

    Churn is "no purchase in the first ``min(horizon_days, holdout_days)`` days of the holdout".
    """
    as_of = pd.Timestamp(as_of).normalize()
    _unit_days(time_unit)
    cal, hold, cal_end = holdout_split(tx, as_of, holdout_days, time_unit)
    counts = cal["customer_id"].map(hold.groupby("customer_id").size()).fillna(0).to_numpy()
    h = min(int(horizon_days), int(holdout_days))
    early = hold[hold["day"] <= cal_end + pd.Timedelta(days=h)]
    churned = ~cal["customer_id"].isin(early["customer_id"]).to_numpy()
    base = churn_baselines(tx, cal, cal_end, h, seed=seed)
    return Holdout(cal, cal_end, as_of, int(holdout_days), h, time_unit, counts, churned, base)


def check_fit(h: Holdout, tx: pd.DataFrame, f: ClvFit, seed: int = 42) -> Validation:
    """The holdout checks of ``f``, a model fitted on ``h.cal`` (see :func:`validate`)."""
    cal = h.cal
    pred = expected_purchases(f, cal, h.holdout_units)
    totals = pd.DataFrame({"customers": [len(cal)], "actual": [float(h.counts.sum())],
                           "predicted": [float(pred.sum())]})
    totals["error_pct"] = 100 * (totals["predicted"] - totals["actual"]) / totals["actual"].where(totals["actual"] > 0)
    scores = {MODELS[f.model]: prob_no_purchase(f, cal, h.churn_units),
              "recency": h.baselines["recency"].to_numpy(), "logistic": h.baselines["logistic"].to_numpy()}
    auc = auc_table(h.churned, scores, seed)
    return Validation(h.cal_end, h.as_of, h.time_unit, totals, frequency_buckets(cal, h.counts, pred),
                      tracking(f, tx, cal, h.cal_end, as_of=h.as_of), auc, h.churn_days, MODELS[f.model])


def validate(tx: pd.DataFrame, as_of: str | pd.Timestamp, holdout_days: int = 180, horizon_days: int = 90, *,
             settings: FitSettings | None = None) -> tuple[Validation, ClvFit]:
    """Refit on the data up to ``as_of - holdout_days`` and compare its predictions with the holdout.

    Checks: total repeat purchases in the holdout (predicted vs actual, error in percent);
    mean holdout purchases by calibration frequency; weekly cumulative tracking; churn
    (no purchase in the first ``min(horizon_days, holdout_days)`` days of the holdout) ROC AUC
    of the model's churn risk against recency alone and a logistic regression on RFM features.
    The verdict in words is :func:`customer_analytics.report.text.clv.auc_verdict` (``model_name``).
    ``settings`` are the refit's options (:class:`customer_analytics.models.clv.FitSettings`; default:
    its defaults); its seed also drives the logistic baseline and the bootstrap of the AUCs.
    ``tx`` is a frame or an ibis table of clean transactions: every pass over the lines runs in its
    engine (:func:`customer_analytics.models.clv.summary`), only per-customer rows come back.
    The comparison of the three purchase models on the same holdout is
    :func:`customer_analytics.models.clv_models.compare`.
    """
    s = settings if settings is not None else FitSettings()
    h = holdout(tx, as_of, holdout_days, horizon_days, time_unit=s.time_unit, seed=s.seed)
    f = fit(h.cal, **asdict(s))
    return check_fit(h, tx, f, s.seed), f

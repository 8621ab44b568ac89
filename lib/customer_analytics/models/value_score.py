"""A weighted value score of the R, F and M scores, its tiers, and weights learned from next-period revenue.

- **value score** = (w_r x R + w_f x F + w_m x M) / (w_r + w_f + w_m), on the scale of the scores
  (1 to ``n_levels``); equal weights give the mean of the three scores;
- **tiers**: customers ranked by the score (ties: the higher M, then F, then R score first, then
  the id) and cut into ``top`` (the first 20%), ``middle`` (the next 30%) and ``base`` (the rest);
- **learned weights** (``rfm.weights: learned``): the customers are scored as of a calibration end
  (``as_of`` minus ``holdout_days``); their **next-period revenue** is their net revenue in the days
  after it up to ``as_of`` (0 for a customer who did not buy). A seeded half of them (the fit
  half) gives the weights: non-negative least squares (``scipy.optimize.nnls``) of the percentile
  rank of next-period revenue on the three scores, normalised to sum to 1 (equal weights if all
  come out 0). The other half (the holdout) judges them: the Spearman rank correlation between the
  score and next-period revenue, under the learned and under equal weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from customer_analytics.core.errors import ConfigError
from customer_analytics.models import lifecycle, rfm

SCORES = ("r_score", "f_score", "m_score")
EQUAL = {"r": 1 / 3, "f": 1 / 3, "m": 1 / 3}
TIERS = ("top", "middle", "base")
TIER_CUTS = (0.2, 0.5)  # cumulative shares: top 20%, middle the next 30%


def normalised(weights: dict) -> dict:
    """Weights ``{r, f, m}`` scaled to sum to 1.

    Raises
    ------
    ConfigError
        When a key is missing or extra, a weight is negative or all are 0.
    """
    if set(weights) != {"r", "f", "m"}:
        raise ConfigError(f"rfm.weights must have the keys r, f and m, got {sorted(weights)}")
    w = {k: float(weights[k]) for k in "rfm"}
    if min(w.values()) < 0 or sum(w.values()) <= 0:
        raise ConfigError(f"rfm.weights must be non-negative and not all 0, got {weights}")
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}


def weighted_score(scored: pd.DataFrame, weights: dict) -> pd.Series:
    """The value score of every scored customer (module docstring)."""
    w = normalised(weights)
    return scored["r_score"] * w["r"] + scored["f_score"] * w["f"] + scored["m_score"] * w["m"]


def tiers(scored: pd.DataFrame, weights: dict) -> pd.Series:
    """``top`` / ``middle`` / ``base`` by the value score (module docstring), indexed like ``scored``."""
    d = scored.assign(_score=weighted_score(scored, weights))
    order = d.sort_values(["_score", "m_score", "f_score", "r_score", "customer_id"],
                          ascending=[False, False, False, False, True], kind="stable").index
    rank = pd.Series(np.arange(1, len(d) + 1) / max(len(d), 1), index=order).reindex(d.index)
    return pd.Series(np.select([rank <= TIER_CUTS[0], rank <= TIER_CUTS[1]], TIERS[:2], TIERS[2]), index=d.index)


def next_revenue(tx, start, end) -> pd.Series:
    """Net revenue per customer of the lines dated after ``start`` up to ``end`` (days), from the engine."""
    s, e = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    _, tx = lifecycle.lines_table(tx)  # a frame is pushed into the engine
    day = tx.order_date.cast("date")
    t = tx.filter((day > s.date()) & (day <= e.date()))
    out = t.group_by(t.customer_id.cast("string").name("customer_id")).aggregate(revenue=t.amount.sum()).to_pandas()
    return out.set_index("customer_id")["revenue"]


@dataclass
class LearnedWeights:
    """Weights fitted to rank customers by next-period revenue, and how they do on the holdout half."""

    weights: dict            # r, f, m summing to 1
    calibration_end: pd.Timestamp
    fit_customers: int
    holdout_customers: int
    spearman_learned: float  # holdout: score vs next-period revenue, learned weights
    spearman_equal: float    # the same under equal weights

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame({"weights": ["learned", "equal"],
                             "w_r": [self.weights["r"], EQUAL["r"]], "w_f": [self.weights["f"], EQUAL["f"]],
                             "w_m": [self.weights["m"], EQUAL["m"]],
                             "spearman_holdout": [self.spearman_learned, self.spearman_equal]})


def learn_weights(tx, as_of, *, holdout_days: int, rfm_params: dict, seed: int = 42) -> LearnedWeights:
    """Fit the weights on a calibration split (module docstring). ``rfm_params``: the ``rfm`` config section."""
    cal_end = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=int(holdout_days))
    params = {k: v for k, v in rfm_params.items() if k != "weights"}
    scored = rfm.score_customers(tx, cal_end, **params)
    if len(scored) < 20:
        raise ConfigError(f"rfm.weights: learned needs at least 20 customers scored at {cal_end.date()}, "
                          f"got {len(scored)}; set fixed weights or a shorter clv.holdout_days")
    y = scored["customer_id"].astype(str).map(next_revenue(tx, cal_end, as_of)).fillna(0.0).to_numpy()
    x = scored[list(SCORES)].to_numpy(dtype=float)
    fit = np.random.default_rng(seed).random(len(scored)) < 0.5
    w, _ = optimize.nnls(x[fit], stats.rankdata(y[fit]) / fit.sum())
    weights = dict(zip("rfm", w / w.sum(), strict=True)) if w.sum() > 0 else dict(EQUAL)
    hold = ~fit

    def rho(ws):
        return float(stats.spearmanr(x[hold] @ np.array([ws[k] for k in "rfm"]), y[hold]).statistic)

    return LearnedWeights(weights, cal_end, int(fit.sum()), int(hold.sum()), rho(weights), rho(EQUAL))


def tier_changes(scored: pd.DataFrame, weights: dict) -> pd.DataFrame:
    """Customers by tier under equal weights (rows) and under ``weights`` (columns)."""
    a = tiers(scored, EQUAL).rename("equal")
    b = tiers(scored, weights).rename("weighted")
    return pd.crosstab(a, b).reindex(index=list(TIERS), columns=list(TIERS), fill_value=0)


def segment_changes(scored: pd.DataFrame, weights: dict, order: list | None = None) -> pd.DataFrame:
    """Per RFM segment (in ``order`` when given): customers, and the share in the top tier under equal
    and under ``weights``."""
    d = scored.assign(equal=tiers(scored, EQUAL) == "top", weighted=tiers(scored, weights) == "top")
    out = d.groupby("segment").agg(customers=("customer_id", "size"), top_equal=("equal", "mean"),
                                   top_weighted=("weighted", "mean"))
    if order:
        out = out.reindex([k for k in order if k in out.index] + [k for k in out.index if k not in order])
    return out.reset_index()

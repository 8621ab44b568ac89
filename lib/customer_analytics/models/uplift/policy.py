"""The targeting policy in money: whom to send which offer, and what treating the top k% earns.

Money settings are those of notebook 04's ROI (``experiment.cost_per_user``, ``value_per_conversion``,
``margin`` of ``revenue_metric``), else the fallbacks ``targeting.cost_per_contact`` and
``targeting.margin``. The value of one extra conversion is value_per_conversion (when set) plus
margin x the mean revenue of a converting user in the experiment (when a margin and a revenue
metric are given). The cost of an arm is its cost per treated user minus control's.

- **Expected incremental profit of a customer under arm a** = predicted uplift_a x value - cost_a.
- **Recommended arm**: the arm of highest expected incremental profit, or ``none`` (do not send) when
  no arm's is above 0. An arm whose model does not beat random targeting by its interval contributes
  its average effect (the same for everyone) instead of the model's score: the data do not support
  telling its customers apart.
- **Profit of treating the top k%** (measured on the out-of-fold predictions): with n_k = int(k x N)
  users of the arm and control ranked first, (uplift@k x value - cost_a) x k x the experiment's users;
  the best k is the one of highest profit (5% steps, from 5%).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import customer_analytics.models.uplift.metrics as metrics

SHARES = tuple(round(0.05 * i, 2) for i in range(1, 21))
NONE = "none"


@dataclass(frozen=True)
class Money:
    """The value of one extra conversion, each arm's extra cost per contact, and where they came from."""

    value: float
    cost: dict[str, float]
    source: str  # "experiment" (04's ROI settings), "targeting" (the fallbacks) or "none" (conversions only)

    @property
    def priced(self) -> bool:
        return self.source != "none"


def money_settings(experiment: dict, targeting: dict, data: pd.DataFrame, *, outcome: str, arms) -> Money:
    """The money of the policy (see the module docstring); value 1 and no cost when none is given."""
    e, control = experiment, str(experiment.get("control_label"))
    margin, value = e.get("margin"), e.get("value_per_conversion")
    costs, source = e.get("cost_per_user"), "experiment"
    if not costs:
        costs, source = {a: targeting.get("cost_per_contact") for a in arms}, "targeting"
        margin = margin if margin is not None else targeting.get("margin")
        if targeting.get("cost_per_contact") is None:
            return Money(1.0, dict.fromkeys(arms, 0.0), "none")
    revenue = e.get("revenue_metric") or next(iter(e.get("continuous_metrics") or []), None)
    v = float(value or 0.0) if (e.get("conversion_metric") or outcome) == outcome else 0.0
    if margin is not None and revenue in data:
        converted = data[outcome].to_numpy(float) == 1
        v += float(margin) * float(data.loc[converted, revenue].mean()) if converted.any() else 0.0
    base = float(costs.get(control, 0.0) or 0.0)
    return Money(v, {a: float(costs.get(a, 0.0) or 0.0) - base for a in arms}, source)


def profit_curve(y, score, treated, *, money_value: float, cost: float, users: int) -> pd.DataFrame:
    """Measured incremental profit of treating the top k% by ``score``, for every k in :data:`SHARES`."""
    uplift = metrics.uplift_at_shares(y, score, treated, SHARES)
    per = uplift * money_value - cost
    return pd.DataFrame({"share": SHARES, "customers": [int(users * k) for k in SHARES], "uplift": uplift,
                         "profit_per_customer": per, "total_profit": per * np.array([int(users * k) for k in SHARES])})


def best_share(curve: pd.DataFrame) -> pd.Series | None:
    """The row of the profit curve with the highest total profit, or None when none is above 0."""
    ok = curve.dropna(subset=["total_profit"])
    if not len(ok) or ok["total_profit"].max() <= 0:
        return None
    return ok.loc[ok["total_profit"].idxmax()]


def recommend(scores: pd.DataFrame, money: Money, *, average: dict[str, float], supported: dict[str, bool]) -> pd.DataFrame:
    """Each customer's recommended arm, its predicted uplift and expected incremental profit.

    ``scores`` has one column per treatment arm (the chosen model's out-of-fold score); an arm not
    ``supported`` uses its ``average`` effect for everyone (see the module docstring).
    """
    used = pd.DataFrame({a: scores[a] if supported.get(a) else average[a] for a in scores.columns}, index=scores.index)
    profit = used * money.value - pd.Series(money.cost)[used.columns]
    best = profit.idxmax(axis=1)
    top = profit.max(axis=1)
    arm = best.where(top > 0, NONE)
    uplift = pd.Series([used.at[i, b] for i, b in zip(used.index, best, strict=True)], index=used.index)
    return pd.DataFrame({"recommended_arm": arm, "predicted_uplift": uplift.where(arm != NONE, used.max(axis=1)),
                         "expected_incremental_profit": top})

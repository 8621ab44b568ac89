"""Money: the ROI settings (:class:`ROISettings`) and the table of incremental profit and ROI per arm.

The definitions (each user's value, incremental profit, ROI and their intervals) are in the
docstring of :mod:`customer_analytics.models.experiments`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from customer_analytics.core.errors import ConfigError
from customer_analytics.models.experiments.spec import ExperimentSpec, treatment_arms


@dataclass
class ROISettings:
    """Money settings for the ROI table; see :mod:`customer_analytics.models.experiments` for the definitions.

    Parameters
    ----------
    cost_per_user : dict
        Cost per treated user for each arm (control may be omitted: 0).
    value_per_conversion : float, optional
        Money per success of ``conversion_metric`` (a binary metric).
    conversion_metric : str, optional
        Binary metric the value per conversion applies to.
    margin : float, optional
        Share of ``revenue_metric`` that is profit (0.3 = 30% margin).
    revenue_metric : str, optional
        Continuous metric the margin applies to.
    """

    cost_per_user: dict[str, float]
    value_per_conversion: float | None = None
    conversion_metric: str | None = None
    margin: float | None = None
    revenue_metric: str | None = None

    def check(self, spec: ExperimentSpec, arms: list[str]) -> None:
        missing = [a for a in arms if a not in self.cost_per_user]
        if missing:
            raise ConfigError(f"cost_per_user lacks arm(s) {missing}; give a cost per treated user for every "
                              f"treatment arm, e.g. {{{', '.join(f'{a}: 0.5' for a in arms)}}}")
        if self.value_per_conversion is None and self.margin is None:
            raise ConfigError("ROI needs value_per_conversion (with a binary conversion_metric) and/or margin "
                              "(with a continuous revenue_metric).")
        if self.value_per_conversion is not None and self.conversion_metric not in spec.binary_metrics:
            raise ConfigError(f"conversion_metric '{self.conversion_metric}' is not a binary metric "
                              f"{spec.binary_metrics}")
        if self.margin is not None and self.revenue_metric not in spec.continuous_metrics:
            raise ConfigError(f"revenue_metric '{self.revenue_metric}' is not a continuous metric "
                              f"{spec.continuous_metrics}")

    def value(self, df: pd.DataFrame) -> np.ndarray:
        """Each user's money value: value_per_conversion x conversion + margin x revenue."""
        v = np.zeros(len(df))
        if self.value_per_conversion is not None:
            v = v + float(self.value_per_conversion) * df[self.conversion_metric].to_numpy(float)
        if self.margin is not None:
            v = v + float(self.margin) * df[self.revenue_metric].to_numpy(float)
        return v


#: The columns of :func:`roi_table` in money (rounded to the cent); the others are counts and ROI shares.
MONEY_COLUMNS = ("value_per_user_treatment", "value_per_user_control", "incremental_value_per_user",
                 "incremental_cost_per_user", "profit_per_user", "profit_per_user_ci_low", "profit_per_user_ci_high",
                 "total_cost", "total_profit", "total_profit_ci_low", "total_profit_ci_high")


def roi_table(d: pd.DataFrame, spec: ExperimentSpec, settings: ROISettings, alpha: float = 0.05) -> pd.DataFrame:
    """Incremental profit per treated user, total incremental profit and ROI per treatment arm.

    value_per_user: mean value v; incremental_value_per_user = mean v_t - mean v_c;
    incremental_cost_per_user = cost_t - cost_c; profit_per_user = the difference of the two,
    with a normal (delta-method) interval, se = sqrt(var(v_t)/n_t + var(v_c)/n_c);
    total_profit = n_t x profit_per_user (interval likewise); roi = profit_per_user /
    incremental_cost_per_user (the return per unit of extra cost; NaN without extra cost).
    The money columns are rounded to the cent after the ROI is computed from the exact values.
    """
    v = spec.variant_column
    arms = treatment_arms(d, spec)
    settings.check(spec, arms)
    z = stats.norm.ppf(1 - alpha / 2)
    ctrl = d[v] == spec.control_label
    val = settings.value(d)
    vc = val[ctrl.to_numpy()]
    cost_c = float(settings.cost_per_user.get(spec.control_label, 0.0) or 0.0)
    rows = []
    for a in arms:
        vt = val[(d[v] == a).to_numpy()]
        n_t = len(vt)
        se = float(np.sqrt(np.var(vt, ddof=1) / n_t + np.var(vc, ddof=1) / len(vc)))
        inc_value = float(vt.mean() - vc.mean())
        inc_cost = float(settings.cost_per_user[a]) - cost_c
        prof = inc_value - inc_cost
        lo, hi = prof - z * se, prof + z * se
        roi = prof / inc_cost if inc_cost > 0 else np.nan
        rows.append({"arm": a, "n_treatment": n_t, "n_control": len(vc), "value_per_user_treatment": vt.mean(),
                     "value_per_user_control": vc.mean(), "incremental_value_per_user": inc_value,
                     "incremental_cost_per_user": inc_cost, "profit_per_user": prof, "profit_per_user_ci_low": lo,
                     "profit_per_user_ci_high": hi, "total_cost": inc_cost * n_t, "total_profit": prof * n_t,
                     "total_profit_ci_low": lo * n_t, "total_profit_ci_high": hi * n_t, "roi": roi,
                     "roi_ci_low": lo / inc_cost if inc_cost > 0 else np.nan,
                     "roi_ci_high": hi / inc_cost if inc_cost > 0 else np.nan})
    out = pd.DataFrame(rows)
    if len(out):
        out[list(MONEY_COLUMNS)] = out[list(MONEY_COLUMNS)].round(2)
    return out

"""Sequential looks: always-valid inference by an asymptotic confidence sequence (vectorised).

The confidence sequence of Waudby-Smith et al. (2021) in the form GrowthBook uses, and its
always-valid p-value; the formulas are in the docstring of :mod:`customer_analytics.models.experiments`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.core.errors import ConfigError


def sequential_rho(alpha: float, tuning: float) -> float:
    """Mixing parameter rho that makes the confidence sequence narrowest at ``tuning`` users in total."""
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must lie in (0, 1), got {alpha}")
    if not tuning > 0:
        raise ConfigError(f"sequential_tuning must be a positive expected sample size, got {tuning}")
    la = -2 * np.log(alpha)
    return float(np.sqrt((la + np.log(la + 1)) / tuning))


def sequential_halfwidth(var_diff, n_total, alpha: float = 0.05, tuning: float = 5000):
    """Half-width of the asymptotic confidence sequence for a difference in means (vectorised).

    ``var_diff`` is the variance of the estimate, var_t/n_t + var_c/n_c; ``n_total`` = n_t + n_c.
    """
    rho = sequential_rho(alpha, tuning)
    n = np.asarray(n_total, dtype=float)
    s2 = np.asarray(var_diff, dtype=float) * n
    a = n * rho**2 + 1
    return np.sqrt(s2) * np.sqrt(2 * a / (n**2 * rho**2) * np.log(np.sqrt(a) / alpha))


def sequential_p_value(diff, var_diff, n_total, *, alpha: float = 0.05, tuning: float = 5000):
    """Always-valid p-value: the smallest level whose confidence sequence excludes 0 (vectorised).

    min(1, sqrt(N rho^2 + 1) exp(-rho^2 N diff^2 / (2 V (N rho^2 + 1)))) with rho fixed by
    ``alpha`` and ``tuning``, so p < alpha exactly when the (1 - alpha) sequence excludes 0.
    """
    rho = sequential_rho(alpha, tuning)
    n = np.asarray(n_total, dtype=float)
    v = np.asarray(var_diff, dtype=float)
    a = n * rho**2 + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = 0.5 * np.log(a) - rho**2 * n * np.asarray(diff, dtype=float) ** 2 / (2 * v * a)
    return np.where(v > 0, np.minimum(1.0, np.exp(np.minimum(log_p, 0.0))), 1.0)


def _sequential_columns(eff: pd.DataFrame, alpha: float, tuning: float) -> pd.DataFrame:
    """Add seq_ci_low, seq_ci_high and seq_p_value to effect rows (uses var_diff, n_treatment, n_control)."""
    n = eff["n_treatment"] + eff["n_control"]
    hw = sequential_halfwidth(eff["var_diff"], n, alpha, tuning)
    return eff.assign(seq_ci_low=eff["diff"] - hw, seq_ci_high=eff["diff"] + hw,
                      seq_p_value=sequential_p_value(eff["diff"], eff["var_diff"], n, alpha=alpha, tuning=tuning))

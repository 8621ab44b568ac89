"""Power and planning: power of a two-sample test, minimum detectable effects, sample sizes, the power table.

All for a two-sided normal test at level alpha (the MDE definition is in the docstring of
:mod:`customer_analytics.models.experiments`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from customer_analytics.core.errors import ConfigError
from customer_analytics.models.experiments.spec import ExperimentSpec


def power_two_sample(delta: float, sd_t: float, sd_c: float, *, n_t: float, n_c: float,
                     alpha: float = 0.05) -> float:
    """Power of a two-sided normal test for a difference ``delta`` (both tails counted)."""
    se = np.sqrt(sd_t**2 / n_t + sd_c**2 / n_c)
    z = stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.sf(z - abs(delta) / se) + stats.norm.cdf(-z - abs(delta) / se))


def mde_binary(p_c: float, n_t: int, n_c: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest absolute increase in a rate detectable with ``power`` at these sample sizes."""
    def f(d: float) -> float:
        p_t = min(p_c + d, 1 - 1e-12)
        return power_two_sample(d, np.sqrt(p_t * (1 - p_t)), np.sqrt(p_c * (1 - p_c)), n_t=n_t, n_c=n_c,
                                alpha=alpha) - power
    hi = 1 - p_c - 1e-9
    if hi <= 0 or f(hi) < 0:
        return np.nan
    return float(optimize.brentq(f, 1e-12, hi, xtol=1e-12))


def mde_continuous(sd: float, n_t: int, n_c: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest absolute difference in means detectable with ``power`` (common sd)."""
    return float(optimize.brentq(lambda d: power_two_sample(d, sd, sd, n_t=n_t, n_c=n_c, alpha=alpha) - power,
                                 1e-12 * max(sd, 1e-12), 100 * max(sd, 1e-12), xtol=1e-14))


def sample_size_binary(p_c: float, relative_lift: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Users needed per arm to detect a relative lift in a rate (two-sided, equal arms)."""
    p_t = p_c * (1 + relative_lift)
    if not 0 < p_c < 1 or not 0 < p_t < 1:
        raise ConfigError(f"Rates must lie in (0, 1): control {p_c}, target {p_t}")
    s_t, s_c = np.sqrt(p_t * (1 - p_t)), np.sqrt(p_c * (1 - p_c))
    n = optimize.brentq(lambda n: power_two_sample(p_t - p_c, s_t, s_c, n_t=n, n_c=n, alpha=alpha) - power,
                        1.0, 1e12, xtol=1e-9)
    return int(np.ceil(n))


def sample_size_continuous(mean_c: float, sd: float, relative_lift: float, *, alpha: float = 0.05,
                           power: float = 0.8) -> int:
    """Users needed per arm to detect a relative lift in a mean (two-sided, equal arms, common sd)."""
    delta = mean_c * relative_lift
    if delta == 0 or sd <= 0:
        raise ConfigError("Need a non-zero target difference and a positive standard deviation.")
    n = optimize.brentq(lambda n: power_two_sample(delta, sd, sd, n_t=n, n_c=n, alpha=alpha) - power,
                        1.0, 1e12, xtol=1e-9)
    return int(np.ceil(n))


def _power_rows(d: pd.DataFrame, spec: ExperimentSpec, kinds: dict, arms: list[str], *, alpha: float,
                power: float, target_lift: float) -> list[dict]:
    """The power table's rows: per arm and metric, the MDE at the sizes run and the users needed for ``target_lift``.

    With ``spec.eligible_users``, also the users per arm a rerun could have (the eligible customers
    split equally over control and the treatment arms, ``eligible_per_arm``) and the MDE at that
    size (``mde_abs_eligible``, ``mde_relative_eligible``): the smallest effect detectable with the
    whole customer base.
    """
    v = spec.variant_column
    ctrl = d[d[v] == spec.control_label]
    per_arm = spec.eligible_users // (len(arms) + 1) if spec.eligible_users else None
    pw = []
    for a in arms:
        t = d[d[v] == a]
        for m in spec.metrics:
            if kinds[m] == "binary":
                base, mde, need = _binary_plan(t[m], ctrl[m], alpha=alpha, power=power, target_lift=target_lift)
            else:
                base, mde, need = _continuous_plan(t[m], ctrl[m], alpha=alpha, power=power, target_lift=target_lift)
            row = {"arm": a, "metric": m, "kind": kinds[m], "control_mean": base, "n_treatment": len(t),
                   "n_control": len(ctrl), "mde_abs": mde, "mde_relative": mde / base if base else np.nan,
                   "target_lift": target_lift, "n_per_arm_for_target": need}
            if per_arm is not None:
                at = _mde_at_size(t[m], ctrl[m], kinds[m], per_arm, alpha=alpha, power=power)
                row.update(eligible_per_arm=per_arm, mde_abs_eligible=at,
                           mde_relative_eligible=at / base if base else np.nan)
            pw.append(row)
    return pw


def _mde_at_size(y_t: pd.Series, y_c: pd.Series, kind: str, n: int, *, alpha: float, power: float) -> float:
    """The MDE with ``n`` users in each arm, from the control rate (binary) or the arms' average variance."""
    if n < 2:
        return np.nan
    if kind == "binary":
        return mde_binary(y_c.mean(), n, n, alpha=alpha, power=power)
    sd = float(np.sqrt((y_t.var(ddof=1) + y_c.var(ddof=1)) / 2))
    return mde_continuous(sd, n, n, alpha=alpha, power=power) if sd > 0 else np.nan


def _binary_plan(y_t: pd.Series, y_c: pd.Series, *, alpha: float, power: float,
                 target_lift: float) -> tuple[float, float, float]:
    """(control rate, MDE, users per arm for the target lift); NaN where a rate leaves (0, 1)."""
    pc = y_c.mean()
    mde = mde_binary(pc, len(y_t), len(y_c), alpha=alpha, power=power)
    need = sample_size_binary(pc, target_lift, alpha, power) \
        if 0 < pc < 1 and pc * (1 + target_lift) < 1 else np.nan
    return pc, mde, need


def _continuous_plan(y_t: pd.Series, y_c: pd.Series, *, alpha: float, power: float,
                     target_lift: float) -> tuple[float, float, float]:
    """(control mean, MDE, users per arm for the target lift) with the arms' average variance; NaN without spread."""
    sd = float(np.sqrt((y_t.var(ddof=1) + y_c.var(ddof=1)) / 2))
    base = y_c.mean()
    mde = mde_continuous(sd, len(y_t), len(y_c), alpha=alpha, power=power) if sd > 0 else np.nan
    need = sample_size_continuous(base, sd, target_lift, alpha=alpha, power=power) \
        if sd > 0 and base != 0 else np.nan
    return base, mde, need

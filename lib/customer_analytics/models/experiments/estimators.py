"""Estimators of one comparison: :class:`Effect` (rates and means), its intervals, chance to beat, CUPED, capping.

The definitions (Newcombe interval, pooled z-test, Welch, relative lift on the log of the ratio,
chance to beat control, CUPED) are in the docstring of :mod:`customer_analytics.models.experiments`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.proportion import proportion_confint

from customer_analytics.core.errors import ConfigError


@dataclass(kw_only=True)
class Effect:
    """One comparison: estimate, interval and p-value together (statsmodels style); built by keyword.

    ``lift_ci_status`` is derived from the two intervals (:func:`lift_ci_status`), never given.
    """

    metric: str
    arm: str
    kind: str
    n_treatment: int
    n_control: int
    mean_treatment: float
    mean_control: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    lift: float
    lift_ci_low: float
    lift_ci_high: float
    lift_ci_status: str = field(init=False)
    method: str
    prob_beat_control: float = np.nan
    alpha: float = 0.05

    def __post_init__(self) -> None:
        self.lift_ci_status = str(lift_ci_status(self.ci_low, self.ci_high, self.lift_ci_low, self.lift_ci_high))

    def as_row(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "alpha"}


def wilson_interval(x: float, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion x / n."""
    lo, hi = proportion_confint(x, n, alpha=alpha, method="wilson")
    return float(lo), float(hi)


def newcombe_interval(x_t: float, n_t: int, x_c: float, n_c: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p_t - p_c (method 10), from Wilson intervals."""
    p_t, p_c = x_t / n_t, x_c / n_c
    l_t, u_t = wilson_interval(x_t, n_t, alpha)
    l_c, u_c = wilson_interval(x_c, n_c, alpha)
    d = p_t - p_c
    return d - np.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2), d + np.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)


def pooled_z_test(x_t: float, n_t: int, x_c: float, n_c: int) -> tuple[float, float]:
    """Two-sided pooled two-proportion z-test; returns (z, p)."""
    p = (x_t + x_c) / (n_t + n_c)
    se = np.sqrt(p * (1 - p) * (1 / n_t + 1 / n_c))
    if se == 0:
        return 0.0, 1.0
    z = (x_t / n_t - x_c / n_c) / se
    return float(z), float(2 * stats.norm.sf(abs(z)))


def log_ratio_lift(m_t: float, v_t: float, m_c: float, v_c: float, *,
                   alpha: float = 0.05) -> tuple[float, float, float]:
    """Relative lift r - 1 with r = m_t / m_c, and its interval on the log of the ratio (delta method).

    Parameters
    ----------
    m_t, m_c : float
        The arm's and the comparison's rate (share of users with a success) or mean per user.
    v_t, v_c : float
        The variances of those two estimates: p (1 - p) / n for a rate, s^2 / n for a mean
        (with CUPED, of the adjusted values).
    alpha : float
        The interval is a 1 - alpha interval.

    Returns
    -------
    lift, low, high : float
        lift = m_t / m_c - 1. se(log r) = sqrt(v_t / m_t^2 + v_c / m_c^2), which for rates is
        sqrt((1 - p_t) / (n_t p_t) + (1 - p_c) / (n_c p_c)); the interval is
        exp(log r -/+ z se) - 1 with z the 1 - alpha/2 normal quantile, so it never goes below
        -100%. The lift is NaN when m_c <= 0 (a ratio to nothing, or to a negative base, is no
        lift) and the interval is NaN when either m_t or m_c is <= 0 (the log is undefined).
    """
    if not m_c > 0:
        return np.nan, np.nan, np.nan
    lift = m_t / m_c - 1
    if not m_t > 0:
        return float(lift), np.nan, np.nan
    log_r = np.log(m_t / m_c)
    half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(v_t / m_t**2 + v_c / m_c**2)
    return float(lift), float(np.expm1(log_r - half)), float(np.expm1(log_r + half))


def lift_ci_status(ci_low, ci_high, lift_ci_low, lift_ci_high):
    """Whether the difference interval and the relative-lift interval agree on excluding 0.

    Parameters
    ----------
    ci_low, ci_high : float or array-like
        The interval of the absolute difference (pp for rates, the metric's unit for means).
    lift_ci_low, lift_ci_high : float or array-like
        The interval of the relative lift (see :func:`log_ratio_lift`).

    Returns
    -------
    str or ndarray of str
        ``undefined`` where the relative interval is not defined (NaN); ``ok`` where both
        intervals exclude 0 or both include it; ``differs`` where only one excludes 0, which
        can happen because the two are computed on different scales (the difference itself,
        the log of the ratio). A scalar in, a scalar out.
    """
    lo, hi, llo, lhi = (np.asarray(x, dtype=float) for x in (ci_low, ci_high, lift_ci_low, lift_ci_high))
    undefined = np.isnan(llo) | np.isnan(lhi)
    agree = ((lo > 0) | (hi < 0)) == ((llo > 0) | (lhi < 0))
    out = np.select([undefined, agree], ["undefined", "ok"], "differs")
    return out.item() if out.ndim == 0 else out


def _beta_beats(a_t: float, b_t: float, a_c: float, b_c: float) -> float:
    """P(X_t > X_c) for X_t ~ Beta(a_t, b_t), X_c ~ Beta(a_c, b_c), integer a_t (Evan Miller's sum).

    P = sum_{i=0}^{a_t-1} B(a_c+i, b_c+b_t) / ((b_t+i) B(1+i, b_t) B(a_c, b_c)), summed in logs.
    """
    i = np.arange(int(a_t), dtype=float)
    log_terms = (special.betaln(a_c + i, b_c + b_t) - np.log(b_t + i) - special.betaln(1 + i, b_t)
                 - special.betaln(a_c, b_c))
    return float(np.exp(special.logsumexp(log_terms)))


def prob_beat_control(x_t: float, n_t: int, x_c: float, n_c: int) -> float:
    """Chance to beat control for a rate: P(p_t > p_c) under Beta(1+x, 1+n-x) posteriors.

    Flat Beta(1, 1) priors; independent posteriors Beta(1 + successes, 1 + failures).
    Exact (Evan Miller's closed form, a sum of min(x_t, x_c) + 1 terms), so it is
    deterministic; P(p_t > p_c) = 1 - P(p_c > p_t) because ties have probability 0.
    """
    a_t, b_t, a_c, b_c = 1 + x_t, 1 + n_t - x_t, 1 + x_c, 1 + n_c - x_c
    if a_t <= a_c:
        return min(1.0, max(0.0, _beta_beats(a_t, b_t, a_c, b_c)))
    return min(1.0, max(0.0, 1 - _beta_beats(a_c, b_c, a_t, b_t)))


def prob_beat_control_normal(diff: float, se: float) -> float:
    """Chance to beat control for a mean: Phi(diff / se), the posterior P(mu_t > mu_c).

    Normal approximation under a flat prior: the posterior of the difference in means
    is N(diff, se^2) with se the Welch standard error sqrt(var_t/n_t + var_c/n_c).
    """
    if not se > 0:
        return 0.5 if diff == 0 else float(diff > 0)
    return float(stats.norm.cdf(diff / se))


def binary_effect(y_t: np.ndarray, y_c: np.ndarray, metric: str = "metric", arm: str = "treatment", *,
                  alpha: float = 0.05) -> Effect:
    """Rates, Newcombe interval, pooled z-test, log-ratio lift interval and exact chance to beat control."""
    n_t, n_c = len(y_t), len(y_c)
    x_t, x_c = float(np.sum(y_t)), float(np.sum(y_c))
    p_t, p_c = x_t / n_t, x_c / n_c
    lo, hi = newcombe_interval(x_t, n_t, x_c, n_c, alpha=alpha)
    _, p = pooled_z_test(x_t, n_t, x_c, n_c)
    lift, llo, lhi = log_ratio_lift(p_t, p_t * (1 - p_t) / n_t, p_c, p_c * (1 - p_c) / n_c, alpha=alpha)
    return Effect(metric=metric, arm=arm, kind="binary", n_treatment=n_t, n_control=n_c,
                  mean_treatment=p_t, mean_control=p_c, diff=p_t - p_c, ci_low=float(lo), ci_high=float(hi),
                  p_value=p, lift=lift, lift_ci_low=llo, lift_ci_high=lhi, method="Newcombe CI, pooled z-test",
                  prob_beat_control=prob_beat_control(x_t, n_t, x_c, n_c), alpha=alpha)


def welch(y_t: np.ndarray, y_c: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """Welch's t-test: (difference, ci_low, ci_high, p-value)."""
    res = stats.ttest_ind(y_t, y_c, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    return float(np.mean(y_t) - np.mean(y_c)), float(ci.low), float(ci.high), float(res.pvalue)


def bootstrap_interval(y_t: np.ndarray, y_c: np.ndarray, alpha: float = 0.05, *, n_boot: int = 2000,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval for mean_t - mean_c (resampling each arm)."""
    rng = np.random.default_rng(seed)
    bt = np.array([rng.choice(y_t, len(y_t)).mean() for _ in range(n_boot)])
    bc = np.array([rng.choice(y_c, len(y_c)).mean() for _ in range(n_boot)])
    lo, hi = np.quantile(bt - bc, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def continuous_effect(y_t: np.ndarray, y_c: np.ndarray, metric: str = "metric", arm: str = "treatment", *,
                      alpha: float = 0.05, bootstrap: bool = False, seed: int = 0) -> Effect:
    """Means, Welch difference and interval (or bootstrap interval), log-ratio lift interval."""
    d, lo, hi, p = welch(y_t, y_c, alpha)
    method = "Welch t-test"
    if bootstrap:
        lo, hi = bootstrap_interval(y_t, y_c, alpha, seed=seed)
        method = "Welch p-value, bootstrap CI"
    m_t, m_c = float(np.mean(y_t)), float(np.mean(y_c))
    v_t, v_c = np.var(y_t, ddof=1) / len(y_t), np.var(y_c, ddof=1) / len(y_c)
    lift, llo, lhi = log_ratio_lift(m_t, v_t, m_c, v_c, alpha=alpha)
    return Effect(metric=metric, arm=arm, kind="continuous", n_treatment=len(y_t), n_control=len(y_c),
                  mean_treatment=m_t, mean_control=m_c, diff=d, ci_low=lo, ci_high=hi, p_value=p,
                  lift=lift, lift_ci_low=llo, lift_ci_high=lhi, method=method,
                  prob_beat_control=prob_beat_control_normal(d, float(np.sqrt(v_t + v_c))), alpha=alpha)


@dataclass(kw_only=True)
class CupedResult:
    """CUPED-adjusted comparison next to the unadjusted one; built by keyword.

    ``lift`` is the ratio of the adjusted means minus 1, with its interval on the log of that
    ratio from the variances of the adjusted means (:func:`log_ratio_lift`), the same values
    the adjusted difference is computed from; ``lift_ci_status`` as in :func:`lift_ci_status`.
    """

    metric: str
    arm: str
    theta: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    unadjusted_ci_width: float
    variance_reduction: float
    lift: float = np.nan
    lift_ci_low: float = np.nan
    lift_ci_high: float = np.nan
    lift_ci_status: str = field(init=False)

    def __post_init__(self) -> None:
        self.lift_ci_status = str(lift_ci_status(self.ci_low, self.ci_high, self.lift_ci_low, self.lift_ci_high))

    def as_row(self) -> dict:
        return dict(self.__dict__)


def cuped_theta(y: np.ndarray, x: np.ndarray) -> float:
    """theta = cov(y, x) / var(x), both with ddof=1, over the pooled units."""
    vx = np.var(x, ddof=1)
    return float(np.cov(y, x, ddof=1)[0, 1] / vx) if vx > 0 else 0.0


def cuped_effect(y_t: np.ndarray, y_c: np.ndarray, x_t: np.ndarray, x_c: np.ndarray, *, metric: str = "metric",
                 arm: str = "treatment", alpha: float = 0.05) -> CupedResult:
    """CUPED: adjust y by the pre-period covariate x with a theta pooled over both arms."""
    y, x = np.concatenate([y_t, y_c]), np.concatenate([x_t, x_c])
    theta = cuped_theta(y, x)
    mx = x.mean()
    a_t, a_c = y_t - theta * (x_t - mx), y_c - theta * (x_c - mx)
    d, lo, hi, p = welch(a_t, a_c, alpha)
    _, ulo, uhi, _ = welch(y_t, y_c, alpha)
    adj = np.concatenate([a_t, a_c])
    vr = 1 - np.var(adj, ddof=1) / np.var(y, ddof=1) if np.var(y) > 0 else 0.0
    lift, llo, lhi = log_ratio_lift(float(a_t.mean()), np.var(a_t, ddof=1) / len(a_t), float(a_c.mean()),
                                    np.var(a_c, ddof=1) / len(a_c), alpha=alpha)
    return CupedResult(metric=metric, arm=arm, theta=theta, diff=d, ci_low=lo, ci_high=hi, p_value=p,
                       unadjusted_ci_width=uhi - ulo, variance_reduction=float(vr), lift=lift, lift_ci_low=llo,
                       lift_ci_high=lhi)


def cap_values(y: pd.Series, percentile: float, ignore_zeros: bool = True) -> tuple[pd.Series, float]:
    """Cap a metric at a percentile; with ``ignore_zeros`` the percentile is of non-zero values.

    For revenue most users spend nothing, so the plain 95th percentile is often 0
    and capping at it would erase the metric.
    """
    if not 0 < percentile <= 100:
        raise ConfigError(f"cap_percentile must be in (0, 100], got {percentile}")
    base = y[y != 0] if ignore_zeros else y
    cap = float(np.percentile(base, percentile)) if len(base) else 0.0
    return y.clip(upper=cap), cap

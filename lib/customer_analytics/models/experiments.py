"""A/B(/n) evaluation: checks before results, effects with intervals, segments, power.

Definitions (treatment arm t against control c; alpha = 0.05 unless set):

- **Sample-ratio mismatch (SRM)**: Pearson chi-square test of the arm counts against the
  planned split; flagged at p < 0.001.
- **Standardised mean difference (SMD)** of a pre-period covariate:
  (mean_t - mean_c) / sqrt((var_t + var_c) / 2); |SMD| > 0.1 is flagged as imbalance.
- **Binary metric**: rates p_t, p_c; difference p_t - p_c with the Newcombe hybrid
  (Wilson-score) interval; p-value of the pooled two-proportion z-test,
  z = (p_t - p_c) / sqrt(p(1-p)(1/n_t + 1/n_c)) with p the pooled rate.
- **Continuous metric**: means; difference with Welch's t-test and its
  Welch-Satterthwaite interval; optionally a percentile bootstrap interval.
- **Relative lift**: mean_t / mean_c - 1, interval by the delta method,
  var = var(mean_t)/mean_c^2 + mean_t^2 var(mean_c)/mean_c^4.
- **CUPED** (binary and continuous metrics, whenever a covariate is given):
  theta = cov(y, x) / var(x) (ddof=1) over the two arms compared, pooled;
  y_adj = y - theta (x - mean(x)); the difference of adjusted means with a Welch
  interval; variance reduction = 1 - var(y_adj) / var(y). For a 0/1 metric the
  adjusted difference is still in percentage points.
- **Chance to beat control**: the posterior probability that the arm's true value
  exceeds control's. Binary: P(p_t > p_c) under independent Beta(1 + successes,
  1 + failures) posteriors (flat prior), computed exactly with Evan Miller's closed
  form (a finite sum of Beta functions; deterministic, no simulation). Continuous:
  normal approximation under a flat prior, Phi(diff / se) with the Welch standard error.
- **Multiple comparisons**: the p-values of the arms compared with control are adjusted
  per metric across the arms (Holm by default, Benjamini-Hochberg, Bonferroni or none);
  per-segment p-values across every segment x arm x metric; treatment-vs-treatment
  p-values across the pairs.
- **Decision rule** (the only one used anywhere): an arm wins on the primary metric when
  its adjusted p-value is below alpha, its effect goes the favourable way
  (``higher_is_better``) and no sample-ratio mismatch is flagged. Among several such
  arms the one with the largest favourable effect is named.
- **Always-valid inference** (``sequential``): an asymptotic confidence sequence
  (Waudby-Smith et al. 2021, "Time-uniform central limit theory"; the form used by
  GrowthBook): diff +- sqrt(s2) sqrt(2 (N rho^2 + 1) / (N^2 rho^2) log(sqrt(N rho^2 + 1) / alpha)),
  N = n_t + n_c, s2 = N (var_t/n_t + var_c/n_c), rho = sqrt((-2 log alpha + log(1 - 2 log alpha)) / N*)
  with N* the expected total sample size (the tuning parameter: the sequence is narrowest
  there). The always-valid p-value min(1, sqrt(N rho^2 + 1) exp(-rho^2 N diff^2 /
  (2 V (N rho^2 + 1)))), V = var_t/n_t + var_c/n_c, is the smallest alpha whose sequence
  excludes 0. It stays valid however often the experiment is looked at.
- **ROI** (when ``cost_per_user`` is given): each user's value
  v = value_per_conversion * conversion + margin * revenue; incremental profit per treated
  user = (mean v_t - mean v_c) - (cost_t - cost_c); total = n_t x that; ROI = incremental
  profit / incremental cost. Interval: normal (delta-method) interval of the difference in
  mean value, se = sqrt(var(v_t)/n_t + var(v_c)/n_c); costs are known constants, so the
  total and the ROI intervals are the same interval shifted and scaled.
- **Minimum detectable effect (MDE)**: the smallest absolute difference detected with the
  given power by a two-sided normal test at the given alpha and sample sizes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
import yaml
from scipy import optimize, special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from customer_analytics.core import engine
from customer_analytics.core.errors import ConfigError, InputError

SRM_ALPHA = 0.001
SMD_LIMIT = 0.1
MIN_GROUP = 30
#: A segment cell (segment x arm) with fewer users than this is reported and skipped.
MIN_CELL_USERS = 10
CORRECTIONS = ("holm", "fdr_bh", "bonferroni", "none")


# ------------------------------------------------------------------ validation


@dataclass
class ExperimentSpec:
    """How a per-user experiment table is laid out. Nothing about names is hard-coded."""

    variant_column: str
    control_label: str
    user_column: str | None = None
    binary_metrics: list[str] = field(default_factory=list)
    continuous_metrics: list[str] = field(default_factory=list)
    covariate: str | None = None
    segment_columns: list[str] = field(default_factory=list)
    planned_split: dict[str, float] | None = None

    @property
    def metrics(self) -> list[str]:
        return [*self.binary_metrics, *self.continuous_metrics]


def validate(df: pd.DataFrame, spec: ExperimentSpec) -> pd.DataFrame:
    """Check an experiment table against its spec; return it with metrics as floats.

    Raises
    ------
    InputError
        For a missing column, a single arm, a control label not present, a metric
        with non-numeric values, a binary metric not 0/1, a covariate with missing
        values, a blank segment label, or a duplicate user id (only checked when a user
        column is given). Messages name the column and show examples. A segment with
        no users in some arm is not an error: :func:`analyse` reports and skips it.
    """
    _check_columns(df, spec)
    arms = _check_arms(df, spec)
    _check_unique_users(df, spec)
    out = df.copy()
    out[spec.variant_column] = arms
    for col in [*spec.metrics, *([spec.covariate] if spec.covariate else [])]:
        out[col] = _numeric(df, col)
    _check_values(out, spec)
    for col in spec.segment_columns:
        blank = out[col].isna() | out[col].astype(str).str.strip().eq("")
        if blank.any():
            raise InputError(f"Segment column '{col}' is empty for {int(blank.sum()):,} user(s); give every user a segment.")
        out[col] = out[col].astype(str)
    return out


def _check_columns(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    """Every column the spec names is in the table, and there is at least one metric."""
    needed = [spec.variant_column, *spec.metrics, *spec.segment_columns]
    needed += [c for c in (spec.user_column, spec.covariate) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"Experiment table lacks column(s) {missing}; columns found: {list(df.columns)}")
    if not spec.metrics:
        raise ConfigError("No metrics given: set binary_metrics and/or continuous_metrics.")


def _check_arms(df: pd.DataFrame, spec: ExperimentSpec) -> pd.Series:
    """The arm labels as text; the control label is among them and there are two arms or more."""
    arms = df[spec.variant_column].astype(str)
    found = sorted(arms.unique())
    if spec.control_label not in found:
        raise InputError(
            f"Control label '{spec.control_label}' is not in column '{spec.variant_column}'; "
            f"labels found: {found}"
        )
    if len(found) < 2:
        raise InputError(f"Column '{spec.variant_column}' has a single arm ({found}); an experiment needs two or more.")
    return arms


def _check_unique_users(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    """With a user column, each user appears once."""
    if spec.user_column:
        dup = df[spec.user_column].duplicated(keep=False)
        if dup.any():
            ex = df.loc[dup, spec.user_column].unique()[:3].tolist()
            raise InputError(
                f"{int(dup.sum()):,} rows share a user id in '{spec.user_column}' (e.g. {ex}); "
                "each user must appear once in an experiment."
            )


def _numeric(df: pd.DataFrame, col: str) -> pd.Series:
    """Column ``col`` as floats; refused, with examples, when a value is not a number."""
    num = pd.to_numeric(df[col], errors="coerce")
    bad = num.isna() & df[col].notna()
    if bad.any():
        ex = [(i, v) for i, v in df.loc[bad, col].head(3).items()]
        raise InputError(f"Column '{col}' has {int(bad.sum()):,} non-numeric value(s), e.g. (row, value) {ex}")
    return num.astype(float)


def _check_values(out: pd.DataFrame, spec: ExperimentSpec) -> None:
    """Binary metrics are 0/1; continuous metrics and the covariate have no missing values."""
    for col in spec.binary_metrics:
        bad = ~out[col].isin([0.0, 1.0])
        if bad.any():
            ex = out.loc[bad, col].head(3).tolist()
            raise InputError(f"Binary metric '{col}' must be 0/1; {int(bad.sum()):,} value(s) are not, e.g. {ex}")
    for col in spec.continuous_metrics:
        if out[col].isna().any():
            raise InputError(f"Metric '{col}' has {int(out[col].isna().sum()):,} missing value(s); fill or drop them first.")
    if spec.covariate and out[spec.covariate].isna().any():
        n = int(out[spec.covariate].isna().sum())
        raise InputError(f"Covariate '{spec.covariate}' has {n:,} missing value(s); CUPED needs a value for every user (use 0 for no pre-period activity).")


# ------------------------------------------------------------------ checks


@dataclass
class SRMResult:
    """Sample-ratio check: observed and expected counts, chi-square and p-value."""

    table: pd.DataFrame
    chi2: float
    p_value: float

    @property
    def flagged(self) -> bool:
        return self.p_value < SRM_ALPHA


def srm_test(arms: pd.Series, planned: dict[str, float] | None = None,
             all_arms: list[str] | None = None) -> SRMResult:
    """Chi-square test of arm counts against the planned split (equal by default).

    ``all_arms`` lists every arm of the experiment, so an arm with no users (in a
    segment) counts as 0 observed rather than disappearing from the test.
    """
    counts = arms.value_counts().sort_index()
    if all_arms is not None:
        counts = counts.reindex(sorted(all_arms), fill_value=0)
    if planned:
        unknown = set(counts.index) - set(planned)
        if unknown:
            raise ConfigError(f"planned_split lacks arm(s) {sorted(unknown)}; it has {sorted(planned)}")
        w = np.array([planned[a] for a in counts.index], dtype=float)
    else:
        w = np.ones(len(counts))
    expected = counts.sum() * w / w.sum()
    chi2, p = stats.chisquare(counts.to_numpy(), expected)
    table = pd.DataFrame({"observed": counts, "expected": expected.round(1),
                          "share": (counts / counts.sum()).round(4), "chi2": float(chi2), "p_value": float(p),
                          "flagged": bool(p < SRM_ALPHA)})
    return SRMResult(table.rename_axis("arm"), float(chi2), float(p))


def srm_by_segment(df: pd.DataFrame, spec: ExperimentSpec, segment: str) -> pd.DataFrame:
    """SRM chi-square and p-value within each segment of the column ``segment``.

    Arms with no users in a segment count as 0 observed. Returns one row per
    segment: segment_column, segment, users, chi2, p_value, flagged.
    """
    arms = sorted(df[spec.variant_column].unique())
    rows = []
    for seg, g in df.groupby(segment, sort=True):
        r = srm_test(g[spec.variant_column], spec.planned_split, arms)
        rows.append({"segment_column": segment, "segment": seg, "users": len(g), "chi2": r.chi2,
                     "p_value": r.p_value, "flagged": r.flagged})
    return pd.DataFrame(rows)


def smd(x_t: np.ndarray, x_c: np.ndarray) -> float:
    """Standardised mean difference (mean_t - mean_c) / sqrt((var_t + var_c) / 2)."""
    pooled = np.sqrt((np.var(x_t, ddof=1) + np.var(x_c, ddof=1)) / 2)
    return float((np.mean(x_t) - np.mean(x_c)) / pooled) if pooled > 0 else 0.0


def balance(df: pd.DataFrame, spec: ExperimentSpec, covariates: list[str]) -> pd.DataFrame:
    """SMD of each covariate for each treatment arm against control; |SMD| > 0.1 is flagged."""
    c = df[df[spec.variant_column] == spec.control_label]
    rows = []
    for arm in treatment_arms(df, spec):
        t = df[df[spec.variant_column] == arm]
        for cov in covariates:
            v = smd(t[cov].to_numpy(float), c[cov].to_numpy(float))
            rows.append({"arm": arm, "covariate": cov, "mean_treatment": t[cov].mean(),
                         "mean_control": c[cov].mean(), "smd": v, "imbalanced": abs(v) > SMD_LIMIT})
    return pd.DataFrame(rows)


def group_sizes(df: pd.DataFrame, spec: ExperimentSpec, segment: str | None = None) -> pd.DataFrame:
    """Users per arm (and segment) with a warning where the normal approximation is doubtful.

    A group is too small when it has fewer than 30 users or, for a binary metric,
    fewer than 10 successes or 10 failures; one with fewer than ``MIN_CELL_USERS``
    users (including none) is skipped in the per-segment analysis. Every arm appears
    for every segment, with 0 users where it has none.
    """
    arms = sorted(df[spec.variant_column].unique())
    if segment:
        idx = pd.MultiIndex.from_product([sorted(df[segment].unique()), arms], names=[segment, spec.variant_column])
        g = df.groupby([segment, spec.variant_column], sort=True)
    else:
        idx = pd.Index(arms, name=spec.variant_column)
        g = df.groupby(spec.variant_column, sort=True)
    out = pd.DataFrame({"users": g.size().reindex(idx, fill_value=0)})
    warn = out["users"] < MIN_GROUP
    for m in spec.binary_metrics:
        succ = g[m].sum().reindex(idx, fill_value=0)
        out[f"{m}_successes"] = succ.astype(int)
        warn |= (succ < 10) | (out["users"] - succ < 10)
    out["warning"] = np.where(out["users"] < MIN_CELL_USERS, "too small: skipped",
                              np.where(warn, "too small for the normal approximation", ""))
    return out


def all_group_sizes(df: pd.DataFrame, spec: ExperimentSpec) -> pd.DataFrame:
    """:func:`group_sizes` overall and for every segment column, stacked in one long table.

    Columns: segment_column ('(all)' for the whole experiment), segment, arm, users,
    successes per binary metric, warning.
    """
    parts = [group_sizes(df, spec).reset_index().rename(columns={spec.variant_column: "arm"})
             .assign(segment_column="(all)", segment="(all)")]
    for col in spec.segment_columns:
        parts.append(group_sizes(df, spec, col).reset_index()
                     .rename(columns={spec.variant_column: "arm", col: "segment"}).assign(segment_column=col))
    out = pd.concat(parts, ignore_index=True)
    first = ["segment_column", "segment", "arm"]
    return out[first + [c for c in out.columns if c not in first]]


def treatment_arms(df: pd.DataFrame, spec: ExperimentSpec) -> list[str]:
    return sorted(a for a in df[spec.variant_column].unique() if a != spec.control_label)


# ------------------------------------------------------------------ estimators


@dataclass
class Effect:
    """One comparison: estimate, interval and p-value together (statsmodels style)."""

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
    method: str
    prob_beat_control: float = np.nan
    alpha: float = 0.05

    def as_row(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "alpha"}


def wilson_interval(x: float, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion x / n."""
    lo, hi = proportion_confint(x, n, alpha=alpha, method="wilson")
    return float(lo), float(hi)


def newcombe_interval(x_t: float, n_t: int, x_c: float, n_c: int, alpha: float = 0.05) -> tuple[float, float]:
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


def delta_lift(m_t: float, v_t: float, m_c: float, v_c: float, alpha: float = 0.05) -> tuple[float, float, float]:
    """Relative lift m_t/m_c - 1 and its delta-method interval; v_* are variances of the means."""
    if m_c == 0:
        return np.nan, np.nan, np.nan
    lift = m_t / m_c - 1
    se = np.sqrt(v_t / m_c**2 + m_t**2 * v_c / m_c**4)
    z = stats.norm.ppf(1 - alpha / 2)
    return float(lift), float(lift - z * se), float(lift + z * se)


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


def binary_effect(y_t: np.ndarray, y_c: np.ndarray, metric: str = "metric", arm: str = "treatment",
                  alpha: float = 0.05) -> Effect:
    """Rates, Newcombe interval, pooled z-test, delta-method lift and exact chance to beat control."""
    n_t, n_c = len(y_t), len(y_c)
    x_t, x_c = float(np.sum(y_t)), float(np.sum(y_c))
    p_t, p_c = x_t / n_t, x_c / n_c
    lo, hi = newcombe_interval(x_t, n_t, x_c, n_c, alpha)
    _, p = pooled_z_test(x_t, n_t, x_c, n_c)
    lift, llo, lhi = delta_lift(p_t, p_t * (1 - p_t) / n_t, p_c, p_c * (1 - p_c) / n_c, alpha)
    return Effect(metric, arm, "binary", n_t, n_c, p_t, p_c, p_t - p_c, float(lo), float(hi), p,
                  lift, llo, lhi, "Newcombe CI, pooled z-test", prob_beat_control(x_t, n_t, x_c, n_c), alpha)


def welch(y_t: np.ndarray, y_c: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """Welch's t-test: (difference, ci_low, ci_high, p-value)."""
    res = stats.ttest_ind(y_t, y_c, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    return float(np.mean(y_t) - np.mean(y_c)), float(ci.low), float(ci.high), float(res.pvalue)


def bootstrap_interval(y_t: np.ndarray, y_c: np.ndarray, alpha: float = 0.05, n_boot: int = 2000,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval for mean_t - mean_c (resampling each arm)."""
    rng = np.random.default_rng(seed)
    bt = np.array([rng.choice(y_t, len(y_t)).mean() for _ in range(n_boot)])
    bc = np.array([rng.choice(y_c, len(y_c)).mean() for _ in range(n_boot)])
    lo, hi = np.quantile(bt - bc, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def continuous_effect(y_t: np.ndarray, y_c: np.ndarray, metric: str = "metric", arm: str = "treatment",
                      alpha: float = 0.05, bootstrap: bool = False, seed: int = 0) -> Effect:
    """Means, Welch difference and interval (or bootstrap interval), delta-method lift."""
    d, lo, hi, p = welch(y_t, y_c, alpha)
    method = "Welch t-test"
    if bootstrap:
        lo, hi = bootstrap_interval(y_t, y_c, alpha, seed=seed)
        method = "Welch p-value, bootstrap CI"
    m_t, m_c = float(np.mean(y_t)), float(np.mean(y_c))
    v_t, v_c = np.var(y_t, ddof=1) / len(y_t), np.var(y_c, ddof=1) / len(y_c)
    lift, llo, lhi = delta_lift(m_t, v_t, m_c, v_c, alpha)
    return Effect(metric, arm, "continuous", len(y_t), len(y_c), m_t, m_c, d, lo, hi, p, lift, llo, lhi,
                  method, prob_beat_control_normal(d, float(np.sqrt(v_t + v_c))), alpha)


@dataclass
class CupedResult:
    """CUPED-adjusted comparison next to the unadjusted one."""

    metric: str
    arm: str
    theta: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    unadjusted_ci_width: float
    variance_reduction: float

    def as_row(self) -> dict:
        return dict(self.__dict__)


def cuped_theta(y: np.ndarray, x: np.ndarray) -> float:
    """theta = cov(y, x) / var(x), both with ddof=1, over the pooled units."""
    vx = np.var(x, ddof=1)
    return float(np.cov(y, x, ddof=1)[0, 1] / vx) if vx > 0 else 0.0


def cuped_effect(y_t: np.ndarray, y_c: np.ndarray, x_t: np.ndarray, x_c: np.ndarray, metric: str = "metric",
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
    return CupedResult(metric, arm, theta, d, lo, hi, p, uhi - ulo, float(vr))


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


# ------------------------------------------------------------------ power


def power_two_sample(delta: float, sd_t: float, sd_c: float, n_t: float, n_c: float, alpha: float = 0.05) -> float:
    """Power of a two-sided normal test for a difference ``delta`` (both tails counted)."""
    se = np.sqrt(sd_t**2 / n_t + sd_c**2 / n_c)
    z = stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.sf(z - abs(delta) / se) + stats.norm.cdf(-z - abs(delta) / se))


def mde_binary(p_c: float, n_t: int, n_c: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest absolute increase in a rate detectable with ``power`` at these sample sizes."""
    def f(d: float) -> float:
        p_t = min(p_c + d, 1 - 1e-12)
        return power_two_sample(d, np.sqrt(p_t * (1 - p_t)), np.sqrt(p_c * (1 - p_c)), n_t, n_c, alpha) - power
    hi = 1 - p_c - 1e-9
    if hi <= 0 or f(hi) < 0:
        return np.nan
    return float(optimize.brentq(f, 1e-12, hi, xtol=1e-12))


def mde_continuous(sd: float, n_t: int, n_c: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest absolute difference in means detectable with ``power`` (common sd)."""
    return float(optimize.brentq(lambda d: power_two_sample(d, sd, sd, n_t, n_c, alpha) - power,
                                 1e-12 * max(sd, 1e-12), 100 * max(sd, 1e-12), xtol=1e-14))


def sample_size_binary(p_c: float, relative_lift: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Users needed per arm to detect a relative lift in a rate (two-sided, equal arms)."""
    p_t = p_c * (1 + relative_lift)
    if not 0 < p_c < 1 or not 0 < p_t < 1:
        raise ConfigError(f"Rates must lie in (0, 1): control {p_c}, target {p_t}")
    s_t, s_c = np.sqrt(p_t * (1 - p_t)), np.sqrt(p_c * (1 - p_c))
    n = optimize.brentq(lambda n: power_two_sample(p_t - p_c, s_t, s_c, n, n, alpha) - power, 1.0, 1e12,
                        xtol=1e-9)
    return int(np.ceil(n))


def sample_size_continuous(mean_c: float, sd: float, relative_lift: float, alpha: float = 0.05,
                           power: float = 0.8) -> int:
    """Users needed per arm to detect a relative lift in a mean (two-sided, equal arms, common sd)."""
    delta = mean_c * relative_lift
    if delta == 0 or sd <= 0:
        raise ConfigError("Need a non-zero target difference and a positive standard deviation.")
    n = optimize.brentq(lambda n: power_two_sample(delta, sd, sd, n, n, alpha) - power, 1.0, 1e12, xtol=1e-9)
    return int(np.ceil(n))


# ------------------------------------------------------------------ multiple comparisons


def adjust_pvalues(p: pd.Series | np.ndarray, correction: str | None, alpha: float = 0.05) -> np.ndarray:
    """P-values adjusted for multiple comparisons: holm, fdr_bh, bonferroni or none.

    Missing p-values (skipped comparisons) stay missing and do not count in the family.
    """
    method = check_correction(correction)
    arr = np.asarray(p, dtype=float)
    out = np.full(arr.shape, np.nan)
    ok = ~np.isnan(arr)
    if not ok.any():
        return out
    out[ok] = arr[ok] if method == "none" else multipletests(arr[ok], alpha=alpha, method=method)[1]
    return out


def check_correction(correction: str | None) -> str:
    """Normalise the ``correction`` option (None or False means 'none')."""
    if correction in (None, False, "none", "None", ""):
        return "none"
    if correction not in CORRECTIONS:
        raise ConfigError(f"correction must be one of {', '.join(CORRECTIONS)}, got '{correction}'")
    return str(correction)


# ------------------------------------------------------------------ sequential (always-valid) inference


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


def sequential_p_value(diff, var_diff, n_total, alpha: float = 0.05, tuning: float = 5000):
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
                      seq_p_value=sequential_p_value(eff["diff"], eff["var_diff"], n, alpha, tuning))


# ------------------------------------------------------------------ ROI


@dataclass
class ROISettings:
    """Money settings for the ROI table; see the module docstring for the definitions.

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


def roi_table(d: pd.DataFrame, spec: ExperimentSpec, settings: ROISettings, alpha: float = 0.05) -> pd.DataFrame:
    """Incremental profit per treated user, total incremental profit and ROI per treatment arm.

    value_per_user: mean value v; incremental_value_per_user = mean v_t - mean v_c;
    incremental_cost_per_user = cost_t - cost_c; profit_per_user = the difference of the two,
    with a normal (delta-method) interval, se = sqrt(var(v_t)/n_t + var(v_c)/n_c);
    total_profit = n_t x profit_per_user (interval likewise); roi = profit_per_user /
    incremental_cost_per_user (the return per unit of extra cost; NaN without extra cost).
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
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ the analysis


@dataclass
class ExperimentResult:
    """Everything notebook 04 shows, in tables, plus the decision (statsmodels style).

    Attributes
    ----------
    effects : every treatment arm against control per metric, with ``p_adjusted`` (across
        the arms, per metric), ``significant`` and, for the primary metric with
        ``sequential``, the always-valid interval and p-value.
    pairwise : treatment arms against each other (more than one treatment arm).
    segments : per-segment effects; ``status`` says which cells were skipped as too small.
    sizes : group sizes overall and for every segment column.
    roi : incremental profit and ROI per arm (empty without costs).
    options : the options :func:`analyse` was called with.
    """

    spec: ExperimentSpec
    srm: SRMResult
    srm_segments: pd.DataFrame
    balance: pd.DataFrame
    sizes: pd.DataFrame
    effects: pd.DataFrame
    cuped: pd.DataFrame
    segments: pd.DataFrame
    power: pd.DataFrame
    alpha: float
    notes: list[str] = field(default_factory=list)
    pairwise: pd.DataFrame = field(default_factory=pd.DataFrame)
    roi: pd.DataFrame = field(default_factory=pd.DataFrame)
    options: dict = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return self.options.get("primary_metric") or self.spec.metrics[0]

    def decision(self, primary: str | None = None) -> Decision:
        """The decision on the primary metric under the one decision rule (:func:`decide`)."""
        return decide(self, primary or self.primary)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every exported table by name (the files under ``tables/``)."""
        return {"srm": self.srm.table.reset_index(), "srm_segments": self.srm_segments, "balance": self.balance,
                "group_sizes": self.sizes, "effects": self.effects, "pairwise": self.pairwise,
                "cuped": self.cuped, "segment_effects": self.segments, "power": self.power, "roi": self.roi}


def _effect(df_t: pd.DataFrame, df_c: pd.DataFrame, metric: str, arm: str, kind: str, alpha: float,
            bootstrap: bool, seed: int) -> dict:
    y_t, y_c = df_t[metric].to_numpy(float), df_c[metric].to_numpy(float)
    e = binary_effect(y_t, y_c, metric, arm, alpha) if kind == "binary" else \
        continuous_effect(y_t, y_c, metric, arm, alpha, bootstrap, seed)
    row = e.as_row()
    if kind == "binary":
        row["var_diff"] = e.mean_treatment * (1 - e.mean_treatment) / e.n_treatment \
            + e.mean_control * (1 - e.mean_control) / e.n_control
    else:
        row["var_diff"] = np.var(y_t, ddof=1) / len(y_t) + np.var(y_c, ddof=1) / len(y_c)
    return row


def _segment_effects(d: pd.DataFrame, spec: ExperimentSpec, kinds: dict, arms: list[str], alpha: float,
                     correction: str, seed: int) -> pd.DataFrame:
    v = spec.variant_column
    rows = []
    for col in spec.segment_columns:
        for seg, g in d.groupby(col, sort=True):
            gc = g[g[v] == spec.control_label]
            for a in arms:
                gt = g[g[v] == a]
                small = min(len(gt), len(gc)) < MIN_CELL_USERS
                for m in spec.metrics:
                    base = {"segment_column": col, "segment": seg, "arm": a, "metric": m}
                    if small:
                        rows.append({**base, "kind": kinds[m], "n_treatment": len(gt), "n_control": len(gc),
                                     "status": f"too small: skipped ({len(gt)} users in {a}, {len(gc)} in "
                                               f"{spec.control_label}; fewer than {MIN_CELL_USERS})"})
                    else:
                        rows.append({**base, **_effect(gt, gc, m, a, kinds[m], alpha, False, seed), "status": "ok"})
    segs = pd.DataFrame(rows)
    if len(segs):
        first = ["segment_column", "segment", "arm", "metric", "kind", "status", "n_treatment", "n_control"]
        segs = segs[first + [c for c in segs.columns if c not in first]]
        segs["p_adjusted"] = adjust_pvalues(segs["p_value"], correction, alpha)
        segs["significant_adjusted"] = segs["p_adjusted"] < alpha
    return segs


def _pairwise(d: pd.DataFrame, spec: ExperimentSpec, kinds: dict, arms: list[str], alpha: float,
              correction: str, seed: int) -> pd.DataFrame:
    v = spec.variant_column
    rows = []
    for a, b in combinations(arms, 2):
        for m in spec.metrics:
            r = _effect(d[d[v] == a], d[d[v] == b], m, a, kinds[m], alpha, False, seed)
            rows.append({**r, "versus": b})
    out = pd.DataFrame(rows)
    if len(out):
        out = out.rename(columns={"mean_control": "mean_versus", "n_control": "n_versus",
                                  "prob_beat_control": "prob_beat_versus"})
        out["p_adjusted"] = np.nan
        for _m, idx in out.groupby("metric").groups.items():
            out.loc[idx, "p_adjusted"] = adjust_pvalues(out.loc[idx, "p_value"], correction, alpha)
        first = ["arm", "versus", "metric"]
        out = out[first + [c for c in out.columns if c not in first]]
    return out


def _power_rows(d: pd.DataFrame, spec: ExperimentSpec, kinds: dict, arms: list[str], alpha: float, power: float,
                target_lift: float) -> list[dict]:
    v = spec.variant_column
    ctrl = d[d[v] == spec.control_label]
    pw = []
    for a in arms:
        t = d[d[v] == a]
        for m in spec.metrics:
            if kinds[m] == "binary":
                pc = ctrl[m].mean()
                mde = mde_binary(pc, len(t), len(ctrl), alpha, power)
                need = sample_size_binary(pc, target_lift, alpha, power) \
                    if 0 < pc < 1 and pc * (1 + target_lift) < 1 else np.nan
                base = pc
            else:
                sd = float(np.sqrt((t[m].var(ddof=1) + ctrl[m].var(ddof=1)) / 2))
                base = ctrl[m].mean()
                mde = mde_continuous(sd, len(t), len(ctrl), alpha, power) if sd > 0 else np.nan
                need = sample_size_continuous(base, sd, target_lift, alpha, power) if sd > 0 and base != 0 else np.nan
            pw.append({"arm": a, "metric": m, "kind": kinds[m], "control_mean": base, "n_treatment": len(t),
                       "n_control": len(ctrl), "mde_abs": mde, "mde_relative": mde / base if base else np.nan,
                       "target_lift": target_lift, "n_per_arm_for_target": need})
    return pw


def analyse(df: pd.DataFrame, spec: ExperimentSpec, *, alpha: float = 0.05, power: float = 0.8,
            correction: str | None = "holm", cap_percentile: float | None = None, cap_ignore_zeros: bool = True,
            bootstrap: bool = False, target_lift: float = 0.05, seed: int = 0, primary_metric: str | None = None,
            higher_is_better: bool = True, roi: ROISettings | None = None, sequential: bool = False,
            sequential_tuning: float = 5000) -> ExperimentResult:
    """Validate, check and estimate every treatment arm against control, overall and per segment.

    Every option is keyword-only.

    Parameters
    ----------
    df : DataFrame
        One row per user (see :class:`ExperimentSpec`).
    spec : ExperimentSpec
        Which column holds what.
    alpha : float
        Significance level for tests and 1 - alpha intervals.
    power : float
        Power for the MDE and the sample-size plan.
    correction : {'holm', 'fdr_bh', 'bonferroni', 'none'}
        Multiple-comparison correction across the arms (per metric), across the
        segment cells and across the treatment pairs.
    cap_percentile, cap_ignore_zeros : optional
        Cap continuous metrics at this percentile (of non-zero values by default).
    bootstrap : bool
        Percentile bootstrap intervals for continuous metrics.
    target_lift : float
        Relative lift for the sample-size plan.
    seed : int
        Seed of the bootstrap.
    primary_metric : str, optional
        The metric the decision is about (default: the first metric).
    higher_is_better : bool
        Direction in which the primary metric is favourable.
    roi : ROISettings, optional
        Costs and values for the ROI table.
    sequential : bool
        Use always-valid inference (confidence sequences) for the primary metric's decision.
    sequential_tuning : float
        Expected total sample size of the comparison (users in the arm plus control).

    Returns
    -------
    ExperimentResult
    """
    correction = check_correction(correction)
    d = validate(df, spec)
    primary = primary_metric or spec.metrics[0]
    if primary not in spec.metrics:
        raise ConfigError(f"primary_metric '{primary}' is not among the metrics {spec.metrics}")
    notes: list[str] = []
    if cap_percentile:
        for m in spec.continuous_metrics:
            d[m], cap = cap_values(d[m], cap_percentile, cap_ignore_zeros)
            notes.append(f"'{m}' capped at its {cap_percentile:g}th percentile"
                         f"{' of non-zero values' if cap_ignore_zeros else ''}: {cap:,.2f}.")
    v = spec.variant_column
    ctrl = d[d[v] == spec.control_label]
    arms = treatment_arms(d, spec)
    kinds = {**{m: "binary" for m in spec.binary_metrics}, **{m: "continuous" for m in spec.continuous_metrics}}

    effects = pd.DataFrame([_effect(d[d[v] == a], ctrl, m, a, kinds[m], alpha, bootstrap, seed)
                            for a in arms for m in spec.metrics])
    effects["p_adjusted"] = np.nan
    for _m, idx in effects.groupby("metric").groups.items():
        effects.loc[idx, "p_adjusted"] = adjust_pvalues(effects.loc[idx, "p_value"], correction, alpha)
    effects["significant"] = effects["p_adjusted"] < alpha
    if sequential:
        seq = _sequential_columns(effects[effects["metric"] == primary], alpha, sequential_tuning)
        effects = effects.join(seq[["seq_ci_low", "seq_ci_high", "seq_p_value"]])
        effects["seq_p_adjusted"] = np.nan
        effects.loc[seq.index, "seq_p_adjusted"] = adjust_pvalues(seq["seq_p_value"], correction, alpha)
        notes.append(f"Sequential looks: {primary} is judged with always-valid confidence sequences "
                     f"(tuned for {sequential_tuning:,.0f} users per comparison).")

    cuped = []
    if spec.covariate:
        for a in arms:
            t = d[d[v] == a]
            for m in spec.metrics:
                r = cuped_effect(t[m].to_numpy(float), ctrl[m].to_numpy(float), t[spec.covariate].to_numpy(float),
                                 ctrl[spec.covariate].to_numpy(float), m, a, alpha).as_row()
                cuped.append({**r, "kind": kinds[m]})
    segs = _segment_effects(d, spec, kinds, arms, alpha, correction, seed)
    if len(segs) and (segs["status"] != "ok").any():
        n_skip = int((segs.drop_duplicates(["segment_column", "segment", "arm"])["status"] != "ok").sum())
        notes.append(f"{n_skip} segment x arm cell(s) have fewer than {MIN_CELL_USERS} users in an arm: "
                     "reported as too small and skipped.")
    srm_seg = pd.concat([srm_by_segment(d, spec, c) for c in spec.segment_columns], ignore_index=True) \
        if spec.segment_columns else pd.DataFrame()
    bal = balance(d, spec, [spec.covariate]) if spec.covariate else pd.DataFrame()
    options = {"alpha": alpha, "power": power, "correction": correction, "cap_percentile": cap_percentile,
               "cap_ignore_zeros": cap_ignore_zeros, "bootstrap": bootstrap, "target_lift": target_lift,
               "seed": seed, "primary_metric": primary, "higher_is_better": higher_is_better,
               "sequential": sequential, "sequential_tuning": sequential_tuning, "roi": roi}
    return ExperimentResult(spec, srm_test(d[v], spec.planned_split), srm_seg, bal, all_group_sizes(d, spec),
                            effects, pd.DataFrame(cuped), segs,
                            pd.DataFrame(_power_rows(d, spec, kinds, arms, alpha, power, target_lift)), alpha, notes,
                            _pairwise(d, spec, kinds, arms, alpha, correction, seed),
                            roi_table(d, spec, roi, alpha) if roi is not None else pd.DataFrame(), options)


# ------------------------------------------------------------------ the decision


@dataclass
class Decision:
    """The decision on the primary metric under the one decision rule.

    ``winner`` is None unless an arm's adjusted p-value is below alpha, its effect is
    favourable and no SRM is flagged. ``reasons`` says why there is no winner, as codes
    with their facts, ``(code, facts)``; the report puts them in words
    (:func:`customer_analytics.report.text.experiments.decision_reasons`).
    """

    primary: str
    winner: str | None
    reasons: list[tuple[str, dict]]
    candidates: pd.DataFrame


def treatment_arms_of(res: ExperimentResult) -> list[str]:
    return sorted(res.effects["arm"].unique()) if len(res.effects) else []


def decide(res: ExperimentResult, primary: str | None = None) -> Decision:
    """Apply the decision rule to the primary metric (the rule in words: report.text.experiments.decision_rule).

    Returns the winner, or reason codes with their facts: ``srm``, ``adjusted``, ``wrong_way``,
    ``undetectable``, ``underpowered``, ``null``.
    """
    primary = primary or res.primary
    if primary not in res.spec.metrics:
        raise ConfigError(f"primary_metric '{primary}' is not among the metrics {res.spec.metrics}")
    o = res.options
    eff = res.effects[res.effects["metric"] == primary].set_index("arm")
    p_col = "seq_p_adjusted" if o.get("sequential") and "seq_p_adjusted" in eff else "p_adjusted"
    raw_col = "seq_p_value" if p_col == "seq_p_adjusted" else "p_value"
    sign = 1 if o.get("higher_is_better", True) else -1
    favourable = sign * eff["diff"] > 0
    passed = eff[(eff[p_col] < res.alpha) & favourable]
    reasons = []
    winner = None
    if res.srm.flagged:
        reasons.append(("srm", {"srm_p": res.srm.p_value}))
    elif len(passed):
        winner = str((sign * passed["diff"]).idxmax())
    if winner is None and not res.srm.flagged:
        corr = o.get("correction", "holm")
        for arm, e in eff.iterrows():
            if e[raw_col] < res.alpha and favourable[arm] and e[p_col] >= res.alpha:
                reasons.append(("adjusted", {"arm": arm, "p": e[raw_col], "p_adjusted": e[p_col], "correction": corr,
                                             "k": len(eff)}))
            elif e[p_col] < res.alpha and not favourable[arm]:
                reasons.append(("wrong_way", {"arm": arm, "metric": primary, "p_adjusted": e[p_col]}))
        pw = res.power[res.power["metric"] == primary].set_index("arm")
        kind = eff["kind"].iloc[0] if len(eff) else "binary"
        # only arms without a significant result can be under-powered; a significant harm is a finding
        open_arms = [a for a in eff.index if a in pw.index and eff.loc[a, p_col] >= res.alpha]
        under = [(a, pw.loc[a, "mde_abs"], pw.loc[a, "mde_relative"]) for a in open_arms
                 if pd.notna(pw.loc[a, "mde_abs"]) and abs(eff.loc[a, "diff"]) < pw.loc[a, "mde_abs"]]
        undetectable = [a for a in open_arms if pd.isna(pw.loc[a, "mde_abs"])]
        if undetectable and not under:
            reasons.append(("undetectable", {"metric": primary}))
        if under:
            a, mde, rel = under[0]
            reasons.append(("underpowered", {"kind": kind, "mde": mde, "relative": rel,
                                             "power": res.options.get("power", 0.8)}))
        if not reasons:
            reasons.append(("null", {}))
    return Decision(primary, winner, reasons, eff.reset_index())


def _segment_claims(res: ExperimentResult, primary: str, arm: str | None = None) -> pd.DataFrame:
    if not len(res.segments):
        return pd.DataFrame()
    s = res.segments[(res.segments["metric"] == primary) & (res.segments["status"] == "ok")]
    sign = 1 if res.options.get("higher_is_better", True) else -1
    s = s[s["significant_adjusted"] & (sign * s["diff"] > 0)]
    return s[s["arm"] == arm] if arm else s


def segment_claims(res: ExperimentResult, primary: str | None = None, arm: str | None = None) -> pd.DataFrame:
    """Segment cells where an arm is proven to work on the primary metric.

    A claim needs the per-segment adjusted p-value below alpha and a favourable effect
    (the same rule as the decision, applied per segment cell).
    """
    return _segment_claims(res, primary or res.primary, arm)


#: The words of :func:`derive_outcomes`' note when outcome windows run past the period end.
OPEN_WINDOW_NOTE = "outcomes are incomplete"


def window_open(notes: list[str]) -> bool:
    """Whether the experiment's notes say some outcome windows end after the period end."""
    return any(OPEN_WINDOW_NOTE in str(n) for n in notes or [])


def headline_figures(res: ExperimentResult | None, primary: str | None = None) -> dict:
    """The figures notebook 04 records for the index, from the same decision as the summary."""
    if res is None:
        return {"winner": "n/a", "srm_flag": None}
    dec = decide(res, primary)
    out = {"winner": dec.winner or "none", "srm_flag": bool(res.srm.flagged), "primary_metric": dec.primary}
    if dec.winner:
        e = dec.candidates.set_index("arm").loc[dec.winner]
        out["winner_lift"] = float(e["lift"])
        out["winner_p_adjusted"] = float(e["p_adjusted"])
    if len(res.roi) and dec.winner:
        out["winner_roi"] = float(res.roi.set_index("arm").loc[dec.winner, "roi"])
    return out


# ------------------------------------------------------------------ parameters


LIST_PARAMS = ("binary_metrics", "continuous_metrics", "segment_columns")
MAPPING_PARAMS = ("planned_split", "cost_per_user")


def parse_list_param(name: str, value) -> list[str]:
    """A list parameter as a list of names; strings holding JSON or YAML lists are parsed.

    Raises
    ------
    ConfigError
        For anything else, showing the expected form.
    """
    if value is None:
        return []
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                parsed = value
    if isinstance(parsed, (list, tuple)) and all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in parsed):
        return [str(x) for x in parsed]
    raise ConfigError(f"Parameter '{name}' must be a list of column names, e.g. {name}: [visit, conversion] in "
                      f"YAML or in the notebook's settings, or the string '[\"visit\", \"conversion\"]'; got {value!r}")


def parse_mapping_param(name: str, value) -> dict | None:
    """A mapping parameter (arm -> number); strings holding JSON or YAML mappings are parsed."""
    if value is None:
        return None
    parsed = value
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)  # JSON is YAML
        except yaml.YAMLError:
            parsed = value
    if isinstance(parsed, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                        for v in parsed.values()):
        return {str(k): float(v) for k, v in parsed.items()}
    raise ConfigError(f"Parameter '{name}' must map arms to numbers, e.g. {name}: {{control: 0.5, offer_a: 0.5}} in "
                      f"YAML, or -p {name} '{{\"control\": 0.5, \"offer_a\": 0.5}}' with papermill; got {value!r}")


def coerce_params(p: dict) -> dict:
    """The experiment parameters with list and mapping parameters parsed (see :func:`parse_list_param`)."""
    out = dict(p)
    for k in LIST_PARAMS:
        if k in out:
            out[k] = parse_list_param(k, out[k])
    for k in MAPPING_PARAMS:
        if k in out:
            out[k] = parse_mapping_param(k, out[k])
    if out.get("user_column") in ("", "null", "None"):
        out["user_column"] = None
    return out


def roi_settings(p: dict, spec: ExperimentSpec) -> ROISettings | None:
    """ROI settings from the experiment parameters; None when no ``cost_per_user`` is given.

    The conversion metric defaults to the primary metric when it is binary (else the first
    binary metric); the revenue metric to the first continuous metric.
    """
    if not p.get("cost_per_user"):
        return None
    prim = p.get("primary_metric")
    conv = p.get("conversion_metric") or (prim if prim in spec.binary_metrics else
                                          (spec.binary_metrics[0] if spec.binary_metrics else None))
    rev = p.get("revenue_metric") or (spec.continuous_metrics[0] if spec.continuous_metrics else None)
    return ROISettings(p["cost_per_user"], p.get("value_per_conversion"), conv, p.get("margin"), rev)


def analysis_options(p: dict, spec: ExperimentSpec, seed: int) -> dict:
    """Keyword options for :func:`analyse` from the experiment parameters (config section ``experiment``)."""
    return {"alpha": p["alpha"], "power": p["power"], "correction": p["correction"],
            "cap_percentile": p["cap_percentile"], "cap_ignore_zeros": p["cap_ignore_zeros"],
            "bootstrap": p["bootstrap"], "target_lift": p["target_lift"], "seed": seed,
            "primary_metric": p["primary_metric"], "higher_is_better": p.get("higher_is_better", True),
            "roi": roi_settings(p, spec), "sequential": bool(p.get("sequential")),
            "sequential_tuning": p.get("sequential_tuning") or 5000}


# ------------------------------------------------------------------ mode (b): from transactions


def outcomes_expr(t, a):
    """Per assigned customer: net cents and distinct orders in the outcome window, net cents before it.

    One ibis expression: the transaction lines joined with the assignments on customer_id, then
    summed per customer.

    Parameters
    ----------
    t : ibis Table
        Transaction lines with customer_id, order_id, order_date and amount.
    a : ibis Table
        One row per assigned customer: customer_id, exposure, window_end (exposure + the window)
        and pre_start (exposure - the pre-period), all timestamps.

    Returns
    -------
    ibis Table
        customer_id, revenue_cents (net amount of the lines dated in [exposure, window_end), in
        integer cents, each line rounded to whole cents), orders (distinct order ids in that
        window) and pre_cents (net cents in [pre_start, exposure)), for the assigned customers
        with at least one line; missing sums are 0.
    """
    lines = t.select(customer_id=t.customer_id.cast("string"), order_id=t.order_id, order_date=t.order_date,
                     cents=engine.cents(t.amount))
    j = lines.join(a, "customer_id")
    in_win = (j.order_date >= j.exposure) & (j.order_date < j.window_end)
    pre = (j.order_date < j.exposure) & (j.order_date >= j.pre_start)
    return j.group_by("customer_id").aggregate(revenue_cents=j.cents.sum(where=in_win).fill_null(0),
                                               orders=j.order_id.nunique(where=in_win),
                                               pre_cents=j.cents.sum(where=pre).fill_null(0))


def derive_outcomes(assignments: pd.DataFrame, tx, window_days: int = 28,
                    as_of: str | pd.Timestamp | None = None, user_column: str = "customer_id",
                    variant_column: str = "variant", exposure_column: str = "exposure_date",
                    pre_days: int = 90, con=None) -> tuple[pd.DataFrame, list[str]]:
    """Per-customer outcomes in the window after exposure, from clean transactions.

    Outcomes: ``converted`` (any purchase in [exposure, exposure + window_days)),
    ``revenue`` (net amount in the window), ``orders`` (distinct orders in the window)
    and the covariate ``pre_revenue`` (net amount in the ``pre_days`` before exposure).
    Money is summed in whole cents (each line rounded to the cent) and shown in currency units.

    The assignments are checked in pandas (a small table); the join with the transactions and
    the window sums run in the engine (:func:`outcomes_expr`; an embedded DuckDB unless ``con``
    names another engine), and only the per-customer sums come back.

    Parameters
    ----------
    assignments : DataFrame
        One row per customer: user, variant and exposure date columns.
    tx : DataFrame or ibis Table
        Clean transactions (customer_id, order_id, order_date, amount); an ibis table must live
        in ``con``.
    window_days, pre_days : int
        Length of the outcome window after exposure and of the pre-period before it.
    as_of : date-like, optional
        The period end: a note says so when outcome windows end after it.
    user_column, variant_column, exposure_column : str
        The assignment table's columns.
    con : ibis backend, optional
        The engine (:func:`customer_analytics.core.engine.connect`).

    Returns
    -------
    (DataFrame, list of str)
        customer_id, variant, exposure, revenue, orders, converted, pre_revenue in the
        assignments' order, and notes (for example an outcome window that runs past ``as_of``).

    Raises
    ------
    InputError
        A missing column, an unparseable exposure date or a customer assigned twice.
    """
    for col in (user_column, variant_column, exposure_column):
        if col not in assignments:
            raise InputError(f"Assignment table lacks column '{col}'; columns found: {list(assignments.columns)}")
    a = assignments[[user_column, variant_column, exposure_column]].copy()
    a.columns = ["customer_id", "variant", "exposure"]
    a["customer_id"] = a["customer_id"].astype(str).str.strip()
    a["exposure"] = pd.to_datetime(a["exposure"], errors="coerce")
    if a["exposure"].isna().any():
        raise InputError(f"Column '{exposure_column}' has {int(a['exposure'].isna().sum())} unparseable date(s).")
    dup = a["customer_id"].duplicated(keep=False)
    if dup.any():
        raise InputError(f"{int(dup.sum())} assignment rows share a customer id (e.g. {a.loc[dup, 'customer_id'].iloc[0]}).")
    notes = []
    end = a["exposure"].max() + pd.Timedelta(days=window_days)
    if as_of is not None and end > pd.Timestamp(as_of) + pd.Timedelta(days=1):
        notes.append(f"The outcome window of the last exposures ends {end.date()}, after the period end "
                     f"{pd.Timestamp(as_of).date()}: {OPEN_WINDOW_NOTE}.")
    con = con if con is not None else engine.connect()
    lines = tx if not isinstance(tx, pd.DataFrame) else engine.table(
        con, tx[["customer_id", "order_id", "order_date", "amount"]])
    windows = engine.table(con, pd.DataFrame({
        "customer_id": a["customer_id"].to_numpy(dtype=object), "exposure": a["exposure"],
        "window_end": a["exposure"] + pd.Timedelta(days=window_days),
        "pre_start": a["exposure"] - pd.Timedelta(days=pre_days)}))
    sums = con.execute(outcomes_expr(lines, windows))
    sums = sums.assign(customer_id=sums["customer_id"].astype(str)).set_index("customer_id")
    out = a.set_index("customer_id")
    out["revenue"] = sums["revenue_cents"].reindex(out.index).fillna(0).astype("float64") / 100
    out["orders"] = sums["orders"].reindex(out.index).fillna(0).astype(float)
    out["converted"] = (out["orders"] > 0).astype(float)
    out["pre_revenue"] = sums["pre_cents"].reindex(out.index).fillna(0).astype("float64") / 100
    return out.reset_index(), notes

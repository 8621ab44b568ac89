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
- **CUPED**: theta = cov(y, x) / var(x) over both arms pooled;
  y_adj = y - theta (x - mean(x)); the difference of adjusted means with a Welch
  interval; variance reduction = 1 - var(y_adj) / var(y).
- **Chance to beat control** (binary): P(p_t > p_c) under independent
  Beta(1 + successes, 1 + failures) posteriors (flat prior), by seeded Monte Carlo.
- **Multiple comparisons**: per-segment p-values adjusted by Holm (default) or
  Benjamini-Hochberg across every segment x arm x metric.
- **Minimum detectable effect (MDE)**: the smallest absolute difference detected with the
  given power by a two-sided normal test at the given alpha and sample sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from customer_analytics.errors import ConfigError, InputError
from customer_analytics.markup import esc

SRM_ALPHA = 0.001
SMD_LIMIT = 0.1
MIN_GROUP = 30


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
        values, an empty segment, or a duplicate user id. Messages name the column
        and show examples.
    """
    needed = [spec.variant_column, *spec.metrics, *spec.segment_columns]
    needed += [c for c in (spec.user_column, spec.covariate) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"Experiment table lacks column(s) {missing}; columns found: {list(df.columns)}")
    if not spec.metrics:
        raise ConfigError("No metrics given: set binary_metrics and/or continuous_metrics.")
    arms = df[spec.variant_column].astype(str)
    found = sorted(arms.unique())
    if spec.control_label not in found:
        raise InputError(
            f"Control label '{spec.control_label}' is not in column '{spec.variant_column}'; "
            f"labels found: {found}"
        )
    if len(found) < 2:
        raise InputError(f"Column '{spec.variant_column}' has a single arm ({found}); an experiment needs two or more.")
    if spec.user_column:
        dup = df[spec.user_column].duplicated(keep=False)
        if dup.any():
            ex = df.loc[dup, spec.user_column].unique()[:3].tolist()
            raise InputError(
                f"{int(dup.sum()):,} rows share a user id in '{spec.user_column}' (e.g. {ex}); "
                "each user must appear once in an experiment."
            )
    out = df.copy()
    out[spec.variant_column] = arms
    for col in [*spec.metrics, *([spec.covariate] if spec.covariate else [])]:
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() & df[col].notna()
        if bad.any():
            ex = [(i, v) for i, v in df.loc[bad, col].head(3).items()]
            raise InputError(f"Column '{col}' has {int(bad.sum()):,} non-numeric value(s), e.g. (row, value) {ex}")
        out[col] = num.astype(float)
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
    for col in spec.segment_columns:
        blank = out[col].isna() | out[col].astype(str).str.strip().eq("")
        if blank.any():
            raise InputError(f"Segment column '{col}' is empty for {int(blank.sum()):,} user(s); give every user a segment.")
        cells = pd.crosstab(out[col], out[spec.variant_column])
        empty = [(s, a) for s in cells.index for a in cells.columns if cells.loc[s, a] == 0]
        if empty:
            raise InputError(f"Segment column '{col}': segment '{empty[0][0]}' has no users in arm '{empty[0][1]}'"
                             + (f" (and {len(empty) - 1} more empty cells)" if len(empty) > 1 else ""))
    return out


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

    def summary(self) -> str:
        verdict = "SAMPLE RATIO MISMATCH: do not trust the results until the assignment is explained" \
            if self.flagged else "no sample-ratio mismatch"
        return f"SRM chi-square = {self.chi2:.2f}, p = {self.p_value:.4g}: {verdict}."


def srm_test(arms: pd.Series, planned: dict[str, float] | None = None) -> SRMResult:
    """Chi-square test of arm counts against the planned split (equal by default)."""
    counts = arms.value_counts().sort_index()
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
                          "share": (counts / counts.sum()).round(4)})
    return SRMResult(table.rename_axis("arm"), float(chi2), float(p))


def srm_by_segment(df: pd.DataFrame, spec: ExperimentSpec, segment: str) -> pd.DataFrame:
    """SRM p-value within each segment of ``segment``."""
    rows = []
    for seg, g in df.groupby(segment, sort=True):
        r = srm_test(g[spec.variant_column], spec.planned_split)
        rows.append({"segment": seg, "users": len(g), "chi2": round(r.chi2, 4), "p_value": r.p_value,
                     "flagged": r.flagged})
    return pd.DataFrame(rows).set_index("segment")


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
    fewer than 10 successes or 10 failures.
    """
    keys = [segment, spec.variant_column] if segment else [spec.variant_column]
    g = df.groupby(keys, sort=True)
    out = pd.DataFrame({"users": g.size()})
    warn = out["users"] < MIN_GROUP
    for m in spec.binary_metrics:
        succ = g[m].sum()
        out[f"{m}_successes"] = succ.astype(int)
        warn |= (succ < 10) | (out["users"] - succ < 10)
    out["warning"] = np.where(warn, "too small for the normal approximation", "")
    return out


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

    def summary(self) -> str:
        lvl = int(round((1 - self.alpha) * 100))
        return (f"{self.metric}, {self.arm} vs control: {self.mean_treatment:.4g} vs {self.mean_control:.4g}; "
                f"difference {self.diff:+.4g} ({lvl}% CI {self.ci_low:+.4g} to {self.ci_high:+.4g}), "
                f"p = {self.p_value:.3g}; relative lift {self.lift:+.1%} "
                f"({self.lift_ci_low:+.1%} to {self.lift_ci_high:+.1%}) [{self.method}]")


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


def prob_beat_control(x_t: float, n_t: int, x_c: float, n_c: int, draws: int = 200_000, seed: int = 0) -> float:
    """P(p_t > p_c) under Beta(1+x, 1+n-x) posteriors (flat prior), by seeded Monte Carlo."""
    rng = np.random.default_rng(seed)
    bt = rng.beta(1 + x_t, 1 + n_t - x_t, draws)
    bc = rng.beta(1 + x_c, 1 + n_c - x_c, draws)
    return float((bt > bc).mean())


def binary_effect(y_t: np.ndarray, y_c: np.ndarray, metric: str = "metric", arm: str = "treatment",
                  alpha: float = 0.05, seed: int = 0) -> Effect:
    """Rates, Newcombe interval, pooled z-test, delta-method lift and chance to beat control."""
    n_t, n_c = len(y_t), len(y_c)
    x_t, x_c = float(np.sum(y_t)), float(np.sum(y_c))
    p_t, p_c = x_t / n_t, x_c / n_c
    lo, hi = newcombe_interval(x_t, n_t, x_c, n_c, alpha)
    _, p = pooled_z_test(x_t, n_t, x_c, n_c)
    lift, llo, lhi = delta_lift(p_t, p_t * (1 - p_t) / n_t, p_c, p_c * (1 - p_c) / n_c, alpha)
    return Effect(metric, arm, "binary", n_t, n_c, p_t, p_c, p_t - p_c, float(lo), float(hi), p,
                  lift, llo, lhi, "Newcombe CI, pooled z-test", prob_beat_control(x_t, n_t, x_c, n_c, seed=seed),
                  alpha)


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
    lift, llo, lhi = delta_lift(m_t, np.var(y_t, ddof=1) / len(y_t), m_c, np.var(y_c, ddof=1) / len(y_c), alpha)
    return Effect(metric, arm, "continuous", len(y_t), len(y_c), m_t, m_c, d, lo, hi, p, lift, llo, lhi,
                  method, alpha=alpha)


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


# ------------------------------------------------------------------ the analysis


@dataclass
class ExperimentResult:
    """Everything notebook 04 shows, in tables, plus the plain-language summary."""

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

    def summary(self, primary: str | None = None) -> str:
        return decision_summary(self, primary or self.spec.metrics[0])


def _effect(df_t: pd.DataFrame, df_c: pd.DataFrame, metric: str, arm: str, kind: str, alpha: float,
            bootstrap: bool, seed: int) -> Effect:
    y_t, y_c = df_t[metric].to_numpy(float), df_c[metric].to_numpy(float)
    if kind == "binary":
        return binary_effect(y_t, y_c, metric, arm, alpha, seed)
    return continuous_effect(y_t, y_c, metric, arm, alpha, bootstrap, seed)


def analyse(df: pd.DataFrame, spec: ExperimentSpec, alpha: float = 0.05, power: float = 0.8,
            correction: str = "holm", cap_percentile: float | None = None, cap_ignore_zeros: bool = True,
            bootstrap: bool = False, target_lift: float = 0.05, seed: int = 0) -> ExperimentResult:
    """Validate, check and estimate every treatment arm against control, overall and per segment."""
    if correction not in ("holm", "fdr_bh"):
        raise ConfigError(f"correction must be 'holm' or 'fdr_bh', got '{correction}'")
    d = validate(df, spec)
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

    effects = [_effect(d[d[v] == a], ctrl, m, a, kinds[m], alpha, bootstrap, seed).as_row()
               for a in arms for m in spec.metrics]
    cuped = []
    if spec.covariate:
        for a in arms:
            t = d[d[v] == a]
            for m in spec.continuous_metrics:
                cuped.append(cuped_effect(t[m].to_numpy(float), ctrl[m].to_numpy(float),
                                          t[spec.covariate].to_numpy(float), ctrl[spec.covariate].to_numpy(float),
                                          m, a, alpha).as_row())
    seg_rows = []
    for col in spec.segment_columns:
        for seg, g in d.groupby(col, sort=True):
            gc = g[g[v] == spec.control_label]
            for a in arms:
                gt = g[g[v] == a]
                for m in spec.metrics:
                    e = _effect(gt, gc, m, a, kinds[m], alpha, False, seed).as_row()
                    seg_rows.append({"segment_column": col, "segment": seg, **e})
    segs = pd.DataFrame(seg_rows)
    if len(segs):
        segs["p_adjusted"] = multipletests(segs["p_value"].fillna(1.0), alpha=alpha, method=correction)[1]
        segs["significant_adjusted"] = segs["p_adjusted"] < alpha

    pw = []
    for a in arms:
        t = d[d[v] == a]
        for m in spec.metrics:
            if kinds[m] == "binary":
                pc = ctrl[m].mean()
                mde = mde_binary(pc, len(t), len(ctrl), alpha, power)
                need = sample_size_binary(pc, target_lift, alpha, power) if 0 < pc < 1 and pc * (1 + target_lift) < 1 else np.nan
                base = pc
            else:
                sd = float(np.sqrt((t[m].var(ddof=1) + ctrl[m].var(ddof=1)) / 2))
                base = ctrl[m].mean()
                mde = mde_continuous(sd, len(t), len(ctrl), alpha, power) if sd > 0 else np.nan
                need = sample_size_continuous(base, sd, target_lift, alpha, power) if sd > 0 and base != 0 else np.nan
            pw.append({"arm": a, "metric": m, "control_mean": base, "n_treatment": len(t), "n_control": len(ctrl),
                       "mde_abs": mde, "mde_relative": mde / base if base else np.nan,
                       "target_lift": target_lift, "n_per_arm_for_target": need})
    srm_seg = pd.concat([srm_by_segment(d, spec, c).assign(segment_column=c) for c in spec.segment_columns]) \
        if spec.segment_columns else pd.DataFrame()
    bal = balance(d, spec, [spec.covariate]) if spec.covariate else pd.DataFrame()
    return ExperimentResult(spec, srm_test(d[v], spec.planned_split), srm_seg, bal,
                            group_sizes(d, spec, spec.segment_columns[0] if spec.segment_columns else None),
                            pd.DataFrame(effects), pd.DataFrame(cuped), segs, pd.DataFrame(pw), alpha, notes)


def decision_summary(res: ExperimentResult, primary: str) -> str:
    """A short plain-language decision text generated from the numbers."""
    if primary not in res.spec.metrics:
        raise ConfigError(f"primary_metric '{primary}' is not among the metrics {res.spec.metrics}")
    lines = []
    if res.srm.flagged:
        lines.append("**Stop: the arms are not in the planned proportions (SRM p < 0.001).** "
                     "The assignment is broken; the numbers below are not trustworthy.")
    if len(res.balance) and res.balance["imbalanced"].any():
        bad = res.balance[res.balance["imbalanced"]]
        lines.append(f"Pre-period imbalance in {esc(', '.join(bad['arm'] + ': ' + bad['covariate']))} (|SMD| > 0.1): "
                     "prefer the CUPED-adjusted estimates.")
    eff = res.effects[res.effects["metric"] == primary].set_index("arm")
    pw = res.power[res.power["metric"] == primary].set_index("arm")
    lvl = int(round((1 - res.alpha) * 100))
    winners = eff[(eff["p_value"] < res.alpha) & (eff["diff"] > 0)]
    for arm_label, e in eff.iterrows():
        arm = esc(arm_label)  # labels come from the data: escaped before they enter Markdown
        ci = f"{e['diff']:+.4g} ({lvl}% CI {e['ci_low']:+.4g} to {e['ci_high']:+.4g})"
        if e["p_value"] < res.alpha:
            word = "raised" if e["diff"] > 0 else "lowered"
            lines.append(f"{arm} {word} {esc(primary)} by {ci}, p = {e['p_value']:.3g}; relative lift {e['lift']:+.1%}.")
        else:
            mde = pw.loc[arm_label, "mde_abs"] if arm_label in pw.index else np.nan
            if pd.notna(mde) and abs(e["ci_high"] - e["ci_low"]) / 2 > 0.5 * mde:
                lines.append(f"{arm}: inconclusive. The difference is {ci}, p = {e['p_value']:.3g}; with these sample "
                             f"sizes only effects of about {mde:.3g} or more would reliably be detected, so this is "
                             "not evidence of no effect.")
            else:
                lines.append(f"{arm}: no detectable effect on {esc(primary)}: {ci}, p = {e['p_value']:.3g}.")
    if len(winners):
        best = winners["diff"].idxmax()
        lines.insert(0 if not res.srm.flagged else 1, f"**Winner on {esc(primary)}: {esc(best)}.**")
    else:
        lines.insert(0 if not res.srm.flagged else 1, f"**No arm beat control on {esc(primary)}.**")
    if len(res.segments):
        s = res.segments[(res.segments["metric"] == primary)]
        sig = s[s["significant_adjusted"]]
        if len(sig):
            parts = [f"{esc(r.arm)} in {esc(r.segment)} ({r.diff:+.3g})" for r in sig.itertuples()]
            lines.append("Significant after multiple-comparison adjustment: " + "; ".join(parts) + ".")
        for arm, g in s.groupby("arm"):
            if len(g) > 1 and (g["ci_low"].max() > g["ci_high"].min()):
                lines.append(f"The effect of {esc(arm)} differs between segments (intervals do not all overlap: "
                             f"highest in {esc(g.loc[g['diff'].idxmax(), 'segment'])}, lowest in "
                             f"{esc(g.loc[g['diff'].idxmin(), 'segment'])}).")
    small = res.sizes[res.sizes["warning"] != ""]
    if len(small):
        lines.append(f"{len(small)} arm/segment group(s) are too small for the normal approximation; "
                     "treat their results as indicative.")
    nxt = ("Next: roll out the winner to the segments where it works, keep a hold-out to confirm."
           if len(winners) and not res.srm.flagged else
           "Next: fix the assignment and rerun." if res.srm.flagged else
           "Next: do not roll out; if the effect matters, rerun with the sample size in the planning table.")
    lines.append(nxt)
    return "\n\n".join(lines)


# ------------------------------------------------------------------ mode (b): from transactions


def derive_outcomes(assignments: pd.DataFrame, tx: pd.DataFrame, window_days: int = 28,
                    as_of: str | pd.Timestamp | None = None, user_column: str = "customer_id",
                    variant_column: str = "variant", exposure_column: str = "exposure_date",
                    pre_days: int = 90) -> tuple[pd.DataFrame, list[str]]:
    """Per-customer outcomes in the window after exposure, from clean transactions.

    Outcomes: ``converted`` (any purchase in [exposure, exposure + window_days)),
    ``revenue`` (net amount in the window), ``orders`` (distinct orders in the window)
    and the covariate ``pre_revenue`` (net amount in the ``pre_days`` before exposure).

    Returns the table and notes (for example an outcome window that runs past ``as_of``).
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
                     f"{pd.Timestamp(as_of).date()}: outcomes are incomplete.")
    t = tx[["customer_id", "order_id", "order_date", "amount"]].merge(a, on="customer_id")
    in_win = (t["order_date"] >= t["exposure"]) & (t["order_date"] < t["exposure"] + pd.Timedelta(days=window_days))
    pre = (t["order_date"] < t["exposure"]) & (t["order_date"] >= t["exposure"] - pd.Timedelta(days=pre_days))
    w = t[in_win].groupby("customer_id")
    out = a.set_index("customer_id")
    out["revenue"] = w["amount"].sum().reindex(out.index).fillna(0.0).round(2)
    out["orders"] = w["order_id"].nunique().reindex(out.index).fillna(0).astype(float)
    out["converted"] = (out["orders"] > 0).astype(float)
    out["pre_revenue"] = t[pre].groupby("customer_id")["amount"].sum().reindex(out.index).fillna(0.0).round(2)
    return out.reset_index(), notes

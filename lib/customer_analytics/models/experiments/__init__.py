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
- **Relative lift**: r - 1 with r = mean_t / mean_c (rates for a binary metric). Its interval
  is built on log r by the delta method and transformed back, so it never goes below -100%:
  se(log r) = sqrt(var(mean_t)/mean_t^2 + var(mean_c)/mean_c^2), which for rates is
  sqrt((1 - p_t)/(n_t p_t) + (1 - p_c)/(n_c p_c)) and for means sqrt(s_t^2/(n_t mean_t^2) +
  s_c^2/(n_c mean_c^2)); interval exp(log r -+ z se) - 1. CUPED uses the adjusted means and
  their variances. When either rate or mean is 0 or below the interval is not defined (NaN),
  and when control's is, neither is the lift.
- **Agreement of the two intervals** (``lift_ci_status``): ``ok`` when the difference
  interval and the relative-lift interval both exclude 0 or both include it; ``differs``
  when only one does (possible, as they are computed on different scales); ``undefined``
  when the relative interval is not defined. The decision uses the difference only.
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

The package, by job (each name below is importable from the package itself):

- :mod:`.spec`: the table's layout (:class:`ExperimentSpec`) and :func:`validate`;
- :mod:`.checks`: sample-ratio mismatch, balance, group sizes;
- :mod:`.estimators`: :class:`Effect`, its intervals and p-values, chance to beat control, CUPED, capping;
- :mod:`.planning`: power, minimum detectable effects, sample sizes;
- :mod:`.multitest`: the correction option and adjusted p-values;
- :mod:`.sequential`: confidence sequences and always-valid p-values;
- :mod:`.roi`: :class:`ROISettings` and the ROI table;
- :mod:`.decision`: :class:`ExperimentResult`, :class:`Decision` with its reason codes, segment claims;
- :mod:`.params`: the config section ``experiment`` parsed into options;
- :mod:`.outcomes`: outcomes per customer from transactions, in the engine (:func:`derive_outcomes`);
- :mod:`.analysis`: :func:`analyse` and its :class:`AnalysisOptions`.
"""

from customer_analytics.models.experiments.analysis import AnalysisOptions, analyse
from customer_analytics.models.experiments.checks import (
    MIN_CELL_USERS,
    MIN_GROUP,
    SMD_LIMIT,
    SRM_ALPHA,
    SRMResult,
    all_group_sizes,
    balance,
    group_sizes,
    smd,
    srm_by_segment,
    srm_test,
)
from customer_analytics.models.experiments.decision import (
    Decision,
    ExperimentResult,
    decide,
    headline_figures,
    segment_claims,
    treatment_arms_of,
)
from customer_analytics.models.experiments.estimators import (
    CupedResult,
    Effect,
    binary_effect,
    bootstrap_interval,
    cap_values,
    continuous_effect,
    cuped_effect,
    cuped_theta,
    lift_ci_status,
    log_ratio_lift,
    newcombe_interval,
    pooled_z_test,
    prob_beat_control,
    prob_beat_control_normal,
    welch,
    wilson_interval,
)
from customer_analytics.models.experiments.multitest import (
    CORRECTIONS,
    adjust_pvalues,
    check_correction,
)
from customer_analytics.models.experiments.outcomes import (
    OPEN_WINDOW_NOTE,
    AssignmentColumns,
    derive_outcomes,
    outcomes_complete_on,
    outcomes_expr,
)
from customer_analytics.models.experiments.params import (
    LIST_PARAMS,
    MAPPING_PARAMS,
    analysis_options,
    coerce_params,
    parse_list_param,
    parse_mapping_param,
    roi_settings,
)
from customer_analytics.models.experiments.planning import (
    mde_binary,
    mde_continuous,
    power_two_sample,
    sample_size_binary,
    sample_size_continuous,
)
from customer_analytics.models.experiments.roi import ROISettings, roi_table
from customer_analytics.models.experiments.sequential import (
    sequential_halfwidth,
    sequential_p_value,
    sequential_rho,
)
from customer_analytics.models.experiments.spec import ExperimentSpec, treatment_arms, validate

__all__ = [
    # the analysis
    "AnalysisOptions", "ExperimentResult", "ExperimentSpec", "analyse", "validate", "treatment_arms",
    # checks
    "MIN_CELL_USERS", "MIN_GROUP", "SMD_LIMIT", "SRM_ALPHA", "SRMResult", "all_group_sizes", "balance",
    "group_sizes", "smd", "srm_by_segment", "srm_test",
    # estimators
    "CupedResult", "Effect", "binary_effect", "bootstrap_interval", "cap_values", "continuous_effect",
    "cuped_effect", "cuped_theta", "lift_ci_status", "log_ratio_lift", "newcombe_interval", "pooled_z_test", "prob_beat_control",
    "prob_beat_control_normal", "welch", "wilson_interval",
    # power and planning
    "mde_binary", "mde_continuous", "power_two_sample", "sample_size_binary", "sample_size_continuous",
    # multiple comparisons and sequential looks
    "CORRECTIONS", "adjust_pvalues", "check_correction", "sequential_halfwidth", "sequential_p_value",
    "sequential_rho",
    # money
    "ROISettings", "roi_table",
    # the decision
    "Decision", "decide", "headline_figures", "segment_claims", "treatment_arms_of",
    # parameters
    "LIST_PARAMS", "MAPPING_PARAMS", "analysis_options", "coerce_params", "parse_list_param",
    "parse_mapping_param", "roi_settings",
    # outcomes from transactions
    "OPEN_WINDOW_NOTE", "AssignmentColumns", "derive_outcomes", "outcomes_complete_on", "outcomes_expr",
]

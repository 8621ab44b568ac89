"""The analysis: :func:`analyse` runs every step on a validated table and gathers an :class:`ExperimentResult`.

Its options are one :class:`AnalysisOptions`. The steps (checks, estimators, power, multiple
comparisons, sequential looks, ROI) live in their own modules of
:mod:`customer_analytics.models.experiments`; here they are put in order: effects of every arm
against control (adjusted across the arms), CUPED, per-segment effects, the checks, the power
table, the treatment pairs and the ROI table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from itertools import combinations

import numpy as np
import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.models.experiments.checks import (
    MIN_CELL_USERS,
    all_group_sizes,
    balance,
    srm_by_segment,
    srm_test,
)
from customer_analytics.models.experiments.decision import ExperimentResult
from customer_analytics.models.experiments.estimators import (
    binary_effect,
    cap_values,
    continuous_effect,
    cuped_effect,
)
from customer_analytics.models.experiments.multitest import adjust_pvalues, check_correction
from customer_analytics.models.experiments.planning import _power_rows
from customer_analytics.models.experiments.roi import ROISettings, roi_table
from customer_analytics.models.experiments.sequential import _sequential_columns
from customer_analytics.models.experiments.spec import ExperimentSpec, treatment_arms, validate


@dataclass(frozen=True)
class AnalysisOptions:
    """The options of :func:`analyse`; ``ExperimentResult.options`` records them as a dict, in this order.

    Parameters
    ----------
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
    sequential : bool
        Use always-valid inference (confidence sequences) for the primary metric's decision.
    sequential_tuning : float
        Expected total sample size of the comparison (users in the arm plus control).
    roi : ROISettings, optional
        Costs and values for the ROI table.
    """

    alpha: float = 0.05
    power: float = 0.8
    correction: str | None = "holm"
    cap_percentile: float | None = None
    cap_ignore_zeros: bool = True
    bootstrap: bool = False
    target_lift: float = 0.05
    seed: int = 0
    primary_metric: str | None = None
    higher_is_better: bool = True
    sequential: bool = False
    sequential_tuning: float = 5000
    roi: ROISettings | None = None

    def as_dict(self) -> dict:
        """The options by name, in field order (the ROI settings stay one object)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def analyse(df: pd.DataFrame, spec: ExperimentSpec, options: AnalysisOptions | None = None,
            **settings) -> ExperimentResult:
    """Validate, check and estimate every treatment arm against control, overall and per segment.

    Parameters
    ----------
    df : DataFrame
        One row per user (see :class:`ExperimentSpec`).
    spec : ExperimentSpec
        Which column holds what.
    options : AnalysisOptions, optional
        The options (default: ``AnalysisOptions()``).
    **settings
        Options by name (the fields of :class:`AnalysisOptions`, such as ``alpha=0.1`` or
        ``correction='fdr_bh'``); they replace those of ``options``.

    Returns
    -------
    ExperimentResult
    """
    o = replace(options or AnalysisOptions(), **settings)
    correction = check_correction(o.correction)
    d = validate(df, spec)
    primary = o.primary_metric or spec.metrics[0]
    if primary not in spec.metrics:
        raise ConfigError(f"primary_metric '{primary}' is not among the metrics {spec.metrics}")
    o = replace(o, correction=correction, primary_metric=primary)
    notes = _cap_metrics(d, spec, o)
    effects = _arm_effects(d, spec, o, notes)
    kinds, arms = _kinds(spec), treatment_arms(d, spec)
    cuped = _cuped_rows(d, spec, arms, alpha=o.alpha)
    segs = _segment_effects(d, spec, kinds, arms, alpha=o.alpha, correction=o.correction, seed=o.seed)
    notes += _skipped_cells_note(segs)
    srm_seg = pd.concat([srm_by_segment(d, spec, c) for c in spec.segment_columns], ignore_index=True) \
        if spec.segment_columns else pd.DataFrame()
    bal = balance(d, spec, [spec.covariate]) if spec.covariate else pd.DataFrame()
    return ExperimentResult(
        spec=spec, srm=srm_test(d[spec.variant_column], spec.planned_split), srm_segments=srm_seg, balance=bal,
        sizes=all_group_sizes(d, spec), effects=effects, cuped=pd.DataFrame(cuped), segments=segs,
        power=pd.DataFrame(_power_rows(d, spec, kinds, arms, alpha=o.alpha, power=o.power,
                                       target_lift=o.target_lift)),
        alpha=o.alpha, notes=notes,
        pairwise=_pairwise(d, spec, kinds, arms, alpha=o.alpha, correction=o.correction, seed=o.seed),
        roi=roi_table(d, spec, o.roi, o.alpha) if o.roi is not None else pd.DataFrame(), options=o.as_dict())


def _kinds(spec: ExperimentSpec) -> dict[str, str]:
    return {**{m: "binary" for m in spec.binary_metrics}, **{m: "continuous" for m in spec.continuous_metrics}}


def _cap_metrics(d: pd.DataFrame, spec: ExperimentSpec, o: AnalysisOptions) -> list[str]:
    """Cap the continuous metrics of ``d`` in place (with ``cap_percentile``); a note per metric capped."""
    notes: list[str] = []
    if o.cap_percentile:
        for m in spec.continuous_metrics:
            d[m], cap = cap_values(d[m], o.cap_percentile, o.cap_ignore_zeros)
            notes.append(f"'{m}' capped at its {o.cap_percentile:g}th percentile"
                         f"{' of non-zero values' if o.cap_ignore_zeros else ''}: {cap:,.2f}.")
    return notes


def _effect(df_t: pd.DataFrame, df_c: pd.DataFrame, metric: str, arm: str, *, kind: str, alpha: float,
            bootstrap: bool = False, seed: int = 0) -> dict:
    """One effects row (:meth:`Effect.as_row`) with ``var_diff``, the variance of the difference."""
    y_t, y_c = df_t[metric].to_numpy(float), df_c[metric].to_numpy(float)
    e = binary_effect(y_t, y_c, metric, arm, alpha=alpha) if kind == "binary" else \
        continuous_effect(y_t, y_c, metric, arm, alpha=alpha, bootstrap=bootstrap, seed=seed)
    row = e.as_row()
    if kind == "binary":
        row["var_diff"] = e.mean_treatment * (1 - e.mean_treatment) / e.n_treatment \
            + e.mean_control * (1 - e.mean_control) / e.n_control
    else:
        row["var_diff"] = np.var(y_t, ddof=1) / len(y_t) + np.var(y_c, ddof=1) / len(y_c)
    return row


def _adjust_per_metric(table: pd.DataFrame, correction: str, alpha: float) -> None:
    """Add ``p_adjusted``: the p-values adjusted across the rows of each metric."""
    table["p_adjusted"] = np.nan
    for _m, idx in table.groupby("metric").groups.items():
        table.loc[idx, "p_adjusted"] = adjust_pvalues(table.loc[idx, "p_value"], correction, alpha)


def _arm_effects(d: pd.DataFrame, spec: ExperimentSpec, o: AnalysisOptions, notes: list[str]) -> pd.DataFrame:
    """Every treatment arm against control per metric; with ``sequential``, the primary metric's sequence too.

    The sequential note is appended to ``notes``.
    """
    v = spec.variant_column
    ctrl = d[d[v] == spec.control_label]
    kinds = _kinds(spec)
    effects = pd.DataFrame([_effect(d[d[v] == a], ctrl, m, a, kind=kinds[m], alpha=o.alpha, bootstrap=o.bootstrap,
                                    seed=o.seed)
                            for a in treatment_arms(d, spec) for m in spec.metrics])
    _adjust_per_metric(effects, o.correction, o.alpha)
    effects["significant"] = effects["p_adjusted"] < o.alpha
    if o.sequential:
        seq = _sequential_columns(effects[effects["metric"] == o.primary_metric], o.alpha, o.sequential_tuning)
        effects = effects.join(seq[["seq_ci_low", "seq_ci_high", "seq_p_value"]])
        effects["seq_p_adjusted"] = np.nan
        effects.loc[seq.index, "seq_p_adjusted"] = adjust_pvalues(seq["seq_p_value"], o.correction, o.alpha)
        notes.append(f"Sequential looks: {o.primary_metric} is judged with always-valid confidence sequences "
                     f"(tuned for {o.sequential_tuning:,.0f} users per comparison).")
    return effects


def _cuped_rows(d: pd.DataFrame, spec: ExperimentSpec, arms: list[str], *, alpha: float) -> list[dict]:
    """CUPED rows per arm and metric (none without a covariate)."""
    if not spec.covariate:
        return []
    v, kinds = spec.variant_column, _kinds(spec)
    ctrl = d[d[v] == spec.control_label]
    rows = []
    for a in arms:
        t = d[d[v] == a]
        for m in spec.metrics:
            r = cuped_effect(t[m].to_numpy(float), ctrl[m].to_numpy(float), t[spec.covariate].to_numpy(float),
                             ctrl[spec.covariate].to_numpy(float), metric=m, arm=a, alpha=alpha).as_row()
            rows.append({**r, "kind": kinds[m]})
    return rows


def _segment_effects(d: pd.DataFrame, spec: ExperimentSpec, kinds: dict, arms: list[str], *, alpha: float,
                     correction: str, seed: int) -> pd.DataFrame:
    """Per segment cell (segment x arm) and metric; cells too small are reported with their status and skipped."""
    v = spec.variant_column
    rows = []
    for col in spec.segment_columns:
        for seg, g in d.groupby(col, sort=True):
            gc = g[g[v] == spec.control_label]
            for a in arms:
                gt = g[g[v] == a]
                rows += [_segment_row(gt, gc, {"segment_column": col, "segment": seg, "arm": a, "metric": m},
                                      kind=kinds[m], alpha=alpha, seed=seed, control=spec.control_label)
                         for m in spec.metrics]
    segs = pd.DataFrame(rows)
    if len(segs):
        first = ["segment_column", "segment", "arm", "metric", "kind", "status", "n_treatment", "n_control"]
        segs = segs[first + [c for c in segs.columns if c not in first]]
        segs["p_adjusted"] = adjust_pvalues(segs["p_value"], correction, alpha)
        segs["significant_adjusted"] = segs["p_adjusted"] < alpha
    return segs


def _segment_row(gt: pd.DataFrame, gc: pd.DataFrame, base: dict, *, kind: str, alpha: float, seed: int,
                 control: str) -> dict:
    """One segment cell's row for one metric: the effect, or the sizes and why it was skipped."""
    if min(len(gt), len(gc)) < MIN_CELL_USERS:
        return {**base, "kind": kind, "n_treatment": len(gt), "n_control": len(gc),
                "status": f"too small: skipped ({len(gt)} users in {base['arm']}, {len(gc)} in "
                          f"{control}; fewer than {MIN_CELL_USERS})"}
    return {**base, **_effect(gt, gc, base["metric"], base["arm"], kind=kind, alpha=alpha, seed=seed),
            "status": "ok"}


def _skipped_cells_note(segs: pd.DataFrame) -> list[str]:
    if len(segs) and (segs["status"] != "ok").any():
        n_skip = int((segs.drop_duplicates(["segment_column", "segment", "arm"])["status"] != "ok").sum())
        return [f"{n_skip} segment x arm cell(s) have fewer than {MIN_CELL_USERS} users in an arm: "
                "reported as too small and skipped."]
    return []


def _pairwise(d: pd.DataFrame, spec: ExperimentSpec, kinds: dict, arms: list[str], *, alpha: float,
              correction: str, seed: int) -> pd.DataFrame:
    """Treatment arms against each other per metric, adjusted across the pairs of each metric."""
    v = spec.variant_column
    rows = []
    for a, b in combinations(arms, 2):
        for m in spec.metrics:
            r = _effect(d[d[v] == a], d[d[v] == b], m, a, kind=kinds[m], alpha=alpha, seed=seed)
            rows.append({**r, "versus": b})
    out = pd.DataFrame(rows)
    if len(out):
        out = out.rename(columns={"mean_control": "mean_versus", "n_control": "n_versus",
                                  "prob_beat_control": "prob_beat_versus"})
        _adjust_per_metric(out, correction, alpha)
        first = ["arm", "versus", "metric"]
        out = out[first + [c for c in out.columns if c not in first]]
    return out

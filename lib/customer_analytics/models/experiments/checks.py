"""Checks before results: sample-ratio mismatch (overall and per segment), covariate balance, group sizes.

Definitions (SRM chi-square flagged at p < 0.001; |SMD| > 0.1 flagged as imbalance) are in
the docstring of :mod:`customer_analytics.models.experiments`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from customer_analytics.core.errors import ConfigError
from customer_analytics.models.experiments.spec import ExperimentSpec, treatment_arms

SRM_ALPHA = 0.001
SMD_LIMIT = 0.1
MIN_GROUP = 30
#: A segment cell (segment x arm) with fewer users than this is reported and skipped.
MIN_CELL_USERS = 10


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

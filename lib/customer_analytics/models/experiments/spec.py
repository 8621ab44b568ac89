"""The experiment table's layout (:class:`ExperimentSpec`) and its validation before any statistic.

:func:`validate` checks a per-user table against its spec and returns it with the metrics
as floats; every later step of :mod:`customer_analytics.models.experiments` works on that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from customer_analytics.core.errors import ConfigError, InputError


@dataclass
class ExperimentSpec:
    """How a per-user experiment table is laid out. Nothing about names is hard-coded.

    ``outcomes_complete`` is the date (ISO) on which the last outcome window closes, when
    that is after the period end: the outcomes are incomplete until then and the decision
    rule waits (:func:`~customer_analytics.models.experiments.decision.decide`). None: every
    outcome window is closed.

    ``eligible_users`` is the number of customers a rerun could assign (the customer base);
    the power table then says whether the target lift is within reach and which effect is the
    smallest detectable with all of them. None: not known (the experiment's own users are all).
    """

    variant_column: str
    control_label: str
    user_column: str | None = None
    binary_metrics: list[str] = field(default_factory=list)
    continuous_metrics: list[str] = field(default_factory=list)
    covariate: str | None = None
    segment_columns: list[str] = field(default_factory=list)
    planned_split: dict[str, float] | None = None
    outcomes_complete: str | None = None
    eligible_users: int | None = None

    @property
    def metrics(self) -> list[str]:
        return [*self.binary_metrics, *self.continuous_metrics]


def treatment_arms(df: pd.DataFrame, spec: ExperimentSpec) -> list[str]:
    return sorted(a for a in df[spec.variant_column].unique() if a != spec.control_label)


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
    arms = df[spec.variant_column].astype(str)
    _check_arms(arms, spec)
    if spec.user_column:
        _check_unique_users(df, spec.user_column)
    out = df.copy()
    out[spec.variant_column] = arms
    for col in [*spec.metrics, *([spec.covariate] if spec.covariate else [])]:
        out[col] = _numeric(df, col)
    _check_metric_values(out, spec)
    for col in spec.segment_columns:
        out[col] = _segment_labels(out, col)
    return out


def _check_columns(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    needed = [spec.variant_column, *spec.metrics, *spec.segment_columns]
    needed += [c for c in (spec.user_column, spec.covariate) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"Experiment table lacks column(s) {missing}; columns found: {list(df.columns)}")
    if not spec.metrics:
        raise ConfigError("No metrics given: set binary_metrics and/or continuous_metrics.")


def _check_arms(arms: pd.Series, spec: ExperimentSpec) -> None:
    found = sorted(arms.unique())
    if spec.control_label not in found:
        raise InputError(
            f"Control label '{spec.control_label}' is not in column '{spec.variant_column}'; "
            f"labels found: {found}"
        )
    if len(found) < 2:
        raise InputError(f"Column '{spec.variant_column}' has a single arm ({found}); an experiment needs two or more.")


def _check_unique_users(df: pd.DataFrame, user_column: str) -> None:
    dup = df[user_column].duplicated(keep=False)
    if dup.any():
        ex = df.loc[dup, user_column].unique()[:3].tolist()
        raise InputError(
            f"{int(dup.sum()):,} rows share a user id in '{user_column}' (e.g. {ex}); "
            "each user must appear once in an experiment."
        )


def _numeric(df: pd.DataFrame, col: str) -> pd.Series:
    """The column as floats; a value that is not a number is an error (a missing one is not, yet)."""
    num = pd.to_numeric(df[col], errors="coerce")
    bad = num.isna() & df[col].notna()
    if bad.any():
        ex = [(i, v) for i, v in df.loc[bad, col].head(3).items()]
        raise InputError(f"Column '{col}' has {int(bad.sum()):,} non-numeric value(s), e.g. (row, value) {ex}")
    return num.astype(float)


def _check_metric_values(out: pd.DataFrame, spec: ExperimentSpec) -> None:
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


def _segment_labels(out: pd.DataFrame, col: str) -> pd.Series:
    blank = out[col].isna() | out[col].astype(str).str.strip().eq("")
    if blank.any():
        raise InputError(f"Segment column '{col}' is empty for {int(blank.sum()):,} user(s); give every user a segment.")
    return out[col].astype(str)

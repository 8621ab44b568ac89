"""Notebook 08's inputs: the experiment table of notebook 04, the pre-exposure features, the columns
and money of the uplift analysis, and the sample's truth file when there is one.

Transactions mode: the features are computed from the clean lines up to the day before the first
exposure (:func:`customer_analytics.models.uplift.transaction_features`); table mode: the columns of
``targeting.features``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.core.paths import resolve_path
from customer_analytics.models import clustering, rfm, uplift
from customer_analytics.pipeline import context

TRUTH_FILE = "sample_truth.json"  # written by the sample generator next to its experiment files


@dataclass
class Inputs:
    """Everything :func:`customer_analytics.models.uplift.analyse` needs, plus the notes for the analyst."""

    data: pd.DataFrame | None
    features: uplift.FeatureSet | None = None
    columns: uplift.Columns | None = None
    money: uplift.Money | None = None
    truth_path: Path | None = None
    as_of: str | None = None
    notes: list[str] = field(default_factory=list)


def outcome_of(p: dict, targeting: dict) -> str:
    """The binary outcome to raise: ``targeting.outcome``, else the experiment's primary metric."""
    outcome = targeting.get("outcome") or p.get("primary_metric")
    if outcome not in (p.get("binary_metrics") or []):
        raise ConfigError(f"targeting.outcome must be one of the experiment's binary metrics "
                          f"{list(p.get('binary_metrics') or [])}, got {outcome!r} (null = experiment.primary_metric)")
    return outcome


def _with_cluster(ctx: context.RunContext, data: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Each customer's cluster as of the day before the first exposure, when notebook 03's model is in the run folder."""
    if "cluster" in data or not ctx.path("cluster_model.joblib").exists() or not len(scored):
        return data
    x = clustering.build_features(scored, ctx.config["clustering"]["extra_features"])
    cl = pd.Series(clustering.predict_stable(ctx.run_dir, x), index=scored["customer_id"].astype(str))
    return data.assign(cluster=data["customer_id"].astype(str).map(cl).fillna(-1).astype(int).astype(str))


def inputs(ctx: context.RunContext, p: dict, targeting: dict) -> Inputs:
    """The experiment table with its features, columns and money; ``data`` None when there is no experiment."""
    data, spec, notes = context.experiment_table(ctx, p)
    if data is None:
        return Inputs(None, notes=notes)
    outcome = outcome_of(p, targeting)
    if p["mode"] == "transactions":
        before = pd.Timestamp(data["exposure"].min()).normalize() - pd.Timedelta(days=1)
        scored = rfm.score_customers(context.clean_table(ctx), before, **ctx.config["rfm"])
        data = _with_cluster(ctx, data, scored)
        features = uplift.transaction_features(data, scored, user="customer_id")
        data = data.assign(monetary=features.frame["monetary"].to_numpy() if "monetary" in features.frame else 0.0)
        cols = uplift.Columns("customer_id", "variant", outcome, str(p["control_label"]), segment="segment",
                              value="monetary")
        source, as_of = resolve_path(p["assignment_path"]), str(before.date())
    else:
        features = uplift.table_features(data, list(targeting.get("features") or []), source=Path(p["table_path"]).name)
        segments = list(p.get("segment_columns") or [])
        cols = uplift.Columns(p["user_column"] or "", p["variant_column"], outcome, str(p["control_label"]),
                              segment=segments[0] if segments else None,
                              value=targeting.get("value_column") or p.get("covariate"))
        source, as_of = resolve_path(p["table_path"]), None
    data = data.reset_index(drop=True)
    features.frame = features.frame.reset_index(drop=True)
    arms = [a for a in uplift.arm_sizes(data, cols).index if a != cols.control]
    money = uplift.money_settings(p, targeting, data, outcome=outcome, arms=arms)
    truth = source.parent / TRUTH_FILE if source is not None else None
    if features.dropped:
        notes.append(f"Features with a single value, dropped: {', '.join(features.dropped)}.")
    notes.append(f"Features: {', '.join(features.columns)}" + (f" (as of {as_of})." if as_of else "."))
    return Inputs(data, features, cols, money, truth if truth is not None and truth.exists() else None, as_of, notes)

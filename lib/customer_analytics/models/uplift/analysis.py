"""Notebook 08's analysis: cross-fitted uplift scores, their honest evaluation against simple rules,
and the money policy. :func:`analyse` returns a :class:`TargetingResult` of facts and codes.

The simple rules a team would use without a model, scored like the models (out of fold):

- ``everyone``: the same score for every user (treating everyone; its uplift@k is the average effect).
- ``best_segment``: the user's segment's effect (arm mean minus control mean), measured on the
  other folds, so the best segment of 04 comes first.
- ``highest_value``: the pre-exposure value (monetary value in transactions mode, 04's covariate in
  table mode): the most valuable customers first.

**Does targeting work?** For each arm, the chosen model (``targeting.model``) supports targeting
when the lower end of the 99% interval of its Qini coefficient (value - 2.576 x the bootstrap
standard error, :data:`DECISION_Z`; a normal interval, steadier than the 0.5% quantile of a few
hundred resamples) is above 0 (random targeting); otherwise the data do not support
targeting for that arm. The tables show 95% intervals; the decision asks for more because the
bootstrap holds the fitted scores fixed and so leaves out the models' own variance: on simulated
campaigns without heterogeneity the 95% interval's lower end is above 0 in about 8-10% of them,
the 99% interval's in at most about 5% (``tests/test_uplift.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import customer_analytics.models.uplift.learners as learners
import customer_analytics.models.uplift.metrics as metrics
import customer_analytics.models.uplift.policy as policy
from customer_analytics.core.errors import InputError
from customer_analytics.models.uplift.features import FeatureSet, check_features

RULES = ("everyone", "best_segment", "highest_value")
DECISION_Z = 2.5758  # the 99% normal interval of the Qini coefficient decides (see the module docstring)
EVALUATION_COLUMNS = ["arm", "model", "metric", "value", "low", "high"]


@dataclass
class Columns:
    """The experiment table's columns: user id, arm, binary outcome, and the rules' segment and value."""

    user: str
    arm: str
    outcome: str
    control: str
    segment: str | None = None
    value: str | None = None


@dataclass
class TargetingResult:
    """Facts of notebook 08; ``status`` is ``ok`` or ``too_small`` (then only ``sizes`` and ``notes``)."""

    status: str
    arms: list[str]
    sizes: pd.Series
    model: str = "t_learner"
    holdout: pd.DataFrame | None = None
    evaluation: pd.DataFrame | None = None
    supported: dict[str, bool] = field(default_factory=dict)
    average: dict[str, float] = field(default_factory=dict)
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    best: dict[str, pd.Series | None] = field(default_factory=dict)
    targeting: pd.DataFrame | None = None
    money: policy.Money | None = None
    notes: list[str] = field(default_factory=list)
    decision_low: dict[str, float] = field(default_factory=dict)  # per arm: the chosen model's 99% Qini lower end

    def metric(self, arm: str, model: str, name: str) -> pd.Series:
        """One row of the evaluation table (value, low, high)."""
        e = self.evaluation
        return e[(e["arm"] == arm) & (e["model"] == model) & (e["metric"] == name)].iloc[0]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The exported tables, by name."""
        if self.status != "ok":
            return {}
        return {"targeting": self.targeting, "uplift_holdout": self.holdout, "uplift_evaluation": self.evaluation,
                "uplift_profit": pd.concat([c.assign(arm=a) for a, c in self.curves.items()], ignore_index=True)}


def check_outcome(data: pd.DataFrame, cols: Columns) -> np.ndarray:
    """The outcome as 0/1; fail clearly when it is not binary."""
    if cols.outcome not in data:
        raise InputError(f"The targeting outcome '{cols.outcome}' is not a column of the experiment table; "
                         f"columns: {list(data.columns)}")
    y = pd.to_numeric(data[cols.outcome], errors="coerce")
    if y.isna().any() or not set(y.unique()) <= {0, 1}:
        raise InputError(f"The targeting outcome '{cols.outcome}' must be binary (0/1 for every user), "
                         f"got values {sorted(map(str, data[cols.outcome].unique()))[:5]}")
    return y.to_numpy(int)


def _rule_scores(data: pd.DataFrame, cols: Columns, design: learners.Design, fold: np.ndarray) -> dict[str, pd.DataFrame]:
    """Out-of-fold scores of the simple rules, per rule: one column per arm."""
    out = {"everyone": pd.DataFrame({a: np.zeros(len(data)) for a in design.arms})}
    if cols.value and cols.value in data:
        v = pd.to_numeric(data[cols.value], errors="coerce").fillna(0).to_numpy(float)
        out["highest_value"] = pd.DataFrame({a: v for a in design.arms})
    if cols.segment and cols.segment in data:
        seg = data[cols.segment].astype(str).to_numpy()
        frame = pd.DataFrame({a: np.zeros(len(data)) for a in design.arms})
        for f in np.unique(fold):
            train, test = fold != f, fold == f
            for a in design.arms:
                frame.loc[test, a] = _segment_effects(seg, design, a, train).reindex(seg[test]).fillna(0).to_numpy()
        out["best_segment"] = frame
    return out


def _segment_effects(seg: np.ndarray, design: learners.Design, arm: str, train: np.ndarray) -> pd.Series:
    """Per segment, the arm's mean outcome minus control's on the ``train`` rows."""
    df = pd.DataFrame({"seg": seg[train], "arm": design.arm[train], "y": design.outcome[train]})
    means = df.groupby(["seg", "arm"])["y"].mean().unstack()
    if arm not in means or design.control not in means:
        return pd.Series(dtype=float)
    return (means[arm] - means[design.control]).fillna(0)


def _bounds(draws: np.ndarray, value: float) -> list[float]:
    """The 2.5% and 97.5% bootstrap percentiles and the decision's lower end (NaN resamples left out)."""
    ok = draws[~np.isnan(draws)]
    if len(ok) < 2:
        return [np.nan] * 3
    return [*np.percentile(ok, [2.5, 97.5]), value - DECISION_Z * float(np.std(ok, ddof=1))]


def evaluate(design: learners.Design, scores: dict[str, pd.DataFrame], *, replicates: int = 200,
             seed: int = 0) -> pd.DataFrame:
    """The table of ``tables/uplift_evaluation.csv``: every arm x model or rule x metric, with its interval.

    All models and rules of an arm are evaluated on the same bootstrap resamples. The rule
    ``everyone`` has a constant score: its Qini coefficient and AUUC are 0 (the random line) and its
    uplift@k is the arm's average effect. The extra column ``decision_low`` is the lower end of the
    99% interval (see the module docstring).
    """
    rows = []
    for a in design.arms:
        keep = (design.arm == a) | (design.arm == design.control)
        y, t = design.outcome[keep], (design.arm[keep] == a).astype(int)
        ranked = {name: frame[a].to_numpy()[keep] for name, frame in scores.items() if name != "everyone"}
        draws = metrics.bootstrap_many(y, ranked, t, replicates=replicates, seed=seed)
        for name in scores:
            if name == "everyone":
                rows += [(a, name, m, 0.0, 0.0, 0.0, 0.0) for m in ("qini_coefficient", "auuc")]
                rows += [(a, name, f"uplift_at_{round(k * 100)}", np.nan, np.nan, np.nan, np.nan)
                         for k in metrics.K_LEVELS]
                continue
            for metric, value in metrics.all_metrics(y, ranked[name], t).items():
                rows.append((a, name, metric, value, *_bounds(draws[name][metric], value)))
    out = pd.DataFrame(rows, columns=[*EVALUATION_COLUMNS, "decision_low"])
    return _everyone_is_average(out, design, replicates=replicates, seed=seed)


def _everyone_is_average(out: pd.DataFrame, design: learners.Design, *, replicates: int, seed: int) -> pd.DataFrame:
    """Treat-everyone's uplift@k: the average effect and its bootstrap interval, whatever k."""
    for a in design.arms:
        keep = (design.arm == a) | (design.arm == design.control)
        y, t = design.outcome[keep], (design.arm[keep] == a).astype(int)
        rng = np.random.default_rng(seed)
        draws = [rng.choice(y[t == 1], (t == 1).sum()).mean() - rng.choice(y[t == 0], (t == 0).sum()).mean()
                 for _ in range(replicates)]
        ate, (low, high) = y[t == 1].mean() - y[t == 0].mean(), np.percentile(draws, [2.5, 97.5])
        rows = (out["arm"] == a) & (out["model"] == "everyone") & out["metric"].str.startswith("uplift_at")
        out.loc[rows, ["value", "low", "high"]] = [ate, low, high]
    return out


def arm_sizes(data: pd.DataFrame, cols: Columns) -> pd.Series:
    """Users per arm, control first."""
    sizes = data[cols.arm].astype(str).value_counts()
    return sizes.reindex([cols.control, *sorted(a for a in sizes.index if a != cols.control)])


def analyse(data: pd.DataFrame, features: FeatureSet, cols: Columns, settings: dict, *,
            money: policy.Money | None = None) -> TargetingResult:
    """Cross-fit, evaluate and price the uplift models of every treatment arm against control.

    ``settings`` is the ``targeting`` config section (folds, estimator, model, bootstrap,
    min_users_per_arm, seed). With fewer than ``min_users_per_arm`` users in control or in a
    treatment arm, nothing is fitted: the result's status is ``too_small``.
    """
    sizes = arm_sizes(data, cols)
    if cols.control not in sizes.dropna().index:
        raise InputError(f"No user in the control arm '{cols.control}' of column '{cols.arm}'; "
                         f"arms: {sorted(map(str, data[cols.arm].unique()))}")
    arms = [a for a in sizes.index if a != cols.control]
    if not arms:
        raise InputError(f"Column '{cols.arm}' holds only the control arm '{cols.control}': nothing to target.")
    if int(sizes.min()) < int(settings["min_users_per_arm"]):
        return TargetingResult("too_small", arms, sizes)
    check_features(features)
    design = learners.Design(data[cols.arm].astype(str).to_numpy(), check_outcome(data, cols), cols.control, tuple(arms))
    seed = int(settings.get("seed") or 0)
    raw = learners.cross_fit(design, features, estimator=settings["estimator"], n_folds=int(settings["folds"]),
                             seed=seed)
    scores = {m: pd.DataFrame({a: raw[f"{m}:{a}"].to_numpy() for a in arms}) for m in learners.MODELS}
    scores.update(_rule_scores(data.reset_index(drop=True), cols, design, raw["fold"].to_numpy()))
    evaluation = evaluate(design, scores, replicates=int(settings["bootstrap"]), seed=seed)
    strict = evaluation.pop("decision_low")
    result = TargetingResult("ok", arms, sizes, model=settings["model"], evaluation=evaluation,
                             money=money or policy.Money(1.0, dict.fromkeys(arms, 0.0), "none"))
    chosen = scores[result.model]
    for a in arms:
        row = (evaluation["arm"] == a) & (evaluation["model"] == result.model) & (evaluation["metric"] == "qini_coefficient")
        result.decision_low[a] = float(strict[row].iloc[0])
        result.supported[a] = bool(result.decision_low[a] > 0)
        result.average[a] = float(result.metric(a, "everyone", "uplift_at_30")["value"])
        keep = (design.arm == a) | (design.arm == cols.control)
        result.curves[a] = policy.profit_curve(design.outcome[keep], chosen[a].to_numpy()[keep],
                                               (design.arm[keep] == a).astype(int), money_value=result.money.value,
                                               cost=result.money.cost[a], users=len(data))
        result.best[a] = policy.best_share(result.curves[a])
    ids = data[cols.user].astype(str).to_numpy() if cols.user in data else data.index.astype(str).to_numpy()
    result.holdout = _holdout(ids, design, raw, scores)
    rec = policy.recommend(chosen, result.money, average=result.average, supported=result.supported)
    result.targeting = pd.concat([pd.DataFrame({"customer_id": ids}), rec.reset_index(drop=True)], axis=1) \
        .sort_values("expected_incremental_profit", ascending=False, kind="mergesort").reset_index(drop=True)
    return result


def _holdout(ids: np.ndarray, design: learners.Design, raw: pd.DataFrame, scores: dict) -> pd.DataFrame:
    """``tables/uplift_holdout.csv``: id, arm, outcome, fold and every model's out-of-fold score per arm."""
    out = pd.DataFrame({"customer_id": ids, "arm": design.arm, "outcome": design.outcome, "fold": raw["fold"]})
    for m in learners.MODELS:
        for a in design.arms:
            out[f"{m}_{a}"] = scores[m][a].to_numpy()
    return out


def customer_columns(result: TargetingResult) -> pd.DataFrame:
    """The columns notebook 08 adds to ``customers.csv``: ``uplift_<arm>`` (the chosen model's
    out-of-fold score) and ``recommended_arm``, one row per experiment user."""
    h = result.holdout
    out = pd.DataFrame({"customer_id": h["customer_id"]})
    for a in result.arms:
        out[f"uplift_{a}"] = h[f"{result.model}_{a}"].round(6)
    return out.merge(result.targeting[["customer_id", "recommended_arm"]], on="customer_id", how="left")

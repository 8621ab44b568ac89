"""Uplift learners and their cross-fitted (out-of-fold) scores, one per treatment arm against control.

Two approaches, each on scikit-learn estimators (a Pipeline: median imputation of the numeric
features, one-hot encoding of the categorical ones with ``handle_unknown="ignore"``, so a category
unseen in a fold's training rows scores as "none of the known ones", then the classifier):

- **T-learner** (two models): P(y = 1 | x) fitted on control and on the arm separately; the score
  is the difference of the two predictions.
- **Class transformation** (Jaskowski and Jaroszewicz 2012): one classifier of z = 1 when
  (treated and y = 1) or (control and y = 0), with the two groups reweighted to equal total weight,
  so that uplift = 2 P(z = 1 | x) - 1 holds whatever the split.

Cross-fitting: the users are split by a seeded StratifiedKFold on arm x outcome; every user is
scored by models fitted on the other folds only. A training set with a single outcome class gets a
constant model (its outcome rate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.models.uplift.features import FeatureSet

MODELS = ("t_learner", "class_transformation")
ESTIMATORS = ("gradient_boosting", "logistic")


@dataclass(frozen=True)
class Design:
    """The experiment's layout: each user's arm, binary outcome, the control label and the treatment arms."""

    arm: np.ndarray
    outcome: np.ndarray
    control: str
    arms: tuple[str, ...]


def make_estimator(features: FeatureSet, kind: str = "gradient_boosting", seed: int = 0) -> Pipeline:
    """The classifier pipeline: impute and encode the features, then ``kind`` (gradient_boosting or logistic)."""
    if kind not in ESTIMATORS:
        raise ConfigError(f"targeting.estimator must be one of {ESTIMATORS}, got {kind!r}")
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()) if kind == "logistic" \
        else SimpleImputer(strategy="median")
    prep = ColumnTransformer([("num", numeric, features.numeric),
                              ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5,
                                                    sparse_output=False), features.categorical)])
    clf = LogisticRegression(max_iter=500) if kind == "logistic" else HistGradientBoostingClassifier(
        max_iter=60, learning_rate=0.08, max_leaf_nodes=15, min_samples_leaf=40, l2_regularization=1.0,
        early_stopping=False, random_state=seed)
    return Pipeline([("prep", prep), ("model", clf)])


class _Constant(BaseEstimator, ClassifierMixin):
    """A model of a training set with one outcome class: its rate, whatever the features."""

    def __init__(self, rate: float = 0.0):
        self.rate = rate

    def predict_proba(self, x):
        p = np.full(len(x), float(self.rate))
        return np.column_stack([1 - p, p])


def _fit(template: Pipeline, x: pd.DataFrame, y: np.ndarray, weight=None):
    if len(np.unique(y)) < 2:
        return _Constant(float(np.mean(y)))
    model = clone(template)
    return model.fit(x, y, model__sample_weight=weight) if weight is not None else model.fit(x, y)


def _proba(model, x: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(x)[:, 1]


def folds(design: Design, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Each user's fold (0..n_folds-1), stratified on arm x outcome and seeded."""
    strata = pd.Series(design.arm).astype(str) + "|" + pd.Series(design.outcome).astype(int).astype(str)
    smallest = int(strata.value_counts().min())
    if smallest < n_folds:
        raise InputError(f"An arm x outcome cell has only {smallest} users, fewer than targeting.folds = {n_folds}: "
                         "every fold needs treated and control users with and without the outcome.")
    out = np.empty(len(strata), dtype=int)
    for i, (_, test) in enumerate(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(strata, strata)):
        out[test] = i
    return out


def _check_fold(design: Design, train: np.ndarray, fold: int) -> None:
    present = set(pd.unique(design.arm[train]))
    missing = [a for a in (design.control, *design.arms) if a not in present]
    if missing:
        raise InputError(f"Fold {fold} has no training users in arm(s) {missing}: "
                         "every arm needs users in every fold (fewer folds, or more users).")


def cross_fit(design: Design, features: FeatureSet, *, estimator: str = "gradient_boosting", n_folds: int = 5,
              seed: int = 0, threads: int = 1) -> pd.DataFrame:
    """Out-of-fold uplift scores: one column per (model, arm), named ``<model>:<arm>``, one row per user.

    Every user is scored by the models fitted on the other folds (see the module docstring); the
    column ``fold`` says which fold they were held out in.
    """
    x = features.frame.reset_index(drop=True)
    template = make_estimator(features, estimator, seed)
    fold = folds(design, n_folds, seed)
    scores = pd.DataFrame(index=x.index, columns=[f"{m}:{a}" for a in design.arms for m in MODELS], dtype=float)
    with threadpool_limits(threads):  # many small fits: threads beyond the few cores only contend
        for f in range(n_folds):
            test, train = fold == f, fold != f
            _check_fold(design, train, f)
            for (m, a), values in _fold_scores(design, x, template, train=train, test=test).items():
                scores.loc[test, f"{m}:{a}"] = values
    return scores.assign(fold=fold)


def _fold_scores(design: Design, x: pd.DataFrame, template: Pipeline, *, train: np.ndarray,
                 test: np.ndarray) -> dict:
    """The two models fitted on ``train``, scoring the ``test`` rows."""
    ctrl = train & (design.arm == design.control)
    xt = x[test]
    base = _proba(_fit(template, x[ctrl], design.outcome[ctrl]), xt)
    out = {}
    for a in design.arms:
        arm = train & (design.arm == a)
        out[("t_learner", a)] = _proba(_fit(template, x[arm], design.outcome[arm]), xt) - base
        pair = arm | ctrl
        t = (design.arm[pair] == a).astype(int)
        z = np.where(t == 1, design.outcome[pair], 1 - design.outcome[pair]).astype(int)
        w = np.where(t == 1, 0.5 / t.mean(), 0.5 / (1 - t.mean()))
        out[("class_transformation", a)] = 2 * _proba(_fit(template, x[pair], z, w), xt) - 1
    return out

"""The check against a planted truth: the bundled sample records each customer's type and each
type's true conversion effect per arm (``data/sample/sample_truth.json``, key ``experiment``).

For each treatment arm: the true mean effect of the top 30% ranked by the arm's out-of-fold score,
against the true mean effect over all experiment users, and the one-sided permutation p-value: the
share of random 30% draws whose true mean effect is at least the top's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

TOP_SHARE = 0.3


def load_truth(path: Path | None) -> dict | None:
    """The ``experiment`` part of a sample truth file, or None when there is none."""
    if path is None or not Path(path).exists():
        return None
    return json.loads(Path(path).read_text(encoding="utf-8")).get("experiment")


def _truth_arm(label: str, truth: dict) -> str | None:
    """The truth's arm for a table label: the same name, or the one ending in _<label> (offer_a for A)."""
    names = list(truth["conversion_effect"])
    return label if label in names else next((n for n in names if n.lower().endswith("_" + label.lower())), None)


def true_effects(ids: pd.Series, arm: str, truth: dict) -> pd.Series:
    """Each user's true conversion effect of ``arm`` (ids as customer ids, or with a letter prefix such as U12346)."""
    name = _truth_arm(arm, truth)
    if name is None:
        return pd.Series(np.nan, index=ids.index)
    types = truth["customer_type"]
    key = ids.astype(str).map(lambda s: s if s in types else s.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    return key.map(types).map(truth["conversion_effect"][name]).astype(float)


def truth_check(holdout: pd.DataFrame, arms: list[str], model: str, truth: dict, *, draws: int = 2000,
                seed: int = 0) -> pd.DataFrame:
    """Per arm: true mean effect of the targeted top 30%, of everyone, their ratio and the permutation p-value."""
    rows, rng = [], np.random.default_rng(seed)
    for a in arms:
        effect = true_effects(holdout["customer_id"], a, truth).to_numpy()
        ok = ~np.isnan(effect)
        if not ok.any():
            continue
        score, effect = holdout[f"{model}_{a}"].to_numpy()[ok], effect[ok]
        n = int(len(effect) * TOP_SHARE)
        top = effect[np.argsort(score, kind="mergesort")[::-1][:n]].mean()
        random_means = np.array([rng.choice(effect, n, replace=False).mean() for _ in range(draws)])
        rows.append({"arm": a, "users": int(ok.sum()), "top_share": TOP_SHARE, "true_effect_top": top,
                     "true_effect_all": effect.mean(), "ratio": top / effect.mean() if effect.mean() else np.nan,
                     "p_value": (1 + np.sum(random_means >= top)) / (1 + draws)})
    return pd.DataFrame(rows)

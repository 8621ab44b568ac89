"""The weighted value score, its tiers and the weights learned on a calibration split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_analytics.core.errors import ConfigError
from customer_analytics.models import value_score


def scored():
    return pd.DataFrame({"customer_id": [str(i) for i in range(10)], "r_score": [5, 1, 3, 2, 4, 5, 1, 2, 3, 4],
                         "f_score": [1, 5, 3, 2, 4, 1, 5, 2, 3, 4], "m_score": [1, 1, 5, 2, 4, 3, 3, 2, 1, 5],
                         "segment": ["a"] * 5 + ["b"] * 5})


def test_weighted_score_by_hand_and_tiers():
    s = scored()
    got = value_score.weighted_score(s, {"r": 1, "f": 2, "m": 1})
    assert got.tolist() == pytest.approx(((s.r_score + 2 * s.f_score + s.m_score) / 4).tolist())
    tiers = value_score.tiers(s, {"r": 0, "f": 0, "m": 1})
    assert (tiers == "top").sum() == 2 and (tiers == "middle").sum() == 3 and (tiers == "base").sum() == 5
    assert set(s.loc[tiers == "top", "customer_id"]) == {"2", "9"}  # M = 5; ties by F then R
    moves = value_score.tier_changes(s, {"r": 0, "f": 0, "m": 1})
    assert moves.to_numpy().sum() == 10


def test_bad_weights_are_refused():
    with pytest.raises(ConfigError, match="keys r, f and m"):
        value_score.normalised({"r": 1, "f": 1})
    with pytest.raises(ConfigError, match="non-negative"):
        value_score.normalised({"r": -1, "f": 1, "m": 1})


def test_learned_weights_favour_the_score_that_predicts_next_revenue():
    rng = np.random.default_rng(0)
    rows = []
    for c in range(300):
        spend = float(rng.choice([5, 20, 80, 300]))
        for k in range(int(rng.integers(1, 4))):  # calibration orders before 2025-07-01, order value = spend
            rows.append((str(c), f"{c}-{k}", pd.Timestamp("2024-06-01") + pd.Timedelta(days=int(rng.integers(0, 390))), spend))
        rows.append((str(c), f"{c}-n", pd.Timestamp("2025-09-01"), spend * 2))  # next period: proportional to spend
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    params = {"scheme": "en11", "n_levels": 5, "score_method": "quantile", "recency_bands": [30, 60, 90, 180],
              "new_customer_days": 90, "thresholds": {}, "window_months": None, "monetary": "total",
              "zh8_threshold": "mean", "weights": "learned"}
    learned = value_score.learn_weights(tx, "2025-12-31", holdout_days=180, rfm_params=params, seed=1)
    assert sum(learned.weights.values()) == pytest.approx(1)
    assert learned.weights["m"] > learned.weights["r"]
    assert learned.spearman_learned >= learned.spearman_equal - 0.02
    assert learned.fit_customers + learned.holdout_customers == 300

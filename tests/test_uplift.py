"""Notebook 08's uplift models: the metrics against their published definitions, planted and absent
heterogeneity, the money policy and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_analytics.core.errors import InputError
from customer_analytics.models import uplift
from customer_analytics.models.uplift import analysis, learners, metrics, policy
from customer_analytics.models.uplift import truth as truth_mod
from customer_analytics.report.i18n import t
from customer_analytics.report.text import targeting as tg_text

SETTINGS = {"folds": 3, "estimator": "logistic", "model": "t_learner", "bootstrap": 100, "min_users_per_arm": 200,
            "seed": 1}

# ------------------------------------------------------------------ metrics on fixed vectors

Y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 1])
T = np.array([1, 1, 0, 1, 0, 1, 0, 0, 1, 0])
S = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])


def _plain_qini(y, score, t):
    """The Qini curve as written in words: after each run of equal scores (highest first), treated
    responders minus control responders x N_t/N_c."""
    df = pd.DataFrame({"y": y, "t": t, "s": score}).iloc[np.argsort(score, kind="mergesort")[::-1]]
    df = df.assign(n=np.arange(1, len(df) + 1), n_t=df["t"].cumsum(), n_c=(1 - df["t"]).cumsum(),
                   y_t=(df["y"] * df["t"]).cumsum(), y_c=(df["y"] * (1 - df["t"])).cumsum())
    ends = df[df["s"].ne(df["s"].shift(-1))]  # the last user of every run of equal scores
    q = ends["y_t"] - ends["y_c"] * (ends["n_t"] / ends["n_c"].where(ends["n_c"] > 0)).fillna(0)
    return np.r_[0, ends["n"].to_numpy()], np.r_[0, q.to_numpy()]


def test_uplift_at_k_is_the_treated_minus_control_rate_in_the_top_int_k_n():
    # top 30% = the first 3 by score: users 0 (t, 1), 1 (t, 0), 2 (c, 1) -> 1/2 - 1/1
    assert metrics.uplift_at_k(Y, S, T, 0.3) == pytest.approx(0.5 - 1.0)
    # top 50% = 5 users: treated 0, 1, 3 (outcomes 1, 0, 1), control 2, 4 (1, 0)
    assert metrics.uplift_at_k(Y, S, T, 0.5) == pytest.approx(2 / 3 - 1 / 2)
    assert metrics.uplift_at_k(Y, S, T, 1.0) == pytest.approx(Y[T == 1].mean() - Y[T == 0].mean())
    assert np.isnan(metrics.uplift_at_k(Y, S, T, 0.1))  # the top user is treated: no control in it


def test_qini_curve_matches_its_plain_statement_and_ends_at_the_overall_lift():
    x, q = metrics.qini_curve(Y, S, T)
    px, pq = _plain_qini(Y, S, T)
    np.testing.assert_allclose(x, px)
    np.testing.assert_allclose(q, pq)
    assert q[-1] == pytest.approx(Y[T == 1].sum() - Y[T == 0].sum() * T.sum() / (1 - T).sum())


def test_qini_coefficient_is_the_area_over_random_divided_by_the_perfect_one():
    x, q = _plain_qini(Y, S, T)
    xp, qp = _plain_qini(Y, Y * T - Y * (1 - T), T)
    random = np.trapezoid([0, qp[-1]], [0, xp[-1]])
    expected = (np.trapezoid(q, x) - random) / (np.trapezoid(qp, xp) - random)
    assert metrics.qini_coefficient(Y, S, T) == pytest.approx(expected)


def test_perfect_random_and_inverted_rankings_give_the_known_values():
    rng = np.random.default_rng(3)
    y, t = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    perfect = metrics.perfect_qini_score(y, t)
    assert metrics.qini_coefficient(y, perfect, t) == pytest.approx(1.0)
    assert metrics.auuc(y, metrics.perfect_uplift_score(y, t), t) == pytest.approx(1.0)
    assert metrics.qini_coefficient(y, np.zeros(400), t) == pytest.approx(0.0)  # one score for all: the random line
    assert metrics.auuc(y, np.zeros(400), t) == pytest.approx(0.0)
    x, q = _plain_qini(y, -perfect, t)  # control responders first
    xp, qp = _plain_qini(y, perfect, t)
    random = np.trapezoid([0, qp[-1]], [0, xp[-1]])
    inverted = (np.trapezoid(q, x) - random) / (np.trapezoid(qp, xp) - random)
    assert metrics.qini_coefficient(y, -perfect, t) == pytest.approx(inverted) and inverted < -0.2
    draws = [metrics.qini_coefficient(y, rng.random(400), t) for _ in range(200)]
    assert abs(np.mean(draws)) < 0.03


def test_bootstrap_with_unit_weights_is_the_point_value_and_its_interval_holds_it():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, 2000)
    x = rng.random(2000)
    y = (rng.random(2000) < 0.1 + 0.2 * t * x).astype(int)
    r = metrics._Ranking(y, x, t)
    best = metrics._Ranking(y, metrics.perfect_qini_score(y, t), t)
    assert metrics._normalised_ranked(r, best, "qini", w=np.ones(2000)) == pytest.approx(metrics.qini_coefficient(y, x, t))
    w = rng.poisson(1, 2000).astype(float)
    assert metrics._normalised_ranked(r, best, "qini", w=w) == pytest.approx(metrics.qini_coefficient(y, x, t, weight=w))
    draws = metrics.bootstrap_metrics(y, x, t, replicates=100, seed=1)
    low, high = np.percentile(draws["qini_coefficient"], [2.5, 97.5])
    assert low < metrics.qini_coefficient(y, x, t) < high and low > 0


# ------------------------------------------------------------------ simulated campaigns


def campaign(n_per_arm=600, *, effect=0.25, heterogeneous=True, seed=0, arms=("ctl", "A")):
    rng = np.random.default_rng(seed)
    n = n_per_arm * len(arms)
    arm = np.repeat(arms, n_per_arm)
    x = rng.random(n)
    tier = rng.choice(["a", "b", "c"], n)
    lift = np.where(arm != arms[0], effect * x if heterogeneous else effect / 2, 0.0)
    y = (rng.random(n) < 0.1 + lift).astype(int)
    return pd.DataFrame({"user": [f"u{i}" for i in range(n)], "arm": arm, "y": y, "x": x, "tier": tier})


COLS = uplift.Columns("user", "arm", "y", "ctl", segment="tier", value="x")


def run(df, **settings):
    return uplift.analyse(df, uplift.table_features(df, ["x", "tier"]), COLS, {**SETTINGS, **settings})


def test_a_planted_heterogeneous_effect_is_found_and_the_list_puts_it_first():
    r = run(campaign())
    q = r.metric("A", "t_learner", "qini_coefficient")
    assert q["low"] > 0 and q["value"] > 0.1 and r.supported["A"]
    assert r.metric("A", "t_learner", "uplift_at_10")["value"] > r.metric("A", "everyone", "uplift_at_10")["value"]
    h = r.holdout
    top = h.nlargest(int(len(h) * 0.3), "t_learner_A")
    assert top["customer_id"].map(dict(zip(campaign()["user"], campaign()["x"], strict=True))).mean() > 0.6
    assert set(r.evaluation["metric"]) == {"qini_coefficient", "auuc", "uplift_at_10", "uplift_at_20", "uplift_at_30"}
    assert list(r.evaluation.columns) == ["arm", "model", "metric", "value", "low", "high"]
    assert set(r.evaluation["model"]) == {"t_learner", "class_transformation", "everyone", "best_segment",
                                          "highest_value"}


def test_without_heterogeneity_targeting_is_claimed_in_at_most_about_5_percent_of_campaigns():
    claims = 0
    for seed in range(100):
        df = campaign(300, heterogeneous=False, seed=seed)
        design = learners.Design(df["arm"].to_numpy(), df["y"].to_numpy(), "ctl", ("A",))
        score = learners.cross_fit(design, uplift.table_features(df, ["x", "tier"]), estimator="logistic",
                                   n_folds=3, seed=seed)["t_learner:A"].to_numpy()
        draws = metrics.bootstrap_metrics(df["y"], score, (df["arm"] == "A").astype(int), replicates=100, seed=seed)
        q = metrics.qini_coefficient(df["y"], score, (df["arm"] == "A").astype(int))
        claims += q - analysis.DECISION_Z * np.std(draws["qini_coefficient"], ddof=1) > 0
    assert claims <= 9  # 5% of 100, with room for chance (P(Binomial(100, 0.05) > 9) < 3%)


def test_the_page_says_plainly_when_the_data_do_not_support_targeting():
    r = run(campaign(heterogeneous=False, seed=4))
    assert not r.supported["A"]
    line = tg_text.arm_decision(r, "A", "en")
    assert "do not support targeting" in line and "not above random" in line
    assert tg_text.headline(r, "en") == t("nb08.headline_unsupported", "en")
    assert "数据不支持定向投放" in tg_text.arm_decision(r, "A", "zh")


# ------------------------------------------------------------------ money


def test_the_profit_of_the_top_k_is_uplift_times_value_minus_cost_times_customers():
    df = campaign()
    money = policy.Money(10.0, {"A": 0.5}, "experiment")
    r = uplift.analyse(df, uplift.table_features(df, ["x", "tier"]), COLS, SETTINGS, money=money)
    c = r.curves["A"]
    row = c[c["share"] == 0.3].iloc[0]
    assert row["uplift"] == pytest.approx(r.metric("A", "t_learner", "uplift_at_30")["value"])
    assert row["total_profit"] == pytest.approx((row["uplift"] * 10 - 0.5) * int(len(df) * 0.3))
    assert r.best["A"]["total_profit"] == c["total_profit"].max()
    assert set(r.targeting.columns) == {"customer_id", "recommended_arm", "predicted_uplift",
                                        "expected_incremental_profit"}
    sent = r.targeting[r.targeting["recommended_arm"] == "A"]
    assert (sent["expected_incremental_profit"] > 0).all()
    assert (r.targeting.loc[r.targeting["recommended_arm"] == "none", "expected_incremental_profit"] <= 0).all()


def test_the_best_arm_per_customer_is_the_one_of_highest_expected_profit():
    scores = pd.DataFrame({"A": [0.10, 0.01, 0.00], "B": [0.05, 0.08, 0.00]})
    money = policy.Money(10.0, {"A": 0.2, "B": 0.5}, "experiment")
    rec = policy.recommend(scores, money, average={"A": 0.03, "B": 0.03}, supported={"A": True, "B": True})
    assert rec["recommended_arm"].tolist() == ["A", "B", "none"]
    assert rec["expected_incremental_profit"].tolist() == pytest.approx([0.8, 0.3, -0.2])
    unsupported = policy.recommend(scores, money, average={"A": 0.03, "B": 0.03}, supported={"A": False, "B": True})
    assert unsupported["recommended_arm"].tolist() == ["A", "B", "A"]  # A at its average effect for everyone


def test_money_comes_from_04s_roi_settings_else_the_targeting_fallbacks():
    df = pd.DataFrame({"y": [1, 0, 1, 0], "spend": [20.0, 0, 40.0, 0]})
    e = {"control_label": "c", "cost_per_user": {"A": 0.4, "c": 0.1}, "value_per_conversion": 5.0, "margin": 0.5,
         "continuous_metrics": ["spend"]}
    m = policy.money_settings(e, {}, df, outcome="y", arms=["A"])
    assert m.value == pytest.approx(5 + 0.5 * 30) and m.cost == {"A": pytest.approx(0.3)} and m.source == "experiment"
    m = policy.money_settings({"control_label": "c", "continuous_metrics": ["spend"]},
                              {"cost_per_contact": 0.5, "margin": 0.3}, df, outcome="y", arms=["A"])
    assert m.value == pytest.approx(9.0) and m.cost == {"A": 0.5} and m.source == "targeting"


# ------------------------------------------------------------------ bad input


def test_fewer_than_the_minimum_users_per_arm_is_too_small_and_nothing_is_fitted():
    r = run(campaign(150))
    assert r.status == "too_small" and r.tables() == {} and r.evaluation is None
    assert tg_text.bullets(r, "en", why="too small") == ["too small"]
    why = tg_text.too_small(r, 1000, "en")
    assert "too small to learn whom to target" in why and "**ctl**, has 150 users, fewer than the 1,000" in why
    assert "实验规模太小" in tg_text.too_small(r, 1000, "zh")


def test_an_arm_with_too_few_users_for_the_folds_is_named():
    df = campaign(300, arms=("ctl", "A"))
    df.loc[df["arm"] == "A", "y"] = 0
    df.loc[df.index[df["arm"] == "A"][:2], "y"] = 1  # two treated buyers, three folds: a fold has none
    with pytest.raises(InputError, match="only 2 users, fewer than targeting.folds = 3"):
        run(df, min_users_per_arm=100)


def test_an_arm_without_buyers_scores_with_a_constant_model():
    df = campaign(300)
    df.loc[df["arm"] == "A", "y"] = 0
    r = run(df, min_users_per_arm=100)
    assert r.status == "ok" and r.holdout["t_learner_A"].notna().all()
    assert not r.supported["A"]


def test_a_one_valued_feature_is_dropped_and_a_table_of_only_such_features_is_refused():
    df = campaign().assign(const=1.0)
    fs = uplift.table_features(df, ["x", "const"])
    assert fs.dropped == ["const"] and fs.columns == ["x"]
    with pytest.raises(InputError, match="No feature varies"):
        uplift.analyse(df, uplift.table_features(df, ["const"]), COLS, SETTINGS)
    with pytest.raises(InputError, match=r"targeting.features names \['nope'\]"):
        uplift.table_features(df, ["nope"])


def test_a_category_unseen_in_a_training_fold_is_scored():
    df = campaign()
    df.loc[0, "tier"] = "only_once"
    r = run(df)
    assert r.holdout.loc[0, ["t_learner_A", "class_transformation_A"]].notna().all()


def test_a_non_binary_outcome_is_refused_with_its_name():
    df = campaign().assign(y=lambda d: d["y"] * 2.5)
    with pytest.raises(InputError, match="'y' must be binary"):
        run(df)


# ------------------------------------------------------------------ the planted truth of the sample


def test_the_sample_list_puts_the_high_effect_types_first(root=None):
    from conftest import ROOT

    df = pd.read_csv(ROOT / "data/sample/experiment_users.csv")
    cols = uplift.Columns("user_ref", "arm", "purchased", "ctl", segment="tier", value="spend_prev90")
    r = uplift.analyse(df, uplift.table_features(df, ["spend_prev90", "tier"]), cols, {**SETTINGS, "folds": 5})
    check = truth_mod.truth_check(r.holdout, r.arms, "class_transformation",
                                  truth_mod.load_truth(ROOT / "data/sample/sample_truth.json"))
    assert list(check["arm"]) == ["A", "B"]
    assert (check["true_effect_top"] > check["true_effect_all"]).all()
    assert check.loc[check["arm"] == "B", "p_value"].iloc[0] < 0.01
    lines = tg_text.truth_lines(check.assign(p_value=[0.5, 0.001]), "en")
    assert len(lines) == 3 and lines[2].startswith("For A the ranking does not put the high-effect customers first")

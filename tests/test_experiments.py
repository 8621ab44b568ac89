"""A/B statistics: equal to statsmodels/scipy on fixed data, calibrated by simulation, bad input named."""

from __future__ import annotations

import hashlib
import json
from html import unescape

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from scipy import integrate, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.models import experiments as ex
from customer_analytics.pipeline import runner
from customer_analytics.report import exports, publishing
from customer_analytics.report.plotting import experiments as ex_plots
from customer_analytics.report.text import experiments as ex_text

TOL = 1e-9


# ------------------------------------------------------------ equality on fixed data


@pytest.mark.parametrize("x_t,n_t,x_c,n_c", [(130, 1000, 100, 1000), (7, 60, 12, 80), (0, 50, 3, 50)])
def test_pooled_z_test_matches_statsmodels(x_t, n_t, x_c, n_c):
    z, p = ex.pooled_z_test(x_t, n_t, x_c, n_c)
    z_sm, p_sm = proportions_ztest([x_t, x_c], [n_t, n_c])
    assert z == pytest.approx(z_sm, abs=TOL) and p == pytest.approx(p_sm, abs=TOL)


@pytest.mark.parametrize("x_t,n_t,x_c,n_c", [(130, 1000, 100, 1000), (7, 60, 12, 80), (0, 50, 3, 50)])
def test_newcombe_interval_matches_statsmodels(x_t, n_t, x_c, n_c):
    lo, hi = ex.newcombe_interval(x_t, n_t, x_c, n_c)
    lo_sm, hi_sm = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="newcomb", compare="diff")
    assert lo == pytest.approx(lo_sm, abs=TOL) and hi == pytest.approx(hi_sm, abs=TOL)


def test_welch_matches_statsmodels():
    rng = np.random.default_rng(1)
    y_t, y_c = rng.lognormal(1, 1, 300), rng.lognormal(0.9, 1.2, 250)
    d, lo, hi, p = ex.welch(y_t, y_c)
    cm = CompareMeans(DescrStatsW(y_t), DescrStatsW(y_c))
    lo_sm, hi_sm = cm.tconfint_diff(usevar="unequal")
    _, p_sm, _ = cm.ttest_ind(usevar="unequal")
    assert d == pytest.approx(y_t.mean() - y_c.mean(), abs=TOL)
    assert (lo, hi, p) == pytest.approx((lo_sm, hi_sm, p_sm), abs=TOL)


def test_holm_and_bh_adjustments_match_the_explicit_formulas():
    p = np.array([0.001, 0.04, 0.03, 0.2, 0.01])
    order = np.argsort(p)
    m = len(p)
    holm = np.empty(m)
    holm[order] = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    bh = np.empty(m)
    bh[order[::-1]] = np.minimum(1, np.minimum.accumulate((p * m / (np.argsort(order) + 1))[order[::-1]]))
    assert multipletests(p, method="holm")[1] == pytest.approx(holm, abs=TOL)
    assert multipletests(p, method="fdr_bh")[1] == pytest.approx(bh, abs=TOL)


def test_cuped_theta_and_adjusted_variance_match_the_explicit_formulas():
    rng = np.random.default_rng(2)
    x = rng.gamma(2, 50, 2000)
    y = 0.6 * x + rng.normal(0, 30, 2000)
    y_t, y_c, x_t, x_c = y[:1000] + 5, y[1000:], x[:1000], x[1000:]
    r = ex.cuped_effect(y_t, y_c, x_t, x_c)
    yy, xx = np.concatenate([y_t, y_c]), np.concatenate([x_t, x_c])
    theta = np.cov(yy, xx, ddof=1)[0, 1] / np.var(xx, ddof=1)
    assert r.theta == pytest.approx(theta, abs=TOL)
    adj_t, adj_c = y_t - theta * (x_t - xx.mean()), y_c - theta * (x_c - xx.mean())
    var_adj = np.var(yy, ddof=1) - np.cov(yy, xx, ddof=1)[0, 1] ** 2 / np.var(xx, ddof=1)
    assert np.var(np.concatenate([adj_t, adj_c]), ddof=1) == pytest.approx(var_adj, rel=TOL)
    assert r.variance_reduction == pytest.approx(1 - var_adj / np.var(yy, ddof=1), abs=TOL)
    assert r.diff == pytest.approx(adj_t.mean() - adj_c.mean(), abs=TOL)
    assert (r.ci_high - r.ci_low) < r.unadjusted_ci_width


def test_log_ratio_lift_matches_the_formula():
    lift, lo, hi = ex.log_ratio_lift(0.12, 0.12 * 0.88 / 1000, 0.10, 0.1 * 0.9 / 1000)
    se = np.sqrt(0.88 / (1000 * 0.12) + 0.9 / (1000 * 0.1))
    z = stats.norm.ppf(0.975)
    assert lift == pytest.approx(0.2, abs=TOL)
    assert (lo, hi) == pytest.approx((1.2 * np.exp(-z * se) - 1, 1.2 * np.exp(z * se) - 1), abs=TOL)


@pytest.mark.parametrize("n_t,n_c", [(500, 500), (800, 400)])
def test_power_matches_statsmodels(n_t, n_c):
    got = ex.power_two_sample(2.0, 10.0, 10.0, n_t=n_t, n_c=n_c, alpha=0.05)
    want = NormalIndPower().power(effect_size=0.2, nobs1=n_t, alpha=0.05, ratio=n_c / n_t)
    assert got == pytest.approx(want, abs=TOL)


def test_sample_size_matches_statsmodels():
    p_c, lift = 0.10, 0.2
    p_t = p_c * (1 + lift)
    es = (p_t - p_c) / np.sqrt((p_t * (1 - p_t) + p_c * (1 - p_c)) / 2)
    n_sm = NormalIndPower().solve_power(effect_size=es, alpha=0.05, power=0.8, ratio=1)
    assert ex.sample_size_binary(p_c, lift) == int(np.ceil(n_sm))
    n_sm_c = NormalIndPower().solve_power(effect_size=0.1, alpha=0.05, power=0.9, ratio=1)
    assert ex.sample_size_continuous(100.0, 50.0, 0.05, alpha=0.05, power=0.9) == int(np.ceil(n_sm_c))
    # textbook closed form (one tail) agrees to within one user
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    closed = z**2 * (p_t * (1 - p_t) + p_c * (1 - p_c)) / (p_t - p_c) ** 2
    assert abs(ex.sample_size_binary(p_c, lift) - closed) < 1.5


def test_mde_gives_exactly_the_target_power():
    mde = ex.mde_continuous(10.0, 400, 600, alpha=0.05, power=0.8)
    assert ex.power_two_sample(mde, 10, 10, n_t=400, n_c=600, alpha=0.05) == pytest.approx(0.8, abs=TOL)
    mde_b = ex.mde_binary(0.1, 1000, 1000)
    p_t = 0.1 + mde_b
    assert ex.power_two_sample(mde_b, np.sqrt(p_t * (1 - p_t)), 0.3, n_t=1000, n_c=1000) == pytest.approx(0.8,
                                                                                                    abs=1e-8)


@pytest.mark.parametrize("x_t,n_t,x_c,n_c", [(60, 500, 45, 500), (45, 500, 60, 500), (7, 60, 12, 80),
                                             (0, 50, 3, 50), (1210, 10000, 1150, 10000)])
def test_chance_to_beat_control_matches_numerical_integration(x_t, n_t, x_c, n_c):
    bt, bc = stats.beta(1 + x_t, 1 + n_t - x_t), stats.beta(1 + x_c, 1 + n_c - x_c)
    lo = min(bt.ppf(1e-15), bc.ppf(1e-15))
    hi = max(bt.isf(1e-15), bc.isf(1e-15))
    exact = integrate.quad(lambda p: bt.pdf(p) * bc.cdf(p), lo, hi, points=[bt.mean(), bc.mean()],
                           limit=500, epsabs=1e-14, epsrel=1e-13)[0]
    assert ex.prob_beat_control(x_t, n_t, x_c, n_c) == pytest.approx(exact, abs=TOL)


def test_chance_to_beat_control_agrees_with_a_large_monte_carlo():
    x_t, n_t, x_c, n_c = 130, 1000, 112, 1000
    rng = np.random.default_rng(3)
    draws = 2_000_000
    mc = np.mean(rng.beta(1 + x_t, 1 + n_t - x_t, draws) > rng.beta(1 + x_c, 1 + n_c - x_c, draws))
    got = ex.prob_beat_control(x_t, n_t, x_c, n_c)
    assert got == pytest.approx(mc, abs=4 * np.sqrt(mc * (1 - mc) / draws))
    assert ex.prob_beat_control(x_t, n_t, x_t, n_t) == pytest.approx(0.5, abs=TOL)   # symmetric: exactly even
    assert got == ex.prob_beat_control(x_t, n_t, x_c, n_c)                            # deterministic


def test_chance_to_beat_control_for_a_mean_is_the_normal_posterior():
    rng = np.random.default_rng(4)
    y_t, y_c = rng.gamma(2, 10, 400) + 1, rng.gamma(2, 10, 500)
    e = ex.continuous_effect(y_t, y_c)
    se = np.sqrt(np.var(y_t, ddof=1) / 400 + np.var(y_c, ddof=1) / 500)
    assert e.prob_beat_control == pytest.approx(stats.norm.cdf((y_t.mean() - y_c.mean()) / se), abs=TOL)


def test_capping_can_ignore_zeros():
    y = pd.Series([0.0] * 96 + [10.0, 20.0, 30.0, 1000.0])
    capped, cap = ex.cap_values(y, 95, ignore_zeros=False)
    assert cap == 0.0 and capped.sum() == 0            # why a plain p95 destroys revenue
    capped, cap = ex.cap_values(y, 75, ignore_zeros=True)
    assert 30 <= cap < 1000 and capped.max() == cap and capped.sum() > 60


def test_srm_is_flagged_loudly_only_for_a_real_mismatch():
    ok = ex.srm_test(pd.Series(["a"] * 1000 + ["b"] * 1010))
    assert not ok.flagged and ok.p_value == pytest.approx(stats.chisquare([1000, 1010]).pvalue, abs=TOL)
    bad = ex.srm_test(pd.Series(["a"] * 1000 + ["b"] * 1200))
    assert bad.flagged and "SAMPLE RATIO MISMATCH" in unescape(ex_text.srm_summary(bad))
    planned = ex.srm_test(pd.Series(["a"] * 500 + ["b"] * 1000), {"a": 1, "b": 2})
    assert not planned.flagged and planned.chi2 == pytest.approx(0, abs=TOL)


def test_smd():
    assert ex.smd(np.array([1.0, 2, 3]), np.array([1.0, 2, 3])) == 0
    assert ex.smd(np.array([2.0, 3, 4]), np.array([1.0, 2, 3])) == pytest.approx(1.0)


# ------------------------------------------------------------ simulation (seeded, fast)


def test_aa_false_positive_rate_binary():
    rng = np.random.default_rng(20)
    n, sims = 1000, 4000
    x = rng.binomial(n, 0.08, size=(sims, 2))
    rate = np.mean([ex.pooled_z_test(a, n, b, n)[1] < 0.05 for a, b in x])
    assert 0.04 <= rate <= 0.06, rate


def test_aa_false_positive_rate_skewed_continuous():
    rng = np.random.default_rng(21)
    sims, n = 2000, 400
    rejections = 0
    for _ in range(sims):
        y = rng.lognormal(3, 1.2, (2, n)) * (rng.random((2, n)) < 0.3)  # 70% zeros, heavy tail
        rejections += ex.welch(y[0], y[1])[3] < 0.05
    assert 0.04 <= rejections / sims <= 0.06, rejections / sims


def test_newcombe_interval_covers_the_true_difference():
    rng = np.random.default_rng(22)
    n, sims, p_t, p_c = 800, 2000, 0.12, 0.10
    xt, xc = rng.binomial(n, p_t, sims), rng.binomial(n, p_c, sims)
    cover = np.mean([lo <= p_t - p_c <= hi for lo, hi in (ex.newcombe_interval(a, n, b, n) for a, b in zip(xt, xc, strict=True))])
    assert 0.94 <= cover <= 0.96, cover


def test_welch_interval_covers_the_true_difference():
    rng = np.random.default_rng(23)
    sims, n, true = 2000, 500, np.exp(3 + 0.5) * 0.1  # E[treatment] - E[control]
    cover = 0
    for _ in range(sims):
        y_c = rng.exponential(10, n)
        y_t = rng.exponential(10, n) + true
        _, lo, hi, _ = ex.welch(y_t, y_c)
        cover += lo <= true <= hi
    assert 0.94 <= cover / sims <= 0.96, cover / sims


def test_cuped_keeps_coverage_and_shrinks_the_interval():
    rng = np.random.default_rng(24)
    sims, n, true = 2000, 400, 2.0
    cover, ratio = 0, []
    for _ in range(sims):
        x = rng.gamma(2, 10, 2 * n)
        y = 0.8 * x + rng.normal(0, 8, 2 * n)
        y[:n] += true
        r = ex.cuped_effect(y[:n], y[n:], x[:n], x[n:])
        cover += r.ci_low <= true <= r.ci_high
        ratio.append((r.ci_high - r.ci_low) / r.unadjusted_ci_width)
    assert 0.94 <= cover / sims <= 0.96, cover / sims
    assert np.mean(ratio) < 0.7


# ------------------------------------------------------------ the synthetic campaign


@pytest.fixture(scope="module")
def users(sample):
    return sample.experiment_users


def spec_a(**kw):
    base = dict(variant_column="arm", control_label="ctl", user_column="user_ref", binary_metrics=["purchased"],
                continuous_metrics=["spend"], covariate="spend_prev90", segment_columns=["tier"])
    return ex.ExperimentSpec(**{**base, **kw})


def test_per_segment_effects_cover_the_known_truth(users, sample):
    res = ex.analyse(users, spec_a())
    truth = sample.truth["experiment"]
    tier_type = {v: k for k, v in truth["tier_of_type"].items()}
    arm_name = {"A": "offer_a", "B": "offer_b"}
    seg = res.segments[res.segments["metric"] == "purchased"]
    assert len(seg) == 8
    for r in seg.itertuples():
        true = truth["conversion_effect"][arm_name[r.arm]][tier_type[r.segment]]
        assert r.ci_low <= true <= r.ci_high, (r.arm, r.segment, r.diff, true)


def test_synthetic_campaign_has_no_srm_and_no_winner_after_holm(users):
    res = ex.analyse(users, spec_a())
    assert not res.srm.flagged
    text = ex_text.decision_summary(res, "purchased")
    assert "No arm is a proven winner on purchased" in text and "Next: do not roll out" in text
    assert "becomes 0.0658 after the holm correction for 2 arms" in text
    assert "roll out the winner" not in text


def test_outcomes_derived_from_transactions_match_the_generator(cleaned_sample, sample):
    clean = cleaned_sample.data
    out, notes = ex.derive_outcomes(sample.assignments, clean, 28, "2025-12-31")
    u = sample.experiment_users.assign(customer_id=lambda d: d["user_ref"].str[1:]).set_index("customer_id")
    o = out.set_index("customer_id").loc[u.index]
    assert (o["converted"] == u["purchased"]).all()
    assert o["revenue"].to_numpy() == pytest.approx(u["spend"].to_numpy(), abs=0.02)
    assert not notes  # the window ends before the period end
    _, late = ex.derive_outcomes(sample.assignments, clean, 28, "2025-11-15")
    assert "incomplete" in late[0]


def test_underpowered_non_significant_result_is_inconclusive():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"g": ["c"] * 60 + ["t"] * 60, "y": rng.binomial(1, 0.1, 120)})
    res = ex.analyse(df, ex.ExperimentSpec("g", "c", binary_metrics=["y"]))
    text = ex_text.decision_summary(res, "y")
    assert "inconclusive" in text and "not evidence of no effect" in text


# ------------------------------------------------------------ bad input


def test_single_arm(users):
    with pytest.raises(InputError, match="single arm"):
        ex.validate(users[users["arm"] == "ctl"], spec_a())


def test_control_label_not_present(users):
    with pytest.raises(InputError, match=r"Control label 'control' is not in column 'arm'.*\['A', 'B', 'ctl'\]"):
        ex.validate(users, spec_a(control_label="control"))


def test_non_numeric_metric(users):
    bad = users.astype({"spend": object})
    bad.loc[bad.index[3], "spend"] = "n/a"
    with pytest.raises(InputError, match=r"'spend' has 1 non-numeric value.*n/a"):
        ex.validate(bad, spec_a())


def test_binary_metric_not_zero_one(users):
    with pytest.raises(InputError, match="Binary metric 'spend' must be 0/1"):
        ex.validate(users, spec_a(binary_metrics=["spend"], continuous_metrics=[]))


def test_covariate_with_missing_values(users):
    bad = users.copy()
    bad.loc[bad.index[:2], "spend_prev90"] = np.nan
    with pytest.raises(InputError, match="Covariate 'spend_prev90' has 2 missing"):
        ex.validate(bad, spec_a())


def test_empty_segment_label(users):
    bad = users.copy()
    bad.loc[bad.index[:5], "tier"] = ""
    with pytest.raises(InputError, match="Segment column 'tier' is empty for 5 user"):
        ex.validate(bad, spec_a())


def test_duplicate_user_id(users):
    with pytest.raises(InputError, match=r"share a user id in 'user_ref'"):
        ex.validate(pd.concat([users, users.head(2)]), spec_a())


# ------------------------------------------------------------ one decision rule everywhere


def three_arm_table(x_a: int = 242, n: int = 2000, x_c: int = 200, x_b: int = 200) -> pd.DataFrame:
    """control 200/2000; offer_a 242/2000 (p = 0.034, Holm over two arms 0.068); offer_b = control."""
    def arm(name, x):
        return pd.DataFrame({"variant": name, "converted": np.r_[np.ones(x), np.zeros(n - x)]})
    return pd.concat([arm("control", x_c), arm("offer_a", x_a), arm("offer_b", x_b)], ignore_index=True)


THREE = ex.ExperimentSpec("variant", "control", binary_metrics=["converted"])


def index_after(tmp_path, res) -> str:
    """The index page a report with this result's headline figures produces."""
    folder = tmp_path / "2025-12"
    (folder / "headlines").mkdir(parents=True)
    exports.record_headlines(folder, "04_ab_evaluation", **ex.headline_figures(res))
    run = {"status": "success", "period": "2025-12", "notebooks": [{"name": "04_ab_evaluation"}],
           "headlines": exports.collect_headlines(folder)}
    (folder / "run.json").write_text(json.dumps(run))
    return publishing.write_index(tmp_path).read_text()


def test_holm_adjusted_p_above_alpha_gives_no_winner_anywhere(tmp_path):
    res = ex.analyse(three_arm_table(), THREE)
    a = res.effects.set_index("arm").loc["offer_a"]
    assert a["p_value"] == pytest.approx(0.0342, abs=5e-4) and a["p_adjusted"] == pytest.approx(0.0684, abs=1e-3)
    text = unescape(ex_text.decision_summary(res))
    assert "No arm is a proven winner on converted" in text and "Winner on" not in text
    assert "p = 0.0342, which becomes 0.0683 after the holm correction for 2 arms" in text
    assert "Next: do not roll out" in text
    assert ex.headline_figures(res)["winner"] == "none"
    index = index_after(tmp_path, res)
    assert "<td>none</td>" in index and "offer_a" not in index


def test_without_correction_the_same_table_names_the_arm(tmp_path):
    res = ex.analyse(three_arm_table(), THREE, correction="none")
    assert unescape(ex_text.decision_summary(res)).startswith("**Winner on converted: offer_a**: +2.10 pp (95% CI")
    assert "Next: roll out offer_a" in unescape(ex_text.decision_summary(res))
    assert ex.headline_figures(res)["winner"] == "offer_a"
    assert "<td>offer_a</td>" in index_after(tmp_path, res)


def test_no_winner_when_srm_is_flagged_or_the_effect_is_unfavourable():
    srm = ex.analyse(three_arm_table(x_a=300).iloc[500:], THREE, correction="none")  # 500 controls missing
    assert srm.srm.flagged and srm.decision().winner is None
    assert "SRM p" in unescape(ex_text.decision_summary(srm)) and "Next: fix the assignment" in unescape(ex_text.decision_summary(srm))
    down = ex.analyse(three_arm_table(x_a=300), THREE, higher_is_better=False)
    assert down.decision().winner is None and "offer_a moved converted the wrong way" in unescape(ex_text.decision_summary(down))


def test_per_segment_claims_use_the_adjusted_p_values():
    rng = np.random.default_rng(8)
    n = 4000
    df = pd.DataFrame({"variant": rng.choice(["control", "offer"], n), "seg": rng.choice(list("abcdefgh"), n)})
    df["converted"] = rng.binomial(1, np.where((df["seg"] == "a") & (df["variant"] == "offer"), 0.35, 0.1))
    res = ex.analyse(df, ex.ExperimentSpec("variant", "control", binary_metrics=["converted"], segment_columns=["seg"]))
    s = res.segments.set_index("segment")
    assert s.loc["a", "p_adjusted"] < 0.05
    assert s["p_adjusted"].drop("a").min() >= 0.05
    raw_only = s[(s["p_value"] < 0.05) & (s["p_adjusted"] >= 0.05)].index
    text = unescape(ex_text.decision_summary(res))
    assert "offer in seg = a" in text and not any(f"seg = {x} (" in text for x in raw_only)


def test_treatment_arms_are_compared_with_each_other():
    res = ex.analyse(three_arm_table(x_a=260, x_b=230), THREE)
    pw = res.pairwise.set_index(["arm", "versus"]).loc[("offer_a", "offer_b")]
    _, p = ex.pooled_z_test(260, 2000, 230, 2000)
    assert pw["diff"] == pytest.approx(0.015, abs=TOL) and pw["p_value"] == pytest.approx(p, abs=TOL)
    assert "offer_a vs offer_b" in unescape(ex_text.decision_summary(res))


def test_effects_are_written_in_percentage_points_and_percent():
    res = ex.analyse(three_arm_table(x_a=242), THREE)
    row = ex_text.readable_effects(res.effects).set_index("arm").loc["offer_a"]
    assert row["effect"].startswith("+2.10 pp (95% CI +") and row["effect"].endswith(" pp)")
    assert row["relative lift"] == "+21% (95% CI +1.4% to +44%)"  # excludes 0, as the pp interval does
    assert row["treatment"] == "12.10%" and row["comparison"] == "10.00%"
    assert ex_text.p_text("adjusted p", 3e-7) == "adjusted p < 0.001" and ex_text.p_text("p", 0.0342) == "p = 0.0342"


def test_analyse_options_are_keyword_only_and_the_result_has_a_summary():
    with pytest.raises(TypeError):
        ex.analyse(three_arm_table(), THREE, 0.05)
    res = ex.analyse(three_arm_table(), THREE, alpha=0.1)
    assert res.options["alpha"] == 0.1 and isinstance(unescape(ex_text.decision_summary(res)), str)
    assert ex_text.decision_text(res.decision()).startswith("Winner on converted: offer_a")  # 0.068 < 0.1


# ------------------------------------------------------------ CUPED on a binary metric


def test_cuped_on_a_binary_metric_matches_a_direct_computation():
    rng = np.random.default_rng(9)
    n = 3000
    x = rng.gamma(1.5, 20, n)
    arm = rng.choice(["control", "t"], n)
    y = rng.binomial(1, np.clip(0.05 + x / 400 + 0.03 * (arm == "t"), 0, 1)).astype(float)
    df = pd.DataFrame({"arm": arm, "y": y, "x": x})
    res = ex.analyse(df, ex.ExperimentSpec("arm", "control", binary_metrics=["y"], covariate="x"))
    row = res.cuped.set_index(["arm", "metric"]).loc[("t", "y")]
    yt, yc, xt, xc = y[arm == "t"], y[arm == "control"], x[arm == "t"], x[arm == "control"]
    yy, xx = np.r_[yt, yc], np.r_[xt, xc]
    theta = np.cov(yy, xx, ddof=1)[0, 1] / np.var(xx, ddof=1)
    at, ac = yt - theta * (xt - xx.mean()), yc - theta * (xc - xx.mean())
    welch = stats.ttest_ind(at, ac, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert row["kind"] == "binary"
    assert row["theta"] == pytest.approx(theta, abs=TOL)
    assert row["diff"] == pytest.approx(at.mean() - ac.mean(), abs=TOL)
    assert (row["ci_low"], row["ci_high"], row["p_value"]) == pytest.approx((ci.low, ci.high, welch.pvalue), abs=TOL)
    assert row["variance_reduction"] == pytest.approx(1 - np.var(np.r_[at, ac], ddof=1) / np.var(yy, ddof=1), abs=TOL)
    assert row["variance_reduction"] > 0.01


# ------------------------------------------------------------ ROI


def test_roi_matches_a_hand_computation():
    df = pd.DataFrame({"arm": ["c"] * 4 + ["t"] * 4, "conv": [0, 1, 0, 0, 1, 1, 0, 1],
                       "rev": [0, 40, 0, 0, 30, 50, 0, 20.0]})
    spec = ex.ExperimentSpec("arm", "c", binary_metrics=["conv"], continuous_metrics=["rev"])
    roi = ex.ROISettings({"t": 2.0}, value_per_conversion=10, conversion_metric="conv", margin=0.5,
                         revenue_metric="rev")
    r = ex.analyse(df, spec, roi=roi).roi.set_index("arm").loc["t"]
    v_t = np.array([10 + 15, 10 + 25, 0, 10 + 10])       # 10 per conversion + half the revenue
    v_c = np.array([0, 10 + 20, 0, 0])
    profit = v_t.mean() - v_c.mean() - 2.0                 # 20 - 7.5 - 2 = 10.5 per treated user
    se = np.sqrt(v_t.var(ddof=1) / 4 + v_c.var(ddof=1) / 4)
    z = stats.norm.ppf(0.975)
    assert r["profit_per_user"] == pytest.approx(10.5, abs=TOL)
    assert r["total_profit"] == pytest.approx(42.0, abs=TOL) and r["roi"] == pytest.approx(10.5 / 2, abs=TOL)
    assert (r["total_profit_ci_low"], r["total_profit_ci_high"]) == pytest.approx(
        (4 * (profit - z * se), 4 * (profit + z * se)), abs=0.005)  # money to the cent
    assert (r["roi_ci_low"], r["roi_ci_high"]) == pytest.approx(((profit - z * se) / 2, (profit + z * se) / 2), abs=TOL)


def test_roi_interval_covers_the_true_total_profit():
    rng = np.random.default_rng(10)
    sims, n, cost = 2000, 600, 1.5
    p_c, p_t, mean_rev = 0.10, 0.13, 40.0
    conv = rng.random((sims, 2, n)) < np.array([p_c, p_t])[None, :, None]
    rev = np.where(conv, rng.exponential(mean_rev, (sims, 2, n)), 0.0)
    value = 8.0 * conv + 0.25 * rev                    # value per conversion 8, margin 25%
    true_total = n * ((8.0 + 0.25 * mean_rev) * (p_t - p_c) - cost)
    diff = value[:, 1].mean(axis=1) - value[:, 0].mean(axis=1) - cost
    se = np.sqrt(value[:, 1].var(axis=1, ddof=1) / n + value[:, 0].var(axis=1, ddof=1) / n)
    z = stats.norm.ppf(0.975)
    cover = np.mean((n * (diff - z * se) <= true_total) & (true_total <= n * (diff + z * se)))
    assert 0.94 <= cover <= 0.96, cover
    # the library gives the same interval as this vectorised version on the first replicate
    df = pd.DataFrame({"arm": np.repeat(["c", "t"], n), "conv": conv[0].ravel().astype(float),
                       "rev": rev[0].ravel()})
    roi = ex.ROISettings({"t": cost}, 8.0, "conv", 0.25, "rev")
    r = ex.analyse(df, ex.ExperimentSpec("arm", "c", binary_metrics=["conv"], continuous_metrics=["rev"]),
                   roi=roi).roi.iloc[0]
    assert (r["total_profit_ci_low"], r["total_profit_ci_high"]) == pytest.approx(
        (n * (diff[0] - z * se[0]), n * (diff[0] + z * se[0])), abs=0.005)  # money to the cent


def test_decision_mentions_roi_and_refuses_a_money_losing_winner():
    res = ex.analyse(three_arm_table(x_a=300), THREE,
                     roi=ex.ROISettings({"offer_a": 5.0, "offer_b": 5.0}, 10.0, "converted"))
    text = unescape(ex_text.decision_summary(res))
    assert "incremental profit" in text and "ROI" in text
    assert "Next: do not roll out offer_a at these costs" in text   # +5 pp x 10 = 0.5 per user < 5


def test_roi_needs_a_cost_for_every_arm():
    with pytest.raises(ConfigError, match=r"cost_per_user lacks arm\(s\) \['offer_b'\]"):
        ex.analyse(three_arm_table(), THREE, roi=ex.ROISettings({"offer_a": 1.0}, 10.0, "converted"))


# ------------------------------------------------------------ sequential looks


def test_sequential_aa_with_20_looks_keeps_the_false_winner_rate_below_alpha():
    rng = np.random.default_rng(11)
    sims, looks, batch, p = 4000, 20, 100, 0.1      # 100 users per arm between looks, 2,000 per arm at the end
    x = rng.binomial(batch, p, size=(sims, looks, 2)).cumsum(axis=1)
    n = batch * np.arange(1, looks + 1)[None, :]
    p_t, p_c = x[..., 1] / n, x[..., 0] / n
    diff, var = p_t - p_c, (p_t * (1 - p_t) + p_c * (1 - p_c)) / n
    seq_p = ex.sequential_p_value(diff, var, 2 * n, alpha=0.05, tuning=2 * batch * looks)
    fixed_p = 2 * stats.norm.sf(np.abs(diff) / np.sqrt(np.where(var > 0, var, np.inf)))
    ever_seq, ever_fixed = (seq_p < 0.05).any(axis=1).mean(), (fixed_p < 0.05).any(axis=1).mean()
    assert ever_seq <= 0.05, ever_seq
    assert ever_fixed > 0.15, ever_fixed          # peeking at a fixed-horizon test: about one in four


def test_sequential_p_value_is_below_alpha_exactly_when_the_sequence_excludes_zero():
    diff, var, n = np.array([0.01, 0.02, 0.035, -0.04]), np.full(4, 0.0001), np.full(4, 8000)
    hw = ex.sequential_halfwidth(var, n, 0.05, 5000)
    excl = np.abs(diff) > hw
    seq_p = ex.sequential_p_value(diff, var, n, alpha=0.05, tuning=5000)
    assert ((seq_p < 0.05) == excl).all() and excl.any() and not excl.all()
    assert (hw > stats.norm.ppf(0.975) * np.sqrt(var)).all()   # wider than the fixed-horizon interval


def test_sequential_switch_drives_the_decision():
    res = ex.analyse(three_arm_table(x_a=260), THREE, sequential=True, sequential_tuning=4000)
    e = res.effects.set_index("arm").loc["offer_a"]
    assert e["p_adjusted"] < 0.05 and e["seq_p_adjusted"] >= 0.05
    assert res.decision().winner is None and "always-valid" in unescape(ex_text.decision_summary(res))
    assert ex.analyse(three_arm_table(x_a=260), THREE).decision().winner == "offer_a"


# ------------------------------------------------------------ complete outputs, tiny cells


def test_a_segment_empty_in_one_arm_is_reported_and_skipped(users):
    for label in ("gold", "other (small segments)"):
        d = users.assign(tier=users["tier"].replace("gold", label))
        d = d[~((d["tier"] == label) & (d["arm"] == "B"))]
        res = ex.analyse(d, spec_a())
        seg = res.segments
        skipped = seg[(seg["segment"] == label) & (seg["arm"] == "B")]
        assert len(skipped) == 2 and skipped["status"].str.startswith("too small: skipped (0 users in B").all()
        assert skipped["p_value"].isna().all() and skipped["p_adjusted"].isna().all()
        assert seg.loc[seg["status"] == "ok", "p_adjusted"].notna().all()
        assert f"Too small, skipped: tier = {label} for B (0 vs" in unescape(ex_text.decision_summary(res))
        srm = res.srm_segments.set_index("segment").loc[label]
        assert srm["flagged"] and srm["chi2"] > 0     # 0 users in B counts in the SRM test
        size = res.sizes.set_index(["segment_column", "segment", "arm"]).loc[("tier", label, "B")]
        assert size["users"] == 0 and size["warning"] == "too small: skipped"


def test_every_segment_column_gets_srm_sizes_and_forest_rows(users):
    d = users.assign(big=np.where(users["spend_prev90"] > 0, "has_history", "new"))
    res = ex.analyse(d, spec_a(segment_columns=["tier", "big"]))
    assert set(res.srm_segments["segment_column"]) == {"tier", "big"}
    assert {"chi2", "p_value"} <= set(res.srm_segments.columns)
    assert {"chi2", "p_value"} <= set(res.srm.table.columns)
    assert set(res.sizes["segment_column"]) == {"(all)", "tier", "big"}
    assert set(res.tables()) >= {"srm", "srm_segments", "balance", "effects", "cuped", "segment_effects", "power", "roi"}
    fig = ex_plots.plot_segment_forest(res.segments, "purchased")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "big = new · A" in labels and "tier = gold · B" in labels
    cols = [lab.split(" = ")[0] for lab in labels]
    assert cols == sorted(cols, reverse=True) or cols == sorted(cols)  # grouped by segment column


# ------------------------------------------------------------ parameters as papermill passes them


def test_list_parameters_given_as_json_or_yaml_strings_are_parsed():
    assert ex.parse_list_param("binary_metrics", '["visit","conversion"]') == ["visit", "conversion"]
    assert ex.parse_list_param("binary_metrics", "[visit, conversion]") == ["visit", "conversion"]
    assert ex.parse_list_param("segment_columns", []) == [] and ex.parse_list_param("x", None) == []
    assert ex.parse_mapping_param("planned_split", '{"control": 0.5, "a": 0.5}') == {"control": 0.5, "a": 0.5}
    for bad in ("visit", "visit,conversion", '{"a": 1}', 3):
        with pytest.raises(ConfigError, match=r"must be a list of column names, e\.g\. binary_metrics: \[visit, conversion\] in YAML or in the notebook's settings, or the string '\[\"visit\", \"conversion\"\]'"):
            ex.parse_list_param("binary_metrics", bad)


def test_04_under_papermill_with_list_strings_and_no_user_column(tmp_path, users):
    import papermill as pm

    table = tmp_path / "no_ids.csv"
    users.drop(columns="user_ref").to_csv(table, index=False)
    out = tmp_path / "04.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks/04_ab_evaluation.ipynb"), str(out), kernel_name="customer-analytics",
                        progress_bar=False, cwd=str(ROOT / "notebooks"), parameters={
                            "run_dir": str(tmp_path / "run"), "settings": {"experiment": {
                                "mode": "table", "table_path": str(table),
                                "variant_column": "arm", "control_label": "ctl", "binary_metrics": '["purchased"]',
                                "continuous_metrics": "[spend]", "covariate": "spend_prev90",
                                "segment_columns": '["tier"]', "primary_metric": "purchased"}}})
    text = out.read_text()
    assert "each row is one user" in text and "transaction data none (experiment table only)" in text
    assert "No arm is a proven winner on purchased" in text
    assert sorted(p.stem for p in (tmp_path / "run" / "tables").glob("*.csv")) == sorted(
        ["srm", "srm_segments", "balance", "group_sizes", "effects", "pairwise", "cuped", "segment_effects",
         "power", "roi"])


# ------------------------------------------------------------ experiment-only reports


def table_config(tmp_path, **experiment) -> dict:
    return load_config_with(tmp_path, {"experiment": {"mode": "table", "table_path": str(ROOT / "data/sample/experiment_users.csv"),
                                                      **experiment}})


def load_config_with(tmp_path, cfg: dict):
    import yaml

    from customer_analytics.settings.loading import load_config

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return load_config(path), path


def test_plan_runs_only_04_and_08_for_a_table_without_transaction_data(tmp_path):
    cfg, path = table_config(tmp_path, name="spring-test")
    cfg["targeting"]["features"] = ["spend_prev90", "tier"]
    plan = runner.plan_notebooks(cfg, None, path)
    assert plan.notebooks == ["04_ab_evaluation", "08_targeting"] and plan.experiment_only and plan.label == "spring-test"
    assert set(plan.skipped) == {"01_data_cleaning", "02_rfm_scoring", "03_clustering", "05_clv_churn", "06_lifecycle",
                                    "07_profiles"}
    assert "no transaction data" in plan.skipped["01_data_cleaning"]
    assert runner.experiment_only_period(plan, None) == ("spring-test", None)
    assert runner.experiment_only_period(plan, "2025-11") == ("spring-test", "2025-11-30")
    unnamed = runner.plan_notebooks(*table_config(tmp_path)[:1], None, path)
    assert runner.experiment_only_period(unnamed, "2025-11") == ("2025-11", "2025-11-30")
    assert runner.experiment_only_period(unnamed, None) == ("experiment_users", None)


def test_plan_runs_everything_with_transactions_and_skips_04_without_experiment(tmp_path):
    cfg, path = load_config_with(tmp_path, {"data": {"path": "data/sample/online_shop_export.csv"},
                                            "experiment": {"mode": "table",
                                                           "table_path": "data/sample/experiment_users.csv"},
                                            "targeting": {"features": ["spend_prev90", "tier"]}})
    assert runner.plan_notebooks(cfg, None, path).notebooks == runner.NOTEBOOKS
    cfg, path = load_config_with(tmp_path, {"experiment": {"mode": "none"}})
    plan = runner.plan_notebooks(cfg, None, path)
    assert plan.notebooks == [n for n in runner.NOTEBOOKS if n not in ("04_ab_evaluation", "08_targeting")]
    assert "experiment.mode: none" in plan.skipped["04_ab_evaluation"] and "experiment.mode: none" in plan.skipped["08_targeting"]
    cfg, path = load_config_with(tmp_path, {"data": {"path": None}})
    with pytest.raises(ConfigError, match="mode 'transactions' derives outcomes from transaction data"):
        runner.plan_notebooks(cfg, None, path)
    cfg, path = table_config(tmp_path, table_path="nope.csv")
    with pytest.raises(ConfigError, match="table_path must name an existing file"):
        runner.plan_notebooks(cfg, None, path)
    with pytest.raises(ConfigError, match="experiment.name = '../escape'"):  # refused when the config is read
        table_config(tmp_path, name="../escape")


def test_experiment_only_report_runs_04_alone_and_records_only_the_table(tmp_path):
    import subprocess
    import sys

    rng = np.random.default_rng(12)
    n = 64_000
    table = tmp_path / "exp64k.csv"
    arm = rng.choice(["control", "offer_a", "offer_b"], n)
    pd.DataFrame({"variant": arm, "converted": rng.binomial(1, np.where(arm == "offer_a", 0.12, 0.10)),
                  "revenue": rng.exponential(30, n).round(2), "pre_revenue": rng.exponential(20, n).round(2),
                  "region": rng.choice(["north", "south", "east"], n)}).to_csv(table, index=False)
    cfg = tmp_path / "exp.yaml"
    import yaml
    cfg.write_text(yaml.safe_dump({"experiment": {"name": "exp64k", "mode": "table", "table_path": str(table),
                                                  "continuous_metrics": ["revenue"], "segment_columns": ["region"]}}))
    reports = tmp_path / "reports"
    r = subprocess.run([sys.executable, "-m", "customer_analytics", "report", "--config", str(cfg),
                        "--reports-dir", str(reports)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "[1/1] 04_ab_evaluation" in r.stdout and "Skipped 01_data_cleaning" in r.stdout
    # no targeting.features: notebook 08 has nothing to learn from and is skipped with the reason, not failed
    assert "Skipped 08_targeting" in r.stdout and "targeting.features" in r.stdout
    folder = reports / "exp64k"
    assert sorted(p.name for p in folder.glob("*.html")) == ["04_ab_evaluation.html"]
    run = json.loads((folder / "run.json").read_text())
    assert "input" not in run and [i["role"] for i in run["inputs"]] == ["experiment_table"]
    assert run["inputs"][0]["rows"] == n and run["inputs"][0]["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()
    assert [nb["name"] for nb in run["notebooks"]] == ["04_ab_evaluation"]
    assert set(run["headlines"]) == {"04_ab_evaluation"} and run["headlines"]["04_ab_evaluation"]["winner"] == "offer_a"
    index = (reports / "index.html").read_text()
    assert 'href="exp64k/04_ab_evaluation.html">exp64k</a>' in index and "01_data_cleaning" not in index

"""A/B statistics: equal to statsmodels/scipy on fixed data, calibrated by simulation, bad input named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from customer_analytics import experiments as ex
from customer_analytics.errors import InputError

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


def test_delta_method_lift_matches_the_formula():
    lift, lo, hi = ex.delta_lift(0.12, 0.12 * 0.88 / 1000, 0.10, 0.1 * 0.9 / 1000)
    se = np.sqrt(0.12 * 0.88 / 1000 / 0.1**2 + 0.12**2 * 0.1 * 0.9 / 1000 / 0.1**4)
    assert lift == pytest.approx(0.2, abs=TOL)
    assert (lo, hi) == pytest.approx((0.2 - stats.norm.ppf(0.975) * se, 0.2 + stats.norm.ppf(0.975) * se), abs=TOL)


@pytest.mark.parametrize("n_t,n_c", [(500, 500), (800, 400)])
def test_power_matches_statsmodels(n_t, n_c):
    got = ex.power_two_sample(2.0, 10.0, 10.0, n_t, n_c, 0.05)
    want = NormalIndPower().power(effect_size=0.2, nobs1=n_t, alpha=0.05, ratio=n_c / n_t)
    assert got == pytest.approx(want, abs=TOL)


def test_sample_size_matches_statsmodels():
    p_c, lift = 0.10, 0.2
    p_t = p_c * (1 + lift)
    es = (p_t - p_c) / np.sqrt((p_t * (1 - p_t) + p_c * (1 - p_c)) / 2)
    n_sm = NormalIndPower().solve_power(effect_size=es, alpha=0.05, power=0.8, ratio=1)
    assert ex.sample_size_binary(p_c, lift) == int(np.ceil(n_sm))
    n_sm_c = NormalIndPower().solve_power(effect_size=0.1, alpha=0.05, power=0.9, ratio=1)
    assert ex.sample_size_continuous(100.0, 50.0, 0.05, 0.05, 0.9) == int(np.ceil(n_sm_c))
    # textbook closed form (one tail) agrees to within one user
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    closed = z**2 * (p_t * (1 - p_t) + p_c * (1 - p_c)) / (p_t - p_c) ** 2
    assert abs(ex.sample_size_binary(p_c, lift) - closed) < 1.5


def test_mde_gives_exactly_the_target_power():
    mde = ex.mde_continuous(10.0, 400, 600, 0.05, 0.8)
    assert ex.power_two_sample(mde, 10, 10, 400, 600, 0.05) == pytest.approx(0.8, abs=TOL)
    mde_b = ex.mde_binary(0.1, 1000, 1000)
    p_t = 0.1 + mde_b
    assert ex.power_two_sample(mde_b, np.sqrt(p_t * (1 - p_t)), 0.3, 1000, 1000) == pytest.approx(0.8, abs=1e-8)


def test_chance_to_beat_control_matches_numerical_integration():
    x_t, n_t, x_c, n_c = 60, 500, 45, 500
    bt, bc = stats.beta(1 + x_t, 1 + n_t - x_t), stats.beta(1 + x_c, 1 + n_c - x_c)
    exact = integrate.quad(lambda p: bt.pdf(p) * bc.cdf(p), 0, 1, points=[0.09, 0.12], limit=200)[0]
    assert ex.prob_beat_control(x_t, n_t, x_c, n_c) == pytest.approx(exact, abs=0.005)


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
    assert bad.flagged and "SAMPLE RATIO MISMATCH" in bad.summary()
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


def test_synthetic_campaign_has_no_srm_and_a_winner(users):
    res = ex.analyse(users, spec_a())
    assert not res.srm.flagged
    text = res.summary("purchased")
    assert "Winner on purchased" in text and "Next:" in text


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
    text = res.summary("y")
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


def test_empty_segment(users):
    bad = users.copy()
    bad.loc[bad.index[:5], "tier"] = ""
    with pytest.raises(InputError, match="Segment column 'tier' is empty for 5 user"):
        ex.validate(bad, spec_a())
    lonely = users[~((users["tier"] == "gold") & (users["arm"] == "B"))]
    with pytest.raises(InputError, match="segment 'gold' has no users in arm 'B'"):
        ex.validate(lonely, spec_a())


def test_duplicate_user_id(users):
    with pytest.raises(InputError, match=r"share a user id in 'user_ref'"):
        ex.validate(pd.concat([users, users.head(2)]), spec_a())

"""A/B statistics, exact: complete tables and numbers on small hand-made experiments.

Every number is compared with statsmodels/scipy or with the formula written out; every table
is compared whole, so a changed column, label, order or rounding shows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.models import experiments as ex
from customer_analytics.report.text import experiments as ex_text


def approx(v, rel=1e-9, abs=1e-12):  # noqa: A002 - pytest's keyword
    return pytest.approx(v, rel=rel, abs=abs, nan_ok=True)


def assert_row(got: dict, expected: dict, rel: float = 1e-9) -> None:
    """Same keys in the same order; text and counts equal, numbers equal to ``rel``."""
    assert list(got) == list(expected)
    for k, v in expected.items():
        if isinstance(v, (str, bool, int, np.bool_)) or v is None:
            assert got[k] == v and type(got[k]) is type(v), k
        else:
            assert got[k] == approx(v, rel=rel), k


# ------------------------------------------------------------------ fixtures


def three_arms() -> pd.DataFrame:
    """Control and two treatment arms, two regions, a covariate; south x B has 6 users only."""
    rng = np.random.default_rng(7)
    parts = []
    for arm, n_north, n_south, rate, shift in (("control", 40, 30, 0.2, 0.0), ("B", 45, 6, 0.45, 3.0),
                                                ("A", 42, 28, 0.3, 1.0)):
        n = n_north + n_south
        pre = np.round(rng.gamma(2.0, 5.0, n), 2)
        parts.append(pd.DataFrame({
            "user": [f"{arm}{i}" for i in range(n)],
            "variant": arm,
            "region": ["north"] * n_north + ["south"] * n_south,
            "conv": rng.binomial(1, rate, n).astype(float),
            "rev": np.round(0.8 * pre + rng.normal(10 + shift, 4, n), 2),
            "pre": pre,
        }))
    return pd.concat(parts, ignore_index=True)


def full_spec() -> ex.ExperimentSpec:
    return ex.ExperimentSpec("variant", "control", user_column="user", binary_metrics=["conv"],
                             continuous_metrics=["rev"], covariate="pre", segment_columns=["region"])


# ------------------------------------------------------------------ validation


def test_validate_returns_the_table_with_metrics_as_floats_and_labels_as_text():
    df = pd.DataFrame({"arm": [1, 2, 1, 2], "y": ["1", 0, 1, "0"], "r": [1, 2.5, "3", 4],
                       "x": [0, 1, 2, 3], "seg": [10, 10, 20, 20], "id": ["a", "b", "c", "d"]})
    spec = ex.ExperimentSpec("arm", "1", user_column="id", binary_metrics=["y"], continuous_metrics=["r"],
                             covariate="x", segment_columns=["seg"])
    out = ex.validate(df, spec)
    expected = pd.DataFrame({"arm": ["1", "2", "1", "2"], "y": [1.0, 0.0, 1.0, 0.0], "r": [1.0, 2.5, 3.0, 4.0],
                             "x": [0.0, 1.0, 2.0, 3.0], "seg": ["10", "10", "20", "20"], "id": ["a", "b", "c", "d"]})
    pd.testing.assert_frame_equal(out, expected)
    assert df["y"].tolist() == ["1", 0, 1, "0"]  # the caller's table is left alone


def _ok() -> pd.DataFrame:
    return pd.DataFrame({"g": ["c", "t", "c", "t"], "y": [0, 1, 1, 0], "r": [1.0, 2.0, 3.0, 4.0],
                         "x": [1.0, 2.0, 3.0, 4.0], "s": ["a", "a", "b", "b"], "u": [1, 2, 3, 4]})


def _spec(**kw) -> ex.ExperimentSpec:
    base = dict(variant_column="g", control_label="c", user_column="u", binary_metrics=["y"],
                continuous_metrics=["r"], covariate="x", segment_columns=["s"])
    return ex.ExperimentSpec(**{**base, **kw})


@pytest.mark.parametrize("drop", ["g", "y", "r", "x", "s", "u"])
def test_validate_names_every_missing_column(drop):
    with pytest.raises(InputError, match=rf"lacks column\(s\) \['{drop}'\]"):
        ex.validate(_ok().drop(columns=drop), _spec())


@pytest.mark.parametrize("change,error,message", [
    (lambda d: d.assign(g="c"), InputError, "single arm"),
    (lambda d: d.assign(g=["x", "t", "x", "t"]), InputError, "Control label 'c' is not in column 'g'"),
    (lambda d: d.assign(u=[1, 2, 3, 1]), InputError, r"2 rows share a user id in 'u' \(e.g. \[1\]\)"),
    (lambda d: d.assign(y=[0, 1, "x", 0]), InputError, r"Column 'y' has 1 non-numeric value\(s\), e.g. \(row, "
                                                       r"value\) \[\(2, 'x'\)\]"),
    (lambda d: d.assign(x=[0, "?", 1, "?"]), InputError, "Column 'x' has 2 non-numeric"),
    (lambda d: d.assign(y=[0, 2, 1, 0]), InputError, r"'y' must be 0/1; 1 value\(s\) are not, e.g. \[2.0\]"),
    (lambda d: d.assign(y=[0, np.nan, 1, 0]), InputError, r"'y' must be 0/1; 1 value"),
    (lambda d: d.assign(r=[1.0, np.nan, np.nan, 2.0]), InputError, r"Metric 'r' has 2 missing value"),
    (lambda d: d.assign(x=[1.0, np.nan, 2.0, 2.0]), InputError, "Covariate 'x' has 1 missing value"),
    (lambda d: d.assign(s=["a", " ", "b", "b"]), InputError, "Segment column 's' is empty for 1 user"),
    (lambda d: d.assign(s=["a", None, "b", "b"]), InputError, "Segment column 's' is empty for 1 user"),
])
def test_validate_rejects_bad_input_naming_the_column(change, error, message):
    with pytest.raises(error, match=message):
        ex.validate(change(_ok()), _spec())


def test_validate_without_metrics_or_user_column():
    with pytest.raises(ConfigError, match="No metrics given"):
        ex.validate(_ok(), _spec(binary_metrics=[], continuous_metrics=[]))
    # without a user column duplicates are not checked; without a covariate it is not required
    out = ex.validate(_ok().assign(u=1).drop(columns="x"), _spec(user_column=None, covariate=None))
    assert out["u"].tolist() == [1, 1, 1, 1] and "x" not in out


# ------------------------------------------------------------------ checks before results


def test_srm_table_against_a_planned_split():
    arms = pd.Series(["t"] * 70 + ["c"] * 30 + ["u"] * 20)
    res = ex.srm_test(arms, {"c": 1, "t": 2, "u": 1})
    exp_counts = np.array([30, 70, 20])
    expected_n = 120 * np.array([0.25, 0.5, 0.25])
    chi2, p = stats.chisquare(exp_counts, expected_n)
    expected = pd.DataFrame({"observed": exp_counts, "expected": expected_n.round(1),
                             "share": (exp_counts / 120).round(4), "chi2": chi2, "p_value": p,
                             "flagged": False}, index=pd.Index(["c", "t", "u"], name="arm"))
    pd.testing.assert_frame_equal(res.table, expected, check_names=False, check_dtype=False)
    assert res.table.index.name == "arm" and res.table["observed"].index.tolist() == ["c", "t", "u"]
    assert (res.chi2, res.p_value) == (approx(chi2), approx(p)) and not res.flagged
    assert res.table["share"].tolist() == [0.25, 0.5833, 0.1667]


def test_srm_equal_split_by_default_and_flags_below_one_in_a_thousand():
    ok = ex.srm_test(pd.Series(["a"] * 50 + ["b"] * 53))
    assert ok.table["expected"].tolist() == [51.5, 51.5] and not ok.flagged
    assert ok.p_value == approx(stats.chisquare([50, 53]).pvalue)
    bad = ex.srm_test(pd.Series(["a"] * 500 + ["b"] * 380))
    assert bad.p_value == approx(stats.chisquare([500, 380]).pvalue) and bad.p_value < 0.001
    assert bad.flagged and bad.table["flagged"].all()
    # p just above 0.001 is not flagged: 0.001 <= p
    edge = ex.SRMResult(ok.table, 1.0, 0.001)
    assert not edge.flagged


def test_srm_counts_an_arm_without_users_as_zero_and_rejects_unplanned_arms():
    res = ex.srm_test(pd.Series(["a"] * 10 + ["b"] * 10), {"a": 1, "b": 1, "c": 2}, ["c", "b", "a"])
    assert res.table["observed"].tolist() == [10, 10, 0]
    assert res.table["expected"].tolist() == [5.0, 5.0, 10.0]
    assert res.chi2 == approx(stats.chisquare([10, 10, 0], [5, 5, 10]).statistic)
    with pytest.raises(ConfigError, match=r"planned_split lacks arm\(s\) \['b'\]"):
        ex.srm_test(pd.Series(["a", "b"]), {"a": 1})


def test_srm_summary_sentence():
    res = ex.SRMResult(pd.DataFrame(), 1234.5678, 0.04321)
    assert ex_text.srm_summary(res) == "SRM chi-square = 1,234.57, p = 0.0432: no sample-ratio mismatch."
    bad = ex.SRMResult(pd.DataFrame(), 25.0, 1e-6)
    assert ex_text.srm_summary(bad) == ("SRM chi-square = 25.00, p < 0.001: SAMPLE RATIO MISMATCH: do not trust the "
                             "results until the assignment is explained.")
    assert ex_text.srm_summary(bad, "zh") == "SRM 卡方 = 25.00，p < 0.001：样本比例失衡：在查明分组原因之前不要相信结果。"
    assert ex_text.srm_summary(res, language="zh") == "SRM 卡方 = 1,234.57，p = 0.0432：没有样本比例失衡。"


def test_srm_by_segment_table():
    df = pd.DataFrame({"g": ["c"] * 12 + ["t"] * 8 + ["c"] * 5,
                       "seg": ["x"] * 20 + ["y"] * 5})
    spec = ex.ExperimentSpec("g", "c", binary_metrics=["m"], planned_split={"c": 1, "t": 1})
    out = ex.srm_by_segment(df, spec, "seg")
    cx, cy = stats.chisquare([12, 8]), stats.chisquare([5, 0])
    expected = pd.DataFrame({"segment_column": ["seg", "seg"], "segment": ["x", "y"], "users": [20, 5],
                             "chi2": [cx.statistic, cy.statistic], "p_value": [cx.pvalue, cy.pvalue],
                             "flagged": [False, False]})
    pd.testing.assert_frame_equal(out, expected)


def test_smd_and_balance_table():
    x_t, x_c = np.array([1.0, 2.0, 4.0, 7.0]), np.array([0.0, 1.0, 1.0, 2.0, 6.0])
    pooled = np.sqrt((np.var(x_t, ddof=1) + np.var(x_c, ddof=1)) / 2)
    assert ex.smd(x_t, x_c) == approx((x_t.mean() - x_c.mean()) / pooled)
    assert ex.smd(np.array([2.0, 2.0]), np.array([2.0, 2.0])) == 0.0
    df = pd.DataFrame({"g": ["c"] * 5 + ["b"] * 4 + ["a"] * 5,
                       "x": [*x_c, *x_t, 0.0, 1.0, 1.0, 2.0, 6.05]})
    out = ex.balance(df, ex.ExperimentSpec("g", "c"), ["x"])
    smd_a = ex.smd(np.array([0.0, 1.0, 1.0, 2.0, 6.05]), x_c)
    expected = pd.DataFrame({"arm": ["a", "b"], "covariate": ["x", "x"], "mean_treatment": [2.01, 3.5],
                             "mean_control": [2.0, 2.0], "smd": [smd_a, ex.smd(x_t, x_c)],
                             "imbalanced": [False, True]})
    pd.testing.assert_frame_equal(out, expected)
    assert 0 < smd_a < 0.1
    edge = pd.DataFrame({"g": ["c", "c", "t", "t"], "x": [0.0, 2.0, 0.1, 2.1]})
    # |SMD| = 0.1 / sqrt(2) is below 0.1; a difference of exactly 0.1 pooled sd is not flagged either
    assert not ex.balance(edge, ex.ExperimentSpec("g", "c"), ["x"])["imbalanced"].any()


def test_group_sizes_flags_small_groups_and_few_successes_or_failures():
    df = pd.concat([
        pd.DataFrame({"g": "c", "s": "n", "y": [1.0] * 10 + [0.0] * 20}),    # 30 users, 10 / 20: fine
        pd.DataFrame({"g": "t", "s": "n", "y": [1.0] * 9 + [0.0] * 30}),     # 9 successes
        pd.DataFrame({"g": "c", "s": "m", "y": [1.0] * 21 + [0.0] * 9}),     # 9 failures
        pd.DataFrame({"g": "t", "s": "m", "y": [1.0] * 10 + [0.0] * 19}),    # 29 users
    ], ignore_index=True)
    spec = ex.ExperimentSpec("g", "c", binary_metrics=["y"], segment_columns=["s"])
    overall = ex.group_sizes(df, spec)
    expected = pd.DataFrame({"users": [60, 68], "y_successes": [31, 19], "warning": ["", ""]},
                            index=pd.Index(["c", "t"], name="g"))
    pd.testing.assert_frame_equal(overall, expected)
    by = ex.group_sizes(df, spec, "s")
    idx = pd.MultiIndex.from_product([["m", "n"], ["c", "t"]], names=["s", "g"])
    doubt = "too small for the normal approximation"
    expected = pd.DataFrame({"users": [30, 29, 30, 39], "y_successes": [21, 10, 10, 9],
                             "warning": [doubt, doubt, "", doubt]}, index=idx)
    pd.testing.assert_frame_equal(by, expected)


def test_group_sizes_lists_empty_and_tiny_cells_as_skipped():
    df = pd.DataFrame({"g": ["c"] * 40 + ["t"] * 31, "s": ["a"] * 40 + ["a"] * 22 + ["b"] * 9,
                       "r": 1.0})
    spec = ex.ExperimentSpec("g", "c", continuous_metrics=["r"], segment_columns=["s"])
    by = ex.group_sizes(df, spec, "s")
    idx = pd.MultiIndex.from_product([["a", "b"], ["c", "t"]], names=["s", "g"])
    expected = pd.DataFrame({"users": [40, 22, 0, 9],
                             "warning": ["", "too small for the normal approximation", "too small: skipped",
                                         "too small: skipped"]}, index=idx)
    pd.testing.assert_frame_equal(by, expected)
    edge = pd.DataFrame({"g": ["c"] * 10 + ["t"] * 30, "r": 1.0})
    sizes = ex.group_sizes(edge, ex.ExperimentSpec("g", "c", continuous_metrics=["r"]))
    assert sizes["warning"].tolist() == ["too small for the normal approximation", ""]


def test_all_group_sizes_stacks_overall_and_every_segment_column():
    df = pd.DataFrame({"g": ["c"] * 12 + ["t"] * 12, "s": ["a", "b"] * 12, "k": ["z"] * 24,
                       "y": [1.0, 0.0, 0.0] * 8})
    spec = ex.ExperimentSpec("g", "c", binary_metrics=["y"], segment_columns=["s", "k"])
    out = ex.all_group_sizes(df, spec)
    small = "too small: skipped"
    doubt = "too small for the normal approximation"
    expected = pd.DataFrame({
        "segment_column": ["(all)", "(all)", "s", "s", "s", "s", "k", "k"],
        "segment": ["(all)", "(all)", "a", "a", "b", "b", "z", "z"],
        "arm": ["c", "t"] * 4,
        "users": [12, 12, 6, 6, 6, 6, 12, 12],
        "y_successes": [4, 4, 2, 2, 2, 2, 4, 4],
        "warning": [doubt, doubt, small, small, small, small, doubt, doubt],
    })
    pd.testing.assert_frame_equal(out, expected)
    assert ex.treatment_arms(df.assign(g=["c", "b", "a"] * 8), spec) == ["a", "b"]


# ------------------------------------------------------------------ estimators


def _effect(kind="binary", **kw) -> ex.Effect:
    base = dict(metric="conv", arm="B", kind=kind, n_treatment=200, n_control=180, mean_treatment=0.1234567,
                mean_control=0.1, diff=0.0234567, ci_low=-0.0123, ci_high=0.0567, p_value=0.04567, lift=0.234567,
                lift_ci_low=-0.05, lift_ci_high=0.51, method="Newcombe CI, pooled z-test",
                prob_beat_control=0.97, alpha=0.1)
    return ex.Effect(**{**base, **kw})


def test_effect_row_and_summary_sentence():
    e = _effect()
    assert e.as_row() == {"metric": "conv", "arm": "B", "kind": "binary", "n_treatment": 200, "n_control": 180,
                          "mean_treatment": 0.1234567, "mean_control": 0.1, "diff": 0.0234567, "ci_low": -0.0123,
                          "ci_high": 0.0567, "p_value": 0.04567, "lift": 0.234567, "lift_ci_low": -0.05,
                          "lift_ci_high": 0.51, "lift_ci_status": "ok", "method": "Newcombe CI, pooled z-test",
                          "prob_beat_control": 0.97}
    assert list(e.as_row()) == list(ex.Effect.__dataclass_fields__)[:-1]
    assert ex_text.effect_summary(e) == ("conv, B vs control: 0.1235 vs 0.1; difference +2.35 pp (90% CI -1.23 to +5.67 pp), "
                           "p = 0.0457; relative lift +23% (90% CI -5.0% to +51%) [Newcombe CI, pooled z-test]")
    c = _effect("continuous", metric="rev", arm="A", mean_treatment=1234.5, mean_control=1200.0, diff=34.5,
                ci_low=-2.25, ci_high=71.25, p_value=0.00001, lift=0.02875, lift_ci_low=-0.001,
                lift_ci_high=0.0575, method="Welch t-test", alpha=0.05)
    assert ex_text.effect_summary(c) == ("rev, A vs control: 1234 vs 1200; difference +34.50 (95% CI -2.25 to +71.25), "
                           "p < 0.001; relative lift +2.9% (95% CI -0.1% to +5.8%) [Welch t-test]")
    bare = ex.Effect(metric="m", arm="a", kind="binary", n_treatment=1, n_control=1, mean_treatment=0.5,
                     mean_control=0.5, diff=0.0, ci_low=0.0, ci_high=0.0, p_value=1.0, lift=0.0, lift_ci_low=0.0,
                     lift_ci_high=0.0, method="x")
    assert bare.alpha == 0.05 and np.isnan(bare.prob_beat_control)
    with pytest.raises(TypeError):
        ex.Effect("m", "a", "binary", 1, 1, 0.5, 0.5, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, "x")  # keyword-built only


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_wilson_and_newcombe_intervals_match_statsmodels(alpha):
    lo, hi = ex.wilson_interval(7, 60, alpha)
    assert (lo, hi) == approx(proportion_confint(7, 60, alpha=alpha, method="wilson"))
    assert ex.wilson_interval(7, 60) == approx(proportion_confint(7, 60, method="wilson"))
    got = ex.newcombe_interval(13, 70, 30, 90, alpha=alpha)
    ref = confint_proportions_2indep(13, 70, 30, 90, method="newcomb", compare="diff", alpha=alpha)
    assert got == approx(ref)
    assert ex.newcombe_interval(30, 90, 13, 70) == approx(
        confint_proportions_2indep(30, 90, 13, 70, method="newcomb", compare="diff"))


def test_pooled_z_test_matches_statsmodels_and_is_neutral_without_variance():
    z, p = ex.pooled_z_test(13, 70, 30, 90)
    assert (z, p) == approx(proportions_ztest([13, 30], [70, 90]))
    assert ex.pooled_z_test(30, 90, 13, 70) == approx(proportions_ztest([30, 13], [90, 70]))
    assert ex.pooled_z_test(0, 10, 0, 20) == (0.0, 1.0)
    assert ex.pooled_z_test(10, 10, 20, 20) == (0.0, 1.0)


def test_log_ratio_lift_interval():
    lift, lo, hi = ex.log_ratio_lift(1.5, 0.04, 1.2, 0.01, alpha=0.1)
    se = np.sqrt(0.04 / 1.5**2 + 0.01 / 1.2**2)
    z = stats.norm.ppf(0.95)
    assert (lift, lo, hi) == approx((0.25, 1.25 * np.exp(-z * se) - 1, 1.25 * np.exp(z * se) - 1))
    assert ex.log_ratio_lift(1.5, 0.04, 1.2, 0.01)[1] == approx(1.25 * np.exp(-stats.norm.ppf(0.975) * se) - 1)
    assert np.isnan(ex.log_ratio_lift(1.0, 0.1, 0.0, 0.1)).all()
    assert np.isnan(ex.log_ratio_lift(1.0, 0.1, -2.0, 0.1)).all()
    lift, lo, hi = ex.log_ratio_lift(0.0, 0.0, 0.2, 0.001)  # no success in the arm: -100%, but no interval
    assert lift == -1.0 and np.isnan(lo) and np.isnan(hi)


def _beats_by_integration(x_t, n_t, x_c, n_c):
    a_t, b_t, a_c, b_c = 1 + x_t, 1 + n_t - x_t, 1 + x_c, 1 + n_c - x_c
    val, _ = integrate.quad(lambda p: stats.beta.pdf(p, a_t, b_t) * stats.beta.cdf(p, a_c, b_c), 0, 1,
                            epsabs=1e-13, epsrel=1e-12, limit=200)
    return val


@pytest.mark.parametrize("x_t,n_t,x_c,n_c", [(3, 20, 7, 25), (7, 25, 3, 20), (5, 10, 5, 10), (0, 4, 2, 3),
                                             (12, 30, 4, 40)])
def test_chance_to_beat_control_is_the_beta_posterior_probability(x_t, n_t, x_c, n_c):
    assert ex.prob_beat_control(x_t, n_t, x_c, n_c) == approx(_beats_by_integration(x_t, n_t, x_c, n_c),
                                                               rel=1e-8, abs=1e-10)
    a_t, b_t, a_c, b_c = 1 + x_t, 1 + n_t - x_t, 1 + x_c, 1 + n_c - x_c
    assert ex.estimators._beta_beats(a_t, b_t, a_c, b_c) == approx(_beats_by_integration(x_t, n_t, x_c, n_c),
                                                                   rel=1e-8, abs=1e-10)


def test_chance_to_beat_control_stays_within_zero_and_one():
    assert ex.prob_beat_control(0, 2000, 1000, 2000) == 0.0
    assert ex.prob_beat_control(1000, 2000, 0, 2000) == 1.0
    assert 0.0 <= ex.prob_beat_control(200, 2000, 1000, 2000) < 1e-100


def test_chance_to_beat_control_for_a_mean():
    assert ex.prob_beat_control_normal(1.0, 2.0) == approx(stats.norm.cdf(0.5))
    assert ex.prob_beat_control_normal(-1.0, 2.0) == approx(stats.norm.cdf(-0.5))
    assert ex.prob_beat_control_normal(0.0, 0.0) == 0.5
    assert ex.prob_beat_control_normal(0.3, 0.0) == 1.0
    assert ex.prob_beat_control_normal(-0.3, 0.0) == 0.0
    assert ex.prob_beat_control_normal(0.3, np.nan) == 1.0


def test_binary_effect_against_statsmodels():
    y_t = np.array([1.0] * 13 + [0.0] * 57)
    y_c = np.array([1.0] * 30 + [0.0] * 60)
    e = ex.binary_effect(y_t, y_c, "conv", "B", alpha=0.1)
    p_t, p_c = 13 / 70, 30 / 90
    lo, hi = confint_proportions_2indep(13, 70, 30, 90, method="newcomb", compare="diff", alpha=0.1)
    _, p = proportions_ztest([13, 30], [70, 90])
    ratio_lo, ratio_hi = confint_proportions_2indep(13, 70, 30, 90, method="log", compare="ratio", alpha=0.1)
    expected = {"metric": "conv", "arm": "B", "kind": "binary", "n_treatment": 70, "n_control": 90,
                "mean_treatment": p_t, "mean_control": p_c, "diff": p_t - p_c, "ci_low": lo, "ci_high": hi,
                "p_value": p, "lift": p_t / p_c - 1, "lift_ci_low": ratio_lo - 1, "lift_ci_high": ratio_hi - 1,
                "lift_ci_status": "ok", "method": "Newcombe CI, pooled z-test",
                "prob_beat_control": _beats_by_integration(13, 70, 30, 90)}
    assert_row(e.as_row(), expected, rel=1e-8)
    assert e.alpha == 0.1 and isinstance(e.n_treatment, int) and isinstance(e.ci_low, float)
    d = ex.binary_effect(y_t, y_c)
    assert (d.metric, d.arm, d.alpha) == ("metric", "treatment", 0.05)
    assert (d.ci_low, d.ci_high) == approx(confint_proportions_2indep(13, 70, 30, 90, method="newcomb",
                                                                      compare="diff"))


def _samples():
    rng = np.random.default_rng(3)
    return np.round(rng.lognormal(1.0, 0.8, 40), 2), np.round(rng.lognormal(0.8, 1.0, 33), 2)


def test_welch_interval_at_another_level_matches_statsmodels():
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    y_t, y_c = _samples()
    cm = CompareMeans(DescrStatsW(y_t), DescrStatsW(y_c))
    _, p, _ = cm.ttest_ind(usevar="unequal")
    assert ex.welch(y_t, y_c, 0.1) == approx((y_t.mean() - y_c.mean(), *cm.tconfint_diff(0.1, usevar="unequal"),
                                              p))
    assert ex.welch(y_t, y_c)[1:3] == approx(cm.tconfint_diff(usevar="unequal"))


def _percentile_bootstrap(y_t, y_c, alpha, n_boot, seed):
    rng = np.random.default_rng(seed)
    bt = np.array([rng.choice(y_t, len(y_t)).mean() for _ in range(n_boot)])
    bc = np.array([rng.choice(y_c, len(y_c)).mean() for _ in range(n_boot)])
    return tuple(np.quantile(bt - bc, [alpha / 2, 1 - alpha / 2]))


def test_bootstrap_interval_is_the_percentile_interval_of_resampled_differences():
    y_t, y_c = _samples()
    assert ex.bootstrap_interval(y_t, y_c) == approx(_percentile_bootstrap(y_t, y_c, 0.05, 2000, 0))
    assert ex.bootstrap_interval(y_t, y_c, 0.2, n_boot=300, seed=5) == approx(
        _percentile_bootstrap(y_t, y_c, 0.2, 300, 5))
    lo, hi = ex.bootstrap_interval(y_t, y_c, 0.2, n_boot=300, seed=5)
    assert isinstance(lo, float) and lo < hi


def test_continuous_effect_with_welch_and_with_bootstrap():
    y_t, y_c = _samples()
    d, lo, hi, p = ex.welch(y_t, y_c, 0.1)
    v_t, v_c = np.var(y_t, ddof=1) / 40, np.var(y_c, ddof=1) / 33
    lift, llo, lhi = ex.log_ratio_lift(y_t.mean(), v_t, y_c.mean(), v_c, alpha=0.1)
    expected = {"metric": "rev", "arm": "A", "kind": "continuous", "n_treatment": 40, "n_control": 33,
                "mean_treatment": y_t.mean(), "mean_control": y_c.mean(), "diff": d, "ci_low": lo, "ci_high": hi,
                "p_value": p, "lift": lift, "lift_ci_low": llo, "lift_ci_high": lhi,
                "lift_ci_status": str(ex.lift_ci_status(lo, hi, llo, lhi)), "method": "Welch t-test",
                "prob_beat_control": stats.norm.cdf(d / np.sqrt(v_t + v_c))}
    e = ex.continuous_effect(y_t, y_c, "rev", "A", alpha=0.1)
    assert_row(e.as_row(), expected)
    assert e.alpha == 0.1
    b = ex.continuous_effect(y_t, y_c, "rev", "A", alpha=0.1, bootstrap=True, seed=4)
    blo, bhi = _percentile_bootstrap(y_t, y_c, 0.1, 2000, 4)
    assert_row(b.as_row(), {**expected, "ci_low": blo, "ci_high": bhi, "method": "Welch p-value, bootstrap CI"})
    default = ex.continuous_effect(y_t, y_c)
    assert (default.metric, default.arm, default.alpha, default.method) == ("metric", "treatment", 0.05,
                                                                             "Welch t-test")
    assert default.ci_low == approx(ex.welch(y_t, y_c)[1])
    assert ex.continuous_effect(y_t, y_c, bootstrap=True).ci_low == approx(
        _percentile_bootstrap(y_t, y_c, 0.05, 2000, 0)[0])


@pytest.mark.filterwarnings("ignore:Precision loss")
def test_cuped_against_the_regression_adjustment_written_out():
    rng = np.random.default_rng(11)
    x_t, x_c = rng.gamma(2, 3, 30), rng.gamma(2, 3, 25)
    y_t, y_c = 2 + 0.7 * x_t + rng.normal(1, 2, 30), 2 + 0.7 * x_c + rng.normal(0, 2, 25)
    y, x = np.concatenate([y_t, y_c]), np.concatenate([x_t, x_c])
    theta = stats.linregress(x, y).slope
    assert ex.cuped_theta(y, x) == approx(theta)
    assert ex.cuped_theta(y, np.ones_like(y)) == 0.0
    a_t, a_c = y_t - theta * (x_t - x.mean()), y_c - theta * (x_c - x.mean())
    res = stats.ttest_ind(a_t, a_c, equal_var=False)
    ci = res.confidence_interval(0.9)
    raw = stats.ttest_ind(y_t, y_c, equal_var=False).confidence_interval(0.9)
    adj = np.concatenate([a_t, a_c])
    r = ex.cuped_effect(y_t, y_c, x_t, x_c, metric="rev", arm="A", alpha=0.1)
    expected = {"metric": "rev", "arm": "A", "theta": theta, "diff": a_t.mean() - a_c.mean(), "ci_low": ci.low,
                "ci_high": ci.high, "p_value": res.pvalue, "unadjusted_ci_width": raw.high - raw.low,
                "variance_reduction": 1 - np.var(adj, ddof=1) / np.var(y, ddof=1)}
    # the relative lift of the adjusted means, its interval on the log of their ratio
    ratio = a_t.mean() / a_c.mean()
    half = stats.norm.ppf(0.95) * np.sqrt(np.var(a_t, ddof=1) / (30 * a_t.mean() ** 2)
                                          + np.var(a_c, ddof=1) / (25 * a_c.mean() ** 2))
    expected |= {"lift": ratio - 1, "lift_ci_low": ratio * np.exp(-half) - 1, "lift_ci_high": ratio * np.exp(half) - 1,
                 "lift_ci_status": str(ex.lift_ci_status(ci.low, ci.high, ratio * np.exp(-half) - 1,
                                                         ratio * np.exp(half) - 1))}
    assert_row(r.as_row(), expected)
    d = ex.cuped_effect(y_t, y_c, x_t, x_c)
    assert (d.metric, d.arm) == ("metric", "treatment")
    assert d.ci_low == approx(res.confidence_interval(0.95).low)
    flat = ex.cuped_effect(np.ones(5), np.ones(4), np.arange(5.0), np.arange(4.0))
    assert flat.variance_reduction == 0.0 and flat.theta == 0.0


def test_capping_at_a_percentile_of_non_zero_values():
    y = pd.Series([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 100.0])
    capped, cap = ex.cap_values(y, 75)
    assert cap == np.percentile([1.0, 2.0, 3.0, 4.0, 100.0], 75) == 4.0
    pd.testing.assert_series_equal(capped, pd.Series([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 4.0]))
    capped, cap = ex.cap_values(y, 75, ignore_zeros=False)
    assert cap == np.percentile(y, 75) == 3.25
    assert capped.tolist() == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 3.25, 3.25]
    assert ex.cap_values(y, 100)[1] == 100.0 and ex.cap_values(y, 100, True)[0].equals(y)
    assert ex.cap_values(pd.Series([0.0, 0.0]), 90) [1] == 0.0
    for bad in (0, -5, 100.5):
        with pytest.raises(ConfigError):
            ex.cap_values(y, bad)


# ------------------------------------------------------------------ power


def test_power_of_the_two_sided_normal_test_matches_statsmodels():
    # equal sd: power for an effect size delta / sd with ratio n_c / n_t
    got = ex.power_two_sample(0.5, 2.0, 2.0, n_t=100, n_c=150, alpha=0.1)
    assert got == approx(NormalIndPower().power(0.25, 100, 0.1, ratio=1.5), rel=1e-10)
    assert ex.power_two_sample(-0.5, 2.0, 2.0, n_t=100, n_c=150) == approx(NormalIndPower().power(0.25, 100, 0.05,
                                                                                                  ratio=1.5))
    se = np.sqrt(1.0 / 80 + 4.0 / 60)
    z = stats.norm.ppf(0.975)
    assert ex.power_two_sample(0.4, 1.0, 2.0, n_t=80, n_c=60) == approx(stats.norm.sf(z - 0.4 / se)
                                                                        + stats.norm.cdf(-z - 0.4 / se))


def test_minimum_detectable_effects_reach_exactly_the_requested_power():
    d = ex.mde_binary(0.2, 400, 500, alpha=0.1, power=0.9)
    assert ex.power_two_sample(d, np.sqrt((0.2 + d) * (0.8 - d)), 0.4, n_t=400, n_c=500,
                               alpha=0.1) == approx(0.9, rel=1e-9)
    d0 = ex.mde_binary(0.2, 400, 500)
    assert ex.power_two_sample(d0, np.sqrt((0.2 + d0) * (0.8 - d0)), 0.4, n_t=400, n_c=500) == approx(0.8, rel=1e-9)
    assert 0.05 < d0 < d < 0.2
    assert np.isnan(ex.mde_binary(0.999, 5, 5)) and np.isnan(ex.mde_binary(1.0, 500, 500))
    assert np.isnan(ex.mde_binary(0.8, 2, 2)) and ex.mde_binary(0.2, 2, 2) < 0.8
    m = ex.mde_continuous(3.0, 100, 120, alpha=0.1, power=0.9)
    assert ex.power_two_sample(m, 3.0, 3.0, n_t=100, n_c=120, alpha=0.1) == approx(0.9, rel=1e-12)
    assert m == approx(3.0 * NormalIndPower().solve_power(None, 100, 0.1, 0.9, ratio=1.2), rel=1e-5)
    m = ex.mde_continuous(3.0, 100, 120)
    assert ex.power_two_sample(m, 3.0, 3.0, n_t=100, n_c=120) == approx(0.8, rel=1e-12)
    for sd, n in ((1e-6, 1000), (50.0, 10)):
        m = ex.mde_continuous(sd, n, n)
        assert ex.power_two_sample(m, sd, sd, n_t=n, n_c=n) == approx(0.8, rel=1e-6)
        assert m == approx(sd * NormalIndPower().solve_power(None, n, 0.05, 0.8), rel=1e-5)


def test_sample_size_per_arm_is_the_smallest_that_reaches_the_power():
    n = ex.sample_size_binary(0.2, 0.1, alpha=0.1, power=0.9)
    s_t, s_c = np.sqrt(0.22 * 0.78), np.sqrt(0.16)
    assert ex.power_two_sample(0.02, s_t, s_c, n_t=n, n_c=n, alpha=0.1) >= 0.9 \
        > ex.power_two_sample(0.02, s_t, s_c, n_t=n - 1, n_c=n - 1, alpha=0.1)
    n = ex.sample_size_binary(0.2, 0.1)
    assert ex.power_two_sample(0.02, s_t, s_c, n_t=n, n_c=n) >= 0.8 \
        > ex.power_two_sample(0.02, s_t, s_c, n_t=n - 1, n_c=n - 1)
    assert isinstance(n, int)
    assert ex.sample_size_binary(0.5, -0.2) == ex.sample_size_binary(0.5, -0.2, 0.05, 0.8) > 1
    for p_c, lift in ((0.0, 0.1), (1.0, -0.1), (0.6, 0.7), (0.5, -1.0)):
        with pytest.raises(ConfigError):
            ex.sample_size_binary(p_c, lift)
    n = ex.sample_size_continuous(20.0, 8.0, 0.1, alpha=0.1, power=0.9)
    exact = NormalIndPower().solve_power(0.25, None, 0.1, 0.9)
    assert n == int(np.ceil(exact)) and isinstance(n, int)
    assert ex.sample_size_continuous(20.0, 8.0, 0.1) == int(np.ceil(NormalIndPower().solve_power(0.25, None,
                                                                                                 0.05, 0.8)))
    assert ex.sample_size_continuous(-20.0, 8.0, 0.1) == ex.sample_size_continuous(20.0, 8.0, 0.1)
    for args in ((0.0, 1.0, 0.1), (10.0, 0.0, 0.1), (10.0, 1.0, 0.0), (10.0, -1.0, 0.1)):
        with pytest.raises(ConfigError):
            ex.sample_size_continuous(*args)


# ------------------------------------------------------------------ multiple comparisons


@pytest.mark.parametrize("method", ["holm", "fdr_bh", "bonferroni"])
def test_adjusted_p_values_leave_skipped_comparisons_out_of_the_family(method):
    p = np.array([0.01, np.nan, 0.04, 0.03])
    out = ex.adjust_pvalues(p, method, alpha=0.1)
    ref = multipletests([0.01, 0.04, 0.03], alpha=0.1, method=method)[1]
    assert np.isnan(out[1]) and out[[0, 2, 3]] == approx(ref)
    assert ex.adjust_pvalues(pd.Series([0.01, 0.04]), method) == approx(multipletests([0.01, 0.04],
                                                                                      method=method)[1])


def test_no_correction_and_all_missing():
    p = [0.01, np.nan, 0.04]
    for none in (None, False, "none", "None", ""):
        assert ex.adjust_pvalues(p, none) == approx(np.array(p))
    assert np.isnan(ex.adjust_pvalues([np.nan, np.nan], "holm")).all()
    assert ex.adjust_pvalues(np.array([], dtype=float), "holm").shape == (0,)
    assert ex.check_correction("fdr_bh") == "fdr_bh" and ex.check_correction(None) == "none"
    assert ex.check_correction("") == "none" and ex.check_correction("None") == "none"
    assert ex.check_correction(False) == "none"
    for bad in ("Holm", "bh", "sidak"):
        with pytest.raises(ConfigError):
            ex.check_correction(bad)


# ------------------------------------------------------------------ sequential


def test_confidence_sequence_written_out():
    alpha, tuning = 0.1, 800.0
    la = -2 * np.log(alpha)
    rho = np.sqrt((la + np.log(la + 1)) / tuning)
    assert ex.sequential_rho(alpha, tuning) == approx(rho)
    v, n, diff = np.array([0.04, 0.01, 0.0]), np.array([300.0, 1200.0, 50.0]), np.array([0.5, -0.05, 0.2])
    a = n * rho**2 + 1
    hw = np.sqrt(v * n) * np.sqrt(2 * a / (n**2 * rho**2) * np.log(np.sqrt(a) / alpha))
    assert ex.sequential_halfwidth(v, n, alpha, tuning) == approx(hw)
    with np.errstate(divide="ignore"):
        p = np.minimum(1, np.sqrt(a) * np.exp(-rho**2 * n * diff**2 / (2 * v * a)))
    got = ex.sequential_p_value(diff, v, n, alpha=alpha, tuning=tuning)
    assert got[:2] == approx(p[:2]) and got[2] == 1.0 and got[0] < 1 and got[1] == 1.0
    # the level-alpha sequence excludes 0 exactly when the p-value is below alpha
    v0, n0 = 0.04, 300.0
    hw0 = ex.sequential_halfwidth(v0, n0, alpha, tuning)
    assert ex.sequential_p_value(hw0, v0, n0, alpha=alpha, tuning=tuning) == approx(alpha, rel=1e-9)
    rho5 = ex.sequential_rho(0.05, 5000)
    a5 = 300 * rho5**2 + 1
    assert ex.sequential_halfwidth(0.04, 300) == approx(
        np.sqrt(12) * np.sqrt(2 * a5 / (300**2 * rho5**2) * np.log(np.sqrt(a5) / 0.05)))
    assert ex.sequential_p_value(0.5, 0.04, 300) == approx(
        min(1, np.sqrt(a5) * np.exp(-rho5**2 * 300 * 0.25 / (2 * 0.04 * a5))))


@pytest.mark.parametrize("alpha,tuning", [(0.0, 100), (1.0, 100), (1.5, 100), (0.05, 0), (0.05, -3)])
def test_confidence_sequence_rejects_impossible_settings(alpha, tuning):
    with pytest.raises(ConfigError):
        ex.sequential_rho(alpha, tuning)


def test_sequential_columns_of_the_effects_table():
    eff = pd.DataFrame({"diff": [0.5, -0.1], "var_diff": [0.04, 0.01], "n_treatment": [100, 700],
                        "n_control": [200, 500], "x": ["a", "b"]}, index=[3, 7])
    out = ex.sequential._sequential_columns(eff, 0.1, 800.0)
    n = np.array([300, 1200])
    hw = ex.sequential_halfwidth(eff["var_diff"].to_numpy(), n, 0.1, 800.0)
    expected = eff.assign(seq_ci_low=eff["diff"] - hw, seq_ci_high=eff["diff"] + hw,
                          seq_p_value=ex.sequential_p_value(eff["diff"].to_numpy(), eff["var_diff"].to_numpy(), n,
                                                            alpha=0.1, tuning=800.0))
    pd.testing.assert_frame_equal(out, expected, rtol=1e-12)


# ------------------------------------------------------------------ ROI


def _roi_data() -> pd.DataFrame:
    return pd.DataFrame({"g": ["c"] * 4 + ["a"] * 3 + ["b"] * 3,
                         "conv": [0, 1, 0, 0, 1, 1, 0, 1, 0, 1.0],
                         "rev": [0, 20, 0, 10, 30, 25, 0, 40, 0, 15.0]})


def _roi_spec() -> ex.ExperimentSpec:
    return ex.ExperimentSpec("g", "c", binary_metrics=["conv"], continuous_metrics=["rev"])


def test_roi_table_written_out():
    s = ex.ROISettings({"a": 2.0, "b": 1.0, "c": 0.5}, value_per_conversion=10.0, conversion_metric="conv",
                       margin=0.5, revenue_metric="rev")
    d = _roi_data()
    v = 10.0 * d["conv"].to_numpy() + 0.5 * d["rev"].to_numpy()
    assert s.value(d) == approx(v)
    vc, rows = v[:4], []
    z = stats.norm.ppf(0.95)
    for arm, vt, cost in (("a", v[4:7], 1.5), ("b", v[7:], 0.5)):
        se = np.sqrt(np.var(vt, ddof=1) / 3 + np.var(vc, ddof=1) / 4)
        prof = vt.mean() - vc.mean() - cost
        rows.append({"arm": arm, "n_treatment": 3, "n_control": 4, "value_per_user_treatment": vt.mean(),
                     "value_per_user_control": vc.mean(), "incremental_value_per_user": vt.mean() - vc.mean(),
                     "incremental_cost_per_user": cost, "profit_per_user": prof,
                     "profit_per_user_ci_low": prof - z * se, "profit_per_user_ci_high": prof + z * se,
                     "total_cost": 3 * cost, "total_profit": 3 * prof, "total_profit_ci_low": 3 * (prof - z * se),
                     "total_profit_ci_high": 3 * (prof + z * se), "roi": prof / cost,
                     "roi_ci_low": (prof - z * se) / cost, "roi_ci_high": (prof + z * se) / cost})
    money = [c for c in rows[0] if c not in ("arm", "n_treatment", "n_control") and not c.startswith("roi")]
    expected = pd.DataFrame(rows)
    expected[money] = expected[money].round(2)  # money to the cent; the ROI from the exact figures
    pd.testing.assert_frame_equal(ex.roi_table(d, _roi_spec(), s, alpha=0.1), expected, rtol=1e-12)
    default = ex.roi_table(d, _roi_spec(), s)
    se_a = np.sqrt(np.var(v[4:7], ddof=1) / 3 + np.var(vc, ddof=1) / 4)
    assert default["profit_per_user_ci_low"].iloc[0] == round(rows[0]["profit_per_user"]
                                                              - stats.norm.ppf(0.975) * se_a, 2)


def test_roi_with_one_value_source_and_no_extra_cost():
    d = _roi_data()
    only_margin = ex.ROISettings({"a": 0.0, "b": 1.0}, margin=0.25, revenue_metric="rev")
    assert only_margin.value(d) == approx(0.25 * d["rev"].to_numpy())
    out = ex.roi_table(d, _roi_spec(), only_margin)
    assert out["incremental_cost_per_user"].tolist() == [0.0, 1.0] and out["total_cost"].tolist() == [0.0, 3.0]
    assert out[["roi", "roi_ci_low", "roi_ci_high"]].iloc[0].isna().all()
    assert out[["roi", "roi_ci_low", "roi_ci_high"]].iloc[1].notna().all()
    only_conv = ex.ROISettings({"a": 0.0, "b": 0.0, "c": None}, value_per_conversion=4.0, conversion_metric="conv")
    assert only_conv.value(d) == approx(4.0 * d["conv"].to_numpy())
    assert ex.roi_table(d, _roi_spec(), only_conv)["profit_per_user"].tolist() == [1.67, 1.67]  # 4 x (2/3 - 1/4)
    cheaper = ex.ROISettings({"a": -1.0, "b": 0.0}, margin=1.0, revenue_metric="rev")
    assert ex.roi_table(d, _roi_spec(), cheaper)["roi"].isna().all()


@pytest.mark.parametrize("settings,message", [
    (ex.ROISettings({"a": 1.0}, margin=0.3, revenue_metric="rev"), r"cost_per_user lacks arm\(s\) \['b'\]"),
    (ex.ROISettings({"a": 1.0, "b": 1.0}), "ROI needs value_per_conversion"),
    (ex.ROISettings({"a": 1.0, "b": 1.0}, value_per_conversion=3.0, conversion_metric="rev"),
     "conversion_metric 'rev' is not a binary metric"),
    (ex.ROISettings({"a": 1.0, "b": 1.0}, value_per_conversion=3.0), "conversion_metric 'None'"),
    (ex.ROISettings({"a": 1.0, "b": 1.0}, margin=0.3, revenue_metric="conv"),
     "revenue_metric 'conv' is not a continuous metric"),
    (ex.ROISettings({"a": 1.0, "b": 1.0}, margin=0.0), "revenue_metric 'None'"),
])
def test_roi_settings_are_checked_before_anything_is_computed(settings, message):
    with pytest.raises(ConfigError, match=message):
        ex.roi_table(_roi_data(), _roi_spec(), settings)

# ------------------------------------------------------------------ the analysis, whole tables

KINDS = {"conv": "binary", "rev": "continuous"}
ARMS = ("A", "B", "C")


def four_arms() -> pd.DataFrame:
    """three_arms() plus an arm C: arm A's users again, each with 2.0 more revenue."""
    d = three_arms()
    extra = d[d["variant"] == "A"].assign(variant="C", user=lambda x: "C" + x["user"], rev=lambda x: x["rev"] + 2.0)
    return pd.concat([d, extra], ignore_index=True)


RUNS = {
    "defaults": {},
    "bh": dict(alpha=0.1, correction="fdr_bh", sequential=True, sequential_tuning=300, primary_metric="rev",
               power=0.9, target_lift=0.2),
    "bonferroni": dict(correction="bonferroni", bootstrap=True, seed=9, alpha=0.1),
}


def analyses():
    """run(name): the analysis of four_arms() with the options RUNS[name], each computed once."""
    done: dict = {}

    def run(name: str) -> ex.ExperimentResult:
        if name not in done:
            done[name] = ex.analyse(four_arms(), full_spec(), **RUNS[name])
        return done[name]
    return run


@pytest.fixture(scope="module")
def run():
    return analyses()


def holm(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    m, order, out = len(p), np.argsort(p), np.empty(len(p))
    out[order] = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


def bh(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    m, order, out = len(p), np.argsort(p)[::-1], np.empty(len(p))
    out[order] = np.minimum(1, np.minimum.accumulate(p[order] * m / (m - np.arange(m))))
    return out


def adjusted(p, method: str) -> np.ndarray:
    """Adjusted p-values written out; missing ones stay missing and are not counted."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    f = {"holm": holm, "fdr_bh": bh, "bonferroni": lambda q: np.minimum(1, len(q) * q), "none": lambda q: q}
    out[ok] = f[method](p[ok])
    return out


def test_the_written_out_adjustments_are_the_statsmodels_ones():
    p = np.array([0.001, 0.04, 0.03, 0.2, 0.01, 0.6])
    for method in ("holm", "fdr_bh", "bonferroni"):
        assert adjusted(p, method) == approx(multipletests(p, method=method)[1])


def ref_row(t: pd.DataFrame, c: pd.DataFrame, metric: str, arm: str, alpha: float, bootstrap: bool = False,
            seed: int = 0) -> dict:
    """One effect row as the tables show it, from the estimators and the variance written out."""
    y_t, y_c = t[metric].to_numpy(float), c[metric].to_numpy(float)
    if KINDS[metric] == "binary":
        row = ex.binary_effect(y_t, y_c, metric, arm, alpha=alpha).as_row()
        p_t, p_c = y_t.mean(), y_c.mean()
        row["var_diff"] = p_t * (1 - p_t) / len(y_t) + p_c * (1 - p_c) / len(y_c)
    else:
        row = ex.continuous_effect(y_t, y_c, metric, arm, alpha=alpha, bootstrap=bootstrap, seed=seed).as_row()
        row["var_diff"] = np.var(y_t, ddof=1) / len(y_t) + np.var(y_c, ddof=1) / len(y_c)
    return row


def test_one_effect_row_carries_the_variance_of_the_difference():
    d = three_arms()
    t, c = d[d["variant"] == "B"], d[d["variant"] == "control"]
    for m in ("conv", "rev"):
        assert_row(ex.analysis._effect(t, c, m, "B", kind=KINDS[m], alpha=0.1, bootstrap=False, seed=0),
                   ref_row(t, c, m, "B", 0.1))
    assert_row(ex.analysis._effect(t, c, "rev", "B", kind="continuous", alpha=0.1, bootstrap=True, seed=3),
               ref_row(t, c, "rev", "B", 0.1, True, 3))
    row = ex.analysis._effect(t, c, "conv", "B", kind="binary", alpha=0.05, bootstrap=False, seed=0)
    p_t, p_c = t["conv"].mean(), c["conv"].mean()
    assert row["var_diff"] == approx(p_t * (1 - p_t) / 51 + p_c * (1 - p_c) / 70)


def expected_effects(alpha: float, correction: str, bootstrap: bool = False, seed: int = 0) -> pd.DataFrame:
    d = four_arms()
    c = d[d["variant"] == "control"]
    rows = [ref_row(d[d["variant"] == a], c, m, a, alpha, bootstrap, seed) for a in ARMS for m in ("conv", "rev")]
    eff = pd.DataFrame(rows)
    eff["p_adjusted"] = np.nan
    for m in ("conv", "rev"):
        sel = eff["metric"] == m
        eff.loc[sel, "p_adjusted"] = adjusted(eff.loc[sel, "p_value"], correction)
    eff["significant"] = eff["p_adjusted"] < alpha
    return eff


def test_effects_table_adjusts_p_values_across_the_arms_of_each_metric(run):
    res = run("defaults")
    pd.testing.assert_frame_equal(res.effects, expected_effects(0.05, "holm"), rtol=1e-12)
    assert res.effects["significant"].tolist() == [False, False, True, True, False, True]
    assert (res.effects["p_adjusted"] >= res.effects["p_value"]).all()
    assert "seq_p_value" not in res.effects and res.alpha == 0.05


def test_effects_table_with_bonferroni_and_bootstrap_intervals(run):
    res = run("bonferroni")
    pd.testing.assert_frame_equal(res.effects, expected_effects(0.1, "bonferroni", True, 9), rtol=1e-12)
    assert res.effects["significant"].tolist() == [False, False, True, True, False, True]
    assert res.alpha == 0.1 and (res.effects["method"] == ["Newcombe CI, pooled z-test",
                                                           "Welch p-value, bootstrap CI"] * 3).all()


def test_sequential_columns_for_the_primary_metric_only(run):
    res = run("bh")
    eff = expected_effects(0.1, "fdr_bh")
    prim = (eff["metric"] == "rev").to_numpy()
    n = eff["n_treatment"] + eff["n_control"]
    hw = ex.sequential_halfwidth(eff["var_diff"], n, 0.1, 300)
    seq_p = ex.sequential_p_value(eff["diff"], eff["var_diff"], n, alpha=0.1, tuning=300)
    eff["seq_ci_low"] = np.where(prim, eff["diff"] - hw, np.nan)
    eff["seq_ci_high"] = np.where(prim, eff["diff"] + hw, np.nan)
    eff["seq_p_value"] = np.where(prim, seq_p, np.nan)
    eff["seq_p_adjusted"] = np.nan
    eff.loc[prim, "seq_p_adjusted"] = bh(seq_p[prim])
    pd.testing.assert_frame_equal(res.effects, eff, rtol=1e-12)
    assert res.effects["significant"].tolist() == [False, True, True, True, False, True]
    assert res.notes == ["Sequential looks: rev is judged with always-valid confidence sequences (tuned for 300 "
                         "users per comparison).", "1 segment x arm cell(s) have fewer than 10 users in an arm: "
                         "reported as too small and skipped."]


def test_segment_effects_table_reports_small_cells_and_adjusts_across_all_cells(run):
    res = run("bh")
    d = four_arms()
    rows = []
    for seg in ("north", "south"):
        g = d[d["region"] == seg]
        c = g[g["variant"] == "control"]
        for a in ARMS:
            t = g[g["variant"] == a]
            for m in ("conv", "rev"):
                base = {"segment_column": "region", "segment": seg, "arm": a, "metric": m}
                if seg == "south" and a == "B":
                    rows.append({**base, "kind": KINDS[m], "n_treatment": 6, "n_control": 30,
                                 "status": "too small: skipped (6 users in B, 30 in control; fewer than 10)"})
                else:
                    rows.append({**base, **ref_row(t, c, m, a, 0.1), "status": "ok"})
    exp = pd.DataFrame(rows)
    first = ["segment_column", "segment", "arm", "metric", "kind", "status", "n_treatment", "n_control"]
    exp = exp[first + [c for c in exp.columns if c not in first]]
    exp["p_adjusted"] = adjusted(exp["p_value"], "fdr_bh")
    exp["significant_adjusted"] = exp["p_adjusted"] < 0.1
    pd.testing.assert_frame_equal(res.segments, exp, rtol=1e-12)
    assert res.segments["significant_adjusted"].sum() > 0 and res.segments["p_adjusted"].isna().sum() == 2


def test_segments_with_every_cell_large_enough_add_no_note():
    d = three_arms()
    d = d[d["variant"] != "B"]
    res = ex.analyse(d, full_spec(), correction="none")
    assert res.notes == [] and (res.segments["status"] == "ok").all()
    assert res.segments["p_adjusted"].tolist() == res.segments["p_value"].tolist()
    assert res.effects["p_adjusted"].tolist() == res.effects["p_value"].tolist()
    assert res.options["correction"] == "none" and res.pairwise.empty


def test_a_segment_analysis_without_segments_covariate_or_costs_gives_empty_tables():
    d = three_arms()
    res = ex.analyse(d, ex.ExperimentSpec("variant", "control", binary_metrics=["conv"]))
    assert res.segments.empty and res.srm_segments.empty and res.balance.empty and res.cuped.empty
    assert res.roi.empty and res.notes == []
    assert res.sizes["segment_column"].unique().tolist() == ["(all)"]


def test_skipped_cells_are_counted_once_per_segment_and_arm():
    d = three_arms()
    d.loc[d.index[:3], "variant"] = "C"  # a third arm with 3 users, all in the north
    res = ex.analyse(d, ex.ExperimentSpec("variant", "control", binary_metrics=["conv"], continuous_metrics=["rev"],
                                          segment_columns=["region"]), correction="none")
    assert res.notes == ["3 segment x arm cell(s) have fewer than 10 users in an arm: reported as too small and "
                         "skipped."]


def test_pairwise_table_compares_the_treatment_arms_and_adjusts_per_metric(run):
    res = run("defaults")
    d = four_arms()
    rows = []
    for a, b in (("A", "B"), ("A", "C"), ("B", "C")):
        for m in ("conv", "rev"):
            rows.append({**ref_row(d[d["variant"] == a], d[d["variant"] == b], m, a, 0.05), "versus": b})
    exp = pd.DataFrame(rows).rename(columns={"mean_control": "mean_versus", "n_control": "n_versus",
                                             "prob_beat_control": "prob_beat_versus"})
    exp["p_adjusted"] = np.nan
    for m in ("conv", "rev"):
        sel = exp["metric"] == m
        exp.loc[sel, "p_adjusted"] = holm(exp.loc[sel, "p_value"])
    exp = exp[["arm", "versus", "metric"] + [c for c in exp.columns if c not in ("arm", "versus", "metric")]]
    pd.testing.assert_frame_equal(res.pairwise, exp, rtol=1e-12)
    bh_pairs = run("bh").pairwise
    for m in ("conv", "rev"):
        sel = bh_pairs["metric"] == m
        assert bh_pairs.loc[sel, "p_adjusted"].to_numpy() == approx(bh(bh_pairs.loc[sel, "p_value"]))


def test_power_table_per_arm_and_metric(run):
    res = run("bh")
    d = four_arms()
    c = d[d["variant"] == "control"]
    rows = []
    for a in ARMS:
        t = d[d["variant"] == a]
        pc = c["conv"].mean()
        mde = ex.mde_binary(pc, len(t), len(c), alpha=0.1, power=0.9)
        rows.append({"arm": a, "metric": "conv", "kind": "binary", "control_mean": pc, "n_treatment": len(t),
                     "n_control": 70, "mde_abs": mde, "mde_relative": mde / pc, "target_lift": 0.2,
                     "n_per_arm_for_target": ex.sample_size_binary(pc, 0.2, 0.1, 0.9)})
        sd = np.sqrt((np.var(t["rev"], ddof=1) + np.var(c["rev"], ddof=1)) / 2)
        mc = c["rev"].mean()
        mde = ex.mde_continuous(sd, len(t), 70, alpha=0.1, power=0.9)
        assert ex.power_two_sample(mde, sd, sd, n_t=len(t), n_c=70, alpha=0.1) == approx(0.9, rel=1e-9)
        rows.append({"arm": a, "metric": "rev", "kind": "continuous", "control_mean": mc, "n_treatment": len(t),
                     "n_control": 70, "mde_abs": mde, "mde_relative": mde / mc, "target_lift": 0.2,
                     "n_per_arm_for_target": ex.sample_size_continuous(mc, sd, 0.2, alpha=0.1, power=0.9)})
    pd.testing.assert_frame_equal(res.power, pd.DataFrame(rows), rtol=1e-12)
    assert res.power["n_per_arm_for_target"].tolist() == [1418, 76, 1418, 83, 1418, 76]
    assert run("defaults").power["target_lift"].tolist() == [0.05] * 6


@pytest.mark.filterwarnings("ignore:Precision loss")
def test_power_table_leaves_impossible_plans_empty():
    df = pd.DataFrame({"g": ["c"] * 20 + ["t"] * 20, "y": [1.0] * 19 + [0.0] + [1.0] * 20,
                       "z": [0.0] * 40, "w": [0.0] * 10 + [2.0] * 10 + [1.0] * 20})
    spec = ex.ExperimentSpec("g", "c", binary_metrics=["y"], continuous_metrics=["z", "w"])
    p = pd.DataFrame(ex.planning._power_rows(df, spec, {"y": "binary", "z": "continuous", "w": "continuous"}, ["t"],
                                             alpha=0.05, power=0.8, target_lift=0.1)).set_index("metric")
    assert np.isnan(p.loc["y", "n_per_arm_for_target"]) and np.isnan(p.loc["y", "mde_abs"])
    assert p.loc["z", ["mde_abs", "mde_relative", "n_per_arm_for_target"]].isna().all()
    assert p.loc["z", "control_mean"] == 0.0
    assert p.loc["w", "control_mean"] == 1.0 and p.loc["w", "mde_abs"] > 0
    assert p.loc["w", "n_per_arm_for_target"] == ex.sample_size_continuous(1.0, np.sqrt(0.5 * 20 / 19), 0.1)
    kinds = {"y": "binary", "z": "continuous", "w": "continuous"}
    zero = pd.DataFrame(ex.planning._power_rows(df.assign(w=[-1.0, 1.0] * 10 + [1.0] * 20), spec, kinds, ["t"],
                                                alpha=0.05, power=0.8, target_lift=0.1)).set_index("metric")
    assert zero.loc["w", "mde_abs"] > 0 and np.isnan(zero.loc["w", "mde_relative"])
    assert np.isnan(zero.loc["w", "n_per_arm_for_target"])
    never = pd.DataFrame(ex.planning._power_rows(df.assign(y=[0.0] * 40), spec, kinds, ["t"], alpha=0.05, power=0.8,
                                                 target_lift=0.1)).set_index("metric")
    assert np.isnan(never.loc["y", "n_per_arm_for_target"]) and never.loc["y", "control_mean"] == 0.0
    assert never.loc["y", "mde_abs"] > 0 and np.isnan(never.loc["y", "mde_relative"])
    full = pd.DataFrame(ex.planning._power_rows(df.assign(y=[1.0] * 10 + [0.0] * 10 + [1.0] * 20), spec, kinds, ["t"],
                                                alpha=0.05, power=0.8, target_lift=1.0)).set_index("metric")
    assert np.isnan(full.loc["y", "n_per_arm_for_target"]) and full.loc["y", "mde_abs"] > 0


def test_cuped_table_per_arm_and_metric(run):
    res = run("bh")
    d = four_arms()
    c = d[d["variant"] == "control"]
    rows = []
    for a in ARMS:
        t = d[d["variant"] == a]
        for m in ("conv", "rev"):
            r = ex.cuped_effect(t[m].to_numpy(float), c[m].to_numpy(float), t["pre"].to_numpy(float),
                                c["pre"].to_numpy(float), metric=m, arm=a, alpha=0.1)
            rows.append({**r.as_row(), "kind": KINDS[m]})
    pd.testing.assert_frame_equal(res.cuped, pd.DataFrame(rows), rtol=1e-12)
    assert (res.cuped.loc[res.cuped["metric"] == "rev", "variance_reduction"] > 0.5).all()


def test_checks_before_results_in_the_analysis(run):
    res = run("defaults")
    d = four_arms()
    pd.testing.assert_frame_equal(res.srm.table, ex.srm_test(d["variant"]).table)
    assert res.srm.table.index.tolist() == ["A", "B", "C", "control"]
    pd.testing.assert_frame_equal(res.srm_segments, ex.srm_by_segment(d, full_spec(), "region"))
    assert res.srm_segments["users"].tolist() == [169, 92]
    pd.testing.assert_frame_equal(res.balance, ex.balance(d, full_spec(), ["pre"]))
    assert res.balance["arm"].tolist() == ["A", "B", "C"]
    pd.testing.assert_frame_equal(res.sizes, ex.all_group_sizes(d, full_spec()))
    halves = four_arms().assign(half=lambda x: np.where(x.index % 2 == 0, "even", "odd"))
    planned = ex.analyse(halves, ex.ExperimentSpec("variant", "control", binary_metrics=["conv"],
                                                   segment_columns=["region", "half"],
                                                        planned_split={"A": 1, "B": 1, "C": 1, "control": 1}))
    assert planned.srm.p_value == approx(stats.chisquare([70, 51, 70, 70]).pvalue)
    pd.testing.assert_frame_equal(planned.srm_segments, pd.concat(
        [ex.srm_by_segment(ex.validate(halves, planned.spec), planned.spec, c) for c in ("region", "half")],
        ignore_index=True))
    assert planned.srm_segments["segment_column"].tolist() == ["region"] * 2 + ["half"] * 2
    with pytest.raises(ConfigError, match=r"planned_split lacks arm\(s\) \['C'\]"):
        ex.analyse(four_arms(), ex.ExperimentSpec("variant", "control", binary_metrics=["conv"],
                                                  planned_split={"A": 1, "B": 1, "control": 1}))


def test_result_keeps_the_options_and_exports_every_table(run):
    res = run("bh")
    assert res.options == {"alpha": 0.1, "power": 0.9, "correction": "fdr_bh", "cap_percentile": None,
                           "cap_ignore_zeros": True, "bootstrap": False, "target_lift": 0.2, "seed": 0,
                           "primary_metric": "rev", "higher_is_better": True, "sequential": True,
                           "sequential_tuning": 300, "roi": None}
    assert res.primary == "rev" and run("defaults").primary == "conv"
    assert run("defaults").options == {"alpha": 0.05, "power": 0.8, "correction": "holm", "cap_percentile": None,
                                       "cap_ignore_zeros": True, "bootstrap": False, "target_lift": 0.05,
                                       "seed": 0, "primary_metric": "conv", "higher_is_better": True,
                                       "sequential": False, "sequential_tuning": 5000, "roi": None}
    assert run("bonferroni").options["seed"] == 9 and run("bonferroni").options["bootstrap"] is True
    assert res.spec == full_spec()
    tables = res.tables()
    assert list(tables) == ["srm", "srm_segments", "balance", "group_sizes", "effects", "pairwise", "cuped",
                            "segment_effects", "power", "roi"]
    pd.testing.assert_frame_equal(tables["srm"], res.srm.table.reset_index())
    for name, attr in (("srm_segments", "srm_segments"), ("balance", "balance"), ("group_sizes", "sizes"),
                       ("effects", "effects"), ("pairwise", "pairwise"), ("cuped", "cuped"),
                       ("segment_effects", "segments"), ("power", "power"), ("roi", "roi")):
        assert tables[name] is getattr(res, attr)


def test_result_decision_and_summary_are_about_the_primary_metric(run):
    res = run("bh")
    def same(a: ex.Decision, b: ex.Decision) -> bool:
        pd.testing.assert_frame_equal(a.candidates, b.candidates)
        return (a.primary, a.winner, a.reasons) == (b.primary, b.winner, b.reasons)

    assert same(res.decision(), ex.decide(res, "rev")) and res.decision().primary == "rev"
    assert same(res.decision("conv"), ex.decide(res, "conv"))
    assert ex_text.decision_text(res.decision(), "zh") == ex_text.decision_text(ex.decide(res, "rev"), "zh")
    assert ex_text.decision_summary(res) == ex_text.decision_summary(res, "rev")
    assert ex_text.decision_summary(res, language="zh") == ex_text.decision_summary(res, "rev", "zh")
    assert ex_text.decision_summary(res, "conv", "zh") == ex_text.decision_summary(res, "conv", "zh")
    assert ex_text.decision_summary(res) != ex_text.decision_summary(res, "conv")
    bare = ex.ExperimentResult(full_spec(), res.srm, *[pd.DataFrame()] * 7, alpha=0.05)
    assert bare.primary == "conv" and bare.notes == [] and bare.options == {}
    assert bare.pairwise.empty and bare.roi.empty


def test_capping_is_applied_to_continuous_metrics_and_noted():
    d = three_arms()
    d = d[d["variant"] != "B"]
    d = d.assign(rev=np.where(np.arange(len(d)) % 3 == 0, 0.0, d["rev"] * 1000))
    spec = ex.ExperimentSpec("variant", "control", binary_metrics=["conv"], continuous_metrics=["rev", "pre"])
    res = ex.analyse(d, spec, cap_percentile=50)
    cap_rev = np.percentile(d.loc[d["rev"] != 0, "rev"], 50)
    cap_pre = np.percentile(d.loc[d["pre"] != 0, "pre"], 50)
    assert res.notes == [f"'rev' capped at its 50th percentile of non-zero values: {cap_rev:,.2f}.",
                         f"'pre' capped at its 50th percentile of non-zero values: {cap_pre:,.2f}."]
    assert cap_rev > 1000
    capped = d.assign(rev=d["rev"].clip(upper=cap_rev), pre=d["pre"].clip(upper=cap_pre))
    t, c = capped[capped["variant"] == "A"], capped[capped["variant"] == "control"]
    assert res.effects["metric"].tolist() == ["conv", "rev", "pre"]
    assert res.effects["mean_treatment"].tolist() == approx([d.loc[d["variant"] == "A", "conv"].mean(),
                                                             t["rev"].mean(), t["pre"].mean()])
    assert res.effects.iloc[1]["p_value"] == approx(ex.welch(t["rev"].to_numpy(), c["rev"].to_numpy())[3])
    plain = ex.analyse(d, spec, cap_percentile=97.5, cap_ignore_zeros=False)
    cap = np.percentile(d["rev"], 97.5)
    assert plain.notes[0] == f"'rev' capped at its 97.5th percentile: {cap:,.2f}."
    control_rev = d.loc[d["variant"] == "control", "rev"]
    assert plain.effects.iloc[1]["mean_control"] == approx(control_rev.clip(upper=cap).mean())
    assert plain.options["cap_percentile"] == 97.5 and plain.options["cap_ignore_zeros"] is False


def test_primary_metric_must_be_a_metric_and_roi_is_added_on_request():
    d = three_arms()
    with pytest.raises(ConfigError, match="primary_metric 'pre' is not among the metrics"):
        ex.analyse(d, full_spec(), primary_metric="pre")
    s = ex.ROISettings({"A": 1.0, "B": 2.0}, value_per_conversion=20.0, conversion_metric="conv")
    res = ex.analyse(d, full_spec(), roi=s, alpha=0.1)
    pd.testing.assert_frame_equal(res.roi, ex.roi_table(ex.validate(d, full_spec()), full_spec(), s, 0.1))
    assert res.options["roi"] is s and res.roi["arm"].tolist() == ["A", "B"]
    with pytest.raises(ConfigError, match="correction must be one of"):
        ex.analyse(d, full_spec(), correction="holm-sidak")
    with pytest.raises(InputError, match="share a user id"):
        ex.analyse(d.assign(user="same"), full_spec())


def test_higher_is_better_is_kept_for_the_decision():
    res = ex.analyse(three_arms(), ex.ExperimentSpec("variant", "control", binary_metrics=["conv"]),
                     higher_is_better=False)
    assert res.options["higher_is_better"] is False


# ------------------------------------------------------------------ outcomes from transactions


def _assignments() -> pd.DataFrame:
    return pd.DataFrame({"uid": [1, "2", " 3 "], "arm": ["control", "treatment", "treatment"],
                         "seen": ["2025-03-10", "2025-03-12", "2025-03-20"]})


#: the columns of :func:`_assignments`
COLUMNS = ex.AssignmentColumns(user="uid", variant="arm", exposure="seen")


def _tx() -> pd.DataFrame:
    rows = [
        ("1", "o1", "2025-03-10", 10.0),    # the exposure day counts
        ("1", "o2", "2025-04-06", 5.5),     # day 27 of the window
        ("1", "o2", "2025-04-06", 1.25),    # the same order, another line
        ("1", "o3", "2025-04-07", 99.0),    # day 28: after the window
        ("1", "o0", "2025-03-09", 7.0),     # the day before exposure: pre-period
        ("1", "oa", "2024-12-10", 3.0),     # 90 days before: still pre-period
        ("1", "oc", "2025-01-10", 0.003),   # a fraction of a cent before exposure
        ("1", "ob", "2024-12-09", 50.0),    # 91 days before: neither
        ("3", "o7", "2025-03-21", 0.1),
        ("3", "o8", "2025-03-22", 0.2),
        ("3", "o9", "2025-03-23", -0.05),   # a refund in the window
        ("3", "o6", "2025-03-24", 0.004),   # a fraction of a cent: revenue is rounded to cents
        ("9", "o5", "2025-03-15", 40.0),    # not in the experiment
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    return tx.assign(order_date=pd.to_datetime(tx["order_date"]), country="X")


def test_outcomes_in_the_window_after_exposure_and_revenue_before_it():
    out, notes = ex.derive_outcomes(_assignments(), _tx(), as_of="2025-04-16", columns=COLUMNS)
    expected = pd.DataFrame({"customer_id": ["1", "2", "3"], "variant": ["control", "treatment", "treatment"],
                             "exposure": pd.to_datetime(["2025-03-10", "2025-03-12", "2025-03-20"]),
                             "revenue": [16.75, 0.0, 0.25], "orders": [2.0, 0.0, 4.0],
                             "converted": [1.0, 0.0, 1.0], "pre_revenue": [10.0, 0.0, 0.0]})
    pd.testing.assert_frame_equal(out, expected)
    assert out["revenue"].tolist() == [16.75, 0.0, 0.25] and notes == []


def test_outcome_window_and_pre_period_lengths_are_settable():
    out, _ = ex.derive_outcomes(_assignments(), _tx(), window_days=30, pre_days=91, columns=COLUMNS)
    assert out["revenue"].tolist() == [115.75, 0.0, 0.25] and out["orders"].tolist() == [3.0, 0.0, 4.0]
    assert out["pre_revenue"].tolist() == [60.0, 0.0, 0.0]
    short, _ = ex.derive_outcomes(_assignments(), _tx(), window_days=1, pre_days=1, columns=COLUMNS)
    assert short["revenue"].tolist() == [10.0, 0.0, 0.0] and short["pre_revenue"].tolist() == [7.0, 0.0, 0.0]
    assert short["converted"].tolist() == [1.0, 0.0, 0.0]


def test_an_outcome_window_running_past_the_period_end_is_noted():
    a = _assignments()
    _, notes = ex.derive_outcomes(a, _tx(), as_of="2025-04-15", columns=COLUMNS)
    assert notes == ["The outcome window of the last exposures ends 2025-04-17, after the period end 2025-04-15: "
                     "outcomes are incomplete."]
    assert ex.outcomes_complete_on(pd.to_datetime(a["seen"]), 28, "2025-04-15") == "2025-04-17"
    _, none = ex.derive_outcomes(a, _tx(), as_of=pd.Timestamp("2025-04-16"), columns=COLUMNS)
    assert none == []
    _, short = ex.derive_outcomes(a, _tx(), window_days=7, as_of="2025-03-26", columns=COLUMNS)
    assert short == []
    _, open_ = ex.derive_outcomes(a, _tx(), window_days=7, as_of="2025-03-25", columns=COLUMNS)
    assert open_[0].startswith("The outcome window of the last exposures ends 2025-03-27, after the period end "
                               "2025-03-25")


def test_outcomes_with_the_default_column_names_and_bad_assignment_tables():
    a = _assignments().rename(columns={"uid": "customer_id", "arm": "variant", "seen": "exposure_date"})
    out, _ = ex.derive_outcomes(a, _tx())
    assert out.columns.tolist() == ["customer_id", "variant", "exposure", "revenue", "orders", "converted",
                                    "pre_revenue"]
    assert out["revenue"].tolist() == [16.75, 0.0, 0.25]
    for col in ("customer_id", "variant", "exposure_date"):
        with pytest.raises(InputError, match=f"Assignment table lacks column '{col}'"):
            ex.derive_outcomes(a.drop(columns=col), _tx())
    with pytest.raises(InputError, match="Column 'exposure_date' has 1 unparseable date"):
        ex.derive_outcomes(a.assign(exposure_date=["2025-03-10", "soon", "2025-03-20"]), _tx())
    with pytest.raises(InputError, match=r"2 assignment rows share a customer id \(e.g. 3\)"):
        ex.derive_outcomes(a.assign(customer_id=["1", "3", " 3"]), _tx())


# ------------------------------------------------------------------ edges the tables above do not reach


def test_error_messages_show_three_examples():
    d = pd.DataFrame({"g": ["c", "t"] * 5, "y": [0, 1] * 5, "u": [1, 1, 2, 2, 3, 3, 4, 4, 5, 6]})
    spec = ex.ExperimentSpec("g", "c", user_column="u", binary_metrics=["y"])
    with pytest.raises(InputError, match=r"^8 rows share a user id in 'u' \(e\.g\. \[1, 2, 3\]\);"):
        ex.validate(d, spec)
    bad = d.assign(u=range(10), y=["a", "b", "c", "d", 0, 1, 0, 1, 0, 1])
    with pytest.raises(InputError, match=r"^Column 'y' has 4 non-numeric value\(s\), e\.g\. \(row, value\) "
                                         r"\[\(0, 'a'\), \(1, 'b'\), \(2, 'c'\)\]$"):
        ex.validate(bad, spec)
    with pytest.raises(InputError, match=r"^Binary metric 'y' must be 0/1; 4 value\(s\) are not, e\.g\. "
                                         r"\[2\.0, 3\.0, 4\.0\]$"):
        ex.validate(bad.assign(y=[2, 3, 4, 5, 0, 1, 0, 1, 0, 1]), spec)


def test_srm_expected_counts_are_shown_to_one_decimal_and_segments_in_sorted_order():
    res = ex.srm_test(pd.Series(["a"] * 40 + ["b"] * 30 + ["c"] * 30), {"a": 1, "b": 1, "c": 1})
    assert res.table["expected"].tolist() == [33.3, 33.3, 33.3]
    df = pd.DataFrame({"g": ["c"] * 10 + ["t"] * 10 + ["c"] * 6 + ["t"] * 14,
                       "seg": ["y"] * 20 + ["x"] * 20})
    spec = ex.ExperimentSpec("g", "c", binary_metrics=["m"], planned_split={"c": 1, "t": 3})
    out = ex.srm_by_segment(df, spec, "seg")
    assert out["segment"].tolist() == ["x", "y"] and out["users"].tolist() == [20, 20]
    assert out["chi2"].tolist() == approx([stats.chisquare([6, 14], [5, 15]).statistic,
                                           stats.chisquare([10, 10], [5, 15]).statistic])


def test_smd_of_a_covariate_with_a_small_spread_and_the_imbalance_limit():
    x_t, x_c = np.array([0.1, 0.2, 0.4]), np.array([0.0, 0.1, 0.2])
    pooled = np.sqrt((np.var(x_t, ddof=1) + np.var(x_c, ddof=1)) / 2)
    assert pooled < 1 and ex.smd(x_t, x_c) == approx((x_t.mean() - x_c.mean()) / pooled)
    edge = pd.DataFrame({"g": ["c"] * 3 + ["t"] * 3, "x": [0.0, 10.0, 20.0, 1.0, 11.0, 21.0]})
    bal = ex.balance(edge, ex.ExperimentSpec("g", "c"), ["x"])
    assert bal["smd"].tolist() == [0.1] and bal["imbalanced"].tolist() == [False]


def test_group_sizes_with_an_empty_cell_and_exactly_ten_failures():
    df = pd.concat([
        pd.DataFrame({"g": "c", "s": "a", "y": [1.0] * 25 + [0.0] * 10}),   # 10 failures: fine
        pd.DataFrame({"g": "t", "s": "a", "y": [1.0] * 20 + [0.0] * 20}),
        pd.DataFrame({"g": "c", "s": "b", "y": [1.0] * 12 + [0.0] * 20}),
    ], ignore_index=True)
    spec = ex.ExperimentSpec("g", "c", binary_metrics=["y"])
    by = ex.group_sizes(df, spec, "s")
    idx = pd.MultiIndex.from_product([["a", "b"], ["c", "t"]], names=["s", "g"])
    expected = pd.DataFrame({"users": [35, 40, 32, 0], "y_successes": [25, 20, 12, 0],
                             "warning": ["", "", "", "too small: skipped"]}, index=idx)
    pd.testing.assert_frame_equal(by, expected)


def test_chance_to_beat_control_never_exceeds_one():
    assert ex.prob_beat_control(3, 4, 3, 10000) == 1.0
    assert ex.prob_beat_control_normal(0.2, 0.5) == approx(stats.norm.cdf(0.4))


@pytest.mark.filterwarnings("ignore:Precision loss")
def test_cuped_for_a_rate_and_a_covariate_with_a_small_spread():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 0.5, 80)
    y = (rng.uniform(0, 1, 80) < 0.2 + x).astype(float)
    assert np.var(x, ddof=1) < 1 and np.var(y) < 1
    assert ex.cuped_theta(y, x) == approx(stats.linregress(x, y).slope)
    r = ex.cuped_effect(y[:40], y[40:], x[:40], x[40:])
    theta = stats.linregress(x, y).slope
    adj = y - theta * (x - x.mean())
    assert r.variance_reduction == approx(1 - np.var(adj, ddof=1) / np.var(y, ddof=1)) and r.variance_reduction > 0


def test_capping_below_the_first_percentile_is_allowed():
    y = pd.Series(np.arange(1.0, 201.0))
    capped, cap = ex.cap_values(y, 0.5)
    assert cap == np.percentile(y, 0.5) and capped.max() == cap


def test_mde_for_a_metric_with_a_tiny_spread():
    m = ex.mde_continuous(1e-9, 1000, 1000)
    assert ex.power_two_sample(m, 1e-9, 1e-9, n_t=1000, n_c=1000) == approx(0.8, rel=1e-3)
    assert 0 < ex.mde_continuous(1e-15, 1000, 1000) < 1e-13


def test_sample_sizes_are_rounded_up_from_the_exact_root():
    assert ex.sample_size_binary(0.05, 0.2) == 8155
    assert ex.sample_size_continuous(100.0, 5.0, 0.1) == 4
    assert ex.sample_size_binary(0.08, 10.5) == 2
    assert ex.sample_size_continuous(1.0, 1.0, 3.5) == 2
    with pytest.raises(ConfigError):
        ex.sample_size_binary(0.5, 1.0)


def test_missing_p_values_given_as_none_stay_missing():
    out = ex.adjust_pvalues([0.01, None, 0.04], "holm")
    assert np.isnan(out[1]) and out[[0, 2]] == approx(multipletests([0.01, 0.04], method="holm")[1])


def test_sequential_inference_with_small_tuning_integer_counts_and_no_variance():
    assert ex.sequential_rho(0.05, 0.5) == approx(np.sqrt((-2 * np.log(0.05) + np.log(1 - 2 * np.log(0.05))) / 0.5))
    n = np.array([5_000_000_000])
    assert ex.sequential_halfwidth(np.array([1e-9]), n) == approx(
        ex.sequential_halfwidth(np.array([1e-9]), n.astype(float)))
    big = np.array([4_000_000_000])
    assert ex.sequential_p_value(big, np.array([1.0]), np.array([100.0])) == approx(
        ex.sequential_p_value(big.astype(float), np.array([1.0]), np.array([100.0])))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ex.sequential_p_value(np.array([0.0, 0.3]), np.array([0.0, 0.0]), np.array([50, 50])).tolist() == \
            [1.0, 1.0]


def test_segments_are_listed_in_sorted_order_and_a_cell_of_ten_users_is_analysed():
    d = three_arms()
    d = d[d["variant"] != "B"]
    south_a = d.index[(d["region"] == "south") & (d["variant"] == "A")]
    d = d.drop(south_a[10:])
    d = pd.concat([d[d["region"] == "south"], d[d["region"] == "north"]])
    spec = ex.ExperimentSpec("variant", "control", binary_metrics=["conv"], segment_columns=["region"])
    res = ex.analyse(d, spec)
    assert res.segments["segment"].tolist() == ["north", "south"]
    assert res.segments["status"].tolist() == ["ok", "ok"] and res.segments["n_treatment"].tolist() == [42, 10]
    assert res.srm_segments["segment"].tolist() == ["north", "south"]


def test_power_plan_edges():
    df = pd.DataFrame({"g": ["c"] * 20 + ["t"] * 20, "y": [1.0] * 20 + [1.0] * 10 + [0.0] * 10,
                       "k": [5.0] * 40, "h": [1.0] * 12 + [0.0] * 8 + [1.0] * 20})
    spec = ex.ExperimentSpec("g", "c", binary_metrics=["y", "h"], continuous_metrics=["k"])
    kinds = {"y": "binary", "h": "binary", "k": "continuous"}
    p = pd.DataFrame(ex.planning._power_rows(df, spec, kinds, ["t"], alpha=0.05, power=0.8,
                                             target_lift=-0.1)).set_index("metric")
    assert np.isnan(p.loc["y", "n_per_arm_for_target"])  # control converts at 100%
    assert p.loc["h", "n_per_arm_for_target"] == ex.sample_size_binary(0.6, -0.1)
    assert p.loc["k", "control_mean"] == 5.0 and p.loc["k", ["mde_abs", "n_per_arm_for_target"]].isna().all()
    up = pd.DataFrame(ex.planning._power_rows(df, spec, kinds, ["t"], alpha=0.05, power=0.8,
                                              target_lift=0.1)).set_index("metric")
    assert up.loc["h", "n_per_arm_for_target"] == ex.sample_size_binary(0.6, 0.1)


def test_no_mde_when_even_a_rise_to_one_hundred_percent_falls_short_of_the_power():
    # with 5 users per arm, a control rate of 0.389139564051 is the last one whose largest possible rise is
    # detected with 80% power: just above it there is no MDE, just below it the MDE is that largest rise
    edge = 0.38913956405098665
    assert np.isnan(ex.mde_binary(edge + 1.5e-10, 5, 5))
    below = ex.mde_binary(edge - 1e-10, 5, 5)
    assert below == approx(1 - edge, rel=1e-6)

"""Relative lifts a reader can trust: intervals on the log of the ratio, their agreement with the
difference, and money figures in the report's currency (notebook 04)."""

from __future__ import annotations

from html import unescape

import matplotlib
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from customer_analytics.models import experiments as ex  # noqa: E402
from customer_analytics.report.formatting import format_table  # noqa: E402
from customer_analytics.report.plotting import experiments as ex_plots  # noqa: E402
from customer_analytics.report.text import experiments as ex_text  # noqa: E402


def users(successes: int, n: int) -> np.ndarray:
    return np.r_[np.ones(successes), np.zeros(n - successes)]


@pytest.mark.parametrize(("x_t", "n_t", "x_c", "n_c", "alpha"), [
    (13, 70, 30, 90, 0.05), (80, 446, 60, 467, 0.05), (3, 35, 1, 37, 0.1), (120, 1000, 100, 1000, 0.01)])
def test_the_conversion_lift_interval_is_the_log_ratio_interval_of_statsmodels(x_t, n_t, x_c, n_c, alpha):
    e = ex.binary_effect(users(x_t, n_t), users(x_c, n_c), alpha=alpha)
    lo, hi = confint_proportions_2indep(x_t, n_t, x_c, n_c, compare="ratio", method="log", alpha=alpha)
    assert e.lift == pytest.approx((x_t / n_t) / (x_c / n_c) - 1, rel=1e-12)
    assert (e.lift_ci_low, e.lift_ci_high) == pytest.approx((lo - 1, hi - 1), rel=1e-10)


def test_the_95_percent_lift_interval_covers_the_true_lift_95_times_in_100():
    rng = np.random.default_rng(2024)
    sims, n = 2000, 500
    p_t, p_c = 0.30, 0.25
    x_t, x_c = rng.binomial(n, p_t, sims), rng.binomial(n, p_c, sims)
    rates = np.array([ex.log_ratio_lift(a / n, a / n * (1 - a / n) / n, b / n, b / n * (1 - b / n) / n)
                      for a, b in zip(x_t, x_c, strict=True)])
    cover = np.mean((rates[:, 1] <= p_t / p_c - 1) & (p_t / p_c - 1 <= rates[:, 2]))
    assert 0.94 <= cover <= 0.96, cover
    # a money metric: skewed spend per user, the mean 20% higher in the arm (about 0.949 over many seeds)
    rng = np.random.default_rng(1)
    y_t, y_c = rng.gamma(2.0, 6.0, (sims, 400)), rng.gamma(2.0, 5.0, (sims, 400))
    means = np.array([ex.log_ratio_lift(a, va, b, vb) for a, va, b, vb in zip(
        y_t.mean(1), y_t.var(1, ddof=1) / 400, y_c.mean(1), y_c.var(1, ddof=1) / 400, strict=True)])
    cover = np.mean((means[:, 1] <= 0.2) & (0.2 <= means[:, 2]))
    assert 0.94 <= cover <= 0.96, cover


def test_a_small_segment_no_longer_shows_a_lift_below_minus_100_percent():
    # 3 of 35 against 1 of 37: the old interval was "+217% (-485% to +920%)"
    e = ex.binary_effect(users(3, 35), users(1, 37))
    assert e.lift == pytest.approx(3 / 35 / (1 / 37) - 1)
    assert -1 < e.lift_ci_low < 0 < e.lift < e.lift_ci_high
    cell = ex_text.readable_effects(pd.DataFrame([{**e.as_row(), "p_adjusted": e.p_value}]))["relative lift"][0]
    assert cell.startswith("+217% (95% CI -") and "-485%" not in cell
    assert float(cell.split("CI ")[1].split("%")[0]) > -100


def test_rows_whose_two_intervals_disagree_or_whose_lift_has_no_interval_are_explained():
    differs = ex.binary_effect(users(7, 40), users(1, 40), "converted", "mail")   # pp interval excludes 0, lift's does not
    assert differs.ci_low > 0 and differs.lift_ci_low < 0 < differs.lift_ci_high
    undefined = ex.binary_effect(users(3, 35), users(0, 37), "converted", "sms")   # control has no success
    ok = ex.binary_effect(users(80, 446), users(60, 467), "converted", "app")
    assert (differs.lift_ci_status, undefined.lift_ci_status, ok.lift_ci_status) == ("differs", "undefined", "ok")
    assert np.isnan([undefined.lift, undefined.lift_ci_low, undefined.lift_ci_high]).all()   # no made-up number
    assert ex.lift_ci_status([0.01, -0.02, 0.01], [0.05, 0.03, 0.05], [0.02, -0.1, np.nan],
                             [0.4, 0.2, np.nan]).tolist() == ["ok", "ok", "undefined"]
    table = pd.DataFrame([{**e.as_row(), "p_adjusted": e.p_value} for e in (differs, undefined, ok)])
    assert ex_text.readable_effects(table)["relative lift"][1] == "–"
    note = ex_text.lift_notes(table)
    assert note.startswith("mail · converted: the difference interval and the relative-lift interval disagree")
    assert "the decision follows the difference" in note
    assert "sms · converted: the relative lift has no interval, because a rate or mean is 0 or below" in note
    assert "app" not in note and ex_text.lift_notes(table.iloc[[2]]) == ""
    assert "sms" in ex_text.lift_notes(table, "zh") and "没有区间" in ex_text.lift_notes(table, "zh")
    arm_zero = ex.binary_effect(users(0, 35), users(3, 37))
    assert ex_text.fmt_lift(arm_zero.lift, arm_zero.lift_ci_low, arm_zero.lift_ci_high) == "-100% (no interval)"


def test_the_cuped_lift_uses_the_adjusted_means_and_is_explained_like_the_others():
    rng = np.random.default_rng(5)
    x_t, x_c = rng.gamma(2, 10, 300), rng.gamma(2, 10, 300)
    y_t, y_c = 0.8 * x_t + rng.gamma(2, 4, 300), 0.8 * x_c + rng.gamma(2, 3, 300)
    r = ex.cuped_effect(y_t, y_c, x_t, x_c, metric="revenue", arm="mail")
    theta, mx = ex.cuped_theta(np.r_[y_t, y_c], np.r_[x_t, x_c]), np.r_[x_t, x_c].mean()
    a_t, a_c = y_t - theta * (x_t - mx), y_c - theta * (x_c - mx)
    assert r.lift == pytest.approx(a_t.mean() / a_c.mean() - 1)
    assert (r.lift_ci_low, r.lift_ci_high) == pytest.approx(ex.log_ratio_lift(
        a_t.mean(), a_t.var(ddof=1) / 300, a_c.mean(), a_c.var(ddof=1) / 300)[1:])
    assert r.lift_ci_status == "ok" and r.lift_ci_low > -1
    row = pd.DataFrame([{**r.as_row(), "kind": "continuous"}])
    shown = ex_text.readable_cuped(row, currency="£")
    assert shown["CUPED effect"][0].startswith("+£") and shown["CUPED relative lift"][0].endswith("%)")


def money_result() -> ex.ExperimentResult:
    rng = np.random.default_rng(3)
    n = 1500
    arm = np.repeat(["control", "mail"], n)
    converted = (rng.random(2 * n) < np.where(arm == "mail", 0.16, 0.10)).astype(float)
    revenue = converted * rng.gamma(2.0, 20.0, 2 * n)
    df = pd.DataFrame({"arm": arm, "converted": converted, "revenue": revenue, "orders": converted,
                       "segment": np.tile(["a", "b"], n)})
    spec = ex.ExperimentSpec("arm", "control", binary_metrics=["converted"], continuous_metrics=["revenue", "orders"],
                             segment_columns=["segment"])
    roi = ex.ROISettings({"mail": 0.5}, value_per_conversion=5.0, conversion_metric="converted", margin=0.3,
                         revenue_metric="revenue")
    return ex.analyse(df, spec, roi=roi, primary_metric="revenue")


def test_money_figures_carry_the_currency_in_tables_sentences_and_the_chart():
    res = money_result()
    effects = ex_text.readable_effects(res.effects, currency="€").set_index("metric")
    assert effects.loc["revenue", "treatment"].startswith("€") and effects.loc["revenue", "effect"].startswith("+€")
    assert "€" in effects.loc["revenue", "effect"].split(" CI ")[1]
    assert "€" not in effects.loc["orders", "effect"] and effects.loc["converted", "effect"].endswith(" pp)")
    # sentences: a dollar is shown as a dollar, never read as a formula between two amounts
    summary = ex_text.decision_summary(res, currency="$")
    assert "$" not in summary and "tex2jax_ignore" in summary
    assert 'incremental profit <span class="tex2jax_ignore">+&#36;' in summary and "in total over 1,500 users" in summary
    assert "+$2.89 (95% CI +$1.59 to +$4.20)" in unescape(summary)
    assert "mail wins on revenue: +€" in ex_text.decision_sentence(res, currency="€")
    # the ROI table: money to the cent in the export, with the symbol on the page
    assert (res.roi["profit_per_user"] * 100 % 1 == 0).all()
    html = format_table(ex_text.for_reader(res.roi), currency="$", **ex_text.table_options(res.roi)).to_html()
    assert 'class="tex2jax_ignore"' in html and f"${res.roi['total_cost'][0]:,.2f}" in html
    power = ex_text.for_reader(res.power, currency="£").set_index("metric")
    assert power.loc["revenue", "control_mean"].startswith("£") and "£" not in power.loc["orders", "control_mean"]
    fig = ex_plots.plot_segment_forest(res.segments, "revenue", currency="$")
    ax = fig.axes[0]
    fig.canvas.draw()
    assert "(in $)" in ax.get_xlabel().replace("\\$", "$")
    assert any("$" in t.get_text() for t in ax.get_xticklabels())
    plt.close(fig)

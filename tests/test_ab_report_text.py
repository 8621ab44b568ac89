"""The A/B report's words: the decision, its rule and reasons, the summary bullets, in English and Chinese."""

from __future__ import annotations

import re
from html import unescape

import numpy as np
import pandas as pd
import pytest

from customer_analytics.models import experiments as ex
from customer_analytics.report import narrative
from customer_analytics.report.formatting import format_table
from customer_analytics.report.text import experiments as ex_text


def three_arm_table(x_a: int = 242, n: int = 2000, x_c: int = 200, x_b: int = 200, a: str = "offer_a") -> pd.DataFrame:
    """control 200/2000; offer_a 242/2000 (p = 0.034, Holm over two arms 0.068); offer_b = control."""
    def arm(name, x):
        return pd.DataFrame({"variant": name, "converted": np.r_[np.ones(x), np.zeros(n - x)]})
    return pd.concat([arm("control", x_c), arm(a, x_a), arm("offer_b", x_b)], ignore_index=True)


THREE = ex.ExperimentSpec("variant", "control", binary_metrics=["converted"])
LATIN_WORD = re.compile(r"\b(?!pp\b|vs\b|SRM\b|ROI\b|CUPED\b|MDE\b|holm\b)[A-Za-z]{3,}\b")


def latin_words(text: str, *allowed: str) -> set[str]:
    """English words left in a Chinese text (metric and arm names from the data allowed)."""
    return {w for w in LATIN_WORD.findall(unescape(text)) if not any(w in a for a in allowed)}


def test_the_winner_sentence_carries_the_effect_in_pp_and_the_lift_in_percent():
    res = ex.analyse(three_arm_table(), THREE, correction="none")
    assert ex_text.decision_sentence(res) == "offer_a wins on converted: +2.10 pp against control (+21% relative lift)."
    assert ex_text.decision_sentence(res, "zh") == "offer_a 在 converted 上胜出：相对对照组 +2.10 pp（相对提升 +21%）。"
    assert ex_text.decision_sentence(None, "zh") == "本期没有评估任何实验。"
    held = ex.analyse(three_arm_table(), THREE)  # Holm: 0.068
    assert ex_text.decision_sentence(held) == "No arm is a proven winner on converted, so nothing is rolled out yet."


@pytest.mark.parametrize("kwargs", [{}, {"correction": "none"}, {"sequential": True, "sequential_tuning": 4000},
                                    {"roi": ex.ROISettings({"offer_a": 5.0, "offer_b": 5.0}, 10.0, "converted")}])
def test_the_chinese_decision_text_has_no_english_left(kwargs):
    res = ex.analyse(three_arm_table(x_a=300 if "roi" in kwargs else 242), THREE, **kwargs)
    zh = ex_text.decision_summary(res, language="zh")
    assert latin_words(zh, "offer_a", "offer_b", "converted", "control") == set(), zh
    assert "下一步" in zh and "规则" in zh and "置信区间" in zh
    en = ex_text.decision_summary(res)
    assert "Next:" in en and "Rule:" in en and "CI" in en
    # the same numbers in both languages
    assert re.findall(r"[+-]\d+\.\d+ pp", unescape(zh)) == re.findall(r"[+-]\d+\.\d+ pp", unescape(en))
    assert ex_text.decision_rule(res, "zh").startswith("当一个实验组")


def test_srm_reason_and_summary_in_chinese():
    srm = ex.analyse(three_arm_table(x_a=300).iloc[500:], THREE, correction="none")
    assert "样本比例失衡" in ex_text.srm_summary(srm.srm, "zh") and "SAMPLE RATIO MISMATCH" in ex_text.srm_summary(srm.srm)
    assert "修正分组" in ex_text.decision_summary(srm, language="zh") and "分组有问题" in ex_text.decision_reasons(srm.decision(), "zh")[0]


def test_summary_bullets_say_what_changed_the_decision_and_what_next():
    res = ex.analyse(three_arm_table(), THREE, correction="none",
                     roi=ex.ROISettings({"offer_a": 0.1, "offer_b": 0.1}, 20.0, "converted"))
    bullets = [unescape(b) for b in narrative.ab_bullets(res)]
    assert 3 <= len(bullets) <= 6
    assert bullets[0] == "**Decision:** offer_a wins on converted: +2.10 pp against control (+21% relative lift)."
    assert bullets[1].startswith("6,000 users in 2 treatment arm(s) (offer_a, offer_b) and control (control)")
    assert "**offer_a**, +2.10 pp against control (+21% relative lift)" in bullets[2]
    assert "+0.32 of incremental profit per treated user (95% CI" in bullets[3]   # +2.1 pp x 20 = 0.42 per user against 0.10 of cost
    assert bullets[-1].startswith("**Next: roll out offer_a")
    zh = [unescape(b) for b in narrative.ab_bullets(res, "zh")]
    assert len(zh) == len(bullets) and zh[0].startswith("**决策**：offer_a 在 converted 上胜出")
    assert latin_words(" ".join(zh), "offer_a", "offer_b", "converted", "control") == set()


def test_without_a_winner_the_bullets_name_the_best_arm_and_advise_not_to_roll_out():
    bullets = [unescape(b) for b in narrative.ab_bullets(ex.analyse(three_arm_table(), THREE))]
    assert "Best arm: **offer_a**" in bullets[2] and "adjusted p 0.0683" in bullets[2]
    assert "No arm is a proven winner" in bullets[0] and bullets[-1].startswith("**Next: do not roll out")


def test_without_an_experiment_the_summary_is_one_sentence():
    assert narrative.ab_bullets(None) == ["No experiment was evaluated for this period."]
    assert narrative.ab_bullets(None, "zh") == ["本期没有评估任何实验。"]


def test_bullets_escape_arm_labels():
    res = ex.analyse(three_arm_table(a="<b>x</b>"), THREE, correction="none")
    text = " ".join(narrative.ab_bullets(res))
    assert "<b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text


def test_tables_show_p_values_shares_and_pp_with_headers_in_the_report_language():
    res = ex.analyse(three_arm_table(), THREE, sequential=True, sequential_tuning=4000)
    seq = res.effects[["arm", "kind", "diff", "seq_ci_low", "p_value", "seq_p_adjusted"]]
    opts = ex_text.table_options(seq, "zh")
    assert opts["kinds"] == {"diff": "pp", "seq_ci_low": "pp", "seq_p_adjusted": "pvalue"}
    html = format_table(ex_text.for_reader(seq, "zh"), language="zh", **opts).to_html()
    assert "+2.10 pp" in html and "实验组" in html and "始终有效校正后 p 值" in html and "比率" in html
    readable = ex_text.readable_effects(res.effects, res.alpha, "zh")
    html = format_table(readable, language="zh", **ex_text.table_options(readable, "zh")).to_html()
    assert "置信区间" in html and "0.0683" in html and "相对提升（区间）" in html and "胜出概率" in html
    srm = ex_text.for_reader(res.srm.table.reset_index(), "en")
    assert set(srm["flagged"]) == {"no"}


def test_a_table_mixing_rates_and_means_writes_each_row_in_its_unit():
    df = three_arm_table().assign(revenue=lambda d: d["converted"] * 40.0)
    res = ex.analyse(df, ex.ExperimentSpec("variant", "control", binary_metrics=["converted"],
                                           continuous_metrics=["revenue"]))
    power = ex_text.for_reader(res.power, "en").set_index(["arm", "metric"])
    assert power.loc[("offer_a", "converted"), "mde_abs"].endswith(" pp")
    assert power.loc[("offer_a", "converted"), "control_mean"] == "10.0%"
    assert power.loc[("offer_a", "revenue"), "control_mean"] == "4"
    html = format_table(ex_text.for_reader(res.power, "en"), **ex_text.table_options(res.power, "en")).to_html()
    assert "10.0%" in html and " pp" in html and "Minimum detectable difference" in html
    cuped = ex_text.readable_cuped(pd.DataFrame({"arm": ["a"], "metric": ["m"], "kind": ["binary"], "diff": [0.01],
                                            "ci_low": [0.0], "ci_high": [0.02], "p_value": [0.04],
                                            "variance_reduction": [0.1], "unadjusted_ci_width": [0.025],
                                            "theta": [0.000383]}))
    assert cuped.loc[0, "theta"] == "0.000383"   # not rounded to 0.000


def test_while_outcome_windows_are_open_the_decision_waits_everywhere_and_never_advises_a_rollout():
    complete = ex.analyse(three_arm_table(), ex.ExperimentSpec("variant", "control", None, ["converted"]),
                          correction="none")
    assert complete.decision().winner == "offer_a"   # the same figures, every window closed: a rollout
    res = ex.analyse(three_arm_table(), ex.ExperimentSpec("variant", "control", None, ["converted"],
                                                          outcomes_complete="2025-12-26"), correction="none")
    dec = res.decision()
    assert (dec.winner, dec.code, dec.waiting_until) == (None, "wait", "2025-12-26")
    wait = "Wait: outcomes complete on 2025-12-26; until then the figures are interim and nothing is rolled out."
    assert ex_text.decision_sentence(res, "en") == wait
    assert ex_text.decision_sentence(res, "zh").startswith("等待：结果将于 2025-12-26 完整")
    nxt = "Next: wait; rerun this report after 2025-12-26, when every outcome window has closed. Do not roll out before then."
    assert ex_text.next_step(res) == nxt
    summary = ex_text.decision_summary(res).split("\n\n")
    assert summary[0].startswith("**Wait: outcomes complete on 2025-12-26.**") and summary[-1] == nxt
    assert not any("roll out offer_a" in line for line in summary)
    bullets = unescape("\n".join(narrative.ab_bullets(res, "en")))
    assert wait in bullets.splitlines()[0] and f"**{nxt}**" in bullets and "roll out offer_a" not in bullets
    figures = ex.headline_figures(res)
    assert (figures["winner"], figures["decision_code"], figures["outcomes_complete"]) == ("none", "wait", "2025-12-26")


def test_a_month_before_the_campaign_starts_says_so_in_one_line():
    note = "The campaign in assignments.csv starts on 2025-11-03, after this period ends (2025-10-31): nothing to evaluate yet."
    assert narrative.ab_bullets(None, "en", no_result=note) == [note]
    assert narrative.ab_bullets(None, "zh") == ["本期没有评估任何实验。"]


def test_power_advice_out_of_reach_of_the_customer_base_gives_the_smallest_detectable_effect_instead():
    # 6,000 users tested, a 5% target lift on a 10% rate needs ~58,000 per arm; the base has 7,500 customers
    spec = ex.ExperimentSpec("variant", "control", binary_metrics=["converted"], eligible_users=7_500)
    res = ex.analyse(three_arm_table(), spec)   # Holm: no winner
    power = res.power.set_index("arm")
    assert (power["eligible_per_arm"] == 2_500).all()
    mde = ex.mde_binary(0.1, 2_500, 2_500)   # the control rate, at the customer base split over three arms
    assert power.loc["offer_a", "mde_abs_eligible"] == pytest.approx(mde)
    assert power.loc["offer_a", "mde_relative_eligible"] == pytest.approx(mde / 0.1)
    need = int(power["n_per_arm_for_target"].max())
    assert need > 2_500
    reach = ex_text.reach_sentence(res)
    assert reach == (f"A lift of 5.0% is not detectable with this customer base: it needs {need:,} users per arm, and "
                     f"the 7,500 eligible customers give 2,500 per arm. The smallest effect detectable with all of "
                     f"them is {mde * 100:.2f} pp ({mde / 0.1:.0%}).")
    step = ex_text.next_step(res)
    assert step.startswith("Next: do not roll out. A lift of 5.0% is not detectable") and "sample size" not in step
    assert "rerun with" not in step and "重新实验只能检测" in ex_text.next_step(res, "zh")


def test_the_smallest_detectable_revenue_effect_with_the_customer_base_uses_both_arms_sample_variances():
    rng = np.random.default_rng(5)
    table = pd.DataFrame({"variant": ["control"] * 300 + ["offer_a"] * 300,
                          "revenue": np.r_[rng.gamma(2.0, 10.0, 300), rng.gamma(2.0, 12.0, 300)]})
    spec = ex.ExperimentSpec("variant", "control", continuous_metrics=["revenue"], eligible_users=4_000)
    row = ex.analyse(table, spec).power.set_index("arm").loc["offer_a"]
    y = table.groupby("variant")["revenue"]
    sd = np.sqrt((y.get_group("offer_a").var(ddof=1) + y.get_group("control").var(ddof=1)) / 2)
    assert row["eligible_per_arm"] == 2_000
    assert row["mde_abs_eligible"] == pytest.approx(ex.mde_continuous(sd, 2_000, 2_000))
    assert row["mde_relative_eligible"] == pytest.approx(row["mde_abs_eligible"] / y.get_group("control").mean())


def test_power_advice_within_reach_names_the_users_per_arm_to_rerun_with():
    spec = ex.ExperimentSpec("variant", "control", binary_metrics=["converted"], eligible_users=500_000)
    res = ex.analyse(three_arm_table(), spec)
    need = int(res.power["n_per_arm_for_target"].max())
    assert ex_text.next_step(res) == (f"Next: do not roll out; if the effect matters, rerun with {need:,} users per "
                                      "arm, which this customer base allows.")
    assert ex_text.reach_sentence(res).startswith("With 500,000 eligible customers (166,666 per arm), a lift of 5.0%")
    unknown = ex.analyse(three_arm_table(), THREE)   # no customer base known (a per-user table): the planning table
    assert "eligible_per_arm" not in unknown.power and ex_text.reach_sentence(unknown) == ""
    assert ex_text.next_step(unknown).endswith("rerun with the sample size in the planning table.")

"""The A/B report's reader-facing words and numbers, exactly, in English and Chinese.

The results are written by hand (tables with round numbers), so every figure in the expected
sentences follows from the inputs by the formatting rules alone.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from customer_analytics.models import experiments as ex  # noqa: E402
from customer_analytics.report import formatting, markup  # noqa: E402
from customer_analytics.report.charts import color_for  # noqa: E402
from customer_analytics.report.formatting import fmt_change  # noqa: E402
from customer_analytics.report.plotting import experiments as ex_plots  # noqa: E402
from customer_analytics.report.text import experiments as ex_text  # noqa: E402

SPEC = ex.ExperimentSpec("variant", "control", binary_metrics=["converted"], continuous_metrics=["revenue"],
                         covariate="spend", segment_columns=["channel"])
ARMS = ["mail", "sms"]


def effect_row(arm, metric="converted", *, diff, lo, hi, p, p_adj, lift=0.2, lift_lo=0.05, lift_hi=0.35,
               chance=0.99, mean_c=0.10, n=1000, **extra) -> dict:
    kind = "binary" if metric == "converted" else "continuous"
    return {"metric": metric, "arm": arm, "kind": kind, "n_treatment": n, "n_control": n,
            "mean_treatment": mean_c + diff, "mean_control": mean_c, "diff": diff, "ci_low": lo, "ci_high": hi,
            "p_value": p, "lift": lift, "lift_ci_low": lift_lo, "lift_ci_high": lift_hi, "method": "test",
            "prob_beat_control": chance, "var_diff": 1e-4, "p_adjusted": p_adj, "significant": p_adj < 0.05,
            **extra}


def power_row(arm, metric="converted", mde=0.01, rel=0.1):
    return {"arm": arm, "metric": metric, "kind": "binary" if metric == "converted" else "continuous",
            "control_mean": 0.10, "n_treatment": 1000, "n_control": 1000, "mde_abs": mde, "mde_relative": rel,
            "target_lift": 0.05, "n_per_arm_for_target": 5000}


def seg_row(arm, segment, *, diff=0.0, p_adj=0.5, status="ok", metric="converted", n=(400, 400)):
    kind = "binary" if metric == "converted" else "continuous"
    return {"segment_column": "channel", "segment": segment, "arm": arm, "metric": metric, "kind": kind,
            "status": status, "n_treatment": n[0], "n_control": n[1], "diff": diff, "ci_low": diff - 0.01,
            "ci_high": diff + 0.01, "p_value": p_adj / 2, "p_adjusted": p_adj, "significant_adjusted": p_adj < 0.05}


def sizes(*warnings) -> pd.DataFrame:
    rows = [{"segment_column": "(all)", "segment": "(all)", "arm": a, "users": 1000, "warning": ""}
            for a in ["control", *ARMS]]
    rows += [{"segment_column": "channel", "segment": "web", "arm": "mail", "users": 5, "warning": w}
             for w in warnings]
    return pd.DataFrame(rows)


def srm(p=0.5) -> ex.SRMResult:
    return ex.SRMResult(pd.DataFrame({"observed": [1000, 1000, 1000]}, index=["control", *ARMS]), 1.39, p)


def result(effects, *, power_rows=None, segments=(), pairwise=(), roi=(), balance=(), size_table=None, srm_p=0.5,
           alpha=0.05, notes=(), **options) -> ex.ExperimentResult:
    effects = pd.DataFrame(effects)
    arms = sorted(effects["arm"].unique()) if len(effects) else []
    power_rows = power_rows if power_rows is not None else [power_row(a, m) for a in arms for m in SPEC.metrics]
    return ex.ExperimentResult(SPEC, srm(srm_p), pd.DataFrame(), pd.DataFrame(list(balance)),
                               size_table if size_table is not None else sizes(), effects, pd.DataFrame(),
                               pd.DataFrame(list(segments)), pd.DataFrame(power_rows), alpha, list(notes),
                               pd.DataFrame(list(pairwise)), pd.DataFrame(list(roi)), options)


OPTIONS = {"correction": "holm", "higher_is_better": True, "power": 0.8, "sequential": False}


# ------------------------------------------------------------------ numbers for a reader


def test_numbers_percentages_and_p_values_are_written_for_a_reader():
    # one formatter set for the whole report (report.formatting); page 04 composes from it
    assert [ex_text.amount(v) for v in (1.0, 1.5, 1234.567, 0.5, -0.0123, -2.0, np.nan, None, np.inf)] == \
        ["+1.00", "+1.50", "+1,234.57", "+0.5", "-0.0123", "-2.00", "–", "–", "∞"]
    assert [ex_text.amount(v, signed=False) for v in (1.0, 0.5, -0.5)] == ["1", "0.5", "-0.5"]
    assert [ex_text.amount(v, "£") for v in (4.2449, -0.33, 0.0)] == ["+£4.24", "-£0.33", "£0.00"]
    assert [fmt_change(v) for v in (0.1, 0.5, 0.0512, -0.25, 0.0999, np.nan, None)] == \
        ["+10%", "+50%", "+5.1%", "-25%", "+10.0%", "–", "–"]
    assert ex_text.p_text("adjusted p", 0.0658) == "adjusted p = 0.0658"
    assert ex_text.p_text("p", 1e-6) == "p < 0.001"
    assert ex_text.fmt_effect("binary", 0.0766) == "+7.66 pp"
    assert ex_text.fmt_effect("continuous", 1.25) == "+1.25"


def test_page_04_has_no_formatters_of_its_own():
    # the two disagreeing sets ("< 0.0001"/"n/a" against "<0.001"/"–") must not come back
    for name in ("fmt_p", "fmt_pct", "fmt_number", "md_money"):
        assert getattr(ex_text, name, None) in (None, getattr(formatting, name, None), getattr(markup, name, None))
    assert ex_text.p_text("p", float("nan")) == "p = –"


def test_an_effect_is_written_with_its_interval_in_pp_or_the_metrics_unit():
    assert ex_text.fmt_diff("binary", 0.0766, 0.0699, 0.0832) == "+7.66 pp (95% CI +6.99 to +8.32 pp)"
    assert ex_text.fmt_diff("continuous", 1.25, -0.5, 3.0) == "+1.25 (95% CI -0.5 to +3.00)"
    assert ex_text.fmt_diff("continuous", 1.25, -0.5, 3.0, alpha=0.1) == "+1.25 (90% CI -0.5 to +3.00)"
    assert ex_text.fmt_diff("binary", 0.0766, 0.0699, 0.0832, alpha=0.1, language="zh") == "+7.66 pp（90% 置信区间 +6.99 至 +8.32 pp）"
    assert ex_text.fmt_diff("continuous", 1.25, -0.5, 3.0, alpha=0.05, language="zh") == "+1.25（95% 置信区间 -0.5 至 +3.00）"
    assert ex_text.fmt_lift(0.72, 0.6, 0.84) == "+72% (95% CI +60% to +84%)"
    assert ex_text.fmt_lift(0.72, 0.05, 0.84, alpha=0.1, language="zh") == "+72%（90% 置信区间 +5.0% 至 +84%）"


# ------------------------------------------------------------------ the decision text


def winner_result(srm_p=0.5, roi=None, segments=None, **options) -> ex.ExperimentResult:
    """mail and sms both beat control on converted (always-valid p); sms by more, so sms wins."""
    seq = {"mail": (-0.004, 0.044, 0.03, 0.03), "sms": (0.005, 0.055, 0.002, 0.004)}
    effects = [
        effect_row("mail", diff=0.02, lo=0.005, hi=0.035, p=0.004, p_adj=0.008, chance=0.998,
                   **dict(zip(["seq_ci_low", "seq_ci_high", "seq_p_value", "seq_p_adjusted"], seq["mail"], strict=True))),
        effect_row("mail", "revenue", diff=-1.5, lo=-3.0, hi=0.0, p=0.05, p_adj=0.1, mean_c=20.0),
        effect_row("sms", diff=0.03, lo=0.015, hi=0.045, p=0.0001, p_adj=0.0002, lift=0.3, lift_lo=0.15,
                   lift_hi=0.45, chance=0.99996,
                   **dict(zip(["seq_ci_low", "seq_ci_high", "seq_p_value", "seq_p_adjusted"], seq["sms"], strict=True))),
        effect_row("sms", "revenue", diff=2.5, lo=1.0, hi=4.0, p=0.001, p_adj=0.002, mean_c=20.0),
    ]
    balance = [{"arm": "mail", "covariate": "spend", "smd": 0.15, "imbalanced": True},
               {"arm": "sms", "covariate": "spend", "smd": 0.01, "imbalanced": False},
               {"arm": "sms", "covariate": "visits", "smd": -0.2, "imbalanced": True}]
    pairwise = [{"arm": "mail", "versus": "sms", "metric": "converted", "kind": "binary", "diff": -0.01,
                 "ci_low": -0.018, "ci_high": -0.002, "p_value": 0.005, "p_adjusted": 0.01},
                {"arm": "mail", "versus": "sms", "metric": "revenue", "kind": "continuous", "diff": -4.0,
                 "ci_low": -6.0, "ci_high": -2.0, "p_value": 0.001, "p_adjusted": 0.001}]
    roi = roi if roi is not None else [{"arm": "mail", "n_treatment": 1000, "profit_per_user": 0.12, "profit_per_user_ci_low": -0.05,
            "profit_per_user_ci_high": 0.29, "total_profit": 120.0, "total_profit_ci_low": -50.0,
            "total_profit_ci_high": 290.0, "roi": 0.6, "roi_ci_low": -0.25, "roi_ci_high": 1.45},
           {"arm": "sms", "n_treatment": 12000, "profit_per_user": 0.5, "profit_per_user_ci_low": 0.1,
            "profit_per_user_ci_high": 0.9, "total_profit": 6000.0, "total_profit_ci_low": 1200.0,
            "total_profit_ci_high": 10800.0, "roi": np.nan, "roi_ci_low": np.nan, "roi_ci_high": np.nan}]
    segments = segments if segments is not None else [
        seg_row("mail", "app", diff=0.05, p_adj=0.02), seg_row("mail", "web", diff=-0.03, p_adj=0.01),
        seg_row("mail", "shop", diff=0.06, p_adj=0.3), seg_row("sms", "web", diff=0.04, p_adj=0.01),
        seg_row("sms", "web", diff=5.0, p_adj=0.001, metric="revenue"), seg_row("sms", "shop", diff=0.02, p_adj=0.04),
        *[{**seg_row("sms", "app", status="too small: skipped", n=(4, 6), metric=m), "diff": np.nan,
           "significant_adjusted": False} for m in SPEC.metrics],
        {**seg_row("mail", "mobile", status="too small: skipped", n=(9, 12)), "diff": np.nan,
         "significant_adjusted": False}]
    size_table = sizes("too small for the normal approximation", "too small: skipped",
                       "too small for the normal approximation")
    return result(effects, segments=segments, pairwise=pairwise, roi=roi, balance=balance, size_table=size_table,
                  srm_p=srm_p, **{**OPTIONS, "sequential": True, **options})


def no_winner_result() -> ex.ExperimentResult:
    """mail: p = 0.05, not below alpha; push: p = 0.04 but 0.05 after Bonferroni, under-powered; sms: worse."""
    effects = [effect_row("sms", diff=-0.02, lo=-0.032, hi=-0.008, p=0.005, p_adj=0.01, lift=-0.2, lift_lo=-0.32,
                          lift_hi=-0.08, chance=0.002),
               effect_row("mail", diff=0.015, lo=-0.001, hi=0.031, p=0.05, p_adj=0.1),
               effect_row("push", diff=0.004, lo=0.0002, hi=0.0078, p=0.04, p_adj=0.05)]
    power_rows = [power_row("mail", mde=0.015), power_row("push", mde=0.01, rel=0.1), power_row("sms", mde=0.03)]
    pairwise = [{"arm": "mail", "versus": "push", "metric": "converted", "kind": "binary", "diff": 0.011,
                 "ci_low": 0.0, "ci_high": 0.022, "p_value": 0.02, "p_adjusted": 0.05}]
    segments = [seg_row("mail", "web", diff=0.02, p_adj=0.2), seg_row("sms", "web", diff=-0.03, p_adj=0.01)]
    return result(effects, power_rows=power_rows, pairwise=pairwise, segments=segments,
                  **{**OPTIONS, "correction": "bonferroni", "power": 0.9})


def revenue_effects(mail=(0.5, 0.3, 0.5), sms=(1.0, 0.2, 0.4)) -> list[dict]:
    """Revenue (and converted) effects with (diff, p, adjusted p) per arm."""
    return [effect_row(arm, "revenue", diff=d, lo=d - 2.0, hi=d + 2.0, p=p, p_adj=q, lift=d / 20,
                       lift_lo=(d - 2.0) / 20, lift_hi=(d + 2.0) / 20, chance=0.6, mean_c=20.0)
            for arm, (d, p, q) in (("mail", mail), ("sms", sms))] + \
        [effect_row(arm, diff=0.001, lo=-0.01, hi=0.012, p=0.9, p_adj=0.9) for arm in ARMS]





WINNER_EN = [
    '**Winner on converted: sms**: +3.00 pp (95% CI +1.50 to +4.50 pp), relative lift +30% (95% CI +15% to +45%).',
    'Rule: An arm wins when its p-value (always-valid p-value of the confidence sequence, as sequential looks are on) for the primary metric, adjusted with the holm correction across the 2 arm(s) compared with control, is below 0.05; its effect makes the metric higher; and no sample-ratio mismatch is flagged.',
    'Pre-period imbalance in mail: spend, sms: visits (|SMD| > 0.1): prefer the CUPED-adjusted estimates.',
    'mail vs control: +2.00 pp (95% CI +0.50 to +3.50 pp), relative lift +20% (95% CI +5.0% to +35%); p = 0.004, adjusted p = 0.008; chance to beat control 99.8%. Always-valid: +2.00 pp (95% CI -0.40 to +4.40 pp) (confidence sequence), adjusted p = 0.03.',
    'sms vs control: +3.00 pp (95% CI +1.50 to +4.50 pp), relative lift +30% (95% CI +15% to +45%); p < 0.001, adjusted p < 0.001; chance to beat control 100.0%. Always-valid: +3.00 pp (95% CI +0.50 to +5.50 pp) (confidence sequence), adjusted p = 0.004.',
    'mail vs sms: -1.00 pp (95% CI -1.80 to -0.20 pp), adjusted p = 0.01: a significant difference between the two treatments.',
    'mail: incremental profit +0.12 per treated user (95% CI -0.05 to +0.29), +120.00 in total over 1,000 users (-50.00 to +290.00); ROI +60% (95% CI -25% to +145%).',
    'sms: incremental profit +0.50 per treated user (95% CI +0.10 to +0.90), +6,000.00 in total over 12,000 users (+1,200.00 to +10,800.00); no extra cost, so no ROI.',
    'Works in (significant after the per-segment correction): mail in channel = app (+5.00 pp (95% CI +4.00 to +6.00 pp), adjusted p = 0.02); sms in channel = web (+4.00 pp (95% CI +3.00 to +5.00 pp), adjusted p = 0.01); sms in channel = shop (+2.00 pp (95% CI +1.00 to +3.00 pp), adjusted p = 0.04).',
    'Too small, skipped: channel = app for sms (4 vs 6 users); channel = mobile for mail (9 vs 12 users).',
    '2 arm/segment group(s) are too small for the normal approximation; treat their results as indicative.',
    'Next: roll out sms to the users it was tested on; the effect is proven in channel = web, channel = shop. Keep a hold-out to confirm. It pays at these costs.',
]
WINNER_ZH = [
    '**converted 上的胜出组：sms**：+3.00 pp（95% 置信区间 +1.50 至 +4.50 pp），相对提升 +30%（95% 置信区间 +15% 至 +45%）。',
    '规则：当一个实验组在主要指标上的 p 值（因开启了序贯查看，使用置信序列的始终有效 p 值）经holm 法对与对照组比较的 2 个实验组校正后低于 0.05、其效果使指标升高、且未发现样本比例失衡时，该组胜出。',
    'mail: spend, sms: visits 存在实验前不均衡（|SMD| > 0.1）：请优先采用 CUPED 校正后的估计。',
    'mail 对比对照组：+2.00 pp（95% 置信区间 +0.50 至 +3.50 pp），相对提升 +20%（95% 置信区间 +5.0% 至 +35%）；p = 0.004，校正后 p = 0.008；胜过对照组的概率 99.8%。 始终有效：+2.00 pp（95% 置信区间 -0.40 至 +4.40 pp）（置信序列），校正后 p = 0.03。',
    'sms 对比对照组：+3.00 pp（95% 置信区间 +1.50 至 +4.50 pp），相对提升 +30%（95% 置信区间 +15% 至 +45%）；p < 0.001，校正后 p < 0.001；胜过对照组的概率 100.0%。 始终有效：+3.00 pp（95% 置信区间 +0.50 至 +5.50 pp）（置信序列），校正后 p = 0.004。',
    'mail 对比 sms：-1.00 pp（95% 置信区间 -1.80 至 -0.20 pp），校正后 p = 0.01：两个实验组之间差异显著。',
    'mail：每个受试用户的增量利润 +0.12（95% 置信区间 -0.05 至 +0.29），1,000 个用户共计 +120.00（-50.00 至 +290.00）；投资回报率 +60%（95% 置信区间 -25% 至 +145%）。',
    'sms：每个受试用户的增量利润 +0.50（95% 置信区间 +0.10 至 +0.90），12,000 个用户共计 +6,000.00（+1,200.00 至 +10,800.00）；没有额外成本，因此没有投资回报率。',
    '有效的细分（经细分层面校正后显著）：mail 在 channel = app 中（+5.00 pp（95% 置信区间 +4.00 至 +6.00 pp），校正后 p = 0.02）；sms 在 channel = web 中（+4.00 pp（95% 置信区间 +3.00 至 +5.00 pp），校正后 p = 0.01）；sms 在 channel = shop 中（+2.00 pp（95% 置信区间 +1.00 至 +3.00 pp），校正后 p = 0.04）。',
    '样本太少，已跳过：sms 在 channel = app 中（4 对 6 个用户）；mail 在 channel = mobile 中（9 对 12 个用户）。',
    '有 2 个组/细分的样本太少，正态近似不可靠；其结果仅供参考。',
    '下一步：将 sms 推广到参与测试的同类用户；效果在 channel = web, channel = shop 中得到证实。保留一个对照组以便确认。 在当前成本下是盈利的。',
]
NO_WINNER_EN = [
    '**No arm is a proven winner on converted.** sms moved converted the wrong way (adjusted p = 0.01). push has p = 0.04, which becomes 0.05 after the bonferroni correction for 3 arms compared with control: not significant. The experiment is under-powered for the effects seen: with these sample sizes only effects of about 1.00 pp (10%) or more would be detected reliably (MDE at 90% power), so this is inconclusive, not evidence of no effect.',
    'Rule: An arm wins when its p-value for the primary metric, adjusted with the bonferroni correction across the 3 arm(s) compared with control, is below 0.05; its effect makes the metric higher; and no sample-ratio mismatch is flagged.',
    'sms vs control: -2.00 pp (95% CI -3.20 to -0.80 pp), relative lift -20% (95% CI -32% to -8.0%); p = 0.005, adjusted p = 0.01; chance to beat control 0.2%.',
    'mail vs control: +1.50 pp (95% CI -0.10 to +3.10 pp), relative lift +20% (95% CI +5.0% to +35%); p = 0.05, adjusted p = 0.1; chance to beat control 99.0%.',
    'push vs control: +0.40 pp (95% CI +0.02 to +0.78 pp), relative lift +20% (95% CI +5.0% to +35%); p = 0.04, adjusted p = 0.05; chance to beat control 99.0%.',
    'mail vs push: +1.10 pp (95% CI +0.00 to +2.20 pp), adjusted p = 0.05: no significant difference between the two treatments.',
    'No segment shows a significant effect after the per-segment correction.',
    'Next: do not roll out; if the effect matters, rerun with the sample size in the planning table.',
]
NO_WINNER_ZH = [
    '**在 converted 上没有经过证实的胜出组。** sms 使 converted 朝不利方向变化（校正后 p = 0.01）。 push 的 p = 0.04，经 bonferroni 法对与对照组比较的 3 个实验组校正后变为 0.05：不显著。 对观察到的效果而言，实验的检验效能不足：在当前样本量下，只有约 1.00 pp（10%）或更大的效果才能被可靠检测到（90% 检验效能下的 MDE），因此结论是尚无定论，而不是没有效果的证据。',
    '规则：当一个实验组在主要指标上的 p 值经bonferroni 法对与对照组比较的 3 个实验组校正后低于 0.05、其效果使指标升高、且未发现样本比例失衡时，该组胜出。',
    'sms 对比对照组：-2.00 pp（95% 置信区间 -3.20 至 -0.80 pp），相对提升 -20%（95% 置信区间 -32% 至 -8.0%）；p = 0.005，校正后 p = 0.01；胜过对照组的概率 0.2%。',
    'mail 对比对照组：+1.50 pp（95% 置信区间 -0.10 至 +3.10 pp），相对提升 +20%（95% 置信区间 +5.0% 至 +35%）；p = 0.05，校正后 p = 0.1；胜过对照组的概率 99.0%。',
    'push 对比对照组：+0.40 pp（95% 置信区间 +0.02 至 +0.78 pp），相对提升 +20%（95% 置信区间 +5.0% 至 +35%）；p = 0.04，校正后 p = 0.05；胜过对照组的概率 99.0%。',
    'mail 对比 push：+1.10 pp（95% 置信区间 +0.00 至 +2.20 pp），校正后 p = 0.05：两个实验组之间差异不显著。',
    '经细分层面校正后，没有任何细分显示显著效果。',
    '下一步：不要推广；如果这个效果重要，请按规划表中的样本量重新实验。',
]


def test_the_winner_summary_names_the_largest_proven_effect_and_every_section():
    res = winner_result()
    assert ex_text.decision_summary(res).split("\n\n") == WINNER_EN
    assert ex_text.decision_summary(res, language="zh").split("\n\n") == WINNER_ZH
    dec = ex.decide(res)
    assert (dec.primary, dec.winner, dec.reasons) == ("converted", "sms", [])
    assert ex_text.decision_rule(res) == WINNER_EN[1].removeprefix("Rule: ")
    assert list(dec.candidates["arm"]) == ARMS and list(dec.candidates["diff"]) == [0.02, 0.03]
    assert ex_text.decision_text(dec) == "Winner on converted: sms."
    assert ex_text.decision_text(res.decision(), "zh") == "converted 上的胜出组：sms。"
    assert ex_text.decision_sentence(res) == "sms wins on converted: +3.00 pp against control (+30% relative lift)."
    assert ex_text.decision_sentence(res, "zh") == "sms 在 converted 上胜出：相对对照组 +3.00 pp（相对提升 +30%）。"
    assert ex_text.next_step(res) == WINNER_EN[-1] and ex_text.next_step(res, "zh") == WINNER_ZH[-1]
    figures = ex.headline_figures(res)
    assert np.isnan(figures.pop("winner_roi"))
    assert figures == {"winner": "sms", "decision_code": "roll_out", "srm_flag": False, "primary_metric": "converted", "winner_lift": 0.3,
                       "winner_p_adjusted": 0.0002}


def test_a_sample_ratio_mismatch_stops_the_decision_whatever_the_effects():
    res = winner_result(srm_p=0.0001)
    stop = "**Stop: the arms are not in the planned proportions (SRM p < 0.001).** The assignment is broken; " \
        "the numbers below are not trustworthy."
    reason = "the arms are not in the planned proportions (SRM p < 0.001), so the assignment is broken and no " \
        "result can be trusted."
    assert ex_text.decision_summary(res).split("\n\n") == \
        [stop, f"**No arm is a proven winner on converted.** {reason}", *WINNER_EN[1:-1],
         "Next: fix the assignment and rerun."]
    zh_reason = "各组人数不符合计划比例（SRM p < 0.001），分组有问题，任何结果都不可信。"
    assert ex_text.decision_summary(res, language="zh").split("\n\n") == \
        ["**停止：各组人数不符合计划比例（SRM p < 0.001）。** 分组有问题；下面的数字不可信。",
         f"**在 converted 上没有经过证实的胜出组。** {zh_reason}", *WINNER_ZH[1:-1], "下一步：修正分组后重新运行实验。"]
    dec = ex.decide(res)
    assert (dec.winner, ex_text.decision_reasons(dec)) == (None, [reason])
    assert ex_text.decision_text(dec) == f"No arm is a proven winner on converted: {reason}"
    assert ex_text.decision_text(ex.decide(res), "zh") == f"在 converted 上没有经过证实的胜出组：{zh_reason}"
    assert ex_text.decision_sentence(res) == "Stop: the assignment is broken (sample-ratio mismatch), so no result can be trusted."
    assert ex_text.decision_sentence(res, "zh") == "停止：分组有问题（样本比例失衡），任何结果都不可信。"
    assert ex_text.next_step(res) == "Next: fix the assignment and rerun."
    assert ex.headline_figures(res) == {"winner": "none", "decision_code": "stop", "srm_flag": True, "primary_metric": "converted"}


def test_without_a_winner_each_reason_is_given_and_the_advice_is_not_to_roll_out():
    res = no_winner_result()
    assert ex_text.decision_summary(res).split("\n\n") == NO_WINNER_EN
    assert ex_text.decision_summary(res, language="zh").split("\n\n") == NO_WINNER_ZH
    dec = ex.decide(res)
    assert dec.winner is None and len(dec.reasons) == 3
    assert ex_text.decision_text(dec) == "No arm is a proven winner on converted: " + NO_WINNER_EN[0].split(".** ", 1)[1]
    assert ex_text.decision_text(ex.decide(res), "zh") == \
        "在 converted 上没有经过证实的胜出组：" + NO_WINNER_ZH[0].split("。** ", 1)[1]
    assert ex_text.decision_sentence(res) == "No arm is a proven winner on converted, so nothing is rolled out yet."
    assert ex_text.decision_sentence(res, "zh") == "在 converted 上没有经过证实的胜出组，因此暂不推广。"
    assert ex_text.next_step(res) == NO_WINNER_EN[-1]
    assert ex.headline_figures(res) == {"winner": "none", "decision_code": "no_winner", "srm_flag": False, "primary_metric": "converted"}


def test_when_lower_is_better_the_largest_fall_wins():
    res = result(revenue_effects(mail=(-3.0, 0.01, 0.02), sms=(-5.0, 0.02, 0.03)),
                 **{**OPTIONS, "higher_is_better": False, "primary_metric": "revenue"})
    dec = ex.decide(res)
    assert (dec.primary, dec.winner, dec.reasons) == ("revenue", "sms", [])
    assert ex_text.decision_rule(res) == ("An arm wins when its p-value for the primary metric, adjusted with the holm correction "
                        "across the 2 arm(s) compared with control, is below 0.05; its effect makes the metric "
                        "lower; and no sample-ratio mismatch is flagged.")
    assert ex_text.decision_rule(res, "zh") == ("当一个实验组在主要指标上的 p 值经holm 法对与对照组比较的 2 个实验组校正后低于 0.05、"
                                          "其效果使指标降低、且未发现样本比例失衡时，该组胜出。")
    assert ex_text.decision_sentence(res) == "sms wins on revenue: -5.00 against control (-25% relative lift)."
    assert ex.headline_figures(res) == {"winner": "sms", "decision_code": "roll_out", "srm_flag": False, "primary_metric": "revenue",
                                        "winner_lift": -0.25, "winner_p_adjusted": 0.03}
    # the same table judged on converted (no arm significant) and on revenue when higher were better
    assert ex.decide(res, "converted").winner is None
    assert ex.decide(result(res.effects, **{**OPTIONS, "primary_metric": "revenue"})).winner is None


def test_a_result_without_recorded_options_uses_the_default_rule():
    """Holm, higher is better, 80% power, fixed-horizon p-values."""
    power_rows = [power_row("mail", "revenue", mde=2.5, rel=0.15), power_row("sms", "revenue", mde=np.nan,
                                                                             rel=np.nan)]
    res = result(revenue_effects(mail=(0.5, 0.03, 0.06)), power_rows=power_rows + [power_row(a) for a in ARMS])
    assert res.options == {} and res.primary == "converted"
    assert ex_text.decision_rule(res) == ("An arm wins when its p-value for the primary metric, adjusted with the holm "
                                     "correction across the 2 arm(s) compared with control, is below 0.05; its "
                                     "effect makes the metric higher; and no sample-ratio mismatch is flagged.")
    under = ("The experiment is under-powered for the effects seen: with these sample sizes only effects of about "
             "2.50 (15%) or more would be detected reliably (MDE at 80% power), so this is inconclusive, not "
             "evidence of no effect.")
    adjusted = ("mail has p = 0.03, which becomes 0.06 after the holm correction for 2 arms compared with control: "
                "not significant.")
    assert ex_text.decision_text(ex.decide(res, "revenue")) == f"No arm is a proven winner on revenue: {adjusted} {under}"
    assert ex_text.decision_summary(res, "revenue").startswith(f"**No arm is a proven winner on revenue.** {adjusted}")
    assert ex_text.decision_text(ex.decide(res, "revenue"), "zh") == (
        "在 revenue 上没有经过证实的胜出组：mail 的 p = 0.03，经 holm 法对与对照组比较的 2 个实验组校正后变为 0.06：不显著。 "
        "对观察到的效果而言，实验的检验效能不足：在当前样本量下，只有约 2.50（15%）或更大的效果才能被可靠检测到"
        "（80% 检验效能下的 MDE），因此结论是尚无定论，而不是没有效果的证据。")
    assert ex_text.next_step(res, primary="revenue") == \
        "Next: do not roll out; if the effect matters, rerun with the sample size in the planning table."


def test_an_arm_whose_effect_no_sample_could_detect_makes_the_result_inconclusive():
    res = result([effect_row("mail", diff=0.001, lo=-0.01, hi=0.012, p=0.9, p_adj=0.9)],
                 power_rows=[power_row("mail", mde=np.nan, rel=np.nan)], **OPTIONS)
    assert ex_text.decision_text(ex.decide(res)) == (
        "No arm is a proven winner on converted: With these sample sizes no effect on converted that the metric "
        "leaves room for would be detected reliably, so this is inconclusive, not evidence of no effect.")
    assert ex_text.decision_text(ex.decide(res), "zh") == (
        "在 converted 上没有经过证实的胜出组：在当前样本量下，converted 在其可能的取值范围内的任何效果都无法被可靠检测到，"
        "因此结论是尚无定论，而不是没有效果的证据。")


def test_a_null_result_from_a_large_enough_experiment_says_so():
    # |difference| 0.015 reaches the MDE of 0.015 exactly: the experiment could have seen it
    res = result([effect_row("mail", diff=0.015, lo=-0.01, hi=0.04, p=0.3, p_adj=0.3)],
                 power_rows=[power_row("mail", mde=0.015)], **OPTIONS)
    null = ("no arm's difference from control is significant, and the experiment was large enough to detect "
            "effects of the planned size.")
    assert ex_text.decision_text(ex.decide(res)) == f"No arm is a proven winner on converted: {null}"
    assert ex_text.decision_text(ex.decide(res), "zh") == \
        "在 converted 上没有经过证实的胜出组：没有任何实验组与对照组的差异显著，且实验规模足以检测到计划大小的效果。"
    empty = result(pd.DataFrame(columns=res.effects.columns), power_rows=[power_row("mail")])
    assert ex.treatment_arms_of(empty) == []
    assert ex_text.decision_text(ex.decide(empty)) == f"No arm is a proven winner on converted: {null}"
    assert "across the 0 arm(s)" in ex_text.decision_rule(empty)


def test_a_winner_that_loses_money_is_not_rolled_out():
    def roi(lo, hi):
        return [{"arm": "sms", "n_treatment": 1000, "profit_per_user": (lo + hi) / 2, "profit_per_user_ci_low": lo,
                 "profit_per_user_ci_high": hi, "total_profit": (lo + hi) * 500, "total_profit_ci_low": lo * 1000,
                 "total_profit_ci_high": hi * 1000, "roi": -0.5, "roi_ci_low": -0.9, "roi_ci_high": -0.1}]

    losing = winner_result(roi=roi(-1.5, -0.5), segments=[])
    assert ex_text.next_step(losing) == \
        "Next: do not roll out sms at these costs: it raises converted but loses money (-1.00 per treated user)."
    assert ex_text.next_step(losing, "zh") == "下一步：在当前成本下不要推广 sms：它提升了 converted，但会亏钱（每个受试用户 -1.00）。"
    unclear = winner_result(roi=roi(-0.5, 1.5), segments=[])
    assert ex_text.next_step(unclear) == (
        "Next: roll out sms to the users it was tested on; no single segment stands out after the per-segment "
        "correction. Keep a hold-out to confirm. Whether it pays at these costs is not yet clear (the profit "
        "interval includes 0).")
    # without segments there is neither a claims line nor a skipped line
    assert ex_text.decision_summary(unclear).split("\n\n")[-4:] == [
        WINNER_EN[5],
        "sms: incremental profit +0.50 per treated user (95% CI -0.50 to +1.50), +500.00 in total over 1,000 users "
        "(-500.00 to +1,500.00); ROI -50% (95% CI -90% to -10%).",
        WINNER_EN[-2], ex_text.next_step(unclear)]
    assert ex_text.next_step(unclear, "zh") == ("下一步：将 sms 推广到参与测试的同类用户；经细分层面校正后没有单个细分特别突出。"
                                          "保留一个对照组以便确认。 在当前成本下是否盈利尚不明确（利润区间包含 0）。")
    bare = winner_result(roi=[], segments=[])
    assert ex_text.next_step(bare) == ("Next: roll out sms to the users it was tested on; no single segment stands out "
                                  "after the per-segment correction. Keep a hold-out to confirm.")
    assert ex.headline_figures(bare) == {"winner": "sms", "decision_code": "roll_out", "srm_flag": False, "primary_metric": "converted",
                                         "winner_lift": 0.3, "winner_p_adjusted": 0.0002}


def test_with_sequential_looks_the_always_valid_p_value_decides():
    row = effect_row("mail", diff=0.02, lo=0.005, hi=0.035, p=0.005, p_adj=0.01, seq_ci_low=-0.002,
                     seq_ci_high=0.042, seq_p_value=0.04, seq_p_adjusted=0.08)
    power_rows = [power_row("mail", mde=0.015)]
    looked = result([row], power_rows=power_rows, **{**OPTIONS, "sequential": True})
    assert ex_text.decision_text(ex.decide(looked)) == (
        "No arm is a proven winner on converted: mail has p = 0.04, which becomes 0.08 after the holm correction "
        "for 1 arms compared with control: not significant.")
    assert ex_text.decision_rule(looked, "zh") == ("当一个实验组在主要指标上的 p 值（因开启了序贯查看，使用置信序列的始终有效 p 值）"
                                             "经holm 法对与对照组比较的 1 个实验组校正后低于 0.05、其效果使指标升高、"
                                             "且未发现样本比例失衡时，该组胜出。")
    fixed = result([row], power_rows=power_rows, **OPTIONS)
    assert ex_text.decision_text(ex.decide(fixed)) == "Winner on converted: mail."
    # the always-valid columns are shown only when sequential looks are on
    assert ex_text.decision_summary(fixed).split("\n\n")[2] == (
        "mail vs control: +2.00 pp (95% CI +0.50 to +3.50 pp), relative lift +20% (95% CI +5.0% to +35%); "
        "p = 0.005, adjusted p = 0.01; chance to beat control 99.0%.")


def test_without_correction_the_rule_says_so():
    res = result([effect_row("mail", diff=0.02, lo=0.005, hi=0.035, p=0.01, p_adj=0.01)],
                 **{**OPTIONS, "correction": "none"})
    assert ex_text.decision_rule(res) == ("An arm wins when its p-value for the primary metric, adjusted with no "
                                     "correction, is below 0.05; its effect makes the metric higher; and no "
                                     "sample-ratio mismatch is flagged.")
    assert ex_text.decision_rule(res, "zh") == ("当一个实验组在主要指标上的 p 值经不做校正后低于 0.05、其效果使指标升高、"
                                          "且未发现样本比例失衡时，该组胜出。")
    assert ex_text.decision_rule(result(res.effects, alpha=0.1, **OPTIONS)).endswith(
        "compared with control, is below 0.1; its effect makes the metric higher; and no sample-ratio mismatch "
        "is flagged.")


def test_an_adjusted_p_value_at_alpha_is_not_significant_either_way():
    worse = result([effect_row("mail", diff=-0.02, lo=-0.04, hi=0.0, p=0.05, p_adj=0.05, lift=-0.2)],
                   power_rows=[power_row("mail", mde=0.015)], **OPTIONS)
    assert ex_text.decision_reasons(ex.decide(worse)) == [
        "no arm's difference from control is significant, and the experiment was large enough to detect effects "
        "of the planned size."]
    better = result([effect_row("mail", diff=0.02, lo=0.0, hi=0.04, p=0.05, p_adj=0.05)],
                    power_rows=[power_row("mail", mde=0.015)], **OPTIONS)
    assert ex.decide(better).winner is None


def test_the_money_verdict_at_the_edges_of_the_profit_interval():
    def roi(lo, hi):
        return [{"arm": "sms", "n_treatment": 1000, "profit_per_user": (lo + hi) / 2, "profit_per_user_ci_low": lo,
                 "profit_per_user_ci_high": hi, "total_profit": (lo + hi) * 500, "total_profit_ci_low": lo * 1000,
                 "total_profit_ci_high": hi * 1000, "roi": 0.5, "roi_ci_low": 0.0, "roi_ci_high": 1.0}]

    head = "Next: roll out sms to the users it was tested on; no single segment stands out after the per-segment " \
        "correction. Keep a hold-out to confirm."
    assert ex_text.next_step(winner_result(roi=roi(-1.0, 0.0), segments=[])) == \
        head + " Whether it pays at these costs is not yet clear (the profit interval includes 0)."
    assert ex_text.next_step(winner_result(roi=roi(0.0, 1.0), segments=[])) == \
        head + " Whether it pays at these costs is not yet clear (the profit interval includes 0)."
    assert ex_text.next_step(winner_result(roi=roi(0.01, 1.0), segments=[])) == head + " It pays at these costs."


def test_the_one_line_decision_and_headline_figures_follow_the_metric_asked_for():
    res = result(revenue_effects(mail=(-3.0, 0.01, 0.02), sms=(-5.0, 0.02, 0.03)),
                 **{**OPTIONS, "higher_is_better": False, "primary_metric": "revenue"})
    assert ex_text.decision_sentence(res, primary="converted") == \
        "No arm is a proven winner on converted, so nothing is rolled out yet."
    assert ex_text.next_step(res, primary="converted") == \
        "Next: do not roll out; if the effect matters, rerun with the sample size in the planning table."
    assert ex.headline_figures(res, "converted") == {"winner": "none", "decision_code": "no_winner", "srm_flag": False,
                                                     "primary_metric": "converted"}
    assert ex_text.decision_sentence(None) == "No experiment was evaluated for this period."
    assert ex_text.decision_sentence(None, "zh") == "本期没有评估任何实验。"
    assert ex.headline_figures(None) == {"winner": "n/a", "srm_flag": None}


def test_the_day_the_outcomes_are_complete_is_the_day_after_the_last_window_closes():
    exposures = pd.Series(pd.to_datetime(["2025-12-01", "2025-12-29"]))
    # a 28-day window from 29 December covers 29 Dec to 25 Jan: complete on 26 January
    assert ex.outcomes_complete_on(exposures, 28, "2025-12-31") == "2026-01-26"
    assert ex.outcomes_complete_on(exposures, 28, "2026-01-25") is None   # the last window closed within the period
    assert ex.outcomes_complete_on(exposures, 28, "2026-01-24") == "2026-01-26"
    assert ex.outcomes_complete_on(exposures, 28, None) is None


def test_segment_claims_list_the_cells_where_an_arm_is_proven_to_work():
    res = winner_result()
    claims = ex.segment_claims(res)
    assert list(zip(claims["arm"], claims["segment"], strict=True)) == [("mail", "app"), ("sms", "web"), ("sms", "shop")]
    assert list(ex.segment_claims(res, arm="sms")["segment"]) == ["web", "shop"]
    assert list(ex.segment_claims(res, "revenue")["segment"]) == ["web"]
    assert ex.segment_claims(result(res.effects, **OPTIONS)).empty
    # a result without recorded options counts a rise as the claim
    assert list(ex.segment_claims(result(res.effects, segments=res.segments.to_dict("records")))["segment"]) == \
        ["app", "web", "shop"]
    # when lower is better, a fall is the claim
    lower = winner_result(higher_is_better=False)
    assert list(zip(ex.segment_claims(lower)["arm"], ex.segment_claims(lower)["segment"], strict=True)) == \
        [("mail", "web")]


# ------------------------------------------------------------------ tables for a reader


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_the_effects_table_reads_rates_in_percent_and_effects_with_their_intervals():
    out = ex_text.readable_effects(winner_result().effects)
    pd.testing.assert_frame_equal(out, frame(
        arm=["mail", "mail", "sms", "sms"], metric=["converted", "revenue", "converted", "revenue"],
        treatment=["12.00%", "18.50", "13.00%", "22.50"], comparison=["10.00%", "20", "10.00%", "20"],
        effect=["+2.00 pp (95% CI +0.50 to +3.50 pp)", "-1.50 (95% CI -3.00 to 0)",
                "+3.00 pp (95% CI +1.50 to +4.50 pp)", "+2.50 (95% CI +1.00 to +4.00)"],
        **{"relative lift": ["+20% (95% CI +5.0% to +35%)", "+20% (95% CI +5.0% to +35%)",
                             "+30% (95% CI +15% to +45%)", "+20% (95% CI +5.0% to +35%)"],
           "p": [0.004, 0.05, 0.0001, 0.001], "adjusted p": [0.008, 0.1, 0.0002, 0.002],
           "chance to beat": [0.998, 0.99, 0.99996, 0.99]}))


def test_the_pairwise_table_names_both_arms_in_the_report_language():
    pair = pd.DataFrame([
        {"arm": "mail", "versus": "sms", "metric": "converted", "kind": "binary", "mean_treatment": 0.12,
         "mean_versus": 0.13, "diff": -0.01, "ci_low": -0.018, "ci_high": -0.002, "lift": -0.077,
         "lift_ci_low": -0.14, "lift_ci_high": -0.015, "p_value": 0.005, "p_adjusted": 0.01,
         "prob_beat_versus": 0.003},
        {"arm": "mail", "versus": "sms", "metric": "revenue", "kind": "continuous", "mean_treatment": 0.5,
         "mean_versus": 4.5, "diff": -4.0, "ci_low": -6.0, "ci_high": -2.0, "lift": -0.889, "lift_ci_low": -1.3,
         "lift_ci_high": -0.44, "p_value": 0.001, "p_adjusted": 0.001, "prob_beat_versus": 0.0001}])
    pd.testing.assert_frame_equal(ex_text.readable_effects(pair, 0.1, "zh"), frame(
        arm=["mail 对比 sms", "mail 对比 sms"], metric=["converted", "revenue"], treatment=["12.00%", "0.5"],
        comparison=["13.00%", "4.50"],
        effect=["-1.00 pp（90% 置信区间 -1.80 至 -0.20 pp）", "-4.00（90% 置信区间 -6.00 至 -2.00）"],
        **{"relative lift": ["-7.7%（90% 置信区间 -14% 至 -1.5%）", "-89%（90% 置信区间 -130% 至 -44%）"],
           "p": [0.005, 0.001], "adjusted p": [0.01, 0.001], "chance to beat": [0.003, 0.0001]}))
    assert list(ex_text.readable_effects(pair)["arm"]) == ["mail vs sms", "mail vs sms"]


def test_the_segment_table_leaves_out_skipped_cells_and_names_the_segment():
    extra = {"mean_treatment": 0.15, "mean_control": 0.10, "lift": 0.5, "lift_ci_low": 0.4, "lift_ci_high": 0.6,
             "prob_beat_control": 0.99}
    segs = pd.DataFrame([
        {**seg_row("mail", "app", diff=0.05, p_adj=0.02), **extra},
        {**seg_row("sms", "app", status="too small: skipped", n=(4, 6)), **dict.fromkeys(extra, np.nan)},
        {**seg_row("sms", 2024, diff=1.5, p_adj=0.3, metric="revenue"), "mean_treatment": 21.5,
         "mean_control": 20.0, "lift": 0.075, "lift_ci_low": 0.01, "lift_ci_high": 0.14, "prob_beat_control": 0.8}])
    pd.testing.assert_frame_equal(ex_text.readable_effects(segs), frame(
        segment=["channel = app", "channel = 2024"], arm=["mail", "sms"], metric=["converted", "revenue"],
        treatment=["15.00%", "21.50"], comparison=["10.00%", "20"],
        effect=["+5.00 pp (95% CI +4.00 to +6.00 pp)", "+1.50 (95% CI +1.49 to +1.51)"],
        **{"relative lift": ["+50% (95% CI +40% to +60%)", "+7.5% (95% CI +1.0% to +14%)"],
           "p": [0.01, 0.15], "adjusted p": [0.02, 0.3], "chance to beat": [0.99, 0.8]}))


def test_the_cuped_table_shows_the_adjusted_effect_and_a_readable_theta():
    cuped = pd.DataFrame({
        "arm": ["mail", "mail", "sms"], "metric": ["converted", "revenue", "revenue"],
        "kind": ["binary", "continuous", "continuous"], "diff": [0.02, 1.5, -0.5], "ci_low": [0.01, 0.25, -1.25],
        "ci_high": [0.03, 2.75, 0.25], "p_value": [0.001, 0.02, 0.3], "variance_reduction": [0.3, 0.5, 0.75],
        "unadjusted_ci_width": [0.04, 5.0, 2.0], "theta": [2.0, 0.000123456, 3.14159]}, index=[3, 4, 5])
    common = {"arm": ["mail", "mail", "sms"], "metric": ["converted", "revenue", "revenue"]}
    numbers = {"p": [0.001, 0.02, 0.3], "variance reduction": [0.3, 0.5, 0.75],
               "interval width vs unadjusted": [0.5, 0.5, 0.75], "theta": ["2", "0.000123", "3.14"]}
    pd.testing.assert_frame_equal(ex_text.readable_cuped(cuped), frame(**common, **{"CUPED effect": [
        "+2.00 pp (95% CI +1.00 to +3.00 pp)", "+1.50 (95% CI +0.25 to +2.75)", "-0.5 (95% CI -1.25 to +0.25)"]},
        **numbers))
    pd.testing.assert_frame_equal(ex_text.readable_cuped(cuped, 0.1, "zh"), frame(**common, **{"CUPED effect": [
        "+2.00 pp（90% 置信区间 +1.00 至 +3.00 pp）", "+1.50（90% 置信区间 +0.25 至 +2.75）",
        "-0.5（90% 置信区间 -1.25 至 +0.25）"]}, **numbers))


def sizes_table() -> pd.DataFrame:
    return pd.DataFrame({"segment_column": ["(all)", "(all)", "channel", "channel"],
                         "segment": ["(all)", "(all)", "web", "web"], "arm": ["control", "mail", "control", "mail"],
                         "users": [1000, 1000, 25, 5], "converted_successes": [100, 120, 2, 0],
                         "warning": ["", "checked by hand", "too small for the normal approximation",
                                     "too small: skipped"]})


def power_table() -> pd.DataFrame:
    return pd.DataFrame({"arm": ["mail", "mail", "sms"], "metric": ["converted", "revenue", "revenue"],
                         "kind": ["binary", "continuous", "continuous"], "control_mean": [0.1, 20.0, 20.0],
                         "diff": [0.02, 1.5, 0.5], "mde_abs": [0.01, np.nan, 2.5], "mde_relative": [0.1, np.nan, 0.125],
                         "significant": [True, False, False]})


def test_the_group_sizes_table_reads_its_warnings_and_totals_in_the_report_language():
    same = {"arm": ["control", "mail", "control", "mail"], "users": [1000, 1000, 25, 5],
            "converted_successes": [100, 120, 2, 0]}
    pd.testing.assert_frame_equal(ex_text.for_reader(sizes_table()), frame(
        segment_column=["(all)", "(all)", "channel", "channel"], segment=["(all)", "(all)", "web", "web"], **same,
        warning=["", "checked by hand", "too small for the normal approximation", "too small: skipped"]))
    pd.testing.assert_frame_equal(ex_text.for_reader(sizes_table(), "zh"), frame(
        segment_column=["（全部）", "（全部）", "channel", "channel"], segment=["（全部）", "（全部）", "web", "web"],
        **same, warning=["", "checked by hand", "样本太少，正态近似不可靠", "样本太少：已跳过"]))
    assert ex_text.table_options(sizes_table()) == {"kinds": {}, "labels": {
        "segment_column": "Segment column", "segment": "Segment", "arm": "Arm", "users": "Users",
        "converted_successes": "converted: successes", "warning": "Warning"}}
    assert ex_text.table_options(sizes_table(), "zh") == {"kinds": {}, "labels": {
        "segment_column": "细分列", "segment": "细分", "arm": "实验组", "users": "用户数",
        "converted_successes": "converted：成功数", "warning": "提示"}}


def test_a_table_mixing_rates_and_means_is_written_row_by_row_in_each_unit():
    same = {"arm": ["mail", "mail", "sms"], "metric": ["converted", "revenue", "revenue"]}
    numbers = {"control_mean": ["10.0%", "20", "20"], "diff": ["+2.00 pp", "+1.50", "+0.5"],
               "mde_abs": ["1.00 pp", "–", "2.50"], "mde_relative": [0.1, np.nan, 0.125]}
    pd.testing.assert_frame_equal(ex_text.for_reader(power_table()), frame(
        **same, kind=["rate", "mean", "mean"], **numbers, significant=["yes", "no", "no"]))
    pd.testing.assert_frame_equal(ex_text.for_reader(power_table(), "zh"), frame(
        **same, kind=["比率", "均值", "均值"], **numbers, significant=["是", "否", "否"]))
    labels = {"arm": "Arm", "metric": "Metric", "kind": "Metric type", "control_mean": "Control value",
              "diff": "Difference", "mde_abs": "Minimum detectable difference", "mde_relative": "Minimum detectable lift",
              "significant": "significant"}
    assert ex_text.table_options(ex_text.for_reader(power_table())) == {"kinds": {
        "control_mean": "text", "mde_relative": "share", "diff": "text", "mde_abs": "text"}, "labels": labels}
    # a table of rates only keeps numbers, its differences in percentage points; money metrics' means are money
    rates, means = power_table().iloc[:1], power_table().iloc[1:].reset_index(drop=True)
    assert ex_text.table_options(rates)["kinds"] == {"control_mean": "number", "mde_relative": "share", "diff": "pp",
                                                "mde_abs": "pp"}
    assert ex_text.table_options(means)["kinds"] == {"control_mean": "money", "mde_relative": "share", "diff": "money",
                                                     "mde_abs": "money"}
    assert ex_text.table_options(means.assign(metric="orders"))["kinds"] == {"control_mean": "number",
                                                                             "mde_relative": "share"}
    assert ex_text.table_options(power_table().iloc[:0])["kinds"] == {"control_mean": "number", "mde_relative": "share"}
    pd.testing.assert_frame_equal(ex_text.for_reader(rates), frame(
        arm=["mail"], metric=["converted"], kind=["rate"], control_mean=[0.1], diff=[0.02], mde_abs=[0.01],
        mde_relative=[0.1], significant=["yes"]))


def test_unknown_kinds_and_headers_are_kept_as_written():
    odd = pd.DataFrame({"kind": ["count"], "(adjusted p)": [0.5], "p": [0.1], "customers": [3]})
    pd.testing.assert_frame_equal(ex_text.for_reader(odd), odd)
    assert ex_text.table_options(odd) == {"kinds": {"p": "pvalue"}, "labels": {
        "kind": "Metric type", "(adjusted p)": "Adjusted p value", "p": "p value", "customers": "Customers"}}
    assert ex_text.table_options(odd, "zh") == {"kinds": {"p": "pvalue"}, "labels": {
        "kind": "指标类型", "(adjusted p)": "校正后 p 值", "p": "p 值", "customers": "客户数"}}
    readable = ex_text.readable_cuped(pd.DataFrame({
        "arm": ["mail"], "metric": ["converted"], "kind": ["binary"], "diff": [0.02], "ci_low": [0.01],
        "ci_high": [0.03], "p_value": [0.001], "variance_reduction": [0.3], "unadjusted_ci_width": [0.04],
        "theta": [2.0]}))
    assert ex_text.table_options(readable) == {
        "kinds": {"p": "pvalue", "variance reduction": "share", "interval width vs unadjusted": "share"},
        "labels": {"arm": "Arm", "metric": "Metric", "CUPED effect": "CUPED difference (interval)", "p": "p value",
                   "variance reduction": "Variance reduction",
                   "interval width vs unadjusted": "Interval width vs unadjusted", "theta": "θ (CUPED coefficient)"}}


def test_the_segment_table_says_which_cells_were_analysed_and_which_skipped():
    segs = pd.DataFrame([seg_row("mail", "app", diff=0.05, p_adj=0.02),
                         seg_row("sms", "app", status="too small: skipped (4 users in sms, 6 in control; fewer than 10)",
                                 n=(4, 6))])
    out = ex_text.for_reader(segs[["segment_column", "segment", "arm", "kind", "status", "significant_adjusted"]])
    pd.testing.assert_frame_equal(out, frame(
        segment_column=["channel", "channel"], segment=["app", "app"], arm=["mail", "sms"], kind=["rate", "rate"],
        status=["analysed", "too small: skipped (fewer than 10 users in an arm)"], significant_adjusted=["yes", "no"]))
    zh = ex_text.for_reader(segs[["status"]], "zh")
    assert list(zh["status"]) == ["已分析", "样本太少：已跳过（某组少于 10 个用户）"]


# ------------------------------------------------------------------ the forest plot


def forest_segments() -> pd.DataFrame:
    rows = [seg_row("sms", "gold", diff=0.01, p_adj=0.5), seg_row("mail", "web", diff=0.03, p_adj=0.5),
            seg_row("sms", "app", diff=-0.02, p_adj=0.5), seg_row("mail", "app", diff=0.05, p_adj=0.5),
            seg_row("mail", "young", diff=0.04, p_adj=0.5),
            {**seg_row("sms", "web", status="too small: skipped"), "diff": np.nan},
            seg_row("mail", "web", diff=7.0, p_adj=0.5, metric="revenue")]
    out = pd.DataFrame(rows)
    out["segment_column"] = ["tier", "channel", "channel", "channel", "age", "channel", "channel"]
    return out


def drawn(fig) -> dict:
    """What the forest plot shows: points, bars, colours and lines, in plain numbers."""
    ax = fig.axes[0]
    series = []
    for c in ax.containers:
        data, caps, bars = c.lines
        series.append({"label": c.get_label(), "xy": data.get_xydata().round(6).tolist(),
                       "bars": [s.round(6).tolist() for s in bars[0].get_segments()],
                       "color": to_hex(data.get_color()), "ecolor": to_hex(bars[0].get_colors()[0]),
                       "alpha": data.get_alpha(), "marker": data.get_marker(),
                       "cap": [cap.get_markersize() for cap in caps]})
    rules = [(list(line.get_xdata()), list(line.get_ydata()), to_hex(line.get_color()), line.get_linewidth(),
              line.get_linestyle()) for line in ax.lines if line.get_marker() in ("None", None, "")]
    legend = ax.get_legend()
    return {"series": series, "rules": rules, "size": fig.get_size_inches().round(4).tolist(),
            "ticks": [(float(y), lab.get_text()) for y, lab in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)],
            "title": ax.get_title(), "xlabel": ax.get_xlabel(),
            "legend": None if legend is None else (legend.get_title().get_text(),
                                                   [x.get_text() for x in legend.get_texts()],
                                                   legend.get_texts()[0].get_fontsize(), legend._loc)}


def test_the_forest_plot_draws_each_analysed_cell_grouped_by_segment_column():
    fig = ex_plots.plot_segment_forest(forest_segments(), "converted")
    got = drawn(fig)
    plt.close(fig)
    mail, sms = color_for("mail"), color_for("sms")
    assert got["series"] == [
        {"label": "mail", "xy": [[4.0, 4.0], [5.0, 3.0], [3.0, 1.0]],
         "bars": [[[3.0, 4.0], [5.0, 4.0]], [[4.0, 3.0], [6.0, 3.0]], [[2.0, 1.0], [4.0, 1.0]]],
         "color": mail, "ecolor": mail, "alpha": 0.9, "marker": "o", "cap": [6.0, 6.0]},
        {"label": "sms", "xy": [[-2.0, 2.0], [1.0, 0.0]], "bars": [[[-3.0, 2.0], [-1.0, 2.0]], [[0.0, 0.0], [2.0, 0.0]]],
         "color": sms, "ecolor": sms, "alpha": 0.9, "marker": "o", "cap": [6.0, 6.0]}]
    assert got["rules"] == [([0, 1], [3.5, 3.5], "#cccccc", 1.0, "-"), ([0, 1], [0.5, 0.5], "#cccccc", 1.0, "-"),
                            ([0, 0], [0, 1], "#808080", 1.5, "--")]
    assert got["size"] == [8.0, 3.55]
    assert got["ticks"] == [(4.0, "age = young · mail"), (3.0, "channel = app · mail"), (2.0, "channel = app · sms"),
                            (1.0, "channel = web · mail"), (0.0, "tier = gold · sms")]
    assert got["title"] == "converted: difference vs control by segment"
    assert got["xlabel"] == "Difference vs control (percentage points), 95% confidence interval (unadjusted)"
    assert got["legend"] == ("Arm", ["mail", "sms"], 8.0, 0)


@pytest.mark.filterwarnings("ignore:Glyph")  # the test machine's font has no CJK glyphs; the text is what counts
def test_the_forest_plot_of_a_mean_is_in_the_metrics_unit_and_in_chinese():
    fig = ex_plots.plot_segment_forest(forest_segments(), "revenue", 0.1, "zh")
    got = drawn(fig)
    plt.close(fig)
    assert [(s["label"], s["xy"], s["bars"]) for s in got["series"]] == [
        ("mail", [[7.0, 0.0]], [[[6.99, 0.0], [7.01, 0.0]]])]
    assert got["title"] == "revenue：各细分相对对照组的差异"
    assert got["xlabel"] == "相对对照组的差异（指标单位），90% 置信区间（未校正）"
    assert got["legend"][:2] == ("实验组", ["mail"]) and got["size"] == [8.0, 2.15]
    empty = ex_plots.plot_segment_forest(forest_segments(), "orders")
    got = drawn(empty)
    plt.close(empty)
    assert (got["series"], got["legend"], got["ticks"], got["size"]) == ([], None, [], [8.0, 1.8])
    assert got["xlabel"] == "Difference vs control (in the metric's unit), 95% confidence interval (unadjusted)"


# ------------------------------------------------------------------ parameters


def test_list_and_mapping_parameters_are_read_from_lists_json_or_yaml():
    from customer_analytics.core.errors import ConfigError

    assert ex.parse_list_param("binary_metrics", ["visit", 3]) == ["visit", "3"]
    assert ex.parse_list_param("binary_metrics", ("visit",)) == ["visit"]
    assert ex.parse_list_param("binary_metrics", '["visit", "conversion"]') == ["visit", "conversion"]
    assert ex.parse_list_param("binary_metrics", "[visit, conversion]") == ["visit", "conversion"]
    assert ex.parse_list_param("binary_metrics", None) == []
    for bad in ("visit", [True], "[visit", {"a": 1}):
        with pytest.raises(ConfigError, match="Parameter 'binary_metrics' must be a list of column names"):
            ex.parse_list_param("binary_metrics", bad)
    assert ex.parse_mapping_param("cost_per_user", {"mail": 1, 2: 0.5}) == {"mail": 1.0, "2": 0.5}
    assert ex.parse_mapping_param("cost_per_user", '{"mail": 0.5}') == {"mail": 0.5}
    assert ex.parse_mapping_param("cost_per_user", "{mail: 0.5, sms: 2}") == {"mail": 0.5, "sms": 2.0}
    assert ex.parse_mapping_param("cost_per_user", None) is None
    for bad in ("mail", {"mail": True}, {"mail": "cheap"}, [1, 2], "{mail: [", "[1, 2]"):
        with pytest.raises(ConfigError, match="Parameter 'cost_per_user' must map arms to numbers"):
            ex.parse_mapping_param("cost_per_user", bad)


def test_experiment_parameters_are_coerced_and_an_empty_user_column_means_none():
    p = {"binary_metrics": "[converted]", "continuous_metrics": ["revenue"], "segment_columns": None,
         "planned_split": '{"control": 0.5, "mail": 0.5}', "cost_per_user": None, "user_column": "null",
         "alpha": 0.05}
    assert ex.coerce_params(p) == {"binary_metrics": ["converted"], "continuous_metrics": ["revenue"],
                                   "segment_columns": [], "planned_split": {"control": 0.5, "mail": 0.5},
                                   "cost_per_user": None, "user_column": None, "alpha": 0.05}
    assert p["binary_metrics"] == "[converted]"  # the parameters given are left as they were
    for empty in ("", "None", "null"):
        assert ex.coerce_params({"user_column": empty}) == {"user_column": None}
    assert ex.coerce_params({"user_column": "customer"}) == {"user_column": "customer"}
    assert ex.coerce_params({}) == {}
    from customer_analytics.core.errors import ConfigError

    with pytest.raises(ConfigError, match="Parameter 'segment_columns' must be a list"):
        ex.coerce_params({"segment_columns": "channel"})
    with pytest.raises(ConfigError, match="Parameter 'planned_split' must map arms to numbers"):
        ex.coerce_params({"planned_split": "even"})


def test_roi_settings_default_to_the_primary_or_first_binary_and_the_first_continuous_metric():
    spec = ex.ExperimentSpec("variant", "control", binary_metrics=["visited", "converted"],
                             continuous_metrics=["revenue", "orders"])
    cost = {"mail": 0.5}
    assert ex.roi_settings({}, spec) is None and ex.roi_settings({"cost_per_user": {}}, spec) is None
    assert ex.roi_settings({"cost_per_user": cost, "primary_metric": "converted", "value_per_conversion": 20.0,
                            "margin": 0.3}, spec) == ex.ROISettings(cost, 20.0, "converted", 0.3, "revenue")
    assert ex.roi_settings({"cost_per_user": cost, "primary_metric": "orders"}, spec) == \
        ex.ROISettings(cost, None, "visited", None, "revenue")
    assert ex.roi_settings({"cost_per_user": cost, "primary_metric": "converted", "conversion_metric": "visited",
                            "revenue_metric": "orders"}, spec) == ex.ROISettings(cost, None, "visited", None, "orders")
    bare = ex.ExperimentSpec("variant", "control", binary_metrics=["converted"])
    assert ex.roi_settings({"cost_per_user": cost}, bare) == ex.ROISettings(cost, None, "converted", None, None)
    means = ex.ExperimentSpec("variant", "control", continuous_metrics=["revenue"])
    assert ex.roi_settings({"cost_per_user": cost, "margin": 0.3}, means) == \
        ex.ROISettings(cost, None, None, 0.3, "revenue")


def test_analysis_options_carry_every_experiment_parameter_with_its_default():
    p = {"alpha": 0.1, "power": 0.9, "correction": "fdr_bh", "cap_percentile": 99, "cap_ignore_zeros": False,
         "bootstrap": True, "target_lift": 0.1, "primary_metric": "revenue", "higher_is_better": False,
         "cost_per_user": {"mail": 0.5}, "margin": 0.3, "sequential": 1, "sequential_tuning": 8000}
    assert ex.analysis_options(p, SPEC, 7) == {
        "alpha": 0.1, "power": 0.9, "correction": "fdr_bh", "cap_percentile": 99, "cap_ignore_zeros": False,
        "bootstrap": True, "target_lift": 0.1, "seed": 7, "primary_metric": "revenue", "higher_is_better": False,
        "roi": ex.ROISettings({"mail": 0.5}, None, "converted", 0.3, "revenue"), "sequential": True,
        "sequential_tuning": 8000}
    for k in ("higher_is_better", "cost_per_user", "sequential", "sequential_tuning"):
        p.pop(k)
    assert ex.analysis_options({**p, "sequential_tuning": None}, SPEC, 0) == {
        "alpha": 0.1, "power": 0.9, "correction": "fdr_bh", "cap_percentile": 99, "cap_ignore_zeros": False,
        "bootstrap": True, "target_lift": 0.1, "seed": 0, "primary_metric": "revenue", "higher_is_better": True,
        "roi": None, "sequential": False, "sequential_tuning": 5000}

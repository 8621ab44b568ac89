"""The A/B report's reader-facing words and numbers, exactly, in English and Chinese.

The results are written by hand (tables with round numbers), so every figure in the expected
sentences follows from the inputs by the formatting rules alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_analytics import experiments as ex

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


def result(effects, *, power=None, segments=(), pairwise=(), roi=(), balance=(), size_table=None, srm_p=0.5,
           alpha=0.05, notes=(), **options) -> ex.ExperimentResult:
    effects = pd.DataFrame(effects)
    arms = sorted(effects["arm"].unique()) if len(effects) else []
    power = power if power is not None else [power_row(a, m) for a in arms for m in SPEC.metrics]
    return ex.ExperimentResult(SPEC, srm(srm_p), pd.DataFrame(), pd.DataFrame(list(balance)),
                               size_table if size_table is not None else sizes(), effects, pd.DataFrame(),
                               pd.DataFrame(list(segments)), pd.DataFrame(power), alpha, list(notes),
                               pd.DataFrame(list(pairwise)), pd.DataFrame(list(roi)), options)


OPTIONS = {"correction": "holm", "higher_is_better": True, "power": 0.8, "sequential": False}


# ------------------------------------------------------------------ numbers for a reader


def test_numbers_percentages_and_p_values_are_written_for_a_reader():
    assert [ex.fmt_number(v) for v in (1.0, 1.5, 1234.567, 0.5, -0.0123, -2.0, np.nan, None, np.inf)] == \
        ["+1.00", "+1.50", "+1,234.57", "+0.5", "-0.0123", "-2.00", "n/a", "n/a", "n/a"]
    assert [ex.fmt_number(v, signed=False) for v in (1.0, 0.5, -0.5)] == ["1.00", "0.5", "-0.5"]
    assert [ex.fmt_pct(v) for v in (0.1, 0.5, 0.0512, -0.25, 0.0999, np.nan, None)] == \
        ["+10%", "+50%", "+5.1%", "-25%", "+10.0%", "n/a", "n/a"]
    assert [ex.fmt_p(p) for p in (1e-4, 9.9e-5, 0.0123456, 0.5, np.nan, None)] == \
        ["0.0001", "< 0.0001", "0.0123", "0.5", "n/a", "n/a"]
    assert ex.p_text("adjusted p", 0.0658) == "adjusted p = 0.0658"
    assert ex.p_text("p", 1e-6) == "p < 0.0001"
    assert ex.fmt_effect("binary", 0.0766) == "+7.66 pp"
    assert ex.fmt_effect("continuous", 1.25) == "+1.25"


def test_an_effect_is_written_with_its_interval_in_pp_or_the_metrics_unit():
    assert ex.fmt_diff("binary", 0.0766, 0.0699, 0.0832) == "+7.66 pp (95% CI +6.99 to +8.32 pp)"
    assert ex.fmt_diff("continuous", 1.25, -0.5, 3.0) == "+1.25 (95% CI -0.5 to +3.00)"
    assert ex.fmt_diff("continuous", 1.25, -0.5, 3.0, 0.1) == "+1.25 (90% CI -0.5 to +3.00)"
    assert ex.fmt_diff("binary", 0.0766, 0.0699, 0.0832, 0.1, "zh") == "+7.66 pp（90% 置信区间 +6.99 至 +8.32 pp）"
    assert ex.fmt_diff("continuous", 1.25, -0.5, 3.0, 0.05, "zh") == "+1.25（95% 置信区间 -0.5 至 +3.00）"
    assert ex.fmt_lift(0.72, 0.6, 0.84) == "+72% (95% CI +60% to +84%)"
    assert ex.fmt_lift(0.72, 0.05, 0.84, 0.1, "zh") == "+72%（90% 置信区间 +5.0% 至 +84%）"

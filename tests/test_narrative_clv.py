"""The executive summary of the CLV and churn report is built from its numbers."""

from __future__ import annotations

import pandas as pd

from customer_analytics.report import narrative

PRED = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "clv": [1000.0, 500.0, 300.0, 200.0],
                     "expected_purchases": [2.0, 1.0, 0.5, 0.5]})
RISK = pd.DataFrame({"customer_id": ["b"], "clv": [500.0]})
SEGMENTS = pd.DataFrame({"segment": ["Loyal", "<b>Champions</b>"], "clv_share": [0.2, 0.8]})


def bullets(error_pct=9.5, churn_beats_recency=True, **kw):
    check = narrative.HoldoutCheck(error_pct=error_pct, holdout_days=180, churn_beats_recency=churn_beats_recency)
    args = {"pred": PRED, "risk": RISK, "by_segment": SEGMENTS, "horizon_days": 90, "clv_months": 12,
            "language": "en", "currency": "£"}
    return narrative.clv_bullets(check=check, **{**args, **kw})


def test_the_summary_states_the_forecast_the_check_the_decision_and_the_next_step():
    out = bullets()
    assert 3 <= len(out) <= 6
    assert "£2,000.00" in out[0] and "£500.00" in out[0] and "4 purchases" in out[0] and "12 months" in out[0]
    assert "passed its holdout check" in out[1] and "+9.5%" in out[1]
    assert out[2].startswith("**Decision:**") and "model's churn risk" in out[2]
    assert out[3].startswith("**Next:**") and "1 high-value" in out[3] and "£500.00" in out[3]
    assert "80.0%" in out[4]


def test_a_segment_name_from_data_is_escaped():
    assert "<b>" not in bullets()[4] and "&lt;b&gt;Champions" in bullets()[4]


def test_a_large_holdout_error_warns_and_a_model_that_ties_recency_says_so():
    out = bullets(error_pct=-35.0, churn_beats_recency=False)
    assert "**Caution:**" in out[1] and "-35.0%" in out[1]
    assert "days since the last purchase work as well" in out[2]


def test_no_customer_at_risk_and_no_holdout_purchase_are_said_in_words():
    out = bullets(risk=RISK.iloc[:0], error_pct=float("nan"), by_segment=SEGMENTS.iloc[:0])
    assert "could not be checked" in out[1]
    assert "no high-value customer is at risk" in out[3]
    assert len(out) == 4


def test_the_summary_reads_in_chinese():
    out = bullets(language="zh")
    assert "预测通过了留出期检验" in out[1] and "**决策：**" in out[2] and "**下一步：**" in out[3]


def test_dollar_amounts_in_markdown_are_never_read_as_a_formula():
    shown = narrative.md_money(769974.386, "$")
    assert "$" not in shown and "&#36;769,974.39" in shown and "tex2jax_ignore" in shown
    assert narrative.md_money(12.5, "£") == "£12.50"
    assert "$" not in bullets(currency="$")[0]


def test_the_summary_names_the_model_the_forecasts_come_from_and_how_it_was_chosen():
    def with_model(language="en", chosen=True):
        check = narrative.HoldoutCheck(error_pct=9.5, holdout_days=180, churn_beats_recency=True,
                                       model="Pareto/NBD", chosen_on_holdout=chosen)
        return narrative.clv_bullets(PRED, RISK, SEGMENTS, check=check, horizon_days=90, clv_months=12,
                                     language=language, currency="£")
    out = with_model()
    assert out[1].startswith("Forecasts from **Pareto/NBD**, the best of three purchase models on the holdout")
    assert "passed its holdout check" in out[1] and len(out) == 5
    assert with_model(chosen=False)[1].startswith("Forecasts from **Pareto/NBD** (set in the config). The forecast")
    assert with_model("zh")[1].startswith("预测来自 **Pareto/NBD**，它是三个购买模型中在留出期表现最好的（见第 2 节）。预测通过了")
    assert "Forecasts from" not in bullets()[1]  # no model given: the sentence is left out

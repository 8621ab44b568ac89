"""RFM figures the reports and the dashboard show: recency ranges, warnings, period activity, net migration."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd

from customer_analytics.models import rfm
from customer_analytics.pipeline import context
from customer_analytics.report import charts, narrative
from customer_analytics.report.text import rfm as rfm_text


def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"]).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"]))


TX = _tx([
    ("a", "1", "2025-01-10", 10.0), ("a", "2", "2025-03-05", 20.0),   # returning buyer in March
    ("b", "3", "2025-03-20", 5.0),                                     # new in March
    ("c", "4", "2024-12-15", 7.0),                                     # last bought 2024-12-15: lapses 2025-03-15
    ("d", "5", "2025-04-02", 9.0),                                     # after the period: never counted
])


def test_period_activity_counts_only_the_month_itself():
    a = rfm.period_activity(TX, "2025-03", lapse_days=90)
    assert a["revenue"] == 25.0 and a["orders"] == 2
    assert (a["active_customers"], a["new_customers"], a["returning_customers"]) == (2, 1, 1)
    assert a["lapsed_customers"] == 1  # c: 2024-12-15 + 90 days = 2025-03-15


def test_segment_summary_shows_the_recency_each_segment_covers():
    scored = pd.DataFrame({"customer_id": list("abcd"), "recency_days": [5, 200, 10, 400],
                           "frequency": [3, 3, 1, 1], "monetary": [10.0, 20.0, 5.0, 1.0],
                           "segment": ["champions", "champions", "new_customers", "lost"]})
    s = rfm_text.segment_summary(scored)
    assert s.loc["Champions", "median_recency_days"] == 102.5 and s.loc["Champions", "max_recency_days"] == 200
    assert s.loc["Champions", "segment_code"] == "champions"
    w = rfm.recency_warnings(s, max_median_days=90)
    assert list(w.index) == ["Champions"]               # recent by name, not by data
    assert rfm.recency_warnings(s, max_median_days=365).empty
    assert "Lost" not in rfm.recency_warnings(s, 1).index  # only segments named as recent are checked


def test_net_migration_counts_entries_minus_exits():
    order = ["champions", "loyal_customers"]
    m = pd.DataFrame([[10, 2, 1], [4, 8, 0], [3, 1, 0]], index=[*order, "new_this_period"],
                     columns=[*order, "no_longer_active"])
    net = rfm.net_migration(m, ["champions"])
    assert net["champions"] == (4 + 3) - (2 + 1)


def test_each_segment_keeps_its_colour_in_any_language():
    en, zh = rfm_text.label_table("en"), rfm_text.label_table("zh")
    assert charts.color_for("champions") == charts.color_for(en["champions"]) == charts.color_for(zh["champions"])
    keys = rfm.load_scheme("en11").order
    assert len(set(charts.colors_for(keys))) == len(keys)
    assert charts.color_for(2) == charts.color_for("2")


def test_rfm_summary_names_the_change_the_top_segment_and_the_next_step():
    scored = pd.DataFrame({"customer_id": list("abcde"), "recency_days": [5, 200, 10, 400, 300],
                           "frequency": [3, 3, 1, 1, 4], "monetary": [100.0, 20.0, 5.0, 1.0, 50.0],
                           "segment": ["champions", "champions", "new_customers", "lost", "at_risk"]})
    s = rfm_text.segment_summary(scored)
    act = rfm.period_activity(TX, "2025-03")
    prev = rfm.period_activity(TX, "2025-02")
    bullets = narrative.rfm_bullets(act, prev, s, rfm.recency_warnings(s, 90), net=pd.Series({"champions": 3}), language="en",
                                    currency="$")
    text = "\n".join(bullets)
    assert 3 <= len(bullets) <= 6
    assert "&#36;25.00" in text and "tex2jax_ignore" in text and "**Champions**" in text and "+3" in text and "At Risk" in text
    assert "Caution" in text
    s_zh = rfm_text.segment_summary(scored, language="zh")
    zh = "\n".join(narrative.rfm_bullets(act, prev, s_zh, s_zh.iloc[:0], net=None, language="zh", currency="$"))
    assert "冠军客户" in zh and "下一步" in zh and "Caution" not in zh


def test_report_header_escapes_values_from_data():
    md = narrative.report_header("02 · RFM", "2025-12", "<b>shop</b>", ["x"], language="en", data_ends="2025-12-20")
    assert md.startswith("# 02 · RFM") and "&lt;b&gt;shop&lt;/b&gt;" in md and "2025-12-20" in md
    assert "Executive summary" in md


def test_page_header_says_which_dates_the_figures_cover():
    md = narrative.report_header("02 · RFM", "2025-12", "shop", ["x"], window=("2024-01-01", "2025-12-31"))
    assert "**Period** 2025-12 · **Data set** shop · **Look-back** 2024-01-01 to 2025-12-31" in md
    zh = narrative.report_header("02 · RFM", "2025-12", "shop", ["x"], language="zh", window=("2024-01-01", "2025-12-31"))
    assert "**回看窗口** 2024-01-01 至 2025-12-31" in zh


def test_look_back_starts_at_the_data_or_the_window_whichever_is_later(tmp_path):
    (tmp_path / context.PERIOD_FILE).write_text(json.dumps({"data_first": "2024-01-03"}))
    ctx = SimpleNamespace(as_of=pd.Timestamp("2025-12-31"), path=lambda name: tmp_path / name)
    assert context.look_back(ctx) == ("2024-01-03", "2025-12-31")
    assert context.look_back(ctx, 12) == ("2025-01-01", "2025-12-31")     # the RFM window counts after 2024-12-31
    assert context.look_back(ctx, 36) == ("2024-01-03", "2025-12-31")     # the data starts later than the window


# ------------------------------------------------------------------ names that hold by default


def _recent_medians(scored: pd.DataFrame) -> pd.Series:
    summary = rfm.segment_summary(scored)
    return summary.loc[summary["segment_code"].isin(rfm.RECENT_SEGMENTS) & (summary["customers"] > 0),
                       "median_recency_days"]


def test_on_the_sample_with_the_default_config_every_recent_sounding_segment_is_recent(cleaned_sample):
    from customer_analytics.settings.loading import load_config

    config = load_config()
    scored = rfm.score_customers(cleaned_sample.data, "2025-12-31", **config["rfm"])
    limit = config["report"]["recent_segment_max_median_days"]
    medians = _recent_medians(scored)
    assert {"champions", "loyal_customers", "new_customers"} <= set(medians.index)
    assert (medians <= limit).all(), medians
    assert rfm.recency_warnings(rfm_text.segment_summary(scored), limit).empty
    # R 3 and above is a purchase within 90 days (the default bands), whatever the other customers did
    assert scored.loc[scored["r_score"] >= 3, "recency_days"].max() <= 90
    # quantile scores, the old default, name customers last seen up to 253 days ago "Loyal"
    quantile = rfm.score_customers(cleaned_sample.data, "2025-12-31", **{**config["rfm"], "score_method": "quantile"})
    assert _recent_medians(quantile).max() > limit


def test_new_customers_made_their_first_purchase_within_the_window_on_both_data_sets(cleaned_sample, tmp_path):
    from conftest import ROOT

    from customer_analytics.settings.loading import load_config

    days = load_config()["rfm"]["new_customer_days"]
    sample = rfm.score_customers(cleaned_sample.data, "2025-12-31")
    new = sample[sample["segment"] == "new_customers"]
    assert len(new) > 50 and new["tenure_days"].max() <= days
    ctx = context.make_context(None, config_path=str(ROOT / "config/cdnow.yaml"), run_dir=str(tmp_path), seed=42)
    cdnow = context.customers(ctx)  # every CDNOW customer first bought in 1997 Q1, long before the period end
    assert len(cdnow) > 20_000 and (cdnow["segment"] != "new_customers").all()
    assert not (cdnow["segment"].isin(rfm.RECENT_SEGMENTS) & (cdnow["recency_days"] > 90)).any()


def test_the_managers_summary_gives_no_configuration_advice():
    scored = pd.DataFrame({"customer_id": list("ab"), "recency_days": [200, 10], "frequency": [3, 1],
                           "monetary": [100.0, 5.0], "segment": ["loyal_customers", "new_customers"]})
    s = rfm_text.segment_summary(scored)
    warnings = rfm.recency_warnings(s, 90)
    act = rfm.period_activity(TX, "2025-03")
    for language in ("en", "zh"):
        text = "\n".join(narrative.rfm_bullets(act, None, s, warnings, net=None, language=language))
        assert "200" in text and "rfm." not in text and "score_method" not in text

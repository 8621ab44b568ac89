"""RFM, exactly: complete tables on small hand-made customers, worked out by hand.

Every expected number below is written out (not recomputed with the library's own code):
recency in calendar days, distinct orders, net revenue in whole cents, tie-safe quantile
scores ``1 + floor(n_levels * share of customers with a strictly worse value)`` and the
segment names of ``resources/segments.yaml``.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import numpy as np
import pandas as pd
import pytest

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.models import rfm
from customer_analytics.report.text import rfm as rfm_text


def tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"]).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"], format="ISO8601"))


def days(*dates):
    return pd.to_datetime(list(dates)).astype("datetime64[ns]")


# The period ends 2024-03-31 (2024 is a leap year: February has 29 days).
TX = tx([
    ("a", "1", "2024-01-01 09:00", 10.00),
    ("a", "2", "2024-03-31 23:59", 20.00),   # the period's last day, late in the day
    ("a", "2", "2024-03-31 23:59", 5.00),    # a second line of the same order
    ("b", "3", "2024-02-15", 100.00),
    ("c", "4", "2024-04-01 00:01", 50.00),   # after the period end: never counted
    ("c", "5", "2023-12-31", 7.00),
    ("d", "6", "2024-03-01", -5.00),         # only a return, no purchase line: nothing to score
    ("e", "7", "2024-01-31", 12.00),         # exactly two months before the end
    ("e", "8", "2024-01-31 18:00", 3.00),
    ("f", "9", "2024-03-10", 3.00),
    ("f", "10", "2024-03-20", 3.00),
    ("f", "11", "2024-03-30", 4.00),
    ("g", "12", "2024-03-25", 60.00),
    ("h", "13", "2024-02-01", 5.00),          # a purchase and its full refund: scored, net zero
    ("h", "14", "2024-02-02", -5.00),
])

RFM_ALL_HISTORY = pd.DataFrame({
    "customer_id": pd.array(["a", "b", "c", "e", "f", "g", "h"], dtype="string"),
    # Mar 31 minus the last purchase: 0; Feb 15 -> 45; Dec 31 -> 91; Jan 31 -> 60; Mar 30 -> 1; Mar 25 -> 6;
    # h: the refund on Feb 2 is not a purchase, so its last purchase is Feb 1 -> 59
    "recency_days": np.array([0, 45, 91, 60, 1, 6, 59], dtype="int64"),
    "frequency": np.array([2, 1, 1, 2, 3, 1, 1], dtype="int64"),
    "monetary": [35.00, 100.00, 7.00, 15.00, 10.00, 60.00, 0.00],
    "first_purchase": days("2024-01-01", "2024-02-15", "2023-12-31", "2024-01-31", "2024-03-10",
                           "2024-03-25", "2024-02-01"),
    "last_purchase": days("2024-03-31", "2024-02-15", "2023-12-31", "2024-01-31", "2024-03-30",
                          "2024-03-25", "2024-02-01"),
    "tenure_days": np.array([90, 45, 91, 60, 21, 6, 59], dtype="int64"),
})


def test_rfm_table_states_recency_orders_and_net_revenue_per_customer():
    out = rfm.compute_rfm(TX, "2024-03-31")
    pd.testing.assert_frame_equal(out, RFM_ALL_HISTORY)


def test_an_extra_column_named_like_amount_in_other_case_is_not_summed():
    # the query language ignores case; only the canonical columns may reach it
    wide = TX.copy()
    wide.insert(0, "Amount", 1000.00)
    pd.testing.assert_frame_equal(rfm.compute_rfm(wide, "2024-03-31"), RFM_ALL_HISTORY)


# the RFM table of TX for the two months to 2024-03-31 (2024-01-31 < day <= 2024-03-31)
TWO_MONTHS = pd.DataFrame({
    "customer_id": pd.array(["a", "b", "f", "g", "h"], dtype="string"),
    "recency_days": np.array([0, 45, 1, 6, 59], dtype="int64"),
    "frequency": np.array([1, 1, 3, 1, 1], dtype="int64"),
    "monetary": [25.00, 100.00, 10.00, 60.00, 0.00],
    "first_purchase": days("2024-03-31", "2024-02-15", "2024-03-10", "2024-03-25", "2024-02-01"),
    "last_purchase": days("2024-03-31", "2024-02-15", "2024-03-30", "2024-03-25", "2024-02-01"),
    "tenure_days": np.array([0, 45, 21, 6, 59], dtype="int64"),
})


def test_a_two_month_window_starts_after_the_same_day_two_months_back():
    # window: 2024-01-31 < day <= 2024-03-31, so e (Jan 31) and c drop out
    out = rfm.compute_rfm(TX, pd.Timestamp("2024-03-31 15:00"), window_months=2)
    pd.testing.assert_frame_equal(out, TWO_MONTHS)


def test_average_order_value_is_revenue_per_order_rounded_to_the_cent():
    out = rfm.compute_rfm(TX, "2024-03-31", monetary="aov")
    # a: 35.00 / 2; f: 10.00 / 3 = 3.333... -> 3.33; h: 0.00 / 1
    expected = RFM_ALL_HISTORY.assign(monetary=[17.50, 100.00, 7.00, 7.50, 3.33, 60.00, 0.00])
    pd.testing.assert_frame_equal(out, expected)


def test_rfm_input_errors_name_the_problem():
    with pytest.raises(InputError, match=re.escape("compute_rfm needs columns ['amount']")):
        rfm.compute_rfm(TX.drop(columns="amount"), "2024-03-31")
    with pytest.raises(ConfigError, match="monetary must be 'total' or 'aov', got 'mean'"):
        rfm.compute_rfm(TX, "2024-03-31", monetary="mean")
    with pytest.raises(InputError, match="No purchases on or before 2023-06-30"):
        rfm.compute_rfm(TX, "2023-06-30")


VALUES = pd.Series([30, 10, 10, 20, 50], index=list("vwxyz"), name="frequency")


def test_quantile_scores_count_the_strictly_worse_customers():
    # strictly worse: 30 -> 3, 10 -> 0, 20 -> 2, 50 -> 4 of 5 customers
    five = rfm.quantile_scores(VALUES, 5, True)
    pd.testing.assert_series_equal(five, pd.Series([4, 1, 1, 3, 5], index=list("vwxyz"),
                                                   name="frequency", dtype="int64"))
    three = rfm.quantile_scores(VALUES, 3)   # 1 + floor(3 * worse / 5)
    assert three.tolist() == [2, 1, 1, 2, 3]
    two = rfm.quantile_scores(VALUES, 2)
    assert two.tolist() == [2, 1, 1, 1, 2]
    # recency: smaller is better; strictly worse (larger): 30 -> 1, 10 -> 3, 20 -> 2, 50 -> 0
    recent = rfm.quantile_scores(VALUES, 5, higher_is_better=False)
    assert recent.tolist() == [2, 4, 4, 3, 1]
    with pytest.raises(ConfigError, match="n_levels must be at least 2, got 1"):
        rfm.quantile_scores(VALUES, 1)


def test_quantile_scores_default_to_five_levels_higher_is_better():
    # ten distinct values: 1 + floor(5 * worse / 10)
    assert rfm.quantile_scores(pd.Series(range(10))).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_threshold_scores_put_a_value_on_an_edge_in_the_lower_level():
    freq = pd.Series([1, 2, 3, 8, 9], index=list("pqrst"))
    pd.testing.assert_series_equal(rfm.threshold_scores(freq, [1, 2, 4, 8]),
                                   pd.Series([1, 2, 3, 4, 5], index=list("pqrst"), dtype="int64"))
    recency = pd.Series([0, 30, 31, 90, 400], index=list("pqrst"))
    r = rfm.threshold_scores(recency, [30, 90, 180, 365], higher_is_better=False)
    assert np.asarray(r).tolist() == [5, 5, 4, 4, 1] and np.asarray(r).dtype == np.int64


# Ten customers, indexed by id; worked scores below.
TEN = pd.DataFrame({
    "recency_days": [0, 5, 10, 20, 40, 60, 90, 120, 200, 365],
    "frequency": [1, 1, 1, 2, 2, 3, 4, 5, 8, 13],
    "monetary": [50.0, 10.0, 300.0, 20.0, 80.0, 40.0, 1000.0, 60.0, 30.0, 500.0],
}, index=list("ABCDEFGHIJ"))


def test_quantile_scores_of_ten_customers_and_their_fm_mean():
    out = rfm.add_scores(TEN)
    expected = TEN.assign(
        r_score=np.array([5, 5, 4, 4, 3, 3, 2, 2, 1, 1], dtype="int64"),
        f_score=np.array([1, 1, 1, 2, 2, 3, 4, 4, 5, 5], dtype="int64"),
        m_score=np.array([3, 1, 4, 1, 4, 2, 5, 3, 2, 5], dtype="int64"),
        fm_score=[2.0, 1.0, 2.5, 1.5, 3.0, 2.5, 4.5, 3.5, 3.5, 5.0],
    )
    pd.testing.assert_frame_equal(out, expected)


THRESHOLDS = {"recency_days": [30, 90, 180, 365], "frequency": [1, 2, 4, 8],
              "monetary": [50, 200, 500, 2000]}


def test_business_thresholds_score_ten_customers():
    out = rfm.add_scores(TEN, 5, "thresholds", THRESHOLDS)
    expected = TEN.assign(
        r_score=np.array([5, 5, 5, 5, 4, 4, 4, 3, 2, 2], dtype="int64"),
        f_score=np.array([1, 1, 1, 2, 2, 3, 3, 4, 4, 5], dtype="int64"),
        m_score=np.array([1, 1, 3, 1, 2, 1, 4, 2, 1, 3], dtype="int64"),
        fm_score=[1.0, 1.0, 2.0, 1.5, 2.0, 2.0, 3.5, 3.0, 2.5, 4.0],
    )
    pd.testing.assert_frame_equal(out, expected)
    pd.testing.assert_series_equal(rfm.levels_used(out),
                                   pd.Series({"r": 4, "f": 5, "m": 4}, name="levels"))


def test_threshold_and_method_errors_say_what_is_expected():
    short = {**THRESHOLDS, "frequency": [1, 2, 4]}
    with pytest.raises(ConfigError, match=re.escape(
            "rfm.thresholds.frequency must list 4 ascending edges for 5 levels, got [1, 2, 4]")):
        rfm.add_scores(TEN, 5, "thresholds", short)
    with pytest.raises(ConfigError, match=re.escape(
            "rfm.thresholds.recency_days must list 4 ascending edges for 5 levels, got None")):
        rfm.add_scores(TEN, 5, "thresholds")
    with pytest.raises(ConfigError, match="score_method must be one of recency_bands, quantile, thresholds, got 'rank'"):
        rfm.add_scores(TEN, 5, "rank")


# ----------------------------------------------------------------------- schemes


def scheme_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_built_in_schemes_load_with_their_report_order():
    en11 = rfm.load_scheme("en11")
    assert (en11.name, en11.type, en11.n_levels, len(en11.rules)) == ("en11", "score_grid", 5, 15)
    assert en11.order == ["champions", "loyal_customers", "potential_loyalist", "new_customers",
                          "promising", "need_attention", "about_to_sleep", "at_risk",
                          "cant_lose_them", "hibernating", "lost"]
    zh8 = rfm.load_scheme("zh8")
    assert (zh8.name, zh8.type, zh8.n_levels, len(zh8.rules)) == ("zh8", "high_low", 5, 8)
    assert zh8.order[:2] == ["important_value", "important_development"]


def test_a_custom_scheme_file_takes_its_name_levels_and_order(tmp_path):
    rules = [{"segment": "low", "r": [1, 2], "fm": [1, 5]},
             {"segment": "high", "r": [3, 5], "fm": [1, 5]}]
    path = scheme_file(tmp_path, "mine.yaml", "type: score_grid\nrules:\n"
                       "  - {segment: low, r: [1, 2], fm: [1, 5]}\n"
                       "  - {segment: high, r: [3, 5], fm: [1, 5]}\n")
    # no order given: the order in which the rules name the segments; five levels by default
    assert rfm.load_scheme(path) == rfm.Scheme("mine", "score_grid", rules, ["low", "high"], 5)
    ordered = scheme_file(tmp_path, "ordered.yml", "type: score_grid\norder: [high, low]\nrules:\n"
                          "  - {segment: low, r: [1, 2], fm: [1, 5]}\n"
                          "  - {segment: high, r: [3, 5], fm: [1, 5]}\n")
    assert rfm.load_scheme(ordered) == rfm.Scheme("ordered", "score_grid", rules, ["high", "low"], 5)


def test_a_three_level_scheme_is_checked_and_applied_on_three_levels(tmp_path):
    path = scheme_file(tmp_path, "three.yaml", "type: score_grid\nn_levels: 3\nrules:\n"
                       "  - {segment: top, r: [3, 3], fm: [1, 3]}\n"
                       "  - {segment: rest, r: [1, 2], fm: [1, 3]}\n")
    three = rfm.load_scheme(path)
    assert three.n_levels == 3
    scored = pd.DataFrame({"r_score": [3, 1], "fm_score": [1.5, 3.0]})
    assert rfm.assign_segments(scored, three).tolist() == ["top", "rest"]
    with pytest.raises(ConfigError, match="Scheme 'three' is defined for 3 score levels"):
        rfm.assign_segments(pd.DataFrame({"r_score": [4, 1], "fm_score": [1.0, 1.0]}), three)


def test_a_scheme_without_n_levels_means_five_levels():
    en11 = rfm.load_scheme("en11")
    plain = rfm.Scheme("plain", "score_grid", en11.rules, en11.order)
    rfm.validate_scheme(plain)  # the 5-level grid is covered: no error
    with pytest.raises(ConfigError, match="Scheme 'plain' is defined for"):
        rfm.assign_segments(pd.DataFrame({"r_score": [6], "fm_score": [1.0]}), plain)


def test_a_grid_scheme_error_lists_every_gap_and_overlap():
    rules = [{"segment": "low", "r": [1, 1], "fm": [1.5, 5]},
             {"segment": "mid", "r": [2, 4], "fm": [1, 5]},
             {"segment": "top", "r": [5, 5], "fm": [1, 4.5]},
             {"segment": "x", "r": [3, 3], "fm": [3, 3.5]}]
    msg = ("Segment scheme 'bad' is invalid. Cells with no rule: (R=1, FM=1.0), (R=5, FM=5.0). "
           "Cells with more than one rule: (R=3, FM=3.0): ['mid', 'x']; (R=3, FM=3.5): ['mid', 'x'].")
    with pytest.raises(ConfigError, match=f"^{re.escape(msg)}$"):
        rfm.validate_scheme(rfm.Scheme("bad", "score_grid", rules, [], 5))
    gaps_only = rules[:3]
    msg = "Segment scheme 'gappy' is invalid. Cells with no rule: (R=1, FM=1.0), (R=5, FM=5.0)."
    with pytest.raises(ConfigError, match=f"^{re.escape(msg)}$"):
        rfm.validate_scheme(rfm.Scheme("gappy", "score_grid", gaps_only, [], 5))
    overlaps_only = [{"segment": "all", "r": [1, 5], "fm": [1, 5]}, rules[3]]
    msg = ("Segment scheme 'twice' is invalid. Cells with more than one rule: "
           "(R=3, FM=3.0): ['all', 'x']; (R=3, FM=3.5): ['all', 'x'].")
    with pytest.raises(ConfigError, match=f"^{re.escape(msg)}$"):
        rfm.validate_scheme(rfm.Scheme("twice", "score_grid", overlaps_only, [], 5))


def test_a_high_low_scheme_error_names_the_missing_and_the_doubled_combination():
    combos = [(r, f, m) for r in ("high", "low") for f in ("high", "low") for m in ("high", "low")]
    rules = [{"segment": f"s{i}", "r": r, "f": f, "m": m} for i, (r, f, m) in enumerate(combos)]
    rules[-1] = {"segment": "dup", "r": "high", "f": "high", "m": "high"}
    msg = ("Segment scheme 'hl' is invalid. Cells with no rule: (R=low, F=low, M=low). "
           "Cells with more than one rule: (R=high, F=high, M=high): ['s0', 'dup'].")
    with pytest.raises(ConfigError, match=f"^{re.escape(msg)}$"):
        rfm.validate_scheme(rfm.Scheme("hl", "high_low", rules, []))
    with pytest.raises(ConfigError, match="type must be score_grid or high_low, got 'grid'"):
        rfm.validate_scheme(rfm.Scheme("g", "grid", rules, []))


def test_unknown_or_incomplete_schemes_are_refused_by_name(tmp_path):
    for name in ("labels", "actions", "en12"):
        msg = f"Unknown segment scheme '{name}'. Valid: en11, zh8 or a .yaml path"
        with pytest.raises(ConfigError, match=f"^{re.escape(msg)}$"):
            rfm.load_scheme(name)
    no_rules = scheme_file(tmp_path, "norules.yaml", "type: score_grid\n")
    with pytest.raises(ConfigError, match="Segment scheme 'norules' lacks the key 'rules'"):
        rfm.load_scheme(no_rules)
    no_type = scheme_file(tmp_path, "notype.yaml", "rules: []\n")
    with pytest.raises(ConfigError, match="Segment scheme 'notype' lacks the key 'type'"):
        rfm.load_scheme(no_type)


def test_labels_and_actions_default_to_english():
    assert rfm_text.label_table()["cant_lose_them"] == "Can't Lose Them"
    assert rfm_text.label_table("zh")["champions"] == "冠军客户"
    assert len(rfm_text.label_table()) == len(rfm_text.label_table("zh")) == 21
    assert rfm_text.action_table()["lost"] == "Do not spend; keep in a low-frequency newsletter."
    assert rfm_text.action_table("zh")["lost"] == "不再投入，仅保留低频资讯推送。"
    with pytest.raises(ConfigError, match="language must be 'en' or 'zh', got 'fr'"):
        rfm_text.label_table("fr")


# ----------------------------------------------------------------------- segments


def test_en11_segments_of_ten_scored_customers():
    # B's first purchase was 30 days ago, everyone else's 400: only B can be a New Customer
    scored = rfm.add_scores(TEN).assign(tenure_days=[400, 30, *[400] * 8])
    seg = rfm.assign_segments(scored, rfm.load_scheme("en11"))
    expected = pd.Series(["potential_loyalist", "new_customers", "potential_loyalist", "promising",
                          "loyal_customers", "need_attention", "at_risk", "at_risk", "at_risk",
                          "cant_lose_them"], index=list("ABCDEFGHIJ"), dtype="object")
    pd.testing.assert_series_equal(seg, expected)


def test_a_customer_no_rule_covers_has_no_segment():
    partial = rfm.Scheme("partial", "score_grid", [{"segment": "recent", "r": [4, 5], "fm": [1, 5]}],
                         ["recent"], 5)
    seg = rfm.assign_segments(pd.DataFrame({"r_score": [5, 2], "fm_score": [3.0, 3.0]}), partial)
    assert seg.iloc[0] == "recent" and seg.iloc[1] is pd.NA


def test_zh8_counts_a_value_equal_to_the_mean_as_high():
    # means: recency 20, frequency 2, monetary 20; u, v and x sit exactly on them
    scored = pd.DataFrame({"recency_days": [10, 20, 30, 20], "frequency": [2, 1, 3, 2],
                           "monetary": [20.0, 30.0, 10.0, 20.0]}, index=list("uvwx"))
    seg = rfm.assign_segments(scored, rfm.load_scheme("zh8"))
    expected = pd.Series(["important_value", "important_development", "general_retention",
                          "important_value"], index=list("uvwx"), dtype="object")
    pd.testing.assert_series_equal(seg, expected)


def test_zh8_against_the_median_differs_from_the_mean_on_skewed_spend():
    # medians: recency 50, frequency 2, monetary 20; means: 39, 3.4, 214
    scored = pd.DataFrame({"recency_days": [5, 10, 50, 60, 70], "frequency": [1, 1, 2, 3, 10],
                           "monetary": [10.0, 10.0, 20.0, 30.0, 1000.0]})
    zh8 = rfm.load_scheme("zh8")
    assert rfm.assign_segments(scored, zh8, "median").tolist() == [
        "general_development", "general_development", "important_value", "important_retention",
        "important_retention"]
    assert rfm.assign_segments(scored, zh8, "mean").tolist() == [
        "general_development", "general_development", "general_winback", "general_winback",
        "important_retention"]
    with pytest.raises(ConfigError, match="zh8_threshold must be 'mean' or 'median', got 'mode'"):
        rfm.assign_segments(scored, zh8, "mode")


# scores of TX's seven customers (quantile, five levels; score = 1 + floor(5 x worse / 7)):
#   R: strictly more recent than c, e, h, b, g, f, a: 0..6 of 7 -> 1, 1, 2, 3, 3, 4, 5
#   F: frequency 1 (b, c, g, h) -> 1; 2 (a, e) -> 3; 3 (f) -> 5
#   M: 0 < 7 < 10 < 15 < 35 < 60 < 100 -> h 1, c 1, f 2, e 3, a 3, g 4, b 5 (net zero scores lowest)
SCORED_TX = RFM_ALL_HISTORY.assign(
    r_score=np.array([5, 3, 1, 1, 4, 3, 2], dtype="int64"),
    f_score=np.array([3, 1, 1, 3, 5, 1, 1], dtype="int64"),
    m_score=np.array([3, 5, 1, 3, 2, 4, 1], dtype="int64"),
    fm_score=[3.0, 3.0, 1.0, 3.0, 3.5, 2.5, 1.0],
    # a, b, f and g first bought within new_customer_days (90) and sit in the new_only cells (R 3-5, FM <= 3.5)
    segment=pd.Series(["new_customers", "new_customers", "lost", "at_risk", "new_customers",
                       "new_customers", "hibernating"], dtype="object"),
)


def test_a_customer_who_only_returned_a_free_item_is_not_scored():
    # a $0.00 line with a negative quantity is a return (engine.purchase_line), not a purchase
    lines = TX.assign(quantity=1).copy()
    zero_return = pd.DataFrame({"customer_id": pd.array(["z"], dtype="string"), "order_id": ["99"],
                                "order_date": pd.to_datetime(["2024-03-20"]), "amount": [0.0], "quantity": [-1]})
    out = rfm.compute_rfm(pd.concat([lines, zero_return], ignore_index=True), "2024-03-31")
    assert "z" not in set(out["customer_id"]) and len(out) == len(RFM_ALL_HISTORY)


def test_score_customers_with_quantile_scores():
    pd.testing.assert_frame_equal(rfm.score_customers(TX, "2024-03-31", score_method="quantile"), SCORED_TX)


# The default (recency_bands): R from the days since the last purchase, 0 / 45 / 91 / 60 / 1 / 6 / 59 against
# the bands 30, 60, 90, 180 -> 5, 4, 2, 4, 5, 5, 4; F and M as above. Every first purchase but c's (91 days)
# is within new_customer_days (90), so every customer in the new_only cells (R 3-5, FM up to 3.5) is new;
# c (R 2, FM 1) is Hibernating.
SCORED_BANDS = SCORED_TX.assign(
    r_score=np.array([5, 4, 2, 4, 5, 5, 4], dtype="int64"),
    segment=pd.Series(["new_customers", "new_customers", "hibernating", "new_customers", "new_customers",
                       "new_customers", "new_customers"], dtype="object"),
)


def test_score_customers_with_the_default_settings():
    pd.testing.assert_frame_equal(rfm.score_customers(TX, "2024-03-31"), SCORED_BANDS)
    # with a new-customer window of 30 days, only f (21 days) and g (6) are new; a, b, e, h keep their cell's name
    short = rfm.score_customers(TX, "2024-03-31", new_customer_days=30)
    assert short["segment"].tolist() == ["potential_loyalist", "loyal_customers", "hibernating", "loyal_customers",
                                         "new_customers", "new_customers", "promising"]


def test_score_customers_passes_every_setting_on():
    out = rfm.score_customers(TX, "2024-03-31", scheme="zh8", score_method="thresholds",
                              thresholds={"recency_days": [7, 30, 60, 90], "frequency": [1, 2, 3, 4],
                                          "monetary": [5, 20, 50, 80]},
                              window_months=2, monetary="aov")
    # means over a, b, f, g, h: recency 22.2, frequency 1.4, order value 37.67
    expected = TWO_MONTHS.assign(monetary=[25.00, 100.00, 3.33, 60.00, 0.00], **{  # order value: f 10.00 / 3
        "r_score": np.array([5, 3, 5, 5, 3], dtype="int64"),
        "f_score": np.array([1, 1, 3, 1, 1], dtype="int64"),
        "m_score": np.array([3, 5, 1, 4, 1], dtype="int64"),
        "fm_score": [2.0, 3.0, 2.0, 2.5, 1.0],
        "segment": pd.Series(["general_development", "important_winback", "general_value",
                              "important_development", "general_winback"], dtype="object"),
    })
    pd.testing.assert_frame_equal(out, expected)
    median = rfm.score_customers(TX, "2024-03-31", scheme="zh8", zh8_threshold="median")
    # medians: recency 45, frequency 1, monetary 15
    assert median["segment"].tolist() == ["important_value", "important_value", "general_retention",
                                          "important_retention", "general_value", "important_value",
                                          "general_retention"]


# ----------------------------------------------------------------------- summary


SCORED_BY_HAND = pd.DataFrame({
    "customer_id": ["p", "q", "r", "s"],
    "recency_days": [1, 3, 20, 300],
    "frequency": [5, 4, 6, 1],
    "monetary": [100.10, 200.20, 300.30, 9.40],
    "segment": ["champions", "champions", "champions", "lost"],
})

EN11_LABELS = ["Champions", "Loyal Customers", "Potential Loyalist", "New Customers", "Promising",
               "Need Attention", "About To Sleep", "At Risk", "Can't Lose Them", "Hibernating",
               "Lost"]


def test_segment_summary_table_in_report_order():
    out = rfm_text.segment_summary(SCORED_BY_HAND)
    codes = rfm.load_scheme("en11").order
    nan = np.nan
    empty = [0] * 9
    actions = rfm_text.action_table("en")
    expected = pd.DataFrame({
        "segment_code": codes,
        "customers": np.array([3, *empty, 1], dtype="int64"),
        "share": [0.75, *empty, 0.25],
        "revenue": [600.60, *empty, 9.40],
        "revenue_share": [600.60 / 610.00, *empty, 9.40 / 610.00],
        "median_recency_days": [3.0, *[nan] * 9, 300.0],
        "max_recency_days": [20.0, *[nan] * 9, 300.0],
        "mean_recency_days": [8.0, *[nan] * 9, 300.0],
        "mean_frequency": [5.0, *[nan] * 9, 1.0],
        "mean_monetary": [200.20, *[nan] * 9, 9.40],
        "action": [actions[c] for c in codes],
    }, index=pd.Index(EN11_LABELS, name="segment"))
    pd.testing.assert_frame_equal(out, expected, check_index_type=False)
    assert out["customers"].dtype == np.int64
    assert out.loc["Champions", "action"] == (
        "Reward them; early access and referral asks. No discounts needed.")


def test_segment_summary_in_chinese():
    zh = rfm_text.segment_summary(SCORED_BY_HAND, "en11", "zh")
    assert zh.index[[0, -1]].tolist() == ["冠军客户", "已流失客户"]
    assert zh["action"].iloc[0] == "给予奖励、新品抢先体验和推荐邀请，无需折扣。"


def test_segment_summary_of_a_custom_scheme_keeps_unknown_keys_as_labels(tmp_path):
    path = scheme_file(tmp_path, "own.yaml", "type: score_grid\nrules:\n"
                       "  - {segment: vip, r: [4, 5], fm: [1, 5]}\n"
                       "  - {segment: champions, r: [1, 3], fm: [1, 5]}\n")
    own = rfm_text.segment_summary(SCORED_BY_HAND.assign(segment=["vip", "vip", "champions", "vip"]),
                              path)
    # a key without a label keeps its key as the label, and has no action
    assert own.index.tolist() == ["vip", "Champions"]
    assert own["action"].tolist() == ["", rfm_text.action_table()["champions"]]
    assert own["customers"].tolist() == [3, 1] and own["revenue"].tolist() == [309.70, 300.30]


def test_recent_segments_with_a_long_median_recency_are_flagged():
    summary = pd.DataFrame({
        "segment_code": ["champions", "loyal_customers", "new_customers", "potential_loyalist",
                         "at_risk", "important_value"],
        "customers": [3, 1, 2, 0, 5, 2],
        "share": [0.2, 0.1, 0.1, 0.0, 0.4, 0.2],
        "median_recency_days": [45.0, 31.0, 30.0, 120.0, 200.0, 60.0],
        "max_recency_days": [80.0, 31.0, 40.0, 150.0, 300.0, 90.0],
    }, index=["Champions", "Loyal", "New", "Potential", "At risk", "Important value"])
    out = rfm.recency_warnings(summary, 30)
    # above 30 days, named as recent, with customers; New sits exactly on the limit
    expected = summary.loc[["Champions", "Loyal", "Important value"],
                           ["segment_code", "customers", "median_recency_days", "max_recency_days"]]
    pd.testing.assert_frame_equal(out, expected)


# ----------------------------------------------------------------------- one month


PERIOD_TX = tx([
    ("p1", "o1", "2024-03-01 08:00", 10.10),   # first purchase ever, on the month's first day
    ("p1", "o2", "2024-03-31 22:00", 5.05),    # the month's last day
    ("p2", "o3", "2023-11-10", 20.00),
    ("p2", "o4", "2024-03-15", 7.77),          # returning
    ("p3", "o5", "2023-12-02", 3.00),          # + 90 days = 2024-03-01: lapses this month
    ("p4", "o6", "2024-01-01", 4.00),          # + 90 days = 2024-03-31: lapses this month
    ("p5", "o7", "2024-02-29 23:00", 1.00),    # + 30 days = 2024-03-30
    ("p5", "o8", "2024-04-01", 50.00),         # after the month: not counted
    ("p6", "o9", "2023-12-01", 2.00),          # + 90 days = 2024-02-29: lapsed last month
    ("p7", "o10", "2024-03-20", 0.333),        # two lines of one order
    ("p7", "o10", "2024-03-20", 0.333),
])


def test_one_month_of_activity_in_figures():
    # revenue 10.10 + 5.05 + 7.77 + 0.666 = 23.586 -> 23.59
    assert rfm.period_activity(PERIOD_TX, "2024-03") == {
        "period": "2024-03", "revenue": 23.59, "orders": 4, "active_customers": 3,
        "new_customers": 2, "returning_customers": 1, "lapsed_customers": 2, "lapse_days": 90}
    assert rfm.period_activity(PERIOD_TX, "2024-03-31", lapse_days=30) == {
        "period": "2024-03", "revenue": 23.59, "orders": 4, "active_customers": 3,
        "new_customers": 2, "returning_customers": 1, "lapsed_customers": 1, "lapse_days": 30}


# ----------------------------------------------------------------------- migration


ORDER = ["champions", "at_risk", "lost", "hibernating"]
PREVIOUS = pd.DataFrame({"customer_id": ["1", "2", "3", "4", "5", "6"],
                         "segment": ["champions", "champions", "at_risk", "at_risk", "lost",
                                     "champions"]})
CURRENT = pd.DataFrame({"customer_id": ["1", "2", "3", "4", "7", "8", "9"],
                        "segment": ["champions", "at_risk", "champions", "lost", "lost",
                                    "champions", "champions"]})
MATRIX = pd.DataFrame(
    [[1, 1, 0, 0, 1],    # champions: 1 stays, 2 -> at_risk, 6 gone
     [1, 0, 1, 0, 0],    # at_risk: 3 -> champions, 4 -> lost
     [0, 0, 0, 0, 1],    # lost: 5 gone
     [0, 0, 0, 0, 0],    # hibernating: nobody
     [2, 0, 1, 0, 0]],   # new: 8 and 9 champions, 7 lost
    index=pd.Index([*ORDER, "new_this_period"], name="prev"),
    columns=pd.Index([*ORDER, "no_longer_active"], name="curr"),
)


def test_migration_matrix_counts_moves_new_and_gone_customers():
    out = rfm.migration_matrix(PREVIOUS, CURRENT, ORDER)
    pd.testing.assert_frame_equal(out, MATRIX, check_index_type=False, check_column_type=False)
    assert (out.dtypes == np.int64).all()


def test_net_migration_is_entries_minus_exits_off_the_diagonal():
    out = rfm.net_migration(MATRIX, [*ORDER, "new_this_period", "no_longer_active", "vip"])
    expected = pd.Series({"champions": 1, "at_risk": -1, "lost": 1, "hibernating": 0,
                          "new_this_period": -3, "no_longer_active": 2, "vip": 0},
                         name="net_migration", dtype="int64")
    pd.testing.assert_series_equal(out, expected)
    pd.testing.assert_series_equal(rfm.net_migration(MATRIX, []),
                                   pd.Series({}, name="net_migration", dtype="int64"))


def test_row_percentages_of_the_migration_matrix():
    third, two_thirds = 33.3, 66.7
    expected = pd.DataFrame(
        [[third, third, 0.0, 0.0, third],
         [50.0, 0.0, 50.0, 0.0, 0.0],
         [0.0, 0.0, 0.0, 0.0, 100.0],
         [0.0, 0.0, 0.0, 0.0, 0.0],
         [two_thirds, 0.0, third, 0.0, 0.0]],
        index=MATRIX.index, columns=MATRIX.columns)
    pd.testing.assert_frame_equal(rfm.row_percentages(MATRIX), expected)


def test_largest_movements_as_sentences():
    assert rfm_text.top_movements(MATRIX) == [
        "2 (new this period) moved to Champions",
        "1 Champions moved to At Risk",
        "1 Champions moved to (no longer active)",
        "1 At Risk moved to Champions",
        "1 At Risk moved to Lost",
    ]
    assert rfm_text.top_movements(MATRIX, "en", n=10)[5:] == [
        "1 Lost moved to (no longer active)", "1 (new this period) moved to Lost"]
    assert rfm_text.top_movements(MATRIX, "zh", n=1) == ["2 位客户从（本期新增）变为冠军客户"]
    own = pd.DataFrame([[0, 1234], [5, 0]], index=["vip", "rest"], columns=["vip", "rest"])
    assert rfm_text.top_movements(own) == ["1,234 vip moved to rest", "5 rest moved to vip"]


def test_equal_movements_keep_the_matrix_order():
    # 20 different moves of one customer each: the first five in row order are listed
    codes = rfm.load_scheme("en11").order
    moves = [(a, b) for a in codes for b in codes if a != b][:20]
    prev = pd.DataFrame({"customer_id": [str(i) for i in range(20)], "segment": [a for a, _ in moves]})
    curr = pd.DataFrame({"customer_id": [str(i) for i in range(20)], "segment": [b for _, b in moves]})
    labels = rfm_text.label_table()
    assert rfm_text.top_movements(rfm.migration_matrix(prev, curr, codes)) == [
        f"1 {labels[a]} moved to {labels[b]}" for a, b in moves[:5]]


# ----------------------------------------------------------------------- export


def test_mask_ids_uses_the_given_key():
    key = b"a-key-of-at-least-some-length-0123456789"
    out = rfm.mask_ids(pd.Series(["a", "b"]), key)
    assert out.tolist() == [hmac.new(key, v, hashlib.sha256).hexdigest()[:16] for v in (b"a", b"b")]


def test_activation_export_has_one_row_per_customer_for_a_marketing_tool():
    scored = pd.DataFrame({
        "customer_id": ["x", "y", "z"], "recency_days": [1, 300, 7], "frequency": [9, 1, 2],
        "monetary": [500.0, 5.0, 40.0], "r_score": [5, 1, 4], "f_score": [5, 1, 3],
        "m_score": [5, 1, 3], "fm_score": [5.0, 1.0, 3.0], "first_purchase": pd.NaT,
        "segment": ["champions", "lost", "vip"]})
    out = rfm_text.activation_export(scored, "2024-03")
    expected = scored.drop(columns=["fm_score", "first_purchase", "segment"]).assign(
        segment_code=pd.array(["champions", "lost", "vip"], dtype="string"),
        segment=["Champions", "Lost", "vip"],
        action=[rfm_text.action_table()["champions"], rfm_text.action_table()["lost"], ""],
        period="2024-03")
    pd.testing.assert_frame_equal(out, expected)
    zh = rfm_text.activation_export(scored, "2024-03", "zh")
    assert zh["segment"].tolist() == ["冠军客户", "已流失客户", "vip"]
    assert zh["action"].tolist() == [rfm_text.action_table("zh")["champions"],
                                     rfm_text.action_table("zh")["lost"], ""]

"""RFM: definitions on hand-made customers, tie handling, schemes, migration."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from customer_analytics.core.errors import ConfigError
from customer_analytics.models import rfm
from customer_analytics.report.text import rfm as rfm_text


def tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"]).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"], format="ISO8601"))


HAND = tx([
    ("a", "1", "2024-01-01 09:00", 10.0),
    ("a", "2", "2024-03-31 23:59", 20.0),  # last day of the period, late in the day
    ("a", "2", "2024-03-31 23:59", 5.0),   # second line of the same order
    ("b", "3", "2024-02-15", 100.0),
    ("c", "4", "2024-04-01 00:01", 50.0),  # after as_of: never counted
    ("c", "5", "2023-12-31", 7.0),
    ("d", "6", "2024-03-01", -5.0),        # net negative: not scored
])


def test_definitions_on_hand_made_customers():
    r = rfm.compute_rfm(HAND, "2024-03-31").set_index("customer_id")
    assert list(r.index) == ["a", "b", "c"]
    assert r.loc["a", "recency_days"] == 0          # calendar dates: same day = 0
    assert r.loc["a", "frequency"] == 2             # distinct orders, not lines
    assert r.loc["a", "monetary"] == 35.0
    assert r.loc["a", "tenure_days"] == 90
    assert r.loc["b", "recency_days"] == 45
    assert r.loc["c", "monetary"] == 7.0            # the April purchase is after as_of
    assert r.loc["c", "recency_days"] == 91


def test_recency_uses_calendar_dates_not_timestamps():
    t = tx([("a", "1", "2024-03-30 23:59", 1.0), ("b", "2", "2024-03-30 00:01", 1.0)])
    r = rfm.compute_rfm(t, "2024-03-31").set_index("customer_id")
    assert r.loc["a", "recency_days"] == r.loc["b", "recency_days"] == 1


def test_window_months_and_aov():
    r = rfm.compute_rfm(HAND, "2024-03-31", window_months=2).set_index("customer_id")
    assert set(r.index) == {"a", "b"}                # c's only purchase in window is after as_of
    assert r.loc["a", "frequency"] == 1 and r.loc["a", "monetary"] == 25.0
    aov = rfm.compute_rfm(HAND, "2024-03-31", monetary="aov").set_index("customer_id")
    assert aov.loc["a", "monetary"] == 17.5


def test_back_dated_report_ignores_later_purchases():
    early = rfm.compute_rfm(HAND, "2024-02-29").set_index("customer_id")
    assert early.loc["a", "frequency"] == 1 and early.loc["a", "monetary"] == 10.0


def test_equal_values_get_equal_scores_and_scores_are_ordered():
    freq = pd.Series([1] * 40 + [2] * 30 + [3] * 20 + [10] * 10)
    s = rfm.quantile_scores(freq, 5)
    assert s.groupby(freq).nunique().eq(1).all()
    assert s.groupby(freq).first().is_monotonic_increasing
    assert s.min() == 1 and s.max() <= 5 and s[freq == 10].iloc[0] == 5


def test_heavy_ties_leave_fewer_levels_but_valid_scores():
    freq = pd.Series([1] * 70 + [2] * 30)
    s = rfm.quantile_scores(freq, 5)
    assert set(s) == {1, 4}
    scored = rfm.add_scores(pd.DataFrame({"recency_days": range(100), "frequency": freq,
                                          "monetary": np.linspace(1, 100, 100)}))
    assert rfm.levels_used(scored).to_dict() == {"r": 5, "f": 2, "m": 5}


def test_recency_is_reversed():
    s = rfm.quantile_scores(pd.Series([0, 10, 100, 1000, 5000]), 5, higher_is_better=False)
    assert s.tolist() == [5, 4, 3, 2, 1]


def test_fixed_thresholds():
    scored = rfm.add_scores(pd.DataFrame({"recency_days": [5, 30, 31, 400], "frequency": [1, 2, 5, 9],
                                          "monetary": [10, 100, 1000, 10000]}), 5, "thresholds",
                            {"recency_days": [30, 90, 180, 365], "frequency": [1, 2, 4, 8],
                             "monetary": [50, 200, 500, 2000]})
    assert scored["r_score"].tolist() == [5, 5, 4, 1]
    assert scored["f_score"].tolist() == [1, 2, 4, 5]
    with pytest.raises(ConfigError, match="4 ascending edges"):
        rfm.add_scores(scored, 5, "thresholds", {"recency_days": [1, 2]})


def test_en11_covers_every_cell_once_and_every_segment_is_reachable():
    scheme = rfm.load_scheme("en11")
    rfm.validate_scheme(scheme)  # raises on gaps or overlaps
    cells = pd.DataFrame([(r, f, m, d) for r, f, m in itertools.product(range(1, 6), repeat=3) for d in (30, 400)],
                         columns=["r_score", "f_score", "m_score", "tenure_days"])
    cells["fm_score"] = (cells["f_score"] + cells["m_score"]) / 2
    seg = rfm.assign_segments(cells, scheme)
    assert seg.notna().all()
    assert set(seg) == set(scheme.order) and len(scheme.order) == 11
    assert (seg[(cells["r_score"] == 1) & (cells["fm_score"] >= 4)] == "cant_lose_them").all()
    # New Customers only when the first purchase is within rfm.new_customer_days (90): never at 400 days
    assert not (seg[cells["tenure_days"] == 400] == "new_customers").any()
    assert (seg[(cells["tenure_days"] == 30) & (cells["r_score"] == 5) & (cells["fm_score"] == 1)] == "new_customers").all()
    assert (seg[(cells["tenure_days"] == 400) & (cells["r_score"] == 5) & (cells["fm_score"] == 1)] == "promising").all()


def test_overlapping_or_gappy_custom_rules_name_the_cells(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("type: score_grid\nrules:\n  - {segment: all, r: [1, 5], fm: [1, 5]}\n"
                   "  - {segment: top, r: [5, 5], fm: [5, 5]}\n")
    with pytest.raises(ConfigError, match=r"more than one rule: \(R=5, FM=5.0\): \['all', 'top'\]"):
        rfm.load_scheme(str(bad))
    gap = tmp_path / "gap.yaml"
    gap.write_text("type: score_grid\nrules:\n  - {segment: most, r: [1, 4], fm: [1, 5]}\n")
    with pytest.raises(ConfigError, match=r"no rule: \(R=5, FM=1.0\)"):
        rfm.load_scheme(str(gap))
    good = tmp_path / "good.yaml"
    good.write_text("type: high_low\nrules:\n" + "".join(
        f"  - {{segment: s{i}, r: {r}, f: {f}, m: {m}}}\n"
        for i, (r, f, m) in enumerate(itertools.product(["high", "low"], repeat=3))))
    assert rfm.load_scheme(str(good)).type == "high_low"


def test_zh8_recent_customers_are_r_high():
    # mean recency = 127.5 days: 10 days is recent (R high); 200 and 290 days are not (R low)
    scored = pd.DataFrame({"customer_id": ["recent_big", "old_big", "recent_small", "old_small"],
                           "recency_days": [10, 290, 10, 200], "frequency": [10, 10, 1, 1],
                           "monetary": [1000.0, 1000.0, 10.0, 10.0]})
    seg = rfm.assign_segments(scored, rfm.load_scheme("zh8")).tolist()
    assert seg == ["important_value", "important_retention", "general_development", "general_winback"]
    labels = rfm_text.label_table("zh")
    assert [labels[s] for s in seg] == ["重要价值客户", "重要保持客户", "一般发展客户", "一般挽留客户"]


def test_every_segment_has_labels_and_actions_in_both_languages():
    for scheme in ("en11", "zh8"):
        for seg in rfm.load_scheme(scheme).order:
            for lang in ("en", "zh"):
                assert rfm_text.label_table(lang)[seg] and rfm_text.action_table(lang)[seg]


def test_two_period_migration_adds_up(cleaned_sample):
    clean = cleaned_sample.data
    prev = rfm.score_customers(clean, "2025-11-30", window_months=12)
    curr = rfm.score_customers(clean, "2025-12-31", window_months=12)
    m = rfm.migration_matrix(prev, curr, rfm.load_scheme("en11").order)
    new = len(set(curr["customer_id"]) - set(prev["customer_id"]))
    gone = len(set(prev["customer_id"]) - set(curr["customer_id"]))
    assert m.loc[rfm.NEW].sum() == new > 0
    assert m[rfm.GONE].sum() == gone > 0
    assert m.drop(index=rfm.NEW).sum(axis=1).sum() == len(prev)     # rows: previous active customers
    assert m.to_numpy().sum() == len(prev) + new                     # plus the new ones
    assert m.drop(columns=rfm.GONE).sum().sum() == len(curr)
    pct = rfm.row_percentages(m)
    assert np.allclose(pct[m.sum(axis=1) > 0].sum(axis=1), 100, atol=0.6)
    sentence = rfm_text.top_movements(m)[0]
    assert " moved to " in sentence and sentence.split()[0].replace(",", "").isdigit()


def test_ids_are_stable_between_months(cleaned_sample):
    clean = cleaned_sample.data
    nov = set(rfm.compute_rfm(clean, "2025-11-30")["customer_id"])
    dec = set(rfm.compute_rfm(clean, "2025-12-31")["customer_id"])
    assert nov <= dec  # all-history window: nobody disappears, the same ids recur


def test_mask_ids_is_stable_keyed_and_hides_the_id(monkeypatch):
    monkeypatch.setenv("CUSTOMER_ANALYTICS_MASK_KEY", "f778d3cdb650db2db59ed0386f34fc9b8e1241d641540a50430908438c01f071")
    s = rfm.mask_ids(pd.Series(["12346", "12347", "12346"]))
    assert s[0] == s[2] != s[1] and "12346" not in s[0] and len(s[0]) == 16
    monkeypatch.setenv("CUSTOMER_ANALYTICS_MASK_KEY", "69ca7d22f1b1444b930b36d133db331b88c361159c1a3484c0db47545f497915")
    assert rfm.mask_ids(pd.Series(["12346"]))[0] != s[0]  # without the key the hash cannot be recomputed


def test_activation_export_columns(sample):
    scored = rfm.add_scores(rfm.compute_rfm(HAND, "2024-03-31"))
    scored["segment"] = "champions"
    out = rfm_text.activation_export(scored, "2024-03")
    assert list(out.columns) == ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
                                 "m_score", "segment_code", "segment", "action", "period"]
    assert out["segment"].iloc[0] == "Champions" and out["segment_code"].iloc[0] == "champions" and out["period"].iloc[0] == "2024-03"


def test_cjk_font_is_found_and_renders_chinese_without_missing_glyphs(recwarn):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from customer_analytics.report import charts

    assert charts.cjk_font_path().exists()
    charts.setup_plots("zh")
    fig, ax = plt.subplots()
    ax.set_title("重要价值客户 · Champions")
    fig.canvas.draw()
    plt.close(fig)
    missing = [str(w.message) for w in recwarn if "missing from font" in str(w.message)]
    assert not missing, missing


def reference_rfm(tx: pd.DataFrame, as_of: str, window_months: int | None = None) -> pd.DataFrame:
    """A plain pandas statement of the definitions, to check the DuckDB query against."""
    end = pd.Timestamp(as_of)
    day = tx["order_date"].dt.normalize()
    keep = day <= end
    if window_months:
        keep &= day > end - pd.DateOffset(months=window_months)
    t = tx[keep].assign(day=day[keep], cents=(tx.loc[keep, "amount"] * 100).round().astype("int64"))
    g = t.groupby("customer_id")
    out = pd.DataFrame({"first_purchase": g["day"].min(), "last_purchase": g["day"].max(),
                        "frequency": g["order_id"].nunique(), "monetary": g["cents"].sum() / 100})
    out = out[out["monetary"] > 0]
    out["recency_days"] = (end - out["last_purchase"]).dt.days
    out["tenure_days"] = (end - out["first_purchase"]).dt.days
    return out.reset_index()


@pytest.mark.parametrize("window", [None, 6])
def test_compute_rfm_matches_the_pandas_statement_of_the_definitions(cleaned_sample, window):
    clean = cleaned_sample.data
    got = rfm.compute_rfm(clean, "2025-10-31", window_months=window)
    want = reference_rfm(clean, "2025-10-31", window)
    assert got["customer_id"].tolist() == want["customer_id"].tolist() == sorted(want["customer_id"])
    for col in ("recency_days", "frequency", "tenure_days"):
        assert got[col].tolist() == want[col].tolist(), col
    assert np.allclose(got["monetary"], want["monetary"], atol=1e-9)
    assert (got["last_purchase"] == want["last_purchase"]).all()

"""The clustering report in words: the k rule's reason, tables and summary in both languages."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from customer_analytics.models import clustering
from customer_analytics.report import narrative
from customer_analytics.report.formatting import format_table
from customer_analytics.report.text import clustering as cluster_text

HAN = re.compile(r"[\u4e00-\u9fff]")


def table(sil, ari, share):
    return pd.DataFrame({"silhouette": sil, "stability_ari": ari, "min_share": share, "stability_ari_min": ari,
                         "inertia": 1.0}, index=pd.Index([3, 4, 5], name="k"))


CASES = {
    "won": dict(t=table([0.40, 0.50, 0.45], [0.5, 0.95, 0.9], [0.1, 0.1, 0.01])),
    "tie": dict(t=table([0.405, 0.40, 0.30], [0.95, 0.9, 0.9], [0.1, 0.1, 0.1])),
    "none": dict(t=table([0.4, 0.5, 0.6], [0.5, 0.6, 0.7], [0.1, 0.1, 0.1])),
    "fixed": dict(t=table([0.4, 0.5, 0.6], [0.5, 0.6, 0.7], [0.1, 0.1, 0.1]), fixed=5),
}


@pytest.mark.parametrize("case", CASES)
def test_the_reason_reads_the_same_in_english_and_is_chinese_in_zh(case):
    c = clustering.choose_k(CASES[case]["t"], fixed=CASES[case].get("fixed"))
    assert cluster_text.choice_reason(c, "en") == cluster_text.choice_reason(c)
    zh = cluster_text.choice_reason(c, "zh")
    assert HAN.search(zh) and f"k = {c.k}" in zh
    assert not re.search(r"\b(meets|unstable|the bar|won)\b", zh), zh


def test_reason_names_the_winner_the_ineligible_k_and_the_bar():
    c = clustering.choose_k(CASES["won"]["t"])
    assert c.k == 4 and c.recommended
    assert cluster_text.choice_reason(c).startswith("k = 4 won: of the k that meet the bar (k = 4), it has the highest silhouette (0.500)")
    assert "Not eligible: k = 3 (unstable); k = 5 (a cluster below 2%)." in cluster_text.choice_reason(c)
    assert cluster_text.choice_reason(c).endswith("The bar: clusters stable under resampling (mean ARI at least 0.8) and a smallest "
                             "cluster of at least 2% of customers.")
    assert "k = 3（不稳定）" in cluster_text.choice_reason(c, "zh")


def test_k_table_marks_the_chosen_k_and_formats_shares_as_percentages():
    c = clustering.choose_k(CASES["won"]["t"])
    for lang, chosen, small in (("en", "chosen · meets the bar", "a cluster below 2%"), ("zh", "选定 · 达标", "有群组低于 2%")):
        view = cluster_text.k_table(c, lang)
        assert list(view["verdict"])[1] == chosen and list(view["verdict"])[2] == small
        html = format_table(view, language=lang, labels=cluster_text.table_labels(lang)).to_html()
        assert "10.0%" in html and "1.0%" in html and "0.1" not in re.sub(r"<[^>]+>", " ", html).split()
        assert cluster_text.table_labels(lang)["min_share"] in html
    assert "最小群组占比" in cluster_text.table_labels("zh")["min_share"]


def test_profile_and_cutoff_tables_have_no_index_and_words_in_both_languages():
    prof = pd.DataFrame({"customers": [300, 100], "share": [0.75, 0.25], "revenue_share": [0.4, 0.6],
                         "median_recency_days": [20.0, 300.0], "median_frequency": [5.0, 1.0],
                         "median_monetary": [250.0, 20.0]}, index=pd.Index([0, 1], name="cluster"))
    names = {0: "recent · frequent · high spend", 1: "<b>x</b>"}
    view = cluster_text.profile_table(prof, names)
    html = format_table(view, currency="£", labels=cluster_text.table_labels("en")).to_html()
    assert "75.0%" in html and "£250.00" in html and "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "Share of revenue" in html and "Median days since last purchase" in html
    cut = pd.DataFrame({"low": [30.0, 1, 12.5], "high": [120.0, 4, 150.0]}, index=clustering.BASE_FEATURES)
    cut.attrs.update(q_low=0.25, q_high=0.75)
    labels = cluster_text.table_labels("zh", cut)
    assert (labels["low"], labels["high"], labels["rule"], labels["above"]) == ("下分界值", "上分界值", "规则", "高")
    cv = cluster_text.cutoff_table(cut, "zh", "£")
    assert list(cv["high"]) == ["120", "4", "£150.00"] and cv["feature"].str.contains(HAN).all()
    assert cv["rule"].tolist() == ["固定天数：不超过下分界值为低，超过上分界值为高",
                                   *["全部客户的百分位（第 25、第 75）：不高于下分界值为低，不低于上分界值为高"] * 2]


def test_name_change_templates_come_from_the_catalog():
    assert cluster_text.change_text("zh")["new"].startswith("群组 {cid}")
    assert set(cluster_text.change_text("en")) == set(cluster_text.CHANGE_PARTS)


PROFILE = pd.DataFrame({"customers": [600, 300, 100], "share": [0.6, 0.3, 0.1], "revenue_share": [0.2, 0.7, 0.1]},
                       index=pd.Index([0, 1, 2], name="cluster"))
NAMES = {0: "lapsed · one-off · low spend", 1: "recent · frequent · <high> spend", 2: "fading · occasional · mid spend"}


def bullets(language="en", recommended=True, changes=None, ari_rfm=0.2):
    quality = narrative.ClusteringQuality(k=3, recommended=recommended, silhouette=0.4567, stability_ari=0.93,
                                          min_share=0.02, ari_rfm=ari_rfm)
    return narrative.clustering_bullets(quality, PROFILE, NAMES, changes, language=language)


def test_summary_names_the_top_cluster_and_gives_the_decision_and_next_step():
    b = bullets()
    assert 3 <= len(b) <= 6
    assert "**3 customer groups** among 1,000 customers (silhouette 0.46, stability 0.93" in b[0]
    assert "recent · frequent · &lt;high&gt; spend" in b[1] and "70.0% of revenue from 30.0% of customers" in b[1]
    assert "first month" in b[2]
    assert b[3].startswith("**Decision:**") and "used for targeting" in b[3]
    assert b[4].startswith("**Next:**") and "ARI 0.20" in b[4] and "&lt;high&gt;" in b[4]
    assert "cross-check" in bullets(ari_rfm=0.8)[4]


def test_summary_when_the_clusters_fail_the_bar_recommends_the_rfm_segments():
    b = bullets(recommended=False, changes=[])
    assert "do not meet the bar" in b[3] and "RFM segments" in b[4] and "kept its id and name" in b[2]
    assert "2 clusters changed their name" in bullets(changes=["a", "b"])[2]
    assert bullets(changes=["a"])[2].startswith("1 cluster changed its name")


def test_summary_in_chinese():
    b = bullets("zh", changes=["a"])
    assert all(HAN.search(x) for x in b)
    assert "决策" in b[3] and "下一步" in b[4] and "1 个群组改名" in b[2]


def test_fit_note_in_the_report_language():
    fitted = clustering.ClusterFit(None, np.array([0, -1, -1, 0]), pd.DataFrame(), 1, "hdbscan", "x")
    assert cluster_text.fit_note(fitted, None, 4, "en") == "HDBSCAN left 50.0% of customers as noise (cluster -1)."
    assert HAN.search(cluster_text.fit_note(fitted, None, 4, "zh"))
    plain = clustering.ClusterFit(None, np.array([0, 1]), pd.DataFrame(), 2, "kmeans", "")
    assert cluster_text.fit_note(plain, None, 2) == ""


def test_name_change_sentence_shows_spend_with_the_currency():
    row = {"median_recency_days": 50, "median_frequency": 1, "median_monetary": 12.0, "recency_days_level": "mid",
           "frequency_level": "low", "monetary_level": "mid"}
    prev = pd.DataFrame([row])
    cur = prev.assign(median_monetary=10.0, monetary_level="low")
    cut = pd.DataFrame({"low": [30.0, 1, 11.5], "high": [120.0, 4, 150.0]}, index=clustering.BASE_FEATURES)
    cut.attrs.update(q_low=0.25, q_high=0.75)
    assert "(median spend £12.00 → £10.00, now at or below the 25th percentile of customers (£11.50))" in \
        cluster_text.name_changes(cur, prev, cut, language="en", currency="£")[0]


def test_segments_table_follows_the_scheme_order():
    ct = pd.DataFrame([[1, 2, 3]], index=pd.Index([0], name="cluster"), columns=["Lost", "Champions", "At Risk"])
    view = cluster_text.segments_table(ct, {0: "a"}, ["Champions", "At Risk"])
    assert list(view.columns) == ["cluster", "Champions", "At Risk", "Lost"] and view.loc[0, "cluster"] == "0: a"

"""Clustering output checked exactly: the tables, sentences, saved files and charts a reader sees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_analytics.core.errors import ConfigError
from customer_analytics.models import cluster_naming, clustering
from customer_analytics.report.plotting import clustering as cluster_plots
from customer_analytics.report.text import clustering as cluster_text

HIGH, LOW = "high", "low"


def cutoffs(q_low=0.2, q_high=0.9, low=(30.0, 1.0, 12.5), high=(120.0, 4.0, 150.0)):
    cut = pd.DataFrame({"low": list(low), "high": list(high)}, index=clustering.BASE_FEATURES)
    if q_low is not None:
        cut.attrs.update(q_low=q_low, q_high=q_high)
    return cut


def levels(rows: dict[int, tuple]) -> pd.DataFrame:
    """name_levels-shaped table from {cluster: (rec, freq, mon, rec_level, freq_level, mon_level)}."""
    cols = [f"median_{c}" for c in clustering.BASE_FEATURES] + [f"{c}_level" for c in clustering.BASE_FEATURES]
    out = pd.DataFrame([list(v) for v in rows.values()], columns=cols,
                       index=pd.Index(list(rows), name="cluster"))
    return out


# ------------------------------------------------------------------ summaries in one line


def test_k_search_summary_prints_how_it_was_measured_then_the_table_to_three_decimals():
    table = pd.DataFrame({"silhouette": [0.41234, 0.5], "stability_ari": [0.9, 0.85],
                          "stability_ari_min": [0.8, 0.7], "min_share": [0.1, 0.05], "inertia": [1.0, 0.5]},
                         index=pd.Index([3, 4], name="k"))
    s = clustering.KSearch(table, None, {}, 12_345, 1_000, 800, 500, 5, 0.8, 42)
    assert s.summary() == (
        "k search on 1,000 of 12,345 customers; silhouette on 500; stability: 5 refits on 80% subsamples of "
        "800 customers\n"
        "   silhouette  stability_ari  stability_ari_min  min_share  inertia\n"
        "k                                                                  \n"
        "3       0.412           0.90                0.8       0.10      1.0\n"
        "4       0.500           0.85                0.7       0.05      0.5")


def test_k_choice_summary_says_whether_the_clusters_are_recommended(monkeypatch):
    reasons = {4: "k = 4 won.", 3: "No k meets the bar."}
    monkeypatch.setattr(cluster_text, "choice_reason", lambda choice, language="en": reasons[choice.k])
    yes = clustering.KChoice(4, True, pd.DataFrame())
    no = clustering.KChoice(3, False, pd.DataFrame())
    assert cluster_text.choice_summary(yes) == "k = 4 (recommended). k = 4 won."
    assert cluster_text.choice_summary(no) == "k = 3 (NOT recommended). No k meets the bar."


# ------------------------------------------------------------------ tables of the report


def test_table_headers_in_english_by_default_name_the_cutoffs_and_their_rule():
    assert cluster_text.table_labels() == {
        "k": "k", "silhouette": "Silhouette (higher = better separated)", "stability_ari": "Stability: mean ARI",
        "stability_ari_min": "Stability: worst refit", "min_share": "Smallest cluster's share",
        "verdict": "Verdict", "cluster": "Cluster", "moved": "Centre moved (log units)", "feature": "Measure",
        "between": "In between", "name": "Name", "customers": "Customers", "share": "Share of customers",
        "revenue_share": "Share of revenue", "median_recency_days": "Median days since last purchase",
        "median_frequency": "Median orders", "median_monetary": "Median spend"}
    # recency's cut-offs are days and F/M's percentiles: the headers are neutral, the rule column says which
    labels = cluster_text.table_labels(cut=cutoffs(0.2, 0.9))
    assert {k: labels[k] for k in ("low", "high", "rule", "below", "between", "above")} == {
        "low": "Lower cut-off", "high": "Upper cut-off", "rule": "Rule", "below": "Low", "between": "Mid",
        "above": "High"}


def test_table_headers_in_chinese():
    assert cluster_text.table_labels("zh", cutoffs(0.2, 0.9)) == {
        "k": "k", "silhouette": "轮廓系数（越高区分越好）", "stability_ari": "稳定性：平均 ARI",
        "stability_ari_min": "稳定性：最差一次", "min_share": "最小群组占比", "verdict": "结论",
        "cluster": "群组", "moved": "中心移动距离（对数单位）", "feature": "指标",
        "name": "名称", "customers": "客户数", "share": "客户占比", "revenue_share": "收入占比",
        "median_recency_days": "距上次购买天数中位数", "median_frequency": "订单数中位数",
        "median_monetary": "消费额中位数", "low": "下分界值", "high": "上分界值", "rule": "规则",
        "below": "低", "between": "中", "above": "高"}


def k_search_table():
    return pd.DataFrame({"silhouette": [0.40, 0.50, 0.45, 0.30], "stability_ari": [0.79, 0.80, 0.95, 0.9],
                         "stability_ari_min": [0.5, 0.6, 0.7, 0.8], "min_share": [0.10, 0.02, 0.019, 0.3],
                         "inertia": [1.0, 0.9, 0.8, 0.7]}, index=pd.Index([3, 4, 5, 6], name="k"))


def test_k_table_counts_a_k_exactly_on_the_bar_as_meeting_it_and_marks_the_chosen_k():
    choice = clustering.choose_k(k_search_table())
    assert choice.k == 4
    expected = pd.DataFrame({
        "k": [3, 4, 5, 6], "silhouette": [0.40, 0.50, 0.45, 0.30], "stability_ari": [0.79, 0.80, 0.95, 0.9],
        "stability_ari_min": [0.5, 0.6, 0.7, 0.8], "min_share": [0.10, 0.02, 0.019, 0.3],
        "verdict": ["unstable", "chosen · meets the bar", "a cluster below 2%", "meets the bar"]})
    pd.testing.assert_frame_equal(cluster_text.k_table(choice), expected)
    zh = cluster_text.k_table(choice, "zh")
    assert list(zh["verdict"]) == ["不稳定", "选定 · 达标", "有群组低于 2%", "达标"]


def test_profile_table_lists_each_cluster_with_its_name_and_noise_for_unnamed_ones():
    prof = pd.DataFrame({"customers": [300, 100, 50], "share": [0.6667, 0.2222, 0.1111],
                         "revenue_share": [0.4, 0.5, 0.1], "median_recency_days": [20.0, 300.0, 90.0],
                         "median_frequency": [5.0, 1.0, 2.0], "median_monetary": [250.0, 20.0, 60.5]},
                        index=pd.Index([-1, 0, 1], name="cluster"))
    expected = pd.DataFrame({
        "cluster": [-1, 0, 1], "name": ["noise", "a", "b"], "customers": [300, 100, 50],
        "share": [0.6667, 0.2222, 0.1111], "revenue_share": [0.4, 0.5, 0.1],
        "median_recency_days": [20.0, 300.0, 90.0], "median_frequency": [5.0, 1.0, 2.0],
        "median_monetary": [250.0, 20.0, 60.5]})
    pd.testing.assert_frame_equal(cluster_text.profile_table(prof, {0: "a", 1: "b"}), expected)


def test_cutoff_table_in_english_by_default_with_plain_numbers_and_no_currency():
    cut = cutoffs(low=(30.5, 1.0, 12.5), high=(120.0, 4.0, 1500.0))
    expected = pd.DataFrame({
        "feature": ["days since last purchase (lower is better)", "orders (higher is better)",
                    "spend (higher is better)"],
        "low": ["30.5", "1", "12.50"], "high": ["120", "4", "1,500.00"],
        "rule": ["fixed days: low at most the lower, high more than the upper",
                 *["percentiles of all customers (20th, 90th): low at or below the lower, high at or above the upper"] * 2],
        "below": ["recent", "one-off", "low spend"], "between": ["fading", "occasional", "mid spend"],
        "above": ["lapsed", "frequent", "high spend"]})
    pd.testing.assert_frame_equal(cluster_text.cutoff_table(cut), expected)
    with_currency = cluster_text.cutoff_table(cut, "en", "£")
    assert list(with_currency["low"]) == ["30.5", "1", "£12.50"]
    assert list(with_currency["high"]) == ["120", "4", "£1,500.00"]


def test_moved_table_gives_each_matched_cluster_how_far_its_centre_moved():
    moved = pd.Series({0: 0.125, 2: 0.5, 5: 1.25}, name="centroid_shift")
    pd.testing.assert_frame_equal(cluster_text.moved_table(moved),
                                  pd.DataFrame({"cluster": [0, 2, 5], "moved": [0.125, 0.5, 1.25]}))
    pd.testing.assert_frame_equal(
        cluster_text.moved_table(moved, {0: "a", 2: "b"}),
        pd.DataFrame({"cluster": [0, 2, 5], "name": ["a", "b", "noise"], "moved": [0.125, 0.5, 1.25]}))


def test_percentile_in_words():
    assert [cluster_text.percentile(q) for q in (0.01, 0.02, 0.03, 0.11, 0.12, 0.13, 0.21, 0.225, 0.9)] == [
        "1st", "2nd", "3rd", "11th", "12th", "13th", "21st", "22.5th", "90th"]
    assert [cluster_text.percentile(q, "zh") for q in (0.01, 0.225, 0.9)] == ["1", "22.5", "90"]


def test_segments_table_names_noise_customers():
    ct = pd.DataFrame([[1, 2], [3, 4]], index=pd.Index([-1, 0], name="cluster"),
                      columns=pd.Index(["Lost", "Champions"], name="segment"))
    view = cluster_text.segments_table(ct, {0: "a"})
    assert list(view["cluster"]) == ["-1: noise", "0: a"]


def test_fit_note_names_the_sample_only_when_the_model_was_fitted_on_one():
    search = clustering.KSearch(pd.DataFrame(), None, {}, 60_000, 50_000, 20_000, 2_000, 20, 0.8, 42)
    sampled = clustering.ClusterFit(None, np.array([0, 1]), pd.DataFrame(), 2, "kmeans", "fitted on a sample")
    plain = clustering.ClusterFit(None, np.array([0, 1]), pd.DataFrame(), 2, "kmeans", "")
    assert cluster_text.fit_note(sampled, search, 60_000) == (
        "k-means was fitted on a seeded sample of 50,000 of 60,000 customers; every customer is assigned to "
        "the nearest centroid.")
    assert "50,000" in cluster_text.fit_note(sampled, search, 60_000, "zh")
    assert cluster_text.fit_note(sampled, search, 60_000, "zh") != cluster_text.fit_note(sampled, search, 60_000)
    assert cluster_text.fit_note(plain, search, 60_000) == ""
    assert cluster_text.fit_note(sampled, None, 60_000) == ""


def test_name_change_templates_default_to_english():
    assert cluster_text.change_text() == cluster_text.change_text("en")
    assert cluster_text.change_text()["new"] == "cluster {cid} is new this month: '{new}'"


# ------------------------------------------------------------------ name changes in words


def test_name_changes_list_changed_gone_and_new_clusters_in_id_order():
    previous = levels({0: (95, 5, 60.0, "mid", HIGH, "mid"), 1: (10, 6, 300.0, LOW, HIGH, HIGH),
                       2: (50, 3, 100.0, "mid", "mid", "mid"), 3: (60, 2, 40.0, "mid", "mid", "mid")})
    current = levels({0: (160.5, 2, 60.0, HIGH, "mid", "mid"), 2: (50, 3, 180.0, "mid", "mid", HIGH),
                      3: (60, 2, 40.0, "mid", "mid", "mid"), 4: (5, 1, 10.0, LOW, LOW, LOW),
                      5: (400, 1, 5.0, HIGH, LOW, LOW)})
    assert cluster_text.name_changes(current, previous, cutoffs(0.2, 0.9), language="en", currency="£") == [
        "cluster 0: 'fading · frequent · mid spend' → 'lapsed · occasional · mid spend' (median days since last "
        "purchase 95 → 160.5, now more than 120 days; median orders 5 → 2, now "
        "between the 20th and 90th percentiles of customers (1–4))",
        "cluster 1 ('recent · frequent · high spend') has no counterpart this month",
        "cluster 2: 'fading · occasional · mid spend' → 'fading · occasional · high spend' (median spend "
        "£100.00 → £180.00, now at or above the 90th percentile of customers (£150.00))",
        "cluster 4 is new this month: 'recent · one-off · low spend'",
        "cluster 5 is new this month: 'lapsed · one-off · low spend'"]


def test_name_change_without_currency_and_default_percentiles():
    previous = levels({0: (50, 3, 100.0, "mid", "mid", "mid")})
    current = levels({0: (50, 3, 12.0, "mid", "mid", LOW)})
    assert cluster_text.name_changes(current, previous, cutoffs(None)) == [
        "cluster 0: 'fading · occasional · mid spend' → 'fading · occasional · low spend' (median spend 100.00 → "
        "12.00, now at or below the 25th percentile of customers (12.50))"]
    mid = levels({0: (50, 3, 12.0, "mid", "mid", LOW)})
    assert cluster_text.name_changes(previous, mid, cutoffs(None))[0].endswith(
        "(median spend 12.00 → 100.00, now between the 25th and 75th percentiles of customers (12.50–150.00))")


def test_name_change_in_chinese_quotes_the_percentiles_as_numbers():
    previous = levels({0: (50, 3, 100.0, "mid", "mid", "mid")})
    current = levels({0: (50, 3, 12.0, "mid", "mid", LOW)})
    out = cluster_text.name_changes(current, previous, cutoffs(0.2, 0.9), language="zh")
    assert len(out) == 1 and "第 20 百分位" in out[0] and "20th" not in out[0] and "12.50" in out[0]


# ------------------------------------------------------------------ clusters against RFM segments


def test_compare_with_segments_counts_every_cluster_segment_pair_even_when_the_last_is_empty():
    ct, ari, nmi = clustering.compare_with_segments(np.array([1, 1, 0, 0, 2]),
                                                    pd.Series(["b", "a", "b", "a", "a"]))
    expected = pd.DataFrame([[1, 1], [1, 1], [1, 0]], index=pd.Index([0, 1, 2], name="cluster"),
                            columns=pd.Index(["a", "b"], name="segment"))
    pd.testing.assert_frame_equal(ct, expected, check_dtype=False)
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    labels, segments = [1, 1, 0, 0, 2], ["b", "a", "b", "a", "a"]
    assert ari == pytest.approx(adjusted_rand_score(segments, labels), abs=1e-12)
    assert nmi == pytest.approx(normalized_mutual_info_score(segments, labels), abs=1e-12)


@pytest.mark.parametrize(("labels", "segments", "ari", "nmi"), [
    ([1, 1, 1], ["x", "x", "x"], 1.0, 1.0),  # one cluster, one segment: the same partition
    ([0, 1, 0, 1], ["a", "a", "a", "a"], 0.0, 0.0),  # one segment: clusters tell nothing about it
    ([0, 0, 1, 1], ["a", "b", "a", "b"], -0.5, 0.0),  # equally informative, independent partitions
])
def test_compare_with_segments_agreement_at_the_edges(labels, segments, ari, nmi):
    _, a, n = clustering.compare_with_segments(np.array(labels), pd.Series(segments))
    assert (a, n) == (pytest.approx(ari), pytest.approx(nmi))


def test_an_unknown_language_is_refused():
    with pytest.raises(ConfigError):
        cluster_text.cutoff_table(cutoffs(), "fr")


# ------------------------------------------------------------------ saved model, centres, names and cut-offs


def three_groups(n_per=20, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [3.0, 3.0, 0.0], [0.0, 3.0, 3.0]])
    vals = np.repeat(centres, n_per, axis=0) + rng.normal(0, 0.1, (3 * n_per, 3))
    return pd.DataFrame(vals, columns=[f"log_{c}" for c in clustering.BASE_FEATURES])


def saved_fit(tmp_path, mapping=None):
    x = three_groups()
    fitted = clustering.fit(x, 3, seed=0)
    mapping = mapping or {0: 7, 1: 3, 2: 5}
    stable = clustering.relabel(fitted, mapping)
    names = {7: "a", 3: "b", 5: "c"}
    lv = levels({3: (10, 5, 300.0, LOW, HIGH, HIGH), 5: (50, 2, 50.0, "mid", "mid", "mid"),
                 7: (200, 1, 10.0, HIGH, LOW, LOW)})
    clustering.save(stable, tmp_path, names, levels=lv, cut=cutoffs(0.2, 0.9))
    return x, stable, names, lv


def test_saved_model_gives_next_month_the_same_stable_ids(tmp_path):
    x, stable, _, _ = saved_fit(tmp_path)
    assert sorted(set(stable.labels)) == [3, 5, 7]
    np.testing.assert_array_equal(clustering.predict_stable(tmp_path, x), stable.labels)


def test_a_customer_nearest_a_centre_missing_from_the_saved_table_is_marked_minus_one(tmp_path):
    x = three_groups()
    fitted = clustering.fit(x, 3, seed=0)
    dropped = int(fitted.labels[0])
    kept = clustering.ClusterFit(fitted.pipeline, fitted.labels, fitted.centroids.drop(index=dropped), 2,
                                 "kmeans")
    clustering.save(kept, tmp_path, {})
    got = clustering.predict_stable(tmp_path, x)
    np.testing.assert_array_equal(got, np.where(fitted.labels == dropped, -1, fitted.labels))


def test_saved_centres_file_holds_centre_name_model_label_medians_and_levels(tmp_path):
    _, stable, names, lv = saved_fit(tmp_path)
    cent = pd.read_csv(tmp_path / "cluster_centroids.csv", index_col="cluster")
    assert list(cent.index) == [3, 5, 7]
    assert list(cent.columns) == [*stable.centroids.columns, "name", "model_label", *lv.columns]
    assert list(cent["name"]) == ["b", "c", "a"] and list(cent["model_label"]) == [1, 2, 0]
    text = (tmp_path / "cluster_centroids.csv").read_text()
    assert "\r" not in text and text.startswith("cluster,log_recency_days,")


def test_centres_are_saved_to_six_decimals(tmp_path):
    cent = pd.DataFrame({"log_recency_days": [0.12345678, 1.0], "log_frequency": [0.5, 2.0],
                         "log_monetary": [1.5, 3.0]}, index=[0, 1])
    clustering.save(clustering.ClusterFit(None, np.array([0, 1]), cent, 2, "kmeans"), tmp_path, {0: "a", 1: "b"})
    assert (tmp_path / "cluster_centroids.csv").read_text() == (
        "cluster,log_recency_days,log_frequency,log_monetary,name,model_label\n"
        "0,0.123457,0.5,1.5,a,0\n"
        "1,1.0,2.0,3.0,b,1\n")


def test_saved_cutoffs_file_and_reading_it_back(tmp_path):
    saved_fit(tmp_path)
    assert (tmp_path / "cluster_cutoffs.csv").read_text() == (
        "feature,low,high,q_low,q_high\n"
        "recency_days,30.0,120.0,0.2,0.9\n"
        "frequency,1.0,4.0,0.2,0.9\n"
        "monetary,12.5,150.0,0.2,0.9\n")
    back = clustering.load_cutoffs(tmp_path)
    pd.testing.assert_frame_equal(back, cutoffs(0.2, 0.9).rename_axis("feature"))
    assert back.attrs == {"q_low": 0.2, "q_high": 0.9}
    assert clustering.load_cutoffs(tmp_path / "nothing") is None


def test_saved_centres_and_levels_read_back_under_their_stable_ids(tmp_path):
    _, stable, _, lv = saved_fit(tmp_path)
    pd.testing.assert_frame_equal(clustering.load_centroids(tmp_path), stable.centroids.round(6),
                                  check_names=False, check_index_type=False)
    assert clustering.load_centroids(tmp_path).index.name == "cluster"
    pd.testing.assert_frame_equal(clustering.load_levels(tmp_path), lv, check_dtype=False)


def test_this_months_centres_take_last_months_ids_and_new_ones_continue_after_them():
    previous = pd.DataFrame({"log_recency_days": [0.0, 3.0, 6.0], "log_frequency": [0.0, 0.0, 0.0],
                             "old_only": [9.0, 9.0, 9.0]}, index=[2, 5, 7])
    current = pd.DataFrame({"log_recency_days": [6.5, 0.0, 3.0, 20.0], "log_frequency": [0.0, 0.5, 0.0, 0.0]},
                           index=[0, 1, 2, 3])
    mapping, moved = clustering.align_to_previous(current, previous)
    assert mapping == {0: 7, 1: 2, 2: 5, 3: 8}
    pd.testing.assert_series_equal(moved, pd.Series({2: 0.5, 5: 0.0, 7: 0.5}, name="centroid_shift"))
    fitted = clustering.ClusterFit(None, np.array([0, 1, 2, 3, 4]), current.assign(extra=1.0), 4, "kmeans")
    out = clustering.relabel(fitted, {0: 7, 1: 2, 2: 5})
    np.testing.assert_array_equal(out.labels, [7, 2, 5, 3, 4])
    assert list(out.centroids.index) == [2, 3, 5, 7]  # id 3 had no counterpart: it keeps its own id


def test_every_customer_gets_the_name_of_its_cluster_and_noise_when_left_out():
    got = clustering.name_column(np.array([1, -1, 0, 1]), {0: "a", 1: "b"})
    assert got.tolist() == ["b", "noise", "a", "b"] and got.dtype == object


def test_relabel_applies_a_single_id_mapping_and_gives_integer_ids():
    fitted = clustering.ClusterFit(None, np.array([0.0, 0.0, -1.0]), pd.DataFrame({"log_frequency": [1.0]}), 1,
                                   "hdbscan")
    out = clustering.relabel(fitted, {0: 3})
    np.testing.assert_array_equal(out.labels, np.array([3, 3, -1]), strict=True)
    assert list(out.centroids.index) == [3] and out.id_map == {0: 3}


# ------------------------------------------------------------------ charts: what a reader sees


def drawn(fig):
    fig.canvas.draw()
    return fig


def texts(labels) -> list[str]:
    return [x.get_text() for x in labels]


def scatter(coll) -> dict:
    """What a scatter shows: points, fill and edge colours (hex), size, edge width, layer and label."""
    from matplotlib.colors import to_hex

    return {"points": coll.get_offsets().tolist(), "face": [to_hex(c) for c in coll.get_facecolors()],
            "edge": [to_hex(c) for c in coll.get_edgecolors()], "size": coll.get_sizes().tolist(),
            "lw": coll.get_linewidths().tolist(), "z": coll.get_zorder(), "label": coll.get_label()}


def marker_path(marker: str):
    from matplotlib.markers import MarkerStyle

    m = MarkerStyle(marker)
    return m.get_path().transformed(m.get_transform()).vertices.tolist()


def line(ln) -> dict:
    from matplotlib.colors import to_hex

    return {"x": [float(v) for v in ln.get_xdata()], "y": [float(v) for v in ln.get_ydata()],
            "color": to_hex(ln.get_color()), "ls": ln.get_linestyle(), "lw": ln.get_linewidth(),
            "z": ln.get_zorder()}


@pytest.fixture
def agg():
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    yield
    plt.close("all")


def side_by_side(axes) -> bool:
    """Panels in one row, left to right."""
    pos = [ax.get_position() for ax in axes]
    return all(a.x1 < b.x0 and a.y0 == pytest.approx(b.y0) for a, b in zip(pos[:-1], pos[1:], strict=True))


def k_choice_for_chart():
    table = pd.DataFrame({"silhouette": [0.50001, 0.50003, 0.50002, 0.50004],
                          "stability_ari": [0.95, 0.70, 0.90, 0.85], "stability_ari_min": [0.9, 0.5, 0.8, 0.7],
                          "min_share": [0.10, 0.05, 0.01, 0.04], "inertia": [1.0, 0.8, 0.6, 0.5]},
                         index=pd.Index([3, 4, 5, 6], name="k"))
    return clustering.choose_k(table)


def test_k_choice_chart_plots_each_figure_against_k_with_the_bar_and_the_chosen_k(agg):
    choice = k_choice_for_chart()
    assert choice.k == 6
    fig = drawn(cluster_plots.plot_k_choice(choice, fits=7))
    assert [round(v, 2) for v in fig.get_size_inches()] == [13, 3.6]
    assert len(fig.axes) == 3 and side_by_side(fig.axes)
    assert [ax.get_title() for ax in fig.axes] == [
        "Separation: silhouette\n(higher = better separated)",
        "Stability: mean ARI of 7 refits\n(higher = more reproducible)", "Smallest cluster's share of customers"]
    assert [ax.get_xlabel() for ax in fig.axes] == ["k (number of clusters)"] * 3
    assert [ax.get_ylabel() for ax in fig.axes] == ["Silhouette (−1 to 1)", "Mean ARI (0 to 1)",
                                                    "Share of customers (%)"]
    red, grey, blue = "#c44e52", "#999999", "#4c72b0"
    cols = ["silhouette", "stability_ari", "min_share"]
    bars = [None, 0.8, 0.02]
    for ax, col, bar in zip(fig.axes, cols, bars, strict=True):
        y = choice.table[col].tolist()
        assert line(ax.lines[0]) == {"x": [3, 4, 5, 6], "y": y, "color": grey, "ls": "-", "lw": 1.5, "z": 1}
        if bar is None:
            assert len(ax.lines) == 1
        else:
            assert len(ax.lines) == 2
            assert line(ax.lines[1]) == {"x": [0, 1], "y": [bar, bar], "color": red, "ls": "--", "lw": 1, "z": 2}
        meets, fails, chosen = ax.collections
        assert scatter(meets) == {"points": [[3, y[0]], [6, y[3]]], "face": [blue], "edge": [blue],
                                  "size": [36.0], "lw": [1.0], "z": 2, "label": "meets the bar"}
        assert scatter(fails) == {"points": [[4, y[1]], [5, y[2]]], "face": [red], "edge": [red],
                                  "size": [36.0], "lw": [1.5], "z": 2, "label": "fails the bar"}
        assert meets.get_paths()[0].vertices.tolist() == marker_path("o")
        assert fails.get_paths()[0].vertices.tolist() == marker_path("x")
        assert scatter(chosen) == {"points": [[6, y[3]]], "face": [], "edge": ["#000000"], "size": [180.0],
                                   "lw": [1.5], "z": 3, "label": "chosen k = 6"}
        assert texts(ax.get_xticklabels()) == [f"{k:g}" for k in ax.get_xticks()]
        assert all(float(k).is_integer() for k in ax.get_xticks())
        assert ax.yaxis.get_offset_text().get_text() == ""
    legend = fig.axes[0].get_legend()
    assert texts(legend.get_texts()) == ["meets the bar", "fails the bar", "chosen k = 6"]
    assert [x.get_fontsize() for x in legend.get_texts()] == [8] * 3
    assert fig.axes[1].get_legend() is None and fig.axes[2].get_legend() is None
    assert fig.axes[1].get_ylim()[1] == pytest.approx(1.02)
    assert fig.axes[2].get_ylim()[1] < 0.2
    assert shown_yticks(fig.axes[2]) == ["2%", "4%", "6%", "8%", "10%"]
    assert shown_yticks(fig.axes[0]) == ["0.500010", "0.500015", "0.500020", "0.500025", "0.500030", "0.500035",
                                         "0.500040"]  # full values, no offset
    assert fig.axes[2].get_position().x1 > 0.95  # laid out tightly, not with the default margins


def test_k_choice_chart_in_chinese_by_language_and_twenty_refits_by_default(agg):
    fig = drawn(cluster_plots.plot_k_choice(k_choice_for_chart()))
    assert fig.axes[1].get_title().startswith("Stability: mean ARI of 20 refits")
    zh = cluster_plots.plot_k_choice(k_choice_for_chart(), "zh")
    assert all(ax.get_title() != en.get_title() for ax, en in zip(zh.axes, fig.axes, strict=True))


def shown_xticks(ax) -> list[str]:
    """The x tick labels inside the axis range (what the reader sees)."""
    lo, hi = ax.get_xlim()
    return [x.get_text() for x in ax.get_xticklabels() if lo <= x.get_position()[0] <= hi]


def shown_yticks(ax) -> list[str]:
    lo, hi = ax.get_ylim()
    return [x.get_text() for x in ax.get_yticklabels() if lo <= x.get_position()[1] <= hi]


def notes(fig):
    return [x for x in fig.texts if x is not fig._suptitle]


def profile_for_chart():
    lv = levels({4: (15, 30, 900.0, LOW, HIGH, HIGH), 0: (400, 1, 20.0, HIGH, LOW, LOW),
                 2: (1400, 2, 60.0, HIGH, "mid", "mid")})
    cut = cutoffs(0.2, 0.9, low=(30.0, 1.0, 25.0), high=(1200.0, 4.0, 300.0))
    return lv, cut, {4: "best", 0: "gone"}


def test_profile_chart_shows_each_cluster_median_against_the_cutoffs(agg):
    from matplotlib.colors import to_hex

    from customer_analytics.report.charts import color_for

    lv, cut, names = profile_for_chart()
    fig = drawn(cluster_plots.plot_profile(lv, cut, names, currency="£"))
    assert [round(v, 2) for v in fig.get_size_inches()] == [13, 3.55]
    assert len(fig.axes) == 3 and side_by_side(fig.axes)
    assert all(fig.axes[0].get_shared_y_axes().joined(fig.axes[0], ax) for ax in fig.axes)
    assert [ax.get_title() for ax in fig.axes] == [
        "days since last purchase\n(lower is better)", "orders\n(higher is better)", "spend\n(higher is better)"]
    assert [ax.get_xlabel() for ax in fig.axes] == [
        "median days since last purchase", "median orders", "median spend (£)"]
    assert [ax.get_xscale() for ax in fig.axes] == ["linear", "log", "log"]
    for ax, col in zip(fig.axes, clustering.BASE_FEATURES, strict=True):
        bars = ax.patches
        assert [b.get_width() for b in bars] == lv[f"median_{col}"].tolist()
        assert [b.get_y() + b.get_height() / 2 for b in bars] == [2, 1, 0]
        assert [to_hex(b.get_facecolor()) for b in bars] == [to_hex(color_for(c)) for c in (4, 0, 2)]
        assert line(ax.lines[0]) == {"x": [cut.loc[col, "low"]] * 2, "y": [0, 1], "color": "#555555",
                                     "ls": "--", "lw": 1, "z": 2}
        assert line(ax.lines[1]) == {"x": [cut.loc[col, "high"]] * 2, "y": [0, 1], "color": "#555555",
                                     "ls": ":", "lw": 1.2, "z": 2}
        assert list(ax.get_yticks()) == [2, 1, 0]
        assert ax.xaxis.get_offset_text().get_text() == ""
    assert texts(fig.axes[0].get_yticklabels()) == ["4: best", "0: gone", "2: 2"]
    assert [t.get_fontsize() for t in fig.axes[0].get_yticklabels()] == [9] * 3
    # only the y labels are made smaller; the x labels keep the style's size (whatever it is)
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    x_size = FontProperties(size=rcParams["xtick.labelsize"]).get_size_in_points()
    assert {t.get_fontsize() for t in fig.axes[0].get_xticklabels()} == {x_size} != {9}
    days = shown_xticks(fig.axes[0])
    assert days == ["0", "200", "400", "600", "800", "1,000", "1,200", "1,400"]
    orders = shown_xticks(fig.axes[1])
    assert orders == ["1", "2", "5", "10", "20"]
    assert not any(texts(fig.axes[1].get_xticklabels(minor=True)))
    spend = shown_xticks(fig.axes[2])
    assert spend == ["20", "50", "100", "200", "500", "1,000"]
    assert fig._suptitle.get_text() == "What each cluster looks like: its median customer against all customers"
    assert fig._suptitle.get_position()[1] == 1.0
    (note,) = notes(fig)
    assert note.get_text() == (
        "Bars: the cluster's median. Days since last purchase: dashed line at 30 days, dotted line at 1,200 days "
        "(fixed). Orders and spend: dashed line the 20th percentile of all customers, dotted line the 90th "
        "percentile. These are the cut-offs for the words in the names. Orders and spend are on a log scale "
        "(equal steps = equal ratios).")
    assert (note.get_position(), note.get_fontsize(), note.get_ha(), note.get_va(), note.get_wrap()) == (
        (0.01, -0.02), 8.5, "left", "top", True)
    assert fig.axes[2].get_position().x1 > 0.95  # laid out tightly, not with the default margins


def test_profile_chart_defaults_to_english_quartiles_and_no_currency(agg):
    lv, cut, names = profile_for_chart()
    fig = cluster_plots.plot_profile(lv, cutoffs(None, low=cut["low"], high=cut["high"]), names)
    assert fig.axes[2].get_xlabel() == "median spend"
    assert "the 25th percentile of all customers, dotted line the 75th percentile" in notes(fig)[0].get_text()
    zh = cluster_plots.plot_profile(lv, cut, names, language="zh", currency="£")
    assert zh.axes[0].get_title() == "距上次购买天数\n(越低越好)"
    assert zh.axes[2].get_xlabel() == "消费额中位数（£）"
    assert zh._suptitle.get_text() == "各群组概况：其中位客户与全部客户对比"
    assert "20" in notes(zh)[0].get_text() and "20th" not in notes(zh)[0].get_text()


def test_small_spend_is_labelled_with_its_decimals_and_large_with_thousands_separators(agg):
    lv = levels({0: (5, 1, 0.3, LOW, LOW, LOW), 1: (50, 3, 4.0, "mid", "mid", "mid"),
                 2: (500, 9, 60.0, HIGH, HIGH, HIGH)})
    fig = drawn(cluster_plots.plot_profile(lv, cutoffs(low=(10.0, 1.0, 0.5), high=(300.0, 6.0, 40.0)), {}))
    assert shown_xticks(fig.axes[2]) == ["0.5", "1", "2", "5", "10", "20", "50"]


def pca_input():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(0, 1, (40, 3)) * [1, 10, 100] + [5, 50, 500],
                     columns=[f"log_{c}" for c in clustering.BASE_FEATURES])
    labels = np.repeat([2, 0, -1, 1], 10)
    return x, labels


def test_pca_map_shows_a_seeded_sample_coloured_and_named_by_cluster(agg):
    from matplotlib.colors import to_hex
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from customer_analytics.report.charts import color_for

    x, labels = pca_input()
    fig = drawn(cluster_plots.plot_pca(x, labels, {0: "zero", 1: "one", 2: "two"}, seed=5, sample=25))
    idx = np.sort(np.random.default_rng(5).choice(40, 25, replace=False))
    z = PCA(n_components=2).fit_transform(StandardScaler().fit_transform(x.to_numpy()[idx]))
    lab = labels[idx]
    ax = fig.axes[0]
    assert [round(v, 2) for v in fig.get_size_inches()] == [8, 4.8]
    assert ax.get_title() == "Customers on a 2-D map of their three features (sample of 25)"
    assert ax.get_xlabel() == "First principal component (standardised units)"
    assert ax.get_ylabel() == "Second principal component\n(standardised units)"   # wrapped beside the axes
    renderer = fig.canvas.get_renderer()
    ylabel, title = ax.yaxis.label.get_window_extent(renderer), ax.title.get_window_extent(renderer)
    assert ylabel.y1 < title.y0            # the axis label never runs into the title above the map
    assert [c.get_label() for c in ax.collections] == ["-1: noise", "0: zero", "1: one", "2: two"]
    for coll, c in zip(ax.collections, [-1, 0, 1, 2], strict=True):
        np.testing.assert_allclose(coll.get_offsets(), z[lab == c], atol=1e-9)
        assert [to_hex(v) for v in coll.get_facecolors()] == [to_hex(color_for(c))]
        assert coll.get_sizes().tolist() == [6] and coll.get_alpha() == 0.6
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "cluster"
    assert texts(legend.get_texts()) == ["-1: noise", "0: zero", "1: one", "2: two"]
    assert [x.get_fontsize() for x in legend.get_texts()] == [8] * 4
    assert [h.get_sizes().tolist() for h in legend.legend_handles] == [[54.0]] * 4  # markers shown 3x larger
    assert legend._loc == 6  # "center left", anchored just right of the map
    anchor = legend.get_bbox_to_anchor()
    assert (anchor.x0, anchor.y0) == pytest.approx(tuple(ax.transAxes.transform((1, 0.5))))
    assert ax.get_position().x1 < 0.9  # the map makes room for the legend on its right
    zh = cluster_plots.plot_pca(x, labels, {}, seed=5, sample=25, language="zh")
    assert zh.axes[0].get_title() != ax.get_title() and "25" in zh.axes[0].get_title()
    assert zh.axes[0].get_xlabel() != ax.get_xlabel() and zh.axes[0].get_ylabel() != ax.get_ylabel()
    assert zh.axes[0].get_legend().get_title().get_text() != "cluster"


# ------------------------------------------------------------------ the rule for k, and its reason in words


def search_table(sil, ari, share, ks=(3, 4, 5, 6)):
    return pd.DataFrame({"silhouette": sil, "stability_ari": ari, "min_share": share},
                        index=pd.Index(ks, name="k"))


BAR = ("The bar: clusters stable under resampling (mean ARI at least 0.8) and a smallest cluster of at least "
       "2% of customers.")


def test_reason_names_the_winner_the_other_eligible_k_and_what_the_rest_fail():
    c = clustering.choose_k(search_table([0.30, 0.50, 0.40, 0.2], [0.95, 0.9, 0.5, 0.95], [0.1, 0.1, 0.01, 0.1]))
    assert (c.k, c.recommended) == (4, True)
    assert cluster_text.choice_reason(c) == (
        "k = 4 won: of the k that meet the bar (k = 3, 4, 6), it has the highest silhouette (0.500), so its "
        "clusters are the best separated. k = 3, 6 also meet the bar but are less well separated. Not eligible: "
        "k = 5 (unstable and a cluster below 2%). " + BAR)
    assert c.table["meets_bar"].tolist() == [True, True, False, True]
    assert c.table["verdict"].tolist() == ["meets", "meets", "both", "meets"]
    assert cluster_text.search_table(c)["verdict"].tolist() == ["meets the bar", "meets the bar",
                                                                "unstable and a cluster below 2%", "meets the bar"]
    assert list(cluster_text.search_table(c).columns) == list(c.table.columns)
    one = clustering.choose_k(search_table([0.30, 0.50, 0.40, 0.2], [0.95, 0.9, 0.5, 0.7], [0.1] * 4))
    assert cluster_text.choice_reason(one) == (
        "k = 4 won: of the k that meet the bar (k = 3, 4), it has the highest silhouette (0.500), so its clusters "
        "are the best separated. k = 3 also meets the bar but is less well separated. Not eligible: k = 5 "
        "(unstable); k = 6 (unstable). " + BAR)


def test_a_silhouette_tie_goes_to_the_larger_k_and_the_reason_says_so():
    c = clustering.choose_k(search_table([0.50, 0.495, 0.45, 0.2], [0.95, 0.9, 0.9, 0.85], [0.1] * 4))
    assert c.k == 4
    assert cluster_text.choice_reason(c) == (
        "k = 4 won: of the k that meet the bar (k = 3, 4, 5, 6), its silhouette (0.495) is within 0.01 of the best "
        "(0.500 at k = 3), a tie, and ties go to the larger k because it gives more groups to target. k = 5, 6 "
        "also meet the bar but are less well separated. " + BAR)
    assert clustering.choose_k(search_table([0.50, 0.489, 0.45, 0.2], [0.95, 0.9, 0.9, 0.85], [0.1] * 4)).k == 3
    at_margin = search_table([0.5, 0.25, 0.1, 0.0], [0.95, 0.9, 0.9, 0.85], [0.1] * 4)  # 0.5 - 0.25 exactly
    assert clustering.choose_k(at_margin, silhouette_tie=0.25).k == 4


def test_the_bar_and_the_tie_margin_are_the_analysts_settings():
    c = clustering.choose_k(search_table([0.30, 0.50, 0.40, 0.2], [0.95, 0.9, 0.5, 0.95], [0.1, 0.1, 0.1, 0.04]),
                            min_share=0.05, stable_ari=0.9, silhouette_tie=0.25)
    assert (c.k, c.stable_ari, c.min_share) == (4, 0.9, 0.05)
    assert c.facts == {"stable_ari": 0.9, "min_share": 0.05, "tie": 0.25, "k_min": 3, "k_max": 6, "case": "won",
                       "k": 4, "k_best": 4, "ok": [3, 4], "best": 0.5, "silhouette": 0.5, "others": [],
                       "out": [(5, False, True), (6, True, False)]}
    assert cluster_text.choice_reason(c) == (
        "k = 4 won: of the k that meet the bar (k = 3, 4), it has the highest silhouette (0.500), so its clusters "
        "are the best separated. Not eligible: k = 5 (unstable); k = 6 (a cluster below 5%). The bar: clusters "
        "stable under resampling (mean ARI at least 0.9) and a smallest cluster of at least 5% of customers.")
    assert c.table["verdict"].tolist() == ["meets", "meets", "unstable", "small"]
    assert cluster_text.search_table(c)["verdict"].tolist() == ["meets the bar", "meets the bar", "unstable",
                                                                "a cluster below 5%"]


def test_when_no_k_meets_the_bar_the_most_stable_k_with_big_enough_clusters_is_shown():
    c = clustering.choose_k(search_table([0.3] * 4, [0.5, 0.7, 0.75, 0.6], [0.1, 0.1, 0.01, 0.1]))
    assert (c.k, c.recommended) == (4, False)
    assert cluster_text.choice_reason(c) == (
        "No k from 3 to 6 meets the bar (clusters stable under resampling (mean ARI at least 0.8) and a smallest "
        "cluster of at least 2% of customers): the best mean ARI is 0.75. These customers do not fall into groups "
        "that k-means finds reliably, so use the RFM segments (notebook 02) for targeting. The clusters below "
        "(k = 4, the most stable) are shown for reference only.")
    assert cluster_text.choice_summary(c).startswith("k = 4 (NOT recommended). No k from 3 to 6")
    all_small = clustering.choose_k(search_table([0.3] * 4, [0.5, 0.7, 0.75, 0.6], [0.01] * 4))
    assert all_small.k == 5 and "(k = 5, the most stable)" in cluster_text.choice_reason(all_small)


def test_a_fixed_k_is_chosen_and_said_to_meet_or_fail_the_bar():
    t = search_table([0.30, 0.50, 0.40, 0.2], [0.95, 0.9, 0.5, 0.95], [0.1, 0.1, 0.01, 0.1])
    good = clustering.choose_k(t, fixed=3)
    assert (good.k, good.recommended) == (3, True)
    assert cluster_text.choice_reason(good) == (
        "k = 3 was fixed by the analyst (parameter `k`); it meets the bar (clusters stable under resampling (mean "
        "ARI at least 0.8) and a smallest cluster of at least 2% of customers).")
    bad = clustering.choose_k(t, fixed=5)
    assert (bad.k, bad.recommended) == (5, False)
    assert cluster_text.choice_reason(bad) == ("k = 5 was fixed by the analyst (parameter `k`); it does NOT meet the bar: unstable and a "
                          "cluster below 2%.")
    assert bad.facts["case"] == "fixed" and (bad.facts["stable"], bad.facts["big"]) == (False, False)


def test_verdict_words_for_every_combination():
    assert [cluster_text.verdict_text(a, b, 0.05) for a, b in ((1, 1), (1, 0), (0, 1), (0, 0))] == [
        "meets the bar", "a cluster below 5%", "unstable", "unstable and a cluster below 5%"]
    assert [cluster_text.verdict_text(a, b, 0.05, "zh") for a, b in ((1, 1), (1, 0), (0, 1), (0, 0))] == [
        "达标", "有群组低于 5%", "不稳定", "不稳定，且有群组低于 5%"]


def test_reason_in_chinese_lists_the_same_k():
    c = clustering.choose_k(search_table([0.30, 0.50, 0.40, 0.2], [0.95, 0.9, 0.5, 0.7], [0.1] * 4))
    zh = cluster_text.choice_reason(c, "zh")
    assert zh != cluster_text.choice_reason(c) and "k = 4" in zh and "k = 3" in zh and "k = 5" in zh and "k = 6" in zh
    assert "0.500" in zh and "0.8" in zh and "2%" in zh
    assert "k = 5（不稳定）" in zh and "unstable" not in zh
    t = search_table([0.30, 0.50, 0.40, 0.2], [0.95, 0.9, 0.5, 0.95], [0.1, 0.1, 0.01, 0.1])
    fixed = cluster_text.choice_reason(clustering.choose_k(t, fixed=5), "zh")
    assert "不稳定，且有群组低于 2%" in fixed and "unstable" not in fixed
    tie = clustering.choose_k(search_table([0.50, 0.495, 0.45, 0.2], [0.95, 0.9, 0.9, 0.85], [0.1] * 4))
    assert "0.495" in cluster_text.choice_reason(tie, "zh") and "0.01" in cluster_text.choice_reason(tie, "zh")
    none = clustering.choose_k(search_table([0.3] * 4, [0.5, 0.7, 0.75, 0.6], [0.1, 0.1, 0.01, 0.1]))
    assert "0.75" in cluster_text.choice_reason(none, "zh") and "notebook" not in cluster_text.choice_reason(none, "zh")


# ------------------------------------------------------------------ features, settings and the k search


def test_features_are_log1p_of_rfm_and_the_chosen_extras():
    rfm = pd.DataFrame({"recency_days": [0, 9, 99], "frequency": [1, 3, 5], "monetary": [9.0, 30.0, 500.0],
                        "tenure_days": [0, 99, 999],
                        "first_purchase": pd.to_datetime(["2025-01-10", "2025-01-01", "2025-01-01"]),
                        "last_purchase": pd.to_datetime(["2025-01-10", "2025-01-21", "2025-03-02"])})
    x = clustering.build_features(rfm, ["tenure", "aov", "interpurchase"])
    expected = pd.DataFrame({
        "log_recency_days": np.log1p([0.0, 9, 99]), "log_frequency": np.log1p([1.0, 3, 5]),
        "log_monetary": np.log1p([9.0, 30, 500]), "log_tenure_days": np.log1p([0.0, 99, 999]),
        "log_aov": np.log1p([9.0, 10, 100]), "log_interpurchase_days": np.log1p([0.0, 10, 15])})
    pd.testing.assert_frame_equal(x, expected)
    assert list(clustering.build_features(rfm).columns) == ["log_recency_days", "log_frequency", "log_monetary"]
    with pytest.raises(ConfigError, match="Unknown extra"):
        clustering.build_features(rfm, ["tenure", "age"])


def test_features_with_an_infinite_value_or_no_variance_are_refused():
    from customer_analytics.core.errors import InputError

    ok = pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, 1.0]})
    clustering.validate_features(ok)
    with pytest.raises(InputError, match="'b' has 1 missing or infinite"):
        clustering.validate_features(ok.assign(b=[0.0, -np.inf]))
    with pytest.raises(InputError, match="'b' has zero variance"):
        clustering.validate_features(ok.assign(b=[3.0, 3.0]))


def test_scalers_by_name():
    from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler

    assert isinstance(clustering.make_scaler(), StandardScaler)
    assert isinstance(clustering.make_scaler("robust"), RobustScaler)
    q = clustering.make_scaler("quantile", seed=7)
    assert isinstance(q, QuantileTransformer)
    assert (q.output_distribution, q.random_state) == ("normal", 7)
    with pytest.raises(ConfigError, match="scaler must be one of standard, robust, quantile"):
        clustering.make_scaler("minmax")


def test_restarts_step_down_at_ten_and_a_hundred_thousand_customers():
    assert [clustering.n_init_for(n) for n in (10_000, 10_001, 100_000, 100_001)] == [10, 4, 4, 2]


def test_seeded_sample_is_every_row_when_small_and_a_sorted_reproducible_draw_otherwise():
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(clustering.seeded_sample(5, 5, rng), np.arange(5))
    assert rng.random() == np.random.default_rng(0).random()  # taking every row draws nothing: later samples
    # of the same generator (silhouette, stability) are the same as when the sample is smaller
    got = clustering.seeded_sample(20, 6, np.random.default_rng(3))
    np.testing.assert_array_equal(got, np.sort(np.random.default_rng(3).choice(20, 6, replace=False)))
    assert len(set(got)) == 6 and list(got) == sorted(got)


def test_k_range_limits():
    from customer_analytics.core.errors import InputError

    clustering.check_k_range(6, 2, 5)
    with pytest.raises(ConfigError):
        clustering.check_k_range(100, 1, 1)
    with pytest.raises(InputError):
        clustering.check_k_range(5, 2, 5)
    assert clustering.k_values(3, 5) == [3, 4, 5]
    assert clustering.k_values(3, 5, fixed=4) == [3, 4, 5]
    assert clustering.k_values(3, 5, fixed=2) == [2, 3, 4, 5]
    assert clustering.k_values(3.0, 5.0, fixed=7.0) == [3, 4, 5, 7]
    with pytest.raises(ConfigError, match="k must be at least 2"):
        clustering.k_values(3, 5, fixed=1)


def groups(n_per=30, seed=0, sd=0.05):
    """Three tight groups of customers in log-feature space."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [2.0, 2.0, 0.0], [0.0, 2.0, 2.0]])
    vals = np.repeat(centres, n_per, axis=0) + rng.normal(0, sd, (3 * n_per, 3))
    return pd.DataFrame(vals, columns=[f"log_{c}" for c in clustering.BASE_FEATURES]), np.repeat([0, 1, 2], n_per)


def test_k_search_measures_every_k_on_seeded_samples():
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    x, truth = groups()
    s = clustering.search_k(x, [3, 2], seed=4, fit_sample=80, silhouette_sample=50, stability_sample=60,
                            stability_fits=3, stability_fraction=0.5)
    assert (s.n_customers, s.n_fit, s.n_silhouette, s.n_stability) == (90, 80, 50, 60)
    assert (s.stability_fits, s.stability_fraction, s.seed) == (3, 0.5, 4)
    assert s.feature_names == list(x.columns)
    assert clustering.search_k(x, [3], "quantile", seed=9, stability_fits=2).scaler.random_state == 9
    assert list(s.table.index) == [2, 3] and s.table.index.name == "k"
    assert list(s.table.columns) == ["silhouette", "stability_ari", "stability_ari_min", "min_share", "inertia"]
    rng = np.random.default_rng(4)
    fit_idx = np.sort(rng.choice(90, 80, replace=False))
    z = s.scaler.transform(x.to_numpy()[fit_idx])
    np.testing.assert_allclose(z, clustering.make_scaler().fit(x.to_numpy()).transform(x.to_numpy()[fit_idx]))
    sil_idx = np.sort(rng.choice(80, 50, replace=False))
    for k in (2, 3):
        km = s.models[k]
        assert (km.n_clusters, km.init, km.n_init, km.random_state) == (k, "k-means++", 10, 4)
        row = s.table.loc[k]
        assert row["silhouette"] == pytest.approx(silhouette_score(z[sil_idx], km.labels_[sil_idx]))
        assert row["min_share"] == np.bincount(km.labels_).min() / 80
        assert row["inertia"] == pytest.approx(km.inertia_ / 80)
        assert row["stability_ari_min"] <= row["stability_ari"] <= 1
    three = s.table.loc[3]
    assert (three["stability_ari"], three["stability_ari_min"]) == (1.0, 1.0)
    assert adjusted_rand_score(truth[fit_idx], s.models[3].labels_) == 1.0


def documented_stability(s, x, seed, fit_sample, silhouette_sample, stability_sample, fits, fraction):
    """Mean and worst ARI per k, computed as the module docstring describes, with scikit-learn."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    n = len(x)
    fit_idx = np.sort(rng.choice(n, fit_sample, replace=False)) if n > fit_sample else np.arange(n)
    z = s.scaler.transform(x.to_numpy()[fit_idx])
    if len(z) > silhouette_sample:
        rng.choice(len(z), silhouette_sample, replace=False)  # the silhouette sample comes next
    stab = z[np.sort(rng.choice(len(z), stability_sample, replace=False))] if len(z) > stability_sample else z
    m = max(round(fraction * len(stab)), max(s.models) + 1)
    subsets = [np.sort(rng.choice(len(stab), m, replace=False)) for _ in range(fits)]
    out = {}
    with threadpool_limits(limits=1):
        for k, model in s.models.items():
            ref = model.predict(stab)
            aris = [adjusted_rand_score(ref, KMeans(k, init="k-means++", n_init=1, random_state=seed + 1 + i)
                                        .fit(stab[sub]).predict(stab)) for i, sub in enumerate(subsets)]
            out[k] = (float(np.mean(aris)), float(min(aris)))
    return out


def test_stability_is_the_agreement_of_single_start_refits_on_seeded_subsamples():
    x, _ = groups(sd=0.9)  # loose groups: refits disagree, so the figures are not trivially 1
    s = clustering.search_k(x, [2, 4], seed=4, fit_sample=80, silhouette_sample=50, stability_sample=60,
                            stability_fits=3, stability_fraction=0.5)
    expected = documented_stability(s, x, 4, 80, 50, 60, 3, 0.5)
    for k in (2, 4):
        assert tuple(s.table.loc[k, ["stability_ari", "stability_ari_min"]]) == pytest.approx(expected[k])
    assert s.table["stability_ari_min"].min() < 1


def test_k_search_defaults_silhouette_on_2000_and_twenty_refits_on_80_percent():
    x, _ = groups(n_per=667, sd=0.9)
    s = clustering.search_k(x, [2])
    assert (s.n_customers, s.n_fit, s.n_silhouette, s.n_stability) == (2001, 2001, 2000, 2001)
    assert (s.stability_fits, s.stability_fraction, s.seed) == (20, 0.8, 42)
    expected = documented_stability(s, x, 42, 50_000, 2_000, 20_000, 20, 0.8)
    assert tuple(s.table.loc[2, ["stability_ari", "stability_ari_min"]]) == pytest.approx(expected[2])


def test_k_search_settings_at_their_limits():
    x, _ = groups(n_per=7)
    s = clustering.search_k(x, [3], stability_fits=2, stability_fraction=0.1)  # 10% of 21 is 2: raised to k + 1
    expected = documented_stability(s, x, 42, 50_000, 2_000, 20_000, 2, 0.1)
    assert tuple(s.table.loc[3, ["stability_ari", "stability_ari_min"]]) == pytest.approx(expected[3])
    from customer_analytics.core.errors import InputError

    with pytest.raises(ConfigError):
        clustering.search_k(x, [1, 3])
    with pytest.raises(InputError):
        clustering.search_k(x.head(4), [2, 3, 4])
    for bad in (dict(stability_fits=1), dict(stability_fraction=1.0), dict(stability_fraction=0.09)):
        with pytest.raises(ConfigError):
            clustering.search_k(x, [3], **bad)


# ------------------------------------------------------------------ cut-offs, profile and levels


def customers8():
    return pd.DataFrame({"recency_days": [1, 2, 3, 4, 5, 6, 7, 8], "frequency": [1, 1, 1, 2, 2, 3, 5, 8],
                         "monetary": [5.0, 6, 7, 8, 9, 10, 11, 12.5]})


def test_cutoffs_are_actual_customer_values_at_the_percentiles():
    # orders and spend: percentiles of the customers; days since last purchase: the fixed 90 and 180 days
    cut = cluster_naming.cutoffs(customers8())
    pd.testing.assert_frame_equal(cut, pd.DataFrame({"low": [90.0, 1.0, 6.0], "high": [180.0, 3.0, 10.0]},
                                                    index=clustering.BASE_FEATURES))
    assert cut.attrs == {"q_low": 0.25, "q_high": 0.75}
    wide = cluster_naming.cutoffs(customers8(), [0.1, 0.9], recency_days=[30, 60])
    assert wide["low"].tolist() == [30.0, 1.0, 5.0] and wide["high"].tolist() == [60.0, 8.0, 12.5]
    assert wide.attrs == {"q_low": 0.1, "q_high": 0.9}
    for bad in ([0.0, 0.5], [0.5, 1.0], [0.5, 0.5]):
        with pytest.raises(ConfigError, match="name_cutoffs"):
            cluster_naming.cutoffs(customers8(), bad)
    with pytest.raises(ConfigError, match=r"name_recency_days must be two increasing day counts, got \[90, 90\]"):
        cluster_naming.cutoffs(customers8(), recency_days=[90, 90])


def test_a_cluster_is_named_by_its_days_since_last_purchase_whatever_the_other_customers_did():
    # everyone has lapsed (the least lapsed bought 400 days ago): percentiles would call the 498-day
    # cluster "recent" or "fading"; fixed days call both clusters lapsed, and a 120-day cluster fading
    rfm = pd.DataFrame({"recency_days": [400, 420, 498, 498, 600, 700, 120, 120], "frequency": [1] * 8,
                        "monetary": [10.0] * 8})
    lv = cluster_naming.name_levels(rfm, np.array([0, 0, 1, 1, 2, 2, 3, 3]), cluster_naming.cutoffs(rfm))
    assert lv["recency_days_level"].tolist() == [HIGH, HIGH, HIGH, "mid"]
    assert cluster_text.name_clusters(lv)[1].startswith("lapsed")
    edge = pd.DataFrame({"recency_days": [90, 180, 181], "frequency": [1] * 3, "monetary": [1.0] * 3})
    at = cluster_naming.name_levels(edge, np.array([0, 1, 2]), cluster_naming.cutoffs(edge))
    assert at["recency_days_level"].tolist() == [LOW, "mid", HIGH]  # recent <= 90, lapsed > 180 (RFM R 1)


def test_profile_gives_size_shares_and_medians_per_cluster_rounded_for_reading():
    rfm = pd.DataFrame({"recency_days": [10, 20, 30, 40, 50, 60], "frequency": [1, 2, 3, 4, 5, 6],
                        "monetary": [1.0, 2.0, 3.0, 4.0, 10.0, 12.015]})
    prof = clustering.profile(rfm, np.array([0, 0, 1, 1, 2, 2]))
    total = rfm["monetary"].sum()
    expected = pd.DataFrame({
        "customers": [2, 2, 2], "share": [0.3333] * 3,
        "revenue_share": [round(3 / total, 4), round(7 / total, 4), round(22.015 / total, 4)],
        "median_recency_days": [15.0, 35.0, 55.0], "median_frequency": [1.5, 3.5, 5.5],
        "median_monetary": [1.5, 3.5, 11.01]}, index=pd.Index([0, 1, 2], name="cluster"))
    pd.testing.assert_frame_equal(prof, expected)


def test_levels_of_each_cluster_median_against_the_cutoffs_leave_noise_out():
    rfm = pd.DataFrame({"recency_days": [2, 2, 6, 6, 4, 4, 9], "frequency": [1, 1, 3, 3, 2, 2, 9],
                        "monetary": [6.0, 6, 10, 10, 8, 8, 99]})
    cut = pd.DataFrame({"low": [2.0, 1.0, 6.0], "high": [6.0, 3.0, 10.0]}, index=clustering.BASE_FEATURES)
    lv = cluster_naming.name_levels(rfm, np.array([3, 3, 5, 5, 8, 8, -1]), cut)
    # recency (fixed days) is high only above its upper cut-off; orders and spend at or above it
    expected = levels({3: (2.0, 1.0, 6.0, LOW, LOW, LOW), 5: (6.0, 3.0, 10.0, "mid", HIGH, HIGH),
                       8: (4.0, 2.0, 8.0, "mid", "mid", "mid")})
    pd.testing.assert_frame_equal(lv, expected)


def test_a_level_changes_only_when_the_median_crossed_both_months_cutoffs():
    rfm = pd.DataFrame({"recency_days": [5, 5, 50, 50], "frequency": [4, 4, 1, 1], "monetary": [50.0, 50, 9, 9]})
    labels = np.array([3, 3, 5, 5])
    cut = pd.DataFrame({"low": [10.0, 1.0, 10.0], "high": [40.0, 5.0, 40.0]}, index=clustering.BASE_FEATURES)
    previous_cut = pd.DataFrame({"low": [10.0, 1.0, 10.0], "high": [40.0, 3.0, 40.0]},
                                index=clustering.BASE_FEATURES)
    # cluster 3: 4 orders was "high" under last month's cut-off (3) and is "mid" under this month's (5):
    # the cut-off moved, the median did not cross it, so it stays "high".
    # cluster 5: spend 9 is "low" now and was "low" under last month's cut-off too: it crossed from "mid".
    previous = levels({3: (5, 4, 50.0, LOW, HIGH, HIGH), 5: (50, 1, 20.0, HIGH, LOW, "mid"),
                       9: (1, 1, 1.0, LOW, LOW, LOW)})
    lv = cluster_naming.name_levels(rfm, labels, cut, previous, previous_cut=previous_cut)
    expected = levels({3: (5.0, 4.0, 50.0, LOW, HIGH, HIGH), 5: (50.0, 1.0, 9.0, HIGH, LOW, LOW)})
    pd.testing.assert_frame_equal(lv, expected)
    alone = cluster_naming.name_levels(rfm, labels, cut, previous)  # no previous cut-offs: this month's alone
    assert alone["frequency_level"].tolist() == ["mid", "low"]


# ------------------------------------------------------------------ the final model


def test_final_model_reuses_the_search_model_and_says_when_it_was_fitted_on_a_sample():
    x, truth = groups()
    s = clustering.search_k(x, [3], seed=1, fit_sample=60, silhouette_sample=30, stability_sample=30,
                            stability_fits=2)
    f = clustering.fit(x, 3, s)
    assert f.pipeline[-1] is s.models[3] and f.pipeline[0] is s.scaler
    assert list(f.pipeline.named_steps) == ["scale", "model"]  # the saved model's step names
    g = clustering.fit(x, 3, s, algorithm="gmm")  # another algorithm is fitted, not taken from the search
    assert type(g.pipeline[-1]).__name__ == "GaussianMixture"
    assert (f.k, f.algorithm, f.id_map) == (3, "kmeans", None)
    assert f.note == ("k-means was fitted on a seeded sample of 60 of 90 customers; every customer is assigned "
                      "to the nearest centroid.")
    np.testing.assert_array_equal(f.labels, s.models[3].predict(s.scaler.transform(x.to_numpy())))
    pd.testing.assert_frame_equal(f.centroids, x.groupby(f.labels).mean())
    whole = clustering.search_k(x, [3], seed=1, silhouette_sample=30, stability_sample=30, stability_fits=2)
    assert clustering.fit(x, 3, whole).note == ""
    refit = clustering.fit(x, 4, s, seed=2)  # k not searched: fitted afresh on all customers
    assert refit.k == 4 and refit.pipeline[-1].n_clusters == 4 and refit.pipeline[-1].random_state == 2
    assert refit.note == ""


def test_final_model_without_a_search_is_fitted_on_a_seeded_sample():
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    x, truth = groups()
    f = clustering.fit(x, 3, seed=3, fit_sample=45, scaler="robust")
    km = f.pipeline[-1]
    assert (km.n_clusters, km.init, km.n_init, km.random_state) == (3, "k-means++", 10, 3)
    assert type(f.pipeline[0]).__name__ == "RobustScaler" and len(km.labels_) == 45
    assert list(f.pipeline.named_steps) == ["scale", "model"]
    assert adjusted_rand_score(truth, f.labels) == 1.0 and f.note == ""
    idx = np.sort(np.random.default_rng(3).choice(90, 45, replace=False))
    own = KMeans(3, init="k-means++", n_init=10, random_state=3).fit(f.pipeline[0].transform(x.to_numpy()[idx]))
    assert km.inertia_ == pytest.approx(own.inertia_, rel=1e-9)
    np.testing.assert_allclose(km.cluster_centers_, own.cluster_centers_)
    default = clustering.fit(x, 3, scaler="quantile")
    assert default.pipeline[-1].random_state == 42 and default.pipeline[0].random_state == 42
    assert clustering.fit(x, 3, scaler="quantile", seed=7).pipeline[0].random_state == 7
    from customer_analytics.core.errors import InputError

    with pytest.raises(InputError):
        clustering.fit(x.head(3), 3)


def test_gaussian_mixture_and_hdbscan_settings():
    x, truth = groups(n_per=40)
    g = clustering.fit(x, 3, algorithm="gmm", seed=5)
    gm = g.pipeline[-1]
    assert (type(gm).__name__, gm.n_components, gm.n_init, gm.random_state) == ("GaussianMixture", 3, 3, 5)
    assert g.algorithm == "gmm" and g.k == 3
    h = clustering.fit(x, 3, algorithm="hdbscan")
    hd = h.pipeline[-1]
    assert (type(hd).__name__, hd.min_cluster_size, hd.copy) == ("HDBSCAN", 10, True)
    assert len(hd.labels_) == 120 and h.algorithm == "hdbscan"
    assert h.note == f"HDBSCAN left {(h.labels == -1).mean():.1%} of customers as noise (cluster -1)."
    assert h.k == len(set(h.labels) - {-1}) and list(h.centroids.index) == sorted(set(h.labels) - {-1})
    with pytest.raises(ConfigError, match="algorithm must be kmeans, gmm or hdbscan"):
        clustering.fit(x, 3, algorithm="dbscan")


def test_hdbscan_smallest_cluster_is_a_fiftieth_of_customers_when_that_is_more_than_ten():
    x, _ = groups(n_per=200, sd=0.02)
    assert clustering.fit(x, 3, algorithm="hdbscan").pipeline[-1].min_cluster_size == 12


def test_ari_on_small_hand_counted_partitions():
    assert clustering.ari(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0])) == 1.0
    assert clustering.ari(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])) == pytest.approx(-0.5)
    # n = 6, 15 pairs: 1 + 3 pairs together in both, 3 + 3 in a, 1 + 6 in b; E = 6 * 7 / 15 = 2.8
    # ARI = (4 - 2.8) / ((6 + 7) / 2 - 2.8)
    assert clustering.ari(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 1, 1, 1, 1])) == pytest.approx(1.2 / 3.7)
    assert clustering.ari(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 0, 0, 0, 0])) == 0.0
    # labels that arrive as floats (read back from a file) are compared as the same ids
    assert clustering.ari(np.array([0.0, 0.0, 1.0, 1.0]), np.array([1.0, 1.0, 0.0, 0.0])) == 1.0


def test_pca_map_samples_three_thousand_customers_with_seed_42_by_default(agg):
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(0, 1, (3001, 3)), columns=[f"log_{c}" for c in clustering.BASE_FEATURES])
    labels = np.arange(3001) % 2
    fig = cluster_plots.plot_pca(x, labels, {0: "a", 1: "b"})
    ax = fig.axes[0]
    assert ax.get_title() == "Customers on a 2-D map of their three features (sample of 3,000)"
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    idx = np.sort(np.random.default_rng(42).choice(3001, 3000, replace=False))
    z = PCA(n_components=2).fit_transform(StandardScaler().fit_transform(x.to_numpy()[idx]))
    for coll, c in zip(ax.collections, [0, 1], strict=True):
        np.testing.assert_allclose(coll.get_offsets(), z[labels[idx] == c], atol=1e-9)


def test_clusters_sharing_a_name_are_numbered_in_id_order():
    same = (50, 3, 100.0, "mid", "mid", "mid")
    lv = levels({5: same, 2: same, 7: same, 1: (5, 9, 900.0, LOW, HIGH, HIGH)})
    assert cluster_text.name_clusters(lv) == {
        1: "recent · frequent · high spend", 2: "fading · occasional · mid spend",
        5: "fading · occasional · mid spend (2)", 7: "fading · occasional · mid spend (3)"}
    assert cluster_text.name_clusters(lv, "zh")[5] == "渐少购买 · 偶尔 · 中消费 (2)"

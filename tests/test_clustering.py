"""Clustering: a useful k is found and explained, stability can fail, names follow all customers and stay put."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from sklearn.metrics import adjusted_rand_score

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.io.sample import make_sample
from customer_analytics.models import cluster_naming, clustering, rfm
from customer_analytics.pipeline import context
from customer_analytics.report.plotting import clustering as cluster_plots
from customer_analytics.report.text import clustering as cluster_text
from customer_analytics.settings.loading import load_config

# corners of a grid in (recency_days, frequency, monetary): well separated on log scales
GRID = list(itertools.product((5, 60, 600), (1, 6, 40), (15, 300, 6000)))


def planted(k, n_per=150, seed=0, sd=0.15):
    """k groups of customers around k distinct grid corners (log-normal noise), and the truth."""
    rng = np.random.default_rng(seed)
    centres = np.log1p(np.array([GRID[i] for i in rng.choice(len(GRID), k, replace=False)], dtype=float))
    truth = np.repeat(np.arange(k), n_per)
    vals = np.expm1(centres[truth] + rng.normal(0, sd, (len(truth), 3)))
    return pd.DataFrame(vals, columns=["recency_days", "frequency", "monetary"]), truth


def automatic(table: pd.DataFrame, seed: int = 1) -> tuple[clustering.KChoice, clustering.ClusterFit]:
    """The notebook's path with the default configuration: search, rule, final model."""
    p = load_config()["clustering"]
    x = clustering.build_features(table)
    search = clustering.search_k(x, clustering.k_values(p["k_min"], p["k_max"]), p["scaler"], seed,
                                 **{key: p[key] for key in clustering.SAMPLING_KEYS})
    choice = clustering.choose_k(search.table, p["min_cluster_share"], p["stable_ari"], p["silhouette_tie"])
    return choice, clustering.fit(x, choice.k, search)


def test_default_search_range_is_3_to_8():
    p = load_config()["clustering"]
    assert (p["k_min"], p["k_max"]) == (3, 8)
    assert clustering.k_values(p["k_min"], p["k_max"]) == [3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize("k", [3, 5, 7])
def test_planted_groups_are_recovered(k):
    table, truth = planted(k, seed=k)
    choice, fit = automatic(table)
    assert choice.k == k and choice.recommended, choice.table
    assert adjusted_rand_score(truth, fit.labels) > 0.9
    assert f"k = {k} won" in cluster_text.choice_reason(choice) and "silhouette" in cluster_text.choice_reason(choice)


def test_sample_clusters_agree_with_the_four_customer_types_better_than_two_clusters(cleaned_sample, sample):
    customers = rfm.score_customers(cleaned_sample.data, "2025-12-31")
    types = customers["customer_id"].astype(str).map(sample.truth["experiment"]["customer_type"])
    known = types.notna().to_numpy()
    assert known.sum() > 1000 and types[known].nunique() == 4
    choice, fit = automatic(customers)
    two = clustering.fit(clustering.build_features(customers), 2, seed=1)
    ari_chosen = adjusted_rand_score(types[known], fit.labels[known])
    ari_two = adjusted_rand_score(types[known], two.labels[known])
    assert 3 <= choice.k <= 8 and choice.recommended
    assert ari_chosen > ari_two + 0.02, (choice.k, ari_chosen, ari_two)


def _customers(tmp_path, config: str | None, data: str | None = None) -> pd.DataFrame:
    """Customers of the last complete month, scored exactly as notebooks 01-02 do."""
    ctx = context.make_context(None, data_path=data, config_path=config, run_dir=str(tmp_path), seed=42, language="en")
    return context.customers(ctx)


def test_on_cdnow_the_chosen_k_is_in_range_with_a_stated_reason_and_names_that_hold(tmp_path):
    customers = _customers(tmp_path, str(ROOT / "config/cdnow.yaml"))
    assert len(customers) > 20_000
    choice, fitted = automatic(customers)
    assert 3 <= choice.k <= 8
    assert cluster_text.choice_reason(choice).startswith(f"k = {choice.k} won") and "meets the bar" not in cluster_text.choice_reason(choice)[:10]
    assert "mean ARI at least 0.8" in cluster_text.choice_reason(choice)
    # names hold: "recent" and "fading" name the cluster's median days since the last purchase by fixed days
    levels = cluster_naming.name_levels(customers, fitted.labels, cluster_naming.cutoffs(customers))
    names = cluster_text.name_clusters(levels)
    for cid, row in levels.iterrows():
        limit = {"recent": 90, "fading": 180, "lapsed": float("inf")}[names[cid].split(" · ")[0]]
        assert row["median_recency_days"] <= limit, (names[cid], row["median_recency_days"])


def test_on_a_generated_retail_export_the_chosen_k_is_in_range(tmp_path):
    from customer_analytics.io.sample import write_sample

    paths = write_sample(make_sample(seed=11, n_customers=3000), tmp_path / "data")
    customers = _customers(tmp_path, None, str(paths["transactions"]))
    choice, _ = automatic(customers)
    assert 3 <= choice.k <= 8 and choice.recommended and "won" in cluster_text.choice_reason(choice)


# ------------------------------------------------------------ the rule


def table(sil, ari, share, ks=(3, 4, 5)):
    return pd.DataFrame({"silhouette": sil, "stability_ari": ari, "min_share": share}, index=pd.Index(ks, name="k"))


def test_rule_takes_the_best_silhouette_among_the_k_that_meet_the_bar():
    t = table([0.6, 0.5, 0.45], [0.7, 0.9, 0.95], [0.2, 0.1, 0.01])
    c = clustering.choose_k(t)
    assert c.k == 4 and c.recommended
    assert "k = 3 (unstable)" in cluster_text.choice_reason(c) and "k = 5 (a cluster below 2%)" in cluster_text.choice_reason(c)
    assert c.table["meets_bar"].tolist() == [False, True, False]


def test_rule_breaks_a_silhouette_tie_towards_more_clusters():
    c = clustering.choose_k(table([0.405, 0.400, 0.30], [0.95, 0.9, 0.9], [0.1, 0.1, 0.1]))
    assert c.k == 4 and "tie" in cluster_text.choice_reason(c) and "0.405 at k = 3" in cluster_text.choice_reason(c)
    assert clustering.choose_k(table([0.405, 0.390, 0.30], [0.95, 0.9, 0.9], [0.1] * 3)).k == 3


def test_when_no_k_is_stable_the_report_says_so_and_recommends_rfm_segments():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(1000, 3))  # one round cloud: no real groups, so no partition is reproducible
    noise = pd.DataFrame(np.expm1(z + [3, 1, 4]), columns=["recency_days", "frequency", "monetary"])
    choice, _ = automatic(noise)
    assert not choice.recommended
    assert (choice.table["stability_ari"] < 0.8).all()
    assert cluster_text.choice_reason(choice).startswith("No k from 3 to 8 meets the bar") and "use the RFM segments" in cluster_text.choice_reason(choice)


def test_a_fixed_k_is_used_and_judged():
    t = table([0.6, 0.5, 0.45], [0.9, 0.9, 0.5], [0.2, 0.1, 0.1])
    c = clustering.choose_k(t, fixed=5)
    assert c.k == 5 and not c.recommended and "fixed by the analyst" in cluster_text.choice_reason(c) and "unstable" in cluster_text.choice_reason(c)
    assert clustering.k_values(3, 8, fixed=10) == [3, 4, 5, 6, 7, 8, 10]


def test_ari_matches_scikit_learn():
    rng = np.random.default_rng(3)
    for _ in range(5):
        a = rng.integers(0, 5, 2000)
        b = np.where(rng.random(2000) < 0.6, a, rng.integers(0, 7, 2000))
        assert clustering.ari(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    assert clustering.ari(np.zeros(10, int), np.zeros(10, int)) == 1.0


def test_large_data_is_searched_on_a_sample_and_everyone_is_assigned():
    df, truth = planted(4, n_per=500, seed=2)
    x = clustering.build_features(df)
    search = clustering.search_k(x, [3, 4, 5], seed=1, fit_sample=600, silhouette_sample=300, stability_sample=400,
                                 stability_fits=5)
    assert (search.n_customers, search.n_fit, search.n_silhouette, search.n_stability) == (2000, 600, 300, 400)
    assert "600 of 2,000 customers" in search.summary()
    fit = clustering.fit(x, 4, search)
    assert fit.pipeline[-1] is search.models[4]  # the search's model: no refit
    assert len(fit.labels) == 2000 and adjusted_rand_score(truth, fit.labels) > 0.95
    assert "sample of 600 of 2,000" in fit.note


def test_n_init_is_sized_to_the_data():
    assert clustering.n_init_for(5_000) == 10 and clustering.n_init_for(50_000) == 4
    assert clustering.n_init_for(1_000_000) == 2


# ------------------------------------------------------------ names


def test_names_come_from_all_customers_percentiles():
    # 100 customers; the cluster medians are judged against everyone's 25th and 75th percentiles
    r = np.r_[np.full(30, 10), np.full(40, 100), np.full(30, 400)]
    f = np.r_[np.full(30, 8), np.full(40, 1), np.full(30, 1)]
    m = np.r_[np.full(30, 500.0), np.full(40, 30.0), np.full(30, 40.0)]
    cust = pd.DataFrame({"recency_days": r, "frequency": f, "monetary": m})
    labels = np.repeat([0, 1, 2], [30, 40, 30])
    cut = cluster_naming.cutoffs(cust)
    assert cut.loc["monetary"].tolist() == [30.0, 500.0] and cut.loc["frequency"].tolist() == [1, 8]
    names = cluster_text.name_clusters(cluster_naming.name_levels(cust, labels, cut))
    assert names[0] == "recent · frequent · high spend"
    assert names[1] == "fading · one-off · low spend"  # 1 order = at or below the 25th percentile (ties count)
    # cluster 2 spends more than cluster 1 but sits between the customer percentiles: "mid", not "high"
    assert names[2] == "lapsed · one-off · mid spend"
    zh = cluster_text.name_clusters(cluster_naming.name_levels(cust, labels, cut), "zh")
    assert zh[0] == "近期购买 · 高频 · 高消费"


def test_duplicate_names_get_a_suffix():
    lv = pd.DataFrame({"recency_days_level": ["mid", "mid"], "frequency_level": ["mid", "mid"],
                       "monetary_level": ["mid", "mid"]})
    assert cluster_text.name_clusters(lv) == {0: "fading · occasional · mid spend", 1: "fading · occasional · mid spend (2)"}


def levels_row(r, rl, f=1, fl="low", m=10.0, ml="low"):
    return {"median_recency_days": r, "median_frequency": f, "median_monetary": m,
            "recency_days_level": rl, "frequency_level": fl, "monetary_level": ml}


def test_name_change_sentence_in_both_languages():
    prev = pd.DataFrame([levels_row(95, "mid"), levels_row(20, "low")])
    cur = pd.DataFrame([levels_row(160, "high"), levels_row(22, "low")])
    cut = pd.DataFrame({"low": [30.0, 1, 12.5], "high": [120.0, 4, 150.0]}, index=clustering.BASE_FEATURES)
    cut.attrs.update(q_low=0.25, q_high=0.75)
    assert cluster_text.name_changes(cur, prev, cut) == [
        "cluster 0: 'fading · one-off · low spend' → 'lapsed · one-off · low spend' (median days since last "
        "purchase 95 → 160, now more than 120 days)"]
    assert cluster_text.name_changes(cur, prev, cut, language="zh") == [
        "群组 0：'渐少购买 · 单次 · 低消费' → '久未购买 · 单次 · 低消费'（距上次购买天数中位数 95 → 160，"
        "现超过 120 天）"]
    assert cluster_text.name_changes(cur, cur, cut) == [] and cluster_text.name_changes(cur, None, cut) == []


def test_a_cut_off_moving_past_an_unchanged_median_renames_nothing():
    # last month 4 orders was the 75th percentile ("frequent"); this month the 75th percentile is 5
    cust = pd.DataFrame({"recency_days": [10, 10, 300, 300], "frequency": [4, 4, 1, 1], "monetary": [50.0] * 3 + [60]})
    labels = np.array([0, 0, 1, 1])
    prev = pd.DataFrame([levels_row(10, "low", 4, "high", 50.0, "mid"), levels_row(300, "high", 1, "low", 55.0, "mid")])
    prev_cut = pd.DataFrame({"low": [10.0, 1, 40.0], "high": [200.0, 4, 70.0]}, index=clustering.BASE_FEATURES)
    cut = pd.DataFrame({"low": [10.0, 1, 40.0], "high": [200.0, 5, 70.0]}, index=clustering.BASE_FEATURES)
    now = cluster_naming.name_levels(cust, labels, cut)
    assert now.loc[0, "frequency_level"] == "mid"  # judged on this month's cut-offs alone it would flip
    kept = cluster_naming.name_levels(cust, labels, cut, prev, previous_cut=prev_cut)
    assert kept.loc[0, "frequency_level"] == "high" and cluster_text.name_changes(kept, prev, cut) == []
    # a median that really crossed: 4 -> 6 orders is past both cut-offs (4 and 5) from below
    cust2 = cust.assign(frequency=[6, 6, 1, 1])
    prev2 = prev.assign(frequency_level=["mid", "low"])
    crossed = cluster_naming.name_levels(cust2, labels, cut, prev2, previous_cut=prev_cut)
    assert crossed.loc[0, "frequency_level"] == "high"
    assert cluster_text.name_changes(crossed, prev2, cut) == [
        "cluster 0: 'recent · occasional · mid spend' → 'recent · frequent · mid spend' "
        "(median orders 4 → 6, now at or above the 75th percentile of customers (5))"]


def two_months(shift_c: float, tmp_path):
    """Month 1 and month 2 of four planted groups; in month 2 group C's recency is multiplied by shift_c."""
    centres = {"A": (5, 20, 2000), "B": (40, 5, 300), "C": (100, 2, 60), "D": (600, 1, 15)}
    sizes = {"A": 300, "B": 300, "C": 250, "D": 150}
    out = []
    for month, seed in ((1, 10), (2, 11)):
        rng = np.random.default_rng(seed)
        parts = []
        for g, (r, f, m) in centres.items():
            r = r * (shift_c if (month == 2 and g == "C") else 1)
            n = sizes[g]
            parts.append(pd.DataFrame({"recency_days": np.round(np.exp(np.log(r) + rng.normal(0, 0.1, n))),
                                       "frequency": np.round(np.exp(np.log(f) + rng.normal(0, 0.1, n))).clip(1),
                                       "monetary": np.exp(np.log(m) + rng.normal(0, 0.1, n)), "group": g}))
        out.append(pd.concat(parts, ignore_index=True))
    m1, m2 = out
    x1, x2 = clustering.build_features(m1), clustering.build_features(m2)
    f1 = clustering.fit(x1, 4, seed=1)
    cut1 = cluster_naming.cutoffs(m1)
    lv1 = cluster_naming.name_levels(m1, f1.labels, cut1)
    clustering.save(f1, tmp_path, cluster_text.name_clusters(lv1), levels=lv1, cut=cut1)
    f2 = clustering.fit(x2, 4, seed=7)  # another seed permutes the raw labels
    mapping, _ = clustering.align_to_previous(f2.centroids, clustering.load_centroids(tmp_path))
    f2 = clustering.relabel(f2, mapping)
    cut2 = cluster_naming.cutoffs(m2)
    lv2 = cluster_naming.name_levels(m2, f2.labels, cut2, clustering.load_levels(tmp_path),
                                      previous_cut=clustering.load_cutoffs(tmp_path))
    ids = {g: int(pd.Series(f2.labels[(m2["group"] == g).to_numpy()]).mode()[0]) for g in centres}
    assert ids == {g: int(pd.Series(f1.labels[(m1["group"] == g).to_numpy()]).mode()[0]) for g in centres}
    prev = clustering.load_levels(tmp_path)
    return ids, cluster_text.name_clusters(prev), cluster_text.name_clusters(lv2), {
        lang: cluster_text.name_changes(lv2, prev, cut2, language=lang) for lang in ("en", "zh")}


def test_two_months_a_cluster_that_crossed_a_cut_off_is_renamed_in_a_sentence(tmp_path):
    ids, before, after, changes = two_months(8.0, tmp_path)   # group C: ~100 -> ~800 days since last purchase
    c = ids["C"]
    assert before[c].startswith("fading") and after[c].startswith("lapsed")
    en = [s for s in changes["en"] if s.startswith(f"cluster {c}:")]
    assert len(en) == 1
    before_days, after_days = map(int, re.search(r"median days since last purchase (\d+) → (\d+)", en[0]).groups())
    assert 90 < before_days < 110 and 700 < after_days < 900
    assert "now more than 180 days" in en[0]  # the fixed day cut-off, as in the RFM recency bands
    assert any(s.startswith(f"群组 {c}：") and "距上次购买天数中位数" in s for s in changes["zh"])
    assert not [s for s in changes["en"] if s.startswith((f"cluster {ids['A']}:", f"cluster {ids['B']}:"))]
    assert after[ids["A"]] == before[ids["A"]] and after[ids["B"]] == before[ids["B"]]


def test_two_months_nothing_crossed_nothing_is_said(tmp_path):
    ids, before, after, changes = two_months(1.05, tmp_path)
    assert changes == {"en": [], "zh": []} and before == after


# ------------------------------------------------------------ ids, outputs, charts


def test_ids_and_saved_model_round_trip(tmp_path):
    df, truth = planted(4, seed=4)
    x = clustering.build_features(df)
    f = clustering.fit(x, 4, seed=1)
    clustering.save(f, tmp_path, {i: f"c{i}" for i in range(4)})
    assert clustering.load_levels(tmp_path) is None  # saved without levels: no names to compare
    assert (clustering.predict_stable(tmp_path, x) == f.labels).all()
    moved = clustering.relabel(f, {0: 3, 1: 2, 2: 1, 3: 0})
    assert (moved.labels == 3 - f.labels).all() and list(moved.centroids.index) == [0, 1, 2, 3]


def test_profile_is_in_original_units():
    df, truth = planted(4, n_per=100, seed=5)
    prof = clustering.profile(df, truth)
    assert prof["customers"].sum() == 400 and prof["share"].sum() == pytest.approx(1)
    assert prof["revenue_share"].sum() == pytest.approx(1)


def test_compare_with_segments_reports_ari_and_nmi_as_scikit_learn_does():
    from sklearn.metrics import normalized_mutual_info_score

    ct, ari, nmi = clustering.compare_with_segments(np.array([0, 0, 1, 1]), pd.Series(["a", "a", "b", "b"]))
    assert ari == pytest.approx(1) and nmi == pytest.approx(1) and ct.shape == (2, 2)
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 3000)
    seg = pd.Series(np.where(rng.random(3000) < 0.5, labels, rng.integers(0, 6, 3000))).map(lambda v: f"s{v}")
    ct, ari, nmi = clustering.compare_with_segments(labels, seg)
    assert ari == pytest.approx(adjusted_rand_score(seg, labels), abs=1e-12)
    assert nmi == pytest.approx(normalized_mutual_info_score(seg, labels), abs=1e-12)
    assert ct.equals(pd.crosstab(pd.Series(labels, name="cluster"), pd.Series(seg.to_numpy(), name="segment")))


def test_gmm_and_hdbscan_options():
    df, truth = planted(4, seed=6)
    x = clustering.build_features(df)
    assert adjusted_rand_score(truth, clustering.fit(x, 4, algorithm="gmm").labels) > 0.9
    h = clustering.fit(x, 4, algorithm="hdbscan")
    assert 0 <= h.noise_share < 0.5 and "noise" in h.note
    assert (clustering.name_column(np.array([0, -1]), {0: "x"}) == ["x", "noise"]).all()


def test_charts_and_tables_show_names_plain_words_and_no_offsets():
    import matplotlib

    matplotlib.use("Agg")
    df, truth = planted(3, seed=3)
    choice, fit = automatic(df)
    x = clustering.build_features(df)
    cut = cluster_naming.cutoffs(df)
    levels = cluster_naming.name_levels(df, fit.labels, cut)
    names = cluster_text.name_clusters(levels)
    pca = cluster_plots.plot_pca(x, fit.labels, names)
    legend = [t.get_text() for t in pca.axes[0].get_legend().get_texts()]
    assert legend == [f"{c}: {names[c]}" for c in sorted(names)]
    prof = cluster_plots.plot_profile(levels, cut, names)
    prof.canvas.draw()
    titles = " ".join(ax.get_title() for ax in prof.axes)
    for words in ("days since last purchase\n(lower is better)", "orders\n(higher is better)", "spend"):
        assert words in titles
    assert {t.get_text() for t in prof.axes[0].get_yticklabels()} == {f"{c}: {names[c]}" for c in levels.index}
    assert any("log scale" in t.get_text() for t in prof.texts)
    kfig = cluster_plots.plot_k_choice(choice)
    for fig in (pca, prof, kfig):
        fig.canvas.draw()
        for ax in fig.axes:
            assert ax.xaxis.get_offset_text().get_text() == "" and ax.yaxis.get_offset_text().get_text() == ""


# ------------------------------------------------------------ bad input


def test_fewer_customers_than_clusters():
    df, _ = planted(4, n_per=2)
    x = clustering.build_features(df)
    with pytest.raises(InputError, match="Only 8 customers for up to k_max=10"):
        clustering.search_k(x, range(3, 11))
    with pytest.raises(InputError, match="need more customers than clusters"):
        clustering.fit(x, 8)


def test_zero_variance_feature():
    df = pd.DataFrame({"recency_days": [1, 2, 3], "frequency": [1, 1, 1], "monetary": [1.0, 2.0, 3.0]})
    with pytest.raises(InputError, match="'log_frequency' has zero variance"):
        clustering.build_features(df)


def test_missing_or_infinite_values():
    df = pd.DataFrame({"recency_days": [1, 2, np.nan], "frequency": [1, 2, 3], "monetary": [1.0, 2.0, np.inf]})
    with pytest.raises(InputError, match="'log_recency_days' has 1 missing or infinite"):
        clustering.build_features(df)


def test_impossible_settings():
    with pytest.raises(ConfigError, match="2 <= k_min <= k_max"):
        clustering.check_k_range(100, 1, 5)
    with pytest.raises(ConfigError, match="k_min=6, k_max=3"):
        clustering.check_k_range(100, 6, 3)
    x = clustering.build_features(planted(3)[0])
    with pytest.raises(ConfigError, match="stability_fits must be at least 2"):
        clustering.search_k(x, [3], stability_fits=1)
    with pytest.raises(ConfigError, match="name_cutoffs"):
        cluster_naming.cutoffs(planted(3)[0], [0.75, 0.25])
    with pytest.raises(ConfigError, match="language"):
        cluster_text.name_clusters(pd.DataFrame(), "fr")


def test_log_axes_are_labelled_in_plain_numbers():
    import matplotlib

    matplotlib.use("Agg")
    lv = pd.DataFrame([levels_row(40, "mid", 7, "high", 257.9, "high"), levels_row(498, "mid", 1, "low", 23.7, "mid")])
    cut = pd.DataFrame({"low": [206.0, 1, 19.99], "high": [505.0, 3, 106.78]}, index=clustering.BASE_FEATURES)
    fig = cluster_plots.plot_profile(lv, cut, {0: "a", 1: "b"})
    fig.canvas.draw()
    for ax in fig.axes[1:]:
        labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_xticklabels(minor=True) if t.get_text()]
        assert labels and all(re.fullmatch(r"[\d,.]+", t) for t in labels), labels

"""Clustering: planted groups are found, stability can fail, names and ids follow the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from customer_analytics import clustering
from customer_analytics.errors import ConfigError, InputError

CENTRES = {  # (recency_days, frequency, monetary): well separated on log scales
    0: (5, 30, 5000),
    1: (300, 1, 20),
    2: (40, 5, 400),
    3: (700, 3, 3000),
}


def planted(n_per=300, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for g, (r, f, m) in CENTRES.items():
        rows.append(pd.DataFrame({
            "recency_days": np.exp(np.log1p(r) + shift + rng.normal(0, 0.15, n_per)) - 1,
            "frequency": np.exp(np.log1p(f) + rng.normal(0, 0.15, n_per)) - 1,
            "monetary": np.exp(np.log1p(m) + rng.normal(0, 0.15, n_per)) - 1,
        }))
        truth += [g] * n_per
    return pd.concat(rows, ignore_index=True), np.array(truth)


def test_automatic_k_finds_the_planted_groups():
    rfm_table, truth = planted()
    x = clustering.build_features(rfm_table)
    metrics = clustering.search_k(x, 2, 8, seed=1)
    k, reason = clustering.choose_k(metrics)
    assert k == 4, metrics
    assert "highest silhouette" in reason
    fit = clustering.fit(x, k, seed=1)
    assert adjusted_rand_score(truth, fit.labels) > 0.9


def test_choose_k_skips_k_with_a_tiny_cluster():
    m = pd.DataFrame({"silhouette": [0.5, 0.7, 0.6], "min_share": [0.3, 0.01, 0.1]}, index=[2, 3, 4])
    k, reason = clustering.choose_k(m, 0.02)
    assert k == 4 and "excluded" in reason and "[3]" in reason


def test_stability_is_high_for_planted_groups_and_low_for_noise():
    rfm_table, _ = planted(200)
    x = clustering.build_features(rfm_table)
    stable = clustering.stability(x, 4, seed=3, n_bootstrap=20)
    assert stable.loc[4, "ari_mean"] > 0.95 and stable.loc[4, "n_bootstrap"] == 20
    assert list(stable.index) == [3, 4, 5]
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"recency_days": rng.uniform(0, 400, 600), "frequency": rng.uniform(1, 10, 600),
                          "monetary": rng.uniform(10, 500, 600)})
    unstable = clustering.stability(clustering.build_features(noise), 7, seed=3, n_bootstrap=20, neighbours=False)
    assert unstable.loc[7, "ari_mean"] < 0.8
    assert "should not drive spending decisions" in clustering.stability_verdict(unstable.loc[7, "ari_mean"])
    assert clustering.stability_verdict(0.95).startswith("Stable")


def test_names_follow_the_profile():
    rfm_table, truth = planted()
    x = clustering.build_features(rfm_table)
    fit = clustering.fit(x, 4, seed=1)
    names = clustering.name_clusters(clustering.standardise(fit.centroids, x))
    best = pd.Series(fit.labels[truth == 0]).mode()[0]    # recent, frequent, high spenders
    worst = pd.Series(fit.labels[truth == 1]).mode()[0]   # lapsed one-off low spenders
    assert names[best] == "recent · frequent · high spend"
    assert names[worst] == "lapsed · one-off · low spend"
    zh = clustering.name_clusters(clustering.standardise(fit.centroids, x), "zh")
    assert zh[best] == "近期购买 · 高频 · 高消费"
    assert len(set(names.values())) == len(names)


def test_duplicate_names_get_a_suffix():
    c = pd.DataFrame({"log_recency_days": [0.0, 0.1], "log_frequency": [0.0, 0.0], "log_monetary": [0.0, 0.0]})
    assert clustering.name_clusters(c) == {0: "fading · occasional · mid spend", 1: "fading · occasional · mid spend (2)"}


def test_ids_are_stable_across_two_consecutive_periods(tmp_path):
    nov, truth = planted(seed=10)
    dec, _ = planted(seed=11, shift=0.05)   # next month: new draws, slightly drifted
    x_nov, x_dec = clustering.build_features(nov), clustering.build_features(dec)
    f_nov = clustering.fit(x_nov, 4, seed=1)
    f_dec = clustering.fit(x_dec, 4, seed=99)  # a different seed permutes the raw labels
    mapping, moved = clustering.align_to_previous(f_dec.centroids, f_nov.centroids)
    aligned = clustering.relabel(f_dec, mapping)
    # the same planted group carries the same id in both months
    for g in CENTRES:
        assert pd.Series(f_nov.labels[truth == g]).mode()[0] == pd.Series(aligned.labels[truth == g]).mode()[0]
    assert (moved < 0.2).all() and len(moved) == 4
    # saved and reloaded centroids give the same alignment
    clustering.save(f_nov, tmp_path, {i: f"c{i}" for i in range(4)})
    again, _ = clustering.align_to_previous(f_dec.centroids, clustering.load_centroids(tmp_path))
    assert again == mapping
    assert (clustering.predict_stable(tmp_path, x_nov) == f_nov.labels).all()


def test_profile_is_in_original_units():
    rfm_table, truth = planted(100)
    prof = clustering.profile(rfm_table, truth)
    assert prof["customers"].sum() == 400 and prof["share"].sum() == pytest.approx(1)
    assert prof.loc[0, "median_frequency"] == pytest.approx(30, rel=0.1)
    assert prof["revenue_share"].sum() == pytest.approx(1)


def test_compare_with_segments_reports_ari_and_nmi():
    ct, ari, nmi = clustering.compare_with_segments(np.array([0, 0, 1, 1]), pd.Series(["a", "a", "b", "b"]))
    assert ari == pytest.approx(1) and nmi == pytest.approx(1) and ct.shape == (2, 2)


def test_large_data_switches_to_minibatch():
    rfm_table, _ = planted(100)
    fit = clustering.fit(clustering.build_features(rfm_table), 4, minibatch_above=100)
    assert type(fit.pipeline[-1]).__name__ == "MiniBatchKMeans" and "MiniBatchKMeans" in fit.note


def test_gmm_and_hdbscan_options():
    rfm_table, truth = planted(150)
    x = clustering.build_features(rfm_table)
    assert adjusted_rand_score(truth, clustering.fit(x, 4, algorithm="gmm").labels) > 0.9
    h = clustering.fit(x, 4, algorithm="hdbscan")
    assert 0 <= h.noise_share < 0.5 and "noise" in h.note


# ------------------------------------------------------------ bad input


def test_fewer_customers_than_clusters():
    rfm_table, _ = planted(2)
    x = clustering.build_features(rfm_table)
    with pytest.raises(InputError, match="Only 8 customers for up to k_max=10"):
        clustering.search_k(x, 2, 10)
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


def test_impossible_k_range():
    with pytest.raises(ConfigError, match="2 <= k_min <= k_max"):
        clustering.check_k_range(100, 1, 5)
    with pytest.raises(ConfigError, match="k_min=6, k_max=3"):
        clustering.check_k_range(100, 6, 3)

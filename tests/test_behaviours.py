"""Behaviours a user meets in the results, checked where the user meets them.

Each test names the behaviour it protects. They are written against the public
results (the analysis result and its decision text, the exported tables and
customers.csv, the run context), so that a plausible slip in the code behind them
(a dropped adjustment, an ignored sign, an inverted mapping, a float sum of money)
makes a test fail even when every helper still passes its own test.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from statsmodels.stats.multitest import multipletests

from customer_analytics.core.errors import InputError
from customer_analytics.models import cleaning, clustering, rfm
from customer_analytics.models import experiments as ex
from customer_analytics.pipeline import context
from customer_analytics.report import exports
from customer_analytics.report.text import experiments as ex_text
from customer_analytics.report.text import rfm as rfm_text

# ------------------------------------------------------------------ experiment tables


def arm(name: str, users: int, conversions: int, segment: str | None = None) -> pd.DataFrame:
    """``users`` rows of one arm, the first ``conversions`` of them converted."""
    y = np.zeros(users)
    y[:conversions] = 1.0
    out = pd.DataFrame({"variant": name, "converted": y})
    return out.assign(region=segment) if segment else out


def spec(segments: bool = False) -> ex.ExperimentSpec:
    return ex.ExperimentSpec("variant", "control", binary_metrics=["converted"],
                             segment_columns=["region"] if segments else [])


def four_regions() -> pd.DataFrame:
    """Two regions with a nominally significant lift (p = 0.021 and 0.041), two with none."""
    parts = []
    for region, treated in (("north", 36), ("south", 34), ("east", 20), ("west", 20)):
        parts += [arm("control", 200, 20, region), arm("treatment", 200, treated, region)]
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("correction", ["holm", "fdr_bh"])
def test_segment_results_use_the_adjusted_p_values(correction):
    res = ex.analyse(four_regions(), spec(segments=True), correction=correction)
    seg = res.segments.set_index("segment")
    assert seg.loc["north", "p_value"] < 0.05 and seg.loc["south", "p_value"] < 0.05
    expected = multipletests(res.segments["p_value"], method=correction)[1]
    assert res.segments["p_adjusted"].to_numpy() == pytest.approx(expected, abs=1e-12)
    assert (seg["p_adjusted"] > seg["p_value"]).loc[["north", "south"]].all()
    assert not res.segments["significant_adjusted"].any()
    # four comparisons: neither nominal lift survives the adjustment, and the text names no segment
    text = html.unescape(ex_text.decision_summary(res))
    assert "Works in" not in text and "region = north" not in text and "region = south" not in text
    assert "No segment shows a significant effect after the per-segment correction." in text.split("\n\n")


def test_holm_and_benjamini_hochberg_give_different_adjusted_p_values():
    holm = ex.analyse(four_regions(), spec(segments=True), correction="holm").segments
    bh = ex.analyse(four_regions(), spec(segments=True), correction="fdr_bh").segments
    assert holm.set_index("segment").loc["south", "p_adjusted"] == pytest.approx(3 * 0.04051697280293327, rel=1e-6)
    assert bh.set_index("segment").loc["south", "p_adjusted"] == pytest.approx(2 * 0.04051697280293327, rel=1e-6)


def test_a_segment_that_survives_the_adjustment_is_named():
    parts = []
    for region, treated in (("north", 60), ("south", 60), ("east", 20)):
        parts += [arm("control", 200, 20, region), arm("treatment", 200, treated, region)]
    res = ex.analyse(pd.concat(parts, ignore_index=True), spec(segments=True))
    text = html.unescape(ex_text.decision_summary(res))
    assert ("Works in (significant after the per-segment correction): treatment in region = north (+20.00 pp "
            "(95% CI +12.29 to +27.51 pp), adjusted p < 0.001); treatment in region = south (+20.00 pp") in text
    assert "region = east" not in text
    assert text.endswith("Next: roll out treatment to the users it was tested on; the effect is proven in "
                         "region = north, region = south. Keep a hold-out to confirm.")
    seg = res.segments.set_index("segment")
    assert seg["significant_adjusted"].to_dict() == {"east": False, "north": True, "south": True}


def test_a_broken_assignment_stops_the_reader_first():
    df = pd.concat([arm("control", 1000, 100), arm("treatment", 800, 120)], ignore_index=True)
    res = ex.analyse(df, spec())
    assert res.srm.flagged
    stop = ("**Stop: the arms are not in the planned proportions (SRM p < 0.001).** "
            "The assignment is broken; the numbers below are not trustworthy.")
    # a significant lift does not make a winner when the assignment is broken
    paragraphs = html.unescape(ex_text.decision_summary(res)).split("\n\n")
    assert paragraphs[0] == stop and res.decision().winner is None
    assert paragraphs[1] == ("**No arm is a proven winner on converted.** the arms are not in the planned "
                             "proportions (SRM p < 0.001), so the assignment is broken and no result can be trusted.")
    assert "Winner on" not in "\n\n".join(paragraphs) and paragraphs[-1] == "Next: fix the assignment and rerun."
    no_winner = pd.concat([arm("control", 1000, 100), arm("treatment", 800, 80)], ignore_index=True)
    paragraphs = html.unescape(ex_text.decision_summary(ex.analyse(no_winner, spec()))).split("\n\n")
    assert paragraphs[0] == stop and paragraphs[1].startswith("**No arm is a proven winner on converted.**")
    assert paragraphs[-1] == "Next: fix the assignment and rerun."
    planned = ex.analyse(df, ex.ExperimentSpec("variant", "control", binary_metrics=["converted"],
                                               planned_split={"control": 5, "treatment": 4}))
    assert not planned.srm.flagged and planned.decision().winner == "treatment"
    assert html.unescape(ex_text.decision_summary(planned)).startswith("**Winner on converted: treatment**: +5.00 pp")


def test_pre_period_imbalance_points_to_cuped():
    rng = np.random.default_rng(3)
    pre = np.r_[rng.normal(100, 20, 400), rng.normal(110, 20, 400), rng.normal(90, 20, 400)]
    df = pd.DataFrame({"variant": ["control"] * 400 + ["a"] * 400 + ["b"] * 400, "pre": pre,
                       "revenue": pre * 0.5 + rng.normal(0, 5, 1200)})
    res = ex.analyse(df, ex.ExperimentSpec("variant", "control", continuous_metrics=["revenue"], covariate="pre"))
    assert res.balance["imbalanced"].tolist() == [True, True]
    assert ("Pre-period imbalance in a: pre, b: pre (|SMD| > 0.1): prefer the CUPED-adjusted estimates."
            in ex_text.decision_summary(res))
    balanced = df.assign(pre=np.r_[pre[:400], pre[:400], pre[:400]])
    assert "imbalance" not in ex_text.decision_summary(ex.analyse(balanced, ex.ExperimentSpec(
        "variant", "control", continuous_metrics=["revenue"], covariate="pre")))


def test_a_significantly_worse_arm_is_not_the_winner():
    df = pd.concat([arm("control", 1000, 100), arm("treatment", 1000, 60)], ignore_index=True)
    res = ex.analyse(df, spec())
    text = html.unescape(ex_text.decision_summary(res))
    assert res.decision().winner is None
    assert text.startswith("**No arm is a proven winner on converted.** treatment moved converted the wrong way "
                           "(adjusted p < 0.001).")
    assert "Winner" not in text and "treatment vs control: -4.00 pp (95% CI -6.40 to -1.63 pp)" in text
    # a significant harm is a finding, not an inconclusive result
    assert "under-powered" not in text and "inconclusive" not in text
    assert text.endswith("Next: do not roll out; if the effect matters, rerun with the sample size in the planning table.")


def test_the_winner_is_the_best_arm_that_beats_control_not_the_largest_change():
    df = pd.concat([arm("control", 1000, 100), arm("better", 1000, 130), arm("worse", 1000, 40)], ignore_index=True)
    res = ex.analyse(df, spec())
    text = html.unescape(ex_text.decision_summary(res))
    assert res.decision().winner == "better"
    assert text.startswith("**Winner on converted: better**: +3.00 pp (95% CI +0.20 to +5.81 pp)")
    assert "better vs control: +3.00 pp" in text and "worse vs control: -6.00 pp" in text
    assert text.endswith("Next: roll out better to the users it was tested on; no single segment stands out after "
                         "the per-segment correction. Keep a hold-out to confirm.")


def test_groups_with_fewer_than_ten_successes_or_failures_are_flagged():
    df = pd.concat([arm("control", 100, 50), arm("few_successes", 100, 9), arm("few_failures", 100, 91),
                    arm("ten_successes", 100, 10), arm("ten_failures", 100, 90), arm("thirty_users", 30, 15),
                    arm("twenty_nine_users", 29, 15)], ignore_index=True)
    res = ex.analyse(df, spec())
    small = "too small for the normal approximation"
    sizes = res.sizes.set_index("arm")
    assert (sizes["segment_column"] == "(all)").all() and (sizes["segment"] == "(all)").all()
    expected = pd.DataFrame({
        "users": [100, 100, 100, 100, 100, 30, 29],
        "converted_successes": [50, 91, 9, 90, 10, 15, 15],
        "warning": ["", small, small, "", "", "", small],
    }, index=pd.Index(["control", "few_failures", "few_successes", "ten_failures", "ten_successes", "thirty_users",
                       "twenty_nine_users"], name="arm"))
    pd.testing.assert_frame_equal(sizes[["users", "converted_successes", "warning"]], expected,
                                  check_dtype=False, check_index_type=False)
    assert sizes["users"].dtype == "int64" and sizes["converted_successes"].dtype == "int64"  # whole numbers
    assert ("3 arm/segment group(s) are too small for the normal approximation; treat their results as indicative."
            in html.unescape(ex_text.decision_summary(res)).split("\n\n"))


def test_groups_are_checked_per_segment():
    parts = [arm("control", 100, 50, "north"), arm("treatment", 100, 50, "north"),
             arm("control", 100, 50, "south"), arm("treatment", 100, 5, "south")]
    res = ex.analyse(pd.concat(parts, ignore_index=True), spec(segments=True))
    flagged = res.sizes[res.sizes["warning"] != ""]
    # the pooled treatment arm (55 successes) is fine; only its south group is too small
    assert list(zip(flagged["segment_column"], flagged["segment"], flagged["arm"], strict=True)) == [
        ("region", "south", "treatment")]
    assert "1 arm/segment group(s) are too small" in html.unescape(ex_text.decision_summary(res))


# ------------------------------------------------------------------ run context


@pytest.mark.parametrize("given,period,as_of", [
    ("2024-02", "2024-02", "2024-02-29"),
    ("2025-02", "2025-02", "2025-02-28"),
    ("2025-11-30", "2025-11", "2025-11-30"),
    ("2025-12-01", "2025-12", "2025-12-31"),
])
def test_the_period_ends_on_the_last_day_of_the_month(tmp_path, given, period, as_of):
    ctx = context.make_context(given, run_dir=str(tmp_path))
    assert (ctx.period, ctx.as_of) == (period, pd.Timestamp(as_of))
    assert f"(as of {as_of})" in ctx.describe()


def test_a_purchase_on_the_last_day_of_the_period_counts_with_recency_zero(tmp_path):
    ctx = context.make_context("2024-02", run_dir=str(tmp_path))
    tx = pd.DataFrame({"customer_id": ["a", "b"], "order_id": ["1", "2"],
                       "order_date": pd.to_datetime(["2024-02-29 17:30", "2024-02-01 08:00"]), "amount": [10.0, 5.0]})
    out = rfm.compute_rfm(tx, ctx.as_of).set_index("customer_id")
    assert out.loc["a", "recency_days"] == 0 and out.loc["b", "recency_days"] == 28


@pytest.mark.parametrize("seed", [0, 7])
def test_the_run_uses_the_seed_it_is_given(tmp_path, seed):
    ctx = context.make_context("2025-11", run_dir=str(tmp_path), seed=seed)
    assert ctx.config["seed"] != seed and ctx.seed == seed
    assert f"seed {seed}," in ctx.describe()


def test_without_a_seed_the_run_uses_the_configs(tmp_path):
    ctx = context.make_context("2025-11", run_dir=str(tmp_path))
    assert ctx.seed == ctx.config["seed"]


# ------------------------------------------------------------------ segment table


def test_revenue_share_is_a_share_of_revenue_not_of_customers(tmp_path):
    scored = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"], "recency_days": [3, 300, 310, 320], "frequency": [9, 1, 1, 1],
        "monetary": [900.0, 30.0, 30.0, 40.0], "segment": ["champions", "hibernating", "hibernating", "hibernating"],
    })
    summary = rfm_text.segment_summary(scored)
    table = pd.read_csv(exports.save_table(summary, tmp_path, "segment_summary"), index_col=0)
    champions, hibernating = table.loc["Champions"], table.loc["Hibernating"]
    assert (champions["customers"], champions["share"], champions["revenue"]) == (1, 0.25, 900.0)
    assert (champions["revenue_share"], hibernating["revenue_share"]) == (0.9, 0.1)
    assert (hibernating["customers"], hibernating["share"], hibernating["revenue"]) == (3, 0.75, 100.0)
    assert table["revenue_share"].sum() == pytest.approx(1.0) and table.loc["Lost", "revenue_share"] == 0


def test_the_segment_table_in_full():
    scored = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"], "recency_days": [3, 300, 310, 321], "frequency": [9, 1, 2, 2],
        "monetary": [900.0, 30.0, 30.0, 40.0], "segment": ["champions", "hibernating", "hibernating", "hibernating"],
    })
    table = rfm_text.segment_summary(scored)
    assert table.index.name == "segment" and table.index[0] == "Champions" and len(table) == 11
    assert list(table.columns) == ["segment_code", "customers", "share", "revenue", "revenue_share",
                                   "median_recency_days", "max_recency_days", "mean_recency_days",
                                   "mean_frequency", "mean_monetary", "action"]
    hib = table.loc["Hibernating"]
    assert hib[["segment_code", "customers", "share", "revenue", "revenue_share", "median_recency_days",
                "max_recency_days", "action"]].tolist() == [
        "hibernating", 3, 0.75, 100.0, 0.1, 310.0, 321.0, "Low-cost reactivation only; include in seasonal campaigns."]
    # full precision: formatting happens only where the table is shown
    assert hib[["mean_recency_days", "mean_frequency", "mean_monetary"]].tolist() == pytest.approx(
        [931 / 3, 5 / 3, 100 / 3], rel=1e-12)
    lost = table.loc["Lost"]
    assert lost[["segment_code", "customers", "share", "revenue", "revenue_share", "action"]].tolist() == [
        "lost", 0, 0.0, 0.0, 0.0, "Do not spend; keep in a low-frequency newsletter."]
    # an empty segment has no typical customer: its recency, frequency and spend are missing, not zero
    assert lost[["median_recency_days", "max_recency_days", "mean_recency_days", "mean_frequency",
                 "mean_monetary"]].isna().all()
    zh = rfm_text.segment_summary(scored, language="zh")
    assert zh.index[0] == "冠军客户" and zh.loc["冠军客户", "action"] == "给予奖励、新品抢先体验和推荐邀请，无需折扣。"


# ------------------------------------------------------------------ clustering

CENTRES = [(5, 30, 5000), (300, 1, 20), (40, 5, 400), (700, 3, 3000)]


def planted(n_per: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = [pd.DataFrame({col: np.exp(np.log1p(v) + rng.normal(0, 0.15, n_per)) - 1
                          for col, v in zip(("recency_days", "frequency", "monetary"), c, strict=True)})
            for c in CENTRES]
    return pd.concat(rows, ignore_index=True), np.repeat(np.arange(len(CENTRES)), n_per)


def test_cluster_ids_follow_last_months_ids(tmp_path):
    table, _ = planted()
    x = clustering.build_features(table)
    now = clustering.fit(x, 4, seed=1)
    # last month the same groups carried other ids: model label L was called LAST_ID[L]
    last_id = {0: 1, 1: 2, 2: 3, 3: 0}  # a cycle, so the inverse mapping differs
    previous = now.centroids.rename(index=last_id)
    mapping, moved = clustering.align_to_previous(now.centroids, previous)
    assert mapping == last_id and (moved == 0).all()
    stable = clustering.relabel(now, mapping)
    assert (stable.labels == np.array([last_id[v] for v in now.labels])).all()
    assert np.allclose(stable.centroids.sort_index(), previous.sort_index())
    # the saved model gives new customers the same stable ids
    clustering.save(stable, tmp_path, {i: f"cluster {i}" for i in range(4)})
    assert (clustering.predict_stable(tmp_path, x) == stable.labels).all()
    saved = pd.read_csv(tmp_path / "cluster_centroids.csv", index_col="cluster")
    assert {c: int(m) for c, m in saved["model_label"].items()} == {v: k for k, v in last_id.items()}


def test_a_new_cluster_gets_a_new_id_after_the_last_one():
    table, _ = planted()
    x = clustering.build_features(table)
    now = clustering.fit(x, 4, seed=1)
    previous = now.centroids.drop(index=3).rename(index={0: 5, 1: 6, 2: 7})
    mapping, _ = clustering.align_to_previous(now.centroids, previous)
    assert mapping == {0: 5, 1: 6, 2: 7, 3: 8}


def test_centroid_shift_and_new_ids_are_reported():
    table, _ = planted()
    x = clustering.build_features(table)
    now = clustering.fit(x, 4, seed=1)
    previous = (now.centroids + np.array([0.3, 0.0, 0.4])).loc[[2, 0]].rename(index={2: 5, 0: 6})
    mapping, moved = clustering.align_to_previous(now.centroids, previous)
    assert mapping == {2: 5, 0: 6, 1: 7, 3: 8}
    assert moved.name == "centroid_shift" and moved.index.tolist() == [5, 6]
    assert moved.to_numpy() == pytest.approx([0.5, 0.5])


def test_relabelling_keeps_noise_and_the_fit():
    cent = pd.DataFrame({"log_recency_days": [1.0, 2.0, 3.0], "log_frequency": [0.0, 1.0, 2.0],
                         "log_monetary": [5.0, 6.0, 7.0]})
    fit = clustering.ClusterFit("pipeline", np.array([0, 1, -1, 2, 1]), cent, 3, "hdbscan", "note")
    out = clustering.relabel(fit, {0: 5, 1: 3})
    assert out.labels.tolist() == [5, 3, -1, 2, 3]
    assert out.centroids.index.tolist() == [2, 3, 5] and out.centroids.loc[5, "log_monetary"] == 5.0
    assert (out.pipeline, out.k, out.algorithm, out.note, out.id_map) == ("pipeline", 3, "hdbscan", "note", {0: 5, 1: 3})
    assert out.noise_share == 0.2


def test_silhouette_is_computed_on_the_scaled_features():
    table, _ = planted()
    x = clustering.build_features(table)
    x["log_monetary"] *= 20  # a feature on a much larger scale: scaling matters
    metrics = clustering.search_k(x, [3, 4], seed=5, silhouette_sample=10_000, stability_fits=2).table
    z = StandardScaler().fit_transform(x.to_numpy())
    for k in (3, 4):
        labels = KMeans(n_clusters=k, n_init=10, random_state=5).fit(z).labels_
        assert metrics.loc[k, "silhouette"] == pytest.approx(silhouette_score(z, labels), abs=1e-9)
        assert abs(metrics.loc[k, "silhouette"] - silhouette_score(x.to_numpy(), labels)) > 0.01
        assert metrics.loc[k, "min_share"] == pytest.approx(np.bincount(labels).min() / len(labels))


def test_stability_separates_planted_groups_from_noise():
    table, _ = planted(40)
    stable = clustering.search_k(clustering.build_features(table), [3, 4, 5], seed=3, stability_fits=3).table
    assert list(stable.index) == [3, 4, 5]
    assert stable.loc[4, "stability_ari"] > 0.95 and stable.loc[4, "stability_ari_min"] > 0.95
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"recency_days": rng.uniform(0, 400, 200), "frequency": rng.uniform(1, 10, 200),
                          "monetary": rng.uniform(10, 500, 200)})
    unstable = clustering.search_k(clustering.build_features(noise), [7], seed=3, stability_fits=3).table
    assert list(unstable.index) == [7] and unstable.loc[7, "stability_ari"] < 0.8
    # the rule reads it: noise is not recommended for targeting, the planted groups are
    assert not clustering.choose_k(unstable).recommended and clustering.choose_k(stable).recommended


# ------------------------------------------------------------------ duplicates and money


def lines(rows: list[tuple]) -> pd.DataFrame:
    cols = ["customer_id", "order_id", "order_date", "amount", "product_id", "quantity", "unit_price", "source_row"]
    df = pd.DataFrame(rows, columns=cols)
    df["order_date"] = pd.to_datetime(df["order_date"])
    for c in ("customer_id", "order_id", "product_id"):
        df[c] = df[c].astype("string")
    return df


DUPLICATE_CASES = lines([
    # the same purchase in two orders: two purchases
    ("c1", "A1", "2025-11-03 10:00", 9.79, "P1", 1.0, 9.79, 2),
    ("c1", "A2", "2025-11-03 10:00", 9.79, "P1", 1.0, 9.79, 3),
    # the same order line twice with a different quantity: two lines
    ("c2", "B1", "2025-11-04 11:00", 9.79, "P1", 1.0, 9.79, 4),
    ("c2", "B1", "2025-11-04 11:00", 9.79, "P1", 2.0, 9.79, 5),
    # an export duplicate: identical in every column but the source row
    ("c3", "E1", "2025-11-05 12:00", 5.00, "P2", 1.0, 5.00, 6),
    ("c3", "E1", "2025-11-05 12:00", 5.00, "P2", 1.0, 5.00, 7),
    ("c4", "F1", "2025-11-06 09:00", 7.70, "P3", 1.0, 7.70, 8),
])


def test_duplicates_need_every_column_equal_and_the_first_copy_is_kept():
    res = cleaning.clean_transactions(DUPLICATE_CASES)
    assert res.data["source_row"].tolist() == [2, 3, 4, 5, 6, 8]
    dup = res.audit.set_index("rule").loc["duplicates"]
    assert (dup["rows_removed"], dup["rows_changed"], dup["revenue_removed"], dup["revenue_effect"],
            dup["example_rows"]) == (1, 0, 5.0, -5.0, "7")


def test_duplicates_are_not_counted_twice_in_the_customer_table():
    clean = cleaning.clean_transactions(DUPLICATE_CASES).data
    out = rfm.compute_rfm(clean, "2025-11-30").set_index("customer_id")
    assert out.loc["c1", "frequency"] == 2 and out.loc["c1", "monetary"] == 19.58
    assert out.loc["c3", "frequency"] == 1 and out.loc["c3", "monetary"] == 5.0


def test_money_in_customers_csv_is_exact(tmp_path):
    # 7.70 + 11.88 is 19.580000000000002 in floating point
    tx = lines([("a", "1", "2025-11-03", 7.70, "P1", 1.0, 7.70, 2), ("a", "2", "2025-11-10", 11.88, "P2", 1.0, 11.88, 3),
                ("b", "3", "2025-11-04", 0.10, "P1", 1.0, 0.10, 4), ("b", "3", "2025-11-04", 0.20, "P2", 1.0, 0.20, 5),
                ("c", "4", "2025-10-01", 50.00, "P3", 1.0, 50.00, 6)])
    scored = rfm.score_customers(tx, "2025-11-30")
    export = rfm_text.activation_export(scored, "2025-11")
    export.to_csv(tmp_path / "customers.csv", index=False, lineterminator="\n")
    back = pd.read_csv(tmp_path / "customers.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert back.loc["a", "monetary"] == 19.58 and back.loc["b", "monetary"] == 0.3
    text = (tmp_path / "customers.csv").read_text()
    assert "19.580000000000002" not in text and ",19.58," in text and ",0.3," in text
    # whole numbers stay whole in the file (recency 20, not 20.0)
    assert text.splitlines()[1].startswith("a,20,2,19.58,")
    assert scored.dtypes[rfm.RFM_COLUMNS].astype(str).tolist() == [
        "string", "int64", "int64", "float64", "datetime64[ns]", "datetime64[ns]", "int64"]
    aov = rfm.score_customers(tx, "2025-11-30", monetary="aov").set_index("customer_id")
    assert aov.loc["a", "monetary"] == 9.79
    three = lines([("d", str(i), f"2025-11-0{i}", v, "P1", 1.0, v, 10 + i) for i, v in ((1, 3.33), (2, 3.33), (3, 3.34))])
    assert rfm.compute_rfm(three, "2025-11-30", monetary="aov")["monetary"].tolist() == [3.33]


def test_experiment_revenue_is_exact():
    tx = lines([("a", "1", "2025-11-03", 7.70, "P1", 1.0, 7.70, 2), ("a", "2", "2025-11-10", 11.88, "P2", 1.0, 11.88, 3),
                ("a", "0", "2025-10-01", 0.10, "P1", 1.0, 0.10, 4), ("a", "00", "2025-10-02", 0.20, "P1", 1.0, 0.20, 5)])
    assignments = pd.DataFrame({"customer_id": ["a", "b"], "variant": ["treatment", "control"],
                                "exposure_date": ["2025-11-01", "2025-11-01"]})
    out, _ = ex.derive_outcomes(assignments, tx, window_days=28)
    a = out.set_index("customer_id").loc["a"]
    assert (a["revenue"], a["orders"], a["converted"], a["pre_revenue"]) == (19.58, 2.0, 1.0, 0.3)


# ------------------------------------------------------------------ report tables


def test_the_score_levels_table_has_a_named_column(tmp_path):
    scored = rfm.add_scores(pd.DataFrame({"customer_id": list("abcd"), "recency_days": [1, 2, 3, 4],
                                          "frequency": [1, 1, 1, 2], "monetary": [5.0, 6.0, 7.0, 8.0]}), 4)
    path = exports.save_table(rfm.levels_used(scored).to_frame(), tmp_path, "score_levels")
    assert path.read_text().splitlines()[:2] == [",levels", "r,4"]
    assert rfm.levels_used(scored).to_dict() == {"r": 4, "f": 2, "m": 4}


def test_masked_ids_are_the_same_in_every_report(monkeypatch):
    # masked ids must not change between runs or releases (same key), or months cannot be compared
    monkeypatch.setenv("CUSTOMER_ANALYTICS_MASK_KEY", "bcf878774e8100f18c264febbb020d63fce46a02503fb4d9afdc24203782427a")
    assert rfm.mask_ids(pd.Series(["12346", "a b"])).tolist() == ["ff4e3c49fbd11547", "5c9a21cd60f22776"]
    assert rfm.mask_ids(pd.Series([12346])).tolist() == ["ff4e3c49fbd11547"]  # a numeric id masks like its text
    # another key gives other codes: without the key the ids cannot be recomputed from a list of candidates
    assert rfm.mask_ids(pd.Series(["12346"]), key=b"another-key-0123").tolist() == ["beefc7efefa98fc1"]


def test_business_thresholds_score_on_the_edges():
    # edges are the upper bounds of levels 1..n-1: a value on an edge belongs to the lower level
    values = pd.Series([1.0, 2.0, 5.0, 6.0, 10.0], index=list("abcde"))
    higher = rfm.threshold_scores(values, [6, 2])
    assert higher.tolist() == [1, 1, 2, 2, 3] and higher.dtype == "int64" and higher.index.tolist() == list("abcde")
    recency = np.asarray(rfm.threshold_scores(values, [2, 6], higher_is_better=False))
    assert recency.tolist() == [3, 3, 2, 2, 1] and recency.dtype == np.int64


def test_segment_table_precision_and_a_custom_scheme(tmp_path):
    scheme = tmp_path / "two.yaml"
    scheme.write_text("type: score_grid\nrules:\n  - {segment: vip, r: [1, 5], fm: [3, 5]}\n"
                      "  - {segment: rest, r: [1, 5], fm: [1, 2.5]}\n")
    scored = pd.DataFrame({"customer_id": ["a", "b", "c"], "recency_days": [1, 2, 3], "frequency": [3, 1, 1],
                           "monetary": [200.0, 50.0, 50.0], "segment": ["vip", "rest", "rest"]})
    table = rfm_text.segment_summary(scored, str(scheme))
    # segments without a label or an action in segments.yaml keep their key and get no action
    assert table.index.tolist() == ["vip", "rest"] and table["action"].tolist() == ["", ""]
    assert table["customers"].dtype == "int64"
    # shares keep full precision (no rounding in the exported table), so they add up to exactly 1
    assert table["share"].tolist() == [1 / 3, 2 / 3] and table["revenue_share"].tolist() == [2 / 3, 1 / 3]
    assert table["share"].sum() == 1.0 and table["revenue_share"].sum() == 1.0


def test_a_transaction_table_without_amounts_is_refused_by_name():
    tx = pd.DataFrame({"customer_id": ["a"], "order_id": ["1"], "order_date": pd.to_datetime(["2025-11-03"])})
    with pytest.raises(InputError, match=r"compute_rfm needs columns \['amount'\]"):
        rfm.compute_rfm(tx, "2025-11-30")


def test_intervals_in_the_decision_text_carry_their_confidence_level():
    df = pd.concat([arm("control", 1000, 100), arm("treatment", 1000, 130)], ignore_index=True)
    text95 = html.unescape(ex_text.decision_summary(ex.analyse(df, spec())))
    assert "treatment vs control: +3.00 pp (95% CI +0.20 to +5.81 pp)" in text95 and "90% CI" not in text95
    text90 = html.unescape(ex_text.decision_summary(ex.analyse(df, spec(), alpha=0.1)))
    assert "treatment vs control: +3.00 pp (90% CI +0.65 to +5.35 pp)" in text90 and "95% CI" not in text90


def test_an_underpowered_result_is_not_read_as_no_effect():
    df = pd.concat([arm("control", 100, 20), arm("treatment", 100, 24)], ignore_index=True)
    text = html.unescape(ex_text.decision_summary(ex.analyse(df, spec())))
    assert text.startswith("**No arm is a proven winner on converted.** The experiment is under-powered for the "
                           "effects seen: with these sample sizes only effects of about 17.60 pp (88%) or more would "
                           "be detected reliably (MDE at 80% power), so this is inconclusive, not evidence of no effect.")
    assert "treatment vs control: +4.00 pp (95% CI -7.50 to +15.39 pp)" in text and "large enough" not in text
    # a rate so close to 1 that no lift can be detected at all: no detection limit to quote, and no claim
    # that the experiment was large enough
    ceiling = pd.concat([arm("control", 100, 99), arm("treatment", 100, 99)], ignore_index=True)
    text = html.unescape(ex_text.decision_summary(ex.analyse(ceiling, spec())))
    assert "large enough" not in text and "MDE at" not in text
    assert "not evidence of no effect" in text and text.count("; p = 1, adjusted p = 1;") == 1


def test_customers_csv_names_the_segment_and_its_action():
    scored = pd.DataFrame({"customer_id": ["a", "b"], "recency_days": [1, 2], "frequency": [3, 1],
                           "monetary": [200.0, 50.0], "r_score": [5, 4], "f_score": [5, 1], "m_score": [5, 1],
                           "segment": ["champions", "vip"]})
    out = rfm_text.activation_export(scored, "2025-11").set_index("customer_id")
    assert out.loc["a", ["segment", "action", "period"]].tolist() == [
        "Champions", "Reward them; early access and referral asks. No discounts needed.", "2025-11"]
    # a segment from a custom scheme keeps its key and gets no action
    assert out.loc["b", ["segment", "action"]].tolist() == ["vip", ""]


def test_capping_is_applied_and_said():
    y = np.r_[np.zeros(50), np.arange(1, 51, dtype=float), np.zeros(50), np.arange(1, 51, dtype=float) + 1000]
    df = pd.DataFrame({"variant": ["control"] * 100 + ["treatment"] * 100, "revenue": y})
    s = ex.ExperimentSpec("variant", "control", continuous_metrics=["revenue"])
    res = ex.analyse(df, s, cap_percentile=50)
    cap = float(np.percentile(y[y != 0], 50))
    assert res.notes == [f"'revenue' capped at its 50th percentile of non-zero values: {cap:,.2f}."]
    assert res.effects.loc[0, "mean_treatment"] == pytest.approx(np.minimum(y[100:], cap).mean())
    plain = ex.analyse(df, s, cap_percentile=50, cap_ignore_zeros=False)
    assert plain.notes == [f"'revenue' capped at its 50th percentile: {float(np.percentile(y, 50)):,.2f}."]
    assert ex.analyse(df, s).notes == []

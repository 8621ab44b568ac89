"""CLV and churn: summary definitions, the published CDNOW estimates, simulation, validation, actions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.models import cleaning, clv, clv_validation
from customer_analytics.report.text import clv as clv_text

CDNOW = ROOT / "data" / "raw" / "cdnow"


@pytest.fixture(scope="module")
def cdnow_sample():
    """The 2,357-customer CDNOW sample of Fader, Hardie & Lee (2005), rebuilt from the master file."""
    ids = set((CDNOW / "CDNOW_sample_ids.txt").read_text().split())
    tx = cleaning.load_transactions(CDNOW / "CDNOW_master.txt", preset="cdnow").data
    return tx[tx["customer_id"].isin(ids)].reset_index(drop=True)


@pytest.fixture(scope="module")
def cdnow_calibration(cdnow_sample):
    return clv.summary(cdnow_sample, "1997-09-30", "weeks")


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_calibration):
    return clv.fit(cdnow_calibration)


def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"]).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"]))


# ------------------------------------------------------------------ the paper


def test_cdnow_sample_has_the_papers_customers(cdnow_calibration):
    s = cdnow_calibration
    assert len(s) == 2357
    assert int((s["frequency"] > 0).sum()) == 946  # the repeat buyers of the Gamma-Gamma fit
    assert s["T"].max() == pytest.approx(272 / 7)  # first buyers on 1 January: 38.86 weeks


def test_bgnbd_and_gamma_gamma_reproduce_the_published_estimates(cdnow_fit):
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for k, v in published.items():
        assert cdnow_fit.params[k] == pytest.approx(v, rel=0.01), k
    for k, v in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert cdnow_fit.spend_params[k] == pytest.approx(v, rel=0.01), k


def test_pareto_nbd_reproduces_the_published_estimates(cdnow_calibration):
    # Fader, Hardie & Lee (2005) / Fader & Hardie's Pareto/NBD note: r, alpha, s, beta on the same data
    f = clv.fit(cdnow_calibration, model="pareto_nbd")
    for k, v in {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}.items():
        assert f.params[k] == pytest.approx(v, rel=0.01), k
    pr = clv.predict(f, cdnow_calibration)
    assert pr[["p_alive", "churn_risk"]].stack().between(0, 1).all()


def test_parameters_table_states_model_and_time_unit(cdnow_fit):
    t = cdnow_fit.parameters()
    assert list(t.columns) == ["model", "parameter", "value", "time_unit"]
    assert set(t["model"]) == {"BG/NBD", "Gamma-Gamma"}
    assert t.set_index("parameter")["time_unit"].to_dict() == {  # only the rate carries the unit
        "r": "", "alpha": "weeks", "a": "", "b": "", "p": "", "q": "", "v": ""}
    assert len(t) == 7
    shown = clv_text.parameters_for_reader(t, "周")       # the page: the unit in words, on alpha only
    assert shown.set_index("parameter")["time_unit"].to_dict() == {
        "r": "", "alpha": "周", "a": "", "b": "", "p": "", "q": "", "v": ""}


def test_churn_risk_matches_pymc_marketing_for_repeat_buyers_and_the_closed_form_for_one_time_buyers(
        cdnow_fit, cdnow_calibration):
    s = cdnow_calibration
    ours = clv.prob_no_purchase(cdnow_fit, s, 12.0)
    ref = cdnow_fit.purchase_model.expected_probability_no_purchase(12, clv._model_input(s)).values.ravel()
    rep = (s["frequency"] > 0).to_numpy()
    np.testing.assert_allclose(ours[rep], ref[rep], rtol=1e-9)
    # a one-time buyer is alive for sure (BG/NBD) and buys nothing with prob ((alpha+T)/(alpha+T+t))^r
    p = cdnow_fit.params
    expected = ((p["alpha"] + s["T"]) / (p["alpha"] + s["T"] + 12)) ** p["r"]
    np.testing.assert_allclose(ours[~rep], expected[~rep], rtol=1e-9)


def test_a_horizon_in_days_is_converted_to_the_models_weeks_as_in_the_paper(cdnow_fit, cdnow_calibration):
    """Fader, Hardie & Lee (2005): a customer with x = 2, t_x = 30.43, T = 38.86 weeks is expected to make
    1.226 purchases in the next 39 weeks. Asked for 273 days (39 weeks), ``predict`` must give the same."""
    one = cdnow_calibration.iloc[:1].assign(frequency=2, recency=30.43, T=38.86)
    pr = clv.predict(cdnow_fit, one, horizon_days=273).iloc[0]
    assert pr["expected_purchases"] == pytest.approx(1.226, abs=5e-4)
    assert pr["churn_risk"] == pytest.approx(float(clv.prob_no_purchase(cdnow_fit, one, 39.0)[0]), rel=1e-12)


def test_expected_spend_matches_pymc_marketing(cdnow_fit, cdnow_calibration):
    s = cdnow_calibration[cdnow_calibration["frequency"] > 0].reset_index(drop=True)
    ref = cdnow_fit.spend_model.expected_customer_spend(s[["customer_id", "monetary_value", "frequency"]])
    np.testing.assert_allclose(clv.expected_spend(cdnow_fit, s), ref.values.ravel(), rtol=1e-9)


def test_predictions_are_probabilities_and_discounting_lowers_clv(cdnow_fit, cdnow_calibration):
    pr = clv.predict(cdnow_fit, cdnow_calibration, horizon_days=90, clv_months=12, discount_rate=0.01)
    assert pr[["p_alive", "churn_risk"]].stack().between(0, 1).all()
    assert (pr["expected_purchases"] >= 0).all() and (pr["clv"] >= 0).all()
    undiscounted = clv.clv_values(cdnow_fit, cdnow_calibration, 12, 0.0)
    assert (undiscounted >= pr["clv"].to_numpy()).all()
    # without discounting, CLV = expected spend x expected purchases over 12 x 30 days
    t = 360 / 7
    np.testing.assert_allclose(undiscounted, pr["expected_spend"] * clv.expected_purchases(
        cdnow_fit, cdnow_calibration, t), rtol=1e-9)
    # one-time buyers look alive under BG/NBD
    assert (pr.loc[cdnow_calibration["frequency"].to_numpy() == 0, "p_alive"] == 1).all()


def test_holdout_validation_on_the_cdnow_sample(cdnow_sample):
    v, f = clv_validation.validate(cdnow_sample, "1998-06-30", holdout_days=273, horizon_days=90)
    assert v.calibration_end == pd.Timestamp("1997-09-30")
    assert f.params["r"] == pytest.approx(0.243, rel=0.01)  # the calibration fit is the paper's
    # weeks 40-78: actual repeat purchases of the 2,357 customers, predicted within 15%
    assert v.totals["actual"].iloc[0] == 1882
    assert abs(v.error_pct) < 15
    assert list(v.by_frequency["frequency"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert v.by_frequency["customers"].sum() == 2357
    tr = v.tracking
    assert tr["actual"].is_monotonic_increasing and tr["predicted"].is_monotonic_increasing
    assert tr["week_end"].iloc[-1] == pd.Timestamp("1998-06-30")
    assert list(v.auc["score"]) == ["BG/NBD", "recency", "logistic"]
    assert v.auc["auc"].between(0.6, 1).all()
    t = v.table()
    assert {"check", "item", "actual", "predicted", "time_unit"} <= set(t.columns)
    assert v.model_name == "BG/NBD"
    verdict = clv_text.auc_verdict(v.auc, v.model_name)
    assert "not an improvement" in verdict or "beats the recency" in verdict


# ------------------------------------------------------------------ simulation


def simulate_bgnbd(n, r, alpha, a, b, T, seed):
    """Customers from the BG/NBD process, observed for T time units after their first purchase."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    k = 400
    arrivals = np.cumsum(rng.exponential(1 / lam[:, None], (n, k)), axis=1)
    assert (arrivals[:, -1] > T).all()
    lives = rng.geometric(p)  # repeat purchases until the customer leaves
    seen = (arrivals <= T) & (np.arange(1, k + 1)[None, :] <= lives[:, None])
    x = seen.sum(axis=1)
    recency = np.where(x > 0, arrivals[np.arange(n), np.maximum(x - 1, 0)], 0.0)
    return pd.DataFrame({"customer_id": np.arange(n).astype(str), "frequency": x, "recency": recency,
                         "T": float(T)})


def test_map_fit_recovers_simulated_parameters():
    data = simulate_bgnbd(20_000, r=0.5, alpha=5.0, a=1.0, b=4.0, T=52.0, seed=3)
    f = clv.fit_purchase_model(data)
    est = {k: float(np.asarray(f.fit_result[k]).ravel()[0]) for k in ("r", "alpha", "a", "b")}
    assert est["r"] == pytest.approx(0.5, rel=0.1)
    assert est["alpha"] == pytest.approx(5.0, rel=0.15)
    assert est["a"] / (est["a"] + est["b"]) == pytest.approx(0.2, rel=0.15)  # mean dropout probability


# ------------------------------------------------------------------ summary definitions


def test_summary_definitions_on_hand_made_customers():
    tx = _tx([
        ("one", "2024-01-01", 10.0),                                     # a one-time buyer
        ("same", "2024-01-01", 10.0), ("same", "2024-01-01", 5.0),        # two orders, one day
        ("same", "2024-01-15", 20.0),                                     # one repeat, 2 weeks later
        ("late", "2024-01-08", 30.0), ("late", "2024-01-22", 40.0),
        ("late", "2024-03-01", 99.0),                                     # after as_of: never counted
        ("gone", "2024-01-03", -15.0), ("gone", "2024-01-10", -5.0),      # only returns
    ])
    s = clv.summary(tx, "2024-01-29", "weeks").set_index("customer_id")
    assert sorted(s.index) == ["late", "one", "same"]
    assert s.attrs["no_purchase_customers"] == 1
    assert s.loc["one", ["frequency", "recency", "T"]].tolist() == [0, 0.0, 4.0]
    assert np.isnan(s.loc["one", "monetary_value"])
    assert s.loc["same", ["frequency", "recency", "T", "monetary_value"]].tolist() == [1, 2.0, 4.0, 20.0]
    assert s.loc["late", ["frequency", "recency", "T", "monetary_value"]].tolist() == [1, 2.0, 3.0, 40.0]
    d = clv.summary(tx, "2024-01-29", "days").set_index("customer_id")
    assert d.loc["same", ["recency", "T"]].tolist() == [14.0, 28.0]


def test_a_return_on_a_repeat_day_nets_the_spend():
    tx = _tx([("c", "2024-01-01", 10.0), ("c", "2024-01-08", 30.0), ("c", "2024-01-08", -30.0)])
    s = clv.summary(tx, "2024-01-31", "weeks")
    assert s["frequency"].iloc[0] == 1 and s["monetary_value"].iloc[0] == 0.0


def test_unknown_time_unit_is_refused():
    with pytest.raises(ConfigError, match="time_unit"):
        clv.summary(_tx([("a", "2024-01-01", 1.0)]), "2024-02-01", "months")


# ------------------------------------------------------------------ bad input


def _summary(freqs, spend=10.0):
    n = len(freqs)
    return pd.DataFrame({"customer_id": [str(i) for i in range(n)], "frequency": freqs,
                         "recency": [float(f) for f in freqs], "T": 20.0, "monetary_value": spend})


def test_too_few_customers_is_refused():
    with pytest.raises(InputError, match=r"Only 3 customer\(s\).*at least 50"):
        clv.check_summary(_summary([0, 1, 2]), min_customers=50)


def test_only_one_time_buyers_is_refused():
    with pytest.raises(InputError, match="All 60 customers are one-time buyers"):
        clv.check_summary(_summary([0] * 60))


def test_non_positive_spend_is_refused_by_gamma_gamma_with_the_customers_named():
    data = _summary([1, 2, 3] * 10)
    data.loc[4, "monetary_value"] = -2.0
    with pytest.raises(InputError, match=r"positive mean repeat spend.*1 customer\(s\).*'4'"):
        clv.check_spend(data)


def test_fit_leaves_non_positive_spenders_out_of_gamma_gamma_with_a_count(cdnow_calibration):
    data = cdnow_calibration.copy()
    idx = data.index[data["frequency"] > 0][:3]
    data.loc[idx, "monetary_value"] = [0.0, -5.0, 0.0]
    f = clv.fit(data)
    assert f.spend_excluded == 3 and f.n_repeat == 943
    assert "3 repeat buyer(s) with a non-positive mean repeat spend" in f.summary()
    pr = clv.predict(f, data)
    pop = f.spend_params["v"] * f.spend_params["p"] / (f.spend_params["q"] - 1)
    np.testing.assert_allclose(pr.loc[idx, "expected_spend"], pop)


def test_holdout_longer_than_history_is_refused():
    tx = _tx([("a", "2024-01-01", 1.0), ("a", "2024-02-01", 1.0)])
    with pytest.raises(InputError, match=r"holdout_days = 180 is longer than the history.*shorter than 90 days"):
        clv.holdout_split(tx, "2024-03-31", 180)


def test_bad_model_and_method_are_refused():
    with pytest.raises(ConfigError, match="clv.model"):
        clv.fit_purchase_model(_summary([1] * 60), model="pareto")
    with pytest.raises(ConfigError, match="clv.method"):
        clv.fit_purchase_model(_summary([1] * 60), method="advi")


# ------------------------------------------------------------------ actions and wording


def test_at_risk_list_keeps_the_highest_clv_among_likely_gone_up_to_the_share():
    c = pd.DataFrame({"customer_id": [f"c{i:02d}" for i in range(40)], "clv": np.arange(40.0),
                      "churn_risk": 0.9, "p_alive": [0.4] * 38 + [0.6, 0.5]})
    c.loc[5, "clv"] = np.nan  # no prediction: counted as scored, never listed
    out = clv.at_risk(c, churn_threshold=0.5, list_share=0.1)
    # P(churn) = 1 - P(alive): c38 (0.4) is below the threshold, c39 (exactly 0.5) is eligible;
    # the list holds floor(0.1 x 40) = 4, highest CLV first
    assert out["customer_id"].tolist() == ["c39", "c37", "c36", "c35"]
    assert out["rank"].tolist() == [1, 2, 3, 4] and "action" not in out
    assert clv.at_risk(c, 0.5, 0.1, list_max=2)["customer_id"].tolist() == ["c39", "c37"]
    assert len(clv.at_risk(c, 0.7, 1.0)) == 0 and len(clv.at_risk(c, 0.0, 1.0)) == 39
    assert clv.list_limit(1500, 0.05) == 75 and clv.list_limit(23570, 0.05) == 1178
    assert clv_text.AT_RISK_ACTION.startswith("Win back")
    with pytest.raises(ConfigError, match="list_share"):
        clv.at_risk(c, list_share=10)
    with pytest.raises(ConfigError, match="list_max"):
        clv.at_risk(c, list_max=0)
    with pytest.raises(ConfigError, match="churn_threshold"):
        clv.at_risk(c, churn_threshold=1.5)


def test_total_value_adds_the_values_rounded_to_the_cent():
    values = pd.Series([0.004, 0.004, 0.004, 1.125, np.nan])
    assert clv.total_value(values) == 1.12  # 0 + 0 + 0 + 1.12 (half to even), not round(1.137, 2) = 1.14
    assert clv.total_value(values) == round(float(values.round(2).sum()), 2)


def test_segment_table_totals_clv_and_counts_likely_gone():
    c = pd.DataFrame({"customer_id": list("abcd"), "segment": ["loyal", "loyal", "new", "new"],
                      "p_alive": [0.9, 0.1, 1.0, 1.0], "churn_risk": 0.5, "clv": [100.0, 50.0, 10.0, 20.0]})
    t = clv.segment_table(c)
    assert t.loc["loyal", "total_clv"] == 150 and t.loc["loyal", "likely_gone"] == 1
    assert t.loc["loyal", "mean_p_alive"] == pytest.approx(0.5)
    assert t["clv_share"].sum() == pytest.approx(1)


def test_verdict_does_not_call_a_model_that_ties_recency_an_improvement():
    auc = pd.DataFrame({"score": ["BG/NBD", "recency", "logistic"], "auc": [0.78, 0.78, 0.80],
                        "model_minus_this_low": [np.nan, -0.01, -0.03],
                        "model_minus_this_high": [np.nan, 0.01, -0.005]})
    text = clv_text.auc_verdict(auc, "BG/NBD")
    assert "not distinguishable from the recency baseline" in text
    assert "worse than the logistic baseline" in text
    assert "not an improvement" in text
    auc.loc[1, ["model_minus_this_low", "model_minus_this_high"]] = [0.02, 0.05]
    assert "beats the recency baseline" in clv_text.auc_verdict(auc, "BG/NBD")
    assert "not an improvement" not in clv_text.auc_verdict(auc, "BG/NBD")


def test_the_verdict_reads_in_chinese_with_the_baselines_named_in_words():
    auc = pd.DataFrame({"score": ["BG/NBD", "recency", "logistic"], "auc": [0.78, 0.78, 0.80],
                        "model_minus_this_low": [np.nan, -0.01, -0.03],
                        "model_minus_this_high": [np.nan, 0.01, -0.005]})
    text = clv_text.auc_verdict(auc, "BG/NBD", "zh")
    assert "与最近购买间隔基准无法区分" in text and "不如逻辑回归基准" in text and "recency" not in text
    assert not clv_validation.beats_recency(auc)


def test_report_tables_escape_text_from_data_and_show_money_and_shares():
    from customer_analytics.report.formatting import format_table

    df = pd.DataFrame({"customer_id": ["<b>x</b>"], "clv": [1234.5], "churn_risk": [0.585]})
    html = format_table(df, currency="£", labels=clv_text.column_labels("en"),
                        kinds={"clv": "money", "churn_risk": "share"}).to_html()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "£1,234.50" in html and "58.5%" in html and "Predicted CLV" in html and "Churn risk" in html


def test_validation_tables_show_the_error_as_a_fraction_and_the_scores_in_words():
    v = clv_validation.Validation(pd.Timestamp("2025-07-04"), pd.Timestamp("2025-12-31"), "weeks",
                       pd.DataFrame({"customers": [10], "actual": [200.0], "predicted": [219.0], "error_pct": [9.5]}),
                       pd.DataFrame({"frequency": ["0"], "customers": [10], "actual": [0.3], "predicted": [0.4]}),
                       pd.DataFrame(), pd.DataFrame({"score": ["BG/NBD", "recency"], "auc": [0.8, 0.7]}), 90, "")
    tables = clv_text.validation_tables(v, "zh")
    assert tables["totals"]["error"].iloc[0] == pytest.approx(0.095)
    assert {"actual_total", "predicted_total"} <= set(tables["totals"].columns)
    assert {"actual_mean", "predicted_mean"} <= set(tables["by_frequency"].columns)
    assert tables["auc"]["score"].tolist() == ["BG/NBD", "最近购买间隔"]


def test_a_purchase_during_the_last_day_counts_and_the_next_day_does_not():
    tx = _tx([("c", "2024-01-01 09:00", 10.0), ("c", "2024-01-31 18:30", 20.0), ("c", "2024-02-01 00:10", 5.0),
              ("r", "2024-01-31 12:00", -3.0)])
    s = clv.summary(tx, "2024-01-31", "days")
    assert s["frequency"].tolist() == [1] and s["recency"].tolist() == [30.0] and s["T"].tolist() == [30.0]
    assert s.attrs["no_purchase_customers"] == 1


def test_customers_csv_is_updated_in_place_keeping_ids_and_earlier_columns(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,segment,cluster\n00012,Champions,1\n00034,Lost,0\n")
    customers = pd.DataFrame({"customer_id": ["00012", "00034"], "segment": ["champions", "lost"]})
    pred = pd.DataFrame({"customer_id": ["00012", "00034"], "p_alive": [0.9, 0.2], "expected_purchases": [1.5, 0.1],
                         "churn_risk": [0.3, 0.95], "clv": [120.456, 3.0]})
    joined = clv.add_predictions(customers, pred, pred.iloc[[0]], clv_text.AT_RISK_ACTION)
    clv.update_customers_csv(path, joined, fallback=None)
    clv.update_customers_csv(path, joined, fallback=None)  # a rerun replaces, never duplicates, the columns
    out = pd.read_csv(path, dtype={"customer_id": str})
    assert list(out.columns) == ["customer_id", "segment", "cluster", *clv.PREDICTION_COLUMNS]
    assert out["customer_id"].tolist() == ["00012", "00034"] and out["cluster"].tolist() == [1, 0]
    assert out["clv"].tolist() == [120.46, 3.0]
    assert out["clv_action"].iloc[0] == clv_text.AT_RISK_ACTION and pd.isna(out["clv_action"].iloc[1])

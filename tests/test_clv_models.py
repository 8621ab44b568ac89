"""Choosing the purchase model on the holdout, and the one-time buyers' P(alive) falling with their silence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from customer_analytics.core.errors import ConfigError
from customer_analytics.models import clv, clv_models
from customer_analytics.report.text import clv as clv_text
from customer_analytics.settings import loading

AS_OF = "2025-12-31"


def _table(maes: dict) -> pd.DataFrame:
    return pd.DataFrame({"model": list(maes), "mae": list(maes.values())})


# ------------------------------------------------------------------ the rule, without fitting


def test_the_lowest_holdout_mae_wins_when_it_is_clearly_lowest():
    assert clv_models.choose(_table({"pareto_nbd": 1.00, "modified_bgnbd": 0.95, "bgnbd": 1.02})) == "modified_bgnbd"
    assert clv_models.choose(_table({"pareto_nbd": 1.00, "modified_bgnbd": 1.05, "bgnbd": 0.90})) == "bgnbd"


def test_models_within_one_percent_tie_and_the_order_decides():
    # 0.995 is within 1% of 0.990: tied with the lowest, and Pareto/NBD comes first
    assert clv_models.choose(_table({"bgnbd": 0.990, "modified_bgnbd": 0.992, "pareto_nbd": 0.995})) == "pareto_nbd"
    # 1.001 is more than 1% above 0.990: out of the tie; modified BG/NBD comes before BG/NBD
    assert clv_models.choose(_table({"bgnbd": 0.990, "modified_bgnbd": 0.995, "pareto_nbd": 1.001})) \
        == "modified_bgnbd"
    assert clv_models.PREFERENCE == ("pareto_nbd", "modified_bgnbd", "bgnbd")
    assert clv_models.TIE_TOLERANCE == 0.01


def test_a_model_without_an_mae_is_never_chosen_and_none_at_all_is_an_error():
    assert clv_models.choose(_table({"pareto_nbd": np.nan, "bgnbd": 2.0})) == "bgnbd"
    with pytest.raises(ValueError, match="holdout MAE"):
        clv_models.choose(_table({"pareto_nbd": np.nan}))


def test_auto_compares_all_three_and_a_named_model_only_itself():
    assert clv_models.candidates("auto") == ("pareto_nbd", "modified_bgnbd", "bgnbd")
    assert clv_models.candidates("modified_bgnbd") == ("modified_bgnbd",)
    with pytest.raises(ConfigError, match=r"clv\.model must be one of auto, bgnbd, modified_bgnbd, pareto_nbd"):
        clv_models.candidates("foo")


def test_the_config_refuses_an_unknown_model_by_name(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("clv:\n  model: foo\n")
    with pytest.raises(ConfigError, match=r"clv\.model = 'foo': expected one of 'auto', 'bgnbd', "
                                          r"'modified_bgnbd' or 'pareto_nbd'"):
        loading.load_config(p)


def test_the_default_is_auto():
    assert loading.load_config()["clv"]["model"] == "auto"


def _comparison(maes: dict, rule: str = "auto") -> clv_models.ModelComparison:
    tab = _table(maes).assign(model_name=lambda d: d["model"].map(clv.MODELS), customers=100, error_pct=1.0,
                              churn_auc=0.8, one_time_p_alive=0.5)
    chosen = clv_models.choose(tab) if rule == "auto" else next(iter(maes))
    tab["chosen"] = tab["model"] == chosen
    return clv_models.ModelComparison(tab, chosen, rule, validation=None, calibration_fit=None)


def test_the_sentence_names_the_chosen_model_and_the_rule_in_both_languages():
    clear = _comparison({"pareto_nbd": 1.2, "modified_bgnbd": 0.9, "bgnbd": 1.3})
    en = clv_text.model_choice(clear, "en")
    assert en.startswith("**The forecasts below use Modified BG/NBD.**")
    assert "by 0.9 repeat purchases per customer" in en and "the lowest of the models compared" in en
    assert "models within 1% of the lowest count as tied" in en
    assert "the first of Pareto/NBD, Modified BG/NBD, BG/NBD" in en
    zh = clv_text.model_choice(clear, "zh")
    assert zh.startswith("**以下预测使用 修正 BG/NBD**。") and "规则" in zh and "Pareto/NBD、修正 BG/NBD、BG/NBD" in zh

    tied = clv_text.model_choice(_comparison({"pareto_nbd": 1.005, "modified_bgnbd": 1.0, "bgnbd": 1.3}), "en")
    assert tied.startswith("**The forecasts below use Pareto/NBD.**")
    assert "(MAE), tied with Modified BG/NBD (1), and it comes first in the order" in tied

    forced = clv_text.model_choice(_comparison({"bgnbd": 1.0}, rule="config"), "en")
    assert "set in the config (`clv.model: bgnbd`)" in forced and "clv.model: auto" in forced


def test_the_comparison_table_for_the_reader():
    shown = clv_text.comparison_table(_comparison({"pareto_nbd": 1.2, "modified_bgnbd": 0.9, "bgnbd": 1.3}), "en")
    assert list(shown.columns) == ["model", "mae", "total_error", "churn_auc", "one_time_p_alive", "chosen"]
    assert shown["chosen"].tolist() == ["", "used", ""]
    assert shown["total_error"].tolist() == [0.01] * 3


def test_one_time_p_alive_by_days_since_purchase_is_a_plain_group_mean():
    summary = pd.DataFrame({"customer_id": list("abcdefg"), "frequency": [0, 0, 0, 0, 0, 2, 0],
                            "last_purchase": pd.to_datetime(["2025-12-20", "2025-11-15", "2025-11-01", "2025-03-01",
                                                             "2024-06-01", "2025-12-30", "2025-12-01"])})
    pred = pd.DataFrame({"customer_id": list("abcdefg"), "p_alive": [0.9, 0.7, 0.6, 0.3, 0.1, 1.0, 0.8]})
    got = clv_models.one_time_p_alive(summary, pred, AS_OF, bands=3)
    # days since purchase: a 11, g 30, b 46, c 60, d 305, e 578 (f is a repeat buyer and left out);
    # three bands of equal size: the two most recent, the next two, the two oldest
    assert got["days_since_purchase"].tolist() == ["11-30", "46-60", "305-578"]
    assert got["customers"].tolist() == [2, 2, 2]
    assert got["mean_p_alive"].tolist() == pytest.approx([0.85, 0.65, 0.2])
    assert got["median_days"].tolist() == [20.5, 53.0, 441.5]
    assert len(clv_models.one_time_p_alive(summary, pred, AS_OF)) == 5  # five bands by default (6 one-time buyers)
    seg = clv_models.one_time_p_alive(summary, pred, AS_OF,
                                      segment=pd.Series(["New", "New", "Lost", "Lost", "Lost", "Champions", "New"],
                                                        index=list("abcdefg")))
    assert seg["segment"].tolist() == ["New", "Lost"]
    assert seg["mean_p_alive"].tolist() == pytest.approx([(0.9 + 0.7 + 0.8) / 3, (0.6 + 0.3 + 0.1) / 3])


# ------------------------------------------------------------------ on the bundled sample


@pytest.fixture(scope="module")
def sample_tx(cleaned_sample):
    return cleaned_sample.data


@pytest.fixture(scope="module")
def compared(sample_tx):
    return clv_models.compare(sample_tx, AS_OF, 180, 90, settings=clv.FitSettings(model="auto"))


@pytest.fixture(scope="module")
def final(sample_tx, compared):
    summary = clv.summary(sample_tx, AS_OF)
    fits = {m: clv.fit(summary, m) for m in {compared.chosen, "bgnbd"}}
    return summary, {m: clv.predict(f, summary) for m, f in fits.items()}


def test_the_sample_comparison_has_three_models_and_chooses_by_the_rule(compared):
    tab = compared.table
    assert set(tab["model"]) == {"bgnbd", "modified_bgnbd", "pareto_nbd"}
    assert compared.rule == "auto" and compared.chosen == clv_models.choose(tab)
    assert tab["chosen"].sum() == 1 and tab.loc[tab["chosen"], "model"].item() == compared.chosen
    assert tab.loc[tab["chosen"], "mae"].item() <= tab["mae"].min() * 1.01
    assert compared.validation.model_name == clv.MODELS[compared.chosen]
    out = compared.export()
    assert {"rule", "calibration_end", "time_unit"} <= set(out.columns) and out["calibration_end"].iloc[0] == "2025-07-04"


def test_the_holdout_mae_is_the_mean_absolute_miss_per_customer(sample_tx, compared):
    cal, hold, _ = clv.holdout_split(sample_tx, AS_OF, 180)
    actual = cal["customer_id"].map(hold.groupby("customer_id").size()).fillna(0)
    predicted = clv.expected_purchases(compared.calibration_fit, cal, 180 / 7)
    row = compared.table.set_index("model").loc[compared.chosen]
    assert row["mae"] == pytest.approx((predicted - actual).abs().mean())
    assert row["error_pct"] == pytest.approx(100 * (predicted.sum() - actual.sum()) / actual.sum())
    assert row["customers"] == len(cal)


def test_bgnbd_holds_every_one_time_buyer_alive_the_others_do_not(compared, final):
    # the reason the other two models exist: BG/NBD can only lose a customer after a repeat purchase
    p = compared.table.set_index("model")["one_time_p_alive"]
    assert p["bgnbd"] == pytest.approx(1.0)
    assert p["modified_bgnbd"] < 0.9 and p["pareto_nbd"] < 0.9
    summary, preds = final
    one_time = summary["frequency"].to_numpy() == 0
    assert preds["bgnbd"]["p_alive"][one_time].to_numpy() == pytest.approx(1.0)


def test_the_chosen_models_p_alive_of_one_time_buyers_falls_with_recency(final, compared):
    summary, preds = final
    pred = preds[compared.chosen]
    one_time = summary["frequency"].to_numpy() == 0
    days = (pd.Timestamp(AS_OF) - summary["last_purchase"]).dt.days.to_numpy()
    rho = spearmanr(days[one_time], pred["p_alive"].to_numpy()[one_time]).statistic
    assert rho < -0.9  # for one-time buyers P(alive) depends on T alone, and falls with it
    bands = clv_models.one_time_p_alive(summary, pred, AS_OF)
    assert bands["mean_p_alive"].is_monotonic_decreasing
    assert bands["mean_p_alive"].iloc[-1] < 0.9  # the oldest band, "Lost"-like customers


# ------------------------------------------------------------------ modified BG/NBD


def simulate_modified_bgnbd(n, r, alpha, a, b, T, seed):
    """Customers from the modified BG/NBD process: a chance to leave right after every purchase, the first included."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    k = 400
    arrivals = np.cumsum(rng.exponential(1 / lam[:, None], (n, k)), axis=1)
    assert (arrivals[:, -1] > T).all()
    repeats = rng.geometric(p) - 1  # the first purchase is already a chance to leave
    seen = (arrivals <= T) & (np.arange(1, k + 1)[None, :] <= repeats[:, None])
    x = seen.sum(axis=1)
    recency = np.where(x > 0, arrivals[np.arange(n), np.maximum(x - 1, 0)], 0.0)
    return pd.DataFrame({"customer_id": np.arange(n).astype(str), "frequency": x, "recency": recency,
                         "T": float(T), "monetary_value": np.where(x > 0, 20.0 + (np.arange(n) % 7), np.nan)})


@pytest.fixture(scope="module")
def modified_fit():
    data = simulate_modified_bgnbd(20_000, r=0.5, alpha=5.0, a=1.0, b=4.0, T=52.0, seed=5)
    return data, clv.fit(data, "modified_bgnbd")


def test_the_modified_bgnbd_map_fit_recovers_simulated_parameters(modified_fit):
    _, f = modified_fit
    est = f.params
    assert est["r"] == pytest.approx(0.5, rel=0.1)
    assert est["alpha"] == pytest.approx(5.0, rel=0.15)
    assert est["a"] / (est["a"] + est["b"]) == pytest.approx(0.2, rel=0.15)  # mean dropout probability
    assert set(f.parameters()["model"]) == {"Modified BG/NBD", "Gamma-Gamma"}


def test_modified_bgnbd_p_alive_and_churn_risk_follow_the_formulas(modified_fit):
    data, f = modified_fit
    d = data.head(200)
    r, alpha, a, b = (f.params[k] for k in ("r", "alpha", "a", "b"))
    x, tx, big_t = d["frequency"].to_numpy(), d["recency"].to_numpy(), d["T"].to_numpy()
    alive = 1 / (1 + a / (b + x) * ((alpha + big_t) / (alpha + tx)) ** (r + x))  # Batislam et al. (2007), eq. 5
    assert clv.p_alive(f, d) == pytest.approx(alive, rel=1e-9)
    t = 13.0
    quiet = 1 - alive + alive * ((alpha + big_t) / (alpha + big_t + t)) ** (r + x)
    assert clv.prob_no_purchase(f, d, t) == pytest.approx(quiet, rel=1e-9)
    assert alive[x == 0].max() < 1  # unlike BG/NBD, a one-time buyer may be gone

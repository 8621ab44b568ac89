"""Customer profiles: derived attributes, index and significance against a hand computation and scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from customer_analytics.models import profiles
from customer_analytics.report.text import profiles as text


def lines():
    """Two customers: A orders twice (Mon 09:00 in DE, Mon 20:00 in DE), B once (Sat 14:00 in FR) and returns once."""
    return pd.DataFrame({
        "customer_id": ["A", "A", "A", "B", "B"],
        "order_id": ["1", "1", "2", "3", "C3"],
        "order_date": pd.to_datetime(["2025-12-01 09:00", "2025-12-01 09:00", "2025-12-08 20:00",
                                      "2025-12-06 14:00", "2025-12-07 10:00"]),
        "amount": [10.0, 5.0, 30.0, 8.0, -4.0],
        "quantity": [1.0, 2.0, 3.0, 4.0, -2.0],
        "country": ["Germany", "Germany", "Germany", "France", "France"],
    })


def test_derived_attributes_by_hand():
    a = profiles.derived_attributes(lines(), "2025-12-31").set_index("customer_id")
    assert a.loc["A", "tenure_days"] == 30 and a.loc["B", "tenure_days"] == 25
    assert a.loc["A", "basket_items"] == 3.0  # orders of 3 and 3 items
    assert a.loc["A", "basket_value"] == 22.5  # (15 + 30) / 2
    assert a.loc["B", "basket_value"] == 8.0  # purchase lines only
    assert a.loc["A", "preferred_weekday"] == "mon" and a.loc["B", "preferred_weekday"] == "sat"
    assert a.loc["A", "preferred_daypart"] == "morning"  # tie of morning and evening: the earlier
    assert a.loc["B", "preferred_daypart"] == "afternoon"
    assert a.loc["A", "country"] == "Germany" and a.loc["B", "country"] == "France"
    assert a.loc["A", "returned_share"] == 0 and a.loc["B", "returned_share"] == 0.5


def test_no_returns_no_return_share():
    a = profiles.derived_attributes(lines().iloc[:4], "2025-12-31")
    assert "returned_share" not in a


def small_table():
    rng = np.random.default_rng(1)
    n = 200
    group = np.where(np.arange(n) < 60, "g1", "g2")
    country = np.where(rng.random(n) < np.where(group == "g1", 0.5, 0.2), "DE", "UK")
    tenure = rng.normal(np.where(group == "g1", 500, 300), 50)
    return pd.DataFrame({"customer_id": [str(i) for i in range(n)], "country": country, "tenure": tenure}), \
        pd.Series(group)


def test_index_and_tests_match_hand_computation_and_scipy():
    attrs, groups = small_table()
    r = profiles.profile(attrs, groups, kinds={"country": "categorical", "tenure": "numeric"}, min_level_customers=1)
    row = r.table.query("group == 'g1' and level == 'DE'").iloc[0]
    inside = groups == "g1"
    share, base = (attrs.country[inside] == "DE").mean(), (attrs.country == "DE").mean()
    assert row["group_value"] == pytest.approx(share) and row["all_value"] == pytest.approx(base)
    assert row["index"] == pytest.approx(share / base * 100)
    x1, x2 = (attrs.country[inside] == "DE").sum(), (attrs.country[~inside] == "DE").sum()
    table = [[x1, inside.sum() - x1], [x2, (~inside).sum() - x2]]
    chi2 = stats.chi2_contingency(table, correction=False)
    assert row["p_value"] == pytest.approx(chi2.pvalue, rel=1e-9)
    num = r.table.query("group == 'g1' and attribute == 'tenure'").iloc[0]
    assert num["group_value"] == pytest.approx(attrs.tenure[inside].median())
    assert num["index"] == pytest.approx(attrs.tenure[inside].median() / attrs.tenure.median() * 100)
    mw = stats.mannwhitneyu(attrs.tenure[inside], attrs.tenure[~inside], alternative="two-sided")
    assert num["p_value"] == pytest.approx(mw.pvalue)
    assert np.allclose(r.table["p_adjusted"], multipletests(r.table["p_value"], method="holm")[1])
    bh = profiles.profile(attrs, groups, kinds={"country": "categorical"}, correction="fdr_bh", min_level_customers=1)
    assert np.allclose(bh.table["p_adjusted"], multipletests(bh.table["p_value"], method="fdr_bh")[1])


def test_index_by_hand_on_four_customers():
    attrs = pd.DataFrame({"customer_id": list("abcd"), "tier": ["gold", "gold", "basic", "basic"]})
    r = profiles.profile(attrs, pd.Series(["x", "x", "x", "y"]), kinds={"tier": "categorical"}, min_level_customers=1)
    gold = r.table.query("group == 'x' and level == 'gold'").iloc[0]
    assert gold["group_value"] == pytest.approx(2 / 3) and gold["all_value"] == 0.5
    assert gold["index"] == pytest.approx(2 / 3 / 0.5 * 100)  # 133


def test_rare_levels_pooled_and_card_text():
    attrs, groups = small_table()
    attrs.loc[:2, "country"] = "NL"  # three customers: pooled into "other" at min 10
    r = profiles.profile(attrs, groups, kinds={"country": "categorical", "tenure": "numeric"})
    assert "NL" not in set(r.table["level"]) and "other" in set(r.table["level"])
    traits = profiles.top_traits(r, 2)
    card = text.cards(traits, {"g1": "Champions"}, {"g1": 60}, language="en")[0]
    de = r.table.query("group == 'g1' and level == 'DE'").iloc[0]
    assert card.startswith("**Champions** (60 customers):")
    assert f"{de['index'] / 100:.1f}× as likely to be in DE" in card
    assert "median" in card
    zh = text.cards(traits, {"g1": "冠军客户"}, {"g1": 60}, language="zh")[0]
    assert "冠军客户" in zh and "倍" in zh

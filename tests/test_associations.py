"""Association rules and next products against a brute-force count on hand-made baskets."""

from __future__ import annotations

from itertools import permutations

import pandas as pd
import pytest
from scipy import stats

from customer_analytics.models import associations

BASKETS = {  # order id -> (customer, products)
    "o1": ("c1", ["A", "B"]), "o2": ("c1", ["A", "B", "C"]), "o3": ("c2", ["A", "C"]), "o4": ("c2", ["B", "D"]),
    "o5": ("c3", ["A", "B"]), "o6": ("c3", ["D"]), "o7": ("c4", ["C", "D"]), "o8": ("c4", ["A", "B", "D"]),
}


def baskets() -> pd.DataFrame:
    return pd.DataFrame([(o, c, p) for o, (c, items) in BASKETS.items() for p in items],
                        columns=["order_id", "customer_id", "product_id"])


def brute_force(min_support: float, min_lift: float) -> pd.DataFrame:
    n = len(BASKETS)
    sets = [set(items) for _, items in BASKETS.values()]
    products = sorted(set().union(*sets))
    rows = []
    for a, c in permutations(products, 2):
        both, n_a, n_c = (sum(a in s and c in s for s in sets), sum(a in s for s in sets), sum(c in s for s in sets))
        support, confidence = both / n, both / n_a
        lift = confidence / (n_c / n)
        if support >= min_support and lift >= min_lift and n_a / n >= min_support and n_c / n >= min_support:
            rows.append((a, c, support, confidence, lift))
    return pd.DataFrame(rows, columns=associations.RULE_COLUMNS)


@pytest.mark.parametrize(("min_support", "min_lift"), [(0.1, 0.0), (0.2, 1.0), (0.25, 1.2)])
def test_rules_equal_a_brute_force_count(min_support, min_lift):
    got = associations.mine_rules(baskets(), min_support=min_support, min_lift=min_lift)
    want = brute_force(min_support, min_lift)
    key = ["antecedent", "consequent"]
    got, want = got.sort_values(key, ignore_index=True), want.sort_values(key, ignore_index=True)
    assert list(got.columns) == associations.RULE_COLUMNS
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_next_product_is_the_highest_lift_consequent_not_yet_bought():
    rules = associations.mine_rules(baskets(), min_support=0.1, min_lift=0.0)
    best = associations.next_products(baskets(), rules).set_index("customer_id")
    owned = baskets().groupby("customer_id")["product_id"].agg(set)
    for customer, row in best.iterrows():
        assert row["next_product"] not in owned[customer]
        allowed = rules[rules["antecedent"].isin(owned[customer]) & ~rules["consequent"].isin(owned[customer])]
        assert row["lift"] == pytest.approx(allowed["lift"].max())
    assert "c1" in best.index and best.loc["c1", "next_product"] == "D"  # c1 holds A, B, C: only D is left
    assert "c4" not in best.index  # c4 bought every product: nothing to offer


def test_fisher_p_value_of_a_rule():
    rules = associations.rule_pvalues(associations.mine_rules(baskets(), min_support=0.1, min_lift=0.0),
                                      baskets(), 0.1)
    ab = rules.query("antecedent == 'A' and consequent == 'B'").iloc[0]
    # 8 orders, A in 5, B in 5, both in 4
    assert ab["p_value"] == pytest.approx(stats.fisher_exact([[4, 1], [1, 2]], alternative="greater").pvalue)


def test_basket_lines_from_clean_lines_skip_returns_and_later_orders():
    lines = pd.DataFrame({"customer_id": ["c1"] * 4, "order_id": ["1", "1", "C2", "3"],
                          "order_date": pd.to_datetime(["2025-12-01", "2025-12-01", "2025-12-02", "2026-01-05"]),
                          "amount": [1.0, 2.0, -1.0, 3.0], "quantity": [1.0, 1.0, -1.0, 1.0],
                          "product_id": ["A", "B", "A", "C"]})
    b = associations.basket_lines(lines, "2025-12-31")
    assert sorted(b["product_id"]) == ["A", "B"] and set(b["order_id"]) == {"1"}

"""Products bought together: association rules of single products over the clean orders, and each
customer's next best product.

Definitions (orders dated on or before ``as_of``; only purchase lines with a product code count):

- a **basket** is the set of distinct product codes of one order id (one basket per invoice);
  ``N`` is the number of baskets;
- a rule **A -> C** (A and C single product codes) has **support** = share of baskets holding
  both A and C, **confidence** = support / share of baskets holding A (the share of A's baskets
  that also hold C) and **lift** = confidence / share of baskets holding C (1: bought together as
  often as chance would have it);
- rules are mined with mlxtend's ``fpgrowth`` (item sets of at most two products with support at
  least ``min_support``) and ``association_rules`` (lift at least ``min_lift``);
- a customer's **next product** is the consequent of the highest-lift rule whose antecedent they
  bought and whose consequent they never bought (ties: higher confidence, then higher support,
  then the smaller product code); empty when no rule applies.

The baskets are built in the engine (one row per order and product comes back); the mining runs on
a sparse one-hot table in memory.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from scipy import sparse, stats
from statsmodels.stats.multitest import multipletests

from customer_analytics.core import engine
from customer_analytics.core.errors import InputError

with warnings.catch_warnings():  # mlxtend turns every DeprecationWarning on ("always") when imported: keep the filters
    from mlxtend.frequent_patterns import association_rules, fpgrowth

RULE_COLUMNS = ["antecedent", "consequent", "support", "confidence", "lift"]


def has_products(tx) -> bool:
    """Whether the clean lines carry product codes (a ``product_id`` column with at least one value)."""
    if "product_id" not in tx.columns:
        return False
    if isinstance(tx, pd.DataFrame):
        return bool(tx["product_id"].notna().any())
    return bool(tx.product_id.notnull().any().execute())


def basket_lines(tx, as_of) -> pd.DataFrame:
    """One row per order and product of the purchase lines up to ``as_of``: order_id, customer_id, product_id."""
    if isinstance(tx, pd.DataFrame):
        tx = engine.table(engine.backend(tx), tx[["customer_id", "order_id", "order_date", "amount", "product_id",
                                                  *(["quantity"] if "quantity" in tx else [])]])
    missing = [c for c in ("customer_id", "order_id", "order_date", "product_id") if c not in tx.columns]
    if missing:
        raise InputError(f"Association rules need the clean lines' column(s) {missing}; found {list(tx.columns)}")
    end = ibis.literal(pd.Timestamp(as_of).normalize().date())
    t = tx.filter(engine.purchase_line(tx) & tx.product_id.notnull() & (tx.order_date.cast("date") <= end))
    out = t.select(order_id=t.order_id.cast("string"), customer_id=t.customer_id.cast("string"),
                   product_id=t.product_id.cast("string")).distinct()
    return out.to_pandas()


def one_hot(baskets: pd.DataFrame) -> pd.DataFrame:
    """Orders x products as a sparse boolean frame (what ``fpgrowth`` reads)."""
    orders = pd.Categorical(baskets["order_id"])
    items = pd.Categorical(baskets["product_id"])
    m = sparse.csr_matrix((np.ones(len(baskets), dtype=bool), (orders.codes, items.codes)),
                          shape=(len(orders.categories), len(items.categories)))
    return pd.DataFrame.sparse.from_spmatrix(m, columns=[str(c) for c in items.categories]).astype(
        pd.SparseDtype(bool, False))


def mine_rules(baskets: pd.DataFrame, *, min_support: float = 0.002, min_lift: float = 1.5) -> pd.DataFrame:
    """All single-product rules with support >= ``min_support`` and lift >= ``min_lift`` (module docstring).

    Returns
    -------
    DataFrame
        :data:`RULE_COLUMNS`, highest lift first (ties: confidence, support, codes).
    """
    if baskets.empty:
        return pd.DataFrame(columns=RULE_COLUMNS)
    sets = fpgrowth(one_hot(baskets), min_support=min_support, use_colnames=True, max_len=2)
    if not (sets["itemsets"].map(len) == 2).any():
        return pd.DataFrame(columns=RULE_COLUMNS)
    rules = association_rules(sets, metric="lift", min_threshold=min_lift)
    rules = rules[(rules["antecedents"].map(len) == 1) & (rules["consequents"].map(len) == 1)]
    out = pd.DataFrame({"antecedent": rules["antecedents"].map(lambda s: next(iter(s))),
                        "consequent": rules["consequents"].map(lambda s: next(iter(s))),
                        "support": rules["support"], "confidence": rules["confidence"], "lift": rules["lift"]})
    return out.sort_values(["lift", "confidence", "support", "antecedent", "consequent"],
                           ascending=[False, False, False, True, True], ignore_index=True)


def next_products(baskets: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Each customer's next product (module docstring) and the rule behind it.

    Returns
    -------
    DataFrame
        customer_id, next_product, antecedent, lift, confidence: one row per customer with a rule
        that applies (customers without one are not in it).
    """
    owned = baskets[["customer_id", "product_id"]].drop_duplicates()
    if rules.empty or owned.empty:
        return pd.DataFrame(columns=["customer_id", "next_product", "antecedent", "lift", "confidence"])
    cand = owned.merge(rules, left_on="product_id", right_on="antecedent")
    cand = cand.merge(owned.rename(columns={"product_id": "consequent"}).assign(has=True),
                      on=["customer_id", "consequent"], how="left")
    cand = cand[cand["has"].isna()]
    cand = cand.sort_values(["customer_id", "lift", "confidence", "support", "consequent"],
                            ascending=[True, False, False, False, True], kind="stable")
    best = cand.drop_duplicates("customer_id")
    return best.rename(columns={"consequent": "next_product"})[
        ["customer_id", "next_product", "antecedent", "lift", "confidence"]].reset_index(drop=True)


def rules_by_group(best: pd.DataFrame, groups: pd.Series, n: int = 3, *, order: list | None = None) -> pd.DataFrame:
    """The ``n`` rules that give most customers of each group their next product.

    ``groups`` maps customer_id to a group code. Returns group, antecedent, next_product, lift and
    customers (of the group for whom this rule gives the next product), most customers first; the
    groups in ``order`` (e.g. the RFM scheme's), others after them.
    """
    d = best.assign(group=best["customer_id"].map(groups)).dropna(subset=["group"])
    if d.empty:
        return pd.DataFrame(columns=["group", "antecedent", "next_product", "lift", "customers"])
    g = d.groupby(["group", "antecedent", "next_product"], as_index=False).agg(
        lift=("lift", "first"), customers=("customer_id", "size"))
    rank = {k: i for i, k in enumerate(order or [])}
    g = g.assign(_o=g["group"].map(lambda k: rank.get(k, len(rank))))
    g = g.sort_values(["_o", "group", "customers", "lift"], ascending=[True, True, False, False], kind="stable")
    return g.groupby("group", sort=False).head(n).drop(columns="_o").reset_index(drop=True)


def descriptions(tx) -> dict[str, str]:
    """Product code -> its most frequent description in the clean lines (empty when the data has none)."""
    if "description" not in tx.columns or "product_id" not in tx.columns:
        return {}
    t = tx if not isinstance(tx, pd.DataFrame) else engine.table(engine.backend(tx), tx[["product_id", "description"]])
    c = t.filter(t.description.notnull()).group_by(["product_id", "description"]).aggregate(n=ibis._.count())
    d = c.to_pandas().sort_values(["product_id", "n", "description"], ascending=[True, False, True])
    return dict(zip(d["product_id"].astype(str), d["description"].astype(str), strict=False))


@dataclass
class BasketStats:
    """How many orders and products the rules were mined from."""

    orders: int
    products: int
    customers: int


def basket_stats(baskets: pd.DataFrame) -> BasketStats:
    return BasketStats(int(baskets["order_id"].nunique()), int(baskets["product_id"].nunique()),
                       int(baskets["customer_id"].nunique()))


def rule_pvalues(rules: pd.DataFrame, baskets: pd.DataFrame, min_support: float) -> pd.DataFrame:
    """Each rule against chance: the one-sided Fisher exact (hypergeometric) p-value of seeing at least
    the observed orders with both products, given each product's orders, and its Benjamini-Hochberg
    correction over every pair of the products that meet ``min_support`` on their own (pairs that did
    not become rules count with p = 1, so mining first does not shrink the correction).

    Returns ``rules`` with ``p_value``, ``p_adjusted`` and ``significant`` (p_adjusted < 0.05).
    """
    n = int(baskets["order_id"].nunique())
    out = rules.copy()
    if out.empty:
        return out.assign(p_value=[], p_adjusted=[], significant=[])
    both = np.rint(out["support"] * n)
    n_a = np.rint(out["support"] / out["confidence"] * n)
    n_c = np.rint(out["confidence"] / out["lift"] * n)
    out["p_value"] = stats.hypergeom.sf(both - 1, n, n_a, n_c)
    per_item = baskets.groupby("product_id")["order_id"].nunique() / n
    k = int((per_item >= min_support).sum())
    pairs = max(k * (k - 1) // 2, 1)
    key = out[["antecedent", "consequent"]].apply(lambda r: tuple(sorted(r)), axis=1)
    unique = out.assign(key=key).drop_duplicates("key")
    padded = np.concatenate([unique["p_value"].to_numpy(), np.ones(max(pairs - len(unique), 0))])
    adjusted = multipletests(padded, method="fdr_bh")[1][:len(unique)]
    out["p_adjusted"] = key.map(dict(zip(unique["key"], adjusted, strict=True)))
    out["significant"] = out["p_adjusted"] < 0.05
    return out


def product_spend(tx, as_of) -> pd.DataFrame:
    """customer_id, product_id and spend (net of the purchase lines, money) per customer and product up to ``as_of``."""
    end = ibis.literal(pd.Timestamp(as_of).normalize().date())
    t = tx.filter(engine.purchase_line(tx) & tx.product_id.notnull() & (tx.order_date.cast("date") <= end))
    g = t.group_by([t.customer_id.cast("string").name("customer_id"), t.product_id.cast("string").name("product_id")])
    out = g.aggregate(cents=engine.cents(t.amount).sum()).to_pandas()
    return out.assign(spend=out.pop("cents") / 100.0)

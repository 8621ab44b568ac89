"""Customer profiles: attributes derived from the transactions, and how each group differs from all customers.

Derived attributes (:func:`derived_attributes`), one row per customer, from the clean lines dated on
or before ``as_of`` (the period end). An **order** is one order id of the customer; only purchase
lines (:func:`customer_analytics.core.engine.purchase_line`) make orders:

- **country**: the country of most of the customer's purchase lines (ties: the first in
  alphabetical order); only when the data has a country column;
- **tenure_days**: days from the first purchase to ``as_of``;
- **basket_items**: mean items (sum of quantities) per order; **basket_value**: mean net value of the
  purchase lines per order (money);
- **preferred_weekday**: the weekday (``mon`` .. ``sun``) with most of the customer's orders, and
  **preferred_daypart**: the part of the day with most orders (``night`` 0-6 h, ``morning`` 6-12 h,
  ``afternoon`` 12-18 h, ``evening`` 18-24 h), ties to the earlier one;
- **returned_share**: the share of the customer's lines that are returns (negative quantity or
  amount); only when the clean lines hold returns.

These pass over every line and run as ibis expressions in the engine that holds the lines; one row
per customer comes back.

Profiles (:func:`profile`): for a grouping of the customers (RFM segment, cluster), for every
attribute and group,

- categorical attribute, one row per level: **group_value** = share of the group's customers with that
  level, **all_value** = the same share among all profiled customers;
- numeric attribute: **group_value** and **all_value** are medians;
- **index** = group_value / all_value x 100 (100: as all customers; 200: twice as likely / twice the median);
- **p_value**: the group against the *other* customers (the rest, so that the two samples are
  disjoint): the two-proportion z-test with pooled variance for a level (equal to the chi-square
  test of the 2x2 table without continuity correction), the two-sided Mann-Whitney U test
  (``scipy.stats.mannwhitneyu``, asymptotic with tie correction) for a numeric attribute;
- **p_adjusted**: corrected over every test of the grouping (all groups, attributes and levels) by
  Holm (``holm``, family-wise error) or Benjamini-Hochberg (``fdr_bh``, false discovery rate);
  **significant**: p_adjusted < alpha.

Levels held by fewer than ``min_level_customers`` customers overall are pooled into ``other`` before
testing; missing values are a level of their own only for categorical attributes (``missing``) and
are left out of a numeric attribute's medians and test.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from customer_analytics.core import engine
from customer_analytics.core.errors import InputError
from customer_analytics.models import lifecycle

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYPARTS = ("night", "morning", "afternoon", "evening")  # 0-6, 6-12, 12-18, 18-24 h
PROFILE_COLUMNS = ["group", "attribute", "level", "kind", "group_n", "group_value", "all_value", "index",
                   "p_value", "p_adjusted", "significant"]
OTHER, MISSING = "other", "missing"


def _mode(expr, key: str, name: str):
    """Per customer, the value of ``key`` with most rows in ``expr`` (ties: the smallest)."""
    counts = expr.group_by(["customer_id", key]).aggregate(n=ibis._.count())
    w = ibis.window(group_by="customer_id", order_by=[ibis.desc(counts.n), counts[key]])
    ranked = counts.mutate(rank=ibis.row_number().over(w))
    return ranked.filter(ranked["rank"] == 0).select("customer_id", **{name: ranked[key]})


def _orders(lines):
    """One row per customer and order of purchase lines: first timestamp, cents and items."""
    sales = lines.filter(lines.sale)
    items = sales.quantity.sum() if "quantity" in sales.columns else sales.order_id.count()
    return sales.group_by(["customer_id", "order_id"]).aggregate(
        at=sales.order_date.min(), cents=sales.cents.sum(), items=items.cast("float64"))


def derived_expr(tx, as_of, con=None):
    """The derived attributes (module docstring) as one ibis table, one row per customer with an order."""
    con, t = lifecycle.lines_table(tx, con)
    if isinstance(tx, pd.DataFrame) and "country" in tx.columns:  # the lifecycle frame keeps no country
        t = engine.table(con, t.to_pandas().assign(country=tx["country"].astype("string").to_numpy()))
    lines = lifecycle.dated_lines(t, as_of)
    orders = _orders(lines)
    end = ibis.literal(pd.Timestamp(as_of).normalize().date())
    per = orders.group_by("customer_id").aggregate(
        first=orders.at.min(), basket_value=(orders.cents.mean() / 100.0), basket_items=orders.items.mean())
    per = per.mutate(tenure_days=end.delta(per["first"].cast("date"), unit="day").cast("int64")).drop("first")
    weekday = orders.mutate(wd=orders.at.day_of_week.index().cast("int64"))
    hour = orders.at.hour().cast("int64")
    daypart = orders.mutate(dp=ibis.cases((hour < 6, 0), (hour < 12, 1), (hour < 18, 2), else_=3))
    out = per.join(_mode(weekday, "wd", "weekday_index"), "customer_id")
    out = out.join(_mode(daypart, "dp", "daypart_index"), "customer_id")
    if "country" in lines.columns:
        sales = lines.filter(lines.sale & lines.country.notnull())
        out = out.left_join(_mode(sales, "country", "country"), "customer_id").drop("customer_id_right")
    if "quantity" in lines.columns and bool((~lines.sale).any().execute()):
        ret = lines.group_by("customer_id").aggregate(returned_share=(~lines.sale).cast("float64").mean())
        out = out.left_join(ret, "customer_id").drop("customer_id_right")
    return out


def derived_attributes(tx, as_of, *, con=None) -> pd.DataFrame:
    """The derived attributes of every customer with an order up to ``as_of`` (module docstring).

    Returns
    -------
    DataFrame
        customer_id (text), country (when the data has one), tenure_days, basket_items,
        basket_value, preferred_weekday, preferred_daypart and, when the lines hold returns,
        returned_share; ordered by customer_id.

    Raises
    ------
    InputError
        When the lines lack customer_id, order_date or amount.
    """
    d = derived_expr(tx, as_of, con).to_pandas()
    d["preferred_weekday"] = d.pop("weekday_index").map(dict(enumerate(WEEKDAYS)))
    d["preferred_daypart"] = d.pop("daypart_index").map(dict(enumerate(DAYPARTS)))
    d["basket_value"] = d["basket_value"].round(2)
    d["customer_id"] = d["customer_id"].astype(str)
    front = ["customer_id", *(["country"] if "country" in d else []), "tenure_days", "basket_items", "basket_value",
             "preferred_weekday", "preferred_daypart"]
    return d[front + [c for c in d.columns if c not in front]].sort_values("customer_id", ignore_index=True)


def attribute_kinds(attributes: pd.DataFrame, max_levels: int = 30) -> dict[str, str]:
    """``categorical`` or ``numeric`` for every attribute column (all but customer_id).

    Numbers are numeric; text, booleans and dates with at most ``max_levels`` distinct values are
    categorical; a text column with more levels (a free-text field, an e-mail) is left out.
    """
    kinds = {}
    for col in attributes.columns.drop("customer_id", errors="ignore"):
        s = attributes[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            kinds[col] = "numeric"
        elif s.nunique(dropna=True) <= max_levels:
            kinds[col] = "categorical"
    return kinds


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test of x1/n1 against x2/n2 (NaN when undefined)."""
    if min(n1, n2) == 0:
        return float("nan")
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return float(2 * stats.norm.sf(abs(z)))


def pooled_levels(values: pd.Series, min_customers: int) -> pd.Series:
    """A categorical attribute as text, missing as ``missing`` and levels of fewer than ``min_customers`` as ``other``."""
    s = values.astype("string").fillna(MISSING)
    counts = s.value_counts()
    rare = counts.index[(counts < min_customers) & (counts.index != MISSING)]
    return s.where(~s.isin(rare), OTHER)


def _categorical_rows(values: pd.Series, groups: pd.Series, name: str, order: list) -> list[dict]:
    """One row per group and level: the shares, index and z-test p-value (before correction)."""
    rows, total = [], len(values)
    overall = values.value_counts()
    for g in order:
        inside = groups == g
        n1, counts = int(inside.sum()), values[inside].value_counts()
        for level, x_all in overall.items():
            x1 = int(counts.get(level, 0))
            share, base = x1 / n1, x_all / total
            rows.append({"group": g, "attribute": name, "level": str(level), "kind": "categorical", "group_n": n1,
                         "group_value": share, "all_value": base, "index": share / base * 100,
                         "p_value": two_proportion_p(x1, n1, int(x_all) - x1, total - n1)})
    return rows


def _numeric_rows(values: pd.Series, groups: pd.Series, name: str, order: list) -> list[dict]:
    """One row per group: the medians, index and Mann-Whitney p-value (before correction)."""
    rows = []
    known = values.notna()
    base = float(values[known].median())
    for g in order:
        inside = (groups == g) & known
        a, b = values[inside], values[~(groups == g) & known]
        med = float(a.median()) if len(a) else float("nan")
        p = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue) if len(a) and len(b) else float("nan")
        rows.append({"group": g, "attribute": name, "level": "", "kind": "numeric", "group_n": int(inside.sum()),
                     "group_value": med, "all_value": base, "index": med / base * 100 if base else float("nan"),
                     "p_value": p})
    return rows


def adjust(p_values: pd.Series, correction: str = "holm") -> pd.Series:
    """p-values corrected by Holm (``holm``) or Benjamini-Hochberg (``fdr_bh``); NaN stays NaN."""
    if correction not in ("holm", "fdr_bh"):
        raise InputError(f"profiles.correction must be holm or fdr_bh, got {correction!r}")
    out = pd.Series(np.nan, index=p_values.index)
    known = p_values.notna()
    if known.any():
        out[known] = multipletests(p_values[known].to_numpy(), method=correction)[1]
    return out


@dataclass
class Profile:
    """How the groups of one grouping differ from all customers (module docstring for every column)."""

    table: pd.DataFrame  # PROFILE_COLUMNS, one row per group, attribute and level
    grouping: str        # e.g. segment or cluster
    correction: str
    alpha: float

    def summary(self) -> pd.DataFrame:
        """Per group: customers, attributes tested and significant differences."""
        t = self.table
        return t.groupby("group", sort=False).agg(customers=("group_n", "max"), tests=("p_value", "count"),
                                                  significant=("significant", "sum")).reset_index()


def profile(attributes: pd.DataFrame, groups: pd.Series, *, kinds: dict[str, str] | None = None,
            correction: str = "holm", alpha: float = 0.05, min_level_customers: int = 10,
            grouping: str = "group", order: list | None = None) -> Profile:
    """Profile every group of ``groups`` (indexed like ``attributes``) against all customers.

    ``kinds`` maps attribute columns to ``categorical`` / ``numeric`` (default :func:`attribute_kinds`).
    Rows without a group are left out of everything (group and all customers). The table lists the
    groups in ``order`` (those present), then any others in order of appearance.
    """
    kinds = kinds or attribute_kinds(attributes)
    keep = groups.notna().to_numpy()
    a, g = attributes[keep].reset_index(drop=True), groups[keep].reset_index(drop=True)
    present = list(g.unique())
    listed = [x for x in (order or []) if x in present] + [x for x in present if x not in (order or [])]
    rows = []
    for col, kind in kinds.items():
        if kind == "categorical":
            rows += _categorical_rows(pooled_levels(a[col], min_level_customers), g, col, listed)
        else:
            rows += _numeric_rows(pd.to_numeric(a[col], errors="coerce"), g, col, listed)
    table = pd.DataFrame(rows, columns=PROFILE_COLUMNS[:-2])
    table["p_adjusted"] = adjust(table["p_value"], correction)
    table["significant"] = table["p_adjusted"] < alpha
    return Profile(table, grouping, correction, alpha)


def top_traits(result: Profile, n: int = 3, *, min_group_share: float = 0.05, min_ratio: float = 1.2) -> pd.DataFrame:
    """The ``n`` most distinctive significant traits of each group: the facts a card is built from.

    Distinctiveness is ``|log(index / 100)|``, largest first; a trait must differ by at least
    ``min_ratio`` (index at least 120 or, for a median, at most 100 / 1.2 = 83 at the default), so
    that a significant but small difference in a large group is not sold as a trait. A categorical
    level counts only when over-represented and held by at least ``min_group_share`` of the group;
    the ``missing`` and ``other`` levels never count. Returns the rows of ``result.table`` with ``rank``.
    """
    t = result.table[result.table["significant"]].copy()
    cat = t["kind"] == "categorical"
    usable = ~cat | ((t["index"] > 100) & (t["group_value"] >= min_group_share) & ~t["level"].isin([OTHER, MISSING]))
    t = t[usable & t["index"].gt(0)]
    t["strength"] = np.abs(np.log(t["index"] / 100))
    t = t[t["strength"] >= np.log(min_ratio) - 1e-12]
    t = t.sort_values(["group", "strength"], ascending=[True, False], kind="stable")
    t = t.groupby("group", sort=False).head(n)
    t["rank"] = t.groupby("group", sort=False).cumcount() + 1
    return t.drop(columns="strength").reset_index(drop=True)

"""Parity: the cleaning rules run in the engine give the same tables as the plain pandas definitions.

``reference_cleaning.py`` holds the definitions, one pandas line at a time. Every case here runs
both and asserts identical clean tables (values, order, dtypes), audits and examples: on
hand-made edge cases, on random exports with many returns, and on the bundled sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import reference_cleaning as ref

from customer_analytics.core import engine
from customer_analytics.models import cleaning

COLS = ("customer_id", "order_id", "order_date", "amount", "product_id", "quantity", "unit_price", "description")


def frame(rows, columns=COLS):
    df = pd.DataFrame(rows, columns=list(columns))
    for c in ("customer_id", "order_id", "product_id", "description"):
        if c in df:
            df[c] = df[c].astype("string")
    df["order_date"] = pd.to_datetime(df["order_date"], format="ISO8601")
    for c in ("amount", "quantity", "unit_price"):
        if c in df:
            df[c] = df[c].astype("float64")
    df["source_row"] = np.arange(2, len(df) + 2, dtype="int64")
    return df


def edge_cases() -> pd.DataFrame:
    """Returns spanning several lines, ties, half cents, a customer netted to zero, every rule, later lines."""
    return frame([
        ("1", "o1", "2024-01-01", 6.666, "P", 2.0, 3.333, "Mug"),
        ("1", "o2", "2024-01-02", 5.0, "P", 1.0, 5.0, "Mug"),
        ("1", "o3", "2024-01-03", 0.0, "P", 3.0, 0.0, "Mug"),           # free: never netted
        ("1", "C4", "2024-01-03", -10.0, "P", -2.0, 5.0, "Mug"),        # spans o2 and one unit of o1
        ("1", "o5", "2024-01-04", 2.0, "Q", 2.0, 1.0, "Jug"),
        ("1", "C6", "2024-01-04", -1.0, "Q", -1.0, 1.0, "Jug"),         # same timestamp as its purchase
        ("2", "o7", "2024-01-05", 10.005, "P", 1.0, 10.005, "Mug"),     # half a cent
        ("2", "C8", "2024-01-06", 10.005, "P", 1.0, 10.005, "Mug"),     # return by prefix: customer 2 netted to zero
        ("3", None, "2024-01-06", 2.0, "P", 1.0, 2.0, "Mug"),
        ("3", "C9", "2024-01-05", -2.0, "P", -1.0, 2.0, "Mug"),         # before any purchase: unmatched
        ("4", "o10", "2024-01-07", 4.5, "R", 3.0, 1.5, "Tea"),
        ("4", "o10", "2024-01-07", 4.5, "R", 3.0, 1.5, "Tea"),          # export duplicate
        ("4", "o11", "2024-01-08", 4.5, "R", 3.0, 1.5, "Tea"),          # tie with o10 in amount, not a duplicate
        (None, "o12", "2024-01-08", 9.0, "R", 1.0, 9.0, "Tea"),         # no customer
        ("5", "o13", "2024-01-09", 3.0, "POST", 1.0, 3.0, "POSTAGE"),   # not merchandise
        ("5", "o14", "2024-01-09", -1.0, "T", 1.0, -1.0, "Adjust bad debt"),
        ("5", "o15", "2023-12-31", 3.0, "T", 1.0, 3.0, "Tea"),          # before the analysis start
        ("5", "o16", "2024-01-10", 900.0, "T", 1.0, 900.0, "Tea"),      # outlier
        ("6", "o17", "2024-01-11", 2.5, "T", 1.0, 2.5, "Tea"),
        ("6", "C18", "2024-02-02", -2.5, "T", -1.0, 2.5, "Tea"),        # after the period end: never seen
        ("6", "o19", "2024-01-12", 7.25, "T", 5.0, 1.45, "Tea"),
        ("6", "C20", "2024-01-20", -2.9, "T", -2.0, 1.45, "Tea"),       # partial: 3 of 5 left, 4.35
    ])


def run_both(tx, rules=None, **kw):
    kw.setdefault("period_end", "2024-01-31")
    kw.setdefault("analysis_start", "2024-01-01")
    return cleaning.clean_transactions(tx, rules, **kw), ref.clean_transactions(tx, rules, **kw)


def assert_same(got, want):
    pd.testing.assert_frame_equal(got.data, want.data, check_exact=True)
    pd.testing.assert_frame_equal(got.audit, want.audit, check_exact=True)
    assert got.examples.keys() == want.examples.keys()
    for k in want.examples:
        assert got.examples[k]["source_row"].tolist() == want.examples[k]["source_row"].tolist(), k
    assert got.stats == want.stats


RULE_SETS = {
    "defaults": None,
    "drop returns": {"cancellations": {"mode": "drop"}},
    "cap outliers": {"outliers": {"action": "cap", "k": 1.0}},
    "drop outliers": {"outliers": {"action": "drop", "k": 1.0}},
    "keep zero amounts": {"nonpositive_price": {"keep_zero_amount": True}},
    "all off": {r: {"enabled": False} for r in cleaning.RULE_ORDER},
}


@pytest.mark.parametrize("rules", list(RULE_SETS.values()), ids=list(RULE_SETS))
def test_the_engine_cleans_the_edge_cases_exactly_as_the_definitions(rules):
    got, want = run_both(edge_cases(), rules)
    assert_same(got, want)


def test_the_edge_cases_net_as_the_stack_of_units_says():
    got, _ = run_both(edge_cases())
    rows = got.data.set_index("source_row")
    assert 3 not in rows.index and 8 not in rows.index and 9 not in rows.index  # netted to zero
    assert rows.loc[2, ["quantity", "amount"]].tolist() == [1.0, 3.33]          # o1 keeps one unit
    assert rows.loc[22, ["quantity", "amount"]].tolist() == [3.0, 4.35]         # o19 keeps three
    assert 21 not in rows.index                                                  # C18 is after the period
    audit = got.audit.set_index("rule")
    assert audit.loc["cancellations: matched returns", ["rows_removed", "rows_changed"]].tolist() == [4 + 2, 3]
    assert audit.loc["cancellations: unmatched returns", "example_rows"] == "11"
    assert got.stats["rows_after_period"] == 1


def test_without_order_ids_the_engine_keeps_identical_lines_like_the_definition():
    got, want = run_both(edge_cases(), lines_identifiable=False)
    assert_same(got, want)


def test_without_product_or_quantity_the_amounts_are_netted_per_customer_like_the_definition():
    tx = edge_cases()[["customer_id", "order_id", "order_date", "amount", "source_row"]]
    assert_same(*run_both(tx))


def random_export(seed: int, n: int = 600) -> pd.DataFrame:
    """Many customers with few products and frequent returns, ties on dates."""
    rng = np.random.default_rng(seed)
    qty = rng.integers(1, 6, n).astype(float)
    ret = rng.random(n) < 0.3
    qty[ret] = -rng.integers(1, 8, ret.sum())
    price = rng.choice([0.5, 1.25, 3.333, 10.005], n)
    return frame(list(zip(
        rng.integers(1, 40, n).astype(str), [f"{'C' if r else 'o'}{i}" for i, r in enumerate(ret)],
        (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")).astype(str),
        qty * price, rng.choice(["A", "B", "C"], n), qty, price, ["Tea"] * n, strict=True)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_exports_with_many_returns_net_exactly_as_the_definition(seed):
    tx = random_export(seed)
    got, want = run_both(tx, {"outliers": {"enabled": False}}, period_end="2024-02-20", analysis_start=None)
    assert got.audit.set_index("rule").loc["cancellations: matched returns", "rows_changed"] > 0
    assert_same(got, want)


def test_the_sample_is_cleaned_exactly_as_the_definition(loaded_sample):
    kw = {"period_end": "2025-12-31", "id_fixes": loaded_sample.id_fixes}
    got = cleaning.clean_transactions(loaded_sample.data, **kw)
    want = ref.clean_transactions(loaded_sample.data, **kw)
    assert len(got.data) > 10_000
    assert_same(got, want)


@pytest.mark.parametrize("rules", [None, {"cancellations": {"mode": "drop"}, "outliers": {"action": "cap"}}],
                         ids=["defaults", "drop returns, cap outliers"])
def test_spark_local_cleans_the_edge_cases_exactly_as_duckdb(spark, rules):
    tx = edge_cases()
    kw = {"period_end": "2024-01-31", "analysis_start": "2024-01-01"}
    on_spark = cleaning.clean_transactions(engine.table(spark, tx), rules, con=spark, **kw)
    on_duckdb = cleaning.clean_transactions(tx, rules, **kw)
    got = on_spark.data.astype(on_duckdb.data.dtypes.to_dict())
    assert got.to_csv(index=False) == on_duckdb.data.to_csv(index=False)
    pd.testing.assert_frame_equal(on_spark.audit, on_duckdb.audit, check_exact=True)
    print(f"\nSpark local, {len(got)} clean lines:\n{on_spark.audit.iloc[:, :10].to_string(index=False)}")

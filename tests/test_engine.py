"""The engine layer: one ibis expression for the RFM summary, identical on DuckDB and Spark.

The reference is the definition written in plain pandas (the readable statement of what the
columns mean); the engines must give byte-identical exported tables.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from customer_analytics.core import engine
from customer_analytics.core.errors import ConfigError
from customer_analytics.models import cleaning, rfm

GOLDEN = Path(__file__).parent / "golden"
COLUMNS = {"customer_id": "string", "order_id": "string", "order_date": "timestamp", "amount": "float64"}


def reference_summary(tx: pd.DataFrame, as_of, window_months=None) -> pd.DataFrame:
    """The RFM summary by its definition, in pandas: customers with a purchase line (amount >= 0) in
    the window; dates and distinct orders of their purchase lines, net cents of all their lines."""
    end = pd.Timestamp(as_of).normalize()
    day = tx["order_date"].dt.normalize()
    keep = day <= end
    if window_months:
        keep &= day > end - pd.DateOffset(months=window_months)
    x = tx[keep].assign(day=day[keep], cents=cleaning.cents(tx.loc[keep, "amount"]))
    buys = x[x["amount"] >= 0]
    g = buys.groupby("customer_id").agg(first_purchase=("day", "min"), last_purchase=("day", "max"),
                                        frequency=("order_id", "nunique"))
    g["cents"] = x.groupby("customer_id")["cents"].sum().reindex(g.index)
    return g.reset_index()


def edge_cases() -> pd.DataFrame:
    """Returns spanning several lines, ties, half cents, a customer netted to zero, a later line."""
    rows = [
        ("a", "1", "2024-01-02 09:00", 10.005),   # half cent
        ("a", "1", "2024-01-02 09:00", 4.995),    # second line of the same order
        ("a", "2", "2024-01-30 23:59", 20.00),
        ("a", "R1", "2024-01-31 10:00", -5.00),   # a return on the period's last day
        ("b", "3", "2024-01-15 18:00", 7.50),
        ("b", "R3", "2024-01-20 08:00", -7.50),   # netted to zero: scored, with monetary 0
        ("c", "4", "2024-01-31 00:00", 7.50),     # ties c and d on every column
        ("d", "5", "2024-01-31 00:00", 7.50),
        ("e", "6", "2024-02-01 00:00", 99.00),    # after the period end: never counted
        ("f", "7", "2023-06-30 12:00", 0.01),
        ("f", "8", "2023-12-31 12:00", 0.02),
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype(
        {"customer_id": "string", "order_id": "string", "order_date": "datetime64[ns]"})


def summary(con, tx, as_of, window_months=None) -> pd.DataFrame:
    out = con.execute(engine.rfm_summary(engine.table(con, tx), as_of, window_months))
    out["first_purchase"] = pd.to_datetime(out["first_purchase"]).astype("datetime64[ns]")
    out["last_purchase"] = pd.to_datetime(out["last_purchase"]).astype("datetime64[ns]")
    return out.astype({"customer_id": "string", "frequency": "int64", "cents": "int64"})


def reference(tx, as_of, window_months=None) -> pd.DataFrame:
    out = reference_summary(tx, as_of, window_months)
    return out.astype({"customer_id": "string", "frequency": "int64", "cents": "int64"})


@pytest.mark.parametrize("window_months", [None, 3])
def test_duckdb_summary_matches_the_definition_on_edge_cases(window_months):
    tx = edge_cases()
    got = summary(engine.connect(), tx, "2024-01-31", window_months)
    pd.testing.assert_frame_equal(got, reference(tx, "2024-01-31", window_months))
    assert got["customer_id"].tolist() == ["a", "b", "c", "d", "f"]  # e only after the period
    a = got.set_index("customer_id").loc["a"]
    assert a["cents"] == 1001 + 500 + 2000 - 500 and a["frequency"] == 2  # half cents round away from zero
    assert a["last_purchase"] == pd.Timestamp("2024-01-30")  # the return on the 31st is not a purchase
    assert got.set_index("customer_id").loc["b", "cents"] == 0


def test_duckdb_rfm_table_is_identical_to_the_definition_on_the_sample(cleaned_sample):
    sample_clean = cleaned_sample.data
    as_of = "2025-11-30"
    got = rfm.compute_rfm(sample_clean, as_of)
    ref = reference(sample_clean, as_of)
    assert got["customer_id"].tolist() == ref["customer_id"].tolist()
    assert (got["frequency"].to_numpy() == ref["frequency"].to_numpy()).all()
    assert ((got["monetary"] * 100).round().astype("int64").to_numpy() == ref["cents"].to_numpy()).all()
    assert got.to_csv(index=False) == rfm.compute_rfm(sample_clean, as_of, con=engine.connect()).to_csv(index=False)


def test_an_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"engine.backend must be one of \['duckdb', 'pyspark'\]"):
        engine.connect({"backend": "oracle"})


def test_the_rfm_summary_compiles_to_spark_sql_and_snowflake_as_in_the_golden_files():
    import ibis.backends.pyspark  # noqa: F401  (registers the Spark dialect's options)

    ibis.pyspark  # noqa: B018  (loads the backend entry point)
    expr = engine.rfm_summary(ibis.table(COLUMNS, name="transactions"), "2024-01-31", 12)
    for dialect in ("pyspark", "snowflake"):
        sql = ibis.to_sql(expr, dialect=dialect).strip() + "\n"
        assert sql == (GOLDEN / f"rfm_summary.{dialect}.sql").read_text(), dialect


def test_spark_local_gives_the_same_rfm_table_as_duckdb(spark):
    tx = edge_cases()
    for window in (None, 3):
        on_spark = rfm.compute_rfm(tx, "2024-01-31", window, con=spark)
        on_duckdb = rfm.compute_rfm(tx, "2024-01-31", window)
        assert on_spark.to_csv(index=False) == on_duckdb.to_csv(index=False)
        print(f"\nSpark local ({window=}):\n{on_spark.to_string(index=False)}")

"""Cleaning on small hand-made exports whose every number is known: exact tables, sentences, messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_analytics import cleaning
from customer_analytics.errors import ConfigError, InputError

HEADER = "customer_id,order_id,order_date,amount\n"


def write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def canonical(rows, columns=("customer_id", "order_id", "order_date", "amount")):
    """A canonical transaction table from tuples (dates as text)."""
    df = pd.DataFrame(rows, columns=list(columns))
    for c in ("customer_id", "order_id", "product_id", "country", "description"):
        if c in df:
            df[c] = df[c].astype("string")
    df["order_date"] = pd.to_datetime(df["order_date"], format="ISO8601")
    df["amount"] = df["amount"].astype("float64")
    return df


# ------------------------------------------------------------------ summaries the notebook shows


def summary_table():
    return canonical([
        ("A", "o1", "2024-01-05", 12.50),
        ("A", "o1", "2024-01-05", 7.25),
        ("B", "o2", "2024-02-10", 3.10),
        ("A", "o3", "2024-03-31 18:00", 1.005),
    ])


def test_summary_counts_rows_customers_orders_cents_and_the_date_range():
    expected = pd.Series({"rows": 4, "customers": 2, "orders": 3, "revenue": 23.85,
                          "first_date": "2024-01-05", "last_date": "2024-03-31"})
    pd.testing.assert_series_equal(cleaning.summarise(summary_table()), expected)


def test_summary_of_an_empty_table_has_no_dates():
    expected = pd.Series({"rows": 0, "customers": 0, "orders": 0, "revenue": 0.0,
                          "first_date": "", "last_date": ""})
    pd.testing.assert_series_equal(cleaning.summarise(summary_table().iloc[:0]), expected)


def test_before_after_counts_raw_lines_up_to_the_whole_period_end_day():
    raw = summary_table()
    raw[cleaning.ID_FIX_COLUMN] = np.int8(0)
    later = canonical([("C", "o9", "2024-04-01", 50.0), ("C", "o8", "2024-04-02 00:00", 60.0)])
    raw = pd.concat([raw, later], ignore_index=True)
    clean = summary_table().iloc[[0, 2]]
    got = cleaning.before_after(raw, clean, period_end="2024-03-31")
    expected = pd.DataFrame({
        "raw": [4, 2, 3, 23.85, "2024-01-05", "2024-03-31"],
        "clean": [2, 2, 2, 15.6, "2024-01-05", "2024-02-10"],
    }, index=["rows", "customers", "orders", "revenue", "first_date", "last_date"], dtype=object)
    pd.testing.assert_frame_equal(got, expected)
    # without a period end every raw line counts (the helper column is never summarised)
    whole = cleaning.before_after(raw, clean)
    assert whole["raw"].tolist() == [6, 3, 5, 133.85, "2024-01-05", "2024-04-02"]


def test_before_after_on_a_period_ending_the_day_before_the_last_lines():
    raw = canonical([("A", "o1", "2024-03-30 23:59", 1.0), ("A", "o2", "2024-03-31", 2.0),
                     ("B", "o3", "2024-04-01", 4.0)])
    got = cleaning.before_after(raw, raw.iloc[:1], period_end=pd.Timestamp("2024-03-31 12:00"))
    assert got["raw"].tolist() == [2, 1, 2, 3.0, "2024-03-30", "2024-03-31"]


def test_missing_values_are_counted_and_shared_per_column():
    tx = canonical([("A", None, "2024-01-01", 1.0), (None, None, "2024-01-02", 2.0),
                    ("B", "o3", None, 3.0)])
    tx.loc[2, "amount"] = np.nan
    got = cleaning.missing_by_column(tx)
    expected = pd.DataFrame({"missing": [1, 2, 1, 1], "share": [0.3333, 0.6667, 0.3333, 0.3333]},
                            index=["customer_id", "order_id", "order_date", "amount"])
    pd.testing.assert_frame_equal(got, expected, check_index_type=False)


def test_missing_values_of_an_empty_table_are_zero_not_a_division_error():
    got = cleaning.missing_by_column(summary_table().iloc[:0])
    assert got["missing"].tolist() == [0, 0, 0, 0] and got["share"].tolist() == [0.0] * 4


def test_monthly_orders_customers_and_revenue():
    tx = canonical([
        ("A", "o1", "2024-01-05", 10.0), ("A", "o1", "2024-01-05", 0.125),
        ("B", "o2", "2024-01-31 23:00", 5.0), ("B", "o3", "2024-03-01", 2.5),
    ])
    got = cleaning.monthly(tx)
    expected = pd.DataFrame(
        {"orders": [2, 1], "customers": [2, 1], "revenue": [15.12, 2.5]},
        index=pd.PeriodIndex(["2024-01", "2024-03"], freq="M", name="month"),
    )
    pd.testing.assert_frame_equal(got, expected)


def group_table():
    rows = [(f"c{i}", f"o{i}", "2024-01-01", float(i), f"K{i:02d}") for i in range(1, 13)]
    rows += [("c1", "o20", "2024-01-02", 0.004, "K12"), ("c99", "o21", "2024-01-02", 1.0, "K12")]
    return canonical(rows, ("customer_id", "order_id", "order_date", "amount", "country"))


def test_top_groups_ranks_by_revenue_and_keeps_the_top_n():
    got = cleaning.top_groups(group_table(), "country", n=3)
    total = 79.004
    expected = pd.DataFrame(
        {"customers": [3, 1, 1], "revenue": [13.0, 11.0, 10.0],
         "revenue_share": [13.004 / total, 11 / total, 10 / total]},
        index=pd.Index(["K12", "K11", "K10"], dtype="string", name="country"),
    )
    pd.testing.assert_frame_equal(got, expected)


def test_top_groups_shows_ten_by_default_with_revenue_to_the_cent():
    tx = group_table()
    tx.loc[0, "amount"] = 1.23456
    got = cleaning.top_groups(tx, "country")
    assert len(got) == 10 and got.index[-1] == "K03"
    assert cleaning.top_groups(tx, "country", n=12).loc["K01", "revenue"] == 1.23


def test_top_groups_of_a_column_the_data_lacks_is_an_empty_table():
    got = cleaning.top_groups(summary_table(), "country")
    assert got.empty and list(got.columns) == ["customers", "revenue", "revenue_share"]


# ------------------------------------------------------------------ how the file was read


def test_describe_names_file_encoding_preset_dates_mapping_id_fixes_and_numbers(tmp_path):
    p = write(tmp_path, "Cust,order_id,order_date,amount\n 7,1,2024-01-01,5.5\n8.0,2,2024-01-02,6\n"
                        "9.0,3,2024-01-03,7\n", "shop.csv")
    r = cleaning.load_transactions(p, column_mapping={"Cust": "customer_id"})
    assert r.describe() == (
        "Read 3 rows from shop.csv (encoding utf-8, preset 'generic', dates 'ISO8601'). "
        "Columns: Cust -> customer_id, order_id -> order_id, order_date -> order_date, amount -> amount. "
        "ID fixes: customer_id_padded: 1, customer_id_float_artefacts: 2. "
        f"Numbers: {r.number_format.describe()}."
    )
    assert r.number_format.describe().startswith("decimal '.', thousands none")


def test_describe_without_id_fixes_and_of_a_binary_file(tmp_path):
    df = pd.DataFrame({"customer_id": ["1", "2"], "order_id": ["a", "b"],
                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"]), "amount": [1.0, 2.0]})
    df.to_excel(tmp_path / "book.xlsx", index=False)
    r = cleaning.load_transactions(tmp_path / "book.xlsx")
    assert r.describe() == (
        "Read 2 rows from book.xlsx (binary format, preset 'generic', dates 'ISO8601'). "
        "Columns: customer_id -> customer_id, order_id -> order_id, order_date -> order_date, "
        f"amount -> amount. Numbers: {r.number_format.describe()}."
    )


# ------------------------------------------------------------------ Excel sheets


def two_sheet_book(tmp_path, name="book.xlsx"):
    notes = pd.DataFrame({"note": ["exported by the shop", "see next sheet"]})
    data = pd.DataFrame({"customer_id": [12346, None, 12347], "order_id": ["a", "b", "c"],
                         "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                         "amount": [1.5, 2.0, 3.0]})
    p = tmp_path / name
    with pd.ExcelWriter(p) as w:
        notes.to_excel(w, sheet_name="Notes", index=False)
        data.to_excel(w, sheet_name="Orders", index=False)
    return p


def test_excel_reads_the_sheet_named_or_numbered_and_keeps_numeric_ids_whole(tmp_path):
    p = two_sheet_book(tmp_path)
    for sheet in ("Orders", 1):
        r = cleaning.load_transactions(p, sheet=sheet)
        assert r.data["customer_id"].tolist() == ["12346", pd.NA, "12347"]
        assert r.id_fixes == {"customer_id_padded": 0, "customer_id_float_artefacts": 0}
        assert r.data["source_row"].tolist() == [2, 3, 4]
        assert r.data["amount"].tolist() == [1.5, 2.0, 3.0]


def test_excel_sheet_zero_is_the_first_sheet(tmp_path):
    p = two_sheet_book(tmp_path)
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(p, sheet=0)
    assert "Read sheet 'Notes' of ['Notes', 'Orders']." in str(e.value)


@pytest.mark.parametrize("sheet", ["Nope", 2, -1])
def test_excel_sheet_that_does_not_exist_is_named_with_the_sheets_in_the_file(tmp_path, sheet):
    p = two_sheet_book(tmp_path)
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(p, sheet=sheet)
    assert f"no sheet {sheet!r}. Sheets in the file: ['Notes', 'Orders']" in str(e.value)


@pytest.mark.parametrize("sheet", [None, "Notes"])
def test_excel_data_on_another_sheet_is_pointed_out(tmp_path, sheet):
    p = two_sheet_book(tmp_path)
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(p, sheet=sheet)
    msg = str(e.value)
    assert msg.endswith(" Read sheet 'Notes' of ['Notes', 'Orders']. The data seems to be on sheet "
                        "'Orders': set data.sheet: Orders.")
    assert "required column(s) ['customer_id', 'order_id', 'order_date', 'amount'] not found" in msg


def test_excel_hint_names_the_first_matching_sheet_and_is_silent_when_none_matches(tmp_path):
    p = tmp_path / "four.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame({"note": ["x"]}).to_excel(w, sheet_name="Cover", index=False)
        pd.DataFrame({"order_id": ["a"], "other": [1]}).to_excel(w, sheet_name="Part", index=False)
        pd.DataFrame({"amount": [1.0]}).to_excel(w, sheet_name="Data1", index=False)
        pd.DataFrame({"customer_id": ["c"]}).to_excel(w, sheet_name="Data2", index=False)
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(p, sheet="Part")
    assert str(e.value).endswith(" Read sheet 'Part' of ['Cover', 'Part', 'Data1', 'Data2']. The data seems "
                                 "to be on sheet 'Data1': set data.sheet: Data1.")
    q = tmp_path / "none.xlsx"
    with pd.ExcelWriter(q) as w:
        pd.DataFrame({"note": ["x"]}).to_excel(w, sheet_name="Cover", index=False)
        pd.DataFrame({"other": [1]}).to_excel(w, sheet_name="Part", index=False)
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(q, sheet="Part")
    assert str(e.value).endswith("'customer_id'}. Read sheet 'Part' of ['Cover', 'Part'].")


def test_excel_header_is_the_first_row_not_the_first_data_row(tmp_path):
    df = pd.DataFrame({"customer_id": ["x", "y"], "order_id": ["x", "z"],
                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"]), "amount": [1.0, 2.0]})
    df.to_excel(tmp_path / "same.xlsx", index=False)
    r = cleaning.load_transactions(tmp_path / "same.xlsx")
    assert r.data["customer_id"].tolist() == ["x", "y"]
    assert r.source_columns == ["customer_id", "order_id", "order_date", "amount"]

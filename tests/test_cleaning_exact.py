"""Cleaning on small hand-made exports whose every number is known: exact tables, sentences, messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.io.reading import ValueConventions
from customer_analytics.models import cleaning

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
    df["source_row"] = np.arange(2, len(df) + 2, dtype="int64")
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
    expected = pd.DataFrame({"missing": [1, 2, 1, 1, 0], "share": [0.3333, 0.6667, 0.3333, 0.3333, 0.0]},
                            index=["customer_id", "order_id", "order_date", "amount", "source_row"])
    pd.testing.assert_frame_equal(got, expected, check_index_type=False)


def test_missing_values_of_a_one_line_table_are_whole_shares():
    got = cleaning.missing_by_column(canonical([(None, "o1", "2024-01-01", 1.0)]))
    assert got["missing"].tolist() == [1, 0, 0, 0, 0] and got["share"].tolist() == [1.0, 0, 0, 0, 0]


def test_missing_values_of_an_empty_table_are_zero_not_a_division_error():
    got = cleaning.missing_by_column(summary_table().iloc[:0])
    assert got["missing"].tolist() == [0] * 5 and got["share"].tolist() == [0.0] * 5


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
    for sheet in ("Part", 1):
        with pytest.raises(InputError) as e:
            cleaning.load_transactions(p, sheet=sheet)
        assert str(e.value).endswith(" Read sheet 'Part' of ['Cover', 'Part', 'Data1', 'Data2']. The data "
                                     "seems to be on sheet 'Data1': set data.sheet: Data1.")
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


# ------------------------------------------------------------------ the audit of a shop export

SHOP = """customer_id,order_id,order_date,product_id,description,quantity,unit_price,country
1,100,2024-01-05,P1,Mug,2,5.00,UK
1,100,2024-01-05,P1,Mug,2,5.00,UK
,101,2024-01-06,P2,Cup,1,3.50,UK
2,102,2024-01-07,P2,Cup,4,3.50,FR
2,C103,2024-01-08,P2,Cup,-1,3.50,FR
3.0,104,2024-01-09,P3,Bowl,1,8.00,UK
3.0,C105,2024-01-10,P3,Bowl,-1,8.00,UK
4,C106,2024-01-11,P4,Plate,-2,2.00,UK
5,107,2024-01-12,P5,Sample,1,0.00,UK
5,108,2024-01-12,B,Adjust bad debt,1,100.00,UK
6,109,2024-01-13,POST,Postage,1,15.00,UK
6,110,2024-01-13,X1,Carriage,1,7.00,UK
7,111,2023-12-01,P6,Jug,1,20.00,UK
7,112,2024-02-01,P6,Jug,1,1000.00,UK
 8,113,2024-02-02,P7,Tea,1,9.00,DE
8,114,2024-02-03,P7,Tea,1,11.00,DE
9,115,2024-02-04,P8,Pot,1,12.00,DE
1,116,2024-03-31,P1,Mug,2,5.00,UK
8,118,,P7,Tea,1,9.00,DE
9.0,117,2024-04-01,P8,Pot,1,12.00,DE
9,119,2099-01-01,P8,Pot,1,12.00,DE
"""
# Raw lines up to 2024-03-31: rows 2-20, revenue 1,223.00 (122,300 cents).
RAW_CENTS = 122_300
AUDIT_COLS = ["step", "rule", "action", "rows_removed", "rows_changed", "revenue_removed",
              "revenue_changed", "revenue_effect", "revenue_share", "customers_affected",
              "example_rows", "explanation"]


@pytest.fixture()
def shop(tmp_path):
    return cleaning.load_transactions(write(tmp_path, SHOP, "shop.csv"))


def clean_shop(shop, rules=None, **kw):
    kw = {"period_end": "2024-03-31", "analysis_start": "2024-01-01", "id_fixes": shop.id_fixes, **kw}
    return cleaning.clean_transactions(shop.data, rules, **kw)


def audit_frame(rows):
    """Audit rows as (step, rule, action, removed, changed, rev_removed, rev_changed, customers,
    examples, explanation); effect and share follow from the cents."""
    out = []
    for step, rule, action, removed, changed, rr, rc, cust, ex, expl in rows:
        effect = round(rc * 100) - round(rr * 100)
        out.append([step, rule, action, removed, changed, rr, rc, effect / 100, effect / RAW_CENTS,
                    cust, ex, expl])
    return pd.DataFrame(out, columns=AUDIT_COLS)


NETTED = (" Removed: 2 return lines and 1 purchase lines netted to zero; 1 purchase lines were "
          "reduced (changed).")
UNMATCHED = ("Returns with no earlier purchase of that product by that customer (bought before the "
             "data starts, or a data error); dropped.")
OUTLIER = " Threshold: 17.42 per line; 1 lines above it carry 1,000.00."
R = cleaning.RULE_ORDER


def test_the_audit_of_the_shop_export_accounts_for_every_line_and_cent(shop):
    res = clean_shop(shop)
    expected = audit_frame([
        (0, "customer ids: float artefacts", "fix", 0, 2, 0.0, 0.0, 0, "",
         "While loading, customer ids were normalised: float artefacts such as 12346.0 became 12346."),
        (0, "customer ids: padded", "fix", 0, 1, 0.0, 0.0, 0, "",
         "While loading, customer ids were normalised: surrounding spaces were stripped."),
        (1, "missing_customer", "remove", 1, 0, 3.5, 0.0, 0, "4", R["missing_customer"]),
        (2, "duplicates", "remove", 1, 0, 10.0, 0.0, 1, "3", R["duplicates"]),
        (3, "cancellations: matched returns", "net", 3, 1, -3.5, -3.5, 2, "6; 8; 7",
         R["cancellations"] + NETTED),
        (3, "cancellations: unmatched returns", "remove", 1, 0, -4.0, 0.0, 1, "9", UNMATCHED),
        (4, "nonpositive_price", "remove", 2, 0, 100.0, 0.0, 1, "10; 11", R["nonpositive_price"]),
        (5, "non_merchandise", "remove", 2, 0, 22.0, 0.0, 1, "12; 13", R["non_merchandise"]),
        (6, "date_window", "remove", 2, 0, 29.0, 0.0, 2, "14; 20", R["date_window"]),
        (7, "outliers", "flag", 0, 1, 0.0, 0.0, 1, "15", R["outliers"] + OUTLIER),
    ])
    pd.testing.assert_frame_equal(res.audit, expected)
    assert res.stats == {
        "rows_in_file": 21, "rows_after_period": 2, "rows_after_today": 1, "rows_in_period": 19,
        "revenue_in_period": 1223.0, "returns_matched": 2, "returns_unmatched": 1,
        "outlier_threshold": 17.42, "rows_out": 7, "revenue_out": 1062.5,
    }
    cleaning.check_reconciliation(res)


def test_the_clean_shop_table_keeps_real_purchases_with_the_partial_return_netted(shop):
    res = clean_shop(shop)
    expected = pd.DataFrame({
        "customer_id": pd.array(["1", "2", "7", "8", "8", "9", "1"], dtype="string"),
        "order_id": pd.array(["100", "102", "112", "113", "114", "115", "116"], dtype="string"),
        "order_date": pd.to_datetime(["2024-01-05", "2024-01-07", "2024-02-01", "2024-02-02",
                                      "2024-02-03", "2024-02-04", "2024-03-31"]).astype("datetime64[ns]"),
        "amount": [10.0, 10.5, 1000.0, 9.0, 11.0, 12.0, 10.0],
        "product_id": pd.array(["P1", "P2", "P6", "P7", "P7", "P8", "P1"], dtype="string"),
        "quantity": [2.0, 3.0, 1.0, 1.0, 1.0, 1.0, 2.0],
        "unit_price": [5.0, 3.5, 1000.0, 9.0, 11.0, 12.0, 5.0],
        "country": pd.array(["UK", "FR", "UK", "DE", "DE", "DE", "UK"], dtype="string"),
        "description": pd.array(["Mug", "Cup", "Jug", "Tea", "Tea", "Pot", "Mug"], dtype="string"),
        "source_row": np.array([2, 5, 15, 16, 17, 18, 19], dtype="int64"),
        "is_outlier": [False, False, True, False, False, False, False],
    })
    pd.testing.assert_frame_equal(res.data, expected, check_dtype=False)
    assert res.data.dtypes.astype(str).to_dict() == expected.dtypes.astype(str).to_dict()


def test_the_examples_show_the_source_rows_each_rule_touched(shop):
    res = clean_shop(shop)
    got = {k: v["source_row"].tolist() for k, v in res.examples.items()}
    assert got == {
        "missing_customer": [4], "duplicates": [3], "cancellations: matched returns": [6, 8],
        "cancellations: unmatched returns": [9], "nonpositive_price": [10, 11],
        "non_merchandise": [12, 13], "date_window": [14, 20], "outliers": [15],
    }
    assert all(list(v.index) == list(range(len(v))) for v in res.examples.values())
    assert list(res.examples["date_window"].columns) == list(res.data.columns)[:-1]
    assert "customer_id" in res.examples["duplicates"]


def test_the_reconciliation_runs_from_the_raw_lines_to_the_clean_table(shop):
    got = cleaning.reconcile(clean_shop(shop))
    expected = pd.DataFrame({
        "stage": ["raw lines up to the period end", "missing_customer", "duplicates",
                  "cancellations: matched returns", "cancellations: unmatched returns",
                  "nonpositive_price", "non_merchandise", "date_window", "clean table"],
        "rows (+/-)": [19, -1, -1, -3, -1, -2, -2, -2, 7],
        "revenue (+/-)": [1223.0, -3.5, -10.0, 0.0, 4.0, -100.0, -22.0, -29.0, 1062.5],
        "rows_changed": [0, 0, 0, 1, 0, 0, 0, 0, 1],
    })
    pd.testing.assert_frame_equal(got, expected)


def audit_rows(res, first_step=1):
    """Audit rows from ``first_step`` on, as tuples without the explanation."""
    a = res.audit[res.audit["step"] >= first_step].drop(columns="explanation")
    return [tuple(r) for r in a.itertuples(index=False)]


def share(effect_cents):
    return effect_cents / RAW_CENTS


BEFORE_OUTLIERS = [
    (1, "missing_customer", "remove", 1, 0, 3.5, 0.0, -3.5, share(-350), 0, "4"),
    (2, "duplicates", "remove", 1, 0, 10.0, 0.0, -10.0, share(-1000), 1, "3"),
    (3, "cancellations: matched returns", "net", 3, 1, -3.5, -3.5, 0.0, 0.0, 2, "6; 8; 7"),
    (3, "cancellations: unmatched returns", "remove", 1, 0, -4.0, 0.0, 4.0, share(400), 1, "9"),
    (4, "nonpositive_price", "remove", 2, 0, 100.0, 0.0, -100.0, share(-10000), 1, "10; 11"),
    (5, "non_merchandise", "remove", 2, 0, 22.0, 0.0, -22.0, share(-2200), 1, "12; 13"),
    (6, "date_window", "remove", 2, 0, 29.0, 0.0, -29.0, share(-2900), 2, "14; 20"),
]


def test_dropping_returns_removes_every_return_line_without_netting(shop):
    res = clean_shop(shop, {"cancellations": {"mode": "drop"}})
    assert audit_rows(res)[2] == (3, "cancellations: dropped", "remove", 3, 0, -15.5, 0.0, 15.5,
                                  share(1550), 3, "6; 8; 9")
    assert res.audit["explanation"].iloc[4] == "Return and cancellation lines are dropped without netting."
    assert res.examples["cancellations: dropped"]["source_row"].tolist() == [6, 8, 9]
    assert res.data["source_row"].tolist() == [2, 5, 7, 15, 16, 17, 18, 19]
    assert res.data["amount"].tolist() == [10.0, 14.0, 8.0, 1000.0, 9.0, 11.0, 12.0, 10.0]
    assert "returns_matched" not in res.stats and res.stats["outlier_threshold"] == 26.18
    assert res.stats["rows_out"] == 8 and res.stats["revenue_out"] == 1074.0
    cleaning.check_reconciliation(res)


def test_dropping_returns_without_quantities_uses_negative_amounts_and_the_invoice_prefix():
    tx = canonical([("1", "100", "2024-01-01", 10.0), ("1", "101", "2024-01-02", -4.0),
                    ("2", "X102", "2024-01-03", 6.0), ("2", "103", "2024-01-04", 5.0)])
    res = cleaning.clean_transactions(tx, {"cancellations": {"mode": "drop", "invoice_prefix": "X"}})
    assert res.data["order_id"].tolist() == ["100", "103"]
    assert audit_rows(res)[2][:4] == (3, "cancellations: dropped", "remove", 2)


def test_capping_outliers_sets_the_line_to_the_threshold_and_reports_the_change(shop):
    res = clean_shop(shop, {"outliers": {"action": "cap"}})
    assert audit_rows(res) == BEFORE_OUTLIERS + [
        (7, "outliers", "cap", 0, 1, 0.0, -982.58, -982.58, share(-98258), 1, "15")]
    assert res.data["amount"].tolist() == pytest.approx([10.0, 10.5, 17.424, 9.0, 11.0, 12.0, 10.0])
    assert "is_outlier" not in res.data
    assert res.stats["revenue_out"] == 79.92 and res.stats["rows_out"] == 7
    assert cleaning.reconcile(res)["revenue (+/-)"].tolist()[-2:] == [-982.58, 79.92]
    assert cleaning.reconcile(res)["rows_changed"].tolist()[-2:] == [1, 2]
    cleaning.check_reconciliation(res)


def test_dropping_outliers_removes_the_line(shop):
    res = clean_shop(shop, {"outliers": {"action": "drop"}})
    assert audit_rows(res) == BEFORE_OUTLIERS + [
        (7, "outliers", "remove", 1, 0, 1000.0, 0.0, -1000.0, share(-100000), 1, "15")]
    assert res.data["source_row"].tolist() == [2, 5, 16, 17, 18, 19]
    assert res.examples["outliers"]["source_row"].tolist() == [15]
    cleaning.check_reconciliation(res)


def test_keeping_zero_amount_lines_keeps_free_lines_but_not_bad_debt(shop):
    res = clean_shop(shop, {"nonpositive_price": {"keep_zero_amount": True}})
    assert audit_rows(res)[4] == (4, "nonpositive_price", "remove", 1, 0, 100.0, 0.0, -100.0,
                                  share(-10000), 1, "11")
    assert res.data["source_row"].tolist() == [2, 5, 10, 15, 16, 17, 18, 19]
    assert res.stats["outlier_threshold"] == 17.42  # the kept zero line has no log and is left out


def test_negative_prices_go_even_when_zero_amount_lines_are_kept():
    tx = canonical([("1", "1", "2024-01-01", 10.0), ("1", "2", "2024-01-02", -0.01),
                    ("2", "3", "2024-01-03", 0.0), ("3", "4", "2024-01-04", 5.0)])
    tx["unit_price"] = [10.0, -0.01, 0.0, 5.0]
    tx["quantity"] = [1.0, 1.0, 1.0, 1.0]
    kept = cleaning.clean_transactions(tx, {"nonpositive_price": {"keep_zero_amount": True}})
    assert kept.data["order_id"].tolist() == ["1", "3", "4"]
    dropped = cleaning.clean_transactions(tx)
    assert dropped.data["order_id"].tolist() == ["1", "4"]
    assert audit_rows(dropped)[4][:6] == (4, "nonpositive_price", "remove", 2, 0, -0.01)


def test_without_unit_prices_the_amount_decides_and_bad_debt_needs_a_description():
    tx = canonical([("1", "1", "2024-01-01", 10.0), ("1", "2", "2024-01-02", 0.0),
                    ("2", "3", "2024-01-03", 7.0)])
    res = cleaning.clean_transactions(tx, {"cancellations": {"enabled": False}})
    assert res.data["order_id"].tolist() == ["1", "3"]
    tx["description"] = pd.array(["Tea", "Tea", "ADJUST BAD DEBT"], dtype="string")
    res = cleaning.clean_transactions(tx, {"cancellations": {"enabled": False},
                                           "nonpositive_price": {"bad_debt_pattern": ""}})
    assert res.data["order_id"].tolist() == ["1", "3"]
    res = cleaning.clean_transactions(tx, {"cancellations": {"enabled": False}})
    assert res.data["order_id"].tolist() == ["1"]


def test_non_merchandise_matches_codes_in_any_case_and_trimmed_descriptions():
    tx = canonical([("1", "1", "2024-01-01", 10.0, "post", "Stamp"),
                    ("1", "2", "2024-01-02", 3.0, "P1", "  Postage "),
                    ("2", "3", "2024-01-03", 7.0, "P2", "Mug"),
                    ("2", "4", "2024-01-03", 8.0, pd.NA, pd.NA)],
                   ("customer_id", "order_id", "order_date", "amount", "product_id", "description"))
    res = cleaning.clean_transactions(tx)
    assert res.data["order_id"].tolist() == ["3", "4"]
    assert audit_rows(res)[5][:6] == (5, "non_merchandise", "remove", 2, 0, 13.0)
    only_codes = cleaning.clean_transactions(tx, {"non_merchandise": {"description_pattern": ""}})
    assert only_codes.data["order_id"].tolist() == ["2", "3", "4"]
    only_text = cleaning.clean_transactions(tx, {"non_merchandise": {"codes": []}})
    assert only_text.data["order_id"].tolist() == ["1", "3", "4"]


def test_every_rule_switched_off_leaves_the_period_lines_untouched(shop):
    off = {rule: {"enabled": False} for rule in cleaning.RULE_ORDER}
    res = clean_shop(shop, off)
    expected = [(i, rule, "disabled", 0, 0, 0.0, 0.0, 0.0, 0.0, 0, "")
                for i, rule in enumerate(cleaning.RULE_ORDER, start=1)]
    assert audit_rows(res) == expected
    assert (res.audit["explanation"].iloc[2:] == "Switched off in cleaning.rules.").all()
    assert res.examples == {}
    assert len(res.data) == 19 and "is_outlier" not in res.data
    assert res.stats == {"rows_in_file": 21, "rows_after_period": 2, "rows_after_today": 1,
                         "rows_in_period": 19, "revenue_in_period": 1223.0, "rows_out": 19,
                         "revenue_out": 1223.0}
    assert cleaning.reconcile(res)["stage"].tolist() == ["raw lines up to the period end", "clean table"]


def test_lines_without_an_order_id_are_never_duplicates(shop):
    res = clean_shop(shop, lines_identifiable=False)
    assert audit_rows(res)[1] == (2, "duplicates", "kept", 0, 0, 0.0, 0.0, 0.0, 0.0, 0, "")
    assert res.audit["explanation"].iloc[3] == (
        "The data has no order or line id, so two identical lines (same customer, day, quantity and "
        "amount) are two real purchases: no line was removed as a duplicate.")
    assert res.examples["duplicates"].empty and "customer_id" in res.examples["duplicates"]
    assert res.data["source_row"].tolist()[:2] == [2, 3]


def test_duplicates_ignore_the_source_row_but_not_other_columns():
    tx = canonical([("1", "1", "2024-01-01", 10.0), ("1", "1", "2024-01-01", 10.0),
                    ("1", "1", "2024-01-01", 10.5), ("1", "1", "2024-01-01", 10.0)])
    tx["source_row"] = [2, 3, 4, 5]
    res = cleaning.clean_transactions(tx)
    assert res.data["source_row"].tolist() == [2, 4]
    assert audit_rows(res)[1] == (2, "duplicates", "remove", 2, 0, 20.0, 0.0, -20.0, -2000 / 4050, 1,
                                  "3; 5")


def test_without_a_period_end_every_line_is_cleaned_and_none_is_set_aside(shop):
    res = cleaning.clean_transactions(shop.data, analysis_start="2024-01-01")
    assert res.stats["rows_after_period"] == 0 and res.stats["rows_after_today"] == 0
    assert res.stats["rows_in_period"] == 21 and res.stats["rows_out"] == 9
    assert res.audit["rows_changed"].iloc[:2].tolist() == [3, 1]  # the loader's flags, all lines
    assert res.data["source_row"].tolist()[-2:] == [21, 22]


def test_id_fixes_count_only_the_lines_of_the_period(shop):
    assert shop.id_fixes == {"customer_id_padded": 1, "customer_id_float_artefacts": 3}
    res = clean_shop(shop)
    assert res.audit["rows_changed"].iloc[:2].tolist() == [2, 1]
    early = clean_shop(shop, period_end="2024-01-31")
    assert early.audit["rule"].iloc[0] == "customer ids: float artefacts"
    assert early.audit["step"].iloc[1] == 1  # the padded id is on a February line


def test_the_period_end_counts_the_whole_day():
    tx = canonical([("1", "1", "2024-01-31 23:59", 1.0), ("1", "2", "2024-02-01", 2.0),
                    ("1", "3", "2024-02-02", 4.0)])
    res = cleaning.clean_transactions(tx, period_end=pd.Timestamp("2024-01-31 12:00"))
    assert res.data["order_id"].tolist() == ["1"]
    assert res.stats["rows_after_period"] == 2 and res.stats["revenue_in_period"] == 1.0


def test_a_period_before_the_data_is_refused():
    tx = canonical([("1", "1", "2024-02-01", 1.0)])
    with pytest.raises(InputError, match="period end 2024-01-31"):
        cleaning.clean_transactions(tx, period_end="2024-01-31")


@pytest.mark.parametrize("rule,rows,rules", [
    ("cancellations", [("1", "C1", "2024-01-01", -1.0)], {}),
    ("cancellations", [("1", "C1", "2024-01-01", -1.0)], {"cancellations": {"mode": "drop"}}),
    ("nonpositive_price", [("1", "1", "2024-01-01", 0.0)], {}),
    ("non_merchandise", [("1", "1", "2024-01-01", 1.0, "POST")], {}),
    ("date_window", [("1", "1", "2023-01-01", 1.0)], {}),
])
def test_a_rule_that_removes_every_line_is_named(rule, rows, rules):
    cols = ("customer_id", "order_id", "order_date", "amount", "product_id")[:len(rows[0])]
    with pytest.raises(InputError) as e:
        cleaning.clean_transactions(canonical(rows, cols), rules, analysis_start="2024-01-01")
    assert f"Cleaning rule '{rule}' removed the last remaining rows" in str(e.value)
    assert f"cleaning.rules.{rule}.enabled: false" in str(e.value)


@pytest.mark.parametrize("rules,words", [
    ({"cancellations": {"mode": "keep"}}, "cancellations.mode must be 'net' or 'drop', got 'keep'"),
    ({"outliers": {"action": "hide"}}, "outliers.action must be flag, cap or drop, got 'hide'"),
    ({"outliers": {"method": "zscore"}}, "outliers.method must be 'iqr_log', got 'zscore'"),
])
def test_unknown_rule_settings_are_refused(rules, words):
    with pytest.raises(ConfigError, match=words):
        cleaning.clean_transactions(canonical([("1", "1", "2024-01-01", 1.0)]), rules)


def test_with_k_zero_the_outlier_threshold_is_the_upper_quartile_of_log_amounts():
    tx = canonical([("1", "1", "2024-01-01", 1.0), ("2", "2", "2024-01-01", 3.0)])
    res = cleaning.clean_transactions(tx, {"outliers": {"k": 0.0}})
    assert res.stats["outlier_threshold"] == 2.28  # 3 ** 0.75
    assert res.data["is_outlier"].tolist() == [False, True]


def test_outliers_on_lines_without_positive_amounts_use_a_threshold_of_one():
    tx = canonical([("1", "1", "2024-01-01", 0.0), ("2", "2", "2024-01-01", 0.0)])
    res = cleaning.clean_transactions(tx, {"nonpositive_price": {"enabled": False}})
    assert res.stats["outlier_threshold"] == 1.0
    assert res.data["is_outlier"].tolist() == [False, False]


def test_a_reconciliation_keeps_rules_that_removed_zero_value_lines():
    tx = canonical([("1", "1", "2024-01-01", 10.0), ("2", "2", "2024-01-02", 0.0),
                    ("3", "3", "2024-01-03", 5.0)])
    got = cleaning.reconcile(cleaning.clean_transactions(tx))
    assert got["stage"].tolist() == ["raw lines up to the period end", "nonpositive_price", "clean table"]
    assert got["rows (+/-)"].tolist() == [3, -1, 2] and got["revenue (+/-)"].tolist() == [15.0, 0.0, 15.0]


# ------------------------------------------------------------------ loading exports


def test_the_shop_export_loads_into_the_canonical_table_with_row_numbers_and_id_flags(shop):
    d = shop.data
    assert list(d.columns) == ["customer_id", "order_id", "order_date", "amount", "product_id",
                               "quantity", "unit_price", "country", "description", "source_row",
                               cleaning.ID_FIX_COLUMN]
    assert d["customer_id"].tolist()[:7] == ["1", "1", pd.NA, "2", "2", "3", "3"]
    assert d["customer_id"].tolist()[14:] == ["8", "8", "9", "1", "8", "9", "9"]
    assert d[cleaning.ID_FIX_COLUMN].tolist() == [0] * 5 + [1, 1] + [0] * 7 + [2] + [0] * 4 + [1, 0]
    assert d["source_row"].tolist() == list(range(2, 23))
    assert d["amount"].tolist()[:9] == [10.0, 10.0, 3.5, 14.0, -3.5, 8.0, -8.0, -4.0, 0.0]
    assert d["order_date"].iloc[18] is pd.NaT and d["order_date"].iloc[0] == pd.Timestamp("2024-01-05")
    assert str(d["order_date"].dtype) == "datetime64[ns]"
    assert d["description"].iloc[9] == "Adjust bad debt"
    assert shop.mapping == {c: c for c in ("customer_id", "order_id", "order_date", "product_id",
                                           "quantity", "unit_price", "country", "description")}
    assert shop.source_columns == ["customer_id", "order_id", "order_date", "product_id",
                                   "description", "quantity", "unit_price", "country"]
    assert (shop.encoding, shop.preset, shop.date_format, shop.lines_identifiable) == (
        "utf-8", "generic", "ISO8601", True)


def test_an_export_without_id_fixes_flags_no_line(tmp_path):
    r = cleaning.load_transactions(write(tmp_path, HEADER + "1,a,2024-01-01,5\n2,b,2024-01-02,6.5\n"))
    assert list(r.data.columns) == ["customer_id", "order_id", "order_date", "amount", "source_row",
                                    cleaning.ID_FIX_COLUMN]
    assert r.data[cleaning.ID_FIX_COLUMN].tolist() == [0, 0]
    assert r.id_fixes == {"customer_id_padded": 0, "customer_id_float_artefacts": 0}
    assert r.data["amount"].tolist() == [5.0, 6.5]


def test_the_online_retail_preset_maps_its_columns_and_multiplies_quantity_by_price(tmp_path):
    text = ("Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
            "489434,85048, LED lights ,12,01/12/2009 07:45,6.95,13085.0,United Kingdom\n"
            "489435,22350,CAT BOWL,2,13/12/2009 09:06,2.10,13085.0,United Kingdom\n")
    r = cleaning.load_transactions(write(tmp_path, text), preset="online_retail")
    assert r.mapping == {"customer_id": "Customer ID", "order_id": "Invoice", "order_date": "InvoiceDate",
                         "product_id": "StockCode", "quantity": "Quantity", "unit_price": "Price",
                         "country": "Country", "description": "Description"}
    assert r.date_format == "%d/%m/%Y %H:%M"
    assert r.data["order_date"].tolist() == [pd.Timestamp("2009-12-01 07:45"), pd.Timestamp("2009-12-13 09:06")]
    assert r.data["amount"].tolist() == pytest.approx([83.4, 4.2])
    assert r.data["customer_id"].tolist() == ["13085", "13085"]
    assert r.data["description"].tolist() == ["LED lights", "CAT BOWL"]
    assert r.id_fixes == {"customer_id_padded": 0, "customer_id_float_artefacts": 2}


def test_the_cdnow_preset_reads_whitespace_columns_and_makes_one_order_per_customer_day(tmp_path):
    text = "00001   19970101  1  11.77\n00002 19970112 5   77.00\n00001 19970101 2 20.76\n"
    p = write(tmp_path, "customer_id date number_of_cds dollar_value\n" + text, "cd.txt")
    r = cleaning.load_transactions(p, preset="cdnow")
    assert r.data["order_id"].tolist() == ["00001-19970101", "00002-19970112", "00001-19970101"]
    assert r.data["amount"].tolist() == [11.77, 77.0, 20.76]
    assert r.data["quantity"].tolist() == [1.0, 5.0, 2.0]
    assert r.date_format == "%Y%m%d" and r.lines_identifiable is False
    assert r.mapping == {"customer_id": "customer_id", "order_date": "date", "amount": "dollar_value",
                         "quantity": "number_of_cds"}
    res = cleaning.clean_transactions(r.data, lines_identifiable=r.lines_identifiable)
    assert res.audit.set_index("rule").loc["duplicates", "action"] == "kept"


def test_a_column_mapping_overrides_the_preset(tmp_path):
    text = "customer_id,client,order_id,order_date,amount\nx,7,a,2024-01-01,5\n"
    r = cleaning.load_transactions(write(tmp_path, text), column_mapping={"client": "customer_id"})
    assert r.data["customer_id"].tolist() == ["7"]
    assert r.mapping["customer_id"] == "client" and list(r.mapping)[0] == "customer_id"


def test_a_column_mapping_to_a_source_column_not_in_the_file_is_named(tmp_path):
    p = write(tmp_path, HEADER + "1,a,2024-01-01,5\n")
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(p, column_mapping={"Client": "customer_id", "amount": "amount"})
    assert "source column(s) ['Client'] that are not in the file" in str(e.value)
    assert "['customer_id', 'order_id', 'order_date', 'amount']" in str(e.value)
    with pytest.raises(ConfigError, match="maps 'amount' to unknown column 'revenue'"):
        cleaning.load_transactions(p, column_mapping={"amount": "revenue"})


def test_a_missing_amount_is_fine_when_quantity_and_price_are_there_but_not_otherwise(tmp_path):
    ok = cleaning.load_transactions(write(tmp_path, "customer_id,order_id,order_date,quantity,unit_price\n"
                                                    "1,a,2024-01-01,3,2.5\n"))
    assert ok.data["amount"].tolist() == [7.5]
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(write(tmp_path, "customer_id,order_id,order_date,quantity\n"
                                                   "1,a,2024-01-01,3\n", "q.csv"))
    assert "required column(s) ['amount'] not found" in str(e.value)
    assert "customer_id <- customer_id, order_id <- order_id, order_date <- order_date, " \
           "quantity <- quantity." in str(e.value)
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(write(tmp_path, "a,b\n1,2\n", "n.csv"))
    assert "Mapping in use (preset 'generic'): (nothing matched)." in str(e.value)
    assert "['customer_id', 'order_id', 'order_date', 'amount']" in str(e.value)


def test_a_cdnow_file_without_a_customer_column_still_needs_one(tmp_path):
    p = write(tmp_path, "date number_of_cds dollar_value\n19970101 1 11.77\n", "cd.txt")
    with pytest.raises(InputError, match=r"required column\(s\) \['customer_id'\] not found"):
        cleaning.load_transactions(p, preset="cdnow")


def test_encodings_are_tried_in_order_and_an_explicit_one_is_kept(tmp_path):
    p = tmp_path / "w.csv"
    p.write_bytes((HEADER + "1,a,2024-01-01,5\n").encode() + b"2,b,2024-01-02,6\n"
                  + b"3,\x80x,2024-01-03,7\n")
    r = cleaning.load_transactions(p)
    assert r.encoding == "cp1252" and r.data["order_id"].tolist() == ["a", "b", "\u20acx"]
    assert cleaning.load_transactions(p, encoding="latin-1").data["order_id"].iloc[2] == "\x80x"
    with pytest.raises(InputError, match=r"could not decode with encodings \['utf-8'\]: line 4 is not valid utf-8 "
                                         r"\('utf-8' codec can't decode"):
        cleaning.load_transactions(p, encoding="utf-8")


def test_a_configured_delimiter_is_used(tmp_path):
    p = write(tmp_path, "customer_id;order_id;order_date;amount\n1;a;2024-01-01;5,5\n")
    r = cleaning.load_transactions(p, delimiter=";")
    assert r.data["amount"].tolist() == [5.5] and r.data["order_id"].tolist() == ["a"]


def test_a_configured_number_convention_reads_thousands_and_decimal_commas(tmp_path):
    p = write(tmp_path, HEADER + '1,a,2024-01-01,"1.234,50"\n2,b,2024-01-02,"7,25"\n')
    r = cleaning.load_transactions(write(tmp_path, HEADER + '1,a,2024-01-01,"1234,50"\n', "d.csv"),
                                   conventions=ValueConventions(decimal=","))
    assert r.data["amount"].tolist() == [1234.5]
    assert r.number_format.describe() == "decimal ',', thousands none (set in the config)"
    r2 = cleaning.load_transactions(p, conventions=ValueConventions(thousands="."))
    assert r2.data["amount"].tolist() == [1234.5, 7.25] and r2.number_format.decimal == ","
    r3 = cleaning.load_transactions(write(tmp_path, HEADER + '1,a,2024-01-01,"1,234.5"\n', "e.csv"),
                                    conventions=ValueConventions(thousands=","))
    assert r3.data["amount"].tolist() == [1234.5] and r3.number_format.decimal == "."


@pytest.mark.parametrize("dates,fmt,first", [
    (["13/01/2024", "02/03/2024"], "%d/%m/%Y", "2024-01-13"),
    (["01/13/2024", "03/02/2024"], "%m/%d/%Y", "2024-01-13"),
    (["13.01.24", "02.03.24"], "%d.%m.%y", "2024-01-13"),
    (["13-01-2024 08:30:15", "02-03-2024 09:00:00"], "%d-%m-%Y %H:%M:%S", "2024-01-13 08:30:15"),
    (["20240113", "20240302"], "%Y%m%d", "2024-01-13"),
    (["2024-01-13T08:30", "2024-03-02"], "ISO8601", "2024-01-13 08:30"),
    (["45304", "45353.5"], "Excel serial days", "2024-01-13"),
    (["13/01/2024", ""], "%d/%m/%Y", "2024-01-13"),
])
def test_date_formats_are_inferred(tmp_path, dates, fmt, first):
    p = write(tmp_path, HEADER + f"1,a,{dates[0]},5\n2,b,{dates[1]},6\n3,c,,7\n")
    r = cleaning.load_transactions(p)
    assert r.date_format == fmt
    assert r.data["order_date"].iloc[0] == pd.Timestamp(first) and r.data["order_date"].iloc[2] is pd.NaT


def test_an_explicit_date_format_wins_over_excel_serial_days(tmp_path):
    p = write(tmp_path, HEADER + "1,a,20240113,5\n")
    assert cleaning.load_transactions(p, conventions=ValueConventions(date_format="%Y%m%d")).date_format == "%Y%m%d"
    q = write(tmp_path, HEADER + "1,a,45304,5\n", "s.csv")
    with pytest.raises(InputError, match=r"1 value\(s\) in column 'order_date' are not dates in format "
                                         r"'%Y%m%d': '45304' \(row 2\)"):
        cleaning.load_transactions(q, conventions=ValueConventions(date_format="%Y%m%d"))


@pytest.mark.parametrize("dates,words", [
    (["13/01/2024", "01/13/2024"], "ambiguous (both orders occur)"),
    (["12/02/2024", "03/12/2024"], "ambiguous (no day is above 12)"),
    (["13/01/2024", "5"], "cannot infer the date format of column 'order_date' (e.g. '5' (row 3))"),
    (["13/01/2024T08:30", "14/01/2024"], "are not dates in format '%d/%m/%Y %H:%M'"),
    (["", ""], "column 'order_date' has no dates"),
    (["Jan 5 2024", "13/01/2024"],
     "cannot infer the date format of column 'order_date' (e.g. 'Jan 5 2024' (row 2))"),
    (["2024-01-05", "13/01/2024"], "mixes ISO dates (1 rows, e.g. '2024-01-05' (row 2)) and other forms "
                                   "(e.g. '13/01/2024' (row 3))"),
    (["13/01/2024", "order_date"], "the header line repeats inside the file ('order_date' (row 3))"),
])
def test_dates_that_cannot_be_read_unambiguously_are_refused(tmp_path, dates, words):
    p = write(tmp_path, HEADER + f"1,a,{dates[0]},5\n2,b,{dates[1]},6\n")
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(p)
    assert words in str(e.value) and str(p) in str(e.value)


def test_unreadable_values_are_counted_with_the_first_three_rows(tmp_path):
    rows = "".join(f"{i},o{i},2024-01-0{i},{'x' if i > 1 else 5}\n" for i in range(1, 7))
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(write(tmp_path, HEADER + rows))
    assert "5 value(s) in column 'amount'" in str(e.value) and "(row 6)" not in str(e.value)
    assert "'x' (row 3), 'x' (row 4), 'x' (row 5)." in str(e.value)


def test_parquet_rows_are_numbered_from_one_and_dates_are_native(tmp_path):
    df = pd.DataFrame({"customer_id": ["1", "2"], "order_id": ["a", "b"],
                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"]), "amount": [1.0, 2.5]})
    df.index = pd.Index([10, 11])  # an index saved with the file does not shift the row numbers
    df.to_parquet(tmp_path / "t.parquet")
    r = cleaning.load_transactions(tmp_path / "t.parquet")
    assert r.data["source_row"].tolist() == [1, 2] and r.date_format == "native"
    assert r.encoding is None and r.data["amount"].tolist() == [1.0, 2.5]
    assert r.describe().startswith("Read 2 rows from t.parquet (binary format, preset 'generic', dates 'native').")
    same = cleaning.load_transactions(tmp_path / "t.parquet", file_format="parquet")
    pd.testing.assert_frame_equal(same.data, r.data)


def test_bad_paths_and_formats_are_refused(tmp_path):
    with pytest.raises(InputError, match="Input file not found"):
        cleaning.load_transactions(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a folder"):
        cleaning.load_transactions(tmp_path)
    p = write(tmp_path, HEADER + "1,a,2024-01-01,5\n")
    with pytest.raises(ConfigError, match="file_format must be csv, parquet or excel, got 'json'"):
        cleaning.load_transactions(p, file_format="json")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        cleaning.load_transactions(p, file_format="parquet")
    with pytest.raises(InputError, match="not a readable Excel file"):
        cleaning.load_transactions(p, file_format="excel")
    with pytest.raises(InputError, match=r"the file is empty \(0 bytes\)"):
        cleaning.load_transactions(write(tmp_path, "", "e.csv"))
    with pytest.raises(InputError, match="header but no data rows"):
        cleaning.load_transactions(write(tmp_path, HEADER, "h.csv"))
    with pytest.raises(InputError, match=r"the file is empty \(no header, no rows\)"):
        cleaning.load_transactions(write(tmp_path, "\n\n", "b.csv"))


def test_a_csv_named_like_excel_can_be_read_as_csv(tmp_path):
    p = write(tmp_path, HEADER + "1,a,2024-01-01,5\n", "t.xls")
    with pytest.raises(InputError, match="not a readable Excel file"):
        cleaning.load_transactions(p)
    assert cleaning.load_transactions(p, file_format="csv").data["amount"].tolist() == [5.0]


def test_ids_mixing_numbers_and_text_are_refused_with_examples(tmp_path):
    df = pd.DataFrame({"customer_id": [1, "A", 2, "B", 3, "C", 4, "D", "E"], "order_id": list("abcdefghi"),
                       "order_date": ["2024-01-01"] * 9, "amount": [1.0] * 9})
    df.to_excel(tmp_path / "m.xlsx", index=False)
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(tmp_path / "m.xlsx")
    assert "Column 'customer_id' mixes numbers (4 rows) and text (5 rows), e.g. [1, 2, 3]." in str(e.value)


def test_normalised_ids_strip_spaces_float_zeros_and_empty_strings():
    ids, fixes = cleaning.normalise_ids(pd.Series([" 12346.0", "12347", "", "1.50", "7.00", "A.0", None]))
    assert ids.tolist() == ["12346", "12347", pd.NA, "1.50", "7", "A.0", pd.NA]
    assert fixes == {"padded": 1, "float_artefacts": 2}
    ids, fixes = cleaning.normalise_ids(pd.Series(["5", "6"]))
    assert ids.tolist() == ["5", "6"] and fixes == {"padded": 0, "float_artefacts": 0}


# ------------------------------------------------------------------ netting returns


def returns_table():
    rows = [
        ("1", "o1", "2024-01-01", 6.666, "P", 2.0, 3.333),
        ("1", "o2", "2024-01-02", 5.0, "P", 1.0, 5.0),
        ("1", "o3", "2024-01-03", 0.0, "P", 3.0, 0.0),     # free: never netted
        ("1", "C4", "2024-01-03", -10.0, "P", -2.0, 5.0),  # takes o2, then one unit of o1
        ("1", "o5", "2024-01-04", 2.0, "Q", 2.0, 1.0),
        ("1", "C6", "2024-01-04", -1.0, "Q", -1.0, 1.0),   # same day as its purchase
        ("2", "o7", "2024-01-05", 0.5, "P", 1.0, 0.5),
        ("2", "C8", "2024-01-06", 0.5, "P", 1.0, 0.5),     # a return by its invoice prefix only
        ("3", None, "2024-01-06", 2.0, "P", 1.0, 2.0),     # no order id: a purchase
        ("3", "C9", "2024-01-05", -2.0, "P", -1.0, 2.0),   # before any purchase: unmatched
    ]
    return canonical(rows, ("customer_id", "order_id", "order_date", "amount", "product_id",
                            "quantity", "unit_price"))


def test_returns_are_netted_last_in_first_out_against_paid_purchases_of_the_same_product():
    tx = returns_table()
    out, d = cleaning.net_returns(tx)
    assert out["source_row"].tolist() == [2, 4, 6, 10]
    assert out["quantity"].tolist() == [1.0, 3.0, 1.0, 1.0]
    assert out["amount"].tolist() == [3.33, 0.0, 1.0, 2.0]
    assert d["matched"]["source_row"].tolist() == [5, 7, 9]
    assert d["unmatched"]["source_row"].tolist() == [11]
    assert d["reduced"]["source_row"].tolist() == [2, 6]
    assert d["reduced"]["amount"].tolist() == [6.666, 2.0]
    assert d["reduced_after"].tolist() == [3.33, 1.0]
    assert d["zeroed"]["source_row"].tolist() == [3, 8]
    assert d["revenue_netted"] == 3.34 + 5.0 + 1.0 + 0.5


def test_without_an_invoice_prefix_only_negative_quantities_are_returns():
    out, d = cleaning.net_returns(returns_table(), invoice_prefix="")
    assert d["matched"]["source_row"].tolist() == [5, 7]
    assert 9 in out["source_row"].tolist()


def test_a_return_spanning_many_lines_is_netted_against_all_of_them_and_the_rest_is_unmatched():
    rows = [("1", f"o{i}", f"2024-01-{i:02d}", 2.0, "P", 1.0, 2.0) for i in range(1, 12)]
    rows.append(("1", "C12", "2024-01-12", -20.0, "P", -10.0, 2.0))
    cols = ("customer_id", "order_id", "order_date", "amount", "product_id", "quantity", "unit_price")
    out, d = cleaning.net_returns(canonical(rows, cols))
    assert out["order_id"].tolist() == ["o1"]
    assert d["zeroed"]["order_id"].tolist() == [f"o{i}" for i in range(2, 12)]
    assert d["revenue_netted"] == 20.0 and len(d["matched"]) == 1
    rows[-1] = ("1", "C12", "2024-01-12", -24.0, "P", -12.0, 2.0)  # one unit more than was ever bought
    out, d = cleaning.net_returns(canonical(rows, cols))
    assert out.empty and d["revenue_netted"] == 22.0 and len(d["matched"]) == 1 and d["unmatched"].empty


def test_without_quantities_the_amounts_are_netted_to_the_cent_across_customers_products():
    tx = canonical([("1", "o1", "2024-01-01", 10.0), ("1", "o2", "2024-01-02", 0.5),
                    ("1", "o3", "2024-01-03", -0.75), ("2", "o4", "2024-01-01", 3.0)])
    out, d = cleaning.net_returns(tx)
    assert out["amount"].tolist() == [9.75, 3.0] and out["order_id"].tolist() == ["o1", "o4"]
    assert d["zeroed"]["order_id"].tolist() == ["o2"] and d["reduced_after"].tolist() == [9.75]
    assert d["revenue_netted"] == 0.75 and d["matched"]["amount"].tolist() == [-0.75]


def test_lines_all_of_the_same_amount_are_not_outliers():
    res = cleaning.clean_transactions(canonical([(str(i), str(i), "2024-01-01", 4.0) for i in range(3)]))
    assert res.stats["outlier_threshold"] == 4.0 and not res.data["is_outlier"].any()


def test_lines_dated_from_tomorrow_on_are_counted_as_probable_typos():
    tomorrow = pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
    tx = canonical([("1", "1", "2024-01-01", 1.0), ("1", "2", "2024-01-02", 1.0),
                    ("1", "3", "2024-01-03", 1.0)])
    tx["order_date"] = [pd.Timestamp("2024-01-01"), tomorrow - pd.Timedelta(minutes=1), tomorrow]
    res = cleaning.clean_transactions(tx, period_end="2024-01-31")
    assert res.stats["rows_after_period"] == 2 and res.stats["rows_after_today"] == 1


def test_the_audit_shows_three_example_rows_and_keeps_five_examples():
    rows = [("1", str(i), "2024-01-01", 2.0, "POST") for i in range(6)] + [("2", "9", "2024-01-02", 5.0, "P")]
    res = cleaning.clean_transactions(canonical(rows, ("customer_id", "order_id", "order_date", "amount",
                                                       "product_id")))
    assert audit_rows(res)[5] == (5, "non_merchandise", "remove", 6, 0, 12.0, 0.0, -12.0, -1200 / 1700, 1,
                                  "2; 3; 4")
    ex = res.examples["non_merchandise"]
    assert ex["source_row"].tolist() == [2, 3, 4, 5, 6] and ex.index.tolist() == [0, 1, 2, 3, 4]


def test_the_reconciliation_check_stops_on_a_lost_line_or_cent(shop):
    res = clean_shop(shop)
    res.data = res.data.iloc[1:]
    with pytest.raises(AssertionError) as e:
        cleaning.check_reconciliation(res)
    assert e.value.args[0] == (7, 6)
    res = clean_shop(shop)
    res.data.loc[0, "amount"] += 0.01
    with pytest.raises(AssertionError) as e:
        cleaning.check_reconciliation(res)
    assert e.value.args[0] == (106_250, 106_251)
    res = clean_shop(shop)
    res.stats["rows_out"] = 8
    with pytest.raises(AssertionError):
        cleaning.check_reconciliation(res)


def test_non_ascii_column_names_of_a_windows_export_are_not_mistaken_for_duplicates(tmp_path):
    p = tmp_path / "w.csv"
    p.write_bytes("customer_id,order_id,order_date,amount,Größe,Grüße\n1,a,2024-01-01,5,x,y\n".encode("cp1252"))
    r = cleaning.load_transactions(p)
    assert r.source_columns[-2:] == ["Größe", "Grüße"] and r.encoding == "cp1252"


def test_a_column_named_twice_is_refused(tmp_path):
    p = write(tmp_path, "customer_id,order_id,order_date,amount,amount\n1,a,2024-01-01,5,6\n")
    with pytest.raises(InputError, match=r"duplicate column names \['amount'\]"):
        cleaning.load_transactions(p)


def test_duplicate_names_on_a_sheet_not_read_do_not_matter(tmp_path):
    p = tmp_path / "d.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame([[1, 2]], columns=["x", "x"]).to_excel(w, sheet_name="Notes", index=False)
        pd.DataFrame({"customer_id": ["1"], "order_id": ["a"], "order_date": ["2024-01-01"],
                      "amount": [5.0]}).to_excel(w, sheet_name="Orders", index=False)
    assert cleaning.load_transactions(p, sheet="Orders").data["amount"].tolist() == [5.0]
    with pytest.raises(InputError, match=r"duplicate column names \['x'\]"):
        cleaning.load_transactions(p)


def test_the_cdnow_preset_insists_on_its_date_format(tmp_path):
    p = write(tmp_path, "customer_id date number_of_cds dollar_value\n1 1997-01-01 1 11.77\n", "cd.txt")
    with pytest.raises(InputError, match="not dates in format '%Y%m%d': '1997-01-01' \\(row 2\\)"):
        cleaning.load_transactions(p, preset="cdnow")


def test_quantity_and_price_alone_still_need_the_other_columns(tmp_path):
    p = write(tmp_path, "quantity,unit_price\n1,2\n")
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(p)
    assert "required column(s) ['customer_id', 'order_id', 'order_date'] not found" in str(e.value)


def test_dates_the_format_cannot_be_inferred_from_show_three_examples(tmp_path):
    rows = "".join(f"{i},o{i},day {i},5\n" for i in range(1, 6))
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(write(tmp_path, HEADER + rows))
    assert "(e.g. 'day 1' (row 2), 'day 2' (row 3), 'day 3' (row 4))" in str(e.value)


def test_a_utf16_export_loads_only_with_its_encoding_configured(tmp_path):
    p = tmp_path / "u.csv"
    p.write_bytes((HEADER + "1,a,2024-01-01,5\n").encode("utf-16"))
    assert cleaning.load_transactions(p, encoding="utf-16").data["amount"].tolist() == [5.0]
    with pytest.raises(InputError):
        cleaning.load_transactions(p)


def test_a_semicolon_export_without_the_delimiter_set_is_refused_with_the_fix(tmp_path):
    p = write(tmp_path, "customer_id;order_id;order_date;amount\n1;a;2024-01-01;5\n")
    with pytest.raises(InputError, match="the header has no ',' delimiter but 3 ';' delimiter") as e:
        cleaning.load_transactions(p)
    assert str(e.value).startswith(f"{p}: ")
    q = write(tmp_path, "customer_id;order_id;order_date;amount;amount\n1;a;2024-01-01;5;6\n", "d.csv")
    with pytest.raises(InputError, match=r"duplicate column names \['amount'\]"):
        cleaning.load_transactions(q, delimiter=";")


def test_text_such_as_na_is_kept_as_a_value_not_read_as_missing(tmp_path):
    text = "customer_id,order_id,order_date,amount,country\nNA,a,2024-01-01,5,NA\n2,,2024-01-02,6,\n"
    r = cleaning.load_transactions(write(tmp_path, text))
    assert r.data["customer_id"].tolist() == ["NA", "2"] and r.data["country"].tolist() == ["NA", ""]
    assert r.data["order_id"].tolist() == ["a", pd.NA]


def test_cents_round_each_line_half_away_from_zero_and_count_missing_as_zero():
    got = cleaning.cents(pd.Series([0.125, -0.125, 19.99, np.nan, 0.0], index=[5, 6, 7, 8, 9]))
    pd.testing.assert_series_equal(got, pd.Series([13, -13, 1999, 0, 0], index=[5, 6, 7, 8, 9], dtype="int64"))
    tx = canonical([("A", "o1", "2024-01-01", 1.0), ("B", "o2", "2024-01-02", np.nan)])
    assert cleaning.summarise(tx)["revenue"] == 1.0


def test_the_last_complete_month_is_judged_as_of_the_given_day():
    d = pd.Series(pd.to_datetime(["2025-11-30", "2025-12-31"]))
    assert str(cleaning.last_complete_month(d, pd.Timestamp("2025-12-15"))) == "2025-11"
    assert str(cleaning.last_complete_month(d, pd.Timestamp("2025-12-30 18:00"))) == "2025-11"
    assert str(cleaning.last_complete_month(d, pd.Timestamp("2025-12-31"))) == "2025-12"
    d2 = pd.Series(pd.to_datetime(["2025-10-15", "2025-12-30", None]))
    assert str(cleaning.last_complete_month(d2, pd.Timestamp("2026-06-01"))) == "2025-11"
    with pytest.raises(InputError, match="No transaction dates on or before today"):
        cleaning.last_complete_month(d, pd.Timestamp("2025-11-29"))


def test_an_id_column_mixing_types_is_named_id_when_no_name_is_given():
    with pytest.raises(InputError, match=r"Column 'id' mixes numbers \(1 rows\) and text \(2 rows\), e\.g\. \[7\]"):
        cleaning.normalise_ids(pd.Series([7, "a", "b"], dtype=object))
    ids, fixes = cleaning.normalise_ids(pd.Series([7, 8], dtype=object))
    assert ids.tolist() == ["7", "8"] and fixes == {"padded": 0, "float_artefacts": 0}


def test_lines_without_a_product_code_are_netted_against_each_other():
    tx = canonical([("1", "o1", "2024-01-01", 10.0, None, 2.0, 5.0),
                    ("1", "C2", "2024-01-02", -5.0, None, -1.0, 5.0)],
                   ("customer_id", "order_id", "order_date", "amount", "product_id", "quantity", "unit_price"))
    out, d = cleaning.net_returns(tx)
    assert out["amount"].tolist() == [5.0] and len(d["matched"]) == 1 and d["unmatched"].empty


def test_unreadable_dates_are_counted_with_the_first_three_rows(tmp_path):
    rows = "".join(f"{i},o{i},{'2024-01-01' if i == 1 else '2024-13-45'},5\n" for i in range(1, 7))
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(write(tmp_path, HEADER + rows))
    assert str(e.value).endswith(": 5 value(s) in column 'order_date' are not dates in format 'ISO8601': "
                                 "'2024-13-45' (row 3), '2024-13-45' (row 4), '2024-13-45' (row 5).")

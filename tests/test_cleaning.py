"""Loading and cleaning: the audit reports exactly the defects the generator injected."""

from __future__ import annotations

import pandas as pd
import pytest

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.io.reading import ValueConventions
from customer_analytics.models import cleaning


def audit_row(result, rule):
    return result.audit.set_index("rule").loc[rule]


# ------------------------------------------------------------ the generator's recorded truth


def test_loader_detects_the_windows_1252_export_and_keeps_pound_signs(loaded_sample, sample):
    assert loaded_sample.encoding == "cp1252"
    n_non_ascii = int(loaded_sample.data["description"].map(lambda s: not s.isascii()).sum())
    assert n_non_ascii == sample.truth["defects"]["latin1_lines"]
    assert loaded_sample.data["description"].str.contains("£").any()


def test_ids_are_normalised(loaded_sample, sample):
    d = sample.truth["defects"]
    assert loaded_sample.id_fixes["customer_id_float_artefacts"] == d["float_artefact_ids"]
    assert loaded_sample.id_fixes["customer_id_padded"] == d["padded_ids"]
    ids = loaded_sample.data["customer_id"].dropna()
    assert ids.str.fullmatch(r"\d+").all()


@pytest.mark.parametrize("rule,truth_key", [
    ("missing_customer", "missing_customer_lines"),
    ("duplicates", "duplicate_lines"),
    ("cancellations: unmatched returns", "cancellations_unmatched"),
    ("non_merchandise", "non_merchandise_lines"),
])
def test_audit_counts_match_the_injected_defects(cleaned_sample, sample, rule, truth_key):
    assert audit_row(cleaned_sample, rule)["rows_removed"] == sample.truth["defects"][truth_key]


def test_matched_returns_remove_the_return_lines_and_the_purchases_netted_to_zero(cleaned_sample, sample):
    row = audit_row(cleaned_sample, "cancellations: matched returns")
    assert cleaned_sample.stats["returns_matched"] == sample.truth["defects"]["cancellations_matched"]
    assert row["rows_removed"] > cleaned_sample.stats["returns_matched"]  # + purchases netted to zero
    assert row["rows_changed"] > 0                                        # purchases reduced, kept


def test_typo_dates_after_the_period_end_never_enter_the_report(cleaned_sample, sample):
    assert cleaned_sample.stats["rows_after_period"] == sample.truth["defects"]["future_lines"]
    assert cleaned_sample.stats["rows_after_today"] == sample.truth["defects"]["future_lines"]
    assert cleaned_sample.data["order_date"].max() <= pd.Timestamp("2025-12-31 23:59:59")


def test_audit_records_the_id_fixes_made_while_loading_on_the_periods_lines(loaded_sample, cleaned_sample, sample):
    d = sample.truth["defects"]
    fix = loaded_sample.data.loc[loaded_sample.data["order_date"] < "2026-01-01", cleaning.ID_FIX_COLUMN]
    float_in_period, padded_in_period = int((fix & 1).astype(bool).sum()), int((fix & 2).astype(bool).sum())
    assert d["float_artefact_ids"] - d["future_lines"] <= float_in_period <= d["float_artefact_ids"]
    assert audit_row(cleaned_sample, "customer ids: float artefacts")["rows_changed"] == float_in_period
    assert audit_row(cleaned_sample, "customer ids: padded")["rows_changed"] == padded_in_period == d["padded_ids"]
    assert audit_row(cleaned_sample, "customer ids: padded")["step"] == 0


def test_zero_prices_and_bad_debt_are_counted_together(cleaned_sample, sample):
    d = sample.truth["defects"]
    assert audit_row(cleaned_sample, "nonpositive_price")["rows_removed"] == d["zero_price_lines"] + d["bad_debt_lines"]


def test_netting_removes_the_huge_cancelled_order_from_that_customer(loaded_sample, cleaned_sample, sample):
    h = sample.truth["huge_order"]
    raw = loaded_sample.data[(loaded_sample.data["customer_id"] == h["customer_id"]) & (loaded_sample.data["product_id"] == h["stock_code"])]
    assert raw["quantity"].tolist() == [h["quantity"], -h["quantity"]]
    kept = cleaned_sample.data[cleaned_sample.data["customer_id"] == h["customer_id"]]
    assert h["stock_code"] not in set(kept["product_id"])
    assert kept["amount"].max() < 1000  # no 83,200 line inflating monetary value


def test_dropping_returns_instead_leaves_the_purchase_in(loaded_sample, sample):
    h = sample.truth["huge_order"]
    r = cleaning.clean_transactions(loaded_sample.data, {"cancellations": {"mode": "drop"}}, period_end="2025-12-31")
    kept = r.data[r.data["customer_id"] == h["customer_id"]]
    assert h["stock_code"] in set(kept["product_id"])  # why netting is the default


def test_audit_has_a_row_per_rule_with_examples(cleaned_sample):
    a = cleaned_sample.audit
    assert list(a.columns) == cleaning.AUDIT_COLUMNS
    assert a["step"].is_monotonic_increasing
    assert (a.loc[a["rows_removed"] > 0, "example_rows"] != "").all()
    assert a["explanation"].str.len().gt(20).all()


def test_partial_return_reduces_the_purchase_line():
    tx = pd.DataFrame({
        "customer_id": ["1", "1", "1"], "order_id": ["A1", "A2", "C9"], "product_id": ["p", "p", "p"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-06"]),
        "quantity": [10.0, 4.0, -6.0], "unit_price": [2.0, 2.0, 2.0], "amount": [20.0, 8.0, -12.0],
        "source_row": [2, 3, 4]})
    out, d = cleaning.net_returns(tx)
    # last in, first out: the 4 units of A2 go first, then 2 of the 10 in A1
    assert out.set_index("order_id")["quantity"].to_dict() == {"A1": 8.0}
    assert out["amount"].sum() == pytest.approx(16.0)
    assert len(d["matched"]) == 1 and len(d["zeroed"]) == 1


def test_return_before_any_purchase_is_unmatched():
    tx = pd.DataFrame({
        "customer_id": ["1", "1"], "order_id": ["C1", "A2"], "product_id": ["p", "p"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-01-05"]), "quantity": [-1.0, 3.0],
        "unit_price": [2.0, 2.0], "amount": [-2.0, 6.0], "source_row": [2, 3]})
    out, d = cleaning.net_returns(tx)
    assert len(d["unmatched"]) == 1 and out["quantity"].tolist() == [3.0]


def test_outliers_are_flagged_by_default_and_capped_on_request():
    amounts = [10.0] * 50 + [12.0] * 50 + [5000.0]
    tx = pd.DataFrame({"customer_id": [str(i) for i in range(101)], "order_id": [str(i) for i in range(101)],
                       "order_date": pd.Timestamp("2024-01-01"), "amount": amounts, "source_row": range(2, 103)})
    flagged = cleaning.clean_transactions(tx)
    assert flagged.data["is_outlier"].sum() == 1 and flagged.data["amount"].max() == 5000
    capped = cleaning.clean_transactions(tx, {"outliers": {"action": "cap"}})
    assert capped.data["amount"].max() < 5000
    assert capped.audit.set_index("rule").loc["outliers", "rows_changed"] == 1


# ------------------------------------------------------------ formats and presets


def test_parquet_and_excel_load_like_csv(tmp_path, loaded_sample):
    src = loaded_sample.data.head(200)
    export = pd.DataFrame({"customer_id": src["customer_id"], "order_id": src["order_id"],
                           "order_date": src["order_date"], "amount": src["amount"]})
    export.to_parquet(tmp_path / "t.parquet")
    export.to_excel(tmp_path / "t.xlsx", index=False)
    a = cleaning.load_transactions(tmp_path / "t.parquet").data
    b = cleaning.load_transactions(tmp_path / "t.xlsx").data
    pd.testing.assert_series_equal(a["amount"], b["amount"])
    assert a["customer_id"].tolist() == b["customer_id"].tolist() == export["customer_id"].tolist()


def test_online_retail_ii_column_names(tmp_path, sample):
    ii = sample.transactions.head(300).rename(columns={"InvoiceNo": "Invoice", "UnitPrice": "Price",
                                                       "CustomerID": "Customer ID"})
    ii.to_csv(tmp_path / "ii.csv", index=False)
    r = cleaning.load_transactions(tmp_path / "ii.csv", preset="online_retail")
    assert r.mapping["order_id"] == "Invoice" and r.mapping["customer_id"] == "Customer ID"
    assert r.data["amount"].notna().all()


def test_cdnow_preset_makes_one_order_per_customer_day():
    r = cleaning.load_transactions("data/raw/cdnow/CDNOW_master.txt", preset="cdnow")
    assert len(r.data) == 69659 and r.data["customer_id"].nunique() == 23570
    # customer 00002 bought twice on 1997-01-12: two lines, one order
    c2 = r.data[r.data["customer_id"] == "00002"]
    assert c2["order_id"].nunique() == 1 and len(c2) == 2
    assert r.data["order_date"].min() == pd.Timestamp("1997-01-01")


def test_date_format_inference_and_explicit_format(tmp_path):
    (tmp_path / "a.csv").write_text("customer_id,order_id,order_date,amount\n1,1,13/01/2024,5\n2,2,02/03/2024,5\n")
    r = cleaning.load_transactions(tmp_path / "a.csv")
    assert r.date_format == "%d/%m/%Y" and r.data["order_date"].iloc[1] == pd.Timestamp("2024-03-02")


def test_ambiguous_day_month_is_refused_with_a_request_for_the_format(tmp_path):
    (tmp_path / "a.csv").write_text("customer_id,order_id,order_date,amount\n1,1,01/02/2011,5\n2,2,03/04/2011,5\n")
    with pytest.raises(InputError, match="ambiguous.*date_format"):
        cleaning.load_transactions(tmp_path / "a.csv")
    r = cleaning.load_transactions(tmp_path / "a.csv", conventions=ValueConventions(date_format="%m/%d/%Y"))
    assert r.data["order_date"].iloc[0] == pd.Timestamp("2011-01-02")


def test_utf8_is_tried_first(tmp_path):
    (tmp_path / "u.csv").write_text("customer_id,order_id,order_date,amount,description\n1,1,2024-01-01,5,Café £\n",
                                    encoding="utf-8")
    r = cleaning.load_transactions(tmp_path / "u.csv")
    assert r.encoding == "utf-8" and r.data["description"].iloc[0] == "Café £"


# ------------------------------------------------------------ bad input


def write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_missing_required_column_names_column_found_columns_and_mapping(tmp_path):
    p = write(tmp_path, "InvoiceNo,Quantity,InvoiceDate,UnitPrice\n1,2,2024-01-01,3\n")
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(p, preset="online_retail")
    msg = str(e.value)
    assert "['customer_id']" in msg and "InvoiceNo" in msg and "order_id <- InvoiceNo" in msg


def test_unparseable_values_give_count_examples_and_rows(tmp_path):
    p = write(tmp_path, "customer_id,order_id,order_date,amount\n1,1,2024-01-01,5\n2,2,2024-01-02,abc\n3,3,2024-01-03,x\n")
    with pytest.raises(InputError, match=r"2 value\(s\) in column 'amount'.*'abc' \(row 3\).*'x' \(row 4\)"):
        cleaning.load_transactions(p)


def test_unparseable_dates_are_reported(tmp_path):
    p = write(tmp_path, "customer_id,order_id,order_date,amount\n1,1,2024-01-01,5\n2,2,2024-13-45,5\n")
    with pytest.raises(InputError, match=r"1 value\(s\) in column 'order_date'.*row 3"):
        cleaning.load_transactions(p)


def test_empty_file(tmp_path):
    with pytest.raises(InputError, match="empty"):
        cleaning.load_transactions(write(tmp_path, ""))
    with pytest.raises(InputError, match="no data rows"):
        cleaning.load_transactions(write(tmp_path, "customer_id,order_id,order_date,amount\n", "h.csv"))


def test_every_row_removed_names_the_rule(tmp_path):
    p = write(tmp_path, "customer_id,order_id,order_date,amount\n,1,2024-01-01,5\n,2,2024-01-02,5\n")
    with pytest.raises(InputError, match="'missing_customer' removed the last remaining rows"):
        cleaning.clean_transactions(cleaning.load_transactions(p).data)


def test_unknown_preset_and_rule_list_valid_names(tmp_path):
    p = write(tmp_path, "customer_id,order_id,order_date,amount\n1,1,2024-01-01,5\n")
    with pytest.raises(ConfigError, match="Unknown preset 'shopify'.*cdnow, generic, online_retail"):
        cleaning.load_transactions(p, preset="shopify")
    with pytest.raises(ConfigError, match="Unknown key 'dedupe'.*duplicates"):
        cleaning.clean_transactions(cleaning.load_transactions(p).data, {"dedupe": {"enabled": False}})
    with pytest.raises(ConfigError, match="Unknown key 'mode'.*enabled"):
        cleaning.clean_transactions(cleaning.load_transactions(p).data, {"duplicates": {"mode": "x"}})


def test_mixed_types_in_the_id_column(tmp_path):
    df = pd.DataFrame({"customer_id": [12346, "ABC", 12347], "order_id": ["1", "2", "3"],
                       "order_date": pd.to_datetime(["2024-01-01"] * 3), "amount": [1.0, 2.0, 3.0]})
    df.to_excel(tmp_path / "m.xlsx", index=False)
    with pytest.raises(InputError, match="'customer_id' mixes numbers"):
        cleaning.load_transactions(tmp_path / "m.xlsx")


def test_duplicate_column_names(tmp_path):
    p = write(tmp_path, "customer_id,order_id,order_date,amount,amount\n1,1,2024-01-01,5,6\n")
    with pytest.raises(InputError, match=r"duplicate column names \['amount'\]"):
        cleaning.load_transactions(p)


def test_last_complete_month_ignores_typo_dates():
    d = pd.Series(pd.to_datetime(["2025-11-15", "2025-12-31", "2099-01-01"]))
    assert str(cleaning.last_complete_month(d, pd.Timestamp("2026-06-01"))) == "2025-12"
    d2 = pd.Series(pd.to_datetime(["2025-11-15", "2025-12-30"]))
    assert str(cleaning.last_complete_month(d2, pd.Timestamp("2026-06-01"))) == "2025-11"

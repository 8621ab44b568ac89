"""Numbers are parsed under one convention, never guessed; unreadable files get a message, not a traceback."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from customer_analytics.core.errors import InputError
from customer_analytics.io import parsing
from customer_analytics.io.reading import ValueConventions
from customer_analytics.models import cleaning, rfm

HEADER = "customer_id,order_id,order_date,amount\n"


def write(tmp_path, text, name="t.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


# ---------------------------------------------------------------- the grammar and the inference


def test_strict_parse_reads_both_conventions_and_never_strips():
    assert parsing.parse_strict(pd.Series(["1.234,56", "0,88", "-3", "€5,5"]), ",", ".").tolist() == [1234.56, 0.88,
                                                                                                   -3.0, 5.5]
    assert parsing.parse_strict(pd.Series(["1,234.56", "0.88", "1e3"]), ".", ",").tolist() == [1234.56, 0.88, 1000.0]
    # a wrong or foreign character makes the value unreadable instead of being dropped
    out = parsing.parse_strict(pd.Series(["12abc", "1,2,3", "1.234,5", "12 34"]), ".", ",")
    assert out.isna().all()


@pytest.mark.parametrize(("values", "decimal", "thousands"), [
    (["0,88", "12", "1.234,50"], ",", "."),
    (["0.88", "1,234.50"], ".", ","),
    (["0,5", "7"], ",", None),
    (["1,234,567", "12"], ".", ","),
    (["3", "12"], ".", None),
])
def test_convention_is_inferred_from_the_values(values, decimal, thousands):
    nf = parsing.infer_convention({"UnitPrice": pd.Series(values)}, "x.csv")
    assert (nf.decimal, nf.thousands) == (decimal, thousands)
    assert nf.reason == ("whole_numbers" if values == ["3", "12"] else "inferred")
    assert "inferred" in nf.describe()


def test_ambiguous_numbers_are_refused_with_a_request_for_the_convention():
    with pytest.raises(InputError, match=r"cannot tell the decimal separator.*'1,234'.*data\.decimal"):
        parsing.infer_convention({"amount": pd.Series(["1,234", "2,500", "7"])}, "x.csv")
    with pytest.raises(InputError, match="both conventions"):
        parsing.infer_convention({"amount": pd.Series(["0,88", "1.5"])}, "x.csv")


def test_every_value_like_1_234_is_refused_by_the_loader_and_read_with_the_config(tmp_path):
    p = write(tmp_path, HEADER + "1,1,2024-01-01,\"1,234\"\n2,2,2024-01-02,\"2,500\"\n")
    with pytest.raises(InputError, match="data.decimal"):
        cleaning.load_transactions(p)
    assert cleaning.load_transactions(p, conventions=ValueConventions(decimal=".", thousands=",")).data["amount"].tolist() == [1234.0, 2500.0]
    assert cleaning.load_transactions(p, conventions=ValueConventions(decimal=",")).data["amount"].tolist() == [1.234, 2.5]


def test_values_that_do_not_fit_the_convention_are_refused_with_rows(tmp_path):
    p = write(tmp_path, HEADER + "1,1,2024-01-01,5.50\n2,2,2024-01-02,5.5x\n")
    with pytest.raises(InputError, match=r"'5\.5x' \(row 3\)"):
        cleaning.load_transactions(p)


def test_plausibility_note_says_which_convention_and_why(tmp_path):
    p = write(tmp_path, HEADER + "1,1,2024-01-01,\"0,88\"\n2,2,2024-01-02,\"1,25\"\n3,3,2024-01-03,\"12,5\"\n")
    loaded = cleaning.load_transactions(p)
    assert loaded.data["amount"].tolist() == [0.88, 1.25, 12.5]
    nf = loaded.number_format
    assert nf.reason == "inferred" and nf.example == "0,88"
    [note] = nf.notes                                   # medians 1.25 and 125: a hundredfold difference
    assert note["column"] == "amount" and note["ratio"] == pytest.approx(100)
    text = parsing.note_text(nf, note)
    assert "decimal ','" in text and "'0,88'" in text and "100x" in text
    audit = parsing.audit_rows(loaded.number_format, ["amount"])
    assert list(audit.columns) == cleaning.AUDIT_COLUMNS and "decimal ','" in audit["explanation"].iloc[0]


# ------------------------------------------------- the sample re-exported the European way


@pytest.fixture(scope="module")
def european_export(tmp_path_factory, sample_files):
    """The sample with decimal commas and ';' as delimiter, as a European ERP writes it."""
    raw = pd.read_csv(sample_files["transactions"], dtype=str, keep_default_na=False, encoding="cp1252")
    raw["UnitPrice"] = raw["UnitPrice"].str.replace(".", ",", regex=False)
    path = tmp_path_factory.mktemp("eu") / "online_shop_export_eu.csv"
    raw.to_csv(path, sep=";", index=False, encoding="cp1252", quoting=csv.QUOTE_MINIMAL)
    return path


def _customers(loaded):
    res = cleaning.clean_transactions(loaded.data, period_end="2025-12-31", id_fixes=loaded.id_fixes)
    return rfm.score_customers(res.data, "2025-12-31")


def test_decimal_comma_semicolon_export_gives_exactly_the_same_customers(european_export, loaded_sample):
    eu = cleaning.load_transactions(european_export, preset="online_retail", delimiter=";")
    assert eu.number_format.decimal == ","
    pd.testing.assert_frame_equal(eu.data, loaded_sample.data)
    pd.testing.assert_frame_equal(_customers(eu), _customers(loaded_sample))


def test_decimal_comma_export_with_the_default_delimiter_is_refused(european_export):
    with pytest.raises(InputError, match=r"no ',' delimiter but .*';'.*data\.delimiter"):
        cleaning.load_transactions(european_export, preset="online_retail")


def test_parquet_and_excel_text_amounts_follow_the_same_rules(tmp_path):
    df = pd.DataFrame({"customer_id": ["1", "2"], "order_id": ["1", "2"], "order_date": ["2024-01-01", "2024-01-02"],
                       "amount": ["0,88", "1.234,50"]})
    df.to_parquet(tmp_path / "t.parquet")
    df.to_excel(tmp_path / "t.xlsx", index=False)
    for name in ("t.parquet", "t.xlsx"):
        assert cleaning.load_transactions(tmp_path / name).data["amount"].tolist() == [0.88, 1234.5], name
    df.assign(amount=["1,234", "2,000"]).to_parquet(tmp_path / "a.parquet")
    with pytest.raises(InputError, match="decimal separator"):
        cleaning.load_transactions(tmp_path / "a.parquet")


# ------------------------------------------------------------------ files a user can get wrong


def test_tab_delimited_file_names_the_delimiter(tmp_path):
    p = write(tmp_path, HEADER.replace(",", "\t") + "1\t1\t2024-01-01\t5\n")
    with pytest.raises(InputError, match=r"t\.csv.*tab.*data\.delimiter"):
        cleaning.load_transactions(p)
    assert cleaning.load_transactions(p, delimiter="\t").data["amount"].tolist() == [5.0]


def test_utf16_file_is_named(tmp_path):
    p = write(tmp_path, HEADER + "1,1,2024-01-01,5\n", encoding="utf-16")
    with pytest.raises(InputError, match=r"UTF-16.*data\.encoding: utf-16"):
        cleaning.load_transactions(p)
    assert cleaning.load_transactions(p, encoding="utf-16").data["amount"].tolist() == [5.0]


def test_directory_is_refused(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        cleaning.load_transactions(tmp_path)


def test_corrupt_parquet_is_named(tmp_path):
    p = tmp_path / "broken.parquet"
    p.write_bytes(b"PAR1" + b"\x00garbage" * 50)
    with pytest.raises(InputError, match=r"broken\.parquet: not a readable Parquet file"):
        cleaning.load_transactions(p)


def test_excel_data_on_another_sheet_is_found_by_name(tmp_path):
    p = tmp_path / "book.xlsx"
    with pd.ExcelWriter(p) as xl:
        pd.DataFrame({"Notes": ["exported by the shop"]}).to_excel(xl, sheet_name="About", index=False)
        pd.DataFrame({"customer_id": ["1"], "order_id": ["1"], "order_date": ["2024-01-01"],
                      "amount": [5.0]}).to_excel(xl, sheet_name="Data", index=False)
    with pytest.raises(InputError, match=r"sheet 'About'.*set data\.sheet: Data"):
        cleaning.load_transactions(p)
    assert cleaning.load_transactions(p, sheet="Data").data["amount"].tolist() == [5.0]
    assert cleaning.load_transactions(p, sheet=1).data["amount"].tolist() == [5.0]
    with pytest.raises(InputError, match=r"no sheet 'Nope'.*\['About', 'Data'\]"):
        cleaning.load_transactions(p, sheet="Nope")


def test_excel_serial_dates_are_read_as_dates(tmp_path):
    p = tmp_path / "serial.xlsx"
    pd.DataFrame({"customer_id": ["1", "2"], "order_id": ["1", "2"], "order_date": [45292, 45293.5],
                  "amount": [5.0, 6.0]}).to_excel(p, index=False)
    loaded = cleaning.load_transactions(p)
    assert loaded.data["order_date"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02 12:00")]
    assert loaded.date_format == "Excel serial days"
    csv_serial = write(tmp_path, HEADER + "1,1,45292,5\n")
    assert cleaning.load_transactions(csv_serial).data["order_date"].iloc[0] == pd.Timestamp("2024-01-01")


def test_all_empty_unit_price_is_refused_naming_the_column(tmp_path, sample_files):
    raw = pd.read_csv(sample_files["transactions"], dtype=str, keep_default_na=False, encoding="cp1252").head(200)
    p = tmp_path / "no_prices.csv"
    raw.assign(UnitPrice="").to_csv(p, index=False)
    with pytest.raises(InputError, match=r"column 'UnitPrice' is empty in every row"):
        cleaning.load_transactions(p, preset="online_retail")

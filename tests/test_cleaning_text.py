"""Page 01's words about coverage and the number format, in both languages."""

import pandas as pd

from customer_analytics.io import parsing
from customer_analytics.report.text import cleaning as cleaning_text

COV = {"data_first": "2024-01-01", "data_last": "2026-01-10", "period_end": "2025-12-31"}
STATS = {"rows_in_file": 20785, "rows_in_period": 20700, "rows_after_period": 85, "rows_after_today": 3}


def test_coverage_says_which_lines_the_period_covers_and_which_it_sets_aside():
    en = cleaning_text.coverage_text(COV, STATS, "en")
    assert en.startswith("The input holds 20,785 lines dated 2024-01-01 to 2026-01-10. This report covers the 20,700")
    assert "the 85 later lines are left out" in en and "3 of them are dated after today" in en
    zh = cleaning_text.coverage_text(COV, STATS, "zh")
    assert "20,785" in zh and "85" in zh and "The input" not in zh and zh.endswith("。")


def test_coverage_of_a_file_that_ends_at_the_period_end_has_no_later_lines_clause():
    text = cleaning_text.coverage_text(COV, STATS | {"rows_after_period": 0, "rows_after_today": 0}, "en")
    assert "later lines" not in text and "after today" not in text


def test_number_format_on_the_page_names_the_convention_its_reason_and_a_tenfold_warning():
    nf = parsing.infer_convention({"amount": pd.Series(["0,88", "1,25", "12,5"])}, "x.csv")
    nf.notes = [{"column": "amount", "source": "Betrag", "median": 1.25, "median_other": 125.0,
                 "other_decimal": ".", "ratio": 100.0}]
    en = cleaning_text.number_format_text(nf, "en")
    assert "decimal separator `,`" in en and "`0,88`" in en
    assert "column `Betrag`" in en and "125" in en and "100×" in en
    zh = cleaning_text.number_format_text(nf, "zh")
    assert "数字格式" in zh and "`0,88`" in zh and "100" in zh and "Number" not in zh


def test_number_format_without_warnings_is_one_sentence():
    text = cleaning_text.number_format_text(parsing.NumberFormat(reason="config"), "en")
    assert text == ("**Number format.** Numbers were read with decimal separator `.` and thousands separator none "
                    "(set in the config).")

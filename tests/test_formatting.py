"""The table formatter: what the reader sees for each kind of number; raw data untouched."""

from __future__ import annotations

import pandas as pd
import pytest

from customer_analytics.report import formatting as f


@pytest.mark.parametrize(("fn", "value", "shown"), [
    (f.fmt_int, 4284.0, "4,284"),
    (f.fmt_money, 1234.5, "£1,234.50"),
    (f.fmt_money, -3.0, "-£3.00"),
    (f.fmt_share, 0.187388, "18.7%"),
    (f.fmt_pp, 0.07659, "+7.66 pp"),
    (f.fmt_pp, -0.0123, "-1.23 pp"),
    (f.fmt_pvalue, 0.00001, "<0.001"),
    (f.fmt_pvalue, 0.0, "<0.001"),
    (f.fmt_pvalue, 0.012345, "0.0123"),
    (f.fmt_pvalue, 0.5, "0.5"),
    (f.fmt_pvalue, 1.0, "1"),
    (f.fmt_number, 1.23456e-7, "0.000"),
    (f.fmt_number, 12345678.9, "12,345,678.90"),
    (f.fmt_number, 52.0, "52"),
    (f.fmt_number, 0.25, "0.25"),
    (f.fmt_number, -0.0123, "-0.0123"),
    (f.fmt_id, 1090.0, "1090"),
    (f.fmt_text, ["a", "b"], "a, b"),
    (f.fmt_int, float("nan"), "–"),
])
def test_each_value_kind_reads_as_a_person_writes_it(fn, value, shown):
    out = fn(value, "£") if fn is f.fmt_money else fn(value)
    assert out == shown
    assert "e-" not in out and "e+" not in out


def test_kinds_are_inferred_from_column_names_and_values():
    df = pd.DataFrame({"customers": [4284.0], "revenue_share": [0.2], "p_value": [0.01], "revenue": [9.5],
                       "rate_diff": [0.01], "segment": ["A"], "customer_id": [17], "silhouette": [0.49]})
    kinds = {c: f.infer_kind(c, df[c]) for c in df}
    assert kinds == {"customers": "int", "revenue_share": "share", "p_value": "pvalue", "revenue": "money",
                     "rate_diff": "pp", "segment": "text", "customer_id": "id", "silhouette": "number"}


def test_table_html_formats_hides_the_index_and_escapes():
    df = pd.DataFrame({"customers": [4284.0, 12.0], "share": [0.187388, 0.812612], "revenue": [1e6, 2.5],
                       "action": ["Reward them; early access and referral asks. No discounts needed.", "<b>x</b>"]},
                      index=pd.Index(["Champions", "Lost"], name="segment"))
    html = f.format_table(df, currency="$").to_html()
    for text in ["4,284", "18.7%", "$1,000,000.00", "Share", "Segment", "Champions", "No discounts needed.",
                 "&lt;b&gt;x&lt;/b&gt;", "overflow-x"]:
        assert text in html, text
    assert "0.187388" not in html and "4284.0" not in html and "1e+06" not in html
    assert 'class="row_heading' not in html  # no index column


def test_a_range_index_is_dropped_and_headers_follow_the_language():
    df = pd.DataFrame({"revenue_share": [0.5], "customers": [3]})
    html = f.format_table(df, language="zh").to_html()
    assert "收入占比" in html and "客户数" in html and "50.0%" in html
    assert ">0<" not in html


def test_formatting_leaves_the_data_unchanged():
    df = pd.DataFrame({"share": [0.187388]})
    styler = f.format_table(df)
    assert styler.data["share"].iloc[0] == 0.187388 and df["share"].iloc[0] == 0.187388


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown column kind"):
        f.format_table(pd.DataFrame({"a": [1]}), kinds={"a": "percent"})

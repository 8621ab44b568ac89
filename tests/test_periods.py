"""Honest periods and honest numbers at the library level.

The period guard, back-dated cleaning that sees no future, an audit that adds up
(rows and cents), config overrides that do what the README says, exact exports and
the bundled CDNOW data kept whole.
"""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from customer_analytics.core.errors import ConfigError, InputError, StaleDataError
from customer_analytics.models import cleaning
from customer_analytics.pipeline import context
from customer_analytics.report import exports
from customer_analytics.settings import loading


def clean(loaded, period_end, rules=None, analysis_start=None):
    return cleaning.clean_transactions(loaded.data, rules, period_end, analysis_start, id_fixes=loaded.id_fixes,
                                       lines_identifiable=loaded.lines_identifiable)


# ------------------------------------------------------------------ the period guard


def dates(*d):
    return pd.Series(pd.to_datetime(list(d), format="ISO8601"))


def test_a_month_with_no_transactions_is_refused_naming_the_month_and_the_data_range():
    d = dates("2025-01-03", "2025-06-20", "2099-01-01")  # 2099 is a typo, not the data's end
    cov = context.period_coverage(d, "2025-08", pd.Timestamp("2025-09-02"))
    assert cov["rows_in_period"] == 0 and cov["data_last"] == "2025-06-20"
    with pytest.raises(StaleDataError) as e:
        context.check_coverage(cov, "export.csv")
    msg = str(e.value)
    assert "2025-08" in msg and "2025-01-03" in msg and "2025-06-20" in msg and "export.csv" in msg
    assert "refreshed" in msg


def test_a_month_before_the_data_starts_is_refused_with_advice_that_fits():
    cov = context.period_coverage(dates("2025-01-03", "2025-06-20"), "2024-11", pd.Timestamp("2025-09-02"))
    with pytest.raises(StaleDataError, match="before the data starts"):
        context.check_coverage(cov, "export.csv")


def test_a_month_that_ends_after_the_last_transaction_is_partial():
    cov = context.period_coverage(dates("2025-01-03", "2025-06-20"), "2025-06", pd.Timestamp("2025-09-02"))
    assert cov["rows_in_period"] == 1 and cov["partial_month"] == {"data_ends": "2025-06-20"}
    full = context.period_coverage(dates("2025-01-03", "2025-06-30 18:00"), "2025-06", pd.Timestamp("2025-09-02"))
    assert full["partial_month"] is None
    context.check_coverage(cov, "export.csv")  # a partial month runs


# ------------------------------------------------------------------ back-dated reports see no future


def test_a_back_dated_month_is_identical_whether_or_not_the_file_holds_later_months(tmp_path, sample, loaded_sample):
    # the sample's December holds returns of November purchases: cutting before netting matters
    full = clean(loaded_sample, "2025-11-30")
    export = sample.transactions
    when = pd.to_datetime(export["InvoiceDate"], format="%d/%m/%Y %H:%M")
    cut_path = tmp_path / "cut.csv"
    export[when < "2025-12-01"].to_csv(cut_path, index=False, encoding="cp1252")
    cut_loaded = cleaning.load_transactions(cut_path, preset="online_retail")
    cut = clean(cut_loaded, "2025-11-30")
    assert full.stats["rows_after_period"] > 0 and cut.stats["rows_after_period"] == 0
    pd.testing.assert_frame_equal(full.data, cut.data)
    pd.testing.assert_frame_equal(full.audit, cut.audit.assign(
        example_rows=cut.audit["example_rows"]))  # same rules, same counts, same cents


def test_returns_after_the_period_end_do_not_net_purchases_inside_it():
    tx = pd.DataFrame({
        "customer_id": ["1", "1", "2"], "order_id": ["A1", "C2", "A3"], "product_id": ["p", "p", "p"],
        "order_date": pd.to_datetime(["2025-11-20", "2025-12-03", "2025-11-21"]), "quantity": [5.0, -5.0, 1.0],
        "unit_price": [2.0, 2.0, 2.0], "amount": [10.0, -10.0, 2.0], "source_row": [2, 3, 4]})
    nov = cleaning.clean_transactions(tx, period_end="2025-11-30")
    assert nov.data.set_index("customer_id")["amount"].to_dict() == {"1": 10.0, "2": 2.0}  # it stood in November
    dec = cleaning.clean_transactions(tx, period_end="2025-12-31")
    assert dec.data["customer_id"].tolist() == ["2"]  # December's report nets it


# ------------------------------------------------------------------ an audit that adds up


def assert_adds_up(result):
    cleaning.check_reconciliation(result)
    a = result.audit[result.audit["step"] > 0]
    assert result.stats["rows_in_period"] == len(result.data) + a["rows_removed"].sum()
    raw = round(result.stats["revenue_in_period"] * 100)
    assert raw + round((a["revenue_effect"] * 100).sum()) == cleaning.cents(result.data["amount"]).sum()
    rec = cleaning.reconcile(result)
    assert rec["rows (+/-)"].iloc[-1] == len(result.data)
    assert round(rec["revenue (+/-)"].iloc[-1] * 100) == cleaning.cents(result.data["amount"]).sum()


def test_the_sample_audit_adds_up_in_rows_and_cents(cleaned_sample):
    assert_adds_up(cleaned_sample)


@pytest.mark.parametrize("rules", [None, {"cancellations": {"mode": "drop"}}, {"outliers": {"action": "cap"}},
                                   {"outliers": {"action": "drop"}}, {"duplicates": {"enabled": False}}])
def test_the_audit_adds_up_under_every_rule_setting(loaded_sample, rules):
    assert_adds_up(clean(loaded_sample, "2025-12-31", rules))


def edge_cases() -> pd.DataFrame:
    rows = [  # customer, order, product, date, qty, price
        ("1", "A1", "p", "2025-01-02", 10, 1.005),   # half cents: 10.05
        ("1", "A2", "p", "2025-01-05", 4, 1.005),
        ("1", "C3", "p", "2025-01-06", -12, 1.005),  # a return spanning two lines: A2 zeroed, A1 reduced
        ("2", "A4", "q", "2025-01-03", 1, 19.99),
        ("2", "A4", "q", "2025-01-03", 1, 19.99),    # an export duplicate (same order)
        ("2", "A5", "q", "2025-01-03", 1, 19.99),    # the same purchase in another order: kept
        ("3", "A6", "r", "2025-01-04", 2, 3.0),
        ("3", "C7", "r", "2025-01-05", -2, 3.0),     # a customer netted to zero
        ("", "A8", "s", "2025-01-04", 1, 7.5),       # no customer
        ("4", "A9", "POST", "2025-01-04", 1, 5.0),   # postage
        ("4", "A10", "t", "2025-01-04", 1, 0.0),     # free sample
        ("4", "C11", "u", "2025-01-04", -1, 9.0),    # unmatched return
        ("5", "A12", "v", "2025-01-07", 1, 900.0),   # outlier
        ("6", "A13", "w", "2024-12-30", 1, 4.0),     # before the analysis start
        ("6", "A14", "w", "2025-02-03", 1, 4.0),     # after the period end
    ] + [(str(10 + i), f"B{i}", "x", "2025-01-10", 1, 5.0 + i % 3) for i in range(30)]
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "product_id", "order_date", "quantity",
                                     "unit_price"])
    df["customer_id"] = df["customer_id"].replace("", pd.NA).astype("string")
    for c in ("order_id", "product_id"):
        df[c] = df[c].astype("string")
    df["order_date"] = pd.to_datetime(df["order_date"])
    df["quantity"] = df["quantity"].astype(float)
    df["amount"] = df["quantity"] * df["unit_price"]
    df["source_row"] = range(2, len(df) + 2)
    return df


@pytest.mark.parametrize("rules", [None, {"outliers": {"action": "cap"}}, {"outliers": {"action": "drop"}},
                                   {"cancellations": {"mode": "drop"}}])
def test_the_audit_adds_up_on_hand_made_edge_cases(rules):
    r = cleaning.clean_transactions(edge_cases(), rules, period_end="2025-01-31", analysis_start="2025-01-01")
    assert r.stats["rows_after_period"] == 1
    assert_adds_up(r)
    a = r.audit.set_index("rule")
    assert a.loc["duplicates", "rows_removed"] == 1
    assert a.loc["date_window", "rows_removed"] == 1
    if rules is None:
        m = a.loc["cancellations: matched returns"]
        assert m["rows_removed"] == 2 + 2 and m["rows_changed"] == 1   # 2 returns + A2 and A6 zeroed; A1 reduced
        kept = r.data.set_index("order_id")
        assert kept.loc["A1", "quantity"] == 2 and kept.loc["A1", "amount"] == pytest.approx(2.01)
        assert "A6" not in kept.index and "A5" in kept.index


def test_identical_lines_without_order_ids_are_kept_and_the_audit_says_why():
    df = edge_cases()  # as CDNOW: the loader made order ids from customer and day
    df["order_id"] = (df["customer_id"] + "-" + df["order_date"].dt.strftime("%Y%m%d")).astype("string")
    r = cleaning.clean_transactions(df, lines_identifiable=False)
    row = r.audit.set_index("rule").loc["duplicates"]
    assert row["rows_removed"] == 0 and row["action"] == "kept" and "no order or line id" in row["explanation"]


def test_cdnow_keeps_every_line_customer_and_dollar():
    cfg = loading.load_config("config/cdnow.yaml")
    loaded = context.load(cfg, ROOT / cfg["data"]["path"])
    r = clean(loaded, "1998-06-30", cfg["cleaning"]["rules"])
    assert len(r.data) == 69_659 and r.data["customer_id"].nunique() == 23_570
    assert cleaning.cents(r.data["amount"]).sum() == 250_031_563  # $2,500,315.63, the file's total
    assert r.audit.set_index("rule").loc["duplicates", "action"] == "kept"
    assert_adds_up(r)


# ------------------------------------------------------------------ configuration that does what it says


def test_every_cleaning_rule_key_can_be_overridden_from_a_config_file(tmp_path):
    rules = cleaning.default_rules()
    for rule, keys in rules.items():
        for key, value in keys.items():
            new = (not value) if isinstance(value, bool) else value
            p = tmp_path / f"{rule}-{key}.yaml"
            p.write_text(yaml.safe_dump({"cleaning": {"rules": {rule: {key: new}}}}))
            assert loading.load_config(p)["cleaning"]["rules"][rule][key] == new


def test_the_readme_style_override_is_accepted_and_changes_the_result(tmp_path, loaded_sample):
    p = tmp_path / "c.yaml"
    p.write_text("cleaning:\n  rules: {outliers: {action: cap}, cancellations: {mode: net}}\n")
    cfg = loading.load_config(p)
    assert cfg["cleaning"]["rules"]["outliers"]["action"] == "cap"
    assert cfg["cleaning"]["rules"]["duplicates"]["enabled"] is True  # the rest keeps its defaults
    capped = clean(loaded_sample, "2025-12-31", cfg["cleaning"]["rules"])
    assert capped.audit.set_index("rule").loc["outliers", "action"] == "cap"


def test_unknown_rules_and_rule_keys_are_refused_with_the_valid_names(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("cleaning:\n  rules: {outlier: {action: cap}}\n")
    with pytest.raises(ConfigError, match="cleaning.rules.outlier: unknown rule. Valid rules:.*cancellations.*outliers"):
        loading.load_config(p)
    p.write_text("cleaning:\n  rules: {outliers: {mode: cap}}\n")
    with pytest.raises(ConfigError, match="cleaning.rules.outliers.mode: unknown key. Valid keys of outliers:.*action"):
        loading.load_config(p)


def test_a_column_mapping_naming_a_missing_column_is_refused(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("Kunde,order_id,order_date,amount\n1,1,2024-01-01,5\n")
    with pytest.raises(InputError) as e:
        cleaning.load_transactions(p, column_mapping={"Kundennummer": "customer_id"})
    msg = str(e.value)
    assert "Kundennummer" in msg and "Kunde" in msg and "t.csv" in msg
    assert cleaning.load_transactions(p, column_mapping={"Kunde": "customer_id"}).data["customer_id"].iloc[0] == "1"


def test_there_is_no_config_file_the_runner_would_not_read():
    assert not (ROOT / "config" / "default.yaml").exists()


# ------------------------------------------------------------------ exact exports


def test_exported_money_is_exact_to_the_cent_and_floats_keep_their_digits(tmp_path):
    df = pd.DataFrame({"revenue": [5_269_166.53, 0.1 + 0.2, 123_456_789_012.34], "share": [1 / 3, 2 / 3, 0.5]})
    path = exports.save_table(df, tmp_path, "t", index=False)
    text = path.read_text()
    assert "5269166.53," in text and "\n0.3," in text and "123456789012.34," in text
    back = pd.read_csv(path)
    assert back["share"].iloc[0] == pytest.approx(1 / 3, rel=1e-14)
    assert exports.save_table(df, tmp_path, "u", index=False).read_bytes() == path.read_bytes()


def test_force_0_in_make_is_not_force():
    def dry(*args):
        return subprocess.run(["make", "--no-print-directory", "-n", "report", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.splitlines()[-1]
    assert "--force" not in dry("FORCE=0") and "--force" not in dry()
    assert "--force" in dry("FORCE=1") and "--check" in dry("CHECK=1")

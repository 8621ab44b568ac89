"""The customer lifecycle: cohorts, growth accounting, stages and early warnings.

Hand-made customers sit on each stage boundary and each alert, with the expected stage written
out; the cohort table and growth accounting are compared with a plain pandas statement of their
definitions (per customer and month: bought or not, net cents) on the sample, on a random export,
on Spark local where Java is present, and on a back-dated month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.io.sample import make_sample, write_sample
from customer_analytics.models import cleaning, lifecycle, rfm
from customer_analytics.models import lifecycle_stages as ls


def tx(rows):
    """Lines (customer_id, order_id, order_date, amount[, quantity]) as a clean frame."""
    cols = ["customer_id", "order_id", "order_date", "amount", "quantity"][:len(rows[0])]
    return pd.DataFrame(rows, columns=cols).assign(order_date=lambda d: pd.to_datetime(d["order_date"], format="ISO8601"))


# ------------------------------------------------------------------ a plain statement of the definitions


def months_frame(tx, as_of):
    """Per customer and calendar month: bought (any purchase line) and net cents of the month's lines."""
    d = tx[tx["order_date"].dt.normalize() <= pd.Timestamp(as_of)].copy()
    d["cents"] = cleaning.cents(d["amount"])
    d["sale"] = (d["amount"] >= 0) & ~(d["quantity"] < 0) if "quantity" in d else d["amount"] >= 0
    d["month"] = d["order_date"].dt.to_period("M")
    cm = d.groupby(["customer_id", "month"]).agg(cents=("cents", "sum"), sale=("sale", "any")).reset_index()
    cm = cm[cm["sale"]]
    cm["cohort"] = cm.groupby("customer_id")["month"].transform("min")
    return cm


def reference_cohorts(tx, as_of):
    cm = months_frame(tx, as_of)
    end = pd.Period(pd.Timestamp(as_of), freq="M")
    rows = []
    for cohort, g in cm.groupby("cohort"):
        size, base = g["customer_id"].nunique(), g.loc[g["month"] == cohort, "cents"].sum()
        for k in range((end - cohort).n + 1):
            month = g[g["month"] == cohort + k]
            rows.append({"cohort": str(cohort), "months_since": k, "customers": len(month),
                         "share": len(month) / size, "revenue": month["cents"].sum() / 100,
                         "revenue_share": month["cents"].sum() / base if base else np.nan})
    return pd.DataFrame(rows)


def reference_growth(tx, as_of):
    cm = months_frame(tx, as_of)
    cents = cm.set_index(["customer_id", "month"])["cents"]
    first = cm.groupby("customer_id")["month"].min()
    rows = []
    for m in pd.period_range(cm["month"].min(), pd.Period(pd.Timestamp(as_of), freq="M"), freq="M"):
        now, before = set(cm.loc[cm["month"] == m, "customer_id"]), set(cm.loc[cm["month"] == m - 1, "customer_id"])
        new = {c for c in now if first[c] == m}
        kept, back, gone = now & before, now - before - new, before - now
        this = {c: cents[(c, m)] for c in now}
        last = {c: cents[(c, m - 1)] for c in before}
        rows.append({
            "month": str(m), "active": len(now), "new": len(new), "retained": len(kept), "resurrected": len(back),
            "churned": len(gone),
            "quick_ratio": (len(new) + len(back)) / len(gone) if gone else np.nan,
            "new_revenue": sum(this[c] for c in new) / 100,
            "retained_revenue": sum(min(this[c], last[c]) for c in kept) / 100,
            "expansion_revenue": sum(max(this[c] - last[c], 0) for c in kept) / 100,
            "contraction_revenue": sum(max(last[c] - this[c], 0) for c in kept) / 100,
            "resurrected_revenue": sum(this[c] for c in back) / 100,
            "churned_revenue": sum(last[c] for c in gone) / 100})
    return pd.DataFrame(rows)


def assert_tables_match_the_definitions(clean, as_of, con=None):
    cohorts = lifecycle.cohort_retention(clean, as_of, con=con)
    pd.testing.assert_frame_equal(cohorts, reference_cohorts(clean, as_of), check_dtype=False)
    growth = lifecycle.growth_accounting(clean, as_of, con=con)
    pd.testing.assert_frame_equal(growth, reference_growth(clean, as_of), check_dtype=False)
    assert list(cohorts.columns) == lifecycle.COHORT_COLUMNS and list(growth.columns) == lifecycle.GROWTH_COLUMNS
    return cohorts, growth


def test_the_sample_cohorts_and_growth_accounting_equal_the_definitions(cleaned_sample):
    cohorts, growth = assert_tables_match_the_definitions(cleaned_sample.data, "2025-12-31")
    # the identities the page relies on: every month's revenue splits without remainder
    by_month = cohorts.assign(m=pd.PeriodIndex(cohorts["cohort"], freq="M") + cohorts["months_since"])
    revenue = by_month.groupby(by_month["m"].astype(str))["revenue"].sum().round(2)
    g = growth.set_index("month")
    parts = g[["new_revenue", "retained_revenue", "expansion_revenue", "resurrected_revenue"]].sum(axis=1).round(2)
    pd.testing.assert_series_equal(parts, revenue.reindex(g.index), check_names=False)
    assert (g["active"] == g["new"] + g["retained"] + g["resurrected"]).all()
    assert (g["active"].shift(1).fillna(0) == g["retained"] + g["churned"]).all()


def test_the_day_table_gives_the_tables_of_the_lines(cleaned_sample):
    clean = cleaned_sample.data
    daily = lifecycle.day_table(clean, "2025-12-31")  # one row per customer and day, kept in the engine
    for make in (lifecycle.cohort_retention, lifecycle.growth_accounting, ls.lifecycle_stages):
        pd.testing.assert_frame_equal(make(daily, "2025-12-31"), make(clean, "2025-12-31"))
    pd.testing.assert_frame_equal(ls.stages_before(daily, "2025-12")[1], ls.stages_before(clean, "2025-12")[1])
    assert ls.stages_before(daily, "2025-12")[1].equals(ls.lifecycle_stages(clean, "2025-11-30"))


@pytest.fixture(scope="module")
def random_export(tmp_path_factory):
    paths = write_sample(make_sample(seed=11, n_customers=300), tmp_path_factory.mktemp("random"))
    loaded = cleaning.load_transactions(paths["transactions"], preset="online_retail")
    return cleaning.clean_transactions(loaded.data, period_end="2025-12-31", id_fixes=loaded.id_fixes).data


def test_a_random_export_gives_the_tables_of_the_definitions(random_export):
    assert_tables_match_the_definitions(random_export, "2025-10-31")  # a month inside the data, too
    assert_tables_match_the_definitions(random_export, "2025-12-31")


def test_returns_and_zero_net_months_follow_the_definitions():
    lines = tx([("a", "1", "2024-01-05", 10.00, 1), ("a", "2", "2024-01-06", -10.00, -1),  # refunded in full
                ("a", "3", "2024-03-02", 4.00, 1), ("b", "4", "2024-02-01", -3.00, -1),     # only a return
                ("c", "5", "2024-02-10", 0.00, 1), ("c", "6", "2024-03-10", 7.50, 2),       # a $0.00 first line
                ("c", "7", "2024-04-01", 9.00, 1)])                                          # after the period
    cohorts, growth = assert_tables_match_the_definitions(lines, "2024-03-31")
    assert cohorts["cohort"].unique().tolist() == ["2024-01", "2024-02"]  # b has no purchase: no cohort
    first = cohorts[cohorts["cohort"] == "2024-01"]
    assert first["customers"].tolist() == [1, 0, 1] and first["revenue"].tolist() == [0.0, 0.0, 4.0]
    assert first["revenue_share"].isna().all()  # month-0 revenue 0.00: no share of it
    assert growth["month"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert growth["churned"].tolist() == [0, 1, 0] and growth["resurrected"].tolist() == [0, 0, 1]
    assert np.isnan(growth["quick_ratio"].iloc[0]) and growth["quick_ratio"].iloc[1] == 1.0


def test_the_november_tables_are_the_same_from_the_full_file_and_from_the_file_cut_at_november_30(
        tmp_path, sample, loaded_sample):
    full = cleaning.clean_transactions(loaded_sample.data, period_end="2025-11-30", id_fixes=loaded_sample.id_fixes)
    export = sample.transactions
    when = pd.to_datetime(export["InvoiceDate"], format="%d/%m/%Y %H:%M")
    export[when < "2025-12-01"].to_csv(tmp_path / "cut.csv", index=False, encoding="cp1252")
    cut_loaded = cleaning.load_transactions(tmp_path / "cut.csv", preset="online_retail")
    cut = cleaning.clean_transactions(cut_loaded.data, period_end="2025-11-30", id_fixes=cut_loaded.id_fixes)
    for make in (lifecycle.cohort_retention, lifecycle.growth_accounting):
        pd.testing.assert_frame_equal(make(full.data, "2025-11-30"), make(cut.data, "2025-11-30"))
    pd.testing.assert_frame_equal(ls.lifecycle_stages(full.data, "2025-11-30"), ls.lifecycle_stages(cut.data, "2025-11-30"))


def test_spark_local_gives_the_tables_of_duckdb(spark, cleaned_sample):
    clean = cleaned_sample.data
    assert_tables_match_the_definitions(clean, "2025-12-31", con=spark)
    pd.testing.assert_frame_equal(ls.lifecycle_stages(clean, "2025-12-31", con=spark),
                                  ls.lifecycle_stages(clean, "2025-12-31"))
    daily = lifecycle.day_table(clean, "2025-12-31", con=spark)  # a cached DataFrame in Spark
    pd.testing.assert_frame_equal(lifecycle.growth_accounting(daily, "2025-12-31"),
                                  lifecycle.growth_accounting(clean, "2025-12-31"))


# ------------------------------------------------------------------ stages on their boundaries
# The period is March 2024 (as_of 2024-03-31; 2024 is a leap year).
STAGE_LINES = tx([
    ("first_day", "1", "2024-03-01 08:00", 10.00),    # first purchase on the period's first day -> new
    ("last_day", "2", "2024-03-31 23:59", 10.00),     # ... and on its last day -> new
    ("d90", "3", "2023-10-01", 5.00), ("d90", "4", "2023-11-15", 5.00),
    ("d90", "5", "2024-01-01", 5.00),                 # exactly 90 days ago; gaps 45, 47 -> active
    ("d91", "6", "2023-10-01", 5.00), ("d91", "7", "2023-11-15", 5.00),
    ("d91", "8", "2023-12-31", 5.00),                 # 91 days: past the active window -> at_risk
    ("weekly", "9", "2024-02-01", 5.00), ("weekly", "10", "2024-02-08", 5.00),
    ("weekly", "11", "2024-02-15", 5.00),             # 45 days > 2 x their 7-day gap -> at_risk
    ("d180", "12", "2023-10-03", 5.00),               # exactly 180 days -> at_risk, not yet dormant
    ("d183", "13", "2023-09-30", 5.00),               # 183 days -> dormant
    ("d365", "14", "2023-04-01", 5.00),               # exactly 365 days -> dormant, not yet lost
    ("d366", "15", "2023-03-31", 5.00),               # 366 days -> lost
    ("back", "16", "2023-06-01", 20.00), ("back", "17", "2024-03-10", 30.00),  # 283 days away -> reactivated
    ("again", "18", "2023-12-01", 5.00), ("again", "19", "2024-03-10", 5.00),  # 100 days away -> active
    ("netted", "20", "2024-02-10", 5.00), ("netted", "21", "2024-02-10", -5.00),  # refunded: active, 0.00
    ("refund_only", "22", "2024-03-05", -8.00),       # no purchase line: no stage
])
EXPECTED_STAGES = {"first_day": "new", "last_day": "new", "d90": "active", "d91": "at_risk", "weekly": "at_risk",
                   "d180": "at_risk", "d183": "dormant", "d365": "dormant", "d366": "lost", "back": "reactivated",
                   "again": "active", "netted": "active"}


def test_each_customer_gets_the_stage_of_the_first_rule_that_applies():
    st = ls.lifecycle_stages(STAGE_LINES, "2024-03-31", "2024-03")
    assert st.set_index("customer_id")["stage"].to_dict() == EXPECTED_STAGES
    row = st.set_index("customer_id").loc
    assert row["d90", "days_since"] == 90 and row["d90", "median_gap"] == 46.0
    assert row["netted", "revenue"] == 0.0 and row["back", "period_revenue"] == 30.0
    assert row["first_day", "days_since"] == 30 and row["last_day", "days_since"] == 0


def test_the_windows_come_from_the_settings_and_must_grow():
    st = ls.lifecycle_stages(STAGE_LINES, "2024-03-31", "2024-03", {"active_days": 95, "gap_factor": 10.0})
    stages = st.set_index("customer_id")["stage"]
    assert stages["d91"] == "active" and stages["weekly"] == "active"
    with pytest.raises(ConfigError, match="active_days < dormant_days < lost_days"):
        ls.lifecycle_stages(STAGE_LINES, "2024-03-31", "2024-03", {"dormant_days": 400})
    with pytest.raises(ConfigError, match="unknown key"):
        ls.lifecycle_stages(STAGE_LINES, "2024-03-31", "2024-03", {"activ_days": 95})


def test_the_cleaning_removes_a_purchase_netted_to_zero_so_that_customer_has_no_stage():
    lines = pd.DataFrame({
        "customer_id": ["z", "z", "y"], "order_id": ["A1", "C2", "A3"], "product_id": ["p", "p", "p"],
        "order_date": pd.to_datetime(["2024-03-02", "2024-03-03", "2024-03-04"]), "quantity": [2.0, -2.0, 1.0],
        "unit_price": [2.5, 2.5, 2.0], "amount": [5.0, -5.0, 2.0], "source_row": [2, 3, 4]})
    clean = cleaning.clean_transactions(lines, period_end="2024-03-31").data
    assert ls.lifecycle_stages(clean, "2024-03-31")["customer_id"].tolist() == ["y"]


def test_flows_count_last_months_stage_against_this_months():
    feb = ls.lifecycle_stages(STAGE_LINES, "2024-02-29", "2024-02")
    mar = ls.lifecycle_stages(STAGE_LINES, "2024-03-31", "2024-03")
    flows = ls.stage_flows(feb, mar)
    assert flows.loc[ls.NOT_YET, "new"] == 2 and flows.loc[ls.NOT_YET].sum() == 2
    assert flows.loc["dormant", "reactivated"] == 1  # back: dormant since Dec 2023, bought on Mar 10
    # February's new customers: netted (bought once, within 90 days) stays active, weekly is overdue
    assert flows.loc["new", "active"] == 1 and flows.loc["new", "at_risk"] == 1
    assert flows.loc["active", "at_risk"] == 1 and flows.loc["dormant", "lost"] == 1  # d91 and d366 crossed a line
    assert flows.sum().to_dict() == ls.stage_summary(mar).set_index("stage")["customers"].to_dict()
    assert list(flows.columns) == list(ls.FLOW_ORDER) and flows.to_numpy().sum() == len(mar)


def test_the_stage_summary_counts_customers_and_revenue_per_stage():
    summary = ls.stage_summary(ls.lifecycle_stages(STAGE_LINES, "2024-03-31")).set_index("stage")
    assert summary["customers"].to_dict() == {"new": 2, "reactivated": 1, "active": 3, "at_risk": 3,
                                              "dormant": 2, "lost": 1}
    assert summary.loc["reactivated", "revenue"] == 50.0 and summary.loc["new", "period_revenue"] == 20.0
    assert summary["share"].sum() == pytest.approx(1.0)


# ------------------------------------------------------------------ early-warning lists
ALERT_LINES = tx([
    ("dec31", "1", "2023-12-31", 50.00),   # 90 days reached on Mar 30 -> no_order_90d
    ("dec02", "2", "2023-12-02", 80.00),   # ... on Mar 1, the period's first day -> no_order_90d
    ("dec01", "13", "2023-12-01", 70.00),  # ... on Feb 29: last month's list
    ("nov30", "3", "2023-11-30", 90.00),   # ... on Feb 28: last month's list
    ("jan01", "4", "2024-01-01", 40.00),   # exactly 90 days on Mar 31, the period's last day -> no_order_90d
    ("slow", "5", "2024-02-01", 10.00), ("slow", "6", "2024-02-11", 10.00),
    ("slow", "7", "2024-02-21", 10.00),    # gaps 10, 10: passed 10 days on Mar 2 -> slowing
    ("slow_feb", "8", "2024-01-01", 10.00), ("slow_feb", "9", "2024-01-08", 10.00),
    ("slow_feb", "10", "2024-01-15", 10.00),  # passed 7 days on Jan 23: an earlier month's list
    ("two", "11", "2024-02-01", 10.00), ("two", "12", "2024-02-11", 10.00),  # two purchase days: too few
])


def test_no_order_and_slowing_flag_the_customers_who_crossed_the_line_in_the_period():
    st = ls.lifecycle_stages(ALERT_LINES, "2024-03-31", "2024-03")
    a = ls.alerts(st, "2024-03")
    lists = a.table.groupby("alert")["customer_id"].apply(list).to_dict()
    assert lists == {"no_order_90d": ["dec02", "dec31", "jan01"], "slowing": ["slow"]}  # by value: 80, 50, 40
    assert a.table.loc[a.table["alert"] == "no_order_90d", "rank"].tolist() == [1, 2, 3]
    assert not a.value_drop_checked
    summary = a.summary().set_index("alert")
    assert summary.loc["no_order_90d", "value_at_stake"] == 170.0 and pd.isna(summary.loc["value_drop", "customers"])
    stage = st.set_index("customer_id")["stage"]
    assert stage["dec02"] == stage["dec31"] == "at_risk" and stage["jan01"] == "active"  # 90 days: still active


def test_value_drop_compares_clv_and_segment_with_last_months_customers_file():
    st = ls.lifecycle_stages(ALERT_LINES, "2024-03-31", "2024-03")
    ids = ["dec31", "dec01", "nov30", "jan01"]
    previous = pd.DataFrame({"customer_id": ids, "clv": [100.0, 100.0, 10.0, 0.0],
                             "segment_code": ["champions", "champions", "champions", "loyal_customers"]})
    current = pd.DataFrame({"customer_id": ids, "clv": [50.0, 50.01, 9.0, 0.0],
                            "segment_code": ["champions", "champions", "at_risk", "potential_loyalist"]})
    order = rfm.load_scheme("en11").order  # champions first, at_risk 7 places below
    a = ls.alerts(st, "2024-03", current=current, previous=previous, segment_order=order)
    drops = a.table[a.table["alert"] == "value_drop"]
    # dec31: CLV halved exactly; nov30: champions -> at_risk (7 places); dec01 fell 49.99%; jan01 one place
    assert drops["customer_id"].tolist() == ["dec31", "nov30"] and drops["value_at_stake"].tolist() == [50.0, 9.0]
    assert a.value_drop_checked
    first = ls.primary_alert(a.table).set_index("customer_id")["alert"]
    assert first["dec31"] == "no_order_90d" and first["nov30"] == "value_drop"


def test_bad_input_names_what_was_expected():
    with pytest.raises(InputError, match="order_date"):
        lifecycle.cohort_retention(pd.DataFrame({"customer_id": ["a"], "amount": [1.0]}), "2024-03-31")
    with pytest.raises(InputError, match="No purchases on or before 2023-01-31"):
        lifecycle.growth_accounting(STAGE_LINES, "2023-01-31")

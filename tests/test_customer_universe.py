"""One customer universe and lists a team can use (issue 22, points 6 and 7).

A customer is scored when they have at least one purchase line (a clean line that is not a
return) in the look-back window: RFM, CLV and ``customers.csv`` count the same customers, the
money totals on the pages agree with the exported files to the cent, and the at-risk list
follows its stated rule (``clv.churn_threshold``, ``clv.list_share``, ``clv.list_max``).

The report checks run the CDNOW report (1998-06) once for the module.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

from customer_analytics.models import clv, rfm
from customer_analytics.report.exports import MONEY_COLUMNS
from customer_analytics.settings import loading

CDNOW_CUSTOMERS = 23_570
CENT = re.compile(r"^-?\d+(\.\d{1,2})?$")


def _cents(values: pd.Series) -> int:
    return int((pd.to_numeric(values).fillna(0) * 100).round().astype("int64").sum())


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    reports = tmp_path_factory.mktemp("cdnow_reports")
    done = subprocess.run([sys.executable, "-m", "customer_analytics", "report", "--quiet", "--config",
                           "config/cdnow.yaml", "--period", "1998-06", "--reports-dir", str(reports)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = reports / "1998-06"
    heads = {p.stem: json.loads(p.read_text()) for p in (folder / "headlines").glob("*.json")}
    tables = {p.stem: pd.read_csv(p, dtype={"customer_id": str}) for p in (folder / "tables").glob("*.csv")}
    customers = pd.read_csv(folder / "customers.csv", dtype={"customer_id": str})
    return {"folder": folder, "heads": heads, "tables": tables, "customers": customers}


# ------------------------------------------------------------------ a small constructed data set


def _lines(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"]).astype(
        {"customer_id": "string", "order_id": "string", "order_date": "datetime64[ns]"})


def test_zero_and_negative_spenders_are_scored_by_rfm_and_clv_alike():
    rows = [(c, f"{c}{i}", f"2024-0{m}-10", a) for i, (c, m, a) in enumerate(
        [("big", 1, 90.0), ("big", 2, 80.0), ("mid", 1, 30.0), ("mid", 3, 20.0), ("low", 2, 5.0),
         ("free", 1, 0.0), ("free", 2, 0.0),          # only $0.00 items: scored, monetary 0
         ("neg", 1, 10.0), ("neg", 2, -25.0),         # returns above purchases: scored, monetary -15
         ("ret", 2, -5.0)])]                          # only a return: no purchase line, not scored
    tx = _lines(rows)
    scored = rfm.score_customers(tx, "2024-03-31")
    assert sorted(scored["customer_id"]) == ["big", "free", "low", "mid", "neg"]
    by_id = scored.set_index("customer_id")
    assert by_id.loc["free", "monetary"] == 0.0 and by_id.loc["neg", "monetary"] == -15.0
    assert by_id.loc["neg", "m_score"] == 1  # the lowest net spend scores lowest
    assert by_id.loc["free", "m_score"] <= by_id.loc[["low", "mid", "big"], "m_score"].min()
    assert by_id.loc["neg", "frequency"] == 1  # the return's order is not a purchase
    assert sorted(clv.summary(tx, "2024-03-31")["customer_id"]) == sorted(scored["customer_id"])
    edges = {"recency_days": [10, 20, 30, 60], "frequency": [1, 2, 3, 4], "monetary": [10, 20, 50, 100]}
    fixed = rfm.score_customers(tx, "2024-03-31", score_method="thresholds", thresholds=edges)
    assert fixed.set_index("customer_id").loc[["free", "neg"], "m_score"].tolist() == [1, 1]


def test_the_at_risk_keys_have_their_defaults_and_ranges():
    defaults = loading.load_config()["clv"]
    assert (defaults["churn_threshold"], defaults["list_share"], defaults["list_max"]) == (0.5, 0.05, None)
    assert "top_share" not in defaults


# ------------------------------------------------------------------ the CDNOW report


def test_every_page_and_customers_csv_count_the_same_customers(cdnow):
    customers, tables, heads = cdnow["customers"], cdnow["tables"], cdnow["heads"]
    assert len(customers) == customers["customer_id"].nunique() == CDNOW_CUSTOMERS
    assert heads["02_rfm_scoring"]["scored_customers"] == CDNOW_CUSTOMERS
    assert int(tables["segment_summary"]["customers"].sum()) == CDNOW_CUSTOMERS
    assert int(customers["clv"].notna().sum()) == CDNOW_CUSTOMERS  # every customer has a CLV
    assert int(tables["clv_by_segment"]["customers"].sum()) == CDNOW_CUSTOMERS


def test_money_totals_agree_to_the_cent_across_02_05_and_customers_csv(cdnow):
    customers, tables, heads = cdnow["customers"], cdnow["tables"], cdnow["heads"]
    revenue = _cents(customers["monetary"])
    assert _cents(tables["segment_summary"]["revenue"]) == revenue
    assert _cents(tables["segment_mix"]["revenue"]) == revenue
    total_clv = _cents(customers["clv"])
    assert round(heads["05_clv_churn"]["total_clv"] * 100) == total_clv
    assert _cents(tables["clv_by_segment"]["total_clv"]) == total_clv
    page = (cdnow["folder"] / "05_clv_churn.html").read_text(encoding="utf-8")
    assert f"${total_clv // 100:,}.{total_clv % 100:02d}" in page  # the headline the reader sees


def test_a_customer_with_only_zero_dollar_items_is_in_customers_csv_with_m_score_1(cdnow):
    customers = cdnow["customers"]
    free = customers[customers["monetary"] == 0]
    assert len(free) == 68  # CDNOW's 80 lines of $0.00 belong to 68 customers who bought nothing else
    assert (free["m_score"] == 1).all() and free["segment_code"].notna().all() and free["clv"].notna().all()


def test_the_at_risk_list_follows_the_rule(cdnow):
    risk, customers = cdnow["tables"]["clv_at_risk"], cdnow["customers"]
    eligible = customers[(1 - customers["p_alive"]) >= 0.5 - 1e-6]  # p_alive has 6 decimals here
    limit = math.floor(0.05 * CDNOW_CUSTOMERS)
    assert len(risk) == min(limit, len(eligible)) == 1178
    assert cdnow["heads"]["05_clv_churn"]["high_value_at_risk"] == len(risk)
    assert ((1 - risk["p_alive"]) >= 0.5).all()
    assert risk["rank"].tolist() == list(range(1, len(risk) + 1))
    assert risk["clv"].is_monotonic_decreasing
    left_out = eligible[~eligible["customer_id"].isin(risk["customer_id"])]
    assert left_out["clv"].max() <= risk["clv"].min()  # nobody eligible with a higher CLV is left out
    marked = customers.loc[customers["clv_action"].notna(), "customer_id"]
    assert sorted(marked) == sorted(risk["customer_id"])
    page = (cdnow["folder"] / "05_clv_churn.html").read_text(encoding="utf-8")
    assert "The at-risk list holds 1,178 customers" in page and "at most 5% of the 23,570 scored customers" in page


def test_exported_money_has_at_most_two_decimals(cdnow):
    frames = {**cdnow["tables"], "customers": cdnow["customers"]}
    checked = []
    for name, frame in frames.items():
        for col in [c for c in frame.columns if c in MONEY_COLUMNS]:
            text = frame[col].dropna().astype(str)
            bad = text[~text.str.match(CENT)]
            assert bad.empty, f"{name}.{col} has more than 2 decimals, e.g. {bad.iloc[0]}"
            checked.append(f"{name}.{col}")
    assert {"clv_at_risk.clv", "clv_by_segment.total_clv", "customers.clv", "segment_summary.revenue"} <= set(checked)


def test_save_table_rounds_the_money_columns_and_nothing_else(tmp_path):
    from customer_analytics.report import exports

    df = pd.DataFrame({"customer_id": ["1", "2"], "clv": [757.678049056076, 12.0], "total_profit": [-3.14159, 0.5],
                       "p_alive": [0.429080472338733, 1.0]})
    back = pd.read_csv(exports.save_table(df, tmp_path, "t", index=False), dtype={"customer_id": str})
    assert back["clv"].tolist() == [757.68, 12.0] and back["total_profit"].tolist() == [-3.14, 0.5]
    assert back["p_alive"].iloc[0] == pytest.approx(0.429080472338733, rel=1e-14)
    assert df["clv"].iloc[0] == 757.678049056076  # the caller's frame is not changed

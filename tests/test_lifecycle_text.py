"""Page 06 in words: the summary reconciles with the model tables, ends in an action, and the
lifecycle columns of ``customers.csv`` carry codes and names in the report language."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_lifecycle import ALERT_LINES, STAGE_LINES

from customer_analytics.models import lifecycle, lifecycle_stages
from customer_analytics.report.text import lifecycle as lc_text


def tables(lines, as_of="2024-03-31"):
    stages = lifecycle_stages.lifecycle_stages(lines, as_of, "2024-03")
    return ({"cohorts": lifecycle.cohort_retention(lines, as_of), "growth": lifecycle.growth_accounting(lines, as_of),
             "stages": lifecycle_stages.stage_summary(stages)}, stages, lifecycle_stages.alerts(stages, "2024-03"))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_summary_states_the_tables_figures_and_ends_in_the_list_with_most_value(language):
    t, _, alerts = tables(ALERT_LINES)
    bullets = lc_text.bullets(t, alerts, days=90, language=language, currency="$")
    last = t["growth"].iloc[-1]
    assert f"{last['active']:,}" in bullets[1] and f"{last['churned']:,}" in bullets[1]
    assert "&#36;170.00" in bullets[3] and "&#36;30.00" in bullets[3]  # no_order_90d: 80 + 50 + 40; slowing: 3 x 10
    assert bullets[-1].startswith("**Next:**" if language == "en" else "**下一步：**")
    assert lc_text.alert_label("no_order_90d", 90, language) in bullets[-1]  # the list with the most value at stake
    if language == "zh":
        prose = re.sub(r"`[^`]*`|<[^>]*>", "", " ".join(bullets))
        assert not re.findall(r"[A-Za-z]{3,}", prose)


def test_the_next_step_says_so_when_nobody_crossed_a_line():
    empty = lifecycle_stages.Alerts(pd.DataFrame(columns=lifecycle_stages.ALERT_COLUMNS), True)
    assert lc_text.next_step(empty.summary(), 90, "en").startswith("**Next:** no customer crossed")


def test_customers_csv_gains_stage_and_alert_codes_and_names_and_keeps_its_columns(tmp_path):
    _, stages, alerts = tables(STAGE_LINES)
    path = tmp_path / "customers.csv"
    pd.DataFrame({"customer_id": stages["customer_id"].astype(str), "segment_code": "x"}).to_csv(path, index=False)
    cols = lc_text.customer_columns(stages, alerts, days=90, language="zh")
    out = lc_text.update_customers_csv(path, cols, fallback=None)
    again = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("customer_id")
    assert list(out.columns) == ["customer_id", "segment_code", *lc_text.CUSTOMER_COLUMNS]
    assert again.loc["d91", "lifecycle_stage"] == "at_risk" and again.loc["d91", "lifecycle_stage_label"] == "有风险"
    assert again.loc["d91", "alert"] == "no_order_90d" and again.loc["d91", "alert_label"] == "90 天未下单"
    assert again.loc["d90", "alert"] == "no_order_90d" and again.loc["d90", "lifecycle_stage"] == "active"  # 90 days
    assert again.loc["again", "alert"] == "" and again.loc["back", "lifecycle_stage"] == "reactivated"
    lc_text.update_customers_csv(path, cols, fallback=None)  # run twice: the columns are replaced, not repeated
    assert list(pd.read_csv(path, nrows=0).columns) == list(out.columns)

"""The customer lifecycle in words: stage and alert names, the page's sentences, the summary bullets and
the lifecycle columns of ``customers.csv``.

Every sentence comes from the catalog keys ``nb06.*`` (``resources/i18n/en.yaml`` and ``zh.yaml``);
every figure from the model tables of :mod:`customer_analytics.models.lifecycle` and
:mod:`customer_analytics.models.lifecycle_stages`, so that the page reconciles with the exported tables.
"""

from __future__ import annotations

import pandas as pd

from customer_analytics.io.customer_export import add_customer_columns
from customer_analytics.models import lifecycle
from customer_analytics.models import lifecycle_stages as stages_model
from customer_analytics.report.formatting import fmt_int, fmt_number, fmt_share
from customer_analytics.report.i18n import catalog, t
from customer_analytics.report.markup import esc, md_money

#: The columns notebook 06 adds to ``customers.csv``: codes and their names in the report language.
CUSTOMER_COLUMNS = ["lifecycle_stage", "lifecycle_stage_label", "alert", "alert_label"]


def stage_label(code: str, language: str = "en") -> str:
    """A stage code (``at_risk``) in words."""
    return t(f"nb06.stage.{code}", language)


def alert_label(code: str, days: int, language: str = "en") -> str:
    """An alert code in words; ``days`` is the no-order threshold (``lifecycle.no_order_days``)."""
    return t(f"nb06.alert.{code}", language, days=days)


def column_labels(language: str = "en") -> dict[str, str]:
    """Table headers in words for the lifecycle tables (catalog keys ``nb06.col.<column>``)."""
    prefix = "nb06.col."
    return {k[len(prefix):]: v for k, v in catalog(language).items() if k.startswith(prefix)}


def cohort_text(cohorts: pd.DataFrame, language: str = "en") -> str:
    """What the cohort table says: mean retention in months 1 and 3, and the latest cohort's month 1."""
    latest = lifecycle.latest_cohort(cohorts)
    if latest is None:
        return t("nb06.cohort_none", language)
    return t("nb06.cohort_read", language, cohorts=fmt_int(cohorts["cohort"].nunique()),
             month1=fmt_share(lifecycle.retention_at(cohorts, 1)), month3=fmt_share(lifecycle.retention_at(cohorts, 3)),
             latest=esc(latest["cohort"]), size=fmt_int(latest["customers"]), latest_month1=fmt_share(latest["share"]))


def quick_text(value, language: str = "en") -> str:
    """A quick ratio in words: two decimals, or 'not defined' when nobody churned."""
    return t("nb06.quick_none", language) if pd.isna(value) else fmt_number(round(float(value), 2))


def growth_text(growth: pd.DataFrame, language: str = "en") -> str:
    """The last month of growth accounting in one sentence, with the mean quick ratio of the last twelve months."""
    last = growth.iloc[-1]
    previous = str(pd.Period(last["month"], freq="M") - 1)
    return t("nb06.growth_read", language, month=esc(last["month"]), active=fmt_int(last["active"]),
             new=fmt_int(last["new"]), retained=fmt_int(last["retained"]), previous=previous,
             resurrected=fmt_int(last["resurrected"]), churned=fmt_int(last["churned"]),
             quick=quick_text(last["quick_ratio"], language),
             quick_mean=quick_text(growth["quick_ratio"].tail(12).mean(), language))


def stage_counts(summary: pd.DataFrame) -> dict[str, int]:
    """Customers per stage code from :func:`~customer_analytics.models.lifecycle_stages.stage_summary`."""
    return {k: int(v) for k, v in summary.set_index("stage")["customers"].items()}


def stages_text(summary: pd.DataFrame, as_of, language: str = "en") -> str:
    """The stage counts at ``as_of`` and the active customers' share of the revenue to date."""
    n = {k: fmt_int(v) for k, v in stage_counts(summary).items()}
    s = summary.set_index("stage")
    total = float(s["revenue"].sum())
    share = float(s.loc["active", "revenue"]) / total if total else float("nan")
    return t("nb06.stages_read", language, date=pd.Timestamp(as_of).date(), active_revenue=fmt_share(share), **n)


def flows_text(flows: pd.DataFrame, language: str = "en") -> str:
    """The moves that matter in the flow matrix: active to at risk, at risk to dormant, and the way back."""
    back = int(flows.loc[["dormant", "lost"], "reactivated"].sum())
    return t("nb06.flows_read", language, to_risk=fmt_int(flows.loc["active", "at_risk"]),
             to_dormant=fmt_int(flows.loc["at_risk", "dormant"]), back=fmt_int(back))


def stage_table(summary: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """The stage summary with stage names in words (for the page)."""
    return summary.assign(stage=summary["stage"].map(lambda k: stage_label(k, language)))


def flows_table(flows: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """The flow matrix with stage names in words (for the page)."""
    names = {k: stage_label(k, language) for k in [*flows.index, *flows.columns]}
    out = flows.rename(index=names, columns=names)
    return out.rename_axis(index=t("nb06.col.previous_stage", language), columns=None)


def alert_lines(alerts: stages_model.Alerts, days: int, language: str = "en", currency: str = "") -> list[str]:
    """One line per evaluated alert: its name, customers and value at stake."""
    out = []
    for row in alerts.summary().itertuples():  # the three alert codes, not customers
        if row.alert == "value_drop" and not alerts.value_drop_checked:
            continue
        out.append(t("nb06.alert_count", language, label=alert_label(row.alert, days, language),
                     n=fmt_int(row.customers), value=md_money(row.value_at_stake, currency)))
    return out


def alert_table(alerts: stages_model.Alerts, code: str, limit: int = 10, language: str = "en") -> pd.DataFrame:
    """The top ``limit`` customers of one alert list, stage in words (for the page)."""
    top = alerts.table[alerts.table["alert"] == code].head(limit)
    top = top[["rank", "customer_id", "stage", "last_purchase", "days_since", "value_at_stake"]]
    return top.assign(stage=top["stage"].map(lambda k: stage_label(k, language)))


def bullets(tables: dict, alerts: stages_model.Alerts, *, days: int, language: str = "en",
            currency: str = "") -> list[str]:
    """The executive summary of page 06 (4-5 bullets), ending in a "Next:" action.

    ``tables`` holds ``cohorts`` (:func:`~customer_analytics.models.lifecycle.cohort_retention`),
    ``growth`` (:func:`~customer_analytics.models.lifecycle.growth_accounting`) and ``stages`` (the
    stage summary); ``days`` is the no-order threshold. The action names the alert list with the
    most value at stake.
    """
    cohorts, growth, n = tables["cohorts"], tables["growth"], stage_counts(tables["stages"])
    out = []
    if lifecycle.latest_cohort(cohorts) is not None:
        out.append(t("nb06.sum_retention", language, month1=fmt_share(lifecycle.retention_at(cohorts, 1)),
                     month3=fmt_share(lifecycle.retention_at(cohorts, 3))))
    last = growth.iloc[-1]
    out.append(t("nb06.sum_growth", language, month=esc(last["month"]), active=fmt_int(last["active"]),
                 new=fmt_int(last["new"]), retained=fmt_int(last["retained"]), resurrected=fmt_int(last["resurrected"]), churned=fmt_int(last["churned"]),
                 quick=quick_text(last["quick_ratio"], language)))
    out.append(t("nb06.sum_stages", language, **{k: fmt_int(v) for k, v in n.items()}))
    summary = alerts.summary().dropna(subset=["value_at_stake"])
    parts = [t("nb06.sum_alert_part", language, label=alert_label(r.alert, days, language), n=fmt_int(r.customers),
               value=md_money(r.value_at_stake, currency)) for r in summary.itertuples()]  # three codes at most
    out.append(t("nb06.sum_alerts", language, parts=t("nb06.sum_sep", language).join(parts)))
    out.append(next_step(summary, days, language, currency))
    return out


def next_step(summary: pd.DataFrame, days: int, language: str = "en", currency: str = "") -> str:
    """The action: the alert list holding the most value first, or none to work on."""
    lists = summary[summary["customers"].fillna(0) > 0]
    if not len(lists):
        return t("nb06.sum_next_none", language)
    top = lists.loc[lists["value_at_stake"].idxmax()]
    return t("nb06.sum_next", language, n=fmt_int(top["customers"]), label=alert_label(top["alert"], days, language),
             value=md_money(top["value_at_stake"], currency), days=days)


def customer_columns(stages: pd.DataFrame, alerts: stages_model.Alerts, *, days: int,
                     language: str = "en") -> pd.DataFrame:
    """customer_id and :data:`CUSTOMER_COLUMNS`: the stage of every customer and their first alert
    (:func:`~customer_analytics.models.lifecycle_stages.primary_alert`; empty when none), codes and names."""
    first = stages_model.primary_alert(alerts.table)
    out = stages[["customer_id", "stage"]].merge(first, on="customer_id", how="left")
    out = out.rename(columns={"stage": "lifecycle_stage"}).assign(customer_id=lambda d: d["customer_id"].astype(str))
    stage_names = {k: stage_label(k, language) for k in stages_model.STAGES}
    alert_names = {k: alert_label(k, days, language) for k in stages_model.ALERTS}
    out["lifecycle_stage_label"] = out["lifecycle_stage"].map(stage_names)
    out["alert"] = out["alert"].fillna("")
    out["alert_label"] = out["alert"].map(alert_names).fillna("")
    return out[["customer_id", *CUSTOMER_COLUMNS]]


def update_customers_csv(path, columns: pd.DataFrame, fallback: pd.DataFrame) -> pd.DataFrame:
    """Add :data:`CUSTOMER_COLUMNS` to the export at ``path`` in place (:func:`~customer_analytics.io.customer_export.add_customer_columns`).

    A customer without a stage (none: every scored customer has a purchase) would get empty cells.
    """
    return add_customer_columns(path, columns[["customer_id", *CUSTOMER_COLUMNS]], fallback)

"""Lifecycle stages of every customer at the period end, the flows between stages, and early warnings.

Definitions (the period is a calendar month; ``as_of`` its last day, or the last day of data in a
partial month; only purchase lines (:func:`customer_analytics.core.engine.purchase_line`) dated on
or before ``as_of`` count). For each customer with at least one purchase line:

- **days_since**: whole days from the last purchase to ``as_of`` (a purchase on ``as_of`` is 0);
- **purchase days**: the distinct days with a purchase line; the **gaps** are the days between
  consecutive purchase days; **median_gap** their median (none with one purchase day);
- **revenue**: net revenue of all lines up to ``as_of`` (returns subtracted, whole cents), as
  RFM's monetary; **period_revenue** of the lines dated in the period.

Stages, settings of the ``lifecycle`` config section in brackets; the first that applies wins, in
this order (:data:`STAGES`):

1. ``new``: first purchase in the period (on its first day as on its last);
2. ``reactivated``: bought in the period after being dormant: their first purchase in the period
   came more than ``dormant_days`` (180) days after their previous purchase;
3. ``lost``: days_since > ``lost_days`` (365);
4. ``dormant``: days_since > ``dormant_days`` (180);
5. ``at_risk``: days_since > ``active_days`` (90: past the active window), or days_since >
   ``gap_factor`` (2) x median_gap (much longer than their own typical gap);
6. ``active``: everyone else: last purchase within ``active_days`` days (exactly 90 days is still
   active), not new this period and not overdue by their own rhythm. Most have bought more than
   once; a one-time buyer whose first purchase was before the period stays active until the
   active window passes.

Early warnings (:func:`alerts`), each customer at most once per code:

- ``no_order_90d``: reached ``no_order_days`` (90) days without an order during the period: the
  last purchase lies between period start - 90 days and ``as_of`` - 90 days (last purchase + 90 days
  falls in the period), the definition of the customers who *lapse* in a month
  (:func:`customer_analytics.models.rfm.period_activity`, ``report.lapse_days``), so the index's
  lapsed customers and this list agree when both thresholds are 90. A customer exactly 90 days
  out at ``as_of`` is on the list and still ``active`` (the active window includes its last day);
- ``slowing``: at least ``slowing_min_purchases`` (3) purchase days, and their time since the last
  purchase went beyond the ``slowing_quantile`` (0.9) quantile q of their own gaps (linear
  interpolation, as numpy) during the period: days_since > q at ``as_of``, not yet on the day before
  the period started (a customer long past q was on an earlier month's list);
- ``value_drop``: compared with last month's published ``customers.csv``: predicted CLV
  (``clv``) fell by at least ``value_drop_share`` (50%) from a positive value, or the RFM segment
  moved at least ``segment_drop_steps`` (2) places down the scheme's order. Not evaluated (None)
  when there is no previous file.

Each list is ranked by the **value at stake**: the predicted CLV when there is one, else the
customer's net revenue to date.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from customer_analytics.core import engine
from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.models import lifecycle

STAGES = ("new", "reactivated", "lost", "dormant", "at_risk", "active")  # precedence order
FLOW_ORDER = ("new", "reactivated", "active", "at_risk", "dormant", "lost")  # display order, best first
NOT_YET = "not_yet_customer"  # the flow matrix's row for customers without a stage last month
ALERTS = ("no_order_90d", "slowing", "value_drop")
DEFAULTS = {"active_days": 90, "dormant_days": 180, "lost_days": 365, "gap_factor": 2.0, "no_order_days": 90,
            "slowing_quantile": 0.9, "slowing_min_purchases": 3, "value_drop_share": 0.5, "segment_drop_steps": 2}
STAGE_COLUMNS = ["customer_id", "stage", "first_purchase", "last_purchase", "days_since", "purchase_days",
                 "median_gap", "high_gap", "revenue", "period_revenue"]


def settings_of(settings: dict | None) -> dict:
    """The ``lifecycle`` settings laid over :data:`DEFAULTS`; the windows must grow active < dormant < lost.

    Raises
    ------
    ConfigError
        Naming an unknown key, or windows out of order.
    """
    s = {**DEFAULTS, **(settings or {})}
    unknown = sorted(set(s) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"lifecycle: unknown key(s) {unknown}; valid keys: {', '.join(DEFAULTS)}")
    if not s["active_days"] < s["dormant_days"] < s["lost_days"]:
        raise ConfigError(f"lifecycle: expected active_days < dormant_days < lost_days, got {s['active_days']}, "
                          f"{s['dormant_days']} and {s['lost_days']}")
    return s


def period_bounds(as_of, period: str | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day of the period ('YYYY-MM'; default the month of ``as_of``) and ``as_of`` itself, as days."""
    end = pd.Timestamp(as_of).normalize()
    start = pd.Period(period or end.strftime("%Y-%m"), freq="M").start_time.normalize()
    if not start <= end:
        raise InputError(f"period {period} starts after as_of {end.date()}")
    return start, end


def customer_summary_expr(t, as_of, start, quantile: float):
    """Per-customer purchase days, gaps and revenue as one ibis expression (see the module docstring):
    one hash aggregate over the customer days (:func:`customer_analytics.models.lifecycle.days_expr`,
    which carry each purchase day's previous one)."""
    d = lifecycle.days_expr(t, as_of)  # one row per customer and day
    first_day = ibis.literal(pd.Timestamp(start).date())
    gap = d.day.delta(d.prev, unit="day")  # null but on the second and later purchase days
    inside = d.day >= first_day
    g = d.group_by("customer_id").aggregate(
        first_purchase=d.day.min(where=d.sale), last_purchase=d.day.max(where=d.sale),
        purchase_days=d.day.count(where=d.sale), gap_q=gap.quantile([0.5, quantile]),  # one sort per customer
        # the gap into the period: before the first purchase in it of a customer who had bought earlier (one
        # day); 0 when there is none (a gap is at least one day)
        reentry_gap=gap.max(where=inside & (d.prev < first_day)).fill_null(0),
        cents=d.cents.sum().fill_null(0), period_cents=d.cents.sum(where=inside).fill_null(0), bought=d.sale.any())
    g = g.filter(g.bought)
    none = ibis.literal(float("nan"))  # no gap: NaN rather than null, as pandas shows it
    g = g.mutate(median_gap=g.gap_q[0].fill_null(none), high_gap=g.gap_q[1].fill_null(none))
    return g.drop("bought", "gap_q").order_by("customer_id")


def _summary(tx, as_of, start, s, *, con=None):
    """The engine's per-customer summary as a frame (one row per customer with a purchase line).

    The customer days are kept in the engine first: a quantile aggregate fed straight by the window
    sort runs many times slower (DuckDB).
    """
    con, t = lifecycle.lines_table(tx, con)
    if not lifecycle.is_day_table(t):
        t = engine.materialize(lifecycle.days_expr(t, as_of))
    out = engine.fetch(con, customer_summary_expr(t, as_of, start, float(s["slowing_quantile"])))
    if out.empty:
        raise InputError(f"No purchases on or before {pd.Timestamp(as_of).date()}: no lifecycle stages.")
    return out


def lifecycle_stages(tx, as_of, period: str | None = None, settings: dict | None = None, *, con=None) -> pd.DataFrame:
    """The lifecycle stage of every customer at ``as_of`` (definitions and precedence in the module docstring).

    Parameters
    ----------
    tx : DataFrame or ibis Table
        Clean transactions (customer_id, order_date, amount; quantity optional).
    as_of : date-like
        The period end.
    period : str, optional
        'YYYY-MM'; default the month of ``as_of``.
    settings : dict, optional
        The ``lifecycle`` config section (:data:`DEFAULTS` for missing keys).
    con : ibis backend, optional
        The engine to run in.

    Returns
    -------
    DataFrame
        :data:`STAGE_COLUMNS`, one row per customer, sorted by customer_id: stage (a code of
        :data:`STAGES`), first and last purchase (dates), days_since, purchase_days, median_gap and
        high_gap (the ``slowing_quantile`` of the gaps, days; NaN with one purchase day), revenue and
        period_revenue (net, exact to the cent).
    """
    s = settings_of(settings)
    start, end = period_bounds(as_of, period)
    out = _summary(tx, end, start, s, con=con)
    out["customer_id"] = out["customer_id"].astype("string")
    for col in ("first_purchase", "last_purchase"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    out["days_since"] = (end - out["last_purchase"]).dt.days.astype("int64")
    out["purchase_days"] = out["purchase_days"].astype("int64")
    out[["median_gap", "high_gap"]] = out[["median_gap", "high_gap"]].astype("float64")
    out["revenue"] = out["cents"].fillna(0).astype("int64") / 100
    out["period_revenue"] = out["period_cents"].fillna(0).astype("int64") / 100
    out["stage"] = assign_stages(out, start, s)
    if not out["customer_id"].is_monotonic_increasing:  # the engine sorted them unless its collation differs
        out = out.sort_values("customer_id")
    return out[STAGE_COLUMNS].reset_index(drop=True)


def stages_before(tx, period: str, settings: dict | None = None, *, con=None) -> tuple[str, pd.DataFrame]:
    """The month before ``period`` ('YYYY-MM') and every customer's stage at its last day, from the same
    lines (back-dated: later lines are never seen); no rows when nobody had bought by then."""
    prev = pd.Period(period, freq="M") - 1
    con, t = lifecycle.lines_table(tx, con)
    end = prev.end_time.normalize()
    lines = lifecycle.days_expr(t, end)
    if con.execute(lines.filter(lines.sale).count()) == 0:
        return str(prev), pd.DataFrame({c: pd.Series(dtype="object") for c in STAGE_COLUMNS})
    return str(prev), lifecycle_stages(t, end, str(prev), settings, con=con)


def assign_stages(c: pd.DataFrame, start, s: dict) -> np.ndarray:
    """Stage codes from the per-customer summary, the first condition of :data:`STAGES` that holds."""
    days = c["days_since"]
    overdue = c["median_gap"].notna() & (days > float(s["gap_factor"]) * c["median_gap"])
    conditions = [c["first_purchase"] >= pd.Timestamp(start),
                  (c["reentry_gap"] > int(s["dormant_days"])).fillna(False).astype(bool),
                  days > int(s["lost_days"]), days > int(s["dormant_days"]),
                  (days > int(s["active_days"])) | overdue]
    return np.select(conditions, list(STAGES[:-1]), default=STAGES[-1])


def stage_summary(stages: pd.DataFrame) -> pd.DataFrame:
    """Customers, their share, revenue to date and revenue in the period per stage (every stage, display order)."""
    g = stages.groupby("stage")
    out = pd.DataFrame({"customers": g.size(), "revenue": g["revenue"].sum(), "period_revenue": g["period_revenue"].sum()})
    out = out.reindex(list(FLOW_ORDER)).fillna(0).astype({"customers": "int64"})
    out.insert(1, "share", out["customers"] / max(int(out["customers"].sum()), 1))
    out[["revenue", "period_revenue"]] = out[["revenue", "period_revenue"]].round(2)
    return out.rename_axis("stage").reset_index()


def stage_flows(prev_stages: pd.DataFrame, cur_stages: pd.DataFrame) -> pd.DataFrame:
    """Customers by stage last month (rows) and this month (columns).

    Customers without a stage last month (no purchase yet) are in the row :data:`NOT_YET`; every
    customer of last month still has a stage this month (stages never end), so nobody leaves the table.
    Rows and columns in :data:`FLOW_ORDER`; the column totals are this month's stage counts.
    """
    both = cur_stages[["customer_id", "stage"]].merge(
        prev_stages[["customer_id", "stage"]].rename(columns={"stage": "previous"}), on="customer_id", how="left")
    both["previous"] = both["previous"].fillna(NOT_YET)
    m = pd.crosstab(both["previous"], both["stage"])
    m = m.reindex(index=[*FLOW_ORDER, NOT_YET], columns=list(FLOW_ORDER), fill_value=0).astype("int64")
    return m.rename_axis(index="previous_stage", columns="stage")


@dataclass
class Alerts:
    """The early-warning lists: ``table`` (one row per customer and alert code, ranked by value at
    stake within each code), ``value_drop_checked`` (False when there was no previous customers file)."""

    table: pd.DataFrame
    value_drop_checked: bool

    def summary(self) -> pd.DataFrame:
        """Customers and value at stake per alert code (every code; value_drop NaN when not checked)."""
        g = self.table.groupby("alert")
        out = pd.DataFrame({"customers": g.size(), "value_at_stake": g["value_at_stake"].sum().round(2)})
        out = out.reindex(list(ALERTS)).fillna(0).astype({"customers": "Int64"})
        if not self.value_drop_checked:
            out.loc["value_drop"] = [pd.NA, np.nan]
        return out.rename_axis("alert").reset_index()


ALERT_COLUMNS = ["customer_id", "alert", "rank", "stage", "last_purchase", "days_since", "value_at_stake",
                 "previous_clv", "clv", "previous_segment", "segment_code"]


def alerts(stages: pd.DataFrame, period: str | None = None, settings: dict | None = None, *,
           current: pd.DataFrame | None = None, previous: pd.DataFrame | None = None,
           segment_order: list[str] | None = None) -> Alerts:
    """The early-warning lists of the period (definitions in the module docstring).

    Parameters
    ----------
    stages : DataFrame
        :func:`lifecycle_stages` at the period end (its last day is the latest of the period's
        days it knows: ``period`` gives the period's first day).
    period : str, optional
        'YYYY-MM'; default the month of the latest last purchase.
    settings : dict, optional
        The ``lifecycle`` config section.
    current, previous : DataFrame, optional
        This month's and last month's customers (customer_id; ``clv`` and ``segment_code`` when
        there are any). ``current`` supplies the value at stake (``clv``); without ``previous`` the
        value_drop list is not evaluated.
    segment_order : list of str, optional
        The RFM scheme's segments from best to worst (for a segment drop).

    Returns
    -------
    Alerts
        The table :data:`ALERT_COLUMNS`, ranked by value at stake (highest first, ties by
        customer_id) within each code; rank starts at 1.
    """
    s = settings_of(settings)
    base = _with_values(stages, current)
    end = (base["last_purchase"] + pd.to_timedelta(base["days_since"], unit="D")).max()
    start, _ = period_bounds(end, period)
    crossed = _between(base["last_purchase"], start, end, int(s["no_order_days"]))
    slow_at = np.floor(base["high_gap"]).fillna(-1).astype("int64") + 1  # days after which they are slowing
    slowing = (base["purchase_days"] >= int(s["slowing_min_purchases"])) & _between(
        base["last_purchase"], start, end, slow_at)
    parts = [base[crossed].assign(alert="no_order_90d"), base[slowing].assign(alert="slowing")]
    checked = previous is not None
    if checked:
        parts.append(_value_drops(base, previous, s, segment_order or []).assign(alert="value_drop"))
    table = pd.concat(parts, ignore_index=True)
    for col in ("previous_clv", "clv", "previous_segment", "segment_code"):
        if col not in table:
            table[col] = np.nan
    table = table.sort_values(["alert", "value_at_stake", "customer_id"], ascending=[True, False, True])
    table["rank"] = table.groupby("alert").cumcount().astype("int64") + 1
    order = {code: i for i, code in enumerate(ALERTS)}
    table = table.sort_values(["alert", "rank"], key=lambda c: c.map(order) if c.name == "alert" else c)
    return Alerts(table[ALERT_COLUMNS].reset_index(drop=True), checked)


def _between(last: pd.Series, start, end, days) -> pd.Series:
    """Whether ``last + days`` (days: a number or one per customer) falls within [start, end]: the day on which
    the time since the last purchase first exceeds ``days - 1``."""
    when = last + pd.to_timedelta(days, unit="D")
    return (when >= pd.Timestamp(start)) & (when <= pd.Timestamp(end))


def _with_values(stages: pd.DataFrame, current: pd.DataFrame | None) -> pd.DataFrame:
    """The stages with ``value_at_stake``: the predicted CLV when ``current`` has one, else revenue to date."""
    base = stages.copy()
    if current is not None and len(current):
        keep = [c for c in ("clv", "segment_code") if c in current]
        cur = current[["customer_id", *keep]].assign(customer_id=current["customer_id"].astype("string"))
        base = base.merge(cur, on="customer_id", how="left", validate="one_to_one")
    clv = pd.to_numeric(base["clv"], errors="coerce") if "clv" in base else pd.Series(np.nan, index=base.index)
    base["value_at_stake"] = clv.fillna(base["revenue"]).round(2)
    return base


def _value_drops(base: pd.DataFrame, previous: pd.DataFrame, s: dict, order: list[str]) -> pd.DataFrame:
    """Customers whose CLV fell by value_drop_share or whose segment fell segment_drop_steps places."""
    missing = [c for c in ("customer_id",) if c not in previous]
    if missing:
        raise InputError(f"last month's customers file lacks column(s) {missing}; columns: {list(previous.columns)}")
    prev = pd.DataFrame({"customer_id": previous["customer_id"].astype("string")})
    prev["previous_clv"] = pd.to_numeric(previous["clv"], errors="coerce") if "clv" in previous else np.nan
    prev["previous_segment"] = previous["segment_code"].astype("string") if "segment_code" in previous else pd.NA
    both = base.merge(prev, on="customer_id", how="inner")
    clv = pd.to_numeric(both["clv"], errors="coerce") if "clv" in both else pd.Series(np.nan, index=both.index)
    fell = (both["previous_clv"] > 0) & (clv <= both["previous_clv"] * (1 - float(s["value_drop_share"])))
    rank = {code: i for i, code in enumerate(order)}
    if "segment_code" in both and order:
        steps = both["segment_code"].map(rank) - both["previous_segment"].map(rank)
        fell |= (steps >= int(s["segment_drop_steps"])).fillna(False).astype(bool)
    return both[fell.fillna(False).astype(bool)]


def primary_alert(alert_table: pd.DataFrame) -> pd.DataFrame:
    """One alert per customer for ``customers.csv``: the first of :data:`ALERTS` they are on."""
    order = alert_table["alert"].map({code: i for i, code in enumerate(ALERTS)})
    first = alert_table.assign(_o=order).sort_values(["customer_id", "_o"]).drop_duplicates("customer_id")
    return first[["customer_id", "alert"]].reset_index(drop=True)


def previous_customers(path) -> pd.DataFrame | None:
    """Last month's published ``customers.csv`` (ids as text), or None when there is no such file."""
    if path is None or not Path(path).is_file():
        return None
    return pd.read_csv(path, dtype={"customer_id": str, "segment_code": str}, keep_default_na=False,
                       na_values={"clv": [""]})


def headlines(growth: pd.DataFrame, summary: pd.DataFrame, alert_lists: Alerts) -> dict:
    """The figures the report index shows per period: the last month's growth accounting (quick_ratio None
    when undefined), customers per stage (``stage_<code>``) and per alert list (``alert_<code>``; value_drop
    None when not checked)."""
    last = growth.iloc[-1]
    q = last["quick_ratio"]
    out = {"quick_ratio": None if pd.isna(q) else round(float(q), 4), "active": int(last["active"]),
           "new": int(last["new"]), "resurrected": int(last["resurrected"]), "churned": int(last["churned"])}
    out |= {f"stage_{k}": int(v) for k, v in summary.set_index("stage")["customers"].items()}
    counts = alert_lists.summary().set_index("alert")["customers"]
    out |= {f"alert_{k}": (None if pd.isna(v) else int(v)) for k, v in counts.items()}
    return out

"""The customer lifecycle by month: acquisition cohorts and growth accounting.

Definitions (every figure is measured from the clean lines dated on or before ``as_of``, the
period end; later lines never count):

- a **purchase line** is what :func:`customer_analytics.core.engine.purchase_line` defines (a
  clean line that is not a return; a $0.00 line is a purchase), the definition RFM and CLV use;
- a customer is **active in a month** when they have at least one purchase line dated in that
  calendar month; their **revenue in that month** is the net amount of all their lines dated in
  it (returns subtracted, each line in whole cents). Returns dated in a month without any
  purchase line of that customer are in neither table (the month is not active), so that the
  cohort revenue of a month always equals new + retained + expansion + resurrected revenue of
  growth accounting;
- a customer's **cohort** is the calendar month of their first purchase line over all history up
  to ``as_of``. As in RFM, a customer is counted whatever their net spend: a customer whose only
  purchase was refunded in the same month is active in that month with revenue 0.00 (the default
  cleaning already removes purchases netted to zero by a matched return, so such a customer
  reaches these tables only when the cleaning keeps both lines or the refund is a line of its own
  that the cleaning does not match);
- **months_since** is the number of calendar months from the cohort month (0 = the cohort month).

Growth accounting, for each month m from the first month with a purchase to the month of ``as_of``:

- **active**: customers active in m; **new**: active in m, first purchase in m;
- **retained**: active in m and in m-1; **resurrected**: active in m, not in m-1, first purchase
  before m-1; **churned**: active in m-1, not active in m (counted in m);
  active = new + retained + resurrected;
- **quick_ratio** = (new + resurrected) / churned; NaN when no customer churned (the first month,
  or a month nobody left): the ratio is then undefined rather than infinite;
- revenue, in the same split: **new_revenue** and **resurrected_revenue** (their revenue in m);
  for each retained customer ``min(this, last)`` is **retained_revenue**, ``max(this - last, 0)``
  **expansion_revenue** and ``max(last - this, 0)`` **contraction_revenue**; **churned_revenue**
  is the revenue in m-1 of the customers who churned in m. Hence revenue(m) = new + retained +
  expansion + resurrected and revenue(m-1) = retained + contraction + churned.

Both tables are ibis expressions over the clean lines, run in the engine that holds them (an
embedded DuckDB by default, Spark or a warehouse); only one row per cohort-month or per month comes
back. Money is summed in integer cents and divided by 100 once. Every lifecycle figure needs only
one row per customer and day (net cents, whether a purchase line was among them, and on purchase
days the previous purchase day and the cohort month): :func:`day_table` computes that once, in one
pass over the lines and one window sort over the days, and keeps it in the engine; every function
of this module and of :mod:`customer_analytics.models.lifecycle_stages` accepts it in place of the
lines and reads it with hash aggregates and one hash join only (no further sort, nothing else kept).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from customer_analytics.core import engine
from customer_analytics.core.errors import InputError

COHORT_COLUMNS = ["cohort", "months_since", "customers", "share", "revenue", "revenue_share"]
GROWTH_COUNTS = ["active", "new", "retained", "resurrected", "churned"]
GROWTH_REVENUE = ["new_revenue", "retained_revenue", "expansion_revenue", "contraction_revenue",
                  "resurrected_revenue", "churned_revenue"]
GROWTH_COLUMNS = ["month", *GROWTH_COUNTS, "quick_ratio", *GROWTH_REVENUE]
_NEEDED = ("customer_id", "order_date", "amount")
DAY_COLUMNS = ("customer_id", "day", "m", "cents", "sale", "prev", "first_m")  # the columns of a day table


def lines_table(tx, con=None):
    """The engine and the clean lines as an ibis table (a pandas frame is pushed into the engine).

    A frame keeps customer_id (as text), order_id (when present), order_date, amount and
    quantity (when present); an ibis table is used where it lives.

    Raises
    ------
    InputError
        When customer_id, order_date or amount is missing.
    """
    if is_day_table(tx):
        return engine.backend(tx, con), tx
    missing = [c for c in _NEEDED if c not in tx.columns]
    if missing:
        raise InputError(f"The lifecycle tables need the clean transactions' column(s) {missing}; "
                         f"columns found: {list(tx.columns)}")
    con = engine.backend(tx, con)
    if not isinstance(tx, pd.DataFrame):
        return con, tx
    d = pd.DataFrame({"customer_id": tx["customer_id"].astype(str),
                      "order_date": pd.to_datetime(tx["order_date"]).astype("datetime64[ns]"),
                      "amount": pd.to_numeric(tx["amount"], errors="coerce").astype("float64")})
    for col in ("order_id", "quantity"):
        if col in tx.columns:
            d[col] = tx[col].astype(str) if col == "order_id" else pd.to_numeric(tx[col], errors="coerce")
    return con, engine.table(con, d)


def dated_lines(t, as_of):
    """The lines of ``t`` up to ``as_of`` with ``day`` (date), ``m`` (month index year * 12 + month - 1),
    ``cents`` (the amount in whole cents) and ``sale`` (a purchase line)."""
    end = pd.Timestamp(as_of).normalize()
    day = t.order_date.cast("date")
    lines = t.mutate(day=day, cents=engine.cents(t.amount), sale=engine.purchase_line(t))
    lines = lines.filter(lines.day <= ibis.literal(end.date()))
    return lines.mutate(m=month_of(lines.day))


def month_of(day):
    """The month index (year * 12 + month - 1) of a date column."""
    return day.year().cast("int64") * 12 + day.month().cast("int64") - 1


def is_day_table(tx) -> bool:
    """Whether ``tx`` is a :func:`day_table` (an ibis table with :data:`DAY_COLUMNS` and no order_date)."""
    return not isinstance(tx, pd.DataFrame) and set(DAY_COLUMNS) <= set(tx.columns) and "order_date" not in tx.columns


def days_expr(t, as_of):
    """One row per customer and day up to ``as_of``: customer_id, day, m (its month index), cents (net of
    the day's lines), sale (at least one purchase line that day) and, on purchase days (null on the
    others), prev (the customer's purchase day before, null on the first) and first_m (the month index
    of the customer's first purchase day); ``t`` lines or a day table.

    prev and first_m look back only, so a day table of a later ``as_of`` holds them for an earlier one.
    They come from one window sort over the days (per customer and sale flag, by day).
    """
    if is_day_table(t):
        return t.filter(t.day <= ibis.literal(pd.Timestamp(as_of).normalize().date()))
    lines = dated_lines(t, as_of)
    d = lines.group_by(["customer_id", "day"]).aggregate(cents=lines.cents.sum(), sale=lines.sale.any())
    d = d.mutate(m=month_of(d.day))
    w = ibis.window(group_by=["customer_id", "sale"], order_by="day")
    return d.mutate(prev=ibis.ifelse(d.sale, d.day.lag().over(w), ibis.null().cast("date")),
                    first_m=ibis.ifelse(d.sale, d.m.min().over(w), ibis.null().cast("int64")))


def day_table(tx, as_of, *, con=None):
    """The :func:`days_expr` of ``tx`` as an ibis table, computed once and kept in the engine (``materialize``).

    Pass it to every lifecycle function of the same ``as_of`` or earlier instead of the lines: each
    then reads one row per customer and day instead of every line, and none sorts again.
    """
    _, t = lines_table(tx, con)
    return engine.materialize(days_expr(t, as_of))


def customer_months_expr(t, as_of):
    """One row per customer and active month: customer_id, m (month index), cents (net revenue of
    the month's lines), first_m (the cohort's month index), as one ibis expression: one hash
    aggregate over the customer days (:func:`days_expr`), no join or sort."""
    d = days_expr(t, as_of)
    g = d.group_by(["customer_id", "m"]).aggregate(cents=d.cents.sum(), sale=d.sale.any(), first_m=d.first_m.min())
    return g.filter(g.sale).drop("sale")


def month_label(index) -> pd.Series:
    """Month indices (year * 12 + month - 1) as 'YYYY-MM' text."""
    idx = pd.Series(np.asarray(index, dtype="int64"))
    return (idx // 12).astype(str).str.zfill(4) + "-" + (idx % 12 + 1).astype(str).str.zfill(2)


def month_index(as_of) -> int:
    """The month index of a date: year * 12 + month - 1."""
    ts = pd.Timestamp(as_of)
    return ts.year * 12 + ts.month - 1


def cohort_retention_expr(t, as_of):
    """Active customers and revenue (cents) per cohort month index and months since, one ibis expression."""
    cm = customer_months_expr(t, as_of)
    cm = cm.mutate(months_since=cm.m - cm.first_m)
    return cm.group_by(["first_m", "months_since"]).aggregate(customers=cm.customer_id.count(), cents=cm.cents.sum())


def cohort_retention(tx, as_of, *, con=None) -> pd.DataFrame:
    """Retention of each acquisition cohort, month by month (definitions in the module docstring).

    Parameters
    ----------
    tx : DataFrame or ibis Table
        Clean transactions (customer_id, order_date, amount; quantity optional).
    as_of : date-like
        The period end.
    con : ibis backend, optional
        The engine to run in; default the table's own, or an embedded DuckDB for a frame.

    Returns
    -------
    DataFrame
        :data:`COHORT_COLUMNS`, one row per cohort and months_since from 0 to the month of ``as_of``
        (months in which nobody of the cohort bought have customers 0, revenue 0.0): cohort
        ('YYYY-MM'), months_since (int), customers (active customers, int), share (of the cohort's
        customers, who are all active in month 0), revenue (net, exact to the cent) and
        revenue_share (of the cohort's month-0 revenue; NaN when that is 0.00). Sorted by cohort, months_since.
    """
    con, t = lines_table(tx, con)
    raw = con.execute(cohort_retention_expr(t, as_of))
    if raw.empty:
        raise InputError(f"No purchases on or before {pd.Timestamp(as_of).date()}: no cohorts to show.")
    end = month_index(as_of)
    first = np.sort(raw["first_m"].astype("int64").unique())
    span = end - first + 1
    grid = pd.DataFrame({"first_m": np.repeat(first, span),
                         "months_since": np.concatenate([np.arange(n) for n in span]).astype("int64")})
    raw = raw.astype({"first_m": "int64", "months_since": "int64", "customers": "int64", "cents": "int64"})
    out = grid.merge(raw, on=["first_m", "months_since"], how="left").fillna({"customers": 0, "cents": 0})
    out = out.astype({"customers": "int64", "cents": "int64"})
    base = out.groupby("first_m")[["customers", "cents"]].transform("first")  # months_since 0 comes first
    out["share"] = out["customers"] / base["customers"]
    out["revenue"] = out["cents"] / 100
    out["revenue_share"] = (out["cents"] / base["cents"].where(base["cents"] != 0)).astype("float64")
    out["cohort"] = month_label(out["first_m"]).to_numpy()
    return out[COHORT_COLUMNS].reset_index(drop=True)


def neighbours_expr(cm, as_of):
    """One row per customer and month up to ``as_of`` in which they are active, or were active in the
    month before: customer_id, m, first_m, here (active in m), cents (their revenue in m, null when not
    here), before (active in m-1) and prev_cents (their revenue in m-1, null when not before).

    One full outer hash join of the customer months ``cm`` (:func:`customer_months_expr`) with
    themselves moved a month on; no window sort.
    """
    last = cm.view()
    j = cm.outer_join(last, [cm.customer_id == last.customer_id, cm.m == last.m + 1])
    j = j.select(customer_id=ibis.coalesce(cm.customer_id, last.customer_id), m=ibis.coalesce(cm.m, last.m + 1),
                 first_m=ibis.coalesce(cm.first_m, last.first_m), here=cm.m.notnull(), cents=cm.cents,
                 before=last.m.notnull(), prev_cents=last.cents)
    return j.filter(j.m <= month_index(as_of))


def growth_expr(cm, as_of):
    """Growth accounting per month index as one ibis expression over the customer months ``cm``
    (:func:`customer_months_expr`): the active side and the churned side in one aggregate."""
    n = neighbours_expr(cm, as_of)
    new = n.here & (n.m == n.first_m)
    kept = n.here & n.before  # active in the month before
    back = n.here & ~n.before & (n.m != n.first_m)  # bought before (not new) but not in the month before
    gone = ~n.here & n.before
    return n.group_by("m").aggregate(
        active=n.customer_id.count(where=n.here), new=n.customer_id.count(where=new),
        retained=n.customer_id.count(where=kept), resurrected=n.customer_id.count(where=back),
        churned=n.customer_id.count(where=gone),
        new_revenue=n.cents.sum(where=new), resurrected_revenue=n.cents.sum(where=back),
        retained_revenue=ibis.least(n.cents, n.prev_cents).sum(where=kept),
        expansion_revenue=ibis.greatest(n.cents - n.prev_cents, 0).sum(where=kept),
        contraction_revenue=ibis.greatest(n.prev_cents - n.cents, 0).sum(where=kept),
        churned_revenue=n.prev_cents.sum(where=gone))


def growth_accounting(tx, as_of, *, con=None) -> pd.DataFrame:
    """New, retained, resurrected and churned customers and revenue per month (module docstring).

    Parameters
    ----------
    tx : DataFrame or ibis Table
        Clean transactions (customer_id, order_date, amount; quantity optional).
    as_of : date-like
        The period end: the last month is the month of ``as_of``.
    con : ibis backend, optional
        The engine to run in.

    Returns
    -------
    DataFrame
        :data:`GROWTH_COLUMNS`, one row per month ('YYYY-MM') from the first month with a purchase
        to the month of ``as_of``: counts as int, quick_ratio as float (NaN without churn), revenue
        exact to the cent.
    """
    con, t = lines_table(tx, con)
    got = con.execute(growth_expr(customer_months_expr(t, as_of), as_of))
    if got.empty:
        raise InputError(f"No purchases on or before {pd.Timestamp(as_of).date()}: no months to account for.")
    months = pd.DataFrame({"m": np.arange(int(got["m"].min()), month_index(as_of) + 1, dtype="int64")})
    out = months.merge(got.astype({"m": "int64"}), on="m", how="left")
    money = GROWTH_REVENUE
    out[GROWTH_COUNTS + money] = out[GROWTH_COUNTS + money].fillna(0).astype("int64")
    out[money] = out[money] / 100
    out["quick_ratio"] = ((out["new"] + out["resurrected"]) / out["churned"].where(out["churned"] > 0)).astype(float)
    out["month"] = month_label(out["m"]).to_numpy()
    return out[GROWTH_COLUMNS]


def retention_at(cohorts: pd.DataFrame, months_since: int) -> float:
    """Mean share of a cohort active ``months_since`` months after its first, over the cohorts that have
    that month behind them (the cohort month itself excluded when it is the current month); NaN if none."""
    cells = cohorts[cohorts["months_since"] == int(months_since)]
    return float(cells["share"].mean()) if len(cells) else float("nan")


def latest_cohort(cohorts: pd.DataFrame) -> pd.Series | None:
    """The latest cohort with its month 1 behind it: cohort, customers (its size) and share in month 1."""
    cells = cohorts[cohorts["months_since"] == 1]
    if not len(cells):
        return None
    row = cells.iloc[-1]
    size = cohorts.loc[(cohorts["cohort"] == row["cohort"]) & (cohorts["months_since"] == 0), "customers"].iloc[0]
    return pd.Series({"cohort": row["cohort"], "customers": int(size), "share": float(row["share"])})

"""The per-customer BTYD summary and the purchase days the CLV models are fitted on.

Part of :mod:`customer_analytics.models.clv`, which re-exports every public name here; the
definitions (purchase, frequency, recency, T, monetary_value) are in that module's docstring.
The steps are ibis expressions that run in the engine (:mod:`customer_analytics.core.engine`);
only the per-customer rows come back to pandas.
"""

from __future__ import annotations

import ibis
import pandas as pd

from customer_analytics.core import engine
from customer_analytics.core.errors import ConfigError, InputError

TIME_UNITS = {"days": 1.0, "weeks": 7.0}
SUMMARY_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value", "first_purchase",
                   "last_purchase"]


def _unit_days(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise ConfigError(f"clv.time_unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}")
    return TIME_UNITS[time_unit]


def _check_tx(tx: pd.DataFrame) -> None:
    missing = [c for c in ("customer_id", "order_date", "amount") if c not in tx]
    if missing:
        raise InputError(f"The clean transactions lack column(s) {missing}; expected customer_id, "
                         f"order_date and amount (columns: {list(tx.columns)})")


def _lines(tx, con=None):
    """The engine and the transaction lines as an ibis table (a pandas frame is pushed into the engine).

    A frame keeps only customer_id (as text), order_date (as dates and times), amount (numbers;
    anything else is missing) and quantity when present; an ibis table is used as it is.
    """
    con = engine.backend(tx, con)
    if not isinstance(tx, pd.DataFrame):
        return con, tx
    _check_tx(tx)
    d = pd.DataFrame({"customer_id": tx["customer_id"].astype(str), "order_date": pd.to_datetime(tx["order_date"]),
                      "amount": pd.to_numeric(tx["amount"], errors="coerce").astype("float64")})
    if "quantity" in tx:
        d["quantity"] = pd.to_numeric(tx["quantity"], errors="coerce").astype("float64")
    return con, engine.table(con, d)


def _day_dtype(tx) -> str:
    """The resolution of the input's dates (a pandas frame's own, else nanoseconds) for the returned dates."""
    if isinstance(tx, pd.DataFrame):
        dtype = pd.to_datetime(tx["order_date"]).dtype
        if getattr(dtype, "kind", "") == "M":
            return str(dtype)
    return "datetime64[ns]"


def purchase_days_expr(t, as_of: str | pd.Timestamp, start: str | pd.Timestamp | None = None):
    """The purchases (customer-days with a line that is not a return) up to ``as_of``, as one ibis expression.

    Parameters
    ----------
    t : ibis Table
        Transaction lines with customer_id, order_date and amount (and optionally quantity).
    as_of : date-like
        Days on or before this date count (times of day are ignored).
    start : date-like, optional
        Only days strictly after this date count.

    Returns
    -------
    ibis Table
        customer_id (text), day (date), cents (net amount of that day's lines in integer cents,
        each line rounded to whole cents) and value (cents / 100), one row per purchase, ordered
        by customer_id and day. A purchase is a day with at least one purchase line
        (:func:`customer_analytics.core.engine.purchase_line`: amount and quantity not negative); a
        missing amount is not a sale and adds nothing.
    """
    day = t.order_date.cast("date")
    lines = t.mutate(customer_id=t.customer_id.cast("string"), day=day, cents=engine.cents(t.amount),
                     sale=engine.purchase_line(t))
    keep = lines.day <= ibis.literal(pd.Timestamp(as_of).normalize().date())
    if start is not None:
        keep &= lines.day > ibis.literal(pd.Timestamp(start).normalize().date())
    lines = lines.filter(keep)
    g = lines.group_by(["customer_id", "day"]).aggregate(cents=lines.cents.sum().fill_null(0),
                                                         sale=lines.sale.any())
    g = g.filter(g.sale)
    return g.select("customer_id", "day", "cents", value=g.cents.cast("float64") / 100).order_by(["customer_id", "day"])


def purchase_days(tx, as_of: str | pd.Timestamp, start: str | pd.Timestamp | None = None, con=None
                  ) -> pd.DataFrame:
    """One row per purchase (customer-day with a line that is not a return) up to ``as_of``.

    The step runs in the engine (:func:`purchase_days_expr`); only the purchases come back.

    Parameters
    ----------
    tx : DataFrame or ibis Table
        Clean transactions with customer_id, order_date and amount (quantity optional); an ibis
        table is read where it lives.
    as_of : date-like
        Days on or before this date count.
    start : date-like, optional
        Only days strictly after this date count.
    con : ibis backend, optional
        The engine (:func:`customer_analytics.core.engine.connect`); default the ibis table's own, or an
        embedded DuckDB for a frame.

    Returns
    -------
    DataFrame
        ``customer_id``, ``day`` (date) and ``value`` (net amount of that day's lines, summed
        in whole cents), sorted by customer and day.
    """
    con, t = _lines(tx, con)
    out = con.execute(purchase_days_expr(t, as_of, start))
    return pd.DataFrame({"customer_id": out["customer_id"].astype(str),
                         "day": pd.to_datetime(out["day"]).astype(_day_dtype(tx)),
                         "value": out["value"].astype("float64")})


def summary_expr(t, as_of: str | pd.Timestamp, time_unit: str = "weeks"):
    """The BTYD summary per customer as one ibis expression (definitions in :mod:`customer_analytics.models.clv`).

    Parameters
    ----------
    t : ibis Table
        Transaction lines with customer_id, order_date and amount (and optionally quantity).
    as_of : date-like
        The end of the observation; later lines never count.
    time_unit : {'days', 'weeks'}
        The unit of recency and T.

    Returns
    -------
    ibis Table
        :data:`SUMMARY_COLUMNS`: frequency (purchase days after the first), recency and T in
        the time unit, monetary_value (repeat purchases' net cents / 100 / frequency; null for
        one-time buyers), first_purchase and last_purchase (dates), ordered by customer_id.
    """
    unit = _unit_days(time_unit)
    end = ibis.literal(pd.Timestamp(as_of).normalize().date())
    days = purchase_days_expr(t, as_of).select("customer_id", "day", "cents")
    days = days.mutate(first=days.day.min().over(ibis.window(group_by="customer_id")))
    g = days.group_by("customer_id").aggregate(
        first_purchase=days.day.min(), last_purchase=days.day.max(), n=days.day.count(),
        repeat_cents=days.cents.sum(where=days.day > days.first).fill_null(0))
    freq = (g.n - 1).cast("int64")
    spend = ibis.cases((freq > 0, g.repeat_cents.cast("float64") / 100 / freq), else_=ibis.null("float64"))
    return g.select(
        "customer_id", frequency=freq,
        recency=g.last_purchase.delta(g.first_purchase, unit="day").cast("float64") / unit,
        T=end.delta(g.first_purchase, unit="day").cast("float64") / unit,
        monetary_value=spend, first_purchase=g.first_purchase, last_purchase=g.last_purchase,
    ).order_by("customer_id")


def summary(tx, as_of: str | pd.Timestamp, time_unit: str = "weeks", con=None) -> pd.DataFrame:
    """Frequency, recency, T and mean repeat spend per customer as of ``as_of``.

    See :mod:`customer_analytics.models.clv` for the definitions. The step runs in the engine
    (:func:`summary_expr`; an embedded DuckDB unless ``con`` names another engine) and only the
    per-customer rows come back. Money is summed in whole cents, so the result does not depend
    on the order in which an engine adds up the lines.

    Parameters
    ----------
    tx : DataFrame or ibis Table
        Clean transactions with customer_id, order_date and amount (quantity optional); an ibis
        table is read where it lives.
    as_of : date-like
        The end of the observation; lines dated later never count.
    time_unit : {'days', 'weeks'}
        The unit of recency and T (``clv.time_unit``).
    con : ibis backend, optional
        The engine (:func:`customer_analytics.core.engine.connect`); default the ibis table's own, or an
        embedded DuckDB for a frame.

    Returns
    -------
    DataFrame
        Columns :data:`SUMMARY_COLUMNS`, one row per customer with at least one purchase,
        sorted by customer_id. ``attrs["no_purchase_customers"]`` counts the customers with
        lines up to ``as_of`` but no purchase (only returns); ``attrs["time_unit"]`` the unit.
    """
    _unit_days(time_unit)
    con, t = _lines(tx, con)
    end = pd.Timestamp(as_of).normalize()
    res = con.execute(summary_expr(t, end, time_unit))
    dtype = _day_dtype(tx)
    out = pd.DataFrame({
        "customer_id": res["customer_id"].astype(str),
        "frequency": res["frequency"].astype("int64"),
        "recency": res["recency"].astype("float64"),
        "T": res["T"].astype("float64"),
        "monetary_value": pd.to_numeric(res["monetary_value"]).astype("float64"),
        "first_purchase": pd.to_datetime(res["first_purchase"]).astype(dtype),
        "last_purchase": pd.to_datetime(res["last_purchase"]).astype(dtype),
    })
    with_lines = t.filter(t.order_date.cast("date") <= ibis.literal(end.date()))
    out.attrs["no_purchase_customers"] = int(con.execute(with_lines.customer_id.cast("string").nunique())) - len(out)
    out.attrs["time_unit"] = time_unit
    return out


def _first_date(tx) -> pd.Timestamp:
    """The earliest order date of the lines, a frame's or an ibis table's (NaT when there is none)."""
    if isinstance(tx, pd.DataFrame):
        return pd.to_datetime(tx["order_date"]).min()
    return pd.Timestamp(tx.order_date.min().execute())


def holdout_split(tx, as_of: str | pd.Timestamp, holdout_days: int, time_unit: str = "weeks"
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Calibration summary as of ``as_of - holdout_days`` and the holdout purchases after it.

    ``tx`` is a frame or an ibis table of clean transactions (see :func:`summary`).

    Returns
    -------
    (calibration summary, holdout purchase days of the calibration customers, calibration end)

    Raises
    ------
    InputError
        If the holdout is not shorter than the history (no purchase on or before the calibration end).
    """
    as_of = pd.Timestamp(as_of).normalize()
    if int(holdout_days) <= 0:
        raise ConfigError(f"clv.holdout_days must be a positive number of days, got {holdout_days!r}")
    cal_end = as_of - pd.Timedelta(days=int(holdout_days))
    _check_tx(tx)
    first = _first_date(tx)
    if pd.isna(first) or first > cal_end:
        raise InputError(
            f"clv.holdout_days = {holdout_days} is longer than the history: the data start "
            f"{first.date() if pd.notna(first) else '(no dates)'}, so the calibration period would end "
            f"{cal_end.date()}, before the first transaction. Use a holdout shorter than "
            f"{(as_of - first.normalize()).days if pd.notna(first) else 0} days.")
    cal = summary(tx, cal_end, time_unit)
    hold = purchase_days(tx, as_of, start=cal_end)
    hold = hold[hold["customer_id"].isin(cal["customer_id"])].reset_index(drop=True)
    return cal, hold, cal_end

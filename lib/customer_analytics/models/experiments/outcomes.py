"""Engine outcomes (mode ``transactions``): per-customer outcomes in a window after exposure, from clean transactions.

The assignments are checked in pandas; the join with the transactions and the window sums run
in the engine (:mod:`customer_analytics.core.engine`), and only the per-customer sums come back.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from customer_analytics.core import engine
from customer_analytics.core.errors import InputError

#: The words of :func:`derive_outcomes`' note when outcome windows run past the period end.
OPEN_WINDOW_NOTE = "outcomes are incomplete"


def outcomes_complete_on(exposures: pd.Series, window_days: int, as_of) -> str | None:
    """The day (ISO) after which every outcome window is closed, when that is after the period end ``as_of``.

    A window runs ``window_days`` days from the exposure, exposure day included, so the last one
    closes at the end of day ``max(exposure) + window_days - 1``; its outcomes are complete on the
    day after, ``max(exposure) + window_days``. None when that is no later than the day after
    ``as_of`` (every window closed within the period) or when ``as_of`` is None.
    """
    end = pd.Timestamp(exposures.max()).normalize() + pd.Timedelta(days=window_days)
    if as_of is None or end <= pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1):
        return None
    return str(end.date())


@dataclass(frozen=True)
class AssignmentColumns:
    """The assignment table's columns: the customer id, the variant and the exposure date."""

    user: str = "customer_id"
    variant: str = "variant"
    exposure: str = "exposure_date"


def outcomes_expr(t, a):
    """Per assigned customer: net cents and distinct orders in the outcome window, net cents before it.

    One ibis expression: the transaction lines joined with the assignments on customer_id, then
    summed per customer.

    Parameters
    ----------
    t : ibis Table
        Transaction lines with customer_id, order_id, order_date and amount.
    a : ibis Table
        One row per assigned customer: customer_id, exposure, window_end (exposure + the window)
        and pre_start (exposure - the pre-period), all timestamps.

    Returns
    -------
    ibis Table
        customer_id, revenue_cents (net amount of the lines dated in [exposure, window_end), in
        integer cents, each line rounded to whole cents), orders (distinct order ids in that
        window) and pre_cents (net cents in [pre_start, exposure)), for the assigned customers
        with at least one line; missing sums are 0.
    """
    lines = t.select(customer_id=t.customer_id.cast("string"), order_id=t.order_id, order_date=t.order_date,
                     cents=engine.cents(t.amount))
    j = lines.join(a, "customer_id")
    in_win = (j.order_date >= j.exposure) & (j.order_date < j.window_end)
    pre = (j.order_date < j.exposure) & (j.order_date >= j.pre_start)
    return j.group_by("customer_id").aggregate(revenue_cents=j.cents.sum(where=in_win).fill_null(0),
                                               orders=j.order_id.nunique(where=in_win),
                                               pre_cents=j.cents.sum(where=pre).fill_null(0))


def derive_outcomes(assignments: pd.DataFrame, tx, window_days: int = 28,
                    as_of: str | pd.Timestamp | None = None, *, columns: AssignmentColumns | None = None,
                    pre_days: int = 90, con=None) -> tuple[pd.DataFrame, list[str]]:
    """Per-customer outcomes in the window after exposure, from clean transactions.

    Outcomes: ``converted`` (any purchase in [exposure, exposure + window_days)),
    ``revenue`` (net amount in the window), ``orders`` (distinct orders in the window)
    and the covariate ``pre_revenue`` (net amount in the ``pre_days`` before exposure).
    Money is summed in whole cents (each line rounded to the cent) and shown in currency units.
    The window sums run in the engine (:func:`outcomes_expr`; an embedded DuckDB unless ``con``
    names another engine).

    Parameters
    ----------
    assignments : DataFrame
        One row per customer: user, variant and exposure date columns (named by ``columns``).
    tx : DataFrame or ibis Table
        Clean transactions (customer_id, order_id, order_date, amount); an ibis table is read
        where it lives.
    window_days, pre_days : int
        Length of the outcome window after exposure and of the pre-period before it.
    as_of : date-like, optional
        The period end: a note says so when outcome windows end after it.
    columns : AssignmentColumns, optional
        The assignment table's columns (default: customer_id, variant, exposure_date).
    con : ibis backend, optional
        The engine (:func:`customer_analytics.core.engine.connect`); default the ibis table's own,
        or an embedded DuckDB for a frame.

    Returns
    -------
    (DataFrame, list of str)
        customer_id, variant, exposure, revenue, orders, converted, pre_revenue in the
        assignments' order, and notes (for example an outcome window that runs past ``as_of``).

    Raises
    ------
    InputError
        A missing column, an unparseable exposure date or a customer assigned twice.
    """
    a = _checked_assignments(assignments, columns or AssignmentColumns())
    notes = _open_window_notes(a, window_days, as_of)
    con = engine.backend(tx, con)
    sums = _window_sums(con, a, tx, window_days=window_days, pre_days=pre_days)
    out = a.set_index("customer_id")
    out["revenue"] = sums["revenue_cents"].reindex(out.index).fillna(0).astype("float64") / 100
    out["orders"] = sums["orders"].reindex(out.index).fillna(0).astype(float)
    out["converted"] = (out["orders"] > 0).astype(float)
    out["pre_revenue"] = sums["pre_cents"].reindex(out.index).fillna(0).astype("float64") / 100
    return out.reset_index(), notes


def _checked_assignments(assignments: pd.DataFrame, columns: AssignmentColumns) -> pd.DataFrame:
    """customer_id (text, stripped), variant and exposure (timestamps); one row per customer."""
    for col in (columns.user, columns.variant, columns.exposure):
        if col not in assignments:
            raise InputError(f"Assignment table lacks column '{col}'; columns found: {list(assignments.columns)}")
    a = assignments[[columns.user, columns.variant, columns.exposure]].copy()
    a.columns = ["customer_id", "variant", "exposure"]
    a["customer_id"] = a["customer_id"].astype(str).str.strip()
    a["exposure"] = pd.to_datetime(a["exposure"], errors="coerce")
    if a["exposure"].isna().any():
        raise InputError(f"Column '{columns.exposure}' has {int(a['exposure'].isna().sum())} unparseable date(s).")
    dup = a["customer_id"].duplicated(keep=False)
    if dup.any():
        raise InputError(f"{int(dup.sum())} assignment rows share a customer id (e.g. {a.loc[dup, 'customer_id'].iloc[0]}).")
    return a


def _open_window_notes(a: pd.DataFrame, window_days: int, as_of) -> list[str]:
    """A note when the last exposures' outcome windows end after the period end ``as_of``."""
    end = outcomes_complete_on(a["exposure"], window_days, as_of)
    if end is None:
        return []
    return [f"The outcome window of the last exposures ends {end}, after the period end "
            f"{pd.Timestamp(as_of).date()}: {OPEN_WINDOW_NOTE}."]


def _window_sums(con, a: pd.DataFrame, tx, *, window_days: int, pre_days: int) -> pd.DataFrame:
    """The engine's per-customer sums (:func:`outcomes_expr`), indexed by customer_id as text."""
    lines = tx if not isinstance(tx, pd.DataFrame) else engine.table(
        con, tx[["customer_id", "order_id", "order_date", "amount"]])
    windows = engine.table(con, pd.DataFrame({
        "customer_id": a["customer_id"].to_numpy(dtype=object), "exposure": a["exposure"],
        "window_end": a["exposure"] + pd.Timedelta(days=window_days),
        "pre_start": a["exposure"] - pd.Timedelta(days=pre_days)}))
    sums = con.execute(outcomes_expr(lines, windows))
    return sums.assign(customer_id=sums["customer_id"].astype(str)).set_index("customer_id")

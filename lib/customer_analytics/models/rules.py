"""The cleaning rules, in the order they run: each one a small named function from table to table.

Every rule receives the table of all lines (an ibis table, inside the engine) and acts only on
the lines still in play, those whose ``_out`` is null. It returns the table with the lines it
removes *tagged*, not dropped: ``_out`` then holds the name of the audit line that removed them.
Rules that change kept lines (return netting, capped outliers) record the change in cents in a
column of their own. :func:`customer_analytics.models.cleaning.clean_transactions`
runs :data:`RULES` in order and builds the whole audit from those tags with one aggregation, so
the audit never needs to be written out by hand and always adds up.

To add a rule: write ``def my_rule(t, rc, ctx) -> Table`` here, give it an entry in
:data:`RULES` (its audit lines and the sentence the notebook shows) and its defaults in
``resources/cleaning_rules.yaml``. No other rule changes.

Definitions
-----------
missing_customer
    Lines without a customer id.
duplicates
    Lines identical in every column (order id included, ``source_row`` excluded); the first copy
    in file order is kept. Only where lines carry an order or line id.
cancellations (``mode: net``)
    A return is a line whose ``order_id`` starts with ``invoice_prefix`` or whose quantity
    (amount without a quantity column) is negative. Per customer and product (per customer when
    there is no ``product_id``), purchases (positive price and quantity) and returns are put in
    time order, purchases before returns on the same timestamp, then file order. Returns are
    netted last-in first-out, exactly as a stack of units: a return takes units from the latest
    earlier purchase that has any left, then the one before, and so on; what no earlier purchase
    covers is unmatched. In window functions: with ``S`` the running sum of purchased minus
    returned units, the stack height is ``H = S - min(0, running min of S)``; a return matched
    ``H_before - H`` units, and a purchase keeps ``max(0, min(H from its row on) - H_before)``
    of its units. Quantities are netted in thousandths of a unit and amounts in cents, so the
    arithmetic is exact. A reduced purchase keeps its unit price: its amount becomes the kept
    quantity times amount/quantity, rounded to the cent (half to even). Purchases netted to
    zero and all return lines are removed.
cancellations (``mode: drop``)
    Return lines are removed, nothing is netted.
nonpositive_price
    Unit price (amount without unit prices) <= 0, or < 0 with ``keep_zero_amount``; and lines
    whose description matches ``bad_debt_pattern``.
non_merchandise
    Product codes in ``codes`` (case-insensitive) or descriptions matching ``description_pattern``.
date_window
    No date, or dated before ``cleaning.analysis_start``.
outliers
    Amount above ``exp(Q3 + k * (Q3 - Q1))`` of ``log(amount)`` over the positive amounts still
    in play (quantiles with linear interpolation); flagged (``is_outlier``), capped at the
    threshold, or dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np

from customer_analytics.core import engine
from customer_analytics.core.errors import ConfigError

#: Internal columns of the tagged table (never exported).
OUT, ROW, EXAMPLE_ORDER = "_out", "_row", "_ex"


@dataclass
class Context:
    """What a rule may know besides its own settings."""

    con: Any
    columns: tuple[str, ...]
    lines_identifiable: bool
    analysis_start: Any = None
    #: figures a rule reports (the outlier threshold and what lies above it)
    stats: dict = field(default_factory=dict)
    #: lines a rule chose to show as its examples, by audit label (default: the lines it removed)
    examples: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """One audit line a rule produces: its name, the action and whether it changes kept lines."""

    label: str
    action: str
    changes: bool = False


@dataclass(frozen=True)
class Rule:
    """A named cleaning rule: the function, its audit lines and the sentence the notebook shows."""

    name: str
    apply: Callable
    outcomes: Callable[[dict], list[Outcome]]
    explanation: str


def changed_column(label: str) -> str:
    """Column holding, per line, the change in cents an audit line made (null: unchanged)."""
    return "_d_" + "".join(ch if ch.isalnum() else "_" for ch in label)


def live(t):
    """The lines no earlier rule removed."""
    return t[OUT].isnull()


def _remove(t, bad, label: str, order=0):
    """Tag the lines in play where ``bad`` holds as removed by ``label``."""
    bad = bad.fill_null(False) & live(t)
    return t.mutate(**{OUT: ibis.ifelse(bad, ibis.literal(label), t[OUT]),
                       EXAMPLE_ORDER: ibis.ifelse(bad, ibis.literal(order, "int64"), t[EXAMPLE_ORDER])})


def _search(col, pattern: str):
    return col.re_search(pattern).fill_null(False)


# ------------------------------------------------------------------------------------ the rules


def missing_customer(t, rc, ctx):
    return _remove(t, t.customer_id.isnull(), "missing_customer")


def duplicates(t, rc, ctx):
    if not ctx.lines_identifiable:
        return t
    cols = [c for c in ctx.columns if c != "source_row"]
    first = ibis.row_number().over(ibis.window(group_by=[live(t), *(t[c] for c in cols)], order_by=t[ROW]))
    return _remove(t, first > 0, "duplicates")


def returns_mask(t, prefix: str | None):
    """Return lines: negative quantity (amount without quantities) or an order id with ``prefix``."""
    measure = t.quantity if "quantity" in t.columns else t.amount
    ret = (measure < 0).fill_null(False)
    if prefix:
        ret = ret | t.order_id.startswith(prefix).fill_null(False)
    return ret


def cancellations(t, rc, ctx):
    if rc["mode"] not in ("net", "drop"):
        raise ConfigError(f"cleaning.rules.cancellations.mode must be 'net' or 'drop', got '{rc['mode']}'")
    if rc["mode"] == "drop":
        return _remove(t, returns_mask(t, rc["invoice_prefix"]), "cancellations: dropped")
    return net_returns(t, rc["invoice_prefix"])


def net_returns(t, invoice_prefix: str | None = "C"):
    """Net returns against the same customer's latest earlier purchases (see the module docstring).

    Returns the table with return lines tagged ``cancellations: matched returns`` or
    ``cancellations: unmatched returns``, purchases netted to zero tagged as matched, and reduced
    purchases changed (their change in cents in :func:`changed_column` of the matched label).
    """
    matched, unmatched = "cancellations: matched returns", "cancellations: unmatched returns"
    qty = "quantity" in t.columns
    measure = t.quantity if qty else t.amount
    key = ["customer_id", "product_id"] if "product_id" in t.columns else ["customer_id"]
    is_ret = returns_mask(t, invoice_prefix)
    price = t.unit_price if "unit_price" in t.columns else t.amount
    buy = ~is_ret & (price > 0).fill_null(False) & (measure > 0).fill_null(False)
    units = ((measure.abs() * 1000).round().cast("int64") if qty else engine.cents(measure.abs()))
    ok = t.order_date.notnull() & live(t)
    buy = buy & ok
    is_ret = is_ret & live(t)
    t = t.mutate(_ret=is_ret, _buy=buy, _units=units, _in=buy | (is_ret & ok))
    t = t.mutate(_delta=ibis.cases((t._buy, t._units), (t._in, -t._units), else_=ibis.literal(0, "int64")))

    def win(**rows):
        return ibis.window(group_by=["_in", *key], order_by=["order_date", "_ret", ROW], **rows)

    t = t.mutate(_s=t._delta.sum().over(win(rows=(None, 0))))
    t = t.mutate(_h=t._s - ibis.least(ibis.literal(0, "int64"), t._s.min().over(win(rows=(None, 0)))))
    t = t.mutate(_hb=t._h.lag().over(win()).fill_null(0), _hmin=t._h.min().over(win(rows=(0, None))))
    t = t.mutate(_keep=ibis.ifelse(t._buy, ibis.greatest(ibis.literal(0, "int64"), t._hmin - t._hb), t._units),
                 _got=ibis.ifelse(t._ret & t._in, t._hb - t._h, ibis.literal(0, "int64")))
    t = t.mutate(_zero=t._buy & (t._keep == 0), _red=t._buy & (t._keep > 0) & (t._keep < t._units))
    if qty:
        t = t.mutate(_qty=t._keep.cast("float64") / 1000)
        t = t.mutate(_amt=engine.round_half_even(t._qty * (t.amount / t.quantity), 2))
    else:
        t = t.mutate(_amt=t._keep.cast("float64") / 100)
    sets = {
        changed_column(matched): ibis.ifelse(t._red, engine.cents(t._amt) - engine.cents(t.amount), ibis.null("int64")),
        "amount": ibis.ifelse(t._red, t._amt, t.amount),
        OUT: ibis.cases((t._ret & (t._got > 0), ibis.literal(matched)), (t._ret, ibis.literal(unmatched)),
                        (t._zero, ibis.literal(matched)), else_=t[OUT]),
        EXAMPLE_ORDER: ibis.ifelse(t._zero, ibis.literal(1, "int64"), t[EXAMPLE_ORDER]),
    }
    if qty:
        sets["quantity"] = ibis.ifelse(t._red, t._qty, t.quantity)
    t = t.mutate(**sets)
    return t.drop("_ret", "_buy", "_units", "_delta", "_in", "_s", "_h", "_hb", "_hmin", "_keep", "_got", "_zero", "_red",
                  "_amt", *(["_qty"] if qty else []))


def nonpositive_price(t, rc, ctx):
    value = t.unit_price if "unit_price" in t.columns else t.amount
    bad = (value < 0 if rc.get("keep_zero_amount") else value <= 0).fill_null(False)
    if "description" in t.columns and rc.get("bad_debt_pattern"):
        bad = bad | _search(t.description, rc["bad_debt_pattern"])
    return _remove(t, bad, "nonpositive_price")


def non_merchandise(t, rc, ctx):
    bad = ibis.literal(False)
    if "product_id" in t.columns and rc.get("codes"):
        codes = sorted({str(c).upper() for c in rc["codes"]})
        bad = bad | t.product_id.upper().isin(codes).fill_null(False)
    if "description" in t.columns and rc.get("description_pattern"):
        bad = bad | _search(t.description.strip(), rc["description_pattern"])
    return _remove(t, bad, "non_merchandise")


def date_window(t, rc, ctx):
    bad = t.order_date.isnull()
    if ctx.analysis_start is not None:
        bad = bad | (t.order_date < ibis.literal(ctx.analysis_start.to_pydatetime())).fill_null(False)
    return _remove(t, bad, "date_window")


def outlier_threshold(t, k: float, con) -> float:
    """``exp(Q3 + k * (Q3 - Q1))`` of ``log(amount)`` over the positive amounts of ``t``."""
    pos = t.filter(t.amount > 0)
    logs = pos.amount.log()
    q = con.execute(pos.aggregate(q1=logs.quantile(0.25), q3=logs.quantile(0.75)))
    q1, q3 = (float(q["q1"].iloc[0]), float(q["q3"].iloc[0])) if q["q1"].notna().all() else (0.0, 0.0)
    return float(np.exp(q3 + k * (q3 - q1)))


def outliers(t, rc, ctx):
    if rc["action"] not in ("flag", "cap", "drop"):
        raise ConfigError(f"cleaning.rules.outliers.action must be flag, cap or drop, got '{rc['action']}'")
    if rc["method"] != "iqr_log":
        raise ConfigError(f"cleaning.rules.outliers.method must be 'iqr_log', got '{rc['method']}'")
    threshold = outlier_threshold(t.filter(live(t)), float(rc["k"]), ctx.con)
    hit = (t.amount > threshold).fill_null(False) & live(t)
    h = t.filter(hit)
    hits = ctx.con.execute(h.aggregate(n=h.count(), c=engine.cents(h.amount).sum()))
    ctx.stats.update(outlier_threshold=round(threshold, 2), outlier_hits=int(hits["n"].iloc[0]),
                     outlier_cents=int(0 if hits["c"].isna().iloc[0] else hits["c"].iloc[0]))
    ctx.examples["outliers"] = t.filter(hit)
    if rc["action"] == "drop":
        return _remove(t, hit, "outliers")
    if rc["action"] == "flag":
        return t.mutate(is_outlier=hit, **{changed_column("outliers"): ibis.ifelse(hit, 0, ibis.null("int64"))})
    capped = ibis.ifelse(hit, ibis.literal(threshold), t.amount)
    return t.mutate(**{changed_column("outliers"): ibis.ifelse(hit, engine.cents(capped) - engine.cents(t.amount),
                                                               ibis.null("int64"))}).mutate(amount=capped)


def _one(name: str, action: str = "remove", changes: bool = False):
    return lambda rc: [Outcome(name, action, changes)]


def _cancellation_outcomes(rc: dict) -> list[Outcome]:
    if rc.get("mode") == "drop":
        return [Outcome("cancellations: dropped", "remove")]
    return [Outcome("cancellations: matched returns", "net", True),
            Outcome("cancellations: unmatched returns", "remove")]


def _outlier_outcomes(rc: dict) -> list[Outcome]:
    action = rc.get("action")
    return [Outcome("outliers", {"drop": "remove"}.get(action, action), action in ("flag", "cap"))]


#: The rules in the order they run.
RULES: tuple[Rule, ...] = (
    Rule("missing_customer", missing_customer, _one("missing_customer"),
         "Lines without a customer id cannot be attributed to anyone, so they leave the customer analysis; "
         "their count and revenue share are reported."),
    Rule("duplicates", duplicates, _one("duplicates"),
         "Lines identical in every column, order id included, are export duplicates; the first copy is kept. "
         "This applies only where lines are identifiable by an order or line id: without one (CDNOW), two "
         "identical lines on the same day are two real purchases and both are kept."),
    Rule("cancellations", cancellations, _cancellation_outcomes,
         "Returns and cancellations (invoice prefix or negative quantity) are netted against the same "
         "customer's most recent earlier purchase of the same product, so a cancelled order does not inflate "
         "spend; returns that match no earlier purchase are dropped and reported."),
    Rule("nonpositive_price", nonpositive_price, _one("nonpositive_price"),
         "Lines with a zero or negative unit price (free samples, bad-debt adjustments) are not sales and are "
         "removed (with keep_zero_amount, zero-value lines are kept as purchases)."),
    Rule("non_merchandise", non_merchandise, _one("non_merchandise"),
         "Postage, fees, bank charges and manual adjustments are not customer spend on products and are removed."),
    Rule("date_window", date_window, _one("date_window"),
         "Lines with no date, or dated before the analysis start, are removed. (Lines dated after the period "
         "end, typo dates in the future included, never enter the report at all: the period is cut before any "
         "rule runs, so a back-dated report is honest.)"),
    Rule("outliers", outliers, _outlier_outcomes,
         "Lines with an extreme amount (far above the usual range on a log scale) are flagged by default; "
         "capping or dropping them is an option."),
)

#: Rule name -> the sentence the notebook shows, in run order.
RULE_ORDER = {r.name: r.explanation for r in RULES}

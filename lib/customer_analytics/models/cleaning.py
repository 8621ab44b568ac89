"""Clean the canonical transactions inside the engine, with an audit trail built from the rules.

:func:`clean_transactions` cuts the data at the period end, runs the rules of
:mod:`customer_analytics.models.rules` in order (each one a small named function from table to table)
and builds the audit from what the rules tagged: for every rule, how many lines it removed or
changed, the revenue and customers affected, and example source rows. Everything runs as ibis
expressions in the engine (an embedded DuckDB by default, see :mod:`customer_analytics.core.engine`);
only the audit, the examples and, when asked for, the clean table come back to pandas.

Reading the files is :mod:`customer_analytics.io.reading`; its public names are available here too.

The audit adds up. Rows: the lines dated up to the period end
(``stats['rows_in_period']``) equal the clean rows plus every rule's
``rows_removed``; ``rows_changed`` counts lines kept but altered (a purchase
reduced by a return, a capped or flagged outlier, an id normalised while
loading). Revenue, in exact cents: ``revenue_removed`` is the sum of the
removed lines' amounts (returns negative), ``revenue_changed`` the change of
kept lines' amounts, ``revenue_effect = revenue_changed - revenue_removed``; the
raw revenue in the period plus every ``revenue_effect`` equals the clean revenue.
``revenue_share`` is ``revenue_effect`` as a fraction of the raw revenue. See
:func:`reconcile`.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from customer_analytics.core import engine
from customer_analytics.core.errors import InputError
from customer_analytics.core.paths import merge_checked, read_resource_yaml
from customer_analytics.io import ids
from customer_analytics.io.parsing import AUDIT_COLUMNS
from customer_analytics.io.reading import (  # noqa: F401  (the loading API, re-exported)
    CANONICAL,
    ENCODINGS,
    ID_FIX_COLUMN,
    OPTIONAL,
    REQUIRED,
    LoadResult,
    load_transactions,
    normalise_ids,
    presets,
    resolve_mapping,
)
from customer_analytics.models import rules as rulebook
from customer_analytics.models.rules import EXAMPLE_ORDER, OUT, ROW

#: Order in which the cleaning rules run, with the sentence the notebook shows.
RULE_ORDER = rulebook.RULE_ORDER




class CleanResult:
    """The clean table, the audit trail and the rows each rule touched.

    Attributes
    ----------
    data : DataFrame
        The clean lines in pandas (fetched from the engine on first use).
    audit : DataFrame
        One row per rule outcome, columns :data:`AUDIT_COLUMNS`.
    examples : dict of DataFrame
        Up to five lines each rule removed (or flagged), in file order.
    stats : dict
        Row and revenue counts (see :func:`clean_transactions`).
    table : ibis Table or None
        The clean lines as an expression in the engine, for steps that run there.
    """

    def __init__(self, data=None, audit=None, examples=None, stats=None, *, table=None, fetch=None):
        self._data, self._fetch = data, fetch
        self.audit, self.examples, self.stats, self.table = audit, examples or {}, stats or {}, table

    @property
    def data(self) -> pd.DataFrame:
        if self._data is None and self._fetch is not None:
            self._data = self._fetch()
        return self._data

    @data.setter
    def data(self, value: pd.DataFrame) -> None:
        self._data, self._fetch = value, None

    def __repr__(self) -> str:
        return f"CleanResult(rows={self.stats.get('rows_out')}, audit={len(self.audit)} lines)"


def default_rules() -> dict:
    """The default cleaning rules shipped in ``resources/cleaning_rules.yaml``."""
    return read_resource_yaml("cleaning_rules.yaml")


def cents(amounts: pd.Series) -> pd.Series:
    """Line amounts in whole cents (int64), rounded half away from zero per line.

    All money identities of the audit are computed on these integers, so they hold
    exactly, whatever order floats would have been added in. (In the engine:
    :func:`customer_analytics.core.engine.cents`.)
    """
    a = amounts.astype("float64").fillna(0.0).to_numpy()
    return pd.Series((np.sign(a) * np.floor(np.abs(a) * 100 + 0.5)).astype("int64"), index=amounts.index)


# -------------------------------------------------------------------------- cleaning


def _first(df: pd.DataFrame, col: str) -> int:
    """An integer the engine returned in a one-row result (0 for null, or a measure not asked for)."""
    v = df[col].iloc[0] if col in df else None
    return 0 if pd.isna(v) else int(v)


def _positioned(con, tx: pd.DataFrame):
    """A frame in the engine with its position in the frame (``_row``, the order lines keep)."""
    return engine.table(con, tx.assign(**{ROW: np.arange(len(tx), dtype="int64")}))


def _untagged(t):
    """The table with no line tagged by a rule yet (``_out`` null, example order 0)."""
    return t.mutate(**{OUT: ibis.null("string"), EXAMPLE_ORDER: ibis.literal(0, "int64")})


def _audit(con, t, plan: list, *, raw_cents: int, stats: dict) -> tuple[pd.DataFrame, dict[str, dict]]:
    """One aggregation over the tagged table: the audit line of every outcome in ``plan``, and
    the counts behind each line (removed, changed, matched returns) by its label."""
    measures = {}
    for i, (_step, _rule, outcome, _text) in enumerate(plan):
        if outcome is None:
            continue
        gone = t[OUT] == outcome.label
        touched = gone
        if outcome.changes:
            d = t[rulebook.changed_column(outcome.label)]
            touched = gone | d.notnull()
            measures[f"c{i}"] = t.count(where=d.notnull())
            measures[f"dc{i}"] = d.sum()
        measures[f"r{i}"] = t.count(where=gone)
        measures[f"rc{i}"] = engine.cents(t.amount).sum(where=gone)
        measures[f"k{i}"] = t.customer_id.nunique(where=touched)
        if outcome.label == "cancellations: matched returns":
            measures[f"m{i}"] = t.count(where=gone & (t[EXAMPLE_ORDER] == 0))
    agg = con.execute(t.aggregate(**measures)) if measures else pd.DataFrame([{}])
    rows, counted = [], {}
    for i, (step, rule, outcome, text) in enumerate(plan):
        if outcome is None:  # a disabled rule
            rows.append({"step": step, "rule": rule, "action": "disabled", **_zeros(), "explanation": text})
            continue
        removed, changed, matched = _first(agg, f"r{i}"), _first(agg, f"c{i}"), _first(agg, f"m{i}")
        removed_c, changed_c = _first(agg, f"rc{i}"), _first(agg, f"dc{i}")
        effect = changed_c - removed_c
        counts = counted[outcome.label] = {"removed": removed, "changed": changed, "matched": matched}
        rows.append({
            "step": step, "rule": outcome.label, "action": outcome.action,
            "rows_removed": removed, "rows_changed": changed,
            "revenue_removed": removed_c / 100, "revenue_changed": changed_c / 100, "revenue_effect": effect / 100,
            "revenue_share": effect / raw_cents if raw_cents else 0.0,
            "customers_affected": _first(agg, f"k{i}"),
            "example_rows": _example_rows(con, t, outcome) if removed or changed else "",
            "explanation": text(counts, stats) if callable(text) else text,
        })
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS), counted


def _zeros() -> dict:
    return {"rows_removed": 0, "rows_changed": 0, "revenue_removed": 0.0, "revenue_changed": 0.0,
            "revenue_effect": 0.0, "revenue_share": 0.0, "customers_affected": 0, "example_rows": ""}


def _example_rows(con, t, outcome) -> str:
    """The first three source rows an audit line touched: removed lines first, then changed ones."""
    gone = t[OUT] == outcome.label
    touched = gone | t[rulebook.changed_column(outcome.label)].notnull() if outcome.changes else gone
    first = t.filter(touched).mutate(_k=ibis.ifelse(gone, t[EXAMPLE_ORDER], ibis.literal(2, "int64")))
    rows = con.execute(first.order_by(["_k", ROW]).limit(3).select("source_row"))["source_row"]
    return "; ".join(str(int(r)) for r in rows)


def _explanations() -> dict:
    """The sentence of each audit line (some carry the rule's own counts)."""
    def matched(counts, s):
        zeroed = counts["removed"] - counts["matched"]
        return (rulebook.RULE_ORDER["cancellations"] + f" Removed: {counts['matched']:,} return lines and "
                f"{zeroed:,} purchase lines netted to zero; {counts['changed']:,} purchase lines were reduced (changed).")

    def outliers(counts, s):
        return (rulebook.RULE_ORDER["outliers"] + f" Threshold: {s['outlier_threshold']:,.2f} per line; "
                f"{s['outlier_hits']:,} lines above it carry {s['outlier_cents'] / 100:,.2f}.")

    return {
        "cancellations: matched returns": matched,
        "cancellations: unmatched returns": "Returns with no earlier purchase of that product by that customer "
        "(bought before the data starts, or a data error); dropped.",
        "cancellations: dropped": "Return and cancellation lines are dropped without netting.",
        "outliers": outliers,
    }


def clean_transactions(tx, rules: dict | None = None, period_end: str | pd.Timestamp | None = None,
                       analysis_start: str | pd.Timestamp | None = None, *, id_fixes: dict[str, int] | None = None,
                       lines_identifiable: bool | None = None, con=None) -> CleanResult:
    """Cut the data at the period end, apply the cleaning rules in :data:`RULE_ORDER`, audit each.

    The rules run in the engine (:mod:`customer_analytics.models.rules` defines each one).

    Parameters
    ----------
    tx : DataFrame or ibis Table
        Canonical transactions from :func:`load_transactions` (pandas, pushed into an embedded
        DuckDB) or from :func:`customer_analytics.io.reading.read_source` (a table in the engine).
    rules : dict, optional
        Overrides of the default rules (``resources/cleaning_rules.yaml``);
        unknown rule names or keys raise an error listing the valid ones.
    period_end : date-like, optional
        Last day of the reporting period (the whole day counts). Lines dated after it
        are set aside *before* any rule runs, so that no rule (return netting,
        duplicates, the outlier threshold) sees the future: the report of a month is
        the same whether the file holds later months or not. They are counted in
        ``stats['rows_after_period']`` (``stats['rows_after_today']`` of them are
        dated after today, probably typos), not in the audit.
    analysis_start : date-like, optional
        First day of the analysis window; earlier lines are removed by ``date_window``.
    id_fixes : dict, optional
        ``LoadResult.id_fixes``: the loader's id normalisations, recorded as
        step 0 of the audit so the table accounts for every change.
    lines_identifiable : bool, optional
        Whether lines carry a real order or line id (``LoadResult.lines_identifiable``).
        Without one, identical lines are separate purchases and ``duplicates`` keeps
        them. Default: true when there is an ``order_id`` column.
    con : ibis backend, optional
        The engine. Default: the table's own backend, or a new embedded DuckDB for a DataFrame.

    Returns
    -------
    CleanResult
        ``data`` (customer lines only, in file order), ``audit`` (one row per rule outcome,
        columns :data:`AUDIT_COLUMNS`), ``examples`` (rows each rule touched), ``stats`` and
        ``table`` (the clean lines in the engine).

    Notes
    -----
    The audit adds up, in rows and in exact cents: see the module docstring and :func:`reconcile`.

    Raises
    ------
    InputError
        If a rule removes every remaining row; the message names that rule.
    """
    cfg = merge_checked(default_rules(), rules or {}, where="cleaning.rules")
    con, t, dtypes = _in_engine(tx, con)
    columns = [c for c in t.columns if c not in (ID_FIX_COLUMN, ROW)]
    t, stats, raw_cents, id_fixes = _cut_at_period_end(con, t, period_end, id_fixes)
    ctx = _rule_context(con, columns, lines_identifiable, analysis_start)
    t, plan = _run_rules(_untagged(t), cfg, ctx)
    audit = _audit_trail(con, t, plan, raw_cents=raw_cents, ctx=ctx, id_fixes=id_fixes, stats=stats)
    examples = _examples(con, t, plan, chosen=ctx.examples, columns=columns, dtypes=dtypes)
    clean = _clean_lines(con, t, columns, stats)
    return CleanResult(None, audit, examples, stats, table=clean, fetch=lambda: _to_frame(con.execute(clean), dtypes))


def _in_engine(tx, con) -> tuple:
    """The engine, the input as a table there with its ``_row`` position, and a frame's dtypes (or None)."""
    if isinstance(tx, pd.DataFrame):
        con = con or engine.connect()
        return con, _positioned(con, tx), tx.dtypes.to_dict()
    con = con or tx._find_backend()
    return con, tx if ROW in tx.columns else tx.mutate(**{ROW: tx.source_row}), None


def _rule_context(con, columns: list[str], lines_identifiable: bool | None, analysis_start) -> rulebook.Context:
    """What the rules may know: the engine, the columns, whether lines are identifiable, the analysis start."""
    if lines_identifiable is None:
        lines_identifiable = "order_id" in columns
    return rulebook.Context(con=con, columns=tuple(columns), lines_identifiable=bool(lines_identifiable),
                            analysis_start=None if analysis_start is None else pd.Timestamp(analysis_start))


def _cut_at_period_end(con, t, period_end, id_fixes: dict | None) -> tuple:
    """The lines up to the period end, the stats of the file and the period, the period's raw cents
    and the id fixes (of the period's lines, when the table carries them)."""
    counts = {"rows_in_file": t.count()}
    if period_end is not None:
        end = (pd.Timestamp(period_end).normalize() + pd.Timedelta(days=1)).to_pydatetime()
        tomorrow = (pd.Timestamp.today().normalize() + pd.Timedelta(days=1)).to_pydatetime()
        counts.update(rows_after_period=t.count(where=t.order_date >= end),
                      rows_after_today=t.count(where=t.order_date >= tomorrow))
    got = con.execute(t.aggregate(**counts))
    if period_end is not None:
        t = t.filter((t.order_date < end) | t.order_date.isnull())
    stats: dict[str, int | float] = {k: _first(got, k) for k in ("rows_in_file", "rows_after_period", "rows_after_today")}
    t, got = _period_counts(con, t)
    raw_cents = _first(got, "cents")
    stats.update(rows_in_period=_first(got, "rows"), revenue_in_period=raw_cents / 100)
    if stats["rows_in_period"] == 0:
        when = f" {pd.Timestamp(period_end).date()}" if period_end is not None else ""
        raise InputError(f"No lines are dated on or before the period end{when}: nothing to clean for this period.")
    if "float_artefacts" in got:
        id_fixes = {f"customer_id_{name}": _first(got, name) for name, _ in _ID_BITS}
    return t, stats, raw_cents, id_fixes


#: The id-fix column's bits (:mod:`customer_analytics.io.ids`) by the name of their count.
_ID_BITS = (("float_artefacts", ids.FLOAT_BIT), ("padded", ids.PADDED_BIT), ("placeholders", ids.PLACEHOLDER_BIT),
            ("scientific", ids.SCIENTIFIC_BIT))


def _period_counts(con, t) -> tuple:
    """The period's lines without the id-fix column, and their rows, cents and id fixes (one query)."""
    period = {"rows": t.count(), "cents": engine.cents(t.amount).sum()}
    if ID_FIX_COLUMN in t.columns:  # count the id fixes of this period's lines only
        period.update({name: t.count(where=((t[ID_FIX_COLUMN] // bit) % 2) == 1) for name, bit in _ID_BITS})
    got = con.execute(t.aggregate(**period))
    return (t.drop(ID_FIX_COLUMN) if ID_FIX_COLUMN in t.columns else t), got


def _run_rules(t, cfg: dict, ctx) -> tuple:
    """The table tagged by every enabled rule (materialised), and the plan of audit lines."""
    plan: list = []
    texts = _explanations()
    for step, rule in enumerate(rulebook.RULES, start=1):
        rc = cfg[rule.name]
        if not rc.get("enabled", True):
            plan.append((step, rule.name, None, "Switched off in cleaning.rules."))
            continue
        if rule.name == "duplicates" and not ctx.lines_identifiable:
            plan.append((step, rule.name, rulebook.Outcome(rule.name, "kept"), (
                "The data has no order or line id, so two identical lines (same customer, day, "
                "quantity and amount) are two real purchases: no line was removed as a duplicate.")))
            continue
        t = rule.apply(t, rc, ctx)
        if rule.name == "cancellations":  # the window functions run once, not once per later query
            t = engine.materialize(t)
        for outcome in rule.outcomes(rc):
            plan.append((step, rule.name, outcome, texts.get(outcome.label, rule.explanation)))
    return engine.materialize(t), plan


def _id_fix_rows(id_fixes: dict | None) -> list[dict]:
    """Step 0 of the audit: one line per kind of customer id the loader normalised."""
    return [{"step": 0, "rule": rule, "action": "fix", **_zeros(), "rows_changed": int(id_fixes[key]),
             "explanation": f"While loading, customer ids were normalised: {what}."}
            for key, rule, what in (
                ("customer_id_float_artefacts", "customer ids: float artefacts",
                 "float artefacts such as 12346.0 became 12346"),
                ("customer_id_scientific", "customer ids: scientific notation",
                 "scientific notation such as 1.2346E+04 became 12346"),
                ("customer_id_padded", "customer ids: padded", "surrounding spaces were stripped"),
                ("customer_id_placeholders", "customer ids: placeholders",
                 "placeholders such as NaN, NULL, None or - mean no customer (the lines are counted as "
                 "missing customer below)"))
            if (id_fixes or {}).get(key)]


def _audit_trail(con, t, plan: list, *, raw_cents: int, ctx, id_fixes: dict | None, stats: dict) -> pd.DataFrame:
    """The audit (id fixes, then every rule's lines), checked to leave rows; adds the rules' figures to ``stats``."""
    fixes = _id_fix_rows(id_fixes)
    rule_rows, counted = _audit(con, t, plan, raw_cents=raw_cents, stats=ctx.stats)
    audit = pd.concat([pd.DataFrame(fixes, columns=AUDIT_COLUMNS), rule_rows], ignore_index=True) if fixes else rule_rows
    _check_left(audit, stats["rows_in_period"])
    if "outlier_threshold" in ctx.stats:
        stats["outlier_threshold"] = ctx.stats["outlier_threshold"]
    if "cancellations: matched returns" in counted:
        stats["returns_matched"] = counted["cancellations: matched returns"]["matched"]
        stats["returns_unmatched"] = counted["cancellations: unmatched returns"]["removed"]
    return audit


def _clean_lines(con, t, columns: list[str], stats: dict):
    """The lines no rule removed, in file order; adds their rows and revenue to ``stats``."""
    clean = t.filter(t[OUT].isnull())
    out_cols = columns + (["is_outlier"] if "is_outlier" in t.columns else [])
    clean = clean.order_by(ROW).select(out_cols)
    got = con.execute(clean.aggregate(rows=clean.count(), cents=engine.cents(clean.amount).sum()))
    stats["rows_out"] = _first(got, "rows")
    stats["revenue_out"] = _first(got, "cents") / 100
    return clean


def net_returns(tx: pd.DataFrame, invoice_prefix: str | None = "C", *, con=None) -> tuple[pd.DataFrame, dict]:
    """The return netting rule alone, on a pandas table (see :func:`customer_analytics.models.rules.net_returns`).

    Returns
    -------
    (DataFrame, dict)
        The lines without returns and without purchases netted to zero, reduced purchases
        changed; and ``matched`` / ``unmatched`` return lines, ``reduced`` (those purchases as
        they were), ``reduced_after`` (their new amounts), ``zeroed`` purchases and
        ``revenue_netted`` (the revenue the returns took off purchases, exact to the cent).
    """
    con = con or engine.connect()
    t = _untagged(_positioned(con, tx))
    label = "cancellations: matched returns"
    df = _to_frame(con.execute(rulebook.net_returns(t, invoice_prefix).order_by(ROW)), tx.dtypes.to_dict())
    delta = df[rulebook.changed_column(label)]
    kept, reduced = df[OUT].isna(), delta.notna()
    zeroed = (df[OUT] == label) & (df[EXAMPLE_ORDER] == 1)
    pos = df[ROW].to_numpy()
    netted = int(cents(tx.iloc[pos[zeroed]]["amount"]).sum()) - int(delta[reduced].sum())
    detail = {
        "matched": tx.iloc[pos[(df[OUT] == label) & (df[EXAMPLE_ORDER] == 0)]],
        "unmatched": tx.iloc[pos[df[OUT] == "cancellations: unmatched returns"]],
        "reduced": tx.iloc[pos[reduced]],
        "reduced_after": df.loc[reduced, "amount"].reset_index(drop=True),
        "zeroed": tx.iloc[pos[zeroed]],
        "revenue_netted": netted / 100,
    }
    return df.loc[kept, list(tx.columns)].reset_index(drop=True), detail


def _check_left(audit: pd.DataFrame, rows_in_period: int) -> None:
    """Raise when a rule removed the last remaining rows, naming the first rule that did."""
    left = rows_in_period - audit["rows_removed"].where(audit["step"] > 0, 0).cumsum()
    empty = audit[(left == 0) & (audit["step"] > 0)]
    if len(empty):
        rule = str(empty["rule"].iloc[0]).split(":")[0]
        raise InputError(
            f"Cleaning rule '{rule}' removed the last remaining rows: nothing is left to "
            f"analyse. Check the input or disable the rule with cleaning.rules.{rule}.enabled: false."
        )


def _examples(con, t, plan: list, *, chosen: dict, columns: list[str], dtypes: dict | None) -> dict[str, pd.DataFrame]:
    """Up to five lines per audit line, in file order: what the rule removed, or the lines a rule
    chose itself (``chosen``, by label: the outliers it flagged or capped)."""
    out: dict[str, pd.DataFrame] = {}
    for _step, _rule, outcome, _text in plan:
        if outcome is None:
            continue
        if outcome.action == "kept":
            rows = t.filter(ibis.literal(False))
        elif outcome.label in chosen:
            rows = chosen[outcome.label]
        else:
            rows = t.filter((t[OUT] == outcome.label) & (t[EXAMPLE_ORDER] == 0))
        rows = rows.order_by(ROW).limit(5).select(columns)
        out[outcome.label] = _to_frame(con.execute(rows), dtypes)
    return out


def _to_frame(df: pd.DataFrame, dtypes: dict | None) -> pd.DataFrame:
    """An engine result in the dtypes of the input frame (strings, nanosecond dates, floats)."""
    df = df.reset_index(drop=True)
    for col, dtype in (dtypes or {}).items():
        if col in df:
            df[col] = df[col].astype(dtype)
    if "is_outlier" in df:
        df["is_outlier"] = df["is_outlier"].astype(bool)
    return df


def reconcile(result: CleanResult) -> pd.DataFrame:
    """The audit as a reconciliation: lines and revenue from the raw period data to the clean table.

    One row for the raw lines dated up to the period end, one per rule that removed
    or changed anything, and one for the clean table. ``rows`` and ``revenue`` are
    running totals; the last row equals the clean table exactly (rows, and revenue
    to the cent), which :func:`check_reconciliation` asserts.
    """
    a = result.audit[result.audit["step"] > 0]
    a = a[(a["rows_removed"] > 0) | (a["revenue_effect"] != 0)]
    s = result.stats
    steps = pd.DataFrame({"stage": a["rule"], "rows": -a["rows_removed"], "revenue": a["revenue_effect"],
                          "rows_changed": a["rows_changed"]})
    head = pd.DataFrame({"stage": ["raw lines up to the period end"], "rows": [s["rows_in_period"]],
                         "revenue": [s["revenue_in_period"]], "rows_changed": [0]})
    body = pd.concat([head, steps], ignore_index=True)
    total_rows = int(body["rows"].sum())
    total_rev = int(round(body["revenue"].mul(100).round().sum())) / 100
    tail = pd.DataFrame({"stage": ["clean table"], "rows": [total_rows], "revenue": [total_rev],
                         "rows_changed": [int(a["rows_changed"].sum())]})
    out = pd.concat([body, tail], ignore_index=True)
    return out.rename(columns={"rows": "rows (+/-)", "revenue": "revenue (+/-)"})


def check_reconciliation(result: CleanResult) -> None:
    """Raise ``AssertionError`` unless the audit adds up (rows and cents) to the clean table."""
    a = result.audit[result.audit["step"] > 0]
    s = result.stats
    rows = s["rows_in_period"] - int(a["rows_removed"].sum())
    assert rows == len(result.data) == s["rows_out"], (rows, len(result.data))
    rev = round(s["revenue_in_period"] * 100) + int(round((a["revenue_effect"] * 100).round().sum()))
    assert rev == int(cents(result.data["amount"]).sum()), (rev, int(cents(result.data["amount"]).sum()))


# -------------------------------------------------------------------------- summaries


def summarise(tx: pd.DataFrame) -> pd.Series:
    """Rows, customers, orders, revenue and date range of a transaction table."""
    return pd.Series(
        {
            "rows": len(tx),
            "customers": int(tx["customer_id"].nunique()),
            "orders": int(tx["order_id"].nunique()),
            "revenue": int(cents(tx["amount"]).sum()) / 100,
            "first_date": tx["order_date"].min().date().isoformat() if len(tx) else "",
            "last_date": tx["order_date"].max().date().isoformat() if len(tx) else "",
        }
    )


def before_after(raw: pd.DataFrame, clean: pd.DataFrame, period_end=None) -> pd.DataFrame:
    """Side-by-side :func:`summarise` of the raw lines (up to ``period_end``, the scope of the
    audit, when given) and the clean table."""
    if period_end is not None:
        raw = raw[~(raw["order_date"] >= pd.Timestamp(period_end).normalize() + pd.Timedelta(days=1))]
    return pd.DataFrame({"raw": summarise(raw.drop(columns=ID_FIX_COLUMN, errors="ignore")),
                         "clean": summarise(clean)})


def missing_by_column(tx: pd.DataFrame) -> pd.DataFrame:
    """Count and share of missing values per column."""
    n = tx.isna().sum()
    return pd.DataFrame({"missing": n, "share": (n / max(len(tx), 1)).round(4)})


def monthly(tx: pd.DataFrame) -> pd.DataFrame:
    """Orders, customers and revenue per calendar month."""
    g = tx.groupby(tx["order_date"].dt.to_period("M"))
    return pd.DataFrame(
        {
            "orders": g["order_id"].nunique(),
            "customers": g["customer_id"].nunique(),
            "revenue": g["amount"].sum().round(2),
        }
    ).rename_axis("month")


def top_groups(tx: pd.DataFrame, column: str, n: int = 10) -> pd.DataFrame:
    """Customers and revenue of the top ``n`` values of ``column`` (e.g. country)."""
    if column not in tx:
        return pd.DataFrame(columns=["customers", "revenue", "revenue_share"])
    g = tx.groupby(column).agg(customers=("customer_id", "nunique"), revenue=("amount", "sum"))
    g["revenue_share"] = g["revenue"] / g["revenue"].sum()
    g["revenue"] = g["revenue"].round(2)
    return g.sort_values("revenue", ascending=False).head(n)


def last_complete_month(dates: pd.Series, today: pd.Timestamp | None = None) -> pd.Period:
    """The last calendar month fully covered by ``dates``.

    Dates after ``today`` (typos such as year 2099) are ignored. The month of the
    latest date counts as complete only if that date is the month's last day.
    """
    today = (today or pd.Timestamp.today()).normalize()
    d = dates[dates < today + pd.Timedelta(days=1)].dropna()
    if d.empty:
        raise InputError("No transaction dates on or before today: cannot choose a period.")
    last = d.max().normalize()
    month = last.to_period("M")
    return month if last == month.end_time.normalize() else month - 1


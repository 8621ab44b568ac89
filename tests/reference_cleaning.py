"""The cleaning step written plainly in pandas: the reference the engine's rules are tested against.

This is the definition of every rule and of the audit, one line of pandas at a time (the return
netting as an explicit stack of units). Production runs the rules as ibis expressions in the
engine (:mod:`customer_analytics.models.rules`); ``tests/test_engine_cleaning.py`` asserts that both give
identical tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.core.paths import merge_checked
from customer_analytics.models import cleaning  # noqa: F401
from customer_analytics.models.cleaning import (
    AUDIT_COLUMNS,
    ID_FIX_COLUMN,
    RULE_ORDER,
    CleanResult,
    cents,
    default_rules,
)


def _examples(rows: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    return rows.head(n).reset_index(drop=True)


def _audit_row(step: int, rule: str, action: str, removed: pd.DataFrame | None,
               changed_before: pd.DataFrame | None = None, changed_after: pd.Series | None = None,
               raw_cents: int = 0, explanation: str = "", touched_extra: pd.DataFrame | None = None) -> dict:
    """One audit line. Money is counted in cents: removed lines' amounts (signed, as in the data)
    and the change of kept lines' amounts (after minus before)."""
    removed_c = int(cents(removed["amount"]).sum()) if removed is not None and len(removed) else 0
    changed_c = 0
    if changed_before is not None and len(changed_before) and changed_after is not None:
        changed_c = int(cents(changed_after).sum() - cents(changed_before["amount"]).sum())
    parts = [d for d in (removed, changed_before, touched_extra) if d is not None and len(d)]
    touched = pd.concat(parts) if parts else None
    effect_c = changed_c - removed_c
    return {
        "step": step,
        "rule": rule,
        "action": action,
        "rows_removed": 0 if removed is None else len(removed),
        "rows_changed": 0 if changed_before is None else len(changed_before),
        "revenue_removed": removed_c / 100,
        "revenue_changed": changed_c / 100,
        "revenue_effect": effect_c / 100,
        "revenue_share": effect_c / raw_cents if raw_cents else 0.0,
        "customers_affected": 0 if touched is None else int(touched["customer_id"].nunique()),
        "example_rows": "" if touched is None else "; ".join(map(str, touched["source_row"].head(3))),
        "explanation": explanation,
    }


def net_returns(tx: pd.DataFrame, invoice_prefix: str = "C") -> tuple[pd.DataFrame, dict]:
    """Return netting as a stack of units, one line at a time (the definition, written plainly).

    Per customer and product, lines in time order (purchases before returns on the same
    timestamp, then file order); a purchase pushes its units, a return pops units from the
    top (the latest purchases first); what the stack cannot cover is unmatched.
    """
    measure = "quantity" if "quantity" in tx else "amount"
    key = ["customer_id", "product_id"] if "product_id" in tx else ["customer_id"]
    is_return = tx[measure].lt(0)
    if invoice_prefix:
        is_return |= tx["order_id"].str.startswith(invoice_prefix).fillna(False)
    price_ok = tx["unit_price"].gt(0) if "unit_price" in tx else tx["amount"].gt(0)
    buy = ~is_return & price_ok & tx[measure].gt(0) & tx["order_date"].notna()
    scale = 1000 if measure == "quantity" else 100
    units = (tx[measure].abs() * scale).round().astype("int64") if measure == "quantity" else \
        cleaning.cents(tx[measure].abs())
    keep = units.where(buy, 0).copy()
    got = pd.Series(0, index=tx.index, dtype="int64")
    lines = tx.assign(_ret=is_return, _pos=np.arange(len(tx)))
    lines = lines[(buy | (is_return & tx["order_date"].notna()))]
    for _, g in lines.sort_values(["order_date", "_ret", "_pos"], kind="stable").groupby(key, dropna=False, sort=False):
        stack: list = []  # [index, units left]
        for idx, ret in zip(g.index, g["_ret"], strict=True):
            if not ret:
                stack.append([idx, int(units[idx])])
                continue
            need = int(units[idx])
            while need and stack:
                take = min(need, stack[-1][1])
                stack[-1][1] -= take
                need -= take
                got[idx] += take
                if stack[-1][1] == 0:
                    stack.pop()
        left = dict(stack)
        for idx in g.index[~g["_ret"].to_numpy()]:
            keep[idx] = left.get(idx, 0)
    changed = buy & keep.lt(units)
    zeroed_idx = tx.index[changed & keep.eq(0)]
    reduced_idx = tx.index[changed & keep.gt(0)]
    out = tx[~is_return].copy()
    if measure == "quantity":
        new_q = keep[reduced_idx] / 1000
        out.loc[reduced_idx, "amount"] = (new_q * (tx.loc[reduced_idx, "amount"] / tx.loc[reduced_idx, "quantity"])).round(2)
        out.loc[reduced_idx, "quantity"] = new_q
    else:
        out.loc[reduced_idx, "amount"] = keep[reduced_idx] / 100
    matched_mask = got[is_return].gt(0)
    detail = {
        "reduced_after": out.loc[reduced_idx, "amount"],
        "matched": tx[is_return][matched_mask],
        "unmatched": tx[is_return][~matched_mask],
        "reduced": tx.loc[reduced_idx],
        "zeroed": tx.loc[zeroed_idx],
    }
    return out.drop(index=zeroed_idx), detail


def clean_transactions(
    tx: pd.DataFrame,
    rules: dict | None = None,
    period_end: str | pd.Timestamp | None = None,
    analysis_start: str | pd.Timestamp | None = None,
    id_fixes: dict[str, int] | None = None,
    lines_identifiable: bool | None = None,
) -> CleanResult:
    """:func:`customer_analytics.models.cleaning.clean_transactions`, in plain pandas (same parameters, same result)."""
    cfg = merge_checked(default_rules(), rules or {}, where="cleaning.rules")
    df = tx.copy()
    stats: dict[str, int | float] = {"rows_in_file": len(df), "rows_after_period": 0, "rows_after_today": 0}
    if period_end is not None:
        end = pd.Timestamp(period_end).normalize() + pd.Timedelta(days=1)
        after = df["order_date"] >= end
        tomorrow = pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
        stats["rows_after_period"] = int(after.sum())
        stats["rows_after_today"] = int((df["order_date"] >= tomorrow).sum())
        df = df[~after]
    raw_cents = int(cents(df["amount"]).sum())
    stats.update(rows_in_period=len(df), revenue_in_period=raw_cents / 100)
    if df.empty:
        raise InputError(f"No lines are dated on or before the period end {pd.Timestamp(period_end).date()}: "
                         "nothing to clean for this period.")
    if lines_identifiable is None:
        lines_identifiable = "order_id" in df
    if ID_FIX_COLUMN in df:  # count the id fixes of this period's lines only
        flag = df.pop(ID_FIX_COLUMN).to_numpy()
        id_fixes = {"customer_id_float_artefacts": int((flag & 1).astype(bool).sum()),
                    "customer_id_padded": int((flag & 2).astype(bool).sum())}
    audit: list[dict] = []
    examples: dict[str, pd.DataFrame] = {}
    for key, rule, what in (
        ("customer_id_float_artefacts", "customer ids: float artefacts", "float artefacts such as 12346.0 became 12346"),
        ("customer_id_padded", "customer ids: padded", "surrounding spaces were stripped"),
    ):
        if (id_fixes or {}).get(key):
            audit.append({**_audit_row(0, rule, "fix", None), "rows_changed": int(id_fixes[key]),
                          "explanation": f"While loading, customer ids were normalised: {what}."})

    def check_left(rule: str) -> None:
        if df.empty:
            raise InputError(
                f"Cleaning rule '{rule}' removed the last remaining rows: nothing is left to "
                f"analyse. Check the input or disable the rule with cleaning.rules.{rule}.enabled: false."
            )

    def row(step, rule, action, removed, before=None, after=None, explanation="", extra=None):
        return _audit_row(step, rule, action, removed, before, after, raw_cents, explanation, extra)

    step = 0
    for rule in RULE_ORDER:
        rc = cfg[rule]
        step += 1
        if not rc.get("enabled", True):
            audit.append({**row(step, rule, "disabled", None), "explanation": "Switched off in cleaning.rules."})
            continue
        text = RULE_ORDER[rule]
        if rule == "missing_customer":
            gone = df[df["customer_id"].isna()]
            df = df[df["customer_id"].notna()]
            audit.append(row(step, rule, "remove", gone, explanation=text))
        elif rule == "duplicates":
            if not lines_identifiable:
                audit.append(row(step, rule, "kept", None, explanation=(
                    "The data has no order or line id, so two identical lines (same customer, day, "
                    "quantity and amount) are two real purchases: no line was removed as a duplicate.")))
                examples[rule] = _examples(df.iloc[:0])
                continue
            cols = [c for c in df.columns if c != "source_row"]
            dup = df.duplicated(subset=cols, keep="first")
            gone, df = df[dup], df[~dup]
            audit.append(row(step, rule, "remove", gone, explanation=text))
        elif rule == "cancellations":
            if rc["mode"] not in ("net", "drop"):
                raise ConfigError(f"cleaning.rules.cancellations.mode must be 'net' or 'drop', got '{rc['mode']}'")
            if rc["mode"] == "net":
                df, d = net_returns(df, rc["invoice_prefix"])
                audit.append(row(
                    step, "cancellations: matched returns", "net", pd.concat([d["matched"], d["zeroed"]]),
                    d["reduced"], d["reduced_after"],
                    explanation=text + f" Removed: {len(d['matched']):,} return lines and {len(d['zeroed']):,} "
                    f"purchase lines netted to zero; {len(d['reduced']):,} purchase lines were reduced (changed).",
                ))
                audit.append(row(
                    step, "cancellations: unmatched returns", "remove", d["unmatched"],
                    explanation="Returns with no earlier purchase of that product by that customer "
                    "(bought before the data starts, or a data error); dropped.",
                ))
                examples["cancellations: matched returns"] = _examples(d["matched"])
                examples["cancellations: unmatched returns"] = _examples(d["unmatched"])
                stats["returns_matched"], stats["returns_unmatched"] = len(d["matched"]), len(d["unmatched"])
                check_left(rule)
                continue
            measure = "quantity" if "quantity" in df else "amount"
            ret = df[measure].lt(0) | df["order_id"].str.startswith(rc["invoice_prefix"]).fillna(False)
            gone, df = df[ret], df[~ret]
            audit.append(row(step, "cancellations: dropped", "remove", gone,
                             explanation="Return and cancellation lines are dropped without netting."))
            examples["cancellations: dropped"] = _examples(gone)
            check_left(rule)
            continue
        elif rule == "nonpositive_price":
            value = df["unit_price"] if "unit_price" in df else df["amount"]
            bad = value.lt(0) if rc.get("keep_zero_amount") else value.le(0)
            if "description" in df and rc.get("bad_debt_pattern"):
                bad |= df["description"].str.contains(rc["bad_debt_pattern"], regex=True).fillna(False)
            gone, df = df[bad], df[~bad]
            audit.append(row(step, rule, "remove", gone, explanation=text))
        elif rule == "non_merchandise":
            bad = pd.Series(False, index=df.index)
            if "product_id" in df and rc.get("codes"):
                codes = {str(c).upper() for c in rc["codes"]}
                bad |= df["product_id"].str.upper().isin(codes).fillna(False)
            if "description" in df and rc.get("description_pattern"):
                bad |= df["description"].str.strip().str.contains(rc["description_pattern"], regex=True).fillna(False)
            gone, df = df[bad], df[~bad]
            audit.append(row(step, rule, "remove", gone, explanation=text))
        elif rule == "date_window":
            bad = df["order_date"].isna()
            if analysis_start is not None:
                bad |= df["order_date"] < pd.Timestamp(analysis_start)
            gone, df = df[bad], df[~bad]
            audit.append(row(step, rule, "remove", gone, explanation=text))
        elif rule == "outliers":
            if rc["action"] not in ("flag", "cap", "drop"):
                raise ConfigError(f"cleaning.rules.outliers.action must be flag, cap or drop, got '{rc['action']}'")
            if rc["method"] != "iqr_log":
                raise ConfigError(f"cleaning.rules.outliers.method must be 'iqr_log', got '{rc['method']}'")
            logs = np.log(df.loc[df["amount"] > 0, "amount"])
            q1, q3 = logs.quantile([0.25, 0.75]) if len(logs) else (0.0, 0.0)
            threshold = float(np.exp(q3 + rc["k"] * (q3 - q1)))
            out_mask = df["amount"] > threshold
            hit = df[out_mask]
            stats["outlier_threshold"] = round(threshold, 2)
            expl = text + f" Threshold: {threshold:,.2f} per line; {len(hit):,} lines above it carry " \
                          f"{float(cents(hit['amount']).sum()) / 100:,.2f}."
            if rc["action"] == "flag":
                df = df.assign(is_outlier=out_mask)
                audit.append(row(step, rule, "flag", None, hit, hit["amount"], explanation=expl))
            elif rc["action"] == "cap":
                df = df.assign(amount=df["amount"].clip(upper=threshold))
                audit.append(row(step, rule, "cap", None, hit, df.loc[hit.index, "amount"], explanation=expl))
            else:
                df = df[~out_mask]
                audit.append(row(step, rule, "remove", hit, explanation=expl))
        examples[audit[-1]["rule"]] = _examples(gone if rule != "outliers" else hit)
        check_left(rule)

    audit_df = pd.DataFrame(audit, columns=AUDIT_COLUMNS)
    stats["rows_out"] = len(df)
    stats["revenue_out"] = int(cents(df["amount"]).sum()) / 100
    return CleanResult(df.reset_index(drop=True), audit_df, examples, stats)

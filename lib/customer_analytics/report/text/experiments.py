"""A/B(/n) evaluation in words: formatted numbers, reader tables, the decision and its summary.

Built from :mod:`customer_analytics.models.experiments` results (facts and codes) and the
language catalogs (keys ``nb04.*``). Labels from data are escaped in Markdown text.

Money: a metric is money when its name says so (:func:`customer_analytics.report.formatting.is_money_name`:
revenue, spend, amount, ...); its figures carry ``currency`` (the config's ``report.currency``),
two decimals, in tables and sentences. A ``$`` in Markdown text is kept from being read as a
formula (:func:`customer_analytics.report.markup.no_math`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from customer_analytics.models.experiments import (
    MIN_CELL_USERS,
    Decision,
    Effect,
    ExperimentResult,
    SRMResult,
    decide,
    segment_claims,
    treatment_arms_of,
)
from customer_analytics.report.formatting import (
    fmt_change,
    fmt_money,
    fmt_number,
    fmt_pp,
    fmt_pvalue,
    fmt_share,
    is_money_name,
)
from customer_analytics.report.i18n import column_label, has, t
from customer_analytics.report.markup import esc, md_money, no_math

# ------------------------------------------------------------------ formatting for people


def amount(v: float, currency: str = "", *, signed: bool = True) -> str:
    """An effect or a mean for a reader: money with ``currency`` ('+£4.24'), else a plain number ('+1.25').

    Both from the one formatter set (:func:`~customer_analytics.report.formatting.fmt_money`,
    :func:`~customer_analytics.report.formatting.fmt_number`).
    """
    return fmt_money(v, currency, signed=signed) if currency else fmt_number(v, signed=signed)


def money_symbol(metric, currency: str = "") -> str:
    """``currency`` for a money metric (see the module docstring), else ''."""
    return currency if currency and is_money_name(metric) else ""


def fmt_diff(kind: str, diff: float, lo: float, hi: float, *, alpha: float = 0.05, language: str = "en",
             currency: str = "") -> str:
    """Absolute effect with its interval: '+7.66 pp (95% CI +6.99 to +8.32 pp)' for rates.

    ``currency`` is put on a mean's figures ('+£4.24 (95% CI -£0.33 to +£8.80)'); give it for money metrics only.
    """
    lvl = f"{(1 - alpha) * 100:g}%"
    if kind == "binary":
        return t("nb04.interval", language, value=fmt_pp(diff), level=lvl, low=fmt_pp(lo).removesuffix(" pp"),
                 high=fmt_pp(hi))
    return t("nb04.interval", language, value=amount(diff, currency), level=lvl,
             low=amount(lo, currency), high=amount(hi, currency))


def fmt_effect(kind: str, diff: float, currency: str = "") -> str:
    """An effect without its interval: '+7.66 pp' for rates, '+1.25' (or '+£1.25' with ``currency``) for means."""
    return fmt_pp(diff) if kind == "binary" else amount(diff, currency)


def fmt_lift(lift: float, lo: float, hi: float, *, alpha: float = 0.05, language: str = "en") -> str:
    """Relative lift with its interval: '+72% (95% CI +60% to +84%)'.

    Without an interval (a rate or mean of 0 or below) '-100% (no interval)'; without a lift 'n/a'.
    """
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return fmt_change(lift) if not np.isfinite(lift) else t("nb04.lift_no_interval", language, value=fmt_change(lift))
    return t("nb04.interval", language, value=fmt_change(lift), level=f"{(1 - alpha) * 100:g}%", low=fmt_change(lo),
             high=fmt_change(hi))


def p_text(label: str, p: float) -> str:
    """'adjusted p = 0.0658' or 'adjusted p < 0.001' (:func:`~customer_analytics.report.formatting.fmt_pvalue`)."""
    f = fmt_pvalue(p)
    return f"{label} < {f[1:]}" if f.startswith("<") else f"{label} = {f}"


def _analysed(effects: pd.DataFrame) -> pd.DataFrame:
    """The rows of an effects table that were analysed (segment cells skipped as too small left out)."""
    return effects[effects["status"] == "ok"] if "status" in effects else effects


def _symbols(e: pd.DataFrame, currency: str) -> list[str]:
    """The currency symbol of each row (its metric's money, :func:`money_symbol`), '' for the others."""
    return [money_symbol(m, currency) for m in e["metric"]]


def readable_effects(effects: pd.DataFrame, alpha: float = 0.05, language: str = "en", *,
                     currency: str = "") -> pd.DataFrame:
    """Effects for a reader: rates in % and pp, money with ``currency``, relative lift in %, words in ``language``.

    Works for the effects, pairwise and segment-effects tables (skipped cells are left out).
    The p-value columns (``p``, ``adjusted p``) and ``chance to beat`` stay numbers; the
    report formats them (see :func:`table_options`). The relative lift is mean_t / mean_c - 1
    with its interval on the log of the ratio; rows where it disagrees with the difference's
    interval, or has none, are explained by :func:`lift_notes`.
    """
    e = _analysed(effects)
    ctrl_col = "mean_versus" if "mean_versus" in e else "mean_control"
    chance_col = "prob_beat_versus" if "prob_beat_versus" in e else "prob_beat_control"
    vs, cur = t("nb04.vs", language), _symbols(e, currency)

    def level(kind, m, c):
        return f"{m * 100:.2f}%" if kind == "binary" else amount(m, c, signed=False)

    out = pd.DataFrame({
        **({"segment": e["segment_column"] + " = " + e["segment"].astype(str)} if "segment_column" in e else {}),
        "arm": e["arm"] + (f" {vs} " + e["versus"] if "versus" in e else ""),
        "metric": e["metric"],
        "treatment": [level(k, m, c) for k, m, c in zip(e["kind"], e["mean_treatment"], cur, strict=True)],
        "comparison": [level(k, m, c) for k, m, c in zip(e["kind"], e[ctrl_col], cur, strict=True)],
        "effect": [fmt_diff(k, d, lo, hi, alpha=alpha, language=language, currency=c) for k, d, lo, hi, c in
                   zip(e["kind"], e["diff"], e["ci_low"], e["ci_high"], cur, strict=True)],
        "relative lift": [fmt_lift(x, lo, hi, alpha=alpha, language=language) for x, lo, hi in
                          zip(e["lift"], e["lift_ci_low"], e["lift_ci_high"], strict=True)],
        "p": e["p_value"].astype(float),
        "adjusted p": e["p_adjusted"].astype(float),
        "chance to beat": e[chance_col].astype(float),
    })
    return out.reset_index(drop=True)


def readable_cuped(cuped: pd.DataFrame, alpha: float = 0.05, language: str = "en", *,
                   currency: str = "") -> pd.DataFrame:
    """CUPED rows for a reader: adjusted effect in pp (rates) or the metric's unit (money with ``currency``).

    The relative lift (when the table has it) is the ratio of the adjusted means minus 1, its
    interval on the log of that ratio. Shares stay numbers. ``theta`` is shown with three significant digits (as text),
    so that a small coefficient is not rounded to 0.
    """
    c, cur = cuped, _symbols(cuped, currency)
    return pd.DataFrame({
        "arm": c["arm"], "metric": c["metric"],
        "CUPED effect": [fmt_diff(k, d, lo, hi, alpha=alpha, language=language, currency=m) for k, d, lo, hi, m in
                         zip(c["kind"], c["diff"], c["ci_low"], c["ci_high"], cur, strict=True)],
        **({"CUPED relative lift": [fmt_lift(x, lo, hi, alpha=alpha, language=language) for x, lo, hi in
                                    zip(c["lift"], c["lift_ci_low"], c["lift_ci_high"], strict=True)]}
           if "lift" in c else {}),
        "p": c["p_value"].astype(float),
        "variance reduction": c["variance_reduction"].astype(float),
        "interval width vs unadjusted": (c["ci_high"] - c["ci_low"]) / c["unadjusted_ci_width"],
        # three significant digits without scientific notation: a small theta is not shown as 0.000
        "theta": c["theta"].map(lambda x: np.format_float_positional(x, precision=3, fractional=False, trim="-")),
    }).reset_index(drop=True)


def lift_notes(effects: pd.DataFrame, language: str = "en") -> str:
    """Why some rows' relative lift needs a word: one short sentence per ``lift_ci_status`` code met ('' if none).

    ``differs``: the difference interval and the relative-lift interval disagree on whether 0 is
    excluded (they are computed on different scales; the decision follows the difference).
    ``undefined``: a rate or mean is 0 or below, so the relative interval is not defined. Each
    sentence names its rows (segment, arm, metric), escaped for Markdown. Works for the effects,
    pairwise, CUPED and segment-effects tables.
    """
    e = _analysed(effects)
    if "lift_ci_status" not in e or not len(e):
        return ""
    label = e["arm"].astype(str) + (" " + t("nb04.vs", language) + " " + e["versus"].astype(str)
                                    if "versus" in e else "") + " · " + e["metric"].astype(str)
    if "segment_column" in e:
        label = e["segment_column"].astype(str) + " = " + e["segment"].astype(str) + " · " + label
    sep = t("nb04.sep", language)
    return " ".join(t(f"nb04.lift_{code}", language, rows=esc(sep.join(label[e["lift_ci_status"] == code])))
                    for code in ("differs", "undefined") if (e["lift_ci_status"] == code).any())


#: Display kind of the experiment tables' columns whose names do not say it (see formatting.KINDS).
TABLE_KINDS = {"p": "pvalue", "adjusted p": "pvalue", "seq_p_value": "pvalue", "seq_p_adjusted": "pvalue",
               "chance to beat": "share", "variance reduction": "share", "interval width vs unadjusted": "share",
               "expected": "number", "chi2": "number", "smd": "number",
               "mean_treatment": "number", "mean_control": "number", "control_mean": "number",
               "mde_relative": "share", "mde_relative_eligible": "share", "target_lift": "share", "roi": "share", "roi_ci_low": "share",
               "roi_ci_high": "share", "value_per_user_treatment": "money", "value_per_user_control": "money",
               "incremental_value_per_user": "money", "incremental_cost_per_user": "money",
               "profit_per_user": "money", "profit_per_user_ci_low": "money", "profit_per_user_ci_high": "money",
               "total_cost": "money", "total_profit": "money", "total_profit_ci_low": "money",
               "total_profit_ci_high": "money"}
_RATE_COLUMNS = ("diff", "ci_low", "ci_high", "seq_ci_low", "seq_ci_high", "mde_abs", "mde_abs_eligible")


def _label_key(name) -> str:
    return "nb04.col." + re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower()


def _all_money(df: pd.DataFrame) -> bool:
    """Whether every row of a table is about a money metric (or a money covariate)."""
    col = "metric" if "metric" in df else "covariate" if "covariate" in df else None
    return bool(col and len(df) and df[col].map(is_money_name).all()
                and ("kind" not in df or (df["kind"] == "continuous").all()))


def table_options(df: pd.DataFrame, language: str = "en") -> dict:
    """Keyword options for :func:`customer_analytics.report.formatting.show` of an experiment table.

    ``kinds``: p-values, shares, money and plain numbers by column (:data:`TABLE_KINDS`); the
    differences of a table whose rows are all rates (``kind == 'binary'``) in percentage points;
    the means and differences of a table whose rows are all money metrics (or a money
    covariate) as money (the currency comes from the report's config through ``show``).
    ``labels``: headers in words from the catalog (``nb04.col.<name>``).
    """
    kinds = {c: k for c, k in TABLE_KINDS.items() if c in df}
    if "kind" in df and len(df) and (df["kind"] == "binary").all():
        kinds.update({c: "pp" for c in _RATE_COLUMNS if c in df})
    elif _all_money(df):
        kinds.update({c: "money" for c in (*_RATE_COLUMNS, "control_mean", "mean_treatment", "mean_control")
                      if c in df})
    elif "kind" in df and df["kind"].nunique() > 1:  # written per row by :func:`for_reader`
        kinds.update({c: "text" for c in (*_RATE_COLUMNS, "control_mean") if c in df})
    labels = {str(c): t(_label_key(c), language) if has(_label_key(c), language) else
              t("nb04.successes", language, metric=str(c)[:-len("_successes")]) if str(c).endswith("_successes") else
              column_label(c, language) for c in df.columns}
    return {"kinds": kinds, "labels": labels}


def for_reader(df: pd.DataFrame, language: str = "en", *, currency: str = "") -> pd.DataFrame:
    """An experiment table with its words in ``language``: yes/no for flags, warnings and statuses in words.

    In a table mixing rates and means (such as the power table), differences are written per row
    in their own unit: percentage points for rates, the metric's unit for means, money with
    ``currency`` for money metrics.
    """
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_bool_dtype(out[c]):
            out[c] = out[c].map({True: t("nb04.yes", language), False: t("nb04.no", language)})
    if "warning" in out:
        out["warning"] = out["warning"].map({"too small: skipped": t("nb04.warn_skipped", language),
                                             "too small for the normal approximation": t("nb04.warn_small", language),
                                             "": ""}).fillna(out["warning"])
    if "status" in out:
        out["status"] = np.where(out["status"] == "ok", t("nb04.status_ok", language),
                                 t("nb04.status_skipped", language, n=MIN_CELL_USERS))
    if "kind" in out:
        _kinds_in_words(out, language, currency)
    for c in ("segment_column", "segment"):
        if c in out:
            out[c] = out[c].replace({"(all)": t("nb04.all", language)})
    return out


def _kinds_in_words(out: pd.DataFrame, language: str, currency: str = "") -> None:
    """The ``kind`` column in words; where rates and means share a column, each row in its own unit first."""
    if out["kind"].nunique() > 1:
        binary = out["kind"] == "binary"
        cur = _symbols(out, currency) if "metric" in out else [""] * len(out)
        for c in [*_RATE_COLUMNS, "control_mean"]:
            if c in out:
                out[c] = _in_row_units(out[c], binary, c, cur)
    out["kind"] = out["kind"].map({"binary": t("nb04.kind_binary", language),
                                   "continuous": t("nb04.kind_continuous", language)}).fillna(out["kind"])


def _in_row_units(values: pd.Series, binary: pd.Series, column: str, currency: list[str]) -> list[str]:
    """A column of rates and means as text: percentage points (or a share) for rates, the metric's unit for means.

    ``currency`` holds each row's currency symbol ('' where the metric is not money).
    """
    sign = "" if column.startswith("mde_abs") else "+"
    signed = column != "control_mean" and not column.startswith("mde_abs")

    def rate(v: float) -> str:
        return fmt_share(v) if column == "control_mean" else f"{v * 100:{sign}.2f} pp"

    return [("–" if pd.isna(v) else rate(v) if b else amount(v, c, signed=signed))
            for v, b, c in zip(values, binary, currency, strict=True)]


def srm_summary(srm: SRMResult, language: str = "en") -> str:
    """The sample-ratio check in one sentence, in ``language`` (catalog keys ``nb04.srm_*``)."""
    verdict = t("nb04.srm_flagged" if srm.flagged else "nb04.srm_ok", language)
    return t("nb04.srm_summary", language, chi2=f"{srm.chi2:,.2f}", p=p_text("p", srm.p_value), verdict=verdict)


def effect_summary(e: Effect, currency: str = "") -> str:
    """One comparison in one line: means, difference and relative lift with intervals, p-value, method."""
    cur = money_symbol(e.metric, currency)
    return (f"{e.metric}, {e.arm} vs control: {e.mean_treatment:.4g} vs {e.mean_control:.4g}; "
            f"difference {fmt_diff(e.kind, e.diff, e.ci_low, e.ci_high, alpha=e.alpha, currency=cur)}, "
            f"{p_text('p', e.p_value)}; relative lift "
            f"{fmt_lift(e.lift, e.lift_ci_low, e.lift_ci_high, alpha=e.alpha)} [{e.method}]")


# ------------------------------------------------------------------ the decision


def decision_rule(res: ExperimentResult, language: str = "en") -> str:
    """The rule in words, with this run's settings, in ``language``."""
    o = res.options
    corr = o.get("correction", "holm")
    k = len(treatment_arms_of(res))
    how = t("nb04.rule_no_correction", language) if corr == "none" else \
        t("nb04.rule_correction", language, correction=corr, k=k)
    seq = t("nb04.rule_sequential", language) if o.get("sequential") else ""
    direction = t("nb04.higher" if o.get("higher_is_better", True) else "nb04.lower", language)
    return t("nb04.rule", language, sequential=seq, how=how, alpha=f"{res.alpha:g}", direction=direction)


def reason_text(code: str, facts: dict, language: str = "en", *, currency: str = "") -> str:
    """One reason code of :class:`Decision` (with its facts) in words, in ``language`` (money with ``currency``)."""
    L, f = language, facts
    if code == "srm":
        return t("nb04.reason_srm", L, srm_p=p_text(t("nb04.srm_p", L), f["srm_p"]))
    if code == "wait":
        return t("nb04.reason_wait", L, date=f["date"])
    if code == "adjusted":
        return t("nb04.reason_adjusted", L, arm=esc(f["arm"]), p=p_text("p", f["p"]),
                 p_adjusted=fmt_pvalue(f["p_adjusted"]), correction=f["correction"], k=f["k"])
    if code == "wrong_way":
        return t("nb04.reason_wrong_way", L, arm=esc(f["arm"]), metric=esc(f["metric"]),
                 p_adjusted=p_text(t("nb04.adjusted_p", L), f["p_adjusted"]))
    if code == "undetectable":
        return t("nb04.reason_undetectable", L, metric=esc(f["metric"]))
    if code == "underpowered":
        size = f"{f['mde'] * 100:.2f} pp" if f["kind"] == "binary" else \
            no_math(amount(f["mde"], money_symbol(f.get("metric", ""), currency), signed=False))
        return t("nb04.reason_underpowered", L, size=size, relative=fmt_change(f["relative"]).lstrip("+"),
                 power=f"{f['power']:.0%}")
    return t("nb04.reason_null", L)


def decision_reasons(dec: Decision, language: str = "en", *, currency: str = "") -> list[str]:
    """Why there is no winner, one sentence per reason code, in ``language``."""
    return [reason_text(code, facts, language, currency=currency) for code, facts in dec.reasons]


def decision_text(dec: Decision, language: str = "en", *, currency: str = "") -> str:
    """The decision in plain words: the winner, or that there is none and why, in ``language``."""
    L = language
    reasons = decision_reasons(dec, L, currency=currency)
    head = t("nb04.winner_plain", L, metric=dec.primary, arm=dec.winner) if dec.winner else \
        t("nb04.no_winner_plain", L, metric=dec.primary)
    return head + (t("nb04.colon", L) + " ".join(reasons) if reasons else t("nb04.stop", L))


def next_step(res: ExperimentResult, language: str = "en", primary: str | None = None, *, currency: str = "") -> str:
    """What to do next, in one sentence from the decision (fix, do not roll out, or roll out where)."""
    return _next_step(res, decide(res, primary), language, currency=currency)


def decision_summary(res: ExperimentResult, primary: str | None = None, language: str = "en", *,
                     currency: str = "") -> str:
    """A short plain-language decision text generated from the numbers (Markdown, in ``language``).

    Money figures carry ``currency`` (the config's ``report.currency``). Labels from data (arms,
    metrics, segments) are escaped with :func:`customer_analytics.report.markup.esc`.
    """
    L, cur = language, currency
    dec = decide(res, primary or res.primary)
    lines = [*_verdict_lines(res, dec, L, currency=cur), *_arm_lines(res, dec, L, currency=cur),
             *_pair_lines(res, dec.primary, L, currency=cur), *_roi_lines(res, L, currency=cur),
             *_segment_lines(res, dec.primary, L, currency=cur)]
    small = res.sizes[res.sizes["warning"] == "too small for the normal approximation"]
    if len(small):
        lines.append(t("nb04.sum_small", L, n=len(small)))
    lines.append(_next_step(res, dec, L, currency=cur))
    return "\n\n".join(lines)


def _md_diff(kind: str, diff: float, lo: float, hi: float, *, alpha: float, language: str, currency: str) -> str:
    """:func:`fmt_diff` for Markdown text (a ``$`` kept from being read as a formula)."""
    return no_math(fmt_diff(kind, diff, lo, hi, alpha=alpha, language=language, currency=esc(currency)))


def _verdict_lines(res: ExperimentResult, dec: Decision, L: str, *, currency: str = "") -> list[str]:
    """The summary's opening: a broken assignment, the winner or why there is none, the rule, imbalance."""
    a, cur = res.alpha, money_symbol(dec.primary, currency)
    lines = [t("nb04.sum_stop", L)] if res.srm.flagged else []
    if dec.waiting_until:
        lines.append(t("nb04.sum_wait", L, date=dec.waiting_until))
    elif dec.winner:
        e = dec.candidates.set_index("arm").loc[dec.winner]
        lines.append(t("nb04.sum_winner", L, metric=esc(dec.primary), arm=esc(dec.winner),
                       effect=_md_diff(e["kind"], e["diff"], e["ci_low"], e["ci_high"], alpha=a, language=L,
                                       currency=cur),
                       lift=fmt_lift(e["lift"], e["lift_ci_low"], e["lift_ci_high"], alpha=a, language=L)))
    else:
        lines.append(t("nb04.sum_no_winner", L, metric=esc(dec.primary),
                       reasons=" ".join(decision_reasons(dec, L, currency=currency))))
    lines.append(t("nb04.sum_rule", L, rule=decision_rule(res, L)))
    if len(res.balance) and res.balance["imbalanced"].any():
        bad = res.balance[res.balance["imbalanced"]]
        lines.append(t("nb04.sum_imbalance", L, cells=esc(", ".join(bad["arm"] + ": " + bad["covariate"]))))
    return lines


def _arm_lines(res: ExperimentResult, dec: Decision, L: str, *, currency: str = "") -> list[str]:
    """One line per arm against control on the primary metric (with the sequential interval when used)."""
    a, adj, cur = res.alpha, t("nb04.adjusted_p", L), money_symbol(dec.primary, currency)
    seq = res.options.get("sequential") and "seq_p_value" in dec.candidates
    lines = []
    for r in dec.candidates.itertuples():
        txt = t("nb04.sum_arm", L, arm=esc(r.arm),
                effect=_md_diff(r.kind, r.diff, r.ci_low, r.ci_high, alpha=a, language=L, currency=cur),
                lift=fmt_lift(r.lift, r.lift_ci_low, r.lift_ci_high, alpha=a, language=L), p=p_text("p", r.p_value),
                p_adjusted=p_text(adj, r.p_adjusted), chance=f"{r.prob_beat_control:.1%}")
        if seq:
            txt += t("nb04.sum_arm_sequential", L, effect=_md_diff(r.kind, r.diff, r.seq_ci_low, r.seq_ci_high, alpha=a,
                                                                   language=L, currency=cur),
                     p_adjusted=p_text(adj, r.seq_p_adjusted))
        lines.append(txt)
    return lines


def _pair_lines(res: ExperimentResult, primary: str, L: str, *, currency: str = "") -> list[str]:
    """One line per pair of treatment arms on the primary metric."""
    if not len(res.pairwise):
        return []
    a, adj, cur = res.alpha, t("nb04.adjusted_p", L), money_symbol(primary, currency)
    lines = []
    for r in res.pairwise[res.pairwise["metric"] == primary].itertuples():
        verdict = t("nb04.pair_significant" if r.p_adjusted < a else "nb04.pair_not_significant", L)
        lines.append(t("nb04.sum_pair", L, arm=esc(r.arm), versus=esc(r.versus),
                       effect=_md_diff(r.kind, r.diff, r.ci_low, r.ci_high, alpha=a, language=L, currency=cur),
                       p_adjusted=p_text(adj, r.p_adjusted), verdict=verdict))
    return lines


def _roi_lines(res: ExperimentResult, L: str, *, currency: str = "") -> list[str]:
    """One line per arm of the ROI table: profit per user, in total and the ROI, with intervals (money with ``currency``)."""
    lvl = f"{(1 - res.alpha) * 100:g}%"
    lines = []
    for r in res.roi.itertuples():
        roi_txt = t("nb04.roi_text", L, roi=fmt_change(r.roi), level=lvl, low=fmt_change(r.roi_ci_low),
                    high=fmt_change(r.roi_ci_high)) if pd.notna(r.roi) else t("nb04.roi_none", L)
        lines.append(t("nb04.sum_roi", L, arm=esc(r.arm), profit=md_money(r.profit_per_user, currency, signed=True), level=lvl,
                       low=md_money(r.profit_per_user_ci_low, currency, signed=True),
                       high=md_money(r.profit_per_user_ci_high, currency, signed=True),
                       total=md_money(r.total_profit, currency, signed=True), n=f"{r.n_treatment:,}",
                       total_low=md_money(r.total_profit_ci_low, currency, signed=True),
                       total_high=md_money(r.total_profit_ci_high, currency, signed=True), roi=roi_txt))
    return lines


def _segment_lines(res: ExperimentResult, primary: str, L: str, *, currency: str = "") -> list[str]:
    """The segment cells proven to work (or that none is), then the cells skipped as too small."""
    a, adj, sep = res.alpha, t("nb04.adjusted_p", L), t("nb04.sep", L)
    cur = money_symbol(primary, currency)
    lines = []
    claims = segment_claims(res, primary)
    if len(claims):
        parts = [t("nb04.claim", L, arm=esc(r.arm), column=esc(r.segment_column), segment=esc(r.segment),
                   effect=_md_diff(r.kind, r.diff, r.ci_low, r.ci_high, alpha=a, language=L, currency=cur),
                   p_adjusted=p_text(adj, r.p_adjusted))
                 for r in claims.itertuples()]
        lines.append(t("nb04.sum_claims", L, cells=sep.join(parts)))
    elif len(res.segments):
        lines.append(t("nb04.sum_no_claims", L))
    skipped = res.segments[res.segments["status"] != "ok"] if len(res.segments) else pd.DataFrame()
    if len(skipped):
        cells = skipped.drop_duplicates(["segment_column", "segment", "arm"])
        lines.append(t("nb04.sum_skipped", L, cells=sep.join(
            t("nb04.skipped_cell", L, column=esc(r.segment_column), segment=esc(r.segment), arm=esc(r.arm),
              n_treatment=r.n_treatment, n_control=r.n_control) for r in cells.itertuples())))
    return lines


def _next_step(res: ExperimentResult, dec: Decision, language: str = "en", *, currency: str = "") -> str:
    L = language
    if res.srm.flagged:
        return t("nb04.next_fix", L)
    if dec.waiting_until:
        return t("nb04.next_wait", L, date=dec.waiting_until)
    if not dec.winner:
        return _no_winner_step(res, dec.primary, L, currency=currency)
    roi_note = ""
    if len(res.roi):
        r = res.roi.set_index("arm").loc[dec.winner]
        if r["profit_per_user_ci_high"] < 0:
            return t("nb04.next_loses_money", L, arm=esc(dec.winner), metric=esc(dec.primary),
                     profit=md_money(r["profit_per_user"], currency, signed=True))
        roi_note = t("nb04.next_pays" if r["profit_per_user_ci_low"] > 0 else "nb04.next_pays_unclear", L)
    claims = segment_claims(res, dec.primary, dec.winner)
    where = t("nb04.next_proven_in", L, cells=", ".join(f"{esc(r.segment_column)} = {esc(r.segment)}"
                                                        for r in claims.itertuples())) \
        if len(claims) else t("nb04.next_no_segment", L)
    return t("nb04.next_roll_out", L, arm=esc(dec.winner), where=where, roi_note=roi_note)


def power_reach(res: ExperimentResult, primary: str | None = None) -> dict | None:
    """The planning figures of the primary metric's least-powered arm, when the customer base is known.

    A dict with the users per arm needed for the target lift (``need``), the users per arm the
    eligible customers allow (``per_arm``), the eligible customers (``eligible``), the target,
    the smallest effect detectable with all of them (``mde``, ``mde_relative``, ``kind``) and
    ``reachable`` (``need`` no larger than ``per_arm``); None without ``eligible_per_arm``.
    """
    pw = res.power[res.power["metric"] == (primary or res.primary)] if len(res.power) else res.power
    if not len(pw) or "eligible_per_arm" not in pw or pw["eligible_per_arm"].isna().all():
        return None
    r = pw.loc[pw["n_per_arm_for_target"].fillna(float("inf")).idxmax()]
    need = r["n_per_arm_for_target"]
    return {"need": need, "per_arm": int(r["eligible_per_arm"]), "eligible": res.spec.eligible_users,
            "target": r["target_lift"], "mde": r["mde_abs_eligible"], "mde_relative": r["mde_relative_eligible"],
            "kind": r["kind"], "reachable": bool(pd.notna(need) and need <= r["eligible_per_arm"])}


def reach_sentence(res: ExperimentResult, language: str = "en", primary: str | None = None, *,
                   currency: str = "") -> str:
    """Whether the target lift is detectable with this customer base, and the smallest effect that is ("" if unknown)."""
    f = power_reach(res, primary)
    if f is None:
        return ""
    cur = money_symbol(primary or res.primary, currency)
    mde = "–" if pd.isna(f["mde"]) else (f"{f['mde'] * 100:.2f} pp" if f["kind"] == "binary"
                                        else md_money(f["mde"], cur, signed=False))
    rel = "–" if pd.isna(f["mde_relative"]) else fmt_change(f["mde_relative"]).lstrip("+")
    values = {"target": fmt_change(f["target"]).lstrip("+"), "eligible": f"{f['eligible']:,}",
              "per_arm": f"{f['per_arm']:,}", "need": "–" if pd.isna(f["need"]) else f"{int(f['need']):,}",
              "mde": mde, "relative": rel}
    return t("nb04.reach_yes" if f["reachable"] else "nb04.reach_no", language, **values)


def _no_winner_step(res: ExperimentResult, primary: str, L: str, *, currency: str = "") -> str:
    """Do not roll out; rerun at the planned size only when the customer base has that many users."""
    f = power_reach(res, primary)
    if f is None:
        return t("nb04.next_no_winner", L)
    if f["reachable"]:
        return t("nb04.next_no_winner_reach", L, need=f"{int(f['need']):,}")
    return t("nb04.next_no_winner_out_of_reach", L, reach=reach_sentence(res, L, primary, currency=currency))


def decision_sentence(res: ExperimentResult | None, language: str = "en", primary: str | None = None, *,
                      currency: str = "") -> str:
    """The decision in one plain-text sentence (for the dashboard and the summary; not escaped).

    Uses the same rule as :func:`decide`: the winner with its effect (money with ``currency``) and
    relative lift, or why there is none (broken assignment, outcome windows still open, no proven
    winner), or no experiment at all.
    """
    L = language
    if res is None:
        return t("nb04.decision_none", L)
    dec = decide(res, primary)
    if res.srm.flagged:
        return t("nb04.decision_srm", L)
    if dec.waiting_until:
        return t("nb04.decision_wait", L, date=dec.waiting_until)
    if dec.winner:
        e = dec.candidates.set_index("arm").loc[dec.winner]
        return t("nb04.decision_winner", L, arm=dec.winner, metric=dec.primary,
                 effect=fmt_effect(e["kind"], e["diff"], money_symbol(dec.primary, currency)), lift=fmt_change(e["lift"]))
    return t("nb04.decision_no_winner", L, metric=dec.primary)

"""The top of every report: title, period, data set and an executive summary from the numbers.

:func:`report_header` renders the Markdown a report opens with. The bullet builders
(:func:`cleaning_bullets`, :func:`rfm_bullets`,
:func:`clustering_bullets`) turn a notebook's figures into 3-6
sentences: what changed, what the decision is, what to do next. All text comes
from the language catalogs (:mod:`customer_analytics.report.i18n`); every value taken
from data or config is HTML-escaped before it goes into the Markdown.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from customer_analytics.models import clv as clv_model
from customer_analytics.models import experiments as ex
from customer_analytics.report.formatting import (
    fmt_change,
    fmt_int,
    fmt_pvalue,
    fmt_share,
)
from customer_analytics.report.i18n import column_label, has, t
from customer_analytics.report.markup import esc, md_money, no_math
from customer_analytics.report.text import experiments as ex_text


def dataset_name(config_path: str | None, data_path: str | Path | None) -> str:
    """A short data-set name: the config file's stem, else the data file's stem."""
    for p in (config_path, data_path):
        if p:
            return Path(str(p)).stem
    return "sample"


def _esc(v) -> str:
    return html.escape(str(v))


def report_header(title: str, period: str, dataset: str, bullets: list[str], *, language: str = "en",
                  data_ends: str | None = None, window: tuple[str, str] | None = None) -> str:
    """Markdown for the top of a report: title, period, data set and look-back window, then the executive summary.

    ``bullets`` are already-escaped sentences (from the builders in this module);
    ``title``, ``period``, ``dataset`` and ``data_ends`` are escaped here. ``window`` is the
    first and last day of the data the page's figures cover (``Period 2025-12 · look-back
    2024-01-01 to 2025-12-31``), so a reader never takes a two-year figure for the month's.
    """
    meta = t("summary.meta", language, period=_esc(period), dataset=_esc(dataset))
    if window:
        meta += " " + t("summary.window", language, start=_esc(window[0]), end=_esc(window[1]))
    if data_ends:
        meta += " " + t("summary.partial", language, date=_esc(data_ends))
    lines = [f"# {_esc(title)}", "", meta, "", f"**{t('summary.heading', language)}**", ""]
    lines += [f"- {b}" for b in bullets]
    return "\n".join(lines)


def _change(now: float, before: float | None, language: str) -> str:
    if before is None or before == 0 or pd.isna(before):
        return ""
    return t("summary.vs_previous", language, change=f"{(now - before) / abs(before) * 100:+.1f}%")


def guest_share(audit: pd.DataFrame) -> float:
    """Share of the period's raw revenue on lines without a customer (the ``missing_customer`` audit row)."""
    row = audit[audit["rule"] == "missing_customer"]
    return float(row["revenue_share"].abs().sum()) if "revenue_share" in audit and len(row) else 0.0


def cleaning_bullets(raw_rows: int, clean_rows: int, audit: pd.DataFrame, *, language: str = "en") -> list[str]:
    """Executive summary of the cleaning step (3-4 bullets).

    What changed (rows kept and removed), what weighed most (the rule with the
    largest effect on revenue), what it means for the analysis (lines without a
    customer), and the decision: whether the data can be used as is (less than a
    fifth of the lines removed).
    """
    removed = 1 - clean_rows / raw_rows if raw_rows else 0.0
    out = [t("summary.clean_rows", language, clean=fmt_int(clean_rows), raw=fmt_int(raw_rows),
             removed=fmt_share(removed))]
    effect = next((c for c in ("revenue_effect", "revenue_affected") if c in audit), None)
    if effect and len(audit) and audit[effect].abs().sum() > 0:
        top = audit.loc[audit[effect].abs().idxmax()]
        share = abs(top.get("revenue_share", float("nan")))
        out.append(t("summary.clean_top_rule", language,
                     rule=_esc(value_label("audit_rule", top.get("rule", top.name), language)), share=fmt_share(share)))
    out.append(t("summary.clean_guests", language, share=fmt_share(guest_share(audit))))
    out.append(t("summary.clean_ok" if removed < 0.2 else "summary.clean_check", language))
    return out


def rfm_bullets(activity: dict, previous: dict | None, summary: pd.DataFrame, warnings: pd.DataFrame, *,
                net: pd.Series | None, language: str = "en", currency: str = "") -> list[str]:
    """Executive summary of the RFM report (4-6 bullets).

    - what changed: revenue and buyers in the period (vs the previous month), new buyers;
    - where the value is: the largest segment by revenue, by name, with its shares;
    - movement: net migration into the top segment;
    - the decision and next step: the at-risk segment holding the most revenue and its action;
    - a caution when a "recent" segment's recency is not recent (see :func:`rfm.recency_warnings`).
    """
    out = [t("summary.rfm_period", language, revenue=md_money(activity["revenue"], currency),
             change=_change(activity["revenue"], (previous or {}).get("revenue"), language),
             active=fmt_int(activity["active_customers"]), new=fmt_int(activity["new_customers"]),
             lapsed=fmt_int(activity["lapsed_customers"]), days=activity["lapse_days"])]
    top = summary["revenue_share"].idxmax()
    out.append(t("summary.rfm_top", language, segment=_esc(top),
                 revenue_share=fmt_share(summary.loc[top, "revenue_share"]),
                 share=fmt_share(summary.loc[top, "share"])))
    if net is not None and len(net):
        key = net.index[0]
        label = summary.index[summary["segment_code"] == key]
        out.append(t("summary.rfm_net", language, n=f"{int(net.iloc[0]):+,}",
                     segment=_esc(label[0] if len(label) else key)))
    risky = summary[summary["segment_code"].isin(["at_risk", "cant_lose_them", "important_retention",
                                                  "important_winback"]) & (summary["customers"] > 0)]
    if len(risky):
        r = risky.sort_values("revenue", ascending=False).iloc[0]
        out.append(t("summary.rfm_next", language, n=fmt_int(r["customers"]), segment=_esc(risky.sort_values(
            "revenue", ascending=False).index[0]), revenue=md_money(r["revenue"], currency),
            action=_esc(r["action"])))
    else:
        out.append(t("summary.rfm_next_none", language))
    if len(warnings):
        w = warnings.iloc[0]
        out.append(t("summary.rfm_warning", language, segment=_esc(warnings.index[0]),
                     median=fmt_int(w["median_recency_days"]), max=fmt_int(w["max_recency_days"])))
    return out[:6]


@dataclass(frozen=True)
class ClusteringQuality:
    """The figures the clustering summary judges the chosen clustering by.

    Attributes
    ----------
    k : int
        Number of clusters chosen.
    recommended : bool
        Whether the clustering meets the bar for targeting (:func:`customer_analytics.models.clustering.choose_k`).
    silhouette : float
        Mean silhouette of the chosen clustering (separation, -1 to 1).
    stability_ari : float
        Mean adjusted Rand index between bootstrap refits (stability, 0 to 1).
    min_share : float
        Smallest cluster share the bar allows.
    ari_rfm : float
        Adjusted Rand index between the clusters and the RFM segments.
    """

    k: int
    recommended: bool
    silhouette: float
    stability_ari: float
    min_share: float
    ari_rfm: float


def clustering_bullets(quality: ClusteringQuality, profile: pd.DataFrame, names: dict, changes: list[str] | None, *,
                       language: str = "en", similar_ari: float = 0.5) -> list[str]:
    """Executive summary of the clustering report (4-5 bullets).

    - what was found: k groups among the customers, with separation (silhouette) and stability (mean ARI);
    - where the value is: the cluster with the largest share of revenue, by name, with its shares;
    - what changed: whether ids and names carried over from last month (``changes`` None: no earlier month);
    - the decision: the clusters can be used for targeting only when they meet the bar (``recommended``);
    - what to do next: with a usable clustering that agrees little with the RFM segments (ARI with the RFM
      segments below ``similar_ari``), start with the top cluster; otherwise keep the RFM segments.

    ``profile`` is :func:`customer_analytics.models.clustering.profile` (index cluster id; ``customers``,
    ``share``, ``revenue_share``); ``names`` maps cluster id to name.
    """
    q = quality
    top = profile["revenue_share"].idxmax()
    name = _esc(names.get(int(top), top))
    out = [t("nb03.summary.clusters", language, k=q.k, n=fmt_int(profile["customers"].sum()),
             silhouette=f"{q.silhouette:.2f}", ari=f"{q.stability_ari:.2f}"),
           t("nb03.summary.top", language, name=name, revenue_share=fmt_share(profile.loc[top, "revenue_share"]),
             share=fmt_share(profile.loc[top, "share"]))]
    if changes is None:
        out.append(t("nb03.summary.first_month", language))
    elif changes:
        out.append(t("nb03.summary.changed_names_one", language) if len(changes) == 1
                   else t("nb03.summary.changed_names", language, n=len(changes)))
    else:
        out.append(t("nb03.summary.same_names", language))
    share = fmt_share(q.min_share, 0)
    if not q.recommended:
        out += [t("nb03.summary.decision_no", language, share=share), t("nb03.summary.next_rfm", language)]
    else:
        out.append(t("nb03.summary.decision_yes", language, k=q.k, share=share))
        key = "next_similar" if q.ari_rfm >= similar_ari else "next_different"
        out.append(t(f"nb03.summary.{key}", language, ari=f"{q.ari_rfm:.2f}", name=name))
    return out
def ab_bullets(result, language: str = "en", *, no_result: str | None = None, currency: str = "") -> list[str]:
    """Executive summary of the A/B evaluation (3-6 bullets; one sentence without an experiment).

    - first the decision, by the one decision rule (:func:`customer_analytics.report.text.experiments.decision_sentence`);
    - what was tested: users, arms, the primary metric, and whether the arm sizes match the plan (SRM);
    - what changed: the winner (else the arm with the most favourable effect) against control,
      in pp for rates, with its relative lift and adjusted p-value;
    - the money, when costs are configured: incremental profit per treated user (with its interval) and ROI of that arm;
      money figures (also the effect of a money metric) carry ``currency``, the config's ``report.currency``;
    - where it works: segments proven after the per-segment correction (at most three named);
    - what to do next (:func:`customer_analytics.report.text.experiments.next_step`).

    ``result`` is an :class:`customer_analytics.models.experiments.ExperimentResult` or None. While
    outcome windows are still open at the period end the decision is to wait, and says until when.
    Without a result the one sentence is ``no_result`` (why there is none, e.g. the campaign starts
    after the period), else that no experiment was evaluated.
    Labels from data are escaped with :func:`customer_analytics.report.markup.esc`.
    """
    L = language
    if result is None:
        return [esc(no_result) if no_result else t("nb04.decision_none", L)]
    dec = result.decision()
    arms = ex.treatment_arms_of(result)
    srm = t("nb04.b_srm_bad" if result.srm.flagged else "nb04.b_srm_ok", L)
    cur = ex_text.money_symbol(dec.primary, currency)
    out = [t("nb04.b_decision", L, decision=no_math(esc(ex_text.decision_sentence(result, L, currency=currency)))),
           t("nb04.b_tested", L, users=fmt_int(result.srm.table["observed"].sum()), k=len(arms),
             arms=", ".join(esc(a) for a in arms), control=esc(result.spec.control_label), metric=esc(dec.primary),
             srm=srm)]
    cand = dec.candidates.set_index("arm")
    best = dec.winner
    if len(cand):
        sign = 1 if result.options.get("higher_is_better", True) else -1
        best = best or str((sign * cand["diff"]).idxmax())
        e = cand.loc[best]
        p_adj = e["seq_p_adjusted"] if result.options.get("sequential") and "seq_p_adjusted" in cand else e["p_adjusted"]
        out.append(t("nb04.b_best", L, arm=esc(best), effect=no_math(ex_text.fmt_effect(e["kind"], e["diff"], esc(cur))),
                     lift=fmt_change(e["lift"]), p=fmt_pvalue(p_adj)))
    if len(result.roi) and best in set(result.roi["arm"]):
        r = result.roi.set_index("arm").loc[best]
        out.append(t("nb04.b_roi", L, arm=esc(best), profit=md_money(r["profit_per_user"], currency, signed=True),
                     level=f"{(1 - result.alpha) * 100:g}%", low=md_money(r["profit_per_user_ci_low"], currency, signed=True),
                     high=md_money(r["profit_per_user_ci_high"], currency, signed=True), roi=fmt_change(r["roi"])))
    if len(result.segments):
        claims = ex.segment_claims(result, dec.primary)
        cells = [f"{esc(r.arm)}: {esc(r.segment_column)} = {esc(r.segment)}" for r in claims.head(3).itertuples()]
        out.append(t("nb04.b_segments", L, cells=t("nb04.sep", L).join(cells)) if cells else t("nb04.b_no_segments", L))
    out.append(f"**{ex_text.next_step(result, L, dec.primary, currency=currency)}**")
    return out[:6]


def say(key: str, language: str = "en", **values):
    """The catalog text of ``key`` as displayable Markdown; ``values`` are HTML-escaped first."""
    from IPython.display import Markdown

    return Markdown(t(key, language, **{k: _esc(v) for k, v in values.items()}))


def markdown_parts(*texts: str) -> list:
    """Displayable Markdown for each text that is not empty (texts already escaped); nothing for an empty one."""
    from IPython.display import Markdown

    return [Markdown(x) for x in texts if x]


def bullet_list(heading: str, items: list[str]):
    """A bold lead-in line and a bulleted list (items escaped) as displayable Markdown."""
    from IPython.display import Markdown

    return Markdown("\n".join([heading, "", *[f"- {_esc(s)}" for s in items]]))


def describe(df: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """Count, mean, spread and quartiles of each column, one row per measure, headers in words.

    The rows are the measures (named via the catalog's ``col.<name>``), the columns the
    statistics: customers (count), mean, standard deviation, minimum, 25th
    percentile, median, 75th percentile and maximum.
    """

    d = df.describe().T
    d.columns = ["count", "mean", "std", "min", "p25", "median", "p75", "max"]
    d["count"] = d["count"].astype("int64")
    d.index = [column_label(c, language) for c in d.index]
    d = d.rename(columns={c: t(f"stat.{c}", language) for c in d.columns})
    return d.rename_axis(t("stat.measure", language))


def data_ends(tx: pd.DataFrame, as_of: pd.Timestamp) -> str | None:
    """The last transaction date when the data stop before the period end (a partial month), else None."""
    if not len(tx):
        return None
    return ends_before(tx["order_date"].max(), as_of)


def ends_before(last, as_of: pd.Timestamp) -> str | None:
    """The day of ``last`` (the last transaction) when it is before the period end ``as_of``, else None.

    Parameters
    ----------
    last : date-like or None
        The last order date (None or NaT: no transaction, so None).
    as_of : Timestamp
        The period end.

    Returns
    -------
    str or None
        The day as 'YYYY-MM-DD' (a partial month), or None.
    """
    if last is None or pd.isna(last):
        return None
    day = pd.Timestamp(last).normalize()
    return str(day.date()) if day < pd.Timestamp(as_of).normalize() else None


def value_label(prefix: str, value, language: str = "en") -> str:
    """A data value in words: the catalog's ``<prefix>.<value as a key>``, else the value itself.

    ``value_label("audit_rule", "cancellations: matched returns")`` looks up
    ``audit_rule.cancellations_matched_returns``.
    """

    key = f"{prefix}.{re.sub(r'[^0-9a-zA-Z]+', '_', str(value)).strip('_').lower()}"
    return t(key, language) if has(key, language) else str(value)


def label_values(df: pd.DataFrame, columns: dict[str, str], language: str = "en") -> pd.DataFrame:
    """A copy of ``df`` with the values of each column (column -> catalog prefix) in words."""
    out = df.copy()
    for col, prefix in columns.items():
        if col in out:
            out[col] = out[col].map(lambda v, p=prefix: value_label(p, v, language))
    return out


def bold(text):
    """``text`` (escaped) as a bold Markdown line, e.g. a sub-heading naming a rule or a segment."""
    from IPython.display import Markdown

    return Markdown(f"**{_esc(text)}**")


#: Holdout error (in percent of actual repeat purchases) up to which the CLV forecast counts as checked.
CLV_MAX_ERROR_PCT = 20.0


@dataclass(frozen=True)
class HoldoutCheck:
    """What the holdout said about the CLV forecast and the churn ranking.

    Attributes
    ----------
    error_pct : float or None
        Holdout error of the total repeat purchases, in percent of the actual (None or NaN: not checked).
    holdout_days : int
        Length of the holdout.
    churn_beats_recency : bool
        Whether the model's churn risk ranks better than days since the last purchase.
    max_error_pct : float
        Error, in percent, up to which the forecast counts as checked.
    model : str
        The purchase model the forecasts come from, in words ("" leaves it out).
    chosen_on_holdout : bool
        True when the model was chosen on the holdout (``clv.model: auto``), False when the config set it.
    """

    error_pct: float | None
    holdout_days: int
    churn_beats_recency: bool
    max_error_pct: float = CLV_MAX_ERROR_PCT
    model: str = ""
    chosen_on_holdout: bool = False


def clv_bullets(pred: pd.DataFrame, risk: pd.DataFrame, by_segment: pd.DataFrame, *, check: HoldoutCheck,
                horizon_days: int, clv_months: int, language: str = "en", currency: str = "") -> list[str]:
    """Executive summary of the CLV and churn report (4-5 bullets).

    - what the forecast says: total (the per-customer values rounded to the cent, added) and
      mean predicted CLV over ``clv_months`` and the
      purchases expected in ``horizon_days`` (from ``pred``, one row per customer);
    - whether it can be trusted, led by the model the forecasts come from (``check.model``): the holdout error of the total repeat purchases
      (``check.error_pct``, in percent) against ``check.max_error_pct``;
    - the decision on churn: rank by the model's churn risk only when it beats days since
      the last purchase (``check.churn_beats_recency``);
    - what to do next: contact the high-value customers at risk (``risk``: the at-risk list
      with a ``clv`` column), or say that there are none;
    - where the value is: the segment with the largest share of predicted CLV
      (``by_segment``: ``segment`` and ``clv_share`` columns), when there is one.
    """

    def money(v) -> str:
        return md_money(v, currency)

    out = [t("nb05.sum_forecast", language, n=fmt_int(len(pred)), months=clv_months,
             total=money(clv_model.total_value(pred["clv"])), mean=money(pred["clv"].mean()),
             purchases=fmt_int(pred["expected_purchases"].sum()), days=horizon_days)]
    err, days, limit = check.error_pct, check.holdout_days, check.max_error_pct
    if err is None or pd.isna(err):
        out.append(t("nb05.sum_unchecked", language, days=days))
    else:
        key = "nb05.sum_checked" if abs(err) <= limit else "nb05.sum_off"
        out.append(t(key, language, days=days, error=f"{err:+.1f}%", limit=f"{limit:.0f}%"))
    if check.model:
        which = "nb05.sum_model_auto" if check.chosen_on_holdout else "nb05.sum_model_config"
        out[-1] = t(which, language, model=esc(check.model)) + t("nb05.sum_model_sep", language) + out[-1]
    out.append(t("nb05.sum_churn_model" if check.churn_beats_recency else "nb05.sum_churn_recency", language))
    if len(risk):
        out.append(t("nb05.sum_next", language, n=fmt_int(len(risk)), clv=money(clv_model.total_value(risk["clv"]))))
    else:
        out.append(t("nb05.sum_next_none", language))
    if len(by_segment) and by_segment["clv_share"].notna().any():
        top = by_segment.loc[by_segment["clv_share"].idxmax()]
        out.append(t("nb05.sum_segment", language, segment=esc(top["segment"]), share=fmt_share(top["clv_share"]),
                       months=clv_months))
    return out[:6]

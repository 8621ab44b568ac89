"""Notebook 08 in words: the decision, the evaluation table, the money lines, the list, the truth check
and the targeting columns of ``customers.csv``.

Every sentence comes from the catalog keys ``nb08.*`` (``resources/i18n/en.yaml`` and ``zh.yaml``);
every figure from :class:`customer_analytics.models.uplift.TargetingResult`, so the page reconciles
with the exported tables.
"""

from __future__ import annotations

import pandas as pd

from customer_analytics.io.customer_export import add_customer_columns
from customer_analytics.models.uplift import TargetingResult
from customer_analytics.models.uplift.policy import NONE
from customer_analytics.report.formatting import fmt_int, fmt_number, fmt_pp, fmt_pvalue, fmt_share
from customer_analytics.report.i18n import catalog, t
from customer_analytics.report.markup import esc, md_money

#: The columns notebook 08 adds to ``customers.csv`` besides ``uplift_<arm>``.
RECOMMENDED = "recommended_arm"


def column_labels(language: str = "en") -> dict[str, str]:
    """Table headers in words (catalog keys ``nb08.col.<column>``)."""
    prefix = "nb08.col."
    return {k[len(prefix):]: v for k, v in catalog(language).items() if k.startswith(prefix)}


def model_label(code: str, language: str = "en") -> str:
    """A model or rule code (``t_learner``, ``everyone``) in words."""
    return t(f"nb08.model.{code}", language)


def arm_label(arm: str, language: str = "en") -> str:
    """An arm as shown: its label, or 'none' for do-not-send."""
    return t("nb08.none_arm", language) if arm == NONE else str(arm)


def _everyone(result: TargetingResult, arm: str) -> pd.Series:
    curve = result.curves[arm]
    return curve.loc[curve["share"] == curve["share"].max()].iloc[0]


def arm_decision(result: TargetingResult, arm: str, language: str = "en", currency: str = "") -> str:
    """One offer's decision: targeting supported (whom, what it earns) or not (the average effect and everyone's money)."""
    q = result.metric(arm, result.model, "qini_coefficient")
    qini = {"qini": fmt_number(q["value"], signed=True), "low": fmt_number(q["low"], signed=True),
            "high": fmt_number(q["high"], signed=True), "arm": esc(arm),
            "strict": fmt_number(result.decision_low.get(arm), signed=True)}
    everyone = _everyone(result, arm)
    best = result.best.get(arm)
    if result.supported.get(arm) and best is not None:
        return t("nb08.supported", language, **qini, share=fmt_share(best["share"], 0),
                 customers=fmt_int(best["customers"]), profit=md_money(best["total_profit"], currency, signed=True),
                 everyone=md_money(everyone["total_profit"], currency, signed=True))
    text = t("nb08.unsupported", language, **qini, ate=fmt_pp(result.average[arm]))
    per = md_money(everyone["profit_per_customer"], currency, signed=True)
    if everyone["total_profit"] > 0:
        return text + " " + t("nb08.everyone_pays", language, arm=esc(arm), per=per,
                              profit=md_money(everyone["total_profit"], currency, signed=True))
    return text + " " + t("nb08.everyone_loses", language, arm=esc(arm), per=per,
                          cost=md_money(result.money.cost[arm], currency))


def too_small(result: TargetingResult, minimum: int, language: str = "en") -> str:
    """Why nothing was learned: the smallest arm and the minimum per arm (``targeting.min_users_per_arm``)."""
    return t("nb08.too_small", language, arm=esc(result.sizes.idxmin()), smallest=fmt_int(result.sizes.min()),
             minimum=fmt_int(minimum))


def list_counts(result: TargetingResult, language: str = "en") -> str:
    """How many customers the list sends each offer (and how many nothing)."""
    counts = result.targeting["recommended_arm"].value_counts()
    parts = [t("nb08.list_none", language, n=fmt_int(n)) if a == NONE else
             t("nb08.list_count", language, arm=esc(a), n=fmt_int(n)) for a, n in counts.items()]
    sep = "；" if language == "zh" else "; "
    return t("nb08.list_counts", language, counts=sep.join(parts))


def money_line(result: TargetingResult, targeting: dict, language: str = "en", currency: str = "") -> str:
    """Where the money of the list comes from."""
    m = result.money
    if m.source == "experiment":
        sep = "，" if language == "zh" else ", "
        costs = sep.join(f"{esc(a)} {md_money(c, currency)}" for a, c in m.cost.items())
        return t("nb08.money_experiment", language, value=md_money(m.value, currency), costs=costs)
    if m.source == "targeting":
        return t("nb08.money_targeting", language, value=md_money(m.value, currency),
                 margin=fmt_share(targeting.get("margin") or 0, 0), cost=md_money(targeting["cost_per_contact"], currency))
    return t("nb08.money_none", language)


def decision_lines(result: TargetingResult, targeting: dict, language: str = "en", currency: str = "") -> list[str]:
    """The page's decision: one line per offer, the list's counts, the money's source."""
    return [*(arm_decision(result, a, language, currency) for a in result.arms), list_counts(result, language),
            money_line(result, targeting, language, currency)]


def headline(result: TargetingResult, language: str = "en", currency: str = "") -> str:
    """The dashboard's one sentence: the best supported offer and what it earns, or that targeting is not supported."""
    ok = [(a, result.best[a]) for a in result.arms if result.supported.get(a) and result.best.get(a) is not None]
    if not ok:
        return t("nb08.headline_unsupported", language)
    arm, best = max(ok, key=lambda x: x[1]["total_profit"])
    return t("nb08.headline_supported", language, arm=esc(arm), share=fmt_share(best["share"], 0),
             customers=fmt_int(best["customers"]), profit=md_money(best["total_profit"], currency, signed=True))


def evaluation_table(result: TargetingResult, language: str = "en") -> pd.DataFrame:
    """The evaluation in one row per offer x model or rule: Qini with its interval, AUUC, uplift@10/20/30."""
    e = result.evaluation
    wide = e.pivot_table(index=["arm", "model"], columns="metric", values="value", sort=False)
    q = e[e["metric"] == "qini_coefficient"].set_index(["arm", "model"])
    u = e[e["metric"] == "uplift_at_30"].set_index(["arm", "model"])
    out = wide.assign(qini_low=q["low"], qini_high=q["high"], uplift_30_low=u["low"], uplift_30_high=u["high"])
    numbers = ["qini_coefficient", "qini_low", "qini_high", "auuc"]
    out[numbers] = out[numbers].where(out[numbers].abs() >= 0.0005, 0.0)  # no "-0.000" for a value that shows as zero
    out = out.reset_index()
    out["model"] = out["model"].map(lambda m: model_label(m, language))
    return out[["arm", "model", "qini_coefficient", "qini_low", "qini_high", "auuc", "uplift_at_10", "uplift_at_20",
                "uplift_at_30", "uplift_30_low", "uplift_30_high"]]


#: Formatter kinds of :func:`evaluation_table` and :func:`list_table`.
KINDS = {"qini_coefficient": "number", "qini_low": "number", "qini_high": "number", "auuc": "number",
         "uplift_at_10": "pp", "uplift_at_20": "pp", "uplift_at_30": "pp", "uplift_30_low": "pp",
         "uplift_30_high": "pp", "predicted_uplift": "pp", "expected_incremental_profit": "money",
         "true_effect_top": "pp", "true_effect_all": "pp", "ratio": "number", "p_value": "pvalue", "users": "int"}


def best_k_lines(result: TargetingResult, language: str = "en", currency: str = "") -> list[str]:
    """Per offer, the best top share and its measured profit (or that none pays)."""
    out = []
    for a in result.arms:
        b = result.best.get(a)
        key = "nb08.best_k" if result.supported.get(a) else "nb08.best_k_unsupported"
        out.append(t("nb08.no_best_k", language, arm=esc(a)) if b is None else
                   t(key, language, arm=esc(a), share=fmt_share(b["share"], 0),
                     customers=fmt_int(b["customers"]), profit=md_money(b["total_profit"], currency, signed=True)))
    return out


def list_table(result: TargetingResult, n: int = 10, language: str = "en") -> pd.DataFrame:
    """The first ``n`` rows of the list, offers in words."""
    top = result.targeting.head(n).copy()
    top["recommended_arm"] = top["recommended_arm"].map(lambda a: arm_label(a, language))
    return top


def truth_lines(check: pd.DataFrame, language: str = "en") -> list[str]:
    """Per offer, the true effect of the top 30% against everyone's."""
    if check is None or not len(check):
        return [t("nb08.truth_none", language)]
    out = [t("nb08.truth_line", language, arm=esc(r.arm), top=fmt_pp(r.true_effect_top), all=fmt_pp(r.true_effect_all),
             ratio=fmt_number(round(r.ratio, 2)), p=fmt_pvalue(r.p_value)) for r in check.itertuples()]
    return out + [t("nb08.truth_fails", language, arm=esc(r.arm)) for r in check.itertuples() if r.p_value >= 0.05]


def update_customers_csv(path, columns: pd.DataFrame, fallback: pd.DataFrame) -> pd.DataFrame:
    """Add ``uplift_<arm>`` and ``recommended_arm`` to the export at ``path`` in place (:func:`~customer_analytics.io.customer_export.add_customer_columns`).

    Every earlier ``uplift_`` column is replaced (the arms may differ from last run's); customers
    outside the experiment get empty cells.
    """
    return add_customer_columns(path, columns, fallback, replace_prefix="uplift_")


def bullets(result: TargetingResult | None, language: str = "en", *, currency: str = "", why: str | None = None) -> list[str]:
    """The summary's bullets: the headline and one decision per offer; or why nothing was learned."""
    if result is None or result.status != "ok":
        return [why] if why else []
    return [headline(result, language, currency),
            *(arm_decision(result, a, language, currency) for a in result.arms), list_counts(result, language)]

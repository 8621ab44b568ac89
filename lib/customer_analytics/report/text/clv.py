"""CLV and churn in words: the model choice, churn-score names, the AUC verdict, column headers and the holdout tables."""

from __future__ import annotations

import pandas as pd

from customer_analytics.models.clv import MODELS, list_limit
from customer_analytics.models.clv_models import AUTO, PREFERENCE, TIE_TOLERANCE, ModelComparison
from customer_analytics.models.clv_validation import Validation, beats_recency
from customer_analytics.report.formatting import fmt_int, fmt_number, fmt_share
from customer_analytics.report.i18n import catalog, has, t

#: What to do with a high-value customer at risk (the ``action`` of the at-risk table, ``clv_action``).
AT_RISK_ACTION = ("Win back now: personal contact or a tailored offer within two weeks "
                  "(high predicted value, likely to have stopped buying)")


def at_risk_rule(settings: dict, scored: int, language: str = "en") -> dict[str, str]:
    """The at-risk rule in words: the placeholders of ``nb05.s5``, ``nb05.at_risk`` and ``nb05.no_at_risk``.

    ``settings`` is the ``clv`` section (``churn_threshold``, ``list_share``, ``list_max``) and
    ``scored`` the number of scored customers. Returns ``threshold`` and ``share`` as percentages,
    ``scored``, ``limit`` (the most customers the list may hold,
    :func:`customer_analytics.models.clv.list_limit`) and ``cap`` (the words for ``list_max``,
    empty without a cap).
    """
    cap = settings.get("list_max")
    return {"threshold": f"{float(settings['churn_threshold']) * 100:g}%",
            "share": f"{float(settings['list_share']) * 100:g}%", "scored": fmt_int(scored),
            "limit": fmt_int(list_limit(scored, settings["list_share"], cap)),
            "cap": t("nb05.list_cap", language, max=fmt_int(cap)) if cap is not None else ""}


def score_label(score: str, language: str = "en") -> str:
    """A churn score in words: the baselines ``recency`` and ``logistic`` from the catalog, a model name as is."""
    key = f"nb05.score_{score}"
    return t(key, language) if has(key, language) else str(score)


def auc_verdict(auc: pd.DataFrame, model_name: str, language: str = "en") -> str:
    """Plain-language comparison of the model's churn AUC with the baselines (first row = the model).

    A baseline is beaten when the whole 95% interval of the AUC difference (model minus
    baseline) lies above zero, and beats the model when it lies below zero; otherwise the two
    are not distinguishable. Text from the catalog (``nb05.verdict_*``) in ``language``.
    """
    m = auc.iloc[0]
    parts = []
    for _, row in auc.iloc[1:].iterrows():
        name = score_label(row["score"], language)
        if pd.isna(row["auc"]) or pd.isna(m["auc"]):
            parts.append(t("nb05.verdict_unscored", language, baseline=name))
            continue
        lo, hi = row["model_minus_this_low"], row["model_minus_this_high"]
        key = "nb05.verdict_beats" if lo > 0 else "nb05.verdict_worse" if hi < 0 else "nb05.verdict_tie"
        parts.append(t(key, language, baseline=name) + t("nb05.verdict_numbers", language, model=f"{m['auc']:.3f}",
                                                         other=f"{row['auc']:.3f}", low=f"{lo:+.3f}",
                                                         high=f"{hi:+.3f}"))
    text = t("nb05.verdict_lead", language, model=model_name) + t("nb05.verdict_join", language).join(parts) \
        + t("nb05.verdict_end", language)
    if not beats_recency(auc):
        text += t("nb05.verdict_no_gain", language)
    return text



def column_labels(language: str = "en") -> dict[str, str]:
    """Table headers in words for this module's columns (catalog keys ``nb05.col.<column>``)."""
    prefix = "nb05.col."
    return {k[len(prefix):]: v for k, v in catalog(language).items() if k.startswith(prefix)}


def validation_tables(v: Validation, language: str = "en") -> dict[str, pd.DataFrame]:
    """The holdout checks as report tables (raw values; formatting is the report's job).

    - ``totals``: customers, actual and predicted total repeat purchases, error as a
      fraction of the actual total (``error``, shown as a percentage);
    - ``by_frequency``: calibration frequency bucket, customers, mean holdout purchases
      actual and predicted;
    - ``auc``: each churn score in words with its ROC AUC and the 95% interval of the
      difference model minus this score.
    """
    totals = v.totals.assign(error=v.totals["error_pct"] / 100).drop(columns="error_pct").rename(
        columns={"actual": "actual_total", "predicted": "predicted_total"})
    by_frequency = v.by_frequency.rename(columns={"actual": "actual_mean", "predicted": "predicted_mean"})
    auc = v.auc.assign(score=v.auc["score"].map(lambda s: score_label(s, language)))
    return {"totals": totals, "by_frequency": by_frequency, "auc": auc}



def parameters_for_reader(params: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The fitted parameters with the time unit in words (``unit``) on the rate parameters only.

    Only alpha (and Pareto/NBD's beta) are per time unit; the other purchase parameters are
    shapes and Gamma-Gamma's p, q and v describe spend, so their unit cell stays empty.
    """
    return params.assign(time_unit=params["time_unit"].mask(params["time_unit"].ne(""), unit))


def model_name(model: str, language: str = "en") -> str:
    """A purchase model's name in ``language``: catalog ``nb05.model_<code>``, else its name in ``clv.MODELS`` (Pareto/NBD, the same in every language)."""
    key = f"nb05.model_{model}"
    return t(key, language) if has(key, language) else MODELS.get(model, str(model))


def model_choice(c: ModelComparison, language: str = "en") -> str:
    """Which purchase model the report uses and by what rule, in words (Markdown).

    With ``clv.model: auto``: the chosen model, its holdout MAE, whether it won outright or by
    the order among models tied within :data:`customer_analytics.models.clv_models.TIE_TOLERANCE`,
    and the rule. With one model set in the config: that it was set there.
    """
    name = model_name(c.chosen, language)
    if c.rule != AUTO:
        return t("nb05.choice_config", language, model=name, code=c.chosen)
    row = c.table.set_index("model")
    mae = float(row.loc[c.chosen, "mae"])
    near = row.index[(row["mae"] <= row["mae"].min() * (1 + TIE_TOLERANCE) + 1e-12) & (row.index != c.chosen)]
    order = t("nb05.choice_sep", language).join(model_name(m, language) for m in PREFERENCE)
    if len(near):
        others = t("nb05.choice_and", language).join(f"{model_name(m, language)} ({fmt_number(row.loc[m, 'mae'])})"
                                                      for m in near)
        how = t("nb05.choice_tied", language, mae=fmt_number(mae), others=others)
    else:
        how = t("nb05.choice_best", language, mae=fmt_number(mae))
    return (t("nb05.choice_lead", language, model=name) + how
            + t("nb05.choice_rule", language, tolerance=fmt_share(TIE_TOLERANCE, 0), order=order))


def comparison_table(c: ModelComparison, language: str = "en") -> pd.DataFrame:
    """The model comparison as a report table: model in words, MAE, total error (a fraction), AUC, P(alive), chosen.

    Raw values (formatting is the report's job); ``total_error`` is ``error_pct`` / 100 and ``chosen``
    the catalog's word for the chosen model (empty for the others).
    """
    tab = c.table
    return pd.DataFrame({"model": tab["model"].map(lambda m: model_name(m, language)), "mae": tab["mae"],
                         "total_error": tab["error_pct"] / 100, "churn_auc": tab["churn_auc"],
                         "one_time_p_alive": tab["one_time_p_alive"],
                         "chosen": tab["chosen"].map({True: t("nb05.chosen_yes", language), False: ""})})

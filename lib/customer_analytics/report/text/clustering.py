"""Sentences and tables of the clustering report, built from :mod:`customer_analytics.models.clustering` results.

The model returns facts and codes (the k search, the choice's ``facts``, each cluster's levels);
this module writes them in the report language: the verdict and reason for k, the cluster names,
the name-change sentences, the fit note and the tables (raw values, headers from :func:`table_labels`).
"""

from __future__ import annotations

import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.models import cluster_naming
from customer_analytics.models.cluster_naming import LEVELS
from customer_analytics.models.clustering import (
    BASE_FEATURES,
    ClusterFit,
    KChoice,
    KSearch,
    verdict_key,
)
from customer_analytics.report.i18n import t


def _ks(index) -> str:
    return ", ".join(str(int(k)) for k in index)


def verdict_text(stable: bool, big: bool, min_share: float, language: str = "en") -> str:
    """One k's verdict in words: meets the bar, or what it fails (unstable, a cluster too small)."""
    return t(f"nb03.verdict.{verdict_key(stable, big)}", language, share=f"{min_share:.0%}")


def choice_reason(choice: KChoice, language: str = "en") -> str:
    """Why this k, in the report language: the rule applied, the winner, ties, what was not eligible.

    Written from ``choice.facts`` (set by :func:`choose_k`) with the catalog keys ``nb03.reason.*``.
    """
    f = choice.facts

    def r(key, **v):
        return t(f"nb03.reason.{key}", language, **v)

    bar = r("bar", ari=f"{f['stable_ari']:g}", share=f"{f['min_share']:.0%}")
    k = f["k"]
    if f["case"] == "fixed":
        tail = (r("fixed_meets", bar=bar) if f["good"]
                else r("fixed_fails", verdict=verdict_text(f["stable"], f["big"], f["min_share"], language)))
        return r("fixed", k=k) + tail
    if f["case"] == "none":
        return r("none", k_min=f["k_min"], k_max=f["k_max"], bar=bar, best=f"{f['best_ari']:.2f}", k=k)
    parts = [r("won_best", k=k, ks=_ks(f["ok"]), best=f"{f['best']:.3f}") if k == f["k_best"] else
             r("won_tie", k=k, ks=_ks(f["ok"]), silhouette=f"{f['silhouette']:.3f}", tie=f"{f['tie']:g}",
               best=f"{f['best']:.3f}", k_best=f["k_best"])]
    if f["others"]:
        parts.append(r("others_one" if len(f["others"]) == 1 else "others_many", ks=_ks(f["others"])))
    if f["out"]:
        items = [r("item", k=i, verdict=verdict_text(a, b, f["min_share"], language)) for i, a, b in f["out"]]
        parts.append(r("not_eligible", items=r("item_sep").join(items)))
    parts.append(r("bar_end", bar=bar))
    return r("sep").join(parts)


#: Words per level of the *value* (low, mid, high); recency: a low value is recent.
NAME_WORDS = {
    "en": {"recency_days": ("recent", "fading", "lapsed"), "frequency": ("one-off", "occasional", "frequent"),
           "monetary": ("low spend", "mid spend", "high spend"), "sep": " · "},
    "zh": {"recency_days": ("近期购买", "渐少购买", "久未购买"), "frequency": ("单次", "偶尔", "高频"),
           "monetary": ("低消费", "中消费", "高消费"), "sep": " · "},
}
#: Plain words for the features, with the direction that is better for the business.
FEATURE_WORDS = {
    "en": {"recency_days": "days since last purchase", "frequency": "orders", "monetary": "spend"},
    "zh": {"recency_days": "距上次购买天数", "frequency": "订单数", "monetary": "消费额"},
}
BETTER = {"en": {"recency_days": "lower is better", "frequency": "higher is better", "monetary": "higher is better"},
          "zh": {"recency_days": "越低越好", "frequency": "越高越好", "monetary": "越高越好"}}
MEDIAN = {"en": "median {}", "zh": "{}中位数"}


def median_words(col: str, language: str = "en") -> str:
    """'median days since last purchase' (en) / '距上次购买天数中位数' (zh)."""
    return MEDIAN[language].format(FEATURE_WORDS[language][col])
#: Parts of a name-change sentence (catalog keys ``nb03.change.<part>``), see :func:`name_changes`.
CHANGE_PARTS = ("change", "detail", "low", "mid", "high", "low_days", "mid_days", "high_days", "new", "gone", "list_sep")


def change_text(language: str = "en") -> dict[str, str]:
    """The templates of the name-change sentences in ``language``, from the catalog (``nb03.change.*``)."""
    return {part: t(f"nb03.change.{part}", language) for part in CHANGE_PARTS}


def _check_language(language: str) -> None:
    if language not in NAME_WORDS:
        raise ConfigError(f"language must be 'en' or 'zh', got '{language}'")


def _base_name(row: pd.Series, language: str) -> str:
    w = NAME_WORDS[language]
    return w["sep"].join(w[col][LEVELS.index(row[f"{col}_level"])] for col in BASE_FEATURES)


def name_clusters(levels: pd.DataFrame, language: str = "en") -> dict[int, str]:
    """Name per cluster from :func:`name_levels`, e.g. 'recent · frequent · high spend'.

    Recency: low value = recent, high = lapsed. Frequency: one-off / occasional / frequent.
    Monetary: low / mid / high spend. Clusters sharing a name get a suffix " (2)", " (3)"
    in id order.
    """
    _check_language(language)
    names = {int(cid): _base_name(row, language) for cid, row in levels.iterrows()}
    seen: dict[str, int] = {}
    for cid in sorted(names):
        n = names[cid]
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1:
            names[cid] = f"{n} ({seen[n]})"
    return names


def _fmt_value(col: str, v: float) -> str:
    if col == "monetary":
        return f"{v:,.2f}"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def _pct(q: float, language: str) -> str:
    n = f"{q * 100:g}"
    if language == "zh":
        return n
    suffix = "th" if n.endswith(("11", "12", "13")) else {"1": "st", "2": "nd", "3": "rd"}.get(n[-1], "th")
    return n + suffix


def name_changes(current: pd.DataFrame, previous: pd.DataFrame | None, cut: pd.DataFrame, *,
                 language: str = "en", currency: str = "") -> list[str]:
    """One sentence per cluster id whose name changed since last month (empty when none did).

    Parameters
    ----------
    current, previous : DataFrame
        :func:`name_levels` output of this month (after id alignment) and last month's
        (as saved by :func:`save`); ``previous`` None means there is no earlier month.
    cut : DataFrame
        This month's :func:`cutoffs`, quoted in the sentence.
    language : str
        ``en`` or ``zh``; both months' names are written in this language.
    currency : str
        Symbol put before spend figures (the config's ``report.currency``); none by default.

    A cluster keeps its name unless a median crossed a cut-off; each sentence gives the
    old and new name and, for every feature that crossed, the median before and after
    and where it sits now, e.g. "cluster 0: 'fading · one-off · low spend' → 'lapsed ·
    one-off · low spend' (median days since last purchase 95 → 160, now at or above the
    75th percentile of customers (120))".
    """
    _check_language(language)
    if previous is None:
        return []
    cols = [f"{c}_level" for c in BASE_FEATURES]
    if any(c not in previous.columns for c in cols):
        return []
    t, words = change_text(language), FEATURE_WORDS[language]
    old_names, new_names = name_clusters(previous, language), name_clusters(current, language)
    q = {"q_low": _pct(cut.attrs.get("q_low", 0.25), language), "q_high": _pct(cut.attrs.get("q_high", 0.75), language)}
    out = []
    for cid in sorted(set(current.index) | set(previous.index)):
        if cid not in previous.index:
            out.append(t["new"].format(cid=cid, new=new_names[int(cid)]))
            continue
        if cid not in current.index:
            out.append(t["gone"].format(cid=cid, old=old_names[int(cid)]))
            continue
        moved = [c for c in BASE_FEATURES if current.loc[cid, f"{c}_level"] != previous.loc[cid, f"{c}_level"]]
        if not moved:
            continue
        def v(c, x):
            return (currency if c == "monetary" else "") + _fmt_value(c, x)

        details = t["list_sep"].join(
            t["detail"].format(
                feature=words[c], before=v(c, previous.loc[cid, f"median_{c}"]),
                after=v(c, current.loc[cid, f"median_{c}"]),
                where=t[_where_key(c, current.loc[cid, f"{c}_level"])].format(
                    **q, v_low=v(c, cut.loc[c, "low"]), v_high=v(c, cut.loc[c, "high"])))
            for c in moved)
        out.append(t["change"].format(cid=cid, old=old_names[int(cid)], new=new_names[int(cid)], details=details))
    return out


# ------------------------------------------------------------------ report tables and charts in the report language
# The tables below keep raw values (formatted by :func:`customer_analytics.report.formatting.show`); their headers in
# words come from :func:`table_labels`. Charts take their text from the catalog (``nb03.chart.*``) and their
# colours from the one palette (:func:`customer_analytics.report.charts.color_for`).


def table_labels(language: str = "en", cut: pd.DataFrame | None = None) -> dict[str, str]:
    """Column -> header in words for the tables of this module (``k_table``, ``profile_table``, ...)."""
    _check_language(language)
    out = {c: t(f"nb03.col_{c}", language) for c in ("k", "silhouette", "ari", "ari_min", "min_share", "verdict",
                                                     "cluster", "moved", "feature", "between", "name", "customers",
                                                     "share", "revenue_share")}
    out = {{"ari": "stability_ari", "ari_min": "stability_ari_min"}.get(k, k): v for k, v in out.items()}
    out.update({f"median_{c}": median_words(c, language)[:1].upper() + median_words(c, language)[1:]
                for c in BASE_FEATURES})
    if cut is not None:
        out.update(low=t("nb03.col_lower", language), high=t("nb03.col_upper", language),
                   rule=t("nb03.col_rule", language), below=t("nb03.col_word_low", language),
                   between=t("nb03.col_word_mid", language), above=t("nb03.col_word_high", language))
    return out


def recency_days(cut: pd.DataFrame) -> dict[str, str]:
    """The fixed recency cut-offs of ``cut`` as text for the catalog: ``d_low`` and ``d_high`` (days)."""
    low, high = cut.loc[cluster_naming.FIXED, ["low", "high"]]
    return {"d_low": f"{low:,.0f}", "d_high": f"{high:,.0f}"}


def _where_key(col: str, level: str) -> str:
    """The catalog part that says where a median now sits: in days for recency, in percentiles otherwise."""
    return f"{level}_days" if col == cluster_naming.FIXED else level


def k_table(choice: KChoice, language: str = "en") -> pd.DataFrame:
    """The k search as a table (raw values): figures per k and the verdict in words, the chosen k marked."""
    tb = choice.table.reset_index()
    stable = tb["stability_ari"] >= choice.stable_ari
    big = tb["min_share"] >= choice.min_share
    verdict = [verdict_text(bool(a), bool(b), choice.min_share, language) for a, b in zip(stable, big, strict=True)]
    return pd.DataFrame({
        "k": tb["k"].astype(int), "silhouette": tb["silhouette"], "stability_ari": tb["stability_ari"],
        "stability_ari_min": tb["stability_ari_min"], "min_share": tb["min_share"],
        "verdict": [t("nb03.chosen_mark", language, verdict=v) if int(k) == choice.k else v
                    for k, v in zip(tb["k"], verdict, strict=True)],
    })


def profile_table(prof: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """The cluster profile as a table (raw values): id, name, size, shares and medians, no index."""
    return pd.DataFrame({
        "cluster": prof.index.astype(int), "name": [names.get(int(c), "noise") for c in prof.index],
        "customers": prof["customers"].to_numpy(), "share": prof["share"].to_numpy(),
        "revenue_share": prof["revenue_share"].to_numpy(),
        **{f"median_{c}": prof[f"median_{c}"].to_numpy() for c in BASE_FEATURES},
    })


def cutoff_table(cut: pd.DataFrame, language: str = "en", currency: str = "") -> pd.DataFrame:
    """The naming cut-offs: per feature (in words) the two cut-off values, the rule and the three words they separate.

    Recency's cut-offs are fixed days (:data:`customer_analytics.models.cluster_naming.RECENCY_DAYS`);
    orders' and spend's are percentiles of all customers.
    """
    _check_language(language)
    w, words = FEATURE_WORDS[language], NAME_WORDS[language]

    def value(c, v):
        return currency + _fmt_value(c, v) if c == "monetary" else _fmt_value(c, v)

    return pd.DataFrame({
        "feature": [f"{w[c]} ({BETTER[language][c]})" for c in BASE_FEATURES],
        "low": [value(c, cut.loc[c, "low"]) for c in BASE_FEATURES],
        "high": [value(c, cut.loc[c, "high"]) for c in BASE_FEATURES],
        "rule": [t("nb03.rule_days", language) if c == cluster_naming.FIXED else t(
            "nb03.rule_pct", language, q_low=_pct(cut.attrs.get("q_low", 0.25), language),
            q_high=_pct(cut.attrs.get("q_high", 0.75), language)) for c in BASE_FEATURES],
        "below": [words[c][0] for c in BASE_FEATURES], "between": [words[c][1] for c in BASE_FEATURES],
        "above": [words[c][2] for c in BASE_FEATURES],
    })


def moved_table(moved: pd.Series, names: dict[int, str] | None = None) -> pd.DataFrame:
    """How far each matched cluster centre moved since last month (log units), with the name when given."""
    out = pd.DataFrame({"cluster": moved.index.astype(int), "moved": moved.to_numpy()})
    if names is not None:
        out.insert(1, "name", [names.get(int(c), "noise") for c in moved.index])
    return out


def percentile(q: float, language: str = "en") -> str:
    """A share as a percentile in words: 0.25 -> '25th' (en), '25' (zh, used as 第 25 百分位)."""
    return _pct(q, language)


def segments_table(ct: pd.DataFrame, names: dict[int, str], order: list[str] | None = None) -> pd.DataFrame:
    """Clusters (id: name) against RFM segments: customer counts, the cluster as the first column.

    ``order`` lists segment labels in the scheme's order (best first); segments not in it follow.
    """
    view = ct.copy()
    view.columns = view.columns.astype(str)
    if order:
        view = view[[c for c in order if c in view.columns] + [c for c in view.columns if c not in order]]
    view.insert(0, "cluster", [f"{int(c)}: {names.get(int(c), 'noise')}" for c in view.index])
    return view.reset_index(drop=True)


def fit_note(fitted: ClusterFit, search: KSearch | None, n_customers: int, language: str = "en") -> str:
    """How the final model was fitted, in one sentence ('' when nothing needs saying)."""
    if fitted.algorithm == "hdbscan":
        return t("nb03.fit_noise", language, share=f"{fitted.noise_share:.1%}")
    if fitted.note and search is not None:
        return t("nb03.fit_sample", language, n_fit=f"{search.n_fit:,}", n=f"{n_customers:,}")
    return ""


def search_table(choice: KChoice) -> pd.DataFrame:
    """The k search table of a choice (``tables/k_search.csv``), its ``verdict`` column in English words."""
    tb = choice.table.copy()
    stable = tb["stability_ari"] >= choice.stable_ari
    big = tb["min_share"] >= choice.min_share
    tb["verdict"] = [verdict_text(bool(a), bool(b), choice.min_share) for a, b in zip(stable, big, strict=True)]
    return tb


def choice_summary(choice: KChoice, language: str = "en") -> str:
    """One line: the chosen k, whether it is recommended, and the reason."""
    return (f"k = {choice.k} ({'recommended' if choice.recommended else 'NOT recommended'}). "
            f"{choice_reason(choice, language)}")

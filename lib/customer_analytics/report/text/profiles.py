"""Customer profiles in words: attribute and level names, the cards of distinctive traits, the page's
sentences and summary bullets, and the profile columns of ``customers.csv``.

Every sentence comes from the catalog keys ``nb07.*`` (``resources/i18n/en.yaml`` and ``zh.yaml``);
every figure from the facts the model returns (:mod:`customer_analytics.models.profiles` and
:mod:`customer_analytics.models.associations`), so that the page reconciles with the exported tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.io.customer_export import add_customer_columns
from customer_analytics.models import associations
from customer_analytics.models import attributes as files
from customer_analytics.models import profiles as model
from customer_analytics.report.formatting import (
    fmt_int,
    fmt_money,
    fmt_number,
    fmt_ratio,
    fmt_share,
)
from customer_analytics.report.i18n import catalog, t
from customer_analytics.report.markup import esc

#: Derived attributes and how their values read (money, days or a plain number).
NUMERIC_FORMAT = {"basket_value": "money", "tenure_days": "days", "basket_items": "number", "returned_share": "share"}
#: The columns notebook 07 adds to ``customers.csv``.
CUSTOMER_COLUMNS = ["next_product", "next_product_description"]


def _known(key: str, language: str) -> str | None:
    return catalog(language).get(key)


def attribute_label(name: str, language: str = "en") -> str:
    """An attribute column in words (``nb07.attr.<name>``); an attribute of the customer file keeps its name."""
    return _known(f"nb07.attr.{name}", language) or str(name).replace("_", " ")


def level_label(attribute: str, level: str, language: str = "en") -> str:
    """A level in words: weekdays, day parts and the pooled levels from the catalog, others as they are."""
    if level in (model.OTHER, model.MISSING):
        return t(f"nb07.level.{level}", language)
    if attribute in ("preferred_weekday", "preferred_daypart"):
        return _known(f"nb07.level.{level}", language) or level
    return str(level)


def value_text(attribute: str, value, language: str = "en", currency: str = "") -> str:
    """A numeric attribute's value in its unit: money, days, a share or a plain number."""
    kind = NUMERIC_FORMAT.get(attribute, "number")
    if kind == "money":
        return fmt_money(value, currency)
    if kind == "share":
        return fmt_share(value)
    if kind == "days":
        return t("nb07.days", language, n=fmt_int(value))
    return fmt_number(round(float(value), 1))


def ratio_text(index) -> str:
    """An index as a multiple (``213`` -> ``2.1``)."""
    return fmt_ratio(float(index) / 100)


def trait_text(row, language: str = "en", currency: str = "") -> str:
    """One trait of a card in words, from a row of :func:`customer_analytics.models.profiles.top_traits`."""
    attribute, name = row["attribute"], attribute_label(row["attribute"], language)
    if row["kind"] == "numeric":
        return t("nb07.trait_numeric", language, attribute=esc(name),
                 value=esc(value_text(attribute, row["group_value"], language, currency)),
                 base=esc(value_text(attribute, row["all_value"], language, currency)))
    key = f"nb07.trait.{attribute}" if _known(f"nb07.trait.{attribute}", language) else "nb07.trait.other"
    return t(key, language, ratio=ratio_text(row["index"]), attribute=esc(name),
             level=esc(level_label(attribute, row["level"], language)), share=fmt_share(row["group_value"]),
             base=fmt_share(row["all_value"]))


def cards(traits: pd.DataFrame, names: dict, sizes: dict, *, language: str = "en", currency: str = "") -> list[str]:
    """One card per group, in the order of ``sizes``: "**Champions** (259 customers): trait; trait; trait."

    ``names`` maps group codes to names in the report language, ``sizes`` (ordered: the RFM
    scheme's order for segments, largest first for clusters) to customers. A group without a
    significant trait gets the catalog's "like all customers" card.
    """
    out = []
    for group in sizes:
        rows = traits[traits["group"] == group]
        parts = [trait_text(r, language, currency) for _, r in rows.iterrows()]  # at most n traits per group
        body = t("nb07.sep", language).join(parts) if parts else t("nb07.card_none", language)
        out.append(t("nb07.card", language, name=esc(names.get(group, group)), n=fmt_int(sizes[group]), traits=body))
    return out


def profile_table(result: model.Profile, names: dict, language: str = "en") -> pd.DataFrame:
    """The full profile as a table: one row per attribute and level, one column per group, the index in
    each cell (``176*``: significant after correction), and the all-customers value."""
    t_ = result.table
    label = t_.apply(lambda r: attribute_label(r["attribute"], language)
                     + (f": {level_label(r['attribute'], r['level'], language)}" if r["level"] else ""), axis=1)
    cell = t_["index"].map(lambda v: "–" if pd.isna(v) else f"{v:.0f}") + t_["significant"].map({True: "*", False: ""})
    wide = pd.DataFrame({"trait": label, "group": t_["group"].map(lambda g: names.get(g, g)), "cell": cell})
    order = list(dict.fromkeys(label))
    out = wide.pivot(index="trait", columns="group", values="cell").reindex(order)
    return out[[names.get(g, g) for g in dict.fromkeys(t_["group"])]].rename_axis(t("nb07.col.trait", language))


def export_table(*profiles: tuple[model.Profile, dict]) -> pd.DataFrame:
    """The profile tables (each with its group names) for the CSV export: grouping, group code and name first."""
    parts = [r.table.assign(grouping=r.grouping, group_name=r.table["group"].map(lambda g, n=names: n.get(g, g)))
             for r, names in profiles]
    return pd.concat(parts, ignore_index=True)[["grouping", "group", "group_name", *model.PROFILE_COLUMNS[1:]]]


def method_text(result: model.Profile, language: str = "en") -> str:
    """How the differences were tested and corrected, with the count of significant ones."""
    n = int(result.table["significant"].sum())
    return t("nb07.method_read", language, tests=fmt_int(result.table["p_value"].count()), n=fmt_int(n),
             correction=t(f"nb07.correction.{result.correction}", language), alpha=fmt_number(result.alpha))


def derived_text(attributes: pd.DataFrame, kinds: dict, derived: list[str], language: str = "en") -> str:
    """How many customers and which attributes were profiled: derived from the orders, then from the customer file."""
    sep = t("nb07.sep", language)
    own = [k for k in kinds if k in derived]
    out = t("nb07.derived_read", language, n=fmt_int(len(attributes)), k=fmt_int(len(own)),
            names=esc(sep.join(attribute_label(k, language) for k in own)))
    other = [k for k in kinds if k not in derived]
    if other:
        out += t("nb07.join", language) + t("nb07.file_attributes", language, k=fmt_int(len(other)),
                       names=esc(sep.join(attribute_label(k, language) for k in other)))
    return out


def absent_notes(*, products: bool, attributes: bool, clusters: bool, language: str = "en") -> list[str]:
    """What the page does not show and why (nothing that does not apply is shown as an empty section)."""
    out = [] if products else [t("nb07.no_products", language)]
    out += [] if attributes else [t("nb07.no_attributes", language)]
    return out + ([] if clusters else [t("nb07.no_clusters", language)])


def rules_text(rules: pd.DataFrame, stats: associations.BasketStats, best: pd.DataFrame, *, customers: int,
               p: dict, language: str = "en") -> list[str]:
    """What the rules say: how many from how many orders, who gets a next product, and how many stand against chance."""
    if rules.empty:
        return [t("nb07.rules_none", language, min_support=fmt_number(p["min_support"]),
                  min_lift=fmt_number(p["min_lift"]))]
    pairs = rules[["antecedent", "consequent"]].apply(lambda r: tuple(sorted(r)), axis=1)
    sig = pairs[rules["significant"]].nunique()
    return [t("nb07.rules_read", language, rules=fmt_int(len(rules)), orders=fmt_int(stats.orders),
              products=fmt_int(stats.products), customers=fmt_int(len(best)), none=fmt_int(customers - len(best))),
            t("nb07.rules_chance", language, tested=fmt_int(pairs.nunique()), significant=fmt_int(sig))]


def rules_table(rules: pd.DataFrame, names: dict, n: int = 10) -> pd.DataFrame:
    """The ``n`` strongest rules with the products' descriptions (for the page)."""
    top = rules.head(n)
    return pd.DataFrame({"antecedent": top["antecedent"], "antecedent_name": top["antecedent"].map(names),
                         "consequent": top["consequent"], "consequent_name": top["consequent"].map(names),
                         "support": top["support"], "confidence": top["confidence"], "lift": top["lift"]})


def group_rules_table(by_group: pd.DataFrame, groups: dict, names: dict) -> pd.DataFrame:
    """:func:`~customer_analytics.models.associations.rules_by_group` with segment and product names."""
    d = by_group.assign(group=by_group["group"].map(lambda g: groups.get(g, g)))
    return pd.DataFrame({"group": d["group"], "antecedent": d["antecedent"], "next_product": d["next_product"],
                         "next_name": d["next_product"].map(names), "lift": d["lift"], "customers": d["customers"]})


def customer_columns(best: pd.DataFrame | None, names: dict) -> pd.DataFrame:
    """customer_id and :data:`CUSTOMER_COLUMNS` for every customer with a next product (none without product data)."""
    if best is None:
        return pd.DataFrame(columns=["customer_id", *CUSTOMER_COLUMNS], dtype=str)
    return pd.DataFrame({"customer_id": best["customer_id"].astype(str), "next_product": best["next_product"],
                         "next_product_description": best["next_product"].map(names).fillna("")})


def file_text(extra: files.AttributeFile, language: str = "en") -> str:
    """What the checks of the customer file found (every id set aside is in the issues table)."""
    c = extra.counts
    if not c["matched_ids"]:
        return t("nb07.file_nomatch", language, file=esc(extra.name), column=esc(extra.id_column), rows=fmt_int(c["rows"]))
    enc = t("nb07.file_encoding", language, encoding=esc(extra.encoding)) if extra.encoding else ""
    return t("nb07.file_read", language, file=esc(extra.name), column=esc(extra.id_column), encoding=enc,
             rows=fmt_int(c["rows"]), matched=fmt_int(c["matched_ids"]), unmatched=fmt_int(c["unmatched_ids"]),
             duplicates=fmt_int(c["duplicate_ids"]), missing=fmt_int(c["missing_ids"]),
             without=fmt_int(c["customers_without_row"]))


def catalog_text(catalog: files.AttributeFile, spend: pd.DataFrame, language: str = "en") -> str:
    """The catalog's size and how many products sold are not in it."""
    sold = set(spend["product_id"])
    return t("nb07.catalog_read", language, file=esc(catalog.name), column=esc(catalog.id_column),
             rows=fmt_int(catalog.counts["rows"]), products=fmt_int(len(catalog.data)),
             missing=fmt_int(len(sold - set(catalog.data["product_id"]))))


def item_label(item: str, names: dict, language: str = "en") -> str:
    """A category (as it is; 'not in catalog' in words) or a product code with its description."""
    if item == files.NOT_IN_CATALOG:
        return t("nb07.level.not_in_catalog", language)
    return f"{item} {names[item]}" if item in names else str(item)


def preferences_text(prefs: pd.DataFrame, groups: dict, names: dict, *, by_category: bool, sizes: dict,
                     min_customers: int = 10, language: str = "en") -> str:
    """The strongest preference (highest lift) among segments of at least ``min_customers`` (``sizes``), or
    that no segment stands out (no lift of 1.5 or more)."""
    big = prefs[prefs["group"].map(lambda g: sizes.get(g, 0) >= min_customers)]
    top = (big if len(big) else prefs).loc[lambda d: d["lift"].idxmax()]
    values = dict(segment=esc(groups.get(top["group"], top["group"])), item=esc(item_label(top["item"], names, language)),
                  share=fmt_share(top["share"]), base=fmt_share(top["all_share"]),
                  lift=fmt_number(round(float(top["lift"]), 2)))
    if top["lift"] < 1.5:
        unit = t("nb07.prefs_unit_category" if by_category else "nb07.prefs_unit_product", language)
        return t("nb07.prefs_flat", language, unit=unit, **{k: values[k] for k in ("segment", "item", "lift")})
    return t("nb07.prefs_read", language, **values)


def preferences_table(prefs: pd.DataFrame, groups: dict, names: dict, language: str = "en") -> pd.DataFrame:
    """Preferences with segment names and items in words (for the page)."""
    return pd.DataFrame({"group": prefs["group"].map(lambda g: groups.get(g, g)),
                         "item": prefs["item"].map(lambda i: item_label(i, names, language)),
                         "share": prefs["share"], "all_share": prefs["all_share"], "lift": prefs["lift"]})


def column_labels(language: str = "en") -> dict[str, str]:
    """Table headers in words (catalog keys ``nb07.col.<column>``)."""
    prefix = "nb07.col."
    return {k[len(prefix):]: v for k, v in catalog(language).items() if k.startswith(prefix)}


def update_customers_csv(path, columns: pd.DataFrame, fallback: pd.DataFrame) -> pd.DataFrame:
    """Add :data:`CUSTOMER_COLUMNS` to the export at ``path`` in place (:func:`~customer_analytics.io.customer_export.add_customer_columns`).

    A customer without a next product gets empty cells.
    """
    return add_customer_columns(path, columns[["customer_id", *CUSTOMER_COLUMNS]], fallback)


def bullets(segment_profile: model.Profile, cards_: list[str], offers: dict | None, *, customers: int,
            attributes: int, value: str = "", language: str = "en") -> list[str]:
    """The executive summary of page 07: who was profiled, the three largest segments' cards, the rules
    the value score (``value``: :func:`value_bullet`, empty without weights)
    and a "Next:" action naming whom to offer what.

    ``offers`` (None without product data) holds ``rules`` (the mined rules with ``significant``),
    ``stats`` (:class:`~customer_analytics.models.associations.BasketStats`), ``best`` (the next
    products), ``by_group`` (:func:`~customer_analytics.models.associations.rules_by_group`),
    ``groups`` (segment names) and ``sizes`` (customers per segment).
    """
    table = segment_profile.table
    out = [t("nb07.sum_profiled", language, n=fmt_int(customers), k=fmt_int(attributes),
             significant=fmt_int(table["significant"].sum()), tests=fmt_int(table["p_value"].count()))]
    out += cards_[:3] + ([value] if value else [])
    if not offers:
        return [*out, t("nb07.sum_next_noproducts", language)]
    if offers["rules"].empty:
        return [*out, t("nb07.sum_next_none", language)]
    rules, best = offers["rules"], offers["best"]
    sig = rules[["antecedent", "consequent"]][rules["significant"]].apply(lambda r: tuple(sorted(r)), axis=1)
    out.append(t("nb07.sum_rules", language, rules=fmt_int(len(rules)), orders=fmt_int(offers["stats"].orders),
                 customers=fmt_int(len(best)), significant=fmt_int(sig.nunique())))
    return [*out, next_text(offers, language)]


def next_text(offers: dict, language: str = "en") -> str:
    """The action: the most common next product of the first segment (in the scheme's order) that has one."""
    by_group, sizes = offers["by_group"], offers["sizes"]
    if by_group.empty:
        return t("nb07.sum_next_none", language)
    top_group = next(g for g in sizes if g in set(by_group["group"]))  # the first segment of the scheme's order
    row = by_group[by_group["group"] == top_group].iloc[0]
    names = offers.get("names", {})
    product = f"{row['next_product']} {names.get(row['next_product'], '')}".strip()
    strong = bool(offers["rules"]["significant"].any()) if "significant" in offers["rules"] else True
    return t("nb07.sum_next" if strong else "nb07.sum_next_weak", language, segment=esc(offers["groups"].get(top_group, top_group)),
             n=fmt_int(sizes[top_group]), product=esc(product), antecedent=esc(row["antecedent"]),
             lift=fmt_number(round(float(row["lift"]), 2)))


def weights_text(weights: dict) -> dict:
    """The three weights as shares (``r``, ``f``, ``m``) for the catalog's sentences."""
    return {k: fmt_share(weights[k], 0) for k in "rfm"}


def value_texts(weights: dict, learned, moves: pd.DataFrame, *, days: int, language: str = "en") -> list[str]:
    """The weights (learned: with the holdout check) and how many customers change tier against equal weights."""
    w = weights_text(weights)
    if learned is not None:
        first = t("nb07.value_learned", language, fit=fmt_int(learned.fit_customers), days=fmt_int(days),
                  hold=fmt_int(learned.holdout_customers), rho=fmt_number(round(learned.spearman_learned, 3)),
                  rho_equal=fmt_number(round(learned.spearman_equal, 3)), **w)
    else:
        first = t("nb07.value_fixed", language, **w)
    moved = int(moves.to_numpy().sum() - np.trace(moves.to_numpy()))
    total = int(moves.to_numpy().sum())
    return [first, t("nb07.value_moves", language, moved=fmt_int(moved), share=fmt_share(moved / total if total else 0))]


def tier_table(moves: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """The tier cross table with tier names in words."""
    names = {k: t(f"nb07.tier.{k}", language) for k in moves.index}
    out = moves.rename(index=names, columns=names)
    return out.rename_axis(index=t("nb07.col.equal", language), columns=t("nb07.col.weighted", language))


def value_bullet(weights: dict | None, moves: pd.DataFrame | None, language: str = "en") -> str:
    """The value score in one summary line (empty without ``rfm.weights``)."""
    if weights is None or moves is None:
        return ""
    moved = int(moves.to_numpy().sum() - np.trace(moves.to_numpy()))
    return t("nb07.sum_value", language, moved=fmt_int(moved), **weights_text(weights))

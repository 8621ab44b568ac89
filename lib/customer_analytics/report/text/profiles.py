"""Customer profiles in words: attribute and level names, the cards of distinctive traits, the page's
sentences and summary bullets, and the profile columns of ``customers.csv``.

Every sentence comes from the catalog keys ``nb07.*`` (``resources/i18n/en.yaml`` and ``zh.yaml``);
every figure from the facts the model returns (:mod:`customer_analytics.models.profiles` and
:mod:`customer_analytics.models.associations`), so that the page reconciles with the exported tables.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from customer_analytics.models import profiles as model
from customer_analytics.report.formatting import fmt_int, fmt_money, fmt_number, fmt_share, fmt_ratio
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
    return _known(f"nb07.attr.{name}", language) or str(name)


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
    """One card per group, largest group first: "**Champions** (259 customers): trait; trait; trait."

    ``names`` maps group codes to names in the report language, ``sizes`` to customers. A group
    without a significant trait gets the catalog's "like all customers" card.
    """
    out = []
    for group in sorted(sizes, key=lambda g: -sizes[g]):
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


def export_table(result: model.Profile, names: dict) -> pd.DataFrame:
    """The profile table for the CSV export: codes and the group's name."""
    out = result.table.assign(grouping=result.grouping, group_name=result.table["group"].map(lambda g: names.get(g, g)))
    return out[["grouping", "group", "group_name", *model.PROFILE_COLUMNS[1:]]]


def method_text(result: model.Profile, language: str = "en") -> str:
    """How the differences were tested and corrected, with the count of significant ones."""
    n = int(result.table["significant"].sum())
    return t("nb07.method_read", language, tests=fmt_int(result.table["p_value"].count()), n=fmt_int(n),
             correction=t(f"nb07.correction.{result.correction}", language), alpha=fmt_number(result.alpha))


def column_labels(language: str = "en") -> dict[str, str]:
    """Table headers in words (catalog keys ``nb07.col.<column>``)."""
    prefix = "nb07.col."
    return {k[len(prefix):]: v for k, v in catalog(language).items() if k.startswith(prefix)}


def update_customers_csv(path, columns: pd.DataFrame, fallback: pd.DataFrame) -> pd.DataFrame:
    """Add :data:`CUSTOMER_COLUMNS` (customer_id and the columns of ``columns``) to the export at ``path``.

    As :func:`customer_analytics.report.text.lifecycle.update_customers_csv`: the export of
    notebooks 02-06 is read as text and joined on customer_id; without it, ``fallback`` is used.
    A customer without a next product gets empty cells.
    """
    path = Path(path)
    export = pd.read_csv(path, dtype={"customer_id": str}, keep_default_na=False) if path.exists() else fallback
    export = export.drop(columns=[c for c in CUSTOMER_COLUMNS if c in export])
    out = export.merge(columns, on="customer_id", how="left", validate="one_to_one")
    out[CUSTOMER_COLUMNS] = out[CUSTOMER_COLUMNS].fillna("")
    out.to_csv(path, index=False, lineterminator="\n")
    return out

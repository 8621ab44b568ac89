"""Optional customer and product files for the profiles: read, checked up front, joined.

A **customer attribute file** (``profiles.attributes_path``: CSV, Parquet or Excel) holds one row per
customer: an id column (``profiles.attributes_id_column``) and any attribute columns. Its ids are
normalised exactly as the transactions' ids are (:func:`customer_analytics.io.reading.normalise_ids`:
spaces stripped, ``12346.0`` read as ``12346``), so that the two files meet. Before anything is
joined, the file is checked and every problem is counted and reported, never silently dropped:

- a missing file or a missing id column stops the run with a message naming the file and column;
- rows without an id are counted (``missing_ids``) and left out;
- an id on more than one row is counted (``duplicate_ids``, ``duplicate_rows``); the first row of
  each id is used and the ids are listed in :attr:`AttributeFile.issues`;
- ids that match no scored customer are counted (``unmatched_ids``) and listed;
- scored customers without a row are counted (``customers_without_row``); their attributes are missing.

A **product catalog** (``profiles.catalog_path``) maps product codes (``profiles.catalog_id_column``)
to a ``category`` column (and any product attributes), read and checked the same way.
CSV text is read as UTF-8, else cp1252, else Latin-1 (the first that decodes the file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from customer_analytics.core.errors import InputError
from customer_analytics.core.paths import resolve_path
from customer_analytics.io.reading import normalise_ids

ENCODINGS = ("utf-8", "cp1252", "latin-1")
NOT_IN_CATALOG = "not_in_catalog"  # the category of a product the catalog does not list


def read_any(path: str | Path, what: str = "profiles.attributes_path") -> tuple[pd.DataFrame, str | None]:
    """A CSV (as text; the first of :data:`ENCODINGS` that decodes it), Parquet or Excel file, and its encoding."""
    p = resolve_path(path)
    if p is None or not p.exists() or p.is_dir():
        raise InputError(f"{what}: file not found: {path}")
    ext = p.suffix.lower()
    if ext == ".parquet":
        return pd.read_parquet(p), None
    if ext in (".xlsx", ".xls"):
        return pd.read_excel(p, dtype=object), None
    for enc in ENCODINGS:
        try:
            return pd.read_csv(p, dtype=str, encoding=enc, keep_default_na=False, na_values=[""]), enc
        except UnicodeDecodeError:
            continue
    raise InputError(f"{p.name}: could not decode with encodings {list(ENCODINGS)}")  # latin-1 decodes any bytes


@dataclass
class AttributeFile:
    """A checked customer (or product) file: its rows by normalised id, and what the checks found."""

    data: pd.DataFrame  # id column first ("customer_id" or "product_id"), one row per id
    name: str           # the file's name
    id_column: str      # the id column in the file
    encoding: str | None
    counts: dict = field(default_factory=dict)
    issues: pd.DataFrame = field(default_factory=pd.DataFrame)  # id, issue (duplicate, unmatched)


def _checked(raw: pd.DataFrame, name: str, id_column: str, key: str) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Normalised ids, rows without id left out, the first row of each duplicated id kept; counts and issues."""
    if id_column not in raw.columns:
        raise InputError(f"{name}: no id column '{id_column}' (profiles.{key}_id_column); "
                         f"columns found: {list(raw.columns)}")
    ids, _ = normalise_ids(raw[id_column], id_column)
    d = raw.drop(columns=[id_column]).assign(**{"_id": ids.to_numpy()})
    missing = int(d["_id"].isna().sum())
    d = d[d["_id"].notna()]
    dup = d["_id"].duplicated(keep=False)
    issues = pd.DataFrame({"id": sorted(d.loc[dup, "_id"].unique()), "issue": "duplicate"})
    counts = {"rows": len(raw), "missing_ids": missing, "duplicate_ids": int(d.loc[dup, "_id"].nunique()),
              "duplicate_rows": int(dup.sum() - d.loc[dup, "_id"].nunique())}
    d = d.drop_duplicates("_id", keep="first")
    return d, counts, issues


def read_attributes(path: str | Path, id_column: str, customers: pd.Series) -> AttributeFile:
    """Read and check a customer attribute file against the scored ``customers`` (their ids as text).

    Raises
    ------
    InputError
        When the file is missing or unreadable, or has no column ``id_column`` (the message names both).
    """
    raw, enc = read_any(path, "profiles.attributes_path")
    name = Path(str(path)).name
    d, counts, issues = _checked(raw, name, id_column, "attributes")
    known = set(customers.astype(str))
    unmatched = ~d["_id"].isin(known)
    counts["unmatched_ids"] = int(unmatched.sum())
    counts["matched_ids"] = int((~unmatched).sum())
    counts["customers_without_row"] = len(known - set(d["_id"]))
    issues = pd.concat([issues, pd.DataFrame({"id": sorted(d.loc[unmatched, "_id"]), "issue": "unmatched"})],
                       ignore_index=True)
    data = d.rename(columns={"_id": "customer_id"})
    data = data[["customer_id", *[c for c in data.columns if c != "customer_id"]]]
    return AttributeFile(_typed(data), name, id_column, enc, counts, issues)


def read_catalog(path: str | Path, id_column: str) -> AttributeFile:
    """Read and check a product catalog (product code -> category and any product attributes)."""
    raw, enc = read_any(path, "profiles.catalog_path")
    name = Path(str(path)).name
    d, counts, issues = _checked(raw, name, id_column, "catalog")
    if "category" not in d.columns:
        raise InputError(f"{name}: no column 'category' (the product's category); columns found: {list(raw.columns)}")
    data = d.rename(columns={"_id": "product_id"})
    return AttributeFile(data[["product_id", *[c for c in data.columns if c != "product_id"]]], name, id_column,
                         enc, counts, issues)


def _typed(data: pd.DataFrame) -> pd.DataFrame:
    """Text columns that are all numbers become numbers; dates stay text (categories)."""
    out = data.copy()
    for col in out.columns.drop("customer_id"):
        if out[col].dtype == object:
            num = pd.to_numeric(out[col], errors="coerce")
            if num.notna().sum() == out[col].notna().sum() and out[col].notna().any():
                out[col] = num
    return out


def join_customers(attributes: pd.DataFrame, extra: AttributeFile) -> pd.DataFrame:
    """The profile attributes with the file's columns added (left join on customer_id: every scored customer
    stays, without a row their file attributes are missing). A file column named like a derived attribute
    is prefixed ``file_``."""
    cols = {c: (f"file_{c}" if c in attributes.columns else c) for c in extra.data.columns if c != "customer_id"}
    return attributes.merge(extra.data.rename(columns=cols), on="customer_id", how="left", validate="one_to_one")


def category_spend(baskets_spend: pd.DataFrame, catalog: AttributeFile | None) -> pd.DataFrame:
    """Each line's spend with its category: ``baskets_spend`` (customer_id, product_id, spend) and the catalog's
    ``category`` (products missing from the catalog: :data:`NOT_IN_CATALOG`); without a catalog the product is the item."""
    if catalog is None:
        return baskets_spend.assign(item=baskets_spend["product_id"])
    cat = catalog.data.set_index("product_id")["category"]
    return baskets_spend.assign(item=baskets_spend["product_id"].map(cat).fillna(NOT_IN_CATALOG))


def preferences(spend: pd.DataFrame, groups: pd.Series, n: int = 3) -> pd.DataFrame:
    """Top ``n`` items (categories or products) per group by share of the group's spend, with the lift over
    all customers' share (group share / all share). ``spend`` holds customer_id, item and spend; ``groups``
    maps customer_id to a group. Returns group, item, share, all_share, lift, highest share first."""
    d = spend.assign(group=spend["customer_id"].map(groups)).dropna(subset=["group"])
    total = d.groupby("item")["spend"].sum() / d["spend"].sum()
    g = d.groupby(["group", "item"], as_index=False)["spend"].sum()
    g["share"] = g["spend"] / g.groupby("group")["spend"].transform("sum")
    g["all_share"] = g["item"].map(total)
    g["lift"] = g["share"] / g["all_share"]
    g = g.sort_values(["group", "share"], ascending=[True, False], kind="stable")
    return g.groupby("group", sort=False).head(n).drop(columns="spend").reset_index(drop=True)

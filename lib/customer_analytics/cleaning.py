"""Load transaction exports into one canonical table and clean them with an audit trail.

Canonical transaction schema
----------------------------
Every later step reads this table, one row per order line:

================  ==============  ==========================================================
column            dtype           meaning
================  ==============  ==========================================================
customer_id       string          customer identifier, normalised (see :func:`normalise_ids`)
order_id          string          order / invoice identifier (CDNOW: customer id + day)
order_date        datetime64      time of the order (date only where the source has no time)
amount            float64         net line revenue = quantity x unit_price unless given
product_id        string          optional: product / stock code
quantity          float64         optional: units on the line (negative for returns)
unit_price        float64         optional: price per unit
country, channel  string          optional: where the order came from
description       string          optional: product text
source_row        int64           line number in the source file (header = line 1)
================  ==============  ==========================================================

Cleaning rules run in the order of :data:`RULE_ORDER`; each adds rows to an audit
table saying how many rows it removed or changed, the revenue and customers
affected, and example source rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from customer_analytics import parsing
from customer_analytics.config import merge_checked, read_resource_yaml, resolve_path
from customer_analytics.errors import ConfigError, InputError

#: Loader-internal column: bit 1 = the customer id was a float artefact, bit 2 = it was padded.
#: :func:`clean_transactions` turns it into the step-0 audit rows and drops it.
ID_FIX_COLUMN = "_customer_id_fix"
REQUIRED = ("customer_id", "order_id", "order_date", "amount")
OPTIONAL = ("product_id", "quantity", "unit_price", "country", "channel", "description")
CANONICAL = REQUIRED + OPTIONAL
ENCODINGS = ("utf-8", "cp1252", "latin-1")

#: Order in which the cleaning rules run, with the sentence the notebook shows.
RULE_ORDER = {
    "missing_customer": "Lines without a customer id cannot be attributed to anyone, so they "
    "leave the customer analysis; their count and revenue share are reported.",
    "duplicates": "Lines identical in every column, order id included, are export duplicates; the first "
    "copy is kept. This applies only where lines are identifiable by an order or line id: without one "
    "(CDNOW), two identical lines on the same day are two real purchases and both are kept.",
    "cancellations": "Returns and cancellations (invoice prefix or negative quantity) are netted "
    "against the same customer's most recent earlier purchase of the same product, so a cancelled "
    "order does not inflate spend; returns that match no earlier purchase are dropped and reported.",
    "nonpositive_price": "Lines with a zero or negative unit price (free samples, bad-debt "
    "adjustments) are not sales and are removed (with keep_zero_amount, zero-value lines are kept as "
    "purchases).",
    "non_merchandise": "Postage, fees, bank charges and manual adjustments are not customer "
    "spend on products and are removed.",
    "date_window": "Lines with no date, or dated before the analysis start, are removed. (Lines dated "
    "after the period end, typo dates in the future included, never enter the report at all: the "
    "period is cut before any rule runs, so a back-dated report is honest.)",
    "outliers": "Lines with an extreme amount (far above the usual range on a log scale) are "
    "flagged by default; capping or dropping them is an option.",
}

AUDIT_COLUMNS = [
    "step", "rule", "action", "rows_removed", "rows_changed", "revenue_removed", "revenue_changed",
    "revenue_effect", "revenue_share", "customers_affected", "example_rows", "explanation",
]


@dataclass
class LoadResult:
    """A loaded export in the canonical schema, with how it was read."""

    data: pd.DataFrame
    path: Path
    encoding: str | None
    preset: str
    mapping: dict[str, str]
    source_columns: list[str]
    date_format: str | None
    id_fixes: dict[str, int] = field(default_factory=dict)
    #: False when the export has no order or line id (the loader made one per customer-day):
    #: identical lines are then separate purchases, not duplicates.
    lines_identifiable: bool = True
    number_format: parsing.NumberFormat = field(default_factory=parsing.NumberFormat)

    def describe(self) -> str:
        """One paragraph on how the file was read, for the notebook."""
        enc = f"encoding {self.encoding}" if self.encoding else "binary format"
        mapped = ", ".join(f"{src} -> {dst}" for dst, src in self.mapping.items())
        fixes = ", ".join(f"{k}: {v:,}" for k, v in self.id_fixes.items() if v)
        return (
            f"Read {len(self.data):,} rows from {self.path.name} ({enc}, preset '{self.preset}', "
            f"dates '{self.date_format}'). Columns: {mapped}."
            + (f" ID fixes: {fixes}." if fixes else "")
            + f" Numbers: {self.number_format.describe()}."
        )


@dataclass
class CleanResult:
    """The clean table, the audit trail and the rows each rule touched."""

    data: pd.DataFrame
    audit: pd.DataFrame
    examples: dict[str, pd.DataFrame]
    stats: dict[str, int | float]


def presets() -> dict:
    """The column-mapping presets shipped in ``resources/presets.yaml``."""
    return read_resource_yaml("presets.yaml")


def default_rules() -> dict:
    """The default cleaning rules shipped in ``resources/cleaning_rules.yaml``."""
    return read_resource_yaml("cleaning_rules.yaml")


# --------------------------------------------------------------------------- loading


def _read_header(path: Path, fmt: str, delimiter: str | None, encoding: str, sheet=None) -> list[str]:
    if fmt == "csv":
        parsing.check_text_file(path, encoding)
        with open(path, encoding=encoding, errors="replace", newline="") as fh:
            first = fh.readline()
        if delimiter == "whitespace":
            return first.split()
        parsing.check_delimiter(path, first, delimiter)
        return next(csv.reader([first], delimiter=delimiter or ","), [])
    if fmt == "excel":
        return [str(c) for c in _read_excel(path, sheet, header=None, nrows=1).iloc[0].tolist()]
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a damaged file
        raise InputError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc}). "
                         "Re-export it, or set data.file_format if it is not Parquet.") from exc


def _read_excel(path: Path, sheet, **kwargs) -> pd.DataFrame:
    """Read one sheet (``data.sheet``: name or 0-based position; default the first)."""
    try:
        book = pd.ExcelFile(path)
    except Exception as exc:  # zip/xml errors of a damaged or mislabelled file
        raise InputError(f"{path}: not a readable Excel file ({type(exc).__name__}: {exc}).") from exc
    names = book.sheet_names
    if sheet is not None and sheet not in names and not (isinstance(sheet, int) and 0 <= sheet < len(names)):
        raise InputError(f"{path}: no sheet {sheet!r}. Sheets in the file: {names}. Set data.sheet to one of them.")
    return pd.read_excel(book, sheet_name=0 if sheet is None else sheet, **kwargs)


def _sheet_hint(path: Path, sheet, wanted: list[str]) -> str:
    """For an Excel file: the other sheets whose header holds the wanted source columns."""
    book = pd.ExcelFile(path)
    names = book.sheet_names
    current = names[sheet] if isinstance(sheet, int) else (sheet or names[0])
    hits = [n for n in names if n != current and set(wanted) & set(map(str, pd.read_excel(book, sheet_name=n, nrows=0).columns))]
    where = f" The data seems to be on sheet {hits[0]!r}: set data.sheet: {hits[0]}." if hits else ""
    return f" Read sheet {current!r} of {book.sheet_names}.{where}"


def _read_csv(path: Path, delimiter: str | None, encoding: str | None) -> tuple[pd.DataFrame, str]:
    tried = [encoding] if encoding else list(ENCODINGS)
    sep = r"\s+" if delimiter == "whitespace" else (delimiter or ",")
    last_error: Exception | None = None
    for enc in tried:
        try:
            df = pd.read_csv(
                path, sep=sep, dtype=str, encoding=enc, keep_default_na=False,
                engine="python" if delimiter == "whitespace" else "c",
            )
            return df, enc
        except UnicodeDecodeError as exc:
            last_error = exc
        except pd.errors.EmptyDataError as exc:
            raise InputError(f"{path}: the file is empty (no header, no rows).") from exc
    raise InputError(f"{path}: could not decode with encodings {tried}: {last_error}")


def _infer_date_format(values: pd.Series, column: str, path: Path) -> str:
    """Infer a strftime format, refusing ambiguous day/month data."""
    s = values[values.str.len() > 0].head(200_000)
    if s.empty:
        raise InputError(f"{path}: column '{column}' has no dates.")
    if s.str.fullmatch(r"\d{8}").all():
        return "%Y%m%d"
    if s.str.match(r"\d{4}-\d{2}-\d{2}").all():
        return "ISO8601"
    parts = s.str.extract(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{2,4})(?:[ T](\d{1,2}:\d{2}(:\d{2})?))?$")
    if parts[0].isna().any():
        bad = s[parts[0].isna()].head(3).tolist()
        raise InputError(
            f"{path}: cannot infer the date format of column '{column}' (e.g. {bad}). "
            "Pass date_format, e.g. '%d/%m/%Y %H:%M'."
        )
    first, second = parts[0].astype(int), parts[2].astype(int)
    day_first, month_first = (first > 12).any(), (second > 12).any()
    if day_first == month_first:
        why = "both orders occur" if day_first else "no day is above 12"
        raise InputError(
            f"{path}: dates in column '{column}' are ambiguous ({why}): is "
            f"'{s.iloc[0]}' day/month or month/day? Pass date_format, e.g. '%d/%m/%Y' or '%m/%d/%Y'."
        )
    sep = parts[1].iloc[0]
    year = "%Y" if parts[3].str.len().max() == 4 else "%y"
    fmt = f"%d{sep}%m{sep}{year}" if day_first else f"%m{sep}%d{sep}{year}"
    if parts[4].notna().any():
        fmt += " %H:%M:%S" if parts[5].notna().any() else " %H:%M"
    return fmt


def _unparseable(original: pd.Series, parsed: pd.Series, column: str, what: str, path: Path,
                 rows: pd.Series) -> None:
    bad = parsed.isna() & original.str.strip().ne("")
    if bad.any():
        ex = ", ".join(f"'{v}' (row {r})" for v, r in zip(original[bad].head(3), rows[bad].head(3), strict=True))
        raise InputError(
            f"{path}: {int(bad.sum()):,} value(s) in column '{column}' are not {what}: {ex}."
        )


def normalise_ids(ids: pd.Series, column: str = "id") -> tuple[pd.Series, dict[str, int]]:
    """Normalise an identifier column to clean strings.

    Strips surrounding spaces, turns float artefacts such as ``12346.0`` into
    ``12346`` and treats empty strings as missing.

    Parameters
    ----------
    ids : Series
        Raw identifiers (any dtype).
    column : str
        Source column name, for error messages.

    Returns
    -------
    (Series, dict)
        The ids as pandas strings (missing as ``<NA>``) and counts of each fix.

    Raises
    ------
    InputError
        If the column mixes numbers and text as Python objects (as Excel exports do).

    Examples
    --------
    >>> s, fixes = normalise_ids(pd.Series([" 12346.0", "12347", ""]))
    >>> s.tolist(), fixes["float_artefacts"]
    (['12346', '12347', <NA>], 1)
    """
    if ids.dtype == object:
        kinds = ids.dropna().map(lambda v: "number" if isinstance(v, (int, float, np.number)) else "text")
        counts = kinds.value_counts()
        if len(counts) > 1:
            example = ids[kinds == counts.index[-1]].head(3).tolist()
            raise InputError(
                f"Column '{column}' mixes numbers ({counts.get('number', 0):,} rows) and text "
                f"({counts.get('text', 0):,} rows), e.g. {example}. IDs must be one type; "
                "re-export the column as text."
            )
    out, padded, float_art = _normalise(ids)
    return out, {"padded": int(padded.sum()), "float_artefacts": int(float_art.sum())}


def _normalise(ids: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """:func:`normalise_ids` without the type check: the ids plus per-row masks of each fix."""
    s = ids.astype("string")
    stripped = s.str.strip()
    padded = (stripped != s).fillna(False).astype(bool)
    # the regex runs only on candidates (ending in 0 and containing a dot)
    cand = (stripped.str.endswith("0") & stripped.str.contains(".", regex=False)).fillna(False)
    float_art = pd.Series(False, index=s.index)
    if cand.any():
        float_art[cand] = stripped[cand].str.fullmatch(r"\d+\.0+").fillna(False)
    out = stripped.copy()
    if float_art.any():
        out[float_art] = stripped[float_art].str.replace(r"\.0+$", "", regex=True)
    out = out.mask(out == "")
    return out, padded, float_art


def resolve_mapping(columns: list[str], preset: str, column_mapping: dict | None) -> dict[str, str]:
    """Map canonical names to source columns using a preset plus explicit overrides."""
    all_presets = presets()
    if preset not in all_presets:
        raise ConfigError(f"Unknown preset '{preset}'. Valid presets: {', '.join(sorted(all_presets))}")
    mapping: dict[str, str] = {}
    for canon, candidates in all_presets[preset]["columns"].items():
        found = next((c for c in candidates if c in columns), None)
        if found:
            mapping[canon] = found
    for src, canon in (column_mapping or {}).items():
        if canon not in CANONICAL:
            raise ConfigError(
                f"column_mapping maps '{src}' to unknown column '{canon}'. "
                f"Valid canonical columns: {', '.join(CANONICAL)}"
            )
        mapping = {k: v for k, v in mapping.items() if k != canon}
        mapping[canon] = src
    return mapping


def load_transactions(
    path: str | Path,
    preset: str = "generic",
    file_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    column_mapping: dict | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    sheet: str | int | None = None,
) -> LoadResult:
    """Load a CSV, Parquet or Excel export into the canonical schema.

    Parameters
    ----------
    path : str or Path
        The export. Relative paths are resolved against the project root.
    preset : {'online_retail', 'cdnow', 'generic'}
        Column-mapping preset (``resources/presets.yaml``).
    file_format : {'csv', 'parquet', 'excel'}, optional
        Default: from the extension (.parquet, .xlsx/.xls, anything else is CSV).
    delimiter : str, optional
        CSV delimiter, or ``'whitespace'``. Default: the preset's.
    encoding : str, optional
        CSV encoding. Default: try UTF-8, then Windows-1252, then Latin-1.
    date_format : str, optional
        strftime format of the date column. Default: the preset's, else inferred;
        ambiguous day/month data is refused.
    column_mapping : dict, optional
        ``{source column: canonical column}``, overriding the preset.
    decimal, thousands : str, optional
        Number convention of text values (see :mod:`customer_analytics.parsing`).
        Default: inferred from the values; ambiguous values are refused.
    sheet : str or int, optional
        Excel sheet name or 0-based position. Default: the first sheet.

    Returns
    -------
    LoadResult
        ``data`` in the canonical schema plus how it was read.

    Raises
    ------
    InputError
        Missing file, empty file, duplicate column names, a missing required
        column (the message lists the columns found and the mapping in use),
        unparseable dates or numbers (count, examples and row numbers).
    """
    p = resolve_path(path)
    if p is None or not p.exists():
        raise InputError(f"Input file not found: {path}")
    if p.is_dir():
        raise InputError(f"{p} is a folder; data.path / --data must name a file (CSV, Parquet or Excel).")
    parsing.check_convention(decimal, thousands)
    ext = p.suffix.lower()
    fmt = file_format or ("parquet" if ext == ".parquet" else "excel" if ext in (".xlsx", ".xls") else "csv")
    if fmt not in ("csv", "parquet", "excel"):
        raise ConfigError(f"file_format must be csv, parquet or excel, got '{file_format}'")
    all_presets = presets()
    if preset not in all_presets:
        raise ConfigError(f"Unknown preset '{preset}'. Valid presets: {', '.join(sorted(all_presets))}")
    pre = all_presets[preset]
    delimiter = delimiter or pre.get("read", {}).get("delimiter")
    date_format = date_format or pre.get("read", {}).get("date_format")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: the file is empty (0 bytes).")

    header = _read_header(p, fmt, delimiter, encoding or "latin-1", sheet)
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise InputError(f"{p}: duplicate column names {dupes}. Each column name must be unique.")

    used_encoding = None
    if fmt == "csv":
        raw, used_encoding = _read_csv(p, delimiter, encoding)
        first_row = 2
    elif fmt == "parquet":
        try:
            raw, first_row = pd.read_parquet(p), 1
        except Exception as exc:  # pyarrow errors for damaged row groups
            raise InputError(f"{p}: not a readable Parquet file ({type(exc).__name__}: {exc}).") from exc
    else:
        raw, first_row = _read_excel(p, sheet, dtype=object), 2
    if raw.empty:
        raise InputError(f"{p}: the file has a header but no data rows.")

    missing_src = [src for src in (column_mapping or {}) if src not in raw.columns]
    if missing_src:
        raise InputError(
            f"{p}: column_mapping names source column(s) {missing_src} that are not in the file. "
            f"Columns in the file: {[str(c) for c in raw.columns]}."
        )
    mapping = resolve_mapping(list(raw.columns), preset, column_mapping)
    order_from = pre.get("order_id_from")
    needed = [c for c in REQUIRED if c not in mapping]
    if order_from == "customer_day" and "order_id" in needed:
        needed.remove("order_id")
    if "amount" in needed and {"quantity", "unit_price"} <= mapping.keys():
        needed.remove("amount")
    if needed:
        shown = ", ".join(f"{k} <- {v}" for k, v in mapping.items()) or "(nothing matched)"
        raise InputError(
            f"{p}: required column(s) {needed} not found. Columns in the file: {list(raw.columns)}. "
            f"Mapping in use (preset '{preset}'): {shown}. Add the source column to "
            "column_mapping, e.g. {'MyCustomerCol': 'customer_id'}."
            + (_sheet_hint(p, sheet, [c for k in needed for c in pre["columns"].get(k, [])]) if fmt == "excel" else "")
        )

    rows = pd.Series(np.arange(first_row, first_row + len(raw)), index=raw.index)
    out = pd.DataFrame(index=raw.index)
    fixes: dict[str, int] = {}
    for col in ("customer_id", "order_id", "product_id"):
        if col in mapping:
            out[col], f = normalise_ids(raw[mapping[col]], mapping[col])
            if col == "customer_id":
                fixes = {f"customer_id_{k}": v for k, v in f.items()}
                _, padded, float_art = _normalise(raw[mapping[col]])
                # which lines had their id fixed, so a period's audit counts only its own lines
                flags = float_art.to_numpy().astype("int8") | (padded.to_numpy().astype("int8") << 1)
    # dates
    date_raw = raw[mapping["order_date"]]
    if pd.api.types.is_datetime64_any_dtype(date_raw):
        out["order_date"] = date_raw.astype("datetime64[ns]")
        used_format = "native"
    else:
        date_str = date_raw.astype("string").fillna("").str.strip()
        serial = None if date_format else parsing.excel_serial_dates(date_raw)
        used_format = "Excel serial days" if serial is not None else (
            date_format or _infer_date_format(date_str, mapping["order_date"], p))
        parsed = serial if serial is not None else pd.to_datetime(date_str, format=used_format, errors="coerce")
        _unparseable(date_str, parsed, mapping["order_date"], f"dates in format '{used_format}'", p, rows)
        out["order_date"] = parsed.astype("datetime64[ns]")
    # numbers: one convention for the file, from the config or inferred (see parsing.py)
    number_cols = [c for c in ("quantity", "unit_price", "amount") if c in mapping]
    texts = {c: raw[mapping[c]].astype("string").fillna("").str.strip() for c in number_cols
             if not pd.api.types.is_numeric_dtype(raw[mapping[c]])}
    nf = (parsing.NumberFormat(decimal or ("," if thousands == "." else "."), thousands or None, "set in the config")
          if decimal or thousands else parsing.infer_convention({mapping[c]: t for c, t in texts.items()}, p))
    for col in number_cols:
        out[col] = parsing.parse_numbers(raw[mapping[col]], nf, mapping[col], p, rows)
    nf.notes = parsing.plausibility_notes({c: (mapping[c], t) for c, t in texts.items() if c in ("unit_price", "amount")},
                                          {c: out[c] for c in texts}, nf)
    if "amount" not in out:
        out["amount"] = out["quantity"] * out["unit_price"]
    if order_from == "customer_day" and "order_id" not in mapping:
        out["order_id"] = (out["customer_id"] + "-" + out["order_date"].dt.strftime("%Y%m%d")).astype("string")
    for col in ("country", "channel", "description"):
        if col in mapping:
            out[col] = raw[mapping[col]].astype("string").str.strip()
    out["source_row"] = rows.astype("int64")
    if fixes:
        out[ID_FIX_COLUMN] = flags
    ordered = [c for c in (*CANONICAL, "source_row", ID_FIX_COLUMN) if c in out]
    return LoadResult(
        data=out[ordered].reset_index(drop=True),
        path=p,
        encoding=used_encoding,
        preset=preset,
        mapping={k: mapping[k] for k in CANONICAL if k in mapping},
        source_columns=[str(c) for c in raw.columns],
        date_format=used_format,
        id_fixes=fixes,
        lines_identifiable="order_id" in mapping,
        number_format=nf,
    )


# -------------------------------------------------------------------------- cleaning


def _examples(rows: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    return rows.head(n).reset_index(drop=True)


def cents(amounts: pd.Series) -> pd.Series:
    """Line amounts in whole cents (int64), rounded half away from zero per line.

    All money identities of the audit are computed on these integers, so they hold
    exactly, whatever order floats would have been added in.
    """
    a = amounts.astype("float64").fillna(0.0).to_numpy()
    return pd.Series((np.sign(a) * np.floor(np.abs(a) * 100 + 0.5)).astype("int64"), index=amounts.index)


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


def net_returns(
    tx: pd.DataFrame, invoice_prefix: str = "C", max_passes: int = 10
) -> tuple[pd.DataFrame, dict]:
    """Net returns against the same customer's most recent earlier purchases.

    A return is a line whose ``order_id`` starts with ``invoice_prefix`` or whose
    quantity (amount when there is no quantity) is negative. Each return is
    matched, last-in first-out, to the customer's latest earlier purchase line of
    the same product (any purchase when there is no ``product_id``) with a
    positive price and quantity left; the purchase quantity is reduced by the
    returned quantity. A return larger than that line continues on the next
    earlier line. All return lines are then removed.

    Parameters
    ----------
    tx : DataFrame
        Canonical transactions.
    invoice_prefix : str
        Order-id prefix that marks a cancellation.
    max_passes : int
        Upper bound on matching passes (each pass is vectorised).

    Returns
    -------
    (DataFrame, dict)
        The transactions without return lines, with netted purchase lines reduced
        (and removed when nothing is left), and a dict of DataFrames:
        ``matched`` / ``unmatched`` return lines, ``reduced`` / ``zeroed`` purchases
        and the float ``revenue_netted``.
    """
    measure = "quantity" if "quantity" in tx else "amount"
    key = ["customer_id", "product_id"] if "product_id" in tx else ["customer_id"]
    is_return = tx[measure].lt(0)
    if invoice_prefix:
        is_return |= tx["order_id"].str.startswith(invoice_prefix).fillna(False)
    price_ok = tx["unit_price"].gt(0) if "unit_price" in tx else tx["amount"].gt(0)
    returns = tx[is_return].assign(need=tx.loc[is_return, measure].abs())
    # only purchases of customers who returned something can be netted
    returners = tx["customer_id"].isin(returns["customer_id"].unique())
    purchases = tx[~is_return & price_ok & tx[measure].gt(0) & returners]
    remaining = purchases[measure].astype("float64").copy()
    need = returns["need"].astype("float64").copy()
    for _ in range(max_passes):
        open_r = returns.loc[need.gt(0), ["order_date", *key]].assign(need=need[need.gt(0)])
        open_p = purchases.loc[remaining.gt(0), ["order_date", *key]]
        if open_r.empty or open_p.empty:
            break
        m = pd.merge_asof(
            open_r.reset_index(names="ridx").sort_values("order_date"),
            open_p.reset_index(names="pidx").sort_values("order_date"),
            on="order_date", by=key, direction="backward", allow_exact_matches=True,
        ).dropna(subset=["pidx"])
        if m.empty:
            break
        m["pidx"] = m["pidx"].astype("int64")
        m = m.sort_values(["pidx", "order_date", "ridx"], kind="stable")
        cum = m.groupby("pidx")["need"].cumsum()
        avail = remaining.loc[m["pidx"]].to_numpy()
        m["alloc"] = np.clip(avail - (cum.to_numpy() - m["need"].to_numpy()), 0, m["need"].to_numpy())
        m = m[m["alloc"] > 0]
        if m.empty:
            break
        remaining = remaining.sub(m.groupby("pidx")["alloc"].sum(), fill_value=0)
        need = need.sub(m.groupby("ridx")["alloc"].sum(), fill_value=0)
    matched_mask = need.lt(returns["need"])
    changed = remaining.lt(purchases[measure])
    zeroed_idx = remaining.index[changed & remaining.le(0)]
    reduced_idx = remaining.index[changed & remaining.gt(0)]
    per_unit = (purchases["amount"] / purchases[measure])
    revenue_netted = float(((purchases[measure] - remaining) * per_unit).sum())
    out = tx[~is_return].copy()
    out.loc[reduced_idx, measure] = remaining[reduced_idx]
    if measure == "quantity":
        out.loc[reduced_idx, "amount"] = (remaining[reduced_idx] * per_unit[reduced_idx]).round(2)
    detail = {
        "reduced_after": out.loc[reduced_idx, "amount"],
        "matched": returns[matched_mask],
        "unmatched": returns[~matched_mask],
        "reduced": tx.loc[reduced_idx],
        "zeroed": tx.loc[zeroed_idx],
        "revenue_netted": revenue_netted,
        "unmatched_quantity": float(need[matched_mask].sum()),
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
    """Cut the data at the period end, apply the cleaning rules in :data:`RULE_ORDER`, audit each.

    Parameters
    ----------
    tx : DataFrame
        Canonical transactions from :func:`load_transactions`.
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

    Returns
    -------
    CleanResult
        ``data`` (customer lines only), ``audit`` (one row per rule outcome, columns
        :data:`AUDIT_COLUMNS`), ``examples`` (rows each rule touched) and ``stats``.

    Notes
    -----
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

    Raises
    ------
    InputError
        If a rule removes every remaining row; the message names that rule.
    """
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
                df, d = net_returns(df, rc["invoice_prefix"], rc["max_passes"])
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



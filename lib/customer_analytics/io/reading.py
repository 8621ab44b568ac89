"""Read transaction exports into the canonical table: files in pandas, large sources in the engine.

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

Three kinds of source (the ``source`` section of the config):

- a file (CSV, Parquet or Excel): :func:`load_transactions` reads it in pandas, infers the
  encoding, date and number conventions, and refuses what it cannot read unambiguously;
- a Parquet folder or glob (a partitioned data lake) and
- a table in the engine (``source.table: sales.transactions``): :func:`read_source` maps the
  columns as an ibis expression, so the lines stay where they are.

The preset and the column mapping work the same for all three.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.core.paths import read_resource_yaml, resolve_path
from customer_analytics.io import parsing

#: Loader-internal column: bit 1 = the customer id was a float artefact, bit 2 = it was padded.
#: :func:`customer_analytics.models.cleaning.clean_transactions` turns it into the step-0 audit rows and drops it.
ID_FIX_COLUMN = "_customer_id_fix"
REQUIRED = ("customer_id", "order_id", "order_date", "amount")
OPTIONAL = ("product_id", "quantity", "unit_price", "country", "channel", "description")
CANONICAL = REQUIRED + OPTIONAL
ENCODINGS = ("utf-8", "cp1252", "latin-1")


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
        enc = (f"encoding {self.encoding}" if self.encoding else
               "read in the engine" if EngineSource.parse(str(self.path)) else "binary format")
        mapped = ", ".join(f"{src} -> {dst}" for dst, src in self.mapping.items())
        fixes = ", ".join(f"{k}: {v:,}" for k, v in self.id_fixes.items() if v)
        return (
            f"Read {len(self.data):,} rows from {self.path.name} ({enc}, preset '{self.preset}', "
            f"dates '{self.date_format}'). Columns: {mapped}."
            + (f" ID fixes: {fixes}." if fixes else "")
            + f" Numbers: {self.number_format.describe()}."
        )



def presets() -> dict:
    """The column-mapping presets shipped in ``resources/presets.yaml``."""
    return read_resource_yaml("presets.yaml")



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


def preset_spec(preset: str) -> dict:
    """One preset of ``resources/presets.yaml``; an unknown name is refused with the valid ones."""
    all_presets = presets()
    if preset not in all_presets:
        raise ConfigError(f"Unknown preset '{preset}'. Valid presets: {', '.join(sorted(all_presets))}")
    return all_presets[preset]


def missing_required(mapping: dict[str, str], pre: dict) -> list[str]:
    """Required canonical columns the mapping lacks (an order id the preset builds, or an amount
    computed from quantity and unit price, are not missing)."""
    needed = [c for c in REQUIRED if c not in mapping]
    if pre.get("order_id_from") == "customer_day" and "order_id" in needed:
        needed.remove("order_id")
    if "amount" in needed and {"quantity", "unit_price"} <= mapping.keys():
        needed.remove("amount")
    return needed


def resolve_mapping(columns: list[str], preset: str, column_mapping: dict | None) -> dict[str, str]:
    """Map canonical names to source columns using a preset plus explicit overrides."""
    mapping: dict[str, str] = {}
    for canon, candidates in preset_spec(preset)["columns"].items():
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
    *,
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
        Number convention of text values (see :mod:`customer_analytics.io.parsing`).
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
    pre = preset_spec(preset)
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
    needed = missing_required(mapping, pre)
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



# ------------------------------------------------------------------ sources in the engine


class EngineSource(str):
    """A source the engine reads in place: ``table:<schema.table>`` or ``parquet:<folder or glob>``.

    It is a string (so it travels as a notebook parameter and into ``run.json``) with the
    kind and location split out.
    """

    KINDS = ("table", "parquet")

    def __new__(cls, value: str):
        kind, _, where = str(value).partition(":")
        if kind not in cls.KINDS or not where:
            raise ConfigError(f"A source in the engine is written 'table:<schema.table>' or 'parquet:<folder or glob>', "
                              f"got {value!r}")
        return super().__new__(cls, f"{kind}:{where}")

    @property
    def kind(self) -> str:
        return self.partition(":")[0]

    @property
    def where(self) -> str:
        return self.partition(":")[2]

    @property
    def name(self) -> str:
        """How reports name the source: the table, or the Parquet folder or glob."""
        return self.where

    @classmethod
    def parse(cls, value) -> EngineSource | None:
        """An :class:`EngineSource` if ``value`` is written as one, else None (a file path)."""
        if isinstance(value, EngineSource):
            return value
        if isinstance(value, str) and value.partition(":")[0] in cls.KINDS:
            return cls(value)
        return None


def configured_source(cfg: dict) -> EngineSource | None:
    """The engine source the config's ``source`` section names (``table`` or ``parquet``), if any."""
    src = cfg.get("source") or {}
    if src.get("table") and src.get("parquet"):
        raise ConfigError("source.table and source.parquet are both set: name one source (the other null).")
    if src.get("table"):
        return EngineSource(f"table:{src['table']}")
    if src.get("parquet"):
        return EngineSource(f"parquet:{src['parquet']}")
    return None


def _open(con, src: EngineSource):
    if src.kind == "table":
        schema, _, name = src.where.rpartition(".")
        try:
            return con.table(name, database=schema or None)
        except Exception as exc:  # each backend raises its own "table not found"
            raise InputError(f"source.table {src.where!r}: no such table in the engine ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0]}).{_tables_hint(con, schema)}") from exc
    where = src.where
    path = resolve_path(where) if not any(ch in where for ch in "*?[") else None
    if path is not None and path.is_dir():
        where = str(path / "**" / "*.parquet")
    elif path is not None and not path.exists():
        raise InputError(f"source.parquet {src.where!r}: no such file or folder.")
    elif path is None:
        where = str(resolve_path(where))
    try:
        return con.read_parquet(where)
    except Exception as exc:
        raise InputError(f"source.parquet {src.where!r}: no readable Parquet files there "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0]}).") from exc


def _tables_hint(con, schema: str) -> str:
    try:
        names = sorted(con.list_tables(database=schema or None))
    except Exception:  # not every backend (or version) lists tables the same way
        return ""
    return f" Tables in {schema or 'the default schema'}: {names[:20]}."


def normalise_ids_expr(col):
    """:func:`normalise_ids` as an ibis expression: the id, and whether it was a float artefact / padded."""
    s = col.cast("string")
    stripped = s.strip()
    float_art = stripped.re_search(r"^\d+\.0+$").fill_null(False)
    out = ibis.ifelse(float_art, stripped.re_replace(r"\.0+$", ""), stripped)
    return out.nullif(""), float_art, (stripped != s).fill_null(False)


def read_source(src: EngineSource, data: dict, con) -> tuple[object, LoadResult]:
    """Map an engine source to the canonical schema as an ibis expression (the lines stay in the engine).

    Parameters
    ----------
    src : EngineSource
        ``table:<schema.table>`` or ``parquet:<folder or glob>``.
    data : dict
        The config's ``data`` section: ``preset``, ``column_mapping`` and ``date_format`` (for
        text dates) apply as for files.
    con : ibis backend
        The engine (:func:`customer_analytics.core.engine.connect`).

    Returns
    -------
    (ibis Table, LoadResult)
        The canonical table (with ``source_row`` and the id-fix column) and how it was read;
        the LoadResult's ``data`` is empty until :func:`fetch` is called.

    Notes
    -----
    Numbers must be numeric columns and dates date or timestamp columns (or text in
    ``data.date_format``): an engine source is typed, nothing is inferred from text.
    ``source_row`` is the source's own line number when the mapping names one (map a column
    to ``source_row``), else the line's position with the lines ordered by customer, date,
    order, product and amount.
    """
    raw = _open(con, src)
    preset = data.get("preset", "generic")
    pre = preset_spec(preset)
    user_map = dict(data.get("column_mapping") or {})
    row_col = next((s for s, c in user_map.items() if c == "source_row"), None)
    user_map = {s: c for s, c in user_map.items() if c != "source_row"}
    missing_src = [s for s in [*user_map, *([row_col] if row_col else [])] if s not in raw.columns]
    if missing_src:
        raise InputError(f"{src}: column_mapping names source column(s) {missing_src} that are not in the source. "
                         f"Columns there: {list(raw.columns)}.")
    mapping = resolve_mapping(list(raw.columns), preset, user_map)
    needed = missing_required(mapping, pre)
    if needed:
        shown = ", ".join(f"{k} <- {v}" for k, v in mapping.items()) or "(nothing matched)"
        raise InputError(f"{src}: required column(s) {needed} not found. Columns there: {list(raw.columns)}. "
                         f"Mapping in use (preset '{preset}'): {shown}. Add the source column to column_mapping.")
    schema = raw.schema()
    cols: dict = {}
    for col in ("customer_id", "order_id", "product_id"):
        if col in mapping:
            cols[col], float_art, padded = normalise_ids_expr(raw[mapping[col]])
            if col == "customer_id":
                cols[ID_FIX_COLUMN] = (float_art.cast("int8") + padded.cast("int8") * 2).cast("int8")
    date_col, dtype = raw[mapping["order_date"]], schema[mapping["order_date"]]
    if dtype.is_timestamp() or dtype.is_date():
        cols["order_date"], used_format = date_col.cast("timestamp"), "native"
    elif dtype.is_string() and data.get("date_format"):
        cols["order_date"], used_format = date_col.strip().as_timestamp(data["date_format"]), data["date_format"]
    else:
        raise InputError(f"{src}: column '{mapping['order_date']}' is {dtype}, not a date or timestamp. "
                         "Store dates typed, or set data.date_format for text dates.")
    for col in ("quantity", "unit_price", "amount"):
        if col in mapping:
            if not schema[mapping[col]].is_numeric():
                raise InputError(f"{src}: column '{mapping[col]}' ({col}) is {schema[mapping[col]]}, not a number. "
                                 "An engine source must store numbers typed.")
            cols[col] = raw[mapping[col]].cast("float64")
    if "amount" not in cols:
        cols["amount"] = cols["quantity"] * cols["unit_price"]
    if pre.get("order_id_from") == "customer_day" and "order_id" not in mapping:
        cols["order_id"] = cols["customer_id"] + "-" + cols["order_date"].strftime("%Y%m%d")
    for col in ("country", "channel", "description"):
        if col in mapping:
            cols[col] = raw[mapping[col]].cast("string").strip()
    if row_col:
        cols["source_row"] = raw[row_col].cast("int64")
    t = raw.select(**cols)
    if not row_col:
        order = [c for c in ("customer_id", "order_date", "order_id", "product_id", "amount") if c in t.columns]
        t = t.mutate(source_row=(ibis.row_number().over(ibis.window(order_by=order)) + 1).cast("int64"))
    ordered = [c for c in (*CANONICAL, "source_row", ID_FIX_COLUMN) if c in t.columns]
    t = t.select(ordered)
    loaded = LoadResult(data=pd.DataFrame(columns=ordered), path=Path(str(src)), encoding=None, preset=preset,
                        mapping={k: mapping[k] for k in CANONICAL if k in mapping},
                        source_columns=list(raw.columns), date_format=used_format,
                        lines_identifiable="order_id" in mapping,
                        number_format=parsing.NumberFormat(".", None, "typed numbers in the source"))
    return t, loaded


def fetch(t, loaded: LoadResult, con) -> LoadResult:
    """Bring an engine source's canonical lines into pandas (the report path on data that fits in memory)."""
    df = con.execute(t.order_by("source_row"))
    for col in ("customer_id", "order_id", "product_id", "country", "channel", "description"):
        if col in df:
            df[col] = df[col].astype("string")
    dates = pd.to_datetime(df["order_date"])
    df["order_date"] = (dates.dt.tz_convert(None) if dates.dt.tz is not None else dates).astype("datetime64[ns]")
    flags = df[ID_FIX_COLUMN].to_numpy() if ID_FIX_COLUMN in df else np.zeros(0, dtype="int8")
    loaded.id_fixes = {"customer_id_float_artefacts": int((flags & 1).astype(bool).sum()),
                       "customer_id_padded": int((flags & 2).astype(bool).sum())}
    loaded.data = df.reset_index(drop=True)
    return loaded


def write_duckdb_table(loaded: LoadResult, database: str | Path, table: str = "sales.transactions") -> int:
    """Write a loaded export into a DuckDB database file as a typed table (its source column names,
    line numbers as ``line_no``), replacing an earlier one: a warehouse table to try ``source.table`` on.

    Returns the number of lines written.
    """
    import duckdb

    export = loaded.data.drop(columns=[ID_FIX_COLUMN], errors="ignore").rename(
        columns={**loaded.mapping, "source_row": "line_no"})
    schema, _, name = table.rpartition(".")
    path = resolve_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.register("export", export)
        if schema:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        target = f'"{schema}"."{name}"' if schema else f'"{name}"'
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM export")
    return len(export)

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
The canonical columns, presets and :class:`LoadResult` are in :mod:`customer_analytics.io.canonical`
and the engine sources in :mod:`customer_analytics.io.engine_sources`; every public name of both
is importable from here too.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.core.paths import resolve_path
from customer_analytics.io import damage, parsing
from customer_analytics.io.canonical import (
    CANONICAL,
    ID_FIX_COLUMN,
    OPTIONAL,
    REQUIRED,
    EngineSource,
    LoadResult,
    configured_source,
    missing_detail,
    missing_required,
    preset_spec,
    presets,
    resolve_mapping,
)
from customer_analytics.io.engine_sources import (
    fetch,
    normalise_ids_expr,
    read_source,
    write_duckdb_table,
)
from customer_analytics.io.ids import ID_PLACEHOLDERS, fix_ids, normalise_ids

__all__ = [
    "CANONICAL", "ENCODINGS", "ID_FIX_COLUMN", "ID_PLACEHOLDERS", "OPTIONAL", "REQUIRED", "EngineSource", "LoadResult",
    "ValueConventions", "configured_source", "fetch", "load_transactions", "missing_required",
    "normalise_ids", "normalise_ids_expr", "parse_dates", "preset_spec", "presets", "read_source",
    "read_table_as_text", "resolve_mapping",
    "write_duckdb_table",
]

ENCODINGS = ("utf-8", "cp1252", "latin-1")
#: Dates outside these years are refused as typos (``0225`` for ``2025``), with their rows.
MIN_YEAR, MAX_YEAR = 1900, 2200


def _read_header(path: Path, fmt: str, *, delimiter: str | None, encoding: str, sheet=None) -> list[str]:
    """The header's column names (CSV: the first line, checked for text and its delimiter)."""
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


def _read_csv(path: Path, delimiter: str | None, encoding: str | None, *,
              allow_short_rows: bool = False) -> tuple[pd.DataFrame, str]:
    """Read a CSV as text, with the given encoding or the first of :data:`ENCODINGS` that decodes it.

    Rows with fewer fields than the header (a truncated file) are refused by line, or dropped
    with a warning when ``allow_short_rows``; parser errors name the file and the line.
    """
    tried = [encoding] if encoding else list(ENCODINGS)
    sep = r"\s+" if delimiter == "whitespace" else (delimiter or ",")
    last_error: Exception | None = None
    for enc in tried:
        try:
            df = pd.read_csv(
                path, sep=sep, dtype=str, encoding=enc, keep_default_na=False,
                engine="python" if delimiter == "whitespace" else "c",
            )
            return _checked_rows(path, df, delimiter, encoding=enc, allow_short_rows=allow_short_rows), enc
        except UnicodeDecodeError as exc:
            last_error = exc
        except pd.errors.EmptyDataError as exc:
            raise InputError(f"{path}: the file is empty (no header, no rows).") from exc
        except pd.errors.ParserError as exc:
            raise damage.parser_error(path, exc) from exc
    line = _undecodable_line(path, tried[-1])
    where = f": line {line} is not valid {tried[-1]}" if line else ""
    hint = (" Set data.encoding to the file's encoding (cp1252 for Windows exports, latin-1), or leave it null "
            "to detect it." if encoding else "")
    raise InputError(f"{path}: could not decode with encodings {tried}{where} ({last_error}).{hint}")


def _undecodable_line(path: Path, encoding: str) -> int | None:
    """The first line of ``path`` that does not decode in ``encoding``."""
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError:
                return n
            except LookupError:
                return None
    return None


def _checked_rows(path: Path, df: pd.DataFrame, delimiter: str | None, *, encoding: str,
                  allow_short_rows: bool) -> pd.DataFrame:
    """``df`` when no row has fewer fields than the header (only rows ending empty are candidates)."""
    if delimiter == "whitespace" or df.empty or not (df.iloc[:, -1] == "").any():
        return df
    short = damage.short_rows(path, encoding, delimiter, len(df.columns))
    if not short:
        return df
    message = damage.short_rows_message(path, short, len(df.columns))
    if not allow_short_rows:
        raise InputError(message)
    print(f"Warning: dropped {len(short):,} short row(s) (data.allow_short_rows: true). "
          + message.split(": ", 1)[1].split(" Re-export")[0], file=sys.stderr, flush=True)
    return damage.drop_short_rows(df, short)


def read_table_as_text(path: Path) -> tuple[pd.DataFrame, int]:
    """A side table (assignments, an experiment table) as read for the transactions: CSV as text
    (encoding inferred, short rows and parser errors refused by line), Parquet, or Excel as objects;
    and the line number of its first row."""
    fmt = _file_format(path, None)
    raw, _, first_row = _read_rows(path, fmt, delimiter=None, encoding=None, sheet=None)
    return raw.reset_index(drop=True), first_row


def _infer_date_format(values: pd.Series, column: str, path: Path, rows: pd.Series) -> str:
    """Infer a strftime format, refusing ambiguous day/month data (the rows that make it so named)."""
    s = values[values.str.len() > 0].head(200_000)
    if s.empty:
        raise InputError(f"{path}: column '{column}' has no dates.")
    if s.str.fullmatch(r"\d{8}").all():
        return "%Y%m%d"
    iso = s.str.match(r"\d{4}-\d{2}-\d{2}")
    if iso.all():
        return "ISO8601"
    parts = s.str.extract(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{2,4})(?:[ T](\d{1,2}:\d{2}(:\d{2})?))?$")
    if parts[0].isna().any():
        _refuse_unreadable(s, parts[0].isna(), iso, column=column, path=path, rows=rows)
    first, second = parts[0].astype(int), parts[2].astype(int)
    day_first, month_first = (first > 12).any(), (second > 12).any()
    if day_first == month_first:
        raise InputError(_ambiguous(s, first, second, column=column, path=path, rows=rows))
    sep = parts[1].iloc[0]
    year = "%Y" if parts[3].str.len().max() == 4 else "%y"
    fmt = f"%d{sep}%m{sep}{year}" if day_first else f"%m{sep}%d{sep}{year}"
    if parts[4].notna().any():
        fmt += " %H:%M:%S" if parts[5].notna().any() else " %H:%M"
    return fmt


def _examples(values: pd.Series, mask: pd.Series, rows: pd.Series) -> str:
    return ", ".join(f"'{v}' (row {r})" for v, r in zip(values[mask].head(3), rows[mask.index[mask]].head(3),
                                                         strict=True))


def _refuse_unreadable(s: pd.Series, bad: pd.Series, iso: pd.Series, *, column: str, path: Path,
                       rows: pd.Series) -> None:
    """Dates of no known form: a repeated header, ISO mixed with other forms, or no format to infer."""
    header = bad & (s == column)
    if header.any():
        raise InputError(f"{path}: the header line repeats inside the file ({_examples(s, header, rows)}): "
                         "two exports were joined. Remove the repeated header line(s).")
    if iso.any():
        raise InputError(f"{path}: column '{column}' mixes ISO dates ({int(iso.sum()):,} rows, e.g. "
                         f"{_examples(s, iso, rows)}) and other forms (e.g. {_examples(s, ~iso, rows)}). "
                         "One column needs one date format: re-export it.")
    raise InputError(f"{path}: cannot infer the date format of column '{column}' (e.g. {_examples(s, bad, rows)}). "
                     "Set data.date_format, e.g. '%d/%m/%Y %H:%M'.")


def _ambiguous(s: pd.Series, first: pd.Series, second: pd.Series, *, column: str, path: Path,
               rows: pd.Series) -> str:
    """The message for day/month dates that read both ways: the rows of the rarer reading named."""
    day, month = first > 12, second > 12
    if not day.any():
        return (f"{path}: dates in column '{column}' are ambiguous (no day is above 12): is '{s.iloc[0]}' "
                "day/month or month/day? Set data.date_format, e.g. '%d/%m/%Y' or '%m/%d/%Y'.")
    rare, common, how = (month, day, "month/day") if month.sum() <= day.sum() else (day, month, "day/month")
    return (f"{path}: dates in column '{column}' are ambiguous (both orders occur): {int(common.sum()):,} rows "
            f"read only the other way, {int(rare.sum()):,} only as {how}, e.g. {_examples(s, rare, rows)}. "
            "Correct those rows (a typo?) or set data.date_format, e.g. '%d/%m/%Y' or '%m/%d/%Y'.")


def _unparseable(original: pd.Series, parsed: pd.Series, *, column: str, what: str, path: Path,
                 rows: pd.Series) -> None:
    """Refuse values that are not empty but did not parse: count and three examples with row numbers."""
    bad = parsed.isna() & original.str.strip().ne("")
    if bad.any():
        ex = ", ".join(f"'{v}' (row {r})" for v, r in zip(original[bad].head(3), rows[bad].head(3), strict=True))
        raise InputError(
            f"{path}: {int(bad.sum()):,} value(s) in column '{column}' are not {what}: {ex}."
        )


@dataclass(frozen=True)
class ValueConventions:
    """How an export writes dates and numbers as text (only text columns are parsed with them).

    Parameters
    ----------
    date_format : str, optional
        strftime format of the date column. Default: the preset's, else inferred;
        ambiguous day/month data is refused.
    decimal, thousands : str, optional
        Number convention of text values (see :mod:`customer_analytics.io.parsing`).
        Default: inferred from the values; ambiguous values are refused.
    id_placeholders : tuple of str
        Customer-id values meaning "no customer" besides ``NaN``, ``NULL``, ``None``, ``-``
        (``data.id_placeholders``; see :mod:`customer_analytics.io.ids`).
    allow_short_rows : bool
        Drop CSV rows with fewer fields than the header (a truncated file) with a warning,
        instead of refusing the file (``data.allow_short_rows``).
    max_amount : float
        Unit prices and amounts above this in absolute value (or infinite) are refused with
        their rows (``data.max_amount``).

    Examples
    --------
    >>> ValueConventions(date_format="%d/%m/%Y", decimal=",").max_amount
    10000000000.0
    """

    date_format: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    id_placeholders: tuple[str, ...] = ()
    allow_short_rows: bool = False
    max_amount: float = 1e10


@dataclass(frozen=True)
class _Export:
    """A file being loaded: where it is, how it was read, its raw rows and their line numbers."""

    path: Path
    fmt: str
    preset: str
    pre: dict
    sheet: str | int | None
    raw: pd.DataFrame
    rows: pd.Series
    encoding: str | None


def _existing_file(path: str | Path) -> Path:
    """The export's resolved path; a missing file or a folder is refused."""
    p = resolve_path(path)
    if p is None or not p.exists():
        raise InputError(f"Input file not found: {path}")
    if p.is_dir():
        raise InputError(f"{p} is a folder; data.path / --data must name a file (CSV, Parquet or Excel).")
    return p


def _file_format(p: Path, file_format: str | None) -> str:
    """The file format as given, else from the extension (.parquet, .xlsx/.xls, anything else is CSV)."""
    ext = p.suffix.lower()
    fmt = file_format or ("parquet" if ext == ".parquet" else "excel" if ext in (".xlsx", ".xls") else "csv")
    if fmt not in ("csv", "parquet", "excel"):
        raise ConfigError(f"file_format must be csv, parquet or excel, got '{file_format}'")
    return fmt


def _read_rows(p: Path, fmt: str, *, delimiter: str | None, encoding: str | None,
               sheet: str | int | None, allow_short_rows: bool = False) -> tuple[pd.DataFrame, str | None, int]:
    """The file's rows (text for CSV), the encoding used and the line number of the first row."""
    used_encoding = None
    if fmt == "csv":
        raw, used_encoding = _read_csv(p, delimiter, encoding, allow_short_rows=allow_short_rows)
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
    return raw, used_encoding, first_row


def _open_export(path: str | Path, preset: str, *, file_format: str | None, delimiter: str | None,
                 encoding: str | None, sheet: str | int | None, conventions: ValueConventions,
                 allow_short_rows: bool = False) -> _Export:
    """Check the path, number convention, format and preset, then read the header and the rows."""
    p = _existing_file(path)
    parsing.check_convention(conventions.decimal, conventions.thousands)
    fmt = _file_format(p, file_format)
    pre = preset_spec(preset)
    delimiter = delimiter or pre.get("read", {}).get("delimiter")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: the file is empty (0 bytes).")
    header = _read_header(p, fmt, delimiter=delimiter, encoding=encoding or "latin-1", sheet=sheet)
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise InputError(f"{p}: duplicate column names {dupes}. Each column name must be unique.")
    raw, used_encoding, first_row = _read_rows(p, fmt, delimiter=delimiter, encoding=encoding, sheet=sheet,
                                               allow_short_rows=allow_short_rows)
    # a CSV keeps its rows' positions when short rows were dropped; Parquet may carry its own index
    positions = raw.index.to_numpy() if fmt == "csv" else np.arange(len(raw))
    rows = pd.Series(first_row + positions, index=raw.index)
    return _Export(path=p, fmt=fmt, preset=preset, pre=pre, sheet=sheet, raw=raw, rows=rows, encoding=used_encoding)


def _file_mapping(ex: _Export, column_mapping: dict | None) -> dict[str, str]:
    """The file's column mapping: the source columns it names must exist, the required ones be found."""
    p, raw, pre = ex.path, ex.raw, ex.pre
    missing_src = [src for src in (column_mapping or {}) if src not in raw.columns]
    if missing_src:
        raise InputError(
            f"{p}: column_mapping names source column(s) {missing_src} that are not in the file. "
            f"Columns in the file: {[str(c) for c in raw.columns]}."
        )
    mapping = resolve_mapping(list(raw.columns), ex.preset, column_mapping)
    needed = missing_required(mapping, pre)
    if needed:
        shown = ", ".join(f"{k} <- {v}" for k, v in mapping.items()) or "(nothing matched)"
        raise InputError(
            f"{p}: required column(s) {needed} not found: {missing_detail(needed, mapping, pre)}. "
            f"Columns in the file: {list(raw.columns)}. "
            f"Mapping in use (preset '{ex.preset}'): {shown}. Add the source column to "
            "column_mapping, e.g. {'MyCustomerCol': 'customer_id'}."
            + (_sheet_hint(p, ex.sheet, [c for k in needed for c in pre["columns"].get(k, [])]) if ex.fmt == "excel" else "")
        )
    return mapping


def _id_columns(ex: _Export, mapping: dict[str, str],
                placeholders: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, int]]:
    """The normalised id columns with the customer id's per-line fix flags, and the fix counts."""
    raw = ex.raw
    out = pd.DataFrame(index=raw.index)
    fixes: dict[str, int] = {}
    for col in ("customer_id", "order_id", "product_id"):
        if col in mapping:
            strict = col == "customer_id"  # order and product codes may be text such as 4E12
            try:
                out[col], f = normalise_ids(raw[mapping[col]], mapping[col], placeholders=placeholders,
                                            strict=strict, rows=ex.rows)
            except InputError as exc:
                raise InputError(f"{ex.path}: {exc}") from exc
            if strict:
                fixes = {f"customer_id_{k}": v for k, v in f.items()}
                # which lines had their id fixed, so a period's audit counts only its own lines
                out[ID_FIX_COLUMN] = fix_ids(raw[mapping[col]], placeholders=placeholders).flags()
    return out, fixes


def _order_dates(ex: _Export, column: str, date_format: str | None) -> tuple[pd.Series, str]:
    """The order dates (native, Excel serial days, or text in the given or inferred format) and the format."""
    return parse_dates(ex.raw[column], column, ex.path, rows=ex.rows, date_format=date_format)


def parse_dates(values: pd.Series, column: str, path: Path, *, rows: pd.Series,
                date_format: str | None = None) -> tuple[pd.Series, str]:
    """A date column of any export by the transaction dates' rules; the dates and the format used.

    Native dates are kept, Excel serial days read, text parsed in ``date_format`` or the
    inferred format: day/month data that could be read either way is refused, and values that
    do not parse (out-of-range years included) are refused with their rows (``rows``: line numbers).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]"), "native"
    date_str = values.astype("string").fillna("").str.strip()
    serial = None if date_format else parsing.excel_serial_dates(values)
    used_format = "Excel serial days" if serial is not None else (
        date_format or _infer_date_format(date_str, column, path, rows))
    parsed = serial if serial is not None else pd.to_datetime(date_str, format=used_format, errors="coerce")
    _unparseable(date_str, parsed, what=f"dates in format '{used_format}'", column=column, path=path, rows=rows)
    years = parsed.dt.year
    odd = parsed.notna() & ((years < MIN_YEAR) | (years > MAX_YEAR))
    _unparseable(date_str, parsed.mask(odd), what=f"dates from {MIN_YEAR} to {MAX_YEAR} (a typo in the year?)",
                 column=column, path=path, rows=rows)
    return parsed.astype("datetime64[ns]"), used_format


def _number_columns(out: pd.DataFrame, ex: _Export, mapping: dict[str, str],
                    conventions: ValueConventions) -> parsing.NumberFormat:
    """Parse the number columns into ``out`` under one convention for the file (set or inferred)."""
    raw, decimal, thousands = ex.raw, conventions.decimal, conventions.thousands
    number_cols = [c for c in ("quantity", "unit_price", "amount") if c in mapping]
    texts = {c: raw[mapping[c]].astype("string").fillna("").str.strip() for c in number_cols
             if not pd.api.types.is_numeric_dtype(raw[mapping[c]])}
    nf = (parsing.NumberFormat(decimal or ("," if thousands == "." else "."), thousands or None, "config")
          if decimal or thousands else parsing.infer_convention({mapping[c]: t for c, t in texts.items()}, ex.path))
    for col in number_cols:
        out[col] = parsing.parse_numbers(raw[mapping[col]], nf, mapping[col], ex.path, rows=ex.rows)
    nf.notes = parsing.plausibility_notes({c: (mapping[c], t) for c, t in texts.items() if c in ("unit_price", "amount")},
                                          {c: out[c] for c in texts}, nf)
    if "amount" not in out:
        out["amount"] = out["quantity"] * out["unit_price"]
    for col in ("unit_price", "amount"):  # before they reach the engine or a statistic
        if col in out:
            parsing.check_magnitude(out[col], column=mapping.get(col, "amount (quantity x unit price)"),
                                    path=ex.path, rows=ex.rows, limit=conventions.max_amount)
    return nf


def _other_columns(out: pd.DataFrame, ex: _Export, mapping: dict[str, str]) -> None:
    """Add the order id made per customer-day (where the preset says so), the text columns and the line numbers."""
    if ex.pre.get("order_id_from") == "customer_day" and "order_id" not in mapping:
        out["order_id"] = (out["customer_id"] + "-" + out["order_date"].dt.strftime("%Y%m%d")).astype("string")
    for col in ("country", "channel", "description"):
        if col in mapping:
            out[col] = ex.raw[mapping[col]].astype("string").str.strip()
    out["source_row"] = ex.rows.astype("int64")


def load_transactions(path: str | Path, preset: str = "generic", file_format: str | None = None,
                      delimiter: str | None = None, *, encoding: str | None = None,
                      column_mapping: dict | None = None, sheet: str | int | None = None,
                      conventions: ValueConventions | None = None) -> LoadResult:
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
    column_mapping : dict, optional
        ``{source column: canonical column}``, overriding the preset.
    sheet : str or int, optional
        Excel sheet name or 0-based position. Default: the first sheet.
    conventions : ValueConventions, optional
        How dates and numbers are written as text (date format, decimal and thousands
        separators). Default: the preset's date format, else inferred; ambiguous data is refused.

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
    conventions = conventions or ValueConventions()
    ex = _open_export(path, preset, file_format=file_format, delimiter=delimiter, encoding=encoding, sheet=sheet,
                      conventions=conventions, allow_short_rows=conventions.allow_short_rows)
    mapping = _file_mapping(ex, column_mapping)
    out, fixes = _id_columns(ex, mapping, tuple(conventions.id_placeholders))
    date_format = conventions.date_format or ex.pre.get("read", {}).get("date_format")
    out["order_date"], used_format = _order_dates(ex, mapping["order_date"], date_format)
    nf = _number_columns(out, ex, mapping, conventions)
    _other_columns(out, ex, mapping)
    ordered = [c for c in (*CANONICAL, "source_row", ID_FIX_COLUMN) if c in out]
    return LoadResult(
        data=out[ordered].reset_index(drop=True), path=ex.path, encoding=ex.encoding, preset=preset,
        mapping={k: mapping[k] for k in CANONICAL if k in mapping}, source_columns=[str(c) for c in ex.raw.columns],
        date_format=used_format, id_fixes=fixes, lines_identifiable="order_id" in mapping, number_format=nf,
    )

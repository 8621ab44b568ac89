"""Parse numbers and dates from exports without guessing.

Exports from different countries and tools write ``1,234.56``, ``1.234,56`` or
``1234,56``. Reading them with the wrong convention silently changes every amount
by a factor of 100 or 1,000, so the loader never strips characters before
parsing. Instead each value must match a strict grammar::

    [sign] [currency symbol £ $ €] digits [thousands groups] [decimal separator digits] [exponent]

under one convention (``decimal``, ``thousands``) for the whole file. The
convention comes from the config (``data.decimal``, ``data.thousands``) or is
inferred from the values (:func:`infer_convention`); when the values cannot tell
(every value looks like ``1,234``), the loader refuses and asks for it.

After parsing, :func:`plausibility_notes` compares the median unit price and line
amount with a parse under the other convention; a difference of 10x or more is
written to the cleaning audit with the reason the convention was chosen.

Excel stores dates as serial day numbers (days since 1899-12-30); :func:`excel_serial_dates`
recognises and converts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from customer_analytics.core.errors import ConfigError, InputError

#: Columns of the cleaning audit: one row per rule outcome (the number-format row is built here).
AUDIT_COLUMNS = [
    "step", "rule", "action", "rows_removed", "rows_changed", "revenue_removed", "revenue_changed",
    "revenue_effect", "revenue_share", "customers_affected", "example_rows", "explanation",
]

DECIMALS = (".", ",")
THOUSANDS = (",", ".", " ", "'", "")
#: A plausibility note is written when the other convention moves a median by this factor or more.
PLAUSIBILITY_FACTOR = 10.0
#: Excel serial day numbers accepted as dates (1927-05-18 .. 2173-10-14).
EXCEL_SERIAL_RANGE = (10_000, 100_000)


@dataclass
class NumberFormat:
    """The number convention used for a file, and why (facts and codes; the report words them).

    Attributes
    ----------
    decimal : str
        Decimal separator, ``'.'`` or ``','``.
    thousands : str or None
        Thousands separator, or ``None`` when values have none.
    reason : str
        Why this convention, one of :data:`REASONS`: ``'config'`` (set in the config),
        ``'inferred'`` (a value such as ``example`` can only be read one way),
        ``'whole_numbers'``, ``'no_numbers'``, ``'typed'`` (numbers stored as numbers) or
        ``'default'``.
    notes : list of dict
        Plausibility notes, one per number column whose median changes tenfold or more under
        the other convention (see :func:`plausibility_notes`).
    example : str
        For ``reason='inferred'``: a value that shows the decimal separator.
    """

    decimal: str = "."
    thousands: str | None = None
    reason: str = "default"
    notes: list[dict] = field(default_factory=list)
    example: str = ""

    def describe(self) -> str:
        """The convention in one English phrase (error messages, the audit CSV, the analyst's log)."""
        th = f"'{self.thousands}'" if self.thousands else "none"
        why = REASONS[self.reason].format(example=self.example, decimal=self.decimal)
        return f"decimal '{self.decimal}', thousands {th} ({why})"


#: Why a convention was chosen: code -> English phrase (the report's words are in the catalogs, ``number_reason.*``).
REASONS = {
    "default": "default",
    "config": "set in the config",
    "inferred": "inferred: values such as '{example}' have '{decimal}' as decimal separator",
    "whole_numbers": "inferred: whole numbers only",
    "no_numbers": "no number values",
    "typed": "typed numbers in the source",
}


def note_text(fmt: NumberFormat, note: dict) -> str:
    """One plausibility note in English (for the audit CSV and the analyst's log)."""
    return (f"Column '{note['source']}' ({note['column']}) was read with {fmt.describe()}: median "
            f"{note['median']:,.4g}. Read with decimal '{note['other_decimal']}' the median would be "
            f"{note['median_other']:,.4g} ({note['ratio']:,.0f}x); check that the chosen convention is right.")


def check_convention(decimal: str | None, thousands: str | None) -> None:
    """Refuse an invalid or contradictory ``data.decimal`` / ``data.thousands`` pair."""
    if decimal is not None and decimal not in DECIMALS:
        raise ConfigError(f"data.decimal must be '.' or ',', got {decimal!r}")
    if thousands is not None and thousands not in THOUSANDS:
        raise ConfigError(f"data.thousands must be one of ',', '.', ' ', \"'\" or '' (none), got {thousands!r}")
    if decimal is not None and thousands and decimal == thousands:
        raise ConfigError(f"data.decimal and data.thousands are both {decimal!r}; they must differ")


def _grammar(decimal: str, thousands: str | None) -> str:
    d = re.escape(decimal)
    if thousands:
        t = re.escape(thousands)
        integer = rf"(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)"
    else:
        integer = r"\d+"
    return (rf"^(?P<sign>[+-]?)[£$€]?(?P<sign2>[+-]?)(?P<int>{integer})"
            rf"(?:{d}(?P<frac>\d*))?(?P<exp>[eE][+-]?\d+)?$")


def parse_strict(text: pd.Series, decimal: str, thousands: str | None) -> pd.Series:
    """Parse strings under one convention; values that do not match the grammar become NaN.

    Parameters
    ----------
    text : Series of str
        Stripped values; empty strings are missing.
    decimal, thousands : str
        The convention.

    Returns
    -------
    Series of float64

    Examples
    --------
    >>> parse_strict(pd.Series(["1.234,5", "0,88", "12"]), ",", ".").tolist()
    [1234.5, 0.88, 12.0]
    >>> parse_strict(pd.Series(["1,234"]), ".", None).isna().all()
    np.True_
    """
    parts = text.astype("string").str.extract(_grammar(decimal, thousands))
    integer = parts["int"].str.replace(thousands, "", regex=False) if thousands else parts["int"]
    sign = parts["sign"].fillna("") + parts["sign2"].fillna("")
    sign = sign.where(~sign.isin(["--", "++"]), "").where(~sign.isin(["+-", "-+"]), "-")
    canon = sign + integer + "." + parts["frac"].fillna("").replace("", "0") + parts["exp"].fillna("")
    return pd.to_numeric(canon.where(parts["int"].notna()), errors="coerce").astype("float64")


def _first(text: pd.Series, mask: pd.Series) -> str:
    return str(text[mask].iloc[0])


def infer_convention(columns: dict[str, pd.Series], path: Path | str) -> NumberFormat:
    """Infer the decimal and thousands separators from the values of every number column.

    Evidence, per value: a value with both ``.`` and ``,`` has its decimal separator
    last (``1.234,56``); a separator that occurs twice is a thousands separator
    (``1,234,567``); a single separator not followed by exactly three digits, or
    after a leading zero, is a decimal separator (``0,88``, ``12.5``). A value such
    as ``1,234`` or ``1.234`` is ambiguous on its own.

    Parameters
    ----------
    columns : dict
        ``{source column name: stripped string values}``.
    path : Path or str
        The file, for error messages.

    Returns
    -------
    NumberFormat

    Raises
    ------
    InputError
        If the values point to both conventions, or only to ambiguous values; the
        message asks for ``data.decimal`` and ``data.thousands``.
    """
    parts = [s[s.str.len() > 0] for s in columns.values()]
    text = pd.concat(parts, ignore_index=True).astype("string") if parts else pd.Series([], dtype="string")
    if text.empty:
        return NumberFormat(reason="no_numbers")
    body = text.str.replace(r"^[+-]?[£$€]?[+-]?", "", regex=True)
    evidence = {}
    for dec, th in ((".", ","), (",", ".")):
        d, t = re.escape(dec), re.escape(th)
        both = body.str.contains(rf"{t}\d*{d}\d*$", regex=True) & ~body.str.contains(rf"{d}.*{t}", regex=True)
        repeated_th = body.str.count(t) >= 2
        single_dec = body.str.fullmatch(rf"\d+{d}\d*(?:[eE][+-]?\d+)?") & ~body.str.fullmatch(rf"[1-9]\d{{0,2}}{d}\d{{3}}")
        evidence[dec] = (both | repeated_th | single_dec).fillna(False)
    dot, comma = evidence["."], evidence[","]
    if dot.any() and comma.any():
        raise InputError(
            f"{path}: numbers use both conventions: '{_first(text, dot)}' reads as decimal point, "
            f"'{_first(text, comma)}' as decimal comma. Set data.decimal and data.thousands in the config."
        )
    has = {ch: bool(body.str.contains(ch, regex=False).any()) for ch in ".,"}
    if dot.any() or comma.any():
        dec = "." if dot.any() else ","
        other = "," if dec == "." else "."
        example = _first(text, dot if dec == "." else comma)
        return NumberFormat(dec, other if has[other] else None, "inferred", example=example)
    if not (has["."] or has[","]):
        return NumberFormat(reason="whole_numbers")
    ambiguous = text[body.str.contains(r"[.,]", regex=True)]
    raise InputError(
        f"{path}: cannot tell the decimal separator: every number with a separator looks like "
        f"'{ambiguous.iloc[0]}' (thousands or decimals?). Set data.decimal ('.' or ',') and data.thousands "
        "(',', '.', ' ' or '') in the config."
    )


def parse_numbers(values: pd.Series, fmt: NumberFormat, column: str, path: Path | str, *,
                  rows: pd.Series) -> pd.Series:
    """Parse one number column under ``fmt``, refusing values that do not match.

    Numbers already stored as numbers (Parquet/Excel numeric cells) are kept as they
    are; strings are parsed with :func:`parse_strict`.

    Raises
    ------
    InputError
        If the column is empty in every row, or some values are not numbers under
        the convention (count, examples with row numbers, the convention used).
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        out = values.astype("float64")
        text = values.astype("string").fillna("")
    else:
        is_num = values.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
        text = values.astype("string").fillna("").str.strip()
        out = parse_strict(text.where(~is_num, ""), fmt.decimal, fmt.thousands)
        if is_num.any():
            out[is_num] = pd.to_numeric(values[is_num]).astype("float64")
    empty = text.str.strip().eq("") & out.isna()
    if empty.all():
        raise InputError(f"{path}: column '{column}' is empty in every row; it must hold numbers.")
    bad = out.isna() & ~empty
    if bad.any():
        ex = ", ".join(f"'{v}' (row {r})" for v, r in zip(text[bad].head(3), rows[bad].head(3), strict=True))
        raise InputError(
            f"{path}: {int(bad.sum()):,} value(s) in column '{column}' are not numbers with "
            f"{fmt.describe()}: {ex}. Set data.decimal and data.thousands if the convention is wrong."
        )
    return out


def check_magnitude(values: pd.Series, *, column: str, path: Path | str, rows: pd.Series, limit: float) -> None:
    """Refuse infinite numbers (``1e400``) and numbers above ``limit`` in absolute value, with their rows.

    Raises
    ------
    InputError
        Naming the file, the column, the count, three rows and ``data.max_amount``.
    """
    x = values.astype("float64")
    bad = x.notna() & (~np.isfinite(x) | (x.abs() > limit))
    if bad.any():
        ex = ", ".join(f"{v:,.2f} (row {r})" if np.isfinite(v) else f"{v} (row {r})"
                       for v, r in zip(x[bad].head(3), rows[bad].head(3), strict=True))
        raise InputError(f"{path}: {int(bad.sum()):,} value(s) in column '{column}' are beyond any plausible "
                         f"amount (infinite, or above {limit:,.0f} in absolute value; data.max_amount): {ex}. "
                         "Correct those rows, or raise data.max_amount if such amounts are real.")


def plausibility_notes(columns: dict[str, pd.Series], parsed: dict[str, pd.Series], fmt: NumberFormat) -> list[str]:
    """Notes for columns whose median changes by 10x or more under the other convention.

    Parameters
    ----------
    columns : dict
        ``{canonical name: (source name, stripped string values)}`` for ``unit_price``
        and ``amount``.
    parsed : dict
        ``{canonical name: parsed values}``.
    fmt : NumberFormat
        The convention used.

    Returns
    -------
    list of dict
        One note per affected column: ``column``, ``source``, ``median`` (under the chosen
        convention), ``median_other`` (read with ``other_decimal`` as decimal separator) and
        ``ratio`` (the larger median over the smaller, at least :data:`PLAUSIBILITY_FACTOR`).
    """
    other_dec = "," if fmt.decimal == "." else "."
    notes = []
    for canon, (source, text) in columns.items():
        # what a reader with the other convention would make of the same text (the chosen decimal
        # separator taken for a thousands separator); used only for this comparison
        alt = parse_strict(text.str.replace(fmt.decimal, "", regex=False), other_dec, None)
        chosen, other = parsed[canon].median(), alt.median()
        if not (np.isfinite(chosen) and np.isfinite(other)) or min(abs(chosen), abs(other)) == 0:
            continue
        ratio = max(abs(chosen), abs(other)) / min(abs(chosen), abs(other))
        if ratio >= PLAUSIBILITY_FACTOR:
            notes.append({"column": canon, "source": source, "median": float(chosen), "median_other": float(other),
                          "other_decimal": other_dec, "ratio": float(ratio)})
    return notes


def audit_rows(fmt: NumberFormat, columns: list[str] | tuple = ()) -> pd.DataFrame:
    """Cleaning-audit rows (step 0) recording the number convention and its plausibility notes."""
    texts = [f"Numbers in {', '.join(columns) or 'the number columns'} were parsed with {fmt.describe()}; "
             "no characters were stripped."] + [note_text(fmt, n) for n in fmt.notes]
    rows = [{c: 0 for c in AUDIT_COLUMNS} | {"step": 0, "rule": "numbers: convention", "action": "parse",
                                              "revenue_affected": 0.0, "revenue_share": 0.0, "example_rows": "",
                                              "explanation": " ".join(texts)}]
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


def excel_serial_dates(values: pd.Series) -> pd.Series | None:
    """Convert Excel serial day numbers (e.g. ``45292`` = 2024-01-01) to timestamps.

    Returns ``None`` unless every non-empty value is a number (or numeric text) in
    :data:`EXCEL_SERIAL_RANGE`; fractions are times of day.

    Examples
    --------
    >>> excel_serial_dates(pd.Series(["45292", "45292.5"])).tolist()
    [Timestamp('2024-01-01 00:00:00'), Timestamp('2024-01-01 12:00:00')]
    """
    text = values.astype("string").fillna("").str.strip()
    present = text.ne("")
    if not present.any() or not text[present].str.fullmatch(r"\d{5}(?:\.\d+)?").all():
        return None
    num = pd.to_numeric(text.where(present), errors="coerce")
    lo, hi = EXCEL_SERIAL_RANGE
    if not num[present].between(lo, hi).all():
        return None
    return (pd.Timestamp("1899-12-30") + pd.to_timedelta(num, unit="D")).dt.round("s").astype("datetime64[ns]")


# ------------------------------------------------------------------ text files

CANDIDATE_DELIMITERS = {";": "';'", "\t": "tab ('\\t')", "|": "'|'", ",": "','"}


#: Leading bytes of compressed files (a text check on them would guess an encoding).
COMPRESSED = {b"\x1f\x8b": "gzip-compressed", b"PK\x03\x04": "a ZIP archive (or an Excel workbook)",
              b"BZh": "bzip2-compressed", b"\xfd7zXZ\x00": "xz-compressed", b"\x28\xb5\x2f\xfd": "zstd-compressed"}


def check_text_file(path: Path, encoding: str | None) -> None:
    """Refuse a UTF-16/UTF-32 text file unless its encoding is configured.

    Raises
    ------
    InputError
        The file starts with a UTF-16 byte-order mark or holds NUL bytes.
    """
    with open(path, "rb") as fh:
        head = fh.read(4096)
    kind = next((name for magic, name in COMPRESSED.items() if head.startswith(magic)), None)
    if kind:
        raise InputError(f"{path}: the file is {kind}, not a text export. Decompress it first (for gzip: "
                         "gunzip, for ZIP: unzip) and point data.path at the CSV inside"
                         + (", or, for an Excel workbook, name it .xlsx or set data.file_format: excel." if "ZIP" in kind
                            else "."))
    if encoding and encoding.lower().replace("-", "").replace("_", "").startswith(("utf16", "utf32")):
        return
    bom16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if bom16 or b"\x00" in head:
        what = "a UTF-16 byte-order mark" if bom16 else "NUL bytes"
        raise InputError(
            f"{path}: the file starts with {what}: it is UTF-16 (or binary), not a text export in "
            "UTF-8/Windows-1252. Re-save it as UTF-8 CSV, or set data.encoding: utf-16 in the config."
        )


def check_delimiter(path: Path, header_line: str, delimiter: str | None) -> None:
    """Refuse when the header has no configured delimiter but another common one.

    Raises
    ------
    InputError
        Names the file, the delimiter found and the config key to set.
    """
    if delimiter == "whitespace":
        return
    used = delimiter or ","
    if used in header_line:
        return
    found = [(d, n) for d, n in CANDIDATE_DELIMITERS.items() if d != used and header_line.count(d) >= 1]
    if found:
        d, name = max(found, key=lambda dn: header_line.count(dn[0]))
        value = "\\t" if d == "\t" else d
        raise InputError(
            f"{path}: the header has no '{used}' delimiter but {header_line.count(d)} {name} delimiter(s): "
            f"{header_line.strip()[:120]!r}. Set data.delimiter: \"{value}\" in the config (or --data a "
            "comma-separated file)."
        )

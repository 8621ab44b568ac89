"""File-level damage of a CSV export: rows with fewer fields than the header (a truncated file) and parser errors.

A CSV row with fewer fields than the header is what a file cut off in the middle of a line
(an interrupted copy or download) ends with; read as it is, its missing fields would be empty
and the row silently dropped later (as a "missing customer"). :func:`short_rows` finds such rows
by their line number; the loader refuses them unless ``data.allow_short_rows`` is set.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from customer_analytics.core.errors import InputError

#: Short rows shown in a message.
SHOWN = 3


def short_rows(path: Path, encoding: str, delimiter: str | None, n_fields: int) -> list[tuple[int, int]]:
    """The ``(line, fields)`` of every row with fewer fields than ``n_fields`` (blank lines excluded)."""
    out = []
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter or ",")
        next(reader, None)
        for row in reader:
            if row and len(row) < n_fields:
                out.append((reader.line_num, len(row)))
    return out


def ends_without_newline(path: Path) -> bool:
    """Whether the file's last byte is not a line break (the last line may be cut off)."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return False
        fh.seek(-1, 2)
        return fh.read(1) not in (b"\n", b"\r")


def short_rows_message(path: Path, short: list[tuple[int, int]], n_fields: int) -> str:
    """The refusal: how many rows are short, the first lines named, and what to do."""
    shown = ", ".join(f"line {line} ({got} of {n_fields} fields)" for line, got in short[:SHOWN])
    last = " The file ends without a line break: it looks cut off (truncated)." if ends_without_newline(path) else ""
    return (f"{path}: {len(short):,} row(s) have fewer fields than the header's {n_fields}: {shown}.{last} "
            "Re-export or copy the file again; to drop these rows and go on, set data.allow_short_rows: true.")


def drop_short_rows(df: pd.DataFrame, short: list[tuple[int, int]], first_line: int = 2) -> pd.DataFrame:
    """``df`` without the short rows (by line number; one physical line per row assumed)."""
    lines = pd.Series(range(first_line, first_line + len(df)), index=df.index)
    return df[~lines.isin([line for line, _ in short])]


def parser_error(path: Path, exc: Exception) -> InputError:
    """A pandas ParserError as a message naming the file, the line and what to check."""
    text = str(exc).replace("Error tokenizing data. C error: ", "")
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if m:
        return InputError(f"{path}: line {m.group(2)} has {m.group(3)} fields, the header {m.group(1)}. A value "
                          "holding the delimiter must be quoted; check the line, or set data.delimiter.")
    if "EOF inside string" in text:
        line = re.search(r"row (\d+)", text)
        where = f" (the quote opens in data row {int(line.group(1))}, line {int(line.group(1)) + 1})" if line else ""
        return InputError(f"{path}: a quoted value is never closed{where}: the file is damaged or truncated. "
                          "Re-export it.")
    return InputError(f"{path}: cannot be read as CSV: {text.strip()}")

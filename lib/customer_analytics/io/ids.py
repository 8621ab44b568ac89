"""One id normaliser for every file that carries customer ids (transactions, assignments, experiment tables).

:func:`normalise_ids` turns an id column into clean strings, by these rules:

- surrounding spaces are stripped (*padded*);
- a placeholder (:data:`ID_PLACEHOLDERS`: ``NaN``, ``NULL``, ``None``, ``-``, ``N/A``, ``#N/A``, in any
  case, plus a configured list ``data.id_placeholders``) means "no customer": the id becomes missing
  and is counted (*placeholders*), never kept as a customer called "NaN";
- an empty value is missing;
- the float form of an integer (``12346.0``) becomes the integer (*float artefacts*);
- scientific notation of an integer (``1.2346E+04``) becomes the integer (*scientific*) when its digits
  give the id exactly; a value that does not (``1.23E+07`` lost digits, ``1.5E-02`` is not whole) is
  refused with its rows named, never kept as a new text id.

The engine twin, :func:`customer_analytics.io.engine_sources.normalise_ids_expr`, follows the same
rules in the engine; both read the constants here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from customer_analytics.core.errors import InputError

#: Values (compared stripped and case-insensitively) that mean "no customer" in any id column.
ID_PLACEHOLDERS = ("nan", "null", "none", "-", "n/a", "#n/a")
#: A number in scientific notation (any: the candidates to repair or refuse).
SCIENTIFIC = r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+"
#: Scientific notation that may be a whole id: one leading digit, the fraction, a positive exponent.
SCIENTIFIC_PARTS = r"([1-9])(?:\.(\d*))?[eE]\+?(\d{1,2})"
#: Bits of the loader's per-line id-fix column (``ID_FIX_COLUMN``).
FLOAT_BIT, PADDED_BIT, PLACEHOLDER_BIT, SCIENTIFIC_BIT = 1, 2, 4, 8


def placeholder_values(extra: Iterable[str] | None = None) -> tuple[str, ...]:
    """The placeholders, lower-cased: :data:`ID_PLACEHOLDERS` and the configured ``extra`` ones."""
    return tuple(dict.fromkeys([*ID_PLACEHOLDERS, *(str(v).strip().lower() for v in extra or [])]))


def scientific_integer(text: str) -> str | None:
    """The whole id that scientific notation ``text`` writes exactly, else None.

    ``1.2346E+04`` -> ``12346`` and ``1.23460E+04`` -> ``12346``; ``1.23E+07`` (digits lost to
    rounding), ``1.5E-02`` and ``1.23456E+04`` (not whole) give None.
    """
    m = re.fullmatch(SCIENTIFIC_PARTS, text)
    if m is None:
        return None
    lead, frac, exp = m.group(1), m.group(2) or "", int(m.group(3))
    if len(frac) < exp or frac[exp:].strip("0"):
        return None
    return lead + frac[:exp]


def fix_counts(counts: dict[str, int], prefix: str = "") -> dict[str, int]:
    """The counts of the id fixes: padded and float artefacts always, placeholders and scientific when any."""
    return {k: v for k, v in counts.items()
            if v or k.removeprefix(prefix) in ("padded", "float_artefacts")}


@dataclass(frozen=True)
class IdFixes:
    """The normalised ids and, per row, which rule changed them (boolean Series on the ids' index)."""

    ids: pd.Series
    padded: pd.Series
    float_artefacts: pd.Series
    placeholders: pd.Series
    scientific: pd.Series
    refused: pd.Series  # scientific notation that is not a whole id exactly

    def counts(self) -> dict[str, int]:
        """The count of each fix (:func:`fix_counts`)."""
        return fix_counts({"padded": int(self.padded.sum()), "float_artefacts": int(self.float_artefacts.sum()),
                           "placeholders": int(self.placeholders.sum()), "scientific": int(self.scientific.sum())})

    def flags(self) -> np.ndarray:
        """The per-row bits of the id-fix column."""
        return (self.float_artefacts.to_numpy().astype("int8") * FLOAT_BIT
                | self.padded.to_numpy().astype("int8") * PADDED_BIT
                | self.placeholders.to_numpy().astype("int8") * PLACEHOLDER_BIT
                | self.scientific.to_numpy().astype("int8") * SCIENTIFIC_BIT).astype("int8")


def fix_ids(ids: pd.Series, *, placeholders: Iterable[str] | None = None, strict: bool = True) -> IdFixes:
    """:func:`normalise_ids` without the checks: the ids and the per-row masks of each rule.

    ``strict`` False (order and product ids) applies only the float-artefact and padding rules.
    """
    s = ids.astype("string")
    stripped = s.str.strip()
    none = pd.Series(False, index=s.index)
    padded = (stripped != s).fillna(False).astype(bool)
    # the regex runs only on candidates (ending in 0 and containing a dot)
    cand = (stripped.str.endswith("0") & stripped.str.contains(".", regex=False)).fillna(False)
    float_art = none.copy()
    if cand.any():
        float_art[cand] = stripped[cand].str.fullmatch(r"\d+\.0+").fillna(False)
    out = stripped.copy()
    if float_art.any():
        out[float_art] = stripped[float_art].str.replace(r"\.0+$", "", regex=True)
    holders, sci, refused = none.copy(), none.copy(), none.copy()
    if strict:
        holders = stripped.str.lower().isin(placeholder_values(placeholders)).fillna(False).astype(bool)
        out = out.mask(holders)
        maybe = stripped.str.contains("e", case=False, regex=False).fillna(False) & ~holders
        if maybe.any():
            is_sci = stripped[maybe].str.fullmatch(SCIENTIFIC).fillna(False).astype(bool)
            whole = stripped[maybe][is_sci].map(scientific_integer)
            good = whole[whole.notna()]
            sci[good.index] = True
            refused[whole.index[whole.isna()]] = True
            out.loc[good.index] = good.astype("string")
    out = out.mask(out == "")
    return IdFixes(out, padded, float_art, holders, sci, refused)


def normalise_ids(ids: pd.Series, column: str = "id", *, placeholders: Iterable[str] | None = None,
                  strict: bool = True, rows: pd.Series | None = None) -> tuple[pd.Series, dict[str, int]]:
    """Normalise an identifier column to clean strings (the rules are in the module docstring).

    Parameters
    ----------
    ids : Series
        Raw identifiers (any dtype).
    column : str
        Source column name, for error messages.
    placeholders : iterable of str, optional
        Values meaning "no customer" besides :data:`ID_PLACEHOLDERS` (``data.id_placeholders``).
    strict : bool
        Customer ids (True): placeholders and scientific notation too. False (order and product
        codes, which may be text like ``4E12``): only float artefacts and padding.
    rows : Series, optional
        The rows' line numbers in the source, for messages (default: position + 1).

    Returns
    -------
    (Series, dict)
        The ids as pandas strings (missing as ``<NA>``) and counts of each fix: ``padded`` and
        ``float_artefacts`` always, ``placeholders`` and ``scientific`` when there are any.

    Raises
    ------
    InputError
        If the column mixes numbers and text as Python objects (as Excel exports do), or holds
        scientific notation that does not write a whole id exactly (rows named).

    Examples
    --------
    >>> s, fixes = normalise_ids(pd.Series([" 12346.0", "12347", "", "NULL", "1.2348E+04"]))
    >>> s.tolist(), fixes["float_artefacts"], fixes["placeholders"], fixes["scientific"]
    (['12346', '12347', <NA>, <NA>, '12348'], 1, 1, 1)
    """
    _check_types(ids, column)
    fixed = fix_ids(ids, placeholders=placeholders, strict=strict)
    if fixed.refused.any():
        where = rows if rows is not None else pd.Series(np.arange(1, len(ids) + 1), index=ids.index)
        bad = fixed.refused
        ex = ", ".join(f"'{str(v).strip()}' (row {r})" for v, r in zip(ids[bad].head(3), where[bad].head(3), strict=True))
        raise InputError(
            f"Column '{column}': {int(bad.sum()):,} id(s) are numbers in scientific notation that do not write a "
            f"whole id exactly: {ex}. The export rounded them; re-export the column as text (or as a number "
            "with no decimals).")
    return fixed.ids, fixed.counts()


def _check_types(ids: pd.Series, column: str) -> None:
    """Refuse an object column that mixes numbers and text."""
    if ids.dtype != object:
        return
    kinds = ids.dropna().map(lambda v: "number" if isinstance(v, (int, float, np.number)) else "text")
    counts = kinds.value_counts()
    if len(counts) > 1:
        example = ids[kinds == counts.index[-1]].head(3).tolist()
        raise InputError(
            f"Column '{column}' mixes numbers ({counts.get('number', 0):,} rows) and text "
            f"({counts.get('text', 0):,} rows), e.g. {example}. IDs must be one type; "
            "re-export the column as text."
        )

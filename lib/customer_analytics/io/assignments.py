"""The assignment table of an experiment (mode ``transactions``), read by the rules of the transactions.

Customer ids go through the one id normaliser (:func:`customer_analytics.io.ids.normalise_ids`:
``12346.0`` and ``1.2346E+04`` are ``12346``; ``NaN``, ``NULL``, ``None``, ``-`` mean no customer),
exposure dates through the transaction dates' rules (:func:`customer_analytics.io.reading.parse_dates`:
ambiguous day/month refused, bad values named by line), and a customer assigned twice is refused
with the lines. :func:`match_report` compares the assigned ids with the customers of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from customer_analytics.core.errors import InputError
from customer_analytics.io.ids import normalise_ids
from customer_analytics.io.reading import parse_dates, read_table_as_text

#: Examples shown of unmatched or duplicate ids.
SHOWN = 5


@dataclass(frozen=True)
class Assignments:
    """The checked assignments (customer_id, variant, exposure, source_row) and what reading them found."""

    table: pd.DataFrame
    path: Path
    without_customer: int  # rows whose id was empty or a placeholder (left out)
    id_fixes: dict[str, int]
    date_format: str


def read_assignments(path: Path, *, user: str, variant: str, exposure: str, placeholders=(),
                     date_format: str | None = None) -> Assignments:
    """Read and check an assignment table; one row per assigned customer.

    Raises
    ------
    InputError
        Naming the file: a missing column, scientific-notation ids that are not whole, ambiguous
        or unparseable exposure dates (rows named), a customer assigned twice (ids and lines).
    """
    raw, first_row = read_table_as_text(path)
    missing = [c for c in (user, variant, exposure) if c not in raw]
    if missing:
        raise InputError(f"{path}: lacks column(s) {missing}; columns found: {[str(c) for c in raw.columns]}.")
    rows = pd.Series(first_row + raw.index.to_numpy(), index=raw.index)
    try:
        ids, fixes = normalise_ids(raw[user], user, placeholders=placeholders, rows=rows)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc
    keep = ids.notna()
    dates, used = parse_dates(raw.loc[keep, exposure], exposure, path, rows=rows[keep], date_format=date_format)
    table = pd.DataFrame({"customer_id": ids[keep].astype(str), "variant": raw.loc[keep, variant].astype(str).str.strip(),
                          "exposure": dates, "source_row": rows[keep]}).reset_index(drop=True)
    _refuse_duplicates(table, path, user)
    return Assignments(table, path, int((~keep).sum()), fixes, used)


def _refuse_duplicates(table: pd.DataFrame, path: Path, user: str) -> None:
    dup = table["customer_id"].duplicated(keep=False)
    if dup.any():
        shown = table[dup].groupby("customer_id", sort=False)["source_row"].apply(
            lambda r: "/".join(map(str, r))).head(SHOWN)
        ex = ", ".join(f"{i} (lines {lines})" for i, lines in shown.items())
        raise InputError(f"{path}: {int(table.loc[dup, 'customer_id'].nunique()):,} customer id(s) in column "
                         f"'{user}' are assigned more than once: {ex}. Each customer must be in one arm once.")


@dataclass(frozen=True)
class MatchReport:
    """How many assigned ids are customers of the data, with examples of both sides that do not match."""

    assigned: int
    matched: int
    unmatched_assigned: list[str]
    unmatched_customers: list[str]

    @property
    def share(self) -> float:
        return self.matched / self.assigned if self.assigned else 1.0


def match_report(assigned: pd.Series, customers: pd.Series) -> MatchReport:
    """Compare assigned ids with the data's customer ids (both normalised strings)."""
    a = pd.Index(assigned.dropna().astype(str).unique())
    c = pd.Index(customers.dropna().astype(str).unique())
    hit = a.isin(c)
    return MatchReport(len(a), int(hit.sum()), a[~hit][:SHOWN].tolist(), c[~c.isin(a)][:SHOWN].tolist())

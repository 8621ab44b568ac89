"""Checks of the run's inputs against each other, before anything is written (seconds, not a notebook later).

- the experiment's assignment table (mode ``transactions``): read by the rules of the
  transactions (:func:`customer_analytics.io.assignments.read_assignments`: ids normalised,
  exposure dates unambiguous, no customer assigned twice), its arms holding
  ``experiment.control_label``, and at least ``experiment.min_match_share`` of its ids being
  customers of the data (else the run stops with the counts and examples of both sides);
- the per-user experiment table (mode ``table``): the control arm present, no user twice;
- the config values that depend on the data: ``clustering.k`` / ``k_max`` and
  ``clv.min_customers`` against the number of customers up to the period end.
"""

from __future__ import annotations

import pandas as pd

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.core.paths import resolve_path
from customer_analytics.io import assignments as assign_io
from customer_analytics.io.ids import normalise_ids
from customer_analytics.io.reading import read_table_as_text


def check_experiment(cfg: dict, customers: pd.Series | None) -> None:
    """Check the experiment's input; ``customers``: the customer ids of the data (None: no data).

    Raises
    ------
    ConfigError
        ``experiment.control_label`` is not an arm of the table.
    InputError
        The table cannot be read by the rules, holds a customer twice, or too few of its ids match.
    """
    e = cfg["experiment"]
    if e["mode"] == "transactions":
        a = read_assignments(cfg)
        _check_control(e, a.table["variant"], a.path.name, e["variant_column"])
        if customers is not None:
            _check_matches(e, a, customers)
    elif e["mode"] == "table":
        path = resolve_path(e["table_path"])
        raw, first_row = read_table_as_text(path)
        _check_control(e, raw[e["variant_column"]].astype(str).str.strip(), path.name, e["variant_column"])
        if e["user_column"]:
            rows = pd.Series(first_row + raw.index.to_numpy(), index=raw.index)
            ids, _ = normalise_ids(raw[e["user_column"]], e["user_column"],
                                   placeholders=cfg["data"].get("id_placeholders"), rows=rows)
            dup = ids.notna() & ids.duplicated(keep=False)
            if dup.any():
                raise InputError(f"{path}: {int(ids[dup].nunique()):,} user id(s) in column '{e['user_column']}' "
                                 f"appear more than once, e.g. {ids[dup].unique()[:5].tolist()} (lines "
                                 f"{rows[dup].head(5).tolist()}). Each user must be one row.")


def read_assignments(cfg: dict) -> assign_io.Assignments:
    """The config's assignment table, read and checked (:func:`customer_analytics.io.assignments.read_assignments`)."""
    e = cfg["experiment"]
    return assign_io.read_assignments(
        resolve_path(e["assignment_path"]), user=e["user_column"] or "customer_id", variant=e["variant_column"],
        exposure=e["exposure_column"], placeholders=cfg["data"].get("id_placeholders"),
        date_format=e.get("exposure_date_format"))


def _check_control(e: dict, arms: pd.Series, name: str, column: str) -> None:
    found = sorted(arms.dropna().unique().tolist())
    if str(e["control_label"]) not in found:
        raise ConfigError(f"experiment.control_label = {e['control_label']!r}: expected one of the arms in "
                          f"column '{column}' of {name}: {found[:10]}.")


def _check_matches(e: dict, a: assign_io.Assignments, customers: pd.Series) -> None:
    m = assign_io.match_report(a.table["customer_id"], customers)
    if m.share < float(e["min_match_share"]):
        raise InputError(
            f"{a.path}: only {m.matched:,} of {m.assigned:,} assigned customer ids ({m.share:.0%}) are customers "
            f"of the data; experiment.min_match_share is {float(e['min_match_share']):.0%}. Assigned ids with no "
            f"customer, e.g. {m.unmatched_assigned}; customer ids of the data, e.g. {m.unmatched_customers}. "
            "Both files must write the ids the same way (a prefix, a different id or another export?).")


def check_data_dependent(cfg: dict, customers: pd.Series) -> None:
    """``clustering.k`` / ``k_max`` and ``clv.min_customers`` against the number of customers in the period.

    Raises
    ------
    ConfigError
        Naming the key, its value and the number of customers.
    """
    n = int(customers.dropna().nunique())
    c = cfg["clustering"]
    key, k = ("k", c["k"]) if c["k"] is not None and int(c["k"]) > int(c["k_max"]) else ("k_max", c["k_max"])
    if n <= int(k):  # the k search fits every k up to the larger of k and k_max
        raise ConfigError(f"clustering.{key} = {k}: expected fewer clusters than the data's {n:,} customers "
                          "up to the period end (lower it, or use more data).")
    need = int(cfg["clv"]["min_customers"])
    if n < need:
        raise ConfigError(f"clv.min_customers = {need:,}: the data has only {n:,} customers up to the period end; "
                          "lower it, or use more data.")

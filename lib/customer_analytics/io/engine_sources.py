"""Sources the engine reads in place: a table (``source.table``) or a Parquet folder or glob (``source.parquet``).

:func:`read_source` maps the columns to the canonical schema (see
:mod:`customer_analytics.io.reading`) as an ibis expression, so the lines stay where they are;
:func:`fetch` brings them into pandas. :func:`write_duckdb_table` writes a loaded export as a
warehouse table to try ``source.table`` on. All are re-exported by :mod:`customer_analytics.io.reading`.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from customer_analytics.core.errors import InputError
from customer_analytics.core.paths import resolve_path
from customer_analytics.io import ids, parsing
from customer_analytics.io.canonical import (
    CANONICAL,
    ID_FIX_COLUMN,
    EngineSource,
    LoadResult,
    missing_required,
    preset_spec,
    resolve_mapping,
)


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


def normalise_ids_expr(col, *, placeholders=None):
    """:func:`normalise_ids` as an ibis expression: the id, and whether it was a float artefact / padded.

    The same rules as the pandas normaliser (:mod:`customer_analytics.io.ids`): placeholders
    (``NaN``, ``NULL``, ``None``, ``-``, ..., plus ``placeholders``) become null, float forms and
    exact scientific notation of integers become the integer. Scientific notation that is not a
    whole id is kept here; :func:`read_source` refuses it with examples.
    """
    parts = _id_parts(col, placeholders)
    return parts["id"], parts["float"], parts["padded"]


def _id_parts(col, placeholders=None) -> dict:
    """The normalised id and a flag per rule (float, padded, placeholder, scientific, refused)."""
    s = col.cast("string")
    stripped = s.strip()
    holder = stripped.lower().isin(list(ids.placeholder_values(placeholders))).fill_null(False)
    float_art = stripped.re_search(r"^\d+\.0+$").fill_null(False)
    sci = stripped.re_search(f"^{ids.SCIENTIFIC}$").fill_null(False) & ~holder
    pattern = f"^{ids.SCIENTIFIC_PARTS}$"
    lead, frac, exp = (stripped.re_extract(pattern, i).fill_null("") for i in (1, 2, 3))
    e = ibis.ifelse(exp.length() > 0, exp, "99").cast("int64")
    whole = sci & (lead.length() > 0) & (frac.length() >= e) & frac.substr(e).re_search("^0*$").fill_null(False)
    out = ibis.ifelse(float_art, stripped.re_replace(r"\.0+$", ""),
                      ibis.ifelse(whole, lead.concat(frac.substr(0, e)), stripped))
    out = ibis.ifelse(holder, ibis.null("string"), out).nullif("")
    return {"id": out, "float": float_art, "padded": (stripped != s).fill_null(False), "placeholder": holder,
            "scientific": whole, "refused": sci & ~whole}


def _fix_flags(parts: dict):
    """The id-fix column's bits (see :mod:`customer_analytics.io.ids`)."""
    return (parts["float"].cast("int8") * ids.FLOAT_BIT + parts["padded"].cast("int8") * ids.PADDED_BIT
            + parts["placeholder"].cast("int8") * ids.PLACEHOLDER_BIT
            + parts["scientific"].cast("int8") * ids.SCIENTIFIC_BIT).cast("int8")


def _check_scientific(src: EngineSource, raw, column: str, placeholders) -> None:
    """Refuse customer ids in scientific notation that do not write a whole id exactly (three examples)."""
    refused = _id_parts(raw[column], placeholders)["refused"]
    bad = raw.filter(refused).select(column).limit(3).execute()
    if len(bad):
        raise InputError(f"{src}: column '{column}' holds ids in scientific notation that do not write a whole id "
                         f"exactly, e.g. {bad[column].astype(str).tolist()}. The export rounded them; store the "
                         "ids as text or integers.")


def _source_mapping(src: EngineSource, raw, data: dict, pre: dict) -> tuple[dict[str, str], str | None]:
    """The engine source's column mapping and the source column mapped to ``source_row`` (if any)."""
    preset = data.get("preset", "generic")
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
    return mapping, row_col


def _id_exprs(raw, mapping: dict[str, str], placeholders=None) -> dict:
    """The normalised id columns, and the id-fix flags of the customer id."""
    cols: dict = {}
    for col in ("customer_id", "order_id", "product_id"):
        if col in mapping:
            if col == "customer_id":
                parts = _id_parts(raw[mapping[col]], placeholders)
                cols[col], cols[ID_FIX_COLUMN] = parts["id"], _fix_flags(parts)
            else:  # order and product codes may be text such as 4E12: float artefacts and padding only
                s = raw[mapping[col]].cast("string").strip()
                cols[col] = ibis.ifelse(s.re_search(r"^\d+\.0+$").fill_null(False),
                                        s.re_replace(r"\.0+$", ""), s).nullif("")
    return cols


def _date_expr(src: EngineSource, raw, column: str, date_format: str | None) -> tuple[object, str]:
    """The order date as a timestamp (typed, or text in ``data.date_format``) and the format used."""
    date_col, dtype = raw[column], raw.schema()[column]
    if dtype.is_timestamp() or dtype.is_date():
        return date_col.cast("timestamp"), "native"
    if dtype.is_string() and date_format:
        return date_col.strip().as_timestamp(date_format), date_format
    raise InputError(f"{src}: column '{column}' is {dtype}, not a date or timestamp. "
                     "Store dates typed, or set data.date_format for text dates.")


def _number_exprs(src: EngineSource, raw, mapping: dict[str, str]) -> dict:
    """Quantity, unit price and amount as float64 (typed numbers only); amount computed if not given."""
    schema = raw.schema()
    cols: dict = {}
    for col in ("quantity", "unit_price", "amount"):
        if col in mapping:
            if not schema[mapping[col]].is_numeric():
                raise InputError(f"{src}: column '{mapping[col]}' ({col}) is {schema[mapping[col]]}, not a number. "
                                 "An engine source must store numbers typed.")
            cols[col] = raw[mapping[col]].cast("float64")
    if "amount" not in cols:
        cols["amount"] = cols["quantity"] * cols["unit_price"]
    return cols


def _other_exprs(cols: dict, raw, mapping: dict[str, str], pre: dict) -> dict:
    """The order id built per customer-day (where the preset says so) and the text columns."""
    out: dict = {}
    if pre.get("order_id_from") == "customer_day" and "order_id" not in mapping:
        out["order_id"] = cols["customer_id"] + "-" + cols["order_date"].strftime("%Y%m%d")
    for col in ("country", "channel", "description"):
        if col in mapping:
            out[col] = raw[mapping[col]].cast("string").strip()
    return out


def _canonical_table(raw, cols: dict, row_col: str | None):
    """Select the canonical columns, with ``source_row`` from the mapping or by position in a stable order."""
    if row_col:
        cols = {**cols, "source_row": raw[row_col].cast("int64")}
    t = raw.select(**cols)
    if not row_col:
        order = [c for c in ("customer_id", "order_date", "order_id", "product_id", "amount") if c in t.columns]
        t = t.mutate(source_row=(ibis.row_number().over(ibis.window(order_by=order)) + 1).cast("int64"))
    return t.select([c for c in (*CANONICAL, "source_row", ID_FIX_COLUMN) if c in t.columns])


def read_source(src: EngineSource, data: dict, con) -> tuple[object, LoadResult]:
    """Map an engine source to the canonical schema as an ibis expression (the lines stay in the engine).

    Parameters
    ----------
    src : EngineSource
        ``table:<schema.table>`` or ``parquet:<folder or glob>``.
    data : dict
        The config's ``data`` section: ``preset``, ``column_mapping``, ``id_placeholders`` and
        ``date_format`` (for text dates) apply as for files.
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
    mapping, row_col = _source_mapping(src, raw, data, pre)
    placeholders = data.get("id_placeholders")
    _check_scientific(src, raw, mapping["customer_id"], placeholders)
    cols = _id_exprs(raw, mapping, placeholders)
    cols["order_date"], used_format = _date_expr(src, raw, mapping["order_date"], data.get("date_format"))
    cols.update(_number_exprs(src, raw, mapping))
    cols.update(_other_exprs(cols, raw, mapping, pre))
    t = _canonical_table(raw, cols, row_col)
    loaded = LoadResult(data=pd.DataFrame(columns=list(t.columns)), path=Path(str(src)), encoding=None, preset=preset,
                        mapping={k: mapping[k] for k in CANONICAL if k in mapping},
                        source_columns=list(raw.columns), date_format=used_format,
                        lines_identifiable="order_id" in mapping,
                        number_format=parsing.NumberFormat(".", None, "typed"))
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
    loaded.id_fixes = ids.fix_counts({f"customer_id_{name}": int((flags & bit).astype(bool).sum()) for name, bit in (
        ("float_artefacts", ids.FLOAT_BIT), ("padded", ids.PADDED_BIT), ("placeholders", ids.PLACEHOLDER_BIT),
        ("scientific", ids.SCIENTIFIC_BIT))}, "customer_id_")
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

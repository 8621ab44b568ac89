"""Where the heavy steps run: one ibis backend, opened from the ``engine`` section of the config.

The steps that touch every transaction line (reading an engine source, the cleaning rules of
:mod:`customer_analytics.models.rules`, the RFM and BTYD summaries, experiment outcomes, cluster
assignment) are written once as ibis expressions and run inside whichever engine holds the data. Only per-customer results come
back to pandas.

- ``engine.backend: duckdb`` (the default) runs in an embedded DuckDB in this process: no setup,
  no network, no Java.
- ``engine.backend: pyspark`` runs on Spark. ``engine.spark.master`` (e.g. ``local[2]``) or
  ``engine.spark.remote`` (a Spark Connect URL, ``sc://host:15002``) says where; every key under
  ``engine.spark.conf`` is passed to the session builder.
- ``engine.url`` opens any other ibis backend from a connection URL (``postgres://...``,
  ``snowflake://...``, ``bigquery://project/dataset``, ...); the backend's own package must be
  installed.

Notebooks hand the clean lines to each other in one DuckDB database file (:func:`write_database`, opened
read-only by :func:`open_database`): the steps after cleaning run on that table where it is, and only
their per-customer results come back to pandas.

Money is summed in integer cents in every engine (``CAST(ROUND(amount * 100) AS BIGINT)``), so the
result does not depend on the order in which an engine's threads or executors add up the lines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.core.paths import resolve_path

BACKENDS = ("duckdb", "pyspark")
_READER = "run_db"  # the name a database file is attached under by open_database
_WRITER = "handover_db"  # ... and by write_database


def connect(engine: dict | None = None) -> Any:
    """Open the ibis backend the ``engine`` config section names.

    Parameters
    ----------
    engine : dict, optional
        The ``engine`` section: ``backend`` (duckdb or pyspark), ``url`` (any ibis backend),
        ``database`` (a DuckDB database file, opened read-only: where ``source.table`` lives),
        ``threads``, ``memory_limit`` and ``temp_directory`` (DuckDB), ``spark`` (``master``,
        ``remote``, ``app_name``, ``conf``).
        None or an empty dict: an embedded DuckDB.

    Returns
    -------
    ibis.BaseBackend
    """
    engine = dict(engine or {})
    url = engine.get("url")
    if url:
        return ibis.connect(str(url))
    backend = engine.get("backend") or "duckdb"
    if backend == "duckdb":
        kwargs = {k: engine[k] for k in ("threads", "memory_limit", "temp_directory") if engine.get(k)}
        if engine.get("database"):
            path = resolve_path(engine["database"])
            if not path.exists():
                raise ConfigError(f"engine.database {engine['database']!r}: no such DuckDB database file ({path}).")
            kwargs.update(database=str(path), read_only=True)
        return ibis.duckdb.connect(**kwargs)
    if backend == "pyspark":
        return ibis.pyspark.connect(spark_session(engine.get("spark") or {}))
    raise ConfigError(f"engine.backend must be one of {list(BACKENDS)} (or give engine.url), got '{backend}'")


def spark_session(spark: dict):
    """A SparkSession from ``engine.spark``: ``remote`` (Spark Connect) or ``master``, plus ``conf``.

    The session time zone is UTC unless ``conf`` says otherwise, so dates are never shifted.
    """
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(str(spark.get("app_name", "customer-analytics")))
    if spark.get("remote"):
        builder = builder.remote(str(spark["remote"]))
    else:
        builder = builder.master(str(spark.get("master") or "local[*]"))
    conf = {"spark.sql.session.timeZone": "UTC", "spark.ui.enabled": "false", **(spark.get("conf") or {})}
    if not spark.get("remote") and "spark.sql.warehouse.dir" not in conf:  # local: no folder in the working dir
        import tempfile

        conf["spark.sql.warehouse.dir"] = tempfile.mkdtemp(prefix="spark-warehouse-")
    if not spark.get("remote"):  # local workers run this interpreter, which has the project's packages
        import os
        import sys

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in conf.items():
        builder = builder.config(str(key), str(value))
    return builder.getOrCreate()


def table(con, tx: pd.DataFrame, name: str | None = None):
    """Put a pandas frame into the engine as a table and return it (an ibis table): the one way
    a frame enters the engine, for every step.

    Missing values of every dtype arrive as SQL nulls. In DuckDB the table is temporary (it
    lives as long as the connection); other engines get a table named ``name`` (default: a
    unique name).
    """
    import uuid

    name = name or f"_tx_{uuid.uuid4().hex[:12]}"
    if con.name == "duckdb":
        return con.create_table(name, tx, temp=True, overwrite=True)
    text = tx.select_dtypes(include=["string", "object"]).columns
    plain = tx.astype({c: object for c in text})
    plain[list(text)] = plain[list(text)].where(plain[list(text)].notna(), None)
    return con.create_table(name, plain, overwrite=True)


def backend(tx, con=None) -> Any:
    """The engine a step runs in: ``con`` when given, else the ibis table's own backend, else an embedded DuckDB.

    Parameters
    ----------
    tx : DataFrame or ibis Table
        The step's input lines.
    con : ibis backend, optional
        The engine the caller names.

    Returns
    -------
    ibis.BaseBackend
    """
    if con is not None:
        return con
    return connect() if isinstance(tx, pd.DataFrame) else tx._find_backend()


def write_database(data, path: str | Path, name: str) -> Path:
    """Write ``data`` as table ``name`` of a new DuckDB database file ``path``, replacing it atomically.

    An ibis table in DuckDB is copied inside its own connection (the lines never pass through
    pandas; the file is attached read-write and detached again); a pandas frame, or a table in
    another engine (fetched first), is written through a new DuckDB connection. The file is
    written under a temporary name and renamed, so a reader never sees half a database and a
    process still holding the old file open keeps reading it.

    Parameters
    ----------
    data : ibis Table or DataFrame
        The lines to store; their order is kept.
    path : str or Path
        The database file.
    name : str
        The table's name.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    con = None if isinstance(data, pd.DataFrame) else data._find_backend()
    if con is not None and con.name == "duckdb":
        con.raw_sql(f"ATTACH {_sql_text(tmp)} AS {_WRITER} (READ_WRITE)")
        try:
            con.raw_sql(f'CREATE TABLE {_WRITER}."{name}" AS {con.compile(data)}')
        finally:
            con.raw_sql(f"DETACH {_WRITER}")
    else:
        out = ibis.duckdb.connect(str(tmp))
        try:
            out.create_table(name, data if con is None else con.execute(data))
        finally:
            out.disconnect()
    os.replace(tmp, path)
    return path


def open_database(path: str | Path, engine: dict | None = None) -> Any:
    """Open a DuckDB database file written by :func:`write_database`, read-only.

    The file is attached read-only (and made the default database) to a new embedded DuckDB,
    rather than opened as that DuckDB's own file: DuckDB keeps one instance per open file in a
    process, so a notebook run again in the same kernel would otherwise be handed the old
    file's instance after notebook 01 replaced it. Temporary tables (a step's small
    per-customer input) live in the embedded DuckDB's memory.

    Parameters
    ----------
    path : str or Path
        The database file.
    engine : dict, optional
        The ``engine`` config section: with the DuckDB backend, its ``threads``, ``memory_limit``
        and ``temp_directory`` apply here too.

    Returns
    -------
    ibis.BaseBackend
        A DuckDB backend whose tables are those of the file.
    """
    e = dict(engine or {})
    duck = not e.get("url") and (e.get("backend") or "duckdb") == "duckdb"
    con = ibis.duckdb.connect(**{k: e[k] for k in ("threads", "memory_limit", "temp_directory") if duck and e.get(k)})
    con.raw_sql(f"ATTACH {_sql_text(path)} AS {_READER} (READ_ONLY)")
    con.raw_sql(f"USE {_READER}")
    return con


def _sql_text(value) -> str:
    """``value`` as an SQL string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def cents(amount):
    """An amount column as integer cents: ``CAST(ROUND(amount * 100) AS BIGINT)``."""
    return (amount * 100).round().cast("int64")


def purchase_line(t):
    """Whether each line of ``t`` is a purchase line: the one definition every model counts customers by.

    A **purchase line** is a clean line that is not a return: its amount is known and not negative
    (a $0.00 line such as a free or promotional item is a purchase) and its quantity, when the
    table has one, is not negative. A customer is scored (RFM, CLV, ``customers.csv``) when they
    have at least one purchase line in the look-back window, whatever their net spend.

    Parameters
    ----------
    t : ibis Table
        Transaction lines with ``amount`` and optionally ``quantity``.

    Returns
    -------
    ibis BooleanColumn
        True for purchase lines, False for returns and lines without an amount (never null).
    """
    sale = (t.amount >= 0).fill_null(False)
    if "quantity" in t.columns:
        sale &= ~(t.quantity < 0).fill_null(False)
    return sale


def rfm_summary(t, as_of, window_months: int | None = None):
    """Per-customer purchase summary as one ibis expression (the heavy part of the RFM table).

    Parameters
    ----------
    t : ibis Table
        Clean transactions with customer_id, order_id, order_date and amount (quantity optional).
    as_of : date-like
        The period end: purchases on this day count, later ones never do.
    window_months : int, optional
        Only purchases after ``as_of`` minus this many months.

    Returns
    -------
    ibis Table
        customer_id, first_purchase, last_purchase (dates of the first and last purchase line),
        frequency (distinct order ids with a purchase line) and cents (net revenue of all lines in
        the window, returns subtracted, in integer cents; zero or negative for some customers),
        one row per customer with at least one purchase line (:func:`purchase_line`) in the
        window, ordered by customer_id.
    """
    end = pd.Timestamp(as_of).normalize()
    day = t.order_date.cast("date")
    lines = t.mutate(day=day, cents=cents(t.amount), sale=purchase_line(t)).filter(day <= ibis.literal(end.date()))
    if window_months:
        start = (end - pd.DateOffset(months=int(window_months))).date()
        lines = lines.filter(lines.day > ibis.literal(start))
    g = lines.group_by("customer_id").aggregate(
        first_purchase=lines.day.min(where=lines.sale), last_purchase=lines.day.max(where=lines.sale),
        frequency=lines.order_id.nunique(where=lines.sale), cents=lines.cents.sum().fill_null(0),
        has_purchase=lines.sale.any())
    return g.filter(g.has_purchase).drop("has_purchase").order_by("customer_id")


def round_half_even(x, digits: int = 2):
    """Round to ``digits`` decimals, ties to even, as numpy and pandas do (``np.round``).

    SQL engines round ties away from zero; this keeps an amount computed in the engine
    identical to the same amount computed in pandas.
    """
    scale = 10.0 ** digits
    y = x * scale
    low = y.floor()
    frac = y - low
    even = (low.cast("int64") % 2) == 0
    up = ibis.cases((frac > 0.5, True), (frac < 0.5, False), else_=~even)
    return ibis.ifelse(up, low + 1, low) / scale


def materialize(expr):
    """Compute an expression once in the engine (``Table.cache``: a temporary table in DuckDB, a
    persisted DataFrame in Spark) and return the cached table.

    Later queries (the audit, the examples, the clean table) then read the result instead of
    recomputing a chain of window functions.
    """
    return expr.cache()


def fetch(con, expr) -> pd.DataFrame:
    """The rows of ``expr`` as a pandas frame by way of Arrow (``to_pyarrow``), dates as datetime64.

    For a large result of plain columns (text, numbers, dates) this is several times faster than
    ``con.execute``, which converts some columns (those with nulls, dates) value by value.
    """
    return con.to_pyarrow(expr).to_pandas(date_as_object=False)

"""Sources the engine reads in place: a table in a DuckDB database, a Parquet folder or glob.

The preset and the column mapping work as for files, and the lines come out identical to
reading the same export from a file. A report runs on a table source end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from customer_analytics.core import engine
from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.io import reading
from customer_analytics.models import cleaning
from customer_analytics.pipeline import context
from customer_analytics.settings.loading import load_config

ROOT = Path(__file__).resolve().parents[1]


def as_export(loaded: cleaning.LoadResult) -> pd.DataFrame:
    """A loaded file back under its source column names, typed, with its line numbers as ``line_no``."""
    df = loaded.data.drop(columns=[cleaning.ID_FIX_COLUMN], errors="ignore")
    return df.rename(columns={**loaded.mapping, "source_row": "line_no"})


@pytest.fixture(scope="module")
def shop(tmp_path_factory, small_sample_files):
    """The small sample as a file, as a table in a DuckDB database, and as partitioned Parquet."""
    folder = tmp_path_factory.mktemp("sources")
    loaded = cleaning.load_transactions(small_sample_files["transactions"], preset="online_retail")
    db = folder / "shop.duckdb"
    con = duckdb.connect(str(db))
    con.register("export", as_export(loaded))
    con.execute("CREATE SCHEMA sales")
    con.execute("CREATE TABLE sales.transactions AS SELECT * FROM export")
    lake = folder / "lake"
    con.execute(f"COPY (SELECT *, strftime(InvoiceDate, '%Y') AS year FROM export) TO '{lake}' "
                "(FORMAT parquet, PARTITION_BY (year))")
    con.close()
    data = {"preset": "online_retail", "column_mapping": {"line_no": "source_row"}}
    return {"loaded": loaded, "db": db, "lake": lake, "data": data, "folder": folder,
            "config": small_sample_files["config"]}


def read(src: str, shop, **engine_cfg):
    con = engine.connect(engine_cfg)
    t, loaded = reading.read_source(reading.EngineSource(src), shop["data"], con)
    return reading.fetch(t, loaded, con)


def without_flags(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[cleaning.ID_FIX_COLUMN], errors="ignore")


def test_a_table_source_gives_the_same_lines_as_the_file(shop):
    got = read("table:sales.transactions", shop, database=str(shop["db"]))
    pd.testing.assert_frame_equal(without_flags(got.data), without_flags(shop["loaded"].data), check_exact=True)
    assert got.mapping == shop["loaded"].mapping and got.date_format == "native"
    assert "read in the engine" in got.describe()


@pytest.mark.parametrize("where", ["{lake}", "{lake}/year=*/*.parquet"], ids=["folder", "glob"])
def test_a_partitioned_parquet_folder_or_glob_gives_the_same_lines_as_the_file(shop, where):
    got = read("parquet:" + where.format(lake=shop["lake"]), shop)
    assert cleaning.ID_FIX_COLUMN in got.data
    pd.testing.assert_frame_equal(without_flags(got.data).drop(columns="year", errors="ignore"),
                                  without_flags(shop["loaded"].data), check_exact=True)


def test_without_a_line_number_the_lines_are_numbered_in_a_fixed_order(shop):
    data = {"preset": "online_retail", "column_mapping": {}}
    con = engine.connect({"database": str(shop["db"])})
    t, loaded = reading.read_source(reading.EngineSource("table:sales.transactions"), data, con)
    rows = reading.fetch(t, loaded, con).data
    assert rows["source_row"].tolist() == list(range(1, len(rows) + 1))
    assert rows[["customer_id", "order_date"]].equals(
        rows.sort_values(["customer_id", "order_date"], kind="stable")[["customer_id", "order_date"]])


def test_ids_are_normalised_in_the_engine_and_the_fixes_counted():
    con = engine.connect()
    con.create_table("tx", pd.DataFrame({
        "CustomerID": [" 12346.0", "12347", "", "7.50"], "InvoiceNo": ["1", "2", "3", "4"],
        "InvoiceDate": pd.to_datetime(["2024-01-01"] * 4), "Quantity": [1.0] * 4, "UnitPrice": [2.0] * 4}))
    t, loaded = reading.read_source(reading.EngineSource("table:tx"), {"preset": "online_retail"}, con)
    got = reading.fetch(t, loaded, con)
    by_order = got.data.set_index("order_id")["customer_id"].fillna("<missing>").to_dict()
    assert by_order == {"1": "12346", "2": "12347", "3": "<missing>", "4": "7.50"}
    assert got.id_fixes == {"customer_id_float_artefacts": 1, "customer_id_padded": 1}
    assert got.data["amount"].tolist() == [2.0] * 4


def test_text_dates_are_parsed_with_the_configured_format_and_refused_without_one():
    con = engine.connect()
    con.create_table("tx", pd.DataFrame({"customer_id": ["1"], "order_id": ["o1"], "order_date": ["31/01/2024"],
                                         "amount": [5.0]}))
    src = reading.EngineSource("table:tx")
    with pytest.raises(InputError, match=r"column 'order_date' is string, not a date or timestamp.*data.date_format"):
        reading.read_source(src, {"preset": "generic"}, con)
    t, loaded = reading.read_source(src, {"preset": "generic", "date_format": "%d/%m/%Y"}, con)
    assert reading.fetch(t, loaded, con).data["order_date"].tolist() == [pd.Timestamp("2024-01-31")]


def test_numbers_stored_as_text_are_refused_with_the_column_named():
    con = engine.connect()
    con.create_table("tx", pd.DataFrame({"customer_id": ["1"], "order_id": ["o1"],
                                         "order_date": pd.to_datetime(["2024-01-01"]), "amount": ["5,00"]}))
    with pytest.raises(InputError, match=r"table:tx: column 'amount' \(amount\) is string, not a number"):
        reading.read_source(reading.EngineSource("table:tx"), {"preset": "generic"}, con)


def test_a_missing_table_folder_or_column_is_named(shop, tmp_path):
    con = engine.connect({"database": str(shop["db"])})
    with pytest.raises(InputError, match=r"source.table 'sales.orders': no such table in the engine"):
        reading.read_source(reading.EngineSource("table:sales.orders"), shop["data"], con)
    with pytest.raises(InputError, match=r"source.parquet '.*nowhere': no such file or folder"):
        reading.read_source(reading.EngineSource(f"parquet:{tmp_path}/nowhere"), shop["data"], con)
    other = engine.connect()
    other.create_table("no_customer", pd.DataFrame({"order_id": ["o1"], "order_date": pd.to_datetime(["2024-01-01"]),
                                                    "amount": [1.0]}))
    with pytest.raises(InputError, match=r"required column\(s\) \['customer_id'\] not found. Columns there: "
                                         r"\['order_id', 'order_date', 'amount'\]"):
        reading.read_source(reading.EngineSource("table:no_customer"), {"preset": "generic"}, other)
    with pytest.raises(ConfigError, match=r"engine.database 'nope.duckdb': no such DuckDB database file"):
        engine.connect({"database": "nope.duckdb"})


def test_the_config_names_one_source_and_the_cli_can_name_another():
    assert reading.configured_source({"source": {"table": "sales.transactions", "parquet": None}}) == \
        "table:sales.transactions"
    with pytest.raises(ConfigError, match=r"source.table and source.parquet are both set"):
        reading.configured_source({"source": {"table": "a", "parquet": "b"}})
    assert reading.EngineSource.parse("parquet:lake/*.parquet").where == "lake/*.parquet"
    assert reading.EngineSource.parse("data/sample/online_shop_export.csv") is None
    with pytest.raises(ConfigError, match=r"written 'table:<schema.table>'"):
        reading.EngineSource("table:")


def test_the_report_runs_on_a_table_in_the_engine(shop):
    cfg = yaml.safe_load(Path(shop["config"]).read_text())
    cfg["data"] = shop["data"]
    cfg["source"] = {"table": "sales.transactions"}
    cfg["engine"] = {"database": str(shop["db"])}
    cfg_path = shop["folder"] / "table.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    reports = shop["folder"] / "reports"
    done = subprocess.run([sys.executable, "-m", "customer_analytics", "report", "--config", str(cfg_path),
                           "--reports-dir", str(reports), "--period", "2025-12"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "input sales.transactions:" in done.stdout
    final = reports / "2025-12"
    run = json.loads((final / "run.json").read_text())
    assert run["status"] == "success" and all(nb["status"] == "success" for nb in run["notebooks"])
    tx = {i["role"]: i for i in run["inputs"]}["transactions"]
    assert tx == {"role": "transactions", "path": "table:sales.transactions", "size_bytes": None, "sha256": None,
                  "rows": len(shop["loaded"].data)}
    # the clean table the notebooks read is the one the file gives
    want = cleaning.clean_transactions(shop["loaded"].data, period_end="2025-12-31",
                                       id_fixes=shop["loaded"].id_fixes).data
    pd.testing.assert_frame_equal(pd.read_parquet(final / "clean_transactions.parquet"), want, check_exact=True)
    assert "from sales.transactions, read where it lives (engine: DuckDB)" in (final / "01_data_cleaning.html").read_text()


def test_the_default_config_reads_the_bundled_file_and_opens_an_embedded_duckdb():
    cfg = load_config(None)
    assert cfg["source"] == {"table": None, "parquet": None}
    assert cfg["engine"]["backend"] == "duckdb" and cfg["engine"]["url"] is None
    assert context.transactions_path(cfg).name == "online_shop_export.csv"
    assert engine.connect(cfg["engine"]).name == "duckdb"

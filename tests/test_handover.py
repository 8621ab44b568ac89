"""One hand-over between notebooks: the clean lines go once into the run's DuckDB database.

Notebook 01 writes ``run.duckdb`` (table ``clean_transactions``) into the run folder; notebooks
02-05 open it read-only and the heavy steps (RFM, the CLV summary and its validation, experiment
outcomes) run on that table where it is. The steps give the same frames from the table as from
the pandas frame, a notebook run alone builds the database, and a report does not carry it.
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import pandas as pd
import papermill as pm
import pytest
from conftest import ROOT

from customer_analytics.core import engine
from customer_analytics.models import clv, clv_validation, rfm
from customer_analytics.models import experiments as ex
from customer_analytics.pipeline import context, run_folder
from customer_analytics.report import narrative

AS_OF = "2025-12-31"


@pytest.fixture(scope="module")
def stored(tmp_path_factory, cleaned_sample):
    """The sample's clean lines written the way notebook 01 writes them, and opened as notebooks 02-05 do."""
    path = engine.write_database(cleaned_sample.table, tmp_path_factory.mktemp("db") / "run.duckdb",
                                 context.CLEAN_TABLE)
    return {"path": path, "table": engine.open_database(path).table(context.CLEAN_TABLE),
            "frame": cleaned_sample.data}


def test_the_database_holds_the_clean_lines_in_their_order_without_passing_through_pandas(stored):
    got = context.clean_frame(stored["table"], list(stored["frame"].columns))
    want = stored["frame"]
    pd.testing.assert_frame_equal(got.astype(want.dtypes.to_dict()), want, check_exact=True)
    assert not list(stored["path"].parent.glob("*.tmp*")) and not stored["path"].with_suffix(".duckdb.wal").exists()


def test_a_frame_and_a_table_of_another_engine_are_written_the_same_way(tmp_path, stored):
    path = engine.write_database(stored["frame"], tmp_path / "run.duckdb", context.CLEAN_TABLE)
    got = engine.open_database(path).table(context.CLEAN_TABLE).to_pandas()
    want = stored["frame"]
    pd.testing.assert_frame_equal(got.astype(want.dtypes.to_dict()), want, check_exact=True)


def test_a_new_database_replaces_the_old_while_a_reader_keeps_the_old_one_open(tmp_path):
    path = engine.write_database(pd.DataFrame({"a": [1, 2]}), tmp_path / "run.duckdb", "t")
    reader = engine.open_database(path)
    engine.write_database(pd.DataFrame({"a": [5]}), path, "t")
    assert reader.table("t").a.sum().execute() == 3
    assert engine.open_database(path).table("t").a.sum().execute() == 5  # not the old file's DuckDB instance


def test_the_database_is_opened_read_only(stored):
    con = engine.open_database(stored["path"], {"backend": "duckdb", "threads": 1})
    with pytest.raises(duckdb.Error, match="read-only"):
        con.raw_sql("CREATE TABLE elsewhere AS SELECT 1 AS a")
    assert len(engine.table(con, pd.DataFrame({"a": [1, 2]})).execute()) == 2  # a step's small temporary input


def test_rfm_on_the_stored_table_is_the_rfm_of_the_frame(stored):
    for as_of in ("2025-06-30", AS_OF):
        pd.testing.assert_frame_equal(rfm.score_customers(stored["table"], as_of, window_months=12),
                                      rfm.score_customers(stored["frame"], as_of, window_months=12),
                                      check_exact=True)


def test_the_clv_summary_and_purchase_days_on_the_stored_table_are_those_of_the_frame(stored):
    t, df = stored["table"], stored["frame"]
    got, want = clv.summary(t, AS_OF, "weeks"), clv.summary(df, AS_OF, "weeks")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.attrs == want.attrs
    pd.testing.assert_frame_equal(clv.purchase_days(t, AS_OF, start="2025-01-31"),
                                  clv.purchase_days(df, AS_OF, start="2025-01-31"), check_exact=True)


def test_the_clv_validation_on_the_stored_table_is_that_of_the_frame(stored):
    settings = clv.FitSettings(seed=7)
    got, _ = clv_validation.validate(stored["table"], AS_OF, 180, 90, settings=settings)
    want, _ = clv_validation.validate(stored["frame"], AS_OF, 180, 90, settings=settings)
    pd.testing.assert_frame_equal(got.table(), want.table(), check_exact=True)
    pd.testing.assert_frame_equal(got.tracking, want.tracking, check_exact=True)


def test_experiment_outcomes_on_the_stored_table_are_those_of_the_frame(sample, stored):
    got, got_notes = ex.derive_outcomes(sample.assignments, stored["table"], 28, AS_OF)
    want, want_notes = ex.derive_outcomes(sample.assignments, stored["frame"], 28, AS_OF)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got_notes == want_notes


def test_the_partial_month_day_comes_from_one_query(stored):
    ctx = context.RunContext("2026-01", pd.Timestamp("2026-01-31"), stored["path"].parent, {}, None, 42, "en")
    assert context.data_ends(ctx, stored["table"]) == narrative.data_ends(stored["frame"], ctx.as_of)
    assert context.data_ends(ctx, stored["table"]) is not None
    assert narrative.ends_before(None, ctx.as_of) is None


def test_a_notebook_run_alone_builds_the_database_when_it_is_missing(tmp_path):
    ctx = context.make_context(AS_OF, run_dir=str(tmp_path))
    t = context.clean_table(ctx)
    assert [p.name for p in tmp_path.glob("*.duckdb")] == [context.DATABASE_FILE]
    assert t.count().execute() == context.clean(ctx, context.load_input(ctx)).stats["rows_out"]


def test_a_report_folder_keeps_no_database(tmp_path):
    for name in ("run.duckdb", "run.duckdb.wal", "run.duckdb.tmp"):
        (tmp_path / name).write_text("x")
    (tmp_path / "customers.csv").write_text("x")
    run_folder.drop_database(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv"]


@pytest.mark.xdist_group("variants")
def test_notebook_01_writes_one_database_and_02_to_05_only_read_it(tmp_path, small_sample_files):
    params = {"run_dir": str(tmp_path), "config_path": str(small_sample_files["config"]), "period_end": AS_OF}

    def run(name):
        pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(tmp_path / f"{name}.ipynb"),
                            parameters=params, kernel_name="customer-analytics", progress_bar=False,
                            cwd=str(ROOT / "notebooks"))

    run("01_data_cleaning")
    (db,) = tmp_path.glob("*.duckdb")
    assert db.name == context.DATABASE_FILE
    with duckdb.connect(str(db), read_only=True) as con:
        assert [r[0] for r in con.execute("SHOW TABLES").fetchall()] == [context.CLEAN_TABLE]
        stored = con.execute(f"SELECT * FROM {context.CLEAN_TABLE}").df()
        digest = hashlib.sha256(db.read_bytes()).hexdigest()
        # this process holds a shared lock: a notebook opening the file for writing would fail
        for name in ("02_rfm_scoring", "03_clustering", "04_ab_evaluation", "05_clv_churn", "06_lifecycle",
                     "07_profiles", "08_targeting"):
            run(name)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    exported = pd.read_parquet(tmp_path / context.CLEAN_FILE)
    pd.testing.assert_frame_equal(stored.astype(exported.dtypes.to_dict()), exported, check_exact=True)
    nb = json.loads((tmp_path / "02_rfm_scoring.ipynb").read_text())
    assert not any("not found in the run folder" in json.dumps(c.get("outputs", [])) for c in nb["cells"])

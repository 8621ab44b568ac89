"""Shared fixtures: small seeded samples written to temporary folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import papermill
import pytest
import yaml

from customer_analytics.core import engine
from customer_analytics.io.sample import make_sample, write_sample
from customer_analytics.models import cleaning

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sample():
    """The default synthetic sample (seed 42, 1,500 customers), in memory."""
    return make_sample(seed=42)


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory, sample):
    """The default sample written to a temporary folder (paths by name)."""
    return write_sample(sample, tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def loaded_sample(sample_files):
    """The default sample's export, loaded into the canonical schema."""
    return cleaning.load_transactions(sample_files["transactions"], preset="online_retail")


@pytest.fixture(scope="session")
def cleaned_sample(loaded_sample):
    """The default sample cleaned with the default rules for the period ending 2025-12-31."""
    return cleaning.clean_transactions(loaded_sample.data, period_end="2025-12-31", id_fixes=loaded_sample.id_fixes)


@pytest.fixture(scope="session")
def small_sample_files(tmp_path_factory):
    """A small sample (300 customers) for fast end-to-end runs, plus a config pointing at it."""
    folder = tmp_path_factory.mktemp("small")
    paths = write_sample(make_sample(seed=7, n_customers=300), folder)
    cfg = {
        "data": {"path": str(paths["transactions"]), "preset": "online_retail"},
        "clustering": {"k_max": 5, "stability_fits": 5},
        "experiment": {"assignment_path": str(paths["assignments"])},
    }
    cfg_path = folder / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    return {**paths, "config": cfg_path, "truth_data": json.loads(paths["truth"].read_text())}


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (through ibis) shared by every Spark parity test; skipped without Java."""
    if shutil.which("java") is None:
        pytest.skip("no Java on this machine: the Spark parity tests need a JVM (the default DuckDB path does not)")
    con = engine.connect({"backend": "pyspark",
                          "spark": {"master": "local[1]", "conf": {"spark.sql.shuffle.partitions": "2"}}})
    yield con
    con.disconnect()


@pytest.fixture()
def executed(monkeypatch):
    """Replace papermill: 'executing' copies the notebook; returns the list of notebooks run."""
    calls: list[str] = []

    def fake(src, out, parameters=None, **kwargs):
        calls.append(Path(src).stem)
        shutil.copy(src, out)

    monkeypatch.setattr(papermill, "execute_notebook", fake)
    return calls

"""Each notebook runs on other data and settings with nothing changed but parameters."""

from __future__ import annotations

import json

import papermill as pm
import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.xdist_group("variants")
NB = ROOT / "notebooks"
CDNOW = str(ROOT / "data/raw/cdnow/CDNOW_master.txt")
CDNOW_CFG = str(ROOT / "config/cdnow.yaml")


def run(name, tmp_path, **params):
    out = tmp_path / f"{name}.ipynb"
    pm.execute_notebook(str(NB / f"{name}.ipynb"), str(out), parameters={"run_dir": str(tmp_path), **params},
                        kernel_name="customer-analytics", progress_bar=False, cwd=str(NB))
    nb = json.loads(out.read_text())
    texts = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            texts.append("".join(o.get("text", "")))
            for k, v in o.get("data", {}).items():
                if k.startswith("text/"):
                    texts.append("".join(v))
    return "\n".join(texts)


def test_01_runs_on_cdnow_with_the_cdnow_preset(tmp_path):
    out = run("01_data_cleaning", tmp_path, data_path=CDNOW, config_path=CDNOW_CFG, period_end="1998-06-30")
    assert "preset 'cdnow'" in out and "69,659" in out
    assert (tmp_path / "clean_transactions.parquet").exists()


def test_01_runs_on_an_online_retail_ii_export(tmp_path, sample):
    ii = sample.transactions.rename(columns={"InvoiceNo": "Invoice", "UnitPrice": "Price", "CustomerID": "Customer ID"})
    path = tmp_path / "online_retail_ii.csv"
    ii.to_csv(path, index=False, encoding="cp1252")
    out = run("01_data_cleaning", tmp_path, data_path=str(path), period_end="2025-12-31",
              settings={"data": {"preset": "online_retail"}})
    assert "Invoice -> order_id" in out and "Customer ID -> customer_id" in out and "cp1252" in out


def test_02_zh_labels_on_cdnow_render_chinese(tmp_path):
    out = run("02_rfm_scoring", tmp_path, data_path=CDNOW, config_path=CDNOW_CFG, period_end="1998-06-30",
              language="zh", settings={"rfm": {"scheme": "zh8"}})
    assert "重要价值客户" in out
    assert "missing from font" not in out


def test_03_on_cdnow_explains_the_choice_of_k(tmp_path):
    out = run("03_clustering", tmp_path, data_path=CDNOW, config_path=CDNOW_CFG, period_end="1998-06-30",
              settings={"clustering": {"k_max": 6, "stability_fits": 5}})
    assert "Chosen: k =" in out and "silhouette" in out
    assert "ARI" in out


def test_04_on_a_per_user_table_configured_only_by_parameters(tmp_path, sample):
    table = tmp_path / "users.parquet"  # any file: CSV, Parquet or Excel
    sample.experiment_users.to_parquet(table)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump({"experiment": {
        "mode": "table", "table_path": str(table), "user_column": "user_ref",
        "variant_column": "arm", "control_label": "ctl", "binary_metrics": ["purchased"],
        "continuous_metrics": ["spend"], "covariate": "spend_prev90", "segment_columns": ["tier"],
        "primary_metric": "purchased"}}))
    out = run("04_ab_evaluation", tmp_path, config_path=str(cfg), period_end="2025-12-31")
    assert "SRM chi-square" in out and "No arm is a proven winner on purchased" in out  # A: p = 0.033, Holm 0.066
    assert (tmp_path / "tables" / "cuped.csv").exists() and (tmp_path / "tables" / "segment_effects.csv").exists()


def test_04_says_so_when_there_is_no_experiment(tmp_path):
    out = run("04_ab_evaluation", tmp_path, data_path=CDNOW, config_path=CDNOW_CFG, period_end="1998-06-30")
    assert "No experiment is configured" in out


def test_05_with_pareto_nbd_in_days_states_its_unit_and_updates_the_export(tmp_path):
    out = run("05_clv_churn", tmp_path, period_end="2025-12-31", settings={"clv": {
        "model": "pareto_nbd", "time_unit": "days", "holdout_days": 120, "horizon_days": 60}})
    assert "Pareto/NBD (MAP, flat priors, time unit days)" in out
    assert "Purchase model pareto_nbd (config)" in out  # set in the config: only that model is fitted
    assert (tmp_path / "tables" / "clv_model_comparison.csv").read_text().count("\n") == 2
    assert "Calibration: up to 2025-09-02; holdout: 120 days" in out
    params = (tmp_path / "tables" / "clv_parameters.csv").read_text().splitlines()
    assert params[1].startswith("Pareto/NBD,r,") and params[1].endswith(",")  # a shape: no unit
    rates = [r for r in params if r.startswith(("Pareto/NBD,alpha,", "Pareto/NBD,beta,"))]
    assert len(rates) == 2 and all(r.endswith(",days") for r in rates)  # the rates are per day
    header = (tmp_path / "customers.csv").read_text().splitlines()[0].split(",")
    assert {"p_alive", "expected_purchases", "churn_risk", "clv", "clv_action"} <= set(header)

"""One full report on hostile input, with masked ids: nothing executes, no raw id, no machine path.

The small sample is copied with script payloads in every text column (descriptions,
countries, product codes), in a column name, in an arm label of the assignment
table, in segment names (a custom segment rules file) and in the data file's name.
Customer ids get a recognisable form (``CUST-12345``) so that any raw id in a
report can be found. The run uses ``mask_ids: true`` with a key from the
environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from customer_analytics.pipeline import runner

pytestmark = pytest.mark.xdist_group("e2e")
PERIOD = "2025-12"
PAYLOADS = ["<script>alert('desc')</script>", "<img src=x onerror=alert('country')>",
            "<img src=x onerror=alert(7)>", "<script>alert('segment')</script>", "<b onmouseover=alert('col')>"]
RAW_TAGS = re.compile(r"<script>alert|<img src=x onerror|<b onmouseover", re.IGNORECASE)
RAW_ID = re.compile(r"CUST-\d+")
IMAGES = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+|\"image/png\": \"[^\"]*\"")


def _hostile_copy(folder: Path, files: dict) -> dict:
    tx = pd.read_csv(files["transactions"], dtype=str, keep_default_na=False, encoding="cp1252")
    ids = tx["CustomerID"].str.strip().str.replace(r"\.0$", "", regex=True)
    tx["CustomerID"] = ids.where(ids == "", "CUST-" + ids)
    tx.loc[tx.index % 7 == 0, "Description"] = PAYLOADS[0]
    tx.loc[tx.index % 5 == 0, "Country"] = PAYLOADS[1]
    tx.loc[tx.index % 11 == 0, "StockCode"] = PAYLOADS[0]
    tx = tx.rename(columns={"Country": PAYLOADS[4] + "Country"})
    data = folder / f"shop{PAYLOADS[2]}.csv"
    tx.to_csv(data, index=False, encoding="utf-8")
    a = pd.read_csv(files["assignments"], dtype=str)
    a["customer_id"] = "CUST-" + a["customer_id"]
    a["variant"] = a["variant"].replace({"offer_a": PAYLOADS[2]})
    assignments = folder / "assignments.csv"
    a.to_csv(assignments, index=False)
    segments = yaml.safe_load((ROOT / "lib/customer_analytics/resources/segments.yaml").read_text())["en11"]
    rename = {"champions": PAYLOADS[3], "lost": PAYLOADS[1]}
    for rule in segments["rules"]:
        rule["segment"] = rename.get(rule["segment"], rule["segment"])
    segments["order"] = [rename.get(s, s) for s in segments["order"]]
    rules = folder / "segments.yaml"
    rules.write_text(yaml.safe_dump(segments))
    cfg = {"mask_ids": True,
           "data": {"path": str(data), "preset": "online_retail", "column_mapping": {PAYLOADS[4] + "Country": "country"}},
           "rfm": {"scheme": str(rules)},
           "clustering": {"k_max": 4, "stability_fits": 3},
           "experiment": {"assignment_path": str(assignments)}}
    (folder / "hostile.yaml").write_text(yaml.safe_dump(cfg))
    return {"config": folder / "hostile.yaml", "ids": set(tx["CustomerID"]) - {""}}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, small_sample_files):
    folder = tmp_path_factory.mktemp("hostile")
    case = _hostile_copy(folder, small_sample_files)
    reports = folder / "reports"
    env = {**os.environ, "CUSTOMER_ANALYTICS_MASK_KEY": "e2a670e5ca6edcc18839d3047e6105a08cba5ad1d2f2e96ec5a4db45b578ed9f"}
    env.pop("CUSTOMER_ANALYTICS_MASK_KEY_FILE", None)
    r = subprocess.run([sys.executable, "-m", "customer_analytics", "report", "--config", str(case["config"]),
                        "--reports-dir", str(reports), "--period", PERIOD, "--quiet"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    outputs = {p: p.read_text(encoding="utf-8") for p in sorted(reports.rglob("*"))
               if p.suffix in (".html", ".ipynb") or p.name == "run.json"}
    return {"result": r, "reports": reports, "outputs": outputs, "tmp": folder}


def test_hostile_run_succeeds(hostile_run):
    r = hostile_run["result"]
    assert r.returncode == 0, r.stderr[-3000:]
    assert (hostile_run["reports"] / PERIOD / "04_ab_evaluation.html").exists()


def test_no_report_or_index_contains_an_unescaped_tag(hostile_run):
    html = {p: t for p, t in hostile_run["outputs"].items() if p.suffix == ".html"}
    assert any(p.name == "index.html" for p in html) and len(html) >= 5
    for path, text in html.items():
        hit = RAW_TAGS.search(text)
        assert hit is None, f"{path.name}: unescaped {text[hit.start() - 80:hit.end() + 40]!r}"
    # the payloads did reach the reports, as inert text
    ab = html[hostile_run["reports"] / PERIOD / "04_ab_evaluation.html"]
    assert "&lt;img src=x onerror=alert(7)&gt;" in ab
    rfm = html[hostile_run["reports"] / PERIOD / "02_rfm_scoring.html"]
    assert "&lt;script&gt;alert(" in rfm


def test_masked_run_shows_no_raw_customer_id(hostile_run):
    scanned = {p: IMAGES.sub("", t) for p, t in hostile_run["outputs"].items() if p.suffix in (".html", ".ipynb")}
    assert len(scanned) == 2 * len(runner.NOTEBOOKS) + 1  # every notebook, its HTML, the index
    for path, text in scanned.items():
        hit = RAW_ID.search(text)
        assert hit is None, f"{path.relative_to(hostile_run['reports'])}: raw id {text[hit.start() - 80:hit.end()]!r}"
    # the export for the marketing tool keeps the real ids
    assert pd.read_csv(hostile_run["reports"] / PERIOD / "customers.csv")["customer_id"].str.startswith("CUST-").all()


def test_outputs_hold_no_machine_paths_and_no_staging_path(hostile_run):
    absolute = re.compile(rf"(?<!\.\.){re.escape(str(hostile_run['tmp']))}")  # relative ../../tmp/... is fine
    for path, text in hostile_run["outputs"].items():
        for leak in (str(ROOT), ".staging"):
            assert leak not in text, f"{path.name} contains {leak}"
        assert not absolute.search(text), f"{path.name} contains an absolute path"
    run = json.loads((hostile_run["reports"] / PERIOD / "run.json").read_text())
    assert not Path(run["parameters"]["shared"]["data_path"]).is_absolute()


def test_masked_run_publishes_no_raw_id_in_any_file_but_the_marketing_exports(hostile_run):
    folder = hostile_run["reports"] / PERIOD
    assert not (folder / "clean_transactions.parquet").exists()  # every line's raw id: not published masked
    scanned = 0
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name in runner.REAL_ID_FILES:
            continue
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).to_csv()
        elif path.suffix in (".png", ".joblib", ".duckdb"):
            text = path.read_bytes().decode("latin-1")
        else:
            text = IMAGES.sub("", path.read_text(encoding="utf-8", errors="replace"))
        hit = RAW_ID.search(text)
        assert hit is None, f"{path.relative_to(folder)}: raw id {text[max(hit.start() - 80, 0):hit.end()]!r}"
        scanned += 1
    assert scanned > 20 and (folder / "tables" / "clv_at_risk.csv").exists()

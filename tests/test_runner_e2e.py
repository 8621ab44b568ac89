"""End to end: the report runner in a temporary folder, checked as a user would see it.

One module-scoped scenario runs the CLI several times on a small sample:
a first report, a refused rerun, a forced rerun with --show-code, a forced run that
fails in notebook 03, and a run on a file without a customer column. Each test then
checks one thing the user would notice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from customer_analytics.report.i18n import t

pytestmark = pytest.mark.xdist_group("e2e")
PERIOD = "2025-12"
NOTEBOOKS = ["01_data_cleaning", "02_rfm_scoring", "03_clustering", "04_ab_evaluation", "05_clv_churn", "06_lifecycle",
             "07_profiles", "08_targeting"]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "customer_analytics", "report", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def tables(folder: Path) -> dict[str, bytes]:
    files = [*sorted((folder / "tables").glob("*.csv")), folder / "customers.csv"]
    return {p.name: p.read_bytes() for p in files}


def _notebooks_with_a_failing_cell(folder: Path, name: str) -> Path:
    """A copy of the notebooks where ``name`` raises in a code cell after its setup (a config the
    schema accepts cannot make a notebook fail: it refuses bad values before anything runs)."""
    shutil.copytree(ROOT / "notebooks", folder)
    path = folder / f"{name}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    at = next(i for i, c in enumerate(nb["cells"]) if "context.make_context(" in "".join(c["source"])) + 1
    nb["cells"].insert(at, {"cell_type": "code", "execution_count": None, "id": "planted-failure", "metadata": {},
                            "outputs": [], "source": ["raise RuntimeError('a planted failure')"]})
    path.write_text(json.dumps(nb, indent=1))
    return folder


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, small_sample_files):
    tmp = tmp_path_factory.mktemp("e2e")
    reports = tmp / "reports"
    cfg = str(small_sample_files["config"])
    base = ["--config", cfg, "--reports-dir", str(reports), "--period", PERIOD]
    s = {"reports": reports, "final": reports / PERIOD}

    s["first"] = cli(*base)
    s["first_tables"] = tables(s["final"]) if s["final"].exists() else {}
    s["first_html"] = {n: (s["final"] / f"{n}.html").read_text() for n in NOTEBOOKS if (s["final"] / f"{n}.html").exists()}
    s["refused"] = cli(*base)
    s["forced"] = cli(*base, "--force", "--show-code")
    s["forced_tables"] = tables(s["final"]) if s["final"].exists() else {}
    s["forced_html"] = (s["final"] / "02_rfm_scoring.html").read_text() if s["final"].exists() else ""

    good = tree_hashes(s["final"])
    broken = _notebooks_with_a_failing_cell(tmp / "notebooks", "03_clustering")
    s["failed"] = cli(*base, "--force", "--notebooks-dir", str(broken))
    s["unchanged_after_failure"] = tree_hashes(s["final"]) == good

    no_customer = tmp / "no_customer.csv"
    lines = small_sample_files["transactions"].read_text(encoding="cp1252").splitlines()
    no_customer.write_text("\n".join(",".join(f for i, f in enumerate(ln.split(",")) if i != 6) for ln in lines[:50]))
    s["broken"] = cli(*base, "--force", "--data", str(no_customer))
    s["unchanged_after_broken"] = tree_hashes(s["final"]) == good

    s["backfill"] = cli("--config", cfg, "--reports-dir", str(reports), "--from", "2025-10", "--to", "2025-12")

    # the scheduler's `--period previous` on data that was not refreshed
    before = sorted(p.name for p in reports.iterdir())
    s["stale"] = cli("--config", cfg, "--reports-dir", str(reports), "--period", "previous")
    s["stale_folders_unchanged"] = sorted(p.name for p in reports.iterdir()) == before

    # back-dating: November from the file cut at November 30 (next to the same October report)
    export = pd.read_csv(small_sample_files["transactions"], dtype=str, encoding="cp1252", keep_default_na=False)
    when = pd.to_datetime(export["InvoiceDate"], format="%d/%m/%Y %H:%M")
    cut_dir = tmp / "cut_reports"
    shutil.copytree(reports / "2025-10", cut_dir / "2025-10")
    nov = tmp / "export_to_2025-11-30.csv"
    export[when < "2025-12-01"].to_csv(nov, index=False, encoding="cp1252")
    s["cut"] = cli("--config", cfg, "--reports-dir", str(cut_dir), "--period", "2025-11", "--data", str(nov))
    s["cut_tables"] = tables(cut_dir / "2025-11") if (cut_dir / "2025-11").exists() else {}
    s["full_tables"] = tables(reports / "2025-11")

    # a partial month: the export ends on December 15
    dec = tmp / "export_to_2025-12-15.csv"
    export[when < "2025-12-16"].to_csv(dec, index=False, encoding="cp1252")
    s["partial_last"] = str(when[when < "2025-12-16"].max().date())
    s["partial"] = cli("--config", cfg, "--reports-dir", str(cut_dir), "--period", "2025-12", "--data", str(dec))
    s["partial_dir"] = cut_dir / "2025-12"
    return s


def test_first_run_succeeds_and_prints_the_index(scenario):
    r = scenario["first"]
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"Index: {scenario['reports'] / 'index.html'}" in r.stdout
    assert "[5/8] 05_clv_churn" in r.stdout and "[6/8] 06_lifecycle" in r.stdout


def test_period_folder_holds_reports_notebooks_and_run_json(scenario):
    final = scenario["final"]
    for n in NOTEBOOKS:
        assert (final / f"{n}.html").stat().st_size > 10_000
        assert (final / f"{n}.ipynb").exists()
    assert (final / "run.json").exists()


def test_the_run_database_is_in_neither_the_published_report_nor_the_failed_run(scenario):
    failed = scenario["reports"] / "_failed"
    assert scenario["failed"].returncode != 0 and any(failed.iterdir())  # notebook 01 had written run.duckdb
    assert [*scenario["final"].rglob("*.duckdb*"), *failed.rglob("*.duckdb*")] == []


def test_html_reports_contain_headline_tables_and_embedded_charts(scenario):
    html = scenario["first_html"]
    assert "Rows removed" in html["01_data_cleaning"]          # the cleaning audit table
    assert "Share of revenue" in html["02_rfm_scoring"] and "Champions" in html["02_rfm_scoring"]
    assert "silhouette" in html["03_clustering"]
    assert "Newcombe" in html["04_ab_evaluation"] and "SRM chi-square" in html["04_ab_evaluation"]
    expected = {"01_data_cleaning": 1, "02_rfm_scoring": 5, "03_clustering": 3, "04_ab_evaluation": 1,
                "05_clv_churn": 3, "06_lifecycle": 5, "07_profiles": 1}
    for n, count in expected.items():  # charts are <img> tags with the PNG inline, not links
        assert html[n].count('src="data:image/png;base64,') >= count, n
    # 300 customers give about 100 per arm: page 08 says the experiment is too small and shows nothing else
    assert "too small to learn whom to target" in html["08_targeting"]
    assert 'src="data:image/png;base64,' not in html["08_targeting"]


def test_clv_report_shows_the_holdout_checks_and_the_at_risk_list(scenario):
    html = scenario["first_html"]["05_clv_churn"]
    assert "repeat purchases in the holdout" in html and "Predicted repeat purchases" in html
    assert "ROC AUC" in html and "recency" in html and "logistic" in html
    assert "high-value customers at risk" in html
    # the three purchase models on the holdout, the one used and the rule in one sentence
    assert "Holdout error per customer (MAE)" in html and "Mean P(alive), one-time buyers" in html
    assert "The forecasts below use " in html and "The rule: the lowest MAE wins" in html
    comparison = pd.read_csv(scenario["final"] / "tables" / "clv_model_comparison.csv")
    assert set(comparison["model"]) == {"bgnbd", "modified_bgnbd", "pareto_nbd"} and comparison["chosen"].sum() == 1
    assert comparison.set_index("model").loc["bgnbd", "one_time_p_alive"] == 1  # why the other two exist
    bands = pd.read_csv(scenario["final"] / "tables" / "clv_one_time_by_recency.csv")
    assert "One-time buyers: P(alive) falls with the silence" in html and bands["mean_p_alive"].iloc[-1] < 0.9
    header = (scenario["final"] / "customers.csv").read_text().splitlines()[0].split(",")
    assert {"p_alive", "expected_purchases", "churn_risk", "clv", "cluster"} <= set(header)
    params = (scenario["final"] / "tables" / "clv_parameters.csv").read_text().splitlines()
    assert params[0] == "model,parameter,value,time_unit" and len(params) == 8
    index = (scenario["reports"] / "index.html").read_text()
    assert t("index.col_total_clv", "en") in index and t("index.col_at_risk", "en") in index


def test_code_is_hidden_by_default_and_shown_with_show_code(scenario):
    assert "context.make_context" not in scenario["first_html"]["02_rfm_scoring"]
    assert scenario["forced"].returncode == 0, scenario["forced"].stderr[-3000:]
    assert "make_context" in scenario["forced_html"]


def test_run_json_records_everything(scenario):
    run = json.loads((scenario["final"] / "run.json").read_text())
    assert run["status"] == "success" and run["period"] == PERIOD
    assert run["parameters"]["shared"]["period_end"] == "2025-12-31"
    assert run["parameters"]["shared"]["seed"] == 42
    assert set(run["parameters"]["notebooks"]) == set(NOTEBOOKS)
    inp = {i["role"]: i for i in run["inputs"]}
    tx = inp["transactions"]
    assert tx["rows"] > 1000 and tx["size_bytes"] > 0 and len(tx["sha256"]) == 64
    assignments = inp["assignments"]  # the campaign's assignment table is an input too
    assert assignments["rows"] > 100 and len(assignments["sha256"]) == 64
    assert run["parameters"]["force"] is True and "--force" in run["parameters"]["argv"]  # the forced rerun
    first = json.loads((scenario["reports"] / "2025-10" / "run.json").read_text())  # a backfill, no --force
    assert first["parameters"]["force"] is False and "--force" not in first["parameters"]["argv"]
    assert run["partial_month"] is None and run["coverage"]["data_last"] == "2025-12-31"
    assert run["environment"]["python"].startswith("3.") and "pandas" in run["environment"]
    assert "commit" in run["git"] and "dirty" in run["git"]
    for nb in run["notebooks"]:
        assert nb["status"] == "success" and nb["duration_s"] > 0 and nb["start"] <= nb["end"]
    assert run["headlines"]["02_rfm_scoring"]["active_customers"] > 0


def test_index_links_the_period_with_headlines(scenario):
    index = (scenario["reports"] / "index.html").read_text()
    assert f'href="{PERIOD}/01_data_cleaning.html"' in index
    assert "Customers who bought" in index and "Revenue in the period" in index and "success" in index


def test_rerun_without_force_is_refused(scenario):
    r = scenario["refused"]
    assert r.returncode == 3
    assert "already exists" in r.stderr and "--force" in r.stderr


def test_forced_rerun_gives_identical_tables(scenario):
    first, again = scenario["first_tables"], scenario["forced_tables"]
    assert len(first) >= 10
    assert first.keys() == again.keys()
    differing = [name for name in first if first[name] != again[name]]
    assert not differing, f"tables differ between identical runs: {differing}"


def test_failing_notebook_exits_nonzero_and_names_the_cell(scenario):
    r = scenario["failed"]
    assert r.returncode == 1
    assert "Notebook 03_clustering failed in cell" in r.stderr
    assert "RuntimeError: a planted failure" in r.stderr  # the exception text
    failed = list((scenario["reports"] / "_failed").glob(f"{PERIOD}-*"))
    assert failed and (failed[0] / "03_clustering.ipynb").exists()
    assert json.loads((failed[0] / "run.json").read_text())["status"] == "failed"


def test_failed_run_leaves_the_earlier_report_byte_identical(scenario):
    assert scenario["unchanged_after_failure"]
    assert not (scenario["reports"] / ".staging").exists() or not any((scenario["reports"] / ".staging").iterdir())


def test_broken_input_is_named_and_changes_nothing(scenario):
    r = scenario["broken"]
    assert r.returncode == 2
    assert "customer_id" in r.stderr and "no_customer.csv" in r.stderr
    assert scenario["unchanged_after_broken"]


def test_backfill_runs_each_month_and_reports_the_outcome(scenario):
    r = scenario["backfill"]
    assert r.returncode == 0, r.stderr[-3000:]
    assert "2025-10: success" in r.stdout and "2025-11: success" in r.stdout
    assert "2025-12: exists (skipped; use --force to replace)" in r.stdout
    index = (scenario["reports"] / "index.html").read_text()
    assert all(f'href="{p}/01_data_cleaning.html"' in index for p in ("2025-10", "2025-11", "2025-12"))


def test_backfilled_month_keeps_last_months_cluster_ids(scenario):
    nb = json.loads((scenario["reports"] / "2025-11" / "03_clustering.ipynb").read_text())
    text = json.dumps(nb["cells"])
    assert "Aligned to 2025-10" in text


def test_console_output_is_log_friendly(scenario):
    out = scenario["first"].stdout + scenario["first"].stderr
    assert "\r" not in out
    assert "without encryption" not in out and "WARNING" not in out
    assert out.count("done in") == len(NOTEBOOKS)  # one line per notebook


def test_a_period_without_transactions_is_refused_with_exit_4_and_nothing_published(scenario):
    r = scenario["stale"]
    assert r.returncode == 4, r.stderr[-2000:]
    assert "No transactions in" in r.stderr and "2024-01-01" in r.stderr and "2025-12-31" in r.stderr
    assert scenario["stale_folders_unchanged"]


def test_a_back_dated_month_is_byte_identical_to_the_month_made_from_the_file_cut_at_its_end(scenario):
    assert scenario["cut"].returncode == 0, scenario["cut"].stderr[-3000:]
    full, cut = scenario["full_tables"], scenario["cut_tables"]
    assert len(full) >= 10 and full.keys() == cut.keys()
    differing = [name for name in full if full[name] != cut[name]]
    assert not differing, f"November differs when the file also holds December: {differing}"


def test_a_partial_month_runs_and_says_so_in_run_json_the_report_and_the_index(scenario):
    r = scenario["partial"]
    assert r.returncode == 0, r.stderr[-3000:]
    last = scenario["partial_last"]
    assert last < "2025-12-31" and f"PARTIAL MONTH: the data ends {last}" in r.stdout
    assert r.stderr == ""
    folder = scenario["partial_dir"]
    run = json.loads((folder / "run.json").read_text())
    assert run["partial_month"] == {"data_ends": last}
    assert "Partial month" in (folder / "01_data_cleaning.html").read_text()
    assert f"partial month: data ends {last}" in (folder.parent / "index.html").read_text()


def html_table(page: str, header: str) -> pd.DataFrame:
    """The first HTML table with a column named ``header``, as text cells (index included)."""
    from bs4 import BeautifulSoup

    for table in BeautifulSoup(page, "html.parser").find_all("table"):
        heads = [th.get_text(strip=True) for th in table.find("thead").find_all("tr")[0].find_all("th")]
        if header in heads:
            rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])]
                    for tr in table.find("tbody").find_all("tr")]
            return pd.DataFrame(rows, columns=heads[: len(rows[0])]).set_index(heads[0])
    raise AssertionError(f"no table with a column {header!r}")


def test_exported_segment_revenue_equals_the_html_figures_to_the_cent(scenario):
    final = scenario["final"]
    exported = pd.read_csv(final / "tables" / "segment_summary.csv", index_col="segment")
    shown = html_table((final / "02_rfm_scoring.html").read_text(), "Share of revenue")  # headers in words
    for seg, row in exported.iterrows():
        assert f"£{row['revenue']:,.2f}" == shown.loc[seg, "Net revenue"], seg
    cents = exported["revenue"] * 100
    assert (cents - cents.round()).abs().max() < 1e-6  # whole cents, not rounded to 6 digits


def test_the_report_covers_the_whole_month_to_its_last_day(scenario):
    """The period's headline figures count every clean line from the 1st to the 31st, not up to a wrong end."""
    final = scenario["final"]
    lines = pd.read_parquet(final / "clean_transactions.parquet")
    day = pd.to_datetime(lines["order_date"]).dt.normalize()
    december = lines[(day >= "2025-12-01") & (day <= "2025-12-31")]
    assert (day[december.index] == "2025-12-31").any()  # the sample has lines on the month's last day
    summary = pd.read_csv(final / "tables" / "period_summary.csv").iloc[0]
    assert summary["revenue"] == pytest.approx(round(december["amount"].sum(), 2), abs=0.005)
    assert summary["orders"] == december["order_id"].nunique()
    assert summary["active_customers"] == december["customer_id"].nunique()

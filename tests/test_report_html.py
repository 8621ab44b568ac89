"""The HTML reports, checked as a reader would read them (see ``report_html.py``).

The checker is tested on small hand-written pages (each problem it must catch, and a
clean page it must pass), then run on the reports of a real sample run of the notebooks
in :data:`CHECKED_NOTEBOOKS` (rendered through the same export the runner uses).
"""

from __future__ import annotations

import re

import pytest
from report_html import problems

#: Notebooks whose reports must read cleanly; extend as the other notebooks adopt the helpers.
CHECKED_NOTEBOOKS = ["01_data_cleaning", "02_rfm_scoring", "03_clustering", "04_ab_evaluation", "05_clv_churn",
                     "06_lifecycle", "07_profiles", "08_targeting"]


def page(body: str) -> str:
    return f"<html><head><style>.x{{a:1e5}}</style></head><body>{body}</body></html>"


TABLE = "<table><thead><tr><th>Segment</th><th>{head}</th></tr></thead><tbody><tr><td>A</td><td>{value}</td></tr></tbody></table>"


@pytest.mark.parametrize(("body", "needle"), [
    ("<p>{'k': 2, 'silhouette': 0.4931}</p>", "dict or list repr"),
    ("<p>['Champions', 'Lost']</p>", "dict or list repr"),
    ("<p>Revenue 3.5e+05 this month</p>", "scientific notation"),
    (TABLE.format(head="Net revenue", value="1.2e6"), "scientific notation"),
    (TABLE.format(head="p value", value="0.0000"), "p-value printed as"),
    ("<p>p = 0.0000</p>", "0.0000 printed"),
    (TABLE.format(head="Share of revenue", value="0.187388"), "bare fraction"),
    ("<table><thead><tr><th>a</th></tr></thead><tbody></tbody></table>", "empty table"),
    ("<h2>4. Method</h2><h2>5. Results</h2>", "followed directly by heading"),
    ("<pre>period_end = None</pre>", "parameter cell text"),
    ("<p>run folder /home/ana/reports/2025-12</p>", "local path"),
])
def test_checker_catches_what_a_reader_would_notice(body, needle):
    found = problems(page(body))
    assert any(needle in f for f in found), found


def test_checker_passes_a_clean_report():
    body = ("<h1>02 · RFM</h1><p>Period 2025-12</p><h2>1. Segments</h2>"
            + TABLE.format(head="Share of revenue", value="18.7%")
            + TABLE.format(head="p value", value="&lt;0.001")
            + TABLE.format(head="p value", value="1.2e-05")
            + "<h2>2. Migration</h2><p>No customer changed segment.</p><img src='data:image/png;base64,AA'>")
    assert problems(page(body)) == []


@pytest.fixture(scope="module")
def sample_reports(tmp_path_factory, small_sample_files):
    """The checked notebooks run in order (03 reads what 01 and 02 wrote) on the small sample, exported as the runner does."""
    import papermill as pm
    from conftest import ROOT

    from customer_analytics.report import publishing

    out = tmp_path_factory.mktemp("html")
    run = out / "run"
    pages = {}
    for name in CHECKED_NOTEBOOKS:
        nb = out / f"{name}.ipynb"
        pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(nb), kernel_name="customer-analytics",
                            cwd=str(ROOT / "notebooks"), progress_bar=False,
                            parameters={"period_end": "2025-12-31", "config_path": str(small_sample_files["config"]),
                                        "run_dir": str(run)})
        pages[name] = publishing.export_html(nb, out / f"{name}.html").read_text(encoding="utf-8")
    return pages


@pytest.mark.parametrize("name", CHECKED_NOTEBOOKS)
def test_sample_report_reads_cleanly(sample_reports, name):
    assert problems(sample_reports[name]) == []


@pytest.mark.parametrize("name", CHECKED_NOTEBOOKS)
def test_sample_report_opens_with_its_executive_summary(sample_reports, name):
    from report_html import visible_soup

    text = visible_soup(sample_reports[name]).get_text(" ", strip=True)
    first_section = text.find("1.")  # a page that only says why it does not apply has no numbered section
    assert text.index("Executive summary") < (first_section if first_section >= 0 else len(text))
    assert "How to run" not in text


@pytest.fixture(scope="module")
def clv_report_zh(tmp_path_factory, small_sample_files):
    """Notebook 05 alone in Chinese on the small sample (it builds its inputs from 01 and 02 itself)."""
    import papermill as pm
    from conftest import ROOT

    from customer_analytics.report import publishing

    out = tmp_path_factory.mktemp("html_zh")
    nb = out / "05_clv_churn.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "05_clv_churn.ipynb"), str(nb), kernel_name="customer-analytics",
                        cwd=str(ROOT / "notebooks"), progress_bar=False,
                        parameters={"period_end": "2025-12-31", "config_path": str(small_sample_files["config"]),
                                    "run_dir": str(out / "run"), "language": "zh"})
    return publishing.export_html(nb, out / "05_clv_churn.html").read_text(encoding="utf-8")


def test_clv_report_reads_cleanly_in_chinese(clv_report_zh):
    from report_html import visible_soup

    assert problems(clv_report_zh) == []
    text = visible_soup(clv_report_zh).get_text(" ", strip=True)
    assert text.index("执行摘要") < text.index("1. 模型看到的数据")
    assert "留出期检验" in text and "流失风险" in text and "Executive summary" not in text


def test_clustering_report_reads_cleanly_in_chinese(tmp_path, small_sample_files):
    """Notebook 03 alone (it builds its inputs) with language zh: clean for a reader, and Chinese throughout."""
    import papermill as pm
    from conftest import ROOT
    from report_html import visible_soup

    from customer_analytics.report import publishing

    nb = tmp_path / "03_clustering.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "03_clustering.ipynb"), str(nb), kernel_name="customer-analytics",
                        cwd=str(ROOT / "notebooks"), progress_bar=False,
                        parameters={"period_end": "2025-12-31", "config_path": str(small_sample_files["config"]),
                                    "run_dir": str(tmp_path / "run"), "language": "zh"})
    html = publishing.export_html(nb, tmp_path / "03.html").read_text(encoding="utf-8")
    assert problems(html) == []
    soup = visible_soup(html)
    text = soup.get_text(" ", strip=True)
    assert text.index("执行摘要") < text.index("1. 聚成几类")
    assert "决策" in text and "选定：k =" in text
    assert "**" not in text  # every bold lead-in rendered as bold
    heads = [h.get_text(" ", strip=True) for h in soup.select("h2")] + [th.get_text(strip=True) for th in soup.select("th")]
    english = [h for h in heads if re.search(r"[A-Za-z]{4}", h) and not re.search(r"[\u4e00-\u9fff]", h)]
    assert not english, english


def run_and_export(name: str, folder, parameters: dict) -> str:
    import papermill as pm
    from conftest import ROOT

    from customer_analytics.report import publishing

    nb = folder / f"{name}.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(nb), kernel_name="customer-analytics",
                        cwd=str(ROOT / "notebooks"), progress_bar=False, parameters=parameters)
    return publishing.export_html(nb, folder / f"{name}.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def ab_report_zh(tmp_path_factory, small_sample_files):
    """Notebook 04 in Chinese on the small sample (it builds its inputs itself)."""
    out = tmp_path_factory.mktemp("html_zh")
    return run_and_export("04_ab_evaluation", out, {"period_end": "2025-12-31", "language": "zh", "run_dir": str(out / "run"),
                                                    "config_path": str(small_sample_files["config"])})


def test_ab_report_in_chinese_reads_cleanly_with_its_decision_first(ab_report_zh):
    from report_html import visible_soup

    assert problems(ab_report_zh) == []
    text = visible_soup(ab_report_zh).get_text(" ", strip=True)
    assert text.index("执行摘要") < text.index("决策 ：") < text.index("1. 看结果之前的检查")
    for english in ("How to read", "Checks before any result", "No arm is a proven winner", "Rule:", "Next:",
                    "CI", "Users observed", "relative lift"):
        assert english not in text, english


def test_ab_report_without_an_experiment_says_so_in_one_sentence(tmp_path, small_sample_files):
    from report_html import visible_soup

    page = run_and_export("04_ab_evaluation", tmp_path, {"period_end": "2025-12-31", "settings": {"experiment": {"mode": "none"}},
                                                         "run_dir": str(tmp_path / "run"),
                                                         "config_path": str(small_sample_files["config"])})
    assert problems(page) == []
    text = visible_soup(page).get_text(" ", strip=True)
    assert text.count("No experiment is configured (experiment.mode = none): nothing to evaluate.") == 1
    assert "No experiment was evaluated for this period." not in text      # the reason, not a generic line
    assert not any(h in text for h in ("How to read", "1. Checks", "8. Decision", "Planning and power"))


def test_ab_report_shows_money_in_the_report_currency_and_says_the_lift_is_not_the_decision(sample_reports):
    from report_html import visible_soup

    soup = visible_soup(sample_reports["04_ab_evaluation"])
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in soup.select("tbody tr")]
    revenue = [r for r in rows if "revenue" in r and any(" CI " in c for c in r)]
    assert revenue, "no effects row for revenue"
    assert all(any(c.startswith(("+£", "-£")) and "CI" in c for c in r) for r in revenue)   # the difference in £
    effects = [t for t in soup.select("table") if "Arm value" in [th.get_text(strip=True) for th in t.select("th")]]
    means = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for t in effects for tr in t.select("tbody tr")]
    assert all(c.startswith("£") for r in means if "revenue" in r for c in r[r.index("revenue") + 1:][:2])  # means in £
    orders = [r for r in rows if "orders" in r and any(" CI " in c for c in r)]
    assert orders and not any("£" in c for r in orders for c in r)                        # a count is not money
    text = soup.get_text(" ", strip=True)
    assert "the decision uses the difference and its adjusted p-value, never the relative lift" in text
    assert not re.search(r"CI -\d{3,}%", text)                                            # no lift below -100%

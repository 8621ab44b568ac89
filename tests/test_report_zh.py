"""The Chinese report is Chinese throughout: every page and the index, as a reader sees them.

A visible Latin word is allowed only when it is not prose: code and configuration (shown as
code), identifiers, acronyms and units, method names, and values or column names that come from
the raw data (product descriptions, countries, arm and metric names of the experiment). Anything
else is an English word a Chinese reader would trip over, and the test names it with its page
and context.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from report_html import visible_soup

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["01_data_cleaning", "02_rfm_scoring", "03_clustering", "04_ab_evaluation", "05_clv_churn", "06_lifecycle",
         "07_profiles", "08_targeting"]

# Method and model names, as in the literature (not translated in Chinese writing either)
METHOD_NAMES = {"Holm", "Bonferroni", "Benjamini", "Hochberg", "Newcombe", "Wilson", "Welch", "Fieller", "Beta",
                "Gamma", "Gamma-Gamma", "Pareto", "Pareto/NBD", "k-means", "Pearson", "Student", "Brier",
                "delta", "Silhouette", "Calinski", "Harabasz", "Davies", "Bouldin", "Qini", "Radcliffe", "Mann-Whitney",
                "Mann", "Whitney", "FP-growth", "Fisher", "NNLS", "Spearman", "Latin-1",
                "Benjamini-Hochberg", "mlxtend"}
# Symbols in formulas and units
FORMULA_WORDS = {"mean", "var", "cov", "log", "exp", "min", "max", "pp", "x", "y", "k", "alpha", "beta", "alive"}
WORD = re.compile(r"(?<![\w./`=-])[A-Za-z][A-Za-z'-]*[A-Za-z](?![\w./`(=-])")


@pytest.fixture(scope="module")
def zh_report(tmp_path_factory):
    """The sample's December report in Chinese, written by the runner as the scheduler would."""
    out = tmp_path_factory.mktemp("zh_report")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
    run = subprocess.run([sys.executable, "-m", "customer_analytics", "report", "--period", "2025-12",
                          "--reports-dir", str(out), "--language", "zh", "--quiet"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def _data_words() -> set[str]:
    """Every word in the raw data's text values and column names, and in the experiment's arm, metric and column names."""
    words: set[str] = set()
    for f in ("online_shop_export.csv", "campaign_assignments.csv", "experiment_users.csv", "customer_attributes.csv",
              "product_catalog.csv"):
        df = pd.read_csv(ROOT / "data" / "sample" / f, dtype=str, encoding="latin-1")  # the export is not UTF-8
        text = " ".join(df.columns) + " " + " ".join(pd.unique(df.fillna("").to_numpy().ravel()))
        words |= set(re.findall(r"[A-Za-z][A-Za-z'-]*", text))
    resources = ROOT / "lib/customer_analytics/resources"
    words |= set(yaml.safe_load((resources / "segments.yaml").read_text(encoding="utf-8"))["labels"])  # segment_code ids
    exp = yaml.safe_load((resources / "defaults.yaml").read_text())["experiment"]
    for key in ("variant_column", "control_label", "binary_metrics", "continuous_metrics", "covariate",
                "segment_columns", "correction"):
        v = exp[key]
        words |= set(re.findall(r"[A-Za-z]+", " ".join(v) if isinstance(v, list) else str(v)))
    return words


def english_words(html: str, allowed: set[str]) -> list[str]:
    """Visible Latin words that are prose: each with 40 characters of context either side."""
    soup = visible_soup(html)
    for tag in soup(["code", "pre", "img", "svg"]):
        tag.decompose()
    text = (soup.body or soup).get_text(" ", strip=True)
    out = []
    for m in WORD.finditer(text):
        w = m.group(0)
        if w in allowed or w.isupper() or w in METHOD_NAMES or w.lower() in FORMULA_WORDS:
            continue
        out.append(f"{w!r} in …{text[max(m.start() - 40, 0):m.end() + 40]}…")
    return out


@pytest.mark.parametrize("page", PAGES + ["index"])
def test_every_zh_page_and_the_index_has_no_english_prose(zh_report, page):
    path = zh_report / "index.html" if page == "index" else zh_report / "2025-12" / f"{page}.html"
    html = path.read_text(encoding="utf-8")
    assert english_words(html, _data_words()) == []


@pytest.mark.parametrize("page", PAGES + ["index"])
def test_every_zh_page_has_a_chinese_browser_title(zh_report, page):
    path = zh_report / "index.html" if page == "index" else zh_report / "2025-12" / f"{page}.html"
    title = visible_soup.__globals__["BeautifulSoup"](path.read_text(encoding="utf-8"), "html.parser").title
    assert title is not None and re.search(r"[\u4e00-\u9fff]", title.get_text()), title


def test_the_detector_flags_english_prose_and_lets_codes_and_data_pass():
    html = ("<html><body><p>本报告 The input holds lines。<code>rfm.score_method</code> RFM offer_a "
            "United Kingdom k-means</p></body></html>")
    found = english_words(html, {"United", "Kingdom"})
    assert [f.split(" in ")[0] for f in found] == ["'The'", "'input'", "'holds'", "'lines'"]


def test_the_zh_clv_page_names_the_purchase_model_used_and_the_rule(zh_report):
    html = (zh_report / "2025-12" / "05_clv_churn.html").read_text(encoding="utf-8")
    text = visible_soup(html).get_text(" ", strip=True)
    assert "选用哪个购买模型" in text and "每位客户的留出期误差（MAE）" in text and "只买过一次的客户的平均存活概率" in text
    assert "以下预测使用" in text and "规则：MAE 最低者胜出" in text and "Pareto/NBD、修正 BG/NBD、BG/NBD" in text
    assert "只买过一次的客户：沉默越久，P(alive) 越低" in text and "距购买的天数" in text

"""Publishing: what the HTML report hides and moves, and the dashboard built from period folders."""

from __future__ import annotations

import json

import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from customer_analytics.report import exports, publishing
from customer_analytics.report.text import rfm as rfm_text


def _nb():
    header = new_markdown_cell("# 09 · Title\n\n**Purpose.** x\n\n**How to run.** `papermill ...`")
    params = new_code_cell("period_end = None", metadata={"tags": ["parameters"]})
    injected = new_code_cell("period_end = '2025-12-31'", metadata={"tags": ["injected-parameters"]})
    setup = new_code_cell("print(ctx.describe())", metadata={"tags": ["report-hide"]})
    body = new_markdown_cell("## 1. Section\n\nText.")
    noisy = new_code_cell("x", metadata={"tags": ["report-hide-output"]},
                          outputs=[new_output("stream", name="stdout", text="/home/me/run\n")])
    summary = new_code_cell("summary", metadata={"tags": ["report-summary"]},
                            outputs=[new_output("display_data", data={"text/markdown": "# 09 · Title\n\n- bullet"})])
    return new_notebook(cells=[header, params, injected, setup, body, noisy, summary])


def test_reader_notebook_hides_boilerplate_and_opens_with_the_summary():
    cells = publishing.reader_notebook(_nb()).cells
    sources = [c.source for c in cells]
    assert sources[0] == "summary"                       # the summary comes first
    assert not any("period_end" in s or "describe" in s or "How to run" in s for s in sources)
    assert all(not c.get("outputs") for c in cells if c.source == "x")
    assert "## 1. Section\n\nText." in sources


def test_untagged_header_keeps_only_its_title():
    nb = _nb()
    nb.cells = nb.cells[:5]  # no summary cell: the title line stays
    cells = publishing.reader_notebook(nb).cells
    assert cells[0].source == "# 09 · Title"


def test_show_code_keeps_every_cell_in_order():
    nb = _nb()
    assert [c.source for c in publishing.reader_notebook(nb, show_code=True).cells] == [c.source for c in nb.cells]


def _period(root, period, revenue, active, new, mix, moves=None, status="success", dataset="sample",
            partial=None, language="en"):
    folder = root / period
    (folder / "tables").mkdir(parents=True)
    run = {"period": period, "status": status, "dataset": dataset, "partial_month": partial,
           "parameters": {"shared": {"language": language}},
           "notebooks": [{"name": "01_data_cleaning"}, {"name": "02_rfm_scoring"}],
           "headlines": {"04_ab_evaluation": {"winner": "offer_a"}}}
    (folder / "run.json").write_text(json.dumps(run))
    summary = pd.DataFrame({"segment_code": list(mix), "customers": [int(v * 100) for v in mix.values()],
                            "revenue": [1000.0 * v for v in mix.values()]},
                           index=[rfm_text.label_table(language)[k] for k in mix])
    summary["share"] = summary["customers"] / summary["customers"].sum()
    summary["revenue_share"] = summary["revenue"] / summary["revenue"].sum()
    activity = {"period": period, "revenue": revenue, "orders": active, "active_customers": active,
                "new_customers": new, "returning_customers": active - new, "lapsed_customers": 3, "lapse_days": 90}
    for name, table in publishing.period_tables(activity, summary, "$").items():
        exports.save_table(table, folder, name, index=False)
    if moves is not None:
        exports.save_table(moves, folder, "migration_counts")
    return folder


MIX = {"champions": 0.2, "loyal_customers": 0.3, "lost": 0.5}


def test_dashboard_shows_period_figures_top_segment_by_name_and_trends(tmp_path):
    order = ["champions", "loyal_customers", "lost"]
    moves = pd.DataFrame([[5, 1, 0, 0], [2, 6, 0, 0], [0, 0, 9, 1], [3, 0, 0, 0]],
                         index=[*order, "new_this_period"], columns=[*order, "no_longer_active"])
    _period(tmp_path, "2025-10", 19193.4, 195, 12, MIX, moves)
    _period(tmp_path, "2025-11", 21000.0, 210, 20, {**MIX, "champions": 0.25}, moves, partial={"data_ends": "2025-11-20"})
    page = publishing.write_index(tmp_path).read_text()
    for text in ["Data set: sample", "$19,193.40", "195", "Lost (50.0% of revenue)", "offer_a",
                 "partial month: data ends 2025-11-20", 'href="2025-11/02_rfm_scoring.html"']:
        assert text in page, text
    assert page.count('src="data:image/png;base64,') == 4  # revenue, customers, segment mix, migration
    assert "http://" not in page and "https://" not in page  # self-contained


def test_the_dashboard_names_the_segment_with_the_most_revenue_not_the_most_customers(tmp_path):
    """Few Champions bring most of the money: the index must name them, not the crowd of Lost customers."""
    labels = rfm_text.label_table("en")
    summary = pd.DataFrame({"segment_code": ["champions", "lost"], "customers": [50, 900],
                            "revenue": [7000.0, 3000.0]}, index=[labels["champions"], labels["lost"]])
    summary["share"] = summary["customers"] / summary["customers"].sum()
    summary["revenue_share"] = summary["revenue"] / summary["revenue"].sum()
    activity = {"period": "2025-10", "revenue": 10000.0, "orders": 80, "active_customers": 60, "new_customers": 5,
                "returning_customers": 55, "lapsed_customers": 3, "lapse_days": 90}
    row = publishing.period_tables(activity, summary, "$")["period_summary"].iloc[0]
    assert row["top_segment_code"] == "champions" and row["top_segment_revenue_share"] == 0.7
    folder = tmp_path / "2025-10"
    (folder / "tables").mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"period": "2025-10", "status": "success", "dataset": "sample",
                                                 "parameters": {"shared": {"language": "en"}}, "notebooks": []}))
    for name, table in publishing.period_tables(activity, summary, "$").items():
        exports.save_table(table, folder, name, index=False)
    page = publishing.write_index(tmp_path).read_text()
    assert "Champions (70.0% of revenue)" in page and "Lost (" not in page


def test_dashboard_separates_data_sets_and_notes_too_few_periods(tmp_path):
    _period(tmp_path, "2025-10", 100.0, 5, 1, MIX, dataset="cdnow")
    _period(tmp_path, "2025-11", 200.0, 6, 2, MIX, dataset="sample")
    page = publishing.write_index(tmp_path).read_text()
    assert "Data set: cdnow" in page and "Data set: sample" in page
    assert page.count("at least two successful periods") == 2 and "base64" not in page


def test_dashboard_in_chinese(tmp_path):
    _period(tmp_path, "2025-10", 100.0, 5, 1, MIX, language="zh")
    page = publishing.write_index(tmp_path).read_text()
    assert "客户分析报告" in page and "本期收入" in page and "已流失客户" in page


def test_dashboard_escapes_values_from_data(tmp_path):
    _period(tmp_path, "2025-10", 100.0, 5, 1, MIX, dataset="<script>x</script>")
    page = publishing.write_index(tmp_path).read_text()
    assert "<script>x" not in page and "&lt;script&gt;" in page


def test_exported_html_is_titled_and_hides_the_parameters(tmp_path):
    import nbformat

    nb = _nb()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "09.ipynb"
    nbformat.write(nb, src)
    page = publishing.export_html(src, tmp_path / "09.html").read_text()
    assert "<title>09 · Title</title>" in page and "period_end" not in page and "How to run" not in page
    shown = publishing.export_html(src, tmp_path / "09c.html", show_code=True).read_text()
    assert "period_end" in shown


def test_the_dashboard_shows_the_runs_currency(tmp_path):
    folder = _period(tmp_path, "2025-10", 19193.4, 195, 12, MIX)
    summary = folder / "tables" / "period_summary.csv"
    summary.write_text(summary.read_text().replace(",$", ","))  # a period table without a currency
    page = publishing.write_index(tmp_path, currency="€").read_text()
    assert "€19,193.40" in page and "£" not in page


def _decided(root, period, code, winner="offer_a", dataset="sample"):
    folder = _period(root, period, 1000.0, 100, 10, MIX, dataset=dataset)
    run = json.loads((folder / "run.json").read_text())
    run["headlines"]["04_ab_evaluation"] = {"winner": winner if code == "roll_out" else "none", "decision_code": code,
                                            "decision": f"{period}: {code}"}
    (folder / "run.json").write_text(json.dumps(run))


def test_a_rollout_a_later_month_withdraws_is_marked_superseded_on_the_index(tmp_path):
    _decided(tmp_path, "2025-10", "wait")
    _decided(tmp_path, "2025-11", "roll_out")
    _decided(tmp_path, "2025-12", "no_winner")
    rows = {r["period"]: r for r in publishing.collect_periods(tmp_path)}
    assert rows["2025-11"]["superseded_by"] == "2025-12"
    assert "superseded_by" not in rows["2025-10"] and "superseded_by" not in rows["2025-12"]
    page = publishing.write_index(tmp_path).read_text()
    assert "2025-11: roll_out<br><span class=\"superseded\">Superseded: withdrawn by the 2025-12 report.</span>" in page
    assert page.count("Superseded") == 1


def test_a_rollout_kept_by_later_months_or_another_data_set_is_not_superseded():
    rows = [{"period": "2025-11", "dataset": "a", "decision_code": "roll_out", "winner": "x"},
            {"period": "2025-12", "dataset": "a", "decision_code": "roll_out", "winner": "x"},
            {"period": "2026-01", "dataset": "b", "decision_code": "no_winner", "winner": "none"},
            {"period": "2026-02", "dataset": "a", "decision_code": None, "winner": None}]
    out = publishing.mark_superseded(rows)
    assert [r.get("superseded_by") for r in out] == [None, None, None, None]
    rows[1]["winner"] = "y"   # a later month rolls out another arm: the first rollout is withdrawn
    assert publishing.mark_superseded(rows)[0]["superseded_by"] == "2025-12"


def _md(text: str):
    return new_code_cell("say(...)", outputs=[new_output("display_data", data={"text/markdown": text})])


def test_the_reader_sees_section_numbers_without_gaps_when_a_section_does_not_apply():
    nb = _nb()
    nb.cells += [_md("## 1. Checks\n\ntext"), _md("## 5. Planning"), _md("### detail\n\n## 8. Decision\n\n- 3. not a heading")]
    shown = [o["data"]["text/markdown"] for c in publishing.reader_notebook(nb).cells for o in c.get("outputs", [])
             if "text/markdown" in o.get("data", {}) and "##" in o["data"]["text/markdown"]]
    assert shown == ["## 1. Checks\n\ntext", "## 2. Planning", "### detail\n\n## 3. Decision\n\n- 3. not a heading"]
    assert nb.cells[-1].outputs[0]["data"]["text/markdown"].count("## 8.") == 1  # the executed notebook is not changed


def test_the_browser_title_is_in_the_reports_language(tmp_path):
    import nbformat

    nb = _nb()
    nb.cells[-1].outputs[0]["data"]["text/markdown"] = "# 09 · 标题\n\n- 要点"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "09.ipynb"
    nbformat.write(nb, src)
    assert "<title>09 · 标题</title>" in publishing.export_html(src, tmp_path / "09.html").read_text(encoding="utf-8")


def test_backfill_segment_mix_legend_is_readable_with_every_segment():
    from customer_analytics.report.text import rfm as rfm_text

    labels = rfm_text.label_table("en")
    keys = list(labels)[:11]
    rows = [{"period": p, "mix": {k: (i + 1) / 66 for i, k in enumerate(keys)}} for p in ("2025-10", "2025-11", "2025-12")]
    _, fig = publishing._trend_mix(rows, "en")
    legend = fig.axes[0].get_legend()
    assert [x.get_text() for x in legend.get_texts()] == [labels[k] for k in reversed(keys)]  # top band first
    assert {x.get_fontsize() for x in legend.get_texts()} == {9}
    renderer = fig.canvas.get_renderer()
    # the dashboard shows every trend chart at one width: the legend sits below, no wider than the figure
    assert list(fig.get_size_inches()) == [6, 3.2]
    box, axes = legend.get_window_extent(renderer), fig.axes[0].get_window_extent(renderer)
    assert box.width <= fig.bbox.width and box.y1 < axes.y0


def test_the_index_shows_the_quick_ratio_and_stage_counts_of_each_month_with_their_trends(tmp_path):
    stages = [{"stage_new": 12, "stage_reactivated": 3, "stage_active": 150, "stage_at_risk": 90,
               "stage_dormant": 40, "stage_lost": 25, "quick_ratio": 1.25},
              {"stage_new": 20, "stage_reactivated": 5, "stage_active": 161, "stage_at_risk": 88,
               "stage_dormant": 44, "stage_lost": 31, "quick_ratio": None}]
    for period, figures in zip(["2025-10", "2025-11"], stages, strict=True):
        folder = _period(tmp_path, period, 100.0, 195, 12, MIX)
        run = json.loads((folder / "run.json").read_text())
        run["headlines"]["06_lifecycle"] = figures
        (folder / "run.json").write_text(json.dumps(run))
    page = publishing.write_index(tmp_path).read_text()
    for text in ["Quick ratio", "Active at period end", "Lost at period end", "<td class=\"num\">1.25</td>",
                 "<td class=\"num\">161</td>", "<td class=\"num\">88</td>", "Customers per lifecycle stage"]:
        assert text in page, text
    assert page.count('src="data:image/png;base64,') == 5  # revenue, customers, segment mix + stages, quick ratio
    row_nov = page.split("2025-11</a>")[1].split("</tr>")[0]
    assert "<td>–</td>" in row_nov  # nobody churned: no quick ratio, shown as a dash

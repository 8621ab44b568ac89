"""Publishing: notebook -> HTML report (summary first, boilerplate hidden) and the dashboard index.

HTML export
    :func:`export_html` runs nbconvert with preprocessors that, unless ``show_code``:

    - remove cells tagged ``parameters``, ``injected-parameters`` (papermill's own
      tags) or :data:`HIDE_TAG` (``report-hide``: the how-to-run header, internal
      print-outs), and the outputs of cells tagged :data:`HIDE_OUTPUT_TAG`;
    - reduce an untagged notebook header (the first markdown cell holding
      ``**How to run.**``) to its title line, so every notebook loses the boilerplate;
    - move cells tagged :data:`SUMMARY_TAG` (``report-summary``: title, period, data
      set and executive summary) to the top, so the report opens with the decision.

    With ``show_code`` nothing is removed or moved.

Dashboard
    :func:`write_index` writes ``reports/index.html``: self-contained (charts are
    inline PNG), no server, no network. Per data set: one row per period with the
    figures *of that period* read from the tables each period exports
    (``tables/period_summary.csv``, ``tables/segment_mix.csv``,
    ``tables/migration_counts.csv``) and trend charts across its successful periods.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
from pathlib import Path

import pandas as pd

from customer_analytics.models.lifecycle_stages import FLOW_ORDER
from customer_analytics.models.rfm import net_migration
from customer_analytics.report import charts, formatting, narrative
from customer_analytics.report.formatting import fmt_share
from customer_analytics.report.i18n import t
from customer_analytics.report.plotting.lifecycle import STAGE_COLORS
from customer_analytics.report.text import rfm as rfm_text

HIDE_TAG = "report-hide"
HIDE_OUTPUT_TAG = "report-hide-output"
SUMMARY_TAG = "report-summary"
REMOVE_CELL_TAGS = {"parameters", "injected-parameters", HIDE_TAG, "remove-cell", "remove_cell"}
HEADER_MARK = "**How to run.**"
#: Segments whose net migration the dashboard charts (the first found in a data set's tables).
INDEX_STAGES = ("active", "at_risk", "dormant", "lost")  # lifecycle stages with a column in the index
TOP_SEGMENTS = ["champions", "loyal_customers", "potential_loyalist", "important_value",
                "important_development", "important_retention"]


def reader_notebook(nb, show_code: bool = False):
    """The notebook as the reader sees it: hidden cells removed, summary cells first (a copy)."""
    import copy

    nb = copy.deepcopy(nb)
    if show_code:
        return nb
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & REMOVE_CELL_TAGS:
            continue
        if HIDE_OUTPUT_TAG in tags and cell.cell_type == "code":
            cell.outputs = []
        if cell.cell_type == "markdown" and HEADER_MARK in cell.source:
            title = [ln for ln in cell.source.splitlines() if ln.startswith("# ")]
            if not title:
                continue
            cell.source = title[0]
        cells.append(cell)
    summary = [c for c in cells if SUMMARY_TAG in c.get("metadata", {}).get("tags", [])]
    if summary:
        # the summary already names the report: drop a bare title line that would precede it
        rest = [c for c in cells if c not in summary
                and not (c.cell_type == "markdown" and c.source.strip().startswith("# ")
                         and "\n" not in c.source.strip())]
        cells = summary + rest
    nb.cells = cells
    renumber_sections(nb)
    return nb


SECTION_HEADING = re.compile(r"^(#{2} )\d+\. ", re.M)


def _markdown_outputs(cells):
    """Every Markdown output of these code cells, in page order, as (output, text)."""
    for cell in cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = out.get("data", {}).get("text/markdown")
            if text is not None:
                yield out, "".join(text)


def renumber_sections(nb) -> None:
    """Number the page's ``## N. `` section headings 1, 2, 3, ... in the order the reader meets them.

    The catalog numbers every section a notebook can show; a section that does not apply to
    a run (no ROI inputs, no sequential looks) is not shown, so the numbers a reader sees
    would otherwise jump (5, then 8).
    """
    n = 0

    def _next(match: re.Match) -> str:
        nonlocal n
        n += 1
        return f"{match.group(1)}{n}. "

    for out, text in _markdown_outputs(nb.cells):
        out["data"]["text/markdown"] = SECTION_HEADING.sub(_next, text)


def report_title(nb, path: str | Path = "") -> str:
    """The report's title for the browser tab, in the report's language.

    The title line (``# ``) of the summary the report opens with (written in the run's
    language), else the header cell's ``# `` line, else the file name.
    """
    summary = [c for c in nb.cells if SUMMARY_TAG in c.get("metadata", {}).get("tags", [])]
    for _, text in _markdown_outputs(summary):
        for line in text.splitlines():
            if line.startswith("# "):
                return re.sub(r"<[^>]+>", "", line[2:]).strip()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return Path(path).stem or "Report"


REPORT_CSS = """<style>
.jp-OutputArea-output table{max-width:100%}
.jp-RenderedHTMLCommon table{display:block;overflow-x:auto;max-width:100%}
.jp-RenderedHTMLCommon td,.jp-RenderedHTMLCommon th{white-space:normal}
</style>"""


def export_html(notebook_path: str | Path, html_path: str | Path, show_code: bool = False) -> Path:
    """Export an executed notebook to self-contained HTML (charts embedded) as the reader sees it.

    See the module docstring for what is hidden and moved; ``show_code`` keeps every
    cell, with its code, in notebook order.
    """
    import nbformat
    from nbconvert import HTMLExporter

    source = nbformat.read(str(notebook_path), as_version=4)
    nb = reader_notebook(source, show_code)
    exporter = HTMLExporter(template_name="lab", exclude_input=not show_code,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": report_title(source, notebook_path)}})
    body = body.replace("</head>", REPORT_CSS + "\n</head>", 1)
    Path(html_path).write_text(body, encoding="utf-8")
    return Path(html_path)


# ------------------------------------------------------------------ dashboard


def period_tables(activity: dict, summary: pd.DataFrame, currency: str = "") -> dict[str, pd.DataFrame]:
    """The tables a period exports for the dashboard: ``period_summary`` and ``segment_mix``.

    ``period_summary`` (one row): the figures of :func:`customer_analytics.models.rfm.period_activity`
    (revenue, orders, active/new/returning/lapsed customers *in the period*), the
    largest segment by revenue (``top_segment_code``, its label ``top_segment`` and
    ``top_segment_revenue_share``) and the report ``currency``.
    ``segment_mix``: per segment its code, label, customers, share of customers,
    revenue and share of revenue (all scored customers as of the period end).
    """
    top = summary["revenue_share"].idxmax()
    row = {**activity, "top_segment_code": summary.loc[top, "segment_code"], "top_segment": top,
           "top_segment_revenue_share": float(summary.loc[top, "revenue_share"]), "currency": currency}
    mix = summary.rename_axis("segment").reset_index()[["segment_code", "segment", "customers", "share", "revenue", "revenue_share"]]
    return {"period_summary": pd.DataFrame([row]), "segment_mix": mix}


def _read_csv(path: Path, **kwargs) -> pd.DataFrame | None:
    return pd.read_csv(path, **kwargs) if path.exists() else None


def dataset_of(run: dict) -> str:
    """The data-set name of a run: ``run.json`` ``dataset``, else the config or data file stem."""
    if run.get("dataset"):
        return str(run["dataset"])
    shared = run.get("parameters", {}).get("shared", {})
    for key in ("config_path", "data_path"):
        if shared.get(key):
            return Path(shared[key]).stem
    return "data"


def period_row(folder: Path, run: dict) -> dict:
    """One period's figures for the dashboard, from its exported tables and ``run.json``."""
    row = {"period": folder.name, "folder": folder.name, "dataset": dataset_of(run),
           "status": run.get("status", "?"), "partial_month": run.get("partial_month"),
           "notebooks": [n["name"] for n in run.get("notebooks", [])], "finished": str(run.get("finished", ""))[:19],
           "language": run.get("parameters", {}).get("shared", {}).get("language", "en")}
    ps = _read_csv(folder / "tables" / "period_summary.csv")
    if ps is not None and len(ps):
        row.update({k: (None if pd.isna(v) else v) for k, v in ps.iloc[0].to_dict().items() if k != "period"})
    h = run.get("headlines", {})
    ab = h.get("04_ab_evaluation", {})
    row["decision"] = ab.get("decision") or ab.get("winner")
    row["decision_code"], row["winner"] = ab.get("decision_code"), ab.get("winner")
    clv = h.get("05_clv_churn", {})
    row["total_clv"], row["high_value_at_risk"] = clv.get("total_clv"), clv.get("high_value_at_risk")
    life = h.get("06_lifecycle", {})  # the lifecycle page: quick ratio of the month, customers per stage
    row["quick_ratio"] = life.get("quick_ratio")
    row["stages"] = {k: life.get(f"stage_{k}") for k in FLOW_ORDER} if life else None
    mix = _read_csv(folder / "tables" / "segment_mix.csv")
    row["mix"] = mix.set_index("segment_code")["share"] if mix is not None and "segment_code" in mix else None
    moves = _read_csv(folder / "tables" / "migration_counts.csv", index_col=0)
    if moves is not None:
        tops = [s for s in TOP_SEGMENTS if s in moves.columns and s in moves.index][:3]
        row["net_migration"] = net_migration(moves, tops) if tops else None
    else:
        row["net_migration"] = None
    return row


def collect_periods(reports_dir: str | Path) -> list[dict]:
    """Every published period's :func:`period_row`, newest first."""
    root = Path(reports_dir)
    rows = []
    # period folders (YYYY-MM) and named report folders; not _failed, _interactive or .staging
    for rj in sorted((p for p in root.glob("*/run.json") if not p.parent.name.startswith(("_", "."))), reverse=True):
        rows.append(period_row(rj.parent, json.loads(rj.read_text())))
    return mark_superseded(rows)


def mark_superseded(rows: list[dict]) -> list[dict]:
    """Mark each rollout a later period of the same data set withdrew: ``superseded_by`` names that period.

    A period whose decision was to roll out an arm (``decision_code`` ``roll_out``) is superseded
    by the first later period of the same data set that decided anything else (wait, stop, no
    winner) or rolled out another arm. ``rows`` are :func:`period_row` dicts in any order; they are
    returned in the same order.
    """
    by_set: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: r["period"]):
        by_set.setdefault(r["dataset"], []).append(r)
    for runs in by_set.values():
        for i, r in enumerate(runs):
            if r.get("decision_code") != "roll_out":
                continue
            later = (n for n in runs[i + 1:] if n.get("decision_code"))
            withdrawn = next((n for n in later if n["decision_code"] != "roll_out" or n.get("winner") != r.get("winner")),
                             None)
            r["superseded_by"] = withdrawn["period"] if withdrawn else None
    return rows


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def trend_figures(rows: list[dict], language: str = "en", currency: str = "") -> list[tuple[str, str]]:
    """The trend charts of one data set as ``(title, inline PNG)``; empty below two periods.

    Revenue in each period; customers who bought in each period (new and returning
    stacked); the segment mix (stacked shares of customers); the net migration into
    the top segments (entered minus left, each period); with the lifecycle page, the customers
    per lifecycle stage at each period end (stacked) and the month's quick ratio.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)

    ok = sorted((r for r in rows if r["status"] == "success" and r.get("revenue") is not None),
                key=lambda r: r["period"])
    if len(ok) < 2:
        return []
    charts.setup_plots(language)
    figures = [_trend_revenue(ok, language, currency), _trend_active(ok, language)]
    if all(r.get("mix") is not None for r in ok):
        figures.append(_trend_mix(ok, language))
    if all(r.get("net_migration") is not None for r in ok):
        figures.append(_trend_migration(ok, language))
    if all(r.get("stages") for r in ok):
        figures += [_trend_stages(ok, language), _trend_quick(ok, language)]
    return [(t(key, language), _png(fig)) for key, fig in figures]


def _trend_revenue(ok: list[dict], language: str, currency: str):
    """Revenue in each period (bars)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar([r["period"] for r in ok], [r["revenue"] for r in ok], color=charts.SERIES["revenue"],
           label=t("chart.revenue", language))
    ax.set(title=t("index.trend_revenue", language), ylabel=t("chart.revenue_unit", language, currency=currency),
           xlabel=t("chart.month", language), ylim=(0, None))
    charts.plain_axis(ax.yaxis)
    ax.tick_params(axis="x", rotation=90)
    return "index.trend_revenue", fig


def _trend_active(ok: list[dict], language: str):
    """Customers who bought in each period: returning, with the new ones stacked on top."""
    import matplotlib.pyplot as plt

    x = [r["period"] for r in ok]
    fig, ax = plt.subplots(figsize=(6, 3))
    new = [r.get("new_customers") or 0 for r in ok]
    ret = [r.get("returning_customers") or 0 for r in ok]
    ax.bar(x, ret, color=charts.SERIES["returning"], label=t("index.returning", language))
    ax.bar(x, new, bottom=ret, color=charts.SERIES["new"], label=t("index.new", language))
    ax.set(title=t("index.trend_active", language), ylabel=t("chart.customers_unit", language),
           xlabel=t("chart.month", language), ylim=(0, None))
    charts.plain_axis(ax.yaxis)
    ax.legend(loc="upper left", fontsize=8)
    ax.tick_params(axis="x", rotation=90)
    return "index.trend_active", fig


def _trend_mix(ok: list[dict], language: str):
    """The segment mix: stacked shares of customers in each period."""
    import matplotlib.pyplot as plt

    x = [r["period"] for r in ok]
    mix = pd.DataFrame([r["mix"] for r in ok], index=x).fillna(0)
    mix = mix.loc[:, (mix > 0).any()]
    labels = rfm_text.label_table(language)
    # as wide as the other trend charts (the dashboard shows them at one width), the legend below in columns
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.stackplot(range(len(x)), mix.T.to_numpy(), colors=charts.colors_for(mix.columns),
                 labels=[labels.get(c, c) for c in mix.columns])
    ax.set_xticks(range(len(x)), x, rotation=90)
    ax.set(title=t("index.trend_mix", language), ylabel=t("index.share_of_customers", language),
           xlabel=t("chart.month", language), ylim=(0, 1), xlim=(0, len(x) - 1))
    charts.plain_axis(ax.yaxis, percent=True)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.42), ncol=3, fontsize=9, reverse=True, frameon=False)
    return "index.trend_mix", fig


def _trend_migration(ok: list[dict], language: str):
    """Net migration into the top segments (entered minus left) in each period."""
    import matplotlib.pyplot as plt

    x = [r["period"] for r in ok]
    net = pd.DataFrame([r["net_migration"] for r in ok], index=x).fillna(0)
    labels = rfm_text.label_table(language)
    fig, ax = plt.subplots(figsize=(6, 3))
    for c in net.columns:
        ax.plot(x, net[c], marker="o", color=charts.color_for(c), label=labels.get(c, c))
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(title=t("index.trend_migration", language), ylabel=t("index.net_customers", language),
           xlabel=t("chart.month", language))
    charts.plain_axis(ax.yaxis)
    ax.tick_params(axis="x", rotation=90)
    ax.legend(fontsize=9, loc="best")
    return "index.trend_migration", fig


def _trend_stages(ok: list[dict], language: str):
    """Customers per lifecycle stage at each period end (stacked bars, best stage at the bottom)."""
    import matplotlib.pyplot as plt

    x = [r["period"] for r in ok]
    counts = pd.DataFrame([r["stages"] for r in ok], index=x).fillna(0)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bottom = pd.Series(0.0, index=x)
    for code in FLOW_ORDER:  # six stages
        ax.bar(x, counts[code], bottom=bottom, color=STAGE_COLORS[code], label=t(f"nb06.stage.{code}", language))
        bottom += counts[code]
    ax.set(title=t("index.trend_stages", language), ylabel=t("chart.customers_unit", language),
           xlabel=t("chart.month", language), ylim=(0, None))
    charts.plain_axis(ax.yaxis)
    ax.tick_params(axis="x", rotation=90)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.42), ncol=3, fontsize=9, frameon=False)
    return "index.trend_stages", fig


def _trend_quick(ok: list[dict], language: str):
    """The quick ratio of each period's month, (new + resurrected) / churned, with the line at 1."""
    import matplotlib.pyplot as plt

    x = [r["period"] for r in ok]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(x, [r.get("quick_ratio") if r.get("quick_ratio") is not None else float("nan") for r in ok],
            marker="o", color=charts.SERIES["revenue"], label=t("index.col_quick_ratio", language))
    ax.axhline(1, color=charts.SERIES["neutral"], ls="--", lw=0.8)
    ax.set(title=t("index.trend_quick", language), xlabel=t("chart.month", language), ylim=(0, None))
    ax.tick_params(axis="x", rotation=90)
    return "index.trend_quick", fig


def _cell(v, kind: str = "text", currency: str = "") -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "<td>–</td>"
    text = formatting.formatter(kind, currency)(v)
    align = ' class="num"' if kind != "text" else ""
    return f"<td{align}>{html.escape(text)}</td>"


def _period_table(rows: list[dict], language: str, currency: str) -> str:
    heads = ["period", "status", "revenue", "active", "new", "returning", "lapsed", "top_segment", "decision",
             "total_clv", "at_risk", "quick_ratio", *(f"stage_{k}" for k in INDEX_STAGES), "links"]
    th = "".join(f"<th>{html.escape(t('index.col_' + h, language))}</th>" for h in heads)
    body = []
    for r in rows:
        folder = html.escape(r["folder"])
        status = html.escape(r["status"])
        status_words = html.escape(narrative.value_label("run_status", r["status"], language))
        partial = r.get("partial_month")
        flag = ""
        if partial:
            ends = partial.get("data_ends", "") if isinstance(partial, dict) else str(partial)
            flag = f'<br><span class="partial">{html.escape(t("index.partial", language, date=ends))}</span>'
        top = r.get("top_segment")
        top_cell = "<td>–</td>" if top is None else (
            f"<td>{html.escape(str(top))} "
            f"({html.escape(t('index.of_revenue', language, share=_pct(r.get('top_segment_revenue_share'))))})</td>")
        links = " · ".join(f'<a href="{folder}/{html.escape(n)}.html">{html.escape(n[:2])}</a>' for n in r["notebooks"])
        body.append(
            f'<tr><td class="period"><a href="{folder}/{html.escape(r["notebooks"][0] if r["notebooks"] else "")}.html">{folder}</a>'
            f'{flag}</td><td class="{status}">{status_words}</td>'
            + _cell(r.get("revenue"), "money", currency) + _cell(r.get("active_customers"), "int")
            + _cell(r.get("new_customers"), "int") + _cell(r.get("returning_customers"), "int")
            + _cell(r.get("lapsed_customers"), "int") + top_cell
            + _decision_cell(r, language)
            + _cell(r.get("total_clv"), "money", currency) + _cell(r.get("high_value_at_risk"), "int")
            + _cell(r.get("quick_ratio"), "number")
            + "".join(_cell((r.get("stages") or {}).get(k), "int") for k in INDEX_STAGES)
            + f"<td>{links}</td></tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _decision_cell(r: dict, language: str) -> str:
    """The period's A/B decision; a rollout a later period withdrew says so (:func:`mark_superseded`)."""
    decision = r.get("decision")
    if not decision or str(decision).lower() == "n/a":
        return f"<td>{html.escape(t('index.no_decision' if decision else 'index.no_experiment', language))}</td>"
    later = r.get("superseded_by")
    note = f'<br><span class="superseded">{html.escape(t("index.superseded", language, period=later))}</span>' \
        if later else ""
    return f"<td>{html.escape(str(decision))}{note}</td>"


def _pct(v) -> str:
    return fmt_share(v)


def render_dashboard(rows: list[dict], failed: list[tuple[str, str, str]], language: str = "en",
                     currency: str = "") -> str:
    """The index page as HTML text (see :func:`write_index`)."""
    sections = []
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    for ds in datasets:
        mine = [r for r in rows if r["dataset"] == ds]
        cur = next((r["currency"] for r in mine if isinstance(r.get("currency"), str)), currency)
        days = next((int(r["lapse_days"]) for r in mine if r.get("lapse_days") is not None), 90)
        try:
            figs = trend_figures(mine, language, cur)
        except (ValueError, KeyError, TypeError) as exc:  # a bad table must not cost the whole index
            figs, failed_note = [], t("index.trends_failed", language, error=exc)
        else:
            failed_note = ""
        if failed_note:
            charts_html = f'<p class="note">{html.escape(failed_note)}</p>'
        elif figs:
            charts_html = '<div class="trends">' + "".join(
                f'<figure><img alt="{html.escape(title)}" src="{src}"></figure>' for title, src in figs) + "</div>"
        else:
            charts_html = f'<p class="note">{html.escape(t("index.few_periods", language))}</p>'
        sections.append(f"<h2>{html.escape(t('index.dataset', language, name=ds))}</h2>"
                        f"<p>{html.escape(t('index.dataset_note', language, n=len(mine), days=days))}</p>"
                        f"{_period_table(mine, language, cur)}{charts_html}")
    if not rows:
        sections.append(f"<p>{html.escape(t('index.empty', language))}</p>")
    if failed:
        frows = "".join(f'<tr><td>{html.escape(p)}</td><td><a href="_failed/{html.escape(f)}/">{html.escape(f)}</a>'
                        f"</td><td>{html.escape(e)}</td></tr>" for p, f, e in failed)
        sections.append(f"<h2>{html.escape(t('index.failed', language))}</h2>"
                        f"<p>{html.escape(t('index.failed_note', language))}</p>"
                        f"<table><thead><tr><th>{html.escape(t('index.col_period', language))}</th>"
                        f"<th>{html.escape(t('index.col_folder', language))}</th>"
                        f"<th>{html.escape(t('index.col_error', language))}</th></tr></thead><tbody>{frows}</tbody></table>")
    title = html.escape(t("index.title", language))
    return f"""<!DOCTYPE html>
<html lang="{'zh' if language == 'zh' else 'en'}"><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;margin:2rem;color:#222;max-width:1300px}}
table{{border-collapse:collapse;font-size:.92rem;display:block;overflow-x:auto;max-width:100%}}
th,td{{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}}
td.num,td.period{{text-align:right;white-space:nowrap}} td.period{{text-align:left}} th{{background:#f4f4f4}}
td.success{{color:#1a7f37;font-weight:600}} td.failed{{color:#c62828;font-weight:600}}
.partial,.superseded{{color:#b26a00;font-size:.85em}} .note{{color:#555;font-style:italic}}
.trends{{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1rem;margin-top:1rem}}
figure{{margin:0}} figure img{{max-width:100%}}
</style></head><body>
<h1>{title}</h1>
<p>{html.escape(t("index.intro", language))}</p>
{chr(10).join(sections)}
</body></html>
"""


def write_index(reports_dir: str | Path, *, currency: str = "") -> Path:
    """Regenerate ``reports/index.html`` (the dashboard) from every period folder, atomically.

    Each data set's money is shown in the currency its ``tables/period_summary.csv`` recorded;
    ``currency`` (the run's ``report.currency``) is used where a data set recorded none.
    """
    root = Path(reports_dir)
    rows = collect_periods(root)
    failed = []
    for rj in sorted((root / "_failed").glob("*/run.json"), reverse=True):
        run = json.loads(rj.read_text())
        failed.append((run.get("period", ""), rj.parent.name, str((run.get("error") or {}).get("message", ""))))
    language = rows[0]["language"] if rows else "en"
    language = language if language in ("en", "zh") else "en"
    page = render_dashboard(rows, failed, language, currency)
    tmp = root / ".index.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, root / "index.html")
    return root / "index.html"

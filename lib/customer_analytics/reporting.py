"""Report output: plot style (with a CJK font), tables, headline figures, HTML, index page.

Notebooks write their tables with :func:`save_table` (CSV, fixed formatting, so two
runs on the same inputs give byte-identical files) and their headline figures with
:func:`record_headlines`; the runner collects the headlines into ``run.json`` and the
index page.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
from pathlib import Path

import matplotlib
import pandas as pd

TABLES_DIR = "tables"
HEADLINES_DIR = "headlines"
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
CJK_FONT_NAME = "Noto Sans CJK SC"


def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK SC font installed with the ``mplfonts`` package.

    Raises
    ------
    FileNotFoundError
        If the package or the font file is missing (run ``make env``).
    """
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("The mplfonts package is not installed; run `make env`.")
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / CJK_FONT_FILE
    if not path.exists():
        raise FileNotFoundError(f"CJK font not found at {path}; reinstall with `make env`.")
    return path


def setup_plots(language: str = "en") -> None:
    """Seaborn theme for report figures; registers the CJK font so Chinese labels render.

    The CJK font is added to matplotlib's font list and placed after DejaVu Sans,
    so Latin text keeps its usual look and Chinese glyphs fall back to Noto Sans CJK.
    """
    import seaborn as sns
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(cjk_font_path()))
    sns.set_theme(style="whitegrid", context="notebook")
    # a list of families: matplotlib falls back glyph by glyph from the first to the second
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", CJK_FONT_NAME]
    matplotlib.rcParams["axes.unicode_minus"] = False
    matplotlib.rcParams["figure.dpi"] = 90
    matplotlib.rcParams["figure.figsize"] = (8, 4)


#: printf format of floats in exported tables: 15 significant digits keep money exact to the
#: cent up to 10^12 and every other figure well beyond 12 digits, while hiding the last-bit noise
#: of binary floats (0.1 + 0.2 is written 0.3), so equal inputs give byte-identical files.
FLOAT_FORMAT = "%.15g"


def save_table(df: pd.DataFrame, run_dir: str | Path, name: str, index: bool = True) -> Path:
    """Write a table as ``<run_dir>/tables/<name>.csv`` for finance and downstream tools; returns the path.

    Values are written at full precision (see :data:`FLOAT_FORMAT`): money is exact to the
    cent, nothing is rounded for display. Formatting for people happens in the HTML only.
    """
    folder = Path(run_dir) / TABLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    df.to_csv(path, index=index, lineterminator="\n", float_format=FLOAT_FORMAT)
    return path


def record_headlines(run_dir: str | Path, notebook: str, **figures) -> dict:
    """Record headline figures of a notebook for the report index (``headlines/<notebook>.json``)."""
    folder = Path(run_dir) / HEADLINES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    clean = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}
    (folder / f"{notebook}.json").write_text(json.dumps(clean, indent=1, sort_keys=True, default=str) + "\n")
    return clean


def collect_headlines(run_dir: str | Path) -> dict:
    """All headline figures recorded in a run folder, keyed by notebook."""
    folder = Path(run_dir) / HEADLINES_DIR
    if not folder.exists():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def export_html(notebook_path: str | Path, html_path: str | Path, show_code: bool = False) -> Path:
    """Export an executed notebook to self-contained HTML (charts embedded), code hidden by default."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook_path), as_version=4)
    exporter = HTMLExporter(template_name="lab", exclude_input=not show_code,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    Path(html_path).write_text(body, encoding="utf-8")
    return Path(html_path)


INDEX_FIGURES = [
    ("01_data_cleaning", "clean_rows", "Clean rows"),
    ("02_rfm_scoring", "active_customers", "Active customers"),
    ("02_rfm_scoring", "revenue", "Revenue"),
    ("02_rfm_scoring", "segments", "Segments"),
    ("02_rfm_scoring", "top_segment_revenue_share", "Top segment revenue share"),
    ("03_clustering", "k", "Clusters (k)"),
    ("03_clustering", "silhouette", "Silhouette"),
    ("03_clustering", "stability_ari", "Stability (ARI)"),
    ("04_ab_evaluation", "winner", "Campaign winner"),
    ("05_clv_churn", "total_clv", "Predicted CLV"),
    ("05_clv_churn", "high_value_at_risk", "High-value at risk"),
]


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) >= 100 else f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def write_index(reports_dir: str | Path) -> Path:
    """Regenerate ``reports/index.html`` from every period folder's ``run.json`` (atomically)."""
    root = Path(reports_dir)
    runs = []
    # period folders (YYYY-MM) and experiment-only reports (named folders); not _failed, .staging, _interactive
    for rj in sorted((p for p in root.glob("*/run.json") if not p.parent.name.startswith(("_", "."))), reverse=True):
        runs.append((rj.parent, json.loads(rj.read_text())))
    failed = []
    for rj in sorted((root / "_failed").glob("*/run.json"), reverse=True):
        failed.append((rj.parent, json.loads(rj.read_text())))
    head = "".join(f"<th>{html.escape(label)}</th>" for _, _, label in INDEX_FIGURES)
    rows = []
    for folder, run in runs:
        h = run.get("headlines", {})
        cells = "".join(f"<td>{html.escape(_fmt(h.get(nb, {}).get(key)))}</td>" for nb, key, _ in INDEX_FIGURES)
        links = " · ".join(
            f'<a href="{folder.name}/{html.escape(n["name"])}.html">{html.escape(n["name"][:2])}</a>'
            for n in run.get("notebooks", []))
        status = html.escape(run.get("status", "?"))
        part = run.get("partial_month")
        flag = (f'<br><span class="partial">partial month: data ends {html.escape(str(part.get("data_ends")))}'
                '</span>') if part else ""
        rows.append(f'<tr><td><a href="{folder.name}/{run["notebooks"][0]["name"]}.html">{folder.name}</a></td>'
                    f'<td>{html.escape(str(run.get("dataset", "")))}</td>'
                    f'<td class="{status}">{status}{flag}</td>{cells}<td>{links}</td>'
                    f'<td>{html.escape(str(run.get("finished", ""))[:19])}</td></tr>')
    frows = []
    for folder, run in failed:
        err = run.get("error") or {}
        frows.append(f'<tr><td>{html.escape(run.get("period", ""))}</td><td><a href="_failed/{folder.name}/">'
                     f'{folder.name}</a></td><td>{html.escape(str(err.get("message", "")))}</td></tr>')
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Customer analytics reports</title>
<style>
body{{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222}}
table{{border-collapse:collapse;font-size:.92rem}} th,td{{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:left}}
th{{background:#f4f4f4}} td.success{{color:#1a7f37;font-weight:600}} td.failed{{color:#c62828;font-weight:600}}
.partial{{color:#b26a00;font-weight:600}}
</style></head><body>
<h1>Customer analytics reports</h1>
<p>One row per reporting period (newest first). Links open the notebook reports:
01 cleaning, 02 RFM, 03 clustering, 04 A/B evaluation, 05 CLV and churn. Each period folder also holds
the executed notebooks, the exported tables and <code>run.json</code> (parameters, input checksum,
versions and timings).</p>
<table><thead><tr><th>Period</th><th>Data set</th><th>Status</th>{head}<th>Reports</th><th>Finished (UTC)</th></tr></thead>
<tbody>
{chr(10).join(rows) if rows else '<tr><td colspan="20">No reports yet: run <code>make report</code>.</td></tr>'}
</tbody></table>
{('<h2>Failed runs</h2><p>Kept for diagnosis; they never replace a report.</p><table><thead><tr><th>Period</th>'
  '<th>Folder</th><th>Error</th></tr></thead><tbody>' + chr(10).join(frows) + '</tbody></table>') if frows else ''}
</body></html>
"""
    tmp = root / ".index.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, root / "index.html")
    return root / "index.html"


# ------------------------------------------------------------------ figures
# Each returns the matplotlib Figure; the notebook shows it.


def plot_monthly(monthly: pd.DataFrame, title: str = "Orders and revenue per month"):
    """Bars of revenue with a line of orders, per month."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5))
    x = monthly.index.astype(str)
    ax.bar(x, monthly["revenue"], color="#4c72b0", label="revenue")
    ax.set_ylabel("revenue")
    ax.tick_params(axis="x", rotation=90)
    ax2 = ax.twinx()
    ax2.plot(x, monthly["orders"], color="#dd8452", marker="o", label="orders")
    ax2.set_ylabel("orders")
    ax2.grid(False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_rfm_distributions(scored: pd.DataFrame):
    """Histograms of recency (days), frequency and monetary (log scales where skewed)."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.3))
    axes[0].hist(scored["recency_days"], bins=40, color="#4c72b0")
    axes[0].set(title="Recency (days since last purchase)", xlabel="days")
    axes[1].hist(scored["frequency"], bins=np.arange(0.5, scored["frequency"].quantile(0.99) + 1.5), color="#55a868")
    axes[1].set(title="Frequency (orders)", xlabel="orders", yscale="log")
    axes[2].hist(np.log10(scored["monetary"].clip(lower=0.01)), bins=40, color="#c44e52")
    axes[2].set(title="Monetary (net revenue)", xlabel="log10(revenue)")
    fig.tight_layout()
    return fig


def plot_rf_heatmaps(scored: pd.DataFrame):
    """R x F score grids: customer counts and mean monetary value."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    counts = pd.crosstab(scored["r_score"], scored["f_score"]).sort_index(ascending=False)
    money = scored.pivot_table(index="r_score", columns="f_score", values="monetary", aggfunc="mean")
    money = money.sort_index(ascending=False)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    sns.heatmap(counts, annot=True, fmt="d", cmap="Blues", ax=axes[0], cbar=False)
    axes[0].set(title="Customers by R and F score", xlabel="F score", ylabel="R score")
    sns.heatmap(money, annot=True, fmt=".0f", cmap="Reds", ax=axes[1], cbar=False)
    axes[1].set(title="Mean monetary value by R and F score", xlabel="F score", ylabel="R score")
    fig.tight_layout()
    return fig


def plot_segment_shares(summary: pd.DataFrame, title: str = "Customer share vs revenue share"):
    """Horizontal bars: each segment's share of customers next to its share of revenue."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.45 * len(summary) + 1.2))
    summary[["share", "revenue_share"]].iloc[::-1].plot.barh(ax=ax, color=["#4c72b0", "#dd8452"])
    ax.set(title=title, xlabel="share", ylabel="")
    ax.legend(["customers", "revenue"], loc="lower right")
    fig.tight_layout()
    return fig


def plot_matrix(matrix: pd.DataFrame, title: str, fmt: str = "d"):
    """Annotated heatmap of a matrix (migration counts or percentages)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(0.8 * matrix.shape[1] + 3, 0.5 * matrix.shape[0] + 2))
    sns.heatmap(matrix, annot=True, fmt=fmt, cmap="Blues", cbar=False, ax=ax)
    ax.set(title=title, xlabel="this period", ylabel="previous period")
    fig.tight_layout()
    return fig


def plot_k_metrics(metrics: pd.DataFrame, chosen: int):
    """Inertia, silhouette, Calinski-Harabasz and Davies-Bouldin against k, chosen k marked."""
    import matplotlib.pyplot as plt

    cols = ["inertia", "silhouette", "calinski_harabasz", "davies_bouldin"]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3))
    for ax, c in zip(axes, cols, strict=True):
        ax.plot(metrics.index, metrics[c], marker="o")
        ax.axvline(chosen, color="grey", ls="--")
        ax.set(title=c.replace("_", "-"), xlabel="k")
    fig.tight_layout()
    return fig


def plot_snake(standardised: pd.DataFrame, names: dict):
    """Snake plot: standardised feature means per cluster."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    for cid, row in standardised.iterrows():
        ax.plot(row.index, row.to_numpy(), marker="o", label=f"{cid}: {names.get(int(cid), cid)}")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(title="Cluster profiles (standard deviations from the mean)", ylabel="z")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig


def plot_pca(x: pd.DataFrame, labels, seed: int = 42, sample: int = 3000):
    """2-D PCA of the scaled features for a seeded sample of customers, coloured by cluster."""
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x), min(sample, len(x)), replace=False)
    z = PCA(n_components=2, random_state=seed).fit_transform(StandardScaler().fit_transform(x.to_numpy()[idx]))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    lab = np.asarray(labels)[idx]
    for c in sorted(set(lab)):
        ax.scatter(z[lab == c, 0], z[lab == c, 1], s=6, alpha=0.6, label=str(c))
    ax.set(title=f"Customers in the first two principal components (sample of {len(idx):,})",
           xlabel="PC1", ylabel="PC2")
    ax.legend(title="cluster", markerscale=3, fontsize=8)
    fig.tight_layout()
    return fig


def plot_forest(rows: pd.DataFrame, title: str):
    """Forest plot of per-segment differences with their intervals, one row per arm x segment."""
    import matplotlib.pyplot as plt

    r = rows.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(r) + 1.5))
    y = range(len(r))[::-1]
    ax.errorbar(r["diff"], list(y), xerr=[r["diff"] - r["ci_low"], r["ci_high"] - r["diff"]], fmt="o",
                color="#4c72b0", ecolor="#999", capsize=3)
    ax.axvline(0, color="grey", ls="--")
    ax.set_yticks(list(y), [f"{a} · {s}" for a, s in zip(r["arm"], r["segment"], strict=True)])
    ax.set(title=title, xlabel="difference vs control (95% CI)")
    fig.tight_layout()
    return fig

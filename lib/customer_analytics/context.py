"""The run context shared by the notebooks: period, paths, config and hand-over files.

Notebooks hand results to each other only through files in the run folder:

=============================  ==========  ===============================================
file                           written by  content
=============================  ==========  ===============================================
clean_transactions.parquet     01          clean canonical transactions
tables/cleaning_audit.csv      01          one row per cleaning rule outcome
customers.parquet / .csv       02 (+03)    one row per customer: RFM, scores, segment,
                                           action, period (03 adds cluster id and name)
cluster_model.joblib           03          the fitted scikit-learn pipeline
cluster_centroids.csv          03          centroids (log features) with names
=============================  ==========  ===============================================

Run on its own (outside a report), a notebook whose input file is missing builds it
with the same library code and the same config, so every notebook runs with its defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from customer_analytics import cleaning, rfm
from customer_analytics.config import load_config, project_root, resolve_path
from customer_analytics.errors import ConfigError

STAGING_DIR = ".staging"  # reports/<STAGING_DIR>/<period>-<stamp>/ holds a report run until it succeeds
CLEAN_FILE = "clean_transactions.parquet"
CUSTOMERS_FILE = "customers.parquet"


@dataclass
class RunContext:
    """Resolved parameters of one notebook run."""

    period: str
    as_of: pd.Timestamp
    run_dir: Path
    config: dict
    data_path: Path
    seed: int
    language: str

    def path(self, name: str) -> Path:
        return self.run_dir / name

    def describe(self) -> str:
        staged = self.run_dir.parent.name == STAGING_DIR  # a report run: name the folder it is published to
        folder = reports_root(self) / self.period if staged else self.run_dir
        shown = f"{folder.parent.name}/{folder.name}"  # no absolute local path in a report
        return (f"Period {self.period} (as of {self.as_of.date()}), data {self.data_path.name}, "
                f"run folder {shown}, seed {self.seed}, labels in '{self.language}'.")


def period_of(period_end: str) -> tuple[str, pd.Timestamp]:
    """'2025-11-30' or '2025-11' -> ('2025-11', Timestamp('2025-11-30'))."""
    try:
        p = pd.Period(str(period_end)[:7], freq="M")
    except ValueError as exc:
        raise ConfigError(f"period_end must be a date like 2025-11-30 or a month like 2025-11, got {period_end!r}") from exc
    return str(p), p.end_time.normalize()


def make_context(period_end: str | None = None, data_path: str | None = None, config_path: str | None = None,
                 run_dir: str | None = None, seed: int | None = None, language: str | None = None) -> RunContext:
    """Resolve a notebook's shared parameters; ``None`` means 'the config's value / the default'.

    Without ``period_end`` the period is the last complete month in the data.
    Without ``run_dir`` results go to ``reports/_interactive/<period>/``.
    """
    cfg = load_config(config_path)
    data = resolve_path(data_path or cfg["data"]["path"])
    if period_end in (None, "", "latest"):
        loaded = load(cfg, data)
        period, as_of = period_of(str(cleaning.last_complete_month(loaded.data["order_date"])))
    else:
        period, as_of = period_of(period_end)
    folder = Path(run_dir) if run_dir else project_root() / "reports" / "_interactive" / period
    folder.mkdir(parents=True, exist_ok=True)
    lang = language or cfg["language"]
    if lang not in ("en", "zh"):
        raise ConfigError(f"language must be 'en' or 'zh', got '{lang}'")
    return RunContext(period, as_of, folder, cfg, data, int(cfg["seed"] if seed is None else seed), lang)


def load(cfg: dict, data_path: Path | None = None, **overrides) -> cleaning.LoadResult:
    """Load the input file with the config's ``data`` section (overridable by keyword)."""
    d = {**cfg["data"], **{k: v for k, v in overrides.items() if v is not None}}
    return cleaning.load_transactions(
        data_path or d["path"], preset=d["preset"], file_format=d["file_format"], delimiter=d["delimiter"],
        encoding=d["encoding"], date_format=d["date_format"], column_mapping=d["column_mapping"])


def clean_transactions(ctx: RunContext) -> pd.DataFrame:
    """The clean transactions of this run: from notebook 01's file, or built now with the config."""
    p = ctx.path(CLEAN_FILE)
    if not p.exists():
        print(f"{p.name} not found in the run folder: running the cleaning step with the config.")
        loaded = load(ctx.config, ctx.data_path)
        res = cleaning.clean_transactions(loaded.data, ctx.config["cleaning"]["rules"], ctx.as_of,
                                          ctx.config["cleaning"]["analysis_start"], loaded.id_fixes)
        res.data.to_parquet(p, index=False)
    return pd.read_parquet(p)


def customers(ctx: RunContext) -> pd.DataFrame:
    """The scored customers of this run: from notebook 02's file, or scored now with the config."""
    p = ctx.path(CUSTOMERS_FILE)
    if not p.exists():
        print(f"{p.name} not found in the run folder: running the RFM step with the config.")
        scored = rfm.score_customers(clean_transactions(ctx), ctx.as_of, **ctx.config["rfm"])
        scored.to_parquet(p, index=False)
    return pd.read_parquet(p)


def params(section: dict, **overrides) -> dict:
    """A config section with the notebook's non-None parameters laid over it.

    A notebook parameter left at ``None`` means "take the config's value".

    Raises
    ------
    ConfigError
        If an override is not a key of the section.
    """
    unknown = [k for k in overrides if k not in section]
    if unknown:
        raise ConfigError(f"Unknown parameter(s) {unknown}; valid: {', '.join(sorted(section))}")
    return {**section, **{k: v for k, v in overrides.items() if v is not None}}


def reports_root(ctx: RunContext) -> Path:
    """The folder holding period reports for this run (works for staging and interactive runs)."""
    parent = ctx.run_dir.parent
    return parent.parent if parent.name == STAGING_DIR else parent


def previous_report(ctx: RunContext) -> Path | None:
    """Last period's report folder next to this run's, if it exists."""
    prev = str(pd.Period(ctx.period, freq="M") - 1)
    folder = reports_root(ctx) / prev
    return folder if folder.exists() else None


def read_table(path: Path) -> pd.DataFrame:
    """Read a per-user table from CSV, Parquet or Excel (by extension)."""
    ext = path.suffix.lower()
    if ext == ".parquet":
        return pd.read_parquet(path)
    if ext in (".xlsx", ".xls"):
        return pd.read_excel(path)
    return pd.read_csv(path)


MIN_CELL = 20  # segments with fewer users than this in some arm are pooled into "other"


def experiment_table(ctx: RunContext, p: dict) -> tuple[pd.DataFrame | None, object, list[str]]:
    """The per-user experiment table for notebook 04, its spec and notes.

    Mode ``none`` returns ``(None, None, notes)``. Mode ``table`` reads ``table_path``
    as is. Mode ``transactions`` derives outcomes from the assignment table and the
    clean transactions (:func:`experiments.derive_outcomes`) and adds, as segments,
    each customer's RFM segment as of the day before the first exposure and (when
    notebook 03's model is in the run folder) their cluster at that date. Segments
    with fewer than 20 users in some arm are pooled into "other (small segments)".
    """
    from customer_analytics import clustering, experiments

    mode = p["mode"]
    if mode == "none":
        return None, None, ["No experiment is configured (experiment.mode = none): nothing to evaluate."]
    spec = experiments.ExperimentSpec(
        variant_column=p["variant_column"], control_label=str(p["control_label"]), user_column=p["user_column"],
        binary_metrics=list(p["binary_metrics"] or []), continuous_metrics=list(p["continuous_metrics"] or []),
        covariate=p["covariate"], segment_columns=list(p["segment_columns"] or []), planned_split=p["planned_split"])
    if mode == "table":
        path = resolve_path(p["table_path"])
        if path is None or not path.exists():
            raise ConfigError(f"experiment.table_path must name an existing file for mode 'table', got {p['table_path']!r}")
        df = read_table(path)
        return df, spec, [f"Per-user table {path.name}: {len(df):,} users, arms in '{spec.variant_column}'."]
    if mode != "transactions":
        raise ConfigError(f"experiment.mode must be transactions, table or none, got '{mode}'")
    path = resolve_path(p["assignment_path"])
    if path is None or not path.exists():
        raise ConfigError(f"experiment.assignment_path must name an existing file, got {p['assignment_path']!r}")
    assignments = pd.read_csv(path, dtype=str)
    if p["exposure_column"] not in assignments:
        raise ConfigError(f"{path.name} lacks the exposure column '{p['exposure_column']}'; "
                          f"columns: {list(assignments.columns)}")
    first = pd.to_datetime(assignments[p["exposure_column"]], errors="coerce").min()
    if pd.isna(first) or first > ctx.as_of:
        return None, None, [f"The campaign in {path.name} starts {first.date() if pd.notna(first) else '?'}, "
                            f"after this period ends ({ctx.as_of.date()}): nothing to evaluate yet."]
    tx = clean_transactions(ctx)
    out, notes = experiments.derive_outcomes(assignments, tx, int(p["window_days"]), ctx.as_of, p["user_column"],
                                             p["variant_column"], p["exposure_column"])
    notes.insert(0, f"{len(out):,} assigned customers from {path.name}; outcomes over {p['window_days']} days "
                    f"after each exposure; covariate pre_revenue = net revenue in the 90 days before.")
    before = first.normalize() - pd.Timedelta(days=1)
    scored = rfm.score_customers(tx, before, **ctx.config["rfm"])
    labels = rfm.label_table(ctx.language)
    seg = scored.set_index("customer_id")["segment"].map(lambda k: labels.get(k, k))
    out["segment"] = out["customer_id"].map(seg).fillna("no purchase history")
    segs = [c for c in spec.segment_columns if c != "cluster"]
    if "cluster" in spec.segment_columns:
        if ctx.path("cluster_model.joblib").exists():
            x = clustering.build_features(scored, ctx.config["clustering"]["extra_features"])
            cl = pd.Series(clustering.predict_stable(ctx.run_dir, x), index=scored["customer_id"])
            out["cluster"] = out["customer_id"].map(cl).fillna(-1).astype(int).astype(str)
            segs.append("cluster")
        else:
            notes.append("No cluster model in the run folder: clusters are not used as segments.")
    for col in segs:
        counts = pd.crosstab(out[col], out["variant"])
        small = counts.index[(counts < MIN_CELL).any(axis=1)]
        if len(small):
            out.loc[out[col].isin(small), col] = "other (small segments)"
            notes.append(f"Segments with fewer than {MIN_CELL} users in an arm were pooled into "
                         f"'other (small segments)': {', '.join(map(str, small))}.")
    spec.variant_column, spec.user_column, spec.segment_columns = "variant", "customer_id", segs
    notes.append(f"Segments: {', '.join(segs) or 'none'} as of {before.date()}, the day before the first exposure.")
    return out, spec, notes

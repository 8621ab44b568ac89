"""The run context shared by the notebooks: period, paths, config and hand-over files.

Notebooks hand results to each other only through files in the run folder:

=============================  ==========  ===============================================
file                           written by  content
=============================  ==========  ===============================================
run_config.json                runner      the run's resolved configuration (:func:`run_config`)
run.duckdb                     01          table ``clean_transactions``: the clean canonical lines,
                                           written once (:func:`save_clean`); 02-05 open it
                                           read-only (:func:`clean_table`); not published
clean_transactions.parquet     01          the same clean lines, exported with the report
                                           (no notebook reads it)
tables/cleaning_audit.csv      01          one row per cleaning rule outcome
customers.parquet / .csv       02 (+03)    one row per customer: RFM, scores, segment,
                                           action, period (03 adds cluster id and name,
                                           05 p_alive, expected_purchases, churn_risk, clv)
cluster_model.joblib           03          the fitted scikit-learn pipeline
cluster_centroids.csv          03          centroids (log features) with names
=============================  ==========  ===============================================

Run on its own (outside a report), a notebook whose input file is missing builds it
with the same library code and the same config, so every notebook runs with its defaults.

The steps that pass over every clean line (RFM, the CLV summary and its validation, experiment
outcomes) run on the table in ``run.duckdb`` where it is; only their per-customer results, and
the few columns a line-by-line pandas step needs (:func:`clean_frame`), come into memory.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from customer_analytics.core import engine
from customer_analytics.core.errors import ConfigError, StaleDataError
from customer_analytics.core.paths import project_root, read_yaml, resolve_path
from customer_analytics.io import assignments as assignment_io
from customer_analytics.io import parsing, reading
from customer_analytics.models import cleaning, clustering, experiments, rfm
from customer_analytics.report import narrative
from customer_analytics.report.i18n import t
from customer_analytics.report.text import rfm as rfm_text
from customer_analytics.settings.loading import load_config
from customer_analytics.settings.schema import validate_section

STAGING_DIR = ".staging"  # reports/<STAGING_DIR>/<period>-<stamp>/ holds a report run until it succeeds
CLEAN_FILE = "clean_transactions.parquet"  # the clean lines as exported with the report
DATABASE_FILE = "run.duckdb"  # the run's database: the clean lines, from notebook 01 to 02-05 (not published)
CLEAN_TABLE = "clean_transactions"  # their table in DATABASE_FILE
CUSTOMERS_FILE = "customers.parquet"
RUN_CONFIG = "run_config.json"  # the run's resolved configuration, written once by the report runner


@dataclass
class RunContext:
    """Resolved parameters of one notebook run."""

    period: str
    as_of: pd.Timestamp
    run_dir: Path
    config: dict
    data_path: Path | None  # None: no transaction data (an experiment-only report)
    seed: int
    language: str

    def path(self, name: str) -> Path:
        return self.run_dir / name

    def describe(self) -> str:
        staged = self.run_dir.parent.name == STAGING_DIR  # a report run: name the folder it is published to
        folder = reports_root(self) / self.period if staged else self.run_dir
        shown = Path(os.path.relpath(folder.resolve(), project_root())).as_posix()  # no machine-specific paths
        note = partial_note(self)
        data = self.data_path.name if self.data_path else "none (experiment table only)"
        return (f"Period {self.period} (as of {self.as_of.date()}), transaction data {data}, "
                f"run folder {shown}, seed {self.seed}, labels in '{self.language}'."
                + (f" {note}" if note else ""))


def period_of(period_end: str) -> tuple[str, pd.Timestamp]:
    """'2025-11-30' or '2025-11' -> ('2025-11', Timestamp('2025-11-30'))."""
    try:
        p = pd.Period(str(period_end)[:7], freq="M")
    except ValueError as exc:
        raise ConfigError(f"period_end must be a date like 2025-11-30 or a month like 2025-11, got {period_end!r}") from exc
    return str(p), p.end_time.normalize()


def make_context(period_end: str | None = None, *, data_path: str | None = None, config_path: str | None = None,
                 run_dir: str | None = None, seed: int | None = None, language: str | None = None,
                 experiment: dict | None = None) -> RunContext:
    """Resolve a notebook's shared parameters; ``None`` means 'the config's value / the default'.

    Without ``period_end`` the period is the last complete month in the data.
    Without ``run_dir`` results go to ``reports/_interactive/<period>/``.
    Without transaction data (an experiment-only report, see :func:`transactions_path`;
    ``experiment`` holds notebook 04's non-None parameters laid over the config section)
    and without ``period_end``, the period is the experiment's label (:func:`experiment_label`).
    """
    cfg = run_config(config_path, run_dir)
    cfg["experiment"].update({k: v for k, v in (experiment or {}).items() if v is not None})
    data = transactions_path(cfg, config_path, data_path)
    if period_end in (None, "", "latest") and data is None:
        period, as_of = experiment_label(cfg), pd.Timestamp.today().normalize()
    elif period_end in (None, "", "latest"):
        loaded = load(cfg, data)
        period, as_of = period_of(str(cleaning.last_complete_month(loaded.data["order_date"])))
    else:
        period, as_of = period_of(period_end)
    folder = resolve_path(run_dir) if run_dir else project_root() / "reports" / "_interactive" / period
    folder.mkdir(parents=True, exist_ok=True)
    lang = language or cfg["language"]
    if lang not in ("en", "zh"):
        raise ConfigError(f"language must be 'en' or 'zh', got '{lang}'")
    return RunContext(period, as_of, folder, cfg, data, int(cfg["seed"] if seed is None else seed), lang)


def run_config(config_path: str | Path | None = None, run_dir: str | Path | None = None) -> dict:
    """The run's configuration, loaded once per run.

    In a report run the runner has loaded and checked the config and written the resolved
    copy to ``<run_dir>/run_config.json``: every notebook reads that copy, so the whole run
    uses one configuration. A notebook run on its own (no such file) loads ``config_path``.
    """
    staged = resolve_path(run_dir) / RUN_CONFIG if run_dir else None
    if staged is not None and staged.exists():
        return json.loads(staged.read_text(encoding="utf-8"))
    return load_config(config_path)


def load(cfg: dict, data_path: Path | None = None, **overrides) -> cleaning.LoadResult:
    """Load the input with the config's ``data`` section (overridable by keyword).

    A file is read in pandas; an engine source (``source.table`` or ``source.parquet``) is
    mapped in the engine and its canonical lines fetched.
    """
    d = {**cfg["data"], **{k: v for k, v in overrides.items() if v is not None}}
    src = reading.EngineSource.parse(data_path) or (reading.configured_source(cfg) if data_path is None else None)
    if src is not None:
        con = engine.connect(cfg.get("engine"))
        t, loaded = reading.read_source(src, d, con)
        return reading.fetch(t, loaded, con)
    conventions = reading.ValueConventions(date_format=d["date_format"], decimal=d.get("decimal"),
                                           thousands=d.get("thousands"),
                                           id_placeholders=tuple(map(str, d.get("id_placeholders") or ())),
                                           allow_short_rows=bool(d.get("allow_short_rows")),
                                           max_amount=float(d.get("max_amount") or 1e10))
    return cleaning.load_transactions(
        data_path or d["path"], preset=d["preset"], file_format=d["file_format"], delimiter=d["delimiter"],
        encoding=d["encoding"], column_mapping=d["column_mapping"], sheet=d.get("sheet"),
        conventions=conventions)


def save_clean(ctx: RunContext, result: cleaning.CleanResult) -> Path:
    """Write the clean lines once into the run's database (``run.duckdb``, table ``clean_transactions``).

    With a DuckDB engine the lines are copied inside it, without passing through pandas; from
    another engine (Spark, a warehouse by URL) the clean lines notebook 01 fetched are written.

    Returns
    -------
    Path
        The database file.
    """
    t = result.table
    data = t if t is not None and t._find_backend().name == "duckdb" else result.data
    return engine.write_database(data, ctx.path(DATABASE_FILE), CLEAN_TABLE)


def clean_table(ctx: RunContext):
    """The clean transactions of this run as an ibis table, opened read-only in the run's database.

    Notebook 01 writes the database (:func:`save_clean`); a notebook run on its own whose run
    folder has none builds it now with the same library code and the config.

    Returns
    -------
    ibis Table
        The lines in notebook 01's order; the steps run on it in DuckDB.
    """
    p = ctx.path(DATABASE_FILE)
    if not p.exists():
        print(f"{p.name} not found in the run folder: running the cleaning step with the config.")
        save_clean(ctx, clean(ctx, load_input(ctx)))
    return engine.open_database(p, ctx.config.get("engine")).table(CLEAN_TABLE)


def clean_frame(lines, columns: list[str]) -> pd.DataFrame:
    """``columns`` of the clean table ``lines`` as a pandas frame, in the table's order (for a pandas step)."""
    return lines.select(columns).to_pandas()


def data_ends(ctx: RunContext, lines) -> str | None:
    """The last day of the clean table ``lines`` when it is before the period end, else None (one query)."""
    return narrative.ends_before(lines.order_date.max().execute(), ctx.as_of)


def customers(ctx: RunContext) -> pd.DataFrame:
    """The scored customers of this run: from notebook 02's file, or scored now with the config."""
    p = ctx.path(CUSTOMERS_FILE)
    if not p.exists():
        print(f"{p.name} not found in the run folder: running the RFM step with the config.")
        scored = rfm.score_customers(clean_table(ctx), ctx.as_of, **ctx.config["rfm"])
        scored.to_parquet(p, index=False)
    return pd.read_parquet(p)


def params(section: dict, **overrides) -> dict:
    """A config section with the notebook's non-None parameters laid over it.

    A notebook parameter left at ``None`` means "take the config's value".

    Raises
    ------
    ConfigError
        If an override is not a key of the section, or the schema refuses a value
        (:func:`customer_analytics.settings.schema.validate_section`).
    """

    unknown = [k for k in overrides if k not in section]
    if unknown:
        raise ConfigError(f"Unknown parameter(s) {unknown}; valid: {', '.join(sorted(section))}")
    return validate_section({**section, **{k: v for k, v in overrides.items() if v is not None}})


def section(ctx: RunContext, settings: dict | None, name: str) -> dict:
    """The run config's section ``name`` with the notebook's ``settings[name]`` laid over it.

    ``settings`` is the notebook's one parameters object, laid out like a config file
    (``{"rfm": {"scheme": "zh8"}}``); a setting left at ``None`` or left out takes the run
    config's value. The result is checked by the same schema as the config file.

    Raises
    ------
    ConfigError
        If ``settings`` names a section the config does not have, or a key the section does
        not have, or the schema refuses a value.
    """
    return params(ctx.config[name], **overrides(ctx.config, settings, name))


def overrides(config: dict, settings: dict | None, name: str) -> dict:
    """The non-None settings of section ``name`` (``{}`` when the notebook was given none)."""
    settings = settings or {}
    unknown = [k for k in settings if not isinstance(config.get(k), dict)]
    if unknown:
        raise ConfigError(f"settings: unknown section(s) {unknown}; config sections: "
                          f"{', '.join(k for k, v in config.items() if isinstance(v, dict))}")
    given = settings.get(name) or {}
    if not isinstance(given, dict):
        raise ConfigError(f"settings.{name} = {given!r}: expected a mapping of keys to values")
    return {k: v for k, v in given.items() if v is not None}


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


def transactions_path(cfg: dict, config_path: str | Path | None = None, data_path: str | Path | None = None) -> Path | None:
    """The transaction file of a run, or None when there is none (an experiment-only report).

    ``data_path`` (``--data``) wins; then ``data.path`` if the config file sets it (null
    means none). Otherwise the default sample is used, except in experiment ``mode: table``,
    where the per-user table is the only input and notebooks 01-03 have nothing to read.
    """
    if data_path not in (None, ""):
        return reading.EngineSource.parse(data_path) or resolve_path(data_path)
    user = read_yaml(resolve_path(config_path)) if config_path not in (None, "") else {}
    src = reading.configured_source({"source": (user or {}).get("source") or {}})
    if src is not None:
        return src
    user_data = (user or {}).get("data") or {}
    if "path" in user_data:
        return resolve_path(user_data["path"])
    if cfg["experiment"]["mode"] == "table":
        return None
    return resolve_path(cfg["data"]["path"])


LABEL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}"


def experiment_label(cfg: dict) -> str:
    """Folder and index label of an experiment-only report: ``experiment.name``, else the table's file stem.

    Raises
    ------
    ConfigError
        If the name is not a plain folder name (letters, digits, '.', '_', '-').
    """
    import re

    e = cfg["experiment"]
    name = e.get("name") or (Path(str(e["table_path"])).stem if e.get("table_path") else "experiment")
    if not re.fullmatch(LABEL_PATTERN, str(name)):
        raise ConfigError(f"experiment.name must be a plain folder name (letters, digits, '.', '_', '-'; "
                          f"at most 80 characters), got {name!r}")
    return str(name)


MIN_CELL = 20  # segments with fewer users than this in some arm are pooled into "other"


def experiment_table(ctx: RunContext, p: dict) -> tuple[pd.DataFrame | None, object, list[str]]:
    """The per-user experiment table for notebook 04, its spec and notes.

    List and mapping parameters given as strings (JSON or YAML, as papermill ``-p``
    passes them) are parsed first (:func:`experiments.coerce_params`).
    Mode ``none`` returns ``(None, None, notes)``. Mode ``table`` reads ``table_path``
    as is; with ``user_column`` null each row is one user (no duplicate check). Mode ``transactions`` derives outcomes from the assignment table and the
    clean transactions (:func:`experiments.derive_outcomes`) and adds, as segments,
    each customer's RFM segment as of the day before the first exposure and (when
    notebook 03's model is in the run folder) their cluster at that date. Segments
    with fewer than 20 users in some arm are pooled into "other (small segments)".
    """

    mode = p["mode"]
    if mode == "none":
        return None, None, [t("nb04.none_configured", ctx.language)]
    p = experiments.coerce_params(p)
    spec = experiments.ExperimentSpec(
        variant_column=p["variant_column"], control_label=str(p["control_label"]), user_column=p["user_column"],
        binary_metrics=list(p["binary_metrics"] or []), continuous_metrics=list(p["continuous_metrics"] or []),
        covariate=p["covariate"], segment_columns=list(p["segment_columns"] or []), planned_split=p["planned_split"])
    if mode == "table":
        return _user_table(p, spec)
    if mode != "transactions":
        raise ConfigError(f"experiment.mode must be transactions, table or none, got '{mode}'")
    return _campaign_outcomes(ctx, p, spec)


def _user_table(p: dict, spec) -> tuple[pd.DataFrame, object, list[str]]:
    """Mode ``table``: the per-user file as it is."""
    path = resolve_path(p["table_path"])
    if path is None or not path.exists():
        raise ConfigError(f"experiment.table_path must name an existing file for mode 'table', got {p['table_path']!r}")
    df = read_table(path)
    who = f"one row per user in '{spec.user_column}'" if spec.user_column else "each row is one user"
    return df, spec, [f"Per-user table {path.name}: {len(df):,} rows ({who}), arms in '{spec.variant_column}'."]


def _campaign_outcomes(ctx: RunContext, p: dict, spec) -> tuple[pd.DataFrame | None, object, list[str]]:
    """Mode ``transactions``: outcomes after each exposure, with segments as of the day before the first."""
    path = resolve_path(p["assignment_path"])
    if path is None or not path.exists():
        raise ConfigError(f"experiment.assignment_path must name an existing file, got {p['assignment_path']!r}")
    assignments = assignment_io.read_assignments(
        path, user=p["user_column"] or "customer_id", variant=p["variant_column"], exposure=p["exposure_column"],
        placeholders=ctx.config["data"].get("id_placeholders"), date_format=p.get("exposure_date_format")).table
    first = assignments["exposure"].min()
    if pd.isna(first) or first > ctx.as_of:
        ready = first.normalize() + pd.Timedelta(days=int(p["window_days"])) if pd.notna(first) else None
        return None, None, [t("nb04.not_started", ctx.language, file=path.name,
                              date=first.date() if pd.notna(first) else "?", end=ctx.as_of.date(),
                              ready=ready.date() if ready is not None else "?",
                              ready_period=str(ready.to_period("M")) if ready is not None else "?")]
    tx = clean_table(ctx)  # the window sums and the segments' RFM run on it in the run's database
    columns = experiments.AssignmentColumns(user="customer_id", variant="variant", exposure="exposure")
    out, notes = experiments.derive_outcomes(assignments, tx, int(p["window_days"]), ctx.as_of, columns=columns)
    spec.outcomes_complete = experiments.outcomes_complete_on(out["exposure"], int(p["window_days"]), ctx.as_of)
    # the customer base a rerun could assign: every customer with a clean line up to the period end
    upto = tx.filter(tx.order_date <= ctx.as_of.to_pydatetime())
    spec.eligible_users = max(int(upto.customer_id.nunique().execute()), len(out))
    notes.insert(0, f"{len(out):,} assigned customers from {path.name}; outcomes over {p['window_days']} days "
                    f"after each exposure; covariate pre_revenue = net revenue in the 90 days before.")
    before = first.normalize() - pd.Timedelta(days=1)
    segs = _add_segments(ctx, out, tx, before, spec=spec, notes=notes)
    spec.variant_column, spec.user_column, spec.segment_columns = "variant", "customer_id", segs
    notes.append(f"Segments: {', '.join(segs) or 'none'} as of {before.date()}, the day before the first exposure.")
    return out, spec, notes


def _add_segments(ctx: RunContext, out: pd.DataFrame, tx, before, *, spec, notes: list[str]) -> list[str]:
    """Each customer's RFM segment (and cluster, with notebook 03's model) as of ``before``, small ones pooled."""
    scored = rfm.score_customers(tx, before, **ctx.config["rfm"])
    labels = rfm_text.label_table(ctx.language)
    seg = scored.set_index("customer_id")["segment"].map(lambda k: labels.get(k, k))
    out["segment"] = out["customer_id"].map(seg).fillna(t("nb04.segment_no_history", ctx.language))
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
            out.loc[out[col].isin(small), col] = t("nb04.segment_pooled", ctx.language)
            notes.append(f"Segments with fewer than {MIN_CELL} users in an arm were pooled into "
                         f"'other (small segments)': {', '.join(map(str, small))}.")
    return segs


# ------------------------------------------------------------ the period and the input, read once

INPUT_FILE = "input.parquet"      # the runner's typed copy of the loaded input (removed before publishing)
INPUT_META = "input.json"
PERIOD_FILE = "period.json"       # the period's coverage by the data, written before notebook 01 runs


def period_coverage(dates: pd.Series, period: str, today: pd.Timestamp | None = None) -> dict:
    """How the data covers a reporting month.

    Parameters
    ----------
    dates : Series of datetime64
        ``order_date`` of every loaded line.
    period : str
        'YYYY-MM'.
    today : Timestamp, optional
        Dates after today are typos (e.g. 2099) and do not count as the data's end.

    Returns
    -------
    dict
        ``period``, ``period_start``, ``period_end``, ``data_first`` and ``data_last`` (the
        first and last dates on or before today), ``rows_in_period`` (lines dated in the
        month), and ``partial_month``: ``None``, or ``{"data_ends": data_last}`` when the
        month ends after the last transaction (the month is only partly covered).
    """
    today = (today or pd.Timestamp.today()).normalize()
    p = pd.Period(period, freq="M")
    start, end = p.start_time.normalize(), p.end_time.normalize()
    d = dates.dropna()
    d = d[d < today + pd.Timedelta(days=1)]
    first = d.min().normalize() if len(d) else None
    last = d.max().normalize() if len(d) else None
    n = int(((d >= start) & (d < end + pd.Timedelta(days=1))).sum())
    partial = {"data_ends": str(last.date())} if n and last is not None and last < end else None
    return {"period": str(p), "period_start": str(start.date()), "period_end": str(end.date()),
            "data_first": str(first.date()) if first is not None else None,
            "data_last": str(last.date()) if last is not None else None,
            "rows_in_period": n, "partial_month": partial}


def check_coverage(cov: dict, source: str) -> None:
    """Refuse a period the data has no transactions in (:class:`StaleDataError`), naming the range."""

    if cov["rows_in_period"]:
        return
    rng = (f"the data runs from {cov['data_first']} to {cov['data_last']}" if cov["data_first"]
           else "the data has no dates on or before today")
    if cov["data_first"] and cov["period_end"] < cov["data_first"]:
        why = "The period is before the data starts: choose a later --period."
    elif cov["data_last"] and cov["period_start"] > cov["data_last"]:
        why = ("The period is after the last transaction: has the export been refreshed? Nothing was "
               "published; rerun when the data covers the month.")
    else:
        why = "The data has a gap over this month."
    raise StaleDataError(f"No transactions in {cov['period']} ({cov['period_start']} to {cov['period_end']}) "
                         f"in {source}: {rng}. {why}")


def look_back(ctx: RunContext, window_months: int | None = None) -> tuple[str, str]:
    """First and last day of the data a page's figures cover, as ``YYYY-MM-DD`` strings.

    The last day is the period end; the first is the first day in the data (from
    ``period.json``), or with ``window_months`` the first day of that look-back window
    (the day after the period end minus ``window_months`` months, as the RFM window counts),
    whichever is later.
    """
    first = period_record(ctx).get("data_first")
    start = pd.Timestamp(first) if first else None
    if window_months:
        w = ctx.as_of.normalize() - pd.DateOffset(months=int(window_months)) + pd.Timedelta(days=1)
        start = w if start is None else max(start, w)
    return (str(start.date()) if start is not None else "…", str(ctx.as_of.date()))


def period_record(ctx: RunContext) -> dict:
    """This run's ``period.json`` (the period's coverage by the data); empty when it was not written."""
    p = ctx.path(PERIOD_FILE)
    return json.loads(p.read_text()) if p.exists() else {}


def partial_note(ctx: RunContext) -> str | None:
    """'Partial month: data ends YYYY-MM-DD ...' when this run's period is only partly covered."""
    part = period_record(ctx).get("partial_month")
    if not part:
        return None
    return (f"Partial month: the data ends {part['data_ends']}, before the period end {ctx.as_of.date()}. "
            "Figures for this month cover only the days up to then.")


def save_input(loaded: cleaning.LoadResult, folder: Path) -> None:
    """Write the loaded input as typed Parquet plus its reading metadata (see :func:`load_input`)."""
    loaded.data.to_parquet(folder / INPUT_FILE, index=False)
    meta = {"path": str(loaded.path), "encoding": loaded.encoding, "preset": loaded.preset,
            "mapping": loaded.mapping, "source_columns": loaded.source_columns,
            "date_format": loaded.date_format, "id_fixes": loaded.id_fixes,
            "lines_identifiable": loaded.lines_identifiable,
            "number_format": dataclasses.asdict(loaded.number_format)}
    (folder / INPUT_META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def load_input(ctx: RunContext, **overrides) -> cleaning.LoadResult:
    """The input of this run: the runner's typed copy when present (read once), else the source file.

    In a report run the runner has read and validated the source already and left a
    Parquet copy in the run folder; reading it costs a fraction of parsing the
    source again. Run on its own, the notebook reads the source with the config's
    ``data`` section (``overrides`` are the notebook's parameters; ``None`` = config).
    """
    p, meta = ctx.path(INPUT_FILE), ctx.path(INPUT_META)
    if p.exists() and meta.exists():
        m = json.loads(meta.read_text(encoding="utf-8"))
        if str(m["path"]) == str(ctx.data_path) or Path(m["path"]) == Path(ctx.data_path):
            return cleaning.LoadResult(data=pd.read_parquet(p), path=Path(m["path"]), encoding=m["encoding"],
                                       preset=m["preset"], mapping=m["mapping"],
                                       source_columns=m["source_columns"], date_format=m["date_format"],
                                       id_fixes=m["id_fixes"], lines_identifiable=m["lines_identifiable"],
                                       number_format=parsing.NumberFormat(**m["number_format"]))
    return load(ctx.config, ctx.data_path, **overrides)


def clean(ctx: RunContext, loaded: cleaning.LoadResult, analysis_start=None, rules=None) -> cleaning.CleanResult:
    """Clean ``loaded`` for this run's period with the config's rules (notebook values override),
    in the engine the config names (an embedded DuckDB by default)."""
    c = params(ctx.config["cleaning"], analysis_start=analysis_start, rules=rules)
    result = cleaning.clean_transactions(loaded.data, c["rules"], ctx.as_of, c["analysis_start"],
                                         id_fixes=loaded.id_fixes, lines_identifiable=loaded.lines_identifiable,
                                         con=engine.connect(ctx.config.get("engine")))
    # step 0 of the audit also says which number convention the loader read the amounts with, and why
    result.audit = pd.concat([parsing.audit_rows(loaded.number_format, list(loaded.mapping.values())),
                              result.audit], ignore_index=True)
    return result


def record_coverage(ctx: RunContext, loaded: cleaning.LoadResult) -> dict:
    """Check and record how the data covers this run's period (see :func:`period_coverage`).

    Refuses a period without transactions, as the report runner does, and writes
    ``period.json`` to the run folder so later notebooks flag a partial month.
    """
    cov = period_coverage(loaded.data["order_date"], ctx.period)
    check_coverage(cov, loaded.path.name)
    ctx.path(PERIOD_FILE).write_text(json.dumps(cov, indent=1) + "\n", encoding="utf-8")
    return cov


def how_read(loaded: cleaning.LoadResult, language: str = "en", engine_cfg: dict | None = None) -> str:
    """How the input was read, for the reader: the encoding of a text file, the kind of a binary
    file, or the table / Parquet set the engine read in place."""

    src = reading.EngineSource.parse(str(loaded.path))
    if src is not None:
        e = engine_cfg or {}
        name = (str(e["url"]).split(":", 1)[0].capitalize() if e.get("url")
                else "Spark" if e.get("backend") == "pyspark" else "DuckDB")
        return t("nb01.s1_how_engine", language, source=src.name, engine=name)
    if loaded.encoding:
        return t("nb01.s1_how_file", language, encoding=loaded.encoding)
    return t("nb01.s1_how_binary", language, kind=loaded.path.suffix.lstrip(".").capitalize() or "binary")

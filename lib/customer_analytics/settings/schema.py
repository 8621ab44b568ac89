"""One schema for the whole run configuration, checked before any notebook runs.

Every key of ``resources/defaults.yaml`` has a type, its allowed values and its
range here (pydantic models). :func:`validate_config` checks a merged config and
turns every problem into one :class:`~customer_analytics.core.errors.ConfigError`
message naming the file, the key path (e.g. ``clustering.k``), the value and what
was expected. ``cleaning.rules`` is checked against ``resources/cleaning_rules.yaml``:
any rule there, any key of that rule, with the default's type.

:func:`check_input_files` checks the files the config names (assignment table,
experiment table, custom segment rules) for existence and required columns by
reading their headers only.

``config.load_config`` calls :func:`validate_config`, so notebooks (through
``context.make_context``) and the report runner get the same messages.
"""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from customer_analytics.core.errors import ConfigError
from customer_analytics.core.paths import resolve_path
from customer_analytics.models import rfm
from customer_analytics.models.cleaning import default_rules, presets
from customer_analytics.settings.sections import (
    Days,
    LifecycleSection,
    Probability,
    ProfilesSection,
    TargetingSection,
    _Section,
)

CANONICAL = Literal["customer_id", "order_id", "order_date", "amount", "product_id", "quantity", "unit_price",
                    "country", "channel", "description", "source_row"]  # source_row: engine sources only


class DataSection(_Section):
    path: Annotated[str, Field(min_length=1)] | None  # null: no transaction data (an experiment-only report)
    preset: str
    file_format: Literal["csv", "parquet", "excel"] | None
    delimiter: Annotated[str, Field(min_length=1)] | None
    encoding: str | None
    date_format: str | None
    decimal: Literal[".", ","] | None
    thousands: Literal[",", ".", " ", "'", ""] | None
    sheet: str | Annotated[int, Field(ge=0, le=1000)] | None
    column_mapping: dict[str, CANONICAL]
    id_placeholders: list[str]
    allow_short_rows: bool
    max_amount: Annotated[float, Field(gt=0, le=1e15)]

    @field_validator("preset")
    @classmethod
    def _preset(cls, v: str) -> str:
        valid = sorted(presets())
        if v not in valid:
            raise ValueError(f"one of {', '.join(valid)}")
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                codecs.lookup(v)
            except LookupError:
                raise ValueError("a Python codec name such as utf-8, cp1252, latin-1 or utf-16") from None
        return v

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, v: str | None) -> str | None:
        return _strftime_format(v)

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v: str | None) -> str | None:
        if v is not None and len(v) != 1 and v != "whitespace":
            raise ValueError("one character (e.g. ',', ';', '\\t') or 'whitespace'")
        return v

    @model_validator(mode="after")
    def _separators(self):
        if self.decimal is not None and self.thousands and self.decimal == self.thousands:
            raise ValueError(f"thousands = {self.thousands!r}: expected a separator other than decimal ({self.decimal!r})")
        return self


def _strftime_format(v: str | None) -> str | None:
    """A date format that writes and reads back a date (``ISO8601`` too); else a ValueError in words."""
    if v is None or v == "ISO8601":
        return v
    sample = dt.datetime(2025, 1, 31, 13, 45, 30)
    try:
        ok = "%" in v and dt.datetime.strptime(sample.strftime(v), v) is not None
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("a date format made of strftime codes that reads dates back, e.g. '%d/%m/%Y', "
                         "'%m/%d/%Y %H:%M' or '%Y-%m-%d' (codes: %d day, %m month, %Y year, %H hour, %M minute)")
    return v


def _date_like(v: Any) -> Any:
    if v is None or isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            pd.Timestamp(v)
            return v
        except ValueError:
            pass
    raise ValueError("a date YYYY-MM-DD or null")


class CleaningSection(_Section):
    analysis_start: Any
    rules: dict[str, Any]

    @field_validator("analysis_start")
    @classmethod
    def _start(cls, v: Any) -> Any:
        return _date_like(v)


def scheme_levels(scheme: str) -> int | None:
    """The score levels a built-in score-grid scheme's rules are written for (None: not a built-in grid)."""
    if scheme not in ("en11", "zh8"):
        return None
    loaded = rfm.load_scheme(scheme)
    return loaded.n_levels if loaded.type == "score_grid" else None


class RfmSection(_Section):
    scheme: Annotated[str, Field(min_length=1)]

    @field_validator("scheme")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if v not in ("en11", "zh8") and not v.endswith((".yaml", ".yml")):
            raise ValueError("en11, zh8 or the path of a custom rules YAML (.yaml)")
        return v

    n_levels: Annotated[int, Field(ge=2, le=10)]
    score_method: Literal["recency_bands", "quantile", "thresholds"]
    recency_bands: Annotated[list[Annotated[int, Field(ge=0, le=3660)]], Field(min_length=1, max_length=9)]
    new_customer_days: Annotated[int, Field(ge=1, le=3660)]
    thresholds: dict[str, Any]
    window_months: Annotated[int, Field(ge=1, le=120)] | None
    monetary: Literal["total", "aov"]
    zh8_threshold: Literal["mean", "median"]
    weights: dict[Literal["r", "f", "m"], Annotated[float, Field(ge=0, le=1000)]] | Literal["learned"] | None = Field(
        description="Value score weights {r, f, m} (non-negative, not all 0), 'learned', or null.")

    @field_validator("weights")
    @classmethod
    def _weights(cls, v):
        if isinstance(v, dict) and (set(v) != {"r", "f", "m"} or sum(v.values()) <= 0):
            raise ValueError("a mapping with the keys r, f and m (non-negative, not all 0), 'learned' or null")
        return v

    @model_validator(mode="after")
    def _bands(self):
        needed = scheme_levels(self.scheme)
        if needed is not None and needed != self.n_levels:
            raise ValueError(f"n_levels = {self.n_levels}: expected {needed}, the score levels the rules of the "
                             f"scheme {self.scheme!r} are written for (or choose a scheme for {self.n_levels} levels)")
        b = self.recency_bands
        if self.score_method == "recency_bands" and (
                len(b) != self.n_levels - 1 or any(y <= x for x, y in zip(b, b[1:], strict=False))):
            raise ValueError(f"recency_bands = {b}: expected {self.n_levels - 1} ascending day counts "
                             f"for n_levels = {self.n_levels}")
        return self


class ClusteringSection(_Section):
    k: Annotated[int, Field(ge=2, le=20)] | None
    k_min: Annotated[int, Field(ge=2, le=20)]
    k_max: Annotated[int, Field(ge=2, le=20)]
    algorithm: Literal["kmeans", "gmm", "hdbscan"]
    scaler: Literal["standard", "robust", "quantile"]
    extra_features: list[Literal["tenure", "aov", "interpurchase"]]
    min_cluster_share: Annotated[float, Field(ge=0, lt=1)]
    stable_ari: Annotated[float, Field(ge=0, le=1)]
    silhouette_tie: Annotated[float, Field(ge=0, lt=1)]
    stability_fits: Annotated[int, Field(ge=2, le=500)]
    stability_fraction: Annotated[float, Field(gt=0, lt=1)]
    stability_sample: Annotated[int, Field(ge=100, le=10_000_000)]
    fit_sample: Annotated[int, Field(ge=100, le=100_000_000)]
    silhouette_sample: Annotated[int, Field(ge=100, le=100_000)]
    name_cutoffs: Annotated[list[Annotated[float, Field(gt=0, lt=1)]], Field(min_length=2, max_length=2)]
    name_recency_days: Annotated[list[Annotated[int, Field(ge=0, le=3660)]], Field(min_length=2, max_length=2)]

    @field_validator("name_cutoffs", "name_recency_days")
    @classmethod
    def _increasing_pair(cls, v: list, info) -> list:
        if v[0] >= v[1]:
            what = "percentiles" if info.field_name == "name_cutoffs" else "day counts"
            raise ValueError(f"{info.field_name} = {v}: expected two {what}, the first below the second")
        return v

    @model_validator(mode="after")
    def _range(self):
        if self.k_min > self.k_max:
            raise ValueError(f"k_min = {self.k_min}: expected at most k_max ({self.k_max})")
        return self


class ExperimentSection(_Section):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")] | None
    mode: Literal["transactions", "table", "none"]
    assignment_path: str | None
    table_path: str | None
    user_column: Annotated[str, Field(min_length=1)] | None
    variant_column: Annotated[str, Field(min_length=1)]
    control_label: str | int
    exposure_column: Annotated[str, Field(min_length=1)]
    exposure_date_format: str | None
    min_match_share: Annotated[float, Field(ge=0, le=1)]
    window_days: Days
    binary_metrics: list[str]
    continuous_metrics: list[str]
    covariate: str | None
    segment_columns: list[str]
    primary_metric: str
    planned_split: dict[str | int, Annotated[float, Field(gt=0, le=1000)]] | None  # shares or weights
    alpha: Probability
    power: Probability
    correction: Literal["holm", "fdr_bh", "bonferroni", "none"]
    cap_percentile: Annotated[float, Field(gt=50, le=100)] | None
    cap_ignore_zeros: bool
    bootstrap: bool
    target_lift: Annotated[float, Field(gt=0, le=100)]  # relative: 0.1 is +10%
    higher_is_better: bool
    sequential: bool
    sequential_tuning: Annotated[int, Field(ge=1, le=10**10)]
    cost_per_user: dict[str | int, Annotated[float, Field(ge=0, le=1e9)]] | None
    value_per_conversion: Annotated[float, Field(ge=0, le=1e9)] | None
    conversion_metric: str | None
    margin: Annotated[float, Field(ge=0, le=1)] | None
    revenue_metric: str | None

    @field_validator("exposure_date_format")
    @classmethod
    def _date_format(cls, v: str | None) -> str | None:
        return _strftime_format(v)

    @model_validator(mode="after")
    def _consistent(self):
        metrics = [*self.binary_metrics, *self.continuous_metrics]
        if self.mode != "none" and not metrics:
            raise ValueError("binary_metrics = []: expected at least one metric here or in continuous_metrics")
        if self.mode != "none" and self.primary_metric not in metrics:
            raise ValueError(f"primary_metric = {self.primary_metric!r}: expected one of the metrics {metrics}")
        if self.mode == "table" and not self.table_path:
            raise ValueError("table_path = None: expected the per-user experiment table (mode is 'table')")
        if self.mode == "transactions" and not self.assignment_path:
            raise ValueError("assignment_path = None: expected the assignment table (mode is 'transactions')")
        return self


class ReportSection(_Section):
    keep_failed: Annotated[int, Field(ge=0, le=1000)]
    currency: str
    lapse_days: Days
    recent_segment_max_median_days: Annotated[float, Field(gt=0, le=3660)] | Days


class ClvSection(_Section):
    time_unit: Literal["days", "weeks"]
    model: Literal["auto", "bgnbd", "modified_bgnbd", "pareto_nbd"]
    method: Literal["map", "mcmc"]
    horizon_days: Days
    clv_months: Annotated[int, Field(ge=1, le=120)]
    discount_rate: Annotated[float, Field(ge=0, lt=1)]
    holdout_days: Days
    churn_threshold: Annotated[float, Field(ge=0, le=1, description=(
        "At-risk list: a customer is eligible when P(churn) = 1 - P(alive) is at least this."))]
    list_share: Annotated[float, Field(gt=0, le=1, description=(
        "At-risk list: at most this share of all scored customers, highest predicted CLV first."))]
    list_max: Annotated[int, Field(ge=1, le=100_000_000, description=(
        "At-risk list: at most this many customers; null means no cap."))] | None
    min_customers: Annotated[int, Field(ge=10, le=10_000_000)]
    mcmc_draws: Annotated[int, Field(ge=100, le=100_000)]
    mcmc_chains: Annotated[int, Field(ge=1, le=16)]


class SourceSection(_Section):
    table: Annotated[str, Field(min_length=1)] | None     # a table in the engine, e.g. sales.transactions
    parquet: Annotated[str, Field(min_length=1)] | None   # a Parquet folder or glob (a data lake)


class SparkSection(_Section):
    master: Annotated[str, Field(min_length=1)] | None    # e.g. local[4], spark://host:7077, yarn
    remote: Annotated[str, Field(pattern=r"^sc://")] | None  # Spark Connect URL, e.g. sc://spark.example.com:15002
    app_name: Annotated[str, Field(min_length=1)]
    conf: dict[str, str | int | float | bool]


class EngineSection(_Section):
    backend: Literal["duckdb", "pyspark"]
    url: Annotated[str, Field(pattern=r"^[a-z][a-z0-9+]*://")] | None  # any ibis backend, e.g. snowflake://...
    database: Annotated[str, Field(min_length=1)] | None  # DuckDB database file (read-only)
    threads: Annotated[int, Field(ge=1, le=1024)] | None
    memory_limit: Annotated[str, Field(pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$")] | None  # DuckDB, e.g. 4GB
    temp_directory: Annotated[str, Field(min_length=1)] | None  # where DuckDB spills
    spark: SparkSection


class RunConfig(_Section):
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)]
    language: Literal["en", "zh"]
    mask_ids: bool
    report: ReportSection
    data: DataSection
    source: SourceSection
    engine: EngineSection
    cleaning: CleaningSection
    rfm: RfmSection
    clustering: ClusteringSection
    experiment: ExperimentSection
    clv: ClvSection
    lifecycle: LifecycleSection
    targeting: TargetingSection
    profiles: ProfilesSection


#: Allowed values of cleaning-rule keys whose default is a string.
RULE_CHOICES = {("cancellations", "mode"): Literal["net", "drop"],
                ("outliers", "action"): Literal["flag", "cap", "drop"],
                ("outliers", "method"): Literal["iqr_log"]}


def _rule_models() -> dict[str, type[BaseModel]]:
    """One pydantic model per rule of ``resources/cleaning_rules.yaml``, typed from its defaults."""

    models = {}
    for rule, keys in default_rules().items():
        fields: dict[str, Any] = {}
        for key, default in keys.items():
            if (rule, key) in RULE_CHOICES:
                typ: Any = RULE_CHOICES[(rule, key)]
            elif isinstance(default, bool):
                typ = bool
            elif isinstance(default, int):
                typ = Annotated[int, Field(ge=1, le=1_000_000)]
            elif isinstance(default, float):
                typ = Annotated[float, Field(gt=0, le=1000)]
            elif isinstance(default, list):
                typ = list[str | int]
            else:
                typ = str | None
            fields[key] = (typ, default)
        models[rule] = create_model(f"Rule_{rule}", __config__=ConfigDict(extra="forbid", strict=True), **fields)
    return models


#: What the patterns of the schema mean, in words (a message never shows a regular expression).
PATTERN_WORDS = {
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$": "a plain folder name: letters, digits, '.', '_' or '-', starting with a "
                                     "letter or digit (no '/' or '..')",
    r"^\d+(\.\d+)?\s*[KMGT]i?B$": "a size such as 4GB, 512MB or 1.5GiB (a number and KB, MB, GB or TB)",
    r"^sc://": "a Spark Connect URL starting with sc://, e.g. sc://spark.example.com:15002",
    r"^[a-z][a-z0-9+]*://": "a URL starting with the backend name and ://, e.g. snowflake://user@account/db",
}


def _expected(err: dict) -> str:
    """What the schema expected, in words."""
    kind, ctx, msg = err["type"], err.get("ctx") or {}, err["msg"]
    if kind == "string_pattern_mismatch":
        return PATTERN_WORDS.get(ctx.get("pattern", ""), "text of the documented form (see defaults.yaml)")
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    msg = msg.removeprefix("Input should be ")
    if kind in ("model_type", "dict_type"):
        return "a mapping of keys to values (an empty section is not allowed: remove it or give keys)"
    if kind == "missing":
        return "a value (the key is missing)"
    return msg[0].lower() + msg[1:]


def _format(err: dict, where: str) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "int", "str",
                                                                                        "literal", "constrained"))))
    loc = loc.replace(".function-after[", "[")
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown key '{loc}'"
    value = err.get("input")
    if err["type"] == "value_error" and isinstance(value, dict):  # a check across keys of one section
        return f"{where}: {loc + '.' if loc else ''}{err['msg'].removeprefix('Value error, ')}"
    shown = "an empty value (null)" if value is None else repr(value)
    return f"{where}: {loc} = {shown}: expected {_expected(err)}"


def validate_config(cfg: dict, where: str = "config") -> dict:
    """Check a merged run config against the schema; return it unchanged.

    Parameters
    ----------
    cfg : dict
        Defaults merged with a user file (``config.load_config``).
    where : str
        The file, for messages.

    Raises
    ------
    ConfigError
        Naming the file, each bad key path, its value and what was expected.
    """
    try:
        RunConfig.model_validate(cfg)
    except ValidationError as exc:
        lines = list(dict.fromkeys(_format(e, where) for e in exc.errors(include_url=False)))
        raise ConfigError("Invalid configuration:\n  " + "\n  ".join(lines)) from None
    problems = _rule_problems(cfg["cleaning"]["rules"] or {}, where)
    if problems:
        raise ConfigError("Invalid configuration:\n  " + "\n  ".join(problems))
    return cfg


def validate_section(values: dict, where: str = "notebook parameters") -> dict:
    """Check one config section (e.g. a notebook's parameters laid over it); return it unchanged.

    The section is recognised by its keys. Messages name the key path as in the
    config file (e.g. ``clustering.k``).

    Raises
    ------
    ConfigError
        As :func:`validate_config`.
    """
    for name, info in RunConfig.model_fields.items():
        model = info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel) and set(model.model_fields) == set(values):
            try:
                model.model_validate(values)
            except ValidationError as exc:
                lines = [_format({**e, "loc": (name, *e["loc"])}, where) for e in exc.errors(include_url=False)]
                raise ConfigError("Invalid parameters:\n  " + "\n  ".join(dict.fromkeys(lines))) from None
            problems = _rule_problems(values.get("rules") or {}, where) if name == "cleaning" else []
            if problems:
                raise ConfigError("Invalid parameters:\n  " + "\n  ".join(problems))
    return values


def _rule_problems(rules: dict, where: str) -> list[str]:
    """Problems of ``cleaning.rules`` against ``resources/cleaning_rules.yaml``."""
    if not isinstance(rules, dict):
        return [f"{where}: cleaning.rules = {rules!r}: expected a mapping of rule names to settings"]
    models = _rule_models()
    problems = []
    for rule, keys in rules.items():
        if rule not in models:
            problems.append(f"{where}: cleaning.rules.{rule}: unknown rule. Valid rules: {', '.join(models)}")
            continue
        if not isinstance(keys, dict):
            problems.append(f"{where}: cleaning.rules.{rule} = {keys!r}: expected a mapping of rule keys to values")
            continue
        unknown = [k for k in keys if k not in models[rule].model_fields]
        for k in unknown:
            problems.append(f"{where}: cleaning.rules.{rule}.{k}: unknown key. Valid keys of {rule}: "
                            f"{', '.join(models[rule].model_fields)}")
        try:
            models[rule].model_validate({k: v for k, v in keys.items() if k not in unknown})
        except ValidationError as exc:
            problems += [_format({**e, "loc": ("cleaning", "rules", rule, *e["loc"])}, where)
                         for e in exc.errors(include_url=False)]
    return problems


def _columns(path: Path) -> list[str]:
    """Header of a CSV, Parquet or Excel table (no data rows read)."""
    ext = path.suffix.lower()
    if ext == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if ext in (".xlsx", ".xls"):
        return [str(c) for c in pd.read_excel(path, nrows=0).columns]
    return [str(c) for c in pd.read_csv(path, nrows=0).columns]


def check_input_files(cfg: dict, where: str = "config") -> None:
    """Check every file the config names besides the transactions: exists, readable, required columns.

    Checked: ``experiment.assignment_path`` (mode ``transactions``: user, variant and
    exposure columns), ``experiment.table_path`` (mode ``table``: user, variant,
    metric, covariate and segment columns) and a custom ``rfm.scheme`` file (loaded
    and validated like a run would).

    Raises
    ------
    ConfigError
        Naming the key, the file and the missing columns or the read error.
    """

    e = cfg["experiment"]
    checks = []
    if e["mode"] == "transactions":
        checks.append(("experiment.assignment_path", e["assignment_path"],
                       [e["user_column"] or "customer_id", e["variant_column"], e["exposure_column"]]))
    elif e["mode"] == "table":
        segs = [c for c in e["segment_columns"] or []]
        checks.append(("experiment.table_path", e["table_path"],
                       [*([e["user_column"]] if e["user_column"] else []), e["variant_column"],
                        *e["binary_metrics"], *e["continuous_metrics"],
                        *([e["covariate"]] if e["covariate"] else []), *segs]))
    for key, value, needed in checks:
        path = resolve_path(value)
        if path is None or not path.is_file():
            raise ConfigError(f"{where}: {key} = {value!r}: expected an existing file; it was not found.")
        try:
            cols = _columns(path)
        except Exception as exc:  # any read error of a user file becomes a message
            raise ConfigError(f"{where}: {key}: cannot read {path.name} ({type(exc).__name__}: {exc}).") from exc
        missing = [c for c in dict.fromkeys(needed) if c not in cols]
        if missing:
            raise ConfigError(f"{where}: {key}: {path.name} lacks required column(s) {missing}; "
                              f"columns found: {cols}.")
    _check_scheme_file(cfg, where)


def _check_scheme_file(cfg: dict, where: str) -> None:
    """A custom ``rfm.scheme`` file: found, valid, and written for ``rfm.n_levels`` score levels."""
    scheme = cfg["rfm"]["scheme"]
    if not str(scheme).endswith((".yaml", ".yml")):
        return
    path = resolve_path(scheme)
    if path is None or not path.is_file():
        raise ConfigError(f"{where}: rfm.scheme = {scheme!r}: expected en11, zh8 or an existing rules YAML; "
                          "the file was not found.")
    try:
        loaded = rfm.load_scheme(scheme)
    except ConfigError as exc:
        raise ConfigError(f"{where}: rfm.scheme ({path.name}): {exc}") from exc
    n_levels = cfg["rfm"]["n_levels"]
    if loaded.type == "score_grid" and (loaded.n_levels or 5) != n_levels:
        raise ConfigError(f"{where}: rfm.n_levels = {n_levels}: expected {loaded.n_levels or 5}, the score "
                          f"levels the rules of {path.name} are written for.")

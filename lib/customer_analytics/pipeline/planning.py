"""What a run runs: the period, the notebooks and their inputs, the kernel and the notebooks' parameters.

Each check here runs before anything is written: a bad period, a missing input file
or an unregistered kernel stops the run with a message.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.core.paths import resolve_path
from customer_analytics.models import cleaning
from customer_analytics.pipeline import context
from customer_analytics.pipeline.run_folder import rel

NOTEBOOKS = ["01_data_cleaning", "02_rfm_scoring", "03_clustering", "04_ab_evaluation", "05_clv_churn", "06_lifecycle",
             "07_profiles", "08_targeting"]
#: The notebooks that need only an experiment: the evaluation (04) and the targeting learned from it (08).
EXPERIMENT_NOTEBOOKS = ("04_ab_evaluation", "08_targeting")
KERNEL_NAME = "customer-analytics"


@dataclass
class Plan:
    """Which notebooks a run executes, which it skips and why, and its inputs.

    ``transactions`` is None for an experiment-only report (then ``experiment_table``
    is the only input and ``label`` names the report folder when no period is given).
    """

    notebooks: list[str]
    skipped: dict[str, str]
    transactions: Path | None
    experiment_table: Path | None = None
    label: str | None = None
    named: bool = False  # label comes from experiment.name

    @property
    def experiment_only(self) -> bool:
        return self.transactions is None


def plan_notebooks(cfg: dict, data: str | Path | None = None, config_path: str | Path | None = None) -> Plan:
    """Decide which notebooks run: those whose inputs exist; say why the others are skipped.

    Notebooks 01-03 need transaction data (``--data`` or ``data.path``; see
    :func:`context.transactions_path`: in experiment ``mode: table`` without a
    ``data.path`` there is none). Notebook 04 needs an experiment: ``mode: table``
    with its ``table_path``, or ``mode: transactions`` with the assignment table and
    transaction data; ``mode: none`` skips it. Notebook 08 (targeting) runs when 04 does, except in
    ``mode: table`` without ``targeting.features`` (there is nothing to learn from).

    Raises
    ------
    ConfigError
        When a configured input file does not exist, or nothing would run.
    """
    tx = context.transactions_path(cfg, config_path, data)
    e = cfg["experiment"]
    skipped: dict[str, str] = {}
    if tx is None:
        skipped = {nb: "no transaction data (experiment mode 'table' without data.path)" for nb in NOTEBOOKS
                   if nb not in EXPERIMENT_NOTEBOOKS}
    table, why_not_04 = _experiment_input(e, tx)
    if why_not_04:
        skipped.update(dict.fromkeys(EXPERIMENT_NOTEBOOKS, why_not_04))
    elif e["mode"] == "table" and not (cfg.get("targeting") or {}).get("features"):
        skipped["08_targeting"] = ("no features to learn targeting from (experiment mode 'table' without "
                                   "targeting.features)")
    run = [nb for nb in NOTEBOOKS if nb not in skipped]
    if not run:
        raise ConfigError("Nothing to run: no transaction data and no experiment. Set data.path or an experiment.")
    return Plan(run, skipped, tx, table, context.experiment_label(cfg) if tx is None else None, bool(e.get("name")))


def _experiment_input(e: dict, tx: Path | None) -> tuple[Path | None, str | None]:
    """Check the experiment's input files; its table (mode 'table') and why notebook 04 is skipped (mode 'none')."""
    if e["mode"] == "none":
        return None, "no experiment configured (experiment.mode: none)"
    if e["mode"] == "table":
        table = resolve_path(e["table_path"])
        if table is None or not table.exists():
            raise ConfigError(f"experiment.table_path must name an existing file for mode 'table', got {e['table_path']!r}")
        return table, None
    if e["mode"] == "transactions":
        if tx is None:
            raise ConfigError("experiment.mode 'transactions' derives outcomes from transaction data, but data.path "
                              "is null: set data.path, or use mode 'table' with a per-user table_path.")
        ap = resolve_path(e["assignment_path"])
        if ap is None or not ap.exists():
            raise ConfigError(f"experiment.assignment_path must name an existing file, got {e['assignment_path']!r}")
        return None, None
    raise ConfigError(f"experiment.mode must be transactions, table or none, got '{e['mode']}'")


def experiment_only_period(plan: Plan, period: str | None) -> tuple[str, str | None]:
    """Folder label and period end of an experiment-only report.

    The label is ``experiment.name`` when set, else the given period, else the table's
    file stem; the period end is the given period's last day, or None.
    """
    per = resolve_period(period) if period not in (None, "", "latest") else None
    period_end = str(pd.Period(per, freq="M").end_time.date()) if per else None
    return (plan.label if plan.named or not per else per), period_end


def resolve_period(spec: str | None, dates: pd.Series | None = None, today: dt.date | None = None) -> str:
    """Turn ``--period`` into 'YYYY-MM'.

    ``None``/``latest``: the last complete month in the data. ``previous``: the last
    complete calendar month before today (what a monthly cron job wants).
    """
    today = today or dt.date.today()
    if spec in (None, "", "latest"):
        if dates is None:
            raise ConfigError("'latest' depends on the data and is allowed only for --period; give --from/--to "
                              "as YYYY-MM (or 'previous')")
        return str(cleaning.last_complete_month(dates, pd.Timestamp(today)))
    if spec == "previous":
        return str(pd.Period(today, freq="M") - 1)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", spec):
        raise ConfigError(f"--period must be YYYY-MM, 'previous' or 'latest', got '{spec}'")
    return spec


def month_range(start: str, end: str) -> list[str]:
    """Every 'YYYY-MM' from ``start`` to ``end`` inclusive."""
    a, b = pd.Period(resolve_period(start), freq="M"), pd.Period(resolve_period(end), freq="M")
    if b < a:
        raise ConfigError(f"--from {start} is after --to {end}")
    return [str(p) for p in pd.period_range(a, b, freq="M")]


def check_kernel(name: str = KERNEL_NAME) -> str:
    """Return the kernel's interpreter; fail clearly if it is missing or points at a dead Python."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel as exc:
        raise ConfigError(f"Jupyter kernel '{name}' is not registered. Run `make env` (it registers the kernel "
                          "with the project's .venv interpreter).") from exc
    python = spec.argv[0]
    if not Path(python).exists():
        raise ConfigError(f"Kernel '{name}' points at {python}, which does not exist (the .venv was moved or "
                          "rebuilt). Run `make env` to re-register it.")
    return python


def notebook_parameters(nb_path: Path, shared: dict) -> dict:
    """The shared run parameters the notebook declares.

    A notebook's own settings are not passed: every notebook reads them from the run's
    resolved configuration (``run_config.json`` in the staging folder), loaded once here.
    """
    import papermill as pm

    declared = set(pm.inspect_notebook(str(nb_path)))
    return {k: v for k, v in shared.items() if k in declared}


def staged_config(cfg: dict) -> dict:
    """The configuration handed to the notebooks: file names relative to the project root."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in cfg.items()}
    for section in ("data", "cleaning", "rfm", "clustering", "experiment", "clv", "lifecycle", "profiles", "targeting"):
        for key, value in out[section].items():
            if _is_path(key, value):
                out[section][key] = rel(resolve_path(value))
    return out


def _is_path(key: str, value) -> bool:
    """Config values naming files (passed to notebooks relative to the project root)."""
    return isinstance(value, str) and bool(value) and (
        key.endswith("_path") or (key == "scheme" and value.endswith((".yaml", ".yml"))))

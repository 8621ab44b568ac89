"""The report runner: papermill over the notebooks, atomically, with a record of the run.

A run works in ``reports/.staging/<period>-<timestamp>/`` and is moved to
``reports/<period>/`` only when every notebook succeeded, so a failed, interrupted
or killed run never leaves a report that looks finished and never replaces a good
one. A failed run's folder (with the executed notebook showing the error) is
moved to ``reports/_failed/<period>-<timestamp>/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from customer_analytics.core import privacy
from customer_analytics.core.errors import (
    ConfigError,
    InputError,
    LockHeldError,
    OutputError,
    ReportExistsError,
    StaleDataError,
)
from customer_analytics.core.paths import project_root, resolve_path
from customer_analytics.io import reading
from customer_analytics.models import cleaning
from customer_analytics.pipeline import context
from customer_analytics.report import exports, narrative, publishing
from customer_analytics.settings import schema
from customer_analytics.settings.loading import load_config

NOTEBOOKS = ["01_data_cleaning", "02_rfm_scoring", "03_clustering", "04_ab_evaluation", "05_clv_churn"]
KERNEL_NAME = "customer-analytics"
KEY_PACKAGES = ["pandas", "numpy", "scipy", "scikit-learn", "statsmodels", "matplotlib", "seaborn",
                "papermill", "nbconvert", "pyarrow", "pymc-marketing", "customer-analytics"]


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook, the cell and the exception."""


#: What the current run is doing, for the one-line message of an unexpected error.
current_step = {"name": "starting"}
LOCK_DIR = ".locks"  # reports/.locks/<period>.lock: held (flock) by the run of that period


def _step(name: str) -> None:
    current_step["name"] = name


def rel(path: str | Path | None) -> str:
    """``path`` relative to the project root (POSIX separators), as written into reports and run.json."""
    if path is None or str(path) == "":
        return ""
    if reading.EngineSource.parse(path) is not None:  # a table or Parquet set in the engine: named as configured
        return str(path)
    return Path(os.path.relpath(Path(path).resolve(), project_root())).as_posix()


def disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is 'no space left' or 'quota exceeded'."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


class PeriodLock:
    """An exclusive, non-blocking lock on ``reports/.locks/<period>.lock`` (released when the process dies)."""

    def __init__(self) -> None:
        self.fh = None

    def acquire(self, reports: Path, period: str) -> None:
        path = reports / LOCK_DIR / f"{period}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(path, "a+")  # noqa: SIM115 - held open for the whole run
        except OSError as exc:
            raise OutputError(f"Cannot write to the reports folder {reports}: {exc.strerror}. "
                              "Choose a writable folder with --reports-dir (or free disk space).") from exc
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.close()
            raise LockHeldError(f"Another run is reporting {period} into {reports} right now (lock {path.name} "
                                "is held). Wait for it to finish, then rerun.") from exc
        self.fh = fh

    def release(self) -> None:
        if self.fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None


def _lock_is_free(reports: Path, period: str) -> bool:
    path = reports / LOCK_DIR / f"{period}.lock"
    if not path.exists():
        return True
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
    return True


def remove_stale_staging(reports: Path, period: str) -> list[str]:
    """Remove staging folders left by killed runs; returns their names.

    A folder of ``period`` is stale because the caller holds that period's lock; a
    folder of another period is stale when nobody holds that period's lock.
    """
    st = reports / context.STAGING_DIR
    removed = []
    for folder in sorted(st.iterdir()) if st.exists() else []:
        other = folder.name[:7]
        if folder.is_dir() and (other == period or _lock_is_free(reports, other)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def prune_failed(reports: Path, keep: int) -> list[str]:
    """Keep the newest ``keep`` folders in ``reports/_failed/`` (by run time stamp); returns those removed."""
    folder = reports / "_failed"
    runs = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name.rsplit("-", 1)[-1]) \
        if folder.exists() else []
    gone = runs[:max(len(runs) - keep, 0)]
    for p in gone:
        shutil.rmtree(p, ignore_errors=True)
    return [p.name for p in gone]


def scrub_errors(notebook: Path, ids: set[str]) -> None:
    """Mask customer ids quoted in the error outputs of an executed notebook (masked runs)."""
    if not notebook.exists():
        return
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    key = privacy.mask_key()
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["evalue"] = privacy.scrub(out.get("evalue", ""), ids, key)
                out["traceback"] = [privacy.scrub(t, ids, key) for t in out.get("traceback", [])]
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out["text"]) if isinstance(out.get("text"), list) else out.get("text", "")
                out["text"] = privacy.scrub(text, ids, key)
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def rewrite_paths(notebook: Path, staging: Path, final: Path) -> None:
    """Point an executed notebook at the published folder, with paths relative to the project root."""
    text = notebook.read_text(encoding="utf-8")
    root = str(project_root())
    for old, new in ((str(staging), rel(final)), (rel(staging), rel(final)), (root + "/", "")):
        text = text.replace(old, new)
    notebook.write_text(text, encoding="utf-8")


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
    transaction data; ``mode: none`` skips it.

    Raises
    ------
    ConfigError
        When a configured input file does not exist, or nothing would run.
    """
    tx = context.transactions_path(cfg, config_path, data)
    e = cfg["experiment"]
    skipped: dict[str, str] = {}
    if tx is None:
        for nb in NOTEBOOKS:
            if nb != "04_ab_evaluation":
                skipped[nb] = "no transaction data (experiment mode 'table' without data.path)"
    table = None
    if e["mode"] == "none":
        skipped["04_ab_evaluation"] = "no experiment configured (experiment.mode: none)"
    elif e["mode"] == "table":
        table = resolve_path(e["table_path"])
        if table is None or not table.exists():
            raise ConfigError(f"experiment.table_path must name an existing file for mode 'table', got {e['table_path']!r}")
    elif e["mode"] == "transactions":
        if tx is None:
            raise ConfigError("experiment.mode 'transactions' derives outcomes from transaction data, but data.path "
                              "is null: set data.path, or use mode 'table' with a per-user table_path.")
        ap = resolve_path(e["assignment_path"])
        if ap is None or not ap.exists():
            raise ConfigError(f"experiment.assignment_path must name an existing file, got {e['assignment_path']!r}")
    else:
        raise ConfigError(f"experiment.mode must be transactions, table or none, got '{e['mode']}'")
    run = [nb for nb in NOTEBOOKS if nb not in skipped]
    if not run:
        raise ConfigError("Nothing to run: no transaction data and no experiment. Set data.path or an experiment.")
    return Plan(run, skipped, tx, table, context.experiment_label(cfg) if tx is None else None, bool(e.get("name")))


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


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_state(root: Path) -> dict:
    """Commit and dirty flag of the project checkout (None outside git)."""
    def run(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    commit = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def versions() -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for p in KEY_PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[p] = importlib.metadata.version(p)
    return out


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
    for section in ("data", "cleaning", "rfm", "clustering", "experiment", "clv"):
        for key, value in out[section].items():
            if _is_path(key, value):
                out[section][key] = rel(resolve_path(value))
    return out


def _is_path(key: str, value) -> bool:
    """Config values naming files (passed to notebooks relative to the project root)."""
    return isinstance(value, str) and bool(value) and (
        key.endswith("_path") or (key == "scheme" and value.endswith((".yaml", ".yml"))))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class _Terminated(Exception):
    pass


def _on_sigterm(signum, frame):  # pragma: no cover - exercised by killing a run
    raise _Terminated("terminated by signal")


def _kernel_manager_class(ipc_dir: Path):
    """A jupyter_client kernel manager on IPC transport, its sockets in ``ipc_dir``.

    The kernel talks to the runner over local Unix sockets in a private temporary
    folder instead of TCP ports: nothing listens on the network, and ipykernel prints
    no "running over TCP without encryption" warning into the scheduler's log.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _IPC(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", str(ipc_dir / f"kernel-{time.time_ns()}"))
            super().__init__(**kwargs)

    return _IPC


def input_record(role: str, path: Path, rows: int | None = None) -> dict:
    """Path (relative to the project root), size, sha256 and row count of an input file.

    An engine source (a table, a Parquet set) is recorded by name and row count: it has no one file to hash.
    """
    if reading.EngineSource.parse(path) is not None:
        return {"role": role, "path": str(path), "size_bytes": None, "sha256": None, "rows": rows}
    return {"role": role, "path": rel(path), "size_bytes": path.stat().st_size, "sha256": sha256(path), "rows": rows}


def other_inputs(cfg: dict) -> list[dict]:
    """Records of the input files besides the transactions that this config makes the notebooks read."""
    out = []
    e = cfg["experiment"]
    files = {"transactions": ("assignments", e.get("assignment_path")), "table": ("experiment_table", e.get("table_path"))}
    role, value = files.get(e.get("mode"), (None, None))
    path = resolve_path(value) if value else None
    if path is not None and path.is_file():
        out.append(input_record(role, path, len(context.read_table(path))))
    scheme = str(cfg["rfm"].get("scheme", ""))
    if scheme.endswith((".yaml", ".yml")):
        sp = resolve_path(scheme)
        if sp is not None and sp.is_file():
            out.append(input_record("segment_rules", sp))
    return out


def run_report(period: str | None = None, data: str | None = None, config: str | None = None,
               show_code: bool = False, force: bool = False, reports_dir: str | Path | None = None,
               notebooks_dir: str | Path | None = None, kernel_name: str = KERNEL_NAME,
               progress: bool = True, verbose: bool = False, check_only: bool = False,
               argv: list[str] | None = None, today: dt.date | None = None, language: str | None = None) -> Path:
    """Run every notebook for one period and publish ``reports/<period>/`` atomically.

    Returns the path of the period folder. Raises :class:`ReportExistsError` when the
    period exists and ``force`` is false, :class:`StaleDataError` when the data has no
    transactions in the period, :class:`InputError`/:class:`ConfigError` for bad input
    (all before anything is written), :class:`LockHeldError` when another run reports
    the same period, :class:`OutputError` when the output folder cannot be written or
    fills up (the run's own files are removed) and :class:`NotebookFailed` for a failing
    notebook (after moving the run to ``reports/_failed/``, which keeps the newest
    ``report.keep_failed`` runs).

    ``progress`` prints one line per notebook (and per cell with ``verbose``);
    ``check_only`` stops after every check and prints the plan, writing nothing.
    """
    lock = PeriodLock()
    try:
        return _run_report(lock, period, data, config, show_code, force, reports_dir, notebooks_dir, kernel_name,
                           progress, verbose, check_only, argv, today, language)
    finally:
        lock.release()


def _run_report(lock: PeriodLock, period, data, config, show_code, force, reports_dir, notebooks_dir, kernel_name,
                progress, verbose, check_only, argv, today, language=None) -> Path:
    _step("checking the configuration")
    root = project_root()
    reports = Path(reports_dir) if reports_dir else root / "reports"
    nb_dir = Path(notebooks_dir) if notebooks_dir else root / "notebooks"
    cfg_path = resolve_path(config) if config else None
    cfg = load_config(cfg_path)
    if language:  # --language overrides the config's report language
        cfg["language"] = language
    schema.check_input_files(cfg, f"config file {config}" if config else "defaults.yaml")
    if cfg["mask_ids"]:
        privacy.mask_key()
    plan = plan_notebooks(cfg, data, cfg_path)
    data_path = plan.transactions
    kernel_python = check_kernel(kernel_name)

    _step("loading the input")
    t_load = time.time()
    if plan.experiment_only:  # a per-user experiment table and no transactions: notebook 04 only
        per, period_end = experiment_only_period(plan, period)
        loaded = None
        rows = len(context.read_table(plan.experiment_table))
        coverage = {"partial_month": None, "data_first": None, "data_last": None, "rows_in_period": rows}
        inputs = [input_record("experiment_table", plan.experiment_table, rows)]
        data_name = plan.experiment_table.name
    else:
        loaded = context.load(cfg, data_path)  # validates the input before anything is written
        today_ts = pd.Timestamp(today or dt.date.today())
        per = resolve_period(period, loaded.data["order_date"], today_ts.date())
        coverage = context.period_coverage(loaded.data["order_date"], per, today_ts)
        context.check_coverage(coverage, data_path.name)
        period_end = coverage["period_end"]
        inputs = [input_record("transactions", data_path, len(loaded.data)), *other_inputs(cfg)]
        data_name = data_path.name
    stale = []
    if not check_only:
        _step("preparing the report folder")
        lock.acquire(reports, per)
        stale = remove_stale_staging(reports, per)
        if stale:
            print(f"Removed stale staging folder(s) of interrupted runs: {', '.join(stale)}", file=sys.stderr,
                  flush=True)
    final = reports / per
    if final.exists() and not force and not check_only:
        raise ReportExistsError(f"A report for {per} already exists at {final}. Rerun with --force "
                                f"(make report PERIOD={per} FORCE=1) to replace it after a successful new run.")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging = reports / context.STAGING_DIR / f"{per}-{stamp}"
    shared = {"period_end": period_end, "data_path": rel(data_path), "config_path": rel(cfg_path),
              "run_dir": rel(staging), "seed": int(cfg["seed"]), "language": cfg["language"],
              "mask_ids": bool(cfg["mask_ids"])}
    record = {
        "period": per, "period_end": period_end, "status": "running", "started": _now(),
        "dataset": narrative.dataset_name(cfg_path, data_path or plan.experiment_table), "partial_month": coverage["partial_month"],
        "skipped": plan.skipped,
        "coverage": {k: coverage[k] for k in ("data_first", "data_last", "rows_in_period")},
        "parameters": {"shared": {**shared, "run_dir": rel(final)}, "argv": _relative_args(argv), "show_code": show_code,
                       "force": force, "notebooks": {}},
        "inputs": inputs,
        "input_read": {"encoding": loaded.encoding, "preset": loaded.preset} if loaded is not None else None,
        "environment": {**versions(), "kernel": kernel_name, "kernel_python": rel(kernel_python)},
        "git": git_state(root), "notebooks": [], "error": None, "removed_stale_staging": stale,
    }
    raw_ids = set(loaded.data["customer_id"].dropna().unique()) if cfg["mask_ids"] and loaded is not None else set()
    # check every notebook and its parameters before anything is written
    sources = {name: nb_dir / f"{name}.ipynb" for name in plan.notebooks}
    missing = [str(p) for p in sources.values() if not p.exists()]
    if missing:
        raise ConfigError(f"Notebook(s) not found: {missing}")
    all_params = {name: notebook_parameters(src, shared) for name, src in sources.items()}
    part = coverage["partial_month"]
    if check_only:
        if plan.experiment_only:
            print(f"Check passed for {per}: experiment table {data_name}, {coverage['rows_in_period']:,} users.",
                  flush=True)
        else:
            print(f"Check passed for {per} (period end {period_end}): {coverage['rows_in_period']:,} lines in the "
                  f"period; the data runs from {coverage['data_first']} to {coverage['data_last']}"
                  + (f"; PARTIAL MONTH: data ends {part['data_ends']}" if part else "") + ".", flush=True)
        print(f"Would run {', '.join(plan.notebooks)} into {rel(final)}"
              + (" (replacing it)" if final.exists() else ""), flush=True)
        for name, why in plan.skipped.items():
            print(f"Would skip {name}: {why}", flush=True)
        return final
    try:
        staging.mkdir(parents=True)
        _write_json(staging / context.RUN_CONFIG, staged_config(cfg))  # the one configuration every notebook of the run uses
        if loaded is not None:
            context.save_input(loaded, staging)
            _write_json(staging / context.PERIOD_FILE, coverage)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(f"Cannot create the run folder under {reports}: {exc.strerror}. Choose a writable "
                          "folder with --reports-dir (or free disk space).") from exc
    del loaded
    if progress:
        print(f"Report {per} ({f'period end {period_end}' if period_end else 'no period'}); input {data_name}: "
              f"{inputs[0]['rows']:,} rows checked in {time.time() - t_load:.1f}s"
              + (f". PARTIAL MONTH: the data ends {part['data_ends']}" if part else ""), flush=True)
        for name, why in plan.skipped.items():
            print(f"Skipped {name}: {why}", flush=True)

    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    if verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    bar = progress and verbose and sys.stdout.isatty()
    old_handler = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
    ipc_dir = Path(tempfile.mkdtemp(prefix="ca-kernel-"))
    kernel_manager = _kernel_manager_class(ipc_dir)
    try:
        for i, name in enumerate(plan.notebooks, 1):
            src, params = sources[name], all_params[name]
            record["parameters"]["notebooks"][name] = {k: v for k, v in params.items() if k not in shared}
            entry = {"name": name, "status": "running", "start": _now()}
            record["notebooks"].append(entry)
            t0 = time.time()
            _step(f"running notebook {name}")
            out_nb = staging / f"{name}.ipynb"
            try:
                pm.execute_notebook(str(src), str(out_nb), parameters=params, kernel_name=kernel_name,
                                    cwd=str(nb_dir), progress_bar=bar, log_output=verbose and not bar,
                                    kernel_manager_class=kernel_manager,
                                    # the kernel's own log (shutdown chatter) stays out of the scheduler's log;
                                    # a failing cell still reaches the console through papermill
                                    extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
            except PapermillExecutionError as exc:
                entry.update(status="failed", end=_now(), duration_s=round(time.time() - t0, 2))
                detail = f"{exc.ename}: {exc.evalue}"
                if raw_ids:  # a masked run: error messages must not quote customer ids either
                    scrub_errors(out_nb, raw_ids)
                    detail = privacy.scrub(detail, raw_ids)
                raise NotebookFailed(f"Notebook {name} failed in cell {exc.cell_index} (execution count "
                                     f"{exc.exec_count}): {detail}") from exc
            rewrite_paths(out_nb, staging, final)
            publishing.export_html(out_nb, staging / f"{name}.html", show_code=show_code)
            entry.update(status="success", end=_now(), duration_s=round(time.time() - t0, 2))
            if progress:
                print(f"[{i}/{len(plan.notebooks)}] {name} done in {entry['duration_s']:.1f}s", flush=True)
    except BaseException as exc:
        if disk_full(exc):
            _abandon(staging, exc)
        record.update(status="failed" if not isinstance(exc, (KeyboardInterrupt, _Terminated)) else "interrupted",
                      finished=_now(), error={"type": type(exc).__name__, "message": str(exc)})
        try:
            _drop_input_copy(staging)
            _write_json(staging / "run.json", record)
            failed = reports / "_failed" / f"{per}-{stamp}"
            failed.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(staging), failed)
            prune_failed(reports, int(cfg["report"]["keep_failed"]))
            publishing.write_index(reports, currency=cfg["report"]["currency"])
        except OSError as write_error:
            _abandon(staging, write_error)
        if isinstance(exc, _Terminated):
            raise KeyboardInterrupt(str(exc)) from exc
        raise
    finally:
        shutil.rmtree(ipc_dir, ignore_errors=True)
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)

    _step("publishing the report")
    record.update(status="success", finished=_now(), headlines=exports.collect_headlines(staging))
    record["duration_s"] = round(sum(n["duration_s"] for n in record["notebooks"]), 2)
    try:
        _drop_input_copy(staging)
        _write_json(staging / "run.json", record)
        _publish(staging, final, reports)
    except OSError as exc:
        if not disk_full(exc):
            raise
        _abandon(staging, exc)
    _cleanup_staging(reports)
    index = publishing.write_index(reports, currency=cfg["report"]["currency"])
    if progress:
        print(f"Report written to {final}" + (f" (PARTIAL MONTH: data ends {part['data_ends']})" if part else ""),
              flush=True)
    return index.parent / per


def _relative_args(argv: list[str] | None) -> list[str] | None:
    """The command line as given, with absolute paths shown relative to the project root."""
    if argv is None:
        return None
    return [rel(a) if os.path.isabs(a) else a for a in argv]


def _drop_input_copy(folder: Path) -> None:
    """The typed input copy served notebook 01 only; a published report does not carry the raw data."""
    for name in (context.INPUT_FILE, context.INPUT_META):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()


def _abandon(staging: Path, exc: BaseException) -> None:
    """Write nothing more: remove this run's staging files and stop with a message."""
    shutil.rmtree(staging, ignore_errors=True)
    why = "the disk is full" if disk_full(exc) else f"it cannot be written ({exc})"
    raise OutputError(f"Stopped: {why} under {staging.parent.parent}. This run's files were removed and "
                      "nothing was published; any earlier report is unchanged. Free space and rerun.") from exc


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _publish(staging: Path, final: Path, reports: Path) -> None:
    """Move the finished run into place; an older report is replaced only now."""
    if final.exists():
        old = reports / context.STAGING_DIR / f"{final.name}-replaced-{time.time_ns()}"
        os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)


def _cleanup_staging(reports: Path) -> None:
    st = reports / context.STAGING_DIR
    if st.exists() and not any(st.iterdir()):
        st.rmdir()


def backfill(start: str, end: str, **kwargs) -> dict[str, str]:
    """Run every period from ``start`` to ``end``.

    Returns ``{period: status}`` with status 'success', 'exists (skipped; ...)',
    'no data: ...' (the period guard refused it) or 'failed: ...'.
    """
    results: dict[str, str] = {}
    for per in month_range(start, end):
        if kwargs.get("progress", True):
            print(f"=== {per}", flush=True)
        try:
            run_report(period=per, **kwargs)
            results[per] = "checked" if kwargs.get("check_only") else "success"
        except ReportExistsError:
            results[per] = "exists (skipped; use --force to replace)"
        except StaleDataError as exc:
            results[per] = f"no data: {exc}"
            print(f"NO DATA {per}: {exc}", file=sys.stderr, flush=True)
        except (NotebookFailed, InputError, ConfigError, LockHeldError) as exc:
            results[per] = f"failed: {exc}"
            print(f"FAILED {per}: {exc}", file=sys.stderr, flush=True)
    return results

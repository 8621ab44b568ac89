"""The report runner: papermill over the notebooks, atomically, with a record of the run.

A run works in ``reports/.staging/<period>-<timestamp>/`` and is moved to
``reports/<period>/`` only when every notebook succeeded, so a failed, interrupted
or killed run never leaves a report that looks finished and never replaces a good
one. A failed run's folder (with the executed notebook showing the error) is
moved to ``reports/_failed/<period>-<timestamp>/``.

A run's request is a :class:`RunOptions`; :func:`run_report` takes it through named
steps (check, load, prepare the folder, plan, stage, execute, publish or record the
failure). What runs and its checks are in :mod:`customer_analytics.pipeline.planning`,
the lock, folders and run facts in :mod:`customer_analytics.pipeline.run_folder`; their
public names are importable from here too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
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
from customer_analytics.models import cleaning
from customer_analytics.pipeline import context, input_checks
from customer_analytics.pipeline.planning import (
    KERNEL_NAME,
    NOTEBOOKS,
    Plan,
    check_kernel,
    experiment_only_period,
    month_range,
    notebook_parameters,
    plan_notebooks,
    resolve_period,
    staged_config,
)
from customer_analytics.pipeline.run_folder import (
    KEY_PACKAGES,
    LOCK_DIR,
    REAL_ID_FILES,
    PeriodLock,
    abandon,
    cleanup_staging,
    disk_full,
    drop_database,
    drop_input_copy,
    git_state,
    input_record,
    mask_published_files,
    now,
    other_inputs,
    prune_failed,
    publish,
    rel,
    relative_args,
    remove_stale_staging,
    rewrite_paths,
    scrub_errors,
    sha256,
    versions,
    write_json,
)
from customer_analytics.report import exports, narrative, publishing
from customer_analytics.settings import schema
from customer_analytics.settings.loading import load_config

#: The public names of the runner, with those of its planning and run-folder parts (imported from here).
__all__ = [
    "KERNEL_NAME", "KEY_PACKAGES", "LOCK_DIR", "NOTEBOOKS", "NotebookFailed", "PeriodLock", "Plan", "REAL_ID_FILES",
    "RunOptions",
    "backfill", "check_kernel", "current_step", "disk_full", "experiment_only_period", "git_state",
    "input_record", "month_range", "notebook_parameters", "other_inputs", "plan_notebooks",
    "prune_failed", "rel", "remove_stale_staging", "resolve_period", "rewrite_paths", "run_report",
    "scrub_errors", "sha256", "staged_config", "versions",
]


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook, the cell and the exception."""


#: What the current run is doing, for the one-line message of an unexpected error.
current_step = {"name": "starting"}


def _step(name: str) -> None:
    current_step["name"] = name


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


@dataclass(frozen=True)
class RunOptions:
    """What a report run is asked to do: the arguments of :func:`run_report` (and of the ``report`` command).

    Attributes
    ----------
    period : str, optional
        The month to report: 'YYYY-MM', 'previous' or 'latest'; None means 'latest' (the last
        complete month in the data; see :func:`resolve_period`).
    data : str or Path, optional
        The transaction data (``--data``), used instead of the config's ``data.path``.
    config : str or Path, optional
        The run config file; None: the defaults.
    show_code : bool
        Show the code cells in the HTML reports.
    force : bool
        Replace an existing report of the period (only after the new run succeeded).
    reports_dir : str or Path, optional
        The reports folder; None: ``reports/`` in the project.
    notebooks_dir : str or Path, optional
        The folder of the notebooks to run; None: ``notebooks/`` in the project.
    kernel_name : str
        The Jupyter kernel the notebooks run in.
    progress : bool
        Print one line per notebook.
    verbose : bool
        With ``progress``, print every cell as it runs too.
    check_only : bool
        Stop after every check and print the plan, writing nothing.
    argv : list of str, optional
        The command line as given, recorded in ``run.json``.
    today : datetime.date, optional
        The day taken as today (for 'previous' and a partial month); None: the real date.
    language : str, optional
        The report language, overriding the config's ``language``.
    """

    period: str | None = None
    data: str | Path | None = None
    config: str | Path | None = None
    show_code: bool = False
    force: bool = False
    reports_dir: str | Path | None = None
    notebooks_dir: str | Path | None = None
    kernel_name: str = KERNEL_NAME
    progress: bool = True
    verbose: bool = False
    check_only: bool = False
    argv: list[str] | None = None
    today: dt.date | None = None
    language: str | None = None


@dataclass
class _Run:
    """One run's state, handed from step to step of :func:`_run_report` and filled in as the run goes."""

    options: RunOptions
    lock: PeriodLock
    root: Path
    reports: Path
    nb_dir: Path
    cfg_path: Path | None
    cfg: dict
    plan: Plan
    kernel_python: str
    t_load: float = 0.0
    loaded: cleaning.LoadResult | None = None
    per: str = ""
    period_end: str | None = None
    coverage: dict = field(default_factory=dict)
    inputs: list[dict] = field(default_factory=list)
    data_name: str = ""
    stale: list[str] = field(default_factory=list)
    final: Path = Path()
    stamp: str = ""
    staging: Path = Path()
    shared: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    raw_ids: set = field(default_factory=set)
    sources: dict[str, Path] = field(default_factory=dict)
    all_params: dict[str, dict] = field(default_factory=dict)


def _options(options: RunOptions | None, fields: dict) -> RunOptions:
    """``options`` with ``fields`` laid over it (no options: the defaults)."""
    return dataclasses.replace(options, **fields) if options is not None else RunOptions(**fields)


def run_report(options: RunOptions | None = None, /, **fields) -> Path:
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

    Parameters
    ----------
    options : RunOptions, optional
        What to run; None: the defaults of :class:`RunOptions`.
    **fields
        Fields of :class:`RunOptions` by name (``period=``, ``config=``, ``force=``, ...),
        laid over ``options``: ``run_report(period="2025-11", check_only=True)``.
    """
    opts = _options(options, fields)
    lock = PeriodLock()
    try:
        return _run_report(lock, opts)
    finally:
        lock.release()


def _run_report(lock: PeriodLock, opts: RunOptions) -> Path:
    """The steps of a run: check, load, prepare the folder, plan, then stage, execute and publish (or stop)."""
    run = _check_config(opts, lock)
    try:
        _load_input(run)
        _prepare_folder(run)
        _plan_run(run)
        if opts.check_only:
            _print_check(run)
            return run.final
        _stage(run)
        _execute_notebooks(run)
        return _publish_run(run)
    finally:  # a failed or refused run leaves no empty staging folder behind
        cleanup_staging(run.reports)


def _check_config(opts: RunOptions, lock: PeriodLock) -> _Run:
    """Load and check the config, plan the notebooks and check the kernel; the run's state so far."""
    _step("checking the configuration")
    root = project_root()
    reports = Path(opts.reports_dir) if opts.reports_dir else root / "reports"
    nb_dir = Path(opts.notebooks_dir) if opts.notebooks_dir else root / "notebooks"
    cfg_path = resolve_path(opts.config) if opts.config else None
    cfg = load_config(cfg_path)
    if opts.language:  # --language overrides the config's report language
        cfg["language"] = opts.language
    schema.check_input_files(cfg, f"config file {opts.config}" if opts.config else "defaults.yaml")
    if cfg["mask_ids"]:
        privacy.mask_key()
    plan = plan_notebooks(cfg, opts.data, cfg_path)
    kernel_python = check_kernel(opts.kernel_name)
    return _Run(opts, lock, root, reports=reports, nb_dir=nb_dir, cfg_path=cfg_path, cfg=cfg, plan=plan,
                kernel_python=kernel_python)


def _load_input(run: _Run) -> None:
    """Read and check the input before anything is written: the period, its coverage, the input records."""
    _step("loading the input")
    run.t_load = time.time()
    if run.plan.experiment_only:  # a per-user experiment table and no transactions: notebook 04 only
        _load_experiment_table(run)
    else:
        _load_transactions(run)


def _load_experiment_table(run: _Run) -> None:
    """The input of an experiment-only run: the experiment table, and the report's label and period end."""
    table = run.plan.experiment_table
    run.per, run.period_end = experiment_only_period(run.plan, run.options.period)
    input_checks.check_experiment(run.cfg, None)
    rows = len(context.read_table(table))
    run.coverage = {"partial_month": None, "data_first": None, "data_last": None, "rows_in_period": rows}
    run.inputs = [input_record("experiment_table", table, rows)]
    run.data_name = table.name


def _load_transactions(run: _Run) -> None:
    """Load and validate the transactions, resolve the period and refuse one the data does not cover."""
    data_path = run.plan.transactions
    run.loaded = context.load(run.cfg, data_path)  # validates the input before anything is written
    dates = run.loaded.data["order_date"]
    today_ts = pd.Timestamp(run.options.today or dt.date.today())
    run.per = resolve_period(run.options.period, dates, today_ts.date())
    run.coverage = context.period_coverage(dates, run.per, today_ts)
    context.check_coverage(run.coverage, data_path.name)
    run.period_end = run.coverage["period_end"]
    data = run.loaded.data
    customers = data.loc[data["order_date"] < pd.Timestamp(run.period_end) + pd.Timedelta(days=1), "customer_id"]
    input_checks.check_data_dependent(run.cfg, customers)
    # every customer of the export counts for the join: an assigned customer may first buy after this period
    input_checks.check_experiment(run.cfg, data["customer_id"])
    run.inputs = [input_record("transactions", data_path, len(run.loaded.data)), *other_inputs(run.cfg)]
    run.data_name = data_path.name


def _prepare_folder(run: _Run) -> None:
    """Hold the period's lock and remove stale staging (not in a check); refuse an existing report without force."""
    opts, reports, per = run.options, run.reports, run.per
    if not opts.check_only:
        _step("preparing the report folder")
        run.lock.acquire(reports, per)
        run.stale = remove_stale_staging(reports, per)
        if run.stale:
            print(f"Removed stale staging folder(s) of interrupted runs: {', '.join(run.stale)}", file=sys.stderr,
                  flush=True)
    run.final = reports / per
    if run.final.exists() and not opts.force and not opts.check_only:
        raise ReportExistsError(f"A report for {per} already exists at {run.final}. Rerun with --force "
                                f"(make report PERIOD={per} FORCE=1) to replace it after a successful new run.")
    run.stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    run.staging = reports / context.STAGING_DIR / f"{per}-{run.stamp}"


def _plan_run(run: _Run) -> None:
    """The shared parameters, the run record and each notebook's parameters, all checked before anything is written."""
    cfg, plan = run.cfg, run.plan
    run.shared = {"period_end": run.period_end, "data_path": rel(plan.transactions), "config_path": rel(run.cfg_path),
                  "run_dir": rel(run.staging), "seed": int(cfg["seed"]), "language": cfg["language"],
                  "mask_ids": bool(cfg["mask_ids"])}
    run.record = _new_record(run)
    loaded = run.loaded
    run.raw_ids = set(loaded.data["customer_id"].dropna().unique()) if cfg["mask_ids"] and loaded is not None else set()
    # check every notebook and its parameters before anything is written
    sources = {name: run.nb_dir / f"{name}.ipynb" for name in plan.notebooks}
    missing = [str(p) for p in sources.values() if not p.exists()]
    if missing:
        raise ConfigError(f"Notebook(s) not found: {missing}")
    run.sources = sources
    run.all_params = {name: notebook_parameters(src, run.shared) for name, src in sources.items()}


def _new_record(run: _Run) -> dict:
    """The run's record (``run.json``) as it starts: what runs on which input, with which parameters and versions."""
    opts, plan, coverage, loaded = run.options, run.plan, run.coverage, run.loaded
    return {
        "period": run.per, "period_end": run.period_end, "status": "running", "started": now(),
        "dataset": narrative.dataset_name(run.cfg_path, plan.transactions or plan.experiment_table),
        "partial_month": coverage["partial_month"],
        "skipped": plan.skipped,
        "coverage": {k: coverage[k] for k in ("data_first", "data_last", "rows_in_period")},
        "parameters": {"shared": {**run.shared, "run_dir": rel(run.final)}, "argv": relative_args(opts.argv),
                       "show_code": opts.show_code, "force": opts.force, "notebooks": {}},
        "inputs": run.inputs,
        "input_read": {"encoding": loaded.encoding, "preset": loaded.preset} if loaded is not None else None,
        "environment": {**versions(), "kernel": opts.kernel_name, "kernel_python": rel(run.kernel_python)},
        "git": git_state(run.root), "notebooks": [], "error": None, "removed_stale_staging": run.stale,
    }


def _print_check(run: _Run) -> None:
    """What a check (``--check``) prints: the input's coverage and the notebooks that would run or be skipped."""
    coverage, plan, per = run.coverage, run.plan, run.per
    part = coverage["partial_month"]
    if plan.experiment_only:
        print(f"Check passed for {per}: experiment table {run.data_name}, {coverage['rows_in_period']:,} users.",
              flush=True)
    else:
        print(f"Check passed for {per} (period end {run.period_end}): {coverage['rows_in_period']:,} lines in the "
              f"period; the data runs from {coverage['data_first']} to {coverage['data_last']}"
              + (f"; PARTIAL MONTH: data ends {part['data_ends']}" if part else "") + ".", flush=True)
    print(f"Would run {', '.join(plan.notebooks)} into {rel(run.final)}"
          + (" (replacing it)" if run.final.exists() else ""), flush=True)
    for name, why in plan.skipped.items():
        print(f"Would skip {name}: {why}", flush=True)


def _stage(run: _Run) -> None:
    """Create the staging folder with the run's configuration and the typed input copy; print the run's start."""
    staging = run.staging
    try:
        staging.mkdir(parents=True)
        write_json(staging / context.RUN_CONFIG, staged_config(run.cfg))  # the one configuration every notebook of the run uses
        if run.loaded is not None:
            context.save_input(run.loaded, staging)
            write_json(staging / context.PERIOD_FILE, run.coverage)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(f"Cannot create the run folder under {run.reports}: {exc.strerror}. Choose a writable "
                          "folder with --reports-dir (or free disk space).") from exc
    run.loaded = None  # the notebooks read the staged copy: the loaded data is not held while they run
    if run.options.progress:
        part = run.coverage["partial_month"]
        print(f"Report {run.per} ({f'period end {run.period_end}' if run.period_end else 'no period'}); input "
              f"{run.data_name}: {run.inputs[0]['rows']:,} rows checked in {time.time() - run.t_load:.1f}s"
              + (f". PARTIAL MONTH: the data ends {part['data_ends']}" if part else ""), flush=True)
        for name, why in run.plan.skipped.items():
            print(f"Skipped {name}: {why}", flush=True)


def _execute_notebooks(run: _Run) -> None:
    """Execute the planned notebooks in order in the kernel; a failed or interrupted run goes to ``_failed/``."""
    opts = run.options
    if opts.verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    bar = opts.progress and opts.verbose and sys.stdout.isatty()
    old_handler = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
    ipc_dir = Path(tempfile.mkdtemp(prefix="ca-kernel-"))
    kernel_manager = _kernel_manager_class(ipc_dir)
    try:
        for i, name in enumerate(run.plan.notebooks, 1):
            _execute_notebook(run, i, name, kernel_manager=kernel_manager, bar=bar)
    except BaseException as exc:
        _on_failure(run, exc)
        if isinstance(exc, _Terminated):
            raise KeyboardInterrupt(str(exc)) from exc
        raise
    finally:
        shutil.rmtree(ipc_dir, ignore_errors=True)
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)


def _execute_notebook(run: _Run, i: int, name: str, *, kernel_manager: type, bar: bool) -> None:
    """Execute the ``i``-th notebook into the staging folder, point it at the report folder and export its HTML."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    opts = run.options
    src, params = run.sources[name], run.all_params[name]
    run.record["parameters"]["notebooks"][name] = {k: v for k, v in params.items() if k not in run.shared}
    entry = {"name": name, "status": "running", "start": now()}
    run.record["notebooks"].append(entry)
    t0 = time.time()
    _step(f"running notebook {name}")
    out_nb = run.staging / f"{name}.ipynb"
    try:
        pm.execute_notebook(str(src), str(out_nb), parameters=params, kernel_name=opts.kernel_name,
                            cwd=str(run.nb_dir), progress_bar=bar, log_output=opts.verbose and not bar,
                            kernel_manager_class=kernel_manager,
                            # the kernel's own log (shutdown chatter) stays out of the scheduler's log;
                            # a failing cell still reaches the console through papermill
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except PapermillExecutionError as exc:
        entry.update(status="failed", end=now(), duration_s=round(time.time() - t0, 2))
        raise _notebook_failed(run, name, out_nb, exc) from exc
    rewrite_paths(out_nb, run.staging, run.final)
    publishing.export_html(out_nb, run.staging / f"{name}.html", show_code=opts.show_code)
    entry.update(status="success", end=now(), duration_s=round(time.time() - t0, 2))
    if opts.progress:
        print(f"[{i}/{len(run.plan.notebooks)}] {name} done in {entry['duration_s']:.1f}s", flush=True)


def _notebook_failed(run: _Run, name: str, out_nb: Path, exc) -> NotebookFailed:
    """The error of a failed notebook: its cell and exception (customer ids masked in a masked run)."""
    detail = f"{exc.ename}: {exc.evalue}"
    if run.raw_ids:  # a masked run: error messages must not quote customer ids either
        scrub_errors(out_nb, run.raw_ids)
        detail = privacy.scrub(detail, run.raw_ids)
    return NotebookFailed(f"Notebook {name} failed in cell {exc.cell_index} (execution count "
                          f"{exc.exec_count}): {detail}")


def _on_failure(run: _Run, exc: BaseException) -> None:
    """Record a failed or interrupted run and move it to ``reports/_failed/`` (a full disk: remove it instead)."""
    if disk_full(exc):
        abandon(run.staging, exc)
    run.record.update(status="failed" if not isinstance(exc, (KeyboardInterrupt, _Terminated)) else "interrupted",
                      finished=now(), error={"type": type(exc).__name__, "message": str(exc)})
    try:
        drop_input_copy(run.staging)
        drop_database(run.staging)
        write_json(run.staging / "run.json", run.record)
        failed = run.reports / "_failed" / f"{run.per}-{run.stamp}"
        failed.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(run.staging), failed)
        prune_failed(run.reports, int(run.cfg["report"]["keep_failed"]))
        publishing.write_index(run.reports, currency=run.cfg["report"]["currency"])
    except OSError as write_error:
        abandon(run.staging, write_error)


def _publish_run(run: _Run) -> Path:
    """Record the successful run, move it into ``reports/<period>/`` and rewrite the index; the report folder."""
    _step("publishing the report")
    staging, record = run.staging, run.record
    record.update(status="success", finished=now(), headlines=exports.collect_headlines(staging))
    record["duration_s"] = round(sum(n["duration_s"] for n in record["notebooks"]), 2)
    try:
        drop_input_copy(staging)
        drop_database(staging)
        if run.cfg["mask_ids"]:
            record["masked_files"] = mask_published_files(staging)
        write_json(staging / "run.json", record)
        publish(staging, run.final, run.reports)
    except OSError as exc:
        if not disk_full(exc):
            raise
        abandon(staging, exc)
    cleanup_staging(run.reports)
    index = publishing.write_index(run.reports, currency=run.cfg["report"]["currency"])
    if run.options.progress:
        part = run.coverage["partial_month"]
        print(f"Report written to {run.final}" + (f" (PARTIAL MONTH: data ends {part['data_ends']})" if part else ""),
              flush=True)
    return index.parent / run.per


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def backfill(start: str, end: str, options: RunOptions | None = None, /, **fields) -> dict[str, str]:
    """Run every period from ``start`` to ``end``.

    ``options`` and ``fields`` are those of :func:`run_report` (its ``period`` is each month
    in turn). Returns ``{period: status}`` with status 'success', 'exists (skipped; ...)',
    'no data: ...' (the period guard refused it) or 'failed: ...'.
    """
    opts = _options(options, fields)
    results: dict[str, str] = {}
    for per in month_range(start, end):
        if opts.progress:
            print(f"=== {per}", flush=True)
        try:
            run_report(opts, period=per)
            results[per] = "checked" if opts.check_only else "success"
        except ReportExistsError:
            results[per] = "exists (skipped; use --force to replace)"
        except StaleDataError as exc:
            results[per] = f"no data: {exc}"
            print(f"NO DATA {per}: {exc}", file=sys.stderr, flush=True)
        except (NotebookFailed, InputError, ConfigError, LockHeldError) as exc:
            results[per] = f"failed: {exc}"
            print(f"FAILED {per}: {exc}", file=sys.stderr, flush=True)
    return results

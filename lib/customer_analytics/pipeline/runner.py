"""The report runner: papermill over the notebooks, atomically, with a record of the run.

A run works in ``reports/.staging/<period>-<timestamp>/`` and is moved to
``reports/<period>/`` only when every notebook succeeded, so a failed, interrupted
or killed run never leaves a report that looks finished and never replaces a good
one. A failed run's folder (with the executed notebook showing the error) is
moved to ``reports/_failed/<period>-<timestamp>/``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import sys
import tempfile
import time
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
from customer_analytics.pipeline import context
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
    PeriodLock,
    abandon,
    cleanup_staging,
    disk_full,
    drop_input_copy,
    git_state,
    input_record,
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
    "KERNEL_NAME", "KEY_PACKAGES", "LOCK_DIR", "NOTEBOOKS", "NotebookFailed", "PeriodLock", "Plan",
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
        "period": per, "period_end": period_end, "status": "running", "started": now(),
        "dataset": narrative.dataset_name(cfg_path, data_path or plan.experiment_table), "partial_month": coverage["partial_month"],
        "skipped": plan.skipped,
        "coverage": {k: coverage[k] for k in ("data_first", "data_last", "rows_in_period")},
        "parameters": {"shared": {**shared, "run_dir": rel(final)}, "argv": relative_args(argv), "show_code": show_code,
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
        write_json(staging / context.RUN_CONFIG, staged_config(cfg))  # the one configuration every notebook of the run uses
        if loaded is not None:
            context.save_input(loaded, staging)
            write_json(staging / context.PERIOD_FILE, coverage)
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
            entry = {"name": name, "status": "running", "start": now()}
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
                entry.update(status="failed", end=now(), duration_s=round(time.time() - t0, 2))
                detail = f"{exc.ename}: {exc.evalue}"
                if raw_ids:  # a masked run: error messages must not quote customer ids either
                    scrub_errors(out_nb, raw_ids)
                    detail = privacy.scrub(detail, raw_ids)
                raise NotebookFailed(f"Notebook {name} failed in cell {exc.cell_index} (execution count "
                                     f"{exc.exec_count}): {detail}") from exc
            rewrite_paths(out_nb, staging, final)
            publishing.export_html(out_nb, staging / f"{name}.html", show_code=show_code)
            entry.update(status="success", end=now(), duration_s=round(time.time() - t0, 2))
            if progress:
                print(f"[{i}/{len(plan.notebooks)}] {name} done in {entry['duration_s']:.1f}s", flush=True)
    except BaseException as exc:
        if disk_full(exc):
            abandon(staging, exc)
        record.update(status="failed" if not isinstance(exc, (KeyboardInterrupt, _Terminated)) else "interrupted",
                      finished=now(), error={"type": type(exc).__name__, "message": str(exc)})
        try:
            drop_input_copy(staging)
            write_json(staging / "run.json", record)
            failed = reports / "_failed" / f"{per}-{stamp}"
            failed.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(staging), failed)
            prune_failed(reports, int(cfg["report"]["keep_failed"]))
            publishing.write_index(reports, currency=cfg["report"]["currency"])
        except OSError as write_error:
            abandon(staging, write_error)
        if isinstance(exc, _Terminated):
            raise KeyboardInterrupt(str(exc)) from exc
        raise
    finally:
        shutil.rmtree(ipc_dir, ignore_errors=True)
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)

    _step("publishing the report")
    record.update(status="success", finished=now(), headlines=exports.collect_headlines(staging))
    record["duration_s"] = round(sum(n["duration_s"] for n in record["notebooks"]), 2)
    try:
        drop_input_copy(staging)
        write_json(staging / "run.json", record)
        publish(staging, final, reports)
    except OSError as exc:
        if not disk_full(exc):
            raise
        abandon(staging, exc)
    cleanup_staging(reports)
    index = publishing.write_index(reports, currency=cfg["report"]["currency"])
    if progress:
        print(f"Report written to {final}" + (f" (PARTIAL MONTH: data ends {part['data_ends']})" if part else ""),
              flush=True)
    return index.parent / per


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


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

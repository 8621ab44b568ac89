"""The report runner: papermill over the four notebooks, atomically, with a record of the run.

A run works in ``reports/.staging/<period>-<timestamp>/`` and is moved to
``reports/<period>/`` only when every notebook succeeded, so a failed, interrupted
or killed run never leaves a report that looks finished and never replaces a good
one. A failed run's folder (with the executed notebook showing the error) is
moved to ``reports/_failed/<period>-<timestamp>/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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
import time
from pathlib import Path

import pandas as pd

from customer_analytics import cleaning, context, reporting
from customer_analytics.config import load_config, project_root, resolve_path
from customer_analytics.errors import ConfigError, InputError, ReportExistsError

NOTEBOOKS = ["01_data_cleaning", "02_rfm_scoring", "03_clustering", "04_ab_evaluation"]
#: Config sections whose keys become each notebook's own parameters.
SECTIONS = {
    "01_data_cleaning": ["data", "cleaning"],
    "02_rfm_scoring": ["rfm"],
    "03_clustering": ["clustering"],
    "04_ab_evaluation": ["experiment"],
}
KERNEL_NAME = "customer-analytics"
KEY_PACKAGES = ["pandas", "numpy", "scipy", "scikit-learn", "statsmodels", "matplotlib", "seaborn",
                "papermill", "nbconvert", "pyarrow", "customer-analytics"]


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook, the cell and the exception."""


def resolve_period(spec: str | None, dates: pd.Series | None = None, today: dt.date | None = None) -> str:
    """Turn ``--period`` into 'YYYY-MM'.

    ``None``/``latest``: the last complete month in the data. ``previous``: the last
    complete calendar month before today (what a monthly cron job wants).
    """
    today = today or dt.date.today()
    if spec in (None, "", "latest"):
        if dates is None:
            raise ValueError("dates are needed to find the latest complete month")
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


def notebook_parameters(nb_path: Path, name: str, cfg: dict, shared: dict) -> dict:
    """Shared run parameters plus the notebook's own from its config sections, checked by name."""
    import papermill as pm

    declared = set(pm.inspect_notebook(str(nb_path)))
    params = {k: v for k, v in shared.items() if k in declared}
    for section in SECTIONS.get(name, []):
        for key, value in cfg[section].items():
            if section == "data" and key == "path":
                continue
            if key not in declared:
                raise ConfigError(f"Config key '{section}.{key}' is not a parameter of notebook {name}. "
                                  f"Its parameters: {', '.join(sorted(declared))}")
            params[key] = value
    return params


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class _Terminated(Exception):
    pass


def _on_sigterm(signum, frame):  # pragma: no cover - exercised by killing a run
    raise _Terminated("terminated by signal")


def run_report(period: str | None = None, data: str | None = None, config: str | None = None,
               show_code: bool = False, force: bool = False, reports_dir: str | Path | None = None,
               notebooks_dir: str | Path | None = None, kernel_name: str = KERNEL_NAME,
               progress: bool = True, language: str | None = None) -> Path:
    """Run every notebook for one period and publish ``reports/<period>/`` atomically.

    Returns the path of the period folder. Raises :class:`ReportExistsError` when the
    period exists and ``force`` is false, :class:`InputError`/:class:`ConfigError` for
    bad input (before anything is written) and :class:`NotebookFailed` for a failing
    notebook (after moving the run to ``reports/_failed/``).
    """
    root = project_root()
    reports = Path(reports_dir) if reports_dir else root / "reports"
    nb_dir = Path(notebooks_dir) if notebooks_dir else root / "notebooks"
    cfg_path = resolve_path(config) if config else None
    cfg = load_config(cfg_path)
    if language:  # --language overrides the config's report language
        cfg["language"] = language
    data_path = resolve_path(data or cfg["data"]["path"])
    kernel_python = check_kernel(kernel_name)

    t_load = time.time()
    loaded = context.load(cfg, data_path)  # validates the input before anything is written
    per = resolve_period(period, loaded.data["order_date"])
    period_end = str(pd.Period(per, freq="M").end_time.date())
    final = reports / per
    if final.exists() and not force:
        raise ReportExistsError(f"A report for {per} already exists at {final}. Rerun with --force "
                                f"(make report PERIOD={per} FORCE=1) to replace it after a successful new run.")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging = reports / context.STAGING_DIR / f"{per}-{stamp}"
    shared = {"period_end": period_end, "data_path": str(data_path), "config_path": str(cfg_path or ""),
              "run_dir": str(staging), "seed": int(cfg["seed"]), "language": cfg["language"],
              "mask_ids": bool(cfg["mask_ids"])}
    record = {
        "period": per, "period_end": period_end, "status": "running", "started": _now(),
        "parameters": {"shared": {**shared, "run_dir": f"reports/{per}"}, "show_code": show_code, "force": force,
                       "notebooks": {}},
        "input": {"path": str(data_path), "size_bytes": data_path.stat().st_size, "sha256": sha256(data_path),
                  "rows": len(loaded.data), "encoding": loaded.encoding, "preset": loaded.preset},
        "environment": {**versions(), "kernel": kernel_name, "kernel_python": kernel_python},
        "git": git_state(root), "notebooks": [], "error": None,
    }
    del loaded
    # check every notebook and its parameters before anything is written
    sources = {name: nb_dir / f"{name}.ipynb" for name in NOTEBOOKS}
    missing = [str(p) for p in sources.values() if not p.exists()]
    if missing:
        raise ConfigError(f"Notebook(s) not found: {missing}")
    all_params = {name: notebook_parameters(src, name, cfg, shared) for name, src in sources.items()}
    staging.mkdir(parents=True)
    if progress:
        print(f"Report {per} (period end {period_end}); input {data_path.name}: {record['input']['rows']:,} rows "
              f"checked in {time.time() - t_load:.1f}s", flush=True)

    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    old_handler = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
    try:
        for i, name in enumerate(NOTEBOOKS, 1):
            src, params = sources[name], all_params[name]
            record["parameters"]["notebooks"][name] = {k: v for k, v in params.items() if k not in shared}
            entry = {"name": name, "status": "running", "start": _now()}
            record["notebooks"].append(entry)
            t0 = time.time()
            if progress:
                print(f"[{i}/{len(NOTEBOOKS)}] {name} ...", flush=True)
            out_nb = staging / f"{name}.ipynb"
            try:
                pm.execute_notebook(str(src), str(out_nb), parameters=params, kernel_name=kernel_name,
                                    cwd=str(nb_dir), progress_bar=progress, log_output=False)
            except PapermillExecutionError as exc:
                entry.update(status="failed", end=_now(), duration_s=round(time.time() - t0, 2))
                raise NotebookFailed(f"Notebook {name} failed in cell {exc.cell_index} (execution count "
                                     f"{exc.exec_count}): {exc.ename}: {exc.evalue}") from exc
            reporting.export_html(out_nb, staging / f"{name}.html", show_code=show_code)
            entry.update(status="success", end=_now(), duration_s=round(time.time() - t0, 2))
            if progress:
                print(f"[{i}/{len(NOTEBOOKS)}] {name} done in {entry['duration_s']:.1f}s", flush=True)
    except BaseException as exc:
        record.update(status="failed" if not isinstance(exc, (KeyboardInterrupt, _Terminated)) else "interrupted",
                      finished=_now(), error={"type": type(exc).__name__, "message": str(exc)})
        _write_json(staging / "run.json", record)
        failed = reports / "_failed" / f"{per}-{stamp}"
        failed.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), failed)
        reporting.write_index(reports)
        if isinstance(exc, _Terminated):
            raise KeyboardInterrupt(str(exc)) from exc
        raise
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)

    record.update(status="success", finished=_now(), headlines=reporting.collect_headlines(staging))
    record["duration_s"] = round(sum(n["duration_s"] for n in record["notebooks"]), 2)
    _write_json(staging / "run.json", record)
    _publish(staging, final, reports)
    _cleanup_staging(reports)
    index = reporting.write_index(reports)
    if progress:
        print(f"Report written to {final}", flush=True)
    return index.parent / per


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
    """Run every period from ``start`` to ``end``; returns {period: 'success'|'exists'|'failed: ...'}."""
    results: dict[str, str] = {}
    for per in month_range(start, end):
        print(f"=== {per}", flush=True)
        try:
            run_report(period=per, **kwargs)
            results[per] = "success"
        except ReportExistsError:
            results[per] = "exists (skipped; use --force to replace)"
        except (NotebookFailed, InputError, ConfigError) as exc:
            results[per] = f"failed: {exc}"
            print(f"FAILED {per}: {exc}", file=sys.stderr, flush=True)
    return results

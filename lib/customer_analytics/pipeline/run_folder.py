"""The run's folders and its record: the period lock, staging and failed runs, the atomic publish.

Paths written into reports and ``run.json`` are relative to the project root
(:func:`rel`); the facts of a run (input files with their hashes, versions, the git
state) are gathered here for :mod:`customer_analytics.pipeline.runner`.
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
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd

from customer_analytics.core import privacy
from customer_analytics.core.errors import LockHeldError, OutputError
from customer_analytics.core.paths import project_root, resolve_path
from customer_analytics.io import reading
from customer_analytics.pipeline import context

LOCK_DIR = ".locks"  # reports/.locks/<period>.lock: held (flock) by the run of that period
KEY_PACKAGES = ["pandas", "numpy", "scipy", "scikit-learn", "statsmodels", "matplotlib", "seaborn",
                "papermill", "nbconvert", "pyarrow", "pymc-marketing", "customer-analytics"]


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
    """Whether no run holds the lock of ``period`` (it is taken and released at once to find out)."""
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


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks of 1 MiB."""
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
    """The versions of Python, the platform and the key packages (those installed)."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for p in KEY_PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[p] = importlib.metadata.version(p)
    return out


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


def now() -> str:
    """The time now in UTC, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def relative_args(argv: list[str] | None) -> list[str] | None:
    """The command line as given, with absolute paths shown relative to the project root."""
    if argv is None:
        return None
    return [rel(a) if os.path.isabs(a) else a for a in argv]


def drop_input_copy(folder: Path) -> None:
    """The typed input copy served notebook 01 only; a published report does not carry the raw data."""
    for name in (context.INPUT_FILE, context.INPUT_META):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()


def drop_database(folder: Path) -> None:
    """The run's database handed the clean lines from notebook 01 to 02-05; a report does not carry it."""
    name = context.DATABASE_FILE
    for path in (folder / name, folder / f"{name}.wal", folder / f"{name}.tmp", folder / f"{name}.tmp.wal"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def abandon(staging: Path, exc: BaseException) -> None:
    """Write nothing more: remove this run's staging files and stop with a message."""
    shutil.rmtree(staging, ignore_errors=True)
    why = "the disk is full" if disk_full(exc) else f"it cannot be written ({exc})"
    raise OutputError(f"Stopped: {why} under {staging.parent.parent}. This run's files were removed and "
                      "nothing was published; any earlier report is unchanged. Free space and rerun.") from exc


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` atomically (a temporary file, then a rename)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def publish(staging: Path, final: Path, reports: Path) -> None:
    """Move the finished run into place; an older report is replaced only now."""
    if final.exists():
        old = reports / context.STAGING_DIR / f"{final.name}-replaced-{time.time_ns()}"
        os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)


#: Published files that keep the real customer ids in a masked run: the exports for the marketing
#: tools (the README says so). Every other table is published with masked ids.
REAL_ID_FILES = ("customers.csv", "customers.parquet")


def mask_published_files(staging: Path) -> list[str]:
    """A masked run's files before publishing: ids masked in every table but :data:`REAL_ID_FILES`.

    The clean lines (``clean_transactions.parquet``, every line's raw id, and order ids that may
    hold it) are not published. Returns the files whose ``customer_id`` column was masked.
    """
    key = privacy.mask_key()
    (staging / context.CLEAN_FILE).unlink(missing_ok=True)
    changed = []
    for p in sorted(staging.rglob("*")):
        if p.suffix not in (".csv", ".parquet") or p.name in REAL_ID_FILES or not p.is_file():
            continue
        try:
            df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:  # an empty table has no ids
            continue
        if "customer_id" not in df.columns:
            continue
        df["customer_id"] = privacy.mask_ids(df["customer_id"].replace("", None), key).fillna("")
        if p.suffix == ".parquet":
            df.to_parquet(p, index=False)
        else:
            df.to_csv(p, index=False)
        changed.append(str(p.relative_to(staging)))
    return changed


def cleanup_staging(reports: Path) -> None:
    """Remove ``reports/.staging/`` when no run left anything in it."""
    st = reports / context.STAGING_DIR
    with contextlib.suppress(OSError):  # another run may have just created its folder there
        if st.exists() and not any(st.iterdir()):
            st.rmdir()

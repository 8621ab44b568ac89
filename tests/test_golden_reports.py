"""Behaviour kept: the three bundled reports export byte-identical tables, from one config load.

``tests/golden/report_hashes.txt`` holds the sha256 of every exported table and of
``customers.csv`` for the bundled sample (2025-12), CDNOW (1998-06) and the experiment-table
report, recorded before the package was reorganised. A refactoring that changes any exported
figure, a rounding, a column order or a label fails here, naming the file.

Each run also counts its calls of ``load_config`` in every process (the runner and each
notebook's kernel, through a ``sitecustomize`` on ``PYTHONPATH``): the runner loads and checks
the configuration once and the notebooks read its resolved copy, so the count is 1.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from conftest import ROOT

GOLDEN = ROOT / "tests" / "golden" / "report_hashes.txt"
REPORTS = {"sample": [], "cdnow": ["--config", "config/cdnow.yaml"],
           "exp": ["--config", "config/experiment_table.yaml"]}


def _golden(name: str) -> dict[str, str]:
    rows = (line.split("  ", 1) for line in GOLDEN.read_text().splitlines() if line.strip())
    return {path.split("/", 1)[1]: digest for digest, path in rows if path.startswith(name + "/")}


COUNTER = """
import os
from customer_analytics.settings import loading

_real = loading.load_config


def _counted(*args, **kwargs):
    with open(os.environ["CONFIG_LOAD_LOG"], "a") as log:
        log.write(f"{os.getpid()}\\n")
    return _real(*args, **kwargs)


loading.load_config = _counted
"""


def _counting_env(tmp_path) -> tuple[dict, object]:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(COUNTER)
    log = tmp_path / "config_loads.log"
    path = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "CONFIG_LOAD_LOG": str(log)}, log


@pytest.mark.parametrize("name", list(REPORTS))
def test_the_bundled_reports_export_the_recorded_tables(name, tmp_path):
    env, log = _counting_env(tmp_path)
    reports = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "customer_analytics", "report", "--quiet", *REPORTS[name],
                           "--reports-dir", str(reports)], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    loads = log.read_text().split() if log.exists() else []
    assert len(loads) == 1, f"the configuration was loaded {len(loads)} times in the run (processes {loads})"
    (folder,) = [p for p in reports.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    files = [*sorted((folder / "tables").glob("*.csv")), folder / "customers.csv"]
    got = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.exists()}
    expected = _golden(name)
    assert sorted(got) == sorted(expected)
    changed = sorted(k for k in expected if got[k] != expected[k])
    assert changed == [], f"{name}: these exported files changed: {changed}"

"""Behaviour kept: the three bundled reports export byte-identical tables.

``tests/golden/report_hashes.txt`` holds the sha256 of every exported table and of
``customers.csv`` for the bundled sample (2025-12), CDNOW (1998-06) and the experiment-table
report, recorded before the package was reorganised. A refactoring that changes any exported
figure, a rounding, a column order or a label fails here, naming the file.
"""

from __future__ import annotations

import hashlib
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


@pytest.mark.parametrize("name", list(REPORTS))
def test_the_bundled_reports_export_the_recorded_tables(name, tmp_path):
    done = subprocess.run([sys.executable, "-m", "customer_analytics", "report", "--quiet", *REPORTS[name],
                           "--reports-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    files = [*sorted((folder / "tables").glob("*.csv")), folder / "customers.csv"]
    got = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.exists()}
    expected = _golden(name)
    assert sorted(got) == sorted(expected)
    changed = sorted(k for k in expected if got[k] != expected[k])
    assert changed == [], f"{name}: these exported files changed: {changed}"

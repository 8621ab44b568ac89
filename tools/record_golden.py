"""Re-record ``tests/golden/report_hashes.txt`` after a deliberate change to an exported table.

Runs the three bundled reports (the sample, CDNOW, the experiment-table report) as
``tests/test_golden_reports.py`` does and writes the sha256 of every exported table and of
``customers.csv``. Run it only when a change of figures is intended, and say in the commit
which files changed and why: ``git diff tests/golden/report_hashes.txt`` lists them.

    PYTHONPATH=lib .venv/bin/python tools/record_golden.py
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "report_hashes.txt"
REPORTS = {"sample": [], "cdnow": ["--config", "config/cdnow.yaml"],
           "exp": ["--config", "config/experiment_table.yaml"]}


def hashes(name: str, args: list[str], reports: Path) -> list[str]:
    """The golden lines of one report: ``<sha256>  <name>/<relative path>``."""
    subprocess.run([sys.executable, "-m", "customer_analytics", "report", "--quiet", *args,
                    "--reports-dir", str(reports)], cwd=ROOT, check=True)
    (folder,) = [p for p in reports.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    files = [*sorted((folder / "tables").glob("*.csv")), folder / "customers.csv"]
    return [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {name}/{p.relative_to(folder).as_posix()}"
            for p in files if p.exists()]


def main() -> None:
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in REPORTS.items():
            lines += hashes(name, args, Path(tmp) / name)
    lines.sort(key=lambda line: line.split("  ", 1)[1])
    GOLDEN.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} hashes to {GOLDEN.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

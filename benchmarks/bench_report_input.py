"""Benchmark: the report's input stage at 1M lines, read twice (before) against read once (now).

Before: the runner parsed the CSV to validate it, then notebook 01 parsed it again.
Now: the runner parses and validates it once and leaves a typed Parquet copy in the
staging folder (``context.save_input``); notebook 01 reads that copy (``context.load_input``).

Usage: python benchmarks/bench_report_input.py [--sizes 1000000]
Each side runs in a fresh process; prints seconds and peak memory.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd
from _common import DATA, in_subprocess, measure, print_table, sizes_or_step, synthetic_lines


def step(kind: str, n: int) -> dict:
    from customer_analytics.models import cleaning
    from customer_analytics.pipeline import context

    csv = DATA / f"lines_{n}.csv"

    def twice():  # the runner's validation read, then notebook 01's own parse of the same file
        cleaning.load_transactions(csv, preset="online_retail")
        return {"rows": len(cleaning.load_transactions(csv, preset="online_retail").data)}

    def once():  # the runner's read + the typed copy, then notebook 01 reading the copy
        loaded = cleaning.load_transactions(csv, preset="online_retail")
        with tempfile.TemporaryDirectory() as tmp:
            context.save_input(loaded, Path(tmp))
            del loaded
            return {"rows": len(pd.read_parquet(Path(tmp) / context.INPUT_FILE))}

    return measure(twice if kind == "before: read twice" else once)


def main() -> None:
    sizes = sizes_or_step([1_000_000], step)
    if sizes is None:
        return
    rows = []
    for n in sizes:
        if not (DATA / f"lines_{n}.csv").exists():
            synthetic_lines(n).to_csv(DATA / f"lines_{n}.csv", index=False)
        for kind in ("before: read twice", "now: read once + typed copy"):
            r = in_subprocess(__file__, "--step", kind, "--n", str(n))
            rows.append({"lines": f"{n:,}", "input stage": kind, "seconds": r["seconds"], "peak_mb": r["peak_mb"]})
    print_table(rows, "Report input stage (runner validation + notebook 01 load)")


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: load + clean 1M and 5M-line exports (CSV and Parquet) against a plain pandas read.

Usage: python benchmarks/bench_cleaning.py [--sizes 1000000 5000000]
Prints a table of seconds and peak memory; each step runs in a fresh process.
"""

from __future__ import annotations

import sys

import pandas as pd
from _common import DATA, in_subprocess, measure, print_table, sizes_or_step, synthetic_lines


def step(kind: str, n: int) -> dict:
    from customer_analytics.models import cleaning

    csv, pq = DATA / f"lines_{n}.csv", DATA / f"lines_{n}.parquet"
    if kind == "read_parquet":
        return measure(lambda: {"rows": len(pd.read_parquet(pq))})
    if kind == "read_csv":
        return measure(lambda: {"rows": len(pd.read_csv(csv, dtype=str))})

    def load_clean():
        path = pq if kind == "clean_parquet" else csv
        r = cleaning.clean_transactions(cleaning.load_transactions(path, preset="online_retail").data)
        return {"rows": r.stats["rows_out"]}
    return measure(load_clean)


def main() -> None:
    sizes = sizes_or_step([1_000_000, 5_000_000], step)
    if sizes is None:
        return
    rows = []
    for n in sizes:
        if not (DATA / f"lines_{n}.parquet").exists():
            df = synthetic_lines(n)
            df.to_csv(DATA / f"lines_{n}.csv", index=False)
            typed = df.assign(InvoiceDate=pd.to_datetime(df["InvoiceDate"], format="%d/%m/%Y %H:%M"))
            typed.to_parquet(DATA / f"lines_{n}.parquet", index=False)  # typed, as Parquet exports are
        res = {k: in_subprocess(__file__, "--step", k, "--n", str(n))
               for k in ("read_parquet", "clean_parquet", "read_csv", "clean_csv")}
        for k, v in res.items():
            rows.append({"lines": f"{n:,}", "step": k, "seconds": v["seconds"], "peak_mb": v["peak_mb"],
                         "rows_out": v["rows"]})
        ratio = res["clean_parquet"]["seconds"] / res["read_parquet"]["seconds"]
        rows.append({"lines": f"{n:,}", "step": "clean_parquet / read_parquet", "seconds": round(ratio, 2),
                     "peak_mb": "", "rows_out": "target <= 2"})
    print_table(rows, "Load + clean (cleaning.load_transactions + clean_transactions)")


if __name__ == "__main__":
    sys.exit(main())

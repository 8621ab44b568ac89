"""Benchmark: load + clean + RFM straight from partitioned Parquet in the engine, up to 1e8 lines.

Usage: python benchmarks/bench_engine.py [--sizes 10000000 100000000] [--spark] [--baseline]

For each size it generates (once, seeded, with DuckDB itself) an Online-Retail-like data lake:
4 lines per order, 1 line in 50 a return, 1 order in 50 without a customer, one Parquet folder per
month. Then, each in a fresh process, it prints seconds and peak resident memory of:

- ``duckdb``: ``reading.read_source`` (Parquet folder, column mapping, id normalisation) +
  ``cleaning.clean_transactions`` (every rule and the audit, in the engine) + the RFM summary
  (``engine.rfm_summary``); only the per-customer table comes back to pandas. The lifecycle tables
  of notebook 06 (cohort retention, growth accounting, stages: ``models.lifecycle``) are timed on the
  same clean table next to the RFM summary (``rfm_s``, ``lifecycle_s``, their ratio ``lifecycle/rfm``, and
  ``load_1m``, the machine's 1-minute load average when the step ended). DuckDB runs with
  ``memory_limit`` 4GB and spills to ``benchmarks/_data/spill``.
- ``pandas (before)`` with ``--baseline``: the path before the engine, for comparison: the same
  lines read into pandas from one Parquet file, the pandas cleaning of the previous release (read
  from git history, commit ``BASELINE``) and the same RFM summary.
- ``spark local`` with ``--spark`` (needs Java): the duckdb cell's steps on PySpark ``local[2]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types

from _common import DATA, in_subprocess, measure, print_table, sizes_or_step

#: The last commit whose cleaning ran in pandas (the "before" of the baseline cell).
BASELINE = "515ab4b"
AS_OF = "2024-12-31"
DATA_CFG = {"preset": "online_retail", "column_mapping": {"line_no": "source_row"}}


def lake(n: int):
    return DATA / f"lake_{n}"


def generate(n: int, seed: int = 42) -> None:
    """Write ``n`` lines as month-partitioned Parquet (and one file for the baseline), seeded."""
    import duckdb

    out = lake(n)
    if out.exists():
        return
    n_cust = max(n // 15, 100)
    orders = max(n // 4, 1)
    span = 2 * 365 * 86400
    query = f"""
        SELECT
            CASE WHEN hash(i // 4, {seed}, 5) % 50 = 0 THEN NULL
                 ELSE CAST(10000 + hash(i // 4, {seed}) % {n_cust} AS VARCHAR) END AS CustomerID,
            CASE WHEN hash(i, {seed}, 3) % 50 = 0 THEN 'C' ELSE '' END || CAST(500000 + i // 4 AS VARCHAR) AS InvoiceNo,
            TIMESTAMP '2023-01-01' + to_seconds(CAST((i // 4) * {span} // {orders} AS BIGINT)) AS InvoiceDate,
            CAST(20000 + hash(i, {seed}, 1) % 3000 AS VARCHAR) AS StockCode,
            CAST((1 + hash(i, {seed}, 2) % 11) * CASE WHEN hash(i, {seed}, 3) % 50 = 0 THEN -1 ELSE 1 END AS DOUBLE) AS Quantity,
            round(0.5 + (hash(i, {seed}, 4) % 2000) / 100.0, 2) AS UnitPrice,
            'United Kingdom' AS Country,
            i + 1 AS line_no
        FROM range({n}) t(i)
    """
    con = duckdb.connect()
    con.execute("SET memory_limit = '4GB'; SET preserve_insertion_order = false")
    con.execute(f"COPY (SELECT *, strftime(InvoiceDate, '%Y-%m') AS month FROM ({query})) TO '{out}' "
                "(FORMAT parquet, PARTITION_BY (month))")
    if n <= 10_000_000:  # one file for the pandas baseline
        con.execute(f"COPY ({query} ORDER BY line_no) TO '{DATA / f'lines_{n}_typed.parquet'}' (FORMAT parquet)")


def _baseline_cleaning():
    """The pandas cleaning module of :data:`BASELINE`, loaded from git history."""
    src = subprocess.run(["git", "show", f"{BASELINE}:lib/customer_analytics/cleaning.py"], capture_output=True,
                         text=True, check=True).stdout
    mod = types.ModuleType("baseline_cleaning")
    sys.modules[mod.__name__] = mod  # dataclasses look their module up
    exec(compile(src, "baseline_cleaning.py", "exec"), mod.__dict__)  # noqa: S102 (our own history)
    rules = mod.default_rules()  # today's rules file; the old netting also took a number of passes
    mod.default_rules = lambda: {**rules, "cancellations": {**rules["cancellations"], "max_passes": 10}}
    return mod


def step(kind: str, n: int) -> dict:

    from customer_analytics.core import engine
    from customer_analytics.io import reading
    from customer_analytics.models import cleaning, lifecycle, lifecycle_stages

    def in_engine(con):
        t, _ = reading.read_source(reading.EngineSource(f"parquet:{lake(n)}"), DATA_CFG, con)
        clean = cleaning.clean_transactions(t, period_end=AS_OF, con=con)
        lines = engine.materialize(clean.table)  # both timings below start from the same clean table
        t0 = time.perf_counter()
        per_customer = con.execute(engine.rfm_summary(lines, AS_OF))
        t1 = time.perf_counter()
        daily = lifecycle.day_table(lines, AS_OF, con=con)  # as notebook 06: one pass over the lines
        lifecycle.cohort_retention(daily, AS_OF, con=con)
        lifecycle.growth_accounting(daily, AS_OF, con=con)
        lifecycle_stages.lifecycle_stages(daily, AS_OF, con=con)
        t2 = time.perf_counter()
        return {"rows_out": clean.stats["rows_out"], "customers": len(per_customer),
                "rfm_s": round(t1 - t0, 2), "lifecycle_s": round(t2 - t1, 2), "load_1m": round(os.getloadavg()[0], 2)}

    if kind == "duckdb":
        spill = DATA / "spill"
        spill.mkdir(exist_ok=True)
        return measure(lambda: in_engine(engine.connect({"memory_limit": "4GB", "temp_directory": str(spill)})))
    if kind == "spark":
        return measure(lambda: in_engine(engine.connect({"backend": "pyspark", "spark": {
            "master": "local[2]", "conf": {"spark.driver.memory": "8g", "spark.sql.shuffle.partitions": "16"}}})))
    if kind == "pandas":
        old = _baseline_cleaning()

        def before():
            loaded = cleaning.load_transactions(DATA / f"lines_{n}_typed.parquet", preset="online_retail")
            clean = old.clean_transactions(loaded.data, period_end=AS_OF, id_fixes=loaded.id_fixes)
            con = engine.connect()
            per_customer = con.execute(engine.rfm_summary(engine.table(con, clean.data), AS_OF))
            return {"rows_out": clean.stats["rows_out"], "customers": len(per_customer)}
        return measure(before)
    raise SystemExit(f"unknown step {kind}")


def _ratio(r: dict) -> float | None:
    """lifecycle_s / rfm_s of one step (the acceptance: at most 2 at 1e7 lines), or None without them."""
    if r.get("rfm_s") and r.get("lifecycle_s") is not None:
        return round(r["lifecycle_s"] / r["rfm_s"], 2)
    return None


def main() -> None:
    sizes = sizes_or_step([10_000_000, 100_000_000], step)
    if sizes is None:
        return
    rows = []
    for n in sizes:
        generate(n)
        kinds = ["duckdb"]
        if "--baseline" in sys.argv and n <= 10_000_000:
            kinds.append("pandas")
        if "--spark" in sys.argv and n <= 10_000_000:
            kinds.append("spark")
        for kind in kinds:
            r = in_subprocess(__file__, "--step", kind, "--n", str(n))
            rows.append({"lines": f"{n:,}", "path": {"pandas": "pandas (before)", "spark": "spark local[2]"}.get(kind, kind),
                         "seconds": r["seconds"], "peak_mb": r["peak_mb"], "rows_out": f"{r['rows_out']:,}",
                         "customers": f"{r['customers']:,}", "rfm_s": r.get("rfm_s"),
                         "lifecycle_s": r.get("lifecycle_s"), "lifecycle/rfm": _ratio(r),
                         "load_1m": r.get("load_1m")})
            print(rows[-1], flush=True)
    print_table(rows, "Load + clean + RFM from partitioned Parquet (peak memory target at 1e8: under 6,000 MB)")


if __name__ == "__main__":
    sys.exit(main())

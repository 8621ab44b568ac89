"""Benchmark: the RFM table from 1M and 10M transactions, beside DuckDB computing the same columns.

Usage: python benchmarks/bench_rfm.py [--sizes 1000000 10000000]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _common import DATA, in_subprocess, measure, print_table, sizes_or_step

AS_OF = "2024-12-31"
SQL = """
SELECT customer_id,
       date_diff('day', max(CAST(order_date AS DATE)), DATE '{as_of}') AS recency_days,
       count(DISTINCT order_id) AS frequency,
       round(sum(amount), 2) AS monetary,
       min(CAST(order_date AS DATE)) AS first_purchase,
       max(CAST(order_date AS DATE)) AS last_purchase,
       date_diff('day', min(CAST(order_date AS DATE)), DATE '{as_of}') AS tenure_days
FROM tx WHERE CAST(order_date AS DATE) <= DATE '{as_of}'
GROUP BY customer_id HAVING sum(amount) > 0
"""


def make(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n_cust, n_orders = n // 20, n // 4
    order = np.sort(rng.integers(0, n_orders, n))          # about 4 lines per order
    owner = rng.integers(0, n_cust, n_orders)              # each order belongs to one customer
    return pd.DataFrame({
        "customer_id": pd.array((100000 + owner[order]).astype(str), dtype="string"),
        "order_id": pd.array(order.astype(str), dtype="string"),
        "order_date": pd.Timestamp("2022-01-01") + pd.to_timedelta(order * (3 * 365 * 86400 // (n // 4)), unit="s"),
        "amount": np.round(rng.lognormal(2, 1, n), 2),
    })


def step(kind: str, n: int) -> dict:
    tx = pd.read_parquet(DATA / f"rfm_{n}.parquet")
    if kind == "pandas":
        from customer_analytics.models import rfm

        return measure(lambda: {"customers": len(rfm.compute_rfm(tx, AS_OF))})
    import duckdb

    con = duckdb.connect()
    con.register("tx", tx)
    return measure(lambda: {"customers": len(con.execute(SQL.format(as_of=AS_OF)).df())})


def main() -> None:
    sizes = sizes_or_step([1_000_000, 10_000_000], step)
    if sizes is None:
        return
    rows = []
    for n in sizes:
        if not (DATA / f"rfm_{n}.parquet").exists():
            make(n).to_parquet(DATA / f"rfm_{n}.parquet", index=False)
        res = {k: in_subprocess(__file__, "--step", k, "--n", str(n)) for k in ("duckdb", "pandas")}
        assert res["duckdb"]["customers"] == res["pandas"]["customers"], res
        for k, v in res.items():
            rows.append({"transactions": f"{n:,}", "engine": k if k == "duckdb" else "rfm.compute_rfm",
                         "seconds": v["seconds"], "peak_mb": v["peak_mb"], "customers": v["customers"]})
        rows.append({"transactions": f"{n:,}", "engine": "ratio compute_rfm / duckdb",
                     "seconds": round(res["pandas"]["seconds"] / res["duckdb"]["seconds"], 2), "peak_mb": "",
                     "customers": "target <= 1.5 at 10M"})
    print_table(rows, "RFM table (time excludes reading the Parquet input; peak memory includes it)")


if __name__ == "__main__":
    sys.exit(main())

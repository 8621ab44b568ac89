"""Benchmark: association rules (FP-growth of product pairs) and next products at 1e5 and 1e6 orders.

Synthetic baskets: 2,000 products with Zipf-like popularity, 1 to 6 distinct products per order
(about 3.5), 1 order in 5 from 20 planted pairs bought together; customers hold 4 orders on average.
Each size runs in a fresh process; the table gives seconds for the mining (``mine_rules``), the
next products (``next_products``), the peak resident memory of the process and the load average
of the machine over the last minute when the step ended (seconds depend on what else runs).

Usage: nice -n 10 python benchmarks/bench_associations.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd
from _common import in_subprocess, measure, print_table

PRODUCTS = 2000
MIN_SUPPORT, MIN_LIFT = 0.002, 1.5


def baskets(n_orders: int, seed: int = 0) -> pd.DataFrame:
    """order_id, customer_id, product_id: one row per order and distinct product."""
    rng = np.random.default_rng(seed)
    popularity = 1 / np.arange(1, PRODUCTS + 1) ** 0.8
    sizes = rng.integers(1, 7, n_orders)
    order = np.repeat(np.arange(n_orders), sizes)
    product = rng.choice(PRODUCTS, len(order), p=popularity / popularity.sum())
    pairs = rng.choice(PRODUCTS, (20, 2))
    planted = np.flatnonzero(rng.random(n_orders) < 0.2)
    which = pairs[rng.integers(0, 20, len(planted))]
    order = np.concatenate([order, planted, planted])
    product = np.concatenate([product, which[:, 0], which[:, 1]])
    customer = order // 4  # 4 orders per customer
    d = pd.DataFrame({"order_id": order.astype(str), "customer_id": customer.astype(str),
                      "product_id": ("P" + pd.Series(product).astype(str)).to_numpy()})
    return d.drop_duplicates(["order_id", "product_id"], ignore_index=True)


def step(n_orders: int) -> dict:
    from customer_analytics.models import associations

    data = baskets(n_orders)
    timings = {}

    def run():
        t0 = time.perf_counter()
        rules = associations.mine_rules(data, min_support=MIN_SUPPORT, min_lift=MIN_LIFT)
        timings["mine_seconds"] = round(time.perf_counter() - t0, 2)
        t1 = time.perf_counter()
        best = associations.next_products(data, rules)
        timings["next_seconds"] = round(time.perf_counter() - t1, 2)
        return {"rules": len(rules), "customers_with_next": len(best)}

    out = measure(run)
    return {"orders": n_orders, "lines": len(data), **timings, **out, "load_avg_1m": round(os.getloadavg()[0], 2)}


def main(argv: list[str]) -> None:
    if argv[:1] == ["--step"]:
        import json

        print(json.dumps(step(int(argv[1]))))
        return
    sizes = [int(s) for s in argv[argv.index("--sizes") + 1:]] if "--sizes" in argv else [100_000, 1_000_000]
    rows = [in_subprocess(__file__, "--step", str(n)) for n in sizes]
    print_table(rows, f"Association rules (min support {MIN_SUPPORT}, min lift {MIN_LIFT}) and next products")


if __name__ == "__main__":
    main(sys.argv[1:])

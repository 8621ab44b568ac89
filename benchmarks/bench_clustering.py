"""Benchmark: clustering 1M customers, from the k search to the final assignment (large-data path).

Usage: python benchmarks/bench_clustering.py [--customers 1000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd
from _common import in_subprocess, measure, print_table


def step(n: int) -> dict:
    from customer_analytics import clustering

    rng = np.random.default_rng(0)
    g = rng.integers(0, 4, n)
    centres = np.array([[5, 30, 5000], [300, 1, 20], [40, 5, 400], [700, 3, 3000]])
    rfm = pd.DataFrame(np.exp(np.log1p(centres[g]) + rng.normal(0, 0.3, (n, 3))) - 1,
                       columns=["recency_days", "frequency", "monetary"])
    times = {}

    def run():
        t = time.perf_counter()
        x = clustering.build_features(rfm)
        metrics = clustering.search_k(x, 2, 10, seed=1)
        times["k_search_s"] = round(time.perf_counter() - t, 2)
        k, _ = clustering.choose_k(metrics)
        t = time.perf_counter()
        fit = clustering.fit(x, k, seed=1)
        times["final_fit_s"] = round(time.perf_counter() - t, 2)
        return {"k": k, "model": type(fit.pipeline[-1]).__name__, **times}
    return measure(run)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--step", action="store_true")
    a = ap.parse_args()
    if a.step:
        print(json.dumps(step(a.customers)))
        return
    r = in_subprocess(__file__, "--step", "--customers", str(a.customers))
    print_table([{"customers": f"{a.customers:,}", **r, "target_s": 60}],
                "Clustering: k search 2-10 + final fit and assignment (stability check not included)")


if __name__ == "__main__":
    sys.exit(main())

"""Helpers shared by the benchmark scripts: run a step in a fresh process, time it, read peak memory."""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent / "_data"


def machine() -> str:
    import os

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def measure(fn) -> dict:
    """Time ``fn()`` and report this process's peak resident memory (the step runs in its own process)."""
    t0 = time.perf_counter()
    extra = fn() or {}
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "peak_mb": round(peak_mb), **extra}


def in_subprocess(script: str, *args: str) -> dict:
    """Run ``script --step ...`` in a fresh interpreter and parse the JSON it prints last."""
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict], title: str) -> None:
    df = pd.DataFrame(rows)
    print(f"\n{title}\nmachine: {machine()}\n")
    print(df.to_string(index=False))


def synthetic_lines(n: int, seed: int = 0) -> pd.DataFrame:
    """An Online-Retail-like export of ``n`` lines built with numpy only (about 1 in 50 lines a return)."""
    rng = np.random.default_rng(seed)
    n_cust = max(n // 15, 100)
    cust = rng.integers(10000, 10000 + n_cust, n)
    order = np.sort(rng.integers(0, n // 3, n))
    ts = pd.Timestamp("2023-01-01") + pd.to_timedelta(order * (2 * 365 * 86400 // (n // 3 + 1)), unit="s")
    qty = rng.integers(1, 12, n)
    ret = rng.random(n) < 0.02
    qty[ret] = -qty[ret]
    inv = np.char.add(np.where(ret, "C", ""), (500000 + order).astype(str))
    cid = np.char.add(cust.astype(str), ".0").astype(object)
    cid[rng.random(n) < 0.2] = ""
    return pd.DataFrame({
        "InvoiceNo": inv, "StockCode": (20000 + rng.integers(0, 3000, n)).astype(str),
        "Description": "ITEM", "Quantity": qty, "InvoiceDate": ts.strftime("%d/%m/%Y %H:%M"),
        "UnitPrice": np.round(rng.lognormal(1, 0.7, n), 2), "CustomerID": cid, "Country": "United Kingdom",
    })


def sizes_or_step(default_sizes: list[int], step) -> list[int] | None:
    """Parse ``--sizes`` / ``--step --n``. In step mode run ``step(kind, n)``, print its JSON and return None."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=default_sizes)
    ap.add_argument("--step")
    ap.add_argument("--n", type=int)
    a, _ = ap.parse_known_args()  # the script may take flags of its own
    if a.step:
        print(json.dumps(step(a.step, a.n)))
        return None
    DATA.mkdir(exist_ok=True)
    return a.sizes

"""Benchmark: notebook 03 (k search + stability + final fit + names, charts, outputs) at 5k, 100k and 1M customers.

Each size runs in a fresh process: it writes a synthetic scored customer table (four
customer types, like the bundled sample) into a temporary run folder, then executes
notebook 03 under papermill on it. Reported: the kernel time (sum of the cells' execution
times, as papermill records them; kernel start-up excluded), the k-search cell alone,
the wall time, the kernel's peak resident memory and the chosen k.

Usage:
    python benchmarks/bench_clustering.py [--sizes 5000 100000 1000000]
    python benchmarks/bench_clustering.py --notebook OTHER.ipynb --lib OTHER/lib   # another version, to compare
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import in_subprocess, print_table

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = {5_000: 15, 1_000_000: 60}
AS_OF = pd.Timestamp("2025-12-31")
#: share, median days since last purchase, median orders, median spend (like the sample's four types)
TYPES = {"vip": (0.08, 25, 15, 1800.0), "regular": (0.27, 78, 5, 210.0),
         "occasional": (0.35, 223, 2, 38.0), "one_off": (0.30, 360, 1, 10.0)}


def synthetic_customers(n: int, seed: int = 0) -> pd.DataFrame:
    """A scored customer table (the columns notebook 02 writes) for ``n`` customers of four types."""
    from customer_analytics.models import rfm

    rng = np.random.default_rng(seed)
    share = np.array([t[0] for t in TYPES.values()])
    g = rng.choice(len(TYPES), n, p=share / share.sum())
    med = np.array([t[1:] for t in TYPES.values()], dtype=float)[g]
    noise = rng.normal(0, 0.5, (n, 3))
    recency = np.clip(np.round(med[:, 0] * np.exp(noise[:, 0])), 0, 729).astype("int64")
    frequency = np.maximum(1, np.round(med[:, 1] * np.exp(noise[:, 1]))).astype("int64")
    monetary = np.round(med[:, 2] * np.exp(noise[:, 2]) * np.sqrt(frequency / med[:, 1]), 2)
    tenure = recency + rng.integers(0, 400, n) * (frequency > 1)
    last = AS_OF - pd.to_timedelta(recency, unit="D")
    table = pd.DataFrame({
        "customer_id": pd.array(np.arange(100_000, 100_000 + n).astype(str), dtype="string"),
        "recency_days": recency, "frequency": frequency, "monetary": monetary,
        "first_purchase": AS_OF - pd.to_timedelta(tenure, unit="D"), "last_purchase": last, "tenure_days": tenure,
    })
    scored = rfm.add_scores(table)
    scored["segment"] = rfm.assign_segments(scored, rfm.load_scheme("en11"))
    return scored


def step(n: int, notebook: str) -> dict:
    import papermill as pm

    with tempfile.TemporaryDirectory(prefix="bench03-") as tmp:
        synthetic_customers(n).to_parquet(Path(tmp) / "customers.parquet", index=False)
        out = Path(tmp) / "out.ipynb"
        t0 = time.perf_counter()
        pm.execute_notebook(notebook, str(out), parameters={"run_dir": tmp, "period_end": str(AS_OF.date())},
                            kernel_name="customer-analytics", progress_bar=False, cwd=str(Path(notebook).parent))
        wall = time.perf_counter() - t0
        nb = json.loads(out.read_text())
        durations = [c["metadata"].get("papermill", {}).get("duration") or 0.0 for c in nb["cells"]]
        search = max((d for c, d in zip(nb["cells"], durations, strict=True)
                      if "search_k" in "".join(c["source"])), default=float("nan"))
        head = json.loads((Path(tmp) / "headlines" / "03_clustering.json").read_text())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the kernel is this process's child
    return {"kernel_s": round(sum(durations), 1), "k_search_cell_s": round(search, 1), "wall_s": round(wall, 1),
            "kernel_peak_mb": round(peak), "k": head.get("k")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[5_000, 100_000, 1_000_000])
    ap.add_argument("--notebook", default=str(ROOT / "notebooks" / "03_clustering.ipynb"))
    ap.add_argument("--lib", default=str(ROOT / "lib"), help="library folder the kernel imports (PYTHONPATH)")
    ap.add_argument("--step", action="store_true")
    ap.add_argument("--n", type=int)
    a = ap.parse_args()
    if a.step:
        print(json.dumps(step(a.n, a.notebook)))
        return
    os.environ["PYTHONPATH"] = os.pathsep.join([a.lib, *filter(None, [os.environ.get("PYTHONPATH")])])
    rows = []
    for n in a.sizes:
        r = in_subprocess(__file__, "--step", "--n", str(n), "--notebook", a.notebook)
        rows.append({"customers": f"{n:,}", **r, "target_s": TARGET_S.get(n, "")})
    print_table(rows, f"Notebook 03 ({Path(a.notebook).name}): kernel time = k search + stability + final fit + "
                      "names, charts and outputs")


if __name__ == "__main__":
    sys.exit(main())

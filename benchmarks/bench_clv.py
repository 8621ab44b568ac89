"""Benchmark: MAP fits of BG/NBD + Gamma-Gamma on 100k and 1M synthetic customers.

Each size runs in a fresh process with the compiled-code cache already warm (as in a
report run after the first one) and fits twice: the first fit includes building the model
and compiling the parts of its code that pytensor specialises to the data set; the refit on
the same data is the optimisation alone. The first-run compile time (empty pytensor compile
directory, as on a new machine) is measured separately on 1,000 customers.

Wall-clock seconds depend on what else runs on the machine; CPU seconds (this process and the
C compiler it starts) are printed beside them.

Usage: nice -n 10 python benchmarks/bench_clv.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from _common import in_subprocess, measure, print_table, sizes_or_step

TRUE = {"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0, "p": 6.0, "q": 4.0, "v": 15.0}


def simulate(n: int, seed: int = 0) -> pd.DataFrame:
    """Customer summaries drawn from the BG/NBD and Gamma-Gamma processes (weeks; ages 1-52 weeks).

    Arrivals in (0, T] are Poisson(lambda T); the customer leaves after a Geometric(p) number of
    repeat purchases; the x-th of n uniform arrival times on (0, T] is T * Beta(x, n - x + 1).
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
    drop = rng.beta(TRUE["a"], TRUE["b"], n)
    age = rng.uniform(1, 52, n)
    arrivals = rng.poisson(lam * age)
    x = np.minimum(arrivals, rng.geometric(drop))
    recency = np.where(x > 0, age * rng.beta(np.maximum(x, 1), np.maximum(arrivals - x + 1, 1)), 0.0)
    nu = rng.gamma(TRUE["q"], 1 / TRUE["v"], n)
    spend = np.where(x > 0, rng.gamma(TRUE["p"] * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), np.nan)
    return pd.DataFrame({"customer_id": np.arange(n).astype(str), "frequency": x, "recency": recency,
                         "T": age, "monetary_value": spend})


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the C compiler), user + system."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def fit_both(data: pd.DataFrame) -> dict:
    from customer_analytics.models import clv

    c0 = cpu_seconds()
    t0 = time.perf_counter()
    purchase = clv.fit_purchase_model(data)
    t1 = time.perf_counter()
    repeat = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
    spend = clv.fit_spend_model(repeat)
    t2 = time.perf_counter()
    est = {k: round(float(np.asarray(purchase.fit_result[k]).ravel()[0]), 3) for k in ("r", "alpha", "a", "b")}
    est.update({k: round(float(np.asarray(spend.fit_result[k]).ravel()[0]), 3) for k in ("p", "q", "v")})
    return {"bgnbd_s": round(t1 - t0, 2), "gamma_gamma_s": round(t2 - t1, 2), "cpu_s": round(cpu_seconds() - c0, 2),
            "repeat_buyers": len(repeat),
            "estimates": est}


def step(kind: str, n: int) -> dict:
    data = simulate(n)
    if kind == "compile":  # an empty compile cache: everything is compiled by gcc now
        os.environ["PYTENSOR_FLAGS"] = f"compiledir={tempfile.mkdtemp(prefix='pytensor-bench-')}"
        first = measure(lambda: fit_both(data))
        again = fit_both(data)
        return {"customers": n, "first_run_s": first["seconds"], "first_run_cpu_s": first["cpu_s"],
                "same_fit_again_s": round(again["bgnbd_s"] + again["gamma_gamma_s"], 2),
                "same_fit_again_cpu_s": again["cpu_s"], "peak_mb": first["peak_mb"]}
    first = measure(lambda: fit_both(data))  # pytensor compiles some code for each new data set
    again = fit_both(data)                    # the same data again: only the optimisation itself
    return {**first, "refit_bgnbd_s": again["bgnbd_s"], "refit_gamma_gamma_s": again["gamma_gamma_s"],
            "refit_cpu_s": again["cpu_s"],
            "peak_mb": measure(lambda: None)["peak_mb"], "customers": n}


def main() -> None:
    sizes = sizes_or_step([100_000, 1_000_000], step)
    if sizes is None:
        return
    script = sys.argv[0]
    comp = in_subprocess(script, "--step", "compile", "--n", "1000")
    print_table([comp], "First-run compile (fresh process, empty pytensor compile cache, 1,000 customers)")
    print(f"first run: {comp['first_run_s']} s (the same fit again in that process: {comp['same_fit_again_s']} s)",
          flush=True)
    rows = []
    for n in sizes:
        r = in_subprocess(script, "--step", "fit", "--n", str(n))
        est = r.pop("estimates")
        rows.append({**r, **{f"{k}_hat": v for k, v in est.items()}})
        print(f"{n:,} customers: BG/NBD {r['bgnbd_s']} s + Gamma-Gamma {r['gamma_gamma_s']} s "
              f"(total {r['seconds']} s; refit {r['refit_bgnbd_s'] + r['refit_gamma_gamma_s']:.2f} s), "
              f"peak memory {r['peak_mb']:,} MB", flush=True)
    print_table(rows, "MAP fits, BG/NBD + Gamma-Gamma (warm compile cache; true values "
                + ", ".join(f"{k}={v}" for k, v in TRUE.items()) + ")")


if __name__ == "__main__":
    main()

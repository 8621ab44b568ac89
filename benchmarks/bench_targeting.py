"""Benchmark: notebook 08's analysis (cross-fitted uplift models, bootstrap evaluation, policy) on
synthetic campaigns of 100,000 experiment users (control and two offers, numeric and categorical
features, a planted heterogeneous effect), with the default settings (logistic, 5 folds, 200 bootstrap
resamples). The target is at most 60 s at 100,000 users. Each size runs in a fresh process; the
1-minute load average is printed with it, since the machine may be shared.

Usage: nice -n 10 python benchmarks/bench_targeting.py [--sizes 100000] [--estimator gradient_boosting]
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
from _common import in_subprocess, measure, print_table, sizes_or_step

ARMS = ("control", "offer_a", "offer_b")


def campaign(n: int, seed: int = 0) -> pd.DataFrame:
    """An experiment table: equal split, 12% base rate, offer_a helps high spenders, offer_b one tier."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(ARMS, n)
    spend = rng.gamma(2.0, 50.0, n)
    visits = rng.poisson(3, n).astype(float)
    tier = rng.choice(["basic", "bronze", "silver", "gold"], n)
    effect = np.where(arm == "offer_a", 0.06 * (spend > 100), 0.0) + np.where(arm == "offer_b", 0.08 * (tier == "gold"), 0.0)
    y = (rng.random(n) < 0.12 + effect).astype(int)
    return pd.DataFrame({"user": np.arange(n).astype(str), "arm": arm, "y": y, "spend_prev": spend, "visits": visits,
                         "tier": tier})


def step(kind: str, n: int) -> dict:
    from customer_analytics.models import uplift
    from customer_analytics.settings.loading import load_config

    estimator = sys.argv[sys.argv.index("--estimator") + 1] if "--estimator" in sys.argv else "logistic"
    data = campaign(n)
    settings = {**load_config(None)["targeting"], "estimator": estimator, "seed": 0}
    cols = uplift.Columns("user", "arm", "y", "control", segment="tier", value="spend_prev")

    def run():
        features = uplift.table_features(data, ["spend_prev", "visits", "tier"])
        r = uplift.analyse(data, features, cols, settings, money=uplift.Money(20.0, {"offer_a": 0.5, "offer_b": 0.5}, "experiment"))
        return {"supported": ",".join(a for a, s in r.supported.items() if s) or "none",
                "qini_offer_a": round(r.metric("offer_a", "t_learner", "qini_coefficient")["value"], 3)}

    return {"users": n, "estimator": estimator, **measure(run), "load_1min": round(os.getloadavg()[0], 2)}


def main() -> None:
    sizes = sizes_or_step([100_000], step)
    if sizes is None:
        return
    rows = []
    for n in sizes:
        r = in_subprocess(sys.argv[0], "--step", "analyse", "--n", str(n), *sys.argv[1:])
        rows.append(r)
        print(f"{n:,} experiment users: {r['seconds']} s (target 60 s), peak memory {r['peak_mb']:,} MB, "
              f"1-minute load average {r['load_1min']}", flush=True)
    print_table(rows, "Notebook 08: cross-fitted uplift models + bootstrap evaluation + policy")


if __name__ == "__main__":
    main()

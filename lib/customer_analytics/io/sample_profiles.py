"""The sample's customer attribute file and product catalog, with known differences by latent customer type.

Drawn from their own random generator (seeded with ``[seed, 24]``), after and apart from the
transactions, so that ``online_shop_export.csv`` and the other sample files are the same with or
without them. The truth (``sample_truth.json``, key ``profiles``) records:

- **planted** traits: the share of a level among customers of one latent type against the others
  (vip: membership tier gold; regular: channel app; occasional: age band 18-24; one_off: region Scotland);
- **planted nulls**: ``city`` (the Latin-1 column: Zürich, Málaga, ...), ``newsletter`` and
  ``signup_date`` are drawn independently of the type, and so is the product **category**: the
  transactions draw products independently of the type, so no type prefers a category;
- the file's defects: ids that match no customer, ids on two rows, ids written as ``12346.0``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORIES = ["Home decor", "Kitchen", "Gifts", "Stationery", "Garden", "Party"]
REGIONS = ["London", "South East", "North West", "Midlands", "Scotland", "Wales"]
REGION_P = [0.25, 0.2, 0.2, 0.2, 0.1, 0.05]
CHANNELS = ["web", "app", "store"]
CHANNEL_P = [0.6, 0.2, 0.2]
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55+"]
AGE_P = [0.1, 0.25, 0.25, 0.2, 0.2]
TIERS = ["basic", "silver", "gold"]
TIER_P = [0.6, 0.3, 0.1]
CITIES = ["Zürich", "Málaga", "Köln", "Besançon", "São Paulo", "Reykjavík", "Göteborg", "Nîmes"]
#: Planted traits: type -> (column, level, share of that level among the type's customers).
PLANTED = {"vip": ("membership_tier", "gold", 0.6), "regular": ("channel", "app", 0.6),
           "occasional": ("age_band", "18-24", 0.45), "one_off": ("region", "Scotland", 0.4)}
NULLS = ["city", "newsletter", "signup_date"]
N_UNMATCHED, N_DUPLICATED, N_FLOAT_IDS = 8, 5, 20


def _column(rng: np.random.Generator, levels: list[str], p: list[float], n: int) -> np.ndarray:
    return rng.choice(levels, n, p=p)


def _plant(rng: np.random.Generator, frame: pd.DataFrame, types: np.ndarray) -> None:
    """Set each planted level for the planted share of its type (the rest keep their draw from the base mix)."""
    for ctype, (col, level, share) in PLANTED.items():
        mine = np.flatnonzero(types == ctype)
        hit = mine[rng.random(len(mine)) < share]
        frame.loc[hit, col] = level
        other = mine[~np.isin(mine, hit)]  # the rest of the type: redraw among the other levels
        base = frame.loc[other, col]
        frame.loc[other, col] = base.where(base != level, frame[col][frame[col] != level].iloc[0])


def customer_attributes(seed: int, ids: np.ndarray, types: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """The attribute file (one row per customer plus the defects) and its truth."""
    rng = np.random.default_rng([seed, 24])
    n = len(ids)
    frame = pd.DataFrame({"customer_id": ids.astype(str), "region": _column(rng, REGIONS, REGION_P, n),
                          "channel": _column(rng, CHANNELS, CHANNEL_P, n), "age_band": _column(rng, AGE_BANDS, AGE_P, n),
                          "membership_tier": _column(rng, TIERS, TIER_P, n),
                          "signup_date": (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1400, n), "D"))
                          .strftime("%Y-%m-%d"),
                          "newsletter": rng.choice(["yes", "no"], n), "city": rng.choice(CITIES, n)})
    _plant(rng, frame, types)
    floats = rng.choice(n, N_FLOAT_IDS, replace=False)
    frame.loc[floats, "customer_id"] = frame.loc[floats, "customer_id"] + ".0"  # as an Excel round trip writes them
    dup = frame.iloc[rng.choice(n, N_DUPLICATED, replace=False)]
    extra = frame.iloc[rng.choice(n, N_UNMATCHED, replace=False)].assign(
        customer_id=[str(99001 + i) for i in range(N_UNMATCHED)])
    out = pd.concat([frame, dup, extra], ignore_index=True)
    truth = {"planted": {t: {"attribute": c, "level": lv, "share": s} for t, (c, lv, s) in PLANTED.items()},
             "base_mix": {"region": dict(zip(REGIONS, REGION_P, strict=True)),
                          "channel": dict(zip(CHANNELS, CHANNEL_P, strict=True)),
                          "age_band": dict(zip(AGE_BANDS, AGE_P, strict=True)),
                          "membership_tier": dict(zip(TIERS, TIER_P, strict=True))},
             "planted_nulls": [*NULLS, "category"], "latin1_column": "city",
             "unmatched_ids": sorted(extra["customer_id"]),
             "duplicated_ids": sorted(dup["customer_id"].str.removesuffix(".0")), "float_ids": N_FLOAT_IDS,
             "customer_type": dict(zip(ids.astype(str), types.astype(str), strict=True))}
    return out, truth


def product_catalog(seed: int, codes: list[str]) -> pd.DataFrame:
    """StockCode -> category, drawn independently of everything else (the category preference is a planted null)."""
    rng = np.random.default_rng([seed, 25])
    return pd.DataFrame({"StockCode": codes, "category": rng.choice(CATEGORIES, len(codes))})

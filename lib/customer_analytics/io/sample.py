"""Seeded synthetic online-shop export with known defects and a known campaign effect.

``make_sample`` simulates an Online-Retail-like export (InvoiceNo, StockCode,
Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country) for a shop
whose customers belong to four latent types, then injects the defects real
exports have, counting each one. It also runs a three-arm email campaign
(control, offer_a, offer_b) whose true effect on conversion differs by type.

Everything is drawn from one ``numpy.random.Generator`` seeded with ``seed``,
so the same seed gives byte-identical files. The recorded counts
(``SampleData.truth``) are what the cleaning tests compare the audit table to.

Examples
--------
>>> from customer_analytics.io.sample import make_sample
>>> s = make_sample(seed=1, n_customers=200)
>>> sorted(s.truth["defects"])[:3]
['bad_debt_lines', 'cancellations_matched', 'cancellations_unmatched']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from customer_analytics.io import sample_profiles

#: Latent customer types: share, orders per month, mean extra lines per order,
#: mean extra units per line, mean active lifetime in months.
TYPES = pd.DataFrame(
    {
        "type": ["vip", "regular", "occasional", "one_off"],
        "share": [0.08, 0.27, 0.35, 0.30],
        "orders_per_month": [1.6, 0.6, 0.2, 0.0],
        "extra_lines": [4.0, 2.0, 1.0, 1.0],
        "extra_units": [6.0, 3.0, 1.5, 1.0],
        "lifetime_months": [30.0, 18.0, 12.0, 0.5],
    }
).set_index("type")

#: Campaign: probability of any purchase in the window for control, by type,
#: and the true absolute effect of each offer on that probability.
BASE_CONVERSION = {"vip": 0.45, "regular": 0.22, "occasional": 0.08, "one_off": 0.03}
EFFECTS = {
    "offer_a": {"vip": 0.00, "regular": 0.06, "occasional": 0.05, "one_off": 0.02},
    "offer_b": {"vip": 0.03, "regular": 0.09, "occasional": 0.01, "one_off": 0.00},
}
ORDERS_IF_CONVERTED = 1.2  # 1 + Poisson(0.2) orders for a converted customer

COUNTRIES = ["United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium"]
COUNTRY_P = [0.85, 0.04, 0.04, 0.03, 0.02, 0.01, 0.01]

_WORDS = [
    "HEART", "LANTERN", "MUG", "BAG", "CANDLE", "TEA SET", "BUNTING", "FRAME", "CLOCK",
    "CUSHION", "JAR", "TIN", "BOWL", "COASTER", "NAPKINS", "STAR", "BIRD", "CAKE STAND",
]
_ADJ = ["RED", "WHITE", "VINTAGE", "PINK", "BLUE", "REGENCY", "RETRO", "GLASS", "PAPER", "WOODEN"]
_LATIN1 = ["CRÈME BRÛLÉE", "CAFÉ", "FIANCÉE", "£5 VOUCHER", "NAÏVE", "PIÑATA"]
#: Campaign arms; tier names and arm codes of the per-user table; the one huge order.
_ARMS = np.array(["control", "offer_a", "offer_b"])
_TIER = {"vip": "gold", "regular": "silver", "occasional": "bronze", "one_off": "basic"}
_ARM_CODE = {"control": "ctl", "offer_a": "A", "offer_b": "B"}
_HUGE = {"StockCode": "23843", "Description": "PAPER CRAFT , LITTLE BIRDIE", "UnitPrice": 2.08, "Quantity": 40000}


@dataclass
class SampleData:
    """The synthetic sample: the export, the campaign tables and the recorded truth."""

    transactions: pd.DataFrame
    assignments: pd.DataFrame
    experiment_users: pd.DataFrame
    truth: dict = field(default_factory=dict)
    customer_attributes: pd.DataFrame | None = None  # the CRM-like attribute file (own random generator)
    product_catalog: pd.DataFrame | None = None      # StockCode -> category (own random generator)


def _catalog(rng: np.random.Generator, n_products: int = 300) -> pd.DataFrame:
    """Draw the product catalogue: code, description, price and popularity weight."""
    codes = [f"{20000 + i}" for i in range(n_products)]
    adj = rng.choice(_ADJ, n_products)
    noun = rng.choice(_WORDS, n_products)
    desc = np.char.add(np.char.add(adj.astype(str), " "), noun.astype(str))
    latin = rng.random(n_products) < 0.05
    desc[latin] = np.char.add(rng.choice(_LATIN1, latin.sum()).astype(str), " GIFT")
    price = np.round(np.exp(rng.normal(1.0, 0.7, n_products)), 2).clip(0.29, 60)
    weight = 1.0 / np.arange(1, n_products + 1) ** 0.8
    return pd.DataFrame(
        {"StockCode": codes, "Description": desc, "UnitPrice": price, "weight": weight / weight.sum()}
    )


def _lines_for_orders(
    rng: np.random.Generator, orders: pd.DataFrame, catalog: pd.DataFrame
) -> pd.DataFrame:
    """Expand orders (one row each, with a ``type``) into product lines."""
    t = TYPES.loc[orders["type"]]
    n_lines = 1 + rng.poisson(t["extra_lines"].to_numpy())
    lines = orders.loc[orders.index.repeat(n_lines)].reset_index(drop=True)
    prod = rng.choice(len(catalog), size=len(lines), p=catalog["weight"].to_numpy())
    lines["StockCode"] = catalog["StockCode"].to_numpy()[prod]
    lines["Description"] = catalog["Description"].to_numpy()[prod]
    lines["UnitPrice"] = catalog["UnitPrice"].to_numpy()[prod]
    units = TYPES.loc[lines["type"], "extra_units"].to_numpy()
    lines["Quantity"] = 1 + rng.poisson(units)
    # one line per product within an order: real exports merge repeated products
    return lines.drop_duplicates(["InvoiceKey", "StockCode"]).reset_index(drop=True)


def expected_order_value(catalog: pd.DataFrame, customer_type: str) -> float:
    """Expected net value of one order of a customer type (before any defect)."""
    t = TYPES.loc[customer_type]
    mean_price = float((catalog["weight"] * catalog["UnitPrice"]).sum())
    return (1 + t["extra_lines"]) * (1 + t["extra_units"]) * mean_price


def _customers(
    rng: np.random.Generator, n_customers: int, t0: pd.Timestamp, t1: pd.Timestamp
) -> pd.DataFrame:
    """Draw the registered customers: type, acquisition, churn and country."""
    ctype = rng.choice(TYPES.index.to_numpy(), size=n_customers, p=TYPES["share"].to_numpy())
    span_days = (t1 - t0).days
    acq = t0 + pd.to_timedelta(rng.integers(0, span_days - 30, n_customers), unit="D")
    life_m = rng.exponential(TYPES.loc[ctype, "lifetime_months"].to_numpy())
    churn = acq + pd.to_timedelta(life_m * 30.4, unit="D")
    churn = churn.where(churn < t1, t1)
    return pd.DataFrame(
        {
            "CustomerID": np.arange(12346, 12346 + n_customers).astype(str),
            "type": ctype,
            "acq": acq,
            "churn": churn,
            "Country": rng.choice(COUNTRIES, n_customers, p=COUNTRY_P),
        }
    )


def _base_orders(rng: np.random.Generator, customers: pd.DataFrame) -> pd.DataFrame:
    """Draw the orders: the first at acquisition, then a Poisson process until churn."""
    months = ((customers["churn"] - customers["acq"]).dt.days / 30.4).to_numpy()
    rate = TYPES.loc[customers["type"], "orders_per_month"].to_numpy()
    n_more = rng.poisson(rate * months)
    idx = np.repeat(np.arange(len(customers)), 1 + n_more)
    orders = customers.iloc[idx].reset_index(drop=True)
    first = np.r_[True, idx[1:] != idx[:-1]]
    offset = rng.random(len(orders)) * (orders["churn"] - orders["acq"]).dt.total_seconds()
    offset[first] = 0
    minutes = rng.integers(8 * 60, 20 * 60, len(orders))
    orders["ts"] = (
        orders["acq"] + pd.to_timedelta(offset, unit="s")
    ).dt.normalize() + pd.to_timedelta(minutes, unit="m")
    return orders


def _assign_campaign(rng: np.random.Generator, customers: pd.DataFrame, camp: pd.Timestamp) -> pd.DataFrame:
    """Draw the variant and exposure day of every customer acquired 30 days before the campaign."""
    eligible = customers[customers["acq"] < camp - pd.Timedelta(days=30)].copy()
    eligible["variant"] = rng.choice(_ARMS, len(eligible))
    eligible["exposure"] = camp + pd.to_timedelta(rng.integers(0, 4, len(eligible)), unit="D")
    return eligible


def _converted_orders(rng: np.random.Generator, eligible: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """Draw who converts in the window (base rate plus the arm's effect) and their orders."""
    p_base = eligible["type"].map(BASE_CONVERSION).to_numpy()
    effect = np.zeros(len(eligible))
    for arm, by_type in EFFECTS.items():
        m = eligible["variant"].to_numpy() == arm
        effect[m] = eligible.loc[m, "type"].map(by_type).to_numpy()
    converted = rng.random(len(eligible)) < p_base + effect
    conv = eligible[converted]
    n_conv_orders = 1 + rng.poisson(ORDERS_IF_CONVERTED - 1, len(conv))
    corders = conv.loc[conv.index.repeat(n_conv_orders)].reset_index(drop=True)
    day = rng.integers(0, window_days, len(corders))
    corders["ts"] = (
        corders["exposure"]
        + pd.to_timedelta(day, unit="D")
        + pd.to_timedelta(rng.integers(8 * 60, 20 * 60, len(corders)), unit="m")
    )
    return corders


def _campaign_orders(
    rng: np.random.Generator, orders: pd.DataFrame, eligible: pd.DataFrame, *, window_days: int, t1: pd.Timestamp
) -> pd.DataFrame:
    """Replace the base orders inside each exposure window by the campaign's, numbered by time."""
    # the base process does not run for exposed customers inside their window:
    ex = orders.merge(eligible[["CustomerID", "exposure"]], on="CustomerID", how="left")
    in_window = (ex["ts"] >= ex["exposure"]) & (
        ex["ts"] < ex["exposure"] + pd.Timedelta(days=window_days)
    )
    orders = orders.loc[~in_window.to_numpy()].reset_index(drop=True)
    corders = _converted_orders(rng, eligible, window_days)
    orders = pd.concat([orders, corders[orders.columns]], ignore_index=True)
    orders = orders[orders["ts"] <= t1].sort_values(["ts", "CustomerID"], kind="stable")
    orders = orders.reset_index(drop=True)
    orders["InvoiceKey"] = np.arange(len(orders))
    return orders


def _cancellations(rng: np.random.Generator, lines: pd.DataFrame, idx: np.ndarray) -> pd.DataFrame:
    """Cancel earlier purchases: full or partial quantity, 1 hour to 20 days later."""
    c = lines.loc[idx].copy()
    partial = rng.random(len(c)) < 0.3
    c["Quantity"] = -np.where(partial & (c["Quantity"] > 1), c["Quantity"] // 2, c["Quantity"])
    c["ts"] = c["ts"] + pd.to_timedelta(rng.integers(60, 20 * 24 * 60, len(c)), unit="m")
    c["kind"] = "cancel"
    return c


def _unmatched_returns(
    rng: np.random.Generator, lines: pd.DataFrame, pre: pd.Series, catalog: pd.DataFrame
) -> pd.DataFrame:
    """Returns with no earlier purchase of that product by that customer."""
    cand = lines.loc[pre].sample(400, random_state=rng.integers(1 << 31)).copy()
    cand["StockCode"] = rng.choice(catalog["StockCode"], len(cand))
    bought = lines[["CustomerID", "StockCode"]].drop_duplicates().assign(seen=True)
    cand = cand.merge(bought, on=["CustomerID", "StockCode"], how="left")
    cand = cand[cand["seen"].isna()].drop(columns="seen").head(15)
    cand = cand.drop_duplicates(["CustomerID", "StockCode"])
    cand["Quantity"] = -(1 + rng.poisson(1.0, len(cand)))
    cand["kind"] = "cancel"
    cand["Description"] = cand["StockCode"].map(catalog.set_index("StockCode")["Description"])
    cand["UnitPrice"] = cand["StockCode"].map(catalog.set_index("StockCode")["UnitPrice"])
    return cand


def _huge_order(lines: pd.DataFrame, pre: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """One huge order cancelled ten minutes later (as in the real Online Retail data)."""
    huge_cust = lines.loc[pre & (lines["type"] == "regular"), "CustomerID"].iloc[0]
    base = lines.loc[pre & (lines["CustomerID"] == huge_cust)].iloc[[0]].copy()
    huge = base.assign(**_HUGE, kind="huge")
    huge["ts"] = huge["ts"] + pd.Timedelta(minutes=5)
    huge_cancel = huge.assign(Quantity=-_HUGE["Quantity"], kind="cancel")
    huge_cancel["ts"] = huge["ts"] + pd.Timedelta(minutes=10)
    return huge, huge_cancel, huge_cust


def _postage(rng: np.random.Generator, lines: pd.DataFrame, idx: np.ndarray) -> pd.DataFrame:
    """Postage and fee lines added to existing orders."""
    p = lines.loc[idx].copy()
    fee = rng.random(len(p)) < 0.1
    p["StockCode"] = np.where(fee, "AMAZONFEE", "POST")
    p["Description"] = np.where(fee, "AMAZON FEE", "POSTAGE")
    p["UnitPrice"] = np.where(fee, 5.44, 18.0)
    p["Quantity"] = 1 + rng.integers(0, 3, len(p))
    p["kind"] = "postage"
    return p


def _zero_price(
    rng: np.random.Generator, lines: pd.DataFrame, idx: np.ndarray, catalog: pd.DataFrame
) -> pd.DataFrame:
    """Zero-price lines (free samples) added to existing orders."""
    z = lines.loc[idx].copy()
    z["StockCode"] = rng.choice(catalog["StockCode"], len(z))
    z["UnitPrice"] = 0.0
    z["kind"] = "zero_price"
    return z


def _bad_debt(rng: np.random.Generator, lines: pd.DataFrame, idx: np.ndarray) -> pd.DataFrame:
    """Bad-debt adjustments: a price that is negative on a positive quantity."""
    b = lines.loc[idx].copy()
    return b.assign(StockCode="B", Description="Adjust bad debt", Quantity=1,
                    UnitPrice=-np.round(rng.uniform(500, 2000, 2), 2), kind="bad_debt")


def _guest_lines(
    rng: np.random.Generator, orders: pd.DataFrame, catalog: pd.DataFrame, camp: pd.Timestamp
) -> pd.DataFrame:
    """Guest checkouts: lines of 40 pre-campaign orders without a customer id."""
    g_orders = orders.loc[rng.choice(np.flatnonzero(orders["ts"] < camp), 40, replace=False)]
    g_orders = g_orders.assign(CustomerID="", InvoiceKey=-1 - np.arange(40))
    return _lines_for_orders(rng, g_orders.reset_index(drop=True), catalog).assign(kind="guest")


def _future_lines(lines: pd.DataFrame, idx: np.ndarray) -> pd.DataFrame:
    """Future-dated typos (year 2099)."""
    f = lines.loc[idx].copy()
    f["ts"] = f["ts"] + pd.DateOffset(years=74)
    f["kind"] = "future"
    return f


def _defect_rows(
    rng: np.random.Generator, lines: pd.DataFrame, orders: pd.DataFrame, *, catalog: pd.DataFrame,
    camp: pd.Timestamp,
) -> tuple[list[pd.DataFrame], dict[str, int], str]:
    """Draw the defective lines (defects only touch pre-campaign lines) and count each kind."""
    pre = lines["ts"] < camp - pd.Timedelta(days=2)
    defects: dict[str, int] = {}
    pool = rng.permutation(np.flatnonzero(pre.to_numpy()))
    take = iter(np.split(pool, np.cumsum([60, 50, 80, 25])[:4])[:4])
    dup_idx, cancel_idx, post_idx, zero_idx = (next(take) for _ in range(4))
    # exact duplicate lines (the export repeated them)
    new_rows = [lines.loc[dup_idx].assign(kind="duplicate")]
    defects["duplicate_lines"] = len(dup_idx)
    new_rows.append(_cancellations(rng, lines, cancel_idx))
    new_rows.append(_unmatched_returns(rng, lines, pre, catalog))
    defects["cancellations_unmatched"] = len(new_rows[-1])
    huge, huge_cancel, huge_cust = _huge_order(lines, pre)
    new_rows += [huge, huge_cancel]
    defects["cancellations_matched"] = len(cancel_idx) + 1
    new_rows.append(_postage(rng, lines, post_idx))
    defects["non_merchandise_lines"] = len(new_rows[-1])
    new_rows.append(_zero_price(rng, lines, zero_idx, catalog))
    defects["zero_price_lines"] = len(new_rows[-1])
    new_rows.append(_bad_debt(rng, lines, pool[-2:]))
    defects["bad_debt_lines"] = len(new_rows[-1])
    new_rows.append(_guest_lines(rng, orders, catalog, camp))
    defects["missing_customer_lines"] = len(new_rows[-1])
    new_rows.append(_future_lines(lines, pool[-5:-2]))
    defects["future_lines"] = len(new_rows[-1])
    return new_rows, defects, huge_cust


def _invoiced(
    rng: np.random.Generator, lines: pd.DataFrame, new_rows: list[pd.DataFrame], defects: dict[str, int]
) -> pd.DataFrame:
    """All lines in time order with invoice numbers and ids as the export leaves them (counted)."""
    out = pd.concat([lines.assign(kind="ok"), *new_rows], ignore_index=True)
    out = out.sort_values(["ts", "InvoiceKey"], kind="stable").reset_index(drop=True)
    # invoice numbers: one per order (sorted by time), 'C' + own number for each cancellation
    inv = out["InvoiceKey"].rank(method="dense").astype(int) + 536000
    cancel = out["kind"].eq("cancel").to_numpy()
    inv_str = inv.astype(str).to_numpy(dtype=object)
    inv_str[cancel] = "C" + (580000 + np.arange(cancel.sum())).astype(str).astype(object)
    out["InvoiceNo"] = inv_str
    # customer ids as a spreadsheet round-trip leaves them: floats, some padded with spaces
    has_id = out["CustomerID"] != ""
    out["CustomerID"] = np.where(has_id, out["CustomerID"] + ".0", "")
    padded = rng.choice(np.flatnonzero(has_id.to_numpy()), 30, replace=False)
    out.loc[padded, "CustomerID"] = " " + out.loc[padded, "CustomerID"] + " "
    defects["float_artefact_ids"] = int(has_id.sum())
    defects["padded_ids"] = 30
    defects["latin1_lines"] = int(out["Description"].map(lambda s: not s.isascii()).sum())
    return out


def _export(out: pd.DataFrame) -> pd.DataFrame:
    """The lines in export form: strings, as a shop system writes them."""
    return pd.DataFrame(
        {
            "InvoiceNo": out["InvoiceNo"],
            "StockCode": out["StockCode"],
            "Description": out["Description"],
            "Quantity": out["Quantity"].astype(int),
            "InvoiceDate": out["ts"].dt.strftime("%d/%m/%Y %H:%M"),
            "UnitPrice": out["UnitPrice"].map(lambda v: f"{v:.2f}"),
            "CustomerID": out["CustomerID"],
            "Country": out["Country"],
        }
    )


def _assignments(eligible: pd.DataFrame) -> pd.DataFrame:
    """The assignment table: customer_id, variant, exposure_date."""
    return pd.DataFrame(
        {
            "customer_id": eligible["CustomerID"].to_numpy(),
            "variant": eligible["variant"].to_numpy(),
            "exposure_date": eligible["exposure"].dt.strftime("%Y-%m-%d").to_numpy(),
        }
    )


def _experiment_users(lines: pd.DataFrame, eligible: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """The per-user table with deliberately non-standard column names."""
    ok = lines[lines["CustomerID"].isin(eligible["CustomerID"])].merge(
        eligible[["CustomerID", "exposure"]], on="CustomerID"
    )
    ok["value"] = ok["Quantity"] * ok["UnitPrice"]
    win = (ok["ts"] >= ok["exposure"]) & (ok["ts"] < ok["exposure"] + pd.Timedelta(days=window_days))
    prewin = (ok["ts"] < ok["exposure"]) & (ok["ts"] >= ok["exposure"] - pd.Timedelta(days=90))
    rev = ok[win].groupby("CustomerID")["value"].sum()
    pre_rev = ok[prewin].groupby("CustomerID")["value"].sum()
    return pd.DataFrame(
        {
            "user_ref": "U" + eligible["CustomerID"].to_numpy(),
            "arm": eligible["variant"].map(_ARM_CODE).to_numpy(),
            "purchased": eligible["CustomerID"].isin(rev.index).astype(int).to_numpy(),
            "spend": eligible["CustomerID"].map(rev).fillna(0.0).round(2).to_numpy(),
            "spend_prev90": eligible["CustomerID"].map(pre_rev).fillna(0.0).round(2).to_numpy(),
            "tier": eligible["type"].map(_TIER).to_numpy(),
        }
    )


def _huge_order_truth(customer_id: str) -> dict:
    """The planted huge order: customer, product, quantity and amount."""
    return {
        "customer_id": str(customer_id),
        "stock_code": _HUGE["StockCode"],
        "quantity": _HUGE["Quantity"],
        "amount": _HUGE["Quantity"] * _HUGE["UnitPrice"],
    }


def _experiment_truth(
    eligible: pd.DataFrame, catalog: pd.DataFrame, *, campaign_start: str, window_days: int
) -> dict:
    """The campaign's settings and its true effects on conversion and revenue, by type."""
    return {
        "campaign_start": campaign_start,
        "window_days": window_days,
        "arms": _ARMS.tolist(),
        "n_assigned": len(eligible),
        "base_conversion": BASE_CONVERSION,
        "conversion_effect": EFFECTS,
        "revenue_effect": {
            arm: {
                t: round(e * ORDERS_IF_CONVERTED * expected_order_value(catalog, t), 6)
                for t, e in by_type.items()
            }
            for arm, by_type in EFFECTS.items()
        },
        "tier_of_type": dict(_TIER),
        "customer_type": dict(zip(eligible["CustomerID"], eligible["type"], strict=True)),
    }


def make_sample(
    seed: int = 42,
    n_customers: int = 1500,
    start: str = "2024-01-01",
    end: str = "2025-12-31",
    *,
    campaign_start: str = "2025-11-03",
    window_days: int = 28,
) -> SampleData:
    """Simulate the shop export, inject defects and run the campaign.

    Parameters
    ----------
    seed : int
        Seed of the single random generator; the same seed gives identical output.
    n_customers : int
        Number of registered customers (guest checkouts come on top).
    start, end : str
        First and last day of the export (ISO dates).
    campaign_start : str
        First exposure day of the email campaign. Exposures spread over 4 days.
    window_days : int
        Outcome window after each exposure, in days.

    Returns
    -------
    SampleData
        ``transactions`` in export form (strings, as a shop system writes them),
        ``assignments`` (customer_id, variant, exposure_date), ``experiment_users``
        (a per-user table with deliberately non-standard column names) and
        ``truth`` (injected defect counts and true campaign effects).
    """
    if n_customers < 100:
        raise ValueError(f"n_customers must be at least 100, got {n_customers}")
    rng = np.random.default_rng(seed)
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(hours=23, minutes=59)
    camp = pd.Timestamp(campaign_start)
    catalog = _catalog(rng)
    customers = _customers(rng, n_customers, t0, t1)
    orders = _base_orders(rng, customers)
    eligible = _assign_campaign(rng, customers, camp)
    orders = _campaign_orders(rng, orders, eligible, window_days=window_days, t1=t1)
    lines = _lines_for_orders(rng, orders, catalog)
    new_rows, defects, huge_cust = _defect_rows(rng, lines, orders, catalog=catalog, camp=camp)
    export = _export(_invoiced(rng, lines, new_rows, defects))
    defects["total_lines"] = len(export)
    truth = {
        "seed": seed,
        "n_customers": n_customers,
        "start": start,
        "end": end,
        "defects": defects,
        "huge_order": _huge_order_truth(huge_cust),
        "experiment": _experiment_truth(eligible, catalog, campaign_start=campaign_start, window_days=window_days),
    }
    attrs, truth["profiles"] = sample_profiles.customer_attributes(seed, customers["CustomerID"].to_numpy(),
                                                                   customers["type"].to_numpy())
    products = sample_profiles.product_catalog(seed, [*catalog["StockCode"], _HUGE["StockCode"]])
    return SampleData(export, _assignments(eligible), _experiment_users(lines, eligible, window_days), truth,
                      attrs, products)


def write_sample(sample: SampleData, out_dir: str | Path) -> dict[str, Path]:
    """Write the sample files into ``out_dir``.

    The export is written in Windows-1252, as many shop systems do, so the
    loader's encoding detection has something to detect. Returns the paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "transactions": out / "online_shop_export.csv",
        "assignments": out / "campaign_assignments.csv",
        "experiment_users": out / "experiment_users.csv",
        "truth": out / "sample_truth.json",
        "customer_attributes": out / "customer_attributes.csv",  # Latin-1, as an older CRM writes it
        "product_catalog": out / "product_catalog.csv",
    }
    sample.transactions.to_csv(paths["transactions"], index=False, encoding="cp1252", lineterminator="\n")
    sample.assignments.to_csv(paths["assignments"], index=False, lineterminator="\n")
    sample.experiment_users.to_csv(paths["experiment_users"], index=False, lineterminator="\n")
    paths["truth"].write_text(json.dumps(sample.truth, indent=1, sort_keys=True) + "\n", "utf-8")
    if sample.customer_attributes is not None:
        sample.customer_attributes.to_csv(paths["customer_attributes"], index=False, encoding="latin-1",
                                          lineterminator="\n")
        sample.product_catalog.to_csv(paths["product_catalog"], index=False, lineterminator="\n")
    return paths

"""The CLV summary, the experiment outcomes and the cluster assignment run in the engine.

Each step is one ibis expression. The reference below is each step's definition written plainly
in pandas (the readable statement of what the columns mean); the engine must give identical
tables, compared exactly, on hand-made edge cases and on the bundled sample, in DuckDB and (one
test, when Java is present) in Spark local mode.

Money is summed in whole cents: each line is rounded to the cent (half away from zero) and the
integers are added, then divided by 100. Summing the floats instead would depend on the order in
which an engine's threads add up the lines (on the sample, about a quarter of the purchase-day
values and of the mean repeat spends would differ in the last bits between orders), so the
definition, and therefore the reference, sums cents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler

from customer_analytics.core import engine
from customer_analytics.core.errors import ConfigError
from customer_analytics.models import cleaning, cluster_assign, clustering, clv, rfm
from customer_analytics.models import experiments as ex

# ------------------------------------------------------------------ the reference definitions, in pandas


def reference_purchase_days(tx: pd.DataFrame, as_of, start=None, with_cents: bool = False) -> pd.DataFrame:
    """Customer-days up to ``as_of`` (after ``start``) with a line that is not a return; net value of the day."""
    day = pd.to_datetime(tx["order_date"]).dt.normalize()
    keep = day <= pd.Timestamp(as_of).normalize()
    if start is not None:
        keep &= day > pd.Timestamp(start).normalize()
    amount = pd.to_numeric(tx["amount"], errors="coerce")
    sale = amount >= 0
    if "quantity" in tx:
        sale &= ~(pd.to_numeric(tx["quantity"], errors="coerce") < 0)
    d = pd.DataFrame({"customer_id": tx["customer_id"].astype(str), "day": day, "cents": cleaning.cents(amount),
                      "sale": sale})[keep]
    g = d.groupby(["customer_id", "day"], as_index=False, sort=True).agg(cents=("cents", "sum"), sale=("sale", "any"))
    g = g[g["sale"]].reset_index(drop=True)
    out = pd.DataFrame({"customer_id": g["customer_id"], "day": g["day"], "value": g["cents"] / 100})
    return out.assign(cents=g["cents"]) if with_cents else out


def reference_summary(tx: pd.DataFrame, as_of, time_unit: str = "weeks") -> pd.DataFrame:
    """Frequency (purchase days after the first), recency and T in the unit, mean repeat spend, first and last day."""
    unit = {"days": 1.0, "weeks": 7.0}[time_unit]
    as_of = pd.Timestamp(as_of).normalize()
    days = reference_purchase_days(tx, as_of, with_cents=True)
    g = days.groupby("customer_id", sort=True)
    first, last, n = g["day"].min(), g["day"].max(), g.size()
    first_cents = days.drop_duplicates("customer_id").set_index("customer_id")["cents"]
    repeat_cents = g["cents"].sum() - first_cents
    freq = (n - 1).astype("int64")
    out = pd.DataFrame({
        "customer_id": first.index.astype(str),
        "frequency": freq.to_numpy(),
        "recency": ((last - first).dt.days / unit).to_numpy(),
        "T": ((as_of - first).dt.days / unit).to_numpy(),
        "monetary_value": (repeat_cents / 100 / freq.where(freq > 0)).to_numpy(),
        "first_purchase": first.to_numpy(),
        "last_purchase": last.to_numpy(),
    })
    with_lines = pd.to_datetime(tx["order_date"]).dt.normalize() <= as_of
    out.attrs["no_purchase_customers"] = int(tx.loc[with_lines, "customer_id"].astype(str).nunique()) - len(out)
    out.attrs["time_unit"] = time_unit
    return out


def reference_outcomes(assignments: pd.DataFrame, tx: pd.DataFrame, window_days: int = 28,
                       pre_days: int = 90) -> pd.DataFrame:
    """Net cents and distinct orders in [exposure, exposure + window), net cents in [exposure - pre, exposure)."""
    a = assignments[["customer_id", "variant", "exposure_date"]].copy()
    a.columns = ["customer_id", "variant", "exposure"]
    a["customer_id"] = a["customer_id"].astype(str).str.strip()
    a["exposure"] = pd.to_datetime(a["exposure"])
    t = tx[["customer_id", "order_id", "order_date", "amount"]].merge(a, on="customer_id")
    t["cents"] = cleaning.cents(t["amount"])
    in_win = (t["order_date"] >= t["exposure"]) & (t["order_date"] < t["exposure"] + pd.Timedelta(days=window_days))
    pre = (t["order_date"] < t["exposure"]) & (t["order_date"] >= t["exposure"] - pd.Timedelta(days=pre_days))
    w = t[in_win].groupby("customer_id")
    out = a.set_index("customer_id")
    out["revenue"] = w["cents"].sum().reindex(out.index).fillna(0) / 100
    out["orders"] = w["order_id"].nunique().reindex(out.index).fillna(0).astype(float)
    out["converted"] = (out["orders"] > 0).astype(float)
    out["pre_revenue"] = t[pre].groupby("customer_id")["cents"].sum().reindex(out.index).fillna(0) / 100
    return out.reset_index()


def reference_assignment(pipe, x: pd.DataFrame, id_map: dict[int, int] | None = None) -> np.ndarray:
    """scikit-learn's own assignment (scaler, then KMeans.predict), then the stable ids (-1 when unmapped)."""
    raw = np.asarray(pipe.predict(x.to_numpy(dtype=float)), dtype=int)
    if id_map is None:
        return raw
    return np.array([id_map.get(int(r), -1) for r in raw], dtype=int)


# ------------------------------------------------------------------ hand-made edge cases


def clv_edge_cases() -> pd.DataFrame:
    rows = [
        ("only_returns", "R1", "2024-01-03 10:00", -15.0, -1),     # only returns: no row, counted apart
        ("only_returns", "R2", "2024-01-10 10:00", -5.0, -1),
        ("same_day", "1", "2024-01-01 09:00", 10.005, 1),          # two orders, one day, half cents
        ("same_day", "2", "2024-01-01 18:00", 4.995, 1),
        ("same_day", "3", "2024-01-15 12:00", 20.10, 2),
        ("same_day", "R3", "2024-01-15 13:00", -20.10, -2),         # a repeat day netted to zero is still a purchase
        ("boundary", "4", "2024-01-08 00:00", 30.0, 1),
        ("boundary", "5", "2024-01-31 23:59", 0.1, 1),              # the last minute of as_of counts
        ("boundary", "6", "2024-02-01 00:00", 99.0, 1),             # the next day never does
        ("qty_return", "7", "2024-01-02 08:00", 12.5, 1),
        ("qty_return", "8", "2024-01-20 08:00", 3.0, -1),           # negative quantity: a return, not a purchase
        ("free_item", "9", "2024-01-05 08:00", 0.0, 1),             # a zero-value line is a purchase
        ("free_item", "10", "2024-01-25 08:00", 0.1, 1),
        ("free_item", "11", "2024-01-25 09:00", 0.2, 1),
        ("0042", "12", "2023-12-31 23:00", 7.0, 1),                  # leading zeros stay text
        ("0042", "13", "2024-01-31 00:00", 7.0, 1),
        ("0042", "14", "2024-01-31 00:01", -0.005, 1),               # half a cent back, rounded away from zero
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount", "quantity"])
    return tx.astype({"customer_id": "string", "order_id": "string", "quantity": "float64"}).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"]))


def outcome_edge_cases() -> tuple[pd.DataFrame, pd.DataFrame]:
    assignments = pd.DataFrame({
        "customer_id": ["a", " b ", "c", "d", "quiet"],
        "variant": ["control", "offer", "offer", "control", "offer"],
        "exposure_date": ["2024-03-01 00:00", "2024-03-01 12:00", "2024-03-10 00:00", "2024-03-05 00:00",
                          "2024-03-01 00:00"],
    })
    rows = [
        ("a", "1", "2024-03-01 00:00", 10.0),      # at the exposure: in the window
        ("a", "2", "2024-03-28 23:59", 5.005),     # the window's last minute, half a cent
        ("a", "3", "2024-03-29 00:00", 50.0),      # exposure + 28 days: outside
        ("a", "4", "2023-12-02 00:00", 3.0),       # exposure - 90 days: the pre-period's first moment
        ("a", "5", "2023-12-01 23:59", 4.0),       # before the pre-period
        ("a", "6", "2024-02-29 23:59", 2.5),       # just before the exposure: pre-period
        ("b", "7", "2024-03-01 11:59", 8.0),       # a minute before a noon exposure: pre-period
        ("b", "8", "2024-03-01 12:00", 8.0),
        ("b", "8", "2024-03-01 12:00", 2.0),       # the same order twice: one order
        ("c", "9", "2024-03-12 10:00", 40.0),
        ("c", "R9", "2024-03-14 10:00", -40.0),    # a return in the window: revenue nets to zero, two orders
        ("d", "10", "2024-03-02 10:00", 6.0),      # before d's exposure
        ("x", "11", "2024-03-02 10:00", 70.0),     # not assigned: ignored
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"]).astype(
        {"customer_id": "string", "order_id": "string"}).assign(order_date=lambda d: pd.to_datetime(d["order_date"]))
    return assignments, tx


def tie_pipeline() -> tuple[Pipeline, pd.DataFrame]:
    """A scaler + k-means pipeline with centroids (-1, 0), (1, 0) and (0, 1) in the scaled space.

    Raw features are 1 + 2 z (every number exact in binary), so the query rows sit exactly
    halfway between centroids: (0, 0) is as far from all three, (0.5, 0.5) from 1 and 2.
    """
    centres = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    sc = StandardScaler().fit(np.array([[-1.0, -1.0], [3.0, 3.0]]))  # mean 1, scale 2
    assert sc.mean_.tolist() == [1.0, 1.0] and sc.scale_.tolist() == [2.0, 2.0]
    km = KMeans(n_clusters=3, init=centres, n_init=1, max_iter=1).fit(centres)
    assert km.cluster_centers_.tolist() == centres.tolist()
    z = np.array([[0.0, 0.0], [0.5, 0.5], [-1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [-0.5, 0.5], [7.0, -3.0]])
    x = pd.DataFrame(1 + 2 * z, columns=["log_recency_days", "log_frequency"])
    return Pipeline([("scale", sc), ("model", km)]), x


# ------------------------------------------------------------------ helpers


def assert_same(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert got.attrs == ref.attrs
    assert got.to_csv(index=False) == ref.to_csv(index=False)  # the exported table, byte for byte


@pytest.fixture(scope="module")
def clean(cleaned_sample):
    return cleaned_sample.data


@pytest.fixture(scope="module")
def sample_features(clean):
    return clustering.build_features(rfm.compute_rfm(clean, "2025-12-31"), ["tenure", "aov", "interpurchase"])


# ------------------------------------------------------------------ CLV summary and purchase days


@pytest.mark.parametrize("time_unit", ["weeks", "days"])
def test_the_clv_summary_in_the_engine_is_the_definition_on_edge_cases(time_unit):
    tx = clv_edge_cases()
    got = clv.summary(tx, "2024-01-31", time_unit)
    assert_same(got, reference_summary(tx, "2024-01-31", time_unit))
    s = got.set_index("customer_id")
    assert list(s.index) == ["0042", "boundary", "free_item", "qty_return", "same_day"]
    assert got.attrs["no_purchase_customers"] == 1  # only_returns
    assert s.loc["same_day", "frequency"] == 1 and s.loc["same_day", "monetary_value"] == 0.0
    assert s.loc["boundary", "last_purchase"] == pd.Timestamp("2024-01-31") and s.loc["boundary", "frequency"] == 1
    assert s.loc["qty_return", "frequency"] == 0 and np.isnan(s.loc["qty_return", "monetary_value"])
    assert s.loc["free_item", "monetary_value"] == 0.3
    assert s.loc["0042", "monetary_value"] == 6.99  # 7.00 and -0.01 on one day


def test_purchase_days_in_the_engine_are_the_definition_with_both_boundaries():
    tx = clv_edge_cases()
    for as_of, start in (("2024-01-31", None), ("2024-01-31 18:00", "2024-01-08"), ("2024-01-14", "2024-01-01")):
        got = clv.purchase_days(tx, as_of, start=start)
        pd.testing.assert_frame_equal(got, reference_purchase_days(tx, as_of, start), check_exact=True)
    days = clv.purchase_days(tx, "2024-01-31", start="2024-01-08")
    assert "2024-01-08" not in days["day"].astype(str).tolist()  # the start day itself is excluded
    first = clv.purchase_days(tx, "2024-01-31").set_index(["customer_id", "day"])["value"]
    assert first.loc[("same_day", pd.Timestamp("2024-01-01"))] == 15.01  # 10.01 + 5.00, each line in cents


@pytest.mark.parametrize("as_of", ["2025-06-30", "2025-11-30", "2025-12-31"])
def test_the_clv_summary_in_the_engine_is_the_definition_on_the_sample(clean, as_of):
    got = clv.summary(clean, as_of, "weeks")
    assert_same(got, reference_summary(clean, as_of, "weeks"))
    assert len(got) > 1000 and (got["frequency"] > 0).sum() > 300
    pd.testing.assert_frame_equal(clv.purchase_days(clean, as_of, start="2025-01-31"),
                                  reference_purchase_days(clean, as_of, "2025-01-31"), check_exact=True)


def test_the_clv_summary_takes_a_table_already_in_the_engine(clean):
    con = engine.connect()
    t = engine.table(con, clean[["customer_id", "order_date", "amount", "quantity"]], "lines")
    got = clv.summary(t, "2025-12-31", "days", con=con)
    assert_same(got, reference_summary(clean, "2025-12-31", "days"))


# ------------------------------------------------------------------ experiment outcomes


def test_experiment_outcomes_in_the_engine_are_the_definition_on_edge_cases():
    assignments, tx = outcome_edge_cases()
    out, notes = ex.derive_outcomes(assignments, tx, 28, "2024-03-31")
    assert_same(out, reference_outcomes(assignments, tx))
    o = out.set_index("customer_id")
    assert o.loc["a", ["revenue", "orders", "pre_revenue"]].tolist() == [15.01, 2.0, 5.5]
    assert o.loc["b", ["revenue", "orders", "pre_revenue"]].tolist() == [10.0, 1.0, 8.0]
    assert o.loc["c", ["revenue", "orders", "converted"]].tolist() == [0.0, 2.0, 1.0]
    assert o.loc["d", ["revenue", "pre_revenue", "converted"]].tolist() == [0.0, 6.0, 0.0]
    assert o.loc["quiet", ["revenue", "orders", "converted", "pre_revenue"]].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert "x" not in o.index and notes == ["The outcome window of the last exposures ends 2024-04-07, after the "
                                            "period end 2024-03-31: outcomes are incomplete."]
    short, _ = ex.derive_outcomes(assignments, tx, window_days=1, pre_days=1)
    assert_same(short, reference_outcomes(assignments, tx, 1, 1))


def test_experiment_outcomes_in_the_engine_are_the_definition_on_the_sample(sample, clean):
    for window, pre in ((28, 90), (7, 30)):
        out, _ = ex.derive_outcomes(sample.assignments, clean, window, "2025-12-31", pre_days=pre)
        assert_same(out, reference_outcomes(sample.assignments, clean, window, pre))
        assert out["converted"].sum() > 50 and (out["pre_revenue"] > 0).sum() > 50


# ------------------------------------------------------------------ cluster assignment


def test_distance_ties_go_to_the_lowest_label_in_the_engine_as_in_scikit_learn():
    pipe, x = tie_pipeline()
    ref = reference_assignment(pipe, x)
    assert ref.tolist() == [0, 1, 0, 2, 1, 0, 1]  # (0,0): 3-way tie -> 0; (0.5,0.5): 1 vs 2 -> 1; (-0.5,0.5): 0 vs 2
    assert cluster_assign.assign(x, pipe).tolist() == ref.tolist()
    id_map = {0: 7, 2: 5}  # label 1 has no stable id: -1, as predict_stable gives
    assert cluster_assign.assign(x, pipe, id_map).tolist() == reference_assignment(pipe, x, id_map).tolist()
    assert cluster_assign.assign(x, pipe, id_map).tolist() == [7, -1, 7, 5, -1, 7, -1]


@pytest.mark.parametrize("scaler", ["standard", "robust"])
def test_engine_assignment_equals_kmeans_predict_for_every_customer_of_the_sample(sample_features, scaler):
    x = sample_features
    fitted = clustering.fit(x, 5, scaler=scaler, fit_sample=600)  # fitted on a seeded sample of 600
    pipe = fitted.pipeline
    assert cluster_assign.engine_assignable(pipe)
    ref = reference_assignment(pipe, x)
    got = cluster_assign.assign(x, pipe)
    assert len(got) == len(x) > 1000 and np.bincount(got).min() > 0
    assert (got == ref).all(), int((got != ref).sum())
    assert (fitted.labels == ref).all()  # fit assigns everyone through the engine


def test_predict_stable_assigns_stable_ids_in_the_engine(tmp_path, sample_features):
    x = sample_features
    fitted = clustering.relabel(clustering.fit(x, 4, fit_sample=500), {0: 3, 1: 0, 2: 2, 3: 1})
    clustering.save(fitted, tmp_path, {c: f"c{c}" for c in range(4)})
    got = clustering.predict_stable(tmp_path, x)
    assert (got == reference_assignment(fitted.pipeline, x, fitted.id_map)).all()
    assert (got == fitted.labels).all()


def test_a_pipeline_the_engine_cannot_assign_keeps_scikit_learns_assignment(sample_features):
    x = sample_features
    fitted = clustering.fit(x, 4, scaler="quantile", fit_sample=500)
    assert not cluster_assign.engine_assignable(fitted.pipeline)
    assert (fitted.labels == fitted.pipeline.predict(x.to_numpy(dtype=float))).all()
    with pytest.raises(ConfigError, match="standard or robust scaler followed by k-means"):
        cluster_assign.assign_params(Pipeline([("scale", QuantileTransformer()), ("model", KMeans())]))
    p = cluster_assign.assign_params(Pipeline([("scale", RobustScaler(with_centering=False).fit(x)),
                                           ("model", KMeans(2, n_init=1).fit(x))]))
    assert p.center.tolist() == [0.0] * x.shape[1]


# ------------------------------------------------------------------ Spark local mode


# the session is the shared `spark` fixture of conftest.py (skipped, with the reason, without Java)


def test_spark_local_gives_the_same_tables_as_duckdb_for_all_three_steps(spark, sample, clean, sample_features):
    tx = clv_edge_cases()
    for unit in ("weeks", "days"):
        assert_same(clv.summary(tx, "2024-01-31", unit, con=spark), clv.summary(tx, "2024-01-31", unit))
    pd.testing.assert_frame_equal(clv.purchase_days(tx, "2024-01-31", "2024-01-08", con=spark),
                                  clv.purchase_days(tx, "2024-01-31", "2024-01-08"), check_exact=True)
    summary = clv.summary(clean, "2025-12-31", "weeks", con=spark)
    assert_same(summary, reference_summary(clean, "2025-12-31", "weeks"))

    assignments, otx = outcome_edge_cases()
    assert_same(ex.derive_outcomes(assignments, otx, 28, con=spark)[0], ex.derive_outcomes(assignments, otx, 28)[0])
    on_spark, _ = ex.derive_outcomes(sample.assignments, clean, 28, con=spark)
    assert_same(on_spark, reference_outcomes(sample.assignments, clean))

    pipe, x = tie_pipeline()
    assert cluster_assign.assign(x, pipe, {0: 7, 2: 5}, con=spark).tolist() == [7, -1, 7, 5, -1, 7, -1]
    fitted = clustering.fit(sample_features, 5, fit_sample=600)
    labels = cluster_assign.assign(sample_features, fitted.pipeline, con=spark)
    assert (labels == fitted.pipeline.predict(sample_features.to_numpy())).all()
    print(f"\nSpark local = DuckDB = the definitions: CLV summary of {len(summary):,} sample customers "
          f"(+ edge cases), outcomes of {len(on_spark):,} assigned customers (+ edge cases), clusters of "
          f"{len(labels):,} customers (+ {len(x)} tie rows)")


# ------------------------------------------------------------------ portable: the same expressions compile for warehouses


@pytest.mark.parametrize("dialect", ["pyspark", "snowflake", "bigquery", "trino", "postgres", "databricks"])
def test_the_three_step_expressions_compile_to_spark_and_warehouse_sql(dialect):
    import ibis
    import ibis.backends.pyspark  # noqa: F401  (registers the Spark dialect's options)

    ibis.pyspark  # noqa: B018  (loads the backend entry point)
    tx = ibis.table({"customer_id": "string", "order_id": "string", "order_date": "timestamp", "amount": "float64",
                     "quantity": "float64"}, name="transactions")
    a = ibis.table({"customer_id": "string", "exposure": "timestamp", "window_end": "timestamp",
                    "pre_start": "timestamp"}, name="assignments")
    pipe, x = tie_pipeline()
    f = ibis.table({"customer_id": "string", **{c: "float64" for c in x.columns}}, name="features")
    exprs = {"summary": clv.summary_expr(tx, "2024-01-31", "weeks"),
             "purchase_days": clv.purchase_days_expr(tx, "2024-01-31", "2023-12-31"),
             "outcomes": ex.outcomes_expr(tx, a),
             "assignment": cluster_assign.assign_expr(f, pipe, list(x.columns), {0: 7, 2: 5})}
    for name, expr in exprs.items():
        sql = ibis.to_sql(expr, dialect=dialect)
        assert "SELECT" in sql.upper(), name
    assert "LEAST" in ibis.to_sql(exprs["assignment"], dialect=dialect).upper()

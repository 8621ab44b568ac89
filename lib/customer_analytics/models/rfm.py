"""Recency, frequency and monetary value: definitions, scores, segments and migration.

Definitions (every customer is measured as of ``as_of``, the period end date):

- a **purchase line** is a clean line that is not a return: amount not negative and quantity
  (when there is one) not negative (:func:`customer_analytics.core.engine.purchase_line`, the
  same definition the CLV models use). A $0.00 line, such as a free promotional item, is a
  purchase line.
- **recency_days**: whole calendar days from the customer's last purchase line to
  ``as_of`` (``as_of`` minus the date of the last purchase; times of day are
  ignored, so a purchase on the period's last day has recency 0).
- **frequency**: number of distinct orders (``order_id``) with a purchase line in the look-back
  window. CDNOW-style data without order ids gets one order per customer-day from the
  loader, so frequency counts distinct purchase days there.
- **monetary**: net revenue (sum of ``amount`` of every line, returns subtracted, each line in
  whole cents) in the window; with ``monetary="aov"`` the average order value,
  monetary / frequency. It can be zero (only $0.00 items) or negative (returns above purchases).
- **first_purchase**, **last_purchase**: dates of the first and last purchase line
  in the window; **tenure_days** = ``as_of`` - first_purchase in days.

The window is all history up to ``as_of`` by default, or the last
``window_months`` months. Purchases after ``as_of`` are never counted.
The customer universe: every customer with at least one purchase line in the window is
scored, whatever their net revenue; a zero or negative monetary value simply scores lowest on M
(quantile scores give the lowest value score 1; fixed thresholds put it below the first edge).

The aggregation is one ibis expression (:func:`customer_analytics.core.engine.rfm_summary`) that runs
in an embedded DuckDB by default, or in Spark or a warehouse; see ``benchmarks/bench_rfm.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from customer_analytics.core import engine, privacy
from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.core.paths import read_resource_yaml, read_yaml, resolve_path
from customer_analytics.models import cleaning

RFM_COLUMNS = ["customer_id", "recency_days", "frequency", "monetary", "first_purchase",
               "last_purchase", "tenure_days"]
NEW = "new_this_period"
GONE = "no_longer_active"
SCORE_METHODS = ("recency_bands", "quantile", "thresholds")
#: Default R bands in days (``rfm.recency_bands``): R 5 = last purchase within 30 days, 4 within 60,
#: 3 within 90, 2 within 180, 1 longer ago. Every segment named as recent (R 3 to 5 in ``en11``)
#: therefore holds only customers who bought within 90 days, on any data set.
RECENCY_BANDS = (30, 60, 90, 180)
#: Default ``rfm.new_customer_days``: "New Customers" made their first purchase within this many days.
NEW_CUSTOMER_DAYS = 90


def compute_rfm(
    tx: pd.DataFrame,
    as_of: str | pd.Timestamp,
    window_months: int | None = None,
    *,
    monetary: str = "total",
    con=None,
) -> pd.DataFrame:
    """Compute recency, frequency and monetary value per customer.

    Parameters
    ----------
    tx : DataFrame or ibis Table
        Clean canonical transactions (customer_id, order_id, order_date, amount; quantity
        optional, a negative quantity marks a return); an ibis table is aggregated where it lives.
    as_of : date-like
        The period end date. Purchases on this day count; later ones never do.
    window_months : int, optional
        Look back only this many months before ``as_of``. Default: all history.
    monetary : {'total', 'aov'}
        Net revenue in the window, or average order value.
    con : ibis backend, optional
        The engine to aggregate in (:func:`customer_analytics.core.engine.connect`); default the
        ibis table's own engine, or an embedded DuckDB for a frame.

    Returns
    -------
    DataFrame
        One row per customer with at least one purchase line in the window (see the module
        docstring), with :data:`RFM_COLUMNS`, sorted by customer_id.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
    ...     "order_date": pd.to_datetime(["2024-01-01 00:00", "2024-01-30 00:00", "2024-01-15 18:00"]),
    ...     "amount": [10.0, 20.0, 5.0]})
    >>> compute_rfm(tx, "2024-01-31")[["customer_id", "recency_days", "frequency", "monetary"]]
      customer_id  recency_days  frequency  monetary
    0           a             1          2      30.0
    1           b            16          1       5.0
    """
    _check_rfm_inputs(tx, monetary)
    end = pd.Timestamp(as_of).normalize()
    # the aggregation is one ibis expression (engine.rfm_summary): embedded DuckDB here, or the
    # engine that holds the data (Spark, a warehouse); money is summed in integer cents
    con = engine.backend(tx, con)
    cols = ["customer_id", "order_id", "order_date", "amount", *(["quantity"] if "quantity" in tx.columns else [])]
    lines = tx if not isinstance(tx, pd.DataFrame) else engine.table(con, tx[cols], "rfm_transactions")
    out = con.execute(engine.rfm_summary(lines, end, window_months))
    if out.empty:
        raise InputError(f"No purchases on or before {end.date()} (window_months={window_months}).")
    return _typed_rfm(out, end, monetary)


def _check_rfm_inputs(tx, monetary: str) -> None:
    """Refuse transactions without the four columns RFM needs, or an unknown monetary measure."""
    missing = [c for c in ("customer_id", "order_id", "order_date", "amount") if c not in tx.columns]
    if missing:
        raise InputError(f"compute_rfm needs columns {missing}; found {list(tx.columns)}")
    if monetary not in ("total", "aov"):
        raise ConfigError(f"monetary must be 'total' or 'aov', got '{monetary}'")


def _typed_rfm(out: pd.DataFrame, end: pd.Timestamp, monetary: str) -> pd.DataFrame:
    """The engine's per-customer summary as :data:`RFM_COLUMNS`: days, counts and money (cents / 100)."""
    out["customer_id"] = out["customer_id"].astype("string")
    for col in ("first_purchase", "last_purchase"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    out["recency_days"] = (end - out["last_purchase"]).dt.days.astype("int64")
    out["tenure_days"] = (end - out["first_purchase"]).dt.days.astype("int64")
    out["frequency"] = out["frequency"].astype("int64")
    out["monetary"] = out["cents"].astype("float64") / 100
    if monetary == "aov":
        out["monetary"] = (out["monetary"] / out["frequency"]).round(2)
    return out[RFM_COLUMNS]


def quantile_scores(values: pd.Series, n_levels: int = 5, higher_is_better: bool = True) -> pd.Series:
    """Score values 1..n_levels by quantile, giving equal values equal scores.

    The score of a value is ``1 + floor(n_levels * share of customers with a
    strictly worse value)``. Ties therefore always share a score, the lowest
    value always scores 1, and scores never decrease as values improve. With
    heavy ties some levels stay unused (never an invalid score); see
    :func:`levels_used`.

    Parameters
    ----------
    values : Series
        Raw values (e.g. frequency).
    n_levels : int
        Number of score levels (>= 2).
    higher_is_better : bool
        False for recency, so that 5 means most recent.

    Examples
    --------
    >>> quantile_scores(pd.Series([1, 1, 1, 2, 5]), 5).tolist()
    [1, 1, 1, 4, 5]
    """
    if n_levels < 2:
        raise ConfigError(f"n_levels must be at least 2, got {n_levels}")
    v = values if higher_is_better else -values
    worse = v.rank(method="min") - 1  # customers with a strictly worse value
    return (1 + np.floor(n_levels * worse / len(v))).clip(1, n_levels).astype("int64")


def threshold_scores(values: pd.Series, edges: list[float], higher_is_better: bool = True) -> pd.Series:
    """Score against fixed business thresholds: ``edges`` are the upper bounds of levels 1..n-1.

    For recency (``higher_is_better=False``) edges are in days and ascending;
    ``recency_days <= edges[0]`` scores highest.
    """
    e = sorted(float(x) for x in edges)
    if not higher_is_better:
        return (len(e) + 1 - np.searchsorted(e, values.to_numpy(), side="left")).astype("int64")
    return pd.Series(1 + np.searchsorted(e, values.to_numpy(), side="left"), index=values.index).astype("int64")


def add_scores(  # noqa: PLR0913 (the scoring keys of the rfm config section)
    rfm: pd.DataFrame, n_levels: int = 5, method: str = "quantile", thresholds: dict | None = None,
    *, recency_bands: list[float] | tuple | None = None,
) -> pd.DataFrame:
    """Add r_score, f_score, m_score (1..n_levels, higher is better) and fm_score = mean(F, M).

    ``method``: ``quantile`` (every score by :func:`quantile_scores`), ``thresholds`` (every score by
    :func:`threshold_scores` against ``thresholds[column]``) or ``recency_bands`` (R against the
    absolute ``recency_bands`` in days, F and M by quantile: R 5 means a purchase within
    ``recency_bands[0]`` days whatever the rest of the customer base did, see :data:`RECENCY_BANDS`).
    """
    if method not in SCORE_METHODS:
        raise ConfigError(f"score_method must be one of {', '.join(SCORE_METHODS)}, got '{method}'")
    out = rfm.copy()
    spec = {"r": ("recency_days", False), "f": ("frequency", True), "m": ("monetary", True)}
    for key, (col, better) in spec.items():
        if method == "quantile" or (method == "recency_bands" and key != "r"):
            out[f"{key}_score"] = quantile_scores(out[col], n_levels, better)
            continue
        edges, name = ((recency_bands, "rfm.recency_bands") if method == "recency_bands"
                       else ((thresholds or {}).get(col), f"rfm.thresholds.{col}"))
        _check_edges(edges, n_levels, name)
        s = threshold_scores(out[col], edges, better)
        out[f"{key}_score"] = pd.Series(np.asarray(s), index=out.index).astype("int64")
    out["fm_score"] = (out["f_score"] + out["m_score"]) / 2
    return out


def _check_edges(edges, n_levels: int, name: str) -> None:
    """Refuse band edges that are missing, of the wrong count or not strictly ascending."""
    if not edges or len(edges) != n_levels - 1 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ConfigError(f"{name} must list {n_levels - 1} ascending edges for {n_levels} levels, got {edges!r}")


def levels_used(scored: pd.DataFrame) -> pd.Series:
    """How many distinct levels each score really has (ties can leave levels unused)."""
    return pd.Series({s: int(scored[f"{s}_score"].nunique()) for s in ("r", "f", "m")}, name="levels")


# ----------------------------------------------------------------------- schemes


@dataclass
class Scheme:
    """A segment scheme loaded from YAML (see ``resources/segments.yaml``)."""

    name: str
    type: str
    rules: list[dict]
    order: list[str]
    n_levels: int | None = None


def _grid_cells(n_levels: int) -> list[tuple[int, float]]:
    fms = np.arange(2, 2 * n_levels + 1) / 2  # mean of two integer scores: 1, 1.5, ..., n
    return [(r, float(fm)) for r in range(1, n_levels + 1) for fm in fms]


def validate_scheme(scheme: Scheme) -> None:
    """Check that the rules cover every cell exactly once.

    A ``score_grid`` rule with ``new_only: true`` is not counted: it renames, within its cells, the
    customers whose first purchase is recent (see :func:`assign_segments`), and the others keep the
    segment of the rule that covers the cell.

    Raises
    ------
    ConfigError
        Naming the cells with no rule (gaps) and the cells with several (overlaps).
    """
    if scheme.type == "score_grid":
        cells = _grid_cells(scheme.n_levels or 5)
        hits = {c: [r["segment"] for r in scheme.rules if not r.get("new_only")
                    and r["r"][0] <= c[0] <= r["r"][1] and r["fm"][0] <= c[1] <= r["fm"][1]] for c in cells}
        label = "(R={}, FM={})"
    elif scheme.type == "high_low":
        cells = [(r, f, m) for r in ("high", "low") for f in ("high", "low") for m in ("high", "low")]
        hits = {c: [x["segment"] for x in scheme.rules if (x["r"], x["f"], x["m"]) == c] for c in cells}
        label = "(R={}, F={}, M={})"
    else:
        raise ConfigError(f"Scheme '{scheme.name}': type must be score_grid or high_low, got '{scheme.type}'")
    gaps = [label.format(*c) for c, h in hits.items() if not h]
    overlaps = [label.format(*c) + f": {h}" for c, h in hits.items() if len(h) > 1]
    if gaps or overlaps:
        msg = f"Segment scheme '{scheme.name}' is invalid."
        if gaps:
            msg += f" Cells with no rule: {', '.join(gaps)}."
        if overlaps:
            msg += f" Cells with more than one rule: {'; '.join(overlaps)}."
        raise ConfigError(msg)


def load_scheme(name_or_path: str) -> Scheme:
    """Load a built-in scheme (``en11``, ``zh8``) or a custom rules YAML, validated."""
    builtin = read_resource_yaml("segments.yaml")
    if name_or_path in builtin and name_or_path not in ("labels", "actions"):
        spec, name = builtin[name_or_path], name_or_path
    elif str(name_or_path).endswith((".yaml", ".yml")):
        spec, name = read_yaml(resolve_path(name_or_path)), Path(name_or_path).stem
    else:
        valid = [k for k in builtin if k not in ("labels", "actions")]
        raise ConfigError(f"Unknown segment scheme '{name_or_path}'. Valid: {', '.join(valid)} or a .yaml path")
    for key in ("type", "rules"):
        if key not in spec:
            raise ConfigError(f"Segment scheme '{name}' lacks the key '{key}'")
    order = spec.get("order") or list(dict.fromkeys(r["segment"] for r in spec["rules"]))
    scheme = Scheme(name, spec["type"], spec["rules"], order, spec.get("n_levels", 5))
    validate_scheme(scheme)
    return scheme


def assign_segments(scored: pd.DataFrame, scheme: Scheme, zh8_threshold: str = "mean", *,
                    new_customer_days: int = NEW_CUSTOMER_DAYS) -> pd.Series:
    """Segment key per customer under ``scheme``.

    ``score_grid`` schemes use r_score and fm_score; a rule marked ``new_only`` applies only to
    customers whose first purchase is at most ``new_customer_days`` days before the period end
    (``tenure_days``), so "New Customers" are new on every data set. ``high_low`` schemes compare
    raw recency_days, frequency and monetary with their mean (or median): R is
    *high* when recency_days <= threshold (recent), F and M are high when
    >= threshold.
    """
    seg = pd.Series(pd.NA, index=scored.index, dtype="object")
    if scheme.type == "score_grid":
        if int(scored["r_score"].max()) > (scheme.n_levels or 5):
            raise ConfigError(f"Scheme '{scheme.name}' is defined for {scheme.n_levels} score levels")
        if "tenure_days" not in scored.columns and any(r.get("new_only") for r in scheme.rules):
            raise ConfigError(f"Scheme '{scheme.name}' has a new_only rule: the scored table needs 'tenure_days'")
        new = scored["tenure_days"] <= int(new_customer_days) if "tenure_days" in scored.columns else False
        for rule in sorted(scheme.rules, key=lambda r: bool(r.get("new_only"))):  # new_only rules last
            m = scored["r_score"].between(*rule["r"]) & scored["fm_score"].between(*rule["fm"])
            seg[m & new if rule.get("new_only") else m] = rule["segment"]
    else:
        if zh8_threshold not in ("mean", "median"):
            raise ConfigError(f"zh8_threshold must be 'mean' or 'median', got '{zh8_threshold}'")
        agg = getattr(scored[["recency_days", "frequency", "monetary"]], zh8_threshold)()
        r = np.where(scored["recency_days"] <= agg["recency_days"], "high", "low")
        f = np.where(scored["frequency"] >= agg["frequency"], "high", "low")
        m = np.where(scored["monetary"] >= agg["monetary"], "high", "low")
        for rule in scheme.rules:
            seg[(r == rule["r"]) & (f == rule["f"]) & (m == rule["m"])] = rule["segment"]
    return seg


def score_customers(  # noqa: PLR0913 (the keys of the rfm config section, passed as **config["rfm"])
    tx: pd.DataFrame,
    as_of: str | pd.Timestamp,
    *,
    scheme: str = "en11",
    n_levels: int = 5,
    score_method: str = "recency_bands",
    recency_bands: list[int] | tuple = RECENCY_BANDS,
    new_customer_days: int = NEW_CUSTOMER_DAYS,
    thresholds: dict | None = None,
    window_months: int | None = None,
    monetary: str = "total",
    zh8_threshold: str = "mean",
    weights: dict | str | None = None,
) -> pd.DataFrame:
    """RFM table with scores and segment keys as of ``as_of`` (one call for a period).

    ``weights`` (the value score's, :mod:`customer_analytics.models.value_score`) does not change
    the scores or the segments; it is accepted so that the whole ``rfm`` section can be passed.

    The keyword arguments are exactly the keys of the ``rfm`` config section, so
    ``score_customers(tx, as_of, **config["rfm"])`` scores with a run's settings. ``tx`` is a frame
    or an ibis table of clean transactions (see :func:`compute_rfm`).
    """
    sch = load_scheme(scheme)
    rfm = add_scores(compute_rfm(tx, as_of, window_months, monetary=monetary), n_levels, score_method, thresholds,
                     recency_bands=recency_bands)
    rfm["segment"] = assign_segments(rfm, sch, zh8_threshold, new_customer_days=new_customer_days)
    return rfm


def segment_summary(scored: pd.DataFrame, scheme: str = "en11") -> pd.DataFrame:
    """Customers, share, revenue, revenue share, recency range and mean F/M, per segment key.

    Columns: ``customers``; ``share`` (of scored customers, a fraction of 1);
    ``revenue`` (net revenue in the look-back window); ``revenue_share``;
    ``median_recency_days`` and ``max_recency_days`` (the recency a segment really
    covers: quantile scores are relative, so a "recent" segment can hold customers
    who last bought months ago); ``mean_recency_days``, ``mean_frequency``,
    ``mean_monetary``. The index and the column ``segment_code`` hold the language-independent
    key; :func:`customer_analytics.report.text.rfm.segment_summary` adds the action and the labels. ``revenue`` is summed in
    whole cents, so it is exact; nothing is rounded: the exported table keeps full
    precision, the HTML formats it.
    """
    order = load_scheme(scheme).order
    g = scored.assign(_cents=cleaning.cents(scored["monetary"])).groupby("segment")
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "revenue": g["_cents"].sum() / 100,
            "median_recency_days": g["recency_days"].median(),
            "max_recency_days": g["recency_days"].max(),
            "mean_recency_days": g["recency_days"].mean(),
            "mean_frequency": g["frequency"].mean(),
            "mean_monetary": g["monetary"].mean(),
        }
    ).reindex(order)
    out[["customers", "revenue"]] = out[["customers", "revenue"]].fillna(0)
    out["customers"] = out["customers"].astype("int64")
    out.insert(1, "share", out["customers"] / out["customers"].sum())
    out.insert(3, "revenue_share", out["revenue"] / out["revenue"].sum())
    out.insert(0, "segment_code", out.index)
    return out.rename_axis("segment")


#: Segments whose names promise recent buyers (checked by :func:`recency_warnings`).
RECENT_SEGMENTS = ("champions", "loyal_customers", "new_customers", "potential_loyalist",
                   "important_value", "important_development")


def recency_warnings(summary: pd.DataFrame, max_median_days: float) -> pd.DataFrame:
    """The "recent" segments whose median recency is above ``max_median_days``.

    Quantile scores rank customers against each other: in a customer base that has
    mostly lapsed, the top recency score can go to customers who last bought
    months ago. A segment named as recent (see :data:`RECENT_SEGMENTS`) whose
    median ``recency_days`` exceeds the limit is flagged.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`segment_summary` (needs ``segment_code``, ``customers`` and
        ``median_recency_days``).
    max_median_days : float
        The limit (config ``report.recent_segment_max_median_days``).

    Returns
    -------
    DataFrame
        One row per flagged segment: label (index), segment_code, customers,
        median_recency_days, max_recency_days. Empty when all is well.
    """
    m = (summary["segment_code"].isin(RECENT_SEGMENTS) & (summary["customers"] > 0)
         & (summary["median_recency_days"] > float(max_median_days)))
    return summary.loc[m, ["segment_code", "customers", "median_recency_days", "max_recency_days"]]


def period_activity(tx: pd.DataFrame, period: str, lapse_days: int = 90) -> dict:
    """What happened *in* one calendar month, from clean transactions.

    Definitions (``period`` is 'YYYY-MM'; only purchases up to its last day count):

    - **revenue**: net revenue (sum of ``amount``) of lines dated in the period;
    - **orders**: distinct orders in the period;
    - **active_customers**: customers with at least one line dated in the period;
    - **new_customers**: active customers whose first purchase ever is in the period;
    - **returning_customers**: active customers who had bought before the period;
    - **lapsed_customers**: customers whose time since their last purchase passed
      ``lapse_days`` during the period (last purchase + ``lapse_days`` falls in it),
      that is, who became lapsed this month.

    Returns
    -------
    dict
        The figures above plus ``period`` and ``lapse_days``.
    """
    p = pd.Period(period, freq="M")
    start, end = p.start_time.normalize(), p.end_time.normalize()
    day = tx["order_date"].dt.normalize()
    upto = tx[day <= end]
    d = day[day <= end]
    inside = upto[d >= start]
    first = upto.groupby("customer_id")["order_date"].min().dt.normalize()
    last = upto.groupby("customer_id")["order_date"].max().dt.normalize()
    active = inside["customer_id"].unique()
    new = int((first.reindex(active) >= start).sum())
    lapse_at = last + pd.Timedelta(days=int(lapse_days))
    return {"period": str(p), "revenue": round(float(inside["amount"].sum()), 2),
            "orders": int(inside["order_id"].nunique()), "active_customers": int(len(active)),
            "new_customers": new, "returning_customers": int(len(active)) - new,
            "lapsed_customers": int(((lapse_at >= start) & (lapse_at <= end)).sum()),
            "lapse_days": int(lapse_days)}


def net_migration(matrix: pd.DataFrame, segments: list[str]) -> pd.Series:
    """Net movement into each of ``segments``: customers who entered minus customers who left.

    Entered = column total without the diagonal (incl. customers new this period);
    left = row total without the diagonal (incl. those no longer active).
    """
    out = {}
    for s in segments:
        came = matrix[s].sum() - (matrix.loc[s, s] if s in matrix.index else 0) if s in matrix else 0
        went = matrix.loc[s].sum() - (matrix.loc[s, s] if s in matrix.columns else 0) if s in matrix.index else 0
        out[s] = int(came - went)
    return pd.Series(out, name="net_migration", dtype="int64")


def migration_matrix(
    previous: pd.DataFrame, current: pd.DataFrame, order: list[str]
) -> pd.DataFrame:
    """Transition counts from last period's segments (rows) to this period's (columns).

    Customers scored now but not last period appear in the row ``new_this_period``;
    customers scored last period but not now (they lapsed out of the window) in
    the column ``no_longer_active``. Row totals therefore sum to last period's
    customers plus the new ones.
    """
    p = previous.set_index("customer_id")["segment"]
    c = current.set_index("customer_id")["segment"]
    both = pd.concat([p.rename("prev"), c.rename("curr")], axis=1)
    both["prev"] = both["prev"].fillna(NEW)
    both["curr"] = both["curr"].fillna(GONE)
    m = pd.crosstab(both["prev"], both["curr"])
    return m.reindex(index=[*order, NEW], columns=[*order, GONE], fill_value=0)


def row_percentages(matrix: pd.DataFrame) -> pd.DataFrame:
    """Each row of a migration matrix as percentages of its total (empty rows stay 0)."""
    tot = matrix.sum(axis=1).replace(0, np.nan)
    return (matrix.div(tot, axis=0) * 100).fillna(0).round(1)


def top_movements(matrix: pd.DataFrame, n: int = 5) -> pd.Series:
    """The ``n`` largest movements between different segments: customers by (from, to) segment key.

    In words: :func:`customer_analytics.report.text.rfm.top_movements`.
    """
    s = matrix.stack()
    moved = np.array([a != b for a, b in s.index]) & (s > 0).to_numpy()
    return s[moved].sort_values(ascending=False, kind="stable").head(n)


def mask_ids(ids: pd.Series, key: bytes | None = None) -> pd.Series:
    """Replace ids with a keyed hash (HMAC-SHA256); see :func:`customer_analytics.core.privacy.mask_ids`."""

    return privacy.mask_ids(ids, key)


def activation_export(scored: pd.DataFrame, period: str) -> pd.DataFrame:
    """One row per customer, as a marketing tool imports it: ids, R, F, M, scores, ``segment_code``, period.

    ``segment_code`` is the stable, language-independent key (``champions``) that a
    downstream tool can key on; :func:`customer_analytics.report.text.rfm.activation_export`
    adds ``segment`` and ``action`` in a language.
    """
    out = scored[["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
                  "m_score"]].copy()
    out["segment_code"] = scored["segment"].astype("string")
    out["period"] = period
    return out

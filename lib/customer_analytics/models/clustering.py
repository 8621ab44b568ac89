"""Data-driven customer segments: features, choice of k, stability, names, stable ids.

Features are log1p of recency (days since last purchase), frequency (orders) and
monetary (spend), standardised. k-means (k-means++ initialisation) is fitted for each
k in the search range (3-8 by default: fewer than 3 clusters add nothing to the RFM
segments, more than 8 cannot be run as distinct marketing programmes).

Figures per k (:func:`search_k`):

- **silhouette**: mean over customers of (b - a) / max(a, b), where a is the mean distance
  to the own cluster and b to the nearest other cluster; -1..1, higher means better
  separated clusters. Computed on a seeded sample of at most ``silhouette_sample`` customers.
- **stability_ari**: k-means (one k-means++ start) is refit ``stability_fits`` times, each on a seeded
  random ``stability_fraction`` (80%) of a stability sample (at most ``stability_sample``
  customers); each refit labels the whole stability sample and is compared with the k's
  reference fit by the adjusted Rand index (ARI: 1 = the same partition, 0 = chance
  agreement). ``stability_ari`` is the mean over refits, ``stability_ari_min`` the worst.
- **min_share**: the smallest cluster's share of customers.

Rule for k (:func:`choose_k`): a k *meets the bar* when its clusters are stable
(``stability_ari`` >= ``stable_ari``, 0.8) and its smallest cluster holds at least
``min_cluster_share`` (2%) of customers. Among those, the k with the highest silhouette
wins; a silhouette within ``silhouette_tie`` (0.01) of the best is a tie (the sampled
silhouette is not more precise than that) and ties go to the larger k, which gives
marketing more groups to work with. When no k meets the bar the report says so and
recommends the RFM segments.

Speed: the k search fits each k on a seeded sample of at most ``fit_sample`` customers
with ``n_init`` sized to the sample (:func:`n_init_for`); the chosen k's model from the
search *is* the final model (no refit), and every customer is assigned to its nearest
centroid. The k-means work runs single-threaded, which is faster than OpenMP threads
on small inputs and on a busy machine.

Assignment (:func:`customer_analytics.models.cluster_assign.assign_expr`): fitting stays in
scikit-learn, on a seeded sample; assigning every customer (scaling with the fitted scaler's numbers, then the nearest centroid, then the
stable ids) is one ibis expression that runs in the engine (:mod:`customer_analytics.core.engine`),
for a standard or robust scaler followed by k-means. It gives the same label as
``KMeans.predict`` for every customer, exact ties going to the lowest label. A quantile scaler,
a Gaussian mixture or HDBSCAN keep scikit-learn's own assignment.

Levels (:mod:`customer_analytics.models.cluster_naming`): each of R, F, M is *low* when the
cluster's median is at or below the 25th percentile of **all customers**, *high* when at
or above the 75th percentile, *mid* in between (cut-offs ``name_cutoffs``). Once ids are
aligned with last month's (:func:`align_to_previous`), a level (and so a name) changes only when
a median crossed a cut-off (it is on the new side of both last month's and this month's cut-off,
so a cut-off moving past an unchanged median renames nothing).

This module returns facts and codes (levels, the choice's ``facts``, verdict codes). The names,
sentences and report tables are written by :mod:`customer_analytics.report.text.clustering`
(``name_clusters``, ``name_changes``, ``choice_reason``, ``k_table``, ...), the charts by
:mod:`customer_analytics.report.plotting.clustering`.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field, fields
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler
from threadpoolctl import threadpool_limits

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.models.cluster_assign import assign, engine_assignable

BASE_FEATURES = ["recency_days", "frequency", "monetary"]
EXTRA_FEATURES = ("tenure", "aov", "interpurchase")
STABLE_ARI = 0.8


def build_features(rfm: pd.DataFrame, extra: list[str] | tuple = ()) -> pd.DataFrame:
    """Clustering features: log1p of recency_days, frequency and monetary (negative net spend as 0), plus extras.

    Extras: ``tenure`` (log1p tenure_days), ``aov`` (log1p monetary / frequency, at least 0) and
    ``interpurchase`` (log1p mean days between purchases = (last - first) / (frequency - 1),
    0 for one-time buyers).

    Raises
    ------
    InputError
        For an unknown extra, missing or infinite values, or a zero-variance feature.
    """
    bad = [e for e in extra if e not in EXTRA_FEATURES]
    if bad:
        raise ConfigError(f"Unknown extra feature(s) {bad}. Valid: {', '.join(EXTRA_FEATURES)}")
    x = pd.DataFrame(index=rfm.index)
    for col in BASE_FEATURES:
        x[f"log_{col}"] = np.log1p(rfm[col].astype(float).clip(lower=0))
    if "tenure" in extra:
        x["log_tenure_days"] = np.log1p(rfm["tenure_days"].astype(float))
    if "aov" in extra:
        x["log_aov"] = np.log1p((rfm["monetary"] / rfm["frequency"]).clip(lower=0))
    if "interpurchase" in extra:
        span = (rfm["last_purchase"] - rfm["first_purchase"]).dt.days
        gap = (span / (rfm["frequency"] - 1)).where(rfm["frequency"] > 1, 0.0)
        x["log_interpurchase_days"] = np.log1p(gap.astype(float))
    validate_features(x)
    return x


def validate_features(x: pd.DataFrame) -> None:
    """Refuse missing or infinite values and zero-variance features, naming the column."""
    vals = x.to_numpy(dtype=float)
    for j, col in enumerate(x.columns):
        n_bad = int((~np.isfinite(vals[:, j])).sum())
        if n_bad:
            raise InputError(
                f"Feature '{col}' has {n_bad:,} missing or infinite value(s) (e.g. customers "
                f"{x.index[~np.isfinite(vals[:, j])][:3].tolist()}); clustering needs finite numbers."
            )
        if np.nanstd(vals[:, j]) == 0:
            raise InputError(
                f"Feature '{col}' has zero variance (every customer has the same value); "
                "drop it or use a longer window."
            )


def make_scaler(scaler: str = "standard", seed: int = 42):
    """The feature scaler: ``standard`` (z-scores), ``robust`` (median/IQR) or ``quantile`` (to normal)."""
    scalers = {"standard": StandardScaler(), "robust": RobustScaler(),
               "quantile": QuantileTransformer(output_distribution="normal", random_state=seed)}
    if scaler not in scalers:
        raise ConfigError(f"scaler must be one of {', '.join(scalers)}, got '{scaler}'")
    return scalers[scaler]


def n_init_for(n: int) -> int:
    """k-means++ restarts sized to the data: 10 up to 10,000 rows, 4 up to 100,000, else 2.

    Each restart costs a full fit; on small data restarts are cheap insurance against a
    poor local optimum, on large data k-means++ seeding alone is already reliable.
    """
    return 10 if n <= 10_000 else (4 if n <= 100_000 else 2)


def seeded_sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted row positions of a random sample of ``min(n, size)`` rows (all rows when n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size, replace=False))


def ari(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labelings with labels 0..k-1 (Hubert and Arabie, 1985).

    ARI = (sum_ij C(n_ij, 2) - E) / (0.5 (sum_i C(a_i, 2) + sum_j C(b_j, 2)) - E) with
    E = sum_i C(a_i, 2) sum_j C(b_j, 2) / C(n, 2), from the contingency table n_ij of the
    two labelings (a_i, b_j its margins); 1 for identical partitions, about 0 for
    unrelated ones. Equal to :func:`sklearn.metrics.adjusted_rand_score`, computed with
    one ``bincount`` because it runs hundreds of times per report.
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    cont = np.bincount(a * kb + b, minlength=ka * kb).astype(float)

    def pairs(v):
        return float((v * (v - 1) / 2).sum())

    sum_ij = pairs(cont)
    sum_a, sum_b = pairs(cont.reshape(ka, kb).sum(1)), pairs(cont.reshape(ka, kb).sum(0))
    expected = sum_a * sum_b / (len(a) * (len(a) - 1) / 2)
    top = 0.5 * (sum_a + sum_b) - expected
    return 1.0 if top == 0 else (sum_ij - expected) / top


def _kmeans(k: int, n: int, seed: int, n_init: int | None = None) -> KMeans:
    return KMeans(n_clusters=k, init="k-means++", n_init=n_init or n_init_for(n), random_state=seed)


def check_k_range(n: int, k_min: int, k_max: int) -> None:
    """Refuse a k range that the data cannot support."""
    if k_min < 2 or k_max < k_min:
        raise ConfigError(f"k range must satisfy 2 <= k_min <= k_max, got k_min={k_min}, k_max={k_max}")
    if n <= k_max:
        raise InputError(
            f"Only {n:,} customers for up to k_max={k_max} clusters: need more customers than "
            f"clusters (lower k_max or use more data)."
        )


def k_values(k_min: int, k_max: int, fixed: int | None = None) -> list[int]:
    """The k to evaluate: the search range, plus a fixed k when the analyst set one outside it."""
    ks = list(range(int(k_min), int(k_max) + 1))
    if fixed and int(fixed) not in ks:
        if int(fixed) < 2:
            raise ConfigError(f"k must be at least 2, got k={fixed}")
        ks = sorted([*ks, int(fixed)])
    return ks


@dataclass
class KSearch:
    """The k search: figures per k, the fitted reference models and the samples used.

    ``table`` has one row per k (index ``k``) with ``silhouette``, ``stability_ari``,
    ``stability_ari_min``, ``min_share`` and ``inertia`` (within-cluster sum of squares per
    customer of the fit sample, in scaled units; shown, not used by the rule).
    """

    table: pd.DataFrame
    scaler: object
    models: dict[int, KMeans]
    n_customers: int
    n_fit: int
    n_stability: int
    n_silhouette: int
    stability_fits: int
    stability_fraction: float
    seed: int
    feature_names: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Plain-text table of every k's figures and how they were measured."""
        head = (f"k search on {self.n_fit:,} of {self.n_customers:,} customers; silhouette on "
                f"{self.n_silhouette:,}; stability: {self.stability_fits} refits on "
                f"{self.stability_fraction:.0%} subsamples of {self.n_stability:,} customers")
        return head + "\n" + self.table.round(3).to_string()


@dataclass(frozen=True)
class SearchSampling:
    """The seeded samples of the k search (module docstring): customers to fit k-means on, to compute the
    silhouette on and to compare refits on; the number of refits (at least 2) and the share of the
    stability sample in each refit (in [0.1, 1)).
    """

    fit_sample: int = 50_000
    silhouette_sample: int = 2_000
    stability_sample: int = 20_000
    stability_fits: int = 20
    stability_fraction: float = 0.8


#: The ``clustering`` config keys that are :class:`SearchSampling` fields.
SAMPLING_KEYS = tuple(f.name for f in fields(SearchSampling))


def search_k(x: pd.DataFrame, ks: list[int] | range, scaler: str = "standard", seed: int = 42,
             **sampling) -> KSearch:
    """Fit k-means for every k in ``ks`` and measure separation, stability and cluster sizes.

    See the module docstring for the definitions. ``sampling`` are the fields of
    :class:`SearchSampling` by name (its defaults otherwise). The scaler is fitted on all
    customers; k-means on a seeded sample of at most ``fit_sample`` of them; the same seeded
    samples are used for every k, so the figures are comparable across k and reproducible.

    Raises
    ------
    ConfigError
        For an impossible k range or stability setting.
    InputError
        When there are not more customers than the largest k.
    """
    s = SearchSampling(**sampling)
    fit_sample, silhouette_sample, stability_sample, stability_fits, stability_fraction = astuple(s)
    ks = sorted(int(k) for k in ks)
    check_k_range(len(x), ks[0], ks[-1])
    if stability_fits < 2:
        raise ConfigError(f"stability_fits must be at least 2, got {stability_fits}")
    if not 0.1 <= stability_fraction < 1:
        raise ConfigError(f"stability_fraction must be in [0.1, 1), got {stability_fraction}")
    vals = x.to_numpy(dtype=float)
    sc = make_scaler(scaler, seed).fit(vals)
    rng = np.random.default_rng(seed)
    fit_idx = seeded_sample(len(vals), fit_sample, rng)
    z = sc.transform(vals[fit_idx])
    sil_idx = seeded_sample(len(z), silhouette_sample, rng)
    stab = z[seeded_sample(len(z), stability_sample, rng)]
    m = max(int(round(stability_fraction * len(stab))), ks[-1] + 1)
    subsets = [np.sort(rng.choice(len(stab), m, replace=False)) for _ in range(stability_fits)]
    rows, models = [], {}
    with threadpool_limits(limits=1):
        for k in ks:
            km = _kmeans(k, len(z), seed).fit(z)
            models[k] = km
            lab = km.labels_
            ref = km.predict(stab)
            aris = [ari(ref, _kmeans(k, m, seed + 1 + i, 1).fit(stab[s]).predict(stab))
                    for i, s in enumerate(subsets)]
            sub = lab[sil_idx]
            rows.append({
                "k": k,
                "silhouette": float(silhouette_score(z[sil_idx], sub)) if len(set(sub)) > 1 else np.nan,
                "stability_ari": float(np.mean(aris)),
                "stability_ari_min": float(np.min(aris)),
                "min_share": float(np.bincount(lab, minlength=k).min() / len(lab)),
                "inertia": float(km.inertia_ / len(z)),
            })
    return KSearch(pd.DataFrame(rows).set_index("k"), sc, models, len(vals), len(z), len(stab), len(sil_idx),
                   stability_fits, stability_fraction, seed, list(x.columns))


@dataclass
class KChoice:
    """The chosen k, the facts behind the choice and whether the clusters are recommended for targeting.

    ``table`` is the search table with a ``meets_bar`` column (bool) and a ``verdict``
    column (a code from :func:`verdict_key`: ``meets``, ``unstable``, ``small`` or ``both``).
    The reason in words is written from ``facts`` by
    :func:`customer_analytics.report.text.clustering.choice_reason`.
    """

    k: int
    recommended: bool
    table: pd.DataFrame
    stable_ari: float = STABLE_ARI
    min_share: float = 0.02
    facts: dict = field(default_factory=dict)  # what the reason says, for report.text.clustering.choice_reason


def choose_k(table: pd.DataFrame, min_share: float = 0.02, stable_ari: float = STABLE_ARI,
             silhouette_tie: float = 0.01, *, fixed: int | None = None) -> KChoice:
    """Apply the documented rule (module docstring) to a :class:`KSearch` table.

    Parameters
    ----------
    table : DataFrame
        Index k; columns ``silhouette``, ``stability_ari``, ``min_share``.
    min_share, stable_ari, silhouette_tie : float
        The bar (smallest cluster share, mean subsample ARI) and the silhouette tie margin.
    fixed : int, optional
        A k fixed by the analyst: chosen regardless, with whether it meets the bar.

    The reason is stored as facts (``facts``), from which
    :func:`customer_analytics.report.text.clustering.choice_reason` writes it in any report language.
    """
    t = table.copy()
    stable = t["stability_ari"] >= stable_ari
    big = t["min_share"] >= min_share
    t["meets_bar"] = stable & big
    t["verdict"] = [verdict_key(bool(a), bool(b)) for a, b in zip(stable, big, strict=True)]
    ok = t[t["meets_bar"]]
    facts = {"stable_ari": stable_ari, "min_share": min_share, "tie": silhouette_tie,
             "k_min": int(t.index.min()), "k_max": int(t.index.max())}
    if fixed:
        k = int(fixed)
        good = bool(t.loc[k, "meets_bar"])
        facts.update(case="fixed", k=k, good=good, stable=bool(stable[k]), big=bool(big[k]))
    elif ok.empty:
        pool = t[big] if big.any() else t
        k, good = int(pool["stability_ari"].idxmax()), False
        facts.update(case="none", k=k, best_ari=float(t["stability_ari"].max()))
    else:
        best = ok["silhouette"].max()
        near = ok[ok["silhouette"] >= best - silhouette_tie]
        k, good = int(near.index.max()), True
        out = t[~t["meets_bar"]]
        facts.update(case="won", k=k, k_best=int(ok["silhouette"].idxmax()), ok=[int(i) for i in ok.index],
                     best=float(best), silhouette=float(ok.loc[k, "silhouette"]),
                     others=[int(i) for i in ok.index.difference(near.index)],
                     out=[(int(i), bool(stable[i]), bool(big[i])) for i in out.index])
    return KChoice(k, good, t, stable_ari, min_share, facts)


def verdict_key(stable: bool, big: bool) -> str:
    """One k's verdict as a code: ``meets`` the bar, or what it fails (``unstable``, ``small``, ``both``)."""
    return "meets" if stable and big else ("both" if not stable and not big else ("unstable" if not stable else "small"))


@dataclass
class ClusterFit:
    """A fitted clustering: pipeline, labels, centroids (mean log-features per cluster)."""

    pipeline: Pipeline
    labels: np.ndarray
    centroids: pd.DataFrame  # mean log-features per cluster (comparable across months)
    k: int
    algorithm: str
    note: str = ""
    id_map: dict[int, int] | None = None  # model label -> stable cluster id

    @property
    def noise_share(self) -> float:
        """Share of customers a density method left unassigned (label -1)."""
        return float((self.labels == -1).mean())


def _centroids(x: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    cent = x.reset_index(drop=True).groupby(labels).mean()
    return cent[cent.index >= 0]


def fit(x: pd.DataFrame, k: int, search: KSearch | None = None, scaler: str = "standard", *,
        algorithm: str = "kmeans", seed: int = 42, fit_sample: int = 50_000) -> ClusterFit:
    """The final model and every customer's cluster.

    With ``algorithm='kmeans'`` and a :class:`KSearch` that evaluated ``k``, the search's
    model for k is reused (no refit). Otherwise k-means or a Gaussian mixture is fitted on
    a seeded sample of at most ``fit_sample`` customers and everyone is assigned by
    ``predict``; HDBSCAN (no ``predict``) is fitted on all customers. With a standard or
    robust scaler and k-means, everyone is assigned in the engine (:func:`assign`, the same
    labels as ``predict``).
    """
    if len(x) <= k:
        raise InputError(f"Only {len(x):,} customers for k={k} clusters: need more customers than clusters.")
    vals = x.to_numpy(dtype=float)
    note = ""
    with threadpool_limits(limits=1):
        if algorithm == "kmeans" and search is not None and k in search.models:
            pipe = Pipeline([("scale", search.scaler), ("model", search.models[k])])
            if search.n_fit < len(vals):
                note = (f"k-means was fitted on a seeded sample of {search.n_fit:,} of {len(vals):,} customers; "
                        "every customer is assigned to the nearest centroid.")
        else:
            sc = make_scaler(scaler, seed).fit(vals)
            idx = seeded_sample(len(vals), fit_sample, np.random.default_rng(seed))
            if algorithm == "kmeans":
                model = _kmeans(k, len(idx), seed)
            elif algorithm == "gmm":
                model = GaussianMixture(n_components=k, n_init=3, random_state=seed)
            elif algorithm == "hdbscan":
                idx = np.arange(len(vals))
                model = HDBSCAN(min_cluster_size=max(10, len(vals) // 50), copy=True)
            else:
                raise ConfigError(f"algorithm must be kmeans, gmm or hdbscan, got '{algorithm}'")
            model.fit(sc.transform(vals[idx]))
            pipe = Pipeline([("scale", sc), ("model", model)])
        labels = (assign(x, pipe) if engine_assignable(pipe) else
                  pipe.predict(vals) if hasattr(pipe[-1], "predict") else pipe[-1].labels_)
    labels = np.asarray(labels)
    if algorithm == "hdbscan":
        note = f"HDBSCAN left {(labels == -1).mean():.1%} of customers as noise (cluster -1)."
    cent = _centroids(x, labels)
    return ClusterFit(pipe, labels, cent, int(len(cent)), algorithm, note)


def profile(rfm: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Per cluster: size, share, revenue share and the medians of R, F and M in original units."""
    d = rfm.assign(cluster=labels)
    g = d.groupby("cluster")
    out = pd.DataFrame({
        "customers": g.size(),
        "share": (g.size() / len(d)).round(4),
        "revenue_share": (g["monetary"].sum() / d["monetary"].sum()).round(4),
        "median_recency_days": g["recency_days"].median(),
        "median_frequency": g["frequency"].median(),
        "median_monetary": g["monetary"].median().round(2),
    })
    return out


# ------------------------------------------------------------------ ids across months


def align_to_previous(current: pd.DataFrame, previous: pd.DataFrame) -> tuple[dict[int, int], pd.Series]:
    """Match this period's centroids to last period's with the Hungarian assignment.

    Parameters
    ----------
    current, previous : DataFrame
        Centroids (rows = cluster ids, same feature columns, same scaled space).

    Returns
    -------
    (dict, Series)
        Mapping current id -> stable id (previous id when matched; new ids continue
        after the largest previous id) and the distance each matched centroid moved.
    """
    cols = [c for c in current.columns if c in previous.columns]
    if not cols:
        raise InputError("Previous centroids share no feature with the current ones; cannot align ids.")
    a, b = current[cols].to_numpy(), previous[cols].to_numpy()
    cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    rows, cols_idx = linear_sum_assignment(cost)
    mapping = {int(current.index[r]): int(previous.index[c]) for r, c in zip(rows, cols_idx, strict=True)}
    moved = pd.Series({mapping[int(current.index[r])]: float(cost[r, c])
                       for r, c in zip(rows, cols_idx, strict=True)}, name="centroid_shift")
    next_id = int(previous.index.max()) + 1
    for cid in current.index:
        if int(cid) not in mapping:
            mapping[int(cid)] = next_id
            next_id += 1
    return mapping, moved.sort_index()


def _map_labels(labels: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """Apply an id mapping to an array of labels (vectorised; -1 and unmapped labels kept)."""
    labels = np.asarray(labels, dtype=int)
    keys = np.array(sorted(mapping), dtype=int)
    if len(keys) == 0:
        return labels.copy()
    vals = np.array([mapping[k] for k in keys], dtype=int)
    pos = np.clip(np.searchsorted(keys, labels), 0, len(keys) - 1)
    hit = (keys[pos] == labels) & (labels >= 0)
    return np.where(hit, vals[pos], labels)


def relabel(fitted: ClusterFit, mapping: dict[int, int]) -> ClusterFit:
    """Apply an id mapping (from :func:`align_to_previous`) to labels and centroids."""
    labels = _map_labels(fitted.labels, mapping)
    cent = fitted.centroids.rename(index=lambda c: mapping.get(int(c), int(c))).sort_index()
    return ClusterFit(fitted.pipeline, labels, cent, fitted.k, fitted.algorithm, fitted.note, dict(mapping))


def compare_with_segments(labels: np.ndarray, segments: pd.Series) -> tuple[pd.DataFrame, float, float]:
    """Crosstab of clusters against RFM segments, with ARI and NMI between the two.

    NMI is the mutual information over the arithmetic mean of the two entropies (scikit-learn's
    default); both figures come from one contingency table built with ``bincount``.
    """
    cl_codes, cl_values = pd.factorize(pd.Series(np.asarray(labels)), sort=True)
    sg_codes, sg_values = pd.factorize(segments.astype(str), sort=True)
    cont = np.bincount(cl_codes * len(sg_values) + sg_codes, minlength=len(cl_values) * len(sg_values))
    ct = pd.DataFrame(cont.reshape(len(cl_values), len(sg_values)), index=pd.Index(cl_values, name="cluster"),
                      columns=pd.Index(sg_values, name="segment"))
    p = cont.reshape(ct.shape) / cont.sum()
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])).sum())
    h = [float(-(q[q > 0] * np.log(q[q > 0])).sum()) for q in (pa, pb)]
    nmi = 1.0 if h[0] == h[1] == 0 else (mi / np.mean(h) if np.mean(h) > 0 else 0.0)
    return ct, ari(sg_codes, cl_codes), float(max(nmi, 0.0))


def save(fitted: ClusterFit, folder: str | Path, names: dict[int, str], *, levels: pd.DataFrame | None = None,
         cut: pd.DataFrame | None = None) -> None:
    """Save the fitted pipeline (joblib), per cluster its centroid, name, medians and levels
    (``cluster_centroids.csv``) and the naming cut-offs (``cluster_cutoffs.csv``), for next month."""
    f = Path(folder)
    joblib.dump(fitted.pipeline, f / "cluster_model.joblib")
    inverse = {v: k for k, v in (fitted.id_map or {int(c): int(c) for c in fitted.centroids.index}).items()}
    out = fitted.centroids.assign(name=pd.Series(names), model_label=pd.Series(inverse))
    if levels is not None:
        out = out.join(levels)
    out.rename_axis("cluster").round(6).to_csv(f / "cluster_centroids.csv", lineterminator="\n")
    if cut is not None:
        cut.assign(q_low=cut.attrs.get("q_low"), q_high=cut.attrs.get("q_high")).rename_axis("feature").to_csv(
            f / "cluster_cutoffs.csv", lineterminator="\n")


def load_cutoffs(folder: str | Path) -> pd.DataFrame | None:
    """The naming cut-offs saved by :func:`save` in an earlier report folder, or None."""
    p = Path(folder) / "cluster_cutoffs.csv"
    if not p.exists():
        return None
    t = pd.read_csv(p, index_col="feature")
    cut = t[["low", "high"]].copy()
    cut.attrs.update(q_low=float(t["q_low"].iloc[0]), q_high=float(t["q_high"].iloc[0]))
    return cut


def predict_stable(folder: str | Path, x: pd.DataFrame) -> np.ndarray:
    """Stable cluster ids for new feature rows from a saved model (see :func:`save`).

    For a standard or robust scaler + k-means model the assignment runs in the engine
    (:func:`assign`); rows whose model label has no stable id get -1.

    Parameters
    ----------
    folder : path
        A report folder holding ``cluster_model.joblib`` and ``cluster_centroids.csv``.
    x : DataFrame
        Feature rows (:func:`build_features`) in the model's column order.

    Returns
    -------
    ndarray of int
        The stable id of every row, in the rows' order.
    """
    f = Path(folder)
    pipe = joblib.load(f / "cluster_model.joblib")
    cent = pd.read_csv(f / "cluster_centroids.csv", index_col="cluster")
    to_stable = {int(m): int(c) for c, m in cent["model_label"].items()}
    if engine_assignable(pipe):
        return assign(x, pipe, to_stable)
    raw = np.asarray(pipe.predict(x.to_numpy(dtype=float)), dtype=int)
    out = _map_labels(raw, to_stable)
    return np.where(np.isin(raw, list(to_stable)), out, -1)


def load_centroids(folder: str | Path) -> pd.DataFrame | None:
    """Centroids (feature columns only) saved by :func:`save` in an earlier report folder, or None."""
    p = Path(folder) / "cluster_centroids.csv"
    if not p.exists():
        return None
    cent = pd.read_csv(p, index_col="cluster")
    return cent[[c for c in cent.columns if c.startswith("log_")]]


def load_levels(folder: str | Path) -> pd.DataFrame | None:
    """Medians and levels per cluster saved by :func:`save`, or None (no file, or an older file without them)."""
    p = Path(folder) / "cluster_centroids.csv"
    if not p.exists():
        return None
    cent = pd.read_csv(p, index_col="cluster")
    cols = [f"median_{c}" for c in BASE_FEATURES] + [f"{c}_level" for c in BASE_FEATURES]
    return cent[cols] if all(c in cent.columns for c in cols) else None



def name_column(labels, names: dict[int, str]) -> np.ndarray:
    """The cluster name of every customer ("noise" for customers a density method left out)."""
    return pd.Series(np.asarray(labels)).map(names).fillna("noise").to_numpy(dtype=object)

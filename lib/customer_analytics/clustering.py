"""Data-driven customer segments: features, choice of k, stability, names, stable ids.

Metrics used to choose k (all from scikit-learn):

- **inertia**: within-cluster sum of squared distances to the centroid (lower is tighter;
  always falls as k grows, so it is shown, not used to choose).
- **silhouette**: mean over customers of (b - a) / max(a, b), where a is the mean distance
  to the own cluster and b to the nearest other cluster; -1..1, higher is better.
  Computed on a seeded sample of at most ``silhouette_sample`` customers.
- **Calinski-Harabasz**: between- over within-cluster dispersion, scaled by degrees of
  freedom; higher is better.
- **Davies-Bouldin**: mean over clusters of the worst ratio of within-cluster scatter to
  between-centroid distance; lower is better.
- **min_share**: the smallest cluster's share of customers.

Automatic rule (:func:`choose_k`): the k with the best silhouette among the k whose
smallest cluster holds at least ``min_cluster_share`` (2%) of customers; if none
qualifies, the best silhouette overall, with that said in the reason.

Stability (:func:`stability`): the model is refit on ``n_bootstrap`` seeded bootstrap
resamples; each refit labels all customers and is compared with the full fit by the
adjusted Rand index (ARI; 1 = identical partition, 0 = chance agreement).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import HDBSCAN, KMeans, MiniBatchKMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler

from customer_analytics.errors import ConfigError, InputError

BASE_FEATURES = ["recency_days", "frequency", "monetary"]
EXTRA_FEATURES = ("tenure", "aov", "interpurchase")
STABLE_ARI = 0.8


def build_features(rfm: pd.DataFrame, extra: list[str] | tuple = ()) -> pd.DataFrame:
    """Clustering features: log1p of recency_days, frequency and monetary, plus extras.

    Extras: ``tenure`` (log1p tenure_days), ``aov`` (log1p monetary / frequency) and
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
        x[f"log_{col}"] = np.log1p(rfm[col].astype(float))
    if "tenure" in extra:
        x["log_tenure_days"] = np.log1p(rfm["tenure_days"].astype(float))
    if "aov" in extra:
        x["log_aov"] = np.log1p(rfm["monetary"] / rfm["frequency"])
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


def make_pipeline(k: int, scaler: str = "standard", algorithm: str = "kmeans", seed: int = 42,
                  n_rows: int = 0, minibatch_above: int = 200_000) -> Pipeline:
    """A scikit-learn Pipeline: scaler then the clustering model.

    ``kmeans`` becomes ``MiniBatchKMeans`` when ``n_rows`` exceeds ``minibatch_above``.
    """
    scalers = {"standard": StandardScaler(), "robust": RobustScaler(),
               "quantile": QuantileTransformer(output_distribution="normal", random_state=seed)}
    if scaler not in scalers:
        raise ConfigError(f"scaler must be one of {', '.join(scalers)}, got '{scaler}'")
    if algorithm == "kmeans":
        if n_rows > minibatch_above:
            model = MiniBatchKMeans(n_clusters=k, n_init=10, random_state=seed, batch_size=4096)
        else:
            model = KMeans(n_clusters=k, n_init=10, random_state=seed)
    elif algorithm == "gmm":
        model = GaussianMixture(n_components=k, n_init=3, random_state=seed)
    elif algorithm == "hdbscan":
        model = HDBSCAN(min_cluster_size=max(10, n_rows // 50), copy=True)
    else:
        raise ConfigError(f"algorithm must be kmeans, gmm or hdbscan, got '{algorithm}'")
    return Pipeline([("scale", scalers[scaler]), ("model", model)])


def _labels(pipe: Pipeline, x: np.ndarray) -> np.ndarray:
    if hasattr(pipe[-1], "predict"):
        return pipe.predict(x)
    return pipe[-1].labels_


def check_k_range(n: int, k_min: int, k_max: int) -> None:
    """Refuse a k range that the data cannot support."""
    if k_min < 2 or k_max < k_min:
        raise ConfigError(f"k range must satisfy 2 <= k_min <= k_max, got k_min={k_min}, k_max={k_max}")
    if n <= k_max:
        raise InputError(
            f"Only {n:,} customers for up to k_max={k_max} clusters: need more customers than "
            f"clusters (lower k_max or use more data)."
        )


def search_k(x: pd.DataFrame, k_min: int = 2, k_max: int = 10, scaler: str = "standard",
             seed: int = 42, silhouette_sample: int = 10_000, minibatch_above: int = 200_000) -> pd.DataFrame:
    """Fit k-means for each k in the range and report the quality metrics (see module doc)."""
    check_k_range(len(x), k_min, k_max)
    vals = x.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(vals), min(len(vals), silhouette_sample), replace=False)
    rows = []
    for k in range(k_min, k_max + 1):
        pipe = make_pipeline(k, scaler, "kmeans", seed, len(vals), minibatch_above).fit(vals)
        z, lab = pipe[:-1].transform(vals), pipe[-1].labels_
        sub_lab = lab[idx]
        rows.append({
            "k": k,
            "inertia": float(pipe[-1].inertia_),
            "silhouette": float(silhouette_score(z[idx], sub_lab)) if len(set(sub_lab)) > 1 else np.nan,
            "calinski_harabasz": float(calinski_harabasz_score(z[idx], sub_lab)),
            "davies_bouldin": float(davies_bouldin_score(z[idx], sub_lab)),
            "min_share": float(np.bincount(lab, minlength=k).min() / len(lab)),
        })
    return pd.DataFrame(rows).set_index("k")


def choose_k(metrics: pd.DataFrame, min_share: float = 0.02) -> tuple[int, str]:
    """Best silhouette among k whose smallest cluster holds >= ``min_share``; returns (k, reason)."""
    ok = metrics[metrics["min_share"] >= min_share]
    if ok.empty:
        k = int(metrics["silhouette"].idxmax())
        return k, (f"No k in {metrics.index.min()}-{metrics.index.max()} keeps every cluster above "
                   f"{min_share:.0%} of customers; k={k} has the best silhouette "
                   f"({metrics.loc[k, 'silhouette']:.3f}) regardless.")
    k = int(ok["silhouette"].idxmax())
    runner = ok["silhouette"].drop(k).idxmax() if len(ok) > 1 else None
    reason = (f"k={k} has the highest silhouette ({ok.loc[k, 'silhouette']:.3f}) among the k whose "
              f"smallest cluster holds at least {min_share:.0%} of customers")
    if runner is not None:
        reason += f" (next best: k={runner}, {ok.loc[runner, 'silhouette']:.3f})"
    excluded = metrics.index.difference(ok.index).tolist()
    if excluded:
        reason += f"; k={excluded} were excluded for a cluster smaller than {min_share:.0%}"
    return k, reason + "."


@dataclass
class ClusterFit:
    """A fitted clustering: pipeline, labels, centroids in scaled and original units."""

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


def fit(x: pd.DataFrame, k: int, scaler: str = "standard", algorithm: str = "kmeans", seed: int = 42,
        minibatch_above: int = 200_000) -> ClusterFit:
    """Fit the final model; centroids are the mean (unscaled) log-features per cluster."""
    if len(x) <= k:
        raise InputError(f"Only {len(x):,} customers for k={k} clusters: need more customers than clusters.")
    vals = x.to_numpy(dtype=float)
    pipe = make_pipeline(k, scaler, algorithm, seed, len(vals), minibatch_above).fit(vals)
    labels = _labels(pipe, vals)
    cent = x.reset_index(drop=True).groupby(labels).mean()
    cent = cent[cent.index >= 0]
    note = ""
    if algorithm == "kmeans" and len(vals) > minibatch_above:
        note = f"{len(vals):,} customers > {minibatch_above:,}: MiniBatchKMeans was used."
    if algorithm == "hdbscan":
        note = f"HDBSCAN left {(labels == -1).mean():.1%} of customers as noise (cluster -1)."
    return ClusterFit(pipe, labels, cent, int(len(cent)), algorithm, note)


def stability(x: pd.DataFrame, k: int, scaler: str = "standard", seed: int = 42, n_bootstrap: int = 20,
              neighbours: bool = True, minibatch_above: int = 200_000) -> pd.DataFrame:
    """Bootstrap ARI against the full fit for k (and k-1, k+1): mean, std, min per k."""
    if n_bootstrap < 2:
        raise ConfigError(f"n_bootstrap must be at least 2, got {n_bootstrap}")
    vals = x.to_numpy(dtype=float)
    ks = [kk for kk in ([k - 1, k, k + 1] if neighbours else [k]) if 2 <= kk < len(vals)]
    rng = np.random.default_rng(seed)
    boots = [rng.integers(0, len(vals), len(vals)) for _ in range(n_bootstrap)]
    rows = []
    for kk in ks:
        full = make_pipeline(kk, scaler, "kmeans", seed, len(vals), minibatch_above).fit(vals).predict(vals)
        aris = [adjusted_rand_score(full, make_pipeline(kk, scaler, "kmeans", seed + i + 1, len(vals),
                                                        minibatch_above).fit(vals[b]).predict(vals))
                for i, b in enumerate(boots)]
        rows.append({"k": kk, "ari_mean": float(np.mean(aris)), "ari_std": float(np.std(aris, ddof=1)),
                     "ari_min": float(np.min(aris)), "n_bootstrap": n_bootstrap})
    return pd.DataFrame(rows).set_index("k")


def stability_verdict(ari_mean: float, threshold: float = STABLE_ARI) -> str:
    """A sentence on whether the clusters are stable enough to act on."""
    if ari_mean >= threshold:
        return (f"Stable: refits on resampled customers reproduce the clusters (mean ARI {ari_mean:.2f} "
                f">= {threshold}). They can be used for targeting.")
    return (f"WARNING: unstable clusters (mean ARI {ari_mean:.2f} < {threshold}). Refits on resampled "
            "customers give noticeably different groups, so these clusters should not drive spending "
            "decisions; use the RFM segments instead or revisit the features.")


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


NAME_WORDS = {
    "en": {"r": ("lapsed", "fading", "recent"), "f": ("one-off", "occasional", "frequent"),
           "m": ("low spend", "mid spend", "high spend"), "sep": " · "},
    "zh": {"r": ("久未购买", "渐少购买", "近期购买"), "f": ("单次", "偶尔", "高频"),
           "m": ("低消费", "中消费", "高消费"), "sep": " · "},
}


def standardise(centroids: pd.DataFrame, x: pd.DataFrame) -> pd.DataFrame:
    """Centroids in standard deviations from the mean of all customers (for names and snake plots)."""
    return (centroids - x.mean()) / x.std(ddof=0)


def name_clusters(centroids: pd.DataFrame, language: str = "en") -> dict[int, str]:
    """Descriptive name per cluster from its standardised centroid (:func:`standardise`), e.g. 'recent · frequent · high spend'.

    Each of R, F, M is called low / mid / high when the centroid is below -0.5,
    between, or above +0.5 standard deviations (recency reversed: low recency = recent).
    Duplicate names get a numeric suffix.
    """
    if language not in NAME_WORDS:
        raise ConfigError(f"language must be 'en' or 'zh', got '{language}'")
    w = NAME_WORDS[language]

    def level(v: float) -> int:
        return 0 if v < -0.5 else (2 if v > 0.5 else 1)

    names: dict[int, str] = {}
    for cid, row in centroids.iterrows():
        r = 2 - level(row["log_recency_days"])
        parts = [w["r"][r], w["f"][level(row["log_frequency"])], w["m"][level(row["log_monetary"])]]
        names[int(cid)] = w["sep"].join(parts)
    seen: dict[str, int] = {}
    for cid in sorted(names):
        n = names[cid]
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1:
            names[cid] = f"{n} ({seen[n]})"
    return names


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


def relabel(fitted: ClusterFit, mapping: dict[int, int]) -> ClusterFit:
    """Apply an id mapping (from :func:`align_to_previous`) to labels and centroids."""
    labels = np.array([mapping.get(int(v), int(v)) if v >= 0 else -1 for v in fitted.labels])
    cent = fitted.centroids.rename(index=lambda c: mapping.get(int(c), int(c))).sort_index()
    return ClusterFit(fitted.pipeline, labels, cent, fitted.k, fitted.algorithm, fitted.note, dict(mapping))


def compare_with_segments(labels: np.ndarray, segments: pd.Series) -> tuple[pd.DataFrame, float, float]:
    """Crosstab of clusters against RFM segments, with ARI and NMI between the two."""
    seg = segments.astype(str).to_numpy()
    ct = pd.crosstab(pd.Series(labels, name="cluster"), pd.Series(seg, name="segment"))
    return ct, float(adjusted_rand_score(seg, labels)), float(normalized_mutual_info_score(seg, labels))


def save(fitted: ClusterFit, folder: str | Path, names: dict[int, str]) -> None:
    """Save the fitted pipeline (joblib) and the centroids with names (CSV) in ``folder``."""
    f = Path(folder)
    joblib.dump(fitted.pipeline, f / "cluster_model.joblib")
    inverse = {v: k for k, v in (fitted.id_map or {int(c): int(c) for c in fitted.centroids.index}).items()}
    out = fitted.centroids.assign(name=pd.Series(names), model_label=pd.Series(inverse))
    out.rename_axis("cluster").round(6).to_csv(f / "cluster_centroids.csv", lineterminator="\n")


def predict_stable(folder: str | Path, x: pd.DataFrame) -> np.ndarray:
    """Stable cluster ids for new feature rows from a saved model (see :func:`save`)."""
    f = Path(folder)
    pipe = joblib.load(f / "cluster_model.joblib")
    cent = pd.read_csv(f / "cluster_centroids.csv", index_col="cluster")
    to_stable = {int(m): int(c) for c, m in cent["model_label"].items()}
    return np.array([to_stable.get(int(v), -1) for v in pipe.predict(x.to_numpy(dtype=float))])


def load_centroids(folder: str | Path) -> pd.DataFrame | None:
    """Centroids saved by :func:`save` in an earlier report folder, or None."""
    p = Path(folder) / "cluster_centroids.csv"
    if not p.exists():
        return None
    return pd.read_csv(p, index_col="cluster").drop(columns=["name", "model_label"], errors="ignore")

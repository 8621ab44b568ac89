"""Assigning every customer to a fitted clustering in the engine (:mod:`customer_analytics.core.engine`).

Fitting stays in scikit-learn, on a seeded sample (:mod:`customer_analytics.models.clustering`);
assigning every customer (scaling with the fitted scaler's numbers, then the nearest centroid, then
the stable ids) is one ibis expression (:func:`assign_expr`), for a standard or robust scaler followed
by k-means. It gives the same label as ``KMeans.predict`` for every customer, exact ties going to the
lowest label. A quantile scaler, a Gaussian mixture or HDBSCAN keep scikit-learn's own assignment.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import RobustScaler, StandardScaler

from customer_analytics.core import engine
from customer_analytics.core.errors import ConfigError, InputError


@dataclass
class AssignParams:
    """What the assignment of a customer needs from a fitted pipeline: the scaler's and k-means' numbers.

    ``center`` and ``scale`` (one value per feature) turn a feature row x into scaled values
    z = (x - center) / scale, exactly as the fitted scaler does; ``centroids`` (k rows, one
    column per feature) are k-means' cluster centres in the scaled space, row i being label i.
    """

    center: np.ndarray
    scale: np.ndarray
    centroids: np.ndarray


def assign_params(pipeline) -> AssignParams:
    """The scaling and centroid numbers of a fitted scaler + k-means pipeline.

    Raises
    ------
    ConfigError
        For a pipeline whose assignment is not a scaling followed by the nearest centroid (a
        quantile scaler, a Gaussian mixture, HDBSCAN): those keep scikit-learn's own
        assignment (:func:`engine_assignable`).
    """
    if isinstance(pipeline, AssignParams):
        return pipeline
    if not engine_assignable(pipeline):
        raise ConfigError("The engine assigns customers only for a standard or robust scaler followed by k-means; "
                          f"got {[type(s).__name__ for _, s in getattr(pipeline, 'steps', [('', pipeline)])]}")
    sc, km = pipeline[0], pipeline[-1]
    centers = np.asarray(km.cluster_centers_, dtype="float64")
    d = centers.shape[1]
    if isinstance(sc, StandardScaler):
        center = sc.mean_ if sc.with_mean else None
        scale = sc.scale_ if sc.with_std else None
    else:
        center = sc.center_ if sc.with_centering else None
        scale = sc.scale_ if sc.with_scaling else None
    center = np.zeros(d) if center is None else np.asarray(center, dtype="float64")
    scale = np.ones(d) if scale is None else np.asarray(scale, dtype="float64")
    return AssignParams(center, scale, centers)


def engine_assignable(pipeline) -> bool:
    """Whether a fitted pipeline is a standard or robust scaler followed by k-means (assigned in the engine)."""
    return (isinstance(pipeline, Pipeline) and len(pipeline.steps) == 2
            and isinstance(pipeline[0], (StandardScaler, RobustScaler)) and isinstance(pipeline[-1], KMeans))


def assign_expr(features, pipeline, columns: list[str], id_map: dict[int, int] | None = None,
                *, name: str = "cluster"):
    """Every customer's cluster as one ibis expression: scale with the fitted numbers, then the nearest centroid.

    For each row, z_j = (x_j - center_j) / scale_j for every feature j (the fitted scaler's
    numbers), d_i = sum_j (z_j - c_ij)^2 the squared distance to centroid i, and the label is
    the i with the smallest d_i. On an exact tie the lowest label wins, as in scikit-learn's
    ``KMeans.predict``. (scikit-learn computes d_i as |c_i|^2 - 2 z.c_i, which rounds
    differently; the two can only disagree on a row whose two nearest centroids are equally far
    to the last bits, which the parity tests check does not happen on real features.)

    Parameters
    ----------
    features : ibis Table
        One row per customer with the feature columns (and any others, kept).
    pipeline : sklearn Pipeline or AssignParams
        A fitted standard or robust scaler + k-means pipeline (:func:`fit`, :func:`save`).
    columns : list of str
        The feature columns in the order the pipeline was fitted on (``build_features``).
    id_map : dict, optional
        Model label -> stable cluster id (:func:`relabel`, :func:`save`); labels not in it get -1.
    name : str
        The name of the label column.

    Returns
    -------
    ibis Table
        ``features`` with an int64 column ``name``.
    """
    p = assign_params(pipeline)
    if len(columns) != p.centroids.shape[1]:
        raise InputError(f"The model was fitted on {p.centroids.shape[1]} features, got {len(columns)}: {list(columns)}")
    z = [(features[c].cast("float64") - float(m)) / float(s) for c, m, s in zip(columns, p.center, p.scale, strict=True)]
    dist = {f"_d{i}": _sum([(zj - float(cj)) * (zj - float(cj)) for zj, cj in zip(z, row, strict=True)])
            for i, row in enumerate(p.centroids)}
    t = features.mutate(**dist)
    d = [t[k] for k in dist]
    t = t.mutate(_dmin=ibis.least(*d) if len(d) > 1 else d[0])
    label = ibis.cases(*[(di == t._dmin, i) for i, di in enumerate(d)], else_=ibis.null("int64"))
    if id_map is not None:
        label = ibis.cases(*[(label == int(m), int(s)) for m, s in sorted(id_map.items())], else_=-1)
    return t.mutate(**{name: label.cast("int64")}).drop(*dist, "_dmin")


def _sum(terms):
    out = terms[0]
    for term in terms[1:]:
        out = out + term
    return out


def assign(x: pd.DataFrame, pipeline, id_map: dict[int, int] | None = None, con=None) -> np.ndarray:
    """Every row's cluster, computed in the engine (:func:`assign_expr`); returned in the rows' order.

    Parameters
    ----------
    x : DataFrame
        Feature rows (:func:`build_features`), columns in the pipeline's order.
    pipeline : sklearn Pipeline or AssignParams
        A fitted standard or robust scaler + k-means pipeline.
    id_map : dict, optional
        Model label -> stable id; labels not in it get -1.
    con : ibis backend, optional
        The engine (:func:`customer_analytics.core.engine.connect`); default an embedded DuckDB.

    Returns
    -------
    ndarray of int
    """
    con = con if con is not None else engine.connect()
    cols = [f"f{j}" for j in range(x.shape[1])]  # plain names, whatever the features are called
    frame = pd.DataFrame(x.to_numpy(dtype="float64"), columns=cols).assign(_row=np.arange(len(x), dtype="int64"))
    t = engine.table(con, frame)
    out = con.execute(assign_expr(t, pipeline, cols, id_map).select("_row", "cluster").order_by("_row"))
    return out["cluster"].to_numpy(dtype=int)

"""Uplift metrics: uplift at k, the uplift and Qini curves, the Qini coefficient and AUUC.

Written here (not imported) and matched in the tests, value for value on fixed vectors, to the
published definitions of scikit-uplift (``sklift.metrics``, after Radcliffe 2007, "Using control
groups to target on predicted lift"):

- **Ranking.** Users of one treatment arm and of control are ranked together by the arm's score,
  highest first (a stable sort of the negated score, ``argsort(score, kind="mergesort")[::-1]``); the
  curves take one point at the end of every run of equal scores.
- **uplift@k** (sklift ``uplift_at_k``, strategy ``"overall"``): of the first ``int(k x N)`` ranked
  users, the treated users' mean outcome minus the control users' mean outcome.
- **Uplift curve** at the first n users: (Y_t/N_t - Y_c/N_c) x n, Y = outcomes summed, N = users
  (a ratio over no users counts as 0). **Qini curve**: Y_t - Y_c x N_t/N_c. Both start at (0, 0).
- **Qini coefficient** (sklift ``qini_auc_score`` with ``negative_effect=True``): (area under the
  model's Qini curve - area under the random line) / (area under the perfect model's Qini curve - area
  under the random line). The random line joins (0, 0) to the perfect curve's end (N, Qini(N)); the
  perfect model ranks treated responders first and control responders last (score y x t - y x (1 - t)).
  1 = perfect ranking, 0 = no better than random, below 0 = worse than random.
- **AUUC** (sklift ``uplift_auc_score``): the same normalisation of the uplift curve, whose perfect
  ranking is sklift's ``perfect_uplift_curve`` (score 2 x [y = t] + (y if control responders outnumber
  treated non-responders, else t)).

Areas are trapezoids over the number of users. Every function takes optional integer ``weight``
(each user's copies), which is how the bootstrap resamples without re-sorting.
"""

from __future__ import annotations

import numpy as np

K_LEVELS = (0.1, 0.2, 0.3)


def _arrays(y, score, treated, weight=None):
    y, score, treated = np.asarray(y, float), np.asarray(score, float), np.asarray(treated, float)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, float)
    if not (len(y) == len(score) == len(treated) == len(w)):
        raise ValueError("y, score and treated must have the same length")
    return y, score, treated, w


def _ranked(y, score, treated, weight=None):
    """The inputs in ranking order (highest score first, as sklift sorts) and the run ends."""
    y, score, treated, w = _arrays(y, score, treated, weight)
    order = np.argsort(score, kind="mergesort")[::-1]
    y, score, treated, w = y[order], score[order], treated[order], w[order]
    ends = np.r_[np.where(np.diff(score))[0], len(score) - 1]
    return y, treated, w, ends


def _cumulative(y, score, treated, weight=None):
    """Users, treated users, treated outcomes and control outcomes at the end of every run of equal scores."""
    y, t, w, ends = _ranked(y, score, treated, weight)
    n = np.cumsum(w)[ends]
    n_t = np.cumsum(w * t)[ends]
    y_t = np.cumsum(w * y * t)[ends]
    y_c = np.cumsum(w * y * (1 - t))[ends]
    return n, n_t, y_t, y_c


def _ratio(a, b):
    return np.divide(a, b, out=np.zeros_like(a, dtype=float), where=b != 0)


def _start_at_zero(x, v):
    if x.size == 0 or v[0] != 0 or x[0] != 0:
        return np.r_[0.0, x], np.r_[0.0, v]
    return x, v


def uplift_curve(y, score, treated, *, weight=None) -> tuple[np.ndarray, np.ndarray]:
    """Points (n, (Y_t/N_t - Y_c/N_c) x n) of the uplift curve; see the module docstring."""
    n, n_t, y_t, y_c = _cumulative(y, score, treated, weight)
    return _start_at_zero(n, (_ratio(y_t, n_t) - _ratio(y_c, n - n_t)) * n)


def qini_curve(y, score, treated, *, weight=None) -> tuple[np.ndarray, np.ndarray]:
    """Points (n, Y_t - Y_c x N_t/N_c) of the Qini curve; see the module docstring."""
    n, n_t, y_t, y_c = _cumulative(y, score, treated, weight)
    return _start_at_zero(n, y_t - y_c * _ratio(n_t, n - n_t))


def perfect_qini_score(y, treated) -> np.ndarray:
    """The perfect Qini ranking: treated responders first, control responders last."""
    y, t = np.asarray(y, float), np.asarray(treated, float)
    return y * t - y * (1 - t)


def perfect_uplift_score(y, treated, *, weight=None) -> np.ndarray:
    """sklift's perfect uplift ranking: 2 x [y = t] plus y (more control responders) or t."""
    y, _, t, w = _arrays(y, y, treated, weight)
    control_responders = np.sum(w * ((y == 1) & (t == 0)))
    treated_non = np.sum(w * ((y == 0) & (t == 1)))
    return 2.0 * (y == t) + (y if control_responders > treated_non else t)


def _area(x, v) -> float:
    return float(np.trapezoid(v, x))


def _normalised(curve, perfect_score, y, score, *, treated, weight=None) -> float:
    x, v = curve(y, score, treated, weight=weight)
    xp, vp = curve(y, perfect_score, treated, weight=weight)
    baseline = _area(np.r_[0.0, xp[-1]], np.r_[0.0, vp[-1]])
    perfect = _area(xp, vp) - baseline
    return (_area(x, v) - baseline) / perfect if perfect != 0 else float("nan")


def qini_coefficient(y, score, treated, *, weight=None) -> float:
    """The Qini coefficient (sklift ``qini_auc_score``, negative_effect=True); see the module docstring."""
    return _normalised(qini_curve, perfect_qini_score(y, treated), y, score, treated=treated, weight=weight)


def auuc(y, score, treated, *, weight=None) -> float:
    """The normalised area under the uplift curve (sklift ``uplift_auc_score``); see the module docstring."""
    return _normalised(uplift_curve, perfect_uplift_score(y, treated, weight=weight), y, score, treated=treated,
                       weight=weight)


def uplift_at_k(y, score, treated, k: float = 0.3, *, weight=None) -> float:
    """uplift@k, sklift's ``uplift_at_k`` strategy "overall": treated minus control mean outcome in the top int(k x N).

    NaN when the top holds no treated or no control user.
    """
    if not 0 < k <= 1:
        raise ValueError(f"k must be a share in (0, 1], got {k}")
    y, score, t, w = _arrays(y, score, treated, weight)
    order = np.argsort(score, kind="mergesort")[::-1]
    y, t, w = y[order], t[order], w[order]
    size = int(np.sum(w) * k)
    top = np.minimum(w, np.maximum(size - (np.cumsum(w) - w), 0))  # copies of each user inside the top
    n_t, n_c = np.sum(top * t), np.sum(top * (1 - t))
    if n_t == 0 or n_c == 0:
        return float("nan")
    return float(np.sum(top * t * y) / n_t - np.sum(top * (1 - t) * y) / n_c)


def uplift_at_shares(y, score, treated, shares, *, weight=None) -> np.ndarray:
    """uplift@k for every share in ``shares`` (sorted once): the curve behind the profit of treating the top k."""
    y, score, t, w = _arrays(y, score, treated, weight)
    order = np.argsort(score, kind="mergesort")[::-1]
    y, t, w = y[order], t[order], w[order]
    cw, ct, cyt, cyc = np.cumsum(w), np.cumsum(w * t), np.cumsum(w * y * t), np.cumsum(w * y * (1 - t))
    out = np.full(len(shares), np.nan)
    for i, k in enumerate(shares):
        j = np.searchsorted(cw, int(cw[-1] * k), side="right") - 1  # the last whole user inside the top
        if j < 0:
            continue
        n_t, n_c = ct[j], cw[j] - ct[j]
        if n_t > 0 and n_c > 0:
            out[i] = cyt[j] / n_t - cyc[j] / n_c
    return out


def all_metrics(y, score, treated, *, weight=None) -> dict[str, float]:
    """The evaluation metrics of ``tables/uplift_evaluation.csv`` for one score."""
    out = {"qini_coefficient": qini_coefficient(y, score, treated, weight=weight),
           "auuc": auuc(y, score, treated, weight=weight)}
    for k in K_LEVELS:
        out[f"uplift_at_{round(k * 100)}"] = uplift_at_k(y, score, treated, k, weight=weight)
    return out


class _Ranking:
    """One score's ranking, sorted once, evaluated under any bootstrap weights (for :func:`bootstrap_metrics`)."""

    def __init__(self, y, score, treated):
        y, score, t, _ = _arrays(y, score, treated)
        self.order = np.argsort(score, kind="mergesort")[::-1]
        self.y, self.t = y[self.order], t[self.order]
        s = score[self.order]
        self.ends = np.r_[np.where(np.diff(s))[0], len(s) - 1]
        self.run = np.r_[0, np.cumsum(np.diff(s) != 0)]  # each sorted user's run of equal scores
        self.few = len(self.ends) * 4 < len(s)  # few runs (a rule, a perfect ranking): sum per run first

    def _run_sums(self, w):
        w = w[self.order]
        return [np.cumsum(np.bincount(self.run, weights=v, minlength=len(self.ends)))
                for v in (w, w * self.t, w * self.y * self.t, w * self.y * (1 - self.t))]

    def sums(self, w):
        w = w[self.order]
        return [np.cumsum(v) for v in (w, w * self.t, w * self.y * self.t, w * self.y * (1 - self.t))]

    def curve(self, kind: str, w, sums=None) -> tuple[np.ndarray, np.ndarray]:
        if self.few and sums is None:
            n, n_t, y_t, y_c = self._run_sums(w)
        else:
            n, n_t, y_t, y_c = (c[self.ends] for c in (sums or self.sums(w)))
        v = (_ratio(y_t, n_t) - _ratio(y_c, n - n_t)) * n if kind == "uplift" else y_t - y_c * _ratio(n_t, n - n_t)
        return _start_at_zero(n, v)

    def at_k(self, k: float, sums) -> float:
        cw, ct, cyt, cyc = sums
        j = np.searchsorted(cw, int(cw[-1] * k), side="right") - 1
        if j < 0 or ct[j] == 0 or cw[j] == ct[j]:
            return float("nan")
        return float(cyt[j] / ct[j] - cyc[j] / (cw[j] - ct[j]))


def _normalised_ranked(model: _Ranking, perfect: _Ranking, kind: str, *, w, sums=None) -> float:
    x, v = model.curve(kind, w, sums)
    xp, vp = perfect.curve(kind, w)
    baseline = _area(np.r_[0.0, xp[-1]], np.r_[0.0, vp[-1]])
    top = _area(xp, vp) - baseline
    return (_area(x, v) - baseline) / top if top != 0 else float("nan")


def bootstrap_metrics(y, score, treated, *, replicates: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """Each metric over ``replicates`` bootstrap resamples (users drawn with replacement within treated
    and within control, so both keep their sizes); the scores stay fixed. Each ranking is sorted once."""
    return bootstrap_many(y, {"score": score}, treated, replicates=replicates, seed=seed)["score"]


def bootstrap_many(y, scores: dict, treated, *, replicates: int = 200, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """:func:`bootstrap_metrics` of several scores of the same users on the same resamples (paired),
    the perfect rankings' areas computed once per resample."""
    y, _, t, _ = _arrays(y, y, treated)
    rng = np.random.default_rng(seed)
    ranked = {name: _Ranking(y, s, t) for name, s in scores.items()}
    qini_best = _Ranking(y, perfect_qini_score(y, t), t)
    uplift_best = {flag: _Ranking(y, 2.0 * (y == t) + (y if flag else t), t) for flag in (True, False)}
    groups = [np.flatnonzero(t == 1), np.flatnonzero(t == 0)]
    draws: dict[str, dict[str, list[float]]] = {name: {} for name in scores}
    for _ in range(replicates):
        w = np.zeros(len(y))
        for g in groups:
            w[g] = np.bincount(rng.integers(0, len(g), len(g)), minlength=len(g))
        flag = bool(np.sum(w * ((y == 1) & (t == 0))) > np.sum(w * ((y == 0) & (t == 1))))
        bases = {"qini": _baseline(qini_best, "qini", w), "uplift": _baseline(uplift_best[flag], "uplift", w)}
        for name, model in ranked.items():
            sums = model.sums(w)
            values = {"qini_coefficient": _against(model, "qini", bases["qini"], w=w, sums=sums),
                      "auuc": _against(model, "uplift", bases["uplift"], w=w, sums=sums)}
            values.update({f"uplift_at_{round(k * 100)}": model.at_k(k, sums) for k in K_LEVELS})
            for metric, value in values.items():
                draws[name].setdefault(metric, []).append(value)
    return {name: {k: np.asarray(v) for k, v in d.items()} for name, d in draws.items()}


def _baseline(perfect: _Ranking, kind: str, w) -> tuple[float, float]:
    """The random line's area and the perfect curve's area above it."""
    xp, vp = perfect.curve(kind, w)
    random = _area(np.r_[0.0, xp[-1]], np.r_[0.0, vp[-1]])
    return random, _area(xp, vp) - random


def _against(model: _Ranking, kind: str, base: tuple[float, float], *, w, sums) -> float:
    x, v = model.curve(kind, w, sums)
    return (_area(x, v) - base[0]) / base[1] if base[1] != 0 else float("nan")

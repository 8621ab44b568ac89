"""Predicted customer lifetime value and churn risk (BG/NBD, modified BG/NBD or Pareto/NBD + Gamma-Gamma).

The models are the standard ones for non-contractual customers ("buy till you die"):

- **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while
  *alive*, a customer buys at a steady personal rate (Poisson, rates Gamma(r, alpha) across
  customers); after each purchase they may leave for good with a personal probability
  (Beta(a, b) across customers). Nobody announces that they left, so "alive" is a probability.
- **Modified BG/NBD** (Batislam, Denizel & Filiztekin 2007), option ``model="modified_bgnbd"``:
  BG/NBD with one more chance to leave, right after the first purchase, so a one-time buyer can
  be gone too; same parameters r, alpha, a, b.
- **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987), option ``model="pareto_nbd"``: the
  same purchase rates, but customers may leave at any moment (exponential lifetimes, rates
  Gamma(s, beta)).
- **Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV"): each customer's spend per
  purchase varies around a personal mean (Gamma(p, nu)); the personal means vary across
  customers (nu ~ Gamma(q, gamma)). It is fitted on the repeat buyers' mean repeat spend and
  assumes spend is independent of purchase frequency.

Which purchase model a report uses is chosen on the holdout (``clv.model: auto``, the rule is in
:mod:`customer_analytics.models.clv_models`) or set in the config.

The models are fitted with pymc-marketing. By default the fit is the maximum a posteriori
(``method="map"``) with flat priors on every parameter, which is the maximum-likelihood
estimate of the papers. pymc-marketing's own default priors move BG/NBD's fitted a and b
visibly away from the maximum-likelihood values: on the CDNOW sample their MAP gives a = 0.706
and b = 2.09 instead of the published 0.793 and 2.426 (r and alpha barely move), so they are
not used for the point estimates. ``method="mcmc"`` samples the
posterior with NUTS and gives credible intervals for the parameters. Sampling needs proper priors
for the purchase model: with flat priors on a and b the posterior is improper (a and b drift to
infinity along a constant a / (a + b)), so MCMC uses pymc-marketing's default priors for BG/NBD and
modified BG/NBD (the same for both: r ~ Weibull(2, 1), alpha ~ Weibull(2, 10), a / (a + b) ~ Uniform(0, 1),
a + b ~ Pareto(1, 1)) and for Pareto/NBD; Gamma-Gamma keeps flat priors. Its point estimates (posterior means) can therefore
differ from the MAP ones.

Summary definitions (one row per customer, computed from the clean transactions as of
``as_of``; lines dated after ``as_of`` are never counted):

- a **purchase** is a customer-day with at least one line that is not a return (a return line
  has a negative amount or quantity; a zero-value line such as a free item is a purchase);
  several orders on one day are one purchase; its value is the net amount of that day's
  lines, summed in whole cents (each line rounded to the cent, half away from zero).
  Days with only returns are not purchases (the cleaning step nets returns against purchases by default);
  a customer with no purchase at all (only returns) has no row.
- **frequency**: number of repeat purchases (purchase days after the first);
- **recency**: time from the first to the last purchase, in the time unit;
- **T**: the customer's age, time from the first purchase to ``as_of``, in the time unit;
- **monetary_value**: mean value of the repeat purchases, their net cents / 100 / frequency
  (NaN for one-time buyers).

The summary and the purchase days are ibis expressions (:func:`summary_expr`,
:func:`purchase_days_expr`) that run in the engine (:mod:`customer_analytics.core.engine`: an embedded
DuckDB by default, or Spark or a warehouse); only the per-customer rows come back to pandas.
Summing cents rather than floats makes the result independent of the order in which an engine
adds up the lines.

The time unit (``days`` or ``weeks`` = 7 days) is set once in the config (``clv.time_unit``)
and is stated in every table this module writes. Horizons are given in days and converted.

Per-customer predictions (:func:`predict`):

- **p_alive**: the probability that the customer has not left (has not stopped buying for good),
  given their frequency, recency and T. One-time buyers under BG/NBD always have p_alive = 1,
  because in that model customers can only leave right after a repeat purchase: a one-time buyer
  has had no chance to leave yet. Modified BG/NBD and Pareto/NBD let them leave, so their
  p_alive falls the longer they stay silent;
- **expected_purchases**: expected number of purchases in the next ``horizon_days``;
- **churn_risk**: the probability of no purchase at all in the next ``horizon_days``;
- **clv**: expected spend per purchase (Gamma-Gamma) times expected purchases, month by
  month over ``clv_months`` (30-day months), each month discounted by ``(1 + discount_rate)**m``.
  The discount rate turns future money into today's money: with 1% a month, 100 expected
  in twelve months is worth about 89 today.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from customer_analytics.core.errors import ConfigError, InputError
from customer_analytics.io.customer_export import add_customer_columns
from customer_analytics.models.clv_summary import (  # noqa: F401  (the summary API, re-exported)
    SUMMARY_COLUMNS,
    TIME_UNITS,
    _unit_days,
    holdout_split,
    purchase_days,
    purchase_days_expr,
    summary,
    summary_expr,
)

MONTH_DAYS = 30.0
MODELS = {"bgnbd": "BG/NBD", "modified_bgnbd": "Modified BG/NBD", "pareto_nbd": "Pareto/NBD"}
METHODS = ("map", "mcmc")
PURCHASE_PARAMS = {"bgnbd": ("r", "alpha", "a", "b"), "modified_bgnbd": ("r", "alpha", "a", "b"),
                   "pareto_nbd": ("r", "alpha", "s", "beta")}
SPEND_PARAMS = ("p", "q", "v")
MIN_REPEAT_BUYERS = 10  # Gamma-Gamma needs some repeat buyers with a positive mean spend
FREQUENCY_BUCKETS = 8   # 0, 1, ..., 6, 7+


# ------------------------------------------------------------------ fitting


def _writable_compile_dir() -> None:
    """Point pytensor's compile cache at a temporary folder when ``~/.pytensor`` cannot be written."""
    import os
    import tempfile
    from pathlib import Path

    if "compiledir" in os.environ.get("PYTENSOR_FLAGS", ""):
        return
    home = Path.home() / ".pytensor"
    try:
        home.mkdir(exist_ok=True)
        ok = os.access(home, os.W_OK)
    except OSError:
        ok = False
    if not ok:
        flag = f"base_compiledir={Path(tempfile.gettempdir()) / f'pytensor-{os.getuid()}'}"
        os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (os.environ.get("PYTENSOR_FLAGS"), flag) if f)


def _quiet_imports():
    _writable_compile_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pymc_extras.prior import Prior
        from pymc_marketing.clv import (
            BetaGeoModel,
            GammaGammaModel,
            ModifiedBetaGeoModel,
            ParetoNBDModel,
        )
    classes = {"bgnbd": BetaGeoModel, "modified_bgnbd": ModifiedBetaGeoModel, "pareto_nbd": ParetoNBDModel}
    return Prior, classes, GammaGammaModel


def check_summary(data: pd.DataFrame, min_customers: int = 50) -> None:
    """Refuse data the purchase model cannot be fitted on, with a message saying why.

    Raises
    ------
    InputError
        Fewer than ``min_customers`` customers, every customer a one-time buyer, or a row
        with recency > T or negative values.
    """
    missing = [c for c in ("customer_id", "frequency", "recency", "T") if c not in data]
    if missing:
        raise InputError(f"The CLV summary lacks column(s) {missing}; build it with clv.summary()")
    n = len(data)
    if n < int(min_customers):
        raise InputError(f"Only {n} customer(s) with a purchase: the purchase model needs at least "
                         f"{min_customers} (clv.min_customers) to estimate its parameters.")
    if not (data["frequency"] > 0).any():
        raise InputError(f"All {n:,} customers are one-time buyers (frequency 0): the purchase model cannot "
                         "tell how often customers buy or when they leave without repeat purchases. "
                         "Use a longer history.")
    bad = data[(data["recency"] > data["T"]) | (data[["frequency", "recency", "T"]] < 0).any(axis=1)]
    if len(bad):
        raise InputError(f"{len(bad)} customer(s) have recency > T or negative values, e.g. customer "
                         f"{bad['customer_id'].iloc[0]!r}; expected 0 <= recency <= T and frequency >= 0.")


def check_spend(data: pd.DataFrame) -> None:
    """Refuse spend data the Gamma-Gamma model cannot take.

    Raises
    ------
    InputError
        A missing or non-positive ``monetary_value`` or a ``frequency`` below 1 (naming customers).
    """
    bad = data[~(data["monetary_value"] > 0) | (data["frequency"] < 1)]
    if len(bad):
        ids = ", ".join(map(repr, bad["customer_id"].astype(str).head(5)))
        raise InputError(f"Gamma-Gamma needs repeat buyers (frequency >= 1) with a positive mean repeat spend "
                         f"(monetary_value > 0); {len(bad)} customer(s) are not, e.g. {ids}.")
    if len(data) < MIN_REPEAT_BUYERS:
        raise InputError(f"Only {len(data)} repeat buyer(s) with a positive mean spend: Gamma-Gamma needs at "
                         f"least {MIN_REPEAT_BUYERS}.")


def _fit_kwargs(method: str, seed: int, draws: int, chains: int) -> dict:
    if method == "map":
        return {"method": "map", "progressbar": False}
    return {"method": "mcmc", "draws": int(draws), "tune": int(draws), "chains": int(chains), "cores": 1,
            "random_seed": int(seed), "progressbar": False}


def fit_purchase_model(data: pd.DataFrame, model: str = "bgnbd", method: str = "map", seed: int = 42, *,
                       draws: int = 1000, chains: int = 2):
    """Fit BG/NBD (``model="bgnbd"``), modified BG/NBD (``"modified_bgnbd"``) or Pareto/NBD (``"pareto_nbd"``).

    ``method="map"``: flat priors, so the maximum-likelihood estimate. ``"mcmc"``: NUTS with
    pymc-marketing's default (proper) priors, because with flat priors the posterior is improper.
    Returns the fitted pymc-marketing model.
    """
    if model not in MODELS:
        raise ConfigError(f"clv.model must be one of {', '.join(MODELS)} here (auto is resolved by "
                          f"customer_analytics.models.clv_models.compare), got {model!r}")
    if method not in METHODS:
        raise ConfigError(f"clv.method must be one of {', '.join(METHODS)}, got {method!r}")
    Prior, classes, _ = _quiet_imports()
    d = data[["customer_id", "frequency", "recency", "T"]].reset_index(drop=True)
    cls = classes[model]
    # MAP: flat priors (maximum likelihood); MCMC: the package's proper default priors (see module docstring)
    m = cls(model_config={k: Prior("HalfFlat") for k in PURCHASE_PARAMS[model]}) if method == "map" else cls()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(data=d, **_fit_kwargs(method, seed, draws, chains))
    return m


def fit_spend_model(data: pd.DataFrame, method: str = "map", seed: int = 42, *, draws: int = 1000, chains: int = 2):
    """Fit Gamma-Gamma with flat priors on repeat buyers' mean repeat spend (checked by :func:`check_spend`)."""
    check_spend(data)
    Prior, _, GammaGammaModel = _quiet_imports()
    d = data[["customer_id", "monetary_value", "frequency"]].reset_index(drop=True)
    m = GammaGammaModel(model_config={k: Prior("HalfFlat") for k in ("p", "q", "v")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(data=d, **_fit_kwargs(method, seed, draws, chains))
    return m



@dataclass
class ClvFit:
    """Fitted purchase and spend models with the settings they were fitted with."""

    model: str
    method: str
    time_unit: str
    purchase_model: object
    spend_model: object
    n_customers: int
    n_repeat: int
    spend_excluded: int
    notes: list[str] = field(default_factory=list)

    def _draws(self, m, names) -> dict[str, np.ndarray]:
        return {k: np.asarray(m.fit_result[k].values).ravel() for k in names}

    @property
    def params(self) -> dict[str, float]:
        """Point estimates of the purchase model (MAP, or posterior means with MCMC)."""
        return {k: float(v.mean()) for k, v in self._draws(self.purchase_model, PURCHASE_PARAMS[self.model]).items()}

    @property
    def spend_params(self) -> dict[str, float]:
        """Point estimates of Gamma-Gamma's p, q and v (the papers' gamma)."""
        return {k: float(v.mean()) for k, v in self._draws(self.spend_model, SPEND_PARAMS).items()}

    def parameters(self) -> pd.DataFrame:
        """Table ``model, parameter, value, time_unit`` (+ 94% interval columns with MCMC).

        The time unit applies to the rate parameters (alpha, beta); the others are shapes or,
        for Gamma-Gamma, money.
        """
        rows = []
        for label, m, names in ((MODELS[self.model], self.purchase_model, PURCHASE_PARAMS[self.model]),
                                ("Gamma-Gamma", self.spend_model, SPEND_PARAMS)):
            for k, v in self._draws(m, names).items():
                rate = label != "Gamma-Gamma" and k in ("alpha", "beta")  # per time unit; the rest are shapes
                row = {"model": label, "parameter": k, "value": float(v.mean()),
                       "time_unit": self.time_unit if rate else ""}
                if self.method == "mcmc":
                    row["ci_low"], row["ci_high"] = (float(x) for x in np.quantile(v, [0.03, 0.97]))
                rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        p = ", ".join(f"{k} = {v:.4g}" for k, v in self.params.items())
        s = ", ".join(f"{k} = {v:.4g}" for k, v in self.spend_params.items())
        priors = "flat priors" if self.method == "map" else "pymc-marketing default priors"
        return (f"{MODELS[self.model]} ({self.method.upper()}, {priors}, time unit {self.time_unit}) on "
                f"{self.n_customers:,} customers: {p}. Gamma-Gamma on {self.n_repeat:,} repeat buyers: {s}."
                + (" " + " ".join(self.notes) if self.notes else ""))


@dataclass(frozen=True)
class FitSettings:
    """The options of :func:`fit`, named as in the config's ``clv`` section (``fit(data, **asdict(settings))``).

    Attributes
    ----------
    model : {'bgnbd', 'modified_bgnbd', 'pareto_nbd'}
        The purchase model (the config's ``auto`` is resolved before fitting, see
        :mod:`customer_analytics.models.clv_models`).
    method : {'map', 'mcmc'}
        Maximum a posteriori with flat priors, or NUTS sampling with proper priors.
    time_unit : {'days', 'weeks'}
        The unit of recency, T and the rate parameters.
    min_customers : int
        Refuse to fit on fewer customers.
    seed : int
        The random seed.
    mcmc_draws, mcmc_chains : int
        With ``method="mcmc"``: draws (and tuning steps) per chain, and the number of chains.
    """

    model: str = "bgnbd"
    method: str = "map"
    time_unit: str = "weeks"
    min_customers: int = 50
    seed: int = 42
    mcmc_draws: int = 1000
    mcmc_chains: int = 2


def fit(data: pd.DataFrame, model: str = "bgnbd", method: str = "map", time_unit: str = "weeks", *,
        min_customers: int = 50, seed: int = 42, mcmc_draws: int = 1000, mcmc_chains: int = 2) -> ClvFit:
    """Fit the purchase model on every customer and Gamma-Gamma on the repeat buyers.

    Repeat buyers whose mean repeat spend is not positive (their repeat days were netted to
    zero or below) are left out of Gamma-Gamma, counted in ``spend_excluded`` with a note; they
    still get a CLV from the population's mean spend.

    Raises
    ------
    InputError
        See :func:`check_summary` and :func:`check_spend`.
    """
    _unit_days(time_unit)
    check_summary(data, min_customers)
    repeat = data[data["frequency"] > 0]
    usable = repeat[repeat["monetary_value"] > 0]
    notes = []
    excluded = len(repeat) - len(usable)
    if excluded:
        notes.append(f"{excluded:,} repeat buyer(s) with a non-positive mean repeat spend (returns netted "
                     "against their purchases) were left out of Gamma-Gamma; their CLV uses the population "
                     "mean spend.")
    pm_ = fit_purchase_model(data, model, method, seed, draws=mcmc_draws, chains=mcmc_chains)
    sm = fit_spend_model(usable, method, seed, draws=mcmc_draws, chains=mcmc_chains)
    return ClvFit(model, method, time_unit, pm_, sm, len(data), len(usable), excluded, notes)


# ------------------------------------------------------------------ predictions


def _per_customer(x) -> np.ndarray:
    """Posterior mean over chain and draw of a per-customer xarray result."""
    dims = [d for d in ("chain", "draw") if d in x.dims]
    return np.asarray(x.mean(dims).values if dims else x.values, dtype="float64")


def _model_input(data: pd.DataFrame, t: float | None = None) -> pd.DataFrame:
    d = data[["customer_id", "frequency", "recency", "T"]].reset_index(drop=True)
    return d if t is None else d.assign(future_t=t)


def expected_spend(f: ClvFit, data: pd.DataFrame) -> np.ndarray:
    """Gamma-Gamma expected spend per purchase given a customer's repeat purchases.

    E[M | x, mbar] = (q - 1) / (p x + q - 1) * (v p / (q - 1)) + p x / (p x + q - 1) * mbar:
    a weighted mean of the population mean spend v p / (q - 1) and the customer's own mean
    repeat spend mbar, the weight on mbar growing with x. Customers without a usable mean
    (one-time buyers, non-positive mean) get the population mean. Needs q > 1.
    """
    s = f.spend_params
    p, q, v = s["p"], s["q"], s["v"]
    x = data["frequency"].to_numpy(dtype="float64")
    mbar = data["monetary_value"].to_numpy(dtype="float64")
    ok = (x > 0) & (mbar > 0)
    x, mbar = np.where(ok, x, 0.0), np.where(ok, mbar, 0.0)
    return (q - 1) / (p * x + q - 1) * (v * p / (q - 1)) + p * x / (p * x + q - 1) * mbar


def expected_purchases(f: ClvFit, data: pd.DataFrame, t: float) -> np.ndarray:
    """Expected purchases in the next ``t`` time units, given each customer's history."""
    if t <= 0:
        return np.zeros(len(data))
    return _per_customer(f.purchase_model.expected_purchases(_model_input(data), future_t=t))


def p_alive(f: ClvFit, data: pd.DataFrame) -> np.ndarray:
    """Probability that each customer has not left, as of their ``T``."""
    if f.model == "pareto_nbd":
        return _per_customer(f.purchase_model.expected_probability_alive(_model_input(data), future_t=0))
    return _per_customer(f.purchase_model.expected_probability_alive(_model_input(data)))


def prob_no_purchase(f: ClvFit, data: pd.DataFrame, t: float) -> np.ndarray:
    """Churn risk: probability of no purchase in the next ``t`` time units.

    BG/NBD and modified BG/NBD: customers leave only at a purchase (modified BG/NBD: also right
    after the first), so a customer alive at T cannot leave before their next purchase, and no
    purchase means "already gone" or "alive and buying nothing":
    1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x) (the purchase rate given
    alive is Gamma(r + x, alpha + T) in both), averaged over the posterior draws. Pareto/NBD:
    pymc-marketing's P(N(t) = 0).
    """
    if f.model == "pareto_nbd":
        return _per_customer(f.purchase_model.expected_purchase_probability(
            _model_input(data), n_purchases=0, future_t=t))
    alive = f.purchase_model.expected_probability_alive(_model_input(data))
    post = f.purchase_model.fit_result
    x = data["frequency"].to_numpy(dtype="float64")
    big_t = data["T"].to_numpy(dtype="float64")
    r = np.asarray(post["r"].values).reshape(-1, 1)
    alpha = np.asarray(post["alpha"].values).reshape(-1, 1)
    pa = np.asarray(alive.values).reshape(len(r), -1)
    stay_quiet = ((alpha + big_t) / (alpha + big_t + t)) ** (r + x)
    return (1 - pa + pa * stay_quiet).mean(axis=0)


def clv_values(f: ClvFit, data: pd.DataFrame, months: int, discount_rate: float) -> np.ndarray:
    """Discounted expected spend over the next ``months`` 30-day months.

    CLV = E[spend per purchase] * sum_m (E[X(m)] - E[X(m - 1)]) / (1 + discount_rate)^m, where
    E[X(m)] is the expected number of purchases in the first m months.
    """
    if discount_rate < 0:
        raise ConfigError(f"clv.discount_rate must be >= 0 (a monthly rate, e.g. 0.01), got {discount_rate}")
    month = MONTH_DAYS / TIME_UNITS[f.time_unit]
    cum = np.column_stack([np.zeros(len(data))]
                          + [expected_purchases(f, data, m * month) for m in range(1, int(months) + 1)])
    disc = (1 + discount_rate) ** -np.arange(1, int(months) + 1)
    return expected_spend(f, data) * (np.diff(cum, axis=1) @ disc)


def predict(f: ClvFit, data: pd.DataFrame, horizon_days: int = 90, *, clv_months: int = 12,
            discount_rate: float = 0.01) -> pd.DataFrame:
    """Per customer: p_alive, expected_purchases and churn_risk over ``horizon_days``, expected_spend, clv.

    See the module docstring for the definitions.
    """
    t = float(horizon_days) / TIME_UNITS[f.time_unit]
    out = data[["customer_id"]].reset_index(drop=True).copy()
    out["p_alive"] = np.clip(p_alive(f, data), 0.0, 1.0)  # rounding can give 1 + 1e-12
    out["expected_purchases"] = expected_purchases(f, data, t)
    out["churn_risk"] = np.clip(prob_no_purchase(f, data, t), 0.0, 1.0)
    out["expected_spend"] = expected_spend(f, data)
    out["clv"] = clv_values(f, data, clv_months, discount_rate)
    return out


# ------------------------------------------------------------------ actions


def churn_eligible(customers: pd.DataFrame, churn_threshold: float = 0.5) -> pd.Series:
    """Whether each customer may enter the at-risk list: P(churn) = 1 - P(alive) >= ``churn_threshold``.

    **P(churn)** is the probability that the customer has already left (the complement of
    ``p_alive``); customers without a prediction (``p_alive`` missing) are never eligible.
    """
    if not 0 <= float(churn_threshold) <= 1:
        raise ConfigError(f"clv.churn_threshold must be a probability between 0 and 1, got {churn_threshold}")
    return ((1 - customers["p_alive"]) >= float(churn_threshold)).fillna(False).astype(bool)


def list_limit(scored: int, list_share: float = 0.05, list_max: int | None = None) -> int:
    """The most customers the at-risk list may hold: floor(``list_share`` x ``scored``), at most ``list_max``.

    ``scored`` is the number of scored customers (every customer with a purchase); ``list_max``
    None means no fixed cap.
    """
    if not 0 < float(list_share) <= 1:
        raise ConfigError(f"clv.list_share must be a share above 0 and at most 1 (e.g. 0.05), got {list_share}")
    if list_max is not None and int(list_max) < 1:
        raise ConfigError(f"clv.list_max must be a whole number of at least 1 or null (no cap), got {list_max}")
    limit = int(np.floor(float(list_share) * int(scored) + 1e-9))  # 0.05 x 1,500 is 75, not 74.99...
    return limit if list_max is None else min(limit, int(list_max))


def at_risk(customers: pd.DataFrame, churn_threshold: float = 0.5, list_share: float = 0.05,
            list_max: int | None = None) -> pd.DataFrame:
    """The at-risk list: the customers a win-back campaign contacts, chosen by a stated rule.

    The rule (config ``clv.churn_threshold``, ``clv.list_share``, ``clv.list_max``):

    - a customer is eligible when **P(churn)** = 1 - P(alive) is at least ``churn_threshold``
      (:func:`churn_eligible`);
    - eligible customers are ranked by predicted CLV, highest first (ties by customer_id);
    - the list keeps the first :func:`list_limit` of them: at most ``list_share`` of all scored
      customers (the rows of ``customers``), and at most ``list_max`` when it is set.

    Parameters
    ----------
    customers : DataFrame
        Every scored customer, with customer_id, clv and p_alive (other columns are kept);
        customers without a prediction count as scored but are never listed.
    churn_threshold, list_share, list_max
        The rule above.

    Returns
    -------
    DataFrame
        The listed customers with ``rank`` (1 = highest CLV) first. The action in words is
        :data:`customer_analytics.report.text.clv.AT_RISK_ACTION` (the caller adds it as ``action``).
    """
    limit = list_limit(len(customers), list_share, list_max)
    sel = customers[churn_eligible(customers, churn_threshold) & customers["clv"].notna()]
    out = sel.sort_values(["clv", "customer_id"], ascending=[False, True]).head(limit).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def total_value(values: pd.Series) -> float:
    """The total of per-customer amounts as ``customers.csv`` writes them: each rounded to the cent, then added.

    Each value is rounded to whole cents (half to even, as ``DataFrame.round(2)``) and the
    cents are added as integers, so the total equals the sum of the exported column to the cent.
    Missing values add nothing.
    """
    cents = np.round(pd.to_numeric(values).astype("float64").fillna(0.0).to_numpy() * 100)
    return int(cents.astype("int64").sum()) / 100


def segment_table(customers: pd.DataFrame, segment_col: str = "segment") -> pd.DataFrame:
    """RFM segment x customers, mean P(alive), mean churn risk, total and mean CLV, CLV share.

    ``total_clv`` adds the customers' CLV rounded to the cent (as ``customers.csv`` has them, in
    integer cents), so the segments' totals add up to the CLV headline (:func:`total_value`);
    ``clv_share`` is a segment's total over all segments' totals; ``likely_gone`` counts customers
    with P(alive) below 0.5.
    """
    cents = np.round(customers["clv"].astype("float64").fillna(0.0) * 100).astype("int64")
    g = customers.assign(_clv_cents=cents).groupby(segment_col, observed=True)
    out = g.agg(customers=("customer_id", "size"), mean_p_alive=("p_alive", "mean"),
                mean_churn_risk=("churn_risk", "mean"), total_clv=("_clv_cents", "sum"), mean_clv=("clv", "mean"),
                likely_gone=("p_alive", lambda s: int((s < 0.5).sum())))
    out["total_clv"] = out["total_clv"] / 100
    out["clv_share"] = out["total_clv"] / out["total_clv"].sum()
    return out.sort_values("total_clv", ascending=False)


# ------------------------------------------------------------------ exports


PREDICTION_COLUMNS = ["p_alive", "expected_purchases", "churn_risk", "clv", "clv_action"]


def add_predictions(customers: pd.DataFrame, pred: pd.DataFrame, risk: pd.DataFrame, action: str) -> pd.DataFrame:
    """``customers`` with p_alive, expected_purchases, churn_risk, clv and clv_action (replaced if present).

    ``clv_action`` is ``action`` (the words, e.g. :data:`customer_analytics.report.text.clv.AT_RISK_ACTION`)
    for the customers in ``risk`` and empty otherwise;
    customers without a prediction (no purchase up to the period end) get empty values.
    """
    base = customers.drop(columns=[c for c in PREDICTION_COLUMNS if c in customers])
    ids = base["customer_id"].astype(str)
    p = pred.assign(customer_id=pred["customer_id"].astype(str)).set_index("customer_id")
    out = base.copy()
    for c in PREDICTION_COLUMNS[:-1]:
        out[c] = ids.map(p[c]).to_numpy()
    out["clv_action"] = np.where(ids.isin(set(risk["customer_id"].astype(str))), action, "")
    return out


def update_customers_csv(path, customers: pd.DataFrame, fallback: pd.DataFrame) -> pd.DataFrame:
    """Add the prediction columns of ``customers`` to the export at ``path`` in place
    (:func:`~customer_analytics.io.customer_export.add_customer_columns`).

    Probabilities and expected purchases are written with 6 decimals, CLV in cents.
    """
    cols = customers[["customer_id", *PREDICTION_COLUMNS]]
    return add_customer_columns(path, cols.round({"p_alive": 6, "expected_purchases": 6, "churn_risk": 6, "clv": 2}),
                                fallback)

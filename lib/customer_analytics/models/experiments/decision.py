"""The decision: the one decision rule (:func:`decide`), its :class:`Decision` with reason codes, and the result it reads.

:class:`ExperimentResult` (what :func:`analyse` returns) lives here beside the rule because its
:meth:`~ExperimentResult.decision` applies the rule and the rule reads the result: one module,
no import cycle. Segment claims and the headline figures use the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.models.experiments.checks import SRMResult
from customer_analytics.models.experiments.spec import ExperimentSpec


@dataclass
class ExperimentResult:
    """Everything notebook 04 shows, in tables, plus the decision (statsmodels style).

    Attributes
    ----------
    effects : every treatment arm against control per metric, with ``p_adjusted`` (across
        the arms, per metric), ``significant`` and, for the primary metric with
        ``sequential``, the always-valid interval and p-value.
    pairwise : treatment arms against each other (more than one treatment arm).
    segments : per-segment effects; ``status`` says which cells were skipped as too small.
    sizes : group sizes overall and for every segment column.
    roi : incremental profit and ROI per arm (empty without costs).
    options : the options :func:`analyse` was called with.
    """

    spec: ExperimentSpec
    srm: SRMResult
    srm_segments: pd.DataFrame
    balance: pd.DataFrame
    sizes: pd.DataFrame
    effects: pd.DataFrame
    cuped: pd.DataFrame
    segments: pd.DataFrame
    power: pd.DataFrame
    alpha: float
    notes: list[str] = field(default_factory=list)
    pairwise: pd.DataFrame = field(default_factory=pd.DataFrame)
    roi: pd.DataFrame = field(default_factory=pd.DataFrame)
    options: dict = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return self.options.get("primary_metric") or self.spec.metrics[0]

    def decision(self, primary: str | None = None) -> Decision:
        """The decision on the primary metric under the one decision rule (:func:`decide`)."""
        return decide(self, primary or self.primary)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every exported table by name (the files under ``tables/``)."""
        return {"srm": self.srm.table.reset_index(), "srm_segments": self.srm_segments, "balance": self.balance,
                "group_sizes": self.sizes, "effects": self.effects, "pairwise": self.pairwise,
                "cuped": self.cuped, "segment_effects": self.segments, "power": self.power, "roi": self.roi}


@dataclass
class Decision:
    """The decision on the primary metric under the one decision rule.

    ``winner`` is None unless an arm's adjusted p-value is below alpha, its effect is
    favourable, no SRM is flagged and every outcome window is closed. ``reasons`` says why there is no winner, as codes
    with their facts, ``(code, facts)``; the report puts them in words
    (:func:`customer_analytics.report.text.experiments.decision_reasons`).
    """

    primary: str
    winner: str | None
    reasons: list[tuple[str, dict]]
    candidates: pd.DataFrame

    @property
    def waiting_until(self) -> str | None:
        """The date the outcomes are complete on, when the rule waits for it; else None."""
        return next((f["date"] for code, f in self.reasons if code == "wait"), None)

    @property
    def code(self) -> str:
        """The decision as one code: ``roll_out``, ``stop`` (SRM), ``wait`` or ``no_winner``."""
        if self.winner:
            return "roll_out"
        first = self.reasons[0][0] if self.reasons else "null"
        return {"srm": "stop", "wait": "wait"}.get(first, "no_winner")


def treatment_arms_of(res: ExperimentResult) -> list[str]:
    return sorted(res.effects["arm"].unique()) if len(res.effects) else []


def _sign(res: ExperimentResult) -> int:
    """+1 when higher values of the primary metric are favourable, else -1."""
    return 1 if res.options.get("higher_is_better", True) else -1


def decide(res: ExperimentResult, primary: str | None = None) -> Decision:
    """Apply the decision rule to the primary metric (the rule in words: report.text.experiments.decision_rule).

    Returns the winner, or reason codes with their facts: ``srm``, ``wait``, ``adjusted``,
    ``wrong_way``, ``undetectable``, ``underpowered``, ``null``.

    The rule, in order: a sample-ratio mismatch stops everything (``srm``); outcome windows still
    open at the period end (``spec.outcomes_complete``) mean waiting until that date (``wait``),
    whatever the interim figures show; otherwise the arm with the most favourable significant
    effect (adjusted p-value below alpha) wins.
    """
    primary = primary or res.primary
    if primary not in res.spec.metrics:
        raise ConfigError(f"primary_metric '{primary}' is not among the metrics {res.spec.metrics}")
    eff = res.effects[res.effects["metric"] == primary].set_index("arm")
    p_col = "seq_p_adjusted" if res.options.get("sequential") and "seq_p_adjusted" in eff else "p_adjusted"
    if res.srm.flagged:
        return Decision(primary, None, [("srm", {"srm_p": res.srm.p_value})], eff.reset_index())
    if res.spec.outcomes_complete:
        return Decision(primary, None, [("wait", {"date": res.spec.outcomes_complete})], eff.reset_index())
    sign = _sign(res)
    passed = eff[(eff[p_col] < res.alpha) & (sign * eff["diff"] > 0)]
    if len(passed):
        return Decision(primary, str((sign * passed["diff"]).idxmax()), [], eff.reset_index())
    reasons = _significance_reasons(res, eff, p_col, primary) + _power_reasons(res, eff, p_col, primary)
    return Decision(primary, None, reasons or [("null", {})], eff.reset_index())


def _significance_reasons(res: ExperimentResult, eff: pd.DataFrame, p_col: str, primary: str) -> list:
    """``adjusted`` (significant only before the correction) and ``wrong_way`` (significant harm), per arm."""
    raw_col = "seq_p_value" if p_col == "seq_p_adjusted" else "p_value"
    favourable = _sign(res) * eff["diff"] > 0
    corr = res.options.get("correction", "holm")
    reasons = []
    for arm, e in eff.iterrows():
        if e[raw_col] < res.alpha and favourable[arm] and e[p_col] >= res.alpha:
            reasons.append(("adjusted", {"arm": arm, "p": e[raw_col], "p_adjusted": e[p_col], "correction": corr,
                                         "k": len(eff)}))
        elif e[p_col] < res.alpha and not favourable[arm]:
            reasons.append(("wrong_way", {"arm": arm, "metric": primary, "p_adjusted": e[p_col]}))
    return reasons


def _power_reasons(res: ExperimentResult, eff: pd.DataFrame, p_col: str, primary: str) -> list:
    """``underpowered`` (an effect below the MDE) or ``undetectable`` (no MDE), for arms without a significant result.

    A significant harm is a finding, so only arms without a significant result can be under-powered.
    """
    pw = res.power[res.power["metric"] == primary].set_index("arm")
    kind = eff["kind"].iloc[0] if len(eff) else "binary"
    open_arms = [a for a in eff.index if a in pw.index and eff.loc[a, p_col] >= res.alpha]
    under = [(a, pw.loc[a, "mde_abs"], pw.loc[a, "mde_relative"]) for a in open_arms
             if pd.notna(pw.loc[a, "mde_abs"]) and abs(eff.loc[a, "diff"]) < pw.loc[a, "mde_abs"]]
    undetectable = [a for a in open_arms if pd.isna(pw.loc[a, "mde_abs"])]
    reasons = []
    if undetectable and not under:
        reasons.append(("undetectable", {"metric": primary}))
    if under:
        _, mde, rel = under[0]
        reasons.append(("underpowered", {"metric": primary, "kind": kind, "mde": mde, "relative": rel,
                                         "power": res.options.get("power", 0.8)}))
    return reasons


def _segment_claims(res: ExperimentResult, primary: str, arm: str | None = None) -> pd.DataFrame:
    if not len(res.segments):
        return pd.DataFrame()
    s = res.segments[(res.segments["metric"] == primary) & (res.segments["status"] == "ok")]
    s = s[s["significant_adjusted"] & (_sign(res) * s["diff"] > 0)]
    return s[s["arm"] == arm] if arm else s


def segment_claims(res: ExperimentResult, primary: str | None = None, arm: str | None = None) -> pd.DataFrame:
    """Segment cells where an arm is proven to work on the primary metric.

    A claim needs the per-segment adjusted p-value below alpha and a favourable effect
    (the same rule as the decision, applied per segment cell).
    """
    return _segment_claims(res, primary or res.primary, arm)


def headline_figures(res: ExperimentResult | None, primary: str | None = None) -> dict:
    """The figures notebook 04 records for the index, from the same decision as the summary."""
    if res is None:
        return {"winner": "n/a", "srm_flag": None}
    dec = decide(res, primary)
    out = {"winner": dec.winner or "none", "decision_code": dec.code, "srm_flag": bool(res.srm.flagged),
           "primary_metric": dec.primary}
    if dec.waiting_until:
        out["outcomes_complete"] = dec.waiting_until
    if dec.winner:
        e = dec.candidates.set_index("arm").loc[dec.winner]
        out["winner_lift"] = float(e["lift"])
        out["winner_p_adjusted"] = float(e["p_adjusted"])
    if len(res.roi) and dec.winner:
        out["winner_roi"] = float(res.roi.set_index("arm").loc[dec.winner, "roi"])
    return out
